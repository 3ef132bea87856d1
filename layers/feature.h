/* feature.h — one feature of a layer: id, geometry, typed property values, temporal
 * extent, and its GeoJSON kept as ready bytes.
 *
 * INVARIANTS: a feature is immutable once created, so any number of threads and layer
 * snapshots share it through its reference count; a change makes a new feature. The
 * bytes are exactly what the API sends for it in CRS84: an items page is a concatenation
 * of them. [geom_off, geom_off + geom_len) of `json` is the geometry object, so another
 * CRS can be spliced in without re-encoding the properties. */
#ifndef CM_FEATURE_H
#define CM_FEATURE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "geom.h"
#include "schema.h"
#include "status.h"

typedef struct cm_value {
    bool set; /* false: null */
    cm_prop_type type;
    union {
        char *s; /* owned, valid UTF-8 */
        int64_t i;
        double d;
        bool b;
        int64_t t_ms; /* datetime, ms since epoch UTC */
    } u;
} cm_value;

typedef struct cm_feature {
    atomic_uint refs;
    int64_t id;
    cm_geom geom;
    cm_bbox bbox;
    cm_value *values; /* one per property of the layer definition, in its order */
    size_t n_values;
    int64_t t_start_ms, t_end_ms; /* temporal extent; INT64_MIN / INT64_MAX when open */
    char *json;
    size_t json_len;
    size_t geom_off, geom_len;
    uint64_t hash; /* FNV-1a of json: the feature's strong ETag */
} cm_feature;

/* Creates a feature of layer def. Steals geom and values (def->n_props entries, freed on
 * every path). Returns new with one reference in *out. */
cm_status cm_feature_create(const cm_layer_def *def, int64_t id, cm_geom *geom, cm_value *values,
                            cm_feature **out);
cm_feature *cm_feature_ref(cm_feature *f);
/* Drops a reference; frees at zero. Accepts NULL. */
void cm_feature_unref(cm_feature *f);

/* Frees the strings of n values and the array. Accepts NULL. */
void cm_values_free(cm_value *values, size_t n);
/* Both null, or both set to the same value (a and b of one property, so of one type). */
bool cm_value_equal(const cm_value *a, const cm_value *b);
/* Allocates n null values typed after def's properties. Returns new or NULL. */
cm_value *cm_values_create(const cm_layer_def *def);

uint64_t cm_hash_fnv1a(const void *data, size_t n, uint64_t seed);
#define CM_FNV_SEED 0xcbf29ce484222325ULL

#endif
