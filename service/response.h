/* response.h — what a handler returns, and the one place that turns it into HTTP:
 * conditional requests (ETag / If-None-Match), gzip negotiation, CORS and security
 * headers, JSON error bodies. */
#ifndef CM_RESPONSE_H
#define CM_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>

#include "../layers/buf.h"
#include "../layers/layer.h"
#include "request.h"

typedef struct cm_response {
    int status;
    const char *content_type;
    /* Body: either owned (malloc'd, freed by the response) or borrowed from a snapshot,
     * which the response keeps referenced until the bytes are sent. */
    char *owned;
    const char *borrowed;
    size_t len;
    const char *gzip; /* optional precompressed twin of a borrowed body */
    size_t gzip_len;
    cm_snapshot *hold; /* reference stolen by the response */
    char etag[40];     /* without quotes; empty: computed from the body */
    char content_crs[80];
    const char *allow; /* for 405 and OPTIONS */
    char location[512];
    const char *www_authenticate;
    int retry_after_s; /* > 0: a Retry-After header */
    const char *cache_control; /* NULL: "no-cache" (revalidate with the ETag) */
    bool is_html;
    void *prepared; /* a ready libmicrohttpd response (an event stream), queued with status 200 */
} cm_response;

void cm_response_init(cm_response *r);
/* Gives r an owned body (steals body); status, type and body only (the ETag stays). */
void cm_response_set_body(cm_response *r, int status, const char *content_type, char *body, size_t len);
/* Gives r the bytes of b (emptied) as its body, or a 503 when b failed (over its maximum
 * or out of memory). */
void cm_response_take_buf(cm_response *r, int status, const char *content_type, cm_buf *b);
/* A JSON error body from err: {"code","description","field"}. */
void cm_response_set_error(cm_response *r, const cm_error *err);
/* Shorthand for cm_error_set + cm_response_set_error. */
void cm_response_error(cm_response *r, cm_status s, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* True when the request's If-None-Match names etag (then send 304). */
bool cm_response_not_modified(const cm_request *req, const char *etag);

/* Queues r on the connection and releases what r owns. Returns MHD_YES/MHD_NO. */
int cm_response_send(cm_request *req, cm_response *r);

/* gzip of data (returns new, malloc'd) or NULL. level 1..9. */
char *cm_gzip(const char *data, size_t len, int level, size_t *out_len);

#endif
