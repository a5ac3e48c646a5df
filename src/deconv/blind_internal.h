/* deconv/blind_internal.h — what the files of blind deconvolution share (blind.c: the driver,
   blind_fft.c: the frames' FFTs, blind_latent.c: the latent image step, blind_kernel.c: the kernel
   step, blind_refine.c, blind_check.c, blind_noise.c: the refinement, the checks, the noise level).

   Every step works on one grey plane on a PERIODIC frame of fw x fh pixels (the image at (0, 0),
   the rest a smooth wrap-around fill, see ub__blind_pad), so that every convolution is circular and
   every quadratic problem one FFT division. (The final non-blind step is ub_deconv's.) Kernels are kw x kh (odd), centre at (kw/2, kh/2),
   convolution orientation (unblur/synth.h). Results do not depend on the thread count: the FFTs
   are single-threaded plans applied to fixed data (a large frame's rows and columns spread over the
   threads, deconv/fft.c), the parallel loops are element-wise and every sum is taken serially. */
#ifndef UB_DECONV_BLIND_INTERNAL_H
#define UB_DECONV_BLIND_INTERNAL_H

#include <fftw3.h>
#include <stdint.h>

#include "core/internal.h"
#include "deconv/internal.h"
#include "unblur/deconv.h"

/* Frames smaller than this many pixels run their element-wise loops on one thread: on a busy machine
   the barriers of thousands of tiny parallel loops cost more than the loops. */
#define UB__BLIND_PAR_MIN ((size_t)1 << 18)

/* Frames of at least this many pixels are transformed by deconv/fft.c's rows-then-columns plans,
   spread over the context's threads; smaller ones by one 2-D plan on one thread (as before that
   path existed, so their results are unchanged). The estimate of a photo's kernel runs on frames of
   about 1100 x 800: one thread left the other core idle for a quarter of a 12 MP blind deblur. */
#define UB__BLIND_ROWCOL_MIN ((size_t)1 << 19)

/* One frame's FFT plans and scratch (fftwf_malloc'ed). */
typedef struct ub__bfft {
    int w, h, cw;       /* real frame and its complex width (w / 2 + 1) */
    size_t n, nc;       /* w * h, h * cw */
    fftwf_plan fwd, inv; /* the 2-D plans of a small frame; NULL for a large one */
    float *real;        /* n: scratch */
    fftwf_complex *cplx; /* nc: scratch of a small frame's inverse (NULL for a large one) */
    int threads;
    ub__fft2 rc;        /* a large frame's plans (rc.priv NULL for a small one), */
    float *rc_real, *rc_spec; /* and their planes in fft.c's layout */
} ub__bfft;

/* Plans under the project's FFTW planner lock (single-threaded plans, FFTW_ESTIMATE). */
ub_status ub__bfft_init(ub_ctx *ctx, ub__bfft *f, int w, int h);
void ub__bfft_free(ub__bfft *f);
/* r2c of `in` (n floats, not modified) into `out` (nc). */
void ub__bfft_forward(ub__bfft *f, const float *in, fftwf_complex *out);
/* c2r of `in` (not modified) into `out`, scaled by 1 / n (so inverse(forward(x)) = x). */
void ub__bfft_inverse(ub__bfft *f, fftwf_complex *in, float *out);
/* The transfer function of a kw x kh kernel (centre moved to (0, 0), wrapped). */
void ub__bfft_otf(ub__bfft *f, const float *k, int kw, int kh, fftwf_complex *out);
/* |D_x|^2 + |D_y|^2 of the forward differences, into `out` (nc reals). */
void ub__bfft_grad_denominator(const ub__bfft *f, float *out);

/* Fills a fw x fh frame (fw >= w, fh >= h) with the w x h image at (0, 0) and a wrap-around
   extension that blends its opposite borders smoothly, so that the periodic frame has no jumps. */
void ub__blind_pad(const float *img, int w, int h, float *frame, int fw, int fh);

/* The least even 2,3,5,7-smooth number >= n (FFTW's fast sizes). */
int ub__blind_fast_len(int n);

/* Circular forward differences of a frame: gx(x, y) = v(x + 1, y) - v(x, y), gy likewise. */
void ub__blind_grad(const float *v, int w, int h, float *gx, float *gy);
/* ub__blind_grad of a fw x fh frame holding a w x h image at (0, 0), zero wherever a difference
   reaches into the fill or wraps around (the fill is no blurred scene). */
void ub__blind_image_grad(const float *frame, int fw, int fh, int w, int h, float *gx, float *gy);

/* The latent step: argmin_x ||k (*) x - y||^2 + lp ||x||_0 + lg ||grad x||_0 by half-quadratic
   splitting (Pan et al. 2014), on the frame of `f`. Y: FFT of the padded blurry frame; K: the OTF.
   x: out, n floats. */
typedef struct ub__latent_params {
    double lambda_pixel, lambda_grad;
    double kappa;    /* growth of the splitting weights per iteration (2) */
    double beta_max; /* where the splitting stops (1e5) */
} ub__latent_params;
ub_status ub__blind_latent(ub__bfft *f, fftwf_complex *Y, fftwf_complex *K, const ub__latent_params *p,
                           float *x);

/* The kernel step: the kw x kh kernel minimising ||grad x (*) k - grad y||^2 + gamma ||k||^2 over
   the frame (conjugate gradients from `k`'s current value), with gx, gy the (thresholded) latent
   gradients and BX, BY the FFTs of the blurry frame's gradients; then cleaned (ub__blind_kernel_clean). */
ub_status ub__blind_kernel(ub__bfft *f, const float *gx, const float *gy, fftwf_complex *BX,
                           fftwf_complex *BY, double gamma, int cg_iters, float *k, int kw, int kh);

/* Progress of the estimate: `fn` (may be NULL) called with done / total after every pyramid level. */
typedef struct ub__blind_progress {
    ub_deconv_progress fn;
    void *user;
    double done, total;
} ub__blind_progress;

/* blind.c: adds `amount` of work to ps->done and reports done / total; UB_ERR_CANCELLED when asked. */
ub_status ub__blind_step_progress(ub_ctx *ctx, ub__blind_progress *ps, double amount);

/* blind.c: the kernel's estimate on the w x h plane `lum`, coarse to fine (the pyramid, the latent and
   kernel steps above); returns a kw x kw kernel, malloc'ed, in *out. */
ub_status ub__blind_estimate_kernel(ub_ctx *ctx, const float *lum, int w, int h, int kw, ub__blind_progress *ps,
                                    float **out);

/* blind_refine.c: REFINE_PASSES kernel steps on the w x h plane `y` with, as the latent image, the
   sparse non-blind deconvolution of `y` by the current kernel `k` (kw x kw, refined in place). That
   deconvolution reports to the context's progress callback: callers mute it (ub__progress_mute). */
ub_status ub__blind_refine(ub_ctx *ctx, const float *y, int w, int h, float *k, int kw, double gamma);
/* Negative values to 0, values below `prune` times the maximum to 0, 8-connected components
   carrying less than `min_mass` of the total removed, sum 1, centroid moved to the centre by an
   integer shift. Returns 0, or -1 when nothing is left (k is then a delta). */
int ub__blind_kernel_clean(float *k, int kw, int kh, double prune, double min_mass);

/* The gradient-magnitude threshold that keeps about `keep` pixels in each of four orientation
   bins (Cho & Lee 2009's rule as Pan et al. use it). */
double ub__blind_grad_threshold(const float *gx, const float *gy, size_t n, size_t keep);

/* Do no harm (blind_check.c): the power the w x h plane `img` keeps where the kw x kw kernel `k`
   attenuates strongly, over what a blur by `k` of a 1/f^2 image plus the noise floor would leave
   there (about 1 when `k` can be the blur, >> 1 when the image is sharper than `k` allows).
   0 when the kernel has no stop band (ub_deblur_blind then declines: nothing to test, and the kernel
   is a mild blob); -1 when out of memory. */
double ub__blind_stopband_excess(ub_ctx *ctx, const float *img, int w, int h, const float *k, int kw);

/* Above this excess the estimate is not the image's blur (docs/blind.md: Levin's 32 real captures
   0.6-4.5, GoPro pairs 0.9-2.4; the sharp photos the estimator fooled itself on 9-37, and 5.87 for a
   CBSD68 photo of gravel once estimated in linear light, which the gradient-loss check below catches;
   DIV2K shake crops in linear light 0.4-5.7). */
#define UB__BLIND_MAX_EXCESS 6.0

/* A last check on the deconvolved luminance `out` against the input's `in` (both w x h): true when
   its gradient energy grew more than UB__BLIND_MAX_GRADIENT_GAIN times (Levin's captures: 3-12x;
   a wrong kernel's ringing: 40-90x) or fell under UB__BLIND_MIN_GRADIENT_GAIN times. */
#define UB__BLIND_MAX_GRADIENT_GAIN 25.0
/* ... or when it fell under this fraction: a deblurred image is sharper than its input, and an output
   smoother than it is a wrong kernel flattened by the noise-aware prior (the gravel photo above:
   0.01x). */
#define UB__BLIND_MIN_GRADIENT_GAIN 0.5
int ub__blind_output_implausible(const float *in, const float *out, int64_t w, int64_t h);

/* blind_uniform.c: whether the blur is one kernel. The estimate is made again on each quarter of the
   w x h plane (kw x kw, then refined with `gamma`), and *agreement receives the mean correlation of
   the four with `k`, the whole plane's (ub_kernel_correlation: 1 = the same shape). -1 when the
   quarters are too small to estimate on (under UB__BLIND_UNIFORM_MIN_SIDES kernels or
   UB__BLIND_UNIFORM_MIN_QUARTER pixels on a side). */
ub_status ub__blind_uniformity(ub_ctx *ctx, const float *plane, int w, int h, const float *k, int kw, double gamma,
                               ub__blind_progress *ps, double *agreement);
#define UB__BLIND_UNIFORM_MIN_SIDES 3
/* Quarters of Levin's 255 px captures (127 px) agree with a uniform blur's estimate only 0.65-0.93, and
   the check declined two good estimates there (+6.2, +8.0 dB); the photos measured have quarters of 256
   px and more (GoPro and REDS frames estimated at 1024 x 576, Kodak 768 x 512, DIV2K crops 768 px). */
#define UB__BLIND_UNIFORM_MIN_QUARTER 192
/* Below this agreement the blur is not one kernel and ub_deblur_blind declines (with check_uniform). */
#define UB__BLIND_MIN_AGREEMENT 0.70

/* The deviation of the white noise in the w x h plane `v` (blind_noise.c: Immerkaer's 3 x 3 mask, its
   mean absolute response in the flattest fifth of 16 x 16 blocks, every step-th block on large
   planes). 0 for a plane under 3 x 3, -1 when out of memory. */
double ub__blind_noise_sigma(const float *v, int64_t w, int64_t h);

/* The scale (<= 1) at which the w x h luminance `lum` is estimated: at most max_side on its longer
   side, reduced further while its noise would exceed 0.003 there, down to 384 px (blind.c). */
double ub__blind_estimate_scale(const float *lum, int64_t w, int64_t h, int max_side);

#endif
