/* select.h — choosing the features of a snapshot that match a query: boxes (exact
 * geometry test), a time interval, and equality on declared properties. */
#ifndef CM_SELECT_H
#define CM_SELECT_H

#include <stdbool.h>

#include "layer.h"

#define CM_SELECT_MAX_EQ 16

typedef struct cm_select_eq {
    int prop;       /* index into the layer definition's properties */
    cm_value value; /* set; strings borrowed from the caller */
} cm_select_eq;

typedef struct cm_filter {
    int n_boxes;       /* 0: no spatial filter; 2 when a box crosses the antimeridian */
    cm_bbox boxes[2];  /* CRS84 */
    bool has_time;
    int64_t t_start_ms, t_end_ms; /* closed interval; INT64_MIN / INT64_MAX for open ends */
    int n_eq;
    cm_select_eq eq[CM_SELECT_MAX_EQ];
} cm_filter;

/* True when the filter selects everything. */
bool cm_filter_is_empty(const cm_filter *f);

/* Appends to out, in ascending feature order (positions in s->features), every feature
 * matching f. Layers without a temporal property ignore the time filter. */
cm_status cm_select(const cm_snapshot *s, const cm_filter *f, cm_idlist *out);

/* The positions in s of matches [offset, offset + limit) of f, ascending, into page, and
 * the number of matches into *matched. A filter of one box alone, on a layer with many
 * matches, is answered without visiting them all: index subtrees inside the box are
 * counted, and the page comes from a walk of the index in feature order. Anything else
 * (and a page reaching deep into the matches) selects all matches first. */
cm_status cm_select_page(const cm_snapshot *s, const cm_filter *f, size_t offset, size_t limit, cm_idlist *page,
                         size_t *matched);

/* Does one feature match (exposed for tests)? */
bool cm_select_matches(const cm_snapshot *s, const cm_feature *feat, const cm_filter *f);

#endif
