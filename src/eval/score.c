/* eval/score.c — scoring an output against its reference, shift-tolerant where the set asks.

   ub_metrics_compute with a shift k computes PSNR and SSIM at all (2k+1)^2 offsets: at k = 10 that is
   441 SSIMs, ~1.5 s of CPU for one 255x255 Levin image and ~45 s for a 1-megapixel Lai image, which
   made an evaluation far too slow to run often. Here PSNR is searched over every offset exactly as
   there (the same ub_sse_plane sums, so the same value and offset), and SSIM by climbing from the
   best-PSNR offset to the best of its neighbours until none is better: ~10-20 SSIMs instead of 441.
   Looking only next to the best-PSNR offset was not enough: on 3 of Levin's 32 blurred inputs the
   best SSIM lies 2-3 pixels away (up to 0.057 higher); Wiener and RL outputs peaked next to it. */
#include <math.h>
#include <stdlib.h>

#include "eval/internal.h"

static ub_plane view(const ub_image *img, int c, int64_t x0, int64_t y0, int64_t w, int64_t h) {
    ub_plane p = {ub_image_plane(img, c) + y0 * img->width + x0, w, h, img->width};
    return p;
}

typedef struct score_frame {
    const ub_image *ref, *img;
    int crop, channels;
    int64_t w, h;
} score_frame;

static double sse_at(ub_ctx *ctx, const score_frame *f, int dx, int dy) {
    double sse = 0;
    for (int c = 0; c < f->channels; c++)
        sse += ub_sse_plane(ctx, view(f->ref, c, f->crop, f->crop, f->w, f->h),
                            view(f->img, c, f->crop + dx, f->crop + dy, f->w, f->h));
    return sse;
}

static double ssim_at(ub_ctx *ctx, const score_frame *f, int dx, int dy) {
    double ssim = 0;
    for (int c = 0; c < f->channels; c++)
        ssim += ub_ssim_plane(ctx, view(f->ref, c, f->crop, f->crop, f->w, f->h),
                              view(f->img, c, f->crop + dx, f->crop + dy, f->w, f->h));
    return ssim / f->channels;
}

/* The SSE at every offset, row-major from (-k, -k). ub_sse_plane splits one plane over the threads,
   which at 441 small planes costs more in fork/join than it sums (measured: most of a Levin
   evaluation on a loaded machine); here the offsets are split over the threads instead, each with a
   one-thread context of its own, so every sum is the very same ub_sse_plane arithmetic. */
static bool sse_all(ub_ctx *ctx, const score_frame *f, int k, double *sse) {
    const int side = 2 * k + 1, n = side * side, threads = ub_ctx_threads(ctx) < n ? ub_ctx_threads(ctx) : n;
    ub_ctx **one = calloc((size_t)threads, sizeof *one);
    bool ok = one != NULL;
    ub_settings s;
    ub_default_settings(&s);
    s.threads = 1;
    for (int t = 0; ok && t < threads; t++) ok = ub_ctx_create(&one[t], &s) == UB_OK;
    if (ok) {
#pragma omp parallel for num_threads(threads) schedule(static)
        for (int t = 0; t < threads; t++)
            for (int i = t * n / threads; i < (t + 1) * n / threads; i++)
                sse[i] = sse_at(one[t], f, i % side - k, i / side - k);
        for (int i = 0; i < n; i++) ok &= !isnan(sse[i]);
    }
    for (int t = 0; one && t < threads; t++) ub_ctx_destroy(&one[t]);
    free(one);
    return ok;
}

/* metrics.c's order of preference: the better value; on a tie, the smaller offset. */
static bool better(double v, int dx, int dy, double best, int bdx, int bdy) {
    if (isnan(v)) return false;
    if (isnan(best) || v > best) return true;
    return v == best && abs(dx) + abs(dy) < abs(bdx) + abs(bdy);
}

/* Hill-climbs SSIM over the offsets from the best-PSNR one: each step looks at the 8 neighbours and
   moves to the best, until the centre is best (each offset computed once). Returns false when out
   of memory. */
static bool climb_ssim(ub_ctx *ctx, const score_frame *f, int k, ub_metrics *m) {
    const int side = 2 * k + 1;
    double *seen = malloc(sizeof(double) * (size_t)side * (size_t)side);
    if (!seen) return false;
    for (int i = 0; i < side * side; i++) seen[i] = NAN;
    int cx = m->psnr_dx, cy = m->psnr_dy;
    m->ssim = NAN;
    for (bool moved = true; moved;) {
        moved = false;
        int bx = cx, by = cy;
        for (int dy = cy - 1; dy <= cy + 1; dy++)
            for (int dx = cx - 1; dx <= cx + 1; dx++) {
                if (dx < -k || dx > k || dy < -k || dy > k) continue;
                double *v = &seen[(dy + k) * side + dx + k];
                if (isnan(*v)) *v = ssim_at(ctx, f, dx, dy);
                if (better(*v, dx, dy, m->ssim, m->ssim_dx, m->ssim_dy)) m->ssim = *v, m->ssim_dx = dx, m->ssim_dy = dy;
                if (m->ssim_dx == dx && m->ssim_dy == dy) bx = dx, by = dy;
            }
        if (bx != cx || by != cy) cx = bx, cy = by, moved = true;
    }
    free(seen);
    return !isnan(m->ssim);
}

ub_status ub__eval_score(ub_ctx *ctx, const ub_image *ref, const ub_image *img, const ub_metrics_options *o,
                         ub_metrics *out) {
    /* the checks (sizes, colour, crop) and the aligned case are the library's own */
    ub_metrics_options aligned = {.shift = 0, .crop = o->crop};
    ub_status st = ub_metrics_compute(ctx, ref, img, &aligned, out);
    if (st != UB_OK || o->shift == 0) return st;
    const int k = o->shift;
    score_frame f = {ref, img, o->crop, ub_image_colour_channels(ref), ref->width - 2 * (int64_t)o->crop,
                     ref->height - 2 * (int64_t)o->crop};
    if (o->crop < k) return ub__fail(ctx, UB_ERR_INVALID, "metrics: crop (%d) must be at least the shift (%d)", o->crop, k);
    double *sse = malloc(sizeof(double) * (size_t)(2 * k + 1) * (size_t)(2 * k + 1));
    if (!sse || !sse_all(ctx, &f, k, sse)) {
        free(sse);
        return ub__fail(ctx, UB_ERR_NOMEM, "metrics: out of memory");
    }
    const double samples = (double)f.w * (double)f.h * f.channels;
    ub_metrics m = {.psnr = NAN, .ssim = NAN};
    for (int dy = -k, i = 0; dy <= k; dy++)
        for (int dx = -k; dx <= k; dx++, i++) {
            double mse = sse[i] / samples, psnr = mse > 0 ? 10.0 * log10(1.0 / mse) : INFINITY;
            if (better(psnr, dx, dy, m.psnr, m.psnr_dx, m.psnr_dy)) m.psnr = psnr, m.mse = mse, m.psnr_dx = dx, m.psnr_dy = dy;
        }
    free(sse);
    if (!climb_ssim(ctx, &f, k, &m)) return ub__fail(ctx, UB_ERR_NOMEM, "metrics: out of memory");
    if ((st = ub__metrics_subpixel(ctx, ref, img, o, &m)) != UB_OK) return st;
    *out = m;
    return UB_OK;
}
