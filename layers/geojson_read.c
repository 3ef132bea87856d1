/* geojson_read.c — GeoJSON geometry parsing over a jansson tree. */
#include "geojson_read.h"

#include <stdio.h>
#include <string.h>

static cm_status bad(cm_error *err, const char *path, const char *why) {
    return cm_error_set(err, CM_ERR_BAD_GEOMETRY, path, "%s", why);
}

static cm_status read_position(cm_geom_builder *b, const json_t *pos, const char *path, cm_error *err) {
    size_t n = json_array_size(pos);
    if (!json_is_array(pos) || n < 2 || n > 3) return bad(err, path, "a position must be an array of 2 or 3 numbers");
    const json_t *x = json_array_get(pos, 0), *y = json_array_get(pos, 1);
    if (!json_is_number(x) || !json_is_number(y) || (n == 3 && !json_is_number(json_array_get(pos, 2))))
        return bad(err, path, "a position must be an array of 2 or 3 numbers");
    cm_status s = cm_geom_builder_point(b, json_number_value(x), json_number_value(y));
    if (s != CM_OK) return bad(err, path, "too many positions");
    return CM_OK;
}

static cm_status read_run(cm_geom_builder *b, const json_t *arr, const char *path, cm_error *err) {
    if (!json_is_array(arr)) return bad(err, path, "expected an array of positions");
    char p[128];
    for (size_t i = 0; i < json_array_size(arr); i++) {
        snprintf(p, sizeof p, "%s[%zu]", path, i);
        cm_status s = read_position(b, json_array_get(arr, i), p, err);
        if (s != CM_OK) return s;
    }
    if (cm_geom_builder_end_run(b) != CM_OK) return bad(err, path, "too many parts");
    return CM_OK;
}

static cm_status read_polygon(cm_geom_builder *b, const json_t *rings, const char *path, cm_error *err) {
    if (!json_is_array(rings) || json_array_size(rings) == 0) return bad(err, path, "a polygon needs at least one ring");
    char p[128];
    for (size_t r = 0; r < json_array_size(rings); r++) {
        snprintf(p, sizeof p, "%s[%zu]", path, r);
        cm_status s = read_run(b, json_array_get(rings, r), p, err);
        if (s != CM_OK) return s;
    }
    if (cm_geom_builder_end_poly(b) != CM_OK) return bad(err, path, "out of memory");
    return CM_OK;
}

cm_status cm_geojson_read_geometry(const json_t *j, uint32_t max_points, uint32_t max_parts, cm_geom *out,
                                   cm_error *err) {
    memset(out, 0, sizeof *out);
    if (json_is_null(j)) return CM_OK;
    if (!json_is_object(j)) return bad(err, "geometry", "geometry must be an object or null");
    const char *type = json_string_value(json_object_get(j, "type"));
    cm_geom_type t = type ? cm_geom_type_from_name(type) : CM_GEOM_NONE;
    if (t == CM_GEOM_NONE)
        return bad(err, "geometry.type",
                   "geometry type must be Point, LineString, Polygon, MultiPoint, MultiLineString or MultiPolygon");
    const json_t *c = json_object_get(j, "coordinates");
    const char *path = "geometry.coordinates";
    if (!json_is_array(c)) return bad(err, path, "coordinates must be an array");
    cm_geom_builder b;
    cm_geom_builder_init(&b, t, max_points, max_parts);
    cm_status s = CM_OK;
    char p[128];
    switch (t) {
    case CM_GEOM_POINT:
        s = read_position(&b, c, path, err);
        if (s == CM_OK) s = cm_geom_builder_end_run(&b);
        break;
    case CM_GEOM_LINESTRING:
    case CM_GEOM_MULTIPOINT: s = read_run(&b, c, path, err); break;
    case CM_GEOM_MULTILINESTRING:
        if (json_array_size(c) == 0) s = bad(err, path, "a MultiLineString needs at least one line");
        for (size_t i = 0; s == CM_OK && i < json_array_size(c); i++) {
            snprintf(p, sizeof p, "%s[%zu]", path, i);
            s = read_run(&b, json_array_get(c, i), p, err);
        }
        break;
    case CM_GEOM_POLYGON: s = read_polygon(&b, c, path, err); break;
    case CM_GEOM_MULTIPOLYGON:
        if (json_array_size(c) == 0) s = bad(err, path, "a MultiPolygon needs at least one polygon");
        for (size_t i = 0; s == CM_OK && i < json_array_size(c); i++) {
            snprintf(p, sizeof p, "%s[%zu]", path, i);
            s = read_polygon(&b, json_array_get(c, i), p, err);
        }
        break;
    case CM_GEOM_NONE: break;
    }
    if (s != CM_OK) {
        cm_geom_builder_release(&b);
        return s;
    }
    cm_geom_builder_finish(&b, out);
    return CM_OK;
}
