/* request.h — what a handler sees of a request: method, path, captured path segments,
 * decoded query parameters, headers and the base URL for links. Handlers never see
 * libmicrohttpd. */
#ifndef CM_REQUEST_H
#define CM_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#include "../layers/buf.h"
#include "../layers/writer.h"
#include "query.h"
#include "server.h"

#define CM_REQUEST_MAX_CAPTURES 4

typedef struct cm_request {
    cm_server *srv;
    struct MHD_Connection *conn;
    const char *method;
    const char *path; /* decoded, without the query */
    const char *captures[CM_REQUEST_MAX_CAPTURES];
    int n_captures;
    cm_qarg args[CM_QUERY_MAX_ARGS + 1];
    size_t n_args;
    bool too_many_args;
    char base_url[256]; /* scheme://host[:port], no trailing slash */
    bool accepts_gzip;
    char client_ip[48];
    const char *body; /* complete, size-capped request body (NULL when none) */
    size_t body_len;
    /* Deferral: a handler that hands an edit to the persistence worker fills `edit`
     * (cm_request_edit) and sets `finish`; the server suspends the connection and calls
     * finish on the same request once the edit is done. */
    struct cm_request_state *state;
    void (*finish)(struct cm_request *req, struct cm_response *resp, cm_edit *edit);
} cm_request;

/* The request's edit slot (zeroed, owned by the connection; released when it ends). */
cm_edit *cm_request_edit(cm_request *req);

/* Header value (borrowed for the request's lifetime) or NULL. */
const char *cm_request_header(const cm_request *req, const char *name);
/* Reads an entity-tag list (If-Match, If-None-Match; RFC 9110 8.8.3): set p to the
 * header's value and call cm_etag_list_next until it returns END or MALFORMED. A tag comes
 * without W/ and without its quotes (*tag, *len, borrowed from the header); tags must be
 * separated by commas, and empty list elements are skipped. */
typedef struct cm_etag_list {
    const char *p;
    bool started;
} cm_etag_list;
typedef enum { CM_ETAG_END, CM_ETAG_TAG, CM_ETAG_STAR, CM_ETAG_MALFORMED } cm_etag_token;
cm_etag_token cm_etag_list_next(cm_etag_list *l, const char **tag, size_t *len);
/* Appends the request's query string, re-encoded, to b, with `offset` replaced by
 * new_offset when it is >= 0. Writes nothing when there are no parameters. */
void cm_request_write_query(const cm_request *req, cm_buf *b, long new_offset);

#endif
