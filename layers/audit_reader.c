/* audit_reader.c — the audit log's reads, on a thread and a connection of their own.
 *
 * DESIGN: one statement per read, built for its filters, asks for one record more than the
 * page to know whether another page follows. The table's indexes (persist_system.c) serve
 * each shape: a layer's records (layer, seq), one feature's history (layer, feature_id, seq),
 * the whole log its primary key. The table is read with SQLite directly: it is the store's own
 * attribute table (no geometry, nothing for OGR to translate), and a read transaction around
 * several statements needs the connection in hand. */
#define _GNU_SOURCE /* pthread_setname_np */
#include "audit_reader.h"

#include <inttypes.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "audit.h"
#include "buf.h"
#include "change_json.h"
#include "datetime.h"
#include "sched_hint.h"

/* WAL size past which the reader leaves a gap between pages (twice SQLite's automatic
 * checkpoint, 1,000 pages of 4 KB). A checkpoint can only reset the WAL while no reader is
 * inside a read transaction, and with clients asking for pages without pause this thread is
 * almost always inside one: the WAL grew from 4 to 18 MB over 90 s of creates beside four
 * feed clients. A gap lets the worker's next commit checkpoint it all. */
#define WAL_GAP_BYTES (8L << 20)
#define WAL_GAP_NS 3000000L

struct cm_audit_reader {
    sqlite3 *db;
    char *wal_path; /* the store's -wal file */
    const cm_store *store;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    cm_edit *head, *tail; /* queue, guarded by lock */
    int queued;           /* guarded by lock: reads in the queue */
    bool stopping;        /* guarded by lock: submissions fail at once; the queue is drained */
};

#define RECORD_COLUMNS "seq, time_ms, actor, role, action, layer, feature_id, before, after, prev_hash, hash"
#define CHANGE_COLUMNS "seq, action, feature_id, after"

static const char *column_text(sqlite3_stmt *st, int i) {
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? (const char *)t : "";
}

/* The record in the statement's current row, as the API shows it. */
static json_t *record_json(sqlite3_stmt *st) {
    json_t *before = NULL, *after = NULL;
    if (sqlite3_column_type(st, 7) != SQLITE_NULL) before = json_loads(column_text(st, 7), 0, NULL);
    if (sqlite3_column_type(st, 8) != SQLITE_NULL) after = json_loads(column_text(st, 8), 0, NULL);
    char when[40];
    cm_datetime_format(sqlite3_column_int64(st, 1), when);
    return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:I, s:o, s:o, s:s, s:s}", "seq",
                     (json_int_t)sqlite3_column_int64(st, 0), "time", when, "actor", column_text(st, 2), "role",
                     column_text(st, 3), "action", column_text(st, 4), "layer", column_text(st, 5), "feature_id",
                     (json_int_t)sqlite3_column_int64(st, 6), "before", before ? before : json_null(), "after",
                     after ? after : json_null(), "prev_hash", column_text(st, 9), "hash", column_text(st, 10));
}

/* The change in the statement's current row (CHANGE_COLUMNS), as /changes lists it: the stored
 * feature text goes out as it is, without a parse and a dump of every record. */
static void append_change(cm_edit *e, sqlite3_stmt *st, cm_buf *out) {
    const char *after = (const char *)sqlite3_column_text(st, 3);
    size_t after_len = after ? (size_t)sqlite3_column_bytes(st, 3) : 0;
    int64_t version = after ? cm_change_json_version(after, after_len) : 0;
    if (e->changes_count++) cm_buf_append_char(out, ',');
    cm_change_json_append(out, sqlite3_column_int64(st, 0), e->layer->def->id, column_text(st, 1),
                          sqlite3_column_int64(st, 2), version < 0 ? 0 : version, after, after_len);
}

/* The page's statement, its values bound: records beyond the start, in the read's direction,
 * of e's layer (of every layer of the store when only a feature id is given) and feature. */
static int prepare_page(cm_audit_reader *r, const cm_edit *e, int limit, sqlite3_stmt **out) {
    cm_buf sql;
    cm_buf_init(&sql, 1 << 16);
    bool forward = e->audit_forward;
    cm_buf_printf(&sql, "SELECT %s FROM cm_audit WHERE seq %s ?", e->audit_as_changes ? CHANGE_COLUMNS : RECORD_COLUMNS,
                  forward ? ">" : "<");
    bool every_layer = !e->layer && e->id >= 0;
    if (e->layer) cm_buf_append_str(&sql, " AND layer = ?");
    if (every_layer) {
        cm_buf_append_str(&sql, " AND layer IN (");
        for (size_t i = 0; i < r->store->n; i++) cm_buf_append_str(&sql, i ? ",?" : "?");
        cm_buf_append_str(&sql, ")");
    }
    if (e->id >= 0) cm_buf_append_str(&sql, " AND feature_id = ?");
    cm_buf_printf(&sql, " ORDER BY seq %s LIMIT ?", forward ? "ASC" : "DESC");
    int rc = !sql.failed && sql.data ? sqlite3_prepare_v2(r->db, sql.data, (int)sql.len, out, NULL) : SQLITE_NOMEM;
    cm_buf_release(&sql);
    if (rc != SQLITE_OK) return rc;
    int k = 1;
    int64_t start = forward ? e->audit_after : (e->audit_before > 0 ? e->audit_before : INT64_MAX);
    sqlite3_bind_int64(*out, k++, start);
    if (e->layer) sqlite3_bind_text(*out, k++, e->layer->def->id, -1, SQLITE_STATIC);
    if (every_layer)
        for (size_t i = 0; i < r->store->n; i++)
            sqlite3_bind_text(*out, k++, r->store->layers[i].def->id, -1, SQLITE_STATIC);
    if (e->id >= 0) sqlite3_bind_int64(*out, k++, e->id);
    sqlite3_bind_int(*out, k, limit + 1);
    return SQLITE_OK;
}

static int read_last_seq(sqlite3 *db, int64_t *last) {
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(db, "SELECT COALESCE(MAX(seq), 0) FROM cm_audit", -1, &st, NULL);
    if (rc != SQLITE_OK) return rc;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) *last = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? SQLITE_OK : rc;
}

/* One page, in one read transaction: the page and the log's end from the same state. */
static int read_page(cm_audit_reader *r, cm_edit *e) {
    int limit = e->audit_limit > 0 && e->audit_limit <= CM_AUDIT_READ_MAX ? e->audit_limit : 100;
    int64_t last = 0, nth = 0; /* seq of the page's last record */
    int got = 0;
    sqlite3_stmt *st = NULL;
    cm_buf changes;
    cm_buf_init(&changes, (size_t)1 << 30);
    int rc = sqlite3_exec(r->db, "BEGIN", NULL, NULL, NULL);
    if (rc != SQLITE_OK) return rc;
    if (e->audit_forward) rc = read_last_seq(r->db, &last); /* where a forward read has looked up to */
    if (rc == SQLITE_OK) rc = prepare_page(r, e, limit, &st);
    if (rc == SQLITE_OK) {
        while ((rc = sqlite3_step(st)) == SQLITE_ROW && got++ < limit) { /* the one past the page: another follows */
            nth = sqlite3_column_int64(st, 0);
            if (e->audit_as_changes) append_change(e, st, &changes);
            else json_array_append_new(e->audit, record_json(st));
        }
        if (rc == SQLITE_DONE || rc == SQLITE_ROW) rc = SQLITE_OK;
    }
    if (e->audit_as_changes && rc == SQLITE_OK) {
        e->changes = cm_buf_steal(&changes, &e->changes_len);
        if (!e->changes) rc = SQLITE_NOMEM;
    }
    cm_buf_release(&changes);
    sqlite3_finalize(st);
    /* Ends the read transaction whatever happened: a connection left inside one would keep
     * every later checkpoint from resetting the WAL. */
    int end = sqlite3_exec(r->db, rc == SQLITE_OK ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL);
    if (rc != SQLITE_OK) return rc;
    if (end != SQLITE_OK) return end;
    bool more = got > limit;
    if (e->audit_forward)
        e->audit_after = more ? nth : (last > e->audit_after ? last : e->audit_after); /* looked at up to here */
    else
        e->audit_before = more ? nth - 1 : 0; /* where the next page starts (0: none) */
    return SQLITE_OK;
}

static void serve(cm_audit_reader *r, cm_edit *e) {
    cm_error_clear(&e->err);
    e->changes_count = 0;
    if (e->audit_as_changes && !e->layer) {
        cm_error_set(&e->err, CM_ERR_INTERNAL, NULL, "changes are read per layer");
        return;
    }
    if (!e->audit_as_changes && !(e->audit = json_array())) { /* records; changes go to e->changes */
        cm_error_set(&e->err, CM_ERR_NOMEM, NULL, NULL);
        return;
    }
    if (read_page(r, e) != SQLITE_OK) {
        /* Not "no records": a change feed would take that as caught up and skip what it missed. */
        cm_error_set(&e->err, CM_ERR_UNAVAILABLE, NULL, "the audit log could not be read (%s); retry",
                     sqlite3_errmsg(r->db));
        json_decref(e->audit);
        e->audit = NULL;
    }
}

static void leave_checkpoint_gap(cm_audit_reader *r) {
    struct stat st;
    if (stat(r->wal_path, &st) != 0 || st.st_size <= WAL_GAP_BYTES) return;
    struct timespec gap = {0, WAL_GAP_NS};
    nanosleep(&gap, NULL);
}

static void *reader_main(void *arg) {
    cm_audit_reader *r = arg;
    pthread_setname_np(pthread_self(), "cm-audit-read");
    /* Pages of the log are bulk reads: the commits (nice 5) and the map's readers come first. */
    cm_sched_prefer_throughput(10);
    pthread_mutex_lock(&r->lock);
    for (;;) {
        while (!r->head && !r->stopping) pthread_cond_wait(&r->wake, &r->lock);
        cm_edit *e = r->head;
        if (!e) break; /* stopping, and nothing left */
        r->head = e->next;
        if (!r->head) r->tail = NULL;
        r->queued--;
        pthread_mutex_unlock(&r->lock);
        serve(r, e);
        e->done(e, e->done_cls);
        leave_checkpoint_gap(r);
        pthread_mutex_lock(&r->lock);
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

cm_status cm_audit_reader_start(const char *path, const cm_store *st, cm_audit_reader **out, cm_error *err) {
    *out = NULL;
    cm_audit_reader *r = calloc(1, sizeof *r);
    if (!r) return cm_error_set(err, CM_ERR_NOMEM, NULL, NULL);
    r->store = st;
    if (asprintf(&r->wal_path, "%s-wal", path) < 0) {
        free(r);
        return cm_error_set(err, CM_ERR_NOMEM, NULL, NULL);
    }
    if (sqlite3_open_v2(path, &r->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        cm_error_set(err, CM_ERR_IO, "store", "cannot open %s to read its audit log: %s", path,
                     r->db ? sqlite3_errmsg(r->db) : "out of memory");
        sqlite3_close(r->db);
        free(r->wal_path);
        free(r);
        return CM_ERR_IO;
    }
    /* A read waits out the moments the WAL is being reset or recovered. */
    sqlite3_busy_timeout(r->db, 5000);
    int64_t last;
    if (read_last_seq(r->db, &last) != SQLITE_OK) {
        cm_error_set(err, CM_ERR_IO, "store", "cannot read the audit log of %s: %s", path, sqlite3_errmsg(r->db));
        sqlite3_close(r->db);
        free(r->wal_path);
        free(r);
        return CM_ERR_IO;
    }
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->wake, NULL);
    if (pthread_create(&r->thread, NULL, reader_main, r) != 0) {
        pthread_mutex_destroy(&r->lock);
        pthread_cond_destroy(&r->wake);
        sqlite3_close(r->db);
        free(r->wal_path);
        free(r);
        return cm_error_set(err, CM_ERR_INTERNAL, NULL, "cannot start the audit reader thread");
    }
    *out = r;
    return CM_OK;
}

void cm_audit_reader_submit(cm_audit_reader *r, cm_edit *e) {
    e->next = NULL;
    pthread_mutex_lock(&r->lock);
    if (r->stopping || r->queued >= CM_AUDIT_READ_QUEUE_MAX) {
        int queued = r->queued;
        bool stopping = r->stopping;
        pthread_mutex_unlock(&r->lock);
        if (stopping) cm_error_set(&e->err, CM_ERR_UNAVAILABLE, NULL, "the server is shutting down; retry in a moment");
        else
            cm_error_set(&e->err, CM_ERR_UNAVAILABLE, NULL,
                         "%d reads of the audit log are waiting already; retry in a second", queued);
        e->done(e, e->done_cls);
        return;
    }
    if (r->tail) r->tail->next = e;
    else r->head = e;
    r->tail = e;
    r->queued++;
    pthread_cond_signal(&r->wake);
    pthread_mutex_unlock(&r->lock);
}

void cm_audit_reader_stop(cm_audit_reader *r) {
    if (!r) return;
    pthread_mutex_lock(&r->lock);
    bool join = !r->stopping;
    r->stopping = true;
    pthread_cond_signal(&r->wake);
    pthread_mutex_unlock(&r->lock);
    if (!join) return;
    pthread_join(r->thread, NULL);
    sqlite3_close(r->db);
    r->db = NULL;
}

void cm_audit_reader_destroy(cm_audit_reader *r) {
    if (!r) return;
    cm_audit_reader_stop(r);
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->wake);
    free(r->wal_path);
    free(r);
}
