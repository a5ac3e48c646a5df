/* deconv/blind_refine.c — the estimate's last kernel steps, against a natural latent image.

   The coarse-to-fine alternation (blind.c) fits the kernel to an L0 latent: a piecewise-constant
   image whose edges are steps, sharper and straighter than the scene's. A kernel that turns such
   steps into the blurry edges comes out thicker than the true one (Levin et al.'s captures:
   correlation 0.80 with the true kernels). Here the latent is instead the non-blind sparse
   deconvolution of the plane with the current estimate (sparse.c, the final step's solver, whose
   edges are the scene's own), its gradients thresholded loosely (REFINE_KEEP pixels per orientation
   bin and kernel pixel, where the alternation keeps 2), and one more least-squares kernel step
   (blind_kernel.c) is taken against them; REFINE_PASSES times. Measured on Levin's 32 captures and
   the other sets in docs/blind.md ("Kernel refinement"). */
#include <stdlib.h>
#include <string.h>

#include "deconv/blind_internal.h"
#include "deconv/internal.h"

/* (The deconvolution keeps its 40 iterations: 20 cost 0.19 dB on Levin for 0.6 s on a 12 MP photo.) */
enum { REFINE_PASSES = 2, REFINE_KEEP = 100, REFINE_CG_ITERS = 20 };

ub_status ub__blind_refine(ub_ctx *ctx, const float *y, int w, int h, float *k, int kw, double gamma) {
    ub_kernel *kernel = NULL;
    ub_status st = ub_kernel_create(ctx, kw, kw, &kernel);
    if (st) return st;
    ub__bfft f;
    const int fw = ub__blind_fast_len(w + kw), fh = ub__blind_fast_len(h + kw);
    if ((st = ub__bfft_init(ctx, &f, fw, fh)) != UB_OK) {
        ub_kernel_destroy(&kernel);
        return st;
    }
    const size_t n = f.n, nc = f.nc, nk = (size_t)kw * kw;
    float *latent = malloc((size_t)w * h * sizeof(float)), *frame = fftwf_malloc(n * sizeof(float));
    float *gx = fftwf_malloc(n * sizeof(float)), *gy = fftwf_malloc(n * sizeof(float)), *trial = malloc(nk * sizeof(float));
    fftwf_complex *BX = fftwf_malloc(nc * sizeof(fftwf_complex)), *BY = fftwf_malloc(nc * sizeof(fftwf_complex));
    if (!latent || !frame || !gx || !gy || !trial || !BX || !BY) {
        st = ub__fail(ctx, UB_ERR_NOMEM, "blind deconvolution: out of memory");
        goto done;
    }
    /* the blurry plane's gradients, as the kernel step wants them */
    ub__blind_pad(y, w, h, frame, fw, fh);
    ub__blind_image_grad(frame, fw, fh, w, h, gx, gy);
    ub__bfft_forward(&f, gx, BX);
    ub__bfft_forward(&f, gy, BY);
    ub_deconv_params dp;
    ub_deconv_default(&dp, UB_DECONV_SPARSE);
    for (int pass = 0; pass < REFINE_PASSES; pass++) {
        memcpy(kernel->data, k, nk * sizeof(float));
        if ((st = ub__sparse_plane(ctx, y, latent, w, h, kernel, &dp)) != UB_OK) break;
        ub__blind_pad(latent, w, h, frame, fw, fh);
        ub__blind_image_grad(frame, fw, fh, w, h, gx, gy);
        const double th = ub__blind_grad_threshold(gx, gy, n, (size_t)REFINE_KEEP * (size_t)kw);
        for (size_t i = 0; i < n; i++)
            if (gx[i] * gx[i] + gy[i] * gy[i] < (float)th) gx[i] = 0, gy[i] = 0;
        memcpy(trial, k, nk * sizeof(float));
        if (ub__blind_kernel(&f, gx, gy, BX, BY, gamma, REFINE_CG_ITERS, trial, kw, kw) != UB_OK) {
            st = ub__fail(ctx, UB_ERR_NOMEM, "blind deconvolution: out of memory");
            break;
        }
        /* as the estimate's finest level is cleaned; a step that leaves nothing keeps the estimate */
        if (ub__blind_kernel_clean(trial, kw, kw, 0.05, 0.0) != 0) break;
        memcpy(k, trial, nk * sizeof(float));
    }
done:
    free(latent);
    free(trial);
    fftwf_free(frame);
    fftwf_free(gx);
    fftwf_free(gy);
    fftwf_free(BX);
    fftwf_free(BY);
    ub__bfft_free(&f);
    ub_kernel_destroy(&kernel);
    return st;
}
