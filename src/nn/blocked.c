/* nn/blocked.c — element-wise kernels, region copies and reflect padding on
   oneDNN's activation layouts (see blocked.h). */
#include "nn/blocked.h"

#include <string.h>

ub__blk ub__blk_make(int n, int c, int h, int w, int B) {
    ub__blk l = {n, c, h, w, B > 0 ? B : c, 1};
    l.cb = (c + l.B - 1) / l.B;
    return l;
}

/* Element-wise loops are cut in chunks of this many floats (64 KiB): big enough to amortise the
   scheduling, small enough to balance two threads on a tensor of a few chunks. */
enum { VEC_CHUNK = 16384 };

void ub__vec_add(float *dst, const float *a, const float *b, size_t n, int threads) {
    const long chunks = (long)((n + VEC_CHUNK - 1) / VEC_CHUNK);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (long k = 0; k < chunks; k++) {
        const size_t end = (size_t)(k + 1) * VEC_CHUNK < n ? (size_t)(k + 1) * VEC_CHUNK : n;
        for (size_t i = (size_t)k * VEC_CHUNK; i < end; i++) dst[i] = a[i] + b[i];
    }
}

void ub__vec_accumulate(float *dst, const float *src, size_t n, int threads) {
    const long chunks = (long)((n + VEC_CHUNK - 1) / VEC_CHUNK);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (long k = 0; k < chunks; k++) {
        const size_t end = (size_t)(k + 1) * VEC_CHUNK < n ? (size_t)(k + 1) * VEC_CHUNK : n;
        for (size_t i = (size_t)k * VEC_CHUNK; i < end; i++) dst[i] += src[i];
    }
}

void ub__vec_relu(float *dst, const float *src, size_t n, int threads) {
    const long chunks = (long)((n + VEC_CHUNK - 1) / VEC_CHUNK);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (long k = 0; k < chunks; k++) {
        const size_t end = (size_t)(k + 1) * VEC_CHUNK < n ? (size_t)(k + 1) * VEC_CHUNK : n;
        for (size_t i = (size_t)k * VEC_CHUNK; i < end; i++) dst[i] = src[i] > 0.0f ? src[i] : 0.0f;
    }
}

void ub__vec_relu_mask(float *g, const float *y, size_t n, int threads) {
    const long chunks = (long)((n + VEC_CHUNK - 1) / VEC_CHUNK);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (long k = 0; k < chunks; k++) {
        const size_t end = (size_t)(k + 1) * VEC_CHUNK < n ? (size_t)(k + 1) * VEC_CHUNK : n;
        for (size_t i = (size_t)k * VEC_CHUNK; i < end; i++) g[i] = y[i] > 0.0f ? g[i] : 0.0f;
    }
}

void ub__blk_add_bias(const ub__blk *l, float *out, const float *a, const float *b, const float *bias, int threads) {
    const int B = l->B, h = l->h, w = l->w;
    const long rows = (long)l->n * l->cb * h;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (long r = 0; r < rows; r++) {
        const int cb = (int)(r / h % l->cb), left = l->c - cb * B, nk = bias ? (left < B ? left : B) : 0;
        const size_t base = (size_t)r * w * B;
        const float *bv = bias ? bias + (size_t)cb * B : NULL;
        for (int x = 0; x < w; x++) {
            const size_t p = base + (size_t)x * B;
            if (a)
                for (int k = 0; k < B; k++) out[p + k] = a[p + k] + b[p + k];
            else
                for (int k = 0; k < B; k++) out[p + k] = b[p + k];
            for (int k = 0; k < nk; k++) out[p + k] += bv[k];
        }
    }
}

void ub__blk_copy_region(const ub__blk *ls, const float *src, const ub__blk *ld, float *dst, int rh, int rw,
                         int accumulate, int threads) {
    const int n = ld->n, cpad = ld->cb * ld->B;
    const long rows = (long)n * cpad * rh;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (long r = 0; r < rows; r++) {
        const int y = (int)(r % rh), c = (int)(r / rh % cpad), i = (int)(r / rh / cpad);
        if (c >= ld->c) { /* the padding channels of a blocked destination */
            if (!accumulate)
                for (int x = 0; x < rw; x++) dst[ub__blk_at(ld, i, c, y, x)] = 0.0f;
            continue;
        }
        if (accumulate)
            for (int x = 0; x < rw; x++) dst[ub__blk_at(ld, i, c, y, x)] += src[ub__blk_at(ls, i, c, y, x)];
        else
            for (int x = 0; x < rw; x++) dst[ub__blk_at(ld, i, c, y, x)] = src[ub__blk_at(ls, i, c, y, x)];
    }
}

/* PyTorch's "reflect": index size maps to size - 2, size + 1 to size - 3, ... (the edge is not repeated). */
static int reflect_index(int i, int size) { return i < size ? i : 2 * (size - 1) - i; }

void ub__pad_reflect(float *out, const float *in, int n, int c, int h, int w, int hp, int wp, int threads) {
    const long rows = (long)n * c * hp;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (long r = 0; r < rows; r++) {
        const long plane = r / hp;
        const int y = (int)(r % hp);
        const float *src = in + ((size_t)plane * h + (size_t)reflect_index(y, h)) * w;
        float *dst = out + (size_t)r * wp;
        memcpy(dst, src, sizeof(float) * (size_t)w);
        for (int x = w; x < wp; x++) dst[x] = src[reflect_index(x, w)];
    }
}

/* One plane per iteration: several padded pixels fold onto one source, so planes are the unit that
   threads can share without races, and the order of the sums is fixed. */
void ub__pad_reflect_backward(float *din, const float *dout, int n, int c, int h, int w, int hp, int wp,
                              int threads) {
    const long planes = (long)n * c;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (long p = 0; p < planes; p++) {
        float *dst = din + (size_t)p * h * w;
        const float *src = dout + (size_t)p * hp * wp;
        for (int y = 0; y < hp; y++)
            for (int x = 0; x < wp; x++)
                dst[(size_t)reflect_index(y, h) * w + reflect_index(x, w)] += src[(size_t)y * wp + x];
    }
}
