/* health.c — /healthz: the store is open and every layer is loaded, with counts. */
#include <jansson.h>

#include "../../layers/clock.h"
#include "handlers.h"

void handle_health_get(cm_request *req, cm_response *resp) {
    json_t *layers = json_object();
    for (size_t i = 0; i < req->srv->store->n; i++) {
        cm_snapshot *s = cm_layer_acquire(&req->srv->store->layers[i]);
        json_object_set_new(layers, s->def->id, json_integer((json_int_t)s->n));
        cm_snapshot_unref(s);
    }
    int64_t now = cm_clock_wall_ms();
    json_t *doc = json_pack("{s:s, s:b, s:o, s:I}", "status", "ok", "store_open", 1, "layers", layers, "uptime_s",
                            (json_int_t)((now - req->srv->started_ms) / 1000));
    cm_handlers_send_json(resp, doc, "application/json");
    resp->cache_control = "no-store";
}
