/* nn/naf_blk.c — the NAF block's float kernels on oneDNN's activation layouts (see blocked.h): LayerNorm2d,
   SimpleGate, simplified channel attention and the per-channel scale. Element (n, c, y, x) is at
   ub__blk_at(l, n, c, y, x); loops run over pixels (or channels, for the reductions that give parameter
   gradients), so that each output is computed by one thread in a fixed order. */
#include "nn/blocked.h"

#include <math.h>
#include <string.h>

#define LN_EPS 1e-6

/* Zeros in the padding channels of pixel (n, y, x). */
static void zero_padding(const ub__blk *l, float *out, int n, int y, int x) {
    for (int c = l->c; c < l->cb * l->B; c++) out[ub__blk_at(l, n, c, y, x)] = 0.0f;
}

/* ---------------------------------------------------------------- LayerNorm2d */

size_t ub__ln_cache_floats(const ub__blk *l) { return (size_t)2 * l->n * l->h * l->w; }

void ub__ln_forward_blk(const ub__blk *l, float *out, const float *in, const float *w, const float *b, float *cache,
                        int threads) {
    const long pixels = (long)l->n * l->h * l->w;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (long p = 0; p < pixels; p++) {
        const int n = (int)(p / ((long)l->h * l->w)), y = (int)(p / l->w % l->h), x = (int)(p % l->w);
        double mu = 0, var = 0;
        for (int c = 0; c < l->c; c++) mu += in[ub__blk_at(l, n, c, y, x)];
        mu /= l->c;
        for (int c = 0; c < l->c; c++) {
            const double d = in[ub__blk_at(l, n, c, y, x)] - mu;
            var += d * d;
        }
        var /= l->c;
        const double rstd = 1.0 / sqrt(var + LN_EPS);
        for (int c = 0; c < l->c; c++) {
            const size_t i = ub__blk_at(l, n, c, y, x);
            out[i] = (float)((in[i] - mu) * rstd * w[c] + b[c]);
        }
        zero_padding(l, out, n, y, x);
        cache[2 * p] = (float)mu, cache[2 * p + 1] = (float)rstd;
    }
}

void ub__ln_backward_blk(const ub__blk *l, float *din, float *dw, float *db, const float *dout, const float *in,
                         const float *w, const float *cache, int threads) {
    const long pixels = (long)l->n * l->h * l->w;
    /* the parameters: per channel, over every pixel in order */
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int c = 0; c < l->c; c++) {
        double sw = 0, sb = 0;
        for (long p = 0; p < pixels; p++) {
            const int n = (int)(p / ((long)l->h * l->w)), y = (int)(p / l->w % l->h), x = (int)(p % l->w);
            const size_t i = ub__blk_at(l, n, c, y, x);
            sw += (double)dout[i] * (in[i] - cache[2 * p]) * cache[2 * p + 1];
            sb += dout[i];
        }
        if (dw) dw[c] += (float)sw;
        if (db) db[c] += (float)sb;
    }
    if (!din) return;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (long p = 0; p < pixels; p++) {
        const int n = (int)(p / ((long)l->h * l->w)), y = (int)(p / l->w % l->h), x = (int)(p % l->w);
        const double mu = cache[2 * p], rstd = cache[2 * p + 1];
        double mg = 0, mgx = 0;
        for (int c = 0; c < l->c; c++) {
            const size_t i = ub__blk_at(l, n, c, y, x);
            const double g = (double)dout[i] * w[c];
            mg += g, mgx += g * (in[i] - mu) * rstd;
        }
        mg /= l->c, mgx /= l->c;
        for (int c = 0; c < l->c; c++) {
            const size_t i = ub__blk_at(l, n, c, y, x);
            din[i] += (float)(rstd * ((double)dout[i] * w[c] - mg - (in[i] - mu) * rstd * mgx));
        }
    }
}

/* ---------------------------------------------------------------- SimpleGate */

void ub__gate_forward_blk(const ub__blk *li, const ub__blk *lo, float *out, const float *in, int threads) {
    const long pixels = (long)lo->n * lo->h * lo->w;
    const int C = lo->c;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (long p = 0; p < pixels; p++) {
        const int n = (int)(p / ((long)lo->h * lo->w)), y = (int)(p / lo->w % lo->h), x = (int)(p % lo->w);
        for (int c = 0; c < C; c++)
            out[ub__blk_at(lo, n, c, y, x)] = in[ub__blk_at(li, n, c, y, x)] * in[ub__blk_at(li, n, C + c, y, x)];
        zero_padding(lo, out, n, y, x);
    }
}

void ub__gate_backward_blk(const ub__blk *li, const ub__blk *lo, float *din, const float *dout, const float *in,
                           int threads) {
    const long pixels = (long)lo->n * lo->h * lo->w;
    const int C = lo->c;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (long p = 0; p < pixels; p++) {
        const int n = (int)(p / ((long)lo->h * lo->w)), y = (int)(p / lo->w % lo->h), x = (int)(p % lo->w);
        for (int c = 0; c < C; c++) {
            const size_t a = ub__blk_at(li, n, c, y, x), b = ub__blk_at(li, n, C + c, y, x);
            const float g = dout[ub__blk_at(lo, n, c, y, x)];
            din[a] += g * in[b];
            din[b] += g * in[a];
        }
    }
}

/* ---------------------------------------------------------------- SCA */

size_t ub__sca_cache_floats(const ub__blk *l) { return (size_t)4 * l->n * l->c; }

/* sum over the plane of channel c of image n (in double, rows in order) of a[i] (* b[i] when b). */
static double plane_sum(const ub__blk *l, const float *a, const float *b, int n, int c) {
    double s = 0;
    for (int y = 0; y < l->h; y++)
        for (int x = 0; x < l->w; x++) {
            const size_t i = ub__blk_at(l, n, c, y, x);
            s += b ? (double)a[i] * b[i] : a[i];
        }
    return s;
}

void ub__sca_forward_blk(const ub__blk *l, float *out, const float *in, const float *given_mean, const float *w,
                         const float *b, float *cache, int threads) {
    const int N = l->n, C = l->c;
    float *m = cache, *s = cache + (size_t)N * C;
    const double hw = (double)l->h * l->w;
    if (given_mean) memcpy(m, given_mean, sizeof(float) * (size_t)N * C);
    else {
#pragma omp parallel for num_threads(threads) schedule(static)
        for (int k = 0; k < N * C; k++) m[k] = (float)(plane_sum(l, in, NULL, k / C, k % C) / hw);
    }
    for (int n = 0; n < N; n++)
        for (int o = 0; o < C; o++) {
            double v = b[o];
            for (int i = 0; i < C; i++) v += (double)w[(size_t)o * C + i] * m[(size_t)n * C + i];
            s[(size_t)n * C + o] = (float)v;
        }
    const long pixels = (long)N * l->h * l->w;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (long p = 0; p < pixels; p++) {
        const int n = (int)(p / ((long)l->h * l->w)), y = (int)(p / l->w % l->h), x = (int)(p % l->w);
        for (int c = 0; c < C; c++) {
            const size_t i = ub__blk_at(l, n, c, y, x);
            out[i] = in[i] * s[(size_t)n * C + c];
        }
        zero_padding(l, out, n, y, x);
    }
}

void ub__sca_backward_blk(const ub__blk *l, float *din, float *dw, float *db, const float *dout, const float *in,
                          const float *w, float *cache, int threads) {
    const int N = l->n, C = l->c;
    const float *m = cache, *s = cache + (size_t)N * C;
    float *ds = cache + (size_t)2 * N * C, *dm = cache + (size_t)3 * N * C;
    const double hw = (double)l->h * l->w;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int k = 0; k < N * C; k++) ds[k] = (float)plane_sum(l, dout, in, k / C, k % C);
    for (int o = 0; o < C; o++) {
        double sb = 0;
        for (int n = 0; n < N; n++) sb += ds[(size_t)n * C + o];
        if (db) db[o] += (float)sb;
        for (int i = 0; dw && i < C; i++) {
            double sw = 0;
            for (int n = 0; n < N; n++) sw += (double)ds[(size_t)n * C + o] * m[(size_t)n * C + i];
            dw[(size_t)o * C + i] += (float)sw;
        }
    }
    if (!din) return;
    for (int n = 0; n < N; n++)
        for (int i = 0; i < C; i++) {
            double v = 0;
            for (int o = 0; o < C; o++) v += (double)w[(size_t)o * C + i] * ds[(size_t)n * C + o];
            dm[(size_t)n * C + i] = (float)(v / hw);
        }
    const long pixels = (long)N * l->h * l->w;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (long p = 0; p < pixels; p++) {
        const int n = (int)(p / ((long)l->h * l->w)), y = (int)(p / l->w % l->h), x = (int)(p % l->w);
        for (int c = 0; c < C; c++) {
            const size_t i = ub__blk_at(l, n, c, y, x);
            din[i] += dout[i] * s[(size_t)n * C + c] + dm[(size_t)n * C + c];
        }
    }
}

/* ---------------------------------------------------------------- per-channel scale */

void ub__scale_forward_blk(const ub__blk *l, float *out, const float *in, const float *w, int threads) {
    const long pixels = (long)l->n * l->h * l->w;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (long p = 0; p < pixels; p++) {
        const int n = (int)(p / ((long)l->h * l->w)), y = (int)(p / l->w % l->h), x = (int)(p % l->w);
        for (int c = 0; c < l->c; c++) {
            const size_t i = ub__blk_at(l, n, c, y, x);
            out[i] = w[c] * in[i];
        }
        zero_padding(l, out, n, y, x);
    }
}

void ub__scale_backward_blk(const ub__blk *l, float *din, float *dw, const float *dout, const float *in,
                            const float *w, int threads) {
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int c = 0; c < l->c; c++) {
        double sw = 0;
        for (int n = 0; n < l->n; n++) sw += plane_sum(l, dout, in, n, c);
        if (dw) dw[c] += (float)sw;
    }
    if (!din) return;
    const long pixels = (long)l->n * l->h * l->w;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (long p = 0; p < pixels; p++) {
        const int n = (int)(p / ((long)l->h * l->w)), y = (int)(p / l->w % l->h), x = (int)(p % l->w);
        for (int c = 0; c < l->c; c++) {
            const size_t i = ub__blk_at(l, n, c, y, x);
            din[i] += dout[i] * w[c];
        }
    }
}
