/* router.c — the route table and its matcher. */
#include "router.h"

#include <string.h>

#include "events.h"
#include "handlers/handlers.h"

#define READ_ONLY "GET, HEAD, OPTIONS"
#define ITEMS "GET, HEAD, POST, OPTIONS"
#define ITEM "GET, HEAD, PUT, PATCH, DELETE, OPTIONS"

/* One route per resource; the method picks the handler. */
static void handle_items(cm_request *req, cm_response *resp) {
    if (strcmp(req->method, "POST") == 0) handle_items_create(req, resp);
    else handle_items_list(req, resp);
}

static void handle_item(cm_request *req, cm_response *resp) {
    if (strcmp(req->method, "PUT") == 0) handle_item_replace(req, resp);
    else if (strcmp(req->method, "PATCH") == 0) handle_item_update(req, resp);
    else if (strcmp(req->method, "DELETE") == 0) handle_item_delete(req, resp);
    else handle_item_get(req, resp);
}

static const cm_route routes[] = {
    {"/", CM_METHOD_GET | CM_METHOD_HEAD, READ_ONLY, handle_web_get},
    {"/operator", CM_METHOD_GET | CM_METHOD_HEAD, READ_ONLY, handle_web_get},
    {"/api/whoami", CM_METHOD_GET, "GET, OPTIONS", handle_whoami_get},
    {"/healthz", CM_METHOD_GET | CM_METHOD_HEAD, READ_ONLY, handle_health_get},
    {"/api", CM_METHOD_GET | CM_METHOD_HEAD, READ_ONLY, handle_landing_get},
    {"/api/", CM_METHOD_GET | CM_METHOD_HEAD, READ_ONLY, handle_landing_get},
    {"/api/conformance", CM_METHOD_GET | CM_METHOD_HEAD, READ_ONLY, handle_conformance_get},
    {"/api/openapi", CM_METHOD_GET | CM_METHOD_HEAD, READ_ONLY, handle_openapi_get},
    {"/api/collections", CM_METHOD_GET | CM_METHOD_HEAD, READ_ONLY, handle_collections_list},
    {"/api/collections/{}", CM_METHOD_GET | CM_METHOD_HEAD, READ_ONLY, handle_collection_get},
    {"/api/collections/{}/schema", CM_METHOD_GET | CM_METHOD_HEAD, READ_ONLY, handle_collection_schema_get},
    {"/api/collections/{}/items", CM_METHOD_GET | CM_METHOD_HEAD | CM_METHOD_POST, ITEMS, handle_items},
    {"/api/collections/{}/items/{}", CM_METHOD_GET | CM_METHOD_HEAD | CM_METHOD_PUT | CM_METHOD_PATCH | CM_METHOD_DELETE,
     ITEM, handle_item},
    {"/api/collections/{}/changes", CM_METHOD_GET | CM_METHOD_HEAD, READ_ONLY, handle_changes_get},
    {"/api/audit", CM_METHOD_GET | CM_METHOD_HEAD, READ_ONLY, handle_audit_list},
    {"/api/events", CM_METHOD_GET, "GET, OPTIONS", handle_events_get},
};

unsigned cm_router_method_bit(const char *m) {
    static const struct {
        const char *name;
        unsigned bit;
    } methods[] = {{"GET", CM_METHOD_GET},     {"HEAD", CM_METHOD_HEAD},   {"OPTIONS", CM_METHOD_OPTIONS},
                   {"POST", CM_METHOD_POST},   {"PUT", CM_METHOD_PUT},     {"PATCH", CM_METHOD_PATCH},
                   {"DELETE", CM_METHOD_DELETE}};
    for (size_t i = 0; i < sizeof methods / sizeof *methods; i++)
        if (strcmp(m, methods[i].name) == 0) return methods[i].bit;
    return 0;
}

/* Matches one pattern; captures point into scratch (a copy of path split at '/'). */
static bool match(const char *pattern, const char *path, cm_request *req, char *scratch) {
    memcpy(scratch, path, strlen(path) + 1); /* scratch holds strlen(path) + 1 bytes by contract */
    req->n_captures = 0;
    const char *p = pattern;
    char *s = scratch;
    while (*p && *s) {
        if (p[0] == '{' && p[1] == '}') {
            char *end = strchr(s, '/');
            if (end == s) return false; /* empty segment */
            if (req->n_captures == CM_REQUEST_MAX_CAPTURES) return false;
            req->captures[req->n_captures++] = s;
            p += 2;
            if (!end) {
                s += strlen(s);
                break;
            }
            *end = '\0';
            s = end + 1;
            if (*p != '/') return false;
            p++;
            continue;
        }
        if (*p != *s) return false;
        p++;
        s++;
    }
    return *p == '\0' && *s == '\0';
}

const cm_route *cm_router_match(const char *path, cm_request *req, char *scratch) {
    for (size_t i = 0; i < sizeof routes / sizeof *routes; i++)
        if (match(routes[i].pattern, path, req, scratch)) return &routes[i];
    return NULL;
}
