/* cli_admin.c — `crisismap token` (create, list, revoke) and `crisismap audit verify`:
 * administration that works on the store directly, also while a server runs (the server
 * picks token changes up within seconds). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../layers/audit.h"
#include "../layers/crs.h"
#include "../layers/persist.h"
#include "../layers/schema.h"
#include "cli.h"

static const cm_layer_defs no_layers = {NULL, 0};

static cm_persist *open_store(const char *command, const char *path, bool create) {
    struct stat st;
    if (!path) {
        fprintf(stderr, "crisismap %s: --store PATH is required (see crisismap %s --help)\n", command, command);
        return NULL;
    }
    if (!create && stat(path, &st) != 0) {
        fprintf(stderr, "crisismap %s: no store at %s\n", command, path);
        return NULL;
    }
    cm_error err;
    cm_error_clear(&err);
    cm_persist *p;
    if (cm_persist_open(path, &no_layers, create, &p, &err) != CM_OK) {
        fprintf(stderr, "crisismap %s: %s\n", command, err.message);
        return NULL;
    }
    return p;
}

static bool layers_list_ok(const char *csv) {
    if (!csv) return true;
    char buf[512];
    if (strlen(csv) >= sizeof buf) return false;
    memcpy(buf, csv, strlen(csv) + 1);
    for (char *p = buf, *end; p; p = end ? end + 1 : NULL) {
        end = strchr(p, ',');
        if (end) *end = '\0';
        if (!cm_schema_is_safe_name(p)) return false;
    }
    return true;
}

static int token_create(int argc, char **argv) {
    cm_cli_option opts[] = {
        {"--store", true, "GeoPackage store (required)", NULL},
        {"--name", true, "who holds the token, e.g. traffic-police-1 (required; shown in the audit log)", NULL},
        {"--role", true, "viewer, operator or admin (required)", NULL},
        {"--layers", true, "comma-separated layer ids an operator may edit (default: all operator layers)", NULL},
    };
    const int n = sizeof opts / sizeof *opts;
    const char *pos[1];
    int np;
    int rc = cm_cli_parse("token create", "--store PATH --name NAME --role viewer|operator|admin [--layers ID,ID]", argc,
                          argv, opts, n, pos, 0, &np);
    if (rc != CM_EXIT_OK) return rc < 0 ? CM_EXIT_OK : rc;
    const char *name = cm_cli_value(opts, n, "--name"), *role_name = cm_cli_value(opts, n, "--role");
    const char *layers = cm_cli_value(opts, n, "--layers");
    cm_role role;
    if (!name || !*name || strlen(name) > 100 || !role_name || !cm_role_from_name(role_name, &role)) {
        fprintf(stderr, "crisismap token create: --name (1..100 characters) and --role viewer|operator|admin are required\n");
        return CM_EXIT_USAGE;
    }
    if (!layers_list_ok(layers)) {
        fprintf(stderr, "crisismap token create: --layers must be layer ids separated by commas\n");
        return CM_EXIT_USAGE;
    }
    cm_persist *p = open_store("token create", cm_cli_value(opts, n, "--store"), true);
    if (!p) return CM_EXIT_USAGE;
    char text[CM_TOKEN_TEXT_LEN + 1];
    uint8_t hash[CM_SHA256_LEN];
    cm_error err;
    cm_error_clear(&err);
    cm_status s = cm_token_generate(text, hash, &err);
    if (s == CM_OK) s = cm_persist_token_add(p, name, role, layers, hash, &err);
    cm_persist_close(p);
    if (s != CM_OK) {
        fprintf(stderr, "crisismap token create: %s\n", err.message);
        return s == CM_ERR_BAD_PARAMETER ? CM_EXIT_USAGE : CM_EXIT_FAILURE;
    }
    /* The token alone on stdout, once: only its hash is kept. */
    printf("%s\n", text);
    memset(text, 0, sizeof text);
    return CM_EXIT_OK;
}

static int token_list(int argc, char **argv) {
    cm_cli_option opts[] = {{"--store", true, "GeoPackage store (required)", NULL}};
    const char *pos[1];
    int np;
    int rc = cm_cli_parse("token list", "--store PATH", argc, argv, opts, 1, pos, 0, &np);
    if (rc != CM_EXIT_OK) return rc < 0 ? CM_EXIT_OK : rc;
    cm_persist *p = open_store("token list", cm_cli_value(opts, 1, "--store"), false);
    if (!p) return CM_EXIT_USAGE;
    cm_token_set *set;
    cm_error err;
    if (cm_persist_tokens_load(p, &set, &err) != CM_OK) {
        cm_persist_close(p);
        fprintf(stderr, "crisismap token list: %s\n", err.message);
        return CM_EXIT_FAILURE;
    }
    printf("%-32s %-9s %s\n", "NAME", "ROLE", "LAYERS");
    for (size_t i = 0; i < set->n; i++) {
        printf("%-32s %-9s ", set->tokens[i].name, cm_role_name(set->tokens[i].role));
        if (!set->tokens[i].n_layers) printf("*");
        for (size_t k = 0; k < set->tokens[i].n_layers; k++) printf("%s%s", k ? "," : "", set->tokens[i].layers[k]);
        printf("\n");
    }
    cm_token_set_unref(set);
    cm_persist_close(p);
    return CM_EXIT_OK;
}

static int token_revoke(int argc, char **argv) {
    cm_cli_option opts[] = {{"--store", true, "GeoPackage store (required)", NULL}};
    const char *pos[1];
    int np;
    int rc = cm_cli_parse("token revoke", "--store PATH NAME", argc, argv, opts, 1, pos, 1, &np);
    if (rc != CM_EXIT_OK) return rc < 0 ? CM_EXIT_OK : rc;
    if (np != 1) {
        fprintf(stderr, "crisismap token revoke: give the token's NAME (see crisismap token list)\n");
        return CM_EXIT_USAGE;
    }
    cm_persist *p = open_store("token revoke", cm_cli_value(opts, 1, "--store"), false);
    if (!p) return CM_EXIT_USAGE;
    cm_error err;
    cm_error_clear(&err);
    cm_status s = cm_persist_token_revoke(p, pos[0], &err);
    cm_persist_close(p);
    if (s != CM_OK) {
        fprintf(stderr, "crisismap token revoke: %s\n", err.message);
        return s == CM_ERR_NOT_FOUND ? CM_EXIT_USAGE : CM_EXIT_FAILURE;
    }
    printf("revoked %s\n", pos[0]);
    return CM_EXIT_OK;
}

int cm_cli_token(int argc, char **argv) {
    if (argc >= 1 && strcmp(argv[0], "create") == 0) return token_create(argc - 1, argv + 1);
    if (argc >= 1 && strcmp(argv[0], "list") == 0) return token_list(argc - 1, argv + 1);
    if (argc >= 1 && strcmp(argv[0], "revoke") == 0) return token_revoke(argc - 1, argv + 1);
    if (argc >= 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
        printf("usage: crisismap token create --store PATH --name NAME --role viewer|operator|admin [--layers ID,ID]\n"
               "       crisismap token list --store PATH\n"
               "       crisismap token revoke --store PATH NAME\n\n"
               "A new token is printed once, alone on stdout; the store keeps only its SHA-256.\n");
        return CM_EXIT_OK;
    }
    fprintf(stderr, "crisismap token: say create, list or revoke (see crisismap token --help)\n");
    return CM_EXIT_USAGE;
}

int cm_cli_audit(int argc, char **argv) {
    if (argc >= 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
        printf("usage: crisismap audit verify --store PATH\n\n"
               "Recomputes the audit log's hash chain and names the first record that does not match.\n");
        return CM_EXIT_OK;
    }
    if (argc < 1 || strcmp(argv[0], "verify") != 0) {
        fprintf(stderr, "crisismap audit: say verify (see crisismap audit --help)\n");
        return CM_EXIT_USAGE;
    }
    cm_cli_option opts[] = {{"--store", true, "GeoPackage store (required)", NULL}};
    const char *pos[1];
    int np;
    int rc = cm_cli_parse("audit verify", "--store PATH", argc - 1, argv + 1, opts, 1, pos, 0, &np);
    if (rc != CM_EXIT_OK) return rc < 0 ? CM_EXIT_OK : rc;
    cm_persist *p = open_store("audit verify", cm_cli_value(opts, 1, "--store"), false);
    if (!p) return CM_EXIT_USAGE;
    cm_error err;
    cm_error_clear(&err);
    int64_t last;
    char last_hash[2 * CM_SHA256_LEN + 1];
    if (cm_persist_audit_last(p, &last, last_hash, &err) != CM_OK) {
        cm_persist_close(p);
        fprintf(stderr, "crisismap audit verify: %s\n", err.message);
        return CM_EXIT_FAILURE;
    }
    char prev[2 * CM_SHA256_LEN + 1];
    memcpy(prev, cm_audit_genesis, sizeof prev);
    int64_t broken = 0;
    const char *why = "";
    for (int64_t seq = 1; seq <= last && !broken; seq++) {
        cm_audit_record r;
        if (cm_persist_audit_get(p, seq, &r, &err) != CM_OK) {
            broken = seq;
            why = "record missing";
            break;
        }
        char stored[sizeof r.hash];
        memcpy(stored, r.hash, sizeof stored);
        if (strcmp(r.prev_hash, prev) != 0) {
            broken = seq;
            why = "does not follow the previous record (prev_hash differs)";
        } else {
            cm_audit_seal(&r);
            if (strcmp(r.hash, stored) != 0) {
                broken = seq;
                why = "its content does not match its hash (edited)";
            }
        }
        memcpy(prev, stored, sizeof prev);
        cm_audit_record_release(&r);
    }
    cm_persist_close(p);
    cm_crs_thread_release();
    if (broken) {
        printf("audit chain BROKEN at record %" PRId64 ": %s\n", broken, why);
        return CM_EXIT_FAILURE;
    }
    printf("audit chain intact: %" PRId64 " records\n", last);
    return CM_EXIT_OK;
}
