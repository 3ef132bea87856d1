/* Unit tests for layers/geojson_read.c: every geometry type, error paths with the field
 * they name, caps. */
#include <jansson.h>
#include <stdlib.h>

#include "../../layers/geojson_read.h"
#include "check.h"

static cm_status read(const char *text, cm_geom *g, cm_error *err) {
    json_error_t jerr;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &jerr);
    if (!j) {
        fprintf(stderr, "bad test JSON: %s\n", text);
        return CM_ERR_BAD_JSON;
    }
    cm_error_clear(err);
    cm_status s = cm_geojson_read_geometry(j, 1000, 100, g, err);
    json_decref(j);
    return s;
}

int main(void) {
    cm_geom g;
    cm_error err;

    CHECK(read("{\"type\":\"Point\",\"coordinates\":[7.5,43.7]}", &g, &err) == CM_OK);
    CHECK(g.type == CM_GEOM_POINT && g.n_points == 1 && g.xy[0] == 7.5 && g.xy[1] == 43.7);
    cm_geom_release(&g);

    CHECK(read("{\"type\":\"Point\",\"coordinates\":[1,2,3]}", &g, &err) == CM_OK); /* height dropped */
    CHECK(g.n_points == 1 && g.xy[1] == 2);
    cm_geom_release(&g);

    CHECK(read("{\"type\":\"LineString\",\"coordinates\":[[0,0],[1,1],[2,0]]}", &g, &err) == CM_OK);
    CHECK(g.type == CM_GEOM_LINESTRING && g.n_points == 3 && g.n_runs == 1);
    cm_geom_release(&g);

    CHECK(read("{\"type\":\"MultiLineString\",\"coordinates\":[[[0,0],[1,1]],[[2,2],[3,3],[4,4]]]}", &g, &err) == CM_OK);
    CHECK(g.n_runs == 2 && g.run_start[1] == 2 && g.run_start[2] == 5);
    cm_geom_release(&g);

    CHECK(read("{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[4,0],[4,4],[0,0]],[[1,1],[2,1],[2,2],[1,1]]]}", &g, &err) == CM_OK);
    CHECK(g.type == CM_GEOM_POLYGON && g.n_polys == 1 && g.n_runs == 2 && g.poly_start[1] == 2);
    cm_geom_release(&g);

    CHECK(read("{\"type\":\"MultiPolygon\",\"coordinates\":[[[[0,0],[1,0],[1,1],[0,0]]],[[[5,5],[6,5],[6,6],[5,5]]]]}", &g, &err) == CM_OK);
    CHECK(g.type == CM_GEOM_MULTIPOLYGON && g.n_polys == 2 && g.n_runs == 2 && g.poly_start[2] == 2);
    cm_geom_release(&g);

    CHECK(read("{\"type\":\"MultiPoint\",\"coordinates\":[[0,0],[1,1]]}", &g, &err) == CM_OK);
    CHECK(g.type == CM_GEOM_MULTIPOINT && g.n_points == 2);
    cm_geom_release(&g);

    CHECK(read("null", &g, &err) == CM_OK && g.type == CM_GEOM_NONE);

    /* Errors name the member at fault. */
    CHECK(read("{\"type\":\"Circle\",\"coordinates\":[0,0]}", &g, &err) == CM_ERR_BAD_GEOMETRY);
    CHECK_STR(err.field, "geometry.type");
    CHECK(read("{\"type\":\"Point\"}", &g, &err) == CM_ERR_BAD_GEOMETRY);
    CHECK_STR(err.field, "geometry.coordinates");
    CHECK(read("{\"type\":\"Point\",\"coordinates\":[\"a\",1]}", &g, &err) == CM_ERR_BAD_GEOMETRY);
    CHECK(read("{\"type\":\"Point\",\"coordinates\":[1]}", &g, &err) == CM_ERR_BAD_GEOMETRY);
    CHECK(read("{\"type\":\"LineString\",\"coordinates\":[[0,0],[1]]}", &g, &err) == CM_ERR_BAD_GEOMETRY);
    CHECK_STR(err.field, "geometry.coordinates[1]");
    CHECK(read("{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[1,0],[1,1],[0,0]],[[0,0],[true,0]]]}", &g, &err) == CM_ERR_BAD_GEOMETRY);
    CHECK_STR(err.field, "geometry.coordinates[1][1]");
    CHECK(read("{\"type\":\"Polygon\",\"coordinates\":[]}", &g, &err) == CM_ERR_BAD_GEOMETRY);
    CHECK(read("{\"type\":\"MultiPolygon\",\"coordinates\":[[[[0,0],[1,0],[1,1],[0,0]]],[[[0,0],\"x\"]]]}", &g, &err) == CM_ERR_BAD_GEOMETRY);
    CHECK_STR(err.field, "geometry.coordinates[1][0][1]");
    CHECK(read("[1,2]", &g, &err) == CM_ERR_BAD_GEOMETRY);

    /* Caps: 1000 positions at most. */
    size_t cap = 20 * 1100 + 100, len = 0;
    char *big = malloc(cap);
    len += (size_t)snprintf(big + len, cap - len, "{\"type\":\"LineString\",\"coordinates\":[");
    for (int i = 0; i < 1001; i++) len += (size_t)snprintf(big + len, cap - len, "%s[%d,1]", i ? "," : "", i % 100);
    snprintf(big + len, cap - len, "]}");
    CHECK(read(big, &g, &err) == CM_ERR_BAD_GEOMETRY);
    free(big);
    return check_report("test_geojson_read");
}
