/* server.h — the HTTP server: one libmicrohttpd daemon over the in-memory store.
 *
 * THREAD MODEL: libmicrohttpd runs a pool of threads, each with its own epoll loop; every
 * request callback (routing, handlers, response building) runs on the pool thread that owns
 * the connection. Handlers read the store through snapshot references (no lock held while
 * building or sending). The main thread starts and stops the daemon and waits for signals.
 * No mutable globals: everything hangs off cm_server, passed as MHD's closure. */
#ifndef CM_SERVER_H
#define CM_SERVER_H

#include <stdatomic.h>
#include <stdint.h>

#include "../layers/store.h"
#include "../layers/tokens.h"
#include "../layers/audit_reader.h"
#include "../layers/writer.h"
#include "auth.h"
#include "config.h"
#include "webfiles.h"

typedef struct cm_server {
    const cm_config *cfg;
    cm_store *store;       /* borrowed */
    cm_webfiles *web;      /* borrowed; NULL when there is no web root */
    cm_writer *writer;     /* borrowed; NULL for a read-only server */
    cm_audit_reader *audit_reader; /* borrowed; NULL for a read-only server */
    cm_token_registry *tokens; /* borrowed */
    struct cm_events *events;  /* borrowed */
    cm_auth_throttle throttle;
    const char *tls_cert_pem; /* borrowed; both set: serve HTTPS */
    const char *tls_key_pem;
    struct MHD_Daemon *daemon;
    char host[64];
    atomic_int port;       /* bound port (the real one when 0 was asked for); set once the daemon
                            * runs, so a first request may read it at the same time */
    int64_t started_ms;
} cm_server;

/* Starts listening on host:port (port 0 picks a free one) and fills srv->port. */
cm_status cm_server_start(cm_server *srv, const char *host, int port, cm_error *err);
/* Stops accepting, finishes in-flight requests and joins the threads. */
void cm_server_stop(cm_server *srv);

#endif
