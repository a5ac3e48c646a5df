/* tests/testblk.h — moving test data between plain NCHW arrays and the blocked float layouts of
   nn/blocked.h (oneDNN's nChw8c / nChw16c and NHWC), for the tests of the kernels that run on them
   (test_nn_fast.c, test_naf.c). Header-only: each test program is one translation unit. */
#ifndef UB_TESTBLK_H
#define UB_TESTBLK_H

#include <math.h>
#include <string.h>

#include "nn/blocked.h"

/* Index of (n, c, y, x) in a plain NCHW array of the layout's shape. */
static inline size_t testblk_nchw(const ub__blk *l, int n, int c, int y, int x) {
    return (((size_t)n * l->c + c) * l->h + y) * l->w + x;
}

/* NCHW doubles -> the layout's floats; the padding channels are zero. */
static inline void testblk_from_nchw(const ub__blk *l, const double *src, float *dst) {
    memset(dst, 0, sizeof(float) * ub__blk_floats(l));
    for (int n = 0; n < l->n; n++)
        for (int c = 0; c < l->c; c++)
            for (int y = 0; y < l->h; y++)
                for (int x = 0; x < l->w; x++) dst[ub__blk_at(l, n, c, y, x)] = (float)src[testblk_nchw(l, n, c, y, x)];
}

/* The layout's floats -> NCHW floats (the real channels only). */
static inline void testblk_to_nchw(const ub__blk *l, const float *src, float *dst) {
    for (int n = 0; n < l->n; n++)
        for (int c = 0; c < l->c; c++)
            for (int y = 0; y < l->h; y++)
                for (int x = 0; x < l->w; x++) dst[testblk_nchw(l, n, c, y, x)] = src[ub__blk_at(l, n, c, y, x)];
}

/* Whether every padding channel of buf is zero (the kernels must keep them so: oneDNN reads them). */
static inline int testblk_padding_zero(const ub__blk *l, const float *buf) {
    for (int n = 0; n < l->n; n++)
        for (int c = l->c; c < l->cb * l->B; c++)
            for (int y = 0; y < l->h; y++)
                for (int x = 0; x < l->w; x++)
                    if (buf[ub__blk_at(l, n, c, y, x)] != 0.0f) return 0;
    return 1;
}

/* max |blocked - reference| / max |reference| over the real channels. */
static inline double testblk_err(const ub__blk *l, const float *got, const double *want) {
    double diff = 0, scale = 1e-30;
    for (int n = 0; n < l->n; n++)
        for (int c = 0; c < l->c; c++)
            for (int y = 0; y < l->h; y++)
                for (int x = 0; x < l->w; x++) {
                    const double v = want[testblk_nchw(l, n, c, y, x)];
                    diff = fmax(diff, fabs(got[ub__blk_at(l, n, c, y, x)] - v)), scale = fmax(scale, fabs(v));
                }
    return diff / scale;
}

#endif
