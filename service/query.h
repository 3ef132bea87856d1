/* query.h — parsing the query parameters of the OGC API read endpoints into a typed
 * query. Pure functions over decoded (key, value) pairs: no HTTP library here, so the
 * rules are unit-tested directly and fuzzed. */
#ifndef CM_QUERY_H
#define CM_QUERY_H

#include <stdbool.h>
#include <stddef.h>

#include "../layers/crs.h"
#include "../layers/schema.h"
#include "../layers/select.h"

#define CM_QUERY_MAX_ARGS 32

typedef struct cm_qarg {
    const char *key;
    const char *value;
} cm_qarg;

typedef struct cm_query_limits {
    long default_limit, max_limit;
    const cm_crs *offered; /* CRSs a client may name in crs / bbox-crs */
    size_t n_offered;
} cm_query_limits;

typedef struct cm_items_query {
    long limit;  /* after clamping to max_limit */
    long offset;
    cm_filter filter;
    cm_crs crs;  /* output CRS */
} cm_items_query;

/* Parses the parameters of /collections/{id}/items for layer def. Property-filter strings
 * are borrowed from args. 400-class statuses with err->field naming the parameter. */
cm_status cm_query_parse_items(const cm_layer_def *def, const cm_qarg *args, size_t n_args,
                               const cm_query_limits *lim, cm_items_query *out, cm_error *err);

/* Parses the parameters of /collections/{id}/items/{fid}: only crs and f. */
cm_status cm_query_parse_feature(const cm_qarg *args, size_t n_args, const cm_query_limits *lim,
                                 cm_crs *crs, cm_error *err);

/* A parameter given twice, or more parameters than CM_QUERY_MAX_ARGS: 400. */
cm_status cm_query_check_duplicates(const cm_qarg *args, size_t n, cm_error *err);
/* For endpoints that take no parameters but `f`: rejects anything else. */
cm_status cm_query_check_plain(const cm_qarg *args, size_t n_args, cm_error *err);

/* Parses a datetime parameter: an instant, or an interval "start/end" with ".." or ""
 * for an open end. Outputs a closed interval in ms. */
cm_status cm_query_parse_datetime(const char *text, int64_t *start_ms, int64_t *end_ms, cm_error *err);

/* Parses "minx,miny,maxx,maxy" (or 6 numbers with heights, which are ignored). */
cm_status cm_query_parse_bbox(const char *text, cm_bbox *out, cm_error *err);

/* Parses a positive decimal integer with no sign or garbage, up to max_value. */
bool cm_query_parse_long(const char *text, long min_value, long max_value, long *out);

#endif
