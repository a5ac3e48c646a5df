/* unblur/synth.h — realistic blur synthesis.

   The simulator turns a sharp image into a (blurred, sharp) pair that looks
   like a real photograph of a moving camera or scene: it works in LINEAR
   light, blurs (camera shake, object motion, defocus), saturates highlights,
   adds Poisson-Gaussian sensor noise, applies a camera response and real
   JPEG compression. Every draw comes from a ub_rng seeded by the caller, so a
   sample is fully determined by (config, seed, index), on any thread count.

   The parts, from small to large:
     kernels        ub_kernel: odd-sized, row-major, centre at (width/2, height/2),
                    convolution orientation (a point light at p spreads to p + offset
                    where the kernel at offset is > 0)
     trajectories   camera shake as a random walk (Boracchi & Foi 2012), optional
                    rotation (yaw/pitch/roll), rasterised into PSFs
     convolution    ub_convolve: one entry point, direct or FFT chosen by size
     camera warps   non-uniform blur: the exposure integrated over homographies
     object motion  a foreground layer moving over the background, composited per sub-frame
     defocus        thin-lens circle of confusion from depth, layered, occlusion-aware
     sensor         exposure, highlights, clipping, noise, camera response, JPEG
     pipeline       ub_synth: a config (JSON or preset) -> samples

   Images are ub_image (planar float32). Operations blur the colour channels
   and carry alpha through untouched.
*/
#ifndef UNBLUR_SYNTH_H
#define UNBLUR_SYNTH_H

#include "image.h"
#include "rng.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ======================================================================
   Kernels (PSFs)
   ====================================================================== */

typedef struct ub_kernel {
    int width, height; /* odd */
    float *data;       /* width * height, row-major */
} ub_kernel;

/* A zeroed kernel of odd size (up to 1023). */
UB_API ub_status ub_kernel_create(ub_ctx *ctx, int width, int height, ub_kernel **out);
UB_API void ub_kernel_destroy(ub_kernel **k);
UB_API ub_status ub_kernel_clone(ub_ctx *ctx, const ub_kernel *k, ub_kernel **out);
/* Scales to sum 1; UB_ERR_INVALID if the sum is not positive or a value is negative or not finite. */
UB_API ub_status ub_kernel_normalize(ub_ctx *ctx, ub_kernel *k);
/* Sum, and centroid relative to the centre (0,0 = centred). */
UB_API double ub_kernel_sum(const ub_kernel *k);
UB_API void ub_kernel_centroid(const ub_kernel *k, double *cx, double *cy);
/* Normalised correlation of two kernels (each scaled to unit L2 norm), the best over integer shifts of b
   against a: 1 = the same shape anywhere; how blind estimates are compared with true kernels. 0 if either is
   all zero. */
UB_API double ub_kernel_correlation(const ub_kernel *a, const ub_kernel *b);
/* The 1x1 identity. */
UB_API ub_status ub_kernel_delta(ub_ctx *ctx, ub_kernel **out);
/* Isotropic Gaussian, size 2*ceil(3 sigma)+1 (at least 1x1), sum 1. */
UB_API ub_status ub_kernel_gaussian(ub_ctx *ctx, double sigma, ub_kernel **out);
/* Aperture of the given diameter in pixels: a disc (blades < 3) or a regular
   polygon with `blades` sides rotated by `rotation` radians, of the same area
   as the disc (pi d^2 / 4); edges anti-aliased by exact area coverage; sum 1.
   A diameter <= 1 gives a kernel that is nearly a delta. */
UB_API ub_status ub_kernel_aperture(ub_ctx *ctx, double diameter, int blades, double rotation, ub_kernel **out);
/* Reads a kernel image (PNG/JPEG, grey or colour -> luminance mean), normalised to sum 1. */
UB_API ub_status ub_kernel_read(ub_ctx *ctx, const char *path, ub_kernel **out);
/* Writes a kernel as a 16-bit grey PNG scaled so that its maximum is 65535 (atomically). */
UB_API ub_status ub_kernel_write(ub_ctx *ctx, const ub_kernel *k, const char *path);

/* ======================================================================
   Trajectories
   ====================================================================== */

/* A camera path sampled uniformly over the exposure: n points; x, y are image
   translations in pixels; yaw, pitch, roll (radians) are NULL when the path is
   translation-only. */
typedef struct ub_trajectory {
    int n;
    double *x, *y;
    double *yaw, *pitch, *roll;
} ub_trajectory;

typedef struct ub_shake_params {
    double length;       /* total path length in pixels (the walk is scaled to exactly this) */
    double anxiety;      /* 0..1: strength of random accelerations and impulsive changes */
    double centripetal;  /* 0..1: pull back towards the start (inertia/bounded shake) */
    double big_shake;    /* 0..1: probability scale of abrupt direction changes */
    double gaussian;     /* scale of the Gaussian accelerations (Boracchi-Foi: 0..10) */
    int samples;         /* points over the exposure; 0 = 2000 */
    double rotation_deg; /* 0 = translation only; else max amplitude of the yaw/pitch/roll walks */
    double roll_weight;  /* share of rotation that is roll (about the optical axis), 0..1 */
} ub_shake_params;

UB_API void ub_shake_default(ub_shake_params *p);
/* Boracchi & Foi (2012) random-walk camera shake. */
UB_API ub_status ub_trajectory_shake(ub_ctx *ctx, ub_rng *rng, const ub_shake_params *p, ub_trajectory **out);
/* A straight path of `length` pixels at `angle` radians, centred on the origin, constant speed. */
UB_API ub_status ub_trajectory_linear(ub_ctx *ctx, double length, double angle, int samples, ub_trajectory **out);
UB_API void ub_trajectory_destroy(ub_trajectory **t);
/* Sum of the distances between consecutive points (translation part). */
UB_API double ub_trajectory_length(const ub_trajectory *t);
/* Rasterises the translation part into a PSF with bilinear splatting, then
   re-centres it by a sub-pixel shift so that its centroid is the kernel centre
   (blurring never shifts the image). size = 0: the smallest odd size that fits
   (at most 1023); otherwise the path is clipped to size x size. */
UB_API ub_status ub_kernel_from_trajectory(ub_ctx *ctx, const ub_trajectory *t, int size, ub_kernel **out);

/* ======================================================================
   Convolution
   ====================================================================== */

typedef enum ub_border {
    UB_BORDER_REFLECT = 0, /* whole images: half-sample symmetric (d c b a | a b c d); output = input size */
    UB_BORDER_VALID = 1    /* padded regions: output smaller by (kw-1) x (kh-1), no border effects */
} ub_border;

typedef enum ub_conv_method { UB_CONV_AUTO = 0, UB_CONV_DIRECT, UB_CONV_FFT, UB_CONV_REFERENCE } ub_conv_method;

/* Convolves the colour channels of `in` with `k`; alpha is copied (cropped for VALID).
   AUTO picks direct or FFT by the measured crossover (see src/synth/conv.c). */
UB_API ub_status ub_convolve(ub_ctx *ctx, const ub_image *in, const ub_kernel *k, ub_border border,
                             ub_image **out);
/* One plane: in is w x h (row stride = w); out is w x h (REFLECT) or (w-kw+1) x (h-kh+1) (VALID). */
UB_API ub_status ub_convolve_plane(ub_ctx *ctx, const float *in, int64_t w, int64_t h, const ub_kernel *k,
                                   ub_border border, ub_conv_method method, float *out);

/* ======================================================================
   Camera warps (spatially varying shake) and object motion
   ====================================================================== */

/* Integrates the exposure: for `samples` points of the trajectory (0 = 64),
   warps `in` (linear light) by the homography of the camera pose — rotation
   K R K^-1 about the image centre with focal length `focal_px`, plus the
   translation — and averages. Bilinear sampling, reflect at the borders.
   Conventions: +x moves content right (as the kernels); R = Rz(roll) Ry(yaw) Rx(pitch);
   focal_px is used only when the trajectory has rotation. */
UB_API ub_status ub_warp_blur(ub_ctx *ctx, const ub_image *in, const ub_trajectory *t, double focal_px, int samples,
                              ub_image **out);

/* A camera that translates in a 3-D scene (parallax): content at depth Z moves by the trajectory's
   translation times g = min(depth_ref_m / Z, max_gain) — near things blur more — or, when only a
   share s of the path is translation (the rest a small rotation: a shift at every depth),
   g = 1 - s + s min(...); and, moving forward
   by `forward` x depth_ref_m over the exposure, away from the principal point (cx, cy) by
   min(depth_ref_m / Z, max_gain) (p - c) forward tau (tau in [-1/2, 1/2]). Both centred on the exposure's middle (the sharp frame).
   A first-order model: the displacement is read at the output pixel (no occlusion). */
typedef struct ub_parallax {
    double depth_ref_m; /* content at this depth moves exactly by the trajectory */
    double max_gain;    /* cap on depth_ref_m / depth, (0, 1000] */
    double translation_share; /* share of the path that is translation, [0, 1]; 1 = all */
    double forward;     /* advance over the exposure as a fraction of depth_ref_m, [-1, 1]; 0 = none */
    double cx, cy;      /* principal point in this image's pixels (a crop's differs); NAN = the centre */
    int samples;        /* sub-frames; 0 = 64 */
} ub_parallax;

UB_API void ub_parallax_default(ub_parallax *p);
/* `depth_m`: metres, 1 channel, the size of `in` (a non-positive depth counts as the nearest). Linear
   light in, bilinear sampling reflecting at the borders, alpha copied. */
UB_API ub_status ub_parallax_blur(ub_ctx *ctx, const ub_image *in, const ub_image *depth_m, const ub_trajectory *t,
                                  const ub_parallax *p, ub_image **out);

typedef struct ub_object_motion {
    double dx, dy;     /* translation over the exposure, pixels */
    double rotation;   /* radians over the exposure, about the layer's centroid */
    double scale;      /* zoom factor reached at the end of the exposure (1 = none) */
    int samples;       /* sub-frames; 0 = 48 */
} ub_object_motion;

/* Blurs a moving foreground over a background. `mask` (1 channel, [0,1], the
   size of `sharp`) selects the foreground in the sharp frame, which is the
   middle of the exposure. The background behind it is filled (push-pull
   inpainting); each sub-frame composites the moved layer over `background`
   (e.g. an already camera-blurred image; NULL = the filled sharp image) with
   correct occlusion; sub-frames are averaged. Where nothing moves the result
   equals the background. All in linear light. */
UB_API ub_status ub_object_motion_blur(ub_ctx *ctx, const ub_image *sharp, const ub_image *mask,
                                       const ub_image *background, const ub_object_motion *m, ub_image **out);
/* A procedural foreground mask (an ellipse or a blob) when none is given. */
UB_API ub_status ub_mask_procedural(ub_ctx *ctx, ub_rng *rng, int64_t width, int64_t height, ub_image **out);

/* ======================================================================
   Depth and defocus
   ====================================================================== */

typedef enum ub_depth_kind {
    UB_DEPTH_MM16 = 0,     /* 16-bit PNG, millimetres (0 = unknown) */
    UB_DEPTH_DISPARITY = 1 /* 8/16-bit disparity: depth = scale / disparity */
} ub_depth_kind;

/* Reads a depth map into metres (1 channel). Unknown depths (0) are filled
   from their neighbours. `scale` is used for disparity (baseline x focal). */
UB_API ub_status ub_depth_read(ub_ctx *ctx, const char *path, ub_depth_kind kind, double scale, ub_image **out);
/* A tilted plane from near_m (bottom) to far_m (top), when no depth is given. */
UB_API ub_status ub_depth_plane(ub_ctx *ctx, int64_t width, int64_t height, double near_m, double far_m,
                                ub_image **out);

typedef struct ub_lens {
    double focal_mm;       /* focal length */
    double f_number;       /* N: aperture diameter A = f / N */
    double focus_m;        /* focus distance */
    double pixel_pitch_um; /* sensor pixel pitch */
    int blades;            /* aperture blades; < 3 = circular */
    double blade_rotation; /* radians */
} ub_lens;

/* Thin-lens circle of confusion in pixels for an object at depth_m:
   c = A f |d - d_f| / (d (d_f - f)), with A = f/N, converted by the pixel pitch. */
UB_API double ub_coc_diameter_px(const ub_lens *lens, double depth_m);
/* Depth-of-field blur of a linear image: layers by depth, back to front; each
   layer's premultiplied colour and coverage are blurred with its aperture
   kernel and composited "over" the layers behind, so a sharp foreground keeps
   crisp edges over a blurred background and a blurred foreground spills over
   a sharp background. */
UB_API ub_status ub_defocus(ub_ctx *ctx, const ub_image *in, const ub_image *depth_m, const ub_lens *lens,
                            ub_image **out);

/* ======================================================================
   Sensor and camera
   ====================================================================== */

typedef enum ub_crf { UB_CRF_SRGB = 0, UB_CRF_GAMMA = 1, UB_CRF_LINEAR = 2 } ub_crf;

typedef struct ub_sensor {
    double shot_gain;  /* a: Poisson part, variance a*x (x in [0,1] linear); 0 = none */
    double read_noise; /* b: Gaussian part, standard deviation b; 0 = none */
    ub_crf crf;        /* camera response applied after noise */
    double gamma;      /* for UB_CRF_GAMMA: out = x^(1/gamma) */
    int jpeg_quality;  /* 0 = no JPEG; else 1..100, a real libjpeg-turbo round trip */
} ub_sensor;

/* Boosts linear values above `threshold` (of the colour max) by `factor`, so
   light sources exceed 1 and smear into bright streaks once blurred. */
UB_API void ub_boost_highlights(ub_image *img, double threshold, double factor);
/* Clips colour channels to [0,1]. */
UB_API void ub_clip(ub_image *img);
/* Poisson-Gaussian noise on the colour channels: y = a Poisson(x/a) + b N(0,1).
   Each row draws from its own stream derived from `seed`, so the result does
   not depend on the thread count. */
UB_API void ub_add_noise(ub_ctx *ctx, ub_image *img, double shot_gain, double read_noise, uint64_t seed);
/* Camera response on the colour channels (in place). */
UB_API void ub_apply_crf(ub_image *img, ub_crf crf, double gamma);
/* Encodes to JPEG at `quality` and decodes back, in memory (in place). Alpha is kept aside. */
UB_API ub_status ub_jpeg_roundtrip(ub_ctx *ctx, ub_image *img, int quality);

/* ======================================================================
   The pipeline: configs, presets, samples
   ====================================================================== */

typedef struct ub_synth ub_synth;

/* Presets: "gaussian", "linear", "shake", "realistic". The JSON config format is
   described in docs/synth-config.md; errors name the key by its JSON path. */
UB_API ub_status ub_synth_create_preset(ub_ctx *ctx, const char *preset, ub_synth **out);
UB_API ub_status ub_synth_create_json(ub_ctx *ctx, const char *json_text, const char *name, ub_synth **out);
UB_API ub_status ub_synth_create_file(ub_ctx *ctx, const char *path, ub_synth **out);
UB_API void ub_synth_destroy(ub_synth **s);

typedef struct ub_synth_inputs {
    const ub_image *sharp; /* display-referred (sRGB), 1-4 channels */
    const ub_image *depth; /* metres, 1 channel, same size; NULL = procedural when needed */
    const ub_image *mask;  /* foreground, 1 channel [0,1], same size; NULL = from depth or procedural */
} ub_synth_inputs;

typedef struct ub_synth_sample {
    ub_image *blurred;  /* what the camera recorded (display-referred) */
    ub_image *sharp;    /* the matching target: same exposure and response, no blur/noise/JPEG */
    ub_kernel *kernel;  /* the uniform PSF used, or the centre PSF of a varying blur; may be NULL */
    char *params_json;  /* every parameter actually drawn (malloc'ed) */
} ub_synth_sample;

/* Makes sample `index` of run `seed` from a whole image (reflect borders).
   `out` is overwritten: free a previous sample with ub_synth_sample_free first. */
UB_API ub_status ub_synth_run(ub_synth *s, const ub_synth_inputs *in, uint64_t seed, uint64_t index,
                              ub_synth_sample *out);
/* Makes a size x size training pair whose blur has real context: the region
   around (x0, y0) is taken with a margin (reflected where it leaves the image),
   blurred, and only the valid centre is kept. */
UB_API ub_status ub_synth_crop(ub_synth *s, const ub_synth_inputs *in, int64_t x0, int64_t y0, int size,
                               uint64_t seed, uint64_t index, ub_synth_sample *out);
UB_API void ub_synth_sample_free(ub_synth_sample *out);
/* The camera PSF that sample `index` of run `seed` uses (shake, straight motion or
   Gaussian, the last applied), without making the sample; UB_ERR_INVALID when the
   config applies no camera blur to that sample. */
UB_API ub_status ub_synth_kernel(ub_synth *s, uint64_t seed, uint64_t index, ub_kernel **out);

#ifdef __cplusplus
}
#endif
#endif
