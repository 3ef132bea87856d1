/* row_digests.h — a layer table's rows as (id, digest) pairs, and which ids differ between two
 * looks at it: how the persistence worker finds what another program changed in the store
 * without reading every feature through OGR.
 *
 * DESIGN: the store computes the digests in SQL over each row's stored bytes
 * (persist.h: cm_persist_row_digests), in id order; two such lists are compared in one
 * merge walk. A digest says nothing about what a row means, only whether its bytes moved:
 * the worker reads the rows it names and compares their features with memory's. */
#ifndef CM_ROW_DIGESTS_H
#define CM_ROW_DIGESTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cm_row_digest {
    int64_t id;
    uint64_t digest;
} cm_row_digest;

typedef struct cm_row_digests {
    cm_row_digest *rows; /* ascending ids; malloc'd, owned */
    size_t n;
} cm_row_digests;

/* Calls each(id, cls) for every id that is in one list and not the other, or in both with
 * different digests, in ascending order; stops at the first nonzero return and returns it. */
int cm_row_digests_diff(const cm_row_digests *before, const cm_row_digests *after, int (*each)(int64_t id, void *cls),
                        void *cls);

/* A copy of from into *out (new rows, the caller's); false when memory is short (*out empty). */
bool cm_row_digests_copy(const cm_row_digests *from, cm_row_digests *out);

/* Frees the rows; leaves an empty list. Accepts an empty one. */
void cm_row_digests_release(cm_row_digests *d);

#endif
