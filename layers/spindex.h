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

#endif
