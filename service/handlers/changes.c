/* changes.c — GET /api/collections/{id}/changes?since=SEQ: what changed in a layer since a
 * sequence number, tombstones included, for polling clients and for catching up after the
 * live event log has rolled over.
 *
 * DESIGN: answered from the in-memory event log when it still holds everything after
 * `since`; otherwise from the audit log (which keeps every change forever) through the
 * audit reader (layers/audit_reader.h), beside the writes. Sequence numbers are the audit
 * log's, so they survive restarts. */
#include <inttypes.h>
#include <string.h>

#include "../events.h"
#include "handlers.h"

#define CHANGES_DEFAULT_LIMIT 1000
#define CHANGES_MAX_LIMIT 10000

static void send_changes(cm_request *req, cm_response *resp, const char *collection, int64_t since, const char *items,
                         size_t items_len, int count, int64_t last, bool more) {
    cm_buf b;
    cm_buf_init(&b, (size_t)1 << 30);
    cm_buf_printf(&b, "{\"collection\":\"%s\",\"since\":%" PRId64 ",\"next_since\":%" PRId64 ",\"last_seq\":%" PRId64
                      ",\"numberReturned\":%d,\"more\":%s,\"changes\":[",
                  collection, since, last, cm_events_last_seq(req->srv->events), count, more ? "true" : "false");
    cm_buf_append(&b, items, items_len);
    cm_buf_printf(&b, "],\"links\":[{\"href\":\"%s/api/collections/%s/changes?since=%" PRId64
                      "\",\"rel\":\"self\",\"type\":\"application/json\"}",
                  req->base_url, collection, since);
    if (more)
        cm_buf_printf(&b, ",{\"href\":\"%s/api/collections/%s/changes?since=%" PRId64 "\",\"rel\":\"next\",\"type\":\"application/json\"}",
                      req->base_url, collection, last);
    cm_buf_append_str(&b, "]}");
    cm_response_take_buf(resp, 200, "application/json", &b);
}

static void finish_from_audit(cm_request *req, cm_response *resp, cm_edit *e) {
    if (e->err.status != CM_OK) {
        cm_response_set_error(resp, &e->err);
        return;
    }
    /* The reader looked at the log up to audit_after: the next request goes on from there, even
     * when none of those records was this layer's. */
    int64_t since = e->audit_since;
    bool more = e->audit_after < cm_events_last_seq(req->srv->events);
    send_changes(req, resp, e->layer->def->id, since, e->changes ? e->changes : "", e->changes_len, e->changes_count,
                 e->audit_after > since ? e->audit_after : since, more);
}

void handle_changes_get(cm_request *req, cm_response *resp) {
    cm_layer *layer = cm_handlers_layer(req, resp);
    if (!layer) return;
    long since = 0, limit = CHANGES_DEFAULT_LIMIT;
    cm_error dup;
    if (cm_query_check_duplicates(req->args, req->n_args, &dup) != CM_OK) {
        cm_response_set_error(resp, &dup);
        return;
    }
    for (size_t i = 0; i < req->n_args; i++) {
        const char *k = req->args[i].key, *v = req->args[i].value;
        if (!strcmp(k, "since")) {
            if (!cm_query_parse_long(v, 0, 1L << 62, &since)) {
                cm_response_error(resp, CM_ERR_BAD_PARAMETER, "since", "since must be a sequence number (0 for everything)");
                return;
            }
        } else if (!strcmp(k, "limit")) {
            if (!cm_query_parse_long(v, 1, CHANGES_MAX_LIMIT, &limit)) {
                cm_response_error(resp, CM_ERR_BAD_PARAMETER, "limit", "limit must be an integer from 1 to %d", CHANGES_MAX_LIMIT);
                return;
            }
        } else if (strcmp(k, "f") != 0) {
            cm_response_error(resp, CM_ERR_UNKNOWN_PARAMETER, k, "changes take since and limit");
            return;
        }
    }
    cm_buf items;
    cm_buf_init(&items, (size_t)1 << 30);
    int count;
    int64_t last;
    if (cm_events_changes_since(req->srv->events, layer->def->id, since, (int)limit, &items, &count, &last)) {
        bool more = count == limit && last < cm_events_last_seq(req->srv->events);
        send_changes(req, resp, layer->def->id, since, items.data ? items.data : "", items.len, count, last, more);
        cm_buf_release(&items);
        resp->cache_control = "no-cache";
        return;
    }
    cm_buf_release(&items);
    /* The live log has rolled past `since`: read the audit log. */
    cm_edit *e = cm_request_edit(req);
    e->kind = CM_EDIT_AUDIT_READ;
    e->layer = layer;
    e->id = -1; /* every feature of the layer */
    e->audit_forward = true;
    e->audit_after = since;
    e->audit_since = since;
    e->audit_limit = (int)(limit < CM_AUDIT_READ_MAX ? limit : CM_AUDIT_READ_MAX);
    e->audit_as_changes = true;
    req->finish = finish_from_audit;
}
