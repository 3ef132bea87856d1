/* main.c — the crisismap command: dispatch to a subcommand. */
#include <stdio.h>
#include <string.h>

#include "../layers/sqlite_setup.h"
#include "cli.h"
#include "heap_hint.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"serve", cm_cli_serve, "serve the map and the OGC API - Features from a store"},
    {"demo", cm_cli_demo, "create (or refill) a store with the demo data of a configuration"},
    {"import", cm_cli_import, "load a vector file GDAL reads into a layer of a store"},
    {"token", cm_cli_token, "create, list or revoke API tokens (create prints the token once)"},
    {"audit", cm_cli_audit, "verify the audit log's hash chain"},
};

static void usage(FILE *out) {
    fprintf(out, "usage: crisismap COMMAND [OPTIONS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n`crisismap COMMAND --help` describes a command's options.\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "crisismap: a command is required: serve, demo, import, token or audit (see crisismap --help)\n");
        return CM_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return CM_EXIT_OK;
    }
    cm_sqlite_setup(); /* before anything starts SQLite */
    /* The server holds its layers in memory for hours; this may re-execute it (heap_hint.h). */
    if (strcmp(argv[1], "serve") == 0) cm_heap_use_huge_pages(argv);
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (strcmp(argv[1], commands[i].name) == 0) return commands[i].run(argc - 2, argv + 2);
    fprintf(stderr, "crisismap: unknown command \"%s\" (see crisismap --help)\n", argv[1]);
    return CM_EXIT_USAGE;
}
