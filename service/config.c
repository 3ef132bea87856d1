/* config.c — reading crisismap.json. */
#include "config.h"

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *resolve(const char *dir, const char *rel) {
    if (!rel) return NULL;
    if (rel[0] == '/') return strdup(rel);
    size_t n = strlen(dir) + strlen(rel) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", dir, rel);
    return p;
}

static char *dir_of(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) return strdup(".");
    if (slash == path) return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

static cm_status text_of(const json_t *root, const char *key, cm_text *out, cm_error *err) {
    const json_t *t = json_object_get(root, key);
    const char *en = json_string_value(json_object_get(t, "en"));
    const char *ar = json_string_value(json_object_get(t, "ar"));
    if (!en || !ar)
        return cm_error_set(err, CM_ERR_BAD_CONFIG, key, "\"%s\" needs \"en\" and \"ar\" strings", key);
    out->en = strdup(en);
    out->ar = strdup(ar);
    return CM_OK;
}

static cm_status long_of(const json_t *obj, const char *key, long dflt, long min, long max, long *out,
                         cm_error *err) {
    const json_t *v = json_object_get(obj, key);
    if (!v) {
        *out = dflt;
        return CM_OK;
    }
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
        return cm_error_set(err, CM_ERR_BAD_CONFIG, key, "\"%s\" must be an integer in %ld..%ld", key, min, max);
    *out = (long)json_integer_value(v);
    return CM_OK;
}

bool cm_config_parse_listen(const char *listen, char *host, size_t host_len, int *port) {
    const char *colon = strrchr(listen, ':');
    if (!colon || colon == listen) return false;
    size_t hl = (size_t)(colon - listen);
    const char *h = listen;
    if (h[0] == '[') {
        if (hl < 3 || h[hl - 1] != ']') return false;
        h++;
        hl -= 2;
    }
    if (hl >= host_len) return false;
    memcpy(host, h, hl);
    host[hl] = '\0';
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (*end || end == colon + 1 || p < 0 || p > 65535) return false;
    *port = (int)p;
    return true;
}

cm_status cm_config_load(const char *path, cm_config *out, cm_error *err) {
    memset(out, 0, sizeof *out);
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return cm_error_set(err, CM_ERR_BAD_CONFIG, path, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
    char *dir = dir_of(path);
    cm_status s = CM_OK;
    out->path = strdup(path);
    if ((s = text_of(root, "title", &out->title, err)) != CM_OK) goto out;
    if ((s = text_of(root, "description", &out->description, err)) != CM_OK) goto out;
    const char *attribution = json_string_value(json_object_get(root, "attribution"));
    out->attribution = strdup(attribution ? attribution : "© OpenStreetMap contributors");
    const json_t *tiles = json_object_get(root, "tiles");
    const char *turl = json_string_value(json_object_get(tiles, "url"));
    const char *tattr = json_string_value(json_object_get(tiles, "attribution"));
    out->tiles_url = strdup(turl ? turl : "https://tile.openstreetmap.org/{z}/{x}/{y}.png");
    out->tiles_attribution = strdup(tattr ? tattr : "© OpenStreetMap contributors");
    const char *listen = json_string_value(json_object_get(root, "listen"));
    out->listen = strdup(listen ? listen : "127.0.0.1:8080");
    char host[64];
    int port;
    if (!cm_config_parse_listen(out->listen, host, sizeof host, &port)) {
        s = cm_error_set(err, CM_ERR_BAD_CONFIG, "listen", "\"listen\" must be HOST:PORT, e.g. 127.0.0.1:8080");
        goto out;
    }
    const char *store = json_string_value(json_object_get(root, "store"));
    out->store_path = resolve(dir, store ? store : "crisismap.gpkg");
    const char *layers = json_string_value(json_object_get(root, "layers"));
    out->layers_path = resolve(dir, layers ? layers : "layers.json");
    out->web_root = resolve(dir, json_string_value(json_object_get(root, "web_root")));
    const char *public_url = json_string_value(json_object_get(root, "public_url"));
    if (public_url && *public_url) {
        size_t n = strlen(public_url);
        if ((strncmp(public_url, "http://", 7) && strncmp(public_url, "https://", 8)) || n > 200) {
            s = cm_error_set(err, CM_ERR_BAD_CONFIG, "public_url", "\"public_url\" must be an http(s) URL");
            goto out;
        }
        out->public_url = strndup(public_url, public_url[n - 1] == '/' ? n - 1 : n);
    }
    const json_t *proxies = json_object_get(root, "trusted_proxies");
    if (proxies && !json_is_array(proxies)) {
        s = cm_error_set(err, CM_ERR_BAD_CONFIG, "trusted_proxies",
                         "\"trusted_proxies\" must be a list of addresses or CIDR ranges, e.g. [\"127.0.0.1\", \"10.0.0.0/8\"]");
        goto out;
    }
    for (size_t i = 0; i < json_array_size(proxies); i++) {
        const char *spec = json_string_value(json_array_get(proxies, i));
        if (!spec || !cm_trusted_proxies_add(&out->trusted_proxies, spec)) {
            s = cm_error_set(err, CM_ERR_BAD_CONFIG, "trusted_proxies",
                             "trusted_proxies[%zu] is not an address or an address/prefix (e.g. \"10.0.0.0/8\", "
                             "\"::1\")", i);
            goto out;
        }
    }
    const json_t *limits = json_object_get(root, "limits");
    if ((s = long_of(limits, "default_limit", 100, 1, 1000000, &out->default_limit, err)) != CM_OK) goto out;
    if ((s = long_of(limits, "max_limit", 10000, 1, 10000000, &out->max_limit, err)) != CM_OK) goto out;
    if ((s = long_of(limits, "max_url_bytes", 2048, 256, 65536, &out->max_url_bytes, err)) != CM_OK) goto out;
    if ((s = long_of(limits, "max_body_bytes", 1 << 20, 1024, 64L << 20, &out->max_body_bytes, err)) != CM_OK) goto out;
    if (out->default_limit > out->max_limit) {
        s = cm_error_set(err, CM_ERR_BAD_CONFIG, "limits", "default_limit must not exceed max_limit");
        goto out;
    }
    const json_t *events = json_object_get(root, "events");
    if ((s = long_of(events, "log_length", 10000, 16, 10000000, &out->event_log_length, err)) != CM_OK) goto out;
    if ((s = long_of(events, "max_streams", 10000, 1, 1000000, &out->max_streams, err)) != CM_OK) goto out;
    if ((s = long_of(events, "heartbeat_s", 15, 1, 3600, &out->heartbeat_s, err)) != CM_OK) goto out;
    const json_t *al = json_object_get(root, "access_log");
    out->access_log = al ? json_is_true(al) : true;
    long threads = 0;
    if ((s = long_of(root, "threads", 0, 0, 256, &threads, err)) != CM_OK) goto out;
    out->threads = (int)threads;
    if ((s = long_of(root, "store_lock_wait_ms", 5000, 0, 600000, &out->store_lock_wait_ms, err)) != CM_OK) goto out;

    const json_t *crs = json_object_get(root, "crs");
    size_t n_crs = crs ? json_array_size(crs) : 0;
    out->crs = calloc(n_crs + 3, sizeof *out->crs);
    out->crs[out->n_crs++] = (cm_crs){0};
    if (!crs) {
        out->crs[out->n_crs++] = (cm_crs){4326};
        out->crs[out->n_crs++] = (cm_crs){3857};
    }
    for (size_t i = 0; i < n_crs; i++) {
        cm_crs c;
        const char *txt = json_string_value(json_array_get(crs, i));
        if (!txt || !cm_crs_parse(txt, &c) || !cm_crs_check(c)) {
            s = cm_error_set(err, CM_ERR_BAD_CONFIG, "crs", "\"crs\"[%zu] is not a CRS PROJ knows (use e.g. EPSG:3857)", i);
            goto out;
        }
        if (!cm_crs_is_crs84(c)) out->crs[out->n_crs++] = c;
    }

    const json_t *demo = json_object_get(root, "demo");
    if (demo) {
        out->demo = calloc(json_object_size(demo) + 1, sizeof *out->demo);
        const char *key;
        const json_t *val;
        json_object_foreach((json_t *)demo, key, val) {
            if (!json_is_string(val)) {
                s = cm_error_set(err, CM_ERR_BAD_CONFIG, "demo", "\"demo\".%s must be a file path", key);
                goto out;
            }
            out->demo[out->n_demo].layer = strdup(key);
            out->demo[out->n_demo].path = resolve(dir, json_string_value(val));
            out->n_demo++;
        }
    }
    s = cm_schema_load_file(out->layers_path, &out->defs, err);
    for (size_t i = 0; s == CM_OK && i < out->n_demo; i++)
        if (!cm_schema_find_layer(&out->defs, out->demo[i].layer))
            s = cm_error_set(err, CM_ERR_BAD_CONFIG, "demo", "\"demo\" names unknown layer \"%s\"", out->demo[i].layer);
out:
    free(dir);
    json_decref(root);
    if (s != CM_OK) cm_config_release(out);
    return s;
}

void cm_config_release(cm_config *cfg) {
    free(cfg->path);
    free(cfg->title.en);
    free(cfg->title.ar);
    free(cfg->description.en);
    free(cfg->description.ar);
    free(cfg->attribution);
    free(cfg->tiles_url);
    free(cfg->tiles_attribution);
    free(cfg->listen);
    free(cfg->store_path);
    free(cfg->layers_path);
    free(cfg->web_root);
    free(cfg->public_url);
    cm_trusted_proxies_release(&cfg->trusted_proxies);
    free(cfg->crs);
    for (size_t i = 0; i < cfg->n_demo; i++) {
        free(cfg->demo[i].layer);
        free(cfg->demo[i].path);
    }
    free(cfg->demo);
    cm_schema_release(&cfg->defs);
    memset(cfg, 0, sizeof *cfg);
}
