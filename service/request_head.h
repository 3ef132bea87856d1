/* request_head.h — the checks made on a request's head (request line and header fields)
 * once libmicrohttpd has read it, before any body is read and before any handler runs:
 * URL and header sizes against the connection's memory, NUL bytes, Content-Length.
 * Refusing here is what guarantees that a handler never commits a write whose response
 * could not be sent. */
#ifndef CM_REQUEST_HEAD_H
#define CM_REQUEST_HEAD_H

#include <stdbool.h>
#include <stddef.h>

#include "../layers/status.h"
#include "config.h"

struct MHD_Connection;

/* What is known of the URL only as the client sent it: libmicrohttpd decodes it in place
 * right after its URI log callback, which fills this. */
typedef struct cm_raw_url {
    size_t bytes;       /* as sent, query included, up to a NUL byte */
    bool path_has_nul;  /* "%00" before the query */
} cm_raw_url;

/* Fills out from the raw URI (libmicrohttpd's, read before it is decoded in place). */
void cm_raw_url_from(cm_raw_url *out, const char *uri);

/* The per-connection memory (MHD_OPTION_CONNECTION_MEMORY_LIMIT): a URL of max_url_bytes,
 * a browser's header fields, and the response's header. */
size_t cm_request_head_pool_bytes(long max_url_bytes);

/* Checks the head of the request on conn (borrowed; call from the access handler's first
 * call, when all headers are in). Returns CM_OK, or a 4xx with err naming the URL, header
 * or query parameter at fault: 414 URL over max_url_bytes, 431 head too large for the
 * connection's memory, 400 NUL byte in the path or a query parameter, 413 declared body
 * over max_body_bytes (also when too many digits to parse). */
cm_status cm_request_head_check(struct MHD_Connection *conn, const cm_raw_url *raw, const cm_config *cfg, cm_error *err);

#endif
