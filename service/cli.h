/* cli.h — command-line parsing shared by the subcommands, and the subcommands. */
#ifndef CM_CLI_H
#define CM_CLI_H

#include <stdbool.h>

#define CM_EXIT_OK 0
#define CM_EXIT_FAILURE 1
#define CM_EXIT_USAGE 2

typedef struct cm_cli_option {
    const char *name;  /* "--store" */
    bool takes_value;
    const char *help;
    const char *value; /* filled: the value, or "" for a flag that was given */
} cm_cli_option;

/* Parses argv (after the command name) against opts; positional arguments go to
 * positional (at most max_positional). Returns CM_EXIT_OK, or prints one line and returns
 * CM_EXIT_USAGE. `--help` prints usage and returns -1. */
int cm_cli_parse(const char *command, const char *usage, int argc, char **argv, cm_cli_option *opts, int n_opts,
                 const char **positional, int max_positional, int *n_positional);
const char *cm_cli_value(const cm_cli_option *opts, int n_opts, const char *name);
void cm_cli_print_usage(const char *command, const char *usage, const cm_cli_option *opts, int n_opts);

int cm_cli_serve(int argc, char **argv);
int cm_cli_demo(int argc, char **argv);
int cm_cli_import(int argc, char **argv);
int cm_cli_token(int argc, char **argv);
int cm_cli_audit(int argc, char **argv);

#endif
