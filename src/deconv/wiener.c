/* deconv/wiener.c — Wiener deconvolution with a constant noise-to-signal ratio:
       X = conj(K) Y / (|K|^2 + nsr)
   one forward and one inverse FFT. (scikit-image's wiener() regularises with a Laplacian
   instead: |K|^2 + balance |L|^2; a constant is the textbook Wiener filter for white signal.)
   Boundaries: AUTO extends the image smoothly and periodically over a padding of the kernel's
   size (ub__extend_smooth), so the FFT's wrap-around sees no jump; ZERO pads with zeros;
   PERIODIC transforms the image as it is. */
#include "deconv/internal.h"

ub_status ub__wiener_plane(ub_ctx *ctx, const float *in, float *out, int64_t w, int64_t h, const ub_kernel *k,
                           const ub_deconv_params *p) {
    int64_t pw = w, ph = h;
    if (p->boundary != UB_DECONV_BOUNDARY_PERIODIC) ub__deconv_pad_size(w, h, k->width, k->height, &pw, &ph);
    ub__fft2 f;
    ub_status st = ub__fft2_init(ctx, &f, pw, ph);
    if (st) return st;
    float *real = ub__fft2_real(&f), *spec = ub__fft2_spectrum(&f), *otf = ub__fft2_spectrum(&f);
    if (!real || !spec || !otf) st = ub__fail(ctx, UB_ERR_NOMEM, "deconvolve: out of memory");
    if (st == UB_OK) st = ub__fft2_otf(ctx, &f, k, otf);
    if (st == UB_OK) {
        if (p->boundary == UB_DECONV_BOUNDARY_AUTO) ub__extend_smooth(&f, in, w, h, real);
        else ub__extend_zero(&f, in, w, h, real);
        ub__fft2_forward(&f, real, spec);
        const float nsr = (float)p->nsr;
#pragma omp parallel for schedule(static) num_threads(f.threads)
        for (int64_t y = 0; y < f.ph; y++) {
            float *restrict s = spec + 2 * y * f.cs;
            const float *restrict o = otf + 2 * y * f.cs;
            for (int64_t c = 0; c < f.cw; c++) {
                const float kr = o[2 * c], ki = o[2 * c + 1], sr = s[2 * c], si = s[2 * c + 1];
                const float g = 1.0f / (kr * kr + ki * ki + nsr);
                /* conj(K) Y / (|K|^2 + nsr) */
                s[2 * c] = (kr * sr + ki * si) * g;
                s[2 * c + 1] = (kr * si - ki * sr) * g;
            }
        }
        ub__fft2_inverse(&f, spec, real);
        for (int64_t y = 0; y < h; y++)
            for (int64_t x = 0; x < w; x++) out[y * w + x] = real[y * f.rs + x];
    }
    ub__free(real), ub__free(spec), ub__free(otf);
    ub__fft2_free(&f);
    return st;
}
