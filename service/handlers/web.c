/* web.c — the pages, served from the in-memory copy of the web root. */
#include <string.h>

#include "handlers.h"

void handle_web_get(cm_request *req, cm_response *resp) {
    const char *path = req->path;
    if (strcmp(path, "/") == 0) path = "/index.html";
    else if (strcmp(path, "/operator") == 0) path = "/operator.html";
    const cm_webfile *f = req->srv->web ? cm_webfiles_find(req->srv->web, path) : NULL;
    if (!f) {
        cm_response_error(resp, CM_ERR_NOT_FOUND, "path", "no resource at %.200s", req->path);
        return;
    }
    resp->status = 200;
    resp->content_type = f->content_type;
    resp->borrowed = f->data;
    resp->len = f->len;
    memcpy(resp->etag, f->etag, sizeof f->etag);
    resp->is_html = strstr(f->content_type, "text/html") != NULL;
}
