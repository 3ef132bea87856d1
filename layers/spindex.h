/* spindex.h — a static packed R-tree over feature envelopes (Hilbert-sorted, flatbush
 * style) for bbox queries.
 *
 * Built once per layer snapshot from an array of boxes; entries are the indexes into that
 * array. Immutable after creation: any number of threads may query it at once. */
#ifndef CM_SPINDEX_H
#define CM_SPINDEX_H

#include <stddef.h>
#include <stdint.h>

#include "geom.h"
#include "status.h"

typedef struct cm_spindex cm_spindex;

/* A growable list of entry indexes, caller-owned; release with cm_idlist_release. */
typedef struct cm_idlist {
    uint32_t *v;
    size_t n, cap;
} cm_idlist;

void cm_idlist_release(cm_idlist *l);
cm_status cm_idlist_push(cm_idlist *l, uint32_t id);

/* Builds the index over n boxes (borrowed; copied). Returns new, or NULL when out of
 * memory. n may be 0. */
cm_spindex *cm_spindex_create(const cm_bbox *boxes, size_t n);
void cm_spindex_destroy(cm_spindex *ix);

/* Appends to out the index of every box that intersects q (closed test), in no particular
 * order. CM_ERR_NOMEM when out cannot grow. */
cm_status cm_spindex_query(const cm_spindex *ix, const cm_bbox *q, cm_idlist *out);

/* Decides an entry whose box meets the query box without lying inside it. */
typedef bool (*cm_spindex_test)(void *cls, uint32_t entry);

/* How many entries match q: those whose box lies inside q, counted by subtree without
 * visiting them, plus those whose box only meets q and that `partial` accepts. Empty
 * (inverted) boxes never match. */
size_t cm_spindex_count(const cm_spindex *ix, const cm_bbox *q, cm_spindex_test partial, void *cls);

/* The entries whose box meets q, one at a time in ascending entry order, visiting only
 * the subtrees that can hold the next one: a best-first walk keyed by each node's smallest
 * entry. For the first page of a query with many matches. */
typedef struct cm_spindex_walk cm_spindex_walk;

/* NULL when out of memory; end it with cm_spindex_walk_end. */
cm_spindex_walk *cm_spindex_walk_start(const cm_spindex *ix, const cm_bbox *q);
/* The next entry, and whether its box lies inside q. CM_ERR_NOT_FOUND after the last one,
 * CM_ERR_NOMEM when the walk cannot grow. */
cm_status cm_spindex_walk_next(cm_spindex_walk *w, uint32_t *entry, bool *inside);
void cm_spindex_walk_end(cm_spindex_walk *w);

#endif
