/* cli/args.c — long-option parsing shared by every command.

   Accepted forms: --name VALUE, --name=VALUE, -x VALUE, flags --name, and
   "--" to end options. Numbers are checked in full (no trailing junk) and
   against the option's range. Global options (--threads, --quiet,
   --max-pixels, --help) are accepted by every command. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* The line is formatted first and written with one call: stderr is unbuffered, and under mpirun
   several processes may report at once, so three writes could interleave into "unblur: unblur: ...". */
int cli_fail(int code, const char *fmt, ...) {
    char line[2048] = "unblur: ";
    size_t at = strlen(line);
    const size_t room = sizeof line - at - 1; /* the last byte is the newline's */
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line + at, room, fmt, ap);
    va_end(ap);
    if (n > 0) at += (size_t)n < room ? (size_t)n : room - 1; /* a longer message is cut */
    line[at++] = '\n';
    fwrite(line, 1, at, stderr);
    return code;
}

int cli_fail_ctx(const ub_ctx *ctx) { return cli_fail(EXIT_RUNTIME, "%s", ub_last_error(ctx)); }

static int global_options(cli_globals *g, cli_option out[4]) {
    cli_option globals[4] = {
        {"threads", 0, OPT_INT, &g->threads, 0, 4096, "N", "worker threads (default: all cores)"},
        {"quiet", 'q', OPT_FLAG, &g->quiet, 0, 0, NULL, "no progress bar"},
        {"max-pixels", 0, OPT_INT64, &g->max_pixels, 1, INT64_MAX, "N",
         "refuse images with more than N pixels (default 128000000)"},
        {"help", 'h', OPT_FLAG, &g->help, 0, 0, NULL, "show this help"},
    };
    memcpy(out, globals, sizeof globals);
    return 4;
}

static const cli_option *find(const cli_option *opts, int n, const char *name, size_t len, char short_name) {
    for (int i = 0; i < n; i++) {
        if (short_name && opts[i].short_name == short_name) return &opts[i];
        if (!short_name && strlen(opts[i].name) == len && strncmp(opts[i].name, name, len) == 0) return &opts[i];
    }
    return NULL;
}

static int set_value(const cli_command *cmd, const cli_option *o, const char *value) {
    if (o->kind == OPT_STRING) {
        *(const char **)o->target = value;
        return 0;
    }
    char *end;
    errno = 0;
    long long v = strtoll(value, &end, 10);
    if (errno || end == value || *end || v < o->min || v > o->max)
        return cli_fail(EXIT_USAGE, "%s: --%s expects a whole number from %lld to %lld, not '%s'", cmd->name,
                        o->name, (long long)o->min, (long long)o->max, value);
    if (o->kind == OPT_INT) *(int *)o->target = (int)v;
    else *(int64_t *)o->target = v;
    return 0;
}

int cli_parse(const cli_command *cmd, int argc, char **argv, const cli_option *opts, int nopts, cli_globals *g,
              cli_args *args) {
    cli_option all[64];
    if (nopts > 60) nopts = 60;
    memcpy(all, opts, sizeof(cli_option) * (size_t)nopts);
    int n = nopts + global_options(g, all + nopts);
    args->count = 0;
    int options_done = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (options_done || a[0] != '-' || a[1] == '\0') {
            if (args->count == (int)(sizeof args->positional / sizeof *args->positional))
                return cli_fail(EXIT_USAGE, "%s: too many arguments", cmd->name);
            args->positional[args->count++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            options_done = 1;
            continue;
        }
        const cli_option *o;
        const char *inline_value = NULL;
        if (a[1] == '-') {
            const char *name = a + 2, *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            o = find(all, n, name, len, 0);
            if (eq) inline_value = eq + 1;
        } else {
            o = a[2] == '\0' ? find(all, n, NULL, 0, a[1]) : NULL;
        }
        if (!o) return cli_fail(EXIT_USAGE, "%s: unknown option '%s' (see 'unblur %s --help')", cmd->name, a, cmd->name);
        if (o->kind == OPT_FLAG) {
            if (inline_value) return cli_fail(EXIT_USAGE, "%s: --%s takes no value", cmd->name, o->name);
            *(int *)o->target = 1;
            continue;
        }
        const char *value = inline_value;
        if (!value) {
            if (i + 1 >= argc) return cli_fail(EXIT_USAGE, "%s: --%s needs a value", cmd->name, o->name);
            value = argv[++i];
        }
        if (set_value(cmd, o, value)) return EXIT_USAGE;
    }
    return 0;
}

static void print_option(const cli_option *o) {
    char left[64];
    if (o->short_name)
        snprintf(left, sizeof left, "-%c, --%s%s%s", o->short_name, o->name, o->metavar ? " " : "",
                 o->metavar ? o->metavar : "");
    else snprintf(left, sizeof left, "    --%s%s%s", o->name, o->metavar ? " " : "", o->metavar ? o->metavar : "");
    printf("  %-26s %s\n", left, o->help);
}

void cli_print_help(const cli_command *cmd, const cli_option *opts, int nopts) {
    printf("usage: unblur %s %s\n\n%s\n\noptions:\n", cmd->name, cmd->synopsis, cmd->summary);
    for (int i = 0; i < nopts; i++) print_option(&opts[i]);
    cli_globals g;
    cli_option globals[4];
    int n = global_options(&g, globals);
    for (int i = 0; i < n; i++) print_option(&globals[i]);
    if (cmd->details) printf("\n%s\n", cmd->details);
}

int cli_begin(const cli_command *cmd, int argc, char **argv, const cli_option *opts, int nopts, cli_globals *g,
              cli_args *args) {
    if (cli_parse(cmd, argc, argv, opts, nopts, g, args)) return EXIT_USAGE;
    if (g->help) {
        cli_print_help(cmd, opts, nopts);
        return 0;
    }
    return -1;
}
