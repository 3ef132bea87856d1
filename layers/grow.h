/* grow.h — room for one more element at the end of a caller-owned array.
 *
 * Returns the array to use from now on (items itself when it has room, else a realloc'd
 * copy of twice the capacity, `first` elements when empty) and updates *cap; NULL when out
 * of memory, leaving items and *cap as they were. */
#ifndef CM_GROW_H
#define CM_GROW_H

#include <stdlib.h>

static inline void *cm_grow(void *items, size_t *cap, size_t n, size_t elem_size, size_t first) {
    if (n < *cap) return items;
    size_t grown_cap = *cap ? *cap * 2 : first;
    void *grown = realloc(items, grown_cap * elem_size);
    if (grown) *cap = grown_cap;
    return grown;
}

#endif
