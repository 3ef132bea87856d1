/* edit.c — OGC API - Features Part 4: POST creates, PUT replaces, PATCH merges (RFC 7396),
 * DELETE removes; plus the admin's audit log.
 *
 * DESIGN: everything that can be checked without the store's current state is checked
 * here, on the server thread: token and scope, media type, JSON, geometry structure, CRS,
 * ranges, GEOS validity and the property schema. The edit then goes to the persistence
 * worker, which checks If-Match against the current version, assigns server-owned values,
 * commits with the audit record and publishes; the connection is suspended meanwhile and
 * `finish_*` renders the outcome. A refused request changes nothing. */
#include <inttypes.h>
#include <jansson.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../layers/feature_input.h"
#include "../../layers/ogr_geom.h"
#include "../../layers/validate.h"
#include "handlers.h"

/* Authenticates and checks that the token may edit the collection named in the path.
 * Returns the layer, or NULL with resp filled. */
static cm_layer *editable_layer(cm_request *req, cm_response *resp, char *actor, size_t actor_len, char *role,
                                size_t role_len) {
    cm_layer *layer = cm_store_find(req->srv->store, req->captures[0]);
    cm_token_set *set;
    const cm_token *tok;
    if (cm_auth_authenticate(req, resp, &set, &tok) != CM_OK) return NULL;
    if (!layer) {
        cm_token_set_unref(set);
        cm_response_error(resp, CM_ERR_NOT_FOUND, "collectionId", "no collection \"%.80s\"", req->captures[0]);
        return NULL;
    }
    bool reference = layer->def->editing == CM_EDIT_REFERENCE;
    if (!cm_token_may_edit(tok, layer->def->id, reference)) {
        cm_response_error(resp, CM_ERR_FORBIDDEN, "collectionId",
                          "token \"%s\" (%s) may not edit %s%s", tok->name, cm_role_name(tok->role), layer->def->id,
                          reference ? " (reference data: admins only)" : "");
        cm_token_set_unref(set);
        return NULL;
    }
    snprintf(actor, actor_len, "%s", tok->name);
    snprintf(role, role_len, "%s", cm_role_name(tok->role));
    cm_token_set_unref(set);
    return layer;
}

static bool media_type_is(const char *header, const char *type) {
    if (!header) return false;
    size_t n = strlen(type);
    return strncasecmp(header, type, n) == 0 && (header[n] == '\0' || header[n] == ';' || header[n] == ' ');
}

/* Parses the body as one JSON value; NaN, Infinity, duplicate keys and trailing garbage are
 * refused by jansson. Returns NULL with resp filled. */
static json_t *parse_body(cm_request *req, cm_response *resp) {
    if (!req->body || req->body_len == 0) {
        cm_response_error(resp, CM_ERR_BAD_JSON, "body", "the request has no body");
        return NULL;
    }
    json_error_t jerr;
    json_t *doc = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc) {
        cm_response_error(resp, CM_ERR_BAD_JSON, "body", "not valid JSON at line %d, column %d: %s", jerr.line,
                          jerr.column, jerr.text);
        return NULL;
    }
    return doc;
}

/* The CRS of coordinates in the body (Content-Crs: <uri>), CRS84 when absent. */
static bool body_crs(cm_request *req, cm_response *resp, cm_crs *crs) {
    crs->epsg = 0;
    const char *h = cm_request_header(req, "Content-Crs");
    if (!h) return true;
    char uri[200];
    size_t n = strlen(h);
    if (n >= 2 && h[0] == '<' && h[n - 1] == '>' && n - 2 < sizeof uri) {
        memcpy(uri, h + 1, n - 2);
        uri[n - 2] = '\0';
    } else {
        snprintf(uri, sizeof uri, "%s", h);
    }
    if (!cm_crs_parse(uri, crs) || !cm_crs_check(*crs)) {
        cm_response_error(resp, CM_ERR_BAD_PARAMETER, "Content-Crs",
                          "Content-Crs must name a CRS PROJ knows, e.g. <http://www.opengis.net/def/crs/EPSG/0/3857>");
        return false;
    }
    return true;
}

/* True when tag[0..len) is one of the tags we issue for a feature version: f<16 lowercase
 * hex>, then "-<EPSG code>" for a response in another CRS, then "-gz" for the gzip twin
 * of a response; all of them name the same version. */
static bool our_version_tag(const char *tag, size_t len, uint64_t *hash) {
    if (len < 17 || tag[0] != 'f') return false;
    uint64_t v = 0;
    for (size_t i = 1; i < 17; i++) {
        char c = tag[i];
        if (c >= '0' && c <= '9') v = v << 4 | (uint64_t)(c - '0');
        else if (c >= 'a' && c <= 'f') v = v << 4 | (uint64_t)(c - 'a' + 10);
        else return false;
    }
    size_t i = 17;
    if (len - i >= 3 && memcmp(tag + len - 3, "-gz", 3) == 0) len -= 3;
    if (i < len) { /* -<EPSG code> */
        if (tag[i++] != '-' || i == len || len - i > 9) return false;
        for (; i < len; i++)
            if (tag[i] < '0' || tag[i] > '9') return false;
    }
    *hash = v;
    return true;
}

/* If-Match: a list of entity tags, or "*". The edit applies only to a version whose tag
 * is listed; tags we never issued match nothing, so the edit fails with 412 rather than
 * being applied blindly. A weak tag is read as its strong twin (cm_etag_list_next drops
 * "W/"), unlike RFC 9110's strong comparison: we issue only strong tags, each the hash of
 * one version, and a proxy that compresses (nginx's gzip) marks them weak on the way, so
 * the strict rule would fail every edit behind it while the hash still names one version. A layer that requires If-Match takes no "*": the point of
 * requiring it is that no change overwrites one the operator has not seen. */
static bool if_match(cm_request *req, cm_response *resp, const cm_layer *layer, cm_edit *e) {
    const char *h = cm_request_header(req, MHD_HTTP_HEADER_IF_MATCH);
    cm_etag_list l = {h ? h : "", false};
    const char *tag;
    size_t len;
    cm_etag_token t = cm_etag_list_next(&l, &tag, &len);
    if (t == CM_ETAG_STAR && cm_etag_list_next(&l, &tag, &len) != CM_ETAG_END) goto malformed;
    if (t == CM_ETAG_END || t == CM_ETAG_STAR) {
        if (layer->def->require_if_match) {
            cm_response_error(resp, CM_ERR_PRECONDITION_REQUIRED, "If-Match",
                              "%s requires If-Match with the feature's ETag (not *), so no change overwrites "
                              "another unseen",
                              layer->def->id);
            return false;
        }
        return true;
    }
    e->has_if_match = true;
    e->n_if_match = 0;
    for (; t == CM_ETAG_TAG; t = cm_etag_list_next(&l, &tag, &len)) {
        uint64_t hash;
        if (!our_version_tag(tag, len, &hash)) continue;
        if (e->n_if_match == CM_IF_MATCH_MAX) {
            cm_response_error(resp, CM_ERR_BAD_PARAMETER, "If-Match", "If-Match lists more than %d of our ETags",
                              CM_IF_MATCH_MAX);
            return false;
        }
        e->if_match[e->n_if_match++] = hash;
    }
    if (t == CM_ETAG_END) return true;
malformed:
    cm_response_error(resp, CM_ERR_BAD_PARAMETER, "If-Match",
                      "If-Match must be * or a comma-separated list of ETags such as \"f0123456789abcdef\"");
    return false;
}

static bool feature_id(cm_request *req, cm_response *resp, int64_t *id) {
    long v;
    const char *s = req->captures[1];
    if (!cm_query_parse_long(s, 1, 999999999999999999L, &v) || (s[0] == '0')) {
        cm_response_error(resp, CM_ERR_NOT_FOUND, "featureId", "no feature \"%.40s\"", s);
        return false;
    }
    *id = v;
    return true;
}

/* Reads and checks a full Feature body into the edit's geometry and values. */
static bool read_feature(cm_request *req, cm_response *resp, const cm_layer *layer, cm_edit *e) {
    const char *ct = cm_request_header(req, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!media_type_is(ct, "application/geo+json") && !media_type_is(ct, "application/json")) {
        cm_response_error(resp, CM_ERR_UNSUPPORTED_MEDIA_TYPE, "Content-Type",
                          "send the feature as application/geo+json (got %.60s)", ct ? ct : "no Content-Type");
        return false;
    }
    cm_crs crs;
    if (!body_crs(req, resp, &crs)) return false;
    json_t *doc = parse_body(req, resp);
    if (!doc) return false;
    cm_error err;
    cm_error_clear(&err);
    const cm_layer_def *def = layer->def;
    cm_status s = cm_feature_input_read(def, doc, crs, &e->geom, &e->values, &err);
    json_decref(doc);
    if (s == CM_OK) s = cm_validate_geom(def, &e->geom, &err);
    if (s == CM_OK) s = cm_ogr_check_valid(&e->geom, &err);
    if (s == CM_OK) s = cm_validate_values(def, e->values, &err);
    if (s != CM_OK) {
        cm_response_set_error(resp, &err);
        return false;
    }
    return true;
}

static void write_feature_body(cm_request *req, cm_response *resp, const cm_feature *f, int status) {
    cm_buf b;
    cm_buf_init(&b, (size_t)1 << 30);
    cm_buf_append(&b, f->json, f->json_len - 1);
    cm_buf_printf(&b, ",\"links\":[{\"href\":\"%s/api/collections/%s/items/%" PRId64
                      "\",\"rel\":\"self\",\"type\":\"application/geo+json\"}]}",
                  req->base_url, req->captures[0], f->id);
    cm_response_take_buf(resp, status, "application/geo+json", &b);
    if (resp->status != status) return;
    cm_handlers_feature_etag(f, 0, resp->etag, sizeof resp->etag);
    snprintf(resp->content_crs, sizeof resp->content_crs, "%s", CM_CRS84_URI);
    resp->cache_control = "no-store";
}

static void finish_write(cm_request *req, cm_response *resp, cm_edit *e) {
    if (e->err.status != CM_OK) {
        cm_response_set_error(resp, &e->err);
        return;
    }
    if (e->kind == CM_EDIT_DELETE) {
        resp->status = 204;
        resp->cache_control = "no-store";
        return;
    }
    write_feature_body(req, resp, e->result, e->kind == CM_EDIT_CREATE ? 201 : 200);
    if (e->kind == CM_EDIT_CREATE)
        snprintf(resp->location, sizeof resp->location, "%s/api/collections/%s/items/%" PRId64, req->base_url,
                 e->layer->def->id, e->id);
}

static bool begin_edit(cm_request *req, cm_response *resp, cm_edit_kind kind, cm_layer **layer, cm_edit **edit) {
    char actor[128], role[16];
    *layer = editable_layer(req, resp, actor, sizeof actor, role, sizeof role);
    if (!*layer) return false;
    cm_error err;
    cm_error_clear(&err);
    if (cm_query_check_plain(req->args, req->n_args, &err) != CM_OK) {
        cm_response_set_error(resp, &err);
        return false;
    }
    cm_edit *e = cm_request_edit(req);
    e->kind = kind;
    e->layer = *layer;
    snprintf(e->actor, sizeof e->actor, "%s", actor);
    snprintf(e->role, sizeof e->role, "%s", role);
    *edit = e;
    return true;
}

void handle_items_create(cm_request *req, cm_response *resp) {
    cm_layer *layer;
    cm_edit *e;
    if (!begin_edit(req, resp, CM_EDIT_CREATE, &layer, &e)) return;
    if (!read_feature(req, resp, layer, e)) return;
    req->finish = finish_write;
}

void handle_item_replace(cm_request *req, cm_response *resp) {
    cm_layer *layer;
    cm_edit *e;
    if (!begin_edit(req, resp, CM_EDIT_REPLACE, &layer, &e)) return;
    if (!feature_id(req, resp, &e->id) || !if_match(req, resp, layer, e) || !read_feature(req, resp, layer, e)) return;
    req->finish = finish_write;
}

void handle_item_update(cm_request *req, cm_response *resp) {
    cm_layer *layer;
    cm_edit *e;
    if (!begin_edit(req, resp, CM_EDIT_PATCH, &layer, &e)) return;
    if (!feature_id(req, resp, &e->id) || !if_match(req, resp, layer, e)) return;
    const char *ct = cm_request_header(req, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!media_type_is(ct, "application/merge-patch+json")) {
        cm_response_error(resp, CM_ERR_UNSUPPORTED_MEDIA_TYPE, "Content-Type",
                          "PATCH takes a JSON merge patch as application/merge-patch+json (got %.60s)",
                          ct ? ct : "no Content-Type");
        return;
    }
    if (!body_crs(req, resp, &e->crs)) return;
    json_t *doc = parse_body(req, resp);
    if (!doc) return;
    if (!json_is_object(doc)) {
        json_decref(doc);
        cm_response_error(resp, CM_ERR_BAD_JSON, "body", "a merge patch must be a JSON object");
        return;
    }
    e->patch = doc;
    req->finish = finish_write;
}

void handle_item_delete(cm_request *req, cm_response *resp) {
    cm_layer *layer;
    cm_edit *e;
    if (!begin_edit(req, resp, CM_EDIT_DELETE, &layer, &e)) return;
    if (!feature_id(req, resp, &e->id) || !if_match(req, resp, layer, e)) return;
    req->finish = finish_write;
}

static void finish_audit(cm_request *req, cm_response *resp, cm_edit *e) {
    if (e->err.status != CM_OK) {
        cm_response_set_error(resp, &e->err);
        return;
    }
    json_t *links = json_array();
    json_array_append_new(links, cm_handlers_link(req, "/api/audit", "self", "application/json", NULL));
    if (e->audit_before > 0) {
        /* The same question, further back: with its filters (an operator may only ask for one
         * feature's history) and its page size. Collection ids are checked identifiers. */
        char path[200];
        int len = snprintf(path, sizeof path, "/api/audit?before=%" PRId64 "&limit=%d", e->audit_before + 1, e->audit_limit);
        if (e->layer && len > 0 && (size_t)len < sizeof path)
            len += snprintf(path + len, sizeof path - (size_t)len, "&collection=%s", e->layer->def->id);
        if (e->id >= 0 && len > 0 && (size_t)len < sizeof path)
            snprintf(path + len, sizeof path - (size_t)len, "&feature=%" PRId64, e->id);
        json_array_append_new(links, cm_handlers_link(req, path, "next", "application/json", "older records"));
    }
    json_t *doc = json_pack("{s:O, s:o}", "records", e->audit, "links", links);
    cm_handlers_send_json(resp, doc, "application/json");
    resp->cache_control = "no-store";
}

void handle_whoami_get(cm_request *req, cm_response *resp) {
    cm_token_set *set;
    const cm_token *tok;
    if (cm_auth_authenticate(req, resp, &set, &tok) != CM_OK) return;
    json_t *layers = json_array();
    for (size_t i = 0; i < req->srv->store->n; i++) {
        const cm_layer_def *def = req->srv->store->layers[i].def;
        if (cm_token_may_edit(tok, def->id, def->editing == CM_EDIT_REFERENCE)) json_array_append_new(layers, json_string(def->id));
    }
    json_t *doc = json_pack("{s:s, s:s, s:o}", "name", tok->name, "role", cm_role_name(tok->role), "may_edit", layers);
    cm_token_set_unref(set);
    cm_handlers_send_json(resp, doc, "application/json");
    resp->cache_control = "no-store";
}

void handle_audit_list(cm_request *req, cm_response *resp) {
    cm_token_set *set;
    const cm_token *tok;
    if (cm_auth_authenticate(req, resp, &set, &tok) != CM_OK) return;
    /* Admins read the whole log; an operator reads the history of one feature of a layer
     * it may edit (the console shows it next to the feature). */
    bool admin = tok->role == CM_ROLE_ADMIN;
    const char *collection = NULL, *feature = NULL;
    for (size_t i = 0; i < req->n_args; i++) {
        if (!strcmp(req->args[i].key, "collection")) collection = req->args[i].value;
        if (!strcmp(req->args[i].key, "feature")) feature = req->args[i].value;
    }
    const cm_layer *scope = collection ? cm_store_find(req->srv->store, collection) : NULL;
    bool allowed = admin || (scope && feature && cm_token_may_edit(tok, scope->def->id, scope->def->editing == CM_EDIT_REFERENCE));
    cm_token_set_unref(set);
    if (!allowed) {
        cm_response_error(resp, CM_ERR_FORBIDDEN, "Authorization",
                          "the audit log is for admin tokens; operators may read one feature's history (collection and feature)");
        return;
    }
    cm_edit *e = cm_request_edit(req);
    e->kind = CM_EDIT_AUDIT_READ;
    e->id = -1;
    e->audit_limit = 100;
    for (size_t i = 0; i < req->n_args; i++) {
        const char *k = req->args[i].key, *v = req->args[i].value;
        long n;
        if (!strcmp(k, "limit") && cm_query_parse_long(v, 1, 500, &n)) e->audit_limit = (int)n;
        else if (!strcmp(k, "before") && cm_query_parse_long(v, 1, 1L << 62, &n)) e->audit_before = n;
        else if (!strcmp(k, "feature") && cm_query_parse_long(v, 1, 1L << 62, &n)) e->id = n;
        else if (!strcmp(k, "collection") && (e->layer = cm_store_find(req->srv->store, v)) != NULL) continue;
        else {
            cm_response_error(resp, CM_ERR_BAD_PARAMETER, k,
                              "audit takes limit (1..500), before (a sequence number), collection and feature");
            return;
        }
    }
    req->finish = finish_audit;
}
