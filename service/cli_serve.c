/* cli_serve.c — `crisismap serve`: load the store into memory and serve it until SIGINT
 * or SIGTERM. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../layers/crs.h"
#include "../layers/persist.h"
#include "../layers/audit_reader.h"
#include "../layers/store_lock.h"
#include "../layers/writer.h"
#include "cli.h"
#include "config.h"
#include "events.h"
#include "heap_hint.h"
#include "server.h"
#include "webfiles.h"

/* Reads a whole (small) file; returns new or NULL. */
static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *data = (n >= 0 && n < (1 << 20)) ? malloc((size_t)n + 1) : NULL;
    if (data && fread(data, 1, (size_t)n, f) == (size_t)n) data[n] = '\0';
    else {
        free(data);
        data = NULL;
    }
    fclose(f);
    return data;
}

static double seconds_since(const struct timespec *t0) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

int cm_cli_serve(int argc, char **argv) {
    cm_cli_option opts[] = {
        {"--config", true, "configuration file (config/crisismap.json)", NULL},
        {"--listen", true, "HOST:PORT to listen on (port 0 picks a free port); overrides the config", NULL},
        {"--store", true, "GeoPackage store; overrides the config", NULL},
        {"--tls-cert", true, "PEM certificate: serve HTTPS (required for operators beyond loopback)", NULL},
        {"--tls-key", true, "PEM private key for --tls-cert", NULL},
    };
    const int n_opts = sizeof opts / sizeof *opts;
    const char *pos[1];
    int n_pos;
    int rc = cm_cli_parse("serve", "--config FILE [--listen HOST:PORT] [--store PATH] [--tls-cert FILE --tls-key FILE]", argc, argv, opts, n_opts, pos, 0,
                          &n_pos);
    if (rc != CM_EXIT_OK) return rc < 0 ? CM_EXIT_OK : rc;
    const char *config_path = cm_cli_value(opts, n_opts, "--config");
    if (!config_path) config_path = "config/crisismap.json";
    struct stat st;
    if (stat(config_path, &st) != 0) {
        fprintf(stderr, "crisismap serve: no configuration file %s (give one with --config)\n", config_path);
        return CM_EXIT_USAGE;
    }
    cm_heap_keep_large_blocks();
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cm_error err;
    cm_error_clear(&err);
    cm_config cfg;
    if (cm_config_load(config_path, &cfg, &err) != CM_OK) {
        fprintf(stderr, "crisismap serve: %s\n", err.message);
        return CM_EXIT_USAGE;
    }
    const char *listen = cm_cli_value(opts, n_opts, "--listen");
    const char *store_path = cm_cli_value(opts, n_opts, "--store");
    if (!store_path) store_path = cfg.store_path;
    char host[64];
    int port;
    if (!cm_config_parse_listen(listen ? listen : cfg.listen, host, sizeof host, &port)) {
        fprintf(stderr, "crisismap serve: --listen must be HOST:PORT, e.g. 127.0.0.1:8080\n");
        cm_config_release(&cfg);
        return CM_EXIT_USAGE;
    }
    if (stat(store_path, &st) != 0) {
        fprintf(stderr, "crisismap serve: no store at %s (create it with `crisismap demo --store %s`)\n", store_path,
                store_path);
        cm_config_release(&cfg);
        return CM_EXIT_USAGE;
    }

    const char *cert_path = cm_cli_value(opts, n_opts, "--tls-cert"), *key_path = cm_cli_value(opts, n_opts, "--tls-key");
    if (!cert_path != !key_path) {
        fprintf(stderr, "crisismap serve: --tls-cert and --tls-key go together\n");
        cm_config_release(&cfg);
        return CM_EXIT_USAGE;
    }
    char *cert = NULL, *key = NULL;
    if (cert_path && (!(cert = read_file(cert_path)) || !(key = read_file(key_path)))) {
        fprintf(stderr, "crisismap serve: cannot read %s\n", cert ? key_path : cert_path);
        free(cert);
        cm_config_release(&cfg);
        return CM_EXIT_USAGE;
    }

    int exit_code = CM_EXIT_FAILURE;
    cm_store *store = NULL;
    cm_persist *persist = NULL;
    cm_webfiles *web = NULL;
    cm_writer *writer = NULL;
    cm_audit_reader *audit_reader = NULL;
    cm_store_lock *lock = NULL;
    cm_events *events = NULL;
    cm_token_registry tokens;
    cm_token_registry_init(&tokens);
    cm_server srv;
    memset(&srv, 0, sizeof srv);
    cm_auth_throttle_init(&srv.throttle);
    if (cm_store_create(&cfg.defs, &store) != CM_OK) goto out;
    if (cm_store_lock_take(store_path, "serve", &lock, &err) != CM_OK) {
        fprintf(stderr, "crisismap serve: %s\n", err.message);
        goto out;
    }
    if (cm_persist_open(store_path, &cfg.defs, false, &persist, &err) != CM_OK ||
        cm_persist_load(persist, store, &err) != CM_OK) {
        fprintf(stderr, "crisismap serve: %s\n", err.message);
        goto out;
    }
    cm_persist_set_lock_wait(persist, cfg.store_lock_wait_ms);
    cm_events_config ecfg = {(size_t)cfg.event_log_length, (int)cfg.max_streams, (int)cfg.heartbeat_s * 1000};
    if (cm_events_create(&ecfg, &events, &err) != CM_OK) {
        fprintf(stderr, "crisismap serve: %s\n", err.message);
        goto out;
    }
    /* From here on the persistence worker alone owns the dataset; reads never touch it (the
     * audit reader has a read-only SQLite connection of its own). */
    if (cm_writer_start(persist, store, &tokens, cm_events_publish, events, ecfg.log_length, &writer, &err) != CM_OK) {
        persist = NULL;
        fprintf(stderr, "crisismap serve: %s\n", err.message);
        goto out;
    }
    persist = NULL;
    if (cm_audit_reader_start(store_path, store, &audit_reader, &err) != CM_OK) {
        fprintf(stderr, "crisismap serve: %s\n", err.message);
        goto out;
    }
    size_t total = 0;
    for (size_t i = 0; i < store->n; i++) { /* the worker may already publish (its first status pass) */
        cm_snapshot *snap = cm_layer_acquire(&store->layers[i]);
        total += snap->n;
        cm_snapshot_unref(snap);
    }
    if (cfg.web_root && stat(cfg.web_root, &st) == 0 && cm_webfiles_load(cfg.web_root, &web, &err) != CM_OK) {
        fprintf(stderr, "crisismap serve: %s\n", err.message);
        goto out;
    }

    /* One descriptor per live map: take every descriptor the system allows. */
    struct rlimit nofile;
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
        nofile.rlim_cur = nofile.rlim_max;
        setrlimit(RLIMIT_NOFILE, &nofile);
    }

    /* Signals are taken by sigwait below; the server's threads inherit the mask. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    srv.cfg = &cfg;
    srv.store = store;
    srv.web = web;
    srv.writer = writer;
    srv.audit_reader = audit_reader;
    srv.tokens = &tokens;
    srv.events = events;
    srv.tls_cert_pem = cert;
    srv.tls_key_pem = key;
    if (cm_server_start(&srv, host, port, &err) != CM_OK) {
        fprintf(stderr, "crisismap serve: %s\n", err.message);
        goto out;
    }
    const char *scheme = cert ? "https" : "http";
    if (strchr(host, ':')) printf("listening on %s://[%s]:%d\n", scheme, host, atomic_load(&srv.port));
    else printf("listening on %s://%s:%d\n", scheme, host, atomic_load(&srv.port));
    fflush(stdout);
    fprintf(stderr, "crisismap: %zu features in %zu layers loaded from %s in %.3f s\n", total, store->n, store_path,
            seconds_since(&t0));
    int sig;
    sigwait(&sigs, &sig);
    fprintf(stderr, "crisismap: stopping (signal %d)\n", sig);
    /* The worker first: it finishes the queued edits and resumes their connections, and
     * refuses later ones at once, so no connection stays suspended when the server stops. */
    cm_events_shutdown(events);
    /* The reader's connection before the worker's: the last connection to close folds the
     * WAL into the file and removes it, so a stopped store is one file to copy. */
    cm_audit_reader_stop(audit_reader);
    cm_writer_stop(writer);
    cm_server_stop(&srv);
    exit_code = CM_EXIT_OK;
out:
    cm_events_shutdown(events);
    cm_server_stop(&srv);
    cm_audit_reader_stop(audit_reader);
    cm_writer_destroy(writer);
    cm_audit_reader_destroy(audit_reader);
    cm_events_destroy(events);
    cm_persist_close(persist);
    cm_store_lock_release(lock); /* after every connection to the store is closed */
    cm_token_registry_release(&tokens);
    cm_auth_throttle_release(&srv.throttle);
    free(cert);
    free(key);
    cm_webfiles_destroy(web);
    cm_store_destroy(store);
    cm_config_release(&cfg);
    cm_crs_thread_release();
    return exit_code;
}
