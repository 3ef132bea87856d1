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
    return matches_attributes(s, feat, f) && (f->n_boxes == 0 || matches_geometry(feat, f));
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

static bool box_within(const cm_bbox *in, const cm_bbox *out) {
    return in->min_lon >= out->min_lon && in->max_lon <= out->max_lon && in->min_lat >= out->min_lat &&
           in->max_lat <= out->max_lat;
}

/* Does the feature at pos, whose envelope `box` meets one of f's boxes, match? Without
 * attribute or time tests, an envelope inside a box decides it without touching the
 * feature: a wide box over a dense layer matches tens of thousands, and reading each
 * feature's memory was most of such a query. */
static bool candidate_matches(const cm_snapshot *s, uint32_t pos, const cm_bbox *box, const cm_filter *f, bool plain) {
    if (plain)
        for (int b = 0; b < f->n_boxes; b++)
            if (box_within(box, &f->boxes[b])) return true;
    const cm_feature *feat = s->features[pos];
    return matches_attributes(s, feat, f) && matches_geometry(feat, f);
}

/* Appends the positions in `matched` to out in ascending order, each once. Many go
 * through a bitmap of the layer, linear where sorting them was a large part of a query. */
static cm_status push_in_order(const cm_snapshot *s, cm_idlist *matched, cm_idlist *out) {
    uint64_t *bits = matched->n > 256 ? calloc((s->n + 63) / 64, sizeof *bits) : NULL;
    cm_status st = CM_OK;
    if (bits) {
        for (size_t i = 0; i < matched->n; i++) bits[matched->v[i] / 64] |= (uint64_t)1 << (matched->v[i] % 64);
        for (size_t w = 0; w < (s->n + 63) / 64 && st == CM_OK; w++)
            for (uint64_t word = bits[w]; word && st == CM_OK; word &= word - 1)
                st = cm_idlist_push(out, (uint32_t)(w * 64 + (size_t)__builtin_ctzll(word)));
        free(bits);
        return st;
    }
    if (matched->n > 1) qsort(matched->v, matched->n, sizeof *matched->v, cmp_u32);
    for (size_t i = 0; i < matched->n && st == CM_OK; i++)
        if (i == 0 || matched->v[i] != matched->v[i - 1]) st = cm_idlist_push(out, matched->v[i]); /* via two boxes */
    return st;
}

cm_status cm_select(const cm_snapshot *s, const cm_filter *f, cm_idlist *out) {
    if (f->n_boxes == 0) {
        for (size_t i = 0; i < s->n; i++)
            if (cm_select_matches(s, s->features[i], f) && cm_idlist_push(out, (uint32_t)i) != CM_OK)
                return CM_ERR_NOMEM;
        return CM_OK;
    }
    bool plain = f->n_eq == 0 && (!f->has_time || s->def->time_start < 0);
    /* Index hits that are still the indexed feature, plus the overlay's hits (features
     * changed since the index was built), tested and kept as positions in s. */
    cm_idlist hits = {0}, matched = {0};
    for (int b = 0; b < f->n_boxes; b++)
        if (cm_spindex_query(s->base->index, &f->boxes[b], &hits) != CM_OK) {
            cm_idlist_release(&hits);
            return CM_ERR_NOMEM;
        }
    cm_status st = CM_OK;
    for (size_t i = 0; i < hits.n && st == CM_OK; i++) {
        uint32_t entry = hits.v[i];
        const cm_feature *indexed = s->base->feats[entry];
        /* New ids are the largest, so creates leave an entry where it was: most hits are
         * found in place, without a search. */
        ssize_t pos = entry < s->n && s->features[entry] == indexed ? (ssize_t)entry
                      : s->n_overlay                                ? position_near(s, s->base->ids[entry], entry)
                                                                    : -1;
        if (pos >= 0 && s->features[pos] == indexed &&
            candidate_matches(s, (uint32_t)pos, &s->base->boxes[entry], f, plain))
            st = cm_idlist_push(&matched, (uint32_t)pos);
    }
    cm_idlist_release(&hits);
    for (size_t i = 0; i < s->n_overlay && st == CM_OK; i++)
        for (int b = 0; b < f->n_boxes; b++)
            if (cm_bbox_intersects(&s->overlay[i].bbox, &f->boxes[b])) {
                ssize_t pos = cm_snapshot_position(s, s->overlay[i].id);
                if (pos >= 0 && candidate_matches(s, (uint32_t)pos, &s->overlay[i].bbox, f, plain))
                    st = cm_idlist_push(&matched, (uint32_t)pos);
                break;
            }
    if (st == CM_OK) st = push_in_order(s, &matched, out);
    cm_idlist_release(&matched);
    return st;
}
