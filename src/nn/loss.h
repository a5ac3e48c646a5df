/* nn/loss.h — the training losses: forward (the loss value) and gradient
   with respect to the network's output, on NCHW float tensors.

   Conventions (as nn/ref.h, llm.c style): y is the output, t the target,
   both (N, C, H, W) contiguous; every loss returns its value as a double
   (the plain value, NOT multiplied by `weight`) and, when `grad` is not
   NULL, ACCUMULATES weight * d(loss)/dy into grad (+=, never overwrites),
   so that a trainer sums several weighted losses into one gradient buffer.
   No gradient flows to t. Sums are in double, in a fixed order whatever the
   thread count (fixed chunks whose partial sums are added in order; planes
   whose results are added in order): the same bits on any number of threads.

   The losses:
   - L1:          mean |y - t|; subgradient sign(y - t), 0 at 0.
   - Charbonnier: mean sqrt((y - t)^2 + eps^2) (eps > 0, default 1e-3); its
                  value at y = t is eps, not 0.
   - Frequency (MIMO-UNet's FFT loss on the real FFT): with D = rfft2(y - t)
     per (n, c) plane (H x (W/2+1) complex bins, unnormalised, FFTW's forward
     sign), the mean over the 2 * N*C*H*(W/2+1) real numbers of the
     half-spectrum of |Re D| + |Im D| — exactly PyTorch's
         F.l1_loss(torch.view_as_real(torch.fft.rfft2(y)), torch.view_as_real(torch.fft.rfft2(t)))
     (BasicSR's FFTLoss; the original MIMO-UNet used the full two-sided
     spectrum, which counts each conjugate pair twice). The gradient is
     derived in loss.c: the half-spectrum bins that stand for two conjugate
     bins are halved, the self-conjugate columns symmetrised, before one
     inverse real FFT per plane. A component within the transform's rounding
     level of 0 (32 eps (1 + log2 HW) ||y - t||_2 per plane) has subgradient
     0, as L1 at 0: a constant offset's non-DC bins come out of a float FFT
     as +-1e-7, whose signs would be noise. FFTW single precision, plans
     made per call (FFTW_ESTIMATE: cheap) under ub__fftw_lock.
   - Multi-scale: sum over scales s = 0..S-1 of scale_weight[s] * L(y_s, t_s)
     where y_0 = y and y_{s+1} is y_s averaged over 2x2 blocks (an odd last
     row or column is dropped, like F.avg_pool2d(2)); the gradient flows back
     through the averaging (each of the 4 pixels gets 1/4). H and W must
     allow S-1 halvings (H >> (S-1) >= 1).
   - Perceptual: L1 (mean) between VGG19 features of y and t (see below).

   Each float loss has a double-precision twin (`_ref`): plain loops, one
   thread, a naive DFT for the frequency loss (O((HW)^2) per plane: for
   tests) — the specification that tests/test_loss.c checks by finite
   differences and compares the float versions against.

   Perceptual loss. torchvision's vgg19().features: 3x3 convolutions (zero
   padding 1) with bias, each followed by a ReLU, and a 2x2 stride-2 max-pool
   (floor; ties go to the first element in row-major order, as PyTorch) after
   each block:
       block 1: conv1_1 (features.0, 64 <- 3), conv1_2 (features.2, 64), pool1 (features.4)
       block 2: conv2_1 (5, 128), conv2_2 (7), pool2 (9)
       block 3: conv3_1 (10, 256), conv3_2 (12), conv3_3 (14), conv3_4 (16), pool3 (18)
       block 4: conv4_1 (19, 512), conv4_2 (21), conv4_3 (23), conv4_4 (25), pool4 (27)
       block 5: conv5_1 (28, 512), conv5_2 (30), conv5_3 (32), conv5_4 (34), pool5 (36)
   and reluB_J at the index after convB_J. A layer is named "conv3_3" (its
   output before the ReLU), "relu3_3" (after) or "pool3". The default is
   relu3_3 (features.15): DeblurGAN's deblurring choice (it took conv3_3),
   mid-level texture without the cost and the coarse 1/16 grid of relu5_4
   (ESRGAN's, before activation: "conv5_4"). Inputs are RGB in [0, 1],
   normalised with ImageNet's mean (0.485, 0.456, 0.406) and std (0.229,
   0.224, 0.225) first; the loss is the mean over the compared feature map's
   elements of |phi(y) - phi(t)|. Weights are read from a safetensors file
   with torchvision's names ("features.0.weight" (64, 3, 3, 3),
   "features.0.bias" (64), ...; only the convolutions up to the chosen layer
   are read); none ship with unblur.
   The computation uses nn/ref.h's double-precision reference convolution
   and ReLU, one image at a time, keeping every activation of y for the
   backward pass: correct, not fast. A fast path would run the same layers
   on the oneDNN executor (nn/dnnl_exec.h) in float. */
#ifndef UB_NN_LOSS_H
#define UB_NN_LOSS_H

#include <stddef.h>

#include "nn/graph.h"
#include "nn/safetensors.h"

#define UB__CHARBONNIER_EPS 1e-3

/* ---- pixel losses: float (threads from ctx, which also receives error messages; L1 and Charbonnier cannot
   fail and accept a NULL ctx: one thread; a count of 0 gives 0) ---- */

double ub__l1_loss(const ub_ctx *ctx, size_t count, const float *y, const float *t, float *grad, double weight);
double ub__charbonnier_loss(const ub_ctx *ctx, size_t count, const float *y, const float *t, double eps, float *grad,
                            double weight);
/* Fails only on bad sizes (UB_ERR_INVALID; UB_ERR_LIMIT when they overflow), memory or an FFTW plan
   (UB_ERR_NOMEM); *loss is written on success only. The other fallible losses below likewise. */
ub_status ub__frequency_loss(ub_ctx *ctx, int n, int c, int h, int w, const float *y, const float *t, float *grad,
                             double weight, double *loss);

/* ---- their double twins (one thread, plain loops) ---- */

double ub__l1_loss_ref(size_t count, const double *y, const double *t, double *grad, double weight);
double ub__charbonnier_loss_ref(size_t count, const double *y, const double *t, double eps, double *grad,
                                double weight);
ub_status ub__frequency_loss_ref(ub_ctx *ctx, int n, int c, int h, int w, const double *y, const double *t,
                                 double *grad, double weight, double *loss);

/* ---- one of the pixel losses by kind, and its multi-scale form ---- */

typedef enum ub__loss_kind { UB__LOSS_L1, UB__LOSS_CHARBONNIER, UB__LOSS_FREQUENCY } ub__loss_kind;

typedef struct ub__loss_spec {
    ub__loss_kind kind;
    double eps; /* Charbonnier's eps (> 0) */
} ub__loss_spec;

ub_status ub__pixel_loss(ub_ctx *ctx, const ub__loss_spec *spec, int n, int c, int h, int w, const float *y,
                         const float *t, float *grad, double weight, double *loss);
ub_status ub__pixel_loss_ref(ub_ctx *ctx, const ub__loss_spec *spec, int n, int c, int h, int w, const double *y,
                             const double *t, double *grad, double weight, double *loss);

/* `scales` 1..16; scale_weights[scales] (NULL: all 1). */
ub_status ub__multiscale_loss(ub_ctx *ctx, const ub__loss_spec *spec, int scales, const double *scale_weights, int n,
                              int c, int h, int w, const float *y, const float *t, float *grad, double weight,
                              double *loss);
ub_status ub__multiscale_loss_ref(ub_ctx *ctx, const ub__loss_spec *spec, int scales, const double *scale_weights,
                                  int n, int c, int h, int w, const double *y, const double *t, double *grad,
                                  double weight, double *loss);

/* ---- perceptual loss on VGG19 features ---- */

#define UB__VGG_DEFAULT_LAYER "relu3_3"

typedef struct ub__vgg {
    char layer[16];        /* the compared layer's name, e.g. "relu3_3" */
    int last;              /* its index in vgg19().features */
    int nconv;             /* convolutions in features[0..last] */
    ub__param_table table; /* their "features.I.weight" (Cout, Cin, 3, 3) and "features.I.bias" (Cout), in order */
    float *params;         /* table.total floats, in the table's order */
} ub__vgg;

/* The truncated network up to `layer` (NULL: the default), parameters zero. UB_ERR_INVALID for an unknown name. */
ub_status ub__vgg_create(ub_ctx *ctx, const char *layer, ub__vgg **out);
/* Reads the parameters of the table from `st` (other tensors are ignored); a missing tensor or one of
   another shape fails with ub__st_read_f32's message, which names the file and the tensor. */
ub_status ub__vgg_load(ub_ctx *ctx, ub__vgg *vgg, const ub__safetensors *st);
/* ub__vgg_create + ub__st_open + ub__vgg_load. */
ub_status ub__vgg_open(ub_ctx *ctx, const char *path, const char *layer, ub__vgg **out);
void ub__vgg_destroy(ub__vgg **vgg);
/* The compared feature map's size for an h x w input: channels, height, width; 0 when h or w is too small
   for the pools before the layer. */
int ub__vgg_feature_shape(const ub__vgg *vgg, int h, int w, int *fc, int *fh, int *fw);

/* y, t: (n, 3, h, w) RGB in [0, 1]. */
ub_status ub__perceptual_loss(ub_ctx *ctx, const ub__vgg *vgg, int n, int h, int w, const float *y, const float *t,
                              float *grad, double weight, double *loss);
ub_status ub__perceptual_loss_ref(ub_ctx *ctx, const ub__vgg *vgg, int n, int h, int w, const double *y,
                                  const double *t, double *grad, double weight, double *loss);

/* 2x2 max-pool, stride 2, floor (PyTorch MaxPool2d(2, 2)): out (N, C, H/2, W/2); ties: the first in row-major
   order. Backward ACCUMULATES dout into din at each window's maximum (found again from `in`). */
void ub__maxpool2_forward_ref(double *out, const double *in, int N, int C, int H, int W);
void ub__maxpool2_backward_ref(double *din, const double *dout, const double *in, int N, int C, int H, int W);

#endif
