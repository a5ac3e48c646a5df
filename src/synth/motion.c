/* synth/motion.c — a foreground object moving during the exposure, and procedural masks.

   The model. The sharp frame is the MIDDLE of the exposure. The foreground is
   a layer with coverage `mask` and premultiplied colour sharp * mask. At time
   t in [-1/2, 1/2] the layer is moved by
       p' = c + t (dx, dy) + scale^t R(t rotation) (p - c)
   (c = the mask's centroid, so rotation and zoom happen about the object, and
   every transform is the identity at t = 0). For S sub-frames at the centres
   t_s = (s + 1/2)/S - 1/2 of equal time slices, the moved layer (colour F_s,
   coverage A_s, both sampled bilinearly through the inverse transform; outside
   the image there is no layer) is composited "over" the background B:
       out_s = F_s + (1 - A_s) B
   and the sub-frames are averaged. As B is the same in every sub-frame this is
       out = mean(F_s) + (1 - mean(A_s)) B,
   computed in that form so that where the layer never passes (all A_s = 0,
   F_s = 0) the result is B bit for bit, and where the layer covers a pixel in
   every sub-frame (all A_s = 1) no background shows through.

   The background behind the object is unknown in the sharp frame. When the
   caller gives none, it is filled by push-pull inpainting (Gortler et al.
   1996): a pyramid of 2x2 confidence-weighted means is built down to 1x1 (a
   coarse confidence is the children's sum, capped at 1), then each level is
   filled from the next coarser one, upsampled bilinearly:
   filled = w col + (1 - w) coarse. Only pixels with no coverage (mask below
   1/256: an 8-bit mask's 0, a 16-bit mask's noise) are known background
   (w = 1); every pixel the object touches is a hole (w = 0). Weighting by
   1 - mask instead would let the object's colour at its soft edge into the
   fill, and leave a ghost of its outline where it moved away (up to 0.4 of
   the object's colour on a test). Known pixels keep their value exactly. A
   mask with no background pixel leaves nothing to fill from: the background
   is then black.

   Speed: each sub-frame only touches the output box the moved layer can reach
   (the mask's bounding box, mapped forward, plus a pixel); outside it every
   sample is exactly 0, so skipping changes no bit. ub__object_motion_blur_ref
   samples every sub-frame at every pixel; tests compare the two. Rows are
   split in fixed strips and each pixel sums its sub-frames in order, so the
   result is the same for any thread count. */
#include <math.h>
#include <string.h>

#include "synth/internal.h"

enum { DEFAULT_SAMPLES = 48, MAX_SAMPLES = 4096, STRIP = 8 };

#define MAX_SHIFT 1e6
#define MAX_COORD 1e9
#define PI 3.14159265358979323846
/* mask values below this are background for the inpainting (see the top) */
#define KNOWN_BELOW (1.0f / 256)

/* The foreground: plane 0 = coverage, planes 1..cc = premultiplied colour. */
typedef struct layer {
    int64_t w, h;
    int cc;
    float *planes;
    double cx, cy;              /* centroid of the coverage */
    int64_t bx0, bx1, by0, by1; /* bounding box of coverage > 0, inclusive; bx1 < bx0 when empty */
} layer;

/* One sub-frame: output -> source affine map, and the output box [x0,x1) x [y0,y1) it can reach. */
typedef struct subframe {
    double a[4], b[2];
    int64_t x0, x1, y0, y1;
} subframe;

/* ---- validation ---- */

static ub_status check_motion(ub_ctx *ctx, const ub_image *sharp, const ub_image *mask, const ub_image *background,
                              const ub_object_motion *m) {
    if (!sharp || !mask || !m) return ub__fail(ctx, UB_ERR_INVALID, "object motion: NULL argument");
    if (mask->channels != 1)
        return ub__fail(ctx, UB_ERR_INVALID, "object motion: the mask must have 1 channel (it has %d)", mask->channels);
    if (mask->width != sharp->width || mask->height != sharp->height)
        return ub__fail(ctx, UB_ERR_MISMATCH, "object motion: the mask is %lldx%lld but the image is %lldx%lld",
                        (long long)mask->width, (long long)mask->height, (long long)sharp->width,
                        (long long)sharp->height);
    if (background) {
        if (background->width != sharp->width || background->height != sharp->height)
            return ub__fail(ctx, UB_ERR_MISMATCH,
                            "object motion: the background is %lldx%lld but the image is %lldx%lld",
                            (long long)background->width, (long long)background->height, (long long)sharp->width,
                            (long long)sharp->height);
        if (ub_image_colour_channels(background) != ub_image_colour_channels(sharp))
            return ub__fail(ctx, UB_ERR_MISMATCH, "object motion: the background is %s but the image is %s",
                            ub_image_colour_channels(background) == 1 ? "grey" : "RGB",
                            ub_image_colour_channels(sharp) == 1 ? "grey" : "RGB");
    }
    if (!(fabs(m->dx) <= MAX_SHIFT && fabs(m->dy) <= MAX_SHIFT))
        return ub__fail(ctx, UB_ERR_INVALID, "object motion: dx and dy must be finite and at most %g pixels",
                        MAX_SHIFT);
    if (!(fabs(m->rotation) <= 1e3))
        return ub__fail(ctx, UB_ERR_INVALID, "object motion: the rotation must be finite (radians)");
    if (!(m->scale >= 1e-3 && m->scale <= 1e3))
        return ub__fail(ctx, UB_ERR_INVALID, "object motion: the scale must be in [0.001, 1000] (got %g)", m->scale);
    if (m->samples < 0 || m->samples > MAX_SAMPLES)
        return ub__fail(ctx, UB_ERR_INVALID, "object motion: samples must be in [0, %d] (got %d)", MAX_SAMPLES,
                        m->samples);
    return UB_OK;
}

/* ---- the layer ---- */

/* Checks the mask's values and measures its centroid and bounding box. */
static ub_status scan_mask(ub_ctx *ctx, const ub_image *mask, layer *L) {
    const int64_t w = mask->width, h = mask->height;
    const float *p = mask->data;
    double sum = 0, sx = 0, sy = 0;
    L->bx0 = w, L->bx1 = -1, L->by0 = h, L->by1 = -1;
    for (int64_t y = 0; y < h; y++) {
        double row = 0, rowx = 0;
        for (int64_t x = 0; x < w; x++) {
            const float v = p[y * w + x];
            if (!(v >= 0.0f && v <= 1.0f))
                return ub__fail(ctx, UB_ERR_INVALID, "object motion: mask value %g at (%lld, %lld) is outside [0, 1]",
                                (double)v, (long long)x, (long long)y);
            if (v > 0) {
                row += v, rowx += (double)v * (double)x;
                if (x < L->bx0) L->bx0 = x;
                if (x > L->bx1) L->bx1 = x;
                if (y < L->by0) L->by0 = y;
                L->by1 = y;
            }
        }
        sum += row, sx += rowx, sy += row * (double)y;
    }
    /* no foreground: any centre will do, nothing moves */
    L->cx = sum > 0 ? sx / sum : (double)(w - 1) / 2;
    L->cy = sum > 0 ? sy / sum : (double)(h - 1) / 2;
    return UB_OK;
}

static ub_status make_layer(ub_ctx *ctx, const ub_image *sharp, const ub_image *mask, layer *L) {
    memset(L, 0, sizeof *L);
    L->w = sharp->width, L->h = sharp->height, L->cc = ub_image_colour_channels(sharp);
    ub_status st = scan_mask(ctx, mask, L);
    if (st) return st;
    const size_t n = (size_t)L->w * (size_t)L->h; /* fits: the images exist */
    size_t bytes;
    if (!ub__mul3_size(n, (size_t)L->cc + 1, sizeof(float), &bytes) || !(L->planes = ub__alloc(bytes)))
        return ub__fail(ctx, UB_ERR_NOMEM, "object motion: out of memory for the foreground layer");
    memcpy(L->planes, mask->data, n * sizeof(float));
    for (int c = 0; c < L->cc; c++) {
        const float *src = ub_image_plane(sharp, c);
        float *dst = L->planes + (size_t)(c + 1) * n;
        for (size_t i = 0; i < n; i++) dst[i] = src[i] * mask->data[i];
    }
    return UB_OK;
}

/* ---- push-pull inpainting ---- */

typedef struct level {
    int64_t w, h;
    float *wt;  /* confidence in [0,1] */
    float *col; /* cc planes: the confidence-weighted mean colour; after the pull, the filled colour */
} level;

/* Level k+1 from level k: 2x2 confidence-weighted means (fewer children at odd edges). */
static void push_down(const level *fine, const level *coarse, int cc, int threads) {
    const int64_t fw = fine->w, fh = fine->h, w = coarse->w, h = coarse->h;
#pragma omp parallel for num_threads(threads) schedule(static) if (w * h > 16384)
    for (int64_t y = 0; y < h; y++)
        for (int64_t x = 0; x < w; x++) {
            double sw = 0, sc[3] = {0, 0, 0};
            for (int64_t yy = 2 * y; yy < 2 * y + 2 && yy < fh; yy++)
                for (int64_t xx = 2 * x; xx < 2 * x + 2 && xx < fw; xx++) {
                    const double wt = fine->wt[yy * fw + xx];
                    sw += wt;
                    for (int c = 0; c < cc; c++) sc[c] += wt * fine->col[(c * fh + yy) * fw + xx];
                }
            coarse->wt[y * w + x] = (float)(sw < 1 ? sw : 1);
            for (int c = 0; c < cc; c++) coarse->col[(c * h + y) * w + x] = sw > 0 ? (float)(sc[c] / sw) : 0.0f;
        }
}

/* Fills level k from the (already filled) level k+1 where its confidence is below 1. */
static void pull_up(const level *fine, const level *coarse, int cc, int threads) {
    const int64_t w = fine->w, h = fine->h;
#pragma omp parallel for num_threads(threads) schedule(static) if (w * h > 16384)
    for (int64_t y = 0; y < h; y++)
        for (int64_t x = 0; x < w; x++) {
            const float wt = fine->wt[y * w + x];
            if (wt >= 1.0f) continue; /* known: kept exactly */
            for (int c = 0; c < cc; c++) {
                float *v = &fine->col[(c * h + y) * w + x];
                const float up = ub__bilinear(coarse->col + c * coarse->w * coarse->h, coarse->w, coarse->h,
                                              0.5 * (double)x - 0.25, 0.5 * (double)y - 0.25);
                *v = wt * *v + (1.0f - wt) * up;
            }
        }
}

/* The sharp image with the foreground removed and filled; cc planes, ub__free it. */
static ub_status inpaint_background(ub_ctx *ctx, const ub_image *sharp, const ub_image *mask, int cc, float **out) {
    *out = NULL;
    level levels[64];
    int count = 1;
    size_t total = 0;
    levels[0].w = sharp->width, levels[0].h = sharp->height;
    for (;;) {
        const level *l = &levels[count - 1];
        total += (size_t)l->w * (size_t)l->h; /* at most 2 * w * h in all */
        if ((l->w == 1 && l->h == 1) || count == 64) break; /* 64 levels: sides up to 2^63 */
        levels[count].w = (l->w + 1) / 2, levels[count].h = (l->h + 1) / 2;
        count++;
    }
    size_t bytes;
    float *block;
    if (!ub__mul3_size(total, (size_t)cc + 1, sizeof(float), &bytes) || !(block = ub__alloc(bytes)))
        return ub__fail(ctx, UB_ERR_NOMEM, "object motion: out of memory for the background");
    /* colour planes of every level first, so that level 0's colour is the block's start */
    float *cursor = block;
    for (int k = 0; k < count; k++) levels[k].col = cursor, cursor += (size_t)cc * levels[k].w * levels[k].h;
    for (int k = 0; k < count; k++) levels[k].wt = cursor, cursor += (size_t)levels[k].w * levels[k].h;
    const size_t n = (size_t)sharp->width * (size_t)sharp->height;
    memcpy(levels[0].col, sharp->data, n * (size_t)cc * sizeof(float));
    for (size_t i = 0; i < n; i++) levels[0].wt[i] = mask->data[i] < KNOWN_BELOW ? 1.0f : 0.0f;
    const int threads = ub_ctx_threads(ctx);
    for (int k = 0; k + 1 < count; k++) push_down(&levels[k], &levels[k + 1], cc, threads);
    for (int k = count - 2; k >= 0; k--) pull_up(&levels[k], &levels[k + 1], cc, threads);
    *out = block;
    return UB_OK;
}

/* ---- sub-frames ---- */

static int64_t clamp_i64(double v, int64_t lo, int64_t hi) {
    return v < (double)lo ? lo : v > (double)hi ? hi : (int64_t)v;
}

static void make_subframe(const layer *L, const ub_object_motion *m, int s, int count, int use_boxes, subframe *f) {
    const double t = (s + 0.5) / count - 0.5, theta = t * m->rotation, sc = exp(t * log(m->scale));
    const double co = cos(theta), si = sin(theta), dx = t * m->dx, dy = t * m->dy, cx = L->cx, cy = L->cy;
    /* inverse of p' = c + d + sc R(theta) (p - c): p = A p' + b, A = R(-theta) / sc */
    f->a[0] = co / sc, f->a[1] = si / sc, f->a[2] = -si / sc, f->a[3] = co / sc;
    f->b[0] = cx - (f->a[0] * (cx + dx) + f->a[1] * (cy + dy));
    f->b[1] = cy - (f->a[2] * (cx + dx) + f->a[3] * (cy + dy));
    if (!use_boxes) {
        f->x0 = 0, f->x1 = L->w, f->y0 = 0, f->y1 = L->h;
        return;
    }
    if (L->bx1 < L->bx0) {
        f->x0 = f->x1 = f->y0 = f->y1 = 0;
        return;
    }
    /* a bilinear sample is non-zero only strictly inside the box grown by one pixel;
       map its corners forward and keep a pixel of margin for rounding */
    const double xs[2] = {(double)L->bx0 - 1, (double)L->bx1 + 1}, ys[2] = {(double)L->by0 - 1, (double)L->by1 + 1};
    double lox = INFINITY, hix = -INFINITY, loy = INFINITY, hiy = -INFINITY;
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            const double px = xs[i] - cx, py = ys[j] - cy;
            const double qx = cx + dx + sc * (co * px - si * py), qy = cy + dy + sc * (si * px + co * py);
            lox = fmin(lox, qx), hix = fmax(hix, qx), loy = fmin(loy, qy), hiy = fmax(hiy, qy);
        }
    f->x0 = clamp_i64(floor(lox) - 1, 0, L->w), f->x1 = clamp_i64(ceil(hix) + 2, 0, L->w);
    f->y0 = clamp_i64(floor(loy) - 1, 0, L->h), f->y1 = clamp_i64(ceil(hiy) + 2, 0, L->h);
    if (f->x1 < f->x0) f->x1 = f->x0;
    if (f->y1 < f->y0) f->y1 = f->y0;
}

static inline float tap_or_zero(const float *p, int64_t w, int64_t h, int64_t x, int64_t y) {
    return x >= 0 && x < w && y >= 0 && y < h ? p[y * w + x] : 0.0f;
}

/* acc[k*w + x] += layer plane k at the sub-frame's source of (x, y), for the sub-frame's columns. */
static void add_subframe_row(const layer *L, const subframe *f, int64_t y, float *restrict acc) {
    const int64_t w = L->w, h = L->h, n = w * h;
    const int planes = L->cc + 1;
    const double bx = f->a[1] * (double)y + f->b[0], by = f->a[3] * (double)y + f->b[1];
    for (int64_t x = f->x0; x < f->x1; x++) {
        double sx = f->a[0] * (double)x + bx, sy = f->a[2] * (double)x + by;
        sx = sx < -MAX_COORD ? -MAX_COORD : sx > MAX_COORD ? MAX_COORD : sx;
        sy = sy < -MAX_COORD ? -MAX_COORD : sy > MAX_COORD ? MAX_COORD : sy;
        const double fx = floor(sx), fy = floor(sy);
        const int64_t x0 = (int64_t)fx, y0 = (int64_t)fy;
        const float ax = (float)(sx - fx), ay = (float)(sy - fy);
        if (x0 >= 0 && x0 < w - 1 && y0 >= 0 && y0 < h - 1) {
            const int64_t i = y0 * w + x0;
            for (int k = 0; k < planes; k++) {
                const float *p = L->planes + k * n;
                const float top = p[i] + ax * (p[i + 1] - p[i]), bot = p[i + w] + ax * (p[i + w + 1] - p[i + w]);
                acc[k * w + x] += top + ay * (bot - top);
            }
        } else if (x0 >= -1 && x0 < w && y0 >= -1 && y0 < h) { /* straddles the edge: outside is no layer */
            for (int k = 0; k < planes; k++) {
                const float *p = L->planes + k * n;
                const float v00 = tap_or_zero(p, w, h, x0, y0), v10 = tap_or_zero(p, w, h, x0 + 1, y0);
                const float v01 = tap_or_zero(p, w, h, x0, y0 + 1), v11 = tap_or_zero(p, w, h, x0 + 1, y0 + 1);
                const float top = v00 + ax * (v10 - v00), bot = v01 + ax * (v11 - v01);
                acc[k * w + x] += top + ay * (bot - top);
            }
        }
    }
}

/* out = mean F + (1 - mean A) B for one row. */
static void composite_row(const layer *L, const float *acc, const float *const *bg, int count, int64_t y,
                          ub_image *out) {
    const int64_t w = L->w;
    for (int c = 0; c < L->cc; c++) {
        float *dst = ub_image_plane(out, c) + y * w;
        const float *b = bg[c] + y * w, *fa = acc, *fc = acc + (c + 1) * w;
        for (int64_t x = 0; x < w; x++) dst[x] = fc[x] / (float)count + (1.0f - fa[x] / (float)count) * b[x];
    }
}

static ub_status motion_blur(ub_ctx *ctx, const ub_image *sharp, const ub_image *mask, const ub_image *background,
                             const ub_object_motion *m, int use_boxes, ub_image **out) {
    if (!out) return ub__fail(ctx, UB_ERR_INVALID, "object motion: NULL output");
    *out = NULL;
    ub_status st = check_motion(ctx, sharp, mask, background, m);
    if (st) return st;
    layer L;
    if ((st = make_layer(ctx, sharp, mask, &L))) return st;
    const int cc = L.cc, count = m->samples ? m->samples : DEFAULT_SAMPLES;
    const int64_t w = L.w, h = L.h;
    float *filled = NULL;
    subframe *frames = NULL;
    const float *bg[3];
    if (!background && (st = inpaint_background(ctx, sharp, mask, cc, &filled))) goto done;
    for (int c = 0; c < cc; c++) bg[c] = background ? ub_image_plane(background, c) : filled + (size_t)c * w * h;
    if (!(frames = ub__calloc((size_t)count, sizeof *frames))) {
        st = ub__fail(ctx, UB_ERR_NOMEM, "object motion: out of memory");
        goto done;
    }
    for (int s = 0; s < count; s++) make_subframe(&L, m, s, count, use_boxes, &frames[s]);
    if ((st = ub__image_alloc(ctx, "object motion", w, h, sharp->channels, out))) goto done;
    (*out)->bit_depth = sharp->bit_depth;
    if (ub_image_has_alpha(sharp))
        memcpy(ub_image_plane(*out, sharp->channels - 1), ub_image_plane(sharp, sharp->channels - 1),
               (size_t)w * (size_t)h * sizeof(float));
    const int64_t strips = (h + STRIP - 1) / STRIP;
    int failed = 0;
#pragma omp parallel num_threads(ub_ctx_threads(ctx)) reduction(| : failed)
    {
        float *acc = ub__alloc((size_t)(cc + 1) * (size_t)w * sizeof(float));
        if (!acc) failed = 1;
#pragma omp for schedule(dynamic, 1)
        for (int64_t s = 0; s < strips; s++) {
            if (!acc) continue;
            for (int64_t y = s * STRIP; y < h && y < (s + 1) * STRIP; y++) {
                memset(acc, 0, (size_t)(cc + 1) * (size_t)w * sizeof(float));
                for (int i = 0; i < count; i++)
                    if (y >= frames[i].y0 && y < frames[i].y1) add_subframe_row(&L, &frames[i], y, acc);
                composite_row(&L, acc, bg, count, y, *out);
            }
        }
        ub__free(acc);
    }
    if (failed) {
        ub_image_destroy(out);
        st = ub__fail(ctx, UB_ERR_NOMEM, "object motion: out of memory");
    }
done:
    ub__free(frames);
    ub__free(filled);
    ub__free(L.planes);
    return st;
}

ub_status ub_object_motion_blur(ub_ctx *ctx, const ub_image *sharp, const ub_image *mask, const ub_image *background,
                                const ub_object_motion *m, ub_image **out) {
    return motion_blur(ctx, sharp, mask, background, m, 1, out);
}

ub_status ub__object_motion_blur_ref(ub_ctx *ctx, const ub_image *sharp, const ub_image *mask,
                                     const ub_image *background, const ub_object_motion *m, ub_image **out) {
    return motion_blur(ctx, sharp, mask, background, m, 0, out);
}

/* ======================================================================
   Procedural masks
   ====================================================================== */

/* An ellipse of a blob, in units of the blob's scale, relative to its centre. */
typedef struct ellipse {
    double ox, oy, a, b, co, si;
} ellipse;

typedef struct blob {
    double cx, cy;
    int count;
    ellipse e[3];
} blob;

/* Coverage of pixel (px, py) (relative to the blob centre) by ellipse e at scale s:
   the implicit function over its gradient is the signed distance to first order,
   and a 1-pixel linear ramp around the edge anti-aliases it. */
static float ellipse_coverage(const ellipse *e, double s, double px, double py) {
    const double dx = px - s * e->ox, dy = py - s * e->oy, A = s * e->a, B = s * e->b;
    const double u = e->co * dx + e->si * dy, v = -e->si * dx + e->co * dy;
    const double F = (u * u) / (A * A) + (v * v) / (B * B) - 1;
    const double g = 2 * sqrt((u * u) / (A * A * A * A) + (v * v) / (B * B * B * B));
    if (F <= -0.5 * g) return 1.0f; /* half a pixel inside, or the centre (g = 0) */
    const double cov = 0.5 - F / g;
    return (float)(cov < 0 ? 0 : cov > 1 ? 1 : cov);
}

/* Coverage of pixel (x, y) by the blob at scale s: the union of its ellipses. */
static float blob_coverage(const blob *bl, double s, int64_t x, int64_t y) {
    float cov = 0;
    for (int i = 0; i < bl->count; i++) {
        const float ci = ellipse_coverage(&bl->e[i], s, (double)x - bl->cx, (double)y - bl->cy);
        cov = ci > cov ? ci : cov;
    }
    return cov;
}

/* The pixels [x0, x1) x [y0, y1) outside which the blob at scale s has no coverage. */
static void blob_box(const blob *bl, double s, int64_t w, int64_t h, int64_t box[4]) {
    double lox = INFINITY, hix = -INFINITY, loy = INFINITY, hiy = -INFINITY;
    for (int i = 0; i < bl->count; i++) {
        const ellipse *e = &bl->e[i];
        const double r = s * fmax(e->a, e->b) + 1, ex = bl->cx + s * e->ox, ey = bl->cy + s * e->oy;
        lox = fmin(lox, ex - r), hix = fmax(hix, ex + r), loy = fmin(loy, ey - r), hiy = fmax(hiy, ey + r);
    }
    box[0] = clamp_i64(floor(lox), 0, w), box[1] = clamp_i64(ceil(hix) + 1, 0, w);
    box[2] = clamp_i64(floor(loy), 0, h), box[3] = clamp_i64(ceil(hiy) + 1, 0, h);
}

/* The blob's area at scale s in pixels, estimated on a grid of one pixel in
   step x step (each sample stands for its cell, clipped to the image). */
static double blob_area(const blob *bl, double s, int64_t w, int64_t h, int64_t step) {
    int64_t box[4];
    blob_box(bl, s, w, h, box);
    double area = 0;
    for (int64_t y = box[2] - box[2] % step; y < box[3]; y += step)
        for (int64_t x = box[0] - box[0] % step; x < box[1]; x += step) {
            const int64_t cw = x + step < w ? step : w - x, ch = y + step < h ? step : h - y;
            area += (double)blob_coverage(bl, s, x, y) * (double)(cw * ch);
        }
    return area;
}

/* Renders the blob at scale s into `out` (w x h). */
static void render_blob(const blob *bl, double s, int64_t w, int64_t h, float *out, int threads) {
    int64_t box[4];
    blob_box(bl, s, w, h, box);
    memset(out, 0, (size_t)w * (size_t)h * sizeof(float));
#pragma omp parallel for num_threads(threads) schedule(static) if ((box[1] - box[0]) * (box[3] - box[2]) > 65536)
    for (int64_t y = box[2]; y < box[3]; y++)
        for (int64_t x = box[0]; x < box[1]; x++) out[y * w + x] = blob_coverage(bl, s, x, y);
}

/* The blob's shape in unit scale: a main ellipse of semi-axes 1 x q, and up to two
   smaller ones centred inside it, near its rim, so the union stays one blob. */
static void draw_blob(ub_rng *rng, int64_t w, int64_t h, blob *bl) {
    bl->count = 1 + (int)ub_rng_below(rng, 3);
    bl->cx = (double)w * ub_rng_range(rng, 0.3, 0.7);
    bl->cy = (double)h * ub_rng_range(rng, 0.3, 0.7);
    const double angle = ub_rng_range(rng, 0, PI), q = ub_rng_range(rng, 0.45, 1.0);
    bl->e[0] = (ellipse){0, 0, 1, q, cos(angle), sin(angle)};
    for (int i = 1; i < bl->count; i++) {
        const double phi = ub_rng_range(rng, 0, 2 * PI), r = ub_rng_range(rng, 0.4, 0.9);
        const double size = ub_rng_range(rng, 0.4, 0.8), aspect = ub_rng_range(rng, 0.5, 1.0);
        const double turn = ub_rng_range(rng, 0, PI);
        const double u = r * cos(phi), v = r * q * sin(phi); /* a point inside the main ellipse */
        bl->e[i] = (ellipse){bl->e[0].co * u - bl->e[0].si * v, bl->e[0].si * u + bl->e[0].co * v, size,
                             size * aspect, cos(turn), sin(turn)};
    }
}

ub_status ub_mask_procedural(ub_ctx *ctx, ub_rng *rng, int64_t width, int64_t height, ub_image **out) {
    if (!rng || !out) return ub__fail(ctx, UB_ERR_INVALID, "procedural mask: NULL argument");
    *out = NULL;
    ub_status st = ub__image_alloc(ctx, "procedural mask", width, height, 1, out);
    if (st) return st;
    blob bl;
    draw_blob(rng, width, height, &bl);
    const double target = ub_rng_range(rng, 0.07, 0.2) * (double)width * (double)height;
    /* The area grows as the square of the scale until the image edge clips it: a few
       corrections from the main ellipse's own area converge on the target. The area
       is measured on a grid of at most ~128 x 128 samples (within 1-2%: the range
       drawn keeps the result well inside 5-25%). */
    const int64_t side = width > height ? width : height, step = side > 128 ? (side + 127) / 128 : 1;
    double s = sqrt(target / (PI * bl.e[0].a * bl.e[0].b));
    for (int i = 0; i < 4; i++) {
        const double area = blob_area(&bl, s, width, height, step);
        const double f = area > 0 ? sqrt(target / area) : 2.0;
        s *= f < 0.5 ? 0.5 : f > 2.0 ? 2.0 : f;
    }
    render_blob(&bl, s, width, height, (*out)->data, ub_ctx_threads(ctx));
    return UB_OK;
}
