/* lifecycle.c — status from time. */
#include "lifecycle.h"

#include <string.h>

static bool enum_has(const cm_prop_def *p, const char *v) {
    for (size_t i = 0; i < p->n_enum; i++)
        if (strcmp(p->enum_values[i], v) == 0) return true;
    return false;
}

int cm_lifecycle_status_prop(const cm_layer_def *def) {
    if (def->time_start < 0 || def->time_end < 0 || def->time_start == def->time_end) return -1;
    int i = cm_schema_prop_index(def, "status");
    if (i < 0 || def->props[i].type != CM_PROP_STRING) return -1;
    const cm_prop_def *p = &def->props[i];
    return enum_has(p, "planned") && enum_has(p, "active") && enum_has(p, "expired") ? i : -1;
}

const char *cm_lifecycle_status(const cm_layer_def *def, const cm_value *values, int64_t now_ms) {
    int si = cm_lifecycle_status_prop(def);
    if (si >= 0 && values[si].set && strcmp(values[si].u.s, "lifted") == 0) return "lifted";
    const cm_value *start = &values[def->time_start], *end = &values[def->time_end];
    if (start->set && now_ms < start->u.t_ms) return "planned";
    if (end->set && now_ms >= end->u.t_ms) return "expired";
    return "active";
}

int64_t cm_lifecycle_next_change(const cm_layer_def *def, const cm_value *values, int64_t now_ms) {
    int si = cm_lifecycle_status_prop(def);
    if (si < 0 || (values[si].set && strcmp(values[si].u.s, "lifted") == 0)) return INT64_MAX;
    const cm_value *start = &values[def->time_start], *end = &values[def->time_end];
    if (start->set && now_ms < start->u.t_ms) return start->u.t_ms;
    if (end->set && now_ms < end->u.t_ms) return end->u.t_ms;
    return INT64_MAX;
}
