/* Unit tests for layers/lifecycle.c: status from the validity interval; lifted sticks. */
#include "../../layers/lifecycle.h"
#include "check.h"

int main(void) {
    cm_layer_defs defs;
    cm_error err;
    CHECK(cm_schema_load_file(CM_SOURCE_DIR "/config/layers.json", &defs, &err) == CM_OK);
    const cm_layer_def *c = cm_schema_find_layer(&defs, "closures");
    CHECK(cm_lifecycle_status_prop(c) >= 0);
    CHECK(cm_lifecycle_status_prop(cm_schema_find_layer(&defs, "services")) < 0);
    CHECK(cm_lifecycle_status_prop(cm_schema_find_layer(&defs, "roads")) < 0);
    cm_value *v = cm_values_create(c);
    int from = c->time_start, until = c->time_end, st = cm_lifecycle_status_prop(c);
    v[from] = (cm_value){.set = true, .type = CM_PROP_DATETIME, .u.t_ms = 1000};
    v[until] = (cm_value){.set = true, .type = CM_PROP_DATETIME, .u.t_ms = 2000};
    CHECK_STR(cm_lifecycle_status(c, v, 500), "planned");
    CHECK(cm_lifecycle_next_change(c, v, 500) == 1000);
    CHECK_STR(cm_lifecycle_status(c, v, 1000), "active");
    CHECK(cm_lifecycle_next_change(c, v, 1500) == 2000);
    CHECK_STR(cm_lifecycle_status(c, v, 2000), "expired");
    CHECK(cm_lifecycle_next_change(c, v, 2500) == INT64_MAX);
    v[until].set = false;
    CHECK_STR(cm_lifecycle_status(c, v, 1e12), "active"); /* open-ended */
    v[st] = (cm_value){.set = true, .type = CM_PROP_STRING, .u.s = strdup("lifted")};
    CHECK_STR(cm_lifecycle_status(c, v, 1500), "lifted");
    CHECK(cm_lifecycle_next_change(c, v, 500) == INT64_MAX);
    cm_values_free(v, c->n_props);
    cm_schema_release(&defs);
    return check_report("test_lifecycle");
}
