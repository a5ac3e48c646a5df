/* nn/loss.c — the training losses of nn/loss.h, float and double twins.

   The frequency loss's gradient. Per plane, with e = y - t and the
   unnormalised DFT D_k = sum_x e_x exp(-i theta_kx), theta_kx = 2 pi (k1 x1 / H
   + k2 x2 / W), the loss sums |Re D_k| + |Im D_k| over the half-spectrum
   K = {0 <= k1 < H, 0 <= k2 <= W/2} only. Since dRe D_k / de_x = cos theta
   and dIm D_k / de_x = -sin theta,
       dL/de_x = Re( sum_{k in K} G_k exp(+i theta_kx) ),  G_k = sign(Re D_k) + i sign(Im D_k)
   — a sum over the half-spectrum, which is not what an inverse real FFT
   computes: c2r sums a Hermitian spectrum over ALL bins. Extend G by 0
   outside K and let H_k = (G_k + conj(G_{-k})) / 2: H is Hermitian, and
   sum_all H_k exp(i theta) = (S + conj S) / 2 = Re S, S the wanted sum. On the
   stored half-spectrum that means:
   - a column 0 < k2 < W/2 (its mirror -k lies outside K): H_k = G_k / 2
     (the bin stands for itself and its conjugate, which c2r adds back);
   - the columns k2 = 0 and, for even W, k2 = W/2 (their mirrors -k =
     (-k1 mod H, k2) lie inside K): H_k = (G_k + conj(G_{-k})) / 2, pairing
     row k1 with row H - k1; a self-conjugate bin (2k = 0 mod (H, W)) keeps
     only Re G_k. Such bins are real by symmetry, so their Im is taken as 0
     in the value too (FFTW may leave a rounding residue there).
   Then one c2r per plane gives dL/de exactly, up to the 1/(2 N C H (W/2+1))
   of the mean. tests/test_loss.c checks it against finite differences of
   the double twin (a naive DFT) and the float version against the twin.

   FFT threading: one plane per task on OpenMP threads, each with its own
   aligned scratch, executing two shared single-threaded plans through
   FFTW's new-array interface (thread-safe); per-plane sums are added in
   plane order. Plans are made and destroyed under ub__fftw_lock (FFTW's
   planner is global and not thread-safe). */
#include "nn/loss.h"

#include <fftw3.h>
#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/ref.h"
#include "core/internal.h"

/* Fixed-chunk summation: the chunk layout depends on the count only, never on the threads. */
enum { SUM_CHUNK_MIN = 4096, SUM_CHUNKS_MAX = 256 };

static size_t chunk_count(size_t count) {
    size_t chunks = (count + SUM_CHUNK_MIN - 1) / SUM_CHUNK_MIN;
    return chunks < 1 ? 1 : chunks > SUM_CHUNKS_MAX ? SUM_CHUNKS_MAX : chunks;
}

static double sign_of(double v) { return (double)((v > 0) - (v < 0)); }

static int threads_of(const ub_ctx *ctx) {
    int threads = ctx ? ub_ctx_threads(ctx) : 1;
    return threads < 1 ? 1 : threads;
}

/* ================================================================ L1 and Charbonnier */

/* The element loss and its derivative: L1 when eps < 0, Charbonnier otherwise. */
static inline double pixel_loss_of(double d, double eps, double *dd) {
    if (eps < 0) {
        *dd = sign_of(d);
        return fabs(d);
    }
    const double r = sqrt(d * d + eps * eps);
    *dd = d / r;
    return r;
}

static double pointwise_loss(const ub_ctx *ctx, size_t count, const float *y, const float *t, double eps,
                             float *grad, double weight) {
    if (count == 0) return 0.0;
    const size_t chunks = chunk_count(count), len = (count + chunks - 1) / chunks;
    const double gscale = weight / (double)count;
    double partial[SUM_CHUNKS_MAX];
#pragma omp parallel for num_threads(threads_of(ctx)) schedule(static)
    for (size_t k = 0; k < chunks; k++) {
        const size_t begin = k * len, end = begin + len < count ? begin + len : count;
        double sum = 0.0, dd;
        for (size_t i = begin; i < end; i++) {
            sum += pixel_loss_of((double)y[i] - (double)t[i], eps, &dd);
            if (grad) grad[i] += (float)(gscale * dd);
        }
        partial[k] = sum;
    }
    double sum = 0.0;
    for (size_t k = 0; k < chunks; k++) sum += partial[k];
    return sum / (double)count;
}

double ub__l1_loss(const ub_ctx *ctx, size_t count, const float *y, const float *t, float *grad, double weight) {
    return pointwise_loss(ctx, count, y, t, -1.0, grad, weight);
}

double ub__charbonnier_loss(const ub_ctx *ctx, size_t count, const float *y, const float *t, double eps, float *grad,
                            double weight) {
    return pointwise_loss(ctx, count, y, t, fabs(eps), grad, weight);
}

static double pointwise_loss_ref(size_t count, const double *y, const double *t, double eps, double *grad,
                                 double weight) {
    if (count == 0) return 0.0;
    double sum = 0.0, dd;
    for (size_t i = 0; i < count; i++) {
        sum += pixel_loss_of(y[i] - t[i], eps, &dd);
        if (grad) grad[i] += weight * dd / (double)count;
    }
    return sum / (double)count;
}

double ub__l1_loss_ref(size_t count, const double *y, const double *t, double *grad, double weight) {
    return pointwise_loss_ref(count, y, t, -1.0, grad, weight);
}

double ub__charbonnier_loss_ref(size_t count, const double *y, const double *t, double eps, double *grad,
                                double weight) {
    return pointwise_loss_ref(count, y, t, fabs(eps), grad, weight);
}

/* ================================================================ frequency loss */

static ub_status check_shape(ub_ctx *ctx, const char *what, int n, int c, int h, int w, size_t *count) {
    if (n < 1 || c < 1 || h < 1 || w < 1)
        return ub__fail(ctx, UB_ERR_INVALID, "%s: bad tensor shape (%d, %d, %d, %d)", what, n, c, h, w);
    size_t nc, hw;
    if (!ub__mul_size((size_t)n, (size_t)c, &nc) || !ub__mul_size((size_t)h, (size_t)w, &hw) ||
        !ub__mul_size(nc, hw, count) || *count > SIZE_MAX / (2 * sizeof(double)))
        return ub__fail(ctx, UB_ERR_LIMIT, "%s: tensor (%d, %d, %d, %d) too large", what, n, c, h, w);
    return UB_OK;
}

/* The transform's rounding error for a plane of n values with sum e^2 = energy, at precision eps: each bin
   is within about eps log2(n) ||e||_2 of the exact DFT (FFT error analysis; the naive DFT of the twin does
   better at the sizes it runs). Below this level a component's sign is noise — a constant image's non-DC
   bins come out as +-1e-7 in float — so it counts as 0 (the subgradient at 0, as for L1). */
static double rounding_level(double eps, size_t n, double energy) {
    return 32.0 * eps * (1.0 + log2((double)n)) * sqrt(energy);
}

static double sign_above(double v, double zero) { return fabs(v) <= zero ? 0.0 : sign_of(v); }

/* A bin (k1, k2) equal to its own conjugate: its DFT value is real. */
static int self_conjugate(int k1, int k2, int h, int w) { return (2 * k1) % h == 0 && (2 * k2) % w == 0; }

/* G -> H of the top comment, in place on one plane's half-spectrum (h x cw complex, re/im pairs). */
static void hermitian_gradient_spectrum(float *sp, int h, int w) {
    const int cw = w / 2 + 1;
    for (int k2 = 0; k2 < cw; k2++) {
        if ((2 * k2) % w != 0) { /* its conjugate lies outside the stored half */
            for (int k1 = 0; k1 < h; k1++) {
                float *bin = sp + 2 * ((size_t)k1 * cw + k2);
                bin[0] *= 0.5f, bin[1] *= 0.5f;
            }
            continue;
        }
        for (int k1 = 0; k1 <= h / 2; k1++) { /* pair row k1 with its mirror row */
            const int m = (h - k1) % h;
            float *a = sp + 2 * ((size_t)k1 * cw + k2), *b = sp + 2 * ((size_t)m * cw + k2);
            const float re = 0.5f * (a[0] + b[0]), im = 0.5f * (a[1] - b[1]);
            a[0] = re, a[1] = im, b[0] = re, b[1] = -im; /* when m == k1, im = 0 */
        }
    }
}

typedef struct freq_job {
    int h, w, cw;
    size_t plane, bins;        /* h*w reals, h*cw complex bins per plane */
    size_t real_stride, cplx_stride; /* per-thread scratch, in floats, multiples of 16 (64 bytes) */
    fftwf_plan fwd, inv;
    const float *y, *t;
    float *grad;
    double gscale;            /* weight / (2 * planes * bins) */
    float *real_scratch, *cplx_scratch;
    double *plane_sum;
} freq_job;

static void freq_plane(const freq_job *j, size_t p, float *re, float *sp) {
    const float *yp = j->y + p * j->plane, *tp = j->t + p * j->plane;
    double energy = 0.0;
    for (size_t i = 0; i < j->plane; i++) {
        re[i] = yp[i] - tp[i];
        energy += (double)re[i] * re[i];
    }
    fftwf_execute_dft_r2c(j->fwd, re, (fftwf_complex *)sp);
    const double zero = rounding_level(FLT_EPSILON, j->plane, energy);
    double sum = 0.0;
    for (int k1 = 0; k1 < j->h; k1++)
        for (int k2 = 0; k2 < j->cw; k2++) {
            float *bin = sp + 2 * ((size_t)k1 * j->cw + k2);
            if (self_conjugate(k1, k2, j->h, j->w)) bin[1] = 0.0f;
            sum += fabs((double)bin[0]) + fabs((double)bin[1]);
            bin[0] = (float)sign_above(bin[0], zero), bin[1] = (float)sign_above(bin[1], zero);
        }
    j->plane_sum[p] = sum;
    if (!j->grad) return;
    hermitian_gradient_spectrum(sp, j->h, j->w);
    fftwf_execute_dft_c2r(j->inv, (fftwf_complex *)sp, re);
    float *gp = j->grad + p * j->plane;
    for (size_t i = 0; i < j->plane; i++) gp[i] += (float)(j->gscale * (double)re[i]);
}

static int freq_plans_make(freq_job *j) {
    ub__fftw_lock();
    const int planner_threads = fftwf_planner_nthreads(); /* our plans are single-threaded (see conv_fft.c) */
    if (planner_threads != 1) fftwf_plan_with_nthreads(1);
    j->fwd = fftwf_plan_dft_r2c_2d(j->h, j->w, j->real_scratch, (fftwf_complex *)j->cplx_scratch, FFTW_ESTIMATE);
    j->inv = fftwf_plan_dft_c2r_2d(j->h, j->w, (fftwf_complex *)j->cplx_scratch, j->real_scratch, FFTW_ESTIMATE);
    if (planner_threads != 1) fftwf_plan_with_nthreads(planner_threads);
    ub__fftw_unlock();
    return j->fwd && j->inv;
}

static void freq_plans_destroy(freq_job *j) {
    ub__fftw_lock();
    if (j->fwd) fftwf_destroy_plan(j->fwd);
    if (j->inv) fftwf_destroy_plan(j->inv);
    ub__fftw_unlock();
}

static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

ub_status ub__frequency_loss(ub_ctx *ctx, int n, int c, int h, int w, const float *y, const float *t, float *grad,
                             double weight, double *loss) {
    size_t count;
    ub_status st = check_shape(ctx, "frequency loss", n, c, h, w, &count);
    if (st) return st;
    const size_t planes = (size_t)n * (size_t)c;
    int threads = threads_of(ctx);
    if ((size_t)threads > planes) threads = (int)planes;
    freq_job j = {.h = h, .w = w, .cw = w / 2 + 1, .y = y, .t = t, .grad = grad};
    j.plane = (size_t)h * (size_t)w;
    j.bins = (size_t)h * (size_t)j.cw;
    j.real_stride = round16(j.plane);
    j.cplx_stride = round16(2 * j.bins);
    j.gscale = weight / (2.0 * (double)planes * (double)j.bins);
    j.real_scratch = ub__calloc((size_t)threads, j.real_stride * sizeof(float));
    j.cplx_scratch = ub__calloc((size_t)threads, j.cplx_stride * sizeof(float));
    j.plane_sum = ub__calloc(planes, sizeof(double));
    if (!j.real_scratch || !j.cplx_scratch || !j.plane_sum) {
        st = ub__fail(ctx, UB_ERR_NOMEM, "frequency loss: out of memory");
    } else if (!freq_plans_make(&j)) {
        st = ub__fail(ctx, UB_ERR_NOMEM, "frequency loss: FFTW could not plan a %dx%d transform", h, w);
    } else {
#pragma omp parallel num_threads(threads)
        {
            const size_t me = (size_t)omp_get_thread_num();
            float *re = j.real_scratch + me * j.real_stride, *sp = j.cplx_scratch + me * j.cplx_stride;
#pragma omp for schedule(static)
            for (size_t p = 0; p < planes; p++) freq_plane(&j, p, re, sp);
        }
        double sum = 0.0;
        for (size_t p = 0; p < planes; p++) sum += j.plane_sum[p];
        *loss = sum / (2.0 * (double)planes * (double)j.bins);
    }
    freq_plans_destroy(&j);
    ub__free(j.real_scratch);
    ub__free(j.cplx_scratch);
    ub__free(j.plane_sum);
    return st;
}

/* The twin: the DFT as its definition, angles from exact integer residues (k x mod H) into tables. */
ub_status ub__frequency_loss_ref(ub_ctx *ctx, int n, int c, int h, int w, const double *y, const double *t,
                                 double *grad, double weight, double *loss) {
    size_t count;
    ub_status st = check_shape(ctx, "frequency loss", n, c, h, w, &count);
    if (st) return st;
    const int cw = w / 2 + 1;
    const size_t planes = (size_t)n * (size_t)c, plane = (size_t)h * (size_t)w;
    double *tab = ub__calloc(2 * ((size_t)h + (size_t)w) + plane, sizeof(double));
    if (!tab) return ub__fail(ctx, UB_ERR_NOMEM, "frequency loss: out of memory");
    double *cos_h = tab, *sin_h = cos_h + h, *cos_w = sin_h + h, *sin_w = cos_w + w, *e = sin_w + w;
    const double two_pi = 6.283185307179586476925286766559;
    for (int i = 0; i < h; i++) cos_h[i] = cos(two_pi * i / h), sin_h[i] = sin(two_pi * i / h);
    for (int i = 0; i < w; i++) cos_w[i] = cos(two_pi * i / w), sin_w[i] = sin(two_pi * i / w);
    const double bins_total = 2.0 * (double)planes * (double)h * (double)cw, gscale = weight / bins_total;
    double sum = 0.0;
    for (size_t p = 0; p < planes; p++) {
        double energy = 0.0;
        for (size_t i = 0; i < plane; i++) {
            e[i] = y[p * plane + i] - t[p * plane + i];
            energy += e[i] * e[i];
        }
        const double zero = rounding_level(DBL_EPSILON, plane, energy);
        for (int k1 = 0; k1 < h; k1++)
            for (int k2 = 0; k2 < cw; k2++) {
                double re = 0.0, im = 0.0; /* D = sum e exp(-i theta) */
                for (int x1 = 0; x1 < h; x1++)
                    for (int x2 = 0; x2 < w; x2++) {
                        const int a = (int)(((long)k1 * x1) % h), b = (int)(((long)k2 * x2) % w);
                        const double ct = cos_h[a] * cos_w[b] - sin_h[a] * sin_w[b];
                        const double sn = sin_h[a] * cos_w[b] + cos_h[a] * sin_w[b];
                        re += e[(size_t)x1 * w + x2] * ct;
                        im -= e[(size_t)x1 * w + x2] * sn;
                    }
                if (self_conjugate(k1, k2, h, w)) im = 0.0;
                sum += fabs(re) + fabs(im);
                if (!grad) continue;
                const double sr = sign_above(re, zero), si = sign_above(im, zero);
                for (int x1 = 0; x1 < h; x1++)
                    for (int x2 = 0; x2 < w; x2++) {
                        const int a = (int)(((long)k1 * x1) % h), b = (int)(((long)k2 * x2) % w);
                        const double ct = cos_h[a] * cos_w[b] - sin_h[a] * sin_w[b];
                        const double sn = sin_h[a] * cos_w[b] + cos_h[a] * sin_w[b];
                        grad[p * plane + (size_t)x1 * w + x2] += gscale * (sr * ct - si * sn);
                    }
            }
    }
    ub__free(tab);
    *loss = sum / bins_total;
    return UB_OK;
}

/* ================================================================ dispatch and multi-scale */

static ub_status check_spec(ub_ctx *ctx, const ub__loss_spec *spec) {
    if (!spec || (int)spec->kind < UB__LOSS_L1 || spec->kind > UB__LOSS_FREQUENCY)
        return ub__fail(ctx, UB_ERR_INVALID, "loss: unknown kind");
    if (spec->kind == UB__LOSS_CHARBONNIER && !(spec->eps > 0 && isfinite(spec->eps)))
        return ub__fail(ctx, UB_ERR_INVALID, "Charbonnier loss: eps %g must be > 0", spec->eps);
    return UB_OK;
}

ub_status ub__pixel_loss(ub_ctx *ctx, const ub__loss_spec *spec, int n, int c, int h, int w, const float *y,
                         const float *t, float *grad, double weight, double *loss) {
    size_t count = 0;
    ub_status st = check_spec(ctx, spec);
    if (!st) st = check_shape(ctx, "loss", n, c, h, w, &count);
    if (st) return st;
    switch (spec->kind) {
    case UB__LOSS_L1: *loss = ub__l1_loss(ctx, count, y, t, grad, weight); return UB_OK;
    case UB__LOSS_CHARBONNIER: *loss = ub__charbonnier_loss(ctx, count, y, t, spec->eps, grad, weight); return UB_OK;
    default: return ub__frequency_loss(ctx, n, c, h, w, y, t, grad, weight, loss);
    }
}

ub_status ub__pixel_loss_ref(ub_ctx *ctx, const ub__loss_spec *spec, int n, int c, int h, int w, const double *y,
                             const double *t, double *grad, double weight, double *loss) {
    size_t count = 0;
    ub_status st = check_spec(ctx, spec);
    if (!st) st = check_shape(ctx, "loss", n, c, h, w, &count);
    if (st) return st;
    switch (spec->kind) {
    case UB__LOSS_L1: *loss = ub__l1_loss_ref(count, y, t, grad, weight); return UB_OK;
    case UB__LOSS_CHARBONNIER: *loss = ub__charbonnier_loss_ref(count, y, t, spec->eps, grad, weight); return UB_OK;
    default: return ub__frequency_loss_ref(ctx, n, c, h, w, y, t, grad, weight, loss);
    }
}

enum { MAX_SCALES = 16 };

static ub_status check_scales(ub_ctx *ctx, int scales, const double *scale_weights, int h, int w) {
    if (scales < 1 || scales > MAX_SCALES)
        return ub__fail(ctx, UB_ERR_INVALID, "multi-scale loss: %d scales (1..%d)", scales, MAX_SCALES);
    if (h >= 1 && w >= 1 && ((h >> (scales - 1)) < 1 || (w >> (scales - 1)) < 1))
        return ub__fail(ctx, UB_ERR_INVALID, "multi-scale loss: %dx%d is too small for %d scales", w, h, scales);
    for (int s = 0; scale_weights && s < scales; s++)
        if (!isfinite(scale_weights[s]))
            return ub__fail(ctx, UB_ERR_INVALID, "multi-scale loss: scale weight %d is not finite", s);
    return UB_OK;
}

/* Level s of the pyramid: (planes, h >> s, w >> s); offsets of each level (s >= 1) in one buffer. */
static size_t pyramid_offsets(size_t planes, int h, int w, int scales, size_t offset[MAX_SCALES]) {
    size_t total = 0;
    for (int s = 1; s < scales; s++) {
        offset[s] = total;
        total += planes * (size_t)(h >> s) * (size_t)(w >> s);
    }
    return total;
}

/* 2x2 averages (floor: an odd last row/column is dropped). */
static void down2_float(float *out, const float *in, size_t planes, int h, int w) {
    const int ho = h / 2, wo = w / 2;
    for (size_t p = 0; p < planes; p++)
        for (int i = 0; i < ho; i++)
            for (int j = 0; j < wo; j++) {
                const float *a = in + (p * h + 2 * (size_t)i) * w + 2 * j, *b = a + w;
                out[(p * ho + i) * wo + j] = (float)(0.25 * ((double)a[0] + a[1] + b[0] + b[1]));
            }
}

static void down2_double(double *out, const double *in, size_t planes, int h, int w) {
    const int ho = h / 2, wo = w / 2;
    for (size_t p = 0; p < planes; p++)
        for (int i = 0; i < ho; i++)
            for (int j = 0; j < wo; j++) {
                const double *a = in + (p * h + 2 * (size_t)i) * w + 2 * j, *b = a + w;
                out[(p * ho + i) * wo + j] = 0.25 * (a[0] + a[1] + b[0] + b[1]);
            }
}

/* The averaging's backward: each of the 4 sources += dout / 4. */
static void up2_add_float(float *din, const float *dout, size_t planes, int h, int w) {
    const int ho = h / 2, wo = w / 2;
    for (size_t p = 0; p < planes; p++)
        for (int i = 0; i < ho; i++)
            for (int j = 0; j < wo; j++) {
                float *a = din + (p * h + 2 * (size_t)i) * w + 2 * j, *b = a + w;
                const float g = 0.25f * dout[(p * ho + i) * wo + j];
                a[0] += g, a[1] += g, b[0] += g, b[1] += g;
            }
}

static void up2_add_double(double *din, const double *dout, size_t planes, int h, int w) {
    const int ho = h / 2, wo = w / 2;
    for (size_t p = 0; p < planes; p++)
        for (int i = 0; i < ho; i++)
            for (int j = 0; j < wo; j++) {
                double *a = din + (p * h + 2 * (size_t)i) * w + 2 * j, *b = a + w;
                const double g = 0.25 * dout[(p * ho + i) * wo + j];
                a[0] += g, a[1] += g, b[0] += g, b[1] += g;
            }
}

ub_status ub__multiscale_loss(ub_ctx *ctx, const ub__loss_spec *spec, int scales, const double *scale_weights, int n,
                              int c, int h, int w, const float *y, const float *t, float *grad, double weight,
                              double *loss) {
    size_t count = 0, offset[MAX_SCALES];
    ub_status st = check_spec(ctx, spec);
    if (!st) st = check_shape(ctx, "multi-scale loss", n, c, h, w, &count);
    if (!st) st = check_scales(ctx, scales, scale_weights, h, w);
    if (st) return st;
    const size_t planes = (size_t)n * (size_t)c, total = pyramid_offsets(planes, h, w, scales, offset);
    float *ys = ub__calloc(3 * total + 1, sizeof(float)); /* y, t and gradient pyramids */
    if (!ys) return ub__fail(ctx, UB_ERR_NOMEM, "multi-scale loss: out of memory");
    float *ts = ys + total, *gs = ts + total;
    double sum = 0.0;
    for (int s = 0; s < scales && !st; s++) {
        const float *ya = s == 0 ? y : ys + offset[s], *ta = s == 0 ? t : ts + offset[s];
        if (s > 0) {
            const float *yb = s == 1 ? y : ys + offset[s - 1], *tb = s == 1 ? t : ts + offset[s - 1];
            down2_float(ys + offset[s], yb, planes, h >> (s - 1), w >> (s - 1));
            down2_float(ts + offset[s], tb, planes, h >> (s - 1), w >> (s - 1));
        }
        const double ws = scale_weights ? scale_weights[s] : 1.0;
        double ls = 0.0;
        float *ga = !grad ? NULL : s == 0 ? grad : gs + offset[s];
        st = ub__pixel_loss(ctx, spec, n, c, h >> s, w >> s, ya, ta, ga, weight * ws, &ls);
        sum += ws * ls;
    }
    for (int s = scales - 1; s >= 1 && grad && !st; s--) /* coarse to fine: each level's gradient holds all above it */
        up2_add_float(s == 1 ? grad : gs + offset[s - 1], gs + offset[s], planes, h >> (s - 1), w >> (s - 1));
    ub__free(ys);
    if (!st) *loss = sum;
    return st;
}

ub_status ub__multiscale_loss_ref(ub_ctx *ctx, const ub__loss_spec *spec, int scales, const double *scale_weights,
                                  int n, int c, int h, int w, const double *y, const double *t, double *grad,
                                  double weight, double *loss) {
    size_t count = 0, offset[MAX_SCALES];
    ub_status st = check_spec(ctx, spec);
    if (!st) st = check_shape(ctx, "multi-scale loss", n, c, h, w, &count);
    if (!st) st = check_scales(ctx, scales, scale_weights, h, w);
    if (st) return st;
    const size_t planes = (size_t)n * (size_t)c, total = pyramid_offsets(planes, h, w, scales, offset);
    double *ys = ub__calloc(3 * total + 1, sizeof(double));
    if (!ys) return ub__fail(ctx, UB_ERR_NOMEM, "multi-scale loss: out of memory");
    double *ts = ys + total, *gs = ts + total;
    double sum = 0.0;
    for (int s = 0; s < scales && !st; s++) {
        const double *ya = s == 0 ? y : ys + offset[s], *ta = s == 0 ? t : ts + offset[s];
        if (s > 0) {
            const double *yb = s == 1 ? y : ys + offset[s - 1], *tb = s == 1 ? t : ts + offset[s - 1];
            down2_double(ys + offset[s], yb, planes, h >> (s - 1), w >> (s - 1));
            down2_double(ts + offset[s], tb, planes, h >> (s - 1), w >> (s - 1));
        }
        const double ws = scale_weights ? scale_weights[s] : 1.0;
        double ls = 0.0;
        double *ga = !grad ? NULL : s == 0 ? grad : gs + offset[s];
        st = ub__pixel_loss_ref(ctx, spec, n, c, h >> s, w >> s, ya, ta, ga, weight * ws, &ls);
        sum += ws * ls;
    }
    for (int s = scales - 1; s >= 1 && grad && !st; s--)
        up2_add_double(s == 1 ? grad : gs + offset[s - 1], gs + offset[s], planes, h >> (s - 1), w >> (s - 1));
    ub__free(ys);
    if (!st) *loss = sum;
    return st;
}

/* ================================================================ max-pool */

/* The window's maximum: the first in row-major order (PyTorch's CPU max-pool keeps the first of ties). */
static size_t window_argmax(const double *in, int W, int i, int j) {
    size_t best = (size_t)(2 * i) * W + 2 * j;
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++) {
            const size_t at = (size_t)(2 * i + a) * W + 2 * j + b;
            if (in[at] > in[best]) best = at;
        }
    return best;
}

void ub__maxpool2_forward_ref(double *out, const double *in, int N, int C, int H, int W) {
    const int Ho = H / 2, Wo = W / 2;
    for (size_t p = 0; p < (size_t)N * C; p++)
        for (int i = 0; i < Ho; i++)
            for (int j = 0; j < Wo; j++)
                out[(p * Ho + i) * Wo + j] = in[p * H * W + window_argmax(in + p * H * W, W, i, j)];
}

void ub__maxpool2_backward_ref(double *din, const double *dout, const double *in, int N, int C, int H, int W) {
    const int Ho = H / 2, Wo = W / 2;
    for (size_t p = 0; p < (size_t)N * C; p++)
        for (int i = 0; i < Ho; i++)
            for (int j = 0; j < Wo; j++)
                din[p * H * W + window_argmax(in + p * H * W, W, i, j)] += dout[(p * Ho + i) * Wo + j];
}

/* ================================================================ VGG19 */

typedef enum vgg_kind { VGG_CONV, VGG_RELU, VGG_POOL } vgg_kind;

typedef struct vgg_layer {
    vgg_kind kind;
    int cin, cout; /* channels in and out */
    char name[32];
} vgg_layer;

enum { VGG_LAYERS = 37 };

/* torchvision's cfg "E": channels per conv, 0 = max-pool. */
static const int vgg19_cfg[] = {64,  64,  0,   128, 128, 0,   256, 256, 256, 256, 0,
                                512, 512, 512, 512, 0,   512, 512, 512, 512, 0};

static void vgg_layers(vgg_layer layer[VGG_LAYERS]) {
    int i = 0, block = 1, conv = 1, cin = 3;
    for (size_t k = 0; k < sizeof vgg19_cfg / sizeof *vgg19_cfg; k++) {
        const int cout = vgg19_cfg[k];
        if (cout == 0) {
            layer[i] = (vgg_layer){VGG_POOL, cin, cin, ""};
            snprintf(layer[i++].name, sizeof layer[0].name, "pool%d", block);
            block++, conv = 1;
            continue;
        }
        layer[i] = (vgg_layer){VGG_CONV, cin, cout, ""};
        snprintf(layer[i++].name, sizeof layer[0].name, "conv%d_%d", block, conv);
        layer[i] = (vgg_layer){VGG_RELU, cout, cout, ""};
        snprintf(layer[i++].name, sizeof layer[0].name, "relu%d_%d", block, conv);
        conv++, cin = cout;
    }
}

ub_status ub__vgg_create(ub_ctx *ctx, const char *layer_name, ub__vgg **out) {
    *out = NULL;
    if (!layer_name) layer_name = UB__VGG_DEFAULT_LAYER;
    vgg_layer layer[VGG_LAYERS];
    vgg_layers(layer);
    int last = -1;
    for (int i = 0; i < VGG_LAYERS && last < 0; i++)
        if (strcmp(layer[i].name, layer_name) == 0) last = i;
    if (last < 0)
        return ub__fail(ctx, UB_ERR_INVALID,
                        "perceptual loss: unknown VGG19 layer \"%s\" (e.g. conv3_3, relu3_3, pool3)", layer_name);
    ub__vgg *vgg = ub__calloc(1, sizeof *vgg);
    int nconv = 0;
    for (int i = 0; i <= last; i++) nconv += layer[i].kind == VGG_CONV;
    if (vgg) vgg->table.params = calloc(2 * (size_t)nconv, sizeof(ub__param));
    if (!vgg || !vgg->table.params) {
        ub__free(vgg);
        return ub__fail(ctx, UB_ERR_NOMEM, "perceptual loss: out of memory");
    }
    snprintf(vgg->layer, sizeof vgg->layer, "%s", layer_name);
    vgg->last = last, vgg->nconv = nconv;
    ub__param_table *tab = &vgg->table;
    for (int i = 0; i <= last; i++) {
        if (layer[i].kind != VGG_CONV) continue;
        ub__param *wt = &tab->params[tab->count++], *b = &tab->params[tab->count++];
        snprintf(wt->name, sizeof wt->name, "features.%d.weight", i);
        snprintf(b->name, sizeof b->name, "features.%d.bias", i);
        wt->rank = 4, wt->shape[0] = layer[i].cout, wt->shape[1] = layer[i].cin, wt->shape[2] = wt->shape[3] = 3;
        wt->offset = tab->total, wt->count = (size_t)layer[i].cout * layer[i].cin * 9, tab->total += wt->count;
        b->rank = 1, b->shape[0] = layer[i].cout;
        b->offset = tab->total, b->count = (size_t)layer[i].cout, tab->total += b->count;
    }
    vgg->params = ub__calloc(tab->total, sizeof(float));
    if (!vgg->params) {
        ub__vgg_destroy(&vgg);
        return ub__fail(ctx, UB_ERR_NOMEM, "perceptual loss: out of memory");
    }
    *out = vgg;
    return UB_OK;
}

void ub__vgg_destroy(ub__vgg **vgg) {
    if (!vgg || !*vgg) return;
    ub__param_table_free(&(*vgg)->table);
    ub__free((*vgg)->params);
    ub__free(*vgg);
    *vgg = NULL;
}

ub_status ub__vgg_load(ub_ctx *ctx, ub__vgg *vgg, const ub__safetensors *st) {
    for (int i = 0; i < vgg->table.count; i++) {
        const ub__param *p = &vgg->table.params[i];
        ub_status s = ub__st_read_f32(ctx, st, p->name, p->rank, p->shape, vgg->params + p->offset);
        if (s) return s;
    }
    return UB_OK;
}

ub_status ub__vgg_open(ub_ctx *ctx, const char *path, const char *layer, ub__vgg **out) {
    ub__safetensors *st = NULL;
    ub_status s = ub__vgg_create(ctx, layer, out);
    if (!s) s = ub__st_open(ctx, path, &st);
    if (!s) s = ub__vgg_load(ctx, *out, st);
    ub__st_close(&st);
    if (s) ub__vgg_destroy(out);
    return s;
}

/* Every layer's output shape (c, h, w) for an h x w input; 0 when a pool meets a side < 2. */
static int vgg_shapes(const ub__vgg *vgg, const vgg_layer layer[VGG_LAYERS], int h, int w, int shape[][3]) {
    for (int i = 0; i <= vgg->last; i++) {
        if (layer[i].kind == VGG_POOL) h /= 2, w /= 2;
        if (h < 1 || w < 1) return 0;
        shape[i][0] = layer[i].cout, shape[i][1] = h, shape[i][2] = w;
    }
    return 1;
}

int ub__vgg_feature_shape(const ub__vgg *vgg, int h, int w, int *fc, int *fh, int *fw) {
    vgg_layer layer[VGG_LAYERS];
    int shape[VGG_LAYERS][3];
    vgg_layers(layer);
    if (h < 1 || w < 1 || !vgg_shapes(vgg, layer, h, w, shape)) return 0;
    *fc = shape[vgg->last][0], *fh = shape[vgg->last][1], *fw = shape[vgg->last][2];
    return 1;
}

static const double imagenet_mean[3] = {0.485, 0.456, 0.406}, imagenet_std[3] = {0.229, 0.224, 0.225};

/* One image through features[0..last], every layer's output kept in act[i]. */
typedef struct vgg_run {
    const ub__vgg *vgg;
    vgg_layer layer[VGG_LAYERS];
    int shape[VGG_LAYERS][3];
    int h, w;
    double *params;           /* the float parameters as doubles */
    double *x;                /* the normalised input (3, h, w) */
    double *dx;               /* its gradient */
    double *act[VGG_LAYERS];  /* layer outputs */
    double *feat_t;           /* the target's features */
    double *d0, *d1;          /* ping-pong gradients, max_size each */
    size_t size[VGG_LAYERS], max_size;
} vgg_run;

static void vgg_forward(vgg_run *r) {
    int c = 3, h = r->h, w = r->w;
    const double *in = r->x;
    const ub__param *p = r->vgg->table.params;
    for (int i = 0; i <= r->vgg->last; i++) {
        const vgg_layer *l = &r->layer[i];
        if (l->kind == VGG_CONV) {
            ub__conv2d_forward_ref(r->act[i], in, r->params + p[0].offset, r->params + p[1].offset, 1, c, h, w,
                                   l->cout, 3, 1);
            p += 2;
        } else if (l->kind == VGG_RELU) {
            ub__relu_forward_ref(r->act[i], in, r->size[i]);
        } else {
            ub__maxpool2_forward_ref(r->act[i], in, 1, c, h, w);
        }
        c = r->shape[i][0], h = r->shape[i][1], w = r->shape[i][2];
        in = r->act[i];
    }
}

/* d(loss)/d(act[last]) in r->d0 -> d(loss)/dx (3, h, w), ACCUMULATED into dx. */
static void vgg_backward(vgg_run *r, double *dx) {
    const ub__param *p = r->vgg->table.params + r->vgg->table.count;
    double *dout = r->d0, *din = r->d1;
    for (int i = r->vgg->last; i >= 0; i--) {
        const vgg_layer *l = &r->layer[i];
        const int c = i ? r->shape[i - 1][0] : 3, h = i ? r->shape[i - 1][1] : r->h, w = i ? r->shape[i - 1][2] : r->w;
        const double *in = i ? r->act[i - 1] : r->x;
        double *target = i ? din : dx; /* the first layer's input gradient goes straight out */
        const size_t in_size = (size_t)c * h * w;
        if (i) memset(din, 0, in_size * sizeof(double));
        if (l->kind == VGG_CONV) {
            p -= 2;
            ub__conv2d_backward_ref(target, NULL, NULL, dout, in, r->params + p[0].offset, 1, c, h, w, l->cout, 3, 1);
        } else if (l->kind == VGG_RELU) {
            ub__relu_backward_ref(target, dout, in, in_size);
        } else {
            ub__maxpool2_backward_ref(target, dout, in, 1, c, h, w);
        }
        double *swap = dout;
        dout = din, din = swap;
    }
}

static void normalise(double *x, const double *img, int h, int w) {
    const size_t plane = (size_t)h * w;
    for (int c = 0; c < 3; c++)
        for (size_t i = 0; i < plane; i++) x[c * plane + i] = (img[c * plane + i] - imagenet_mean[c]) / imagenet_std[c];
}

static ub_status vgg_run_init(ub_ctx *ctx, vgg_run *r, const ub__vgg *vgg, int h, int w, int want_grad) {
    memset(r, 0, sizeof *r);
    r->vgg = vgg, r->h = h, r->w = w;
    vgg_layers(r->layer);
    if (h < 1 || w < 1 || !vgg_shapes(vgg, r->layer, h, w, r->shape))
        return ub__fail(ctx, UB_ERR_INVALID, "perceptual loss: a %dx%d input is too small for VGG19's %s", w, h,
                        vgg->layer);
    size_t total = vgg->table.total, in_size;
    int ok = ub__mul3_size(3, (size_t)h, (size_t)w, &in_size);
    total += in_size;
    r->max_size = in_size;
    for (int i = 0; i <= vgg->last && ok; i++) {
        ok = ub__mul3_size((size_t)r->shape[i][0], (size_t)r->shape[i][1], (size_t)r->shape[i][2], &r->size[i]);
        r->max_size = r->size[i] > r->max_size ? r->size[i] : r->max_size;
        ok = ok && !__builtin_add_overflow(total, r->size[i], &total);
    }
    const size_t extra = r->size[vgg->last] + (want_grad ? 2 * r->max_size + in_size : 0);
    ok = ok && !__builtin_add_overflow(total, extra, &total);
    double *arena = ok ? ub__calloc(total, sizeof(double)) : NULL;
    if (!arena) return ub__fail(ctx, UB_ERR_NOMEM, "perceptual loss: out of memory for a %dx%d input", w, h);
    r->params = arena;
    for (size_t i = 0; i < vgg->table.total; i++) r->params[i] = vgg->params[i];
    double *next = arena + vgg->table.total;
    r->x = next, next += in_size;
    for (int i = 0; i <= vgg->last; i++) r->act[i] = next, next += r->size[i];
    r->feat_t = next, next += r->size[vgg->last];
    if (want_grad) r->d0 = next, r->d1 = next + r->max_size, r->dx = r->d1 + r->max_size;
    return UB_OK;
}

ub_status ub__perceptual_loss_ref(ub_ctx *ctx, const ub__vgg *vgg, int n, int h, int w, const double *y,
                                  const double *t, double *grad, double weight, double *loss) {
    if (n < 1) return ub__fail(ctx, UB_ERR_INVALID, "perceptual loss: batch %d", n);
    vgg_run r;
    ub_status st = vgg_run_init(ctx, &r, vgg, h, w, grad != NULL);
    if (st) return st;
    const size_t img = (size_t)3 * h * w, fsize = r.size[vgg->last];
    const double count = (double)n * (double)fsize;
    double sum = 0.0;
    for (int b = 0; b < n; b++) { /* one image at a time: the activations of one image only */
        normalise(r.x, t + b * img, h, w);
        vgg_forward(&r);
        memcpy(r.feat_t, r.act[vgg->last], fsize * sizeof(double));
        normalise(r.x, y + b * img, h, w);
        vgg_forward(&r);
        const double *fy = r.act[vgg->last];
        for (size_t i = 0; i < fsize; i++) {
            sum += fabs(fy[i] - r.feat_t[i]);
            if (grad) r.d0[i] = weight * sign_of(fy[i] - r.feat_t[i]) / count;
        }
        if (!grad) continue;
        double *dx = r.dx;
        memset(dx, 0, img * sizeof(double));
        vgg_backward(&r, dx);
        const size_t plane = (size_t)h * w;
        for (int c = 0; c < 3; c++)
            for (size_t i = 0; i < plane; i++) grad[b * img + c * plane + i] += dx[c * plane + i] / imagenet_std[c];
    }
    ub__free(r.params);
    *loss = sum / count;
    return UB_OK;
}

ub_status ub__perceptual_loss(ub_ctx *ctx, const ub__vgg *vgg, int n, int h, int w, const float *y, const float *t,
                              float *grad, double weight, double *loss) {
    size_t count;
    ub_status st = check_shape(ctx, "perceptual loss", n, 3, h, w, &count);
    if (st) return st;
    double *buf = ub__calloc(count, (grad ? 3 : 2) * sizeof(double));
    if (!buf) return ub__fail(ctx, UB_ERR_NOMEM, "perceptual loss: out of memory");
    double *yd = buf, *td = buf + count, *gd = grad ? td + count : NULL;
    for (size_t i = 0; i < count; i++) yd[i] = y[i], td[i] = t[i];
    st = ub__perceptual_loss_ref(ctx, vgg, n, h, w, yd, td, gd, weight, loss);
    for (size_t i = 0; gd && !st && i < count; i++) grad[i] += (float)gd[i];
    ub__free(buf);
    return st;
}
