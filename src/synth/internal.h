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

#endif
