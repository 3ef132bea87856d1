/* writer_internal.h — the persistence worker's insides, shared only by its modules: writer.c
 * (edits, batches, the worker thread), batch.c (a batch's drafts and audit records),
 * outside.c (what another program wrote to the store) and status_timer.c (time-driven status
 * changes). Everything here runs on the worker thread, but for the fields marked "guarded by
 * lock". */
#ifndef CM_WRITER_INTERNAL_H
#define CM_WRITER_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "audit.h"
#include "draft.h"
#include "index_builder.h"
#include "row_digests.h"
#include "writer.h"

struct cm_writer {
    cm_persist *persist;
    cm_store *store;
    cm_token_registry *tokens;
    cm_change_listener listener;
    void *listener_cls;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    cm_edit *head, *tail; /* queue, guarded by lock */
    bool stopping;        /* guarded by lock */
    bool stopped;         /* guarded by lock: the thread has ended; submissions fail at once */
    /* Worker-thread state. */
    int64_t *next_id; /* per store layer */
    int64_t last_seq;
    char last_hash[2 * CM_SHA256_LEN + 1];
    int64_t next_timer_ms;
    int64_t next_token_reload_ms;
    int64_t data_version;      /* the store's, as of the last look: another program's commits change it */
    cm_row_digests *seen;      /* per store layer: its rows' digests at that look (row_digests.h) */
    cm_index_builder *indexes; /* NULL: the derives rebuild spatial indexes on this thread */
    cm_writer_stats stats;     /* guarded by lock (written once per batch) */
};

typedef struct touched {
    cm_draft draft;
    size_t layer_index;
    int64_t next_id_at_start; /* where the layer's next id goes back to after a rollback */
} touched;

typedef struct batch {
    touched *t;
    size_t n;
    cm_change *changes;
    size_t n_changes, cap_changes;
    cm_audit_record *audit; /* sealed records, in order */
    size_t n_audit, cap_audit;
} batch;

/* batch.c: the batch's draft of layer (begun on first use), or NULL when memory is short. */
touched *cm_batch_touch(cm_writer *w, batch *b, cm_layer *layer);
/* batch.c: frees a batch; unless it was committed, the layers' next ids go back to where they were. */
void cm_batch_discard(cm_writer *w, batch *b, bool committed);
/* batch.c: seals and writes the audit record of a change (before/after NULL for a create/delete)
 * inside the batch's transaction, and lists the change for the listener. Borrows before/after. */
cm_status cm_batch_add_audit(cm_writer *w, batch *b, const char *actor, const char *role, const char *action,
                             const cm_layer_def *def, int64_t id, const cm_feature *before, const cm_feature *after,
                             int64_t now, cm_error *err);

/* writer.c: applies edits (a list; NULL: none, only the look at the store) in one transaction,
 * publishes what committed and completes each edit. */
void cm_writer_process_batch(cm_writer *w, cm_edit *edits);

/* outside.c: when another program committed since the last look, brings memory up to the
 * store inside the batch's open transaction; the layers' new digests go to fresh (one list
 * per store layer, the caller's). */
cm_status cm_outside_follow(cm_writer *w, batch *b, cm_row_digests *fresh, int64_t now, cm_error *err);
/* outside.c: another program changed a layer's table while the server runs: the layer is
 * marked for /healthz, and the first such change of it is logged with the given message. */
__attribute__((format(printf, 2, 3))) void cm_outside_mark_layer(cm_layer *layer, const char *fmt, ...);

/* status_timer.c: brings the status timer forward to f's next status change, if sooner. */
void cm_status_timer_note(cm_writer *w, const cm_layer_def *def, const cm_feature *f, int64_t now);
/* status_timer.c: patches every feature whose status its times have moved (one batch), and
 * sets when to look next. */
void cm_status_timer_run(cm_writer *w);

#endif
