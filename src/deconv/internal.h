/* deconv/internal.h — what the deconvolution modules share (non-blind: wiener.c, rl.c, sparse.c,
   deconv.c; blind: blind*.c).

   STABLE: the FFT helpers below (fft.c) are used by the blind kernel estimation too. Their
   names, arguments and layouts do not change; add new helpers rather than altering these.

   Layouts
     real plane    ph rows of `rs` floats (rs = f->rs >= pw, 64-byte aligned rows); the columns
                   pw .. rs-1 are ignored padding
     spectrum      ph rows of `cs` complex numbers stored as interleaved float pairs (re, im),
                   of which the first cw = pw/2 + 1 are used: 2 * cs floats per row
   Every transform is a sequence of 1-D FFTW plans applied to fixed pieces of data, spread over
   the context's threads (planes under 2^18 cells: one thread; `threads` may be changed after init),
   so results are bit-identical for any thread count. FFTW's planner is only called under
   ub__fftw_lock (synth/internal.h). A ub__fft2 may be used by one caller at a time. */
#ifndef UB_DECONV_INTERNAL_H
#define UB_DECONV_INTERNAL_H

#include "core/internal.h"
#include "synth/internal.h"
#include "unblur/deconv.h"

/* ---- fft.c ---- */

typedef struct ub__fft2 {
    int64_t pw, ph; /* real size */
    int64_t rs;     /* real row stride in floats */
    int64_t cw, cs; /* complex columns used (pw/2 + 1) and complex row stride (in complex numbers) */
    int threads;    /* from the context at init */
    void *priv;     /* the plans */
} ub__fft2;

/* The least even 2,3,5,7-smooth size >= n (n >= 1; 1 stays 1). */
int64_t ub__fft_good_size(int64_t n);

/* Plans the transforms of a pw x ph real plane (pw, ph >= 1). UB_ERR_LIMIT when too large. */
ub_status ub__fft2_init(ub_ctx *ctx, ub__fft2 *f, int64_t pw, int64_t ph);
/* Frees the plans (safe on a zeroed or already freed struct). */
void ub__fft2_free(ub__fft2 *f);

/* Zeroed buffers of the layouts above (free with ub__free); NULL on failure. */
float *ub__fft2_real(const ub__fft2 *f);
float *ub__fft2_spectrum(const ub__fft2 *f);

/* real (not modified) -> spectrum, unnormalised (DC = sum). */
void ub__fft2_forward(const ub__fft2 *f, const float *real, float *spec);
/* spectrum -> real, normalised (divides by pw * ph), so inverse(forward(x)) = x. DESTROYS spec. */
void ub__fft2_inverse(const ub__fft2 *f, float *spec, float *real);

/* The optical transfer function of k (psf2otf): the kernel's centre (width/2, height/2) put at
   (0, 0) with wrap-around, transformed. Multiplying a spectrum by it is the circular convolution
   with k; by its conjugate, the correlation (convolution with the mirrored kernel). The kernel
   must fit: k->width <= pw, k->height <= ph. `spec` is a ub__fft2_spectrum buffer. */
ub_status ub__fft2_otf(ub_ctx *ctx, const ub__fft2 *f, const ub_kernel *k, float *spec);

/* spec *= otf (conj_otf = 0) or spec *= conj(otf) (conj_otf = 1), element-wise. */
void ub__fft2_mul(const ub__fft2 *f, float *spec, const float *otf, int conj_otf);

/* The padded size for deconvolving a w x h image with a kw x kh kernel without wrap-around:
   the good sizes >= w + kw - 1 and >= h + kh - 1. */
void ub__deconv_pad_size(int64_t w, int64_t h, int kw, int kh, int64_t *pw, int64_t *ph);

/* Copies the w x h plane `img` (stride w) into the real plane `dst` of f at (0, 0) and fills the
   rest (columns w..pw-1, rows h..ph-1) with a smooth periodic continuation: in each padded run
   the reflections of the two edges it joins (the wrap-around joins the last row/column to the
   first) blended by a raised-cosine ramp, so the plane has no jump anywhere when tiled. */
void ub__extend_smooth(const ub__fft2 *f, const float *img, int64_t w, int64_t h, float *dst);
/* The same with zeros in the padding. */
void ub__extend_zero(const ub__fft2 *f, const float *img, int64_t w, int64_t h, float *dst);

/* ---- kernel_check.c ---- */

/* A normalised (sum 1) copy of k; k must have passed ub_kernel_check. */
ub_status ub__kernel_normalised(ub_ctx *ctx, const ub_kernel *k, ub_kernel **out);

/* ---- the non-blind methods, on one plane (w x h, stride w): out may not alias in ---- */

ub_status ub__wiener_plane(ub_ctx *ctx, const float *in, float *out, int64_t w, int64_t h, const ub_kernel *k,
                           const ub_deconv_params *p);
ub_status ub__rl_plane(ub_ctx *ctx, const float *in, float *out, int64_t w, int64_t h, const ub_kernel *k,
                       const ub_deconv_params *p);
ub_status ub__sparse_plane(ub_ctx *ctx, const float *in, float *out, int64_t w, int64_t h, const ub_kernel *k,
                           const ub_deconv_params *p);

/* One of the three above. */
typedef ub_status (*ub__deconv_plane_fn)(ub_ctx *ctx, const float *in, float *out, int64_t w, int64_t h,
                                         const ub_kernel *k, const ub_deconv_params *p);

/* ---- tiles.c ---- */

/* 1 when ub__deconv_plane cuts a w x h plane into tiles (AUTO boundary, a large plane). */
int ub__deconv_tiled(const ub_deconv_params *p, int64_t w, int64_t h);
/* solve() on the plane, in overlapping tiles blended across their overlaps when ub__deconv_tiled,
   else on the whole plane: same contract as the methods above. */
ub_status ub__deconv_plane(ub_ctx *ctx, ub__deconv_plane_fn solve, const float *in, float *out, int64_t w,
                           int64_t h, const ub_kernel *k, const ub_deconv_params *p);
/* The tiling itself, with cores of at most `core` pixels a side (tests use small ones); the whole
   plane when a core could not hold the blend (cores under twice the feather). */
ub_status ub__deconv_plane_tiles(ub_ctx *ctx, ub__deconv_plane_fn solve, const float *in, float *out, int64_t w,
                                 int64_t h, const ub_kernel *k, const ub_deconv_params *p, int64_t core);

/* Runs job(ctx_i, arg, i) for i in [0, count): on one thread in order, or, when the context has
   several, concurrently, one job per thread, each on a context of its own with one thread (a whole
   solve per thread spends no time in the FFT passes' barriers). Jobs must write disjoint outputs and
   not depend on their thread count; the first failure's message reaches `ctx` and the remaining
   jobs are skipped. Progress is reported per job (with several threads). */
typedef ub_status (*ub__job_fn)(ub_ctx *ctx, void *arg, int64_t i);
ub_status ub__run_jobs(ub_ctx *ctx, int64_t count, ub__job_fn job, void *arg);

/* ---- colour.c ---- */

/* UB_DECONV_COLOUR_LUMA: the 3-colour image `in` deconvolved with solve() into `out` (a clone of
   `in`: its alpha is kept), luma at full resolution, the colour differences at half. */
ub_status ub__deconv_luma_chroma(ub_ctx *ctx, ub__deconv_plane_fn solve, const ub_image *in, ub_image *out,
                                 const ub_kernel *k, const ub_deconv_params *p);

/* rl.c: the plain twin of RL with BOUNDARY_ZERO (scikit-image's richardson_lucy): direct 'same'
   convolutions with zero padding, in double; for tests. */
ub_status ub__rl_zero_ref(ub_ctx *ctx, const float *in, float *out, int64_t w, int64_t h, const ub_kernel *k,
                          int iterations);

#endif
