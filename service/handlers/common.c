/* common.c — helpers shared by the handlers. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"

cm_query_limits cm_handlers_limits(const cm_request *req) {
    const cm_config *cfg = req->srv->cfg;
    return (cm_query_limits){cfg->default_limit, cfg->max_limit, cfg->crs, cfg->n_crs};
}

char *cm_handlers_dump_json(const json_t *doc) {
    char *text = json_dumps(doc, JSON_COMPACT | JSON_ENSURE_ASCII);
    if (!text || !strpbrk(text, "<>&")) return text;
    cm_buf b;
    cm_buf_init(&b, (size_t)1 << 30);
    cm_buf_append_json_text_markup_safe(&b, text, strlen(text));
    free(text);
    return cm_buf_steal(&b, NULL);
}

void cm_handlers_send_json(cm_response *resp, json_t *doc, const char *content_type) {
    char *body = doc ? cm_handlers_dump_json(doc) : NULL;
    json_decref(doc);
    if (!body) {
        cm_response_error(resp, CM_ERR_NOMEM, NULL, NULL);
        return;
    }
    cm_response_set_body(resp, 200, content_type, body, strlen(body));
}

json_t *cm_handlers_link(const cm_request *req, const char *path, const char *rel, const char *type,
                         const char *title) {
    char href[768];
    snprintf(href, sizeof href, "%s%s", req->base_url, path);
    json_t *l = json_pack("{s:s, s:s, s:s}", "href", href, "rel", rel, "type", type);
    if (l && title) json_object_set_new(l, "title", json_string(title));
    return l;
}

cm_layer *cm_handlers_layer(cm_request *req, cm_response *resp) {
    cm_layer *layer = cm_store_find(req->srv->store, req->captures[0]);
    if (!layer) cm_response_error(resp, CM_ERR_NOT_FOUND, "collectionId", "no collection \"%.80s\"", req->captures[0]);
    return layer;
}

bool cm_handlers_plain_query(cm_request *req, cm_response *resp) {
    cm_error err;
    cm_error_clear(&err);
    if (cm_query_check_plain(req->args, req->n_args, &err) == CM_OK) return true;
    cm_response_set_error(resp, &err);
    return false;
}

void cm_handlers_feature_etag(const cm_feature *f, int epsg, char *out, size_t n) {
    size_t used = 0; /* without printf: every feature answer has one (layers/buf.h) */
    cm_text_append(out, n, &used, "f");
    cm_text_append_hex64(out, n, &used, f->hash);
    if (epsg) {
        cm_text_append(out, n, &used, "-");
        cm_text_append_int(out, n, &used, epsg);
    }
}
