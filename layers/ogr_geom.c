/* ogr_geom.c — OGR <-> cm_geom. */
#include "ogr_geom.h"

#include <cpl_error.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cm_status add_curve(cm_geom_builder *b, OGRGeometryH line) {
    int n = OGR_G_GetPointCount(line);
    for (int i = 0; i < n; i++) {
        cm_status s = cm_geom_builder_point(b, OGR_G_GetX(line, i), OGR_G_GetY(line, i));
        if (s != CM_OK) return s;
    }
    return cm_geom_builder_end_run(b);
}

static cm_status add_polygon(cm_geom_builder *b, OGRGeometryH poly) {
    int rings = OGR_G_GetGeometryCount(poly);
    for (int r = 0; r < rings; r++) {
        cm_status s = add_curve(b, OGR_G_GetGeometryRef(poly, r));
        if (s != CM_OK) return s;
    }
    return cm_geom_builder_end_poly(b);
}

cm_status cm_ogr_to_geom(OGRGeometryH g, uint32_t max_points, cm_geom *out, cm_error *err) {
    memset(out, 0, sizeof *out);
    if (!g || OGR_G_IsEmpty(g)) return CM_OK;
    OGRGeometryH linear = NULL;
    if (OGR_G_HasCurveGeometry(g, TRUE)) {
        linear = OGR_G_GetLinearGeometry(g, 0, NULL);
        if (!linear) return cm_error_set(err, CM_ERR_BAD_GEOMETRY, "geometry", "cannot linearise curve geometry");
        g = linear;
    }
    OGRwkbGeometryType t = wkbFlatten(OGR_G_GetGeometryType(g));
    cm_geom_type ct = CM_GEOM_NONE;
    switch (t) {
    case wkbPoint: ct = CM_GEOM_POINT; break;
    case wkbLineString: ct = CM_GEOM_LINESTRING; break;
    case wkbPolygon: ct = CM_GEOM_POLYGON; break;
    case wkbMultiPoint: ct = CM_GEOM_MULTIPOINT; break;
    case wkbMultiLineString: ct = CM_GEOM_MULTILINESTRING; break;
    case wkbMultiPolygon: ct = CM_GEOM_MULTIPOLYGON; break;
    default: break;
    }
    if (ct == CM_GEOM_NONE) {
        OGR_G_DestroyGeometry(linear);
        return cm_error_set(err, CM_ERR_BAD_GEOMETRY, "geometry.type", "unsupported geometry type %s",
                            OGRGeometryTypeToName(t));
    }
    cm_geom_builder b;
    cm_geom_builder_init(&b, ct, max_points, max_points);
    cm_status s = CM_OK;
    switch (ct) {
    case CM_GEOM_POINT:
    case CM_GEOM_LINESTRING: s = add_curve(&b, g); break;
    case CM_GEOM_POLYGON: s = add_polygon(&b, g); break;
    case CM_GEOM_MULTIPOINT:
        for (int i = 0; i < OGR_G_GetGeometryCount(g) && s == CM_OK; i++) {
            OGRGeometryH p = OGR_G_GetGeometryRef(g, i);
            s = cm_geom_builder_point(&b, OGR_G_GetX(p, 0), OGR_G_GetY(p, 0));
        }
        if (s == CM_OK) s = cm_geom_builder_end_run(&b);
        break;
    case CM_GEOM_MULTILINESTRING:
        for (int i = 0; i < OGR_G_GetGeometryCount(g) && s == CM_OK; i++) s = add_curve(&b, OGR_G_GetGeometryRef(g, i));
        break;
    case CM_GEOM_MULTIPOLYGON:
        for (int i = 0; i < OGR_G_GetGeometryCount(g) && s == CM_OK; i++) s = add_polygon(&b, OGR_G_GetGeometryRef(g, i));
        break;
    case CM_GEOM_NONE: break;
    }
    OGR_G_DestroyGeometry(linear);
    if (s != CM_OK) {
        cm_geom_builder_release(&b);
        return cm_error_set(err, s, "geometry.coordinates",
                            s == CM_ERR_NOMEM ? "out of memory" : "geometry has more than %u positions", max_points);
    }
    cm_geom_builder_finish(&b, out);
    return CM_OK;
}

static OGRGeometryH make_curve(const cm_geom *g, uint32_t r, OGRwkbGeometryType t) {
    OGRGeometryH line = OGR_G_CreateGeometry(t);
    if (!line) return NULL;
    uint32_t s = g->run_start[r], e = g->run_start[r + 1];
    OGR_G_SetPointCount(line, (int)(e - s));
    for (uint32_t i = s; i < e; i++) OGR_G_SetPoint_2D(line, (int)(i - s), g->xy[2 * i], g->xy[2 * i + 1]);
    return line;
}

static OGRGeometryH make_polygon(const cm_geom *g, uint32_t p) {
    OGRGeometryH poly = OGR_G_CreateGeometry(wkbPolygon);
    for (uint32_t r = g->poly_start[p]; poly && r < g->poly_start[p + 1]; r++)
        OGR_G_AddGeometryDirectly(poly, make_curve(g, r, wkbLinearRing));
    return poly;
}

OGRGeometryH cm_ogr_from_geom(const cm_geom *g) {
    OGRGeometryH out = NULL;
    switch (g->type) {
    case CM_GEOM_POINT:
        out = OGR_G_CreateGeometry(wkbPoint);
        if (out) OGR_G_SetPoint_2D(out, 0, g->xy[0], g->xy[1]);
        break;
    case CM_GEOM_LINESTRING: out = make_curve(g, 0, wkbLineString); break;
    case CM_GEOM_POLYGON: out = make_polygon(g, 0); break;
    case CM_GEOM_MULTIPOINT:
        out = OGR_G_CreateGeometry(wkbMultiPoint);
        for (uint32_t i = 0; out && i < g->n_points; i++) {
            OGRGeometryH pt = OGR_G_CreateGeometry(wkbPoint);
            OGR_G_SetPoint_2D(pt, 0, g->xy[2 * i], g->xy[2 * i + 1]);
            OGR_G_AddGeometryDirectly(out, pt);
        }
        break;
    case CM_GEOM_MULTILINESTRING:
        out = OGR_G_CreateGeometry(wkbMultiLineString);
        for (uint32_t r = 0; out && r < g->n_runs; r++) OGR_G_AddGeometryDirectly(out, make_curve(g, r, wkbLineString));
        break;
    case CM_GEOM_MULTIPOLYGON:
        out = OGR_G_CreateGeometry(wkbMultiPolygon);
        for (uint32_t p = 0; out && p < g->n_polys; p++) OGR_G_AddGeometryDirectly(out, make_polygon(g, p));
        break;
    case CM_GEOM_NONE: break;
    }
    return out;
}

typedef struct {
    char message[200];
} validity_note;

static void capture_note(CPLErr level, CPLErrorNum num, const char *msg) {
    (void)num;
    validity_note *note = CPLGetErrorHandlerUserData();
    if (note && level >= CE_Warning && !note->message[0]) snprintf(note->message, sizeof note->message, "%s", msg);
}

/* GEOS's rule for lines, without building one: every line has two distinct positions. */
static cm_status check_lines(const cm_geom *g, cm_error *err) {
    for (uint32_t r = 0; r < g->n_runs; r++) {
        const double *first = g->xy + 2 * g->run_start[r];
        bool moves = false;
        for (uint32_t i = g->run_start[r] + 1; i < g->run_start[r + 1] && !moves; i++)
            moves = g->xy[2 * i] != first[0] || g->xy[2 * i + 1] != first[1];
        if (!moves)
            return cm_error_set(err, CM_ERR_INVALID_GEOMETRY, "geometry",
                                "invalid geometry: line %" PRIu32 " has zero length (all its positions are equal)", r + 1);
    }
    return CM_OK;
}

cm_status cm_ogr_check_valid(const cm_geom *g, cm_error *err) {
    if (g->type == CM_GEOM_LINESTRING || g->type == CM_GEOM_MULTILINESTRING) return check_lines(g, err);
    if (g->type != CM_GEOM_POLYGON && g->type != CM_GEOM_MULTIPOLYGON) return CM_OK; /* points are valid */
    OGRGeometryH og = cm_ogr_from_geom(g);
    if (!og) return cm_error_set(err, CM_ERR_NOMEM, NULL, NULL);
    validity_note note = {{0}};
    /* GEOS reports why a geometry is invalid as a warning; the handler is this thread's. */
    CPLPushErrorHandlerEx(capture_note, &note);
    bool valid = OGR_G_IsValid(og);
    CPLPopErrorHandler();
    OGR_G_DestroyGeometry(og);
    if (valid) return CM_OK;
    return cm_error_set(err, CM_ERR_INVALID_GEOMETRY, "geometry", "invalid geometry: %s",
                        note.message[0] ? note.message : "rings overlap or cross");
}
