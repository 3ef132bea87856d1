/* Unit tests for layers/feature_input.c: reading client features for a layer, and JSON
 * merge patch against RFC 7396's own examples. */
#include <jansson.h>
#include <stdlib.h>

#include "../../layers/feature_input.h"
#include "check.h"

static void patch_is(const char *target, const char *patch, const char *expected) {
    json_t *t = json_loads(target, JSON_DECODE_ANY, NULL), *p = json_loads(patch, JSON_DECODE_ANY, NULL),
           *e = json_loads(expected, JSON_DECODE_ANY, NULL);
    cm_json_merge_patch(t, p);
    CHECK(json_equal(t, e));
    if (!json_equal(t, e)) fprintf(stderr, "  patch %s on %s\n", patch, target);
    json_decref(t);
    json_decref(p);
    json_decref(e);
}

int main(void) {
    /* RFC 7396 appendix A (the object cases). */
    patch_is("{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}");
    patch_is("{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}");
    patch_is("{\"a\":\"b\"}", "{\"a\":null}", "{}");
    patch_is("{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}");
    patch_is("{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}");
    patch_is("{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}");
    patch_is("{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}", "{\"a\":{\"b\":\"d\"}}");
    patch_is("{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}");
    patch_is("{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}");
    patch_is("{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}");

    cm_layer_defs defs;
    cm_error err;
    CHECK(cm_schema_load_file(CM_SOURCE_DIR "/config/layers.json", &defs, &err) == CM_OK);
    const cm_layer_def *services = cm_schema_find_layer(&defs, "services");
    cm_geom g;
    cm_value *v;
    json_t *f = json_loads("{\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\",\"coordinates\":[7.4,43.7]},"
                           "\"properties\":{\"kind\":\"shelter\",\"capacity\":120,\"version\":99,\"verified_at\":\"2026-11-28T10:00:00+01:00\"}}",
                           0, NULL);
    CHECK(cm_feature_input_read(services, f, (cm_crs){0}, &g, &v, &err) == CM_OK);
    int cap = cm_schema_prop_index(services, "capacity"), ver = cm_schema_prop_index(services, "version"),
        va = cm_schema_prop_index(services, "verified_at");
    CHECK(v[cap].set && v[cap].u.i == 120);
    CHECK(!v[ver].set); /* server-owned: ignored on input */
    CHECK(v[va].set && v[va].u.t_ms == 1795856400000LL);
    cm_values_free(v, services->n_props);
    cm_geom_release(&g);
    json_decref(f);

    const char *bad[][2] = {
        {"{\"type\":\"FeatureCollection\"}", "type"},
        {"{\"type\":\"Feature\",\"properties\":{}}", "geometry"},
        {"{\"type\":\"Feature\",\"geometry\":null,\"properties\":[]}", "properties"},
        {"{\"type\":\"Feature\",\"geometry\":null,\"properties\":{\"capacity\":\"x\"}}", "properties.capacity"},
        {"{\"type\":\"Feature\",\"geometry\":null,\"properties\":{\"capacity\":1.5}}", "properties.capacity"},
        {"{\"type\":\"Feature\",\"geometry\":null,\"properties\":{\"exercise\":\"yes\"}}", "properties.exercise"},
        {"{\"type\":\"Feature\",\"geometry\":null,\"properties\":{\"verified_at\":\"soon\"}}", "properties.verified_at"},
        {"{\"type\":\"Feature\",\"geometry\":null,\"properties\":{\"nope\":1}}", "properties.nope"},
        {"{\"type\":\"Feature\",\"geometry\":null,\"properties\":{\"name\":\"a\\u0000b\"}}", "properties.name"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_t *j = json_loads(bad[i][0], JSON_ALLOW_NUL, NULL);
        cm_error_clear(&err);
        CHECK(j && cm_feature_input_read(services, j, (cm_crs){0}, &g, &v, &err) != CM_OK);
        CHECK_STR(err.field, bad[i][1]);
        json_decref(j);
    }
    /* A layer that drops unknown properties. */
    const cm_layer_def *roads = cm_schema_find_layer(&defs, "roads");
    json_t *r = json_loads("{\"type\":\"Feature\",\"geometry\":null,\"properties\":{\"surface\":\"asphalt\",\"name\":\"A\"}}", 0, NULL);
    CHECK(cm_feature_input_read(roads, r, (cm_crs){0}, &g, &v, &err) == CM_OK);
    cm_values_free(v, roads->n_props);
    json_decref(r);
    /* A geometry given in EPSG:3857 arrives in WGS84. */
    json_t *m = json_loads("{\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\",\"coordinates\":[826000,5423000]},\"properties\":{\"kind\":\"water\"}}", 0, NULL);
    CHECK(cm_feature_input_read(services, m, (cm_crs){3857}, &g, &v, &err) == CM_OK);
    CHECK(g.xy[0] > 7.41 && g.xy[0] < 7.43 && g.xy[1] > 43.7 && g.xy[1] < 43.76);
    cm_values_free(v, services->n_props);
    cm_geom_release(&g);
    json_decref(m);
    cm_schema_release(&defs);
    cm_crs_thread_release();
    return check_report("test_feature_input");
}
