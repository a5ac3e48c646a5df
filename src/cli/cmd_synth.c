/* cli/cmd_synth.c — `unblur synth`: realistic blur from sharp images.

   One image:   unblur synth IN -o OUT [--sharp-out S] [--kernel-out K] [--params-out P]
   A batch:     unblur synth DIR_OR_FILES... -o OUTDIR   ->  OUTDIR/blur/NAME.png, OUTDIR/sharp/NAME.png
                (GoPro layout; with --params, OUTDIR/params/NAME.json; with --kernels,
                OUTDIR/kernels/NAME.png: the sidecars of what each sample drew)
   Sample i of a batch is the i-th input in sorted order, so a batch is
   reproducible from (config, seed) whatever the thread count. Batches run one
   image per worker thread, each with its own single-threaded context. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <omp.h>

#include "cli.h"

typedef struct synth_opts {
    const char *out, *preset, *config, *depth, *depth_kind, *mask, *kernel_out, *params_out, *sharp_out;
    int64_t seed, index;
    double depth_scale;
    const char *depth_scale_text;
    int params, kernels;
    int kernel_optional; /* batch: a sample without camera blur has no kernel file */
} synth_opts;

static int is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static ub_status make_synth(ub_ctx *ctx, const synth_opts *o, ub_synth **s) {
    if (o->config) return ub_synth_create_file(ctx, o->config, s);
    return ub_synth_create_preset(ctx, o->preset ? o->preset : "realistic", s);
}

/* Reads the optional depth map and mask. */
static int read_aux(ub_ctx *ctx, const synth_opts *o, ub_image **depth, ub_image **mask) {
    if (o->depth) {
        ub_depth_kind kind = UB_DEPTH_MM16;
        if (o->depth_kind && strcmp(o->depth_kind, "disparity") == 0) kind = UB_DEPTH_DISPARITY;
        else if (o->depth_kind && strcmp(o->depth_kind, "mm") != 0)
            return cli_fail(EXIT_USAGE, "synth: --depth-kind is 'mm' or 'disparity', not '%s'", o->depth_kind);
        if (ub_depth_read(ctx, o->depth, kind, o->depth_scale, depth) != UB_OK) return cli_fail_ctx(ctx);
    }
    if (o->mask && ub_image_read(ctx, o->mask, mask) != UB_OK) return cli_fail_ctx(ctx);
    if (*mask && (*mask)->channels != 1)
        return cli_fail(EXIT_RUNTIME, "%s: a mask has 1 channel, this one has %d", o->mask, (*mask)->channels);
    return 0;
}

static int synth_one(ub_ctx *ctx, ub_synth *s, const synth_opts *o, const char *in) {
    ub_image *sharp = NULL, *depth = NULL, *mask = NULL;
    ub_synth_sample out = {0};
    int rc = 0;
    if (ub_image_read(ctx, in, &sharp) != UB_OK) return cli_fail_ctx(ctx);
    if ((rc = read_aux(ctx, o, &depth, &mask)) == 0) {
        ub_synth_inputs inputs = {sharp, depth, mask};
        if (ub_synth_run(s, &inputs, (uint64_t)o->seed, (uint64_t)o->index, &out) != UB_OK)
            rc = cli_fail(EXIT_RUNTIME, "%s: %s", in, ub_last_error(ctx));
    }
    /* refuse before writing anything: a run either writes all it was asked for or nothing it can foresee */
    if (rc == 0 && o->kernel_out && !out.kernel && !o->kernel_optional)
        rc = cli_fail(EXIT_RUNTIME, "%s: this sample has no camera blur, so no kernel to write", o->kernel_out);
    if (rc == 0 && ub_image_write(ctx, out.blurred, o->out, NULL) != UB_OK) rc = cli_fail_ctx(ctx);
    if (rc == 0 && o->sharp_out && ub_image_write(ctx, out.sharp, o->sharp_out, NULL) != UB_OK) rc = cli_fail_ctx(ctx);
    if (rc == 0 && o->kernel_out && out.kernel && ub_kernel_write(ctx, out.kernel, o->kernel_out) != UB_OK)
        rc = cli_fail_ctx(ctx);
    if (rc == 0 && o->params_out &&
        ub_write_file_atomic(ctx, o->params_out, out.params_json, strlen(out.params_json)) != UB_OK)
        rc = cli_fail_ctx(ctx);
    ub_synth_sample_free(&out);
    ub_image_destroy(&sharp);
    ub_image_destroy(&depth);
    ub_image_destroy(&mask);
    return rc;
}

/* ---- batches ---- */

typedef struct file_list {
    char **paths;
    int count, cap;
} file_list;

static int has_image_extension(const char *name) {
    return ub_format_from_name(name) != UB_FORMAT_AUTO;
}

static int add_path(file_list *l, const char *dir, const char *name) {
    if (l->count == l->cap) {
        int cap = l->cap ? 2 * l->cap : 64;
        char **p = realloc(l->paths, sizeof(char *) * (size_t)cap);
        if (!p) return -1;
        l->paths = p;
        l->cap = cap;
    }
    size_t n = (dir ? strlen(dir) + 1 : 0) + strlen(name) + 1;
    char *s = malloc(n);
    if (!s) return -1;
    if (dir) snprintf(s, n, "%s/%s", dir, name);
    else snprintf(s, n, "%s", name);
    l->paths[l->count++] = s;
    return 0;
}

static int compare_paths(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int list_inputs(const cli_args *args, file_list *l) {
    for (int i = 0; i < args->count; i++) {
        const char *p = args->positional[i];
        if (!is_dir(p)) {
            if (add_path(l, NULL, p)) return cli_fail(EXIT_RUNTIME, "out of memory");
            continue;
        }
        DIR *d = opendir(p);
        if (!d) return cli_fail(EXIT_RUNTIME, "%s: cannot open: %s", p, strerror(errno));
        for (struct dirent *e; (e = readdir(d));)
            if (e->d_name[0] != '.' && has_image_extension(e->d_name) && add_path(l, p, e->d_name)) {
                closedir(d);
                return cli_fail(EXIT_RUNTIME, "out of memory");
            }
        closedir(d);
    }
    qsort(l->paths, (size_t)l->count, sizeof(char *), compare_paths);
    if (l->count == 0) return cli_fail(EXIT_RUNTIME, "%s: no PNG or JPEG images", args->positional[0]);
    return 0;
}

static int make_dir(const char *path) {
    if (mkdir(path, 0777) != 0 && errno != EEXIST) return cli_fail(EXIT_RUNTIME, "%s: cannot create: %s", path, strerror(errno));
    if (!is_dir(path)) return cli_fail(EXIT_RUNTIME, "%s: exists and is not a folder", path);
    return 0;
}

/* "dir/name.jpg" -> "OUT/sub/name.ext" */
static void output_path(char *buf, size_t size, const char *out, const char *sub, const char *in, const char *ext) {
    const char *base = strrchr(in, '/');
    base = base ? base + 1 : in;
    const char *dot = strrchr(base, '.');
    int stem = dot ? (int)(dot - base) : (int)strlen(base);
    snprintf(buf, size, "%s/%s/%.*s%s", out, sub, stem, base, ext);
}

static int batch_one(ub_ctx *ctx, ub_synth *s, const synth_opts *o, const char *in, int64_t index) {
    char blur[4200], sharp[4200], params[4200], kernel[4200];
    output_path(blur, sizeof blur, o->out, "blur", in, ".png");
    output_path(sharp, sizeof sharp, o->out, "sharp", in, ".png");
    output_path(params, sizeof params, o->out, "params", in, ".json");
    output_path(kernel, sizeof kernel, o->out, "kernels", in, ".png");
    synth_opts one = *o;
    one.out = blur;
    one.sharp_out = sharp;
    one.params_out = o->params ? params : NULL;
    one.kernel_out = o->kernels ? kernel : NULL;
    one.kernel_optional = 1;
    one.index = index;
    return synth_one(ctx, s, &one, in);
}

static int run_batch(const synth_opts *o, const cli_args *args, const cli_globals *g) {
    file_list l = {0};
    int rc = list_inputs(args, &l);
    const char *subs[4] = {"blur", "sharp", o->params ? "params" : NULL, o->kernels ? "kernels" : NULL};
    if (rc == 0) rc = make_dir(o->out);
    for (int i = 0; rc == 0 && i < 4; i++) {
        if (!subs[i]) continue;
        char p[4200];
        snprintf(p, sizeof p, "%s/%s", o->out, subs[i]);
        rc = make_dir(p);
    }
    cli_progress progress;
    cli_globals one_thread = *g;
    one_thread.threads = 1;
    ub_ctx *main_ctx = rc == 0 ? cli_make_context(g, &progress) : NULL;
    int workers = main_ctx ? ub_ctx_threads(main_ctx) : 1, done = 0, failures = 0;
    if (main_ctx && rc == 0) {
#pragma omp parallel num_threads(workers) reduction(+ : failures)
        {
            cli_progress quiet;
            ub_ctx *ctx = cli_make_context(&one_thread, &quiet);
            ub_synth *s = NULL;
            if (!ctx || make_synth(ctx, o, &s) != UB_OK) {
                if (ctx) cli_fail_ctx(ctx);
                failures++;
            }
#pragma omp for schedule(dynamic, 1)
            for (int i = 0; i < l.count; i++) {
                if (!s) continue;
                if (batch_one(ctx, s, o, l.paths[i], i) != 0) failures++;
#pragma omp critical
                cli_progress_callback(&progress, (double)++done / l.count, "synth");
            }
            ub_synth_destroy(&s);
            ub_ctx_destroy(&ctx);
        }
        cli_progress_done(&progress);
        if (failures) rc = EXIT_RUNTIME;
        else if (!g->quiet) fprintf(stderr, "synth: %d pairs in %s/blur and %s/sharp\n", l.count, o->out, o->out);
    }
    ub_ctx_destroy(&main_ctx);
    for (int i = 0; i < l.count; i++) free(l.paths[i]);
    free(l.paths);
    return rc;
}

int cmd_synth(const cli_command *cmd, int argc, char **argv) {
    synth_opts o = {0};
    const cli_option opts[] = {
        {"output", 'o', OPT_STRING, &o.out, 0, 0, "OUT", "blurred image, or a folder for a batch"},
        {"preset", 0, OPT_STRING, &o.preset, 0, 0, "P", "gaussian, linear, shake, realistic (default) or camera"},
        {"config", 0, OPT_STRING, &o.config, 0, 0, "C.json", "a JSON config (see docs/synth-config.md)"},
        {"seed", 0, OPT_INT64, &o.seed, 0, INT64_MAX, "S", "run seed (default 0)"},
        {"index", 0, OPT_INT64, &o.index, 0, INT64_MAX, "I", "sample index of a single image (default 0)"},
        {"depth", 0, OPT_STRING, &o.depth, 0, 0, "D.png", "depth map (16-bit PNG, millimetres)"},
        {"depth-kind", 0, OPT_STRING, &o.depth_kind, 0, 0, "K", "mm (default) or disparity"},
        {"depth-scale", 0, OPT_STRING, &o.depth_scale_text, 0, 0, "X", "disparity: depth = X / disparity"},
        {"mask", 0, OPT_STRING, &o.mask, 0, 0, "M.png", "foreground mask of the moving object"},
        {"sharp-out", 0, OPT_STRING, &o.sharp_out, 0, 0, "S.png", "also write the matching sharp target"},
        {"kernel-out", 0, OPT_STRING, &o.kernel_out, 0, 0, "K.png", "also write the camera PSF (16-bit PNG)"},
        {"params-out", 0, OPT_STRING, &o.params_out, 0, 0, "P.json", "also write the parameters drawn"},
        {"params", 0, OPT_FLAG, &o.params, 0, 0, NULL, "batch: also write params/NAME.json"},
        {"kernels", 0, OPT_FLAG, &o.kernels, 0, 0, NULL, "batch: also write kernels/NAME.png (camera PSF, 16-bit)"},
    };
    cli_globals g = {0};
    cli_args args;
    int begun = cli_begin(cmd, argc, argv, opts, (int)(sizeof opts / sizeof *opts), &g, &args);
    if (begun >= 0) return begun;
    if (args.count < 1 || !o.out) return cli_fail(EXIT_USAGE, "synth: expects IN... -o OUT (see 'unblur synth --help')");
    if (o.preset && o.config) return cli_fail(EXIT_USAGE, "synth: --preset and --config exclude each other");
    o.depth_scale = 1.0;
    if (o.depth_scale_text) {
        char *end;
        o.depth_scale = strtod(o.depth_scale_text, &end);
        if (*end || !(o.depth_scale > 0))
            return cli_fail(EXIT_USAGE, "synth: --depth-scale expects a positive number, not '%s'", o.depth_scale_text);
    }
    int batch = args.count > 1 || is_dir(args.positional[0]);
    if (batch) {
        if (o.kernel_out || o.params_out || o.sharp_out || o.depth || o.mask)
            return cli_fail(EXIT_USAGE, "synth: --kernel-out, --params-out, --sharp-out, --depth and --mask are for one image");
        return run_batch(&o, &args, &g);
    }
    if (ub_format_from_name(o.out) == UB_FORMAT_AUTO)
        return cli_fail(EXIT_USAGE, "%s: unknown output format (use .png, .jpg or .jpeg)", o.out);
    cli_progress progress;
    ub_ctx *ctx = cli_make_context(&g, &progress);
    if (!ctx) return EXIT_RUNTIME;
    ub_synth *s = NULL;
    int rc = make_synth(ctx, &o, &s) != UB_OK ? cli_fail_ctx(ctx) : synth_one(ctx, s, &o, args.positional[0]);
    ub_synth_destroy(&s);
    ub_ctx_destroy(&ctx);
    return rc;
}
