/* wal_vfs.c — see wal_vfs.h.
 *
 * DESIGN: a shim over the VFS that was SQLite's default when it was first installed
 * ("unix"). Files other than WALs are the base VFS's own files, opened in place. A WAL
 * file is a wal_file over a base file of its own allocation: the shim's szOsFile must
 * stay the base's, because PROJ's VFS wrapper finds what it stored behind a file by the
 * szOsFile of whichever VFS is the default when the file closes. The run holds one
 * contiguous stretch of writes; a write that does not continue it sends the run first,
 * so the file sees the same bytes in the same order, in fewer calls. */
#include "wal_vfs.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stddef.h>
#include <string.h>

/* The most the unix VFS writes in one call: it masks a write's length with 0x1ffff, since
 * SQLite itself never writes more than a 64 KB page. 31 frames of 4 KB pages; a commit
 * of a few creates is 5-40. */
enum { WAL_RUN_CAP = 0x1ffff };

typedef struct wal_file {
    sqlite3_file base;   /* pMethods = &wal_methods */
    sqlite3_file *real;  /* the base VFS's file, allocated at open */
    unsigned char *run;  /* writes not yet sent: bytes [start, start + len) of the file */
    sqlite3_int64 start;
    size_t len, cap;
} wal_file;

static sqlite3_vfs *base_vfs;
static sqlite3_vfs wal_vfs;
static bool registered;
static pthread_once_t register_once = PTHREAD_ONCE_INIT;

static int send_run(wal_file *w) {
    if (!w->len) return SQLITE_OK;
    size_t len = w->len;
    w->len = 0; /* sent or failed: a failed write fails the sync or read that follows it */
    return w->real->pMethods->xWrite(w->real, w->run, (int)len, w->start);
}

static bool overlaps_run(const wal_file *w, sqlite3_int64 off, int amt) {
    return w->len && off < w->start + (sqlite3_int64)w->len && off + amt > w->start;
}

static int wal_close(sqlite3_file *f) {
    wal_file *w = (wal_file *)f;
    int rc = send_run(w);
    int crc = w->real->pMethods->xClose(w->real);
    sqlite3_free(w->real);
    sqlite3_free(w->run);
    w->real = NULL;
    w->run = NULL;
    return rc != SQLITE_OK ? rc : crc;
}

static int wal_read(sqlite3_file *f, void *out, int amt, sqlite3_int64 off) {
    wal_file *w = (wal_file *)f;
    if (overlaps_run(w, off, amt)) {
        int rc = send_run(w);
        if (rc != SQLITE_OK) return rc;
    }
    return w->real->pMethods->xRead(w->real, out, amt, off);
}

static int wal_write(sqlite3_file *f, const void *data, int amt, sqlite3_int64 off) {
    wal_file *w = (wal_file *)f;
    if (w->len && off == w->start + (sqlite3_int64)w->len && w->len + (size_t)amt <= w->cap) {
        memcpy(w->run + w->len, data, (size_t)amt);
        w->len += (size_t)amt;
        return SQLITE_OK;
    }
    int rc = send_run(w);
    if (rc != SQLITE_OK) return rc;
    if (!w->run) {
        w->run = sqlite3_malloc(WAL_RUN_CAP);
        w->cap = w->run ? WAL_RUN_CAP : 0;
    }
    if ((size_t)amt > w->cap) return w->real->pMethods->xWrite(w->real, data, amt, off);
    memcpy(w->run, data, (size_t)amt);
    w->start = off;
    w->len = (size_t)amt;
    return SQLITE_OK;
}

static int wal_truncate(sqlite3_file *f, sqlite3_int64 size) {
    wal_file *w = (wal_file *)f;
    int rc = send_run(w);
    return rc != SQLITE_OK ? rc : w->real->pMethods->xTruncate(w->real, size);
}

static int wal_sync(sqlite3_file *f, int flags) {
    wal_file *w = (wal_file *)f;
    int rc = send_run(w);
    return rc != SQLITE_OK ? rc : w->real->pMethods->xSync(w->real, flags);
}

static int wal_file_size(sqlite3_file *f, sqlite3_int64 *size) {
    wal_file *w = (wal_file *)f;
    int rc = send_run(w);
    return rc != SQLITE_OK ? rc : w->real->pMethods->xFileSize(w->real, size);
}

static int wal_lock(sqlite3_file *f, int level) {
    wal_file *w = (wal_file *)f;
    return w->real->pMethods->xLock(w->real, level);
}

static int wal_unlock(sqlite3_file *f, int level) {
    wal_file *w = (wal_file *)f;
    return w->real->pMethods->xUnlock(w->real, level);
}

static int wal_check_reserved_lock(sqlite3_file *f, int *out) {
    wal_file *w = (wal_file *)f;
    return w->real->pMethods->xCheckReservedLock(w->real, out);
}

static int wal_file_control(sqlite3_file *f, int op, void *arg) {
    wal_file *w = (wal_file *)f;
    /* Some change the file (size hints, chunk sizes); none is frequent. */
    int rc = send_run(w);
    return rc != SQLITE_OK ? rc : w->real->pMethods->xFileControl(w->real, op, arg);
}

static int wal_sector_size(sqlite3_file *f) {
    wal_file *w = (wal_file *)f;
    return w->real->pMethods->xSectorSize(w->real);
}

static int wal_device_characteristics(sqlite3_file *f) {
    wal_file *w = (wal_file *)f;
    return w->real->pMethods->xDeviceCharacteristics(w->real);
}

/* SQLite maps shared memory and pages through the database file, never the WAL; these
 * pass through for completeness. */
static int wal_shm_map(sqlite3_file *f, int region, int size, int extend, void volatile **out) {
    wal_file *w = (wal_file *)f;
    if (w->real->pMethods->iVersion < 2) return SQLITE_IOERR;
    return w->real->pMethods->xShmMap(w->real, region, size, extend, out);
}

static int wal_shm_lock(sqlite3_file *f, int offset, int n, int flags) {
    wal_file *w = (wal_file *)f;
    if (w->real->pMethods->iVersion < 2) return SQLITE_IOERR;
    return w->real->pMethods->xShmLock(w->real, offset, n, flags);
}

static void wal_shm_barrier(sqlite3_file *f) {
    wal_file *w = (wal_file *)f;
    if (w->real->pMethods->iVersion >= 2) w->real->pMethods->xShmBarrier(w->real);
}

static int wal_shm_unmap(sqlite3_file *f, int delete_flag) {
    wal_file *w = (wal_file *)f;
    if (w->real->pMethods->iVersion < 2) return SQLITE_OK;
    return w->real->pMethods->xShmUnmap(w->real, delete_flag);
}

static int wal_fetch(sqlite3_file *f, sqlite3_int64 off, int amt, void **out) {
    wal_file *w = (wal_file *)f;
    *out = NULL;
    if (w->real->pMethods->iVersion < 3) return SQLITE_OK;
    if (overlaps_run(w, off, amt)) {
        int rc = send_run(w);
        if (rc != SQLITE_OK) return rc;
    }
    return w->real->pMethods->xFetch(w->real, off, amt, out);
}

static int wal_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p) {
    wal_file *w = (wal_file *)f;
    if (w->real->pMethods->iVersion < 3) return SQLITE_OK;
    return w->real->pMethods->xUnfetch(w->real, off, p);
}

static const sqlite3_io_methods wal_methods = {
    3, wal_close, wal_read, wal_write, wal_truncate, wal_sync, wal_file_size, wal_lock, wal_unlock,
    wal_check_reserved_lock, wal_file_control, wal_sector_size, wal_device_characteristics,
    wal_shm_map, wal_shm_lock, wal_shm_barrier, wal_shm_unmap, wal_fetch, wal_unfetch,
};

static int vfs_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *f, int flags, int *out_flags) {
    (void)vfs;
    if (!(flags & SQLITE_OPEN_WAL)) return base_vfs->xOpen(base_vfs, name, f, flags, out_flags);
    wal_file *w = (wal_file *)f;
    memset(w, 0, sizeof *w);
    w->real = sqlite3_malloc(base_vfs->szOsFile);
    if (!w->real) return SQLITE_NOMEM;
    memset(w->real, 0, (size_t)base_vfs->szOsFile);
    int rc = base_vfs->xOpen(base_vfs, name, w->real, flags, out_flags);
    if (rc != SQLITE_OK) {
        if (w->real->pMethods) w->real->pMethods->xClose(w->real);
        sqlite3_free(w->real);
        w->real = NULL;
        return rc;
    }
    w->base.pMethods = &wal_methods;
    return SQLITE_OK;
}

/* Everything but opening is the base VFS's. */
static int vfs_delete(sqlite3_vfs *v, const char *name, int sync_dir) {
    (void)v;
    return base_vfs->xDelete(base_vfs, name, sync_dir);
}
static int vfs_access(sqlite3_vfs *v, const char *name, int flags, int *out) {
    (void)v;
    return base_vfs->xAccess(base_vfs, name, flags, out);
}
static int vfs_full_pathname(sqlite3_vfs *v, const char *name, int n, char *out) {
    (void)v;
    return base_vfs->xFullPathname(base_vfs, name, n, out);
}
static void *vfs_dl_open(sqlite3_vfs *v, const char *name) {
    (void)v;
    return base_vfs->xDlOpen(base_vfs, name);
}
static void vfs_dl_error(sqlite3_vfs *v, int n, char *msg) {
    (void)v;
    base_vfs->xDlError(base_vfs, n, msg);
}
static void (*vfs_dl_sym(sqlite3_vfs *v, void *h, const char *sym))(void) {
    (void)v;
    return base_vfs->xDlSym(base_vfs, h, sym);
}
static void vfs_dl_close(sqlite3_vfs *v, void *h) {
    (void)v;
    base_vfs->xDlClose(base_vfs, h);
}
static int vfs_randomness(sqlite3_vfs *v, int n, char *out) {
    (void)v;
    return base_vfs->xRandomness(base_vfs, n, out);
}
static int vfs_sleep(sqlite3_vfs *v, int us) {
    (void)v;
    return base_vfs->xSleep(base_vfs, us);
}
static int vfs_current_time(sqlite3_vfs *v, double *out) {
    (void)v;
    return base_vfs->xCurrentTime(base_vfs, out);
}
static int vfs_get_last_error(sqlite3_vfs *v, int n, char *out) {
    (void)v;
    return base_vfs->xGetLastError ? base_vfs->xGetLastError(base_vfs, n, out) : 0;
}
static int vfs_current_time_int64(sqlite3_vfs *v, sqlite3_int64 *out) {
    (void)v;
    if (base_vfs->iVersion >= 2 && base_vfs->xCurrentTimeInt64) return base_vfs->xCurrentTimeInt64(base_vfs, out);
    double now;
    int rc = base_vfs->xCurrentTime(base_vfs, &now);
    *out = (sqlite3_int64)(now * 86400000.0);
    return rc;
}

static void register_vfs(void) {
    base_vfs = sqlite3_vfs_find(NULL);
    if (!base_vfs || (size_t)base_vfs->szOsFile < sizeof(wal_file)) return;
    wal_vfs = (sqlite3_vfs){
        .iVersion = 2,
        .szOsFile = base_vfs->szOsFile,
        .mxPathname = base_vfs->mxPathname,
        .zName = CM_WAL_VFS_NAME,
        .xOpen = vfs_open,
        .xDelete = vfs_delete,
        .xAccess = vfs_access,
        .xFullPathname = vfs_full_pathname,
        .xDlOpen = vfs_dl_open,
        .xDlError = vfs_dl_error,
        .xDlSym = vfs_dl_sym,
        .xDlClose = vfs_dl_close,
        .xRandomness = vfs_randomness,
        .xSleep = vfs_sleep,
        .xCurrentTime = vfs_current_time,
        .xGetLastError = vfs_get_last_error,
        .xCurrentTimeInt64 = vfs_current_time_int64,
    };
    registered = sqlite3_vfs_register(&wal_vfs, 0) == SQLITE_OK;
}

bool cm_wal_vfs_open_scope(void) {
    pthread_once(&register_once, register_vfs);
    return registered && sqlite3_vfs_register(&wal_vfs, 1) == SQLITE_OK;
}

void cm_wal_vfs_close_scope(void) {
    if (registered) sqlite3_vfs_register(base_vfs, 1);
}
