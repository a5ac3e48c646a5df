/* cli/progress.c — the context from global options, and the progress bar
   (on stderr, only when it is a terminal and --quiet is off). */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int cli_progress_callback(void *user, double fraction, const char *label) {
    cli_progress *p = user;
    if (!p->enabled) return 0;
    int permille = (int)(fraction * 1000.0 + 0.5);
    if (permille == p->last_permille) return 0;
    p->last_permille = permille;
    enum { BAR = 30 };
    char bar[BAR + 1];
    int filled = permille * BAR / 1000;
    for (int i = 0; i < BAR; i++) bar[i] = i < filled ? '#' : '.';
    bar[BAR] = '\0';
    double elapsed = now_seconds() - p->start;
    char eta[32] = "";
    if (fraction > 0.01 && fraction < 1.0) snprintf(eta, sizeof eta, " ETA %.0fs", elapsed * (1.0 / fraction - 1.0));
    fprintf(stderr, "\r%-10s [%s] %5.1f%%%-12s", label, bar, permille / 10.0, eta);
    fflush(stderr);
    p->drawn = 1;
    return 0;
}

void cli_progress_done(cli_progress *p) {
    if (p->drawn) {
        fputs("\r\033[K", stderr); /* clear the line: the result is printed on stdout */
        fflush(stderr);
    }
    p->drawn = 0;
}

ub_ctx *cli_make_context(const cli_globals *g, cli_progress *progress) {
    ub_settings s;
    ub_default_settings(&s);
    s.threads = g->threads;
    if (g->max_pixels > 0) s.max_pixels = g->max_pixels;
    memset(progress, 0, sizeof *progress);
    progress->enabled = !g->quiet && isatty(STDERR_FILENO);
    progress->last_permille = -1;
    progress->start = now_seconds();
    s.progress = cli_progress_callback;
    s.progress_user = progress;
    ub_ctx *ctx = NULL;
    if (ub_ctx_create(&ctx, &s) != UB_OK) cli_fail(EXIT_RUNTIME, "cannot create a context (out of memory?)");
    return ctx;
}
