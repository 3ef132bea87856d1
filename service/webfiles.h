/* webfiles.h — the web pages, read into memory at start and served from there.
 *
 * A request can only name a file that was found under the web root at start: no request
 * input ever becomes a file-system path. */
#ifndef CM_WEBFILES_H
#define CM_WEBFILES_H

#include <stddef.h>

#include "../layers/status.h"

typedef struct cm_webfile {
    char *url_path; /* "/index.html" */
    char *data;
    size_t len;
    const char *content_type;
    char etag[20];
} cm_webfile;

typedef struct cm_webfiles cm_webfiles;

/* Reads every regular file under root (following no symlinks, up to a total size cap).
 * Returns new in *out. */
cm_status cm_webfiles_load(const char *root, cm_webfiles **out, cm_error *err);
void cm_webfiles_destroy(cm_webfiles *w); /* accepts NULL */
/* File for a URL path, or NULL. Borrowed; lives as long as w. */
const cm_webfile *cm_webfiles_find(const cm_webfiles *w, const char *url_path);

#endif
