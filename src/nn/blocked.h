/* nn/blocked.h — float kernels that work directly on oneDNN's activation
   layouts, for the operations of RBNet that the fast executor
   (nn/dnnl_exec.c) does not hand to oneDNN: SE and spatial attention, the
   adds and ReLU masks of the backward pass, reflect padding, crops and layout
   conversions.

   One description covers every layout the executor uses: channels are cut in
   blocks of B, and element (n, c, y, x) lives at
       (((n * Cb + c / B) * H + y) * W + x) * B + c % B,      Cb = ceil(C / B)
   B = 1 is plain NCHW, B = C is NHWC (Cb = 1), B = 8 / 16 are oneDNN's
   nChw8c / nChw16c. In a blocked layout the channels c >= C of the last block
   are padding, which oneDNN requires to be zero: every kernel here writes
   zeros there and never reads them as data.

   Threads: OpenMP with `threads`; every reduction is cut in fixed chunks and
   summed in a fixed order, so results do not depend on the thread count.
   The reference twins are the double-precision layers of nn/ref.h. */
#ifndef UB_NN_BLOCKED_H
#define UB_NN_BLOCKED_H

#include <stddef.h>

typedef struct ub__blk {
    int n, c, h, w; /* logical sizes */
    int B;          /* channels per block */
    int cb;         /* blocks: ceil(c / B) */
} ub__blk;

/* A layout of (n, c, h, w) with blocks of B channels (B = 0: NHWC, i.e. B = c). */
ub__blk ub__blk_make(int n, int c, int h, int w, int B);

/* Floats in the buffer, padding included. */
static inline size_t ub__blk_floats(const ub__blk *l) {
    return (size_t)l->n * (size_t)l->cb * (size_t)l->B * (size_t)l->h * (size_t)l->w;
}

static inline size_t ub__blk_at(const ub__blk *l, int n, int c, int y, int x) {
    return ((((size_t)n * (size_t)l->cb + (size_t)(c / l->B)) * (size_t)l->h + (size_t)y) * (size_t)l->w +
            (size_t)x) * (size_t)l->B + (size_t)(c % l->B);
}

/* ---- flat element-wise kernels (same layout on both sides) ---- */

/* dst = a + b (dst may be a or b). */
void ub__vec_add(float *dst, const float *a, const float *b, size_t n, int threads);
/* dst += src */
void ub__vec_accumulate(float *dst, const float *src, size_t n, int threads);
/* dst = max(src, 0) (in place allowed) */
void ub__vec_relu(float *dst, const float *src, size_t n, int threads);
/* The ReLU backward when the ReLU's output y is kept: g = y > 0 ? g : 0, in place. */
void ub__vec_relu_mask(float *g, const float *y, size_t n, int threads);

/* out = a + b + bias[c] in layout l; a may be NULL (zeros) and may be out; bias may be NULL.
   The padding channels get a + b (zeros when they are). */
void ub__blk_add_bias(const ub__blk *l, float *out, const float *a, const float *b, const float *bias, int threads);

/* ---- regions, layout conversion, padding ---- */

/* dst[n, c, y, x] = (or +=, when accumulate) src[n, c, y, x] for y < rh, x < rw and every (n, c) of dst;
   the layouts may differ (a conversion), and so may the sizes (a crop, or a crop's backward). Both must
   have the same n and c and at least rh x rw pixels. A written blocked destination gets zero padding. */
void ub__blk_copy_region(const ub__blk *ls, const float *src, const ub__blk *ld, float *dst, int rh, int rw,
                         int accumulate, int threads);

/* Reflect-pads plain NCHW (n, c, h, w) on the bottom and right to (n, c, hp, wp), as PyTorch's "reflect". */
void ub__pad_reflect(float *out, const float *in, int n, int c, int h, int w, int hp, int wp, int threads);
/* din (n, c, h, w) += the padded gradient dout (n, c, hp, wp) folded back onto its sources. */
void ub__pad_reflect_backward(float *din, const float *dout, int n, int c, int h, int w, int hp, int wp,
                              int threads);

/* ---- SE: channel attention, s = sigmoid(fc2(relu(fc1(mean_hw x)))), out = x * s ---- */

/* The forward cache: mean (n, c), fc1's output after the ReLU (n, r), s (n, c). */
size_t ub__se_cache_floats(const ub__blk *l, int r);
/* Scratch of both passes (bytes, 64-aligned pieces). */
size_t ub__se_scratch_bytes(const ub__blk *l, int r);
/* out may be in (in place). */
void ub__se_forward_blk(const ub__blk *l, float *out, const float *in, const float *w1, const float *b1,
                        const float *w2, const float *b2, int r, float *cache, void *scratch, int threads);
/* The same with the mean over (h, w) given (n, c floats; NULL: computed from `in`, as above): the tiled
   inference (nn/model.c) runs each tile with the whole image's means, which the tile alone cannot see.
   With a given mean the backward pass below does not apply (it assumes the mean of `in`). */
void ub__se_forward_mean_blk(const ub__blk *l, float *out, const float *in, const float *given_mean,
                             const float *w1, const float *b1, const float *w2, const float *b2, int r, float *cache,
                             void *scratch, int threads);
/* sums (n, c) = the sums of each channel of `in` over rows [y0, y1) and columns [x0, x1), in double, in
   chunks of rows summed in a fixed order (the same bits on any thread count); scratch holds
   ub__se_scratch_bytes(l, r) bytes for any r. */
void ub__blk_window_sums(const ub__blk *l, const float *in, int y0, int y1, int x0, int x1, double *sums,
                         void *scratch, int threads);
/* sums (n, c) over the whole plane of a * b (of a when b is NULL), in the chunks and order of
   ub__blk_window_sums (for b NULL, its bits on the window of the whole plane); scratch as there. */
void ub__blk_plane_sums(const ub__blk *l, const float *a, const float *b, double *sums, void *scratch, int threads);
/* Accumulates din (may be NULL) and the parameter gradients. */
void ub__se_backward_blk(const ub__blk *l, float *din, float *dw1, float *db1, float *dw2, float *db2,
                         const float *dout, const float *in, const float *w1, const float *w2, int r,
                         const float *cache, void *scratch, int threads);

/* ---- SA: spatial attention, a = sigmoid(conv_KxK([mean_c x, max_c x])), out = x * a ---- */

/* The forward cache: the pooled maps zero-bordered by K/2 (n, 2, h + K - 1, w + K - 1), a (n, h, w)
   and the channel of the max (n, h, w, as floats: exact below 2^24). */
size_t ub__sa_cache_floats(const ub__blk *l, int k);
size_t ub__sa_scratch_bytes(const ub__blk *l, int k);
/* out may be in (in place). */
void ub__sa_forward_blk(const ub__blk *l, float *out, const float *in, const float *w, int k, float *cache,
                        int threads);
void ub__sa_backward_blk(const ub__blk *l, float *din, float *dw, const float *dout, const float *in,
                         const float *w, int k, const float *cache, void *scratch, int threads);

/* ---- NAF blocks (nn/naf_blk.c; twins in nn/ref_naf.c) ----
   Every kernel writes zeros in its output's padding channels, reads no padding, and gives the same bits
   on any thread count (reductions in a fixed order, in double). Parameter gradients accumulate.
   Kernels that take `scratch` need ub__naf_scratch_bytes(l) bytes of it (l: their input's layout). */

size_t ub__naf_scratch_bytes(const ub__blk *l);
/* LayerNorm2d over the channels of each pixel (eps 1e-6); cache: (mean, 1/std) per pixel, n*h*w*2 floats.
   out may be in. */
size_t ub__ln_cache_floats(const ub__blk *l);
void ub__ln_forward_blk(const ub__blk *l, float *out, const float *in, const float *w, const float *b, float *cache,
                        int threads);
/* din may be NULL. */
void ub__ln_backward_blk(const ub__blk *l, float *din, float *dw, float *db, const float *dout, const float *in,
                         const float *w, const float *cache, void *scratch, int threads);
/* SimpleGate: out (layout lo, c channels) = in[:c] * in[c:] (layout li, 2c channels). */
void ub__gate_forward_blk(const ub__blk *li, const ub__blk *lo, float *out, const float *in, int threads);
/* din += (in[c:] dout, in[:c] dout). */
void ub__gate_backward_blk(const ub__blk *li, const ub__blk *lo, float *din, const float *dout, const float *in,
                           int threads);
/* SCA: out = in * (w (c, c) mean_hw(in) + b); cache (and the backward pass's scratch): 4 n c floats.
   out may be in. */
size_t ub__sca_cache_floats(const ub__blk *l);
/* given_mean: (n, c) floats that replace in's own means (tiled inference), or NULL: the means of the sums
   of ub__blk_plane_sums. */
void ub__sca_forward_blk(const ub__blk *l, float *out, const float *in, const float *given_mean, const float *w,
                         const float *b, float *cache, void *scratch, int threads);
/* din may be NULL; cache is the forward pass's (its scratch half is overwritten). */
void ub__sca_backward_blk(const ub__blk *l, float *din, float *dw, float *db, const float *dout, const float *in,
                          const float *w, float *cache, void *scratch, int threads);
/* out = w[c] in (w: c floats); out may be in. */
void ub__scale_forward_blk(const ub__blk *l, float *out, const float *in, const float *w, int threads);
/* din may be NULL. */
void ub__scale_backward_blk(const ub__blk *l, float *din, float *dw, const float *dout, const float *in,
                            const float *w, void *scratch, int threads);

#endif
