/* router.h — the route table: {pattern, methods, handler}. A pattern is a path with "{}"
 * for one captured segment. Tells 404 (no pattern) from 405 (pattern, wrong method). */
#ifndef CM_ROUTER_H
#define CM_ROUTER_H

#include "request.h"
#include "response.h"

typedef void (*cm_handler)(cm_request *req, cm_response *resp);

enum {
    CM_METHOD_GET = 1,
    CM_METHOD_HEAD = 2,
    CM_METHOD_OPTIONS = 4,
    CM_METHOD_POST = 8,
    CM_METHOD_PUT = 16,
    CM_METHOD_PATCH = 32,
    CM_METHOD_DELETE = 64,
};

typedef struct cm_route {
    const char *pattern;
    unsigned methods;
    const char *allow; /* the Allow header for this resource */
    cm_handler handler;
} cm_route;

/* Method bit of an HTTP method name, 0 when unknown. */
unsigned cm_router_method_bit(const char *method);
/* Finds the route whose pattern matches path, filling req->captures (pointers into
 * scratch, which must hold strlen(path) + 1 bytes). NULL when none matches. */
const cm_route *cm_router_match(const char *path, cm_request *req, char *scratch);

#endif
