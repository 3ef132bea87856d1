/* query.c — OGC API query parameter rules.
 *
 * Every parameter is checked strictly and an unknown one is an error, as OGC API -
 * Features recommends: a misspelt filter silently ignored would show a resident the
 * wrong closures. */
#include "query.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../layers/datetime.h"

bool cm_query_parse_long(const char *text, long min_value, long max_value, long *out) {
    if (!text || !*text || strlen(text) > 18) return false;
    long v = 0;
    for (const char *p = text; *p; p++) {
        if (*p < '0' || *p > '9') return false;
        v = v * 10 + (*p - '0');
    }
    if (v < min_value) return false;
    *out = v > max_value ? max_value : v;
    return true;
}

static bool parse_double(const char *s, size_t n, double *out) {
    char tmp[64];
    if (n == 0 || n >= sizeof tmp) return false;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    char *end;
    errno = 0;
    double v = strtod(tmp, &end);
    if (*end || errno == ERANGE || !isfinite(v)) return false;
    /* strtod takes hex floats, "inf" and leading spaces; a query takes plain decimals. */
    for (const char *p = tmp; *p; p++)
        if (!strchr("0123456789+-.eE", *p)) return false;
    *out = v;
    return true;
}

cm_status cm_query_parse_bbox(const char *text, cm_bbox *out, cm_error *err) {
    double v[6];
    int n = 0;
    const char *p = text;
    while (n < 6) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (!parse_double(p, len, &v[n]))
            return cm_error_set(err, CM_ERR_BAD_PARAMETER, "bbox",
                                "bbox must be 4 (or 6) comma-separated numbers minx,miny,maxx,maxy; item %d is not a number", n + 1);
        n++;
        if (!comma) break;
        p = comma + 1;
        if (n == 6) return cm_error_set(err, CM_ERR_BAD_PARAMETER, "bbox", "bbox has more than 6 numbers");
    }
    if (n != 4 && n != 6)
        return cm_error_set(err, CM_ERR_BAD_PARAMETER, "bbox", "bbox must have 4 or 6 numbers, has %d", n);
    if (n == 4) *out = (cm_bbox){v[0], v[1], v[2], v[3]};
    else *out = (cm_bbox){v[0], v[1], v[3], v[4]};
    if (n == 6 && v[2] > v[5])
        return cm_error_set(err, CM_ERR_BAD_PARAMETER, "bbox", "bbox minimum height is above maximum height");
    return CM_OK;
}

static cm_status parse_instant(const char *s, size_t n, bool allow_open, int64_t open_value, int64_t *out,
                               cm_error *err) {
    char tmp[64];
    if ((n == 0 || (n == 2 && s[0] == '.' && s[1] == '.')) && allow_open) {
        *out = open_value;
        return CM_OK;
    }
    if (n == 0 || n >= sizeof tmp) goto bad;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    if (cm_datetime_parse(tmp, out)) return CM_OK;
bad:
    return cm_error_set(err, CM_ERR_BAD_PARAMETER, "datetime",
                        "datetime must be an RFC 3339 date-time (2026-11-28T10:00:00Z) or an interval start/end "
                        "with \"..\" for an open end");
}

cm_status cm_query_parse_datetime(const char *text, int64_t *start_ms, int64_t *end_ms, cm_error *err) {
    const char *slash = strchr(text, '/');
    cm_status s;
    if (!slash) {
        if ((s = parse_instant(text, strlen(text), false, 0, start_ms, err)) != CM_OK) return s;
        /* A date alone covers the whole day. */
        *end_ms = strlen(text) == 10 ? *start_ms + 86400000 - 1 : *start_ms;
        return CM_OK;
    }
    if (strchr(slash + 1, '/'))
        return cm_error_set(err, CM_ERR_BAD_PARAMETER, "datetime", "datetime interval has more than one '/'");
    if ((s = parse_instant(text, (size_t)(slash - text), true, INT64_MIN, start_ms, err)) != CM_OK) return s;
    if ((s = parse_instant(slash + 1, strlen(slash + 1), true, INT64_MAX, end_ms, err)) != CM_OK) return s;
    if (*start_ms == INT64_MIN && *end_ms == INT64_MAX) /* OGC API Features: one end must be closed */
        return cm_error_set(err, CM_ERR_BAD_PARAMETER, "datetime", "datetime interval is open at both ends");
    if (*end_ms != INT64_MAX && strlen(slash + 1) == 10) *end_ms += 86400000 - 1;
    if (*start_ms > *end_ms)
        return cm_error_set(err, CM_ERR_BAD_PARAMETER, "datetime", "datetime interval starts after it ends");
    return CM_OK;
}

static bool offered(const cm_query_limits *lim, cm_crs c) {
    for (size_t i = 0; i < lim->n_offered; i++)
        if (lim->offered[i].epsg == c.epsg) return true;
    return false;
}

static cm_status parse_crs(const char *param, const char *text, const cm_query_limits *lim, cm_crs *out,
                           cm_error *err) {
    if (!cm_crs_parse(text, out) || !offered(lim, *out))
        return cm_error_set(err, CM_ERR_BAD_PARAMETER, param,
                            "%s must be one of the CRS URIs listed in the collection's \"crs\" (e.g. %s)", param,
                            CM_CRS84_URI);
    return CM_OK;
}

static cm_status check_f(const char *v, cm_error *err) {
    if (!strcmp(v, "json") || !strcmp(v, "geojson") || !strcmp(v, "application/json") ||
        !strcmp(v, "application/geo+json"))
        return CM_OK;
    return cm_error_set(err, CM_ERR_BAD_PARAMETER, "f", "f must be json or geojson");
}

cm_status cm_query_check_duplicates(const cm_qarg *args, size_t n, cm_error *err) {
    if (n > CM_QUERY_MAX_ARGS)
        return cm_error_set(err, CM_ERR_BAD_PARAMETER, "", "too many query parameters (max %d)", CM_QUERY_MAX_ARGS);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < i; k++)
            if (strcmp(args[i].key, args[k].key) == 0)
                return cm_error_set(err, CM_ERR_BAD_PARAMETER, args[i].key, "parameter \"%s\" is given more than once",
                                    args[i].key);
    return CM_OK;
}

static cm_status unknown(const char *key, cm_error *err) {
    return cm_error_set(err, CM_ERR_UNKNOWN_PARAMETER, key, "unknown query parameter \"%.60s\"", key);
}

cm_status cm_query_check_plain(const cm_qarg *args, size_t n_args, cm_error *err) {
    cm_status s = cm_query_check_duplicates(args, n_args, err);
    for (size_t i = 0; s == CM_OK && i < n_args; i++) {
        if (strcmp(args[i].key, "f") == 0) s = check_f(args[i].value, err);
        else s = unknown(args[i].key, err);
    }
    return s;
}

cm_status cm_query_parse_feature(const cm_qarg *args, size_t n_args, const cm_query_limits *lim, cm_crs *crs,
                                 cm_error *err) {
    crs->epsg = 0;
    cm_status s = cm_query_check_duplicates(args, n_args, err);
    for (size_t i = 0; s == CM_OK && i < n_args; i++) {
        if (strcmp(args[i].key, "f") == 0) s = check_f(args[i].value, err);
        else if (strcmp(args[i].key, "crs") == 0) s = parse_crs("crs", args[i].value, lim, crs, err);
        else s = unknown(args[i].key, err);
    }
    return s;
}

static cm_status parse_eq_value(const cm_prop_def *p, const char *text, cm_value *v, cm_error *err) {
    v->set = true;
    v->type = p->type;
    switch (p->type) {
    case CM_PROP_STRING: v->u.s = (char *)text; return CM_OK;
    case CM_PROP_INTEGER: {
        char *end;
        errno = 0;
        long long x = strtoll(text, &end, 10);
        if (*text && !*end && errno == 0) {
            v->u.i = x;
            return CM_OK;
        }
        break;
    }
    case CM_PROP_NUMBER:
        if (parse_double(text, strlen(text), &v->u.d)) return CM_OK;
        break;
    case CM_PROP_BOOLEAN:
        if (!strcmp(text, "true") || !strcmp(text, "false")) {
            v->u.b = text[0] == 't';
            return CM_OK;
        }
        break;
    case CM_PROP_DATETIME:
        if (cm_datetime_parse(text, &v->u.t_ms)) return CM_OK;
        break;
    }
    return cm_error_set(err, CM_ERR_BAD_PARAMETER, p->name, "%s must be a %s value", p->name, cm_prop_type_name(p->type));
}

cm_status cm_query_parse_items(const cm_layer_def *def, const cm_qarg *args, size_t n_args,
                               const cm_query_limits *lim, cm_items_query *out, cm_error *err) {
    memset(out, 0, sizeof *out);
    out->limit = lim->default_limit;
    cm_status s = cm_query_check_duplicates(args, n_args, err);
    const char *bbox = NULL;
    cm_crs bbox_crs = {0};
    bool have_bbox_crs = false;
    for (size_t i = 0; s == CM_OK && i < n_args; i++) {
        const char *k = args[i].key, *v = args[i].value;
        if (!strcmp(k, "limit")) {
            if (!cm_query_parse_long(v, 1, lim->max_limit, &out->limit))
                s = cm_error_set(err, CM_ERR_BAD_PARAMETER, "limit", "limit must be an integer from 1 (values above %ld are clamped)",
                                 lim->max_limit);
        } else if (!strcmp(k, "offset")) {
            if (!cm_query_parse_long(v, 0, 1000000000L, &out->offset))
                s = cm_error_set(err, CM_ERR_BAD_PARAMETER, "offset", "offset must be a non-negative integer");
        } else if (!strcmp(k, "bbox")) {
            bbox = v;
        } else if (!strcmp(k, "bbox-crs")) {
            s = parse_crs("bbox-crs", v, lim, &bbox_crs, err);
            have_bbox_crs = true;
        } else if (!strcmp(k, "crs")) {
            s = parse_crs("crs", v, lim, &out->crs, err);
        } else if (!strcmp(k, "datetime")) {
            s = cm_query_parse_datetime(v, &out->filter.t_start_ms, &out->filter.t_end_ms, err);
            out->filter.has_time = true;
        } else if (!strcmp(k, "f")) {
            s = check_f(v, err);
        } else {
            int pi = cm_schema_prop_index(def, k);
            if (pi < 0) {
                s = unknown(k, err);
            } else if (out->filter.n_eq == CM_SELECT_MAX_EQ) {
                s = cm_error_set(err, CM_ERR_BAD_PARAMETER, k, "at most %d property filters", CM_SELECT_MAX_EQ);
            } else {
                cm_select_eq *eq = &out->filter.eq[out->filter.n_eq++];
                eq->prop = pi;
                s = parse_eq_value(&def->props[pi], v, &eq->value, err);
            }
        }
    }
    if (s != CM_OK) return s;
    if (have_bbox_crs && !bbox)
        return cm_error_set(err, CM_ERR_BAD_PARAMETER, "bbox-crs", "bbox-crs is given without bbox");
    if (bbox) {
        cm_bbox b;
        if ((s = cm_query_parse_bbox(bbox, &b, err)) != CM_OK) return s;
        if (cm_crs_lat_first(bbox_crs)) /* in the CRS's own order: EPSG:4326 is lat,lon */
            b = (cm_bbox){b.min_lat, b.min_lon, b.max_lat, b.max_lon};
        if (cm_crs_is_crs84(bbox_crs) || (bbox_crs.epsg == 4326)) {
            if (b.min_lat < -90 || b.max_lat > 90 || b.min_lon < -180 || b.min_lon > 180 || b.max_lon < -180 ||
                b.max_lon > 180)
                return cm_error_set(err, CM_ERR_BAD_PARAMETER, "bbox",
                                    "bbox is outside lon -180..180, lat -90..90 (CRS84 order is lon,lat)");
            if (b.min_lat > b.max_lat)
                return cm_error_set(err, CM_ERR_BAD_PARAMETER, "bbox", "bbox miny is greater than maxy");
            if (b.min_lon > b.max_lon) { /* crosses the antimeridian */
                out->filter.boxes[0] = (cm_bbox){b.min_lon, b.min_lat, 180, b.max_lat};
                out->filter.boxes[1] = (cm_bbox){-180, b.min_lat, b.max_lon, b.max_lat};
                out->filter.n_boxes = 2;
            } else {
                out->filter.boxes[0] = b;
                out->filter.n_boxes = 1;
            }
        } else {
            if (b.min_lon > b.max_lon || b.min_lat > b.max_lat)
                return cm_error_set(err, CM_ERR_BAD_PARAMETER, "bbox", "bbox minimum is greater than its maximum");
            if ((s = cm_crs_bbox_to_wgs84(bbox_crs, &b, &out->filter.boxes[0], err)) != CM_OK) return s;
            out->filter.n_boxes = 1;
        }
    }
    return CM_OK;
}
