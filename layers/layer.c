/* layer.c — layer snapshots: sorting, envelope and temporal extents, the spatial index,
 * and the publish/acquire protocol. */
#include "layer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int cmp_feature_id(const void *a, const void *b) {
    int64_t x = (*(cm_feature *const *)a)->id, y = (*(cm_feature *const *)b)->id;
    return (x > y) - (x < y);
}

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

cm_status cm_snapshot_create(const cm_layer_def *def, cm_feature **features, size_t n,
                             cm_snapshot **out) {
    *out = NULL;
    cm_snapshot *s = calloc(1, sizeof *s);
    cm_bbox *boxes = malloc((n ? n : 1) * sizeof *boxes);
    if (!s || !boxes) {
        free(s);
        free(boxes);
        for (size_t i = 0; i < n; i++) cm_feature_unref(features[i]);
        free(features);
        return CM_ERR_NOMEM;
    }
    atomic_init(&s->refs, 1);
    pthread_mutex_init(&s->cache_lock, NULL);
    s->def = def;
    s->features = features;
    s->n = n;
    s->built_ms = now_ms();
    if (n > 1) qsort(features, n, sizeof *features, cmp_feature_id);

    s->extent = (cm_bbox){INFINITY, INFINITY, -INFINITY, -INFINITY};
    s->t_min_ms = INT64_MAX;
    s->t_max_ms = INT64_MIN;
    uint64_t version = CM_FNV_SEED;
    for (size_t i = 0; i < n; i++) {
        const cm_feature *f = features[i];
        boxes[i] = f->bbox;
        if (f->bbox.min_lon <= f->bbox.max_lon) {
            if (f->bbox.min_lon < s->extent.min_lon) s->extent.min_lon = f->bbox.min_lon;
            if (f->bbox.min_lat < s->extent.min_lat) s->extent.min_lat = f->bbox.min_lat;
            if (f->bbox.max_lon > s->extent.max_lon) s->extent.max_lon = f->bbox.max_lon;
            if (f->bbox.max_lat > s->extent.max_lat) s->extent.max_lat = f->bbox.max_lat;
        }
        if (f->t_start_ms != INT64_MIN && f->t_start_ms < s->t_min_ms) s->t_min_ms = f->t_start_ms;
        if (f->t_end_ms != INT64_MAX && f->t_end_ms > s->t_max_ms) s->t_max_ms = f->t_end_ms;
        if (f->t_start_ms != INT64_MIN && f->t_start_ms > s->t_max_ms) s->t_max_ms = f->t_start_ms;
        if (f->t_end_ms != INT64_MAX && f->t_end_ms < s->t_min_ms) s->t_min_ms = f->t_end_ms;
        version = cm_hash_fnv1a(&f->hash, sizeof f->hash, version);
    }
    s->version = cm_hash_fnv1a(def->id, strlen(def->id), version);
    s->index = cm_spindex_create(boxes, n);
    free(boxes);
    if (!s->index) {
        cm_snapshot_unref(s);
        return CM_ERR_NOMEM;
    }
    *out = s;
    return CM_OK;
}

cm_snapshot *cm_snapshot_ref(cm_snapshot *s) {
    atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    return s;
}

void cm_snapshot_unref(cm_snapshot *s) {
    if (!s) return;
    if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1) return;
    for (size_t i = 0; i < s->n; i++) cm_feature_unref(s->features[i]);
    free(s->features);
    cm_spindex_destroy(s->index);
    if (s->cache && s->cache_free) s->cache_free(s->cache);
    pthread_mutex_destroy(&s->cache_lock);
    free(s);
}

cm_feature *cm_snapshot_find(const cm_snapshot *s, int64_t id) {
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int64_t v = s->features[mid]->id;
        if (v == id) return s->features[mid];
        if (v < id) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

cm_snapshot *cm_layer_acquire(cm_layer *l) {
    pthread_mutex_lock(&l->lock);
    cm_snapshot *s = cm_snapshot_ref(l->current);
    pthread_mutex_unlock(&l->lock);
    return s;
}

void cm_layer_publish(cm_layer *l, cm_snapshot *snap) {
    pthread_mutex_lock(&l->lock);
    cm_snapshot *old = l->current;
    l->current = snap;
    pthread_mutex_unlock(&l->lock);
    cm_snapshot_unref(old);
}
