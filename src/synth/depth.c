/* synth/depth.c — depth maps in metres: reading (millimetre PNGs, disparity),
   filling the unknown pixels, and a procedural ground plane.

   Unknown depths. Kinect-style maps mark the pixels they could not measure
   with 0 (shadows behind edges, glass, far walls). Defocus needs a depth at
   every pixel, so the holes are filled by push-pull (Gortler et al. 1996):
   a pyramid of weighted averages is built down to 1x1 ("push"), then each
   level fills its unknown pixels from the bilinear upsampling of the coarser,
   already-filled level ("pull"). The fill is smooth, reaches across holes of
   any size in O(n), keeps every known pixel exactly, and — each output pixel
   being computed on its own — does not depend on the thread count. The same
   routine (ub__push_pull_fill) fills the hidden background of a defocus layer. */
#include <math.h>
#include <string.h>

#include "synth/internal.h"

/* Levels below this many pixels are too small to be worth a parallel region. */
enum { PARALLEL_PIXELS = 1 << 16 };

/* ---- push-pull ---- */

/* One pyramid level: `np` value planes and a weight plane, w x h each. */
typedef struct pp_level {
    int64_t w, h;
    float *planes[4];  /* values */
    const float *wt;   /* weights in [0,1]: the caller's at level 0, else `wt_store` */
    float *wt_store;
} pp_level;

/* Coarse pixel = weighted mean of its (up to) 2x2 children; weight = min(1, sum of child weights). */
static void pp_push(const pp_level *fine, pp_level *coarse, int np, int threads) {
    const int64_t cw = coarse->w, ch = coarse->h, fw = fine->w, fh = fine->h;
    const float *fwt = fine->wt;
#pragma omp parallel for num_threads(threads) schedule(static) if (cw * ch >= PARALLEL_PIXELS)
    for (int64_t y = 0; y < ch; y++)
        for (int64_t x = 0; x < cw; x++) {
            double sum_w = 0, sum_v[4] = {0, 0, 0, 0};
            for (int64_t j = 2 * y; j < 2 * y + 2 && j < fh; j++)
                for (int64_t i = 2 * x; i < 2 * x + 2 && i < fw; i++) {
                    const float wt = fwt[j * fw + i];
                    if (!(wt > 0)) continue; /* unknown values may be anything, even NaN */
                    sum_w += wt;
                    for (int c = 0; c < np; c++) sum_v[c] += (double)wt * fine->planes[c][j * fw + i];
                }
            for (int c = 0; c < np; c++) coarse->planes[c][y * cw + x] = sum_w > 0 ? (float)(sum_v[c] / sum_w) : 0.0f;
            coarse->wt_store[y * cw + x] = (float)(sum_w < 1 ? sum_w : 1);
        }
}

/* Fine pixel = w * own value + (1 - w) * bilinear upsampling of the filled coarse level.
   Fine pixel x sits at coarse coordinate x/2 - 1/4 (coarse pixel X covers 2X and 2X+1). */
static void pp_pull(pp_level *fine, const pp_level *coarse, int np, int threads) {
    const int64_t cw = coarse->w, ch = coarse->h, fw = fine->w, fh = fine->h;
    const float *fwt = fine->wt;
#pragma omp parallel for num_threads(threads) schedule(static) if (fw * fh >= PARALLEL_PIXELS)
    for (int64_t y = 0; y < fh; y++) {
        const double cy = 0.5 * (double)y - 0.25, fy0 = floor(cy);
        const double ay = cy - fy0;
        const int64_t y0 = fy0 < 0 ? 0 : (int64_t)fy0, y1 = (int64_t)fy0 + 1 < ch ? (int64_t)fy0 + 1 : ch - 1;
        for (int64_t x = 0; x < fw; x++) {
            const float wt = fwt[y * fw + x];
            if (wt >= 1) continue; /* known: kept exactly */
            const double cx = 0.5 * (double)x - 0.25, fx0 = floor(cx);
            const double ax = cx - fx0;
            const int64_t x0 = fx0 < 0 ? 0 : (int64_t)fx0, x1 = (int64_t)fx0 + 1 < cw ? (int64_t)fx0 + 1 : cw - 1;
            for (int c = 0; c < np; c++) {
                const float *p = coarse->planes[c];
                const double top = p[y0 * cw + x0] + ax * (p[y0 * cw + x1] - p[y0 * cw + x0]);
                const double bot = p[y1 * cw + x0] + ax * (p[y1 * cw + x1] - p[y1 * cw + x0]);
                const double up = top + ay * (bot - top);
                float *v = &fine->planes[c][y * fw + x];
                *v = wt > 0 ? (float)(wt * *v + (1 - wt) * up) : (float)up;
            }
        }
    }
}

ub_status ub__push_pull_fill(ub_ctx *ctx, float *const *planes, int nplanes, const float *weight, int64_t w,
                             int64_t h) {
    if (nplanes < 1 || nplanes > 4 || w <= 0 || h <= 0)
        return ub__fail(ctx, UB_ERR_INVALID, "push-pull: bad arguments");
    int levels = 1;
    for (int64_t lw = w, lh = h; lw > 1 || lh > 1; lw = (lw + 1) / 2, lh = (lh + 1) / 2) levels++;
    /* Levels 1.. live in one buffer: at most a third of the full size, plus rounding. */
    size_t total = 0;
    for (int64_t l = 1, lw = (w + 1) / 2, lh = (h + 1) / 2; l < levels; l++, lw = (lw + 1) / 2, lh = (lh + 1) / 2)
        total += (size_t)lw * (size_t)lh;
    size_t floats;
    if (!ub__mul_size(total, (size_t)nplanes + 1, &floats) || floats > SIZE_MAX / sizeof(float))
        return ub__fail(ctx, UB_ERR_LIMIT, "push-pull: image too large");
    float *buf = levels > 1 ? ub__alloc(floats * sizeof(float)) : NULL;
    pp_level *lv = ub__calloc((size_t)levels, sizeof *lv);
    if ((levels > 1 && !buf) || !lv) {
        ub__free(buf);
        ub__free(lv);
        return ub__fail(ctx, UB_ERR_NOMEM, "push-pull: out of memory for a %lldx%lld fill", (long long)w,
                        (long long)h);
    }
    /* Level 0 is the caller's data, filled in place; its weights are only read. */
    lv[0].w = w, lv[0].h = h;
    for (int c = 0; c < nplanes; c++) lv[0].planes[c] = planes[c];
    lv[0].wt = weight;
    float *next = buf;
    for (int l = 1; l < levels; l++) {
        const int64_t lw = (lv[l - 1].w + 1) / 2, lh = (lv[l - 1].h + 1) / 2;
        lv[l].w = lw, lv[l].h = lh;
        for (int c = 0; c < nplanes; c++, next += lw * lh) lv[l].planes[c] = next;
        lv[l].wt = lv[l].wt_store = next;
        next += lw * lh;
    }
    const int threads = ub_ctx_threads(ctx);
    for (int l = 1; l < levels; l++) pp_push(&lv[l - 1], &lv[l], nplanes, threads);
    ub_status st = UB_OK;
    if (!(lv[levels - 1].wt[0] > 0))
        st = ub__fail(ctx, UB_ERR_INVALID, "push-pull: nothing known to fill from");
    else
        for (int l = levels - 2; l >= 0; l--) pp_pull(&lv[l], &lv[l + 1], nplanes, threads);
    ub__free(buf);
    ub__free(lv);
    return st;
}

/* ---- reading ---- */

static const char *kind_name(ub_depth_kind kind) {
    return kind == UB_DEPTH_MM16 ? "millimetre depth" : "disparity";
}

/* File value (in [0,1]) -> metres; 0 where unknown. Returns the number of known pixels. */
static int64_t decode_depth(float *p, int64_t n, ub_depth_kind kind, int bit_depth, double scale, float *known) {
    const double maxval = bit_depth == 16 ? 65535.0 : 255.0;
    int64_t count = 0;
    for (int64_t i = 0; i < n; i++) {
        const double code = round((double)p[i] * maxval); /* the integer stored in the file */
        double metres = 0;
        if (code > 0) metres = kind == UB_DEPTH_MM16 ? code / 1000.0 : scale / code;
        p[i] = (float)metres;
        known[i] = code > 0 ? 1.0f : 0.0f;
        count += code > 0;
    }
    return count;
}

ub_status ub_depth_read(ub_ctx *ctx, const char *path, ub_depth_kind kind, double scale, ub_image **out) {
    if (!path || !out) return ub__fail(ctx, UB_ERR_INVALID, "ub_depth_read: NULL argument");
    *out = NULL;
    if (kind != UB_DEPTH_MM16 && kind != UB_DEPTH_DISPARITY)
        return ub__fail(ctx, UB_ERR_INVALID, "%s: unknown depth kind %d", path, (int)kind);
    if (kind == UB_DEPTH_DISPARITY && !(scale > 0 && isfinite(scale)))
        return ub__fail(ctx, UB_ERR_INVALID, "%s: disparity scale must be positive and finite (got %g)", path,
                        scale);
    ub_image *img;
    ub_status st = ub_image_read(ctx, path, &img);
    if (st) return st;
    if (img->channels != 1) {
        int channels = img->channels;
        ub_image_destroy(&img);
        return ub__fail(ctx, UB_ERR_UNSUPPORTED, "%s: a %s map must have one grey channel, not %d", path,
                        kind_name(kind), channels);
    }
    if (kind == UB_DEPTH_MM16 && img->bit_depth != 16) {
        ub_image_destroy(&img);
        return ub__fail(ctx, UB_ERR_UNSUPPORTED, "%s: an 8-bit image cannot hold millimetres (expected a 16-bit PNG)",
                        path);
    }
    const int64_t n = img->width * img->height;
    float *known = ub__alloc((size_t)n * sizeof(float));
    if (!known) {
        ub_image_destroy(&img);
        return ub__fail(ctx, UB_ERR_NOMEM, "%s: out of memory", path);
    }
    float *p = ub_image_plane(img, 0);
    const int64_t count = decode_depth(p, n, kind, img->bit_depth, scale, known);
    if (count == 0)
        st = ub__fail(ctx, UB_ERR_FORMAT, "%s: the %s map has no known pixel (all zero)", path, kind_name(kind));
    else if (count < n)
        st = ub__push_pull_fill(ctx, &p, 1, known, img->width, img->height);
    ub__free(known);
    if (st) {
        ub_image_destroy(&img);
        return st;
    }
    img->bit_depth = 16;
    *out = img;
    return UB_OK;
}

/* ---- a procedural plane ---- */

ub_status ub_depth_plane(ub_ctx *ctx, int64_t width, int64_t height, double near_m, double far_m, ub_image **out) {
    if (!out) return ub__fail(ctx, UB_ERR_INVALID, "ub_depth_plane: NULL output");
    *out = NULL;
    if (!(near_m > 0 && far_m > near_m && isfinite(far_m)))
        return ub__fail(ctx, UB_ERR_INVALID, "depth plane: need 0 < near < far (got near %g m, far %g m)", near_m,
                        far_m);
    ub_image *img;
    ub_status st = ub__image_alloc(ctx, "depth plane", width, height, 1, &img);
    if (st) return st;
    /* A ground plane seen by a level camera has depth ~ 1/(row offset from the horizon):
       linear in inverse depth, from 1/far at the top row to 1/near at the bottom row. */
    const double inv_near = 1.0 / near_m, inv_far = 1.0 / far_m;
    float *p = ub_image_plane(img, 0);
    for (int64_t y = 0; y < height; y++) {
        const double t = height > 1 ? (double)y / (double)(height - 1) : 1.0; /* a single row is at near_m */
        const float d = (float)(1.0 / (inv_far + t * (inv_near - inv_far)));
        for (int64_t x = 0; x < width; x++) p[y * width + x] = d;
    }
    img->bit_depth = 16;
    *out = img;
    return UB_OK;
}
