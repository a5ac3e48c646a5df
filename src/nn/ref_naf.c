/* nn/ref_naf.c — the NAF block's layers (Chen et al. 2022, ../shared/peers/rbnet.py block naf) as plain
   loops in double precision: depthwise convolution, LayerNorm2d, SimpleGate, simplified channel
   attention and the per-channel scale (formulas in nn/ref.h). Forward overwrites, backward accumulates;
   a NULL gradient buffer is skipped. */
#include "nn/ref.h"

#include <math.h>

static size_t at4(int n, int c, int y, int x, int C, int H, int W) {
    return (((size_t)n * (size_t)C + (size_t)c) * (size_t)H + (size_t)y) * (size_t)W + (size_t)x;
}

static int out_size(int size, int K, int stride) { return (size + 2 * (K / 2) - K) / stride + 1; }

/* ---------------------------------------------------------------- depthwise conv2d */

void ub__dwconv2d_forward_ref(double *out, const double *in, const double *weight, const double *bias, int N, int C,
                              int H, int W, int K, int stride) {
    const int pad = K / 2, Ho = out_size(H, K, stride), Wo = out_size(W, K, stride);
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int y = 0; y < Ho; y++)
                for (int x = 0; x < Wo; x++) {
                    double sum = bias ? bias[c] : 0.0;
                    for (int ky = 0; ky < K; ky++) {
                        const int iy = y * stride + ky - pad;
                        if (iy < 0 || iy >= H) continue;
                        for (int kx = 0; kx < K; kx++) {
                            const int ix = x * stride + kx - pad;
                            if (ix < 0 || ix >= W) continue;
                            sum += weight[((size_t)c * K + ky) * K + kx] * in[at4(n, c, iy, ix, C, H, W)];
                        }
                    }
                    out[at4(n, c, y, x, C, Ho, Wo)] = sum;
                }
}

void ub__dwconv2d_backward_ref(double *din, double *dweight, double *dbias, const double *dout, const double *in,
                               const double *weight, int N, int C, int H, int W, int K, int stride) {
    const int pad = K / 2, Ho = out_size(H, K, stride), Wo = out_size(W, K, stride);
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int y = 0; y < Ho; y++)
                for (int x = 0; x < Wo; x++) {
                    const double g = dout[at4(n, c, y, x, C, Ho, Wo)];
                    if (dbias) dbias[c] += g;
                    for (int ky = 0; ky < K; ky++) {
                        const int iy = y * stride + ky - pad;
                        if (iy < 0 || iy >= H) continue;
                        for (int kx = 0; kx < K; kx++) {
                            const int ix = x * stride + kx - pad;
                            if (ix < 0 || ix >= W) continue;
                            const size_t wi = ((size_t)c * K + ky) * K + kx, ii = at4(n, c, iy, ix, C, H, W);
                            if (dweight) dweight[wi] += g * in[ii];
                            if (din) din[ii] += g * weight[wi];
                        }
                    }
                }
}

/* ---------------------------------------------------------------- LayerNorm2d */

size_t ub__layernorm_cache_size(int N, int H, int W) { return (size_t)2 * N * H * W; }

void ub__layernorm_forward_ref(double *out, double *cache, const double *in, const double *w, const double *b, int N,
                               int C, int H, int W) {
    const size_t hw = (size_t)H * W;
    for (int n = 0; n < N; n++)
        for (size_t p = 0; p < hw; p++) {
            const double *x = in + (size_t)n * C * hw + p;
            double mu = 0, var = 0;
            for (int c = 0; c < C; c++) mu += x[c * hw];
            mu /= C;
            for (int c = 0; c < C; c++) var += (x[c * hw] - mu) * (x[c * hw] - mu);
            var /= C;
            const double rstd = 1.0 / sqrt(var + UB__LAYERNORM_EPS);
            for (int c = 0; c < C; c++) out[(size_t)n * C * hw + c * hw + p] = (x[c * hw] - mu) * rstd * w[c] + b[c];
            cache[2 * ((size_t)n * hw + p)] = mu;
            cache[2 * ((size_t)n * hw + p) + 1] = rstd;
        }
}

void ub__layernorm_backward_ref(double *din, double *dw, double *db, const double *dout, const double *cache,
                                const double *in, const double *w, int N, int C, int H, int W) {
    const size_t hw = (size_t)H * W;
    for (int n = 0; n < N; n++)
        for (size_t p = 0; p < hw; p++) {
            const size_t base = (size_t)n * C * hw + p;
            const double mu = cache[2 * ((size_t)n * hw + p)], rstd = cache[2 * ((size_t)n * hw + p) + 1];
            double mean_g = 0, mean_gx = 0; /* means over c of dxhat and dxhat * xhat */
            for (int c = 0; c < C; c++) {
                const double xhat = (in[base + c * hw] - mu) * rstd, g = dout[base + c * hw];
                if (dw) dw[c] += g * xhat;
                if (db) db[c] += g;
                mean_g += g * w[c];
                mean_gx += g * w[c] * xhat;
            }
            mean_g /= C, mean_gx /= C;
            if (!din) continue;
            for (int c = 0; c < C; c++) {
                const double xhat = (in[base + c * hw] - mu) * rstd;
                din[base + c * hw] += rstd * (dout[base + c * hw] * w[c] - mean_g - xhat * mean_gx);
            }
        }
}

/* ---------------------------------------------------------------- SimpleGate */

void ub__gate_forward_ref(double *out, const double *in, int N, int C, size_t HW) {
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (size_t p = 0; p < HW; p++)
                out[((size_t)n * C + c) * HW + p] =
                    in[((size_t)n * 2 * C + c) * HW + p] * in[((size_t)n * 2 * C + C + c) * HW + p];
}

void ub__gate_backward_ref(double *din, const double *dout, const double *in, int N, int C, size_t HW) {
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (size_t p = 0; p < HW; p++) {
                const size_t a = ((size_t)n * 2 * C + c) * HW + p, b = ((size_t)n * 2 * C + C + c) * HW + p;
                const double g = dout[((size_t)n * C + c) * HW + p];
                din[a] += g * in[b];
                din[b] += g * in[a];
            }
}

/* ---------------------------------------------------------------- SCA */

size_t ub__sca_cache_size(int N, int C) { return (size_t)2 * N * C; }

void ub__sca_forward_ref(double *out, double *cache, const double *in, const double *w, const double *b, int N, int C,
                         int H, int W) {
    const size_t hw = (size_t)H * W;
    for (int n = 0; n < N; n++) {
        double *m = cache + (size_t)2 * n * C, *s = m + C;
        for (int c = 0; c < C; c++) {
            double sum = 0;
            for (size_t p = 0; p < hw; p++) sum += in[((size_t)n * C + c) * hw + p];
            m[c] = sum / (double)hw;
        }
        for (int o = 0; o < C; o++) {
            double v = b[o];
            for (int i = 0; i < C; i++) v += w[(size_t)o * C + i] * m[i];
            s[o] = v;
        }
        for (int c = 0; c < C; c++)
            for (size_t p = 0; p < hw; p++) out[((size_t)n * C + c) * hw + p] = in[((size_t)n * C + c) * hw + p] * s[c];
    }
}

void ub__sca_backward_ref(double *din, double *dw, double *db, const double *dout, const double *cache,
                          const double *in, const double *w, int N, int C, int H, int W) {
    const size_t hw = (size_t)H * W;
    for (int n = 0; n < N; n++) {
        const double *m = cache + (size_t)2 * n * C, *s = m + C;
        for (int o = 0; o < C; o++) {
            double ds = 0; /* dL/ds[o] = sum_p dout * x */
            for (size_t p = 0; p < hw; p++) ds += dout[((size_t)n * C + o) * hw + p] * in[((size_t)n * C + o) * hw + p];
            if (db) db[o] += ds;
            for (int i = 0; i < C; i++) {
                if (dw) dw[(size_t)o * C + i] += ds * m[i];
                if (din) { /* through the mean: dm[i] = w[o,i] ds, spread over the plane */
                    const double g = w[(size_t)o * C + i] * ds / (double)hw;
                    for (size_t p = 0; p < hw; p++) din[((size_t)n * C + i) * hw + p] += g;
                }
            }
        }
        if (din)
            for (int c = 0; c < C; c++)
                for (size_t p = 0; p < hw; p++)
                    din[((size_t)n * C + c) * hw + p] += dout[((size_t)n * C + c) * hw + p] * s[c];
    }
}

/* ---------------------------------------------------------------- per-channel scale */

void ub__scale_forward_ref(double *out, const double *in, const double *w, int N, int C, size_t HW) {
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (size_t p = 0; p < HW; p++) out[((size_t)n * C + c) * HW + p] = w[c] * in[((size_t)n * C + c) * HW + p];
}

void ub__scale_backward_ref(double *din, double *dw, const double *dout, const double *in, const double *w, int N,
                            int C, size_t HW) {
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (size_t p = 0; p < HW; p++) {
                const size_t i = ((size_t)n * C + c) * HW + p;
                if (dw) dw[c] += dout[i] * in[i];
                if (din) din[i] += dout[i] * w[c];
            }
}
