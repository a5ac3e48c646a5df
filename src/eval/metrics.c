/* eval/metrics.c — PSNR and SSIM, scikit-image compatible (see unblur/metrics.h).

   Fast SSIM. scikit-image filters five maps (x, y, x^2, y^2, xy) with an
   11-tap Gaussian over the whole image, then averages the SSIM map over the
   image minus a 5-pixel border. Every pixel of that inner region has its whole
   11x11 window inside the image, so the reflected borders never reach the
   mean: the fast path filters only the inner region, row by row — a vertical
   pass over 11 input rows into five row buffers, then a horizontal pass —
   with double-precision accumulation, in fixed strips of rows whose partial
   sums are added in order, so the result is the same for any thread count.
   ub_ssim_plane_ref() is the plain twin: whole maps, reflect borders, two
   separable passes exactly as scipy.ndimage does them. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/internal.h"
#include "unblur/metrics.h"

enum { RADIUS = 5, TAPS = 2 * RADIUS + 1, STRIP = 16 };
static const double C1 = 0.01 * 0.01, C2 = 0.03 * 0.03;

/* scipy.ndimage's Gaussian: sigma 1.5 truncated at 3.5 sigma -> radius int(5.25 + 0.5) = 5. */
static void gaussian_taps(double w[TAPS]) {
    double sum = 0;
    for (int i = 0; i < TAPS; i++) {
        double x = i - RADIUS;
        w[i] = exp(-0.5 * x * x / (1.5 * 1.5));
        sum += w[i];
    }
    for (int i = 0; i < TAPS; i++) w[i] /= sum;
}

static inline double ssim_of(double ux, double uy, double uxx, double uyy, double uxy) {
    double vx = uxx - ux * ux, vy = uyy - uy * uy, vxy = uxy - ux * uy;
    return ((2 * ux * uy + C1) * (2 * vxy + C2)) / ((ux * ux + uy * uy + C1) * (vx + vy + C2));
}

/* ---- reference twin ---- */

static int64_t reflect(int64_t i, int64_t n) { /* scipy "reflect": d c b a | a b c d */
    while (i < 0 || i >= n) i = i < 0 ? -i - 1 : 2 * n - i - 1;
    return i;
}

double ub_ssim_plane_ref(ub_plane a, ub_plane b) {
    const int64_t w = a.width, h = a.height, n = w * h;
    double taps[TAPS];
    gaussian_taps(taps);
    double *maps = calloc((size_t)n * 10, sizeof(double)); /* 5 inputs, 5 filtered */
    if (!maps) return NAN;
    double *in[5], *out[5];
    for (int m = 0; m < 5; m++) in[m] = maps + m * n, out[m] = maps + (5 + m) * n;
    for (int64_t y = 0; y < h; y++)
        for (int64_t x = 0; x < w; x++) {
            double p = a.data[y * a.stride + x], q = b.data[y * b.stride + x];
            int64_t i = y * w + x;
            in[0][i] = p, in[1][i] = q, in[2][i] = p * p, in[3][i] = q * q, in[4][i] = p * q;
        }
    for (int m = 0; m < 5; m++) {
        /* axis 0 (rows) into out, then axis 1 (columns) back into in */
        for (int64_t y = 0; y < h; y++)
            for (int64_t x = 0; x < w; x++) {
                double s = 0;
                for (int k = 0; k < TAPS; k++) s += taps[k] * in[m][reflect(y + k - RADIUS, h) * w + x];
                out[m][y * w + x] = s;
            }
        for (int64_t y = 0; y < h; y++)
            for (int64_t x = 0; x < w; x++) {
                double s = 0;
                for (int k = 0; k < TAPS; k++) s += taps[k] * out[m][y * w + reflect(x + k - RADIUS, w)];
                in[m][y * w + x] = s;
            }
    }
    double sum = 0;
    for (int64_t y = RADIUS; y < h - RADIUS; y++)
        for (int64_t x = RADIUS; x < w - RADIUS; x++) {
            int64_t i = y * w + x;
            sum += ssim_of(in[0][i], in[1][i], in[2][i], in[3][i], in[4][i]);
        }
    free(maps);
    return sum / (double)((h - 2 * RADIUS) * (w - 2 * RADIUS));
}

/* ---- fast path ---- */

/* Sum of the SSIM map over output rows [y0, y1) of the inner region. `buf` holds 5 rows of w doubles.
   Compiled twice and chosen at run time (an ifunc): AVX-512 (x86-64-v4) where the CPU has it —
   8 doubles a vector, measured 1.45x faster on a Zen 5 — and the AVX2 baseline elsewhere. */
__attribute__((target_clones("arch=x86-64-v4", "default"))) static double ssim_strip(ub_plane a, ub_plane b, const double taps[TAPS], int64_t y0, int64_t y1, double *buf) {
    const int64_t w = a.width;
    double *restrict mx = buf, *restrict my = buf + w, *restrict mxx = buf + 2 * w, *restrict myy = buf + 3 * w,
                     *restrict mxy = buf + 4 * w;
    double sum = 0;
    for (int64_t y = y0; y < y1; y++) {
        const float *ra[TAPS], *rb[TAPS];
        for (int k = 0; k < TAPS; k++) {
            ra[k] = a.data + (y + k - RADIUS) * a.stride;
            rb[k] = b.data + (y + k - RADIUS) * b.stride;
        }
        /* vertical pass: for each column, the 11 taps accumulate in registers */
#pragma omp simd
        for (int64_t x = 0; x < w; x++) {
            double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
            for (int k = 0; k < TAPS; k++) {
                const double p = ra[k][x], q = rb[k][x], tp = taps[k] * p, tq = taps[k] * q;
                sx += tp;
                sy += tq;
                sxx += tp * p;
                syy += tq * q;
                sxy += tp * q;
            }
            mx[x] = sx, my[x] = sy, mxx[x] = sxx, myy[x] = syy, mxy[x] = sxy;
        }
        double row = 0;
#pragma omp simd reduction(+ : row)
        for (int64_t x = RADIUS; x < w - RADIUS; x++) {
            double ux = 0, uy = 0, uxx = 0, uyy = 0, uxy = 0;
            for (int k = 0; k < TAPS; k++) {
                const int64_t i = x + k - RADIUS;
                const double t = taps[k];
                ux += t * mx[i];
                uy += t * my[i];
                uxx += t * mxx[i];
                uyy += t * myy[i];
                uxy += t * mxy[i];
            }
            row += ssim_of(ux, uy, uxx, uyy, uxy);
        }
        sum += row;
    }
    return sum;
}

double ub_ssim_plane(ub_ctx *ctx, ub_plane a, ub_plane b) {
    const int64_t w = a.width, h = a.height;
    if (w < TAPS || h < TAPS || b.width != w || b.height != h) return NAN;
    double taps[TAPS];
    gaussian_taps(taps);
    const int64_t rows = h - 2 * RADIUS, strips = (rows + STRIP - 1) / STRIP;
    double *partial = calloc((size_t)strips, sizeof(double));
    if (!partial) return NAN;
    int failed = 0;
#pragma omp parallel num_threads(ub_ctx_threads(ctx)) reduction(| : failed)
    {
        double *buf = malloc(sizeof(double) * 5 * (size_t)w);
        if (!buf) failed = 1;
#pragma omp for schedule(dynamic, 1)
        for (int64_t s = 0; s < strips; s++) {
            if (!buf) continue;
            int64_t y0 = RADIUS + s * STRIP, y1 = y0 + STRIP < h - RADIUS ? y0 + STRIP : h - RADIUS;
            partial[s] = ssim_strip(a, b, taps, y0, y1, buf);
        }
        free(buf);
    }
    double sum = 0;
    for (int64_t s = 0; s < strips; s++) sum += partial[s];
    free(partial);
    return failed ? NAN : sum / (double)(rows * (w - 2 * RADIUS));
}

double ub_sse_plane(ub_ctx *ctx, ub_plane a, ub_plane b) {
    const int64_t w = a.width, h = a.height, strips = (h + STRIP - 1) / STRIP;
    double *partial = calloc((size_t)strips, sizeof(double));
    if (!partial) return NAN;
#pragma omp parallel for num_threads(ub_ctx_threads(ctx)) schedule(static)
    for (int64_t s = 0; s < strips; s++) {
        double sum = 0;
        for (int64_t y = s * STRIP; y < h && y < (s + 1) * STRIP; y++) {
            const float *pa = a.data + y * a.stride, *pb = b.data + y * b.stride;
            double row = 0;
#pragma omp simd reduction(+ : row)
            for (int64_t x = 0; x < w; x++) {
                double d = (double)pa[x] - (double)pb[x];
                row += d * d;
            }
            sum += row;
        }
        partial[s] = sum;
    }
    double sum = 0;
    for (int64_t s = 0; s < strips; s++) sum += partial[s];
    free(partial);
    return sum;
}

/* ---- whole images, crops and offsets ---- */

static ub_plane view(const ub_image *img, int c, int64_t x0, int64_t y0, int64_t w, int64_t h) {
    ub_plane p = {ub_image_plane(img, c) + y0 * img->width + x0, w, h, img->width};
    return p;
}

static ub_status check_pair(ub_ctx *ctx, const ub_image *ref, const ub_image *img, const ub_metrics_options *o) {
    if (!ref || !img) return ub__fail(ctx, UB_ERR_INVALID, "metrics: NULL image");
    if (ref->width != img->width || ref->height != img->height)
        return ub__fail(ctx, UB_ERR_MISMATCH, "images differ in size: %lldx%lld and %lldx%lld",
                        (long long)ref->width, (long long)ref->height, (long long)img->width,
                        (long long)img->height);
    if (ub_image_colour_channels(ref) != ub_image_colour_channels(img))
        return ub__fail(ctx, UB_ERR_MISMATCH, "images differ in colour: %s and %s",
                        ub_image_colour_channels(ref) == 1 ? "grey" : "RGB",
                        ub_image_colour_channels(img) == 1 ? "grey" : "RGB");
    if (o->subpixel && o->shift == 0)
        return ub__fail(ctx, UB_ERR_INVALID, "metrics: sub-pixel refinement needs a shift > 0");
    if (o->shift < 0 || o->crop < 0)
        return ub__fail(ctx, UB_ERR_INVALID, "metrics: shift and crop must be >= 0");
    if (o->crop < o->shift)
        return ub__fail(ctx, UB_ERR_INVALID, "metrics: crop (%d) must be at least the shift (%d)", o->crop,
                        o->shift);
    int64_t w = ref->width - 2 * (int64_t)o->crop, h = ref->height - 2 * (int64_t)o->crop;
    if (w < TAPS || h < TAPS)
        return ub__fail(ctx, UB_ERR_INVALID, "images of %lldx%lld are too small for SSIM after a crop of %d "
                        "(at least %dx%d must remain)", (long long)ref->width, (long long)ref->height, o->crop,
                        TAPS, TAPS);
    return UB_OK;
}

/* ---- sub-pixel refinement (Levin et al.'s comp_upto_shift) ---- */

static inline int64_t clamp_index(int64_t i, int64_t n) { return i < 0 ? 0 : i >= n ? n - 1 : i; }

/* The SSE of ref's cropped region against img resampled bilinearly at (x + sx, y + sy), coordinates
   clamped to the image. Fixed strips of rows summed in order: the same value on any thread count. */
static double sse_bilinear(ub_ctx *ctx, const ub_image *ref, const ub_image *img, int crop, double sx, double sy) {
    const int64_t W = img->width, H = img->height, w = W - 2 * (int64_t)crop, h = H - 2 * (int64_t)crop;
    const int64_t strips = (h + STRIP - 1) / STRIP, ox = (int64_t)floor(sx), oy = (int64_t)floor(sy);
    const double fx = sx - (double)ox, fy = sy - (double)oy;
    const int channels = ub_image_colour_channels(ref);
    double *partial = calloc((size_t)strips, sizeof(double));
    if (!partial) return NAN;
#pragma omp parallel for num_threads(ub_ctx_threads(ctx)) schedule(static)
    for (int64_t s = 0; s < strips; s++) {
        double sum = 0;
        for (int c = 0; c < channels; c++) {
            const float *pr = ub_image_plane(ref, c), *pi = ub_image_plane(img, c);
            for (int64_t y = s * STRIP; y < h && y < (s + 1) * STRIP; y++) {
                const int64_t Y = crop + y + oy;
                const float *r0 = pi + clamp_index(Y, H) * W, *r1 = pi + clamp_index(Y + 1, H) * W;
                const float *want = pr + (crop + y) * W + crop;
                for (int64_t x = 0; x < w; x++) {
                    const int64_t X0 = clamp_index(crop + x + ox, W), X1 = clamp_index(crop + x + ox + 1, W);
                    double top = (1 - fx) * r0[X0] + fx * r0[X1], bottom = (1 - fx) * r1[X0] + fx * r1[X1];
                    double d = (1 - fy) * top + fy * bottom - (double)want[x];
                    sum += d * d;
                }
            }
        }
        partial[s] = sum;
    }
    double sum = 0;
    for (int64_t s = 0; s < strips; s++) sum += partial[s];
    free(partial);
    return sum;
}

ub_status ub__metrics_subpixel(ub_ctx *ctx, const ub_image *ref, const ub_image *img, const ub_metrics_options *o,
                               ub_metrics *m) {
    m->psnr_sx = m->psnr_dx, m->psnr_sy = m->psnr_dy;
    if (!o->subpixel || o->shift == 0) return UB_OK;
    const int crop = o->crop;
    const double samples = (double)(ref->width - 2 * (int64_t)crop) * (double)(ref->height - 2 * (int64_t)crop) *
                           ub_image_colour_channels(ref);
    for (int j = -3; j <= 3; j++)
        for (int i = -3; i <= 3; i++) {
            if (i == 0 && j == 0) continue; /* the integer offset: m->psnr already */
            double sx = m->psnr_dx + 0.25 * i, sy = m->psnr_dy + 0.25 * j;
            double sse = sse_bilinear(ctx, ref, img, crop, sx, sy);
            if (sse != sse) return ub__fail(ctx, UB_ERR_NOMEM, "metrics: out of memory");
            double mse = sse / samples, psnr = mse > 0 ? 10.0 * log10(1.0 / mse) : INFINITY;
            if (psnr > m->psnr) m->psnr = psnr, m->mse = mse, m->psnr_sx = sx, m->psnr_sy = sy;
        }
    return UB_OK;
}

/* Prefer the better value; on a tie, the smaller offset. */
static int better(double v, int dx, int dy, double best, int bdx, int bdy) {
    if (v != v) return 0;
    if (best != best || v > best) return 1;
    return v == best && abs(dx) + abs(dy) < abs(bdx) + abs(bdy);
}

ub_status ub_metrics_compute(ub_ctx *ctx, const ub_image *ref, const ub_image *img, const ub_metrics_options *opts,
                             ub_metrics *out) {
    ub_metrics_options o = {0, 0, 0};
    if (opts) o = *opts;
    ub_status st = check_pair(ctx, ref, img, &o);
    if (st) return st;
    const int k = o.shift, channels = ub_image_colour_channels(ref);
    const int64_t w = ref->width - 2 * (int64_t)o.crop, h = ref->height - 2 * (int64_t)o.crop;
    const double samples = (double)w * (double)h * channels;
    ub_metrics m = {.psnr = NAN, .ssim = NAN};
    const int offsets = (2 * k + 1) * (2 * k + 1);
    int done = 0;
    for (int dy = -k; dy <= k; dy++)
        for (int dx = -k; dx <= k; dx++) {
            double sse = 0, ssim = 0;
            for (int c = 0; c < channels; c++) {
                ub_plane pr = view(ref, c, o.crop, o.crop, w, h);
                ub_plane pi = view(img, c, o.crop + dx, o.crop + dy, w, h);
                sse += ub_sse_plane(ctx, pr, pi);
                ssim += ub_ssim_plane(ctx, pr, pi);
            }
            if (sse != sse || ssim != ssim) return ub__fail(ctx, UB_ERR_NOMEM, "metrics: out of memory");
            double mse = sse / samples;
            double psnr = mse > 0 ? 10.0 * log10(1.0 / mse) : INFINITY;
            ssim /= channels;
            if (better(psnr, dx, dy, m.psnr, m.psnr_dx, m.psnr_dy))
                m.psnr = psnr, m.mse = mse, m.psnr_dx = dx, m.psnr_dy = dy;
            if (better(ssim, dx, dy, m.ssim, m.ssim_dx, m.ssim_dy)) m.ssim = ssim, m.ssim_dx = dx, m.ssim_dy = dy;
            if (k > 0 && (st = ub__progress(ctx, (double)++done / offsets, "metrics"))) return st;
        }
    if ((st = ub__metrics_subpixel(ctx, ref, img, &o, &m))) return st;
    *out = m;
    return UB_OK;
}
