/* cli/cmd_eval.c — `unblur eval --set S... --method M... [--json F] [--csv F] [--save DIR]
   [--report F.html [--report-images N] [--run RUNDIR | --curve F.svg]]`:
   the project's yardstick. Every method runs on every image of every set; the means per
   (set, method) are printed as a Markdown table, per-image rows go to --json / --csv, and the HTML
   report reads the outputs back from --save (or from a temporary folder beside the report, removed
   afterwards).

   --set and --method may be repeated (the option parser keeps one value per option, so they are
   taken out of argv here first). The context has no progress callback: the models would report
   their tiles through it; the bar follows the evaluation's own (method, image) runs instead. */
#define _XOPEN_SOURCE 700 /* nftw */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

enum { MAX_SPECS = 32 };

typedef struct spec_list {
    const char *v[MAX_SPECS];
    int n;
} spec_list;

/* "--NAME V" / "--NAME=V": the value, with *used set to the arguments it takes (1 or 2); NULL if a[0]
   is not the option. */
static const char *repeated_value(int argc, char **argv, int i, const char *name, int *used) {
    size_t n = strlen(name);
    const char *a = argv[i];
    if (strncmp(a, "--", 2) || strncmp(a + 2, name, n)) return NULL;
    if (a[2 + n] == '=') {
        *used = 1;
        return a + 3 + n;
    }
    if (a[2 + n] != '\0') return NULL;
    *used = 2;
    return i + 1 < argc ? argv[i + 1] : NULL;
}

/* Moves every --set and --method out of argv into the lists; returns the new argc or -1 (reported). */
static int take_specs(int argc, char **argv, spec_list *sets, spec_list *methods) {
    int out = 0;
    for (int i = 0; i < argc;) {
        if (!strcmp(argv[i], "--")) {
            while (i < argc) argv[out++] = argv[i++];
            break;
        }
        int used = 0;
        spec_list *l = sets;
        const char *v = repeated_value(argc, argv, i, "set", &used);
        if (!used) v = repeated_value(argc, argv, i, "method", &used), l = methods;
        if (!used) {
            argv[out++] = argv[i++];
            continue;
        }
        if (!v) return cli_fail(EXIT_USAGE, "eval: %s needs a value", argv[i]), -1;
        if (l->n == MAX_SPECS) return cli_fail(EXIT_USAGE, "eval: at most %d of %s", MAX_SPECS, argv[i]), -1;
        l->v[l->n++] = v;
        i += used;
    }
    return out;
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static ub_ctx *make_context(const cli_globals *g, cli_progress *p) {
    ub_settings s;
    ub_default_settings(&s);
    s.threads = g->threads;
    if (g->max_pixels > 0) s.max_pixels = g->max_pixels;
    memset(p, 0, sizeof *p);
    p->enabled = !g->quiet && isatty(STDERR_FILENO);
    p->last_permille = -1;
    p->start = now_seconds();
    ub_ctx *ctx = NULL;
    if (ub_ctx_create(&ctx, &s) != UB_OK) cli_fail(EXIT_RUNTIME, "cannot create a context (out of memory?)");
    return ctx;
}

static int on_progress(void *user, size_t done, size_t total, const char *set, const char *method, const char *item) {
    (void)method, (void)item;
    return cli_progress_callback(user, total ? (double)done / (double)total : 1.0, set);
}

/* A bad spec (unknown kind, key or method) is a usage error; a missing or bad file a runtime one. */
static int fail_status(ub_ctx *ctx, ub_status st) {
    return cli_fail(st == UB_ERR_INVALID ? EXIT_USAGE : EXIT_RUNTIME, "%s", ub_last_error(ctx));
}

typedef struct eval_job {
    ub_eval_set *sets[MAX_SPECS];
    ub_eval_method *methods[MAX_SPECS];
    int nsets, nmethods;
} eval_job;

static int open_job(ub_ctx *ctx, const spec_list *sets, const spec_list *methods, const char *root, eval_job *job) {
    for (int i = 0; i < sets->n; i++) {
        ub_status st = ub_eval_set_open(ctx, sets->v[i], root, &job->sets[job->nsets]);
        if (st != UB_OK) return fail_status(ctx, st);
        job->nsets++;
    }
    for (int i = 0; i < methods->n; i++) {
        ub_status st = ub_eval_method_create(ctx, methods->v[i], &job->methods[job->nmethods]);
        if (st != UB_OK) return fail_status(ctx, st);
        job->nmethods++;
    }
    return 0;
}

static void close_job(eval_job *job) {
    for (int i = 0; i < job->nsets; i++) ub_eval_set_destroy(&job->sets[i]);
    for (int i = 0; i < job->nmethods; i++) ub_eval_method_destroy(&job->methods[i]);
}

/* Where the time went, one line per set: its inputs (reading, in-memory blur, scoring the input),
   then each method's own time + the scoring of its outputs. */
static void print_timing(const ub_eval_summary *s, size_t n, double wall) {
    double methods = 0;
    for (size_t i = 0; i < n; i++) methods += s[i].seconds;
    printf("\nTime: %.1f s in all, %.1f s in the methods.\n", wall, methods);
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || s[i].set != s[i - 1].set) printf("%s- %s: inputs %.1f s", i ? "\n" : "", s[i].set, s[i].load_seconds);
        if (s[i].applicable) printf("; %s %.1f + %.1f s", s[i].method, s[i].seconds, s[i].score_seconds);
    }
    if (n) putchar('\n');
}

/* ---- the report's temporary outputs ---- */

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

/* A fresh folder "DIR/.unblur-report-XXXXXX" beside `report` (same file system, where the user may
   write), malloc'ed; NULL (reported) on failure. */
static char *make_temp_dir(const char *report) {
    const char *slash = strrchr(report, '/');
    int dir_len = slash ? (int)(slash - report) : 1;
    const char *dir = slash ? report : ".";
    if (slash && dir_len == 0) dir = "/", dir_len = 1;
    size_t n = (size_t)dir_len + 32;
    char *t = malloc(n);
    if (!t) return cli_fail(EXIT_RUNTIME, "out of memory"), NULL;
    snprintf(t, n, "%.*s/.unblur-report-XXXXXX", dir_len, dir);
    if (!mkdtemp(t)) {
        cli_fail(EXIT_RUNTIME, "%s: cannot create a temporary folder for the report's images", t);
        free(t);
        return NULL;
    }
    return t;
}

typedef struct report_args {
    const char *path, *run, *curve, *save;
    int images;
} report_args;

static int write_report(ub_ctx *ctx, const ub_eval_results *r, const eval_job *job, const report_args *a) {
    ub_eval_report_options o = {.outputs_dir = a->save, .images_per_set = (size_t)a->images, .curve_svg = a->curve};
    if (ub_eval_write_report(ctx, r, job->sets, (size_t)job->nsets, &o, a->path) != UB_OK) return cli_fail_ctx(ctx);
    return 0;
}

/* --run RUNDIR: its curve.svg (malloc'ed into *curve); either must be readable before the run starts. */
static int check_curve(report_args *a, char **curve) {
    if (a->run) {
        if (!(*curve = malloc(strlen(a->run) + 16))) return cli_fail(EXIT_RUNTIME, "out of memory");
        sprintf(*curve, "%s/curve.svg", a->run);
        a->curve = *curve;
    }
    if (a->curve && access(a->curve, R_OK) != 0) return cli_fail(EXIT_RUNTIME, "%s: cannot read the curve", a->curve);
    return 0;
}

/* The table, then where the time went, on stdout; the files asked for. */
static int write_outputs(ub_ctx *ctx, const ub_eval_results *r, const char *json, const char *csv, double wall) {
    char *md = NULL;
    if (ub_eval_format_markdown(ctx, r, &md) != UB_OK) return cli_fail_ctx(ctx);
    fputs(md, stdout);
    free(md);
    const ub_eval_summary *s;
    size_t n = ub_eval_results_summaries(r, &s);
    print_timing(s, n, wall);
    if (json && ub_eval_write_json(ctx, r, json) != UB_OK) return cli_fail_ctx(ctx);
    if (csv && ub_eval_write_csv(ctx, r, csv) != UB_OK) return cli_fail_ctx(ctx);
    return 0;
}

int cmd_eval(const cli_command *cmd, int argc, char **argv) {
    spec_list sets = {0}, methods = {0};
    argc = take_specs(argc, argv, &sets, &methods);
    if (argc < 0) return EXIT_USAGE;
    const char *root = NULL, *json = NULL, *csv = NULL, *save = NULL, *set_help = NULL, *method_help = NULL;
    report_args rep = {.images = 6};
    const cli_option opts[] = {
        {"set", 0, OPT_STRING, &set_help, 0, 0, "SPEC", "a benchmark set (repeatable; see below)"},
        {"method", 0, OPT_STRING, &method_help, 0, 0, "M", "identity, model:PATH, wiener, rl, blind, auto... (repeatable; see below)"},
        {"data-root", 0, OPT_STRING, &root, 0, 0, "DIR", "where the named sets live (default ../shared/data)"},
        {"json", 0, OPT_STRING, &json, 0, 0, "FILE", "write the summary and every image's scores as JSON"},
        {"csv", 0, OPT_STRING, &csv, 0, 0, "FILE", "write one row per (set, method, image)"},
        {"save", 0, OPT_STRING, &save, 0, 0, "DIR", "write the outputs as DIR/SET/METHOD/IMAGE.png"},
        {"report", 0, OPT_STRING, &rep.path, 0, 0, "FILE", "write a self-contained HTML report (table, images, crops)"},
        {"report-images", 0, OPT_INT, &rep.images, 1, 1000, "N", "images per set in the report, spread over the set (6)"},
        {"run", 0, OPT_STRING, &rep.run, 0, 0, "RUNDIR", "a training run: its curve.svg goes into the report"},
        {"curve", 0, OPT_STRING, &rep.curve, 0, 0, "FILE", "an SVG curve for the report (instead of --run)"},
    };
    cli_globals g = {0};
    cli_args args;
    int begun = cli_begin(cmd, argc, argv, opts, (int)(sizeof opts / sizeof *opts), &g, &args);
    if (begun >= 0) return begun;
    if (args.count) return cli_fail(EXIT_USAGE, "eval: unexpected argument '%s' (sets are given with --set)", args.positional[0]);
    if (!sets.n) return cli_fail(EXIT_USAGE, "eval: no set (give at least one --set; see 'unblur eval --help')");
    if (!methods.n) methods.v[methods.n++] = "identity";
    cli_progress progress;
    ub_ctx *ctx = make_context(&g, &progress);
    if (!ctx) return EXIT_RUNTIME;
    eval_job job = {0};
    int rc = open_job(ctx, &sets, &methods, root, &job);
    if (!rc && (rep.run || rep.curve) && !rep.path) rc = cli_fail(EXIT_USAGE, "eval: --run and --curve need --report");
    if (!rc && rep.run && rep.curve) rc = cli_fail(EXIT_USAGE, "eval: give --run or --curve, not both");
    char *temp = NULL, *curve = NULL;
    if (!rc) rc = check_curve(&rep, &curve);
    if (!rc && rep.path && !save && !(save = temp = make_temp_dir(rep.path))) rc = EXIT_RUNTIME;
    rep.save = save;
    ub_eval_results *r = NULL;
    ub_eval_options o = {.save_dir = save, .progress = on_progress, .progress_user = &progress};
    double t0 = now_seconds();
    if (!rc && ub_eval_run(ctx, job.sets, (size_t)job.nsets, job.methods, (size_t)job.nmethods, &o, &r) != UB_OK)
        rc = cli_fail_ctx(ctx);
    cli_progress_done(&progress);
    if (!rc) rc = write_outputs(ctx, r, json, csv, now_seconds() - t0);
    if (!rc && rep.path) rc = write_report(ctx, r, &job, &rep);
    if (temp) nftw(temp, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(temp);
    free(curve);
    ub_eval_results_destroy(&r);
    close_job(&job);
    ub_ctx_destroy(&ctx);
    return rc;
}
