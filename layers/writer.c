/* writer.c — the persistence worker.
 *
 * DESIGN: edits queue up while the previous transaction commits; the worker then takes all
 * of them and applies them in one transaction (group commit), each with its audit record.
 * An edit that fails its own checks (not found, stale If-Match, invalid patch result)
 * fails alone; a storage failure rolls the whole transaction back and fails every edit in
 * it, leaving memory untouched. Only after COMMIT returns are new snapshots published and
 * edits completed, so an acknowledged write is on disk and a reader never sees an
 * uncommitted one.
 *
 * The same thread moves time-bound features between planned, active and expired when
 * their time comes (status_timer.c), takes in what another program wrote to the store
 * (outside.c), and reloads the token table. A batch's drafts and audit records are kept by
 * batch.c; the worker's insides these share are in writer_internal.h.
 *
 * INVARIANTS: feature ids are never reused: the next id of a layer starts above every id
 * in the table and in the audit log. Audit sequence numbers increase by one per change. */
#define _GNU_SOURCE /* pthread_setname_np */
#include "clock.h"
#include "writer.h"
#include "writer_internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include "audit.h"
#include "datetime.h"
#include "draft.h"
#include "feature_input.h"
#include "grow.h"
#include "index_builder.h"
#include "lifecycle.h"
#include "ogr_geom.h"
#include "sched_hint.h"
#include "validate.h"

#define TOKEN_RELOAD_MS 2000

void cm_edit_release(cm_edit *e) {
    cm_geom_release(&e->geom);
    cm_values_free(e->values, e->layer ? e->layer->def->n_props : 0);
    e->values = NULL;
    json_decref(e->patch);
    e->patch = NULL;
    cm_feature_unref(e->result);
    e->result = NULL;
    json_decref(e->audit);
    e->audit = NULL;
    free(e->changes);
    e->changes = NULL;
}

static bool if_match_lists(const cm_edit *e, uint64_t hash) {
    for (int i = 0; i < e->n_if_match; i++)
        if (e->if_match[i] == hash) return true;
    return false;
}

/* ---- server-owned values ---- */

static void set_string(cm_value *v, const char *s) {
    if (v->set && v->type == CM_PROP_STRING) free(v->u.s);
    v->type = CM_PROP_STRING;
    v->u.s = strdup(s);
    v->set = v->u.s != NULL;
}

/* Fills created/updated/updated_by/version and a time-driven status. Returns the audit
 * action for a change from old (NULL when created). */
static const char *stamp(const cm_layer_def *def, cm_value *v, const cm_feature *old, const char *actor, int64_t now) {
    int i;
    if ((i = cm_schema_prop_index(def, "created")) >= 0 && def->props[i].type == CM_PROP_DATETIME) {
        if (old && old->values[i].set)
            v[i] = (cm_value){.set = true, .type = CM_PROP_DATETIME, .u.t_ms = old->values[i].u.t_ms};
        else
            v[i] = (cm_value){.set = true, .type = CM_PROP_DATETIME, .u.t_ms = now};
    }
    if ((i = cm_schema_prop_index(def, "updated")) >= 0 && def->props[i].type == CM_PROP_DATETIME)
        v[i] = (cm_value){.set = true, .type = CM_PROP_DATETIME, .u.t_ms = now};
    if ((i = cm_schema_prop_index(def, "updated_by")) >= 0 && def->props[i].type == CM_PROP_STRING)
        set_string(&v[i], actor);
    if ((i = cm_schema_prop_index(def, "version")) >= 0 && def->props[i].type == CM_PROP_INTEGER) {
        int64_t prev = (old && old->values[i].set) ? old->values[i].u.i : 0;
        v[i] = (cm_value){.set = true, .type = CM_PROP_INTEGER, .u.i = prev + 1};
    }
    const char *action = old ? "updated" : "created";
    int si = cm_lifecycle_status_prop(def);
    if (si >= 0) {
        const char *status = cm_lifecycle_status(def, v, now);
        bool was_lifted = old && old->values[si].set && strcmp(old->values[si].u.s, "lifted") == 0;
        bool was_expired = old && old->values[si].set && strcmp(old->values[si].u.s, "expired") == 0;
        if (old && strcmp(status, "lifted") == 0 && !was_lifted) action = "lifted";
        else if (old && strcmp(status, "expired") == 0 && !was_expired) action = "expired";
        set_string(&v[si], status);
    }
    return action;
}

/* True when stamped values and geom would store what cur holds: every property but the
 * stamp (created, updated, updated_by, version) equal, the status as time now gives it. */
static bool changes_nothing(const cm_layer_def *def, const cm_feature *cur, const cm_geom *geom, const cm_value *v) {
    int status = cm_lifecycle_status_prop(def);
    for (size_t i = 0; i < def->n_props; i++) {
        if (def->props[i].server_owned && (int)i != status) continue;
        if (!cm_value_equal(&v[i], &cur->values[i])) return false;
    }
    return cm_geom_equal(geom, &cur->geom);
}

/* A feature's row was not there to write (persist.h: CM_ERR_CONFLICT). outside.c brings
 * memory up to the store inside the batch's transaction first, so only a store that breaks
 * SQLite's isolation gets here. */
static void row_gone_outside(cm_layer *layer) {
    cm_outside_mark_layer(layer, "crisismap: another program removed features of %s while the server runs\n",
                                   layer->def->id);
}

/* ---- applying one edit ---- */

/* Builds the values of a PATCH: the current feature's GeoJSON merged with the patch, read
 * and checked as a full replacement would be. */
static cm_status patched(cm_edit *e, const cm_feature *cur, cm_geom *geom, cm_value **values) {
    const cm_layer_def *def = e->layer->def;
    /* Geometry in the patch is in the request's CRS; the stored one is CRS84. A patch that
     * kept the stored coordinates ({"geometry":{}} merges into it) would mix the two. */
    const json_t *patch_geom = json_object_get(e->patch, "geometry");
    if (json_is_object(patch_geom) && !cm_crs_is_crs84(e->crs) && !json_object_get(patch_geom, "coordinates"))
        return cm_error_set(&e->err, CM_ERR_BAD_GEOMETRY, "geometry.coordinates",
                            "a geometry patch sent with Content-Crs must give its coordinates: the stored ones are "
                            "in CRS84");
    json_error_t jerr;
    json_t *doc = json_loadb(cur->json, cur->json_len, 0, &jerr);
    if (!doc) return cm_error_set(&e->err, CM_ERR_INTERNAL, NULL, "stored feature does not parse: %s", jerr.text);
    cm_json_merge_patch(doc, e->patch);
    cm_geom g;
    cm_status s = cm_feature_input_read(def, doc, patch_geom ? e->crs : (cm_crs){0}, &g, values, &e->err);
    json_decref(doc);
    if (s != CM_OK) return s;
    /* Server-owned values were dropped by the reader; the stamp restores them. */
    if ((s = cm_validate_geom(def, &g, &e->err)) == CM_OK && (s = cm_ogr_check_valid(&g, &e->err)) == CM_OK &&
        (s = cm_validate_values(def, *values, &e->err)) == CM_OK) {
        *geom = g;
        return CM_OK;
    }
    cm_geom_release(&g);
    cm_values_free(*values, def->n_props);
    *values = NULL;
    return s;
}

/* Applies e inside the open transaction. A failure of the edit itself is recorded in
 * e->err and returns CM_OK; a storage failure returns its status (the batch rolls back). */
static cm_status apply_edit(cm_writer *w, batch *b, cm_edit *e, int64_t now) {
    const cm_layer_def *def = e->layer->def;
    touched *t = cm_batch_touch(w, b, e->layer);
    if (!t) return cm_error_set(&e->err, CM_ERR_NOMEM, NULL, NULL);
    cm_feature *cur = NULL;
    if (e->kind != CM_EDIT_CREATE) {
        cm_status found;
        cur = cm_draft_find(&t->draft, e->id, &found);
        if (found != CM_OK) return cm_error_set(&e->err, found, NULL, NULL);
        if (!cur) {
            cm_error_set(&e->err, CM_ERR_NOT_FOUND, "featureId", "no feature %" PRId64 " in %s", e->id, def->id);
            return CM_OK;
        }
        if (e->has_if_match && !if_match_lists(e, cur->hash)) {
            cm_error_set(&e->err, CM_ERR_PRECONDITION_FAILED, "If-Match",
                         "feature %" PRId64 " was changed by someone else (now version ETag \"f%016" PRIx64
                         "\"); reload it and apply your change again",
                         e->id, cur->hash);
            return CM_OK;
        }
        if (e->kind == CM_EDIT_DELETE) {
            cm_feature *before = cm_feature_ref(cur);
            cm_status s = cm_persist_delete(w->persist, def, e->id, &e->err);
            if (s == CM_ERR_CONFLICT) { /* this edit fails alone: nothing was written for it */
                cm_feature_unref(before);
                row_gone_outside(e->layer);
                return CM_OK;
            }
            if (s == CM_OK)
                s = cm_batch_add_audit(w, b, e->actor, e->role, "deleted", def, e->id, before, NULL, now, &e->err);
            if (s == CM_OK && !cm_draft_remove(&t->draft, e->id)) s = cm_error_set(&e->err, CM_ERR_NOMEM, NULL, NULL);
            /* The change list may point at `before` no longer; deletions carry no feature. */
            cm_feature_unref(before);
            return s;
        }
    }
    cm_geom geom;
    cm_value *values;
    if (e->kind == CM_EDIT_PATCH) {
        if (patched(e, cur, &geom, &values) != CM_OK) return CM_OK;
    } else {
        geom = e->geom;
        values = e->values;
        memset(&e->geom, 0, sizeof e->geom);
        e->values = NULL;
    }
    const char *action = stamp(def, values, cur, e->actor, now);
    if (e->kind == CM_EDIT_PATCH && changes_nothing(def, cur, &geom, values)) {
        /* {} or values it has already: no version, no audit record, no event. */
        cm_geom_release(&geom);
        cm_values_free(values, def->n_props);
        e->unchanged = true;
        e->result = cm_feature_ref(cur);
        return CM_OK;
    }
    int64_t id = e->kind == CM_EDIT_CREATE ? w->next_id[t->layer_index]++ : e->id;
    cm_feature *f;
    cm_status s = cm_feature_create(def, id, &geom, values, &f);
    if (s != CM_OK) return cm_error_set(&e->err, s, NULL, NULL);
    s = e->kind == CM_EDIT_CREATE ? cm_persist_insert_with_id(w->persist, def, id, &f->geom, f->values, &e->err)
                                  : cm_persist_update(w->persist, def, id, &f->geom, f->values, &e->err);
    if (s == CM_ERR_CONFLICT) { /* this edit fails alone: nothing was written for it */
        cm_feature_unref(f);
        row_gone_outside(e->layer);
        return CM_OK;
    }
    if (s == CM_OK) s = cm_batch_add_audit(w, b, e->actor, e->role, action, def, id, cur, f, now, &e->err);
    if (s != CM_OK) {
        cm_feature_unref(f);
        return s;
    }
    e->id = id;
    e->result = cm_feature_ref(f);
    if (!cm_draft_put(&t->draft, f)) {
        cm_feature_unref(f);
        return cm_error_set(&e->err, CM_ERR_NOMEM, NULL, NULL);
    }
    return CM_OK;
}

/* ---- batches ---- */

static void count_batch(cm_writer *w, const cm_edit *edits, bool committed, int64_t taken_us, int64_t commit_us,
                        int64_t committed_us) {
    int64_t n = 0, waited = 0;
    for (const cm_edit *e = edits; e; e = e->next) {
        if (!e->submitted_us) continue; /* the worker's own (time-driven status changes) */
        n++;
        waited += taken_us - e->submitted_us;
    }
    pthread_mutex_lock(&w->lock);
    cm_writer_stats *st = &w->stats;
    st->edits += n;
    st->queue_wait_us += waited;
    if (committed) {
        st->batches++;
        st->apply_us += commit_us - taken_us;
        st->commit_us += committed_us - commit_us;
        if (committed_us - commit_us > st->commit_max_us) st->commit_max_us = committed_us - commit_us;
    } else {
        st->failed_batches++;
    }
    pthread_mutex_unlock(&w->lock);
}

void cm_writer_stats_get(cm_writer *w, cm_writer_stats *out) {
    pthread_mutex_lock(&w->lock);
    *out = w->stats;
    pthread_mutex_unlock(&w->lock);
}

void cm_writer_process_batch(cm_writer *w, cm_edit *edits) {
    int64_t taken_us = cm_clock_monotonic_us(), commit_us = 0, committed_us = 0;
    int64_t now = cm_clock_wall_ms();
    batch b;
    memset(&b, 0, sizeof b);
    int64_t seq0 = w->last_seq;
    char hash0[sizeof w->last_hash];
    memcpy(hash0, w->last_hash, sizeof hash0);
    cm_error err;
    cm_error_clear(&err);
    cm_status s = cm_persist_begin(w->persist, &err);
    bool began = s == CM_OK;
    /* Inside the transaction, which holds the write lock from its start (persist.h): what
     * another program committed before is seen, and nothing it commits can come between. */
    int64_t dv = began ? cm_persist_data_version(w->persist) : 0;
    cm_row_digests *fresh = NULL;
    if (began && dv != w->data_version) {
        fresh = calloc(w->store->n ? w->store->n : 1, sizeof *fresh);
        s = fresh ? cm_outside_follow(w, &b, fresh, now, &err) : cm_error_set(&err, CM_ERR_NOMEM, NULL, NULL);
    }
    for (cm_edit *e = edits; e && s == CM_OK; e = e->next) {
        cm_error_clear(&e->err);
        s = apply_edit(w, &b, e, now);
        if (s != CM_OK) err = e->err;
    }
    if (s == CM_OK) {
        commit_us = cm_clock_monotonic_us();
        s = cm_persist_commit(w->persist, &err);
        committed_us = cm_clock_monotonic_us();
    }
    if (edits) count_batch(w, edits, s == CM_OK, taken_us, commit_us, committed_us);
    for (size_t i = 0; fresh && i < w->store->n; i++) {
        if (s == CM_OK) {
            cm_row_digests_release(&w->seen[i]);
            w->seen[i] = fresh[i];
        } else {
            cm_row_digests_release(&fresh[i]);
        }
    }
    free(fresh);
    if (s == CM_OK) w->data_version = dv;
    if (s != CM_OK) {
        if (began) cm_persist_rollback(w->persist);
        if (edits) /* the worker's own look at the store (no edits) tries again in a few seconds */
            fprintf(stderr, "crisismap: a write transaction failed and was rolled back: %s\n", err.message);
        w->last_seq = seq0;
        memcpy(w->last_hash, hash0, sizeof hash0);
        cm_batch_discard(w, &b, false);
        for (cm_edit *e = edits; e; e = e->next) {
            cm_feature_unref(e->result);
            e->result = NULL;
            cm_error_set(&e->err, CM_ERR_UNAVAILABLE, NULL,
                         "the change could not be stored (%s); nothing was changed, retry", err.message);
        }
    } else {
        for (size_t i = 0; i < b.n; i++) {
            cm_status ds = cm_draft_publish(&b.t[i].draft, w->indexes);
            if (ds != CM_OK)
                fprintf(stderr,
                        "crisismap: changes to %s were committed but are not in memory (%s); restart the server\n",
                        b.t[i].draft.layer->def->id, cm_status_message(ds));
        }
        if (w->listener && b.n_changes) w->listener(w->listener_cls, b.changes, b.n_changes);
        /* Their statuses were set as they were applied; what remains is when they next change. */
        for (cm_edit *e = edits; e; e = e->next)
            if (e->result) cm_status_timer_note(w, e->layer->def, e->result, now);
        /* Sequence numbers of the edits, in the order their audit records were written. */
        size_t k = 0;
        for (cm_edit *e = edits; e; e = e->next)
            if (e->err.status == CM_OK && !e->unchanged && k < b.n_audit) e->seq = b.audit[k++].seq;
        cm_batch_discard(w, &b, true);
    }
    for (cm_edit *e = edits; e;) {
        cm_edit *next = e->next;
        e->done(e, e->done_cls);
        e = next;
    }
}

static void reload_tokens(cm_writer *w) {
    cm_token_set *set;
    cm_error err;
    if (cm_persist_tokens_load(w->persist, &set, &err) == CM_OK) cm_token_registry_publish(w->tokens, set);
    else cm_token_set_unref(set);
}

static void *worker_main(void *arg) {
    cm_writer *w = arg;
    pthread_setname_np(pthread_self(), "cm-writer"); /* for top -H, perf and gdb */
    /* Readers first: on a small machine the worker's commits and snapshot work compete with
     * the server threads for the same cores, and a resident's map waiting behind a burst
     * of edits matters more than an edit waiting a little longer. */
    cm_sched_prefer_throughput(5);
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (!w->head && !w->stopping) {
            int64_t until = w->next_timer_ms < w->next_token_reload_ms ? w->next_timer_ms : w->next_token_reload_ms;
            if (cm_clock_wall_ms() >= until) break;
            struct timespec ts = {(time_t)(until / 1000), (long)(until % 1000) * 1000000L};
            pthread_cond_timedwait(&w->wake, &w->lock, &ts);
        }
        cm_edit *edits = w->head;
        w->head = w->tail = NULL;
        bool stopping = w->stopping;
        pthread_mutex_unlock(&w->lock);
        if (edits) cm_writer_process_batch(w, edits);
        int64_t now = cm_clock_wall_ms();
        /* Not after every batch: it reads every feature of the lifecycle layers, and a batch's
         * own features brought the timer forward as they were committed. */
        if (now >= w->next_timer_ms) cm_status_timer_run(w);
        if (now >= w->next_token_reload_ms) {
            reload_tokens(w);
            /* What another program wrote is followed within seconds even when no one edits. */
            if (cm_persist_data_version(w->persist) != w->data_version) cm_writer_process_batch(w, NULL);
            w->next_token_reload_ms = now + TOKEN_RELOAD_MS;
        }
        pthread_mutex_lock(&w->lock);
        if (stopping && !w->head) break;
    }
    w->stopped = true; /* under the lock: nothing can be queued behind the last batch */
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

static cm_status replay_changes(cm_writer *w, size_t n, cm_error *err) {
    if (!w->listener || w->last_seq == 0) return CM_OK;
    int64_t first = w->last_seq > (int64_t)n ? w->last_seq - (int64_t)n + 1 : 1;
    for (int64_t seq = first; seq <= w->last_seq; seq++) {
        cm_audit_record r;
        if (cm_persist_audit_get(w->persist, seq, &r, err) != CM_OK) continue;
        cm_layer *layer = r.layer ? cm_store_find(w->store, r.layer) : NULL;
        if (layer) {
            int64_t version = 0;
            json_t *after = r.after ? json_loads(r.after, 0, NULL) : NULL;
            if (after) version = json_integer_value(json_object_get(json_object_get(after, "properties"), "version"));
            json_decref(after);
            cm_change c = {r.seq, r.action, layer->def, r.feature_id, r.after, r.after ? strlen(r.after) : 0, version};
            w->listener(w->listener_cls, &c, 1);
        }
        cm_audit_record_release(&r);
    }
    return CM_OK;
}

cm_status cm_writer_start(cm_persist *p, cm_store *st, cm_token_registry *tokens, cm_change_listener listener,
                          void *listener_cls, size_t replay, cm_writer **out, cm_error *err) {
    *out = NULL;
    cm_writer *w = calloc(1, sizeof *w);
    if (!w || !(w->next_id = calloc(st->n ? st->n : 1, sizeof *w->next_id))) {
        free(w);
        cm_persist_close(p);
        return cm_error_set(err, CM_ERR_NOMEM, NULL, NULL);
    }
    w->persist = p;
    w->store = st;
    w->tokens = tokens;
    w->listener = listener;
    w->listener_cls = listener_cls;
    cm_status s = cm_persist_audit_last(p, &w->last_seq, w->last_hash, err);
    for (size_t i = 0; s == CM_OK && i < st->n; i++) {
        cm_snapshot *snap = cm_layer_acquire(&st->layers[i]);
        int64_t max_id = snap->n ? snap->features[snap->n - 1]->id : 0;
        cm_snapshot_unref(snap);
        int64_t audited = cm_persist_audit_max_feature_id(p, st->layers[i].def);
        w->next_id[i] = (audited > max_id ? audited : max_id) + 1;
    }
    /* The look at the store starts from what the load saw (outside.c). */
    if (s == CM_OK && !(w->seen = cm_persist_take_loaded(p, &w->data_version)))
        s = cm_error_set(err, CM_ERR_INTERNAL, NULL, "the store was not loaded through this handle");
    if (s != CM_OK) {
        cm_persist_close(p);
        free(w->next_id);
        free(w);
        return s;
    }
    reload_tokens(w);
    replay_changes(w, replay, err);
    w->next_token_reload_ms = cm_clock_wall_ms() + TOKEN_RELOAD_MS;
    w->next_timer_ms = 0; /* first pass at once: statuses may have changed while stopped */
    pthread_mutex_init(&w->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_cond_init(&w->wake, &ca);
    pthread_condattr_destroy(&ca);
    w->indexes = cm_index_builder_start();
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
        cm_index_builder_stop(w->indexes);
        for (size_t i = 0; i < st->n; i++) cm_row_digests_release(&w->seen[i]);
        free(w->seen);
        cm_persist_close(p);
        free(w->next_id);
        free(w);
        return cm_error_set(err, CM_ERR_INTERNAL, NULL, "cannot start the persistence thread");
    }
    *out = w;
    return CM_OK;
}

void cm_writer_submit(cm_writer *w, cm_edit *e) {
    e->next = NULL;
    if (e->kind == CM_EDIT_AUDIT_READ) { /* a caller's mistake: reads go to audit_reader.h */
        cm_error_set(&e->err, CM_ERR_INTERNAL, NULL, "audit reads are not the persistence worker's");
        e->done(e, e->done_cls);
        return;
    }
    e->submitted_us = cm_clock_monotonic_us();
    pthread_mutex_lock(&w->lock);
    if (w->stopped) {
        pthread_mutex_unlock(&w->lock);
        cm_error_set(&e->err, CM_ERR_UNAVAILABLE, NULL, "the server is shutting down; retry in a moment");
        e->done(e, e->done_cls);
        return;
    }
    if (w->tail) w->tail->next = e;
    else w->head = e;
    w->tail = e;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
}

void cm_writer_stop(cm_writer *w) {
    if (!w) return;
    pthread_mutex_lock(&w->lock);
    bool join = !w->stopping;
    w->stopping = true;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    if (!join) return;
    pthread_join(w->thread, NULL);
    cm_index_builder_stop(w->indexes); /* releases its snapshots before the layers go */
    w->indexes = NULL;
    cm_persist_close(w->persist);
    w->persist = NULL;
}

void cm_writer_destroy(cm_writer *w) {
    if (!w) return;
    cm_writer_stop(w);
    for (size_t i = 0; w->seen && i < w->store->n; i++) cm_row_digests_release(&w->seen[i]);
    free(w->seen);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->wake);
    free(w->next_id);
    free(w);
}
