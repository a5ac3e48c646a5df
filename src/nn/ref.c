/* nn/ref.c — RBNet's layers as plain loops in double precision: the
   specification (nn/ref.h) that the fast float layers are tested against and
   that finite differences test. Clarity over speed: every loop is the
   formula of the header written out, no blocking, no threads, no allocation
   (the backward passes of SE and SA recompute small sums instead of keeping
   scratch buffers, so that no function here can fail). */
#include "nn/ref.h"

#include <math.h>

static double sigmoid(double v) { return 1.0 / (1.0 + exp(-v)); }

/* Index of element (n, c, y, x) of an (N, C, H, W) tensor. */
static size_t at4(int n, int c, int y, int x, int C, int H, int W) {
    return (((size_t)n * (size_t)C + (size_t)c) * (size_t)H + (size_t)y) * (size_t)W + (size_t)x;
}

static int conv_out_size(int size, int K, int stride) { return (size + 2 * (K / 2) - K) / stride + 1; }

/* ---------------------------------------------------------------- conv2d */

void ub__conv2d_forward_ref(double *out, const double *in, const double *weight, const double *bias, int N,
                            int Cin, int H, int W, int Cout, int K, int stride) {
    const int pad = K / 2, Ho = conv_out_size(H, K, stride), Wo = conv_out_size(W, K, stride);
    for (int n = 0; n < N; n++)
        for (int o = 0; o < Cout; o++)
            for (int y = 0; y < Ho; y++)
                for (int x = 0; x < Wo; x++) {
                    double sum = bias ? bias[o] : 0.0;
                    for (int i = 0; i < Cin; i++)
                        for (int ky = 0; ky < K; ky++) {
                            const int iy = y * stride + ky - pad;
                            if (iy < 0 || iy >= H) continue; /* zero padding */
                            for (int kx = 0; kx < K; kx++) {
                                const int ix = x * stride + kx - pad;
                                if (ix < 0 || ix >= W) continue;
                                sum += weight[at4(o, i, ky, kx, Cin, K, K)] * in[at4(n, i, iy, ix, Cin, H, W)];
                            }
                        }
                    out[at4(n, o, y, x, Cout, Ho, Wo)] = sum;
                }
}

/* Every product w[o,i,ky,kx] * in[n,i,iy,ix] of the forward sum sends dout[n,o,y,x] back to both factors. */
void ub__conv2d_backward_ref(double *din, double *dweight, double *dbias, const double *dout, const double *in,
                             const double *weight, int N, int Cin, int H, int W, int Cout, int K, int stride) {
    const int pad = K / 2, Ho = conv_out_size(H, K, stride), Wo = conv_out_size(W, K, stride);
    for (int n = 0; n < N; n++)
        for (int o = 0; o < Cout; o++)
            for (int y = 0; y < Ho; y++)
                for (int x = 0; x < Wo; x++) {
                    const double g = dout[at4(n, o, y, x, Cout, Ho, Wo)];
                    if (dbias) dbias[o] += g;
                    for (int i = 0; i < Cin; i++)
                        for (int ky = 0; ky < K; ky++) {
                            const int iy = y * stride + ky - pad;
                            if (iy < 0 || iy >= H) continue;
                            for (int kx = 0; kx < K; kx++) {
                                const int ix = x * stride + kx - pad;
                                if (ix < 0 || ix >= W) continue;
                                const size_t wi = at4(o, i, ky, kx, Cin, K, K), xi = at4(n, i, iy, ix, Cin, H, W);
                                if (din) din[xi] += weight[wi] * g;
                                if (dweight) dweight[wi] += in[xi] * g;
                            }
                        }
                }
}

/* ---------------------------------------------------------------- conv-transpose 2x2, stride 2 */

void ub__convT2_forward_ref(double *out, const double *in, const double *weight, const double *bias, int N, int Cin,
                            int H, int W, int Cout) {
    const int Ho = 2 * H, Wo = 2 * W;
    for (int n = 0; n < N; n++)
        for (int o = 0; o < Cout; o++)
            for (int y = 0; y < Ho; y++)
                for (int x = 0; x < Wo; x++) {
                    /* output pixel (y, x) comes from input pixel (y/2, x/2) through tap (y%2, x%2) only */
                    double sum = bias ? bias[o] : 0.0;
                    for (int i = 0; i < Cin; i++)
                        sum += weight[at4(i, o, y % 2, x % 2, Cout, 2, 2)] * in[at4(n, i, y / 2, x / 2, Cin, H, W)];
                    out[at4(n, o, y, x, Cout, Ho, Wo)] = sum;
                }
}

void ub__convT2_backward_ref(double *din, double *dweight, double *dbias, const double *dout, const double *in,
                             const double *weight, int N, int Cin, int H, int W, int Cout) {
    const int Ho = 2 * H, Wo = 2 * W;
    for (int n = 0; n < N; n++)
        for (int o = 0; o < Cout; o++)
            for (int y = 0; y < Ho; y++)
                for (int x = 0; x < Wo; x++) {
                    const double g = dout[at4(n, o, y, x, Cout, Ho, Wo)];
                    if (dbias) dbias[o] += g;
                    for (int i = 0; i < Cin; i++) {
                        const size_t wi = at4(i, o, y % 2, x % 2, Cout, 2, 2), xi = at4(n, i, y / 2, x / 2, Cin, H, W);
                        if (din) din[xi] += weight[wi] * g;
                        if (dweight) dweight[wi] += in[xi] * g;
                    }
                }
}

/* ---------------------------------------------------------------- relu, linear */

void ub__relu_forward_ref(double *out, const double *in, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = in[i] > 0 ? in[i] : 0.0;
}

void ub__relu_backward_ref(double *din, const double *dout, const double *in, size_t n) {
    if (!din) return;
    for (size_t i = 0; i < n; i++)
        if (in[i] > 0) din[i] += dout[i];
}

void ub__linear_forward_ref(double *out, const double *in, const double *weight, const double *bias, int N, int In,
                            int Out) {
    for (int n = 0; n < N; n++)
        for (int o = 0; o < Out; o++) {
            double sum = bias ? bias[o] : 0.0;
            for (int i = 0; i < In; i++) sum += weight[(size_t)o * In + i] * in[(size_t)n * In + i];
            out[(size_t)n * Out + o] = sum;
        }
}

void ub__linear_backward_ref(double *din, double *dweight, double *dbias, const double *dout, const double *in,
                             const double *weight, int N, int In, int Out) {
    for (int n = 0; n < N; n++)
        for (int o = 0; o < Out; o++) {
            const double g = dout[(size_t)n * Out + o];
            if (dbias) dbias[o] += g;
            for (int i = 0; i < In; i++) {
                if (din) din[(size_t)n * In + i] += weight[(size_t)o * In + i] * g;
                if (dweight) dweight[(size_t)o * In + i] += in[(size_t)n * In + i] * g;
            }
        }
}

/* ---------------------------------------------------------------- SE: channel attention */

/* The cache of one batch: mean (N, C), z = relu(fc1(mean)) (N, R), s = sigmoid(fc2(z)) (N, C). */
typedef struct se_cache {
    double *mean, *z, *s;
} se_cache;

static se_cache se_cache_view(const double *cache, int N, int C, int R) {
    double *base = (double *)cache; /* the backward pass only reads through it */
    se_cache v = {base, base + (size_t)N * C, base + (size_t)N * C + (size_t)N * R};
    return v;
}

size_t ub__se_cache_size(int N, int C, int R) { return (size_t)N * ((size_t)C + (size_t)R + (size_t)C); }

void ub__se_forward_ref(double *out, double *cache, const double *in, const double *w1, const double *b1,
                        const double *w2, const double *b2, int N, int C, int H, int W, int R) {
    const size_t hw = (size_t)H * W;
    const se_cache v = se_cache_view(cache, N, C, R);
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++) {
            const double *plane = in + at4(n, c, 0, 0, C, H, W);
            double sum = 0.0;
            for (size_t p = 0; p < hw; p++) sum += plane[p];
            v.mean[(size_t)n * C + c] = sum / (double)hw;
        }
    ub__linear_forward_ref(v.z, v.mean, w1, b1, N, C, R);
    ub__relu_forward_ref(v.z, v.z, (size_t)N * R); /* z > 0 exactly where fc1's output was > 0 */
    ub__linear_forward_ref(v.s, v.z, w2, b2, N, R, C);
    for (size_t i = 0; i < (size_t)N * C; i++) v.s[i] = sigmoid(v.s[i]);
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++) {
            const double s = v.s[(size_t)n * C + c];
            const size_t base = at4(n, c, 0, 0, C, H, W);
            for (size_t p = 0; p < hw; p++) out[base + p] = in[base + p] * s;
        }
}

/* The gradient of fc2's pre-activation for (n, c): dL/ds = sum_hw dout * x, times sigmoid' = s (1 - s). */
static double se_dfc2(const double *dout, const double *in, const se_cache *v, int n, int c, int C, int H, int W) {
    const size_t base = at4(n, c, 0, 0, C, H, W), hw = (size_t)H * W;
    double ds = 0.0;
    for (size_t p = 0; p < hw; p++) ds += dout[base + p] * in[base + p];
    const double s = v->s[(size_t)n * C + c];
    return ds * s * (1.0 - s);
}

void ub__se_backward_ref(double *din, double *dw1, double *db1, double *dw2, double *db2, const double *dout,
                         const double *cache, const double *in, const double *w1, const double *w2, int N, int C,
                         int H, int W, int R) {
    const size_t hw = (size_t)H * W;
    const se_cache v = se_cache_view(cache, N, C, R);
    for (int n = 0; n < N; n++) {
        /* the direct path: out = x * s */
        if (din)
            for (int c = 0; c < C; c++) {
                const double s = v.s[(size_t)n * C + c];
                const size_t base = at4(n, c, 0, 0, C, H, W);
                for (size_t p = 0; p < hw; p++) din[base + p] += dout[base + p] * s;
            }
        /* fc2 */
        for (int c = 0; c < C; c++) {
            const double g = se_dfc2(dout, in, &v, n, c, C, H, W);
            if (db2) db2[c] += g;
            if (dw2)
                for (int r = 0; r < R; r++) dw2[(size_t)c * R + r] += g * v.z[(size_t)n * R + r];
        }
        /* fc1, one hidden unit at a time (recomputing fc2's gradient keeps this free of scratch memory) */
        for (int r = 0; r < R; r++) {
            if (!(v.z[(size_t)n * R + r] > 0)) continue; /* relu: no gradient through a clipped unit */
            double g = 0.0;
            for (int c = 0; c < C; c++) g += w2[(size_t)c * R + r] * se_dfc2(dout, in, &v, n, c, C, H, W);
            if (db1) db1[r] += g;
            for (int c = 0; c < C; c++) {
                if (dw1) dw1[(size_t)r * C + c] += g * v.mean[(size_t)n * C + c];
                if (!din) continue;
                /* the mean spreads its gradient evenly over the plane */
                const double dmean = w1[(size_t)r * C + c] * g / (double)hw;
                const size_t base = at4(n, c, 0, 0, C, H, W);
                for (size_t p = 0; p < hw; p++) din[base + p] += dmean;
            }
        }
    }
}

/* ---------------------------------------------------------------- SA: spatial attention */

/* The cache of one batch: pooled (N, 2, H, W) = [mean_c, max_c], attention a (N, 1, H, W),
   argmax (N, 1, H, W): the first channel attaining the max, as a double. */
typedef struct sa_cache {
    double *pooled, *att, *argmax;
} sa_cache;

static sa_cache sa_cache_view(const double *cache, int N, int H, int W) {
    double *base = (double *)cache; /* the backward pass only reads through it */
    const size_t plane = (size_t)N * H * W;
    sa_cache v = {base, base + 2 * plane, base + 3 * plane};
    return v;
}

size_t ub__sa_cache_size(int N, int H, int W) { return (size_t)4 * N * H * W; }

void ub__sa_forward_ref(double *out, double *cache, const double *in, const double *w, int N, int C, int H, int W,
                        int K) {
    const sa_cache v = sa_cache_view(cache, N, H, W);
    for (int n = 0; n < N; n++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                double sum = 0.0, max = in[at4(n, 0, y, x, C, H, W)];
                int argmax = 0;
                for (int c = 0; c < C; c++) {
                    const double val = in[at4(n, c, y, x, C, H, W)];
                    sum += val;
                    if (val > max) { /* strictly greater: a tie keeps the first channel */
                        max = val;
                        argmax = c;
                    }
                }
                v.pooled[at4(n, 0, y, x, 2, H, W)] = sum / C;
                v.pooled[at4(n, 1, y, x, 2, H, W)] = max;
                v.argmax[at4(n, 0, y, x, 1, H, W)] = argmax;
            }
    ub__conv2d_forward_ref(v.att, v.pooled, w, NULL, N, 2, H, W, 1, K, 1);
    for (size_t i = 0; i < (size_t)N * H * W; i++) v.att[i] = sigmoid(v.att[i]);
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++) {
                    const size_t i = at4(n, c, y, x, C, H, W);
                    out[i] = in[i] * v.att[at4(n, 0, y, x, 1, H, W)];
                }
}

/* Each attention pixel (n, y, x): its pre-activation gradient (sum_c dout * x) * a (1 - a) flows into the
   conv weight, and through the conv's taps into the pooled pixels, which pass it on to the input: the mean
   evenly to every channel, the max to the channel that attained it. */
void ub__sa_backward_ref(double *din, double *dw, const double *dout, const double *cache, const double *in,
                         const double *w, int N, int C, int H, int W, int K) {
    const sa_cache v = sa_cache_view(cache, N, H, W);
    const int pad = K / 2;
    for (int n = 0; n < N; n++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                const double a = v.att[at4(n, 0, y, x, 1, H, W)];
                double da = 0.0;
                for (int c = 0; c < C; c++) {
                    const size_t i = at4(n, c, y, x, C, H, W);
                    da += dout[i] * in[i];
                    if (din) din[i] += dout[i] * a; /* the direct path: out = x * a */
                }
                const double g = da * a * (1.0 - a);
                for (int ky = 0; ky < K; ky++) {
                    const int py = y + ky - pad;
                    if (py < 0 || py >= H) continue;
                    for (int kx = 0; kx < K; kx++) {
                        const int px = x + kx - pad;
                        if (px < 0 || px >= W) continue;
                        const size_t w_mean = at4(0, 0, ky, kx, 2, K, K), w_max = at4(0, 1, ky, kx, 2, K, K);
                        if (dw) {
                            dw[w_mean] += g * v.pooled[at4(n, 0, py, px, 2, H, W)];
                            dw[w_max] += g * v.pooled[at4(n, 1, py, px, 2, H, W)];
                        }
                        if (!din) continue;
                        const double dmean = w[w_mean] * g / C;
                        for (int c = 0; c < C; c++) din[at4(n, c, py, px, C, H, W)] += dmean;
                        const int argmax = (int)v.argmax[at4(n, 0, py, px, 1, H, W)];
                        din[at4(n, argmax, py, px, C, H, W)] += w[w_max] * g;
                    }
                }
            }
}

/* ---------------------------------------------------------------- reflect padding, bottom/right */

/* PyTorch's "reflect": index H maps to H - 2, H + 1 to H - 3, ... (the edge row is not repeated). */
static int reflect_index(int i, int size) { return i < size ? i : 2 * (size - 1) - i; }

void ub__pad_reflect_forward_ref(double *out, const double *in, int N, int C, int H, int W, int Hp, int Wp) {
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int y = 0; y < Hp; y++)
                for (int x = 0; x < Wp; x++)
                    out[at4(n, c, y, x, C, Hp, Wp)] = in[at4(n, c, reflect_index(y, H), reflect_index(x, W), C, H, W)];
}

void ub__pad_reflect_backward_ref(double *din, const double *dout, int N, int C, int H, int W, int Hp, int Wp) {
    if (!din) return;
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int y = 0; y < Hp; y++)
                for (int x = 0; x < Wp; x++)
                    din[at4(n, c, reflect_index(y, H), reflect_index(x, W), C, H, W)] += dout[at4(n, c, y, x, C, Hp, Wp)];
}
