/* layer.h — one layer in memory: immutable snapshots published atomically.
 *
 * DESIGN: readers take a reference to the layer's current snapshot and work on it without
 * holding any lock; a writer builds a new snapshot (sharing unchanged features by
 * reference) and publishes it. A response that sends a snapshot's bytes keeps its
 * reference until the bytes are sent, so nothing is copied or freed under a reader.
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
 * snapshots derived from it. Entries hold references, so "is this still the indexed
 * feature?" is a pointer comparison. */
typedef struct cm_index_base {
    atomic_uint refs;
    cm_spindex *index;
    cm_feature **feats; /* entry -> the feature indexed */
    size_t n;
} cm_index_base;

typedef struct cm_snapshot {
    atomic_uint refs;
    const cm_layer_def *def;
    uint64_t version;        /* order-independent content hash of all features: the layer's strong ETag */
    uint64_t hash_sum;       /* sum of the features' mixed hashes, kept so a change updates it in O(1) */
    cm_feature **features;   /* sorted by ascending id */
    size_t n;
    cm_index_base *base;     /* spatial index of an earlier (or this) state */
    int64_t *overlay;        /* sorted ids created or changed since base was built: checked one by one */
    size_t n_overlay;
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
/* Makes the snapshot that follows prev after the features with `changed` ids were
 * created, replaced or deleted (features: the complete new array, sorted by id; stolen as
 * in cm_snapshot_create). Costs O(n) pointer work plus O(k log n), not a new spatial index:
 * prev's index is shared and the changed features are kept in an overlay until it grows
 * past a fraction of the layer, when the index is rebuilt. */
cm_status cm_snapshot_derive(const cm_snapshot *prev, cm_feature **features, size_t n, const int64_t *changed,
                             size_t n_changed, cm_snapshot **out);
/* Position in s->features of the feature with this id, or -1. */
ssize_t cm_snapshot_position(const cm_snapshot *s, int64_t id);
/* The same, searching only positions [lo, hi) (clamped to the snapshot). */
ssize_t cm_snapshot_position_in(const cm_snapshot *s, int64_t id, size_t lo, size_t hi);
cm_snapshot *cm_snapshot_ref(cm_snapshot *s);
void cm_snapshot_unref(cm_snapshot *s); /* accepts NULL */

/* Feature with this id, or NULL. Borrowed: valid while the snapshot reference is held. */
cm_feature *cm_snapshot_find(const cm_snapshot *s, int64_t id);

typedef struct cm_layer {
    const cm_layer_def *def; /* borrowed from the store's definitions */
    pthread_mutex_t lock;
    cm_snapshot *current;
} cm_layer;

/* Returns a new reference to the current snapshot (never NULL once initialised). */
cm_snapshot *cm_layer_acquire(cm_layer *l);
/* Replaces the current snapshot; steals snap. The old one is freed when its last reader
 * lets go. */
void cm_layer_publish(cm_layer *l, cm_snapshot *snap);

#endif
