/* webfiles.c — in-memory copy of the web root. */
#include "webfiles.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../layers/feature.h"
#include "../layers/grow.h"

#define MAX_TOTAL_BYTES (64u << 20)
#define MAX_DEPTH 8

struct cm_webfiles {
    cm_webfile *files;
    size_t n, cap;
    size_t total;
};

static const char *type_for(const char *name) {
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
        {".json", "application/json"}, {".svg", "image/svg+xml"}, {".png", "image/png"},
        {".ico", "image/x-icon"}, {".txt", "text/plain; charset=utf-8"}, {".webmanifest", "application/manifest+json"},
    };
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof *types; i++)
        if (strcmp(dot, types[i].ext) == 0) return types[i].type;
    return NULL; /* unknown kinds are not served */
}

static cm_status add_file(cm_webfiles *w, const char *fs_path, const char *url_path, const char *type, cm_error *err) {
    FILE *f = fopen(fs_path, "rb");
    if (!f) return cm_error_set(err, CM_ERR_IO, fs_path, "cannot read %s", fs_path);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (size < 0 || w->total + (size_t)size > MAX_TOTAL_BYTES) {
        fclose(f);
        return cm_error_set(err, CM_ERR_IO, fs_path, "web root is larger than %u bytes", MAX_TOTAL_BYTES);
    }
    char *data = malloc((size_t)size + 1);
    if (!data || fread(data, 1, (size_t)size, f) != (size_t)size) {
        free(data);
        fclose(f);
        return cm_error_set(err, CM_ERR_IO, fs_path, "cannot read %s", fs_path);
    }
    fclose(f);
    cm_webfile *files = cm_grow(w->files, &w->cap, w->n, sizeof *files, 32);
    if (!files) {
        free(data);
        return cm_error_set(err, CM_ERR_NOMEM, NULL, NULL);
    }
    w->files = files;
    cm_webfile *wf = &w->files[w->n++];
    wf->url_path = strdup(url_path);
    wf->data = data;
    wf->len = (size_t)size;
    wf->content_type = type;
    snprintf(wf->etag, sizeof wf->etag, "w%016llx", (unsigned long long)cm_hash_fnv1a(data, wf->len, CM_FNV_SEED));
    w->total += (size_t)size;
    return CM_OK;
}

static cm_status walk(cm_webfiles *w, const char *fs_dir, const char *url_dir, int depth, cm_error *err) {
    if (depth > MAX_DEPTH) return CM_OK;
    DIR *d = opendir(fs_dir);
    if (!d) return cm_error_set(err, CM_ERR_IO, fs_dir, "cannot read web root %s", fs_dir);
    cm_status s = CM_OK;
    struct dirent *e;
    while (s == CM_OK && (e = readdir(d)) != NULL) {
        /* Hidden files and npm's tree are never served; what the pages need from npm is
         * copied into web/vendor by scripts/web-vendor.sh. */
        if (e->d_name[0] == '.' || strcmp(e->d_name, "node_modules") == 0 || strcmp(e->d_name, "package.json") == 0 ||
            strcmp(e->d_name, "package-lock.json") == 0 || strcmp(e->d_name, "tests") == 0)
            continue;
        char fs_path[1024], url_path[1024];
        if ((size_t)snprintf(fs_path, sizeof fs_path, "%s/%s", fs_dir, e->d_name) >= sizeof fs_path ||
            (size_t)snprintf(url_path, sizeof url_path, "%s/%s", url_dir, e->d_name) >= sizeof url_path)
            continue;
        struct stat st;
        if (lstat(fs_path, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) s = walk(w, fs_path, url_path, depth + 1, err);
        else if (S_ISREG(st.st_mode) && type_for(e->d_name))
            s = add_file(w, fs_path, url_path, type_for(e->d_name), err);
    }
    closedir(d);
    return s;
}

cm_status cm_webfiles_load(const char *root, cm_webfiles **out, cm_error *err) {
    *out = NULL;
    cm_webfiles *w = calloc(1, sizeof *w);
    if (!w) return cm_error_set(err, CM_ERR_NOMEM, NULL, NULL);
    cm_status s = walk(w, root, "", 0, err);
    if (s != CM_OK) {
        cm_webfiles_destroy(w);
        return s;
    }
    *out = w;
    return CM_OK;
}

void cm_webfiles_destroy(cm_webfiles *w) {
    if (!w) return;
    for (size_t i = 0; i < w->n; i++) {
        free(w->files[i].url_path);
        free(w->files[i].data);
    }
    free(w->files);
    free(w);
}

const cm_webfile *cm_webfiles_find(const cm_webfiles *w, const char *url_path) {
    for (size_t i = 0; w && i < w->n; i++)
        if (strcmp(w->files[i].url_path, url_path) == 0) return &w->files[i];
    return NULL;
}
