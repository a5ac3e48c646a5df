/* deconv/sparse.c — non-blind deconvolution with a sparse (hyper-Laplacian) derivative prior
   (Krishnan & Fergus 2009; the derivative filters of Levin et al. 2007), borders without ringing,
   and saturated pixels as outliers.

   The sharp image x lives on a periodic plane larger than the picture by the kernel's size (the
   pixels just outside the frame blurred into it too); the data are known only on the picture
   (mask M). Minimised (AUTO):
       1/2 sum M rho(u - y)  +  bu/2 |u - k*x|^2  +  lambda sum_f w_f |D_f x|^a
   with the filters D_f = dx, dy (forward differences, w = 1) and dxx, dyy, dxy (w = W2), by
   half-quadratic splitting: auxiliary derivatives g_f (coupling b/2 |g_f - D_f x|^2) and the
   auxiliary blurred image u (Almeida & Figueiredo 2013's way of handling unknown boundaries),
   b increased geometrically from BETA_START lambda to BETA_END lambda over the iterations
   (continuation). Each iteration:
       g_f = argmin lambda w_f |g|^a + b/2 (g - D_f x)^2  per pixel (shrink(): soft threshold for
                                                          a = 1, Newton on the optimality condition else)
       u   = argmin 1/2 M rho(u - y) + bu/2 (u - k*x)^2   per pixel: (y + bu kx)/(1 + bu) on the picture,
                                                          k*x outside it
       x   = argmin bu |u - k*x|^2 + b sum_f |g_f - D_f x|^2   one FFT division
   4 FFTs per iteration. rho is the square, except on saturated pixels (y >= SATURATED: the
   sensor clipped, so the true blurred value is at least y) where only k*x < y is penalised (Cho,
   Wang & Lee 2011 treat such pixels as outliers; here as a one-sided data term, which keeps the
   u-step per pixel). With M = 1 and u eliminated the data term is bu/(1+bu)/2 |k*x - y|^2;
   bu = 1, so the x-u alternation contracts by at least half per iteration.
   ZERO pads the picture with zeros and takes those zeros as data (it rings inwards: kept for
   comparison); PERIODIC uses the picture's own wrap-around.
   Defaults (ub_deconv_default) were tuned on Levin et al. 2009 with the true kernels
   (docs/deconv.md): a = 1 (measured better than 0.8 or 2/3 on those real captures, and 8x
   faster: no powf), lambda = 2e-4, W2 = 0.25, 40 iterations. */
#include <math.h>
#include <string.h>

#include "deconv/internal.h"

static const float SATURATED = 0.98f; /* of full scale, 1.0 */
static const double BU = 1.0;
static const double BETA_START = 1.0, BETA_END = 4096.0; /* b / lambda over the iterations */
static const float W2 = 0.25f; /* weight of the second derivatives dxx, dyy, dxy in the prior (0: none) */

/* argmin_g tau |g|^a + 1/2 (g - v)^2. */
static inline float shrink(float v, float tau, float a) {
    const float av = fabsf(v);
    if (av == 0.0f) return 0.0f;
    if (a == 1.0f) return v > tau ? v - tau : v < -tau ? v + tau : 0.0f;
    /* the larger root of h(g) = g - |v| + tau a g^(a-1) by Newton from g = |v| (h is convex and
       h(|v|) > 0, so the steps decrease monotonically onto it); 0 if no root or it does not beat 0 */
    float g = av;
    for (int i = 0; i < 6; i++) {
        const float pa = tau * a * powf(g, a - 2.0f); /* tau a g^(a-2) */
        const float h = g - av + pa * g, dh = 1.0f + (a - 1.0f) * pa;
        if (!(dh > 0.0f)) return 0.0f;
        g -= h / dh;
        if (!(g > 0.0f)) return 0.0f;
    }
    const float e = tau * powf(g, a) + 0.5f * (g - av) * (g - av);
    if (e >= 0.5f * av * av) return 0.0f;
    return v > 0.0f ? g : -g;
}

/* shrink() for a = 1, the soft threshold, written as v minus v clamped to [-tau, tau] so that a row
   of them vectorises (the same values as shrink(v, tau, 1) for every finite v). */
static inline float soft(float v, float tau) {
    float c = v < -tau ? -tau : v;
    c = c > tau ? tau : c;
    return v - c;
}

/* shrink() with the soft threshold for a = 1 (the default); g_row is called with a literal 1 for it, so
   that copy's loops lose the test and vectorise. */
static inline float shrink_row(float v, float tau, float a) { return a == 1.0f ? soft(v, tau) : shrink(v, tau, a); }

/* The g-step of one row, the wrap-around columns taken apart so that the interior runs without index
   arithmetic (the general loop was 37 % of a blind deblur's time). xr, xn, xb: the rows y, y + 1 and
   y - 1 (periodic); gxx, gyy, gxy are written when W2 > 0. */
static inline void g_row(const float *restrict xr, const float *restrict xn, const float *restrict xb, float *restrict gxr,
                  float *restrict gyr, float *restrict gxxr, float *restrict gyyr, float *restrict gxyr, int64_t pw,
                  float tau, float tau2, float a) {
    const int64_t last = pw - 1;
    for (int64_t i = 0; i < last; i++) {
        gxr[i] = shrink_row(xr[i + 1] - xr[i], tau, a);
        gyr[i] = shrink_row(xn[i] - xr[i], tau, a);
    }
    gxr[last] = shrink_row(xr[0] - xr[last], tau, a);
    gyr[last] = shrink_row(xn[last] - xr[last], tau, a);
    if (!(W2 > 0)) return;
    for (int64_t i = 1; i < last; i++) {
        gxxr[i] = shrink_row(xr[i + 1] - 2.0f * xr[i] + xr[i - 1], tau2, a);
        gyyr[i] = shrink_row(xn[i] - 2.0f * xr[i] + xb[i], tau2, a);
        gxyr[i] = shrink_row(xn[i + 1] - xn[i] - xr[i + 1] + xr[i], tau2, a);
    }
    const int64_t edge[2] = {0, last};
    for (int e = 0; e < (pw > 1 ? 2 : 1); e++) {
        const int64_t i = edge[e], in1 = i + 1 < pw ? i + 1 : 0, ib = i > 0 ? i - 1 : last;
        gxxr[i] = shrink_row(xr[in1] - 2.0f * xr[i] + xr[ib], tau2, a);
        gyyr[i] = shrink_row(xn[i] - 2.0f * xr[i] + xb[i], tau2, a);
        gxyr[i] = shrink_row(xn[in1] - xn[i] - xr[in1] + xr[i], tau2, a);
    }
}

ub_status ub__sparse_plane(ub_ctx *ctx, const float *in, float *out, int64_t w, int64_t h, const ub_kernel *k,
                           const ub_deconv_params *p) {
    const int periodic = p->boundary == UB_DECONV_BOUNDARY_PERIODIC, zero = p->boundary == UB_DECONV_BOUNDARY_ZERO;
    int64_t pw = w, ph = h;
    if (!periodic) ub__deconv_pad_size(w, h, k->width, k->height, &pw, &ph);
    ub__fft2 f;
    ub_status st = ub__fft2_init(ctx, &f, pw, ph);
    if (st) return st;
    const int64_t rs = f.rs;
    const int nt = f.threads;
    float *x = ub__fft2_real(&f), *kx = ub__fft2_real(&f), *t = ub__fft2_real(&f), *gx = ub__fft2_real(&f),
          *gy = ub__fft2_real(&f), *gxx = ub__fft2_real(&f), *gyy = ub__fft2_real(&f), *gxy = ub__fft2_real(&f);
    float *spec = ub__fft2_spectrum(&f), *rhs = ub__fft2_spectrum(&f), *otf = ub__fft2_spectrum(&f),
          *lap = ub__calloc_huge((size_t)(f.ph * f.cw), sizeof(float));
    if (!x || !kx || !t || !gx || !gy || !gxx || !gyy || !gxy || !spec || !rhs || !otf || !lap)
        st = ub__fail(ctx, UB_ERR_NOMEM, "deconvolve: out of memory");
    if (st == UB_OK) st = ub__fft2_otf(ctx, &f, k, otf);
    if (st) goto done;
    /* sum over the filters of |D|^2: dx, dy (forward differences) and W2 (dxx, dyy, dxy) */
    for (int64_t r = 0; r < f.ph; r++)
        for (int64_t c = 0; c < f.cw; c++) {
            const double ax = 2.0 - 2.0 * cos(2.0 * 3.14159265358979323846 * (double)c / (double)f.pw);
            const double ay = 2.0 - 2.0 * cos(2.0 * 3.14159265358979323846 * (double)r / (double)f.ph);
            lap[r * f.cw + c] = (float)(ax + ay + (W2 > 0 ? ax * ax + ay * ay + ax * ay : 0.0));
        }
    /* the data: y on the plane (zeros outside), and where it is known */
    const int64_t dh = zero || periodic ? f.ph : h, dw = zero || periodic ? f.pw : w;
    float *yp = t; /* t holds y on the plane for the whole run; kx, spec, rhs are the scratch */
    ub__extend_zero(&f, in, w, h, yp);
    if (zero) ub__extend_zero(&f, in, w, h, x);
    else ub__extend_smooth(&f, in, w, h, x);
    ub__fft2_forward(&f, x, spec);
    ub__fft2_mul(&f, spec, otf, 0);
    ub__fft2_inverse(&f, spec, kx);

    const float lambda = (float)p->lambda, a = (float)p->alpha, bu = (float)BU;
    const int iters = p->iterations;
    for (int it = 0; it < iters; it++) {
        const double bhat =
            iters > 1 ? BETA_START * pow(BETA_END / BETA_START, (double)it / (double)(iters - 1)) : BETA_END;
        const float beta = (float)(lambda * bhat), tau = (float)(1.0 / bhat), tau2 = W2 * tau;
        /* g-step; u-step into kx (u replaces k*x) */
#pragma omp parallel for schedule(static) num_threads(nt)
        for (int64_t y = 0; y < f.ph; y++) {
            const int64_t yn = y + 1 < f.ph ? y + 1 : 0, yb = y > 0 ? y - 1 : f.ph - 1;
            const float *xr = x + y * rs, *xn = x + yn * rs, *xb = x + yb * rs;
            float *g[5] = {gx + y * rs, gy + y * rs, gxx + y * rs, gyy + y * rs, gxy + y * rs};
            if (a == 1.0f) g_row(xr, xn, xb, g[0], g[1], g[2], g[3], g[4], f.pw, tau, tau2, 1.0f);
            else g_row(xr, xn, xb, g[0], g[1], g[2], g[3], g[4], f.pw, tau, tau2, a);
            float *ur = kx + y * rs;
            const float *yr = yp + y * rs;
            if (y < dh)
                for (int64_t i = 0; i < dw; i++) {
                    const float v = ur[i], d = yr[i];
                    if (!(d >= SATURATED && v >= d)) ur[i] = (d + bu * v) / (1.0f + bu);
                }
        }
        /* sum of D^T g into x (x is recomputed below): dx^T g = g(i-1) - g(i); dxx^T = dxx;
           dxy^T g = g(i-1,j-1) - g(i,j-1) - g(i-1,j) + g(i,j) */
#pragma omp parallel for schedule(static) num_threads(nt)
        for (int64_t y = 0; y < f.ph; y++) {
            const int64_t yb = y > 0 ? y - 1 : f.ph - 1, yn = y + 1 < f.ph ? y + 1 : 0;
            const float *gxr = gx + y * rs, *gyr = gy + y * rs, *gyb = gy + yb * rs;
            float *xr = x + y * rs;
            for (int64_t i = 0; i < f.pw; i++) {
                const int64_t ib = i > 0 ? i - 1 : f.pw - 1;
                xr[i] = gxr[ib] - gxr[i] + gyb[i] - gyr[i];
            }
            if (W2 > 0) {
                const float *gxxr = gxx + y * rs, *gyyr = gyy + y * rs, *gyyb = gyy + yb * rs, *gyyn = gyy + yn * rs;
                const float *gxyr = gxy + y * rs, *gxyb = gxy + yb * rs;
                for (int64_t i = 0; i < f.pw; i++) {
                    const int64_t ib = i > 0 ? i - 1 : f.pw - 1, in1 = i + 1 < f.pw ? i + 1 : 0;
                    xr[i] += gxxr[in1] - 2.0f * gxxr[i] + gxxr[ib] + gyyn[i] - 2.0f * gyyr[i] + gyyb[i] + gxyb[ib] -
                             gxyb[i] - gxyr[ib] + gxyr[i];
                }
            }
        }
        ub__fft2_forward(&f, kx, spec);
        ub__fft2_forward(&f, x, rhs);
#pragma omp parallel for schedule(static) num_threads(nt)
        for (int64_t r = 0; r < f.ph; r++) {
            float *restrict s = spec + 2 * r * f.cs, *restrict q = rhs + 2 * r * f.cs;
            const float *restrict o = otf + 2 * r * f.cs, *restrict l = lap + r * f.cw;
            for (int64_t c = 0; c < f.cw; c++) {
                const float kr = o[2 * c], ki = o[2 * c + 1], ur = s[2 * c], ui = s[2 * c + 1];
                const float den = 1.0f / (bu * (kr * kr + ki * ki) + beta * l[c] + 1e-12f);
                /* X = (bu conj(K) U + beta F(D^T g)) / (bu |K|^2 + beta |D|^2) */
                const float xr = (bu * (kr * ur + ki * ui) + beta * q[2 * c]) * den;
                const float xi = (bu * (kr * ui - ki * ur) + beta * q[2 * c + 1]) * den;
                q[2 * c] = xr, q[2 * c + 1] = xi;
                s[2 * c] = xr * kr - xi * ki, s[2 * c + 1] = xr * ki + xi * kr;
            }
        }
        ub__fft2_inverse(&f, rhs, x);
        ub__fft2_inverse(&f, spec, kx);
        if ((it & 7) == 7 && (st = ub__progress(ctx, (double)(it + 1) / iters, "deconvolve"))) goto done;
    }
    for (int64_t y = 0; y < h; y++) memcpy(out + y * w, x + y * rs, (size_t)w * sizeof(float));
done:
    ub__free(x), ub__free(kx), ub__free(t), ub__free(gx), ub__free(gy), ub__free(gxx), ub__free(gyy), ub__free(gxy);
    ub__free(spec), ub__free(rhs), ub__free(otf), ub__free(lap);
    ub__fft2_free(&f);
    return st;
}
