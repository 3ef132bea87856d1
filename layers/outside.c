/* outside.c — what another program (a GIS editing the GeoPackage, a script) writes to the
 * store while the server runs, taken into memory by the persistence worker: each change as an
 * audit record by CM_OUTSIDE_ACTOR and an event, before the batch's own edits.
 *
 * DESIGN: see cm_outside_follow below, and docs/ARCHITECTURE.md ("Who else may write"). */
#include "writer_internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lifecycle.h"

/* Another program changed a layer's table while the server runs: the layer is marked for
 * /healthz, and the first such change of it is logged with the given message. */
void cm_outside_mark_layer(cm_layer *layer, const char *fmt, ...) {
    if (atomic_exchange(&layer->changed_outside, true)) return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

/* A feature another program wrote: its status may already be due to change, and nothing else
 * would bring the timer forward for it. */
static void check_status_soon(cm_writer *w, const cm_layer_def *def, const cm_feature *f, int64_t now) {
    int si = cm_lifecycle_status_prop(def);
    if (si < 0) return;
    cm_status_timer_note(w, def, f, now);
    if (!f->values[si].set || strcmp(f->values[si].u.s, cm_lifecycle_status(def, f->values, now)) != 0)
        w->next_timer_ms = now;
}

/* The row with this id, against the feature in memory: when another program changed, removed
 * or added it, memory takes the store's version in, with an audit record and an event of its
 * own, as for an edit. */
static cm_status sync_row(cm_writer *w, batch *b, cm_layer *layer, int64_t id, int64_t now, cm_error *err) {
    touched *t = cm_batch_touch(w, b, layer);
    if (!t) return cm_error_set(err, CM_ERR_NOMEM, NULL, NULL);
    cm_status found;
    cm_feature *cur = cm_draft_find(&t->draft, id, &found);
    if (found != CM_OK) return cm_error_set(err, found, NULL, NULL);
    cm_feature *stored;
    cm_error read_err;
    cm_status s = cm_persist_read(w->persist, layer->def, id, &stored, &read_err);
    if (s == CM_ERR_NOMEM) return cm_error_set(err, s, NULL, NULL);
    if (s != CM_OK) {
        /* A row the server cannot read as a feature (more vertices than it takes, say): one
         * row must not fail every batch. Memory keeps what it had; the start-up load would
         * refuse the same row. */
        fprintf(stderr,
                "crisismap: feature %" PRId64 " of %s as another program stored it cannot be read (%s); "
                "it is served as it was\n",
                id, layer->def->id, read_err.message);
        return CM_OK;
    }
    if ((!stored && !cur) || (stored && cur && stored->hash == cur->hash)) { /* one of the server's own writes */
        cm_feature_unref(stored);
        return CM_OK;
    }
    cm_outside_mark_layer(layer,
                          "crisismap: another program changed features of %s while the server runs; the server "
                          "takes in what it stores, each change with an audit record\n",
                          layer->def->id);
    s = cm_batch_add_audit(w, b, CM_OUTSIDE_ACTOR, "system",
                           !stored ? "deleted"
                           : cur   ? "updated"
                                   : "created",
                           layer->def, id, cur, stored, now, err);
    if (s == CM_OK && !(stored ? cm_draft_put(&t->draft, stored) : cm_draft_remove(&t->draft, id)))
        s = cm_error_set(err, CM_ERR_NOMEM, NULL, NULL);
    if (s != CM_OK) {
        cm_feature_unref(stored);
        return s;
    }
    if (!stored) return CM_OK;
    if (id >= w->next_id[t->layer_index]) w->next_id[t->layer_index] = id + 1; /* the server never hands it out */
    check_status_soon(w, layer->def, stored, now);                             /* the draft holds it */
    return CM_OK;
}

struct follow {
    cm_writer *w;
    batch *b;
    cm_layer *layer;
    int64_t now;
    cm_error *err;
    cm_status status;
};

static int follow_row(int64_t id, void *cls) {
    struct follow *f = cls;
    f->status = sync_row(f->w, f->b, f->layer, id, f->now, f->err);
    return f->status != CM_OK;
}

/* Features in memory whose rows are no longer in the store (fresh: the layer's digests now).
 * The digests alone miss a feature the server created since the last look and another program
 * removed before this one. */
static cm_status follow_removed(cm_writer *w, batch *b, cm_layer *layer, const cm_row_digests *fresh, int64_t now,
                                cm_error *err) {
    cm_snapshot *snap = cm_layer_acquire(layer); /* ascending ids, as the digests */
    cm_status s = CM_OK;
    size_t j = 0;
    for (size_t i = 0; s == CM_OK && i < snap->n; i++) {
        int64_t id = snap->features[i]->id;
        while (j < fresh->n && fresh->rows[j].id < id) j++;
        if (j == fresh->n || fresh->rows[j].id != id) s = sync_row(w, b, layer, id, now, err);
    }
    cm_snapshot_unref(snap);
    return s;
}

/* Another program (a GIS editing the GeoPackage, a script) committed to the store since the last
 * look: every layer's row digests, taken now, against those of that look, name the rows that
 * changed since (its changes, and the server's own writes since then, which compare equal to
 * memory and are left alone), and memory's ids against them the rows it removed; each is
 * taken in. Runs inside the batch's transaction, which holds the write lock: nothing commits
 * between this and the batch's edits, so every edit is applied to, and its If-Match compared
 * with, what is stored, and no edit overwrites another program's change unseen. The new
 * digests go to `fresh` (kept if the batch commits). */
cm_status cm_outside_follow(cm_writer *w, batch *b, cm_row_digests *fresh, int64_t now, cm_error *err) {
    for (size_t i = 0; i < w->store->n; i++) {
        cm_error scan_err;
        if (cm_persist_row_digests(w->persist, w->store->layers[i].def, &fresh[i], &scan_err) != CM_OK) {
            /* A table another program dropped or altered: that layer's own writes fail as they
             * would have; the other layers' must not fail with it. Its last look is kept. */
            fprintf(stderr, "crisismap: cannot look for other programs' changes to %s: %s\n",
                    w->store->layers[i].def->id, scan_err.message);
            if (!cm_row_digests_copy(&w->seen[i], &fresh[i])) return cm_error_set(err, CM_ERR_NOMEM, NULL, NULL);
            continue;
        }
        cm_status s;
        struct follow f = {w, b, &w->store->layers[i], now, err, CM_OK};
        cm_row_digests_diff(&w->seen[i], &fresh[i], follow_row, &f);
        if (f.status != CM_OK) return f.status;
        if ((s = follow_removed(w, b, &w->store->layers[i], &fresh[i], now, err)) != CM_OK) return s;
    }
    return CM_OK;
}
