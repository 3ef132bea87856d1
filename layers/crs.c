/* crs.c — PROJ wrappers with a per-thread cache of transformations.
 *
 * DESIGN: transformations are normalised for visualisation (x = longitude/easting) so
 * geometry code never sees axis order; the API layer swaps axes on output for CRSs whose
 * authority order is lat/lon. */
#include "crs.h"

#include <inttypes.h>
#include <math.h>
#include <proj.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

#define CACHE_SLOTS 8

typedef struct {
    int epsg;
    PJ *pj;         /* WGS84 -> epsg, normalised */
    int lat_first;  /* -1 unknown */
    bool has_area;  /* the CRS's area of use, in degrees (west > east: across the antimeridian) */
    double west, south, east, north;
} cache_slot;

/* How far past its area of use a position may lie, in degrees: data near a zone's edge is
 * real; a Mercator y of 1e300 (latitude 90) or a Lambert x of -1e9 is not. */
#define AREA_MARGIN_DEG 2.0

typedef struct {
    PJ_CONTEXT *ctx;
    cache_slot slots[CACHE_SLOTS];
    int used;
} thread_cache;

static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

static void free_cache(void *p) {
    thread_cache *c = p;
    if (!c) return;
    for (int i = 0; i < c->used; i++) proj_destroy(c->slots[i].pj);
    proj_context_destroy(c->ctx);
    free(c);
}

static void make_key(void) { pthread_key_create(&cache_key, free_cache); }

static thread_cache *get_cache(void) {
    pthread_once(&cache_once, make_key);
    thread_cache *c = pthread_getspecific(cache_key);
    if (c) return c;
    c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->ctx = proj_context_create();
    proj_log_level(c->ctx, PJ_LOG_NONE);
    pthread_setspecific(cache_key, c);
    return c;
}

void cm_crs_thread_release(void) {
    pthread_once(&cache_once, make_key);
    free_cache(pthread_getspecific(cache_key));
    pthread_setspecific(cache_key, NULL);
}

bool cm_crs_parse(const char *text, cm_crs *out) {
    static const char *const crs84[] = {CM_CRS84_URI, "http://www.opengis.net/def/crs/OGC/0/CRS84",
                                        "[OGC:CRS84]", "OGC:CRS84", "CRS84"};
    for (size_t i = 0; i < sizeof crs84 / sizeof *crs84; i++)
        if (strcmp(text, crs84[i]) == 0) {
            out->epsg = 0;
            return true;
        }
    const char *prefixes[] = {"http://www.opengis.net/def/crs/EPSG/0/", "https://www.opengis.net/def/crs/EPSG/0/",
                              "[EPSG:", "EPSG:"};
    for (size_t i = 0; i < 4; i++) {
        size_t n = strlen(prefixes[i]);
        if (strncmp(text, prefixes[i], n) != 0) continue;
        const char *p = text + n;
        long code = 0;
        int digits = 0;
        while (*p >= '0' && *p <= '9' && digits < 7) code = code * 10 + (*p++ - '0'), digits++;
        if (digits == 0) return false;
        if (i == 2 ? strcmp(p, "]") != 0 : *p != '\0') return false;
        if (code <= 0) return false;
        out->epsg = (int)code;
        return true;
    }
    return false;
}

void cm_crs_uri(cm_crs crs, char *out, size_t n) {
    size_t used = 0; /* without printf: every feature answer names its CRS (buf.h) */
    if (crs.epsg == 0) {
        cm_text_append(out, n, &used, CM_CRS84_URI);
        return;
    }
    cm_text_append(out, n, &used, "http://www.opengis.net/def/crs/EPSG/0/");
    cm_text_append_int(out, n, &used, crs.epsg);
}

bool cm_crs_is_crs84(cm_crs crs) { return crs.epsg == 0; }

static cache_slot *slot_for(int epsg) {
    thread_cache *c = get_cache();
    if (!c) return NULL;
    for (int i = 0; i < c->used; i++)
        if (c->slots[i].epsg == epsg) return c->slots[i].pj ? &c->slots[i] : NULL;
    char target[32];
    snprintf(target, sizeof target, "EPSG:%d", epsg);
    PJ *raw = proj_create_crs_to_crs(c->ctx, "OGC:CRS84", target, NULL);
    PJ *norm = raw ? proj_normalize_for_visualization(c->ctx, raw) : NULL;
    proj_destroy(raw);
    int lat_first = 0;
    bool has_area = false;
    double west = 0, south = 0, east = 0, north = 0;
    PJ *crs = proj_create(c->ctx, target);
    /* Positions are 2D: a geocentric or 3D CRS would be read as something it is not. */
    PJ_TYPE type = crs ? proj_get_type(crs) : PJ_TYPE_UNKNOWN;
    if (type != PJ_TYPE_GEOGRAPHIC_2D_CRS && type != PJ_TYPE_PROJECTED_CRS) {
        proj_destroy(norm);
        norm = NULL;
    }
    if (crs) {
        has_area = proj_get_area_of_use(c->ctx, crs, &west, &south, &east, &north, NULL) && west > -1000;
        PJ *cs = proj_crs_get_coordinate_system(c->ctx, crs);
        const char *dir = NULL;
        if (cs && proj_cs_get_axis_info(c->ctx, cs, 0, NULL, NULL, &dir, NULL, NULL, NULL, NULL) && dir)
            lat_first = strcmp(dir, "north") == 0 || strcmp(dir, "south") == 0;
        proj_destroy(cs);
        proj_destroy(crs);
    }
    cache_slot *s;
    if (c->used < CACHE_SLOTS) {
        s = &c->slots[c->used++];
    } else { /* evict the oldest: a handful of CRSs are ever in use at once */
        proj_destroy(c->slots[0].pj);
        memmove(c->slots, c->slots + 1, sizeof(cache_slot) * (CACHE_SLOTS - 1));
        s = &c->slots[CACHE_SLOTS - 1];
    }
    s->epsg = epsg;
    s->pj = norm;
    s->lat_first = lat_first;
    s->has_area = has_area;
    s->west = west;
    s->south = south;
    s->east = east;
    s->north = north;
    return norm ? s : NULL;
}

bool cm_crs_check(cm_crs crs) { return crs.epsg == 0 || slot_for(crs.epsg) != NULL; }

bool cm_crs_lat_first(cm_crs crs) {
    if (crs.epsg == 0) return false;
    cache_slot *s = slot_for(crs.epsg);
    return s && s->lat_first;
}

int cm_crs_decimals(cm_crs crs) {
    if (crs.epsg == 0) return 7;
    thread_cache *c = get_cache();
    char target[32];
    snprintf(target, sizeof target, "EPSG:%d", crs.epsg);
    PJ *p = c ? proj_create(c->ctx, target) : NULL;
    PJ_TYPE t = p ? proj_get_type(p) : PJ_TYPE_UNKNOWN;
    proj_destroy(p);
    return (t == PJ_TYPE_GEOGRAPHIC_2D_CRS || t == PJ_TYPE_GEOGRAPHIC_3D_CRS) ? 7 : 3;
}

cm_status cm_crs_bbox_to_wgs84(cm_crs crs, const cm_bbox *in, cm_bbox *out, cm_error *err) {
    if (crs.epsg == 0) {
        *out = *in;
        return CM_OK;
    }
    cache_slot *s = slot_for(crs.epsg);
    if (!s) return cm_error_set(err, CM_ERR_BAD_PARAMETER, "bbox-crs", "CRS EPSG:%d is not supported", crs.epsg);
    thread_cache *c = get_cache();
    if (!proj_trans_bounds(c->ctx, s->pj, PJ_INV, in->min_lon, in->min_lat, in->max_lon, in->max_lat,
                           &out->min_lon, &out->min_lat, &out->max_lon, &out->max_lat, 21) ||
        !isfinite(out->min_lon) || !isfinite(out->max_lat))
        return cm_error_set(err, CM_ERR_BAD_PARAMETER, "bbox", "bbox cannot be transformed from EPSG:%d to WGS84",
                            crs.epsg);
    return CM_OK;
}

static cm_status transform_geom(cm_crs crs, const cm_geom *g, cm_geom *out, PJ_DIRECTION dir, cm_error *err) {
    cm_status st = cm_geom_copy(out, g);
    if (st != CM_OK) return cm_error_set(err, st, NULL, NULL);
    if (crs.epsg == 0 || g->n_points == 0) return CM_OK;
    cache_slot *s = slot_for(crs.epsg);
    if (!s) {
        cm_geom_release(out);
        return cm_error_set(err, CM_ERR_BAD_PARAMETER, "crs", "CRS EPSG:%d is not supported", crs.epsg);
    }
    proj_trans_generic(s->pj, dir, out->xy, 2 * sizeof(double), out->n_points, out->xy + 1,
                       2 * sizeof(double), out->n_points, NULL, 0, 0, NULL, 0, 0);
    /* Input must come back from where it went: PROJ wraps a Mercator x of 1e300 to
     * longitude -180 and clamps a y to latitude 90, both finite and "valid". */
    double *back = dir == PJ_INV ? malloc(2 * sizeof(double) * out->n_points) : NULL;
    if (back) {
        memcpy(back, out->xy, 2 * sizeof(double) * out->n_points);
        proj_trans_generic(s->pj, PJ_FWD, back, 2 * sizeof(double), out->n_points, back + 1, 2 * sizeof(double),
                           out->n_points, NULL, 0, 0, NULL, 0, 0);
    }
    for (uint32_t i = 0; i < out->n_points; i++) {
        double lon = out->xy[2 * i], lat = out->xy[2 * i + 1];
        bool ok = isfinite(lon) && isfinite(lat);
        for (int k = 0; back && ok && k < 2; k++) {
            double in = g->xy[2 * i + (uint32_t)k];
            ok = fabs(back[2 * i + (uint32_t)k] - in) <= 1e-6 * fmax(1.0, fabs(in));
        }
        if (ok && dir == PJ_INV && s->has_area) /* what came in must lie where the CRS is used */
            ok = lat >= s->south - AREA_MARGIN_DEG && lat <= s->north + AREA_MARGIN_DEG &&
                 (s->west <= s->east ? lon >= s->west - AREA_MARGIN_DEG && lon <= s->east + AREA_MARGIN_DEG
                                     : lon >= s->west - AREA_MARGIN_DEG || lon <= s->east + AREA_MARGIN_DEG);
        if (!ok) {
            cm_geom_release(out);
            free(back);
            if (!s->has_area || dir != PJ_INV)
                return cm_error_set(err, CM_ERR_BAD_GEOMETRY, "geometry", "position %" PRIu32 " cannot be transformed %s EPSG:%d",
                                    i + 1, dir == PJ_INV ? "from" : "to", crs.epsg);
            return cm_error_set(err, CM_ERR_BAD_GEOMETRY, "geometry",
                                "position %" PRIu32 " falls outside the area where EPSG:%d is used "
                                "(lon %.2f..%.2f, lat %.2f..%.2f): check the coordinates and their CRS",
                                i + 1, crs.epsg, s->west, s->east, s->south, s->north);
        }
    }
    free(back);
    return CM_OK;
}

cm_status cm_crs_geom_from_wgs84(cm_crs crs, const cm_geom *g, cm_geom *out, cm_error *err) {
    return transform_geom(crs, g, out, PJ_FWD, err);
}

cm_status cm_crs_geom_to_wgs84(cm_crs crs, const cm_geom *g, cm_geom *out, cm_error *err) {
    return transform_geom(crs, g, out, PJ_INV, err);
}
