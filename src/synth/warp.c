/* synth/warp.c — spatially varying camera blur: the exposure integrated over homographies.

   Geometry. Pixel centres are at integer coordinates; the principal point is
   the image centre c = ((w-1)/2, (h-1)/2) and K = [f 0 cx; 0 f cy; 0 0 1].
   A camera pose i is a translation t = (x[i], y[i]) pixels and a rotation
   R = Rz(roll) Ry(yaw) Rx(pitch) (angles in radians, a NULL array = 0). The
   pose moves image content FORWARD by
       F = T(t) K R K^-1        (content at q is seen at F q)
   so a positive x translation moves content to the right, exactly like a
   kernel whose mass sits at offset (+x, 0) in the convolution convention of
   synth.h ("a point light at p spreads to p + offset"). With y pointing down:
   positive yaw moves the centre of the image right (by about f tan(yaw)),
   positive pitch moves it up, positive roll turns the content clockwise on
   screen. The blurred image is the mean over the chosen poses of the input
   seen through each pose, so each output pixel p looks up its SOURCE through
       M = F^-1 = K R^T K^-1 T(-t),   out(p) = mean_i in(M_i p)
   with bilinear sampling that reflects at the borders (ub__bilinear).

   Speed. Poses without rotation (the common case: translation-only shake)
   take a fast path: the sub-pixel fraction is the same for the whole image,
   so a row is a shifted, weighted sum of two input rows that vectorises, and
   only the few border columns need reflection. Rotated poses compute the
   homography per pixel (one division); in a row, the columns whose sources
   fall inside the image form one span (found from its ends), where the
   positions are computed in a vectorised pass and sampled without
   reflection, the cell and weights serving every colour channel. Work is
   split in fixed strips of rows;
   each output pixel sums its poses in pose order, in float, and divides by
   the count once, so the result is the same for any thread count.
   ub__warp_blur_ref() is the plain twin: every pose through the full matrix
   and ub__bilinear, pixel by pixel. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "synth/internal.h"

enum { STRIP = 8, DEFAULT_SAMPLES = 64 };

/* Translations beyond this are rejected: they would only show reflections,
   and they keep every source coordinate well inside int64. */
#define MAX_SHIFT 1e6
/* Source coordinates are clamped here before conversion to integers; only
   poses that look nearly along the image plane come close. */
#define MAX_COORD 1e9

typedef struct pose {
    double m[9];     /* output -> source, row-major homogeneous 3x3 */
    int shift_only;  /* no rotation: m is a pure translation by (-tx, -ty) */
    double tx, ty;
} pose;

/* ---- pose matrices ---- */

static void mat3_mul(const double a[9], const double b[9], double out[9]) {
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 3; c++) out[3 * r + c] = a[3 * r] * b[c] + a[3 * r + 1] * b[3 + c] + a[3 * r + 2] * b[6 + c];
}

/* R = Rz(roll) Ry(yaw) Rx(pitch), returned TRANSPOSED (the inverse rotation). */
static void rotation_transposed(double yaw, double pitch, double roll, double rt[9]) {
    const double cz = cos(roll), sz = sin(roll), cy = cos(yaw), sy = sin(yaw), cx = cos(pitch), sx = sin(pitch);
    const double rz[9] = {cz, -sz, 0, sz, cz, 0, 0, 0, 1};
    const double ry[9] = {cy, 0, sy, 0, 1, 0, -sy, 0, cy};
    const double rx[9] = {1, 0, 0, 0, cx, -sx, 0, sx, cx};
    double zy[9], r[9];
    mat3_mul(rz, ry, zy);
    mat3_mul(zy, rx, r);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) rt[3 * i + j] = r[3 * j + i];
}

/* M = K R^T K^-1 T(-t). */
static void pose_matrix(double yaw, double pitch, double roll, double tx, double ty, double f, double cx, double cy,
                        double m[9]) {
    const double k[9] = {f, 0, cx, 0, f, cy, 0, 0, 1};
    const double kinv[9] = {1 / f, 0, -cx / f, 0, 1 / f, -cy / f, 0, 0, 1};
    const double shift[9] = {1, 0, -tx, 0, 1, -ty, 0, 0, 1};
    double rt[9], a[9], b[9];
    rotation_transposed(yaw, pitch, roll, rt);
    mat3_mul(k, rt, a);
    mat3_mul(a, kinv, b);
    mat3_mul(b, shift, m);
}

static double angle_at(const double *a, int i) { return a ? a[i] : 0.0; }


/* Validates the arguments and builds the poses (ub__free them). */
static ub_status make_poses(ub_ctx *ctx, const ub_image *in, const ub_trajectory *t, double focal_px, int samples,
                            ub_image **out, pose **poses_out, int *count_out) {
    if (!in || !t || !out) return ub__fail(ctx, UB_ERR_INVALID, "warp blur: NULL argument");
    *out = NULL;
    if (t->n < 1 || !t->x || !t->y) return ub__fail(ctx, UB_ERR_INVALID, "warp blur: the trajectory is empty");
    if (samples < 0) return ub__fail(ctx, UB_ERR_INVALID, "warp blur: samples must be >= 0 (got %d)", samples);
    const int rotates = t->yaw || t->pitch || t->roll;
    if (rotates && !(isfinite(focal_px) && focal_px > 0))
        return ub__fail(ctx, UB_ERR_INVALID, "warp blur: the focal length must be a positive number of pixels");
    const int count = ub__pose_count(samples, DEFAULT_SAMPLES, t->n);
    pose *poses = ub__calloc((size_t)count, sizeof *poses);
    if (!poses) return ub__fail(ctx, UB_ERR_NOMEM, "warp blur: out of memory");
    const double w = (double)in->width, h = (double)in->height, cx = (w - 1) / 2, cy = (h - 1) / 2;
    for (int s = 0; s < count; s++) {
        const int i = ub__pose_index(s, count, t->n);
        const double tx = t->x[i], ty = t->y[i];
        const double yaw = angle_at(t->yaw, i), pitch = angle_at(t->pitch, i), roll = angle_at(t->roll, i);
        if (!(fabs(tx) <= MAX_SHIFT && fabs(ty) <= MAX_SHIFT) || !isfinite(yaw + pitch + roll)) {
            ub__free(poses);
            return ub__fail(ctx, UB_ERR_INVALID, "warp blur: trajectory point %d is not finite or moves over %g pixels",
                            i, MAX_SHIFT);
        }
        pose *p = &poses[s];
        p->tx = tx, p->ty = ty;
        p->shift_only = yaw == 0 && pitch == 0 && roll == 0;
        pose_matrix(yaw, pitch, roll, tx, ty, rotates ? focal_px : 1.0, cx, cy, p->m);
        /* The homogeneous w is linear in the pixel, so its minimum over the image
           is at a corner: w <= 0 means part of the view comes from behind the camera. */
        const double corners[4][2] = {{-0.5, -0.5}, {w - 0.5, -0.5}, {-0.5, h - 0.5}, {w - 0.5, h - 0.5}};
        for (int k = 0; k < 4 && !p->shift_only; k++)
            if (!(p->m[6] * corners[k][0] + p->m[7] * corners[k][1] + p->m[8] > 1e-6)) {
                ub__free(poses);
                return ub__fail(ctx, UB_ERR_INVALID,
                                "warp blur: trajectory point %d turns the camera beyond the field of view "
                                "(focal length %g px)", i, focal_px);
            }
    }
    ub_status st = ub__image_alloc(ctx, "warp blur", in->width, in->height, in->channels, out);
    if (st) {
        ub__free(poses);
        return st;
    }
    (*out)->bit_depth = in->bit_depth;
    if (ub_image_has_alpha(in))
        memcpy(ub_image_plane(*out, in->channels - 1), ub_image_plane(in, in->channels - 1),
               (size_t)in->width * (size_t)in->height * sizeof(float));
    *poses_out = poses;
    *count_out = count;
    return UB_OK;
}

/* ---- fast path ---- */

static double clamp_coord(double v) { return v < -MAX_COORD ? -MAX_COORD : v > MAX_COORD ? MAX_COORD : v; }

/* acc[c*w + x] += in_c(x - tx, y - ty) for one row: the fraction is shared by the row. */
static void add_shifted_row(const ub_image *in, int cc, double tx, double ty, int64_t y, float *restrict acc) {
    const int64_t w = in->width, h = in->height;
    const double sy = (double)y - ty, fy = floor(sy), ox = -tx, fox = floor(ox);
    const float ay = (float)(sy - fy), ax = (float)(ox - fox);
    const int64_t ya = ub__reflect((int64_t)fy, h), yb = ub__reflect((int64_t)fy + 1, h), ix = (int64_t)fox;
    /* columns whose two source columns x+ix, x+ix+1 are both inside: [lo, hi) */
    int64_t lo = -ix > 0 ? -ix : 0, hi = w - 1 - ix < w ? w - 1 - ix : w;
    if (hi < lo) lo = hi = 0;
    for (int c = 0; c < cc; c++) {
        const float *p = ub_image_plane(in, c), *ra = p + ya * w, *rb = p + yb * w;
        float *restrict row = acc + (int64_t)c * w;
        for (int64_t x = 0; x < w; x++) {
            if (x == lo) x = hi; /* the interior is done below */
            if (x >= w) break;
            const int64_t xa = ub__reflect(x + ix, w), xb = ub__reflect(x + ix + 1, w);
            const float top = ra[xa] + ax * (ra[xb] - ra[xa]), bot = rb[xa] + ax * (rb[xb] - rb[xa]);
            row[x] += top + ay * (bot - top);
        }
#pragma omp simd
        for (int64_t x = lo; x < hi; x++) {
            const int64_t i = x + ix;
            const float top = ra[i] + ax * (ra[i + 1] - ra[i]), bot = rb[i] + ax * (rb[i + 1] - rb[i]);
            row[x] += top + ay * (bot - top);
        }
    }
}

/* Per-thread row buffers for the homography path. */
typedef struct row_taps {
    int32_t *cell;  /* y0 * w + x0 of each pixel's source cell */
    float *ax, *ay; /* its bilinear weights */
} row_taps;

/* Source position of pixel (x, y) of a row whose constant terms are (bx, by, bw). */
static inline void row_source(const double m[9], double bx, double by, double bw, double x, double *sx, double *sy) {
    const double inv = 1.0 / (m[6] * x + bw);
    *sx = (m[0] * x + bx) * inv, *sy = (m[3] * x + by) * inv;
}

/* A source whose 2x2 cell lies inside the image, kept 1e-6 px off the far edges so
   that rounding between the row's ends cannot reach past them. */
static int cell_inside(double sx, double sy, int64_t w, int64_t h) {
    return sx >= 0 && sx <= (double)(w - 1) - 1e-6 && sy >= 0 && sy <= (double)(h - 1) - 1e-6;
}

/* Columns [x0, x1) of a row whose sources all lie inside the image: positions in
   one vectorised pass (truncation is the floor there: the sources are >= 0, up to
   rounding that only makes a weight -1e-13), then the samples, whose cell and
   weights serve every colour channel. */
static void add_inside_span(const ub_image *in, int cc, const double m[9], double bx, double by, double bw,
                            int32_t x0, int32_t x1, const row_taps *taps, float *restrict acc) {
    const int32_t w = (int32_t)in->width; /* w * h fits int32 here */
    const double m0 = m[0], m3 = m[3], m6 = m[6];
    int32_t *restrict cell = taps->cell;
    float *restrict tax = taps->ax, *restrict tay = taps->ay;
    for (int32_t x = x0; x < x1; x++) {
        const double xd = (double)x, inv = 1.0 / (m6 * xd + bw);
        const double sx = (m0 * xd + bx) * inv, sy = (m3 * xd + by) * inv;
        const int32_t cx = (int32_t)sx, cy = (int32_t)sy;
        cell[x] = cy * w + cx;
        tax[x] = (float)(sx - (double)cx), tay[x] = (float)(sy - (double)cy);
    }
    const float *planes[3];
    for (int c = 0; c < cc; c++) planes[c] = ub_image_plane(in, c);
    for (int32_t x = x0; x < x1; x++) {
        const int32_t i = cell[x];
        const float ax = tax[x], ay = tay[x];
        for (int c = 0; c < cc; c++) {
            const float *p = planes[c], a = p[i], b = p[i + 1], d = p[i + w], e = p[i + w + 1];
            const float top = a + ax * (b - a), bot = d + ax * (e - d);
            acc[(int64_t)c * w + x] += top + ay * (bot - top);
        }
    }
}

/* Columns [x0, x1) of a row, any source: clamped, floored, reflected at the borders as ub__bilinear does. */
static void add_general_span(const ub_image *in, int cc, const double m[9], double bx, double by, double bw,
                             int64_t x0, int64_t x1, float *restrict acc) {
    const int64_t w = in->width, h = in->height;
    const float *planes[3];
    for (int c = 0; c < cc; c++) planes[c] = ub_image_plane(in, c);
    for (int64_t x = x0; x < x1; x++) {
        double sx, sy;
        row_source(m, bx, by, bw, (double)x, &sx, &sy);
        sx = clamp_coord(sx), sy = clamp_coord(sy);
        const double fx = floor(sx), fy = floor(sy);
        const int64_t cx = (int64_t)fx, cy = (int64_t)fy;
        const float ax = (float)(sx - fx), ay = (float)(sy - fy);
        const int64_t xa = ub__reflect(cx, w), xb = ub__reflect(cx + 1, w);
        const int64_t ya = ub__reflect(cy, h) * w, yb = ub__reflect(cy + 1, h) * w;
        for (int c = 0; c < cc; c++) {
            const float *p = planes[c];
            const float top = p[ya + xa] + ax * (p[ya + xb] - p[ya + xa]);
            const float bot = p[yb + xa] + ax * (p[yb + xb] - p[yb + xa]);
            acc[(int64_t)c * w + x] += top + ay * (bot - top);
        }
    }
}

/* acc[c*w + x] += in_c(M (x, y, 1)) for one row, through the full homography.
   With W > 0 over the image, the sources of a row lie on a segment, so the
   columns whose sources are inside form one span [lo, hi): find its ends from
   the row's ends (a few pixels of border at most, for a small shake). */
static void add_warped_row(const ub_image *in, int cc, const double m[9], int64_t y, const row_taps *taps,
                           float *restrict acc) {
    const int64_t w = in->width, h = in->height;
    const double bx = m[1] * (double)y + m[2], by = m[4] * (double)y + m[5], bw = m[7] * (double)y + m[8];
    int64_t lo = 0, hi = w;
    if (w * h <= INT32_MAX) {
        double sx, sy;
        for (; lo < w; lo++) {
            row_source(m, bx, by, bw, (double)lo, &sx, &sy);
            if (cell_inside(sx, sy, w, h)) break;
        }
        for (hi = w; hi > lo; hi--) {
            row_source(m, bx, by, bw, (double)(hi - 1), &sx, &sy);
            if (cell_inside(sx, sy, w, h)) break;
        }
    } else {
        lo = hi = w; /* too large for int32 cells: all general */
    }
    add_general_span(in, cc, m, bx, by, bw, 0, lo, acc);
    if (lo < hi) add_inside_span(in, cc, m, bx, by, bw, (int32_t)lo, (int32_t)hi, taps, acc);
    add_general_span(in, cc, m, bx, by, bw, hi, w, acc);
}

ub_status ub_warp_blur(ub_ctx *ctx, const ub_image *in, const ub_trajectory *t, double focal_px, int samples,
                       ub_image **out) {
    pose *poses;
    int count;
    ub_status st = make_poses(ctx, in, t, focal_px, samples, out, &poses, &count);
    if (st) return st;
    const int64_t w = in->width, h = in->height, strips = (h + STRIP - 1) / STRIP;
    const int cc = ub_image_colour_channels(in);
    int failed = 0;
#pragma omp parallel num_threads(ub_ctx_threads(ctx)) reduction(| : failed)
    {
        /* sizes fit: w * cc floats is less than the image */
        float *acc = ub__alloc((size_t)cc * (size_t)w * sizeof(float));
        row_taps taps = {ub__alloc((size_t)w * sizeof(int32_t)), ub__alloc((size_t)w * sizeof(float)),
                         ub__alloc((size_t)w * sizeof(float))};
        const int ready = acc && taps.cell && taps.ax && taps.ay;
        if (!ready) failed = 1;
#pragma omp for schedule(dynamic, 1)
        for (int64_t s = 0; s < strips; s++) {
            if (!ready) continue;
            for (int64_t y = s * STRIP; y < h && y < (s + 1) * STRIP; y++) {
                memset(acc, 0, (size_t)cc * (size_t)w * sizeof(float));
                for (int i = 0; i < count; i++) {
                    if (poses[i].shift_only) add_shifted_row(in, cc, poses[i].tx, poses[i].ty, y, acc);
                    else add_warped_row(in, cc, poses[i].m, y, &taps, acc);
                }
                for (int c = 0; c < cc; c++) {
                    float *dst = ub_image_plane(*out, c) + y * w;
                    const float *src = acc + (int64_t)c * w;
                    for (int64_t x = 0; x < w; x++) dst[x] = src[x] / (float)count;
                }
            }
        }
        ub__free(acc);
        ub__free(taps.cell), ub__free(taps.ax), ub__free(taps.ay);
    }
    ub__free(poses);
    if (failed) {
        ub_image_destroy(out);
        return ub__fail(ctx, UB_ERR_NOMEM, "warp blur: out of memory");
    }
    return UB_OK;
}

/* ---- reference twin ---- */

ub_status ub__warp_blur_ref(ub_ctx *ctx, const ub_image *in, const ub_trajectory *t, double focal_px, int samples,
                            ub_image **out) {
    pose *poses;
    int count;
    ub_status st = make_poses(ctx, in, t, focal_px, samples, out, &poses, &count);
    if (st) return st;
    const int64_t w = in->width, h = in->height;
    for (int c = 0; c < ub_image_colour_channels(in); c++) {
        const float *src = ub_image_plane(in, c);
        float *dst = ub_image_plane(*out, c);
        for (int64_t y = 0; y < h; y++)
            for (int64_t x = 0; x < w; x++) {
                float sum = 0;
                for (int i = 0; i < count; i++) {
                    const double *m = poses[i].m, px = (double)x, py = (double)y;
                    const double sw = m[6] * px + m[7] * py + m[8];
                    const double sx = (m[0] * px + m[1] * py + m[2]) / sw, sy = (m[3] * px + m[4] * py + m[5]) / sw;
                    sum += ub__bilinear(src, w, h, clamp_coord(sx), clamp_coord(sy));
                }
                dst[y * w + x] = sum / (float)count;
            }
    }
    ub__free(poses);
    return UB_OK;
}
