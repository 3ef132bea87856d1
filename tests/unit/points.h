/* points.h — test features for the layer tests: a `services` Point with a kind, and a
 * two-point LineString of any layer; the reference held by the caller. */
#ifndef CM_TEST_POINTS_H
#define CM_TEST_POINTS_H

#include <stdlib.h>
#include <string.h>

#include "../../layers/feature.h"
#include "../../layers/geom.h"
#include "../../layers/schema.h"

static inline cm_feature *point(const cm_layer_def *def, int64_t id, double lon, double lat) {
    cm_geom_builder b;
    cm_geom_builder_init(&b, CM_GEOM_POINT, 1, 1);
    cm_geom_builder_point(&b, lon, lat);
    cm_geom_builder_end_run(&b);
    cm_geom g;
    cm_geom_builder_finish(&b, &g);
    cm_value *v = cm_values_create(def);
    int kind = cm_schema_prop_index(def, "kind");
    v[kind] = (cm_value){.set = true, .type = CM_PROP_STRING, .u.s = strdup("water")};
    cm_feature *f;
    cm_feature_create(def, id, &g, v, &f);
    return f;
}

static inline cm_feature *line(const cm_layer_def *def, int64_t id, double lon0, double lat0, double lon1, double lat1) {
    cm_geom_builder b;
    cm_geom_builder_init(&b, CM_GEOM_LINESTRING, 2, 1);
    cm_geom_builder_point(&b, lon0, lat0);
    cm_geom_builder_point(&b, lon1, lat1);
    cm_geom_builder_end_run(&b);
    cm_geom g;
    cm_geom_builder_finish(&b, &g);
    cm_feature *f;
    cm_feature_create(def, id, &g, cm_values_create(def), &f);
    return f;
}

#endif
