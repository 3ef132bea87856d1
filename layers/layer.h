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

#include "feature.h"
#include "schema.h"
#include "spindex.h"

typedef struct cm_snapshot {
    atomic_uint refs;
    const cm_layer_def *def;
    uint64_t version;        /* content hash of all features: the layer's strong ETag */
    cm_feature **features;   /* sorted by ascending id */
    size_t n;
    cm_spindex *index;       /* over features[i]->bbox */
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
