/* geom.h — crisismap's own geometry: flat coordinate arrays, lon/lat in WGS84.
 *
 * One layout serves all six GeoJSON types. Coordinates are interleaved (lon, lat) in
 * `xy`. Points are grouped in runs: a Point or MultiPoint has one run holding its points,
 * a LineString one run, a MultiLineString one run per line, a Polygon one run per ring
 * (outer first), a MultiPolygon its polygons' rings in order with `poly_start` marking
 * where each polygon's rings begin. This keeps a feature to three allocations and lets
 * the spatial tests walk plain arrays. */
#ifndef CM_GEOM_H
#define CM_GEOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

typedef enum {
    CM_GEOM_NONE = 0,
    CM_GEOM_POINT,
    CM_GEOM_LINESTRING,
    CM_GEOM_POLYGON,
    CM_GEOM_MULTIPOINT,
    CM_GEOM_MULTILINESTRING,
    CM_GEOM_MULTIPOLYGON,
} cm_geom_type;

typedef struct cm_bbox {
    double min_lon, min_lat, max_lon, max_lat;
} cm_bbox;

typedef struct cm_geom {
    cm_geom_type type;
    uint32_t n_points;
    double *xy;          /* 2 * n_points doubles: lon, lat */
    uint32_t n_runs;
    uint32_t *run_start; /* n_runs + 1 point indexes; run r is [run_start[r], run_start[r+1]) */
    uint32_t n_polys;
    uint32_t *poly_start; /* n_polys + 1 run indexes (polygons only, else NULL) */
} cm_geom;

/* GeoJSON name of a type ("Point", ...) and back (CM_GEOM_NONE when unknown). */
const char *cm_geom_type_name(cm_geom_type t);
cm_geom_type cm_geom_type_from_name(const char *name);

/* Frees the arrays of caller-owned g and zeroes it; accepts a zeroed geometry. */
void cm_geom_release(cm_geom *g);
/* Deep copy into caller-owned dst. CM_ERR_NOMEM on failure (dst zeroed). */
cm_status cm_geom_copy(cm_geom *dst, const cm_geom *src);

/* Envelope of g (an inverted box for an empty geometry). */
cm_bbox cm_geom_bbox(const cm_geom *g);
static inline bool cm_bbox_intersects(const cm_bbox *a, const cm_bbox *b) {
    return a->min_lon <= b->max_lon && b->min_lon <= a->max_lon && a->min_lat <= b->max_lat &&
           b->min_lat <= a->max_lat;
}

/* True when box `in` lies inside the closed box `out`. An inverted (empty) `in` passes
 * too, so test cm_bbox_intersects first. */
static inline bool cm_bbox_within(const cm_bbox *in, const cm_bbox *out) {
    return in->min_lon >= out->min_lon && in->max_lon <= out->max_lon && in->min_lat >= out->min_lat &&
           in->max_lat <= out->max_lat;
}

/* True when g shares at least one point with the closed box b: the geometry itself, not
 * its envelope (a diagonal line whose envelope covers b's corner does not match). */
bool cm_geom_intersects_bbox(const cm_geom *g, const cm_bbox *b);
/* Same type, positions, runs and polygons (exact coordinates). */
bool cm_geom_equal(const cm_geom *a, const cm_geom *b);

/* Builds a cm_geom incrementally with a cap on points, runs and polygons, so a hostile
 * input cannot make it allocate without bound. */
typedef struct cm_geom_builder {
    cm_geom g;
    uint32_t cap_points, cap_runs, cap_polys;
    uint32_t max_points, max_runs;
    bool failed;
} cm_geom_builder;

void cm_geom_builder_init(cm_geom_builder *b, cm_geom_type type, uint32_t max_points,
                          uint32_t max_runs);
/* Each returns CM_OK or CM_ERR_BAD_GEOMETRY (cap reached) / CM_ERR_NOMEM. */
cm_status cm_geom_builder_point(cm_geom_builder *b, double lon, double lat);
cm_status cm_geom_builder_end_run(cm_geom_builder *b);  /* closes the current run */
cm_status cm_geom_builder_end_poly(cm_geom_builder *b); /* closes the current polygon */
/* Moves the built geometry into out (caller then owns it); the builder is emptied. */
void cm_geom_builder_finish(cm_geom_builder *b, cm_geom *out);
void cm_geom_builder_release(cm_geom_builder *b);

#endif
