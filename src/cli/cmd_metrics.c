/* cli/cmd_metrics.c — `unblur metrics REF IMG [--shift K [--subpixel]] [--crop C] [--json]`. */
#include <math.h>
#include <stdio.h>

#include <jansson.h>

#include "cli.h"

/* JSON has no infinity: identical images have "psnr": null (and "mse": 0). */
static json_t *number_or_null(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static int print_json(const char *ref_path, const char *img_path, const ub_image *ref, const ub_metrics_options *o,
                      const ub_metrics *m) {
    json_t *obj = json_pack("{s:s, s:s, s:[I,I,i], s:o, s:o, s:o, s:i, s:i}", "ref", ref_path, "img", img_path,
                            "shape", (json_int_t)(ref->height - 2 * o->crop), (json_int_t)(ref->width - 2 * o->crop),
                            ub_image_colour_channels(ref),
                            "psnr", number_or_null(m->psnr), "ssim", number_or_null(m->ssim), "mse",
                            number_or_null(m->mse), "shift", o->shift, "crop", o->crop);
    if (obj && o->shift > 0) {
        json_object_set_new(obj, "psnr_offset", json_pack("[i,i]", m->psnr_dx, m->psnr_dy));
        json_object_set_new(obj, "ssim_offset", json_pack("[i,i]", m->ssim_dx, m->ssim_dy));
        if (o->subpixel) json_object_set_new(obj, "psnr_subpixel_offset", json_pack("[f,f]", m->psnr_sx, m->psnr_sy));
    }
    char *text = obj ? json_dumps(obj, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
    json_decref(obj);
    if (!text) return cli_fail(EXIT_RUNTIME, "%s: out of memory", img_path);
    puts(text);
    free(text);
    return 0;
}

int cmd_metrics(const cli_command *cmd, int argc, char **argv) {
    int shift = 0, crop = -1, json = 0, subpixel = 0;
    const cli_option opts[] = {
        {"shift", 0, OPT_INT, &shift, 0, 64, "K", "best over integer offsets in [-K,K]^2 (default 0)"},
        {"crop", 0, OPT_INT, &crop, 0, 1 << 20, "C", "pixels removed from every side (default: K)"},
        {"subpixel", 0, OPT_FLAG, &subpixel, 0, 0, NULL, "refine the best PSNR offset to 1/4 pixel (needs --shift)"},
        {"json", 0, OPT_FLAG, &json, 0, 0, NULL, "print one JSON object"},
    };
    cli_globals g = {0};
    cli_args args;
    int begun = cli_begin(cmd, argc, argv, opts, (int)(sizeof opts / sizeof *opts), &g, &args);
    if (begun >= 0) return begun;
    if (args.count != 2)
        return cli_fail(EXIT_USAGE, "metrics: expects REF and IMG, got %d argument%s (see 'unblur metrics --help')",
                        args.count, args.count == 1 ? "" : "s");
    if (subpixel && shift == 0) return cli_fail(EXIT_USAGE, "metrics: --subpixel needs --shift K (K > 0)");
    if (crop < 0) crop = shift;
    if (crop < shift) return cli_fail(EXIT_USAGE, "metrics: --crop (%d) must be at least --shift (%d)", crop, shift);
    const char *ref_path = args.positional[0], *img_path = args.positional[1];
    cli_progress progress;
    ub_ctx *ctx = cli_make_context(&g, &progress);
    if (!ctx) return EXIT_RUNTIME;
    ub_image *ref = NULL, *img = NULL;
    ub_metrics_options o = {.shift = shift, .crop = crop, .subpixel = subpixel};
    ub_metrics m;
    int rc = 0;
    if (ub_image_read(ctx, ref_path, &ref) != UB_OK || ub_image_read(ctx, img_path, &img) != UB_OK) {
        rc = cli_fail_ctx(ctx);
    } else {
        ub_status st = ub_metrics_compute(ctx, ref, img, &o, &m);
        cli_progress_done(&progress);
        if (st != UB_OK) rc = cli_fail(EXIT_RUNTIME, "%s: %s (reference %s)", img_path, ub_last_error(ctx), ref_path);
        else if (json) rc = print_json(ref_path, img_path, ref, &o, &m);
        else if (subpixel)
            printf("PSNR %.6f dB at offset (%g,%g)  SSIM %.6f at offset (%d,%d)\n", m.psnr, m.psnr_sx, m.psnr_sy,
                   m.ssim, m.ssim_dx, m.ssim_dy);
        else if (shift > 0)
            printf("PSNR %.6f dB at offset (%d,%d)  SSIM %.6f at offset (%d,%d)\n", m.psnr, m.psnr_dx, m.psnr_dy,
                   m.ssim, m.ssim_dx, m.ssim_dy);
        else printf("PSNR %.6f dB  SSIM %.6f\n", m.psnr, m.ssim);
    }
    ub_image_destroy(&ref);
    ub_image_destroy(&img);
    ub_ctx_destroy(&ctx);
    return rc;
}
