/* synth/parallax.c — a camera that moves (not only turns) in a 3-D scene: near things blur more.

   Why. A hand-held camera that walks or sways translates, and a translation moves the image of a
   point at depth Z by f T / Z: the same shake smears a person at 2 m ten times as far as a house
   at 20 m. Convolving the whole frame with one kernel (shake) or warping it by homographies
   (rotation, synth/warp.c) cannot make that: the blur's length must follow the depth map.

   The model. The trajectory's translation (x_i, y_i) is how far content at the reference depth
   Z_ref moves, in pixels; content at depth Z moves g (x_i, y_i) with g = min(Z_ref / Z, max_gain)
   (the cap keeps the ground at the camera's feet from smearing without bound). A hand's shake
   also turns the camera, which moves content at every depth alike: with `translation_share` s,
   the path is s translation and 1 - s rotation (small angles: a shift), g = 1 - s + s min(...).
   Moving forward
   by a fraction `forward` of Z_ref over the exposure moves content radially, away from the
   principal point c, by gt (p - c) forward tau (tau in [-1/2, 1/2], the time in the exposure; gt
   the translation's gain min(Z_ref / Z, max_gain): a forward step is all translation).
   Both are centred on the exposure's middle (the trajectory's mean position is subtracted, tau
   has mean 0), so every pixel's blur is centred on where the sharp frame has it, as a centred
   kernel is. Each output pixel averages the input sampled bilinearly (reflecting at the
   borders) at p - d_i(p), d_i(p) = g(p) ((x_i, y_i) - mean) + gt(p) (p - c) forward tau_i:
   the displacement read at the output pixel rather than at the source, which is exact where
   depth is smooth and, at a depth edge, blurs the far side with the near side's length (no
   occlusion, a first-order model like the article's depth-scaled Gaussian).

   Work is split in fixed strips of rows, each pixel sums its sub-frames in order and divides
   once, so the result is the same for any thread count. With a constant depth at Z_ref, no
   forward motion and integer steps it is exactly ub_warp_blur of the centred trajectory (tested). */
#include <math.h>
#include <string.h>

#include "synth/internal.h"

enum { STRIP = 8, DEFAULT_SAMPLES = 64 };
#define MAX_SHIFT 1e6

void ub_parallax_default(ub_parallax *p) {
    memset(p, 0, sizeof *p);
    p->depth_ref_m = 1.0;
    p->max_gain = 4.0;
    p->forward = 0.0;
    p->translation_share = 1.0;
    p->cx = p->cy = NAN; /* the image's centre */
    p->samples = 0;
}

static ub_status check_args(ub_ctx *ctx, const ub_image *in, const ub_image *depth, const ub_trajectory *t,
                            const ub_parallax *p, ub_image **out) {
    if (!in || !depth || !t || !p || !out) return ub__fail(ctx, UB_ERR_INVALID, "parallax blur: NULL argument");
    *out = NULL;
    if (depth->channels != 1 || depth->width != in->width || depth->height != in->height)
        return ub__fail(ctx, UB_ERR_INVALID, "parallax blur: the depth map is %lldx%lld with %d channels, not %lldx%lld with 1",
                        (long long)depth->width, (long long)depth->height, depth->channels, (long long)in->width,
                        (long long)in->height);
    if (t->n < 1 || !t->x || !t->y) return ub__fail(ctx, UB_ERR_INVALID, "parallax blur: the trajectory is empty");
    for (int i = 0; i < t->n; i++)
        if (!(fabs(t->x[i]) <= MAX_SHIFT && fabs(t->y[i]) <= MAX_SHIFT))
            return ub__fail(ctx, UB_ERR_INVALID, "parallax blur: trajectory point %d is not finite or moves over %g pixels",
                            i, MAX_SHIFT);
    if (!(p->depth_ref_m > 0 && isfinite(p->depth_ref_m)))
        return ub__fail(ctx, UB_ERR_INVALID, "parallax blur: the reference depth must be a positive number of metres");
    if (!(p->max_gain > 0 && p->max_gain <= 1e3))
        return ub__fail(ctx, UB_ERR_INVALID, "parallax blur: max_gain must be in (0, 1000] (got %g)", p->max_gain);
    if (!(p->translation_share >= 0 && p->translation_share <= 1))
        return ub__fail(ctx, UB_ERR_INVALID, "parallax blur: translation_share must be in [0, 1] (got %g)",
                        p->translation_share);
    if (!(fabs(p->forward) <= 1))
        return ub__fail(ctx, UB_ERR_INVALID, "parallax blur: forward must be in [-1, 1] (got %g)", p->forward);
    if (p->samples < 0) return ub__fail(ctx, UB_ERR_INVALID, "parallax blur: samples must be >= 0 (got %d)", p->samples);
    return UB_OK;
}

/* The window of output pixels computed: [x0, x0 + w) x [y0, y0 + h). */
typedef struct window {
    int64_t x0, y0, w, h;
} window;

/* Per window pixel: gt = min(Z_ref / Z, max_gain), the translation's gain (an unknown or non-positive
   depth counts as the nearest), and gp = 1 - s + s gt, the path's (s of it translation, the rest rotation). */
static void gain_planes(const ub_image *depth, const ub_parallax *p, window win, float *gt, float *gp) {
    const double s = p->translation_share;
    for (int64_t y = 0; y < win.h; y++)
        for (int64_t x = 0; x < win.w; x++) {
            const double z = depth->data[(win.y0 + y) * depth->width + win.x0 + x];
            const double gain = z > 0 && isfinite(z) ? p->depth_ref_m / z : p->max_gain;
            const int64_t i = y * win.w + x;
            gt[i] = (float)(gain < p->max_gain ? gain : p->max_gain);
            gp[i] = (float)(1 - s + s * gt[i]);
        }
}

/* acc[c n + i] += in_c(x - dx, y - dy) for the n = win.w pixels x = win.x0 + i of row y and one
   sub-frame (tx, ty, fz: the centred translation and the forward fraction at that time). A 2x2 cell
   inside the image is read directly; one that leaves it, through ub__reflect. */
static void add_row(const ub_image *in, int cc, window win, const float *gt_row, const float *gp_row, double tx,
                    double ty, double fz, double cx, double cy, int64_t y, float *restrict acc) {
    const int64_t w = in->width, h = in->height, n = win.w;
    const double ry = (double)y - cy;
    for (int64_t i = 0; i < n; i++) {
        const double x = (double)(win.x0 + i), gp = gp_row[i], gf = gt_row[i] * fz;
        const double sx = x - gp * tx - gf * (x - cx), sy = (double)y - gp * ty - gf * ry;
        const double fx = floor(sx), fy = floor(sy);
        const int64_t x0 = (int64_t)fx, y0 = (int64_t)fy;
        const float ax = (float)(sx - fx), ay = (float)(sy - fy);
        int64_t xa = x0, xb = x0 + 1, ya = y0 * w, yb = (y0 + 1) * w;
        if (x0 < 0 || x0 + 1 >= w || y0 < 0 || y0 + 1 >= h) {
            xa = ub__reflect(x0, w), xb = ub__reflect(x0 + 1, w);
            ya = ub__reflect(y0, h) * w, yb = ub__reflect(y0 + 1, h) * w;
        }
        for (int c = 0; c < cc; c++) {
            const float *pl = ub_image_plane(in, c);
            const float top = pl[ya + xa] + ax * (pl[ya + xb] - pl[ya + xa]);
            const float bot = pl[yb + xa] + ax * (pl[yb + xb] - pl[yb + xa]);
            acc[(int64_t)c * n + i] += top + ay * (bot - top);
        }
    }
}

/* The sub-frames: centred translation (tx, ty) and forward fraction fz of each (ub__free). */
static double *make_poses(const ub_trajectory *t, const ub_parallax *p, int count) {
    double *pose = ub__calloc((size_t)count * 3, sizeof(double));
    if (!pose) return NULL;
    double mx = 0, my = 0;
    for (int s = 0; s < count; s++) {
        const int i = ub__pose_index(s, count, t->n);
        pose[3 * s] = t->x[i], pose[3 * s + 1] = t->y[i];
        pose[3 * s + 2] = p->forward * (((double)s + 0.5) / count - 0.5);
        mx += t->x[i], my += t->y[i];
    }
    mx /= count, my /= count;
    for (int s = 0; s < count; s++) pose[3 * s] -= mx, pose[3 * s + 1] -= my;
    return pose;
}

/* Blurs the window's pixels of `out` (the rest is left as it is). */
static ub_status blur_window(ub_ctx *ctx, const ub_image *in, const ub_image *depth, const ub_trajectory *t,
                             const ub_parallax *p, window win, ub_image *out) {
    const int count = ub__pose_count(p->samples, DEFAULT_SAMPLES, t->n);
    const int64_t plane = win.w * win.h, strips = (win.h + STRIP - 1) / STRIP;
    double *pose = make_poses(t, p, count);
    float *g = ub__alloc((size_t)plane * 2 * sizeof(float)); /* gt, then gp */
    if (!pose || !g) {
        ub__free(pose), ub__free(g);
        return ub__fail(ctx, UB_ERR_NOMEM, "parallax blur: out of memory");
    }
    gain_planes(depth, p, win, g, g + plane);
    const double cx = isnan(p->cx) ? (double)(in->width - 1) / 2 : p->cx;
    const double cy = isnan(p->cy) ? (double)(in->height - 1) / 2 : p->cy;
    const int cc = ub_image_colour_channels(in);
    int failed = 0;
#pragma omp parallel num_threads(ub_ctx_threads(ctx)) reduction(| : failed)
    {
        float *acc = ub__alloc((size_t)cc * (size_t)win.w * sizeof(float));
        if (!acc) failed = 1;
#pragma omp for schedule(dynamic, 1)
        for (int64_t s = 0; s < strips; s++) {
            if (!acc) continue;
            for (int64_t r = s * STRIP; r < win.h && r < (s + 1) * STRIP; r++) {
                memset(acc, 0, (size_t)cc * (size_t)win.w * sizeof(float));
                const int64_t y = win.y0 + r;
                for (int i = 0; i < count; i++)
                    add_row(in, cc, win, g + r * win.w, g + plane + r * win.w, pose[3 * i], pose[3 * i + 1],
                            pose[3 * i + 2], cx, cy, y, acc);
                for (int c = 0; c < cc; c++) {
                    float *dst = ub_image_plane(out, c) + y * in->width + win.x0;
                    for (int64_t x = 0; x < win.w; x++) dst[x] = acc[(int64_t)c * win.w + x] / (float)count;
                }
            }
        }
        ub__free(acc);
    }
    ub__free(pose), ub__free(g);
    return failed ? ub__fail(ctx, UB_ERR_NOMEM, "parallax blur: out of memory") : UB_OK;
}

ub_status ub__parallax_blur_window(ub_ctx *ctx, const ub_image *in, const ub_image *depth_m, const ub_trajectory *t,
                                   const ub_parallax *p, int64_t x0, int64_t y0, int64_t w, int64_t h,
                                   ub_image **out) {
    ub_status st = check_args(ctx, in, depth_m, t, p, out);
    if (st) return st;
    if (x0 < 0 || y0 < 0 || w < 1 || h < 1 || x0 + w > in->width || y0 + h > in->height)
        return ub__fail(ctx, UB_ERR_INVALID, "parallax blur: the window is not inside the image");
    if ((st = ub_image_clone(ctx, in, out))) return st;
    const window win = {x0, y0, w, h};
    if ((st = blur_window(ctx, in, depth_m, t, p, win, *out))) ub_image_destroy(out);
    return st;
}

ub_status ub_parallax_blur(ub_ctx *ctx, const ub_image *in, const ub_image *depth_m, const ub_trajectory *t,
                           const ub_parallax *p, ub_image **out) {
    return ub__parallax_blur_window(ctx, in, depth_m, t, p, 0, 0, in ? in->width : 0, in ? in->height : 0, out);
}
