/* cli/cmd_model.c — `unblur model`: inspect RBNet weight files, or write
   randomly initialised ones (PyTorch's default initialisation), e.g. to start
   a training or to compare unblur with rbnet.py on the same weights.

     unblur model info M.safetensors
     unblur model init -o M.safetensors [--width W] [--blocks N] [--mid-blocks M] [--depth D]
                       [--seed S] [--dtype F32|F16|BF16]
     unblur model diff A.safetensors B.safetensors [--tolerance X]

   diff compares any two safetensors files tensor by tensor (model files, training checkpoints): the
   same names and shapes, and the largest |a - b| over every float tensor; exit 1 when that exceeds
   --tolerance (default 0: bit-equal values). It reads through the library's internal safetensors
   reader (nn/safetensors.h), like `unblur train` reaches the trainer. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../nn/safetensors.h"
#include "cli.h"

static int model_info(ub_ctx *ctx, const char *path) {
    ub_model *m = NULL;
    if (ub_model_load(ctx, path, &m) != UB_OK) return cli_fail_ctx(ctx);
    ub_rbnet_config c;
    ub_model_config(m, &c);
    printf("%s: RBNet width %d, blocks %d, mid_blocks %d, depth %d, se_reduction %d, sa_kernel %d; %zu parameters\n",
           path, c.width, c.blocks, c.mid_blocks, c.depth, c.se_reduction, c.sa_kernel, ub_model_parameters(m));
    ub_model_destroy(&m);
    return 0;
}

/* The largest |a - b| between tensor `name` of two files of the same shape; -1 with a message. */
static double tensor_diff(ub_ctx *ctx, const ub__safetensors *a, const ub__safetensors *b, const char *name,
                          int rank, const int64_t *dims, size_t count) {
    float *x = malloc((count ? count : 1) * sizeof(float)), *y = malloc((count ? count : 1) * sizeof(float));
    double worst = -1;
    if (!x || !y) cli_fail(EXIT_RUNTIME, "model diff: out of memory for tensor %s", name);
    else if (ub__st_read_f32(ctx, a, name, rank, dims, x) != UB_OK || ub__st_read_f32(ctx, b, name, rank, dims, y) != UB_OK)
        cli_fail_ctx(ctx);
    else {
        worst = 0;
        for (size_t i = 0; i < count; i++) {
            double d = fabs((double)x[i] - (double)y[i]);
            if (!(d <= worst)) worst = isnan(d) ? INFINITY : d; /* a NaN on one side is the largest difference */
        }
    }
    free(x), free(y);
    return worst;
}

static int model_diff(ub_ctx *ctx, const char *pa, const char *pb, double tolerance) {
    ub__safetensors *a = NULL, *b = NULL;
    if (ub__st_open(ctx, pa, &a) != UB_OK || ub__st_open(ctx, pb, &b) != UB_OK) {
        ub__st_close(&a);
        return cli_fail_ctx(ctx);
    }
    int rc = 0;
    double worst = 0;
    const char *worst_name = "";
    if (ub__st_count(a) != ub__st_count(b))
        rc = cli_fail(EXIT_RUNTIME, "%s has %d tensors, %s has %d", pa, ub__st_count(a), pb, ub__st_count(b));
    for (int i = 0; !rc && i < ub__st_count(a); i++) {
        const char *name = ub__st_name(a, i);
        int j = ub__st_find(b, name);
        int64_t da[UB__ST_MAX_RANK], db[UB__ST_MAX_RANK];
        int rank = ub__st_shape(a, i, da);
        if (j < 0) {
            rc = cli_fail(EXIT_RUNTIME, "%s: no tensor %s (which %s has)", pb, name, pa);
            break;
        }
        size_t count = 1;
        int same = ub__st_shape(b, j, db) == rank;
        for (int k = 0; k < rank; k++) same &= da[k] == db[k], count *= (size_t)da[k];
        if (!same) {
            rc = cli_fail(EXIT_RUNTIME, "tensor %s: the shapes of %s and %s differ", name, pa, pb);
            break;
        }
        double d = tensor_diff(ctx, a, b, name, rank, da, count);
        if (d < 0) rc = EXIT_RUNTIME;
        else if (d > worst || !*worst_name) worst = d, worst_name = name;
    }
    if (!rc) {
        printf("max |a - b| = %.9g (tensor %s) over %d tensors\n", worst, worst_name, ub__st_count(a));
        if (!(worst <= tolerance))
            rc = cli_fail(EXIT_RUNTIME, "%s and %s differ by %g, more than the tolerance %g", pa, pb, worst, tolerance);
    }
    ub__st_close(&a), ub__st_close(&b);
    return rc;
}

int cmd_model(const cli_command *cmd, int argc, char **argv) {
    const char *out = NULL, *dtype = "F32";
    ub_rbnet_config c;
    ub_rbnet_default(&c);
    c.mid_blocks = -1;
    int64_t seed = 0;
    const char *tolerance_text = "0";
    const cli_option opts[] = {
        {"output", 'o', OPT_STRING, &out, 0, 0, "M", "init: the weights file to write"},
        {"width", 0, OPT_INT, &c.width, 1, 1024, "W", "init: channels at the first level (32)"},
        {"blocks", 0, OPT_INT, &c.blocks, 0, 64, "N", "init: residual blocks per stage (2)"},
        {"mid-blocks", 0, OPT_INT, &c.mid_blocks, 0, 64, "M", "init: bottleneck blocks (default: blocks)"},
        {"depth", 0, OPT_INT, &c.depth, 1, 8, "D", "init: down-samplings (2)"},
        {"seed", 0, OPT_INT64, &seed, 0, INT64_MAX, "S", "init: random seed (0)"},
        {"dtype", 0, OPT_STRING, &dtype, 0, 0, "T", "init: F32 (default), F16 or BF16"},
        {"tolerance", 0, OPT_STRING, &tolerance_text, 0, 0, "X", "diff: the largest |a - b| accepted (0)"},
    };
    cli_globals g = {0};
    cli_args args;
    int begun = cli_begin(cmd, argc, argv, opts, (int)(sizeof opts / sizeof *opts), &g, &args);
    if (begun >= 0) return begun;
    const char *what = args.count ? args.positional[0] : "";
    int info = strcmp(what, "info") == 0, init = strcmp(what, "init") == 0, diff = strcmp(what, "diff") == 0;
    if ((!info && !init && !diff) || (info && args.count != 2) || (init && (args.count != 1 || !out)) ||
        (diff && args.count != 3))
        return cli_fail(EXIT_USAGE, "model: expects 'info M.safetensors', 'init -o M.safetensors' or "
                                    "'diff A.safetensors B.safetensors' (see 'unblur model --help')");
    char *end;
    double tolerance = strtod(tolerance_text, &end);
    if (end == tolerance_text || *end || !(tolerance >= 0))
        return cli_fail(EXIT_USAGE, "model: --tolerance expects a number >= 0, not '%s'", tolerance_text);
    if (c.mid_blocks < 0) c.mid_blocks = c.blocks;
    cli_progress progress;
    ub_ctx *ctx = cli_make_context(&g, &progress);
    if (!ctx) return EXIT_RUNTIME;
    int rc = 0;
    if (info) rc = model_info(ctx, args.positional[1]);
    else if (diff) rc = model_diff(ctx, args.positional[1], args.positional[2], tolerance);
    else {
        ub_rng r;
        ub_rng_seed(&r, (uint64_t)seed);
        ub_model *m = NULL;
        if (ub_model_create(ctx, &c, &r, &m) != UB_OK || ub_model_save(ctx, m, out, dtype) != UB_OK) rc = cli_fail_ctx(ctx);
        ub_model_destroy(&m);
    }
    ub_ctx_destroy(&ctx);
    return rc;
}
