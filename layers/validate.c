/* validate.c — geometry and property rules. */
#include "validate.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "utf8.h"

static cm_status check_run(const cm_geom *g, uint32_t r, bool ring, const char *path,
                           cm_error *err) {
    uint32_t s = g->run_start[r], e = g->run_start[r + 1], n = e - s;
    for (uint32_t i = s; i < e; i++) {
        double lon = g->xy[2 * i], lat = g->xy[2 * i + 1];
        if (!isfinite(lon) || !isfinite(lat) || lon < -180 || lon > 180 || lat < -90 || lat > 90) {
            char f[128];
            snprintf(f, sizeof f, "%s[%u]", path, i - s);
            return cm_error_set(err, CM_ERR_BAD_GEOMETRY, f,
                                "position out of range (lon -180..180, lat -90..90): %.9g, %.9g",
                                lon, lat);
        }
    }
    if (ring) {
        if (n < 4)
            return cm_error_set(err, CM_ERR_BAD_GEOMETRY, path, "a ring needs at least 4 positions, has %u", n);
        if (g->xy[2 * s] != g->xy[2 * (e - 1)] || g->xy[2 * s + 1] != g->xy[2 * (e - 1) + 1])
            return cm_error_set(err, CM_ERR_BAD_GEOMETRY, path, "ring not closed: first and last positions differ");
    } else if (g->type == CM_GEOM_LINESTRING || g->type == CM_GEOM_MULTILINESTRING) {
        if (n < 2)
            return cm_error_set(err, CM_ERR_BAD_GEOMETRY, path, "a line needs at least 2 positions, has %u", n);
    }
    return CM_OK;
}

cm_status cm_validate_geom(const cm_layer_def *def, const cm_geom *g, cm_error *err) {
    if (g->type == CM_GEOM_NONE)
        return cm_error_set(err, CM_ERR_BAD_GEOMETRY, "geometry", "a geometry is required");
    if (!cm_schema_allows_geom(def, g->type))
        return cm_error_set(err, CM_ERR_BAD_GEOMETRY, "geometry.type",
                            "layer \"%s\" does not take %s geometries", def->id, cm_geom_type_name(g->type));
    if (g->n_points > CM_MAX_VERTICES || g->n_runs > CM_MAX_PARTS)
        return cm_error_set(err, CM_ERR_BAD_GEOMETRY, "geometry.coordinates",
                            "too many positions or parts (max %u positions, %u parts)", CM_MAX_VERTICES, CM_MAX_PARTS);
    if (g->n_points == 0)
        return cm_error_set(err, CM_ERR_BAD_GEOMETRY, "geometry.coordinates", "empty geometry");
    char path[96];
    bool polygonal = g->type == CM_GEOM_POLYGON || g->type == CM_GEOM_MULTIPOLYGON;
    for (uint32_t p = 0; p < (polygonal ? g->n_polys : 1); p++) {
        uint32_t r0 = polygonal ? g->poly_start[p] : 0, r1 = polygonal ? g->poly_start[p + 1] : g->n_runs;
        for (uint32_t r = r0; r < r1; r++) {
            switch (g->type) {
            case CM_GEOM_POINT:
            case CM_GEOM_LINESTRING:
            case CM_GEOM_MULTIPOINT: snprintf(path, sizeof path, "geometry.coordinates"); break;
            case CM_GEOM_MULTILINESTRING:
            case CM_GEOM_POLYGON: snprintf(path, sizeof path, "geometry.coordinates[%u]", r); break;
            default: snprintf(path, sizeof path, "geometry.coordinates[%u][%u]", p, r - r0); break;
            }
            cm_status s = check_run(g, r, polygonal, path, err);
            if (s != CM_OK) return s;
        }
    }
    return CM_OK;
}

const char *cm_validate_prop_field(char out[CM_PROP_FIELD_MAX], const char *name) {
    snprintf(out, CM_PROP_FIELD_MAX, "properties.%s", name);
    return out;
}

cm_status cm_validate_values(const cm_layer_def *def, const cm_value *values, cm_error *err) {
    char field[CM_PROP_FIELD_MAX];
    for (size_t i = 0; i < def->n_props; i++) {
        const cm_prop_def *p = &def->props[i];
        const cm_value *v = &values[i];
        if (!v->set) {
            if (p->required && !p->server_owned)
                return cm_error_set(err, CM_ERR_BAD_PROPERTY, cm_validate_prop_field(field, p->name),
                                    "\"%s\" is required", p->name);
            continue;
        }
        if (v->type == CM_PROP_STRING) {
            if (!cm_utf8_valid(v->u.s, strlen(v->u.s)))
                return cm_error_set(err, CM_ERR_BAD_PROPERTY, cm_validate_prop_field(field, p->name),
                                    "\"%s\" is not valid UTF-8", p->name);
            if (p->max_length >= 0 && cm_utf8_length(v->u.s) > (size_t)p->max_length)
                return cm_error_set(err, CM_ERR_BAD_PROPERTY, cm_validate_prop_field(field, p->name),
                                    "\"%s\" is longer than %ld characters", p->name, p->max_length);
            if (p->n_enum) {
                bool ok = false;
                for (size_t k = 0; k < p->n_enum && !ok; k++) ok = strcmp(p->enum_values[k], v->u.s) == 0;
                if (!ok) {
                    char allowed[200] = "";
                    size_t used = 0;
                    for (size_t k = 0; k < p->n_enum && used < sizeof allowed; k++)
                        used += (size_t)snprintf(allowed + used, sizeof allowed - used, "%s%s", k ? ", " : "", p->enum_values[k]);
                    return cm_error_set(err, CM_ERR_BAD_PROPERTY, cm_validate_prop_field(field, p->name),
                                        "\"%s\" must be one of: %s", p->name, allowed);
                }
            }
        }
        if (p->has_minimum) {
            double x = v->type == CM_PROP_INTEGER ? (double)v->u.i : v->type == CM_PROP_NUMBER ? v->u.d : p->minimum;
            if (x < p->minimum)
                return cm_error_set(err, CM_ERR_BAD_PROPERTY, cm_validate_prop_field(field, p->name),
                                    "\"%s\" must be at least %g", p->name, p->minimum);
        }
        if (v->type == CM_PROP_NUMBER && !isfinite(v->u.d))
            return cm_error_set(err, CM_ERR_BAD_PROPERTY, cm_validate_prop_field(field, p->name),
                                "\"%s\" must be a finite number", p->name);
    }
    /* A validity interval that ends before it starts would be expired before it is active. */
    if (def->time_start >= 0 && def->time_end >= 0 && def->time_start != def->time_end) {
        const cm_value *start = &values[def->time_start], *end = &values[def->time_end];
        if (start->set && end->set && end->type == CM_PROP_DATETIME && start->type == CM_PROP_DATETIME &&
            end->u.t_ms < start->u.t_ms) {
            const char *end_name = def->props[def->time_end].name, *start_name = def->props[def->time_start].name;
            return cm_error_set(err, CM_ERR_BAD_PROPERTY, cm_validate_prop_field(field, end_name),
                                "\"%s\" is before \"%s\"", end_name, start_name);
        }
    }
    return CM_OK;
}
