/* writer.h — the persistence worker: the one thread that owns the GeoPackage, commits
 * waiting edits together (group commit) with their audit records, and only then publishes
 * them to the in-memory layers and completes them. It starts an index builder
 * (index_builder.h), so that grown layers get new spatial indexes without the commits
 * waiting for them; the store's layers must outlive the writer.
 *
 * THREAD SAFETY: cm_writer_submit may be called from any thread; everything else about an
 * edit happens on the worker thread, and its `done` callback runs there after the commit
 * (or the failure). The callback must not block. */
#ifndef CM_WRITER_H
#define CM_WRITER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "crs.h"
#include "persist.h"
#include "store.h"
#include "tokens.h"

typedef enum { CM_EDIT_CREATE, CM_EDIT_REPLACE, CM_EDIT_PATCH, CM_EDIT_DELETE, CM_EDIT_AUDIT_READ } cm_edit_kind;

typedef struct cm_edit cm_edit;
typedef void (*cm_edit_done)(cm_edit *e, void *cls);

enum { CM_IF_MATCH_MAX = 8 }; /* tags kept from one If-Match list; more are refused */

/* The actor of the audit records for what another program wrote to the store while the server
 * ran (role "system"), as the server takes it in (outside.c). */
#define CM_OUTSIDE_ACTOR "(another program)"

struct cm_edit {
    cm_edit_kind kind;
    cm_layer *layer;     /* NULL for an audit read across layers */
    int64_t id;          /* replace, patch, delete; an audit read's feature filter (-1: all) */
    cm_geom geom;        /* create, replace: checked input, owned by the edit */
    cm_value *values;    /* create, replace: checked input, owned by the edit */
    json_t *patch;       /* patch: the merge patch, owned by the edit */
    cm_crs crs;          /* patch: CRS of a geometry in the patch */
    bool has_if_match;   /* then the edit applies only to a version listed here */
    int n_if_match;
    uint64_t if_match[CM_IF_MATCH_MAX]; /* feature hashes the client has seen */
    char actor[128];     /* token name */
    char role[16];
    int64_t audit_before; /* audit read: records with seq < this (0: from the newest) */
    bool audit_forward;   /* audit read: records with seq > audit_after, oldest first, no feature filter */
    int64_t audit_after;
    int64_t audit_since;  /* forward audit read: where it started (audit_after is then overwritten) */
    int audit_limit;
    bool audit_as_changes; /* audit read for /changes: change objects as text (changes), not records */
    /* Results, valid in done(). */
    cm_error err;        /* err.status == CM_OK on success */
    cm_feature *result;  /* reference to the stored feature (NULL for delete); released by the owner */
    bool unchanged;      /* a patch that changed nothing: result is the feature as it was, no seq */
    int64_t seq;         /* the change's sequence number */
    json_t *audit;       /* audit read: array of records (owned by the edit's owner) */
    char *changes;       /* audit read as changes: comma-separated change objects (change_json.h) */
    size_t changes_len;
    int changes_count;
    cm_edit_done done;
    void *done_cls;
    cm_edit *next;
    int64_t submitted_us; /* set by cm_writer_submit (monotonic), for cm_writer_stats */
};

/* One committed change, as given to the listener (issue: live events). */
typedef struct cm_change {
    int64_t seq;
    const char *action;          /* created, updated, deleted, expired, lifted */
    const cm_layer_def *layer;
    int64_t id;
    const char *json;            /* the feature's GeoJSON after the change; NULL when deleted */
    size_t json_len;
    int64_t version;             /* the feature's version property after the change (0 when none) */
} cm_change;
typedef void (*cm_change_listener)(void *cls, const cm_change *changes, size_t n);

typedef struct cm_writer cm_writer;

/* Starts the worker on an open store (steals p; closed at stop) over st, loaded from p by
 * cm_persist_load (CM_ERR_INTERNAL otherwise: the look at the store starts there). Tokens
 * are reloaded from the store into `tokens` every few seconds, so `crisismap token` works
 * while the server runs. listener may be NULL; before the thread starts it is called with
 * the last `replay` changes of the audit log, oldest first, so live events resume across
 * restarts. */
cm_status cm_writer_start(cm_persist *p, cm_store *st, cm_token_registry *tokens, cm_change_listener listener,
                          void *listener_cls, size_t replay, cm_writer **out, cm_error *err);
/* Queues e; e->done will be called exactly once. */
void cm_writer_submit(cm_writer *w, cm_edit *e);

/* What the worker has done since it started: counts, and time summed per phase, so that a
 * reader can take differences over any window (bench/write.sh does, per load window) and see
 * where an edit's time goes: waiting for the worker, being applied, or in the COMMIT (the WAL
 * write and its fsync, which is the disk's). */
typedef struct cm_writer_stats {
    int64_t edits;          /* submitted edits the worker took, committed or refused */
    int64_t batches;        /* transactions committed */
    int64_t failed_batches; /* transactions rolled back */
    int64_t queue_wait_us;  /* summed over edits: submitted -> taken by the worker */
    int64_t apply_us;       /* summed over committed batches: taken -> COMMIT issued */
    int64_t commit_us;      /* summed over committed batches: the COMMIT */
    int64_t commit_max_us;  /* the slowest COMMIT */
} cm_writer_stats;
/* A consistent copy of the worker's figures. Any thread. */
void cm_writer_stats_get(cm_writer *w, cm_writer_stats *out);
/* Completes what is queued, stops the thread and closes the store; later submissions
 * fail at once with CM_ERR_UNAVAILABLE. Accepts NULL. */
void cm_writer_stop(cm_writer *w);
/* Stops (if needed) and frees. Accepts NULL. */
void cm_writer_destroy(cm_writer *w);
/* Frees what an edit owns (input and results); not the edit itself. */
void cm_edit_release(cm_edit *e);

#endif
