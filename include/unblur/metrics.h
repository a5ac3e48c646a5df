/* unblur/metrics.h — PSNR and SSIM, plain and shift-tolerant.

   Definitions (identical to scikit-image 0.19, see ../shared/peers/metrics_ref.py):
   - Only colour channels are compared; alpha is ignored. Both images must have
     the same width, height and number of colour channels (grey vs RGB is an error).
   - PSNR = 10 log10(1 / MSE), the MSE over all pixels and colour channels
     together, data range 1. Identical images give +infinity.
   - SSIM = structural_similarity(data_range=1, gaussian_weights=True, sigma=1.5,
     use_sample_covariance=False): local means/variances from a Gaussian window
     of sigma 1.5 truncated at 3.5 sigma (11 taps, separable), image borders by
     reflection (d c b a | a b c d), C1 = 0.01^2, C2 = 0.03^2, the SSIM map
     averaged over the image minus a 5-pixel border; colour: the mean of the
     per-channel values. Images must be at least 11x11 (after cropping).
   - Cropping: `crop` pixels are removed from every side of both images first
     (metrics_ref.py --border).
   - Shift tolerance: with shift = k > 0, the image under test is compared at every
     integer offset (dx, dy) in [-k, k]^2 against the cropped reference, and the best
     PSNR and the best SSIM are reported with the offsets that gave them (they may
     differ). The crop must be at least k so that every offset stays inside the
     image; the offset means img(x + dx, y + dy) is compared with ref(x, y).
     This is what benchmarks whose ground truth is not aligned need (Levin et al.).
   - Sub-pixel refinement (subpixel = 1, with shift > 0): the best-PSNR integer offset is then
     refined on a quarter-pixel grid within +-0.75 px of it, the image under test resampled
     bilinearly (coordinates beyond the image clamped to its edge), the best PSNR kept: what
     Levin et al.'s comp_upto_shift does (../shared/peers/deconv_peers.py psnr_upto_shift) and
     what the published Levin and Lai figures are scored with. Real captures are registered to
     their references only to a fraction of a pixel; on Levin's 32 with the true kernels it adds
     ~2.5 dB. SSIM stays at integer offsets.

   The computation runs on the context's threads (row strips, double precision
   accumulation); the reference twin ub_ssim_plane_ref() is a plain loop kept for tests.
*/
#ifndef UNBLUR_METRICS_H
#define UNBLUR_METRICS_H

#include "image.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ub_metrics_options {
    int shift; /* k: search offsets in [-k, k]^2; 0 = aligned */
    int crop;  /* pixels removed from every side before comparing */
    int subpixel; /* 1: refine the best PSNR offset to a quarter pixel (needs shift > 0) */
} ub_metrics_options;

typedef struct ub_metrics {
    double psnr;  /* dB; +INFINITY when the images are identical */
    double ssim;
    double mse;   /* at the best-PSNR offset */
    int psnr_dx, psnr_dy; /* offset of the best PSNR */
    int ssim_dx, ssim_dy; /* offset of the best SSIM */
    double psnr_sx, psnr_sy; /* offset of the best PSNR with its sub-pixel part (= psnr_dx, psnr_dy without) */
} ub_metrics;

UB_API ub_status ub_metrics_compute(ub_ctx *ctx, const ub_image *ref, const ub_image *img,
                                    const ub_metrics_options *opts, ub_metrics *out);

/* A view of one plane: `width` x `height` samples, rows `stride` floats apart. */
typedef struct ub_plane {
    const float *data;
    int64_t width, height, stride;
} ub_plane;

/* Mean SSIM of two planes of the same size (>= 11x11): the fast path and its reference twin. */
UB_API double ub_ssim_plane(ub_ctx *ctx, ub_plane a, ub_plane b);
UB_API double ub_ssim_plane_ref(ub_plane a, ub_plane b);
/* Sum of squared differences of two planes of the same size (double accumulation). */
UB_API double ub_sse_plane(ub_ctx *ctx, ub_plane a, ub_plane b);

#ifdef __cplusplus
}
#endif
#endif
