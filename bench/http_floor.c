/* http_floor.c — the thinnest durable HTTP writers, for the write benchmark (bench/write.sh).
 *
 * usage: http-floor [--audit] [--owner-thread] STORE.gpkg
 *
 * Listens on 127.0.0.1 (a free port, printed alone on the first line of stdout) with
 * libmicrohttpd on one thread, and answers every request with a body by inserting one row
 * into STORE's `services` table, committed before its 201 (WAL, synchronous=FULL): the same
 * row, triggers and transaction as raw_gpkg_insert.py's 1-connection mode, done in C. No
 * parsing, validation, snapshot or response body worth the name. Stops on SIGTERM or SIGINT.
 *
 * Plain, the insert runs on the HTTP thread: what HTTP itself costs on this box, so the
 * report can tell how much of the gap between crisismap's creates and raw inserts is the
 * HTTP round trip and how much is the server's own work.
 *
 * --audit adds, in the same transaction, a cm_audit row like raw_gpkg_insert.py's c1_audit
 * mode (the JSON of the feature padded to ~0.7 KB; fixed hashes, no SHA-256). --owner-thread
 * moves the insert and its commit to a second thread that owns the connection to the store:
 * the HTTP thread suspends the request, queues it and is woken to answer after the commit.
 * Together they are the least any server built as issue 3 asks can do per create (one
 * persistence thread owns the store, the audit record commits with the change), without
 * any of the rest of crisismap's work: the ceiling of the 1-client ratio on this box. */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static sqlite3 *db;
static sqlite3_stmt *insert_row, *insert_audit, *begin_tx, *commit_tx, *rollback_tx;
static long seq;
static int with_audit, owner_thread;

/* The point of a GeoPackage geometry blob, as the R-tree triggers need it. */
static int blob_point(const unsigned char *b, int n, double *x, double *y) {
    static const int envelope_bytes[8] = {0, 32, 48, 48, 64, 0, 0, 0};
    if (!b || n < 8 || b[0] != 'G' || b[1] != 'P' || (b[3] & 0x10)) return 0;
    int wkb = 8 + envelope_bytes[(b[3] >> 1) & 7];
    if (n < wkb + 21) return 0;
    memcpy(x, b + wkb + 5, 8);
    memcpy(y, b + wkb + 13, 8);
    return 1;
}

static void st_isempty(sqlite3_context *c, int argc, sqlite3_value **v) {
    (void)argc;
    const unsigned char *b = sqlite3_value_blob(v[0]);
    if (!b) {
        sqlite3_result_null(c);
        return;
    }
    sqlite3_result_int(c, sqlite3_value_bytes(v[0]) >= 4 && (b[3] & 0x10) ? 1 : 0);
}

static void st_coordinate(sqlite3_context *c, int argc, sqlite3_value **v) {
    (void)argc;
    double x, y;
    if (!blob_point(sqlite3_value_blob(v[0]), sqlite3_value_bytes(v[0]), &x, &y)) sqlite3_result_null(c);
    else sqlite3_result_double(c, *(const int *)sqlite3_user_data(c) ? y : x);
}

static int step_reset(sqlite3_stmt *s) {
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE;
}

static int insert_audit_row(double x, double y, const char *name, const char *now, time_t t) {
    static const char hash[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    long long fid = sqlite3_last_insert_rowid(db);
    char after[1024];
    snprintf(after, sizeof after,
             "{\"type\":\"Feature\",\"id\":%lld,\"geometry\":{\"type\":\"Point\",\"coordinates\":[%.6f,%.6f]},"
             "\"properties\":{\"name\":\"%s\",\"kind\":\"water\",\"capacity\":%ld,\"created\":\"%s\","
             "\"updated\":\"%s\",\"updated_by\":\"bench\",\"version\":1,\"pad\":\"%0400d\"}}",
             fid, x, y, name, seq % 500, now, now, 0);
    sqlite3_bind_int64(insert_audit, 1, (long long)t * 1000);
    sqlite3_bind_text(insert_audit, 2, "bench", -1, SQLITE_STATIC);
    sqlite3_bind_text(insert_audit, 3, "operator", -1, SQLITE_STATIC);
    sqlite3_bind_text(insert_audit, 4, "created", -1, SQLITE_STATIC);
    sqlite3_bind_text(insert_audit, 5, "services", -1, SQLITE_STATIC);
    sqlite3_bind_int64(insert_audit, 6, fid);
    sqlite3_bind_null(insert_audit, 7);
    sqlite3_bind_text(insert_audit, 8, after, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(insert_audit, 9, hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(insert_audit, 10, hash, -1, SQLITE_STATIC);
    return step_reset(insert_audit);
}

static int insert_one(void) {
    /* GeoPackageBinary: "GP", version 0, flags 1 (little-endian, no envelope), srs 4326; WKB Point. */
    unsigned char g[29] = {'G', 'P', 0, 1};
    int32_t srs = 4326;
    uint32_t point = 1;
    memcpy(g + 4, &srs, 4);
    g[8] = 1;
    memcpy(g + 9, &point, 4);
    seq++;
    double x = 7.405 + (double)(seq * 7919 % 30000) / 1e6, y = 43.725 + (double)(seq * 104729 % 25000) / 1e6;
    memcpy(g + 13, &x, 8);
    memcpy(g + 21, &y, 8);
    char name[64], now[32];
    snprintf(name, sizeof name, "floor %ld", seq);
    time_t t = time(NULL);
    strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%S.000Z", gmtime(&t));
    if (!step_reset(begin_tx)) return 0;
    sqlite3_bind_blob(insert_row, 1, g, sizeof g, SQLITE_TRANSIENT);
    sqlite3_bind_text(insert_row, 2, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(insert_row, 3, "water", -1, SQLITE_STATIC);
    sqlite3_bind_int(insert_row, 4, (int)(seq % 500));
    sqlite3_bind_text(insert_row, 5, now, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(insert_row, 6, now, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(insert_row, 7, "bench", -1, SQLITE_STATIC);
    sqlite3_bind_int(insert_row, 8, 1);
    if (step_reset(insert_row) && (!with_audit || insert_audit_row(x, y, name, now, t)) && step_reset(commit_tx))
        return 1;
    step_reset(rollback_tx);
    return 0;
}

/* A request with a body, from its head to its answer. With --owner-thread it waits in the
 * queue (QUEUED) until the owner has committed its row (DONE). */
struct request {
    struct MHD_Connection *conn;
    enum { FRESH, QUEUED, DONE } state;
    int ok;
    struct request *next;
};

static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queue_nonempty = PTHREAD_COND_INITIALIZER;
static struct request *queue_head, *queue_tail;

static void queue_push(struct request *r) {
    pthread_mutex_lock(&queue_lock);
    if (queue_tail) queue_tail->next = r;
    else queue_head = r;
    queue_tail = r;
    pthread_cond_signal(&queue_nonempty);
    pthread_mutex_unlock(&queue_lock);
}

/* The --owner-thread: the only user of the store's connection. Runs until the process exits. */
static void *owner_main(void *unused) {
    (void)unused;
    for (;;) {
        pthread_mutex_lock(&queue_lock);
        while (!queue_head) pthread_cond_wait(&queue_nonempty, &queue_lock);
        struct request *r = queue_head;
        queue_head = r->next;
        if (!queue_head) queue_tail = NULL;
        pthread_mutex_unlock(&queue_lock);
        r->ok = insert_one();
        r->state = DONE; /* read by the HTTP thread after the resume, which orders it */
        MHD_resume_connection(r->conn);
    }
    return NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls) {
    (void)cls, (void)url, (void)method, (void)version, (void)upload;
    if (!*con_cls) { /* headers only: wait for the body */
        struct request *r = calloc(1, sizeof *r);
        if (!r) return MHD_NO;
        r->conn = conn;
        *con_cls = r;
        return MHD_YES;
    }
    if (*upload_size) {
        *upload_size = 0;
        return MHD_YES;
    }
    struct request *req = *con_cls;
    if (owner_thread && req->state == FRESH) {
        req->state = QUEUED;
        MHD_suspend_connection(conn);
        queue_push(req);
        return MHD_YES;
    }
    static const char body[] = "{\"type\":\"Feature\"}";
    int ok = owner_thread ? req->ok : insert_one();
    struct MHD_Response *r = MHD_create_response_from_buffer(sizeof body - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "application/geo+json");
    enum MHD_Result rc = MHD_queue_response(conn, ok ? MHD_HTTP_CREATED : MHD_HTTP_INTERNAL_SERVER_ERROR, r);
    MHD_destroy_response(r);
    return rc;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode why) {
    (void)cls, (void)conn, (void)why;
    free(*con_cls);
    *con_cls = NULL;
}

int main(int argc, char **argv) {
    for (; argc > 2 && argv[1][0] == '-'; argc--, argv++) {
        if (strcmp(argv[1], "--audit") == 0) with_audit = 1;
        else if (strcmp(argv[1], "--owner-thread") == 0) owner_thread = 1;
        else break;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: http-floor [--audit] [--owner-thread] STORE.gpkg\n");
        return 2;
    }
    static const int X = 0, Y = 1;
    const int fn = SQLITE_UTF8 | SQLITE_DETERMINISTIC;
    if (sqlite3_open(argv[1], &db) != SQLITE_OK ||
        sqlite3_create_function(db, "ST_IsEmpty", 1, fn, NULL, st_isempty, NULL, NULL) != SQLITE_OK ||
        sqlite3_create_function(db, "ST_MinX", 1, fn, (void *)&X, st_coordinate, NULL, NULL) != SQLITE_OK ||
        sqlite3_create_function(db, "ST_MaxX", 1, fn, (void *)&X, st_coordinate, NULL, NULL) != SQLITE_OK ||
        sqlite3_create_function(db, "ST_MinY", 1, fn, (void *)&Y, st_coordinate, NULL, NULL) != SQLITE_OK ||
        sqlite3_create_function(db, "ST_MaxY", 1, fn, (void *)&Y, st_coordinate, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "INSERT INTO services (geom, name, kind, capacity, created, updated, updated_by, version) "
                           "VALUES (?,?,?,?,?,?,?,?)",
                           -1, &insert_row, NULL) != SQLITE_OK ||
        (with_audit && sqlite3_prepare_v2(db,
                                          "INSERT INTO cm_audit (time_ms, actor, role, action, layer, feature_id, "
                                          "before, after, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?)",
                                          -1, &insert_audit, NULL) != SQLITE_OK) ||
        sqlite3_prepare_v2(db, "BEGIN IMMEDIATE", -1, &begin_tx, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "COMMIT", -1, &commit_tx, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "ROLLBACK", -1, &rollback_tx, NULL) != SQLITE_OK) {
        fprintf(stderr, "http-floor: %s: %s\n", argv[1], sqlite3_errmsg(db));
        return 1;
    }
    /* Blocked before libmicrohttpd's thread starts, so that it inherits the mask and the
     * signal reaches the sigwait below. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_TURBO;
    if (owner_thread) flags |= MHD_ALLOW_SUSPEND_RESUME; /* the plain floor stays as it was measured before */
    struct MHD_Daemon *d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, &sa,
                                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_END);
    pthread_t owner;
    if (d && owner_thread && pthread_create(&owner, NULL, owner_main, NULL) != 0) {
        fprintf(stderr, "http-floor: cannot start the owner thread\n");
        return 1;
    }
    const union MHD_DaemonInfo *info = d ? MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT) : NULL;
    if (!info) {
        fprintf(stderr, "http-floor: cannot listen on 127.0.0.1\n");
        return 1;
    }
    printf("%u\n", (unsigned)info->port);
    fflush(stdout);
    int sig;
    sigwait(&stop, &sig);
    if (owner_thread) _exit(0); /* the owner thread never returns; the store is committed row by row */
    MHD_stop_daemon(d);
    sqlite3_finalize(insert_row);
    sqlite3_finalize(insert_audit);
    sqlite3_finalize(begin_tx);
    sqlite3_finalize(commit_tx);
    sqlite3_finalize(rollback_tx);
    sqlite3_close(db);
    return 0;
}
