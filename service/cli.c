/* cli.c — option parsing for the subcommands: long options only, "--name value" or
 * "--name=value", clear one-line errors and exit status 2 on misuse. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

void cm_cli_print_usage(const char *command, const char *usage, const cm_cli_option *opts, int n_opts) {
    printf("usage: crisismap %s %s\n\noptions:\n", command, usage);
    for (int i = 0; i < n_opts; i++)
        printf("  %-22s %s\n", opts[i].name, opts[i].help);
    printf("  %-22s %s\n", "--help", "show this help");
}

int cm_cli_parse(const char *command, const char *usage, int argc, char **argv, cm_cli_option *opts, int n_opts,
                 const char **positional, int max_positional, int *n_positional) {
    *n_positional = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            cm_cli_print_usage(command, usage, opts, n_opts);
            return -1;
        }
        if (strncmp(a, "--", 2) != 0 || strcmp(a, "--") == 0) {
            if (*n_positional == max_positional) {
                fprintf(stderr, "crisismap %s: unexpected argument \"%s\" (see crisismap %s --help)\n", command, a, command);
                return CM_EXIT_USAGE;
            }
            positional[(*n_positional)++] = a;
            continue;
        }
        const char *eq = strchr(a, '=');
        size_t name_len = eq ? (size_t)(eq - a) : strlen(a);
        cm_cli_option *o = NULL;
        for (int k = 0; k < n_opts; k++)
            if (strlen(opts[k].name) == name_len && strncmp(opts[k].name, a, name_len) == 0) o = &opts[k];
        if (!o) {
            fprintf(stderr, "crisismap %s: unknown option %.*s (see crisismap %s --help)\n", command, (int)name_len, a,
                    command);
            return CM_EXIT_USAGE;
        }
        if (!o->takes_value) {
            if (eq) {
                fprintf(stderr, "crisismap %s: option %s takes no value\n", command, o->name);
                return CM_EXIT_USAGE;
            }
            o->value = "";
        } else if (eq) {
            o->value = eq + 1;
        } else if (i + 1 < argc) {
            o->value = argv[++i];
        } else {
            fprintf(stderr, "crisismap %s: option %s needs a value (see crisismap %s --help)\n", command, o->name, command);
            return CM_EXIT_USAGE;
        }
    }
    return CM_EXIT_OK;
}

const char *cm_cli_value(const cm_cli_option *opts, int n_opts, const char *name) {
    for (int i = 0; i < n_opts; i++)
        if (strcmp(opts[i].name, name) == 0) return opts[i].value;
    return NULL;
}
