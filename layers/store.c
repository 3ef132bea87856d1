/* store.c — creating and finding layers. */
#include "store.h"

#include <stdlib.h>
#include <string.h>

cm_status cm_store_create(const cm_layer_defs *defs, cm_store **out) {
    *out = NULL;
    cm_store *st = calloc(1, sizeof *st);
    if (!st) return CM_ERR_NOMEM;
    st->defs = defs;
    st->layers = calloc(defs->n ? defs->n : 1, sizeof *st->layers);
    if (!st->layers) {
        free(st);
        return CM_ERR_NOMEM;
    }
    for (size_t i = 0; i < defs->n; i++) {
        cm_layer *l = &st->layers[i];
        l->def = &defs->layers[i];
        pthread_mutex_init(&l->lock, NULL);
        st->n++;
        if (cm_snapshot_create(l->def, NULL, 0, &l->current) != CM_OK) {
            cm_store_destroy(st);
            return CM_ERR_NOMEM;
        }
    }
    *out = st;
    return CM_OK;
}

void cm_store_destroy(cm_store *st) {
    if (!st) return;
    for (size_t i = 0; i < st->n; i++) {
        cm_snapshot_unref(st->layers[i].current);
        pthread_mutex_destroy(&st->layers[i].lock);
    }
    free(st->layers);
    free(st);
}

cm_layer *cm_store_find(cm_store *st, const char *id) {
    for (size_t i = 0; i < st->n; i++)
        if (strcmp(st->layers[i].def->id, id) == 0) return &st->layers[i];
    return NULL;
}
