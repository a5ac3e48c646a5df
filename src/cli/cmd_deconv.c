/* cli/cmd_deconv.c — `unblur deconv IN --kernel K.png -o OUT [--method wiener|rl|sparse] ...`:
   non-blind deconvolution with a known kernel (ub_deconv). The kernel image is read as
   ub_kernel_read does (grey or colour -> mean, normalised to sum 1), in convolution orientation,
   centre at (width/2, height/2). Defaults: those of the method (ub_deconv_default). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int parse_number(const char *name, const char *text, double *out) {
    char *end;
    const double v = strtod(text, &end);
    if (end == text || *end || !(v > 0) || !isfinite(v))
        return cli_fail(EXIT_USAGE, "deconv: --%s expects a positive number, not '%s'", name, text);
    *out = v;
    return 0;
}

int cmd_deconv(const cli_command *cmd, int argc, char **argv) {
    const char *out = NULL, *kernel_path = NULL, *method_name = "sparse", *boundary_name = "auto";
    const char *nsr_text = NULL, *lambda_text = NULL, *alpha_text = NULL, *colour_name = NULL;
    int iterations = 0;
    const cli_option opts[] = {
        {"output", 'o', OPT_STRING, &out, 0, 0, "OUT", "output image (.png, .jpg)"},
        {"kernel", 'k', OPT_STRING, &kernel_path, 0, 0, "K.png", "the blur kernel (PSF), odd size, convolution orientation"},
        {"method", 'm', OPT_STRING, &method_name, 0, 0, "M", "wiener, rl (Richardson-Lucy) or sparse (default)"},
        {"iterations", 0, OPT_INT, &iterations, 1, 100000, "N", "rl: iterations (default 30); sparse: (default 40)"},
        {"nsr", 0, OPT_STRING, &nsr_text, 0, 0, "X", "wiener: noise-to-signal power ratio (default 0.01)"},
        {"lambda", 0, OPT_STRING, &lambda_text, 0, 0, "X", "sparse: weight of the derivative prior (default 2e-4)"},
        {"alpha", 0, OPT_STRING, &alpha_text, 0, 0, "X", "sparse: exponent of the prior |grad|^alpha, 0.3..2 (default 1)"},
        {"colour", 0, OPT_STRING, &colour_name, 0, 0, "C",
         "sparse: auto (default: luma above 4 MP), rgb (each channel at full resolution) or luma (chroma at half: 2x faster)"},
        {"boundary", 0, OPT_STRING, &boundary_name, 0, 0, "B",
         "auto (default: no ringing at the borders), zero (scikit-image's RL) or periodic"},
    };
    cli_globals g = {0};
    cli_args args;
    int begun = cli_begin(cmd, argc, argv, opts, (int)(sizeof opts / sizeof *opts), &g, &args);
    if (begun >= 0) return begun;
    if (args.count != 1 || !out || !kernel_path)
        return cli_fail(EXIT_USAGE, "deconv: expects IN --kernel K.png -o OUT (see 'unblur deconv --help')");
    if (ub_format_from_name(out) == UB_FORMAT_AUTO)
        return cli_fail(EXIT_USAGE, "%s: unknown output format (use .png, .jpg or .jpeg)", out);
    ub_deconv_method method;
    if (ub_deconv_method_parse(NULL, method_name, &method) != UB_OK)
        return cli_fail(EXIT_USAGE, "deconv: --method is wiener, rl or sparse, not '%s'", method_name);
    ub_deconv_params p;
    ub_deconv_default(&p, method);
    if (!strcmp(boundary_name, "auto")) p.boundary = UB_DECONV_BOUNDARY_AUTO;
    else if (!strcmp(boundary_name, "zero")) p.boundary = UB_DECONV_BOUNDARY_ZERO;
    else if (!strcmp(boundary_name, "periodic")) p.boundary = UB_DECONV_BOUNDARY_PERIODIC;
    else return cli_fail(EXIT_USAGE, "deconv: --boundary is auto, zero or periodic, not '%s'", boundary_name);
    if (colour_name && !strcmp(colour_name, "auto")) p.colour = UB_DECONV_COLOUR_AUTO;
    else if (colour_name && !strcmp(colour_name, "rgb")) p.colour = UB_DECONV_COLOUR_RGB;
    else if (colour_name && !strcmp(colour_name, "luma")) p.colour = UB_DECONV_COLOUR_LUMA;
    else if (colour_name) return cli_fail(EXIT_USAGE, "deconv: --colour is auto, rgb or luma, not '%s'", colour_name);
    if (iterations > 0) p.iterations = iterations;
    if (nsr_text && parse_number("nsr", nsr_text, &p.nsr)) return EXIT_USAGE;
    if (lambda_text && parse_number("lambda", lambda_text, &p.lambda)) return EXIT_USAGE;
    if (alpha_text && parse_number("alpha", alpha_text, &p.alpha)) return EXIT_USAGE;

    cli_progress progress;
    ub_ctx *ctx = cli_make_context(&g, &progress);
    if (!ctx) return EXIT_RUNTIME;
    const char *in = args.positional[0];
    ub_image *img = NULL, *sharp = NULL;
    ub_kernel *k = NULL;
    int rc = 0;
    if (ub_image_read(ctx, in, &img) != UB_OK || ub_kernel_read(ctx, kernel_path, &k) != UB_OK) rc = cli_fail_ctx(ctx);
    else if (ub_kernel_check(ctx, k, img->width, img->height) != UB_OK)
        rc = cli_fail(EXIT_RUNTIME, "%s: %s (of %s)", kernel_path, ub_last_error(ctx), in);
    else if (ub_deconv(ctx, img, k, &p, &sharp) != UB_OK) {
        cli_progress_done(&progress);
        rc = cli_fail(EXIT_RUNTIME, "%s: %s", in, ub_last_error(ctx));
    } else {
        cli_progress_done(&progress);
        if (ub_image_write(ctx, sharp, out, NULL) != UB_OK) rc = cli_fail_ctx(ctx);
    }
    ub_image_destroy(&img);
    ub_image_destroy(&sharp);
    ub_kernel_destroy(&k);
    ub_ctx_destroy(&ctx);
    return rc;
}
