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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../layers/crs.h"
#include "request.h"
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
    if (srv->cfg->public_url) {
        snprintf(req->base_url, sizeof req->base_url, "%s", srv->cfg->public_url);
        return;
    }
    const char *host = cm_request_header(req, MHD_HTTP_HEADER_HOST);
    if (host_is_safe(host)) snprintf(req->base_url, sizeof req->base_url, "http://%s", host);
    else if (strchr(srv->host, ':')) snprintf(req->base_url, sizeof req->base_url, "http://[%s]:%d", srv->host, srv->port);
    else snprintf(req->base_url, sizeof req->base_url, "http://%s:%d", srv->host, srv->port);
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
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    char addr[INET6_ADDRSTRLEN] = "-";
    if (ci && ci->client_addr) {
        if (ci->client_addr->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)ci->client_addr)->sin_addr, addr, sizeof addr);
        else if (ci->client_addr->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ci->client_addr)->sin6_addr, addr, sizeof addr);
    }
    /* The path is printed with control characters replaced: request input never forges log lines. */
    char path[256];
    size_t i = 0;
    for (; req->path[i] && i < sizeof path - 1; i++)
        path[i] = ((unsigned char)req->path[i] < 0x20 || req->path[i] == 0x7f) ? '?' : req->path[i];
    path[i] = '\0';
    fprintf(stderr, "%s %s %s %d %zu\n", addr, req->method, path, status, r->len);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
    (void)version;
    (void)upload_data;
    cm_server *srv = cls;
    /* Answer only once the whole request is in: a response queued earlier makes
     * libmicrohttpd close the connection, losing keep-alive. A body is discarded (this
     * read-only surface takes none). */
    static char request_started;
    if (*con_cls == NULL) {
        *con_cls = &request_started;
        return MHD_YES;
    }
    if (*upload_data_size != 0) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    cm_request req;
    memset(&req, 0, sizeof req);
    req.srv = srv;
    req.conn = conn;
    req.method = method;
    req.path = url;
    cm_response resp;
    cm_response_init(&resp);

    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_arg, &req);
    size_t url_bytes = strlen(url);
    for (size_t i = 0; i < req.n_args; i++) url_bytes += strlen(req.args[i].key) + strlen(req.args[i].value) + 2;
    set_base_url(&req);
    req.accepts_gzip = accepts_gzip(&req);

    unsigned bit = cm_router_method_bit(method);
    const cm_route *route = NULL;
    char scratch[MAX_PATH_BYTES];
    if (url_bytes > (size_t)srv->cfg->max_url_bytes || strlen(url) >= sizeof scratch) {
        cm_response_error(&resp, CM_ERR_URI_TOO_LONG, NULL, "the URL is longer than %ld bytes", srv->cfg->max_url_bytes);
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
    }
    int status = resp.status;
    log_access(&req, status, &resp);
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

cm_status cm_server_start(cm_server *srv, const char *host, int port, cm_error *err) {
    snprintf(srv->host, sizeof srv->host, "%s", host);
    struct sockaddr_in sin;
    struct sockaddr_in6 sin6;
    const struct sockaddr *sa;
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_USE_TURBO;
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
    srv->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_SOCK_ADDR, sa,
                                   MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_LIMIT, (unsigned)10000,
                                   MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120, MHD_OPTION_LISTEN_BACKLOG_SIZE,
                                   (unsigned)1024, MHD_OPTION_END);
    if (!srv->daemon)
        return cm_error_set(err, CM_ERR_IO, "listen", "cannot listen on %s:%d (in use, or not an address of this machine)",
                            host, port);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : port;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    srv->started_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    return CM_OK;
}

void cm_server_stop(cm_server *srv) {
    if (srv->daemon) MHD_stop_daemon(srv->daemon);
    srv->daemon = NULL;
}
