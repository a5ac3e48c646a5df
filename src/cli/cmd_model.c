/* cli/cmd_model.c — `unblur model`: inspect RBNet weight files, or write
   randomly initialised ones (PyTorch's default initialisation), e.g. to start
   a training or to compare unblur with rbnet.py on the same weights.

     unblur model info M.safetensors
     unblur model init -o M.safetensors [--width W] [--blocks N] [--mid-blocks M] [--depth D]
                       [--seed S] [--dtype F32|F16|BF16] */
#include <stdio.h>
#include <string.h>

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

int cmd_model(const cli_command *cmd, int argc, char **argv) {
    const char *out = NULL, *dtype = "F32";
    ub_rbnet_config c;
    ub_rbnet_default(&c);
    c.mid_blocks = -1;
    int64_t seed = 0;
    const cli_option opts[] = {
        {"output", 'o', OPT_STRING, &out, 0, 0, "M", "init: the weights file to write"},
        {"width", 0, OPT_INT, &c.width, 1, 1024, "W", "init: channels at the first level (32)"},
        {"blocks", 0, OPT_INT, &c.blocks, 0, 64, "N", "init: residual blocks per stage (2)"},
        {"mid-blocks", 0, OPT_INT, &c.mid_blocks, 0, 64, "M", "init: bottleneck blocks (default: blocks)"},
        {"depth", 0, OPT_INT, &c.depth, 1, 8, "D", "init: down-samplings (2)"},
        {"seed", 0, OPT_INT64, &seed, 0, INT64_MAX, "S", "init: random seed (0)"},
        {"dtype", 0, OPT_STRING, &dtype, 0, 0, "T", "init: F32 (default), F16 or BF16"},
    };
    cli_globals g = {0};
    cli_args args;
    int begun = cli_begin(cmd, argc, argv, opts, (int)(sizeof opts / sizeof *opts), &g, &args);
    if (begun >= 0) return begun;
    const char *what = args.count ? args.positional[0] : "";
    int info = strcmp(what, "info") == 0, init = strcmp(what, "init") == 0;
    if ((!info && !init) || (info && args.count != 2) || (init && (args.count != 1 || !out)))
        return cli_fail(EXIT_USAGE, "model: expects 'info M.safetensors' or 'init -o M.safetensors' (see 'unblur model --help')");
    if (c.mid_blocks < 0) c.mid_blocks = c.blocks;
    cli_progress progress;
    ub_ctx *ctx = cli_make_context(&g, &progress);
    if (!ctx) return EXIT_RUNTIME;
    int rc = 0;
    if (info) rc = model_info(ctx, args.positional[1]);
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
