/* collections.c — /api/collections and /api/collections/{id}: bilingual metadata,
 * spatial and temporal extents from the current snapshot, offered CRSs. */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
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
    snprintf(path, sizeof path, "/api/collections/%s/schema", def->id);
    /* GDAL 3.6's OAPIF driver looks for "describedBy"; the registered relation is
     * "describedby". Both point to the same schema. */
    json_array_append_new(links, cm_handlers_link(req, path, "describedby", "application/schema+json", "Feature schema"));
    json_array_append_new(links, cm_handlers_link(req, path, "describedBy", "application/schema+json", "Feature schema"));
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
    if (!cm_handlers_plain_query(req, resp)) return;
    json_t *list = json_array();
    for (size_t i = 0; i < req->srv->store->n; i++)
        json_array_append_new(list, collection_doc(req, &req->srv->store->layers[i]));
    json_t *links = json_array();
    json_array_append_new(links, cm_handlers_link(req, "/api/collections", "self", "application/json", "The collections"));
    cm_handlers_send_json(resp, json_pack("{s:o, s:o}", "links", links, "collections", list), "application/json");
}

void handle_collection_get(cm_request *req, cm_response *resp) {
    cm_layer *layer = cm_handlers_layer(req, resp);
    if (!layer || !cm_handlers_plain_query(req, resp)) return;
    cm_handlers_send_json(resp, collection_doc(req, layer), "application/json");
}

/* A JSON Schema of the layer's features (OGC API - Features Part 5 style), linked from the
 * collection as "describedby": GIS clients type their columns from it instead of guessing
 * from a first page where a column may be all null. */
void handle_collection_schema_get(cm_request *req, cm_response *resp) {
    cm_layer *layer = cm_handlers_layer(req, resp);
    if (!layer || !cm_handlers_plain_query(req, resp)) return;
    const cm_layer_def *def = layer->def;
    /* An integer column with values beyond 32 bits is left out: the schema language has
     * no 64-bit integer, and a client that read "integer" as 32-bit would truncate it;
     * such columns are typed from the data instead. */
    cm_snapshot *snap = cm_layer_acquire(layer);
    json_t *props = json_object();
    static const char *const types[] = {"string", "integer", "number", "boolean", "string"};
    for (size_t i = 0; i < def->n_props; i++) {
        const cm_prop_def *p = &def->props[i];
        bool wide = false;
        for (size_t k = 0; p->type == CM_PROP_INTEGER && k < snap->n && !wide; k++) {
            const cm_value *v = &snap->features[k]->values[i];
            wide = v->set && (v->u.i > INT32_MAX || v->u.i < INT32_MIN);
        }
        if (wide) continue;
        json_t *s = json_pack("{s:s, s:s}", "type", types[p->type], "title", p->title.en ? p->title.en : p->name);
        if (p->type == CM_PROP_DATETIME) json_object_set_new(s, "format", json_string("date-time"));
        if (p->max_length > 0) json_object_set_new(s, "maxLength", json_integer(p->max_length));
        if (p->n_enum) {
            json_t *e = json_array();
            for (size_t k = 0; k < p->n_enum; k++) json_array_append_new(e, json_string(p->enum_values[k]));
            json_object_set_new(s, "enum", e);
        }
        if (p->has_minimum) json_object_set_new(s, "minimum", json_real(p->minimum));
        if (p->server_owned) json_object_set_new(s, "readOnly", json_true());
        json_object_set_new(props, p->name, s);
    }
    cm_snapshot_unref(snap);
    char id[400];
    snprintf(id, sizeof id, "%s/api/collections/%s/schema", req->base_url, def->id);
    json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:[s, s, s], s:{s:{s:s, s:[s]}, s:{s:[s, s]}, s:{s:s}, s:{s:s, s:o}}}",
                            "$schema", "https://json-schema.org/draft/2020-12/schema", "$id", id, "title", def->title.en,
                            "type", "object", "required", "type", "geometry", "properties", "properties", "type", "type",
                            "string", "enum", "Feature", "id", "type", "integer", "string", "geometry", "type", "object",
                            "properties", "type", "object", "properties", props);
    cm_handlers_send_json(resp, doc, "application/schema+json");
}
