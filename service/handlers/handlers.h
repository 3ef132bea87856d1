/* handlers.h — one function per resource and verb (handle_<resource>_<verb>). Each fills
 * the response from the request; none sees libmicrohttpd. */
#ifndef CM_HANDLERS_H
#define CM_HANDLERS_H

#include <jansson.h>

#include "../request.h"
#include "../response.h"

void handle_landing_get(cm_request *req, cm_response *resp);
void handle_conformance_get(cm_request *req, cm_response *resp);
void handle_openapi_get(cm_request *req, cm_response *resp);
void handle_collections_list(cm_request *req, cm_response *resp);
void handle_collection_get(cm_request *req, cm_response *resp);
void handle_collection_schema_get(cm_request *req, cm_response *resp);
void handle_items_list(cm_request *req, cm_response *resp);
void handle_item_get(cm_request *req, cm_response *resp);
void handle_items_create(cm_request *req, cm_response *resp);
void handle_item_replace(cm_request *req, cm_response *resp);
void handle_item_update(cm_request *req, cm_response *resp);
void handle_item_delete(cm_request *req, cm_response *resp);
void handle_audit_list(cm_request *req, cm_response *resp);
void handle_whoami_get(cm_request *req, cm_response *resp);
void handle_changes_get(cm_request *req, cm_response *resp);
void handle_health_get(cm_request *req, cm_response *resp);
void handle_web_get(cm_request *req, cm_response *resp);

/* The layer named by the first path segment, or NULL with a 404 in resp. Borrowed. */
cm_layer *cm_handlers_layer(cm_request *req, cm_response *resp);
/* For resources that take no parameter but `f`: false with a 400 in resp otherwise. */
bool cm_handlers_plain_query(cm_request *req, cm_response *resp);

/* Shared by handlers: the query limits of the server's configuration. */
cm_query_limits cm_handlers_limits(const cm_request *req);
/* A jansson document as compact ASCII JSON with <, > and & escaped as everywhere else, so
 * no response carries markup (malloc'd; NULL when out of memory). */
char *cm_handlers_dump_json(const json_t *doc);
/* Serialises a jansson document into resp as JSON (steals doc). */
void cm_handlers_send_json(cm_response *resp, json_t *doc, const char *content_type);
/* A feature's ETag (without quotes) into out: "f" and its hash in 16 hex digits, then "-EPSG"
 * when it is served in another CRS than CRS84 (epsg 0). One function, because a GET's ETag
 * must equal the one the write that made the feature answered, for If-Match. */
void cm_handlers_feature_etag(const cm_feature *f, int epsg, char *out, size_t n);
/* A link object {href, rel, type[, title]}; href = base + path. */
json_t *cm_handlers_link(const cm_request *req, const char *path, const char *rel, const char *type,
                         const char *title);

#endif
