/* Unit tests for layers/audit_reader.c: reads are served in order on the reader's thread, and
 * past CM_AUDIT_READ_QUEUE_MAX waiting reads a new one fails at once instead of queueing. */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../layers/audit_reader.h"
#include "check.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int served, failed, first_called;
static bool released;

/* The first read's completion holds the reader's thread until the test lets it go. */
static void hold_first(cm_edit *e, void *cls) {
    (void)e;
    (void)cls;
    pthread_mutex_lock(&lock);
    first_called = 1;
    pthread_cond_broadcast(&cond);
    while (!released) pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
}

static void count(cm_edit *e, void *cls) {
    (void)cls;
    pthread_mutex_lock(&lock);
    if (e->err.status == CM_OK && json_array_size(e->audit) == 2)
        served++;
    else
        failed++;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
}

static void make_log(const char *path) {
    sqlite3 *db;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(
              db,
              "CREATE TABLE cm_audit (seq INTEGER PRIMARY KEY, time_ms INTEGER, actor TEXT, role TEXT, "
              "action TEXT, layer TEXT, feature_id INTEGER, before TEXT, after TEXT, prev_hash TEXT, hash TEXT);"
              "INSERT INTO cm_audit VALUES (1, 0, 'a', 'operator', 'created', 'services', 1, NULL, '{}', '', 'h1');"
              "INSERT INTO cm_audit VALUES (2, 0, 'a', 'operator', 'updated', 'services', 1, '{}', '{}', 'h1', 'h2');",
              NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
}

static void init_read(cm_edit *e, cm_edit_done done) {
    memset(e, 0, sizeof *e);
    e->kind = CM_EDIT_AUDIT_READ;
    e->id = -1;
    e->audit_limit = 10;
    e->done = done;
}

int main(void) {
    char path[] = "/tmp/test_audit_reader_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    unlink(path);
    make_log(path);
    cm_store st = {0};
    cm_audit_reader *r;
    cm_error err;
    CHECK(cm_audit_reader_start(path, &st, &r, &err) == CM_OK);

    static cm_edit first, queued[CM_AUDIT_READ_QUEUE_MAX], extra;
    init_read(&first, hold_first);
    cm_audit_reader_submit(r, &first);
    pthread_mutex_lock(&lock);
    while (!first_called) pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
    CHECK(first.err.status == CM_OK && json_array_size(first.audit) == 2);

    /* The reader's thread is held: these wait, up to the bound. */
    for (int i = 0; i < CM_AUDIT_READ_QUEUE_MAX; i++) {
        init_read(&queued[i], count);
        cm_audit_reader_submit(r, &queued[i]);
    }
    CHECK(served == 0 && failed == 0);
    /* One more fails at once, on this thread, saying why. */
    init_read(&extra, count);
    cm_audit_reader_submit(r, &extra);
    CHECK(failed == 1 && extra.err.status == CM_ERR_UNAVAILABLE && strstr(extra.err.message, "retry") != NULL);

    pthread_mutex_lock(&lock);
    released = true;
    pthread_cond_broadcast(&cond);
    while (served + failed < CM_AUDIT_READ_QUEUE_MAX + 1) pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
    CHECK(served == CM_AUDIT_READ_QUEUE_MAX && failed == 1);

    /* The queue drained: a read is taken again. */
    init_read(&extra, count);
    cm_audit_reader_submit(r, &extra);
    pthread_mutex_lock(&lock);
    while (served + failed < CM_AUDIT_READ_QUEUE_MAX + 2) pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
    CHECK(served == CM_AUDIT_READ_QUEUE_MAX + 1);

    cm_audit_reader_destroy(r);
    json_decref(first.audit);
    for (int i = 0; i < CM_AUDIT_READ_QUEUE_MAX; i++) json_decref(queued[i].audit);
    json_decref(extra.audit);
    unlink(path);
    return check_report("test_audit_reader");
}
