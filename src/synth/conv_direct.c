/* synth/conv_direct.c — direct convolution for small and sparse kernels.

   The input is reflect-padded strip by strip into a per-thread scratch that
   stays in L2 (REFLECT; VALID reads the input as it is), so the inner loop
   never tests a border:
       out(x, y) = sum_t w_t * src[(y + dy_t) * stride + x + dx_t]
   over the non-zero taps t of the FLIPPED kernel (w_t = k(kw-1-dx, kh-1-dy)).
   Motion PSFs are sparse — the 31x31 line of the benchmark has 27 non-zero
   taps out of 961 — so listing only the non-zero taps is the big win
   (measured in bench/BLUR_RESULTS.md: "direct_dense" vs "direct").

   Inner loop: a block of 8 vectors of output pixels stays in registers while
   the taps stream past: one unaligned load and one FMA per tap and vector.
   AVX-512 is chosen at run time where the CPU has it (1.15-1.26x over AVX2 on
   Zen 5, bench/BLUR_RESULTS.md).
   Every output pixel sums its taps in the same order with single-rounding
   FMAs starting from 0 — in the 8-vector blocks, the single-vector tail and
   the scalar/masked tail alike — so the result does not depend on the thread
   count, on the row partition, nor on the instruction set (AVX2 and AVX-512
   give identical bits; tests check it). */
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "synth/internal.h"

enum { BLOCK_VECTORS = 8 };

typedef struct tap_list {
    int64_t *offset; /* dy * stride + dx */
    float *weight;
    int64_t count;
} tap_list;

static void taps_free(tap_list *t) {
    ub__free(t->offset);
    ub__free(t->weight);
}

/* The non-zero taps of the flipped kernel, row by row. */
static ub_status taps_build(ub_ctx *ctx, const ub_kernel *k, int64_t stride, tap_list *t) {
    const int64_t kw = k->width, kh = k->height;
    t->count = 0;
    t->offset = ub__alloc((size_t)(kw * kh) * sizeof(int64_t));
    t->weight = ub__alloc((size_t)(kw * kh) * sizeof(float));
    if (!t->offset || !t->weight) {
        taps_free(t);
        return ub__fail(ctx, UB_ERR_NOMEM, "convolve: out of memory for a %dx%d kernel", k->width, k->height);
    }
    for (int64_t dy = 0; dy < kh; dy++)
        for (int64_t dx = 0; dx < kw; dx++) {
            const float v = k->data[(kh - 1 - dy) * kw + (kw - 1 - dx)];
            if (v == 0.0f) continue;
            t->offset[t->count] = dy * stride + dx;
            t->weight[t->count++] = v;
        }
    return UB_OK;
}

/* ---- row kernels: out[x] for x in [0, n), src at the top-left tap of output 0 ---- */

static void row_avx2(const float *src, const tap_list *t, float *out, int64_t n) {
    const int64_t *off = t->offset;
    const float *wt = t->weight;
    const int64_t taps = t->count;
    int64_t x = 0;
    for (; x + 8 * BLOCK_VECTORS <= n; x += 8 * BLOCK_VECTORS) {
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        for (int64_t i = 0; i < taps; i++) {
            const float *s = src + off[i] + x;
            const __m256 v = _mm256_broadcast_ss(wt + i);
            a0 = _mm256_fmadd_ps(v, _mm256_loadu_ps(s), a0);
            a1 = _mm256_fmadd_ps(v, _mm256_loadu_ps(s + 8), a1);
            a2 = _mm256_fmadd_ps(v, _mm256_loadu_ps(s + 16), a2);
            a3 = _mm256_fmadd_ps(v, _mm256_loadu_ps(s + 24), a3);
            a4 = _mm256_fmadd_ps(v, _mm256_loadu_ps(s + 32), a4);
            a5 = _mm256_fmadd_ps(v, _mm256_loadu_ps(s + 40), a5);
            a6 = _mm256_fmadd_ps(v, _mm256_loadu_ps(s + 48), a6);
            a7 = _mm256_fmadd_ps(v, _mm256_loadu_ps(s + 56), a7);
        }
        float *o = out + x;
        _mm256_storeu_ps(o, a0), _mm256_storeu_ps(o + 8, a1), _mm256_storeu_ps(o + 16, a2);
        _mm256_storeu_ps(o + 24, a3), _mm256_storeu_ps(o + 32, a4), _mm256_storeu_ps(o + 40, a5);
        _mm256_storeu_ps(o + 48, a6), _mm256_storeu_ps(o + 56, a7);
    }
    for (; x + 8 <= n; x += 8) {
        __m256 a = _mm256_setzero_ps();
        for (int64_t i = 0; i < taps; i++)
            a = _mm256_fmadd_ps(_mm256_broadcast_ss(wt + i), _mm256_loadu_ps(src + off[i] + x), a);
        _mm256_storeu_ps(out + x, a);
    }
    for (; x < n; x++) {
        float a = 0.0f;
        for (int64_t i = 0; i < taps; i++) a = fmaf(wt[i], src[off[i] + x], a);
        out[x] = a;
    }
}

__attribute__((target("avx512f"))) static void row_avx512(const float *src, const tap_list *t, float *out,
                                                           int64_t n) {
    const int64_t *off = t->offset;
    const float *wt = t->weight;
    const int64_t taps = t->count;
    int64_t x = 0;
    for (; x + 16 * BLOCK_VECTORS <= n; x += 16 * BLOCK_VECTORS) {
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        for (int64_t i = 0; i < taps; i++) {
            const float *s = src + off[i] + x;
            const __m512 v = _mm512_set1_ps(wt[i]);
            a0 = _mm512_fmadd_ps(v, _mm512_loadu_ps(s), a0);
            a1 = _mm512_fmadd_ps(v, _mm512_loadu_ps(s + 16), a1);
            a2 = _mm512_fmadd_ps(v, _mm512_loadu_ps(s + 32), a2);
            a3 = _mm512_fmadd_ps(v, _mm512_loadu_ps(s + 48), a3);
            a4 = _mm512_fmadd_ps(v, _mm512_loadu_ps(s + 64), a4);
            a5 = _mm512_fmadd_ps(v, _mm512_loadu_ps(s + 80), a5);
            a6 = _mm512_fmadd_ps(v, _mm512_loadu_ps(s + 96), a6);
            a7 = _mm512_fmadd_ps(v, _mm512_loadu_ps(s + 112), a7);
        }
        float *o = out + x;
        _mm512_storeu_ps(o, a0), _mm512_storeu_ps(o + 16, a1), _mm512_storeu_ps(o + 32, a2);
        _mm512_storeu_ps(o + 48, a3), _mm512_storeu_ps(o + 64, a4), _mm512_storeu_ps(o + 80, a5);
        _mm512_storeu_ps(o + 96, a6), _mm512_storeu_ps(o + 112, a7);
    }
    for (; x < n; x += 16) {
        /* the masked tail loads only lanes inside the row: no read past the padded plane */
        const __mmask16 m = n - x >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - x)) - 1);
        __m512 a = _mm512_setzero_ps();
        for (int64_t i = 0; i < taps; i++)
            a = _mm512_fmadd_ps(_mm512_set1_ps(wt[i]), _mm512_maskz_loadu_ps(m, src + off[i] + x), a);
        _mm512_mask_storeu_ps(out + x, m, a);
    }
}

/* ---- strips ----

   The work is (plane, strip of output rows) items in ONE parallel loop: no barrier between
   padding and filtering, nothing for a thread to wait for but the end. Under REFLECT each item
   pads the input rows its strip reads (strip + kh - 1 rows) into the thread's own scratch, which
   stays in L2 while the taps stream over it; the kh - 1 rows padded twice are the price of
   needing no barrier. */

static int64_t strip_rows(int64_t kh) { return kh - 1 > 32 ? 2 * (kh - 1) : 64; }

/* rows [0, n) of dst (pw wide) = padded rows y0.. of the plane: in(reflect(x - ox), reflect(y - oy)). */
static void pad_rows(const float *in, int64_t w, int64_t h, int64_t ox, int64_t oy, int64_t y0, int64_t n,
                     float *dst, int64_t pw) {
    for (int64_t r = 0; r < n; r++) {
        const float *src = in + ub__reflect(y0 + r - oy, h) * w;
        float *row = dst + r * pw;
        for (int64_t x = 0; x < ox; x++) row[x] = src[ub__reflect(x - ox, w)];
        memcpy(row + ox, src, (size_t)w * sizeof(float));
        for (int64_t x = ox + w; x < pw; x++) row[x] = src[ub__reflect(x - ox, w)];
    }
}

typedef struct direct_job {
    const float *const *in;
    float *const *out;
    int64_t w, h, kw, kh, ow, oh, pw; /* pw: the row stride the taps assume */
    int reflect, isa;
    const tap_list *taps;
} direct_job;

static void run_strip(const direct_job *j, int p, int64_t y0, int64_t y1, float *scratch) {
    const float *src = j->in[p] + y0 * j->w;
    if (j->reflect) {
        pad_rows(j->in[p], j->w, j->h, j->kw / 2, j->kh / 2, y0, y1 - y0 + j->kh - 1, scratch, j->pw);
        src = scratch;
    }
    for (int64_t y = y0; y < y1; y++) {
        float *dst = j->out[p] + y * j->ow;
        if (j->isa == UB__ISA_AVX512) row_avx512(src + (y - y0) * j->pw, j->taps, dst, j->ow);
        else row_avx2(src + (y - y0) * j->pw, j->taps, dst, j->ow);
    }
}

static int run_all(ub_ctx *ctx, const direct_job *j, int planes) {
    const int64_t rows = strip_rows(j->kh), strips = (j->oh + rows - 1) / rows, items = planes * strips;
    const size_t scratch_n = j->reflect ? (size_t)(rows + j->kh - 1) * (size_t)j->pw : 0;
    int failed = 0;
#pragma omp parallel num_threads(ub_ctx_threads(ctx)) reduction(| : failed)
    {
        float *scratch = scratch_n ? ub__alloc(scratch_n * sizeof(float)) : NULL;
        if (scratch_n && !scratch) failed = 1;
#pragma omp for schedule(dynamic, 1)
        for (int64_t i = 0; i < items; i++) {
            if (scratch_n && !scratch) continue;
            const int64_t y0 = (i % strips) * rows, y1 = y0 + rows < j->oh ? y0 + rows : j->oh;
            run_strip(j, (int)(i / strips), y0, y1, scratch);
        }
        ub__free(scratch);
    }
    return failed;
}

/* ---- entry ---- */

static int resolve_isa(int isa) {
    const int has512 = (ub_cpu_features() & UB_CPU_AVX512F) != 0;
    if (isa == UB__ISA_BEST) return has512 ? UB__ISA_AVX512 : UB__ISA_AVX2;
    if (isa == UB__ISA_AVX512 && !has512) return -1;
    return isa == UB__ISA_AVX2 || isa == UB__ISA_AVX512 ? isa : -1;
}

ub_status ub__conv_direct(ub_ctx *ctx, const float *const *in, float *const *out, int planes, int64_t w, int64_t h,
                          const ub_kernel *k, ub_border border, int isa) {
    isa = resolve_isa(isa);
    if (isa < 0) return ub__fail(ctx, UB_ERR_UNSUPPORTED, "convolve: this CPU lacks the requested instruction set");
    const int reflect = border == UB_BORDER_REFLECT;
    direct_job j = {.in = in, .out = out, .w = w, .h = h, .kw = k->width, .kh = k->height, .reflect = reflect,
                    .isa = isa};
    j.ow = reflect ? w : w - j.kw + 1;
    j.oh = reflect ? h : h - j.kh + 1;
    j.pw = reflect ? w + j.kw - 1 : w;
    size_t check;
    if (!ub__mul3_size((size_t)strip_rows(j.kh) + (size_t)j.kh, (size_t)j.pw, sizeof(float), &check))
        return ub__fail(ctx, UB_ERR_NOMEM, "convolve: a %lld-wide plane is too large", (long long)w);
    tap_list t;
    ub_status st = taps_build(ctx, k, j.pw, &t);
    if (st) return st;
    j.taps = &t;
    if (t.count == 0) {
        for (int p = 0; p < planes; p++) memset(out[p], 0, (size_t)(j.ow * j.oh) * sizeof(float));
    } else if (run_all(ctx, &j, planes)) {
        st = ub__fail(ctx, UB_ERR_NOMEM, "convolve: out of memory for the padded rows");
    }
    taps_free(&t);
    return st;
}
