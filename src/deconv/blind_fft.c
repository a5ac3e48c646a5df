/* deconv/blind_fft.c — the FFTs of blind deconvolution's periodic frames (ub__bfft, declared in
   blind_internal.h): forward and inverse real transforms, a kernel's transfer function, the
   gradient operator's denominator.

   A small frame has one 2-D FFTW plan run on one thread; a frame of UB__BLIND_ROWCOL_MIN pixels or
   more goes through deconv/fft.c's rows-then-columns plans, spread over the context's threads. Either
   way the result does not depend on the thread count. */
#include <math.h>
#include <string.h>

#include "deconv/blind_internal.h"
#include "synth/internal.h" /* ub__fftw_lock: FFTW's planner is process-global */

ub_status ub__bfft_init(ub_ctx *ctx, ub__bfft *f, int w, int h) {
    memset(f, 0, sizeof *f);
    f->w = w, f->h = h, f->cw = w / 2 + 1;
    f->n = (size_t)w * h, f->nc = (size_t)h * f->cw;
    f->threads = ub_ctx_threads(ctx) > 0 ? ub_ctx_threads(ctx) : 1;
    const int large = f->n >= UB__BLIND_ROWCOL_MIN;
    f->real = fftwf_malloc(f->n * sizeof(float)); /* the kernel's frame in ub__bfft_otf, either way */
    if (!large) f->cplx = fftwf_malloc(f->nc * sizeof(fftwf_complex)); /* the 2-D c2r's input copy */
    if (!f->real || (!large && !f->cplx)) {
        ub__bfft_free(f);
        return ub__fail(ctx, UB_ERR_NOMEM, "blind deconvolution: out of memory (%dx%d frame)", w, h);
    }
    if (large) {
        const ub_status st = ub__fft2_init(ctx, &f->rc, w, h);
        if (st) {
            ub__bfft_free(f);
            return st;
        }
        f->rc_real = ub__fft2_real(&f->rc), f->rc_spec = ub__fft2_spectrum(&f->rc);
        if (!f->rc_real || !f->rc_spec) {
            ub__bfft_free(f);
            return ub__fail(ctx, UB_ERR_NOMEM, "blind deconvolution: out of memory (%dx%d frame)", w, h);
        }
        return UB_OK;
    }
    ub__fftw_lock();
    const int planner_threads = fftwf_planner_nthreads(); /* our plans are single-threaded (see conv_fft.c) */
    if (planner_threads != 1) fftwf_plan_with_nthreads(1);
    f->fwd = fftwf_plan_dft_r2c_2d(h, w, f->real, f->cplx, FFTW_ESTIMATE);
    f->inv = fftwf_plan_dft_c2r_2d(h, w, f->cplx, f->real, FFTW_ESTIMATE);
    if (planner_threads != 1) fftwf_plan_with_nthreads(planner_threads);
    ub__fftw_unlock();
    if (!f->fwd || !f->inv) {
        ub__bfft_free(f);
        return ub__fail(ctx, UB_ERR_NOMEM, "blind deconvolution: FFTW cannot plan a %dx%d frame", w, h);
    }
    return UB_OK;
}

void ub__bfft_free(ub__bfft *f) {
    if (f->fwd || f->inv) {
        ub__fftw_lock();
        if (f->fwd) fftwf_destroy_plan(f->fwd);
        if (f->inv) fftwf_destroy_plan(f->inv);
        ub__fftw_unlock();
    }
    ub__fft2_free(&f->rc);
    ub__free(f->rc_real);
    ub__free(f->rc_spec);
    fftwf_free(f->real);
    fftwf_free(f->cplx);
    memset(f, 0, sizeof *f);
}

/* A large frame's transforms: the rows copied into fft.c's strided planes and back (a few % of the
   transform), the transform itself spread over the threads. */
static void rowcol_forward(ub__bfft *f, const float *in, fftwf_complex *out) {
    const ub__fft2 *p = &f->rc;
#pragma omp parallel for schedule(static) num_threads(f->threads)
    for (int y = 0; y < f->h; y++) memcpy(f->rc_real + (size_t)y * p->rs, in + (size_t)y * f->w, (size_t)f->w * sizeof(float));
    ub__fft2_forward(p, f->rc_real, f->rc_spec);
#pragma omp parallel for schedule(static) num_threads(f->threads)
    for (int y = 0; y < f->h; y++)
        memcpy(out + (size_t)y * f->cw, f->rc_spec + 2 * (size_t)y * p->cs, (size_t)f->cw * sizeof(fftwf_complex));
}

static void rowcol_inverse(ub__bfft *f, fftwf_complex *in, float *out) {
    const ub__fft2 *p = &f->rc;
#pragma omp parallel for schedule(static) num_threads(f->threads)
    for (int y = 0; y < f->h; y++)
        memcpy(f->rc_spec + 2 * (size_t)y * p->cs, in + (size_t)y * f->cw, (size_t)f->cw * sizeof(fftwf_complex));
    ub__fft2_inverse(p, f->rc_spec, f->rc_real); /* scaled by 1 / n */
#pragma omp parallel for schedule(static) num_threads(f->threads)
    for (int y = 0; y < f->h; y++) memcpy(out + (size_t)y * f->w, f->rc_real + (size_t)y * p->rs, (size_t)f->w * sizeof(float));
}

void ub__bfft_forward(ub__bfft *f, const float *in, fftwf_complex *out) {
    if (f->rc.priv) {
        rowcol_forward(f, in, out);
        return;
    }
    memcpy(f->real, in, f->n * sizeof(float));
    fftwf_execute_dft_r2c(f->fwd, f->real, out);
}

void ub__bfft_inverse(ub__bfft *f, fftwf_complex *in, float *out) {
    if (f->rc.priv) {
        rowcol_inverse(f, in, out);
        return;
    }
    memcpy(f->cplx, in, f->nc * sizeof(fftwf_complex)); /* c2r overwrites its input */
    fftwf_execute_dft_c2r(f->inv, f->cplx, f->real);
    const float s = 1.0f / (float)f->n;
    for (size_t i = 0; i < f->n; i++) out[i] = f->real[i] * s;
}

void ub__bfft_otf(ub__bfft *f, const float *k, int kw, int kh, fftwf_complex *out) {
    memset(f->real, 0, f->n * sizeof(float));
    for (int j = 0; j < kh; j++) {
        int y = j - kh / 2;
        if (y < 0) y += f->h;
        for (int i = 0; i < kw; i++) {
            int x = i - kw / 2;
            if (x < 0) x += f->w;
            f->real[(size_t)y * f->w + x] += k[(size_t)j * kw + i];
        }
    }
    if (f->rc.priv) rowcol_forward(f, f->real, out);
    else fftwf_execute_dft_r2c(f->fwd, f->real, out);
}

void ub__bfft_grad_denominator(const ub__bfft *f, float *out) {
    const double two_pi = 6.28318530717958647692;
    for (int y = 0; y < f->h; y++) {
        const double cy = 2.0 - 2.0 * cos(two_pi * y / f->h);
        for (int x = 0; x < f->cw; x++)
            out[(size_t)y * f->cw + x] = (float)(cy + 2.0 - 2.0 * cos(two_pi * x / f->w));
    }
}
