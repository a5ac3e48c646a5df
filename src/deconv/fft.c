/* deconv/fft.c — the FFT helpers of deconvolution (STABLE: the blind estimation uses them too;
   see deconv/internal.h for the contract, and add rather than change).

   A 2-D real transform is done as rows then columns: an r2c 1-D plan on every real row, then
   in-place complex plans on chunks of COL_CHUNK columns (and one for the remaining columns);
   the inverse runs the columns first, then a c2r plan per row (scaling by 1/(pw ph) while copying
   out). Rows and chunks are spread over the context's threads with a static schedule; every
   1-D plan is applied to the same piece of data whichever thread runs it, so results are
   bit-identical for any thread count (FFTW's own threads are not used: their plans depend on the
   thread count). Plans are made with FFTW_ESTIMATE under ub__fftw_lock. */
#include <fftw3.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "deconv/internal.h"

enum { COL_CHUNK = 16, ROW_ALIGN = 16 /* floats: 64 bytes */, CPLX_ALIGN = 8 /* complex numbers: 64 bytes */ };
enum { FFT_MAX_SIDE = 1 << 24, PARALLEL_MIN_CELLS = 1 << 18 };

typedef struct fft_plans {
    fftwf_plan row_fwd, row_inv;   /* one row, out of place */
    fftwf_plan col_fwd, col_inv;   /* COL_CHUNK columns in place; NULL when cw < COL_CHUNK */
    fftwf_plan tail_fwd, tail_inv; /* the last cw % COL_CHUNK columns; NULL when none */
    int tail;
} fft_plans;

static int64_t round_up(int64_t n, int64_t m) { return (n + m - 1) / m * m; }

static int smooth7(int64_t m) {
    static const int primes[] = {2, 3, 5, 7};
    for (int i = 0; i < 4; i++)
        while (m % primes[i] == 0) m /= primes[i];
    return m == 1;
}

int64_t ub__fft_good_size(int64_t n) {
    if (n <= 1) return 1;
    int64_t m = n + (n & 1);
    while (!smooth7(m)) m += 2;
    return m;
}

void ub__deconv_pad_size(int64_t w, int64_t h, int kw, int kh, int64_t *pw, int64_t *ph) {
    *pw = ub__fft_good_size(w + kw - 1);
    *ph = ub__fft_good_size(h + kh - 1);
}

static void plans_destroy(fft_plans *p) {
    fftwf_plan *all[] = {&p->row_fwd, &p->row_inv, &p->col_fwd, &p->col_inv, &p->tail_fwd, &p->tail_inv};
    ub__fftw_lock();
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) {
        if (*all[i]) fftwf_destroy_plan(*all[i]);
        *all[i] = NULL;
    }
    ub__fftw_unlock();
}

void ub__fft2_free(ub__fft2 *f) {
    if (!f || !f->priv) return;
    plans_destroy(f->priv);
    free(f->priv);
    f->priv = NULL;
}

float *ub__fft2_real(const ub__fft2 *f) { return ub__calloc_huge((size_t)(f->ph * f->rs), sizeof(float)); }
float *ub__fft2_spectrum(const ub__fft2 *f) { return ub__calloc_huge((size_t)(f->ph * f->cs), 2 * sizeof(float)); }

ub_status ub__fft2_init(ub_ctx *ctx, ub__fft2 *f, int64_t pw, int64_t ph) {
    memset(f, 0, sizeof *f);
    if (pw < 1 || ph < 1 || pw > FFT_MAX_SIDE || ph > FFT_MAX_SIDE)
        return ub__fail(ctx, UB_ERR_LIMIT, "deconvolve: a %lldx%lld FFT is out of range", (long long)pw,
                        (long long)ph);
    size_t cells;
    f->pw = pw, f->ph = ph;
    f->rs = round_up(pw, ROW_ALIGN);
    f->cw = pw / 2 + 1;
    /* an odd number of 64-byte lines per row keeps a column's elements off few cache sets */
    f->cs = round_up(f->cw, CPLX_ALIGN);
    if ((f->cs / CPLX_ALIGN) % 2 == 0) f->cs += CPLX_ALIGN;
    /* small planes on one thread: a parallel region per pass costs more than it saves there, and far
       more on a loaded machine, where OpenMP's waiting threads spin (results are the same either way) */
    f->threads = ub_ctx_threads(ctx) > 0 ? ub_ctx_threads(ctx) : 1;
    if ((double)pw * (double)ph < PARALLEL_MIN_CELLS) f->threads = 1;
    if (!ub__mul_size((size_t)ph, (size_t)(2 * f->cs + f->rs), &cells) || cells > (size_t)INT_MAX)
        return ub__fail(ctx, UB_ERR_LIMIT, "deconvolve: a %lldx%lld FFT is too large", (long long)pw, (long long)ph);
    fft_plans *p = calloc(1, sizeof *p);
    float *row = ub__fft2_real(f);
    float *spec = ub__fft2_spectrum(f);
    if (!p || !row || !spec) {
        free(p), ub__free(row), ub__free(spec);
        return ub__fail(ctx, UB_ERR_NOMEM, "deconvolve: out of memory for a %lldx%lld FFT", (long long)pw,
                        (long long)ph);
    }
    fftwf_complex *buf = (fftwf_complex *)spec;
    const int n = (int)ph, cs = (int)f->cs;
    const unsigned flags = FFTW_ESTIMATE;
    p->tail = (int)(f->cw % COL_CHUNK);
    ub__fftw_lock();
    /* single-threaded plans whatever some other code of the process asked FFTW for (see the top) */
    const int planner_threads = fftwf_planner_nthreads();
    if (planner_threads != 1) fftwf_plan_with_nthreads(1);
    p->row_fwd = fftwf_plan_dft_r2c_1d((int)pw, row, buf, flags);
    p->row_inv = fftwf_plan_dft_c2r_1d((int)pw, buf, row, flags);
    if (f->cw >= COL_CHUNK) {
        p->col_fwd = fftwf_plan_many_dft(1, &n, COL_CHUNK, buf, NULL, cs, 1, buf, NULL, cs, 1, FFTW_FORWARD, flags);
        p->col_inv = fftwf_plan_many_dft(1, &n, COL_CHUNK, buf, NULL, cs, 1, buf, NULL, cs, 1, FFTW_BACKWARD, flags);
    }
    if (p->tail) {
        fftwf_complex *at = buf + (f->cw - p->tail);
        p->tail_fwd = fftwf_plan_many_dft(1, &n, p->tail, at, NULL, cs, 1, at, NULL, cs, 1, FFTW_FORWARD, flags);
        p->tail_inv = fftwf_plan_many_dft(1, &n, p->tail, at, NULL, cs, 1, at, NULL, cs, 1, FFTW_BACKWARD, flags);
    }
    if (planner_threads != 1) fftwf_plan_with_nthreads(planner_threads);
    ub__fftw_unlock();
    ub__free(row);
    ub__free(spec);
    f->priv = p;
    if (!p->row_fwd || !p->row_inv || (f->cw >= COL_CHUNK && (!p->col_fwd || !p->col_inv)) ||
        (p->tail && (!p->tail_fwd || !p->tail_inv))) {
        ub__fft2_free(f);
        return ub__fail(ctx, UB_ERR_NOMEM, "deconvolve: FFTW could not plan a %lldx%lld transform", (long long)pw,
                        (long long)ph);
    }
    return UB_OK;
}

static void columns(const ub__fft2 *f, float *spec, int forward) {
    const fft_plans *p = f->priv;
    const int64_t chunks = (f->cw + COL_CHUNK - 1) / COL_CHUNK;
    fftwf_complex *buf = (fftwf_complex *)spec;
#pragma omp parallel for schedule(static) num_threads(f->threads)
    for (int64_t c = 0; c < chunks; c++) {
        const int64_t c0 = c * COL_CHUNK;
        const int tail = c0 + COL_CHUNK > f->cw;
        fftwf_plan plan = forward ? (tail ? p->tail_fwd : p->col_fwd) : (tail ? p->tail_inv : p->col_inv);
        fftwf_execute_dft(plan, buf + c0, buf + c0);
    }
}

void ub__fft2_forward(const ub__fft2 *f, const float *real, float *spec) {
    const fft_plans *p = f->priv;
#pragma omp parallel for schedule(static) num_threads(f->threads)
    for (int64_t y = 0; y < f->ph; y++)
        fftwf_execute_dft_r2c(p->row_fwd, (float *)real + y * f->rs, (fftwf_complex *)spec + y * f->cs);
    columns(f, spec, 1);
}

void ub__fft2_inverse(const ub__fft2 *f, float *spec, float *real) {
    const fft_plans *p = f->priv;
    columns(f, spec, 0);
    const float scale = (float)(1.0 / ((double)f->pw * (double)f->ph));
#pragma omp parallel for schedule(static) num_threads(f->threads)
    for (int64_t y = 0; y < f->ph; y++) {
        float *row = real + y * f->rs;
        fftwf_execute_dft_c2r(p->row_inv, (fftwf_complex *)spec + y * f->cs, row);
        for (int64_t x = 0; x < f->pw; x++) row[x] *= scale;
    }
}

ub_status ub__fft2_otf(ub_ctx *ctx, const ub__fft2 *f, const ub_kernel *k, float *spec) {
    if (k->width > f->pw || k->height > f->ph)
        return ub__fail(ctx, UB_ERR_INVALID, "deconvolve: a %dx%d kernel does not fit a %lldx%lld FFT", k->width,
                        k->height, (long long)f->pw, (long long)f->ph);
    float *real = ub__fft2_real(f);
    if (!real) return ub__fail(ctx, UB_ERR_NOMEM, "deconvolve: out of memory");
    const int cx = k->width / 2, cy = k->height / 2;
    for (int j = 0; j < k->height; j++) {
        const int64_t y = (j - cy + f->ph) % f->ph;
        for (int i = 0; i < k->width; i++) {
            const int64_t x = (i - cx + f->pw) % f->pw;
            real[y * f->rs + x] += k->data[(size_t)j * (size_t)k->width + (size_t)i];
        }
    }
    ub__fft2_forward(f, real, spec);
    ub__free(real);
    return UB_OK;
}

void ub__fft2_mul(const ub__fft2 *f, float *spec, const float *otf, int conj_otf) {
    const float sign = conj_otf ? -1.0f : 1.0f;
#pragma omp parallel for schedule(static) num_threads(f->threads)
    for (int64_t y = 0; y < f->ph; y++) {
        float *restrict s = spec + 2 * y * f->cs;
        const float *restrict o = otf + 2 * y * f->cs;
        for (int64_t c = 0; c < f->cw; c++) {
            const float sr = s[2 * c], si = s[2 * c + 1], orr = o[2 * c], oi = sign * o[2 * c + 1];
            s[2 * c] = sr * orr - si * oi;
            s[2 * c + 1] = sr * oi + si * orr;
        }
    }
}

void ub__extend_zero(const ub__fft2 *f, const float *img, int64_t w, int64_t h, float *dst) {
#pragma omp parallel for schedule(static) num_threads(f->threads)
    for (int64_t y = 0; y < f->ph; y++) {
        float *row = dst + y * f->rs;
        if (y < h) {
            memcpy(row, img + y * w, (size_t)w * sizeof(float));
            memset(row + w, 0, (size_t)(f->rs - w) * sizeof(float));
        } else memset(row, 0, (size_t)f->rs * sizeof(float));
    }
}

/* Weight of the far edge at step j of a run of n padded samples: a raised cosine from 0 to 1. */
static float ramp(int64_t j, int64_t n) {
    const double t = ((double)j + 0.5) / (double)n;
    return (float)(0.5 - 0.5 * cos(3.14159265358979323846 * t));
}

void ub__extend_smooth(const ub__fft2 *f, const float *img, int64_t w, int64_t h, float *dst) {
    const int64_t nx = f->pw - w, ny = f->ph - h;
    /* rows of the image: copy, then columns w .. pw-1 */
#pragma omp parallel for schedule(static) num_threads(f->threads)
    for (int64_t y = 0; y < h; y++) {
        float *row = dst + y * f->rs;
        memcpy(row, img + y * w, (size_t)w * sizeof(float));
        for (int64_t j = 0; j < nx; j++) {
            const float right = row[ub__reflect(w - 1 - j, w)], left = row[ub__reflect(nx - 1 - j, w)];
            const float s = ramp(j, nx);
            row[w + j] = (1.0f - s) * right + s * left;
        }
        for (int64_t x = f->pw; x < f->rs; x++) row[x] = 0.0f;
    }
    /* rows h .. ph-1, every column (the padded ones included) */
#pragma omp parallel for schedule(static) num_threads(f->threads)
    for (int64_t j = 0; j < ny; j++) {
        const float *bottom = dst + ub__reflect(h - 1 - j, h) * f->rs, *top = dst + ub__reflect(ny - 1 - j, h) * f->rs;
        const float s = ramp(j, ny);
        float *row = dst + (h + j) * f->rs;
        for (int64_t x = 0; x < f->pw; x++) row[x] = (1.0f - s) * bottom[x] + s * top[x];
        for (int64_t x = f->pw; x < f->rs; x++) row[x] = 0.0f;
    }
}
