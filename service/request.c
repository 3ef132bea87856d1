/* request.c — request accessors for handlers: headers, entity-tag lists, and the query
 * string re-encoded for links. */
#include "request.h"

#include <microhttpd.h>
#include <string.h>

const char *cm_request_header(const cm_request *req, const char *name) {
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

cm_etag_token cm_etag_list_next(cm_etag_list *l, const char **tag, size_t *len) {
    const char *p = l->p;
    bool comma = false;
    for (;; p++) {
        if (*p == ',') comma = true;
        else if (*p != ' ' && *p != '\t') break;
    }
    l->p = p;
    if (!*p) return CM_ETAG_END;
    if (l->started && !comma) return CM_ETAG_MALFORMED;
    l->started = true;
    if (*p == '*') {
        l->p = p + 1;
        return CM_ETAG_STAR;
    }
    if (p[0] == 'W' && p[1] == '/') p += 2;
    const char *end = *p == '"' ? strchr(p + 1, '"') : NULL;
    if (!end) return CM_ETAG_MALFORMED;
    *tag = p + 1;
    *len = (size_t)(end - p - 1);
    l->p = end + 1;
    return CM_ETAG_TAG;
}

static bool unreserved(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("-._~,:/", c);
}

static void write_encoded(cm_buf *b, const char *s) {
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (unreserved(*p)) {
            cm_buf_append_char(b, (char)*p);
        } else {
            char esc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            cm_buf_append(b, esc, 3);
        }
    }
}

void cm_request_write_query(const cm_request *req, cm_buf *b, long new_offset) {
    bool first = true, wrote_offset = false;
    for (size_t i = 0; i < req->n_args; i++) {
        bool is_offset = strcmp(req->args[i].key, "offset") == 0;
        cm_buf_append_char(b, first ? '?' : '&');
        first = false;
        write_encoded(b, req->args[i].key);
        cm_buf_append_char(b, '=');
        if (is_offset && new_offset >= 0) {
            cm_buf_printf(b, "%ld", new_offset);
            wrote_offset = true;
        } else {
            write_encoded(b, req->args[i].value);
        }
    }
    if (new_offset >= 0 && !wrote_offset) cm_buf_printf(b, "%soffset=%ld", first ? "?" : "&", new_offset);
}
