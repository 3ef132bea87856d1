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
    out->target = uri;
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

struct arg_walk {
    const char *bad_key; /* the first parameter with a NUL, cut at it */
    bool in_key;
};

static enum MHD_Result find_nul_arg(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
                                    const char *value, size_t value_size) {
    (void)kind;
    struct arg_walk *w = cls;
    bool key_nul = strlen(key) != key_size;
    bool value_nul = value && strlen(value) != value_size;
    if (!key_nul && !value_nul) return MHD_YES;
    w->bad_key = key;
    w->in_key = key_nul;
    return MHD_NO;
}

static enum MHD_Result count_bytes(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
    (void)kind;
    size_t *bytes = cls;
    *bytes += POOL_BYTES_PER_ENTRY;
    if (kind == MHD_HEADER_KIND && strcasecmp(key, MHD_HTTP_HEADER_COOKIE) == 0 && value)
        *bytes += strlen(value) + 1; /* libmicrohttpd parses a copy of it into cookies */
    return MHD_YES;
}

struct framing {
    int content_lengths;
    bool transfer_encoding;
};

static enum MHD_Result count_framing(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
    (void)kind;
    (void)value;
    struct framing *f = cls;
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) f->content_lengths++;
    else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) f->transfer_encoding = true;
    return MHD_YES;
}

static cm_status check_content_length(struct MHD_Connection *conn, const cm_config *cfg, cm_error *err) {
    /* Two lengths, or a length beside chunked encoding: a proxy in front may read the body's
     * end elsewhere than we do (request smuggling). RFC 9112 6.3 lets a server refuse both. */
    struct framing f = {0};
    MHD_get_connection_values(conn, MHD_HEADER_KIND, count_framing, &f);
    if (f.content_lengths > 1 || (f.content_lengths && f.transfer_encoding))
        return cm_error_set(err, CM_ERR_BAD_REQUEST, "Content-Length",
                            f.content_lengths > 1 ? "Content-Length is given more than once"
                                                  : "Content-Length and Transfer-Encoding are both given; send one");
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
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
    size_t head_bytes = ci ? ci->header_size : 0;
    size_t pool_used = head_bytes;
    MHD_get_connection_values(conn, MHD_HEADER_KIND | MHD_COOKIE_KIND | MHD_GET_ARGUMENT_KIND, count_bytes, &pool_used);
    size_t pool = cm_request_head_pool_bytes(cfg->max_url_bytes);
    if (pool_used + RESPONSE_HEAD_RESERVE > pool)
        return cm_error_set(err, CM_ERR_HEADERS_TOO_LARGE, "headers",
                            "the request's head (%zu bytes with its header fields and parameters) leaves no room for "
                            "the response in the %zu bytes a connection has; send fewer or shorter header fields",
                            pool_used, pool);

    if (raw->path_has_nul) return cm_error_set(err, CM_ERR_BAD_REQUEST, "path", "the path contains a NUL byte (%%00)");
    struct arg_walk aw = {0};
    MHD_get_connection_values_n(conn, MHD_GET_ARGUMENT_KIND, find_nul_arg, &aw);
    if (aw.bad_key)
        return cm_error_set(err, CM_ERR_BAD_REQUEST, aw.bad_key, "the %s of query parameter \"%.100s\" contains a NUL byte",
                            aw.in_key ? "name" : "value", aw.bad_key);
    return check_content_length(conn, cfg, err);
}
