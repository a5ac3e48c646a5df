/* unblur/deconv.h — classical deconvolution: non-blind (a known kernel) and blind (kernel estimated).

   The blur model is the synthesis's: blurry = ub_convolve(sharp, k) + noise, with k a ub_kernel in
   convolution orientation (see unblur/synth.h) and images in the values given (the caller decides
   whether they are linear or sRGB; the evaluation passes the files' values as they are, as
   published benchmarks do).

   Non-blind methods (ub_deconv):
     WIENER  one FFT solve with a constant noise-to-signal ratio: conj(K) Y / (|K|^2 + nsr)
     RL      Richardson-Lucy, multiplicative iterations (Lucy 1974); BOUNDARY_ZERO reproduces
             scikit-image's richardson_lucy (zero-padded 'same' convolution, clip to [-1, 1])
     SPARSE  a hyper-Laplacian / sparse-derivative prior (Krishnan & Fergus 2009; first and second
             derivatives) by half-quadratic splitting, every quadratic step one FFT solve; saturated
             pixels (>= 0.98) only penalised when the model falls below them
   Boundaries: AUTO (the default) solves for the picture on a domain larger by the kernel's size,
   with data only on the picture (RL, SPARSE), or extends the picture smoothly (WIENER), so borders
   do not ring. Defaults tuned on Levin et al. 2009: see docs/deconv.md.
   Colour images are deconvolved channel by channel with the same kernel; alpha is copied.

   Blind (ub_deblur_blind): the kernel is estimated coarse to fine on the luminance (L0 gradient
   prior, Xu et al. 2013; dark channel, Pan et al. 2016), then every channel is deconvolved with SPARSE,
   both on the values as stored unless the caller asks for linear light (ub_blind_response).

   Every function validates its kernel (odd size, finite, non-negative, positive sum, not larger
   than the image) and returns UB_ERR_INVALID with a one-line message otherwise. Results do not
   depend on the context's thread count.
*/
#ifndef UNBLUR_DECONV_H
#define UNBLUR_DECONV_H

#include "synth.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ub_deconv_method { UB_DECONV_WIENER = 0, UB_DECONV_RL = 1, UB_DECONV_SPARSE = 2 } ub_deconv_method;

typedef enum ub_deconv_boundary {
    UB_DECONV_BOUNDARY_AUTO = 0, /* the method's best: the image extended smoothly so borders do not ring */
    UB_DECONV_BOUNDARY_ZERO = 1, /* zero-padded 'same' convolution (scikit-image's richardson_lucy) */
    UB_DECONV_BOUNDARY_PERIODIC = 2 /* the FFT's own wrap-around, nothing done */
} ub_deconv_boundary;

/* How a colour image's channels are deconvolved (SPARSE; the other methods always do RGB). */
typedef enum ub_deconv_colour {
    UB_DECONV_COLOUR_AUTO = 0, /* RGB up to 2048 x 2048 pixels, LUMA above, where time and memory count */
    UB_DECONV_COLOUR_RGB = 1,  /* R, G and B apart, each at full resolution */
    UB_DECONV_COLOUR_LUMA = 2  /* luma at full resolution, the two colour differences at half (with
                                  half the iterations): 2.1x faster, 0.23 dB lower on Lai et al.'s 100
                                  (src/deconv/colour.c) */
} ub_deconv_colour;

typedef struct ub_deconv_params {
    ub_deconv_method method;
    ub_deconv_boundary boundary;
    double nsr;       /* WIENER: noise-to-signal power ratio */
    int iterations;   /* RL: iterations; SPARSE: outer half-quadratic iterations */
    double lambda;    /* SPARSE: weight of the gradient prior */
    double alpha;     /* SPARSE: exponent of the prior |grad|^alpha (0.3 .. 2; default 1 = TV-like) */
    ub_deconv_colour colour; /* SPARSE on a colour image: AUTO (the default), RGB or LUMA */
} ub_deconv_params;

/* The defaults of a method (what `unblur deconv --method M` uses). */
UB_API void ub_deconv_default(ub_deconv_params *p, ub_deconv_method method);
/* Parses "wiener", "rl", "sparse"; UB_ERR_INVALID otherwise. */
UB_API ub_status ub_deconv_method_parse(ub_ctx *ctx, const char *name, ub_deconv_method *out);

/* Checks a kernel against an image of width x height: UB_ERR_INVALID naming the problem
   (empty, even size, NaN/infinite, negative, zero sum, larger than the image). */
UB_API ub_status ub_kernel_check(ub_ctx *ctx, const ub_kernel *k, int64_t width, int64_t height);

/* Deconvolves `blurry` with the known kernel `k` (normalised internally to sum 1). */
UB_API ub_status ub_deconv(ub_ctx *ctx, const ub_image *blurry, const ub_kernel *k, const ub_deconv_params *p,
                           ub_image **out);

/* ---- blind deconvolution ---- */

/* How an image's values relate to light. A camera blurs light, so the blur is a convolution of
   linear values; photographs store them through a tone curve (sRGB, or a gamma near 2.2), which bends
   every blurred edge. Yet on every real set measured, deblurring the stored values wins (Levin's
   linear captures by 8 dB, the GoPro and REDS photographs by 0.4-1.9 dB; docs/blind.md): LINEAR is
   the default, SRGB an option that pays only on clean, noise-free sRGB shake. */
typedef enum ub_blind_response {
    UB_BLIND_RESPONSE_LINEAR = 0, /* the values are blurred as stored (the default) */
    UB_BLIND_RESPONSE_SRGB = 1    /* the values are sRGB-encoded: estimated and deconvolved in linear
                                     light, the result encoded again */
} ub_blind_response;

typedef struct ub_blind_params {
    int kernel_size;   /* odd, >= 3, in pixels of the full image, at most half its shorter side;
                          0 = automatic: an eighth of the longer side, odd, in [15, 75] */
    int max_side;      /* the estimate runs on an image reduced to at most this side (0 = 1024; else >= 32) */
    ub_deconv_params final; /* the non-blind step applied with the estimated kernel: a hyper-Laplacian
                               prior with its alpha and iterations, and its lambda as the least weight
                               (raised with the noise level estimated from the image, docs/blind.md) */
    double noise_weight;    /* that raise: final.lambda becomes at least noise_weight x sigma^2, sigma the noise
                               read from the image (default 80, chosen on photographs); 0 keeps final.lambda as
                               given, as benchmarks run one fixed non-blind step on every estimated kernel */
    ub_blind_response response; /* default UB_BLIND_RESPONSE_LINEAR */
    int check_uniform;  /* nonzero: estimate again on each quarter of the image and decline (return the
                           input) where they disagree with the whole image's kernel: a blur that varies
                           across the frame (moving subjects, rotation). About one more estimate's time.
                           Default 0; ub_deblur_auto sets it (docs/blind.md) */
} ub_blind_params;

UB_API void ub_blind_default(ub_blind_params *p);

/* Nonzero when a w x h image is one ub_deblur_blind can work on with `p` (NULL: the defaults): sides of
   at least 16 pixels and at most 2^20, and the kernel (p->kernel_size, or the automatic size) at most
   half the shorter side. ub_deblur_auto passes smaller or thinner images straight to its fallback. */
UB_API int ub_blind_fits(int64_t w, int64_t h, const ub_blind_params *p);

/* Progress of long work: called with done in [0, 1]; returns nonzero to cancel (UB_ERR_CANCELLED). */
typedef int (*ub_deconv_progress)(void *user, double done);

/* Estimates the kernel from `blurry` and deconvolves it. `kernel_out` (may be NULL) receives the
   estimate (normalised, centred). `p` may be NULL (the defaults). Images under 16 x 16, NaN or
   infinite values and the parameters above out of range give UB_ERR_INVALID. When the estimate is
   too small a blur to act on (nearly a delta, or spread over fewer than ~8 pixels: what sharp
   photographs yield), when it cannot be the image's blur (the image keeps power where the kernel
   would have removed it) or when the result rings far beyond a real deblurring (or comes out
   smoother than its input), `out` is a copy of the input. The final step's prior weight grows with
   the noise level read from the image (flat regions, Immerkaer's mask). See docs/blind.md. */
UB_API ub_status ub_deblur_blind(ub_ctx *ctx, const ub_image *blurry, const ub_blind_params *p,
                                 ub_deconv_progress progress, void *user, ub_image **out, ub_kernel **kernel_out);

#ifdef __cplusplus
}
#endif

#endif
