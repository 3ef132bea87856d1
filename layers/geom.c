/* geom.c — geometry storage, envelopes and the exact geometry-vs-box test used by bbox
 * queries.
 *
 * DESIGN: a bbox query first takes candidates from the spatial index (envelopes), then
 * keeps those whose real geometry touches the box. The test is closed (boundary contact
 * counts), as OGC's bbox "intersects" is. For polygons: a ring crossing the box, or the
 * box lying inside the polygon (its centre inside under the even-odd rule over all rings,
 * which handles holes). */
#include "geom.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const type_names[] = {
    [CM_GEOM_NONE] = "",
    [CM_GEOM_POINT] = "Point",
    [CM_GEOM_LINESTRING] = "LineString",
    [CM_GEOM_POLYGON] = "Polygon",
    [CM_GEOM_MULTIPOINT] = "MultiPoint",
    [CM_GEOM_MULTILINESTRING] = "MultiLineString",
    [CM_GEOM_MULTIPOLYGON] = "MultiPolygon",
};

const char *cm_geom_type_name(cm_geom_type t) {
    return (t > CM_GEOM_NONE && t <= CM_GEOM_MULTIPOLYGON) ? type_names[t] : "";
}

cm_geom_type cm_geom_type_from_name(const char *name) {
    for (int t = CM_GEOM_POINT; t <= CM_GEOM_MULTIPOLYGON; t++)
        if (strcmp(name, type_names[t]) == 0) return (cm_geom_type)t;
    return CM_GEOM_NONE;
}

void cm_geom_release(cm_geom *g) {
    free(g->xy);
    free(g->run_start);
    free(g->poly_start);
    memset(g, 0, sizeof *g);
}

static void *dup_array(const void *src, size_t n) {
    if (!src || n == 0) return NULL;
    void *d = malloc(n);
    if (d) memcpy(d, src, n);
    return d;
}

cm_status cm_geom_copy(cm_geom *dst, const cm_geom *src) {
    *dst = *src;
    dst->xy = dup_array(src->xy, sizeof(double) * 2 * src->n_points);
    dst->run_start = dup_array(src->run_start, sizeof(uint32_t) * (src->n_runs + 1));
    dst->poly_start =
        src->poly_start ? dup_array(src->poly_start, sizeof(uint32_t) * (src->n_polys + 1)) : NULL;
    if ((src->n_points && !dst->xy) || !dst->run_start || (src->poly_start && !dst->poly_start)) {
        cm_geom_release(dst);
        return CM_ERR_NOMEM;
    }
    return CM_OK;
}

cm_bbox cm_geom_bbox(const cm_geom *g) {
    cm_bbox b = {INFINITY, INFINITY, -INFINITY, -INFINITY};
    for (uint32_t i = 0; i < g->n_points; i++) {
        double x = g->xy[2 * i], y = g->xy[2 * i + 1];
        if (x < b.min_lon) b.min_lon = x;
        if (x > b.max_lon) b.max_lon = x;
        if (y < b.min_lat) b.min_lat = y;
        if (y > b.max_lat) b.max_lat = y;
    }
    return b;
}

static bool point_in_box(double x, double y, const cm_bbox *b) {
    return x >= b->min_lon && x <= b->max_lon && y >= b->min_lat && y <= b->max_lat;
}

/* Liang–Barsky clipping: does the closed segment p0-p1 meet the closed box? */
static bool segment_meets_box(double x0, double y0, double x1, double y1, const cm_bbox *b) {
    double t0 = 0.0, t1 = 1.0;
    double dx = x1 - x0, dy = y1 - y0;
    const double p[4] = {-dx, dx, -dy, dy};
    const double q[4] = {x0 - b->min_lon, b->max_lon - x0, y0 - b->min_lat, b->max_lat - y0};
    for (int i = 0; i < 4; i++) {
        if (p[i] == 0.0) {
            if (q[i] < 0.0) return false;
            continue;
        }
        double t = q[i] / p[i];
        if (p[i] < 0.0) {
            if (t > t1) return false;
            if (t > t0) t0 = t;
        } else {
            if (t < t0) return false;
            if (t < t1) t1 = t;
        }
    }
    return true;
}

static bool run_meets_box(const cm_geom *g, uint32_t r, const cm_bbox *b) {
    uint32_t s = g->run_start[r], e = g->run_start[r + 1];
    if (e == s) return false;
    if (point_in_box(g->xy[2 * s], g->xy[2 * s + 1], b)) return true;
    for (uint32_t i = s + 1; i < e; i++) {
        const double *p = g->xy + 2 * (i - 1);
        if (segment_meets_box(p[0], p[1], p[2], p[3], b)) return true;
    }
    return false;
}

/* Even-odd crossing count of point (x, y) over runs [r0, r1). */
static bool point_in_rings(const cm_geom *g, uint32_t r0, uint32_t r1, double x, double y) {
    bool inside = false;
    for (uint32_t r = r0; r < r1; r++) {
        uint32_t s = g->run_start[r], e = g->run_start[r + 1];
        for (uint32_t i = s, j = e - 1; i < e; j = i++) {
            double xi = g->xy[2 * i], yi = g->xy[2 * i + 1];
            double xj = g->xy[2 * j], yj = g->xy[2 * j + 1];
            if ((yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) inside = !inside;
        }
    }
    return inside;
}

bool cm_geom_intersects_bbox(const cm_geom *g, const cm_bbox *b) {
    switch (g->type) {
    case CM_GEOM_POINT:
    case CM_GEOM_MULTIPOINT:
        for (uint32_t i = 0; i < g->n_points; i++)
            if (point_in_box(g->xy[2 * i], g->xy[2 * i + 1], b)) return true;
        return false;
    case CM_GEOM_LINESTRING:
    case CM_GEOM_MULTILINESTRING:
        for (uint32_t r = 0; r < g->n_runs; r++)
            if (run_meets_box(g, r, b)) return true;
        return false;
    case CM_GEOM_POLYGON:
    case CM_GEOM_MULTIPOLYGON: {
        for (uint32_t r = 0; r < g->n_runs; r++)
            if (run_meets_box(g, r, b)) return true;
        /* No ring touches the box: either the box is inside a polygon or they are apart. */
        double cx = (b->min_lon + b->max_lon) / 2, cy = (b->min_lat + b->max_lat) / 2;
        for (uint32_t p = 0; p < g->n_polys; p++)
            if (point_in_rings(g, g->poly_start[p], g->poly_start[p + 1], cx, cy)) return true;
        return false;
    }
    case CM_GEOM_NONE: break;
    }
    return false;
}

void cm_geom_builder_init(cm_geom_builder *b, cm_geom_type type, uint32_t max_points,
                          uint32_t max_runs) {
    memset(b, 0, sizeof *b);
    b->g.type = type;
    b->max_points = max_points;
    b->max_runs = max_runs;
}

static bool grow(void **arr, uint32_t *cap, uint32_t need, size_t elem) {
    if (need <= *cap) return true;
    uint32_t c = *cap ? *cap : 4;
    while (c < need) c *= 2;
    void *p = realloc(*arr, (size_t)c * elem);
    if (!p) return false;
    *arr = p;
    *cap = c;
    return true;
}

static cm_status ensure_run_start(cm_geom_builder *b) {
    /* run_start[0] = 0 exists from the first point on. */
    if (b->cap_runs == 0) {
        if (!grow((void **)&b->g.run_start, &b->cap_runs, 2, sizeof(uint32_t))) return CM_ERR_NOMEM;
        b->g.run_start[0] = 0;
    }
    return CM_OK;
}

cm_status cm_geom_builder_point(cm_geom_builder *b, double lon, double lat) {
    if (b->failed) return CM_ERR_BAD_GEOMETRY;
    if (b->g.n_points >= b->max_points) {
        b->failed = true;
        return CM_ERR_BAD_GEOMETRY;
    }
    if (ensure_run_start(b) != CM_OK ||
        !grow((void **)&b->g.xy, &b->cap_points, b->g.n_points + 1, 2 * sizeof(double))) {
        b->failed = true;
        return CM_ERR_NOMEM;
    }
    b->g.xy[2 * b->g.n_points] = lon;
    b->g.xy[2 * b->g.n_points + 1] = lat;
    b->g.n_points++;
    return CM_OK;
}

cm_status cm_geom_builder_end_run(cm_geom_builder *b) {
    if (b->failed) return CM_ERR_BAD_GEOMETRY;
    if (b->g.n_runs >= b->max_runs) {
        b->failed = true;
        return CM_ERR_BAD_GEOMETRY;
    }
    if (ensure_run_start(b) != CM_OK ||
        !grow((void **)&b->g.run_start, &b->cap_runs, b->g.n_runs + 2, sizeof(uint32_t))) {
        b->failed = true;
        return CM_ERR_NOMEM;
    }
    b->g.run_start[++b->g.n_runs] = b->g.n_points;
    return CM_OK;
}

cm_status cm_geom_builder_end_poly(cm_geom_builder *b) {
    if (b->failed) return CM_ERR_BAD_GEOMETRY;
    if (!grow((void **)&b->g.poly_start, &b->cap_polys, b->g.n_polys + 2, sizeof(uint32_t))) {
        b->failed = true;
        return CM_ERR_NOMEM;
    }
    if (b->g.n_polys == 0) b->g.poly_start[0] = 0;
    b->g.poly_start[++b->g.n_polys] = b->g.n_runs;
    return CM_OK;
}

void cm_geom_builder_finish(cm_geom_builder *b, cm_geom *out) {
    ensure_run_start(b);
    *out = b->g;
    memset(b, 0, sizeof *b);
}

void cm_geom_builder_release(cm_geom_builder *b) {
    cm_geom_release(&b->g);
    memset(b, 0, sizeof *b);
}

bool cm_geom_equal(const cm_geom *a, const cm_geom *b) {
    if (a->type != b->type || a->n_points != b->n_points || a->n_runs != b->n_runs || a->n_polys != b->n_polys)
        return false;
    if (a->n_points && memcmp(a->xy, b->xy, 2 * sizeof(double) * a->n_points) != 0) return false;
    if (a->n_runs && memcmp(a->run_start, b->run_start, sizeof(uint32_t) * (a->n_runs + 1)) != 0) return false;
    return !a->n_polys || memcmp(a->poly_start, b->poly_start, sizeof(uint32_t) * (a->n_polys + 1)) == 0;
}
