/* layer.c — layer snapshots: sorting, envelope and temporal extents, the spatial index,
 * and the publish/acquire protocol. */
#include "clock.h"
#include "layer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_feature_id(const void *a, const void *b) {
    int64_t x = (*(cm_feature *const *)a)->id, y = (*(cm_feature *const *)b)->id;
    return (x > y) - (x < y);
}

/* A feature's share of the layer version: sums of mixed hashes do not depend on order, so
 * the version follows from the content alone and is updated per change. */
static uint64_t mixed(const cm_feature *f) {
    uint64_t x = f->hash + 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static void release_retired(cm_retired *r);

void cm_index_base_release(cm_index_base *b) {
    if (!b || atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) != 1) return;
    release_retired(b->keep);
    free(b->feats);
    free(b->ids);
    free(b->boxes);
    cm_spindex_destroy(b->index);
    free(b);
}

cm_index_base *cm_index_base_build(const cm_snapshot *s) {
    cm_feature **features = s->features;
    size_t n = s->n;
    cm_index_base *b = calloc(1, sizeof *b);
    cm_bbox *boxes = malloc((n ? n : 1) * sizeof *boxes);
    if (b) {
        b->feats = malloc((n ? n : 1) * sizeof *b->feats);
        b->ids = malloc((n ? n : 1) * sizeof *b->ids);
    }
    if (!b || !boxes || !b->feats || !b->ids) {
        if (b) {
            free(b->feats);
            free(b->ids);
        }
        free(b);
        free(boxes);
        return NULL;
    }
    atomic_init(&b->refs, 1);
    for (size_t i = 0; i < n; i++) {
        boxes[i] = features[i]->bbox;
        b->feats[i] = features[i];
        b->ids[i] = s->ids[i];
    }
    b->n = n;
    b->boxes = boxes;
    b->keep = s->retired;
    atomic_fetch_add_explicit(&b->keep->refs, 1, memory_order_relaxed);
    b->index = cm_spindex_create(boxes, n);
    if (!b->index) {
        cm_index_base_release(b);
        return NULL;
    }
    return b;
}

/* Widens s's spatial and temporal extents to take f in. */
static void extend(cm_snapshot *s, const cm_feature *f) {
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
}

static void reset_extents(cm_snapshot *s) {
    s->extent = (cm_bbox){INFINITY, INFINITY, -INFINITY, -INFINITY};
    s->t_min_ms = INT64_MAX;
    s->t_max_ms = INT64_MIN;
}

/* Does f reach the edge of s's extents (so taking it away may shrink them)? Only what
 * extend() took in counts: a feature without a time has the sentinels INT64_MIN/INT64_MAX,
 * which equal the empty temporal extent's, and counting them made every edit of a layer
 * without times rescan all of it (12 ms a patch at 365,000 features). */
static bool on_edge(const cm_snapshot *s, const cm_feature *f) {
    bool has_box = f->bbox.min_lon <= f->bbox.max_lon;
    bool has_start = f->t_start_ms != INT64_MIN, has_end = f->t_end_ms != INT64_MAX;
    return (has_box && (f->bbox.min_lon == s->extent.min_lon || f->bbox.min_lat == s->extent.min_lat ||
                        f->bbox.max_lon == s->extent.max_lon || f->bbox.max_lat == s->extent.max_lat)) ||
           (has_start && (f->t_start_ms == s->t_min_ms || f->t_start_ms == s->t_max_ms)) ||
           (has_end && (f->t_end_ms == s->t_max_ms || f->t_end_ms == s->t_min_ms));
}

static void release_retired(cm_retired *r) {
    /* A loop, not recursion: a reader that held an old snapshot through many changes
     * frees a long chain at once. */
    while (r && atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) == 1) {
        cm_retired *next = r->next;
        for (size_t i = 0; i < r->n; i++) cm_feature_unref(r->feats[i]);
        free(r->feats);
        free(r);
        r = next;
    }
}

/* Feature pointers and ids of a line of snapshots. A snapshot reads [0, its n) only, so the
 * successor of the newest one may write past `used` without disturbing any reader; only the
 * persistence worker derives snapshots, and only from the newest, so `used` is its alone. */
struct cm_entries {
    atomic_uint refs;
    size_t cap, used;
    cm_feature **features;
    int64_t *ids;
};

static struct cm_entries *entries_wrap(cm_feature **features, int64_t *ids, size_t cap, size_t used) {
    struct cm_entries *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    atomic_init(&e->refs, 1);
    e->features = features;
    e->ids = ids;
    e->cap = cap;
    e->used = used;
    return e;
}

/* Overlay entries of a line of snapshots: each reads [0, its n_overlay), so while commits
 * only create, the newest one's successor appends after `used` without copying; a change
 * to an older id merges into a new array. */
struct cm_overlay_buf {
    atomic_uint refs;
    size_t cap, used;
    cm_overlay_entry v[];
};

static struct cm_overlay_buf *overlay_buf_new(size_t cap) {
    struct cm_overlay_buf *b = malloc(sizeof *b + (cap ? cap : 1) * sizeof b->v[0]);
    if (!b) return NULL;
    atomic_init(&b->refs, 1);
    b->cap = cap;
    b->used = 0;
    return b;
}

static void release_overlay_buf(struct cm_overlay_buf *b) {
    if (b && atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1) free(b);
}

static void release_entries(struct cm_entries *e) {
    if (!e || atomic_fetch_sub_explicit(&e->refs, 1, memory_order_acq_rel) != 1) return;
    free(e->features);
    free(e->ids);
    free(e);
}

/* Everything but the spatial index, extents and version, over entries [0, n) (the
 * snapshot takes the caller's reference to entries only when it succeeds). */
static cm_snapshot *new_snapshot(const cm_layer_def *def, struct cm_entries *entries, size_t n) {
    cm_snapshot *s = calloc(1, sizeof *s);
    cm_retired *r = calloc(1, sizeof *r);
    if (!s || !r) {
        free(s);
        free(r);
        return NULL;
    }
    atomic_init(&s->refs, 1);
    atomic_init(&s->owns_live, true);
    atomic_init(&r->refs, 1);
    s->retired = r;
    pthread_mutex_init(&s->cache_lock, NULL);
    s->def = def;
    s->entries = entries;
    s->features = entries->features;
    s->ids = entries->ids;
    s->n = n;
    s->built_ms = cm_clock_wall_ms();
    reset_extents(s);
    return s;
}

/* A snapshot over n entries in these arrays, which it then owns. NULL when that fails or
 * ids is NULL: ids is freed, features left to the caller (with the references it holds). */
static cm_snapshot *snapshot_over(const cm_layer_def *def, cm_feature **features, int64_t *ids, size_t n) {
    struct cm_entries *e = ids ? entries_wrap(features, ids, n, n) : NULL;
    cm_snapshot *s = e ? new_snapshot(def, e, n) : NULL;
    if (!s && e) {
        e->features = NULL;
        release_entries(e);
    } else if (!s) {
        free(ids);
    }
    return s;
}

static void set_version(cm_snapshot *s) {
    s->version = cm_hash_fnv1a(&s->hash_sum, sizeof s->hash_sum, cm_hash_fnv1a(s->def->id, strlen(s->def->id), CM_FNV_SEED));
}

cm_status cm_snapshot_create(const cm_layer_def *def, cm_feature **features, size_t n, cm_snapshot **out) {
    *out = NULL;
    if (n > 1) qsort(features, n, sizeof *features, cmp_feature_id);
    cm_snapshot *s = snapshot_over(def, features, malloc((n ? n : 1) * sizeof(int64_t)), n);
    if (!s) {
        for (size_t i = 0; i < n; i++) cm_feature_unref(features[i]);
        free(features);
        return CM_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        s->ids[i] = features[i]->id;
        s->hash_sum += mixed(features[i]);
        extend(s, features[i]);
    }
    set_version(s);
    s->base = cm_index_base_build(s);
    if (!s->base) {
        cm_snapshot_unref(s);
        return CM_ERR_NOMEM;
    }
    *out = s;
    return CM_OK;
}

/* The envelope of a deleted feature in an overlay: it meets no box. */
static const cm_bbox gone = {INFINITY, INFINITY, -INFINITY, -INFINITY};

/* Where id is in ids[lo, hi), or -1; with lower_bound, where it would go instead. */
static ssize_t position_in_ids(const int64_t *ids, int64_t id, size_t lo, size_t hi, bool lower_bound) {
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ids[mid] == id) return (ssize_t)mid;
        if (ids[mid] < id) lo = mid + 1;
        else hi = mid;
    }
    return lower_bound ? (ssize_t)lo : -1;
}

ssize_t cm_features_position(cm_feature *const *a, int64_t id, size_t lo, size_t hi) {
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int64_t v = a[mid]->id;
        if (v == id) return (ssize_t)mid;
        if (v < id) lo = mid + 1;
        else hi = mid;
    }
    return -1;
}

/* The overlay after a change: prev's entries and the changed ids (ascending, repeats
 * allowed), merged linearly, as the overlay can reach an eighth of the layer; a changed id
 * takes its envelope in s. Returns the number of entries written to out (room for
 * na + nb). */
static size_t merge_overlay(const cm_overlay_entry *a, size_t na, const int64_t *changed, size_t nb,
                            const cm_snapshot *s, cm_overlay_entry *out) {
    size_t i = 0, j = 0, k = 0;
    while (i < na || j < nb) {
        if (j < nb && j > 0 && changed[j] == changed[j - 1]) {
            j++;
            continue;
        }
        if (j >= nb || (i < na && a[i].id < changed[j])) {
            out[k++] = a[i++];
            continue;
        }
        if (i < na && a[i].id == changed[j]) i++; /* changed again: the new envelope */
        ssize_t pos = cm_snapshot_position(s, changed[j]);
        out[k++] = (cm_overlay_entry){changed[j], pos >= 0 ? s->features[pos]->bbox : gone};
        j++;
    }
    return k;
}

/* The ids of features[0, n): prev's, less the changed ids that are gone, plus those that
 * are new; into ids. */
static bool derive_ids(const cm_snapshot *prev, cm_feature *const *features, size_t n, int64_t *ids,
                       const int64_t *changed, size_t n_changed) {
    size_t i = 0, k = 0;
    for (size_t j = 0; j < n_changed; j++) {
        if (j > 0 && changed[j] == changed[j - 1]) continue;
        /* Copy prev's run below this id in one go, then decide this id. */
        ssize_t at = position_in_ids(prev->ids, changed[j], i, prev->n, true);
        size_t run = (size_t)at - i;
        if (k + run > n) return false;
        memcpy(ids + k, prev->ids + i, run * sizeof *ids);
        k += run;
        i = (size_t)at;
        if (i < prev->n && prev->ids[i] == changed[j]) i++;
        if (cm_features_position(features, changed[j], 0, n) >= 0) {
            if (k >= n) return false;
            ids[k++] = changed[j];
        }
    }
    if (k + (prev->n - i) != n) return false;
    memcpy(ids + k, prev->ids + i, (prev->n - i) * sizeof *ids);
    return true;
}

/* Releases the entries of a new array that prev does not share: a derive that failed. */
static void release_new_entries(const cm_snapshot *prev, cm_feature **features, size_t n, const int64_t *changed,
                                size_t n_changed) {
    for (size_t i = 0; i < n_changed; i++) {
        if (i > 0 && changed[i] == changed[i - 1]) continue;
        ssize_t is = cm_features_position(features, changed[i], 0, n), was = cm_snapshot_position(prev, changed[i]);
        if (is >= 0 && (was < 0 || prev->features[was] != features[is])) cm_feature_unref(features[is]);
    }
}

/* s's overlay: prev's plus the changed ids. Ids above all of prev's overlay (creates) are
 * appended to prev's array when s can take it over; otherwise the two merge into a new one.
 * False when out of memory. */
static bool set_overlay(const cm_snapshot *prev, cm_snapshot *s, const int64_t *changed, size_t n_changed) {
    struct cm_overlay_buf *b = prev->overlay_buf;
    size_t had = prev->n_overlay, need = had + n_changed;
    bool above = n_changed == 0 || had == 0 || changed[0] > prev->overlay[had - 1].id;
    if (!above) {
        if (!(b = overlay_buf_new(need))) return false;
        b->used = merge_overlay(prev->overlay, had, changed, n_changed, s, b->v);
    } else {
        if (b && b->used == had && b->cap >= need) {
            atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed); /* prev's array, past its end */
        } else {
            if (!(b = overlay_buf_new(need + need / 2 + 16))) return false;
            if (had) memcpy(b->v, prev->overlay, had * sizeof b->v[0]);
        }
        b->used = had + merge_overlay(NULL, 0, changed, n_changed, s, b->v + had);
    }
    s->overlay_buf = b;
    s->overlay = b->v;
    s->n_overlay = b->used;
    return true;
}

/* The overlay size past which a derive rebuilds its snapshot's index itself (see
 * derive_rest). */
static size_t rebuild_limit(size_t n) { return n / 8 > 256 ? n / 8 : 256; }

/* The part of a derive after s holds its entries: version, extents, index and the hand-over
 * from prev. changed: ascending ids (repeats allowed); on failure s is released, with the
 * references its entries hold that prev's do not. */
static cm_status derive_rest(cm_snapshot *prev, cm_snapshot *s, const int64_t *changed, size_t n_changed,
                             cm_snapshot **out) {
    cm_feature **leaving = malloc((n_changed ? n_changed : 1) * sizeof *leaving);
    if (!leaving) {
        release_new_entries(prev, s->features, s->n, changed, n_changed);
        atomic_store(&s->owns_live, false);
        cm_snapshot_unref(s);
        return CM_ERR_NOMEM;
    }
    size_t n_leaving = 0;
    /* Version and extents: take out what the changed ids were, put in what they are. The
     * extents only need a full pass when something that left still touches their edge. */
    s->hash_sum = prev->hash_sum;
    s->extent = prev->extent;
    s->t_min_ms = prev->t_min_ms;
    s->t_max_ms = prev->t_max_ms;
    bool rescan = false;
    for (size_t i = 0; i < n_changed; i++) {
        if (i > 0 && changed[i] == changed[i - 1]) continue;
        ssize_t was = cm_snapshot_position(prev, changed[i]), is = cm_snapshot_position(s, changed[i]);
        if (was >= 0) {
            s->hash_sum -= mixed(prev->features[was]);
            if (is < 0 || s->features[is] != prev->features[was]) leaving[n_leaving++] = prev->features[was];
        }
        if (is >= 0) {
            s->hash_sum += mixed(s->features[is]);
            extend(s, s->features[is]);
        }
    }
    /* A feature that left matters only if it still marks an edge once the new ones are in:
     * an edit that moves a closure's end or a feature's update time outwards needs no pass. */
    for (size_t i = 0; i < n_leaving && !rescan; i++) rescan = on_edge(s, leaving[i]);
    if (rescan) {
        reset_extents(s);
        for (size_t i = 0; i < s->n; i++) extend(s, s->features[i]);
    }
    set_version(s);
    /* The backstop: with an index builder (cm_snapshot_wants_index at half of it) this rarely
     * fires. Rebuilding here holds up the writes queued behind it on the worker (the R-tree
     * alone: 2.7 ms at 100,000 features, 11.5 ms at 305,000, over 100 ms when readers take the
     * cores); every query scans the overlay. 1/32 made writes' p99 worse (18-44 ms against
     * 12-17 ms in full bench/write.sh runs, when a build took 4x longer) and reads no better,
     * so 1/8. */
    if (prev->n_overlay + n_changed > rebuild_limit(s->n)) {
        s->base = cm_index_base_build(s);
    } else if (set_overlay(prev, s, changed, n_changed)) {
        s->base = prev->base;
        atomic_fetch_add_explicit(&s->base->refs, 1, memory_order_relaxed);
    }
    if (!s->base) {
        release_new_entries(prev, s->features, s->n, changed, n_changed);
        atomic_store(&s->owns_live, false);
        cm_snapshot_unref(s);
        free(leaving);
        return CM_ERR_NOMEM;
    }
    /* Hand over: the features that left go to prev's node with the references prev's line
     * held; the rest stay with s, now the newest. */
    cm_retired *node = prev->retired;
    node->feats = leaving;
    node->n = n_leaving;
    atomic_fetch_add_explicit(&s->retired->refs, 1, memory_order_relaxed);
    node->next = s->retired;
    atomic_store(&prev->owns_live, false);
    *out = s;
    return CM_OK;
}

cm_status cm_snapshot_derive(cm_snapshot *prev, cm_feature **features, size_t n, const int64_t *changed,
                             size_t n_changed, cm_snapshot **out) {
    *out = NULL;
    if (!atomic_load(&prev->owns_live)) { /* a second successor would free what the first holds */
        release_new_entries(prev, features, n, changed, n_changed);
        free(features);
        return CM_ERR_INTERNAL;
    }
    /* The writer hands over features in id order. Everything that can fail comes before
     * prev is touched. */
    int64_t *ids = malloc((n ? n : 1) * sizeof *ids);
    if (ids && !derive_ids(prev, features, n, ids, changed, n_changed)) {
        free(ids);
        ids = NULL;
    }
    cm_snapshot *s = snapshot_over(prev->def, features, ids, n);
    if (!s) {
        release_new_entries(prev, features, n, changed, n_changed);
        free(features);
        return CM_ERR_NOMEM;
    }
    return derive_rest(prev, s, changed, n_changed, out);
}

cm_status cm_snapshot_derive_appended(cm_snapshot *prev, cm_feature *const *added, size_t n_added, cm_snapshot **out) {
    *out = NULL;
    bool ascending = n_added == 0 || prev->n == 0 || added[0]->id > prev->ids[prev->n - 1];
    for (size_t i = 1; ascending && i < n_added; i++) ascending = added[i]->id > added[i - 1]->id;
    if (!atomic_load(&prev->owns_live) || !ascending) {
        for (size_t i = 0; i < n_added; i++) cm_feature_unref(added[i]);
        return CM_ERR_INTERNAL;
    }
    size_t n = prev->n + n_added;
    struct cm_entries *e = prev->entries;
    if (e->used == prev->n && e->cap >= n) {
        atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed);
    } else {
        size_t cap = n + n / 2 + 16;
        cm_feature **features = malloc(cap * sizeof *features);
        int64_t *ids = malloc(cap * sizeof *ids);
        e = features && ids ? entries_wrap(features, ids, cap, prev->n) : NULL;
        if (!e) {
            free(features);
            free(ids);
            for (size_t i = 0; i < n_added; i++) cm_feature_unref(added[i]);
            return CM_ERR_NOMEM;
        }
        if (prev->n) {
            memcpy(features, prev->features, prev->n * sizeof *features);
            memcpy(ids, prev->ids, prev->n * sizeof *ids);
        }
    }
    for (size_t i = 0; i < n_added; i++) {
        e->features[prev->n + i] = added[i];
        e->ids[prev->n + i] = added[i]->id;
    }
    e->used = n;
    cm_snapshot *s = new_snapshot(prev->def, e, n);
    if (!s) {
        for (size_t i = 0; i < n_added; i++) cm_feature_unref(added[i]);
        release_entries(e);
        return CM_ERR_NOMEM;
    }
    /* The new ids, ascending, are the tail of s's own id array. */
    return derive_rest(prev, s, s->ids + prev->n, n_added, out);
}

/* The ids whose feature differs between b and s, ascending, with their envelopes in s, into
 * out (NULL: count only); stops after `limit`. A merge of the two id arrays: the same
 * pointer is the same content, because b keeps alive every feature it names, so no feature
 * of s can sit at the address of one of b's that was freed. Returns how many. */
static size_t diff_from_base(const cm_index_base *b, const cm_snapshot *s, size_t limit, cm_overlay_entry *out) {
    size_t i = 0, j = 0, k = 0;
    while ((i < b->n || j < s->n) && k < limit) {
        if (j >= s->n || (i < b->n && b->ids[i] < s->ids[j])) { /* left the layer */
            if (out) out[k] = (cm_overlay_entry){b->ids[i], gone};
            k++;
            i++;
            continue;
        }
        bool indexed = i < b->n && b->ids[i] == s->ids[j];
        if (!indexed || b->feats[i] != s->features[j]) { /* created, or replaced */
            if (out) out[k] = (cm_overlay_entry){s->ids[j], s->features[j]->bbox};
            k++;
        }
        i += indexed;
        j++;
    }
    return k;
}

bool cm_snapshot_rebase(cm_snapshot *s, cm_index_base *b) {
    size_t n = diff_from_base(b, s, s->n_overlay, NULL);
    if (n >= s->n_overlay) return false; /* built before s's own index, or as far behind */
    struct cm_overlay_buf *ob = NULL;
    if (n) {
        if (!(ob = overlay_buf_new(n))) return false;
        ob->used = diff_from_base(b, s, n, ob->v);
    }
    release_overlay_buf(s->overlay_buf);
    s->overlay_buf = ob;
    s->overlay = ob ? ob->v : NULL;
    s->n_overlay = n;
    cm_index_base_release(s->base);
    s->base = b;
    return true;
}

bool cm_snapshot_wants_index(const cm_snapshot *s) {
    /* Half the size at which a derive rebuilds on its own: a build elsewhere (cm_index_builder)
     * then usually lands first, and the writer never waits for one. */
    return s->n_overlay > rebuild_limit(s->n) / 2;
}

ssize_t cm_snapshot_position(const cm_snapshot *s, int64_t id) { return cm_snapshot_position_in(s, id, 0, s->n); }

ssize_t cm_ids_position(const int64_t *ids, size_t n, int64_t id) { return position_in_ids(ids, id, 0, n, false); }

ssize_t cm_snapshot_position_in(const cm_snapshot *s, int64_t id, size_t lo, size_t hi) {
    return position_in_ids(s->ids, id, lo, hi > s->n ? s->n : hi, false);
}

cm_snapshot *cm_snapshot_ref(cm_snapshot *s) {
    atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    return s;
}

void cm_snapshot_unref(cm_snapshot *s) {
    if (!s) return;
    if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1) return;
    if (atomic_load(&s->owns_live))
        for (size_t i = 0; i < s->n; i++) cm_feature_unref(s->features[i]);
    release_entries(s->entries);
    release_retired(s->retired);
    cm_index_base_release(s->base);
    release_overlay_buf(s->overlay_buf);
    if (s->cache && s->cache_free) s->cache_free(s->cache);
    pthread_mutex_destroy(&s->cache_lock);
    free(s);
}

cm_feature *cm_snapshot_find(const cm_snapshot *s, int64_t id) {
    ssize_t pos = cm_snapshot_position(s, id);
    return pos >= 0 ? s->features[pos] : NULL;
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
