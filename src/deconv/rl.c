/* deconv/rl.c — Richardson-Lucy deconvolution (Richardson 1972, Lucy 1974), by FFT.

   ZERO reproduces scikit-image 0.19's restoration.richardson_lucy(image, psf, num_iter, clip=True,
   filter_epsilon=None): the estimate starts at 0.5 everywhere; each iteration
       conv = x * k                 ('same' convolution, zeros outside the image)
       x   *= (y / conv) * k_mirror ('same', zeros outside)
   and the result is clipped to [-1, 1]. The 'same' convolutions are circular ones on a plane
   padded with zeros to at least (w + kw - 1) x (h + kh - 1), which wrap nothing into the image.
   Where conv is not positive (only where the estimate has died out, scikit-image divides 0 by 0
   there) the ratio is taken as 0.

   AUTO solves for the sharp image on a domain larger than the picture by the kernel's size — the
   pixels just outside the frame blurred into it too — with the data known only inside
   (Bertero & Boccacci 2005): with M the mask of the picture,
       x *= ((M y / (x * k)) * k_mirror) / (M * k_mirror)
   and the estimate starts from the blurry image extended smoothly over the margin. The borders
   then do not ring. The output is the picture's part, not clipped.

   PERIODIC is the same iteration with the FFT's wrap-around as the model (no margin, no mask). */
#include <math.h>
#include <stdlib.h>

#include "deconv/internal.h"

/* Guard of the ratios: below it a blurred estimate counts as empty. */
static const float TINY = 1e-12f;

ub_status ub__rl_plane(ub_ctx *ctx, const float *in, float *out, int64_t w, int64_t h, const ub_kernel *k,
                       const ub_deconv_params *p) {
    const int zero = p->boundary == UB_DECONV_BOUNDARY_ZERO, periodic = p->boundary == UB_DECONV_BOUNDARY_PERIODIC;
    int64_t pw = w, ph = h;
    if (!periodic) ub__deconv_pad_size(w, h, k->width, k->height, &pw, &ph);
    ub__fft2 f;
    ub_status st = ub__fft2_init(ctx, &f, pw, ph);
    if (st) return st;
    float *x = ub__fft2_real(&f), *t = ub__fft2_real(&f), *nrm = zero || periodic ? NULL : ub__fft2_real(&f);
    float *spec = ub__fft2_spectrum(&f), *otf = ub__fft2_spectrum(&f);
    if (!x || !t || !spec || !otf || (!zero && !periodic && !nrm))
        st = ub__fail(ctx, UB_ERR_NOMEM, "deconvolve: out of memory");
    if (st == UB_OK) st = ub__fft2_otf(ctx, &f, k, otf);
    if (st) goto done;
    const int64_t rs = f.rs;
    const int nt = f.threads;
    if (zero) {
        for (int64_t y = 0; y < h; y++)
            for (int64_t i = 0; i < w; i++) x[y * rs + i] = 0.5f;
    } else {
        ub__extend_smooth(&f, in, w, h, x);
        /* a multiplicative update cannot leave 0: start a little above it */
        float floor_value = 0.0f;
        for (int64_t i = 0; i < w * h; i++) floor_value = in[i] > floor_value ? in[i] : floor_value;
        floor_value = floor_value > 0.0f ? 1e-3f * floor_value : 1e-3f;
        for (int64_t y = 0; y < f.ph; y++)
            for (int64_t i = 0; i < f.pw; i++)
                if (!(x[y * rs + i] > floor_value)) x[y * rs + i] = floor_value;
    }
    if (nrm) { /* M * k_mirror */
        ub__extend_zero(&f, in, w, h, t);
        for (int64_t y = 0; y < h; y++)
            for (int64_t i = 0; i < w; i++) t[y * rs + i] = 1.0f;
        ub__fft2_forward(&f, t, spec);
        ub__fft2_mul(&f, spec, otf, 1);
        ub__fft2_inverse(&f, spec, nrm);
        for (int64_t y = 0; y < f.ph; y++)
            for (int64_t i = 0; i < f.pw; i++) {
                const float v = nrm[y * rs + i];
                nrm[y * rs + i] = v > 1e-3f ? 1.0f / v : 0.0f; /* 0: no data reaches this pixel, keep it */
            }
    }
    const int64_t ry = periodic ? f.ph : h, rx = periodic ? f.pw : w; /* where the data is */
    for (int it = 0; it < p->iterations; it++) {
        ub__fft2_forward(&f, x, spec);
        ub__fft2_mul(&f, spec, otf, 0);
        ub__fft2_inverse(&f, spec, t);
#pragma omp parallel for schedule(static) num_threads(nt)
        for (int64_t y = 0; y < f.ph; y++) {
            float *restrict tr = t + y * rs;
            if (y >= ry) {
                for (int64_t i = 0; i < f.pw; i++) tr[i] = 0.0f;
                continue;
            }
            const float *restrict yr = in + y * w;
            for (int64_t i = 0; i < rx; i++) tr[i] = tr[i] > TINY ? yr[i] / tr[i] : 0.0f;
            for (int64_t i = rx; i < f.pw; i++) tr[i] = 0.0f;
        }
        ub__fft2_forward(&f, t, spec);
        ub__fft2_mul(&f, spec, otf, 1);
        ub__fft2_inverse(&f, spec, t);
        if (zero) {
#pragma omp parallel for schedule(static) num_threads(nt)
            for (int64_t y = 0; y < h; y++)
                for (int64_t i = 0; i < w; i++) x[y * rs + i] *= t[y * rs + i];
        } else if (periodic) {
#pragma omp parallel for schedule(static) num_threads(nt)
            for (int64_t y = 0; y < f.ph; y++)
                for (int64_t i = 0; i < f.pw; i++) x[y * rs + i] *= t[y * rs + i];
        } else {
#pragma omp parallel for schedule(static) num_threads(nt)
            for (int64_t y = 0; y < f.ph; y++)
                for (int64_t i = 0; i < f.pw; i++) {
                    const float n = nrm[y * rs + i];
                    if (n > 0.0f) x[y * rs + i] *= t[y * rs + i] * n;
                }
        }
        if ((it & 7) == 7 && (st = ub__progress(ctx, (double)(it + 1) / p->iterations, "deconvolve"))) goto done;
    }
    for (int64_t y = 0; y < h; y++)
        for (int64_t i = 0; i < w; i++) {
            float v = x[y * rs + i];
            if (zero) v = v > 1.0f ? 1.0f : v < -1.0f ? -1.0f : v;
            out[y * w + i] = v;
        }
done:
    ub__free(x), ub__free(t), ub__free(nrm), ub__free(spec), ub__free(otf);
    ub__fft2_free(&f);
    return st;
}

/* 'same' convolution with zeros outside, in double: mirror = 0 convolves with k, 1 with k mirrored. */
static void conv_same(const double *src, double *dst, int64_t w, int64_t h, const ub_kernel *k, int mirror) {
    const int cx = k->width / 2, cy = k->height / 2;
    for (int64_t y = 0; y < h; y++)
        for (int64_t x = 0; x < w; x++) {
            double s = 0.0;
            for (int v = 0; v < k->height; v++)
                for (int u = 0; u < k->width; u++) {
                    const int64_t sx = mirror ? x + (u - cx) : x - (u - cx), sy = mirror ? y + (v - cy) : y - (v - cy);
                    if (sx >= 0 && sx < w && sy >= 0 && sy < h) s += k->data[v * k->width + u] * src[sy * w + sx];
                }
            dst[y * w + x] = s;
        }
}

ub_status ub__rl_zero_ref(ub_ctx *ctx, const float *in, float *out, int64_t w, int64_t h, const ub_kernel *k,
                          int iterations) {
    const size_t n = (size_t)(w * h);
    double *x = malloc(n * sizeof *x), *c = malloc(n * sizeof *c), *r = malloc(n * sizeof *r);
    if (!x || !c || !r) {
        free(x), free(c), free(r);
        return ub__fail(ctx, UB_ERR_NOMEM, "deconvolve: out of memory");
    }
    for (size_t i = 0; i < n; i++) x[i] = 0.5;
    for (int it = 0; it < iterations; it++) {
        conv_same(x, c, w, h, k, 0);
        for (size_t i = 0; i < n; i++) c[i] = c[i] > 0.0 ? in[i] / c[i] : 0.0;
        conv_same(c, r, w, h, k, 1);
        for (size_t i = 0; i < n; i++) x[i] *= r[i];
    }
    for (size_t i = 0; i < n; i++) out[i] = (float)(x[i] > 1.0 ? 1.0 : x[i] < -1.0 ? -1.0 : x[i]);
    free(x), free(c), free(r);
    return UB_OK;
}
