/* feature_input.c — client features into typed values, and JSON merge patch. */
#include "feature_input.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datetime.h"
#include "geojson_read.h"
#include "validate.h"

static cm_status read_value(const cm_prop_def *p, const json_t *j, cm_value *v, cm_error *err) {
    char field[CM_PROP_FIELD_MAX]; /* made only for an error */
    v->type = p->type;
    if (json_is_null(j)) {
        v->set = false;
        return CM_OK;
    }
    switch (p->type) {
    case CM_PROP_STRING:
        if (!json_is_string(j)) break;
        v->u.s = strndup(json_string_value(j), json_string_length(j));
        if (!v->u.s) return cm_error_set(err, CM_ERR_NOMEM, NULL, NULL);
        if (strlen(v->u.s) != json_string_length(j)) {
            free(v->u.s);
            return cm_error_set(err, CM_ERR_BAD_PROPERTY, cm_validate_prop_field(field, p->name),
                                "\"%s\" contains a NUL character", p->name);
        }
        v->set = true;
        return CM_OK;
    case CM_PROP_INTEGER:
        if (json_is_integer(j)) {
            v->u.i = json_integer_value(j);
            v->set = true;
            return CM_OK;
        }
        if (json_is_real(j) && json_real_value(j) == floor(json_real_value(j)) && fabs(json_real_value(j)) < 9e15) {
            v->u.i = (int64_t)json_real_value(j);
            v->set = true;
            return CM_OK;
        }
        break;
    case CM_PROP_NUMBER:
        if (json_is_number(j) && isfinite(json_number_value(j))) {
            v->u.d = json_number_value(j);
            v->set = true;
            return CM_OK;
        }
        break;
    case CM_PROP_BOOLEAN:
        if (json_is_boolean(j)) {
            v->u.b = json_is_true(j);
            v->set = true;
            return CM_OK;
        }
        break;
    case CM_PROP_DATETIME:
        if (json_is_string(j) && cm_datetime_parse(json_string_value(j), &v->u.t_ms)) {
            v->set = true;
            return CM_OK;
        }
        return cm_error_set(err, CM_ERR_BAD_PROPERTY, cm_validate_prop_field(field, p->name),
                            "\"%s\" must be an RFC 3339 date-time such as 2026-11-28T18:00:00Z", p->name);
    }
    return cm_error_set(err, CM_ERR_BAD_PROPERTY, cm_validate_prop_field(field, p->name),
                        "\"%s\" must be %s %s (or null)", p->name, p->type == CM_PROP_INTEGER ? "an" : "a",
                        cm_prop_type_name(p->type));
}

/* Positions in a CRS whose first axis is northing or latitude (EPSG:4326 is lat,lon) come
 * in that order (OGC API Features Part 2); the transformations take x = easting. */
static void swap_axes(cm_geom *g) {
    for (uint32_t i = 0; i < g->n_points; i++) {
        double t = g->xy[2 * i];
        g->xy[2 * i] = g->xy[2 * i + 1];
        g->xy[2 * i + 1] = t;
    }
}

cm_status cm_feature_input_read(const cm_layer_def *def, const json_t *feature, cm_crs crs, cm_geom *geom,
                                cm_value **values, cm_error *err) {
    memset(geom, 0, sizeof *geom);
    *values = NULL;
    if (!json_is_object(feature) || !json_is_string(json_object_get(feature, "type")) ||
        strcmp(json_string_value(json_object_get(feature, "type")), "Feature") != 0)
        return cm_error_set(err, CM_ERR_BAD_JSON, "type", "the body must be a GeoJSON Feature ({\"type\":\"Feature\",...})");
    const json_t *props = json_object_get(feature, "properties");
    if (props && !json_is_object(props) && !json_is_null(props))
        return cm_error_set(err, CM_ERR_BAD_PROPERTY, "properties", "\"properties\" must be an object");
    if (!json_object_get(feature, "geometry"))
        return cm_error_set(err, CM_ERR_BAD_GEOMETRY, "geometry", "a geometry is required");
    cm_geom raw;
    cm_status s = cm_geojson_read_geometry(json_object_get(feature, "geometry"), CM_MAX_VERTICES, CM_MAX_PARTS, &raw, err);
    if (s != CM_OK) return s;
    if (cm_crs_is_crs84(crs) || raw.type == CM_GEOM_NONE) {
        *geom = raw;
    } else {
        if (cm_crs_lat_first(crs)) swap_axes(&raw); /* the client writes the CRS's own order, as we answer */
        s = cm_crs_geom_to_wgs84(crs, &raw, geom, err);
        cm_geom_release(&raw);
        if (s != CM_OK) return s;
    }
    cm_value *v = cm_values_create(def);
    if (!v) {
        cm_geom_release(geom);
        return cm_error_set(err, CM_ERR_NOMEM, NULL, NULL);
    }
    const char *key;
    const json_t *val;
    json_object_foreach((json_t *)props, key, val) {
        int i = cm_schema_prop_index(def, key);
        if (i < 0) {
            if (def->drop_unknown) continue;
            char field[96];
            snprintf(field, sizeof field, "properties.%.60s", key);
            s = cm_error_set(err, CM_ERR_BAD_PROPERTY, field, "layer \"%s\" has no property \"%.60s\"", def->id, key);
            break;
        }
        if (def->props[i].server_owned) continue; /* the server sets these */
        if ((s = read_value(&def->props[i], val, &v[i], err)) != CM_OK) break;
    }
    if (s != CM_OK) {
        cm_values_free(v, def->n_props);
        cm_geom_release(geom);
        return s;
    }
    *values = v;
    return CM_OK;
}

void cm_json_merge_patch(json_t *target, const json_t *patch) {
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)patch, key, val) {
        if (json_is_null(val)) {
            json_object_del(target, key);
        } else if (json_is_object(val)) {
            json_t *cur = json_object_get(target, key);
            if (!json_is_object(cur)) {
                cur = json_object();
                json_object_set_new(target, key, cur);
            }
            cm_json_merge_patch(cur, val);
        } else {
            json_object_set(target, key, val);
        }
    }
}
