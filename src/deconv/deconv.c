/* deconv/deconv.c — the non-blind entry point: defaults, method names, checks, and the
   channel-by-channel dispatch to wiener.c, rl.c and sparse.c. */
#include <math.h>
#include <string.h>

#include "deconv/internal.h"

void ub_deconv_default(ub_deconv_params *p, ub_deconv_method method) {
    memset(p, 0, sizeof *p);
    p->method = method;
    p->boundary = UB_DECONV_BOUNDARY_AUTO;
    /* tuned on Levin et al. 2009 with the true kernels (docs/deconv.md) */
    p->nsr = 0.01;
    p->iterations = method == UB_DECONV_SPARSE ? 40 : 30;
    p->lambda = 2e-4;
    p->alpha = 1.0;
}

ub_status ub_deconv_method_parse(ub_ctx *ctx, const char *name, ub_deconv_method *out) {
    static const struct { const char *name; ub_deconv_method m; } names[] = {
        {"wiener", UB_DECONV_WIENER}, {"rl", UB_DECONV_RL}, {"sparse", UB_DECONV_SPARSE}};
    for (size_t i = 0; name && i < sizeof names / sizeof *names; i++)
        if (!strcmp(name, names[i].name)) {
            if (out) *out = names[i].m;
            return UB_OK;
        }
    return ub__fail(ctx, UB_ERR_INVALID, "unknown deconvolution method '%s' (wiener, rl or sparse)",
                    name ? name : "(null)");
}

static ub_status check_params(ub_ctx *ctx, const ub_deconv_params *p) {
    if (p->method != UB_DECONV_WIENER && p->method != UB_DECONV_RL && p->method != UB_DECONV_SPARSE)
        return ub__fail(ctx, UB_ERR_INVALID, "deconvolve: unknown method %d", (int)p->method);
    if (p->boundary != UB_DECONV_BOUNDARY_AUTO && p->boundary != UB_DECONV_BOUNDARY_ZERO &&
        p->boundary != UB_DECONV_BOUNDARY_PERIODIC)
        return ub__fail(ctx, UB_ERR_INVALID, "deconvolve: unknown boundary %d", (int)p->boundary);
    if (p->method == UB_DECONV_WIENER && !(p->nsr > 0.0 && isfinite(p->nsr)))
        return ub__fail(ctx, UB_ERR_INVALID, "deconvolve: nsr must be positive and finite, not %g", p->nsr);
    if (p->method != UB_DECONV_WIENER && (p->iterations < 1 || p->iterations > 100000))
        return ub__fail(ctx, UB_ERR_INVALID, "deconvolve: iterations must be in 1..100000, not %d", p->iterations);
    if (p->method == UB_DECONV_SPARSE && !(p->lambda > 0.0 && isfinite(p->lambda)))
        return ub__fail(ctx, UB_ERR_INVALID, "deconvolve: lambda must be positive and finite, not %g", p->lambda);
    if (p->colour != UB_DECONV_COLOUR_AUTO && p->colour != UB_DECONV_COLOUR_RGB && p->colour != UB_DECONV_COLOUR_LUMA)
        return ub__fail(ctx, UB_ERR_INVALID, "deconvolve: unknown colour handling %d", (int)p->colour);
    if (p->method == UB_DECONV_SPARSE && !(p->alpha >= 0.3 && p->alpha <= 2.0))
        return ub__fail(ctx, UB_ERR_INVALID, "deconvolve: alpha must be in [0.3, 2], not %g", p->alpha);
    return UB_OK;
}

static ub__deconv_plane_fn method_plane(ub_deconv_method m) {
    return m == UB_DECONV_WIENER ? ub__wiener_plane : m == UB_DECONV_RL ? ub__rl_plane : ub__sparse_plane;
}

ub_status ub_deconv(ub_ctx *ctx, const ub_image *blurry, const ub_kernel *k, const ub_deconv_params *p,
                    ub_image **out) {
    if (!out) return ub__fail(ctx, UB_ERR_INVALID, "ub_deconv: NULL output");
    *out = NULL;
    if (!blurry || !blurry->data || blurry->width < 1 || blurry->height < 1)
        return ub__fail(ctx, UB_ERR_INVALID, "ub_deconv: no image");
    ub_deconv_params defaults;
    if (!p) ub_deconv_default(&defaults, UB_DECONV_SPARSE), p = &defaults;
    ub_status st = ub_kernel_check(ctx, k, blurry->width, blurry->height);
    if (st == UB_OK) st = check_params(ctx, p);
    if (st) return st;
    ub_kernel *kn = NULL;
    if ((st = ub__kernel_normalised(ctx, k, &kn))) return st;
    if ((st = ub_image_clone(ctx, blurry, out))) {
        ub_kernel_destroy(&kn);
        return st;
    }
    const int colours = ub_image_colour_channels(blurry);
    const int luma_chroma = colours == 3 && p->method == UB_DECONV_SPARSE &&
                            (p->colour == UB_DECONV_COLOUR_LUMA ||
                             (p->colour == UB_DECONV_COLOUR_AUTO && ub__deconv_tiled(p, blurry->width, blurry->height)));
    if (luma_chroma) {
        st = ub__deconv_luma_chroma(ctx, method_plane(p->method), blurry, *out, kn, p);
        if (st == UB_OK) st = ub__progress(ctx, 1.0, "deconvolve");
    }
    for (int c = 0; c < colours && st == UB_OK && !luma_chroma; c++) {
        const float *in = ub_image_plane(blurry, c);
        float *o = ub_image_plane(*out, c);
        st = ub__deconv_plane(ctx, method_plane(p->method), in, o, blurry->width, blurry->height, kn, p);
        if (st == UB_OK) st = ub__progress(ctx, (double)(c + 1) / colours, "deconvolve");
    }
    ub_kernel_destroy(&kn);
    if (st) ub_image_destroy(out);
    return st;
}
