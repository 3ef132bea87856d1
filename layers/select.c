/* select.c — query evaluation over a snapshot.
 *
 * With a bbox the spatial index yields candidates, which are checked exactly and then
 * sorted back into id order so paging is stable; without one, a scan in id order. */
#include "select.h"

#include <stdlib.h>
#include <string.h>

bool cm_filter_is_empty(const cm_filter *f) {
    return f->n_boxes == 0 && !f->has_time && f->n_eq == 0;
}

static bool value_equals(const cm_value *a, const cm_value *b) {
    if (!a->set) return false;
    switch (a->type) {
    case CM_PROP_STRING: return strcmp(a->u.s, b->u.s) == 0;
    case CM_PROP_INTEGER: return a->u.i == b->u.i;
    case CM_PROP_NUMBER: return a->u.d == b->u.d;
    case CM_PROP_BOOLEAN: return a->u.b == b->u.b;
    case CM_PROP_DATETIME: return a->u.t_ms == b->u.t_ms;
    }
    return false;
}

/* The attribute and time tests of a filter. */
static bool matches_attributes(const cm_snapshot *s, const cm_feature *feat, const cm_filter *f) {
    if (f->has_time && s->def->time_start >= 0) {
        if (feat->t_end_ms < f->t_start_ms || feat->t_start_ms > f->t_end_ms) return false;
    }
    for (int i = 0; i < f->n_eq; i++)
        if (!value_equals(&feat->values[f->eq[i].prop], &f->eq[i].value)) return false;
    return true;
}

/* The exact test for a candidate whose envelope already meets one of the boxes: a point's
 * envelope is the point, so only other geometries need the geometry test. */
static bool matches_geometry(const cm_feature *feat, const cm_filter *f) {
    for (int i = 0; i < f->n_boxes; i++)
        if (cm_bbox_intersects(&feat->bbox, &f->boxes[i]) &&
            (feat->geom.type == CM_GEOM_POINT || cm_geom_intersects_bbox(&feat->geom, &f->boxes[i])))
            return true;
    return false;
}

bool cm_select_matches(const cm_snapshot *s, const cm_feature *feat, const cm_filter *f) {
    if (f->has_time && s->def->time_start >= 0) {
        if (feat->t_end_ms < f->t_start_ms || feat->t_start_ms > f->t_end_ms) return false;
    }
    for (int i = 0; i < f->n_eq; i++)
        if (!value_equals(&feat->values[f->eq[i].prop], &f->eq[i].value)) return false;
    if (f->n_boxes == 0) return true;
    for (int i = 0; i < f->n_boxes; i++)
        if (cm_bbox_intersects(&feat->bbox, &f->boxes[i]) &&
            cm_geom_intersects_bbox(&feat->geom, &f->boxes[i]))
            return true;
    return false;
}

/* Position in s of an indexed feature's id. The index was built over a sorted array that
 * differs from s only by the overlay's ids, so the feature can only have moved by as many
 * places as the overlay is long: search that window, not the whole layer. */
static ssize_t position_near(const cm_snapshot *s, int64_t id, size_t entry) {
    size_t r = s->n_overlay;
    return cm_snapshot_position_in(s, id, entry > r ? entry - r : 0, entry + r + 1);
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

cm_status cm_select(const cm_snapshot *s, const cm_filter *f, cm_idlist *out) {
    if (f->n_boxes == 0) {
        for (size_t i = 0; i < s->n; i++)
            if (cm_select_matches(s, s->features[i], f) && cm_idlist_push(out, (uint32_t)i) != CM_OK)
                return CM_ERR_NOMEM;
        return CM_OK;
    }
    /* Candidates from the shared index that are still the indexed feature, plus every
     * feature changed since the index was built (the overlay), as positions in s. */
    cm_idlist hits = {0}, cand = {0};
    for (int b = 0; b < f->n_boxes; b++)
        if (cm_spindex_query(s->base->index, &f->boxes[b], &hits) != CM_OK) {
            cm_idlist_release(&hits);
            return CM_ERR_NOMEM;
        }
    cm_status st = CM_OK;
    for (size_t i = 0; i < hits.n && st == CM_OK; i++) {
        uint32_t entry = hits.v[i];
        ssize_t pos = s->n_overlay ? position_near(s, s->base->ids[entry], entry) : (ssize_t)entry;
        if (pos >= 0 && s->features[pos] == s->base->feats[entry]) st = cm_idlist_push(&cand, (uint32_t)pos);
    }
    cm_idlist_release(&hits);
    /* The overlay keeps envelopes beside the ids: only its hits are looked up. */
    for (size_t i = 0; i < s->n_overlay && st == CM_OK; i++)
        for (int b = 0; b < f->n_boxes; b++)
            if (cm_bbox_intersects(&s->overlay[i].bbox, &f->boxes[b])) {
                ssize_t pos = cm_snapshot_position(s, s->overlay[i].id);
                if (pos >= 0) st = cm_idlist_push(&cand, (uint32_t)pos);
                break;
            }
    if (st != CM_OK) {
        cm_idlist_release(&cand);
        return st;
    }
    /* Back into id order (positions), each once. Many candidates (a wide box over a dense
     * layer: tens of thousands) go through a bitmap of the layer, linear where sorting
     * them was most of such a query. */
    uint64_t *bits = cand.n > 256 ? calloc((s->n + 63) / 64, sizeof *bits) : NULL;
    if (bits) {
        for (size_t i = 0; i < cand.n; i++) bits[cand.v[i] / 64] |= (uint64_t)1 << (cand.v[i] % 64);
        for (size_t w = 0; w < (s->n + 63) / 64 && st == CM_OK; w++)
            for (uint64_t word = bits[w]; word && st == CM_OK; word &= word - 1) {
                uint32_t pos = (uint32_t)(w * 64 + (size_t)__builtin_ctzll(word));
                const cm_feature *feat = s->features[pos];
                if (matches_attributes(s, feat, f) && matches_geometry(feat, f)) st = cm_idlist_push(out, pos);
            }
        free(bits);
        cm_idlist_release(&cand);
        return st;
    }
    if (cand.n > 1) qsort(cand.v, cand.n, sizeof *cand.v, cmp_u32);
    for (size_t i = 0; i < cand.n && st == CM_OK; i++) {
        if (i > 0 && cand.v[i] == cand.v[i - 1]) continue; /* found through both boxes */
        const cm_feature *feat = s->features[cand.v[i]];
        if (matches_attributes(s, feat, f) && matches_geometry(feat, f)) st = cm_idlist_push(out, cand.v[i]);
    }
    cm_idlist_release(&cand);
    return st;
}
