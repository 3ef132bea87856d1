/* store_lock.h — one program at a time writes a store's features.
 *
 * `serve` holds the layers in memory and gives new features ids above those it loaded. An
 * `import` or `demo` writing the same file meanwhile goes unseen by it, and its next creates
 * can take ids the import used (every write then fails until a restart); a second `serve`
 * does the same to the first. Each of them holds an exclusive flock(2) on a lock file beside
 * the store, `<store>.lock`, while it runs; the kernel drops it when the process ends,
 * however it ends, so a crash leaves nothing to clean up. The file keeps the holder's pid and
 * command, to name it in the refusal. `token` and `audit verify` take no lock: a running
 * server rereads the token table, and verify only reads.
 *
 * A lock file rather than a lock on the store itself: SQLite locks the store with fcntl(2)
 * byte ranges, and where flock is emulated with fcntl (NFS) a lock on the whole file would
 * stop every other reader of it. */
#ifndef CM_STORE_LOCK_H
#define CM_STORE_LOCK_H

#include "status.h"

typedef struct cm_store_lock cm_store_lock;

/* Takes the lock of the store at store_path for `command` (serve, import, demo), without
 * waiting: CM_ERR_UNAVAILABLE naming the holder when another process has it, CM_ERR_IO when
 * the lock file cannot be made. Returns new in *out. */
cm_status cm_store_lock_take(const char *store_path, const char *command, cm_store_lock **out, cm_error *err);
/* Releases and frees (the file stays: removing it could race with a process taking it).
 * Accepts NULL. */
void cm_store_lock_release(cm_store_lock *l);

#endif
