/* points.h — test features for the layer tests: a `services` Point with a kind, the
 * reference held by the caller. */
#ifndef CM_TEST_POINTS_H
#define CM_TEST_POINTS_H

#include <stdlib.h>
#include <string.h>

#include "../../layers/feature.h"
#include "../../layers/geom.h"
#include "../../layers/schema.h"

static cm_feature *point(const cm_layer_def *def, int64_t id, double lon, double lat) {
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

#endif
