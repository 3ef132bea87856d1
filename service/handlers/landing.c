/* landing.c — OGC API landing page, conformance declaration and the OpenAPI 3.0
 * definition (built from the layer definitions, so it always lists every collection and
 * its queryable properties with their types). */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "handlers.h"

static const char *const conformance_classes[] = {
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/features",
};

void handle_landing_get(cm_request *req, cm_response *resp) {
    if (!cm_handlers_plain_query(req, resp)) return;
    const cm_config *cfg = req->srv->cfg;
    json_t *links = json_array();
    json_array_append_new(links, cm_handlers_link(req, "/api", "self", "application/json", "This document"));
    json_array_append_new(links, cm_handlers_link(req, "/api/openapi", "service-desc",
                                                  "application/vnd.oai.openapi+json;version=3.0", "The API definition"));
    json_array_append_new(links, cm_handlers_link(req, "/api/conformance", "conformance", "application/json",
                                                  "OGC API conformance classes implemented by this server"));
    json_array_append_new(links, cm_handlers_link(req, "/api/collections", "data", "application/json",
                                                  "The crisis layers"));
    json_array_append_new(links, cm_handlers_link(req, "/", "alternate", "text/html", "The map"));
    json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:{s:s, s:s}}", "title", cfg->title.en, "title_ar",
                            cfg->title.ar, "description", cfg->description.en, "description_ar", cfg->description.ar,
                            "attribution", cfg->attribution, "links", links, "map", "tiles", cfg->tiles_url,
                            "tiles_attribution", cfg->tiles_attribution);
    cm_handlers_send_json(resp, doc, "application/json");
}

void handle_conformance_get(cm_request *req, cm_response *resp) {
    if (!cm_handlers_plain_query(req, resp)) return;
    json_t *list = json_array();
    for (size_t i = 0; i < sizeof conformance_classes / sizeof *conformance_classes; i++)
        json_array_append_new(list, json_string(conformance_classes[i]));
    cm_handlers_send_json(resp, json_pack("{s:o}", "conformsTo", list), "application/json");
}

static json_t *param_ref(const char *name) {
    char ref[96];
    snprintf(ref, sizeof ref, "#/components/parameters/%s", name);
    return json_pack("{s:s}", "$ref", ref);
}

static json_t *response_of(const char *description, const char *type) {
    return json_pack("{s:s, s:{s:{s:{s:s}}}}", "description", description, "content", type, "schema", "type",
                     "object");
}

static json_t *error_responses(json_t *responses) {
    json_object_set_new(responses, "400", response_of("Invalid parameter (the body names it)", "application/json"));
    json_object_set_new(responses, "404", response_of("Not found", "application/json"));
    return responses;
}

static json_t *prop_schema(const cm_prop_def *p) {
    static const char *const types[] = {"string", "integer", "number", "boolean", "string"};
    json_t *s = json_pack("{s:s}", "type", types[p->type]);
    if (p->type == CM_PROP_DATETIME) json_object_set_new(s, "format", json_string("date-time"));
    if (p->n_enum) {
        json_t *e = json_array();
        for (size_t i = 0; i < p->n_enum; i++) json_array_append_new(e, json_string(p->enum_values[i]));
        json_object_set_new(s, "enum", e);
    }
    return s;
}

static json_t *items_path(const cm_layer_def *def) {
    json_t *params = json_array();
    const char *common[] = {"bbox", "bbox-crs", "limit", "offset", "datetime", "crs", "f"};
    for (size_t i = 0; i < sizeof common / sizeof *common; i++) json_array_append_new(params, param_ref(common[i]));
    for (size_t i = 0; i < def->n_props; i++) {
        json_t *p = json_pack("{s:s, s:s, s:b, s:s, s:o, s:s, s:b}", "name", def->props[i].name, "in", "query", "required",
                              0, "description", def->props[i].title.en ? def->props[i].title.en : def->props[i].name,
                              "schema", prop_schema(&def->props[i]), "style", "form", "explode", 0);
        json_array_append_new(params, p);
    }
    char summary[256];
    snprintf(summary, sizeof summary, "Features of %s", def->title.en);
    json_t *responses = json_object();
    json_object_set_new(responses, "200", response_of("A page of features (GeoJSON FeatureCollection)", "application/geo+json"));
    char op[96];
    snprintf(op, sizeof op, "getFeatures_%s", def->id);
    return json_pack("{s:{s:s, s:s, s:[s], s:o, s:o}}", "get", "summary", summary, "operationId", op, "tags", "Data",
                     "parameters", params, "responses", error_responses(responses));
}

static json_t *simple_get(const char *summary, const char *op, const char *type, json_t *params) {
    json_t *responses = json_object();
    json_object_set_new(responses, "200", response_of(summary, type));
    return json_pack("{s:{s:s, s:s, s:o, s:o}}", "get", "summary", summary, "operationId", op, "parameters",
                     params ? params : json_array(), "responses", error_responses(responses));
}

static json_t *components(const cm_request *req) {
    json_t *crs_enum = json_array();
    char uri[96];
    for (size_t i = 0; i < req->srv->cfg->n_crs; i++) {
        cm_crs_uri(req->srv->cfg->crs[i], uri, sizeof uri);
        json_array_append_new(crs_enum, json_string(uri));
    }
    json_t *p = json_object();
    json_object_set_new(p, "bbox", json_pack("{s:s, s:s, s:b, s:s, s:{s:s, s:i, s:i, s:{s:s}}, s:s, s:b}", "name", "bbox",
                                             "in", "query", "required", 0, "description",
                                             "Features whose geometry intersects minx,miny,maxx,maxy (CRS84 unless bbox-crs)",
                                             "schema", "type", "array", "minItems", 4, "maxItems", 6, "items", "type",
                                             "number", "style", "form", "explode", 0));
    json_object_set_new(p, "bbox-crs", json_pack("{s:s, s:s, s:b, s:{s:s, s:s, s:O}}", "name", "bbox-crs", "in", "query",
                                                 "required", 0, "schema", "type", "string", "format", "uri", "enum", crs_enum));
    json_object_set_new(p, "crs", json_pack("{s:s, s:s, s:b, s:{s:s, s:s, s:O}}", "name", "crs", "in", "query", "required",
                                            0, "schema", "type", "string", "format", "uri", "enum", crs_enum));
    json_object_set_new(p, "limit", json_pack("{s:s, s:s, s:b, s:{s:s, s:i, s:I, s:I}, s:s, s:b}", "name", "limit", "in",
                                              "query", "required", 0, "schema", "type", "integer", "minimum", 1, "maximum",
                                              (json_int_t)req->srv->cfg->max_limit, "default",
                                              (json_int_t)req->srv->cfg->default_limit, "style", "form", "explode", 0));
    json_object_set_new(p, "offset", json_pack("{s:s, s:s, s:b, s:{s:s, s:i, s:i}}", "name", "offset", "in", "query",
                                               "required", 0, "schema", "type", "integer", "minimum", 0, "default", 0));
    json_object_set_new(p, "datetime", json_pack("{s:s, s:s, s:b, s:s, s:{s:s}, s:s, s:b}", "name", "datetime", "in",
                                                 "query", "required", 0, "description",
                                                 "RFC 3339 instant or interval start/end ('..' for an open end)", "schema",
                                                 "type", "string", "style", "form", "explode", 0));
    json_object_set_new(p, "f", json_pack("{s:s, s:s, s:b, s:{s:s, s:[s, s]}}", "name", "f", "in", "query", "required", 0,
                                          "schema", "type", "string", "enum", "json", "geojson"));
    json_object_set_new(p, "featureId", json_pack("{s:s, s:s, s:b, s:{s:s}}", "name", "featureId", "in", "path",
                                                  "required", 1, "schema", "type", "integer"));
    json_decref(crs_enum);
    return json_pack("{s:o}", "parameters", p);
}

void handle_openapi_get(cm_request *req, cm_response *resp) {
    if (!cm_handlers_plain_query(req, resp)) return;
    const cm_config *cfg = req->srv->cfg;
    char server_url[300];
    snprintf(server_url, sizeof server_url, "%s/api", req->base_url);
    json_t *paths = json_object();
    json_object_set_new(paths, "/", simple_get("Landing page", "getLandingPage", "application/json", NULL));
    json_object_set_new(paths, "/conformance", simple_get("Conformance classes", "getConformance", "application/json", NULL));
    json_object_set_new(paths, "/collections", simple_get("The collections", "getCollections", "application/json", NULL));
    for (size_t i = 0; i < cfg->defs.n; i++) {
        const cm_layer_def *def = &cfg->defs.layers[i];
        char path[128], op[96];
        snprintf(path, sizeof path, "/collections/%s", def->id);
        snprintf(op, sizeof op, "describeCollection_%s", def->id);
        json_object_set_new(paths, path, simple_get(def->title.en, op, "application/json", NULL));
        snprintf(path, sizeof path, "/collections/%s/items", def->id);
        json_object_set_new(paths, path, items_path(def));
        snprintf(path, sizeof path, "/collections/%s/items/{featureId}", def->id);
        snprintf(op, sizeof op, "getFeature_%s", def->id);
        json_object_set_new(paths, path,
                            simple_get("One feature", op, "application/geo+json",
                                       json_pack("[o, o]", param_ref("featureId"), param_ref("crs"))));
    }
    json_t *doc = json_pack("{s:s, s:{s:s, s:s, s:s, s:{s:s, s:s}}, s:[{s:s}], s:[{s:s}], s:o, s:o}", "openapi", "3.0.3",
                            "info", "title", cfg->title.en, "description", cfg->description.en, "version", "1.0.0",
                            "license", "name", "ODbL-1.0 (data); see the project's licence for the software", "url",
                            "https://opendatacommons.org/licenses/odbl/", "servers", "url", server_url, "tags", "name",
                            "Data", "paths", paths, "components", components(req));
    cm_handlers_send_json(resp, doc, "application/vnd.oai.openapi+json;version=3.0");
}
