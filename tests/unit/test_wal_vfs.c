/* Unit tests for layers/wal_vfs.c, on real files with SQLite's own VFS underneath:
 * - only connections opened inside the scope use it, and the default comes back after;
 * - a commit's frames reach the WAL file in one write;
 * - every commit is readable by another connection (with its own file handle, through
 *   SQLite's own VFS) as soon as commit returns, through spills, rollbacks, checkpoints
 *   by either connection and WAL restarts; the database checks out intact at the end. */
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../layers/wal_vfs.h"
#include "check.h"

/* ---- a VFS under the shim that counts writes to WAL files ---- */

typedef struct counting_file {
    sqlite3_file base;
    sqlite3_file *real;
    int is_wal;
} counting_file;

static sqlite3_vfs *unix_vfs;
static sqlite3_vfs counting_vfs;
static long wal_writes;

#define REAL(f) (((counting_file *)(f))->real)
static int c_close(sqlite3_file *f) {
    int rc = REAL(f)->pMethods->xClose(REAL(f));
    sqlite3_free(REAL(f));
    return rc;
}
static int c_read(sqlite3_file *f, void *b, int n, sqlite3_int64 o) { return REAL(f)->pMethods->xRead(REAL(f), b, n, o); }
static int c_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 o) {
    if (((counting_file *)f)->is_wal) wal_writes++;
    return REAL(f)->pMethods->xWrite(REAL(f), b, n, o);
}
static int c_truncate(sqlite3_file *f, sqlite3_int64 s) { return REAL(f)->pMethods->xTruncate(REAL(f), s); }
static int c_sync(sqlite3_file *f, int fl) { return REAL(f)->pMethods->xSync(REAL(f), fl); }
static int c_size(sqlite3_file *f, sqlite3_int64 *s) { return REAL(f)->pMethods->xFileSize(REAL(f), s); }
static int c_lock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xLock(REAL(f), l); }
static int c_unlock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xUnlock(REAL(f), l); }
static int c_reserved(sqlite3_file *f, int *o) { return REAL(f)->pMethods->xCheckReservedLock(REAL(f), o); }
static int c_fcntl(sqlite3_file *f, int op, void *a) { return REAL(f)->pMethods->xFileControl(REAL(f), op, a); }
static int c_sector(sqlite3_file *f) { return REAL(f)->pMethods->xSectorSize(REAL(f)); }
static int c_dev(sqlite3_file *f) { return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f)); }
static int c_shm_map(sqlite3_file *f, int r, int s, int e, void volatile **o) {
    return REAL(f)->pMethods->xShmMap(REAL(f), r, s, e, o);
}
static int c_shm_lock(sqlite3_file *f, int o, int n, int fl) { return REAL(f)->pMethods->xShmLock(REAL(f), o, n, fl); }
static void c_shm_barrier(sqlite3_file *f) { REAL(f)->pMethods->xShmBarrier(REAL(f)); }
static int c_shm_unmap(sqlite3_file *f, int d) { return REAL(f)->pMethods->xShmUnmap(REAL(f), d); }
static const sqlite3_io_methods counting_methods = {
    2, c_close, c_read, c_write, c_truncate, c_sync, c_size, c_lock, c_unlock, c_reserved, c_fcntl,
    c_sector, c_dev, c_shm_map, c_shm_lock, c_shm_barrier, c_shm_unmap, NULL, NULL,
};

static int c_open(sqlite3_vfs *v, sqlite3_filename name, sqlite3_file *f, int flags, int *out) {
    (void)v;
    counting_file *c = (counting_file *)f;
    memset(c, 0, sizeof *c);
    c->real = sqlite3_malloc(unix_vfs->szOsFile);
    memset(c->real, 0, (size_t)unix_vfs->szOsFile);
    int rc = unix_vfs->xOpen(unix_vfs, name, c->real, flags, out);
    if (rc != SQLITE_OK) {
        if (c->real->pMethods) c->real->pMethods->xClose(c->real);
        sqlite3_free(c->real);
        return rc;
    }
    c->is_wal = (flags & SQLITE_OPEN_WAL) != 0;
    c->base.pMethods = &counting_methods;
    return SQLITE_OK;
}

/* Registered as the default before the shim first registers, so that the shim wraps it. */
static void install_counting_vfs(void) {
    unix_vfs = sqlite3_vfs_find(NULL);
    counting_vfs = *unix_vfs;
    counting_vfs.iVersion = 1;
    counting_vfs.zName = "counting";
    counting_vfs.szOsFile = (int)sizeof(counting_file) > unix_vfs->szOsFile ? (int)sizeof(counting_file)
                                                                             : unix_vfs->szOsFile;
    counting_vfs.xOpen = c_open;
    CHECK(sqlite3_vfs_register(&counting_vfs, 1) == SQLITE_OK);
}

/* ---- helpers ---- */

static sqlite3 *open_db(const char *path) {
    sqlite3 *db = NULL;
    CHECK(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) == SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    return db;
}

static void exec(sqlite3 *db, const char *sql) {
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) fprintf(stderr, "%s: %s\n", sql, msg ? msg : sqlite3_errstr(rc));
    CHECK(rc == SQLITE_OK);
    sqlite3_free(msg);
}

static const char *vfs_of(sqlite3 *db) {
    sqlite3_vfs *v = NULL;
    sqlite3_file_control(db, "main", SQLITE_FCNTL_VFS_POINTER, &v);
    return v ? v->zName : "";
}

/* Row k's value: n bytes that only row k has. */
static size_t value_of(int64_t k, unsigned char *out) {
    size_t n = 50 + (size_t)(k * 7919 % 4000);
    for (size_t j = 0; j < n; j++) out[j] = (unsigned char)(k * 31 + (int64_t)j);
    return n;
}

static void insert_rows(sqlite3 *db, int64_t from, int64_t to) {
    static unsigned char v[4096];
    sqlite3_stmt *st;
    CHECK(sqlite3_prepare_v2(db, "INSERT INTO t(k, v) VALUES (?, ?)", -1, &st, NULL) == SQLITE_OK);
    for (int64_t k = from; k < to; k++) {
        size_t n = value_of(k, v);
        sqlite3_bind_int64(st, 1, k);
        sqlite3_bind_blob(st, 2, v, (int)n, SQLITE_STATIC);
        CHECK(sqlite3_step(st) == SQLITE_DONE);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
}

/* Checks through db that t's last row is count - 1 and that rows [from, count) are all
 * there with their values (from = 1: the whole table, and its row count). */
static int verify(sqlite3 *db, int64_t from, int64_t count) {
    static unsigned char want[4096];
    int bad = 0;
    sqlite3_stmt *st;
    CHECK(sqlite3_prepare_v2(db, "SELECT ifnull(max(k), 0), count(*) FROM t", -1, &st, NULL) == SQLITE_OK);
    if (from > 1) { /* max alone is a seek; count reads the whole table */
        sqlite3_finalize(st);
        CHECK(sqlite3_prepare_v2(db, "SELECT ifnull(max(k), 0), ? - 1 FROM t", -1, &st, NULL) == SQLITE_OK);
        sqlite3_bind_int64(st, 1, count);
    }
    if (sqlite3_step(st) != SQLITE_ROW || sqlite3_column_int64(st, 0) != count - 1 ||
        sqlite3_column_int64(st, 1) != count - 1)
        bad++;
    sqlite3_finalize(st);
    CHECK(sqlite3_prepare_v2(db, "SELECT k, v FROM t WHERE k >= ? ORDER BY k", -1, &st, NULL) == SQLITE_OK);
    sqlite3_bind_int64(st, 1, from);
    int64_t next = from;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t k = sqlite3_column_int64(st, 0);
        size_t n = value_of(k, want);
        if (k != next++ || (size_t)sqlite3_column_bytes(st, 1) != n || memcmp(sqlite3_column_blob(st, 1), want, n) != 0)
            bad++;
    }
    if (rc != SQLITE_DONE || next != count) bad++;
    sqlite3_finalize(st);
    return bad;
}

/* ---- tests ---- */

static void only_the_scope_uses_it(const char *dir) {
    char path[512];
    snprintf(path, sizeof path, "%s/scope.db", dir);
    const char *before = sqlite3_vfs_find(NULL)->zName;
    CHECK(cm_wal_vfs_open_scope());
    CHECK_STR(sqlite3_vfs_find(NULL)->zName, CM_WAL_VFS_NAME);
    sqlite3 *in = open_db(path);
    cm_wal_vfs_close_scope();
    CHECK_STR(sqlite3_vfs_find(NULL)->zName, before);
    sqlite3 *out = open_db(path);
    CHECK_STR(vfs_of(in), CM_WAL_VFS_NAME);
    CHECK_STR(vfs_of(out), before);
    sqlite3_close(in);
    sqlite3_close(out);
}

static void commits_are_readable_at_once(const char *dir) {
    char path[512];
    snprintf(path, sizeof path, "%s/wal.db", dir);
    CHECK(cm_wal_vfs_open_scope());
    sqlite3 *w = open_db(path);
    cm_wal_vfs_close_scope();
    sqlite3 *r = open_db(path);
    CHECK_STR(vfs_of(w), CM_WAL_VFS_NAME);
    /* A small cache makes large transactions spill frames before their commit; frequent
     * checkpoints restart the WAL from its start. */
    exec(w, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA cache_size=20; PRAGMA wal_autocheckpoint=64;"
            "CREATE TABLE t(k INTEGER PRIMARY KEY, v BLOB)");

    /* One commit of a few frames: one write to the WAL. */
    exec(w, "BEGIN");
    insert_rows(w, 1, 6);
    long writes0 = wal_writes;
    exec(w, "COMMIT");
    CHECK(wal_writes - writes0 == 1);
    CHECK(verify(r, 1, 6) == 0);

    unsigned seed = 7;
    int64_t next = 6;
    int stale = 0, commits = 0;
    for (int round = 0; round < 300; round++) {
        int size = rand_r(&seed) % 10 == 0 ? 400 + rand_r(&seed) % 800 : 1 + rand_r(&seed) % 40;
        exec(w, "BEGIN");
        insert_rows(w, next, next + size);
        if (round % 37 == 5) { /* a spilled transaction rolled back: its frames are dropped */
            exec(w, "ROLLBACK");
            stale += verify(w, next - 1 > 0 ? next - 1 : 1, next) != 0;
            stale += verify(r, next - 1 > 0 ? next - 1 : 1, next) != 0;
            continue;
        }
        exec(w, "COMMIT");
        commits++;
        /* The other connection, at once: every row of this commit, with its value. */
        stale += verify(r, next, next + size) != 0;
        next += size;
        if (round % 50 == 49) {
            exec(r, "PRAGMA wal_checkpoint(PASSIVE)"); /* another handle reads the frames */
            stale += verify(r, 1, next) != 0;
        }
    }
    CHECK(stale == 0);
    CHECK(commits > 250);
    sqlite3_close(r);
    sqlite3_close(w);

    sqlite3 *c = open_db(path);
    sqlite3_stmt *st;
    CHECK(sqlite3_prepare_v2(c, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW);
    CHECK_STR((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
    CHECK(verify(c, 1, next) == 0);
    sqlite3_close(c);
}

int main(void) {
    char dir[] = "/tmp/cm-wal-vfs-XXXXXX";
    if (!mkdtemp(dir)) return 2;
    install_counting_vfs();
    only_the_scope_uses_it(dir);
    commits_are_readable_at_once(dir);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return check_report("test_wal_vfs");
}
