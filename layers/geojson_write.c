/* geojson_write.c — GeoJSON serialization.
 *
 * DESIGN: numbers are the bulk of GeoJSON, and printf("%.7f") dominates a naive writer.
 * Coordinates are rounded to a fixed number of decimals and printed from a scaled integer
 * instead, falling back to "%.17g" only for magnitudes the integer cannot hold. */
#include "geojson_write.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "datetime.h"

static const double pow10_table[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};

bool cm_geojson_write_number(cm_buf *b, double v, int decimals) {
    if (!isfinite(v)) return cm_buf_append(b, "null", 4);
    if (decimals < 0) decimals = 0;
    if (decimals > 9) decimals = 9;
    double scaled = v * pow10_table[decimals];
    if (fabs(scaled) >= 9.0e15) return cm_buf_printf(b, "%.17g", v);
    int64_t r = llround(scaled);
    char tmp[40];
    char *end = tmp + sizeof tmp, *p = end;
    bool neg = r < 0;
    uint64_t u = neg ? (uint64_t)(-r) : (uint64_t)r;
    int frac = decimals;
    /* Trailing zeros of the fraction are dropped, then the point if nothing remains. */
    while (frac > 0 && u % 10 == 0) {
        u /= 10;
        frac--;
    }
    for (int i = 0; i < frac; i++) {
        *--p = (char)('0' + u % 10);
        u /= 10;
    }
    if (frac > 0) *--p = '.';
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (neg) *--p = '-';
    return cm_buf_append(b, p, (size_t)(end - p));
}

static bool write_position(cm_buf *b, const double *xy, int decimals, bool lat_first) {
    cm_buf_append_char(b, '[');
    cm_geojson_write_number(b, xy[lat_first ? 1 : 0], decimals);
    cm_buf_append_char(b, ',');
    cm_geojson_write_number(b, xy[lat_first ? 0 : 1], decimals);
    return cm_buf_append_char(b, ']');
}

static bool write_run(cm_buf *b, const cm_geom *g, uint32_t r, int decimals, bool lat_first) {
    cm_buf_append_char(b, '[');
    for (uint32_t i = g->run_start[r]; i < g->run_start[r + 1]; i++) {
        if (i > g->run_start[r]) cm_buf_append_char(b, ',');
        write_position(b, g->xy + 2 * i, decimals, lat_first);
    }
    return cm_buf_append_char(b, ']');
}

static bool write_runs(cm_buf *b, const cm_geom *g, uint32_t r0, uint32_t r1, int decimals,
                       bool lat_first) {
    cm_buf_append_char(b, '[');
    for (uint32_t r = r0; r < r1; r++) {
        if (r > r0) cm_buf_append_char(b, ',');
        write_run(b, g, r, decimals, lat_first);
    }
    return cm_buf_append_char(b, ']');
}

bool cm_geojson_write_geometry(cm_buf *b, const cm_geom *g, int decimals, bool lat_first) {
    if (g->type == CM_GEOM_NONE) return cm_buf_append_str(b, "null");
    cm_buf_append_str(b, "{\"type\":\"");
    cm_buf_append_str(b, cm_geom_type_name(g->type));
    cm_buf_append_str(b, "\",\"coordinates\":");
    switch (g->type) {
    case CM_GEOM_POINT: write_position(b, g->xy, decimals, lat_first); break;
    case CM_GEOM_LINESTRING:
    case CM_GEOM_MULTIPOINT: write_run(b, g, 0, decimals, lat_first); break;
    case CM_GEOM_MULTILINESTRING:
    case CM_GEOM_POLYGON: write_runs(b, g, 0, g->n_runs, decimals, lat_first); break;
    case CM_GEOM_MULTIPOLYGON:
        cm_buf_append_char(b, '[');
        for (uint32_t p = 0; p < g->n_polys; p++) {
            if (p) cm_buf_append_char(b, ',');
            write_runs(b, g, g->poly_start[p], g->poly_start[p + 1], decimals, lat_first);
        }
        cm_buf_append_char(b, ']');
        break;
    case CM_GEOM_NONE: break;
    }
    return cm_buf_append_char(b, '}');
}

bool cm_geojson_write_value(cm_buf *b, const cm_value *v) {
    if (!v->set) return cm_buf_append(b, "null", 4);
    switch (v->type) {
    case CM_PROP_STRING: return cm_buf_append_json_string(b, v->u.s);
    case CM_PROP_INTEGER: return cm_buf_append_int(b, v->u.i);
    case CM_PROP_NUMBER:
        if (!isfinite(v->u.d)) return cm_buf_append(b, "null", 4);
        return cm_buf_printf(b, "%.15g", v->u.d);
    case CM_PROP_BOOLEAN: return cm_buf_append_str(b, v->u.b ? "true" : "false");
    case CM_PROP_DATETIME: {
        char tmp[40];
        size_t n = cm_datetime_format(v->u.t_ms, tmp + 1);
        tmp[0] = '"';
        tmp[n + 1] = '"';
        return cm_buf_append(b, tmp, n + 2);
    }
    }
    return false;
}

bool cm_geojson_write_properties(cm_buf *b, const cm_layer_def *def, const cm_value *values) {
    cm_buf_append_char(b, '{');
    for (size_t i = 0; i < def->n_props; i++) {
        if (i) cm_buf_append_char(b, ',');
        cm_buf_append_json_string(b, def->props[i].name);
        cm_buf_append_char(b, ':');
        cm_geojson_write_value(b, &values[i]);
    }
    return cm_buf_append_char(b, '}');
}
