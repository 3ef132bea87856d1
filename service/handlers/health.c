/* health.c — /healthz: the store is open and every layer is loaded, with counts, and what
 * the persistence worker has done (writer.h: cm_writer_stats). */
#include <jansson.h>

#include "../../layers/clock.h"
#include "handlers.h"

/* Totals since start, in milliseconds: a monitor or benchmark takes differences over its own
 * window. A slow disk shows as commit time, a busy worker as queue wait. */
static json_t *writes_of(cm_writer *w) {
    cm_writer_stats st;
    cm_writer_stats_get(w, &st);
    return json_pack("{s:I, s:I, s:I, s:f, s:f, s:f, s:f}", "edits", (json_int_t)st.edits, "batches",
                     (json_int_t)st.batches, "failed_batches", (json_int_t)st.failed_batches, "queue_wait_ms",
                     st.queue_wait_us / 1000.0, "apply_ms", st.apply_us / 1000.0, "commit_ms", st.commit_us / 1000.0,
                     "commit_max_ms", st.commit_max_us / 1000.0);
}

void handle_health_get(cm_request *req, cm_response *resp) {
    json_t *layers = json_object(), *outside = json_array();
    for (size_t i = 0; i < req->srv->store->n; i++) {
        cm_layer *l = &req->srv->store->layers[i];
        cm_snapshot *s = cm_layer_acquire(l);
        json_object_set_new(layers, s->def->id, json_integer((json_int_t)s->n));
        if (atomic_load(&l->changed_outside)) json_array_append_new(outside, json_string(s->def->id));
        cm_snapshot_unref(s);
    }
    int64_t now = cm_clock_wall_ms();
    /* changed_outside: layers another program wrote to while the server ran (followed within
     * seconds: layers/outside.c). */
    json_t *doc = json_pack("{s:s, s:b, s:o, s:I, s:o}", "status", "ok", "store_open", 1, "layers", layers, "uptime_s",
                            (json_int_t)((now - req->srv->started_ms) / 1000), "changed_outside", outside);
    if (req->srv->writer) json_object_set_new(doc, "writes", writes_of(req->srv->writer));
    cm_handlers_send_json(resp, doc, "application/json");
    resp->cache_control = "no-store";
}
