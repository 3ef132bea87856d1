/* draft.h — one layer's next snapshot while a write transaction is open.
 *
 * DESIGN: the persistence worker changes a draft as it applies a batch's edits, and only
 * after the COMMIT turns it into the layer's next snapshot (cm_draft_publish); after a
 * rollback the draft is discarded and the layer never saw it. A batch that only creates
 * copies nothing: its features (ascending ids above all of `from`'s) are appended to
 * `from`'s arrays at publish. The first find, replace or delete makes a full copy of the
 * layer's entries (sorted by id; entries `from` also has are shared, the others hold a
 * reference), which takes the creates so far in.
 *
 * OWNERSHIP: the draft holds one reference to `from` and one to each feature it was given
 * (cm_draft_put); publish hands those to the new snapshot, discard releases what is left.
 *
 * THREAD SAFETY: a draft belongs to the one thread that publishes its layer. */
#ifndef CM_DRAFT_H
#define CM_DRAFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "index_builder.h"
#include "layer.h"
#include "status.h"

typedef struct cm_draft {
    cm_layer *layer;
    cm_snapshot *from; /* the published snapshot this draft started from */
    /* private to draft.c */
    cm_feature **added; /* creates, before the full copy exists */
    size_t n_added, cap_added;
    cm_feature **arr; /* the full copy, once made */
    size_t n, cap;
    int64_t *changed; /* ids created, replaced or deleted, in the order of the edits */
    size_t n_changed, cap_changed;
} cm_draft;

/* Starts a draft of layer's current snapshot. */
void cm_draft_begin(cm_draft *d, cm_layer *layer);

/* The draft's feature with this id (borrowed), or NULL with *status CM_OK when there is
 * none, or NULL with CM_ERR_NOMEM when the full copy could not be made. */
cm_feature *cm_draft_find(cm_draft *d, int64_t id, cm_status *status);

/* Puts f (its reference taken) in place of the feature with its id, or adds it. false when
 * out of memory: f is then the caller's again, and the draft as it was except for a noted
 * change. */
bool cm_draft_put(cm_draft *d, cm_feature *f);

/* Takes the feature with this id out (it must be there: cm_draft_find first). false when
 * out of memory; the draft is then unchanged except for a noted change. */
bool cm_draft_remove(cm_draft *d, int64_t id);

/* After the commit: makes the draft the layer's next snapshot and publishes it. CM_OK with
 * nothing done when the draft has no change. On failure the layer keeps `from` (memory
 * then lags the store until a restart) and the draft's references are released. Either
 * way, discard the draft afterwards. With ib, the new snapshot takes an index ib has
 * finished for the layer, and asks ib for the next one when its overlay has grown; without,
 * the derives rebuild indexes themselves. */
cm_status cm_draft_publish(cm_draft *d, cm_index_builder *ib);

/* Frees the draft and what it still holds (everything, after a rollback). */
void cm_draft_discard(cm_draft *d);

#endif
