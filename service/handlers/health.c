/* health.c — /healthz: the store is open and every layer is loaded, with counts. */
#include <jansson.h>

#include "../../layers/clock.h"
#include "handlers.h"

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
    /* changed_outside: layers another program added features to, or removed features of, while
     * the server ran (memory differs from the store until a restart). */
    json_t *doc = json_pack("{s:s, s:b, s:o, s:I, s:o}", "status", "ok", "store_open", 1, "layers", layers, "uptime_s",
                            (json_int_t)((now - req->srv->started_ms) / 1000), "changed_outside", outside);
    cm_handlers_send_json(resp, doc, "application/json");
    resp->cache_control = "no-store";
}
