/* request_head.c — checks on a request's head before its body is read or a handler runs.
 *
 * DESIGN: libmicrohttpd (0.9.75) keeps a request's head in the connection's memory pool
 * and builds the response's header in what is left of that pool. When too little is left,
 * it closes the connection without a response, after the handler ran: a committed write
 * the client never hears about, and retries. So the pool is sized from max_url_bytes plus
 * room for header fields and the response header, and a head that would leave less than
 * that room is refused here, at the first call of the access handler.
 *
 * NUL bytes: libmicrohttpd decodes %00 in the path and the query, so a NUL silently cut
 * what handlers saw ("1%00" deleted feature 1). The path is checked on the raw URI, query
 * parameters with their decoded lengths. Header values are not checked: libmicrohttpd
 * 0.9.75 keeps them by strlen, and finding a NUL would mean reading its buffers by their
 * layout; a value cut at a NUL is a prefix of what the client sent (a token cut so is the
 * token itself), never another user's data.
 *
 * THREAD SAFETY: pure functions of one connection, run on the thread that owns it. */
#include "request_head.h"

#include <microhttpd.h>
#include <string.h>
#include <strings.h>

/* What libmicrohttpd takes from the pool for each header, cookie or query parameter
 * record: 56 bytes rounded up to 16, plus a 16-byte red zone when it is built with
 * ASan poisoning. */
#define POOL_BYTES_PER_ENTRY 80
/* The longest response header we send (status line, Date, CORS, CSP, ETag, Location...)
 * is about 1.3 KB. */
#define RESPONSE_HEAD_RESERVE 1536
/* Room in the pool beyond the URL: a browser's header fields (~0.7 KB), the records of
 * those and of the query parameters, and the response header. */
#define POOL_BEYOND_URL 3584

void cm_raw_url_from(cm_raw_url *out, const char *uri) {
    out->bytes = strlen(uri);
    size_t path_len = strcspn(uri, "?");
    out->path_has_nul = false;
    for (size_t i = 0; i + 2 < path_len && !out->path_has_nul; i++)
        out->path_has_nul = uri[i] == '%' && uri[i + 1] == '0' && uri[i + 2] == '0';
}

/* Every connection keeps its pool for as long as it is open, and libmicrohttpd zeroes all of
 * it for each request: a live-map subscriber's memory is its pool plus ~3.9 KB, against a
 * target of 10 KB. So the pool is the URL's limit plus what a request needs beyond it,
 * 5.5 KB with the default max_url_bytes of 2 KB. */
size_t cm_request_head_pool_bytes(long max_url_bytes) { return (size_t)max_url_bytes + POOL_BEYOND_URL; }

/* One pass over the head's records (libmicrohttpd's header, cookie and query parameter
 * lists): what they take from the pool, the first query parameter with a NUL (decoded
 * lengths), and the body's framing headers. */
struct head_walk {
    size_t pool_used;
    const char *nul_key; /* the first parameter with a NUL, cut at it */
    bool nul_in_key;
    int content_lengths;
    const char *content_length; /* the first one's value */
    bool transfer_encoding;
};

static enum MHD_Result walk_record(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
                                   const char *value, size_t value_size) {
    struct head_walk *w = cls;
    w->pool_used += POOL_BYTES_PER_ENTRY;
    if (kind == MHD_GET_ARGUMENT_KIND) {
        bool in_key = memchr(key, '\0', key_size) != NULL;
        if (!w->nul_key && (in_key || (value && memchr(value, '\0', value_size)))) {
            w->nul_key = key;
            w->nul_in_key = in_key;
        }
    } else if (kind == MHD_HEADER_KIND) {
        if (key_size == 6 && strcasecmp(key, MHD_HTTP_HEADER_COOKIE) == 0 && value)
            w->pool_used += value_size + 1; /* libmicrohttpd parses a copy of it into cookies */
        else if (key_size == 14 && strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0 && !w->content_lengths++)
            w->content_length = value;
        else if (key_size == 17 && strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0)
            w->transfer_encoding = true;
    }
    return MHD_YES;
}

static cm_status check_content_length(const struct head_walk *w, const cm_config *cfg, cm_error *err) {
    /* Two lengths, or a length beside chunked encoding: a proxy in front may read the body's
     * end elsewhere than we do (request smuggling). RFC 9112 6.3 lets a server refuse both. */
    if (w->content_lengths > 1 || (w->content_lengths && w->transfer_encoding))
        return cm_error_set(err, CM_ERR_BAD_REQUEST, "Content-Length",
                            w->content_lengths > 1 ? "Content-Length is given more than once"
                                                   : "Content-Length and Transfer-Encoding are both given; send one");
    const char *cl = w->content_length;
    if (!cl) return CM_OK;
    size_t digits = strspn(cl, "0123456789");
    /* libmicrohttpd refuses a non-number (400) and one over 2^64 (413) itself, in HTML. */
    if (digits == 0 || cl[digits] != '\0')
        return cm_error_set(err, CM_ERR_BAD_REQUEST, "Content-Length", "Content-Length is not a number");
    while (cl[0] == '0' && cl[1] != '\0') cl++;
    long declared = 0;
    /* More digits than a long holds is larger than any max_body_bytes. */
    bool too_large = strlen(cl) > 18;
    for (const char *p = cl; !too_large && *p; p++) declared = declared * 10 + (*p - '0');
    if (too_large || declared > cfg->max_body_bytes)
        return cm_error_set(err, CM_ERR_PAYLOAD_TOO_LARGE, "body", "the body is larger than %ld bytes", cfg->max_body_bytes);
    return CM_OK;
}

cm_status cm_request_head_check(struct MHD_Connection *conn, const cm_raw_url *raw, const cm_config *cfg, cm_error *err) {
    if (raw->bytes > (size_t)cfg->max_url_bytes)
        return cm_error_set(err, CM_ERR_URI_TOO_LONG, NULL, "the URL is longer than %ld bytes", cfg->max_url_bytes);

    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
    struct head_walk w = {.pool_used = ci ? ci->header_size : 0};
    MHD_get_connection_values_n(conn, MHD_HEADER_KIND | MHD_COOKIE_KIND | MHD_GET_ARGUMENT_KIND, walk_record, &w);
    size_t pool = cm_request_head_pool_bytes(cfg->max_url_bytes);
    if (w.pool_used + RESPONSE_HEAD_RESERVE > pool)
        return cm_error_set(err, CM_ERR_HEADERS_TOO_LARGE, "headers",
                            "the request's head (%zu bytes with its header fields and parameters) leaves no room for "
                            "the response in the %zu bytes a connection has; send fewer or shorter header fields",
                            w.pool_used, pool);
    if (raw->path_has_nul) return cm_error_set(err, CM_ERR_BAD_REQUEST, "path", "the path contains a NUL byte (%%00)");
    if (w.nul_key)
        return cm_error_set(err, CM_ERR_BAD_REQUEST, w.nul_key, "the %s of query parameter \"%.100s\" contains a NUL byte",
                            w.nul_in_key ? "name" : "value", w.nul_key);
    return check_content_length(&w, cfg, err);
}
