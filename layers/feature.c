/* feature.c — building a feature's ready bytes and managing its lifetime. */
#include "feature.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "geojson_write.h"

/* A single feature's GeoJSON may not exceed this; geometry caps keep real ones far below. */
#define FEATURE_JSON_MAX (64u << 20)

uint64_t cm_hash_fnv1a(const void *data, size_t n, uint64_t seed) {
    const unsigned char *p = data;
    uint64_t h = seed;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

bool cm_value_equal(const cm_value *a, const cm_value *b) {
    if (a->set != b->set) return false;
    if (!a->set) return true;
    switch (a->type) {
    case CM_PROP_STRING: return strcmp(a->u.s, b->u.s) == 0;
    case CM_PROP_INTEGER: return a->u.i == b->u.i;
    case CM_PROP_NUMBER: return a->u.d == b->u.d;
    case CM_PROP_BOOLEAN: return a->u.b == b->u.b;
    case CM_PROP_DATETIME: return a->u.t_ms == b->u.t_ms;
    }
    return false;
}

void cm_values_free(cm_value *values, size_t n) {
    if (!values) return;
    for (size_t i = 0; i < n; i++)
        if (values[i].set && values[i].type == CM_PROP_STRING) free(values[i].u.s);
    free(values);
}

cm_value *cm_values_create(const cm_layer_def *def) {
    cm_value *v = calloc(def->n_props ? def->n_props : 1, sizeof *v);
    if (!v) return NULL;
    for (size_t i = 0; i < def->n_props; i++) v[i].type = def->props[i].type;
    return v;
}

cm_status cm_feature_create(const cm_layer_def *def, int64_t id, cm_geom *geom, cm_value *values,
                            cm_feature **out) {
    *out = NULL;
    cm_feature *f = calloc(1, sizeof *f);
    if (!f) {
        cm_geom_release(geom);
        cm_values_free(values, def->n_props);
        return CM_ERR_NOMEM;
    }
    atomic_init(&f->refs, 1);
    f->id = id;
    f->geom = *geom;
    memset(geom, 0, sizeof *geom);
    f->values = values;
    f->n_values = def->n_props;
    f->bbox = cm_geom_bbox(&f->geom);

    f->t_start_ms = INT64_MIN;
    f->t_end_ms = INT64_MAX;
    if (def->time_start >= 0 && values[def->time_start].set)
        f->t_start_ms = values[def->time_start].u.t_ms;
    if (def->time_end >= 0 && values[def->time_end].set) f->t_end_ms = values[def->time_end].u.t_ms;

    cm_buf b;
    cm_buf_init(&b, FEATURE_JSON_MAX);
    cm_buf_append_str(&b, "{\"type\":\"Feature\",\"id\":");
    cm_buf_append_int(&b, id);
    cm_buf_append_str(&b, ",\"geometry\":");
    f->geom_off = b.len;
    cm_geojson_write_geometry(&b, &f->geom, CM_DEGREE_DECIMALS, false);
    f->geom_len = b.len - f->geom_off;
    cm_buf_append_str(&b, ",\"properties\":");
    cm_geojson_write_properties(&b, def, values);
    cm_buf_append_char(&b, '}');
    f->json = cm_buf_steal(&b, &f->json_len);
    if (!f->json) {
        cm_feature_unref(f);
        return CM_ERR_NOMEM;
    }
    f->hash = cm_hash_fnv1a(f->json, f->json_len, CM_FNV_SEED);
    *out = f;
    return CM_OK;
}

cm_feature *cm_feature_ref(cm_feature *f) {
    atomic_fetch_add_explicit(&f->refs, 1, memory_order_relaxed);
    return f;
}

void cm_feature_unref(cm_feature *f) {
    if (!f) return;
    if (atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) != 1) return;
    cm_geom_release(&f->geom);
    cm_values_free(f->values, f->n_values);
    free(f->json);
    free(f);
}
