/* draft.c — see draft.h. */
#include "draft.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "grow.h"

void cm_draft_begin(cm_draft *d, cm_layer *layer) {
    memset(d, 0, sizeof *d);
    d->layer = layer;
    d->from = cm_layer_acquire(layer);
}

/* Makes the full copy (once per draft). */
static bool materialize(cm_draft *d) {
    if (d->arr) return true;
    size_t n0 = d->from->n;
    d->cap = n0 + d->n_added + 16;
    d->arr = malloc(d->cap * sizeof *d->arr);
    if (!d->arr) return false;
    if (n0) memcpy(d->arr, d->from->features, n0 * sizeof *d->arr);
    if (d->n_added) memcpy(d->arr + n0, d->added, d->n_added * sizeof *d->arr);
    d->n = n0 + d->n_added;
    free(d->added);
    d->added = NULL;
    d->n_added = d->cap_added = 0;
    return true;
}

static bool note_change(cm_draft *d, int64_t id) {
    int64_t *changed = cm_grow(d->changed, &d->cap_changed, d->n_changed, sizeof *changed, 16);
    if (!changed) return false;
    d->changed = changed;
    d->changed[d->n_changed++] = id;
    return true;
}

static ssize_t find_pos(const cm_draft *d, int64_t id) { return cm_features_position(d->arr, id, 0, d->n); }

/* Does the draft hold a reference to this entry of its full copy? Only to those it was
 * given: the others are `from`'s. */
static bool owned(const cm_draft *d, const cm_feature *f) { return cm_snapshot_find(d->from, f->id) != f; }

static void drop_entry(cm_draft *d, cm_feature *f) {
    if (owned(d, f)) cm_feature_unref(f);
}

cm_feature *cm_draft_find(cm_draft *d, int64_t id, cm_status *status) {
    *status = CM_OK;
    if (!materialize(d)) {
        *status = CM_ERR_NOMEM;
        return NULL;
    }
    ssize_t pos = find_pos(d, id);
    return pos >= 0 ? d->arr[pos] : NULL;
}

/* Can f go after everything the draft has (a create, while there is no full copy)? */
static bool appends(const cm_draft *d, const cm_feature *f) {
    if (d->arr) return false;
    int64_t last = d->n_added ? d->added[d->n_added - 1]->id : d->from->n ? d->from->ids[d->from->n - 1] : INT64_MIN;
    return f->id > last;
}

bool cm_draft_put(cm_draft *d, cm_feature *f) {
    if (!note_change(d, f->id)) return false;
    if (!appends(d, f) && !materialize(d)) return false;
    if (!d->arr) {
        cm_feature **added = cm_grow(d->added, &d->cap_added, d->n_added, sizeof *added, 16);
        if (!added) return false;
        d->added = added;
        d->added[d->n_added++] = f;
        return true;
    }
    ssize_t pos = find_pos(d, f->id);
    if (pos >= 0) {
        drop_entry(d, d->arr[pos]);
        d->arr[pos] = f;
        return true;
    }
    cm_feature **arr = cm_grow(d->arr, &d->cap, d->n, sizeof *arr, 16);
    if (!arr) return false;
    d->arr = arr;
    size_t at = d->n;
    while (at > 0 && d->arr[at - 1]->id > f->id) at--; /* new ids are the largest: usually no move */
    memmove(d->arr + at + 1, d->arr + at, (d->n - at) * sizeof *d->arr);
    d->arr[at] = f;
    d->n++;
    return true;
}

bool cm_draft_remove(cm_draft *d, int64_t id) {
    ssize_t pos = d->arr ? find_pos(d, id) : -1;
    if (pos < 0 || !note_change(d, id)) return false;
    drop_entry(d, d->arr[pos]);
    memmove(d->arr + pos, d->arr + pos + 1, (d->n - (size_t)pos - 1) * sizeof *d->arr);
    d->n--;
    return true;
}

static int cmp_ids(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The index policy of a new snapshot, before anyone sees it: rebase it on an index built
 * since it was asked for, and ask for the next one when its overlay has grown. */
static void tend_index(cm_draft *d, cm_snapshot *snap, cm_index_builder *ib) {
    cm_index_base *built = cm_index_builder_take(ib, d->layer);
    if (built && !cm_snapshot_rebase(snap, built)) cm_index_base_release(built);
    if (cm_snapshot_wants_index(snap)) cm_index_builder_request(ib, d->layer, snap);
}

cm_status cm_draft_publish(cm_draft *d, cm_index_builder *ib) {
    cm_snapshot *snap;
    cm_status s;
    /* Both derives take the draft's references, whatever they return. */
    if (d->arr) {
        if (d->n_changed > 1) qsort(d->changed, d->n_changed, sizeof *d->changed, cmp_ids);
        s = cm_snapshot_derive(d->from, d->arr, d->n, d->changed, d->n_changed, &snap);
    } else if (d->n_added) {
        s = cm_snapshot_derive_appended(d->from, d->added, d->n_added, &snap);
    } else {
        return CM_OK; /* every edit of this layer failed: nothing changed */
    }
    d->arr = NULL;
    d->n = 0;
    d->n_added = 0;
    d->n_changed = 0;
    if (s == CM_OK && ib) tend_index(d, snap, ib);
    /* Only the persistence worker publishes, so `from` is still the layer's current snapshot. */
    if (s == CM_OK) cm_layer_publish(d->layer, snap);
    return s;
}

void cm_draft_discard(cm_draft *d) {
    for (size_t a = 0; a < d->n_added; a++) cm_feature_unref(d->added[a]);
    if (d->arr) {
        /* First find the entries this draft holds a reference to, then drop them: a search
         * after a drop could read a feature that drop freed. `changed` becomes their positions. */
        if (d->n_changed > 1) qsort(d->changed, d->n_changed, sizeof *d->changed, cmp_ids);
        size_t k = 0;
        for (size_t c = 0; c < d->n_changed; c++) {
            if (c > 0 && d->changed[c] == d->changed[c - 1]) continue;
            ssize_t pos = find_pos(d, d->changed[c]);
            if (pos >= 0 && owned(d, d->arr[pos])) d->changed[k++] = pos;
        }
        for (size_t i = 0; i < k; i++) cm_feature_unref(d->arr[d->changed[i]]);
    }
    free(d->added);
    free(d->arr);
    free(d->changed);
    cm_snapshot_unref(d->from);
    memset(d, 0, sizeof *d);
}
