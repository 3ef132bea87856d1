/* select.c — query evaluation over a snapshot.
 *
 * With a bbox the spatial index yields candidates, which are checked exactly and then
 * sorted back into id order so paging is stable; without one, a scan in id order.
 * A page of a one-box query is found without visiting every match (cm_select_page). */
#include "select.h"

#include <stdlib.h>
#include <string.h>

bool cm_filter_is_empty(const cm_filter *f) {
    return f->n_boxes == 0 && !f->has_time && f->n_eq == 0;
}

/* The attribute and time tests of a filter. */
static bool matches_attributes(const cm_snapshot *s, const cm_feature *feat, const cm_filter *f) {
    if (f->has_time && s->def->time_start >= 0) {
        if (feat->t_end_ms < f->t_start_ms || feat->t_start_ms > f->t_end_ms) return false;
    }
    for (int i = 0; i < f->n_eq; i++)
        if (!cm_value_equal(&feat->values[f->eq[i].prop], &f->eq[i].value)) return false;
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

/* Position in s of index entry `entry` when it is still the indexed feature, else -1 (the
 * overlay has it). New ids are the largest, so creates leave an entry where it was: most
 * entries are found in place, without a search. */
static ssize_t current_position(const cm_snapshot *s, uint32_t entry) {
    const cm_feature *indexed = s->base->feats[entry];
    ssize_t pos = entry < s->n && s->features[entry] == indexed ? (ssize_t)entry
                  : s->n_overlay                                ? position_near(s, s->base->ids[entry], entry)
                                                                : -1;
    return pos >= 0 && s->features[pos] == indexed ? pos : -1;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Does the feature at pos, whose envelope `box` meets one of f's boxes, match? Without
 * attribute or time tests, an envelope inside a box decides it without touching the
 * feature: a wide box over a dense layer matches tens of thousands, and reading each
 * feature's memory was most of such a query. */
static bool candidate_matches(const cm_snapshot *s, uint32_t pos, const cm_bbox *box, const cm_filter *f, bool plain) {
    if (plain)
        for (int b = 0; b < f->n_boxes; b++)
            if (cm_bbox_within(box, &f->boxes[b])) return true;
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
        ssize_t pos = current_position(s, entry);
        if (pos >= 0 && candidate_matches(s, (uint32_t)pos, &s->base->boxes[entry], f, plain))
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

/* ---- one page of a one-box query ---- */

/* A page this far into the matches is cheaper from the full selection than from the walk,
 * which pays a heap operation per match it passes. */
#define WALK_MAX_SHARE 8

typedef struct {
    const cm_index_base *base;
    const cm_filter *f;
} base_test;

/* Does base entry e, whose box meets the query box, match it? Its box inside the box
 * decides; a point's box is the point; other geometries are tested exactly. */
static bool base_entry_matches(void *cls, uint32_t e) {
    const base_test *t = cls;
    return cm_bbox_within(&t->base->boxes[e], &t->f->boxes[0]) || matches_geometry(t->base->feats[e], t->f);
}

/* Position of id in s at or after `from`, galloping: the overlay's ids come in ascending
 * order, and new ones sit together at the end of s. */
static ssize_t position_from(const cm_snapshot *s, int64_t id, size_t from) {
    size_t lo = from, bound = from, step = 1;
    while (bound < s->n && s->ids[bound] < id) {
        lo = bound + 1;
        bound += step;
        step *= 2;
    }
    return cm_snapshot_position_in(s, id, lo, bound < s->n ? bound + 1 : s->n);
}

/* The next base entry of the walk that is current (unchanged since the index was built)
 * and matches: its position in s into *pos, or -1 after the last. */
static cm_status next_base_match(const cm_snapshot *s, const cm_filter *f, cm_spindex_walk *w, ssize_t *pos) {
    const cm_index_base *base = s->base;
    for (;;) {
        uint32_t e;
        bool inside;
        cm_status st = cm_spindex_walk_next(w, &e, &inside);
        if (st == CM_ERR_NOT_FOUND) {
            *pos = -1;
            return CM_OK;
        }
        if (st != CM_OK) return st;
        ssize_t p = current_position(s, e);
        if (p < 0) continue; /* changed since: the overlay has it */
        if (inside || matches_geometry(base->feats[e], f)) {
            *pos = p;
            return CM_OK;
        }
    }
}

/* Counts the matches of a one-box filter and, when the page is near the front, fills it
 * from the walk. *paged is false when the full selection should answer instead. */
static cm_status walk_page(const cm_snapshot *s, const cm_filter *f, size_t offset, size_t limit, cm_idlist *page,
                           size_t *matched, bool *paged) {
    const cm_index_base *base = s->base;
    const cm_bbox *q = &f->boxes[0];
    base_test t = {base, f};
    size_t n_base = cm_spindex_count(base->index, q, base_entry_matches, &t);
    /* The overlay: base entries changed since the index was built no longer count, and the
     * overlay's own matches (positions in s, ascending) do. */
    cm_idlist over = {0};
    int64_t base_max = base->n ? base->ids[base->n - 1] : INT64_MIN;
    size_t from = 0;
    cm_status st = CM_OK;
    for (size_t i = 0; i < s->n_overlay && st == CM_OK; i++) {
        const cm_overlay_entry *o = &s->overlay[i];
        if (o->id <= base_max) {
            ssize_t e = cm_ids_position(base->ids, base->n, o->id);
            if (e >= 0 && cm_bbox_intersects(&base->boxes[e], q) && base_entry_matches(&t, (uint32_t)e)) n_base--;
        }
        if (!cm_bbox_intersects(&o->bbox, q)) continue;
        ssize_t pos = position_from(s, o->id, from);
        if (pos < 0) continue; /* deleted */
        from = (size_t)pos + 1;
        if (cm_bbox_within(&o->bbox, q) || matches_geometry(s->features[pos], f)) st = cm_idlist_push(&over, (uint32_t)pos);
    }
    *matched = n_base + over.n;
    size_t want = offset + limit < *matched ? offset + limit : *matched;
    *paged = st == CM_OK && want * WALK_MAX_SHARE <= *matched;
    if (!*paged) {
        cm_idlist_release(&over);
        return st;
    }
    /* Merge the walk's matches with the overlay's, both ascending in s. */
    cm_spindex_walk *w = cm_spindex_walk_start(base->index, q);
    ssize_t next_base = -1;
    st = w ? next_base_match(s, f, w, &next_base) : CM_ERR_NOMEM;
    size_t oi = 0;
    for (size_t rank = 0; rank < want && st == CM_OK; rank++) {
        ssize_t take;
        if (oi < over.n && (next_base < 0 || (ssize_t)over.v[oi] < next_base)) {
            take = over.v[oi++];
        } else if (next_base >= 0) {
            take = next_base;
            st = next_base_match(s, f, w, &next_base);
        } else {
            break; /* fewer than counted: cannot happen, but never loop on it */
        }
        if (rank >= offset && st == CM_OK) st = cm_idlist_push(page, (uint32_t)take);
    }
    cm_spindex_walk_end(w);
    cm_idlist_release(&over);
    return st;
}

cm_status cm_select_page(const cm_snapshot *s, const cm_filter *f, size_t offset, size_t limit, cm_idlist *page,
                         size_t *matched) {
    bool plain = f->n_eq == 0 && (!f->has_time || s->def->time_start < 0);
    if (f->n_boxes == 1 && plain) {
        bool paged;
        cm_status st = walk_page(s, f, offset, limit, page, matched, &paged);
        if (st != CM_OK || paged) return st;
    }
    cm_idlist all = {0};
    cm_status st = cm_select(s, f, &all);
    *matched = all.n;
    for (size_t i = offset; st == CM_OK && i < all.n && i - offset < limit; i++) st = cm_idlist_push(page, all.v[i]);
    cm_idlist_release(&all);
    return st;
}
