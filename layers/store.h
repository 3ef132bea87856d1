/* store.h — the set of layers the service holds in memory.
 *
 * The store borrows the layer definitions (they outlive it) and owns one cm_layer per
 * definition, each starting with an empty snapshot until the persistence module loads it. */
#ifndef CM_STORE_H
#define CM_STORE_H

#include "layer.h"
#include "schema.h"

typedef struct cm_store {
    const cm_layer_defs *defs;
    cm_layer *layers; /* defs->n entries, same order */
    size_t n;
} cm_store;

/* Returns new in *out (empty layers), or CM_ERR_NOMEM. */
cm_status cm_store_create(const cm_layer_defs *defs, cm_store **out);
void cm_store_destroy(cm_store *st); /* accepts NULL */
/* Layer by id, or NULL. Borrowed. */
cm_layer *cm_store_find(cm_store *st, const char *id);

#endif
