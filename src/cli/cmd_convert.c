/* cli/cmd_convert.c — `unblur convert IN OUT`: decode and re-encode. */
#include <stdio.h>

#include "cli.h"

int cmd_convert(const cli_command *cmd, int argc, char **argv) {
    int bits = 0, quality = 0;
    const cli_option opts[] = {
        {"bits", 0, OPT_INT, &bits, 8, 16, "8|16", "PNG bits per sample (default: the input's)"},
        {"quality", 0, OPT_INT, &quality, 1, 100, "Q", "JPEG quality 1-100 (default 95)"},
    };
    cli_globals g = {0};
    cli_args args;
    int begun = cli_begin(cmd, argc, argv, opts, (int)(sizeof opts / sizeof *opts), &g, &args);
    if (begun >= 0) return begun;
    if (args.count != 2)
        return cli_fail(EXIT_USAGE, "convert: expects IN and OUT, got %d argument%s (see 'unblur convert --help')",
                        args.count, args.count == 1 ? "" : "s");
    if (bits != 0 && bits != 8 && bits != 16) return cli_fail(EXIT_USAGE, "convert: --bits must be 8 or 16");
    const char *in = args.positional[0], *out = args.positional[1];
    if (ub_format_from_name(out) == UB_FORMAT_AUTO)
        return cli_fail(EXIT_USAGE, "%s: unknown output format (use .png, .jpg or .jpeg)", out);
    cli_progress progress;
    ub_ctx *ctx = cli_make_context(&g, &progress);
    if (!ctx) return EXIT_RUNTIME;
    ub_image *img = NULL;
    ub_write_options wo;
    ub_default_write_options(&wo);
    wo.bit_depth = bits;
    wo.jpeg_quality = quality;
    int rc = 0;
    if (ub_image_read(ctx, in, &img) != UB_OK || ub_image_write(ctx, img, out, &wo) != UB_OK) rc = cli_fail_ctx(ctx);
    ub_image_destroy(&img);
    ub_ctx_destroy(&ctx);
    return rc;
}
