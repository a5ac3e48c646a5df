/* synth/sensor.c — the sensor and camera after the blur: highlight boost,
   clipping, Poisson-Gaussian noise, camera response, JPEG (see unblur/synth.h).

   Order in the pipeline: boost (linear, before the blur, so light sources
   carry energy above 1 and smear into bright streaks) -> blur -> clip (the
   sensor saturates) -> noise -> camera response -> JPEG.

   Every function works on the colour channels (the first 1 or 3 planes) and
   never touches alpha (the last plane of a 2- or 4-channel image). The
   functions without a context are cheap, memory-bound passes and run on the
   calling thread. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "synth/internal.h"

/* Poisson means above this are drawn as Gaussians with the same mean and
   variance (x + sqrt(a x) N(0,1)). At 1e4 the Poisson skewness is
   1/sqrt(1e4) = 0.01 and its CDF is within 0.27% (Kolmogorov distance, mostly
   the lattice of steps a, 1/100 of the standard deviation) of that Gaussian;
   below it the draw is an exact Poisson. Mean and variance are exact either
   way (tests/test_sensor.c checks both sides). It is not a speed-up (PTRS
   costs about what a normal does); it bounds the work for absurd means. */
#define UB_POISSON_GAUSS_LAMBDA 1e4

static size_t plane_size(const ub_image *img) { return (size_t)img->width * (size_t)img->height; }

static int image_ok(const ub_image *img) {
    return img && img->data && img->width > 0 && img->height > 0 && img->channels >= 1 && img->channels <= 4;
}

/* ---- highlights ---- */

/* The gain applied to a pixel whose colour max is m:
       t = clamp((m - threshold) / (1 - threshold), 0, 1)
       s = t^2 (3 - 2t)                  (smoothstep: zero slope at both ends)
       gain = 1 + (factor - 1) s
   so gain is 1 up to the threshold, reaches `factor` at m = 1 and stays there
   above. The gain is C1 in m (no kink, so no visible contour at the threshold),
   and for factor >= 1 the output m * gain(m) is increasing in m. */
static inline float highlight_gain(float m, float threshold, float span, float extra) {
    float t = (m - threshold) / span;
    t = t < 1.0f ? t : 1.0f;
    return 1.0f + extra * (t * t * (3.0f - 2.0f * t));
}

void ub_boost_highlights(ub_image *img, double threshold, double factor) {
    /* threshold in [0,1) and a positive finite factor; anything else leaves the image as it is */
    if (!image_ok(img) || !(threshold >= 0.0 && threshold < 1.0) || !(factor > 0.0 && isfinite(factor))) return;
    const int colours = ub_image_colour_channels(img);
    const size_t n = plane_size(img);
    /* span in float from th itself, so that m = 1 gives t = 1 exactly (gain = factor) */
    const float th = (float)threshold, span = 1.0f - th, extra = (float)(factor - 1.0);
    float *r = ub_image_plane(img, 0), *g = ub_image_plane(img, colours == 3 ? 1 : 0),
          *b = ub_image_plane(img, colours == 3 ? 2 : 0);
    for (size_t i = 0; i < n; i++) {
        const float m = fmaxf(r[i], fmaxf(g[i], b[i]));
        if (!(m > th)) continue; /* also skips NaN */
        const float gain = highlight_gain(m, th, span, extra);
        r[i] *= gain;
        if (colours == 3) {
            g[i] *= gain;
            b[i] *= gain;
        }
    }
}

/* ---- clipping ---- */

void ub_clip(ub_image *img) {
    if (!image_ok(img)) return;
    float *v = img->data;
    const size_t n = plane_size(img) * (size_t)ub_image_colour_channels(img);
#pragma omp simd
    for (size_t i = 0; i < n; i++) {
        const float x = v[i];
        v[i] = x > 0.0f ? (x < 1.0f ? x : 1.0f) : 0.0f; /* NaN -> 0 */
    }
}

/* ---- noise ---- */

/* Mean x and variance a x + b^2 for x >= 0 (tests/test_sensor.c checks both
   on flat patches). The cost is the draws themselves, so they are the
   library's internal ones (core/rng.c): batched Poisson draws whose first
   candidates go through PTRS's squeeze in vectorised form, and the ziggurat
   normal (no logarithm in 99% of draws) rather than ub_rng_normal's polar
   method. About 10 ns per value on one core, where one scalar Poisson and one
   polar normal per value cost about 40. */

enum { NOISE_CHUNK = 256 }; /* values per batch: the stream layout depends on it */

/* Shot noise of n values in place: y = a Poisson(max(y,0)/a), with the means
   beyond UB_POISSON_GAUSS_LAMBDA drawn as y + sqrt(a y) N(0,1) after the batch. */
static void shot_noise(double *y, int n, double a, ub_rng *r) {
    double lambda[NOISE_CHUNK], k[NOISE_CHUNK];
    for (int i = 0; i < n; i++) {
        const double l = (y[i] > 0 ? y[i] : 0) / a; /* NaN -> 0 */
        lambda[i] = l <= UB_POISSON_GAUSS_LAMBDA ? l : 0;
    }
    ub__rng_poisson_n(r, lambda, k, n);
    for (int i = 0; i < n; i++) {
        const double mean = y[i] > 0 ? y[i] : 0, l = mean / a;
        if (l <= UB_POISSON_GAUSS_LAMBDA) y[i] = a * k[i];
        else if (isfinite(l)) y[i] = mean + sqrt(a * mean) * ub__rng_normal_zig(r);
        else y[i] = mean; /* inf stays inf (no draw: inf - inf would be NaN) */
    }
}

/* One row of one colour channel: y = a Poisson(max(x,0)/a) + b N(0,1), in
   double and rounded to float once. The row's own stream serves chunks of
   NOISE_CHUNK values in order, each drawing its shot noise
   (ub__rng_poisson_n's layout, then the Gaussian stand-ins in value order),
   then its read noise (one ziggurat normal per value). */
static void noise_row(float *row, int64_t w, double a, double b, ub_rng *r) {
    double y[NOISE_CHUNK];
    for (int64_t at = 0; at < w; at += NOISE_CHUNK) {
        float *v = row + at;
        const int n = w - at < NOISE_CHUNK ? (int)(w - at) : NOISE_CHUNK;
        for (int i = 0; i < n; i++) y[i] = v[i];
        if (a > 0) shot_noise(y, n, a, r);
        if (b > 0)
            for (int i = 0; i < n; i++) y[i] += b * ub__rng_normal_zig(r);
        for (int i = 0; i < n; i++) v[i] = (float)y[i];
    }
}

void ub_add_noise(ub_ctx *ctx, ub_image *img, double shot_gain, double read_noise, uint64_t seed) {
    if (!image_ok(img)) return;
    /* a gain that is not a positive finite number means "none of that noise" */
    const double a = shot_gain > 0 && isfinite(shot_gain) ? shot_gain : 0;
    const double b = read_noise > 0 && isfinite(read_noise) ? read_noise : 0;
    if (a == 0 && b == 0) return;
    const int64_t w = img->width, h = img->height, jobs = (int64_t)ub_image_colour_channels(img) * h;
    const int threads = ctx ? ub_ctx_threads(ctx) : 1;
    /* one job per (channel, row), each with its own stream: the schedule cannot change a draw */
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t j = 0; j < jobs; j++) {
        const int64_t c = j / h, y = j % h;
        ub_rng r;
        ub_rng_seed(&r, ub_rng_derive(seed, (uint64_t)c, (uint64_t)y));
        noise_row(img->data + j * w, w, a, b, &r);
    }
}

/* ---- camera response ---- */

void ub_apply_crf(ub_image *img, ub_crf crf, double gamma) {
    if (!image_ok(img)) return;
    float *v = img->data;
    const size_t n = plane_size(img) * (size_t)ub_image_colour_channels(img);
    if (crf == UB_CRF_SRGB) {
        ub_linear_to_srgb(v, n);
    } else if (crf == UB_CRF_GAMMA) {
        if (!(gamma > 0 && isfinite(gamma))) return; /* no such curve: leave the image as it is */
        const double inv = 1.0 / gamma;
        for (size_t i = 0; i < n; i++) {
            const double x = v[i] > 0.0f ? v[i] : 0.0; /* negative and NaN -> 0: no real power below 0 */
            v[i] = (float)pow(x, inv);
        }
    }
    /* UB_CRF_LINEAR (and unknown values): unchanged */
}

/* ---- JPEG ---- */

/* The codec's message ("<memory>: ...") prefixed with what was being done. */
static ub_status with_prefix(ub_ctx *ctx, ub_status st) {
    char why[UB_ERRMSG_MAX];
    snprintf(why, sizeof why, "%s", ub_last_error(ctx));
    return ub__fail(ctx, st, "JPEG round trip: %s", why);
}

ub_status ub_jpeg_roundtrip(ub_ctx *ctx, ub_image *img, int quality) {
    if (!image_ok(img)) return ub__fail(ctx, UB_ERR_INVALID, "JPEG round trip: invalid image");
    if (quality < 1 || quality > 100)
        return ub__fail(ctx, UB_ERR_INVALID, "JPEG round trip: quality %d (use 1 to 100)", quality);
    /* JPEG holds grey or RGB: encode a view of the colour planes, which come
       first in the planar layout, so alpha (the last plane) stays aside */
    ub_image colour = *img;
    colour.channels = ub_image_colour_channels(img);
    ub_write_options o;
    ub_default_write_options(&o);
    o.format = UB_FORMAT_JPEG;
    o.jpeg_quality = quality;
    void *bytes = NULL;
    size_t size = 0;
    ub_status st = ub_image_encode(ctx, &colour, &o, &bytes, &size);
    if (st) return with_prefix(ctx, st);
    ub_image *decoded = NULL;
    st = ub_image_decode(ctx, bytes, size, "<memory>", &decoded);
    free(bytes);
    if (st) return with_prefix(ctx, st);
    if (decoded->width != img->width || decoded->height != img->height || decoded->channels != colour.channels) {
        ub_image_destroy(&decoded);
        return ub__fail(ctx, UB_ERR_FORMAT, "JPEG round trip: the decoded image does not match the encoded one");
    }
    memcpy(img->data, decoded->data, plane_size(img) * (size_t)colour.channels * sizeof(float));
    ub_image_destroy(&decoded);
    return UB_OK;
}
