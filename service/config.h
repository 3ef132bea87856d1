/* config.h — the server's configuration file (config/crisismap.json) and the layer
 * definitions it points to. Paths inside the file are relative to the file's directory.
 * Loaded once at start; immutable afterwards. */
#ifndef CM_CONFIG_H
#define CM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "../layers/crs.h"
#include "../layers/schema.h"
#include "client_addr.h"

typedef struct cm_demo_source {
    char *layer;
    char *path; /* resolved */
} cm_demo_source;

typedef struct cm_config {
    char *path;
    cm_text title, description;
    char *attribution;
    char *tiles_url;         /* base-map tiles for the pages ({z}/{x}/{y}) */
    char *tiles_attribution;
    char *listen;      /* HOST:PORT */
    char *store_path;  /* resolved */
    char *layers_path; /* resolved */
    char *web_root;    /* resolved; NULL when none */
    char *public_url;  /* base URL for links when behind a proxy; NULL: from the Host header */
    cm_trusted_proxies trusted_proxies; /* whose X-Forwarded-For names the client (client_addr.h) */
    long default_limit, max_limit, max_url_bytes, max_body_bytes;
    bool access_log;
    long event_log_length, max_streams, heartbeat_s;
    int threads; /* 0: one per core */
    long store_lock_wait_ms; /* a write's wait for a lock another program holds on the store */
    cm_crs *crs;  /* offered output CRSs, CRS84 first */
    size_t n_crs;
    cm_demo_source *demo;
    size_t n_demo;
    cm_layer_defs defs;
} cm_config;

/* Loads path into caller-owned out (and the layers file it names). err names the key at
 * fault. */
cm_status cm_config_load(const char *path, cm_config *out, cm_error *err);
void cm_config_release(cm_config *cfg);

/* Splits "HOST:PORT" or "[V6]:PORT"; host written into host (>= 64 bytes). */
bool cm_config_parse_listen(const char *listen, char *host, size_t host_len, int *port);

#endif
