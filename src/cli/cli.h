/* cli/cli.h — what the command files of the unblur program share: option
   parsing, the context built from global options, messages, progress. Only
   this folder talks to the terminal; it uses the public API only. */
#ifndef UB_CLI_H
#define UB_CLI_H

#include <stdint.h>

#include "unblur.h"

enum { EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

typedef enum { OPT_FLAG, OPT_INT, OPT_INT64, OPT_STRING } cli_opt_kind;

typedef struct cli_option {
    const char *name;    /* long name without "--" */
    char short_name;     /* 0 if none */
    cli_opt_kind kind;
    void *target;        /* int*, int64_t* or const char** */
    int64_t min, max;    /* accepted range of OPT_INT / OPT_INT64 */
    const char *metavar; /* "N", "FILE", ... (NULL for flags) */
    const char *help;
} cli_option;

/* Options every command takes. */
typedef struct cli_globals {
    int threads;        /* 0 = all cores */
    int quiet;
    int64_t max_pixels;
    int help;
} cli_globals;

typedef struct cli_command {
    const char *name;
    const char *synopsis; /* "IN OUT [options]" */
    const char *summary;  /* one line */
    const char *details;  /* paragraphs after the options, or NULL */
    int (*run)(const struct cli_command *cmd, int argc, char **argv);
} cli_command;

typedef struct cli_args {
    const char *positional[64];
    int count;
} cli_args;

/* Parses argv[0..argc) against the command's options plus the global ones.
   Returns 0, or EXIT_USAGE after printing a one-line error. */
int cli_parse(const cli_command *cmd, int argc, char **argv, const cli_option *opts, int nopts,
              cli_globals *g, cli_args *args);
void cli_print_help(const cli_command *cmd, const cli_option *opts, int nopts);
/* cli_parse, then --help: returns -1 when the command should go on, otherwise the
   exit status to return at once (0 after printing the help, EXIT_USAGE after an error). */
int cli_begin(const cli_command *cmd, int argc, char **argv, const cli_option *opts, int nopts, cli_globals *g,
              cli_args *args);

/* "unblur: <message>" on stderr, one line; returns `code`. */
int cli_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints the context's last error as "unblur: <message>" and returns EXIT_RUNTIME. */
int cli_fail_ctx(const ub_ctx *ctx);

/* Builds a context from the global options, with a progress bar when stderr is a terminal. */
typedef struct cli_progress {
    int enabled;
    int drawn;        /* something is on the line */
    int last_permille;
    double start;
} cli_progress;

ub_ctx *cli_make_context(const cli_globals *g, cli_progress *progress);
/* Ends the progress line (if any). */
void cli_progress_done(cli_progress *p);
int cli_progress_callback(void *user, double fraction, const char *label);

int cmd_info(const cli_command *cmd, int argc, char **argv);
int cmd_convert(const cli_command *cmd, int argc, char **argv);
int cmd_metrics(const cli_command *cmd, int argc, char **argv);
int cmd_deblur(const cli_command *cmd, int argc, char **argv);
int cmd_synth(const cli_command *cmd, int argc, char **argv);
int cmd_kernels(const cli_command *cmd, int argc, char **argv);
int cmd_model(const cli_command *cmd, int argc, char **argv);
int cmd_train(const cli_command *cmd, int argc, char **argv);
int cmd_deconv(const cli_command *cmd, int argc, char **argv);
int cmd_eval(const cli_command *cmd, int argc, char **argv);

#endif
