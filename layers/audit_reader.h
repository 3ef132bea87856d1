/* audit_reader.h — reads of the audit log (GET /api/audit, and /changes once the live event
 * log has rolled past what a client asks for) on a thread and a SQLite connection of their
 * own.
 *
 * Why not the persistence worker: /changes is public, and a page of 500 records takes tens
 * of milliseconds to read. On the worker, every write queued behind such a page waited for
 * it: two clients polling /changes from far back took one operator's creates from ~1,000/s
 * to ~30/s. The GeoPackage is in WAL mode, so this connection reads a consistent state of the
 * log beside the worker's commits, without taking its lock.
 *
 * Each read runs in one read transaction: the page and the log's last sequence number come
 * from the same state, so a client told "looked up to N" has been given every record up to
 * N. The connection holds no transaction between reads (checkpoints are never kept from
 * resetting the WAL).
 *
 * THREAD SAFETY: cm_audit_reader_submit may be called from any thread; an edit's `done`
 * runs on the reader's thread and must not block. */
#ifndef CM_AUDIT_READER_H
#define CM_AUDIT_READER_H

#include "store.h"
#include "writer.h"

typedef struct cm_audit_reader cm_audit_reader;

/* Opens its own read-only connection to the GeoPackage at path (which must exist, with its
 * audit table) and starts the thread. Layers named in requests are looked up in st, which
 * must outlive the reader. */
cm_status cm_audit_reader_start(const char *path, const cm_store *st, cm_audit_reader **out, cm_error *err);

/* Queues e (kind CM_EDIT_AUDIT_READ: e->layer, e->id, e->audit_forward, e->audit_after or
 * e->audit_before, e->audit_limit). e->done is called exactly once, with e->audit holding the
 * records (oldest first when forward, newest first otherwise) and e->audit_after /
 * e->audit_before moved to where the next page starts (audit_before 0: no older page).
 * With e->audit_as_changes (a layer's, forward), e->changes holds the page as change objects
 * (change_json.h) instead, e->changes_count of them, with the stored feature text as it is. */
void cm_audit_reader_submit(cm_audit_reader *r, cm_edit *e);

/* Completes what is queued, stops the thread and closes the connection; later submissions
 * fail at once with CM_ERR_UNAVAILABLE. Accepts NULL. */
void cm_audit_reader_stop(cm_audit_reader *r);
/* Stops (if needed) and frees, once nothing can submit any more. Accepts NULL. */
void cm_audit_reader_destroy(cm_audit_reader *r);

/* Records per read at most; a larger e->audit_limit (or none) reads 100. */
enum { CM_AUDIT_READ_MAX = 500 };

/* Reads waiting at most. /changes from far back is public and each read takes milliseconds:
 * without a bound, a crowd of polling clients (or one client opening many connections) would
 * queue up reads for minutes, and an admin's /api/audit behind them. A read past the bound
 * fails at once with CM_ERR_UNAVAILABLE (503 with Retry-After: the client comes back). */
enum { CM_AUDIT_READ_QUEUE_MAX = 64 };

#endif
