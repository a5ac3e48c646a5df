/* cli/cmd_model.c — `unblur model`: inspect RBNet weight files, or write
   randomly initialised ones (PyTorch's default initialisation), e.g. to start
   a training or to compare unblur with rbnet.py on the same weights.

     unblur model info M.safetensors
     unblur model init -o M.safetensors [--width W] [--blocks N] [--mid-blocks M] [--depth D]
                       [--block res|naf] [--skip-attention both|se|sa|none] [--seed S] [--dtype F32|F16|BF16]
     unblur model diff A.safetensors B.safetensors [--tolerance X]

   diff compares any two safetensors files tensor by tensor (model files, training checkpoints): the
   same names and shapes, and the largest |a - b| over every float tensor; exit 1 when that exceeds
   --tolerance (default 0: bit-equal values), through ub_safetensors_diff (unblur/nn.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int model_info(ub_ctx *ctx, const char *path) {
    ub_model *m = NULL;
    if (ub_model_open(ctx, path, &m) != UB_OK) return cli_fail_ctx(ctx); /* a file or a bundled name */
    char config[256];
    ub_model_describe(m, config, sizeof config);
    const char *arch = ub_model_arch(m);
    printf("%s: %s %s; %zu parameters; receptive radius %d px\n", path,
           strcmp(arch, "rbnet") == 0 ? "RBNet" : arch, config, ub_model_parameters(m),
           ub_model_receptive_radius(m));
    ub_model_destroy(&m);
    return 0;
}

static int model_diff(ub_ctx *ctx, const char *pa, const char *pb, double tolerance) {
    double worst;
    char name[256];
    int count;
    if (ub_safetensors_diff(ctx, pa, pb, &worst, name, sizeof name, &count) != UB_OK) return cli_fail_ctx(ctx);
    printf("max |a - b| = %.9g (tensor %s) over %d tensors\n", worst, name, count);
    if (!(worst <= tolerance))
        return cli_fail(EXIT_RUNTIME, "%s and %s differ by %g, more than the tolerance %g", pa, pb, worst, tolerance);
    return 0;
}

/* Rewrites a weights file in another dtype (F16 for the bundled models: half the size, and the
   network's output within float rounding of F32's — measured in models/README.md). */
static int model_convert(ub_ctx *ctx, const char *in, const char *out, const char *dtype) {
    ub_model *m = NULL;
    int rc = 0;
    if (ub_model_open(ctx, in, &m) != UB_OK || ub_model_save(ctx, m, out, dtype) != UB_OK) rc = cli_fail_ctx(ctx);
    ub_model_destroy(&m);
    return rc;
}

int cmd_model(const cli_command *cmd, int argc, char **argv) {
    const char *out = NULL, *dtype = "F32";
    ub_rbnet_config c;
    ub_rbnet_default(&c);
    c.mid_blocks = -1;
    int64_t seed = 0;
    const char *tolerance_text = "0", *block = "res", *skip = "both";
    const cli_option opts[] = {
        {"output", 'o', OPT_STRING, &out, 0, 0, "M", "init, convert: the weights file to write"},
        {"width", 0, OPT_INT, &c.width, 1, 1024, "W", "init: channels at the first level (32)"},
        {"blocks", 0, OPT_INT, &c.blocks, 0, 64, "N", "init: residual blocks per stage (2)"},
        {"mid-blocks", 0, OPT_INT, &c.mid_blocks, 0, 64, "M", "init: bottleneck blocks (default: blocks)"},
        {"depth", 0, OPT_INT, &c.depth, 1, 8, "D", "init: down-samplings (2)"},
        {"block", 0, OPT_STRING, &block, 0, 0, "B", "init: res (ResBlock, default) or naf (NAFBlock)"},
        {"skip-attention", 0, OPT_STRING, &skip, 0, 0, "A", "init: attention on the skips: both (default), se, sa or none"},
        {"seed", 0, OPT_INT64, &seed, 0, INT64_MAX, "S", "init: random seed (0)"},
        {"dtype", 0, OPT_STRING, &dtype, 0, 0, "T", "init, convert: F32 (default), F16 or BF16"},
        {"tolerance", 0, OPT_STRING, &tolerance_text, 0, 0, "X", "diff: the largest |a - b| accepted (0)"},
    };
    cli_globals g = {0};
    cli_args args;
    int begun = cli_begin(cmd, argc, argv, opts, (int)(sizeof opts / sizeof *opts), &g, &args);
    if (begun >= 0) return begun;
    const char *what = args.count ? args.positional[0] : "";
    int info = strcmp(what, "info") == 0, init = strcmp(what, "init") == 0, diff = strcmp(what, "diff") == 0;
    int convert = strcmp(what, "convert") == 0;
    if ((!info && !init && !diff && !convert) || (info && args.count != 2) || (init && (args.count != 1 || !out)) ||
        (diff && args.count != 3) || (convert && (args.count != 2 || !out)))
        return cli_fail(EXIT_USAGE, "model: expects 'info M.safetensors', 'init -o M.safetensors', "
                                    "'convert M.safetensors -o N.safetensors --dtype T' or "
                                    "'diff A.safetensors B.safetensors' (see 'unblur model --help')");
    char *end;
    double tolerance = strtod(tolerance_text, &end);
    if (end == tolerance_text || *end || !(tolerance >= 0))
        return cli_fail(EXIT_USAGE, "model: --tolerance expects a number >= 0, not '%s'", tolerance_text);
    if (c.mid_blocks < 0) c.mid_blocks = c.blocks;
    if ((c.block = ub_rbnet_block_parse(block)) < 0)
        return cli_fail(EXIT_USAGE, "model: --block expects res or naf, not '%s'", block);
    if ((c.skip_attention = ub_rbnet_skip_parse(skip)) < 0)
        return cli_fail(EXIT_USAGE, "model: --skip-attention expects both, se, sa or none, not '%s'", skip);
    cli_progress progress;
    ub_ctx *ctx = cli_make_context(&g, &progress);
    if (!ctx) return EXIT_RUNTIME;
    int rc = 0;
    if (info) rc = model_info(ctx, args.positional[1]);
    else if (diff) rc = model_diff(ctx, args.positional[1], args.positional[2], tolerance);
    else if (convert) rc = model_convert(ctx, args.positional[1], out, dtype);
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
