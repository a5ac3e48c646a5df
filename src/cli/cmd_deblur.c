/* cli/cmd_deblur.c — the default command, `unblur IN... -o OUT`: deblur
   photographs.

   --method auto (the default, chosen by measurement on the real sets:
   docs/results.md) runs the blind deconvolution and keeps its output where it
   trusts its kernel and finds the same kernel in every quarter of the photo;
   elsewhere (sharp photos, blur that varies over the frame or that no kernel
   explains) the network runs (--fallback net, the default) or the photo is
   returned unchanged (--fallback input). --method net runs the network alone:
   eight times faster on a small photo, but it does not undo real camera shake.

   One input: OUT is the output image. Several inputs: OUT is a folder and
   each output keeps its input's name, as PNG. A 16-bit input gives a 16-bit output;
   grey stays grey; alpha is carried. The model is --model M.safetensors or a
   bundled model's name ("default" without --model, "fast"), found by
   ub_model_open (nn/model_find.c: $UNBLUR_MODELS, the install, the source
   tree's models/). Images over 1280 x 1280 are run in tiles (--tile N, default
   768) whose output equals the whole image's, in memory that does not grow
   with the image beyond the input and output themselves; the progress bar follows the
   tiles of the current image. --precision fp32|bf16|auto picks the
   convolutions' arithmetic (ub_model_set_precision): fp32 by default, as
   the PyTorch specification computes; bf16 only where the CPU does it
   natively, else fp32 with a one-line notice (auto: without it).

   --method blind needs no model: the camera-shake kernel is estimated from the
   image itself (ub_deblur_blind: coarse to fine, L0 priors) and every channel
   deconvolved with it; --kernel-size K (odd, 0 = automatic) bounds the kernel,
   --kernel-out K.png writes the estimate (one input only). */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

static int is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* OUTDIR/NAME.png for input path `in`. */
static void output_in_folder(char *buf, size_t size, const char *dir, const char *in) {
    const char *base = strrchr(in, '/');
    base = base ? base + 1 : in;
    const char *dot = strrchr(base, '.');
    int stem = dot ? (int)(dot - base) : (int)strlen(base);
    snprintf(buf, size, "%s/%.*s.png", dir, stem, base);
}

static int parse_precision(const char *s, ub_precision *out) {
    static const struct { const char *name; ub_precision p; } names[] = {
        {"fp32", UB_PRECISION_FP32}, {"bf16", UB_PRECISION_BF16}, {"auto", UB_PRECISION_AUTO}};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (!strcmp(s, names[i].name)) {
            *out = names[i].p;
            return 0;
        }
    return cli_fail(EXIT_USAGE, "--precision %s: use fp32, bf16 or auto", s);
}

/* bf16 was asked but fp32 runs: said once. */
static void notice_fp32(ub_precision asked, const ub_model *m, int *said) {
    if (asked != UB_PRECISION_BF16 || *said || ub_model_precision_used(m) != UB_PRECISION_FP32) return;
    fprintf(stderr, "unblur: this CPU has no native bf16 (AVX512-BF16 or AMX): running in fp32\n");
    *said = 1;
}

static int deblur_one(ub_ctx *ctx, ub_model *m, int tile, int automatic, const char *in, const char *out) {
    ub_image *img = NULL, *sharp = NULL;
    int rc = 0;
    if (ub_image_read(ctx, in, &img) != UB_OK) return cli_fail_ctx(ctx);
    ub_status st = automatic ? ub_deblur_auto(ctx, m, img, tile, &sharp, NULL) : ub_model_run_tiled(m, img, tile, &sharp);
    if (st != UB_OK)
        rc = cli_fail(EXIT_RUNTIME, "%s: %s", in, ub_last_error(ctx));
    else if (ub_image_write(ctx, sharp, out, NULL) != UB_OK) rc = cli_fail_ctx(ctx);
    ub_image_destroy(&img);
    ub_image_destroy(&sharp);
    return rc;
}

static int blind_progress(void *user, double done) { return cli_progress_callback(user, done, "blind"); }

static int deblur_blind_one(ub_ctx *ctx, const ub_blind_params *bp, cli_progress *progress, const char *in,
                            const char *out, const char *kernel_out) {
    ub_image *img = NULL, *sharp = NULL;
    ub_kernel *k = NULL;
    int rc = 0;
    if (ub_image_read(ctx, in, &img) != UB_OK) return cli_fail_ctx(ctx);
    if (ub_deblur_blind(ctx, img, bp, blind_progress, progress, &sharp, &k) != UB_OK)
        rc = cli_fail(EXIT_RUNTIME, "%s: %s", in, ub_last_error(ctx));
    else if (ub_image_write(ctx, sharp, out, NULL) != UB_OK) rc = cli_fail_ctx(ctx);
    else if (kernel_out && ub_kernel_write(ctx, k, kernel_out) != UB_OK) rc = cli_fail_ctx(ctx);
    ub_image_destroy(&img);
    ub_image_destroy(&sharp);
    ub_kernel_destroy(&k);
    return rc;
}

static int deblur_blind_all(const cli_globals *g, const cli_args *args, const char *out, int kernel_size,
                            const char *kernel_out, const char *response) {
    int many = args->count > 1;
    if (many && !is_dir(out)) return cli_fail(EXIT_USAGE, "%s: with several inputs, -o names an existing folder", out);
    if (!many && ub_format_from_name(out) == UB_FORMAT_AUTO)
        return cli_fail(EXIT_USAGE, "%s: unknown output format (use .png, .jpg or .jpeg)", out);
    cli_progress progress;
    ub_ctx *ctx = cli_make_context(g, &progress);
    if (!ctx) return EXIT_RUNTIME;
    ub_blind_params bp;
    ub_blind_default(&bp);
    bp.kernel_size = kernel_size;
    if (response) bp.response = !strcmp(response, "linear") ? UB_BLIND_RESPONSE_LINEAR : UB_BLIND_RESPONSE_SRGB;
    int rc = 0;
    for (int i = 0; rc == 0 && i < args->count; i++) {
        char path[4200];
        if (many) output_in_folder(path, sizeof path, out, args->positional[i]);
        rc = deblur_blind_one(ctx, &bp, &progress, args->positional[i], many ? path : out, kernel_out);
    }
    cli_progress_done(&progress);
    ub_ctx_destroy(&ctx);
    return rc;
}

int cmd_deblur(const cli_command *cmd, int argc, char **argv) {
    const char *out = NULL, *model_path = NULL, *precision_name = "fp32", *method = "auto", *kernel_out = NULL;
    const char *fallback = NULL; /* auto's: "net" unless "input" is asked */
    const char *response = NULL; /* blind's: the library's default unless given */
    int tile = 0, kernel_size = 0, ensemble = 1;
    const cli_option opts[] = {
        {"method", 0, OPT_STRING, &method, 0, 0, "M",
         "auto (the default: blind where it trusts its kernel over the whole photo, else --fallback), net "
         "(RBNet alone, the bundled model or --model: faster) or blind (estimate the camera-shake kernel, then "
         "deconvolve)"},
        {"fallback", 0, OPT_STRING, &fallback, 0, 0, "F",
         "auto, where the blind step declines: net (the network, the default) or input (the photo unchanged)"},
        {"kernel-size", 0, OPT_INT, &kernel_size, 0, 1023, "K", "blind: the kernel's side, odd (0: automatic)"},
        {"kernel-out", 0, OPT_STRING, &kernel_out, 0, 0, "K.png", "blind: write the estimated kernel (one input)"},
        {"response", 0, OPT_STRING, &response, 0, 0, "R",
         "blind: deblur the values as stored (linear, the default: measured better on every real set) "
         "or in linear light (srgb: decode, deblur, encode; pays on clean sRGB shake only)"},
        {"output", 'o', OPT_STRING, &out, 0, 0, "OUT", "output image, or a folder for several inputs"},
        {"model", 0, OPT_STRING, &model_path, 0, 0, "M",
         "RBNet weights: a .safetensors file (PyTorch names) or a bundled model's name, default (used "
         "without --model) or fast; bundled models are looked up in $UNBLUR_MODELS, else "
         "share/unblur/models beside the installed program, else models/ beside the build folder"},
        {"tile", 0, OPT_INT, &tile, 0, 1 << 16, "N",
         "tile side in pixels (0: the default: whole up to 1280 x 1280, else 768); an image within one tile and its margins runs whole"},
        {"ensemble", 0, OPT_INT, &ensemble, 1, 4, "V",
         "flip self-ensemble: 1 (off, default), 2 or 4 mirror images through the network, averaged (V times "
         "the time)"},
        {"precision", 0, OPT_STRING, &precision_name, 0, 0, "P",
         "convolution arithmetic: fp32 (default: PyTorch's), bf16 (faster, where the CPU has AVX512-BF16 or "
         "AMX; else fp32, with a notice) or auto (bf16 where native, silently fp32 elsewhere)"},
    };
    cli_globals g = {0};
    cli_args args;
    int begun = cli_begin(cmd, argc, argv, opts, (int)(sizeof opts / sizeof *opts), &g, &args);
    if (begun >= 0) return begun;
    if (args.count < 1) return cli_fail(EXIT_USAGE, "deblurring needs at least one input: unblur IN -o OUT");
    ub_precision precision = UB_PRECISION_FP32;
    if (parse_precision(precision_name, &precision)) return EXIT_USAGE;
    if (ensemble == 3) return cli_fail(EXIT_USAGE, "--ensemble 3: use 1, 2 or 4");
    if (!out) {
        if (access(args.positional[0], F_OK) != 0)
            return cli_fail(EXIT_USAGE, "'%s' is neither a command nor an image (see 'unblur --help')",
                            args.positional[0]);
        return cli_fail(EXIT_USAGE, "deblurring needs an output: unblur IN -o OUT");
    }
    const int blind = !strcmp(method, "blind"), automatic = !strcmp(method, "auto");
    if (!blind && !automatic && strcmp(method, "net"))
        return cli_fail(EXIT_USAGE, "--method %s: use net, blind or auto", method);
    if (blind && kernel_size != 0 && kernel_size % 2 == 0)
        return cli_fail(EXIT_USAGE, "--kernel-size %d: use an odd size (or 0 for automatic)", kernel_size);
    if (!blind && (kernel_out || kernel_size || response))
        return cli_fail(EXIT_USAGE, "--kernel-size, --kernel-out and --response go with --method blind");
    if (response && strcmp(response, "linear") && strcmp(response, "srgb"))
        return cli_fail(EXIT_USAGE, "--response %s: use linear or srgb", response);
    if (blind && kernel_out && args.count > 1)
        return cli_fail(EXIT_USAGE, "--kernel-out takes one input");
    if (!fallback) fallback = "net";
    if (strcmp(fallback, "input") && strcmp(fallback, "net"))
        return cli_fail(EXIT_USAGE, "--fallback %s: use input or net", fallback);
    if (blind) return deblur_blind_all(&g, &args, out, kernel_size, kernel_out, response);
    const int needs_model = !automatic || !strcmp(fallback, "net");
    int many = args.count > 1;
    if (many && !is_dir(out)) return cli_fail(EXIT_USAGE, "%s: with several inputs, -o names an existing folder", out);
    if (!many && ub_format_from_name(out) == UB_FORMAT_AUTO)
        return cli_fail(EXIT_USAGE, "%s: unknown output format (use .png, .jpg or .jpeg)", out);
    cli_progress progress;
    ub_ctx *ctx = cli_make_context(&g, &progress);
    if (!ctx) return EXIT_RUNTIME;
    ub_model *m = NULL;
    int rc = 0;
    if (!needs_model) {
        if (model_path) rc = cli_fail(EXIT_USAGE, "--model goes with --method net or --fallback net");
    } else if (ub_model_open(ctx, model_path, &m) != UB_OK) {
        rc = cli_fail_ctx(ctx);
    } else if (ub_model_set_precision(m, precision) != UB_OK || ub_model_set_ensemble(m, ensemble) != UB_OK) {
        rc = cli_fail_ctx(ctx);
    }
    int said = 0;
    if (rc == 0 && m) notice_fp32(precision, m, &said);
    for (int i = 0; rc == 0 && i < args.count; i++) {
        char path[4200];
        if (many) output_in_folder(path, sizeof path, out, args.positional[i]);
        rc = deblur_one(ctx, m, tile, automatic, args.positional[i], many ? path : out);
        if (rc == 0 && m) notice_fp32(precision, m, &said); /* (oneDNN may refuse what the CPU's flags promise) */
    }
    cli_progress_done(&progress);
    ub_model_destroy(&m);
    ub_ctx_destroy(&ctx);
    return rc;
}
