/* Unit tests for service/query.c: every parameter rule of the items endpoint, accepted
 * and rejected, with the parameter each error names. */
#include <math.h>
#include <stdint.h>

#include "../../layers/datetime.h"
#include "../../service/query.h"
#include "check.h"

static cm_layer_defs defs;
static const cm_crs offered[] = {{0}, {4326}, {3857}};
static const cm_query_limits lim = {10, 100, offered, 3};

static cm_status parse(cm_items_query *q, cm_error *err, int n, const char *const *kv) {
    cm_qarg args[16];
    for (int i = 0; i < n; i++) args[i] = (cm_qarg){kv[2 * i], kv[2 * i + 1]};
    cm_error_clear(err);
    return cm_query_parse_items(&defs.layers[0], args, (size_t)n, &lim, q, err);
}

#define PARSE1(k, v) parse(&q, &err, 1, (const char *const[]){k, v})

static void rejects(const char *k, const char *v, const char *field) {
    cm_items_query q;
    cm_error err;
    cm_status s = PARSE1(k, v);
    CHECK(s == CM_ERR_BAD_PARAMETER || s == CM_ERR_UNKNOWN_PARAMETER);
    CHECK_STR(err.field, field);
}

int main(void) {
    cm_error err;
    CHECK(cm_schema_load_file(CM_SOURCE_DIR "/config/layers.json", &defs, &err) == CM_OK);
    cm_items_query q;

    CHECK(parse(&q, &err, 0, NULL) == CM_OK);
    CHECK(q.limit == 10 && q.offset == 0 && cm_filter_is_empty(&q.filter) && cm_crs_is_crs84(q.crs));

    CHECK(PARSE1("limit", "50") == CM_OK && q.limit == 50);
    CHECK(PARSE1("limit", "5000") == CM_OK && q.limit == 100); /* clamped */
    rejects("limit", "0", "limit");
    rejects("limit", "-1", "limit");
    rejects("limit", "ten", "limit");
    rejects("limit", "", "limit");
    rejects("limit", "1e3", "limit");
    CHECK(PARSE1("offset", "20") == CM_OK && q.offset == 20);
    rejects("offset", "-5", "offset");

    CHECK(PARSE1("bbox", "7.4,43.7,7.5,43.8") == CM_OK);
    CHECK(q.filter.n_boxes == 1 && q.filter.boxes[0].min_lon == 7.4 && q.filter.boxes[0].max_lat == 43.8);
    CHECK(PARSE1("bbox", "7.4,43.7,0,7.5,43.8,100") == CM_OK && q.filter.boxes[0].max_lon == 7.5);
    CHECK(PARSE1("bbox", "170,-10,-170,10") == CM_OK && q.filter.n_boxes == 2); /* antimeridian */
    rejects("bbox", "1,2,3", "bbox");
    rejects("bbox", "1,2,3,4,5", "bbox");
    rejects("bbox", "a,2,3,4", "bbox");
    rejects("bbox", "1,2,3,nan", "bbox");
    rejects("bbox", "0x1,2,3,4", "bbox");
    rejects("bbox", "0,50,1,40", "bbox");   /* miny > maxy */
    rejects("bbox", "0,-95,1,40", "bbox");  /* out of range */
    rejects("bbox", "1,2,3,4,5,6,7", "bbox");

    /* bbox-crs: EPSG:4326 is lat,lon; EPSG:3857 is transformed through PROJ. */
    CHECK(parse(&q, &err, 2, (const char *const[]){"bbox", "43.7,7.4,43.8,7.5", "bbox-crs",
                                                   "http://www.opengis.net/def/crs/EPSG/0/4326"}) == CM_OK);
    CHECK(q.filter.boxes[0].min_lon == 7.4 && q.filter.boxes[0].min_lat == 43.7);
    CHECK(parse(&q, &err, 2, (const char *const[]){"bbox", "823760,5419213,834892,5434617", "bbox-crs",
                                                   "http://www.opengis.net/def/crs/EPSG/0/3857"}) == CM_OK);
    CHECK(fabs(q.filter.boxes[0].min_lon - 7.4) < 1e-3 && fabs(q.filter.boxes[0].max_lat - 43.8) < 1e-3);
    rejects("bbox-crs", "http://www.opengis.net/def/crs/EPSG/0/4326", "bbox-crs"); /* without bbox */
    CHECK(parse(&q, &err, 2, (const char *const[]){"bbox", "1,2,3,4", "bbox-crs", "EPSG:9999999"}) ==
          CM_ERR_BAD_PARAMETER);
    CHECK_STR(err.field, "bbox-crs");

    CHECK(PARSE1("crs", "http://www.opengis.net/def/crs/EPSG/0/3857") == CM_OK && q.crs.epsg == 3857);
    CHECK(PARSE1("crs", "http://www.opengis.net/def/crs/OGC/1.3/CRS84") == CM_OK && q.crs.epsg == 0);
    rejects("crs", "http://www.opengis.net/def/crs/EPSG/0/32636", "crs"); /* valid but not offered */
    rejects("crs", "nonsense", "crs");

    int64_t t;
    cm_datetime_parse("2026-11-28T10:00:00Z", &t);
    CHECK(PARSE1("datetime", "2026-11-28T10:00:00Z") == CM_OK && q.filter.has_time && q.filter.t_start_ms == t &&
          q.filter.t_end_ms == t);
    CHECK(PARSE1("datetime", "2026-11-28T10:00:00Z/..") == CM_OK && q.filter.t_start_ms == t &&
          q.filter.t_end_ms == INT64_MAX);
    CHECK(PARSE1("datetime", "../2026-11-28T10:00:00Z") == CM_OK && q.filter.t_start_ms == INT64_MIN);
    CHECK(PARSE1("datetime", "/2026-11-28T10:00:00Z") == CM_OK && q.filter.t_start_ms == INT64_MIN);
    CHECK(PARSE1("datetime", "2026-11-28T12:00:00+02:00") == CM_OK && q.filter.t_start_ms == t);
    CHECK(PARSE1("datetime", "2026-11-28") == CM_OK && q.filter.t_end_ms - q.filter.t_start_ms == 86400000 - 1);
    rejects("datetime", "yesterday", "datetime");
    rejects("datetime", "2026-11-28T10:00:00", "datetime"); /* no offset */
    rejects("datetime", "2026-02-30T10:00:00Z", "datetime");
    rejects("datetime", "../..", "datetime"); /* one end must be closed */
    rejects("datetime", "/", "datetime");
    rejects("datetime", "../", "datetime");
    rejects("datetime", "2026-11-29T00:00:00Z/2026-11-28T00:00:00Z", "datetime");
    rejects("datetime", "a/b/c", "datetime");

    /* Property filters: declared properties only, typed. */
    CHECK(PARSE1("status", "active") == CM_OK && q.filter.n_eq == 1 && q.filter.eq[0].value.type == CM_PROP_STRING);
    CHECK(PARSE1("exercise", "true") == CM_OK && q.filter.eq[0].value.u.b);
    rejects("exercise", "yes", "exercise");
    CHECK(PARSE1("version", "3") == CM_OK && q.filter.eq[0].value.u.i == 3);
    rejects("version", "three", "version");
    rejects("colour", "red", "colour");
    rejects("f", "html", "f");
    CHECK(PARSE1("f", "json") == CM_OK);

    /* A parameter given twice is refused rather than guessed. */
    CHECK(parse(&q, &err, 2, (const char *const[]){"limit", "1", "limit", "2"}) == CM_ERR_BAD_PARAMETER);
    CHECK_STR(err.field, "limit");

    cm_crs crs;
    cm_qarg fa[] = {{"crs", "http://www.opengis.net/def/crs/EPSG/0/4326"}};
    CHECK(cm_query_parse_feature(fa, 1, &lim, &crs, &err) == CM_OK && crs.epsg == 4326);
    cm_qarg fb[] = {{"limit", "1"}};
    CHECK(cm_query_parse_feature(fb, 1, &lim, &crs, &err) == CM_ERR_UNKNOWN_PARAMETER);
    CHECK(cm_query_check_plain(fb, 1, &err) == CM_ERR_UNKNOWN_PARAMETER);
    cm_qarg fc[] = {{"f", "json"}};
    CHECK(cm_query_check_plain(fc, 1, &err) == CM_OK);

    long v;
    CHECK(cm_query_parse_long("123", 0, 1000, &v) && v == 123);
    CHECK(!cm_query_parse_long("+1", 0, 1000, &v));
    CHECK(!cm_query_parse_long("99999999999999999999", 0, 1000, &v));

    cm_schema_release(&defs);
    cm_crs_thread_release();
    return check_report("test_query");
}
