/* nn/ref.h — the reference twins of RBNet's layers: plain loops in DOUBLE
   precision, the specification that the fast (oneDNN, float) layers are
   tested against, and precise enough for finite-difference gradient checks.

   Conventions (llm.c style): explicit buffers and shapes, tensors NCHW,
   contiguous, row-major. Forward functions OVERWRITE their output. Backward
   functions ACCUMULATE (+=) into every gradient buffer they are given; a
   NULL gradient buffer is skipped (e.g. no dinput for the first layer).
   Semantics are PyTorch's (../shared/peers/rbnet.py):
   - conv2d: weight (Cout, Cin, K, K), bias (Cout) or NULL, zero padding K/2,
     stride s: Ho = (H + 2*(K/2) - K) / s + 1, likewise Wo.
     out[n,o,y,x] = bias[o] + sum_{i,ky,kx} w[o,i,ky,kx] * in[n,i, y*s+ky-K/2, x*s+kx-K/2]
   - conv_transpose2x2 (stride 2): weight (Cin, Cout, 2, 2), bias (Cout);
     out[n,o,2y+a,2x+b] = bias[o] + sum_i w[i,o,a,b] * in[n,i,y,x]; out is (N, Cout, 2H, 2W).
   - linear: weight (Out, In), bias (Out): out[n,o] = b[o] + sum_i w[o,i] in[n,i].
   - SE (channel attention) with R = max(1, C / reduction):
       m[n,c] = mean_hw x;  z = relu(fc1(m));  s = sigmoid(fc2(z));  out = x * s[n,c]
   - SA (spatial attention), kernel K (7), no bias:
       p[n,0] = mean_c x, p[n,1] = max_c x (ties: the first channel);
       a = sigmoid(conv2d(p, w (1,2,K,K)));  out = x * a[n,0]
   - NAF blocks (nn/ref_naf.c):
     depthwise conv2d (groups = C): weight (C, 1, K, K), bias (C) or NULL, zero padding K/2, stride s:
       out[n,c,y,x] = bias[c] + sum_{ky,kx} w[c,0,ky,kx] * in[n,c, y*s+ky-K/2, x*s+kx-K/2]
     LayerNorm2d over the channels of each pixel: mu, var (biased) over c;
       out = (x - mu) / sqrt(var + 1e-6) * weight[c] + bias[c]
     SimpleGate: in has 2C channels, out[n,c] = in[n,c] * in[n,C+c]
     SCA: m[n,c] = mean_hw x; s[n,o] = b[o] + sum_i w[o,i] m[n,i] (w: (C, C, 1, 1)); out = x * s[n,c]
     scale: out[n,c] = w[c] * in[n,c] (w: (1, C, 1, 1))
   - pad: reflect padding on the bottom and right only (PyTorch "reflect":
     d c b | a b c d ... excludes the edge), to Hp x Wp; crop is its inverse view.
*/
#ifndef UB_NN_REF_H
#define UB_NN_REF_H

#include <stddef.h>

void ub__conv2d_forward_ref(double *out, const double *in, const double *weight, const double *bias, int N,
                            int Cin, int H, int W, int Cout, int K, int stride);
void ub__conv2d_backward_ref(double *din, double *dweight, double *dbias, const double *dout, const double *in,
                             const double *weight, int N, int Cin, int H, int W, int Cout, int K, int stride);

void ub__convT2_forward_ref(double *out, const double *in, const double *weight, const double *bias, int N, int Cin,
                            int H, int W, int Cout);
void ub__convT2_backward_ref(double *din, double *dweight, double *dbias, const double *dout, const double *in,
                             const double *weight, int N, int Cin, int H, int W, int Cout);

void ub__relu_forward_ref(double *out, const double *in, size_t n);
/* din += dout where in > 0 */
void ub__relu_backward_ref(double *din, const double *dout, const double *in, size_t n);

void ub__linear_forward_ref(double *out, const double *in, const double *weight, const double *bias, int N, int In,
                            int Out);
void ub__linear_backward_ref(double *din, double *dweight, double *dbias, const double *dout, const double *in,
                             const double *weight, int N, int In, int Out);

/* SE: w1 (R, C), b1 (R), w2 (C, R), b2 (C). `cache` holds N*(C + R + C) doubles (mean, z, s),
   written by forward and read by backward. */
size_t ub__se_cache_size(int N, int C, int R);
void ub__se_forward_ref(double *out, double *cache, const double *in, const double *w1, const double *b1,
                        const double *w2, const double *b2, int N, int C, int H, int W, int R);
void ub__se_backward_ref(double *din, double *dw1, double *db1, double *dw2, double *db2, const double *dout,
                         const double *cache, const double *in, const double *w1, const double *w2, int N, int C,
                         int H, int W, int R);

/* SA: w (1, 2, K, K). `cache` holds N*(2*H*W) pooled values + N*H*W attention values + N*H*W argmax
   channel indices (stored as doubles), written by forward and read by backward. */
size_t ub__sa_cache_size(int N, int H, int W);
void ub__sa_forward_ref(double *out, double *cache, const double *in, const double *w, int N, int C, int H, int W,
                        int K);
void ub__sa_backward_ref(double *din, double *dw, const double *dout, const double *cache, const double *in,
                         const double *w, int N, int C, int H, int W, int K);

/* Reflect-pad (N, C, H, W) on the bottom/right to (N, C, Hp, Wp), Hp >= H, Wp >= W, Hp - H < H, Wp - W < W. */
void ub__pad_reflect_forward_ref(double *out, const double *in, int N, int C, int H, int W, int Hp, int Wp);
/* din (N, C, H, W) += the padded gradient folded back onto its sources. */
void ub__pad_reflect_backward_ref(double *din, const double *dout, int N, int C, int H, int W, int Hp, int Wp);

/* ---- NAF blocks (nn/ref_naf.c) ---- */
void ub__dwconv2d_forward_ref(double *out, const double *in, const double *weight, const double *bias, int N, int C,
                              int H, int W, int K, int stride);
void ub__dwconv2d_backward_ref(double *din, double *dweight, double *dbias, const double *dout, const double *in,
                               const double *weight, int N, int C, int H, int W, int K, int stride);

#define UB__LAYERNORM_EPS 1e-6
/* `cache` holds N*H*W*2 doubles (mean, 1/sqrt(var + eps) per pixel). */
size_t ub__layernorm_cache_size(int N, int H, int W);
void ub__layernorm_forward_ref(double *out, double *cache, const double *in, const double *w, const double *b, int N,
                               int C, int H, int W);
void ub__layernorm_backward_ref(double *din, double *dw, double *db, const double *dout, const double *cache,
                                const double *in, const double *w, int N, int C, int H, int W);

/* in (N, 2C, HW), out (N, C, HW) */
void ub__gate_forward_ref(double *out, const double *in, int N, int C, size_t HW);
void ub__gate_backward_ref(double *din, const double *dout, const double *in, int N, int C, size_t HW);

/* `cache` holds N*2C doubles (m, s). */
size_t ub__sca_cache_size(int N, int C);
void ub__sca_forward_ref(double *out, double *cache, const double *in, const double *w, const double *b, int N, int C,
                         int H, int W);
void ub__sca_backward_ref(double *din, double *dw, double *db, const double *dout, const double *cache,
                          const double *in, const double *w, int N, int C, int H, int W);

void ub__scale_forward_ref(double *out, const double *in, const double *w, int N, int C, size_t HW);
void ub__scale_backward_ref(double *din, double *dw, const double *dout, const double *in, const double *w, int N,
                            int C, size_t HW);

#endif
