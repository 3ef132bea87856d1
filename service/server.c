/* server.c — the libmicrohttpd daemon, request dispatch and the access log.
 *
 * THREAD MODEL (see server.h): MHD_USE_EPOLL_INTERNAL_THREAD with a thread pool; the
 * access handler, handlers and the completion of responses all run on the pool thread
 * that owns the connection. The handler answers on its first call for the read-only
 * methods; nothing is kept per connection between calls.
 *
 * DESIGN: this module is the only one besides request/response that touches MHD. It
 * builds a cm_request (decoded path, query arguments, base URL), routes it, runs the
 * handler and renders the cm_response. OPTIONS is answered here for every known route
 * (CORS preflight needs no handler), and 404/405/414 are decided here too. */
#include "server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../layers/clock.h"
#include "../layers/crs.h"
#include "../layers/sched_hint.h"
#include "../layers/utf8.h"
#include "client_addr.h"
#include "request.h"
#include "request_head.h"
#include "response.h"
#include "handlers/handlers.h"
#include "router.h"

#define MAX_PATH_BYTES 2048

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
    (void)kind;
    cm_request *req = cls;
    if (req->n_args == CM_QUERY_MAX_ARGS + 1) {
        req->too_many_args = true;
        return MHD_NO;
    }
    req->args[req->n_args].key = key;
    req->args[req->n_args].value = value ? value : "";
    req->n_args++;
    return MHD_YES;
}

/* The Host header becomes part of links we send back: accept only host[:port] characters. */
static bool host_is_safe(const char *h) {
    if (!h || !*h || strlen(h) > 200) return false;
    for (const char *p = h; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr(".-:[]", *p)))
            return false;
    return true;
}

static void set_base_url(cm_request *req) {
    const cm_server *srv = req->srv;
    /* Joined without printf: every request builds it (layers/buf.h). */
    char *out = req->base_url;
    const size_t n = sizeof req->base_url;
    size_t used = 0;
    if (srv->cfg->public_url) {
        cm_text_append(out, n, &used, srv->cfg->public_url);
        return;
    }
    /* The scheme the client came with: links followed over HTTPS must stay on HTTPS. */
    cm_text_append(out, n, &used, srv->tls_cert_pem ? "https://" : "http://");
    const char *host = cm_request_header(req, MHD_HTTP_HEADER_HOST);
    if (host_is_safe(host)) {
        cm_text_append(out, n, &used, host);
        return;
    }
    bool v6 = strchr(srv->host, ':') != NULL;
    if (v6) cm_text_append(out, n, &used, "[");
    cm_text_append(out, n, &used, srv->host);
    cm_text_append(out, n, &used, v6 ? "]:" : ":");
    cm_text_append_int(out, n, &used, atomic_load(&srv->port));
}

static bool accepts_gzip(const cm_request *req) {
    const char *ae = cm_request_header(req, MHD_HTTP_HEADER_ACCEPT_ENCODING);
    if (!ae) return false;
    const char *p = strstr(ae, "gzip");
    if (!p) return false;
    /* "gzip;q=0" refuses it. */
    const char *q = p + 4;
    while (*q == ' ') q++;
    if (*q == ';') {
        q++;
        while (*q == ' ') q++;
        if (q[0] == 'q' && q[1] == '=' && q[2] == '0' && (q[3] == '\0' || q[3] == ',' || (q[3] == '.' && strspn(q + 4, "0") > 0 && (q[4 + strspn(q + 4, "0")] == '\0' || q[4 + strspn(q + 4, "0")] == ','))))
            return false;
    }
    return true;
}

static void log_access(const cm_request *req, int status, const cm_response *r) {
    if (!req->srv->cfg->access_log) return;
    /* The path is printed with control characters and bytes that are not UTF-8 replaced:
     * request input never forges log lines or breaks a reader of the log. */
    char path[256];
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)req->path; *p && o < sizeof path - 1;) {
        size_t n = cm_utf8_sequence(p, SIZE_MAX);
        if (n > 1 && o + n < sizeof path) {
            memcpy(path + o, p, n);
            o += n;
            p += n;
        } else {
            path[o++] = (n == 1 && *p >= 0x20 && *p != 0x7f) ? (char)*p : '?';
            p += n > 1 ? n : 1;
        }
    }
    path[o] = '\0';
    fprintf(stderr, "%s %s %s %d %zu\n", req->client_ip, req->method, path, status, r->len);
}

/* What a connection keeps between the calls libmicrohttpd makes for one request: the raw
 * URL's facts, the body as it arrives, and an edit while it waits for the persistence
 * worker. Created by on_uri, released in on_completed. */
struct cm_request_state {
    cm_server *srv;
    struct MHD_Connection *conn;
    cm_raw_url raw_url;
    bool head_checked;
    cm_buf body;
    bool body_too_large;
    bool answered;    /* a response is queued already (a refusal of the head) */
    size_t discarded; /* body bytes dropped after the cap */
    bool has_edit;
    bool waiting;
    void (*finish)(cm_request *req, cm_response *resp, cm_edit *edit);
    cm_edit edit;
};

cm_edit *cm_request_edit(cm_request *req) {
    struct cm_request_state *st = req->state;
    if (st->has_edit) cm_edit_release(&st->edit);
    memset(&st->edit, 0, sizeof st->edit);
    st->has_edit = true;
    return &st->edit;
}

/* Runs on the persistence worker once the edit is committed (or failed), or on the audit
 * reader once its read is done. */
static void on_edit_done(cm_edit *e, void *cls) {
    (void)e;
    struct cm_request_state *st = cls;
    MHD_resume_connection(st->conn);
}

struct last_header {
    const char *name, *value;
};

static enum MHD_Result keep_last(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
    (void)kind;
    struct last_header *h = cls;
    if (key && strcasecmp(key, h->name) == 0) h->value = value;
    return MHD_YES;
}

/* The client's address (client_addr.h). The last X-Forwarded-For field: a proxy that adds a
 * field of its own instead of appending puts it after the client's. */
static void client_ip(struct MHD_Connection *conn, const cm_config *cfg, char *out, size_t n) {
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    struct last_header xff = {"X-Forwarded-For", NULL};
    if (cfg->trusted_proxies.n) MHD_get_connection_values(conn, MHD_HEADER_KIND, keep_last, &xff);
    cm_client_addr(ci ? ci->client_addr : NULL, xff.value, &cfg->trusted_proxies, out, n);
}

/* Runs when the request line is in, before libmicrohttpd decodes the URL in place; what it
 * returns is the request's state (*con_cls), so that state exists for every request. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn) {
    cm_server *srv = cls;
    struct cm_request_state *st = calloc(1, sizeof *st);
    if (!st) return NULL;
    st->srv = srv;
    st->conn = conn;
    cm_raw_url_from(&st->raw_url, uri);
    cm_buf_init(&st->body, (size_t)srv->cfg->max_body_bytes);
    return st;
}

static enum MHD_Result queue_error_now(struct MHD_Connection *conn, cm_server *srv, cm_status status,
                                       const char *field, const char *message) {
    cm_request req;
    memset(&req, 0, sizeof req);
    req.srv = srv;
    req.conn = conn;
    req.method = "POST";
    req.path = "";
    cm_response resp;
    cm_response_init(&resp);
    cm_response_error(&resp, status, field, "%s", message);
    return cm_response_send(&req, &resp) == MHD_YES ? MHD_YES : MHD_NO;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
    (void)version;
    cm_server *srv = cls;
    struct cm_request_state *st = *con_cls;
    static _Thread_local bool hinted; /* libmicrohttpd's threads are its own: tune each on its first request */
    if (!hinted) {
        hinted = true;
        cm_sched_prefer_latency();
    }
    if (!st) return MHD_NO; /* on_uri could not allocate it */
    if (!st->head_checked) {
        /* First call: headers only. Answering now would make libmicrohttpd close the
         * connection (losing keep-alive), so only a head that must be refused is answered
         * here, before any of the body is read and before any handler runs. */
        st->head_checked = true;
        cm_error err;
        cm_error_clear(&err);
        if (cm_request_head_check(conn, &st->raw_url, srv->cfg, &err) != CM_OK) {
            st->answered = true;
            return queue_error_now(conn, srv, err.status, err.field[0] ? err.field : NULL, err.message);
        }
        return MHD_YES;
    }
    if (*upload_data_size != 0) {
        /* A body without Content-Length (chunked) can only be found too large on the way:
         * the rest is discarded unread into memory and the 413 goes out at the end; a
         * sender that keeps going far past the cap is cut off. The body of a refused
         * request is discarded the same way. */
        if (!st->answered && !st->body_too_large && !cm_buf_append(&st->body, upload_data, *upload_data_size)) {
            st->body_too_large = true;
            cm_buf_release(&st->body);
        }
        if (st->body_too_large || st->answered) {
            st->discarded += *upload_data_size;
            if (st->discarded > 4 * (size_t)srv->cfg->max_body_bytes) return MHD_NO;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (st->answered) return MHD_YES; /* the refusal was queued from the head already */
    if (st->body_too_large) {
        char msg[128];
        snprintf(msg, sizeof msg, "the body is larger than %ld bytes", srv->cfg->max_body_bytes);
        st->answered = true;
        return queue_error_now(conn, srv, CM_ERR_PAYLOAD_TOO_LARGE, "body", msg);
    }

    cm_request req;
    memset(&req, 0, sizeof req);
    req.srv = srv;
    req.conn = conn;
    req.method = method;
    req.path = url;
    req.state = st;
    req.body = st->body.data;
    req.body_len = st->body.len;
    cm_response resp;
    cm_response_init(&resp);
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_arg, &req);
    set_base_url(&req);
    req.accepts_gzip = accepts_gzip(&req);
    client_ip(conn, srv->cfg, req.client_ip, sizeof req.client_ip);

    unsigned bit = cm_router_method_bit(method);
    const cm_route *route = NULL;
    char scratch[MAX_PATH_BYTES];
    if (st->waiting) {
        /* Resumed: the edit is done; render its outcome. */
        st->waiting = false;
        route = cm_router_match(url, &req, scratch);
        st->finish(&req, &resp, &st->edit);
    } else if (strlen(url) >= sizeof scratch) {
        cm_response_error(&resp, CM_ERR_URI_TOO_LONG, "path", "the path is longer than %d bytes", MAX_PATH_BYTES - 1);
    } else if (req.too_many_args) {
        cm_response_error(&resp, CM_ERR_BAD_PARAMETER, NULL, "too many query parameters (max %d)", CM_QUERY_MAX_ARGS);
    } else if ((route = cm_router_match(url, &req, scratch)) == NULL) {
        /* Not an API route: maybe a file of the web root. */
        if (bit & (CM_METHOD_GET | CM_METHOD_HEAD)) handle_web_get(&req, &resp);
        else cm_response_error(&resp, CM_ERR_NOT_FOUND, "path", "no resource at %.200s", url);
    } else if (bit == CM_METHOD_OPTIONS) {
        resp.status = 204;
    } else if (!(route->methods & bit)) {
        cm_response_error(&resp, CM_ERR_METHOD, "method", "%.10s is not allowed here; allowed: %s", method, route->allow);
        resp.allow = route->allow;
    } else {
        route->handler(&req, &resp);
        if (req.finish) {
            /* Suspend first, then submit: the worker may resume us at once. */
            st->finish = req.finish;
            st->waiting = true;
            st->edit.done = on_edit_done;
            st->edit.done_cls = st;
            MHD_suspend_connection(conn);
            if (st->edit.kind == CM_EDIT_AUDIT_READ) cm_audit_reader_submit(srv->audit_reader, &st->edit);
            else cm_writer_submit(srv->writer, &st->edit);
            return MHD_YES;
        }
    }
    log_access(&req, resp.status, &resp);
    if (bit == CM_METHOD_OPTIONS && route) {
        /* CORS preflight: what a browser may send to this resource. */
        struct MHD_Response *mr = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
        if (!mr) return MHD_NO;
        MHD_add_response_header(mr, "Access-Control-Allow-Origin", "*");
        MHD_add_response_header(mr, "Access-Control-Allow-Methods", route->allow);
        MHD_add_response_header(mr, "Access-Control-Allow-Headers",
                                "Authorization, Content-Type, Content-Crs, If-Match, If-None-Match, Accept, Accept-Encoding");
        MHD_add_response_header(mr, "Access-Control-Max-Age", "86400");
        MHD_add_response_header(mr, MHD_HTTP_HEADER_ALLOW, route->allow);
        enum MHD_Result rc = MHD_queue_response(conn, MHD_HTTP_NO_CONTENT, mr);
        MHD_destroy_response(mr);
        return rc;
    }
    return cm_response_send(&req, &resp) == MHD_YES ? MHD_YES : MHD_NO;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe) {
    (void)cls;
    (void)conn;
    (void)toe;
    struct cm_request_state *st = *con_cls;
    if (!st) return;
    if (st->has_edit) cm_edit_release(&st->edit);
    cm_buf_release(&st->body);
    free(st);
    *con_cls = NULL;
}

/* libmicrohttpd's messages, minus the one every closed live map causes. */
static void mhd_log(void *cls, const char *fmt, va_list ap) {
    (void)cls;
    if (strstr(fmt, "Failed to send") || strstr(fmt, "no longer available")) return;
    fputs("libmicrohttpd: ", stderr);
    vfprintf(stderr, fmt, ap);
}

cm_status cm_server_start(cm_server *srv, const char *host, int port, cm_error *err) {
    snprintf(srv->host, sizeof srv->host, "%s", host);
    struct sockaddr_in sin;
    struct sockaddr_in6 sin6;
    const struct sockaddr *sa;
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_USE_TURBO | MHD_ALLOW_SUSPEND_RESUME;
    if (srv->tls_cert_pem && srv->tls_key_pem) flags |= MHD_USE_TLS;
    memset(&sin, 0, sizeof sin);
    memset(&sin6, 0, sizeof sin6);
    if (inet_pton(AF_INET, host, &sin.sin_addr) == 1) {
        sin.sin_family = AF_INET;
        sin.sin_port = htons((uint16_t)port);
        sa = (const struct sockaddr *)&sin;
    } else if (inet_pton(AF_INET6, host, &sin6.sin6_addr) == 1) {
        sin6.sin6_family = AF_INET6;
        sin6.sin6_port = htons((uint16_t)port);
        sa = (const struct sockaddr *)&sin6;
        flags |= MHD_USE_IPv6;
    } else {
        return cm_error_set(err, CM_ERR_BAD_CONFIG, "listen", "listen host must be an IP address, got \"%s\"", host);
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned threads = srv->cfg->threads > 0 ? (unsigned)srv->cfg->threads : (unsigned)(cores > 0 ? cores : 2);
    struct MHD_OptionItem opts[] = {
        /* First, so that messages about the options below go through it too. */
        {MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, NULL},
        {MHD_OPTION_SOCK_ADDR, 0, (void *)sa},
        {MHD_OPTION_THREAD_POOL_SIZE, threads, NULL},
        {MHD_OPTION_CONNECTION_LIMIT, (intptr_t)srv->cfg->max_streams + 1024, NULL},
        /* The pool holds the request head and then the response header, and every open
         * connection (one per live map) keeps all of it: sized in request_head.c, which
         * refuses a head that would leave no room for the response. */
        {MHD_OPTION_CONNECTION_MEMORY_LIMIT, (intptr_t)cm_request_head_pool_bytes(srv->cfg->max_url_bytes), NULL},
        {MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)on_uri, srv},
        {MHD_OPTION_CONNECTION_TIMEOUT, 120, NULL},
        {MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024, NULL},
        {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, srv},
        {MHD_OPTION_END, 0, NULL}, /* replaced by the TLS options when serving HTTPS */
        {MHD_OPTION_END, 0, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    if (flags & MHD_USE_TLS) {
        size_t end = 0;
        while (opts[end].option != MHD_OPTION_END) end++;
        opts[end] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)srv->tls_cert_pem};
        opts[end + 1] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)srv->tls_key_pem};
    }
    srv->started_ms = cm_clock_wall_ms(); /* before the first request can read it */
    srv->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
    if (!srv->daemon)
        return cm_error_set(err, CM_ERR_IO, "listen", "cannot listen on %s:%d (in use, or not an address of this machine)",
                            host, port);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    atomic_store(&srv->port, info ? info->port : port);
    return CM_OK;
}

void cm_server_stop(cm_server *srv) {
    if (srv->daemon) MHD_stop_daemon(srv->daemon);
    srv->daemon = NULL;
}
