/* collections.c — /api/collections and /api/collections/{id}: bilingual metadata,
 * spatial and temporal extents from the current snapshot, offered CRSs. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../../layers/datetime.h"
#include "handlers.h"

static json_t *extent_of(const cm_snapshot *s) {
    json_t *bbox;
    if (s->extent.min_lon <= s->extent.max_lon)
        bbox = json_pack("[[f, f, f, f]]", s->extent.min_lon, s->extent.min_lat, s->extent.max_lon, s->extent.max_lat);
    else
        bbox = json_pack("[[f, f, f, f]]", -180.0, -90.0, 180.0, 90.0);
    json_t *ext = json_pack("{s:{s:o, s:s}}", "spatial", "bbox", bbox, "crs", CM_CRS84_URI);
    if (s->def->time_start >= 0) {
        json_t *interval = json_array();
        char a[40], b[40];
        if (s->t_min_ms <= s->t_max_ms) {
            cm_datetime_format(s->t_min_ms, a);
            cm_datetime_format(s->t_max_ms, b);
            json_array_append_new(interval, json_pack("[s, s]", a, b));
        } else {
            json_array_append_new(interval, json_pack("[n, n]"));
        }
        json_object_set_new(ext, "temporal", json_pack("{s:o, s:s}", "interval", interval, "trs",
                                                       "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"));
    }
    return ext;
}

static json_t *collection_doc(const cm_request *req, cm_layer *layer) {
    const cm_layer_def *def = layer->def;
    cm_snapshot *snap = cm_layer_acquire(layer);
    char path[160];
    json_t *links = json_array();
    snprintf(path, sizeof path, "/api/collections/%s", def->id);
    json_array_append_new(links, cm_handlers_link(req, path, "self", "application/json", def->title.en));
    snprintf(path, sizeof path, "/api/collections/%s/items", def->id);
    json_array_append_new(links, cm_handlers_link(req, path, "items", "application/geo+json", "Features (GeoJSON)"));
    json_t *crs = json_array();
    char uri[96];
    for (size_t i = 0; i < req->srv->cfg->n_crs; i++) {
        cm_crs_uri(req->srv->cfg->crs[i], uri, sizeof uri);
        json_array_append_new(crs, json_string(uri));
    }
    json_t *geoms = json_array();
    for (int t = CM_GEOM_POINT; t <= CM_GEOM_MULTIPOLYGON; t++)
        if (cm_schema_allows_geom(def, (cm_geom_type)t)) json_array_append_new(geoms, json_string(cm_geom_type_name((cm_geom_type)t)));
    json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:s, s:o, s:o, s:s, s:I}", "id", def->id, "title",
                            def->title.en, "title_ar", def->title.ar, "description", def->description.en,
                            "description_ar", def->description.ar, "itemType", "feature", "extent", extent_of(snap),
                            "crs", crs, "storageCrs", CM_CRS84_URI, "geometryTypes", geoms, "links", links, "editing",
                            def->editing == CM_EDIT_OPERATOR ? "operator" : "reference", "numberOfFeatures",
                            (json_int_t)snap->n);
    cm_snapshot_unref(snap);
    return doc;
}

void handle_collections_list(cm_request *req, cm_response *resp) {
    cm_error err;
    cm_error_clear(&err);
    if (cm_query_check_plain(req->args, req->n_args, &err) != CM_OK) {
        cm_response_set_error(resp, &err);
        return;
    }
    json_t *list = json_array();
    for (size_t i = 0; i < req->srv->store->n; i++)
        json_array_append_new(list, collection_doc(req, &req->srv->store->layers[i]));
    json_t *links = json_array();
    json_array_append_new(links, cm_handlers_link(req, "/api/collections", "self", "application/json", "The collections"));
    cm_handlers_send_json(resp, json_pack("{s:o, s:o}", "links", links, "collections", list), "application/json");
}

void handle_collection_get(cm_request *req, cm_response *resp) {
    cm_error err;
    cm_error_clear(&err);
    cm_layer *layer = cm_store_find(req->srv->store, req->captures[0]);
    if (!layer) {
        cm_response_error(resp, CM_ERR_NOT_FOUND, "collectionId", "no collection \"%.80s\"", req->captures[0]);
        return;
    }
    if (cm_query_check_plain(req->args, req->n_args, &err) != CM_OK) {
        cm_response_set_error(resp, &err);
        return;
    }
    cm_handlers_send_json(resp, collection_doc(req, layer), "application/json");
}
