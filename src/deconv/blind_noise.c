/* deconv/blind_noise.c — the noise level of a plane, for the blind step's noise-aware settings.

   Immerkaer (1996): the 3 x 3 mask  1 -2 1 / -2 4 -2 / 1 -2 1  (the difference of two Laplacians)
   cancels every locally planar or linear-ramp patch, so what it returns on a photograph is mostly
   noise plus the image's strongest edges. Its L2 norm is 6, so white noise of deviation sigma gives
   responses of deviation 6 sigma. The plane is cut into 16 x 16 blocks and the mean absolute
   response of each is ranked: the flattest fifth of the blocks hold noise alone, where a median over
   all pixels also counts fine texture (gravel, foliage) as noise. Large planes use every step-th
   block (at most 2^14 blocks). With signal-dependent noise this reads the noise of the flat parts. */
#include <math.h>
#include <stdlib.h>

#include "deconv/blind_internal.h"

enum { BLOCK = 16, MAX_BLOCKS = 1 << 14 };
/* The blocks' mean absolute responses are ranked and the QUANTILE-th read: the flattest blocks,
   where the response is noise alone (a whole-plane median reads fine texture as noise: 0.023 on a
   clean CBSD68 photo of gravel, whose deconvolution then flattened it by 20 dB). */
static const double QUANTILE = 0.2, QUANTILE_BIAS = 0.97;

/* Hoare's selection: the k-th smallest of v[0..n) (reordered), in O(n) on average. */
static float select_kth(float *v, size_t n, size_t k) {
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        const float pivot = v[lo + (hi - lo) / 2];
        size_t i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot) i++;
            while (v[j] > pivot) j--;
            if (i <= j) {
                const float t = v[i];
                v[i] = v[j], v[j] = t;
                i++;
                if (j == 0) break;
                j--;
            }
        }
        if (k <= j) hi = j;
        else if (k >= i) lo = i;
        else return v[k];
    }
    return v[k];
}

/* The mask's response at (x, y) (1 <= x < w - 1, 1 <= y < h - 1). */
static float mask_response(const float *v, int64_t w, int64_t x, int64_t y) {
    const float *a = v + (y - 1) * w, *b = v + y * w, *c = v + (y + 1) * w;
    return (a[x - 1] + a[x + 1] + c[x - 1] + c[x + 1]) - 2.0f * (a[x] + c[x] + b[x - 1] + b[x + 1]) + 4.0f * b[x];
}

/* The median absolute response / 0.6745 over a plane too small for one block. */
static double whole_plane_mad(const float *v, int64_t w, int64_t h) {
    float *r = malloc((size_t)(w - 2) * (size_t)(h - 2) * sizeof(float));
    if (!r) return -1.0;
    size_t n = 0;
    for (int64_t y = 1; y + 1 < h; y++)
        for (int64_t x = 1; x + 1 < w; x++) r[n++] = fabsf(mask_response(v, w, x, y));
    const double mad = select_kth(r, n, n / 2);
    free(r);
    return mad / (0.6745 * 6.0);
}

double ub__blind_noise_sigma(const float *v, int64_t w, int64_t h) {
    if (!v || w < 3 || h < 3) return 0.0;
    const int64_t bw = (w - 2) / BLOCK, bh = (h - 2) / BLOCK;
    if (bw < 1 || bh < 1) return whole_plane_mad(v, w, h);
    int64_t step = 1; /* every step-th block in each direction */
    while ((bw / step) * (bh / step) > MAX_BLOCKS) step++;
    const size_t cap = (size_t)((bw + step - 1) / step) * (size_t)((bh + step - 1) / step);
    float *dev = malloc(cap * sizeof(float));
    if (!dev) return -1.0;
    size_t n = 0;
    for (int64_t by = 0; by < bh; by += step)
        for (int64_t bx = 0; bx < bw; bx += step) {
            double sum = 0;
            for (int64_t y = 1 + by * BLOCK; y < 1 + (by + 1) * BLOCK; y++)
                for (int64_t x = 1 + bx * BLOCK; x < 1 + (bx + 1) * BLOCK; x++) sum += fabsf(mask_response(v, w, x, y));
            dev[n++] = (float)(sum / (BLOCK * BLOCK));
        }
    const double low = select_kth(dev, n, (size_t)(QUANTILE * (double)(n - 1)));
    free(dev);
    /* mean |N(0, 36 sigma^2)| = 6 sigma sqrt(2 / pi); the low quantile of ~256-sample means sits about
       3 % under their centre, corrected */
    return low / (6.0 * 0.7978845608 * QUANTILE_BIAS);
}
