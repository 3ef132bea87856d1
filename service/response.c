/* response.c — HTTP rendering of cm_response through libmicrohttpd.
 *
 * DESIGN: handlers fill a plain struct; this module alone decides headers, so every
 * response gets the same CORS, caching and security policy. Borrowed bodies are handed to
 * libmicrohttpd with a callback that drops the snapshot reference once sent: the bytes of
 * a whole layer are never copied per request. */
#include "response.h"

#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "../layers/buf.h"
#include "../layers/feature.h"

/* Bodies smaller than this are sent as they are: gzip would not pay for itself. */
#define GZIP_MIN_BYTES 1024
#define DYNAMIC_GZIP_LEVEL 1

void cm_response_init(cm_response *r) {
    memset(r, 0, sizeof *r);
    r->status = 200;
}

void cm_response_set_body(cm_response *r, int status, const char *content_type, char *body, size_t len) {
    free(r->owned);
    r->status = status;
    r->content_type = content_type;
    r->owned = body;
    r->borrowed = NULL;
    r->len = len;
}

void cm_response_take_buf(cm_response *r, int status, const char *content_type, cm_buf *b) {
    size_t len;
    char *body = cm_buf_steal(b, &len);
    if (!body) {
        cm_response_error(r, CM_ERR_NOMEM, NULL, NULL);
        return;
    }
    cm_response_set_body(r, status, content_type, body, len);
}

void cm_response_set_error(cm_response *r, const cm_error *err) {
    cm_buf b;
    cm_buf_init(&b, 4096);
    cm_buf_append_str(&b, "{\"code\":");
    cm_buf_append_json_string(&b, cm_status_code(err->status));
    cm_buf_append_str(&b, ",\"description\":");
    cm_buf_append_json_string(&b, err->message[0] ? err->message : cm_status_message(err->status));
    if (err->field[0]) {
        cm_buf_append_str(&b, ",\"field\":");
        cm_buf_append_json_string(&b, err->field);
    }
    cm_buf_append_char(&b, '}');
    size_t len;
    char *body = cm_buf_steal(&b, &len);
    cm_snapshot_unref(r->hold);
    r->hold = NULL;
    r->etag[0] = '\0';
    r->content_crs[0] = '\0';
    r->gzip = NULL;
    cm_response_set_body(r, cm_status_http(err->status), "application/json", body, body ? len : 0);
    r->cache_control = "no-store";
    /* Every 503 says "retry": when, unless the caller says otherwise. */
    if (err->status == CM_ERR_UNAVAILABLE && r->retry_after_s <= 0) r->retry_after_s = 1;
}

void cm_response_error(cm_response *r, cm_status s, const char *field, const char *fmt, ...) {
    cm_error err;
    cm_error_clear(&err);
    err.status = s;
    snprintf(err.field, sizeof err.field, "%s", field ? field : "");
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err.message, sizeof err.message, fmt, ap);
        va_end(ap);
    }
    cm_response_set_error(r, &err);
}

bool cm_response_not_modified(const cm_request *req, const char *etag) {
    const char *inm = cm_request_header(req, MHD_HTTP_HEADER_IF_NONE_MATCH);
    if (!inm || !etag[0]) return false;
    size_t n = strlen(etag);
    cm_etag_list l = {inm, false};
    const char *tag;
    size_t len;
    /* Weak comparison (RFC 9110 13.1.2): W/ does not matter. */
    for (cm_etag_token t; (t = cm_etag_list_next(&l, &tag, &len)) != CM_ETAG_END && t != CM_ETAG_MALFORMED;) {
        if (t == CM_ETAG_STAR) return true;
        /* The gzip twin carries the same tag plus "-gz". */
        if ((len == n || (len == n + 3 && memcmp(tag + n, "-gz", 3) == 0)) && memcmp(tag, etag, n) == 0) return true;
    }
    return false;
}

char *cm_gzip(const char *data, size_t len, int level, size_t *out_len) {
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return NULL;
    uLong bound = deflateBound(&z, (uLong)len);
    char *out = malloc(bound);
    if (!out) {
        deflateEnd(&z);
        return NULL;
    }
    z.next_in = (Bytef *)data;
    z.avail_in = (uInt)len;
    z.next_out = (Bytef *)out;
    z.avail_out = (uInt)bound;
    int rc = deflate(&z, Z_FINISH);
    *out_len = z.total_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    return out;
}

static void release_snapshot(void *cls) { cm_snapshot_unref(cls); }

static bool compressible(const char *type) {
    return type && (strstr(type, "json") || strstr(type, "text/") || strstr(type, "javascript") || strstr(type, "svg"));
}

static void add_common_headers(struct MHD_Response *mr, const cm_response *r) {
    MHD_add_response_header(mr, "Access-Control-Allow-Origin", "*");
    MHD_add_response_header(mr, "Access-Control-Expose-Headers", "ETag, Content-Crs, Location, Link");
    MHD_add_response_header(mr, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(mr, "Referrer-Policy", "no-referrer");
    if (r->is_html) {
        MHD_add_response_header(mr, "Content-Security-Policy",
                                "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
                                "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'");
        MHD_add_response_header(mr, "X-Frame-Options", "DENY");
    }
}

int cm_response_send(cm_request *req, cm_response *r) {
    if (r->prepared) {
        struct MHD_Response *mr = r->prepared;
        add_common_headers(mr, r);
        int rc = MHD_queue_response(req->conn, MHD_HTTP_OK, mr);
        MHD_destroy_response(mr);
        return rc;
    }
    const char *body = r->owned ? r->owned : r->borrowed;
    if (!body) r->len = 0;
    if (r->status == 200 && !r->etag[0] && body) {
        size_t used = 0;
        cm_text_append(r->etag, sizeof r->etag, &used, "b");
        cm_text_append_hex64(r->etag, sizeof r->etag, &used, cm_hash_fnv1a(body, r->len, CM_FNV_SEED));
    }
    bool not_modified = (r->status == 200) && strcmp(req->method, "GET") == 0 && cm_response_not_modified(req, r->etag);
    if (!not_modified && r->status == 200 && strcmp(req->method, "HEAD") == 0)
        not_modified = cm_response_not_modified(req, r->etag);

    const char *send = body;
    size_t send_len = r->len;
    char *zipped = NULL;
    bool gz = false;
    if (!not_modified && req->accepts_gzip && body && r->len >= GZIP_MIN_BYTES && compressible(r->content_type)) {
        if (r->gzip) {
            send = r->gzip;
            send_len = r->gzip_len;
            gz = true;
        } else if ((zipped = cm_gzip(body, r->len, DYNAMIC_GZIP_LEVEL, &send_len)) != NULL) {
            send = zipped;
            gz = true;
        } else {
            send_len = r->len;
        }
    }

    struct MHD_Response *mr;
    if (not_modified || r->status == 204) {
        mr = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    } else if (zipped) {
        mr = MHD_create_response_from_buffer(send_len, zipped, MHD_RESPMEM_MUST_FREE);
        zipped = NULL;
    } else if (send == r->owned) {
        mr = MHD_create_response_from_buffer(send_len, r->owned, MHD_RESPMEM_MUST_FREE);
        r->owned = NULL;
    } else if (r->hold) {
        mr = MHD_create_response_from_buffer_with_free_callback_cls(send_len, (void *)send, release_snapshot, r->hold);
        if (mr) r->hold = NULL;
    } else {
        mr = MHD_create_response_from_buffer(send_len, (void *)send, MHD_RESPMEM_PERSISTENT);
    }
    free(zipped);
    free(r->owned);
    r->owned = NULL;
    cm_snapshot_unref(r->hold);
    r->hold = NULL;
    if (!mr) return MHD_NO;

    add_common_headers(mr, r);
    if (r->etag[0]) {
        char tag[48]; /* joined without printf: every response (layers/buf.h) */
        size_t used = 0;
        cm_text_append(tag, sizeof tag, &used, "\"");
        cm_text_append(tag, sizeof tag, &used, r->etag);
        cm_text_append(tag, sizeof tag, &used, gz ? "-gz\"" : "\"");
        MHD_add_response_header(mr, MHD_HTTP_HEADER_ETAG, tag);
    }
    if (r->status != 204) {
        if (r->content_type) MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
        MHD_add_response_header(mr, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
        MHD_add_response_header(mr, MHD_HTTP_HEADER_CACHE_CONTROL, r->cache_control ? r->cache_control : "no-cache");
    }
    if (gz) MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
    if (r->content_crs[0]) {
        char crs[96];
        size_t used = 0;
        cm_text_append(crs, sizeof crs, &used, "<");
        cm_text_append(crs, sizeof crs, &used, r->content_crs);
        cm_text_append(crs, sizeof crs, &used, ">");
        MHD_add_response_header(mr, "Content-Crs", crs);
    }
    if (r->allow) MHD_add_response_header(mr, MHD_HTTP_HEADER_ALLOW, r->allow);
    if (r->location[0]) MHD_add_response_header(mr, MHD_HTTP_HEADER_LOCATION, r->location);
    if (r->www_authenticate) MHD_add_response_header(mr, MHD_HTTP_HEADER_WWW_AUTHENTICATE, r->www_authenticate);
    if (r->retry_after_s > 0) {
        char ra[16];
        snprintf(ra, sizeof ra, "%d", r->retry_after_s);
        MHD_add_response_header(mr, MHD_HTTP_HEADER_RETRY_AFTER, ra);
    }
    int rc = MHD_queue_response(req->conn, not_modified ? MHD_HTTP_NOT_MODIFIED : (unsigned)r->status, mr);
    MHD_destroy_response(mr);
    return rc;
}
