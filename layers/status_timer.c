/* status_timer.c — moving time-bound features between planned, active and expired when
 * their time comes (layers/lifecycle.c says which status a time gives), on the persistence
 * worker: due features are patched like an operator's edit, audited and versioned, as the
 * actor "system". See writer_internal.h. */
#include "writer_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "lifecycle.h"

/* Brings the lifecycle timer forward to f's next status change, if it is sooner. */
void cm_status_timer_note(cm_writer *w, const cm_layer_def *def, const cm_feature *f, int64_t now) {
    if (cm_lifecycle_status_prop(def) < 0) return;
    int64_t t = cm_lifecycle_next_change(def, f->values, now);
    if (t < w->next_timer_ms) w->next_timer_ms = t;
}

static void free_internal_edit(cm_edit *e, void *cls) {
    (void)cls;
    if (e->err.status != CM_OK)
        fprintf(stderr, "crisismap: status change of %s/%" PRId64 " failed: %s\n", e->layer->def->id, e->id,
                e->err.message);
    cm_edit_release(e);
    free(e);
}

void cm_status_timer_run(cm_writer *w) {
    int64_t now = cm_clock_wall_ms(), next = INT64_MAX;
    cm_edit *due = NULL, **tail = &due;
    for (size_t li = 0; li < w->store->n; li++) {
        cm_layer *layer = &w->store->layers[li];
        if (cm_lifecycle_status_prop(layer->def) < 0) continue;
        int si = cm_lifecycle_status_prop(layer->def);
        cm_snapshot *snap = cm_layer_acquire(layer);
        for (size_t i = 0; i < snap->n; i++) {
            const cm_feature *f = snap->features[i];
            const char *should = cm_lifecycle_status(layer->def, f->values, now);
            bool differs = !f->values[si].set || strcmp(f->values[si].u.s, should) != 0;
            if (differs) {
                cm_edit *e = calloc(1, sizeof *e);
                if (!e) break;
                e->kind = CM_EDIT_PATCH;
                e->layer = layer;
                e->id = f->id;
                e->patch = json_pack("{s:{s:s}}", "properties", "status", should);
                snprintf(e->actor, sizeof e->actor, "system");
                snprintf(e->role, sizeof e->role, "system");
                e->done = free_internal_edit;
                *tail = e;
                tail = &e->next;
            }
            int64_t t = cm_lifecycle_next_change(layer->def, f->values, now);
            if (t < next) next = t;
        }
        cm_snapshot_unref(snap);
    }
    w->next_timer_ms = next;
    if (!due) return;
    /* Applied like operator patches (audited, versioned), completed here. */
    cm_writer_process_batch(w, due);
}
