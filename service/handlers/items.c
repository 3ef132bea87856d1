/* items.c — /api/collections/{id}/items and /items/{featureId}.
 *
 * DESIGN: a page is the concatenation of the features' ready bytes between a small header
 * and footer; only a CRS other than CRS84 re-encodes geometries (and splices them into the
 * stored bytes, leaving the properties untouched). The whole layer — what maps load — is
 * built once per snapshot with its gzip twin and sent by reference. The ETag is decided
 * before any body is built, so a revalidation costs a hash, not a page. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../layers/buf.h"
#include "../../layers/clock.h"
#include "../../layers/datetime.h"
#include "../../layers/geojson_write.h"
#include "handlers.h"

/* A page body may not exceed this (a whole 100,000-point layer is ~30 MB). */
#define PAGE_MAX_BYTES (1u << 30)
#define WHOLE_LAYER_GZIP_LEVEL 6

/* Whole-layer bodies cached per snapshot, one per distinct self URL (a few: the map's
 * URL, a GIS client's, a proxy's); further URLs are built per request. */
#define WHOLE_LAYER_SLOTS 4

typedef struct whole_layer {
    char *self_url;
    char *body, *gzip;
    size_t len, gzip_len;
} whole_layer;

typedef struct whole_layer_cache {
    whole_layer slot[WHOLE_LAYER_SLOTS];
    int used;
} whole_layer_cache;

static void whole_layer_cache_free(void *p) {
    whole_layer_cache *c = p;
    for (int i = 0; i < c->used; i++) {
        free(c->slot[i].self_url);
        free(c->slot[i].body);
        free(c->slot[i].gzip);
    }
    free(c);
}

static void write_link(cm_buf *b, const char *href, const char *rel, const char *type) {
    cm_buf_append_str(b, "{\"href\":");
    cm_buf_append_json_string(b, href);
    cm_buf_append_str(b, ",\"rel\":\"");
    cm_buf_append_str(b, rel);
    cm_buf_append_str(b, "\",\"type\":\"");
    cm_buf_append_str(b, type);
    cm_buf_append_str(b, "\"}");
}

/* Appends one feature, re-projected when crs is not CRS84. */
static cm_status write_feature(cm_buf *b, const cm_feature *f, cm_crs crs, cm_error *err) {
    if (cm_crs_is_crs84(crs) || f->geom.type == CM_GEOM_NONE) {
        cm_buf_append(b, f->json, f->json_len);
        return CM_OK;
    }
    cm_geom g;
    cm_status s = cm_crs_geom_from_wgs84(crs, &f->geom, &g, err);
    if (s != CM_OK) return s;
    cm_buf_append(b, f->json, f->geom_off);
    cm_geojson_write_geometry(b, &g, cm_crs_decimals(crs), cm_crs_lat_first(crs));
    cm_buf_append(b, f->json + f->geom_off + f->geom_len, f->json_len - f->geom_off - f->geom_len);
    cm_geom_release(&g);
    return CM_OK;
}

/* A page of `matched` features: positions from..to of the layer, or with `page`, the
 * positions page[0 .. to - from). */
static char *build_page(const cm_request *req, const cm_snapshot *snap, const cm_items_query *q, const uint32_t *page,
                        size_t matched, size_t from, size_t to, int64_t stamp_ms, size_t *len, cm_error *err) {
    cm_buf b, url;
    cm_buf_init(&b, PAGE_MAX_BYTES);
    cm_buf_init(&url, 4096);
    /* One allocation for the whole page: the features' sizes are known (CRS84; another
     * CRS changes them a little and the buffer grows as needed). */
    size_t need = 2048;
    for (size_t i = from; i < to; i++) need += snap->features[page ? page[i - from] : i]->json_len + 1;
    if (need < PAGE_MAX_BYTES) cm_buf_reserve(&b, need);
    char stamp[40];
    cm_datetime_format(stamp_ms, stamp);
    cm_buf_printf(&b, "{\"type\":\"FeatureCollection\",\"numberMatched\":%zu,\"numberReturned\":%zu,\"timeStamp\":\"%s\",\"links\":[",
                  matched, to - from, stamp);
    cm_buf_printf(&url, "%s/api/collections/%s/items", req->base_url, snap->def->id);
    size_t path_len = url.len;
    cm_request_write_query(req, &url, -1);
    write_link(&b, url.data, "self", "application/geo+json");
    if (to < matched) {
        url.len = path_len;
        cm_request_write_query(req, &url, (long)to);
        cm_buf_append_char(&b, ',');
        write_link(&b, url.data, "next", "application/geo+json");
    }
    if (from > 0) {
        url.len = path_len;
        long prev = (long)from - q->limit;
        cm_request_write_query(req, &url, prev > 0 ? prev : 0);
        cm_buf_append_char(&b, ',');
        write_link(&b, url.data, "prev", "application/geo+json");
    }
    url.len = path_len - strlen("/items");
    url.data[url.len] = '\0';
    cm_buf_append_char(&b, ',');
    write_link(&b, url.data, "collection", "application/json");
    cm_buf_release(&url);
    cm_buf_append_str(&b, "],\"features\":[");
    cm_status s = CM_OK;
    for (size_t i = from; i < to && s == CM_OK; i++) {
        if (i > from) cm_buf_append_char(&b, ',');
        s = write_feature(&b, snap->features[page ? page[i - from] : i], q->crs, err);
    }
    cm_buf_append_str(&b, "]}");
    if (s != CM_OK || b.failed) {
        if (s == CM_OK) cm_error_set(err, CM_ERR_NOMEM, NULL, "the response would be too large; use a smaller limit");
        cm_buf_release(&b);
        return NULL;
    }
    return cm_buf_steal(&b, len);
}

/* The strong ETag of a page: snapshot version, the query as sent, and the base URL (links). */
static void page_etag(const cm_request *req, const cm_snapshot *snap, char *out, size_t n) {
    uint64_t h = cm_hash_fnv1a(&snap->version, sizeof snap->version, CM_FNV_SEED);
    for (size_t i = 0; i < req->n_args; i++) {
        h = cm_hash_fnv1a(req->args[i].key, strlen(req->args[i].key) + 1, h);
        h = cm_hash_fnv1a(req->args[i].value, strlen(req->args[i].value) + 1, h);
    }
    h = cm_hash_fnv1a(req->base_url, strlen(req->base_url), h);
    size_t used = 0;
    cm_text_append(out, n, &used, "p");
    cm_text_append_hex64(out, n, &used, h);
}

/* Serves the whole layer from the snapshot's cache, building it on first use. Returns
 * false when the cache is full of other URLs (the caller builds the page itself). */
static bool send_whole_layer(const cm_request *req, cm_snapshot *snap, const cm_items_query *q, cm_response *resp,
                             cm_error *err) {
    cm_buf url;
    cm_buf_init(&url, 4096);
    cm_buf_printf(&url, "%s/api/collections/%s/items", req->base_url, snap->def->id);
    cm_request_write_query(req, &url, -1);
    const char *self = url.data ? url.data : "";
    whole_layer *hit = NULL;
    pthread_mutex_lock(&snap->cache_lock);
    whole_layer_cache *c = snap->cache;
    if (!c && (c = calloc(1, sizeof *c)) != NULL) {
        snap->cache = c;
        snap->cache_free = whole_layer_cache_free;
    }
    for (int i = 0; c && i < c->used && !hit; i++)
        if (strcmp(c->slot[i].self_url, self) == 0) hit = &c->slot[i];
    if (!hit && c && c->used < WHOLE_LAYER_SLOTS) {
        /* Built under the lock: concurrent first requests wait for one build instead of
         * each building the same megabytes. */
        whole_layer w = {0};
        w.self_url = strdup(self);
        w.body = build_page(req, snap, q, NULL, snap->n, 0, snap->n, snap->built_ms, &w.len, err);
        if (w.body) w.gzip = cm_gzip(w.body, w.len, WHOLE_LAYER_GZIP_LEVEL, &w.gzip_len);
        if (w.body && w.self_url && w.gzip) {
            c->slot[c->used] = w;
            hit = &c->slot[c->used++];
        } else {
            free(w.self_url);
            free(w.body);
            free(w.gzip);
        }
    }
    if (hit) {
        resp->status = 200;
        resp->content_type = "application/geo+json";
        resp->borrowed = hit->body;
        resp->len = hit->len;
        resp->gzip = hit->gzip;
        resp->gzip_len = hit->gzip_len;
        resp->hold = cm_snapshot_ref(snap);
    }
    pthread_mutex_unlock(&snap->cache_lock);
    cm_buf_release(&url);
    return hit != NULL;
}

void handle_items_list(cm_request *req, cm_response *resp) {
    cm_error err;
    cm_error_clear(&err);
    cm_layer *layer = cm_handlers_layer(req, resp);
    if (!layer) return;
    cm_query_limits lim = cm_handlers_limits(req);
    cm_items_query q;
    if (cm_query_parse_items(layer->def, req->args, req->n_args, &lim, &q, &err) != CM_OK) {
        cm_response_set_error(resp, &err);
        return;
    }
    cm_snapshot *snap = cm_layer_acquire(layer);
    page_etag(req, snap, resp->etag, sizeof resp->etag);
    cm_crs_uri(q.crs, resp->content_crs, sizeof resp->content_crs);
    if (cm_response_not_modified(req, resp->etag)) {
        resp->status = 200; /* rendered as 304 by the response module */
        cm_snapshot_unref(snap);
        return;
    }
    if (cm_filter_is_empty(&q.filter) && q.offset == 0 && (size_t)q.limit >= snap->n && cm_crs_is_crs84(q.crs) &&
        send_whole_layer(req, snap, &q, resp, &err)) {
        cm_snapshot_unref(snap);
        return;
    }
    if (err.status != CM_OK) {
        cm_response_set_error(resp, &err);
        cm_snapshot_unref(snap);
        return;
    }
    cm_idlist page = {0};
    size_t matched = snap->n;
    bool all = cm_filter_is_empty(&q.filter);
    if (!all && cm_select_page(snap, &q.filter, (size_t)q.offset, (size_t)q.limit, &page, &matched) != CM_OK) {
        cm_idlist_release(&page);
        cm_response_error(resp, CM_ERR_NOMEM, NULL, NULL);
        cm_snapshot_unref(snap);
        return;
    }
    size_t from = (size_t)q.offset < matched ? (size_t)q.offset : matched;
    size_t to = all ? (from + (size_t)q.limit < matched ? from + (size_t)q.limit : matched) : from + page.n;
    size_t len = 0;
    char *body = build_page(req, snap, &q, all ? NULL : page.v, matched, from, to, cm_clock_wall_ms(), &len, &err);
    cm_idlist_release(&page);
    cm_snapshot_unref(snap);
    if (!body) {
        cm_response_set_error(resp, &err);
        return;
    }
    cm_response_set_body(resp, 200, "application/geo+json", body, len);
}

/* Feature ids are the store's integer keys; anything else cannot name a feature. */
static bool parse_feature_id(const char *s, int64_t *out) {
    long v;
    if (!cm_query_parse_long(s, 0, 999999999999999999L, &v) || s[0] == '\0' || (s[0] == '0' && s[1])) return false;
    *out = v;
    return true;
}

void handle_item_get(cm_request *req, cm_response *resp) {
    cm_error err;
    cm_error_clear(&err);
    cm_layer *layer = cm_handlers_layer(req, resp);
    if (!layer) return;
    int64_t id;
    if (!parse_feature_id(req->captures[1], &id)) {
        cm_response_error(resp, CM_ERR_NOT_FOUND, "featureId", "no feature \"%.40s\" in %s", req->captures[1],
                          layer->def->id);
        return;
    }
    cm_query_limits lim = cm_handlers_limits(req);
    cm_crs crs;
    if (cm_query_parse_feature(req->args, req->n_args, &lim, &crs, &err) != CM_OK) {
        cm_response_set_error(resp, &err);
        return;
    }
    cm_snapshot *snap = cm_layer_acquire(layer);
    const cm_feature *f = cm_snapshot_find(snap, id);
    if (!f) {
        cm_snapshot_unref(snap);
        cm_response_error(resp, CM_ERR_NOT_FOUND, "featureId", "no feature %" PRId64 " in %s", id, layer->def->id);
        return;
    }
    cm_handlers_feature_etag(f, crs.epsg, resp->etag, sizeof resp->etag);
    cm_crs_uri(crs, resp->content_crs, sizeof resp->content_crs);
    if (cm_response_not_modified(req, resp->etag)) {
        cm_snapshot_unref(snap);
        return;
    }
    cm_buf b;
    cm_buf_init(&b, PAGE_MAX_BYTES);
    cm_status s = write_feature(&b, f, crs, &err);
    cm_snapshot_unref(snap);
    if (s != CM_OK) {
        cm_buf_release(&b);
        cm_response_set_error(resp, &err);
        return;
    }
    b.len--; /* reopen the feature object to add its links */
    char path[400], self[460];
    size_t path_len = 0, self_len = 0;
    cm_text_append(path, sizeof path, &path_len, req->base_url);
    cm_text_append(path, sizeof path, &path_len, "/api/collections/");
    cm_text_append(path, sizeof path, &path_len, layer->def->id);
    cm_text_append(self, sizeof self, &self_len, path);
    cm_text_append(self, sizeof self, &self_len, "/items/");
    cm_text_append_int(self, sizeof self, &self_len, id);
    cm_buf_append_str(&b, ",\"links\":[");
    write_link(&b, self, "self", "application/geo+json");
    cm_buf_append_char(&b, ',');
    write_link(&b, path, "collection", "application/json");
    cm_buf_append_str(&b, "]}");
    cm_response_take_buf(resp, 200, "application/geo+json", &b);
}
