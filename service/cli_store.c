/* cli_store.c — `crisismap demo` and `crisismap import`: writing files into a store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../layers/crs.h"
#include "../layers/import.h"
#include "../layers/persist.h"
#include "../layers/store_lock.h"
#include "cli.h"
#include "config.h"

static int load_config(const char *command, const char *path, cm_config *cfg) {
    struct stat st;
    if (!path) path = "config/crisismap.json";
    if (stat(path, &st) != 0) {
        fprintf(stderr, "crisismap %s: no configuration file %s (give one with --config)\n", command, path);
        return CM_EXIT_USAGE;
    }
    cm_error err;
    cm_error_clear(&err);
    if (cm_config_load(path, cfg, &err) != CM_OK) {
        fprintf(stderr, "crisismap %s: %s\n", command, err.message);
        return CM_EXIT_USAGE;
    }
    return CM_EXIT_OK;
}

static int import_one(cm_persist *p, const cm_layer_def *def, const char *file, const char *s_srs, bool skip_invalid,
                      bool replace) {
    cm_import_opts o = {.src_path = file, .s_srs = s_srs, .skip_invalid = skip_invalid, .replace = replace,
                        .progress = isatty(STDERR_FILENO), .report = stderr};
    cm_import_result res;
    cm_error err;
    cm_error_clear(&err);
    if (cm_import_file(p, def, &o, &res, &err) != CM_OK) {
        fprintf(stderr, "crisismap: import into %s failed: %s%s%s\n", def->id, err.field[0] ? err.field : "",
                err.field[0] ? ": " : "", err.message);
        return CM_EXIT_FAILURE;
    }
    printf("%s: imported %zu of %zu features from %s", def->id, res.imported, res.read, file);
    if (res.rejected) printf(" (%zu rejected, listed above)", res.rejected);
    printf("\n");
    return CM_EXIT_OK;
}

/* Takes the store's lock and opens it for writing, or says why not; the caller releases both. */
static int open_store_for_writing(const char *command, const char *store, const cm_config *cfg, cm_persist **p,
                                  cm_store_lock **lock) {
    cm_error err;
    cm_error_clear(&err);
    *lock = NULL;
    if (cm_store_lock_take(store, command, lock, &err) != CM_OK ||
        cm_persist_open(store, &cfg->defs, true, p, &err) != CM_OK) {
        fprintf(stderr, "crisismap %s: %s\n", command, err.message);
        cm_store_lock_release(*lock);
        *lock = NULL;
        return CM_EXIT_FAILURE;
    }
    return CM_EXIT_OK;
}

int cm_cli_demo(int argc, char **argv) {
    cm_cli_option opts[] = {
        {"--store", true, "GeoPackage store to create or refill (required)", NULL},
        {"--config", true, "configuration naming the demo files (config/crisismap.json)", NULL},
    };
    const int n_opts = sizeof opts / sizeof *opts;
    const char *pos[1];
    int n_pos;
    int rc = cm_cli_parse("demo", "--store PATH [--config FILE]", argc, argv, opts, n_opts, pos, 0, &n_pos);
    if (rc != CM_EXIT_OK) return rc < 0 ? CM_EXIT_OK : rc;
    const char *store = cm_cli_value(opts, n_opts, "--store");
    if (!store) {
        fprintf(stderr, "crisismap demo: --store PATH is required (see crisismap demo --help)\n");
        return CM_EXIT_USAGE;
    }
    cm_config cfg;
    if ((rc = load_config("demo", cm_cli_value(opts, n_opts, "--config"), &cfg)) != CM_EXIT_OK) return rc;
    struct stat st;
    for (size_t i = 0; i < cfg.n_demo; i++)
        if (stat(cfg.demo[i].path, &st) != 0) {
            fprintf(stderr, "crisismap demo: demo file %s for layer %s is missing\n", cfg.demo[i].path, cfg.demo[i].layer);
            cm_config_release(&cfg);
            return CM_EXIT_USAGE;
        }
    cm_persist *p;
    cm_store_lock *lock;
    if ((rc = open_store_for_writing("demo", store, &cfg, &p, &lock)) != CM_EXIT_OK) {
        cm_config_release(&cfg);
        return rc;
    }
    rc = CM_EXIT_OK;
    for (size_t i = 0; i < cfg.n_demo && rc == CM_EXIT_OK; i++)
        rc = import_one(p, cm_schema_find_layer(&cfg.defs, cfg.demo[i].layer), cfg.demo[i].path, NULL, false, true);
    cm_persist_close(p);
    cm_store_lock_release(lock);
    cm_config_release(&cfg);
    cm_crs_thread_release();
    if (rc == CM_EXIT_OK) printf("demo store ready: %s\n", store);
    return rc;
}

int cm_cli_import(int argc, char **argv) {
    cm_cli_option opts[] = {
        {"--store", true, "GeoPackage store (created when missing; required)", NULL},
        {"--layer", true, "layer id to import into (required)", NULL},
        {"--s_srs", true, "CRS of the source when the file does not declare one, e.g. EPSG:32636", NULL},
        {"--config", true, "configuration with the layer definitions (config/crisismap.json)", NULL},
        {"--skip-invalid", false, "import the valid features and report the others (default: all or nothing)", NULL},
        {"--replace", false, "replace the layer's features instead of appending", NULL},
    };
    const int n_opts = sizeof opts / sizeof *opts;
    const char *pos[1];
    int n_pos;
    int rc = cm_cli_parse("import", "--store PATH --layer ID [--s_srs CRS] [--skip-invalid] [--replace] FILE", argc, argv,
                          opts, n_opts, pos, 1, &n_pos);
    if (rc != CM_EXIT_OK) return rc < 0 ? CM_EXIT_OK : rc;
    const char *store = cm_cli_value(opts, n_opts, "--store");
    const char *layer = cm_cli_value(opts, n_opts, "--layer");
    if (!store || !layer || n_pos != 1) {
        fprintf(stderr, "crisismap import: --store, --layer and one FILE are required (see crisismap import --help)\n");
        return CM_EXIT_USAGE;
    }
    struct stat st;
    if (stat(pos[0], &st) != 0) {
        fprintf(stderr, "crisismap import: no such file %s\n", pos[0]);
        return CM_EXIT_USAGE;
    }
    cm_config cfg;
    if ((rc = load_config("import", cm_cli_value(opts, n_opts, "--config"), &cfg)) != CM_EXIT_OK) return rc;
    const cm_layer_def *def = cm_schema_find_layer(&cfg.defs, layer);
    if (!def) {
        fprintf(stderr, "crisismap import: no layer \"%s\" in %s\n", layer, cfg.layers_path);
        cm_config_release(&cfg);
        return CM_EXIT_USAGE;
    }
    cm_persist *p;
    cm_store_lock *lock;
    if ((rc = open_store_for_writing("import", store, &cfg, &p, &lock)) != CM_EXIT_OK) {
        cm_config_release(&cfg);
        return rc;
    }
    rc = import_one(p, def, pos[0], cm_cli_value(opts, n_opts, "--s_srs"),
                    cm_cli_value(opts, n_opts, "--skip-invalid") != NULL, cm_cli_value(opts, n_opts, "--replace") != NULL);
    cm_persist_close(p);
    cm_store_lock_release(lock);
    cm_config_release(&cfg);
    cm_crs_thread_release();
    return rc;
}
