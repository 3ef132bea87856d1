/* request_head.c — checks on a request's head before its body is read or a handler runs.
 *
 * DESIGN: libmicrohttpd (0.9.75) keeps a request's head in the connection's memory pool
 * and builds the response's header in what is left of that pool. When too little is left,
 * it closes the connection without a response, after the handler ran: a committed write
 * the client never hears about, and retries. So the pool is sized from max_url_bytes and
 * CM_HEAD_FIELD_BYTES plus room for the response header, and a head that would leave less
 * than that room is refused here, at the first call of the access handler.
 *
 * NUL bytes: libmicrohttpd decodes %00 in the path and the query, and stores header values
 * by strlen, so a NUL silently cuts what handlers see ("1%00" deletes feature 1; "Bearer
 * TOKEN\0junk" authenticates). The path is checked on the raw URI, query parameters with
 * their decoded lengths (a literal NUL in the request line against where its version
 * starts), and header values on the head as libmicrohttpd parsed it in
 * place (see header_values_end_their_lines).
 *
 * THREAD SAFETY: pure functions of one connection, run on the thread that owns it. */
#include "request_head.h"

#include <microhttpd.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

/* What libmicrohttpd takes from the pool for each header, cookie or query parameter
 * record: 56 bytes rounded up to 16, plus a 16-byte red zone when it is built with
 * ASan poisoning. */
#define POOL_BYTES_PER_ENTRY 80
/* Entries (header fields and query parameters) the pool is sized for beyond their bytes. */
#define POOL_ENTRIES 96
/* The longest response header we send (status line, Date, CORS, CSP, ETag, Location...)
 * is about 1.3 KB. */
#define RESPONSE_HEAD_RESERVE 2048

void cm_raw_url_from(cm_raw_url *out, const char *uri) {
    out->target = uri;
    out->bytes = strlen(uri);
    size_t path_len = strcspn(uri, "?");
    out->path_has_nul = false;
    for (size_t i = 0; i + 2 < path_len && !out->path_has_nul; i++)
        out->path_has_nul = uri[i] == '%' && uri[i + 1] == '0' && uri[i + 2] == '0';
}

size_t cm_request_head_pool_bytes(long max_url_bytes) {
    return (size_t)max_url_bytes + CM_HEAD_FIELD_BYTES + POOL_ENTRIES * POOL_BYTES_PER_ENTRY + RESPONSE_HEAD_RESERVE;
}

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

/* Header values as libmicrohttpd 0.9.75 left them in the raw head [begin, end): each value
 * is followed by its line's terminator (CR LF or LF, overwritten with 1 or 2 NULs), then the
 * next field's name; after the last value, its terminator and the empty line (at most 4).
 * Anything else between a value's end (its strlen) and the next name is a NUL inside the
 * value, or an obsolete line fold, which RFC 9112 also lets a server refuse. A name or
 * value outside the head was copied elsewhere by libmicrohttpd and is not compared. */
struct header_walk {
    uintptr_t begin, end;
    const char *prev_name;
    uintptr_t prev_value_end;
    const char *bad_name;
};

static bool only_terminator(const struct header_walk *w, uintptr_t from, uintptr_t to, size_t max_bytes) {
    if (from < w->begin || to > w->end || to < from) return true;
    if (to - from > max_bytes) return false;
    for (uintptr_t p = from; p < to; p++)
        if (*(const char *)p != '\0') return false;
    return true;
}

static enum MHD_Result header_values_end_their_lines(void *cls, enum MHD_ValueKind kind, const char *key,
                                                     size_t key_size, const char *value, size_t value_size) {
    (void)kind;
    (void)key_size;
    struct header_walk *w = cls;
    if (w->prev_name && !only_terminator(w, w->prev_value_end, (uintptr_t)key, 2)) {
        w->bad_name = w->prev_name;
        return MHD_NO;
    }
    w->prev_name = key;
    w->prev_value_end = (uintptr_t)(value ? value + value_size : key + key_size);
    return MHD_YES;
}

static enum MHD_Result count_bytes(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
    (void)kind;
    size_t *bytes = cls;
    *bytes += POOL_BYTES_PER_ENTRY;
    if (kind == MHD_HEADER_KIND && strcasecmp(key, MHD_HTTP_HEADER_COOKIE) == 0 && value)
        *bytes += strlen(value) + 1; /* libmicrohttpd parses a copy of it into cookies */
    return MHD_YES;
}

static cm_status check_content_length(struct MHD_Connection *conn, const cm_config *cfg, cm_error *err) {
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

cm_status cm_request_head_check(struct MHD_Connection *conn, const char *method, const char *version, const cm_raw_url *raw,
                                const cm_config *cfg, cm_error *err) {
    if (raw->bytes > (size_t)cfg->max_url_bytes)
        return cm_error_set(err, CM_ERR_URI_TOO_LONG, NULL, "the URL is longer than %ld bytes", cfg->max_url_bytes);

    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
    size_t head_bytes = ci ? ci->header_size : 0;
    if (head_bytes > raw->bytes + CM_HEAD_FIELD_BYTES)
        return cm_error_set(err, CM_ERR_HEADERS_TOO_LARGE, "headers", "the header fields are larger than %d bytes",
                            CM_HEAD_FIELD_BYTES);
    size_t pool_used = head_bytes;
    MHD_get_connection_values(conn, MHD_HEADER_KIND | MHD_COOKIE_KIND | MHD_GET_ARGUMENT_KIND, count_bytes, &pool_used);
    if (pool_used + RESPONSE_HEAD_RESERVE > cm_request_head_pool_bytes(cfg->max_url_bytes))
        return cm_error_set(err, CM_ERR_HEADERS_TOO_LARGE, "headers", "too many header fields or query parameters");

    /* A literal NUL in the request target ends the string libmicrohttpd gives us early: the
     * version no longer follows it (their separating space is a NUL too). */
    if (version && version[0] && (uintptr_t)raw->target + raw->bytes + 1 != (uintptr_t)version)
        return cm_error_set(err, CM_ERR_BAD_REQUEST, "path", "the request target contains a NUL byte");
    if (raw->path_has_nul) return cm_error_set(err, CM_ERR_BAD_REQUEST, "path", "the path contains a NUL byte (%%00)");
    struct arg_walk aw = {0};
    MHD_get_connection_values_n(conn, MHD_GET_ARGUMENT_KIND, find_nul_arg, &aw);
    if (aw.bad_key)
        return cm_error_set(err, CM_ERR_BAD_REQUEST, aw.bad_key, "the %s of query parameter \"%.100s\" contains a NUL byte",
                            aw.in_key ? "name" : "value", aw.bad_key);
    struct header_walk hw = {.begin = (uintptr_t)method, .end = (uintptr_t)method + head_bytes};
    MHD_get_connection_values_n(conn, MHD_HEADER_KIND, header_values_end_their_lines, &hw);
    if (!hw.bad_name && hw.prev_name && !only_terminator(&hw, hw.prev_value_end, hw.end, 4)) hw.bad_name = hw.prev_name;
    if (hw.bad_name)
        return cm_error_set(err, CM_ERR_BAD_REQUEST, hw.bad_name,
                            "header %.100s contains a NUL byte (or is folded over lines)", hw.bad_name);

    return check_content_length(conn, cfg, err);
}
