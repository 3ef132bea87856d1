/* batch.c — one write transaction's bookkeeping for the persistence worker: the drafts of the
 * layers it touches, and its audit records, sealed into the hash chain as they are written, with
 * the changes they make for the listener. See writer_internal.h. */
#include "writer_internal.h"

#include <stdlib.h>
#include <string.h>

#include "grow.h"

touched *cm_batch_touch(cm_writer *w, batch *b, cm_layer *layer) {
    for (size_t i = 0; i < b->n; i++)
        if (b->t[i].draft.layer == layer) return &b->t[i];
    touched *grown = realloc(b->t, (b->n + 1) * sizeof *grown);
    if (!grown) return NULL;
    b->t = grown;
    touched *t = &b->t[b->n++];
    cm_draft_begin(&t->draft, layer);
    t->layer_index = (size_t)(layer - w->store->layers);
    t->next_id_at_start = w->next_id[t->layer_index];
    return t;
}

/* Frees a batch; unless it was committed, the layers' next ids go back to where they were. */
void cm_batch_discard(cm_writer *w, batch *b, bool committed) {
    for (size_t i = 0; i < b->n; i++) {
        cm_draft_discard(&b->t[i].draft);
        if (!committed) w->next_id[b->t[i].layer_index] = b->t[i].next_id_at_start;
    }
    free(b->t);
    for (size_t i = 0; i < b->n_audit; i++) cm_audit_record_release(&b->audit[i]);
    free(b->audit);
    free(b->changes);
    memset(b, 0, sizeof *b);
}

static int64_t feature_version(const cm_layer_def *def, const cm_feature *f) {
    int i = cm_schema_prop_index(def, "version");
    return (i >= 0 && f->values[i].set && def->props[i].type == CM_PROP_INTEGER) ? f->values[i].u.i : 0;
}

cm_status cm_batch_add_audit(cm_writer *w, batch *b, const char *actor, const char *role, const char *action,
                             const cm_layer_def *def, int64_t id, const cm_feature *before, const cm_feature *after,
                             int64_t now, cm_error *err) {
    cm_audit_record *audit = cm_grow(b->audit, &b->cap_audit, b->n_audit, sizeof *audit, 16);
    if (!audit) return cm_error_set(err, CM_ERR_NOMEM, NULL, NULL);
    b->audit = audit;
    cm_audit_record *r = &b->audit[b->n_audit];
    memset(r, 0, sizeof *r);
    r->seq = w->last_seq + 1;
    r->time_ms = now;
    r->actor = strdup(actor);
    r->role = strdup(role);
    r->action = strdup(action);
    r->layer = strdup(def->id);
    r->feature_id = id;
    r->before = before ? strndup(before->json, before->json_len) : NULL;
    r->after = after ? strndup(after->json, after->json_len) : NULL;
    memcpy(r->prev_hash, w->last_hash, sizeof r->prev_hash);
    cm_audit_seal(r);
    cm_status s = cm_persist_audit_append(w->persist, r, err);
    if (s != CM_OK) {
        cm_audit_record_release(r);
        return s;
    }
    b->n_audit++;
    w->last_seq = r->seq;
    memcpy(w->last_hash, r->hash, sizeof w->last_hash);
    cm_change *changes = cm_grow(b->changes, &b->cap_changes, b->n_changes, sizeof *changes, 16);
    if (!changes) return cm_error_set(err, CM_ERR_NOMEM, NULL, NULL);
    b->changes = changes;
    /* The action and JSON of the audit record outlive the listener call. */
    b->changes[b->n_changes++] = (cm_change){
        r->seq, r->action, def, id, r->after, r->after ? strlen(r->after) : 0, after ? feature_version(def, after) : 0};
    return CM_OK;
}
