/* deconv/blind_uniform.c — is the blur one kernel? The estimate made again on each quarter of the
   image, compared with the whole image's.

   Why: blind deconvolution assumes one blur for the whole frame (a camera translating, a still
   scene). Where the blur varies — a subject moving in front of a sharp background, a camera rolling
   about its axis — the whole frame's estimate is some compromise (a GoPro clip's moving subject gave
   a 45 px string of beads where the background is sharp: docs/blind.md) and deconvolving everything
   with it loses to doing nothing. The four quarters then find different kernels; under a uniform blur
   they find the same one up to their own noise. Measured (docs/blind.md, "One blur for the whole
   frame?", `unblur eval ... --method auto:M`): the mean correlation of the quarters' estimates with the
   whole's is 0.65-0.93 on Levin's captures of uniform shake (0.62 where the whole's estimate itself
   failed; their 127 px quarters are too small to be tested now), 0.76-0.88 on the GoPro pairs of a
   shaken camera, 0.67 and 0.75 on the two clips of moving subjects (the second passes), and 0.37-0.84
   (mostly under 0.7) on photos blurred by the realistic synthesis (rotation, moving objects), where
   the network does better. The test costs about one more estimate (four quarters of
   the plane); it does not catch a wrong kernel that the whole image supports everywhere (a photo of
   diagonal slats read as a diagonal streak: 0.94).

   Used by ub_deblur_auto (check_uniform): where the quarters disagree the network deblurs instead. */
#include <stdlib.h>
#include <string.h>

#include "deconv/blind_internal.h"
#include "unblur/synth.h"

/* The correlation of two kw x kw kernels, each scaled to unit norm, at their best relative shift. */
static double kernel_agreement(const float *a, const float *b, int kw) {
    ub_kernel ka = {kw, kw, (float *)a}, kb = {kw, kw, (float *)b};
    return ub_kernel_correlation(&ka, &kb);
}

/* The estimate on quarter q (0-3: left/right, top/bottom) of the w x h plane, refined, and its agreement
   with k. Runs on one thread (the quarters go side by side); `work` receives the estimate's share of
   the progress (the pyramid's pixels x kernel size, as the whole image's estimate counts it). */
static ub_status one_quarter(ub_ctx *ctx, const float *plane, int w, int h, int q, const float *k, int kw,
                             double gamma, double *agreement, double *work) {
    const int qw = w / 2, qh = h / 2, x0 = (q % 2) * (w - qw), y0 = (q / 2) * (h - qh);
    float *quarter = malloc((size_t)qw * qh * sizeof(float)), *kq = NULL;
    if (!quarter) return ub__fail(ctx, UB_ERR_NOMEM, "blind deconvolution: out of memory");
    for (int y = 0; y < qh; y++)
        memcpy(quarter + (size_t)y * qw, plane + (size_t)(y0 + y) * w + x0, (size_t)qw * sizeof(float));
    ub__blind_progress ps = {.total = 1}; /* no callback here: the caller reports, from its own thread */
    ub_status st = ub__blind_estimate_kernel(ctx, quarter, qw, qh, kw, &ps, &kq);
    if (st == UB_OK) st = ub__blind_refine(ctx, quarter, qw, qh, kq, kw, gamma);
    if (st == UB_OK) *agreement = kernel_agreement(k, kq, kw);
    *work = ps.done;
    free(kq);
    free(quarter);
    return st;
}

ub_status ub__blind_uniformity(ub_ctx *ctx, const float *plane, int w, int h, const float *k, int kw, double gamma,
                               ub__blind_progress *ps, double *agreement) {
    *agreement = -1;
    const int qw = w / 2, qh = h / 2;
    if (qw < UB__BLIND_UNIFORM_MIN_SIDES * kw || qh < UB__BLIND_UNIFORM_MIN_SIDES * kw ||
        qw < UB__BLIND_UNIFORM_MIN_QUARTER || qh < UB__BLIND_UNIFORM_MIN_QUARTER)
        return UB_OK;
    /* The quarters' frames are small enough that each estimate runs on one thread (UB__BLIND_PAR_MIN;
       nested parallel loops run serially), so the four go side by side over the context's threads:
       each is computed as alone, and the result does not depend on the thread count. The context's
       progress callback stays silent meanwhile (the inner deconvolutions would report to it from
       several threads); the quarters' share is reported once they are done. */
    const int threads = ub_ctx_threads(ctx) < 1 ? 1 : ub_ctx_threads(ctx) > 4 ? 4 : ub_ctx_threads(ctx);
    double corr[4] = {0, 0, 0, 0}, work[4] = {0, 0, 0, 0};
    ub_status sts[4] = {UB_OK, UB_OK, UB_OK, UB_OK};
    const ub_progress_fn shown = ub__progress_mute(ctx);
#pragma omp parallel for schedule(dynamic) num_threads(threads)
    for (int q = 0; q < 4; q++) sts[q] = one_quarter(ctx, plane, w, h, q, k, kw, gamma, &corr[q], &work[q]);
    ub__progress_restore(ctx, shown);
    double sum = 0, done = 0;
    for (int q = 0; q < 4; q++) {
        if (sts[q] != UB_OK) return sts[q];
        sum += corr[q], done += work[q];
    }
    const ub_status st = ub__blind_step_progress(ctx, ps, done);
    if (st == UB_OK) *agreement = sum / 4;
    return st;
}
