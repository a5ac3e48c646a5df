/* deconv/blind_check.c — do no harm: is an estimated kernel consistent with the image it came from?

   If y = k (*) x + n, the power of y at a frequency w is |K(w)|^2 |X(w)|^2 + N. A natural image's
   power falls as C / |w|^2 (the 1/f^2 law), so where the kernel attenuates strongly (|K|^2 small)
   y can hold little more than |K|^2 C / |w|^2 plus noise. An estimate whose stop band still carries
   the image's full 1/f^2 power cannot be the blur: the image is sharp (or blurred differently) there,
   and deconvolving would amplify that energy by 1 / |K|^2 (what destroyed sharp photos: a streak
   matched to a picket fence's period, a blob fitted to fine texture). */
#include <math.h>
#include <stdlib.h>

#include "deconv/blind_internal.h"

/* Bands, as fractions of the sampling frequency (cycles per pixel), and of |K|^2. */
static const double PASS_K2 = 0.8;  /* |K|^2 above this: the kernel leaves the image as it is */
static const double STOP_K2 = 0.05; /* |K|^2 below this: the kernel removes 95 % of the power */
static const double R_MIN = 0.01;   /* below: illumination and the frame's fill, no 1/f^2 law */
static const double R_STOP_MAX = 0.3; /* above: noise, demosaicking and compression dominate */
static const double R_NOISE = 0.4;    /* above: the noise floor is read here */

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of v[0..n) (reordered); 0 when n is 0. */
static double median(double *v, size_t n) {
    if (!n) return 0;
    qsort(v, n, sizeof *v, cmp_double);
    return v[n / 2];
}

static double excess_on_frame(ub__bfft *f, const float *frame, const float *k, int kw) {
    const size_t nc = f->nc;
    fftwf_complex *Y = fftwf_malloc(nc * sizeof(fftwf_complex)), *K = fftwf_malloc(nc * sizeof(fftwf_complex));
    double *scratch = malloc(nc * sizeof(double));
    double excess = -1;
    if (!Y || !K || !scratch) goto done;
    ub__bfft_forward(f, frame, Y);
    ub__bfft_otf(f, k, kw, kw, K);
    /* C of the 1/f^2 law, from the pass band: median of |Y|^2 r^2 / |K|^2; the noise floor N from
       the highest frequencies (an upper bound: a sharp image's own detail lives there too) */
    size_t npass = 0, nnoise = 0;
    for (int y = 0; y < f->h; y++) {
        const double fy = (double)(y <= f->h / 2 ? y : y - f->h) / f->h;
        for (int x = 0; x < f->cw; x++) {
            const size_t i = (size_t)y * f->cw + x;
            const double fx = (double)x / f->w, r2 = fx * fx + fy * fy;
            const double k2 = K[i][0] * K[i][0] + K[i][1] * K[i][1], e = Y[i][0] * Y[i][0] + Y[i][1] * Y[i][1];
            if (r2 >= R_MIN * R_MIN && k2 >= PASS_K2) scratch[npass++] = e * r2 / k2;
        }
    }
    const double c = median(scratch, npass);
    for (int y = 0; y < f->h; y++) {
        const double fy = (double)(y <= f->h / 2 ? y : y - f->h) / f->h;
        for (int x = 0; x < f->cw; x++) {
            const size_t i = (size_t)y * f->cw + x;
            const double fx = (double)x / f->w, r2 = fx * fx + fy * fy;
            if (r2 >= R_NOISE * R_NOISE) scratch[nnoise++] = Y[i][0] * Y[i][0] + Y[i][1] * Y[i][1];
        }
    }
    const double noise = median(scratch, nnoise);
    double observed = 0, predicted = 0;
    size_t nstop = 0;
    for (int y = 0; y < f->h; y++) {
        const double fy = (double)(y <= f->h / 2 ? y : y - f->h) / f->h;
        for (int x = 0; x < f->cw; x++) {
            const size_t i = (size_t)y * f->cw + x;
            const double fx = (double)x / f->w, r2 = fx * fx + fy * fy;
            const double k2 = K[i][0] * K[i][0] + K[i][1] * K[i][1];
            if (r2 < R_MIN * R_MIN || r2 > R_STOP_MAX * R_STOP_MAX || k2 > STOP_K2) continue;
            observed += Y[i][0] * Y[i][0] + Y[i][1] * Y[i][1];
            predicted += k2 * c / r2 + noise;
            nstop++;
        }
    }
    excess = nstop && predicted > 0 ? observed / predicted : 0;
done:
    fftwf_free(Y);
    fftwf_free(K);
    free(scratch);
    return excess;
}

double ub__blind_stopband_excess(ub_ctx *ctx, const float *img, int w, int h, const float *k, int kw) {
    ub__bfft f;
    const int fw = ub__blind_fast_len(w + kw), fh = ub__blind_fast_len(h + kw);
    if (ub__bfft_init(ctx, &f, fw, fh) != UB_OK) return -1;
    float *frame = fftwf_malloc(f.n * sizeof(float));
    double excess = -1;
    if (frame) {
        ub__blind_pad(img, w, h, frame, fw, fh);
        excess = excess_on_frame(&f, frame, k, kw);
    }
    fftwf_free(frame);
    ub__bfft_free(&f);
    return excess;
}

/* Luminance gradient energy (forward differences inside the picture). */
static double gradient_energy(const float *v, int64_t w, int64_t h) {
    double e = 0;
    for (int64_t y = 0; y < h; y++)
        for (int64_t x = 0; x < w; x++) {
            const float *p = v + y * w + x;
            if (x + 1 < w) e += (double)(p[1] - p[0]) * (p[1] - p[0]);
            if (y + 1 < h) e += (double)(p[w] - p[0]) * (p[w] - p[0]);
        }
    return e;
}

int ub__blind_output_implausible(const float *in, const float *out, int64_t w, int64_t h) {
    const double before = gradient_energy(in, w, h), after = gradient_energy(out, w, h);
    return (!(after <= UB__BLIND_MAX_GRADIENT_GAIN * before) && after > 0) || after < UB__BLIND_MIN_GRADIENT_GAIN * before;
}
