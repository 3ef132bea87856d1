/* layer.h — one layer in memory: immutable snapshots published atomically.
 *
 * DESIGN: readers take a reference to the layer's current snapshot and work on it without
 * holding any lock; a writer builds a new snapshot (sharing unchanged features) and
 * publishes it. A response that sends a snapshot's bytes keeps its reference until the
 * bytes are sent, so nothing is copied or freed under a reader.
 *
 * OWNERSHIP of features, so that a change costs no per-feature reference counting (on a
 * layer of 50,000 features that was most of a commit): the newest snapshot of a line
 * holds one reference to each of its features (owns_live). A feature that leaves (replaced
 * or deleted) moves, with that reference, to a "retired" node: the node of the snapshot it
 * was last in. Nodes form a chain from older to newer, and every snapshot holds its own
 * node, so an old snapshot keeps alive exactly what it may still show: its features that
 * left after it. A line's newest snapshot must therefore be freed last (the layer outlives
 * its readers).
 *
 * THREAD SAFETY: cm_layer_acquire and cm_layer_publish take the layer's mutex for a
 * pointer swap only. Snapshots are immutable except for their response-cache slot, which
 * is guarded by cache_lock. */
#ifndef CM_LAYER_H
#define CM_LAYER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include "feature.h"
#include "schema.h"
#include "spindex.h"

/* A spatial index over the features a snapshot had when it was built, shared by the
 * snapshots derived from it. Its features stay alive as long as it does, so "is this
 * still the indexed feature?" is a pointer comparison: those still in the layer belong to
 * the newest snapshot, and those that left since are on the chain of retired nodes that
 * starts at the one it keeps. One reference for all of them instead of one per feature:
 * that was two passes of scattered atomic operations per rebuild and per release. */
typedef struct cm_index_base {
    atomic_uint refs;
    struct cm_retired *keep; /* the retired node of the snapshot it was built over (one reference) */
    cm_spindex *index;
    cm_feature **feats; /* entry -> the feature indexed (no reference of its own) */
    int64_t *ids;       /* entry -> its id, read without touching the feature */
    cm_bbox *boxes;     /* entry -> its envelope, likewise */
    size_t n;
} cm_index_base;

/* A feature created or changed since the index was built, with its envelope now
 * (inverted, so that it meets no box, when the feature was deleted). */
typedef struct cm_overlay_entry {
    int64_t id;
    cm_bbox bbox;
} cm_overlay_entry;

/* Features that left a line of snapshots when its next snapshot was made: one reference
 * each. `next` (one reference) is the node of that next snapshot. */
typedef struct cm_retired {
    atomic_uint refs;
    struct cm_retired *next;
    cm_feature **feats;
    size_t n;
} cm_retired;

/* The arrays behind snapshots' features and ids (layer.c): shared along a line of snapshots
 * while changes only append, so a batch of creates copies nothing. */
struct cm_entries;

/* The array behind snapshots' overlays (layer.c), shared the same way. */
struct cm_overlay_buf;

typedef struct cm_snapshot {
    atomic_uint refs;
    atomic_bool owns_live;   /* newest of its line: holds a reference to each of its features */
    cm_retired *retired;     /* filled when the next snapshot is derived (one reference) */
    const cm_layer_def *def;
    uint64_t version;        /* order-independent content hash of all features: the layer's strong ETag */
    uint64_t hash_sum;       /* sum of the features' mixed hashes, kept so a change updates it in O(1) */
    cm_feature **features;   /* sorted by ascending id; entries [0, n) of `entries` */
    int64_t *ids;            /* ids[i] == features[i]->id: searched without chasing pointers */
    size_t n;
    struct cm_entries *entries; /* owns features and ids (one reference) */
    cm_index_base *base;     /* spatial index of an earlier (or this) state */
    cm_overlay_entry *overlay; /* ascending ids changed since base was built: checked one by one */
    size_t n_overlay;
    struct cm_overlay_buf *overlay_buf; /* owns overlay (one reference); NULL when empty */
    cm_bbox extent;          /* inverted when the layer is empty */
    int64_t t_min_ms, t_max_ms; /* temporal extent over set values; t_min > t_max when none */
    int64_t built_ms;        /* wall clock when this snapshot was made */

    /* One slot for the service's pre-serialized whole-layer response. */
    pthread_mutex_t cache_lock;
    void *cache;
    void (*cache_free)(void *);
} cm_snapshot;

/* Makes a snapshot of layer def from n features. Steals the array (malloc'd) and the
 * reference held in each entry, on every path. Returns new with one reference. */
cm_status cm_snapshot_create(const cm_layer_def *def, cm_feature **features, size_t n,
                             cm_snapshot **out);
/* Makes the snapshot that follows prev after the features with `changed` ids (ascending,
 * repeats allowed) were created, replaced or deleted. features: the complete new array, sorted by id, stolen on
 * every path; an entry prev also has is shared (no reference of its own), any other entry
 * brings one reference. prev must be the newest of its line; the new snapshot takes that
 * place, and prev's features that left move to prev's retired node. Costs one pass of
 * pointer copying plus O(k log n): no reference counting per feature, and no new spatial
 * index: prev's index is shared and the changed features are kept in an overlay until it
 * grows past 1/8 of the layer, when the index is rebuilt here (an index builder usually
 * supplies a new one sooner: cm_snapshot_wants_index, cm_snapshot_rebase). */
cm_status cm_snapshot_derive(cm_snapshot *prev, cm_feature **features, size_t n, const int64_t *changed,
                             size_t n_changed, cm_snapshot **out);
/* The same as cm_snapshot_derive for a batch that only created features, all with ids
 * above prev's: `added` (ascending ids, one reference each, the array itself is not taken)
 * go after prev's entries, in place when prev's arrays have room and nothing was appended
 * past prev yet, else into arrays half as large again (so appends cost O(1) amortized). */
cm_status cm_snapshot_derive_appended(cm_snapshot *prev, cm_feature *const *added, size_t n_added, cm_snapshot **out);
/* The spatial index over s's features, with one reference, or NULL when out of memory. It
 * keeps them alive through s's retired node. Any thread may build one while it holds s. */
cm_index_base *cm_index_base_build(const cm_snapshot *s);
void cm_index_base_release(cm_index_base *b); /* accepts NULL */
/* Gives s the index b, built over an earlier snapshot of s's line, when that makes s's
 * overlay smaller: the overlay becomes the ids whose feature differs between b and s (one
 * pass over both). true: s took b's reference. false: s is unchanged and b still the
 * caller's (b is no newer than s's own index, or out of memory). Only before s is
 * published: readers never see an index change under them. */
bool cm_snapshot_rebase(cm_snapshot *s, cm_index_base *b);
/* Has s's overlay grown enough that a new index should be built? (A derive rebuilds on its
 * own thread at twice that size.) */
bool cm_snapshot_wants_index(const cm_snapshot *s);
/* Position in s->features of the feature with this id, or -1. */
ssize_t cm_snapshot_position(const cm_snapshot *s, int64_t id);
/* The same, searching only positions [lo, hi) (clamped to the snapshot). */
ssize_t cm_snapshot_position_in(const cm_snapshot *s, int64_t id, size_t lo, size_t hi);
/* Position of id in a[lo, hi), an array sorted by id that is not (yet) a snapshot's, or -1. */
ssize_t cm_features_position(cm_feature *const *a, int64_t id, size_t lo, size_t hi);
/* Position of id in ascending ids[0, n) (a snapshot's or an index's), or -1. */
ssize_t cm_ids_position(const int64_t *ids, size_t n, int64_t id);
cm_snapshot *cm_snapshot_ref(cm_snapshot *s);
void cm_snapshot_unref(cm_snapshot *s); /* accepts NULL */

/* Feature with this id, or NULL. Borrowed: valid while the snapshot reference is held. */
cm_feature *cm_snapshot_find(const cm_snapshot *s, int64_t id);

typedef struct cm_layer {
    const cm_layer_def *def; /* borrowed from the store's definitions */
    pthread_mutex_t lock;
    cm_snapshot *current;
    /* Another program added features to the layer's table, or removed some, while the server
     * ran: memory differs from the store until a restart (set by the persistence worker, shown
     * by /healthz). */
    atomic_bool changed_outside;
} cm_layer;

/* Returns a new reference to the current snapshot (never NULL once initialised). */
cm_snapshot *cm_layer_acquire(cm_layer *l);
/* Replaces the current snapshot; steals snap. The old one is freed when its last reader
 * lets go. */
void cm_layer_publish(cm_layer *l, cm_snapshot *snap);

#endif
