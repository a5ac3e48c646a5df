/* synth/internal.h — helpers shared by the synthesis modules. */
#ifndef UB_SYNTH_INTERNAL_H
#define UB_SYNTH_INTERNAL_H

#include <math.h>

#include "core/internal.h"
#include "image/internal.h"
#include "unblur/synth.h"

/* Half-sample symmetric reflection of index i into [0, n): d c b a | a b c d. */
static inline int64_t ub__reflect(int64_t i, int64_t n) {
    if (n == 1) return 0;
    const int64_t period = 2 * n;
    i %= period;
    if (i < 0) i += period;
    return i < n ? i : period - 1 - i;
}

/* Bilinear sample of a plane at real coordinates (x, y), reflecting outside. */
static inline float ub__bilinear(const float *p, int64_t w, int64_t h, double x, double y) {
    const double fx = floor(x), fy = floor(y);
    const int64_t x0 = (int64_t)fx, y0 = (int64_t)fy;
    const float ax = (float)(x - fx), ay = (float)(y - fy);
    const int64_t xa = ub__reflect(x0, w), xb = ub__reflect(x0 + 1, w);
    const int64_t ya = ub__reflect(y0, h), yb = ub__reflect(y0 + 1, h);
    const float top = p[ya * w + xa] + ax * (p[ya * w + xb] - p[ya * w + xa]);
    const float bot = p[yb * w + xa] + ax * (p[yb * w + xb] - p[yb * w + xa]);
    return top + ay * (bot - top);
}

/* Poses taken from a trajectory of n points by the warps (warp.c, parallax.c): `samples` of them
   (0: up to `default_count`, never more than n), and for sample s of `count`, the point in the
   middle of the s-th of `count` equal time slices (count == n takes every point). */
static inline int ub__pose_count(int samples, int default_count, int n) {
    const int want = samples == 0 ? default_count : samples;
    return want < n ? want : n;
}
static inline int ub__pose_index(int s, int count, int n) {
    return (int)(((2 * (int64_t)s + 1) * n) / (2 * (int64_t)count));
}

/* kernel.c: the plain twin of ub_kernel_aperture — exact geometry for every pixel, no shortcut (tests compare). */
ub_status ub__kernel_aperture_ref(ub_ctx *ctx, double diameter, int blades, double rotation, ub_kernel **out);

/* warp.c: the plain twin of ub_warp_blur — every pose through its full matrix and ub__bilinear. */
ub_status ub__warp_blur_ref(ub_ctx *ctx, const ub_image *in, const ub_trajectory *t, double focal_px, int samples,
                            ub_image **out);
/* trajectory.c: a clip averaged from `frames` video frames (as the GoPro pairs are made): of equal
   time slots, the first `duty` of each is exposed. ub__trajectory_frames keeps the path's exposed
   points (for the warps); ub__kernel_from_frames rasterises each frame's piece of the path apart
   (equal mass per frame, centred on their mean centroid, sized to fit): separate copies, not one
   smear joined across the gaps. */
ub_status ub__trajectory_frames(ub_ctx *ctx, const ub_trajectory *t, int frames, double duty, ub_trajectory **out);
ub_status ub__kernel_from_frames(ub_ctx *ctx, const ub_trajectory *t, int frames, double duty, ub_kernel **out);
/* parallax.c: ub_parallax_blur computing only the window [x0, x0 + w) x [y0, y0 + h) of the output
   (the same values as the whole call there); the rest of `out` is a copy of `in`. A training crop
   needs its own pixels only: its margin is read, not blurred. */
ub_status ub__parallax_blur_window(ub_ctx *ctx, const ub_image *in, const ub_image *depth_m, const ub_trajectory *t,
                                   const ub_parallax *p, int64_t x0, int64_t y0, int64_t w, int64_t h,
                                   ub_image **out);
/* motion.c: the plain twin of ub_object_motion_blur — every sub-frame sampled at every pixel
   (no bounding boxes); the caller's background, or NULL for the inpainted one. */
ub_status ub__object_motion_blur_ref(ub_ctx *ctx, const ub_image *sharp, const ub_image *mask,
                                     const ub_image *background, const ub_object_motion *m, ub_image **out);

/* depth.c: push-pull hole filling (Gortler et al. 1996). Fills `nplanes` (1..4) w x h planes in
   place: where weight is 1 a value is kept exactly, where 0 it is replaced by the smooth fill of the
   known values, in between blended. UB_ERR_INVALID when every weight is 0. Thread-count invariant. */
ub_status ub__push_pull_fill(ub_ctx *ctx, float *const *planes, int nplanes, const float *weight, int64_t w,
                             int64_t h);

/* conv.c, conv_direct.c, conv_fft.c: the paths behind ub_convolve_plane, on `planes` planes of
   w x h that share one kernel (arguments already checked by the caller). Exposed for tests and
   benchmarks: the direct path with a chosen instruction set (UB_ERR_UNSUPPORTED when the CPU
   lacks it), the FFT's padded size (non-zero when too large for FFTW), AUTO's choice. */
enum { UB__ISA_BEST = 0, UB__ISA_AVX2 = 1, UB__ISA_AVX512 = 2 };
ub_status ub__conv_direct(ub_ctx *ctx, const float *const *in, float *const *out, int planes, int64_t w, int64_t h,
                          const ub_kernel *k, ub_border border, int isa);
ub_status ub__conv_fft(ub_ctx *ctx, const float *const *in, float *const *out, int planes, int64_t w, int64_t h,
                       const ub_kernel *k, ub_border border);
int ub__conv_fft_size(int64_t w, int64_t h, const ub_kernel *k, ub_border border, int64_t *pw, int64_t *ph);
/* The FFT's estimated work for a padded size: N log2 N (N = pw ph) weighted by how fast FFTW is on
   the sizes' factors (units of AUTO's cost model in conv.c). */
double ub__conv_fft_cost(int64_t pw, int64_t ph);
ub_conv_method ub__conv_choose(int64_t w, int64_t h, const ub_kernel *k, ub_border border, int planes);
/* FFTW's planner lock, ub__fftw_lock / ub__fftw_unlock: in core/internal.h (included above). */

#endif
