/* tests/test_sensor.c — the sensor and camera model (src/synth/sensor.c):
   noise statistics (variance a x + b^2, mean x) on flat patches, the noise
   against a plain serial twin, determinism over seeds and thread counts,
   highlight boost, clipping, camera responses, the JPEG round trip, and alpha
   left untouched by every function.

   `test_sensor --bench` also times the noise on a 1024x1024 RGB image (1 and
   2 threads) and a 256x256 training crop, and prints ns per noisy pixel. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "testutil.h"
#include "unblur/synth.h"

static size_t plane_size(const ub_image *img) { return (size_t)img->width * (size_t)img->height; }

static ub_image *flat_image(ub_ctx *ctx, int64_t w, int64_t h, int channels, const float *values) {
    ub_image *img;
    if (ub_image_create(ctx, &img, w, h, channels) != UB_OK) {
        fprintf(stderr, "flat_image: %s\n", ub_last_error(ctx));
        exit(1);
    }
    for (int c = 0; c < channels; c++) {
        float *p = ub_image_plane(img, c);
        for (size_t i = 0; i < plane_size(img); i++) p[i] = values[c];
    }
    return img;
}

static ub_image *clone_of(ub_ctx *ctx, const ub_image *img) {
    ub_image *out;
    if (ub_image_clone(ctx, img, &out) != UB_OK) {
        fprintf(stderr, "clone: %s\n", ub_last_error(ctx));
        exit(1);
    }
    return out;
}

/* Bitwise equality of the alpha planes (NaN-safe), or 1 when there is no alpha. */
static int alpha_same(const ub_image *a, const ub_image *b) {
    if (!ub_image_has_alpha(a)) return 1;
    int c = a->channels - 1;
    return memcmp(ub_image_plane(a, c), ub_image_plane(b, c), plane_size(a) * sizeof(float)) == 0;
}

static int colour_same(const ub_image *a, const ub_image *b) {
    return memcmp(a->data, b->data, plane_size(a) * (size_t)ub_image_colour_channels(a) * sizeof(float)) == 0;
}

/* An alpha plane with values no function may produce (out of range, a NaN), so any touch shows. */
static void odd_alpha(ub_image *img) {
    if (!ub_image_has_alpha(img)) return;
    float *p = ub_image_plane(img, img->channels - 1);
    for (size_t i = 0; i < plane_size(img); i++) p[i] = (float)(i % 7) * 0.37f - 0.5f;
    p[0] = NAN;
}

/* ---- noise ---- */

/* Flat 512x512 patches: each channel holds one level x; the sample variance
   must be a x + b^2 within 5% and the mean x within 5 standard errors. The
   standard error of the variance is estimated from the data's fourth moment,
   and the test insists that 5% is more than 6 of them (else the patch is too
   small for the check to be safe). */
static void test_noise_statistics(void) {
    ub_ctx *ctx = test_ctx(2);
    const struct {
        double a, b;
        float x[3];
    } cases[] = {
        {0.01, 0.02, {0.05f, 0.3f, 0.8f}},
        {0.0, 0.05, {0.05f, 0.5f, 0.95f}},     /* read noise only */
        {0.02, 0.0, {0.01f, 0.3f, 0.9f}},      /* shot noise only; x/a down to 0.5 */
        {0.001, 0.005, {0.02f, 0.4f, 0.7f}},   /* lambda 20..700: PTRS */
        {1e-5, 0.0, {0.05f, 0.3f, 0.8f}},      /* lambda 5000 (PTRS), 3e4 and 8e4 (Gaussian) */
        {1e-5, 1e-3, {0.099f, 0.1f, 0.101f}},  /* around the Gaussian switch at lambda 1e4 */
    };
    const int64_t w = 512, h = 512;
    const double n = (double)(w * h);
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        ub_image *img = flat_image(ctx, w, h, 3, cases[k].x);
        ub_add_noise(ctx, img, cases[k].a, cases[k].b, 1000 + k);
        for (int c = 0; c < 3; c++) {
            const float *p = ub_image_plane(img, c);
            double sum = 0;
            for (size_t i = 0; i < plane_size(img); i++) sum += p[i];
            const double mean = sum / n;
            double m2 = 0, m4 = 0;
            for (size_t i = 0; i < plane_size(img); i++) {
                double d = p[i] - mean, d2 = d * d;
                m2 += d2, m4 += d2 * d2;
            }
            m2 /= n, m4 /= n;
            const double x = cases[k].x[c], want = cases[k].a * x + cases[k].b * cases[k].b;
            const double se_var = sqrt((m4 - m2 * m2) / n), se_mean = sqrt(want / n);
            CHECK_MSG(0.05 * want > 6 * se_var, "a %g b %g x %g: the patch is too small (5%% = %.2f SE)", cases[k].a,
                      cases[k].b, x, 0.05 * want / se_var);
            CHECK_MSG(fabs(m2 / want - 1) < 0.05, "a %g b %g x %g: variance %.6g, want %.6g (SE %.2g)", cases[k].a,
                      cases[k].b, x, m2, want, se_var);
            CHECK_MSG(fabs(mean - x) < 5 * se_mean, "a %g b %g x %g: mean %.8g (SE %.2g)", cases[k].a, cases[k].b, x,
                      mean, se_mean);
        }
        ub_image_destroy(&img);
    }
    ub_ctx_destroy(&ctx);
}

/* The documented stream layout (synth/sensor.c), drawn serially: stream
   (channel, row) of the seed; per chunk of 256 values in row order, the shot
   noise (one batch of ub__rng_poisson_n, then a normal for each mean beyond
   1e4), then one ziggurat normal per value for the read noise. */
static void noise_twin(ub_image *img, double a, double b, uint64_t seed) {
    enum { CHUNK = 256 };
    for (int c = 0; c < ub_image_colour_channels(img); c++)
        for (int64_t y = 0; y < img->height; y++) {
            ub_rng r;
            ub_rng_seed(&r, ub_rng_derive(seed, (uint64_t)c, (uint64_t)y));
            float *row = ub_image_plane(img, c) + y * img->width;
            for (int64_t at = 0; at < img->width; at += CHUNK) {
                const int n = img->width - at < CHUNK ? (int)(img->width - at) : CHUNK;
                double v[CHUNK], lambda[CHUNK], k[CHUNK];
                for (int i = 0; i < n; i++) {
                    v[i] = row[at + i];
                    lambda[i] = (v[i] > 0 ? v[i] : 0) / a;
                    if (!(lambda[i] <= 1e4)) lambda[i] = 0;
                }
                if (a > 0) {
                    ub__rng_poisson_n(&r, lambda, k, n);
                    for (int i = 0; i < n; i++) {
                        const double mean = v[i] > 0 ? v[i] : 0;
                        v[i] = mean / a <= 1e4 ? a * k[i] : mean + sqrt(a * mean) * ub__rng_normal_zig(&r);
                    }
                }
                if (b > 0)
                    for (int i = 0; i < n; i++) v[i] += b * ub__rng_normal_zig(&r);
                for (int i = 0; i < n; i++) row[at + i] = (float)v[i];
            }
        }
}

static void test_noise_twin(void) {
    ub_ctx *ctx = test_ctx(3);
    const double gains[][2] = {{0.01, 0.02}, {0.0, 0.03}, {0.004, 0.0}};
    const int shapes[][2] = {{37, 23}, {1, 5}, {64, 1}, {600, 3}}; /* 600: two whole chunks of 256 and a part */
    for (int channels = 1; channels <= 4; channels++)
        for (size_t g = 0; g < sizeof gains / sizeof *gains; g++)
            for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
                ub_image *img = test_image(ctx, shapes[s][0], shapes[s][1], channels, 7 + g);
                odd_alpha(img);
                if (channels >= 3) ub_image_plane(img, 1)[0] = -0.25f; /* negative: mean 0 for shot noise */
                ub_image_plane(img, 0)[shapes[s][0] - 1] = 300.0f; /* a mean beyond 1e4 where a > 0: a normal */
                ub_image *twin = clone_of(ctx, img), *orig = clone_of(ctx, img);
                ub_add_noise(ctx, img, gains[g][0], gains[g][1], 99);
                noise_twin(twin, gains[g][0], gains[g][1], 99);
                CHECK_MSG(colour_same(img, twin), "%d channels, a %g b %g, %dx%d: differs from the serial twin",
                          channels, gains[g][0], gains[g][1], shapes[s][0], shapes[s][1]);
                CHECK(alpha_same(img, orig));
                CHECK(!colour_same(img, orig));
                ub_image_destroy(&img);
                ub_image_destroy(&twin);
                ub_image_destroy(&orig);
            }
    /* no noise at all: untouched */
    ub_image *img = test_image(ctx, 20, 10, 3, 1), *orig = clone_of(ctx, img);
    ub_add_noise(ctx, img, 0, 0, 5);
    CHECK(colour_same(img, orig));
    ub_add_noise(ctx, img, -1, NAN, 5); /* not positive finite: none */
    CHECK(colour_same(img, orig));
    ub_add_noise(ctx, NULL, 0.1, 0.1, 5); /* no crash */
    ub_image_destroy(&img);
    ub_image_destroy(&orig);
    ub_ctx_destroy(&ctx);
}

static void test_noise_determinism(void) {
    ub_image *first = NULL;
    for (int threads = 1; threads <= 3; threads++) {
        ub_ctx *ctx = test_ctx(threads);
        ub_image *img = test_image(ctx, 301, 203, 4, 3);
        ub_add_noise(ctx, img, 0.01, 0.01, 1234);
        if (!first) first = img;
        else {
            CHECK_MSG(memcmp(first->data, img->data, plane_size(img) * 4 * sizeof(float)) == 0,
                      "%d threads differ from 1 thread", threads);
            ub_image_destroy(&img);
        }
        ub_ctx_destroy(&ctx);
    }
    ub_ctx *ctx = test_ctx(2);
    ub_image *same = test_image(ctx, 301, 203, 4, 3), *other = test_image(ctx, 301, 203, 4, 3);
    ub_add_noise(ctx, same, 0.01, 0.01, 1234);
    ub_add_noise(ctx, other, 0.01, 0.01, 1235);
    CHECK(memcmp(first->data, same->data, plane_size(same) * 4 * sizeof(float)) == 0);
    size_t differ = 0, n = plane_size(same) * 3;
    for (size_t i = 0; i < n; i++) differ += same->data[i] != other->data[i];
    CHECK_MSG(differ > n * 9 / 10, "seeds 1234 and 1235: only %zu of %zu samples differ", differ, n);
    /* rows and channels draw from different streams: no two rows carry the same noise */
    ub_image *flat = flat_image(ctx, 64, 4, 3, (const float[]){0.5f, 0.5f, 0.5f});
    ub_add_noise(ctx, flat, 0, 0.1, 8);
    int repeats = 0;
    for (int r = 1; r < 12; r++) repeats += memcmp(flat->data, flat->data + r * 64, 64 * sizeof(float)) == 0;
    CHECK(repeats == 0);
    ub_image_destroy(&flat);
    ub_image_destroy(&first);
    ub_image_destroy(&same);
    ub_image_destroy(&other);
    ub_ctx_destroy(&ctx);
}

/* ---- highlights ---- */

static double gain_formula(double m, double threshold, double factor) {
    double t = (m - threshold) / (1 - threshold);
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    return 1 + (factor - 1) * t * t * (3 - 2 * t);
}

static void test_highlights(void) {
    ub_ctx *ctx = test_ctx(1);
    const double threshold = 0.8, factor = 4;
    /* colour max sweeps 0 .. 1.5 along x; the other channels are fixed fractions of it */
    const int64_t w = 301;
    ub_image *img;
    CHECK_OK(ctx, ub_image_create(ctx, &img, w, 1, 4));
    for (int64_t x = 0; x < w; x++) {
        float m = (float)(1.5 * x / (w - 1));
        ub_image_plane(img, 0)[x] = 0.5f * m;
        ub_image_plane(img, 1)[x] = m;
        ub_image_plane(img, 2)[x] = 0.25f * m;
    }
    odd_alpha(img);
    ub_image *orig = clone_of(ctx, img);
    ub_boost_highlights(img, threshold, factor);
    CHECK(alpha_same(img, orig));
    double previous = -1;
    for (int64_t x = 0; x < w; x++) {
        const float m = ub_image_plane(orig, 1)[x], out = ub_image_plane(img, 1)[x];
        const double gain = out / (double)m;
        if (m <= (float)threshold) CHECK_MSG(out == m, "m %g below the threshold changed to %g", m, out);
        else CHECK_MSG(fabs(gain - gain_formula(m, threshold, factor)) < 1e-5, "m %g: gain %.7g, formula %.7g", m, gain,
                       gain_formula(m, threshold, factor));
        if (m >= 1.0f) CHECK_MSG(out == m * (float)factor, "m %g: %g, want %g", m, out, m * factor);
        /* hue kept: every colour channel has the same gain */
        for (int c = 0; c < 3; c += 2) {
            float in = ub_image_plane(orig, c)[x], o = ub_image_plane(img, c)[x];
            if (in > 0) CHECK_NEAR(o / in, out / m, 1e-5);
        }
        CHECK_MSG(out >= previous, "not monotone at m %g: %g after %g", m, out, previous);
        previous = out;
    }
    /* smooth start: just above the threshold the gain barely moves (zero slope there) */
    {
        const float m = (float)(threshold + 0.01 * (1 - threshold));
        ub_image *one = flat_image(ctx, 1, 1, 1, &m);
        ub_boost_highlights(one, threshold, factor);
        CHECK(one->data[0] > m && one->data[0] / m - 1 < (factor - 1) * 4e-4);
        ub_image_destroy(&one);
    }
    /* grey images; arguments outside the domain leave the image as it is */
    ub_image *grey = flat_image(ctx, 3, 2, 2, (const float[]){1.0f, 0.5f});
    ub_boost_highlights(grey, 0.5, 3);
    CHECK(grey->data[0] == 3.0f && ub_image_plane(grey, 1)[0] == 0.5f);
    ub_image *keep = clone_of(ctx, grey);
    ub_boost_highlights(grey, 1.0, 3);
    ub_boost_highlights(grey, -0.1, 3);
    ub_boost_highlights(grey, NAN, 3);
    ub_boost_highlights(grey, 0.5, INFINITY);
    ub_boost_highlights(grey, 0.5, 0);
    CHECK(colour_same(grey, keep));
    ub_boost_highlights(NULL, 0.5, 2);
    ub_image_destroy(&keep);
    ub_image_destroy(&grey);
    ub_image_destroy(&img);
    ub_image_destroy(&orig);
    ub_ctx_destroy(&ctx);
}

/* ---- clipping and camera responses ---- */

static void test_clip(void) {
    ub_ctx *ctx = test_ctx(1);
    const float in[] = {-1.0f, NAN, 0.5f, 2.0f, INFINITY, -INFINITY, 0.0f, 1.0f, 1e-30f};
    const float want[] = {0.0f, 0.0f, 0.5f, 1.0f, 1.0f, 0.0f, 0.0f, 1.0f, 1e-30f};
    const int n = (int)(sizeof in / sizeof *in);
    for (int channels = 1; channels <= 4; channels++) {
        ub_image *img;
        CHECK_OK(ctx, ub_image_create(ctx, &img, n, 1, channels));
        for (int c = 0; c < channels; c++) memcpy(ub_image_plane(img, c), in, sizeof in);
        ub_image *orig = clone_of(ctx, img);
        ub_clip(img);
        for (int c = 0; c < ub_image_colour_channels(img); c++)
            CHECK(memcmp(ub_image_plane(img, c), want, sizeof want) == 0);
        CHECK(alpha_same(img, orig));
        ub_image_destroy(&img);
        ub_image_destroy(&orig);
    }
    ub_clip(NULL);
    ub_ctx_destroy(&ctx);
}

static void test_crf(void) {
    ub_ctx *ctx = test_ctx(1);
    for (int channels = 1; channels <= 4; channels++) {
        ub_image *img = test_image(ctx, 41, 17, channels, 11);
        img->data[0] = -0.2f, img->data[1] = NAN, img->data[2] = 1.5f;
        odd_alpha(img);
        ub_image *orig = clone_of(ctx, img);
        /* sRGB: exactly the library's curve */
        ub_image *srgb = clone_of(ctx, img), *want = clone_of(ctx, img);
        ub_apply_crf(srgb, UB_CRF_SRGB, 0);
        ub_linear_to_srgb(want->data, plane_size(want) * (size_t)ub_image_colour_channels(want));
        CHECK(colour_same(srgb, want));
        CHECK(alpha_same(srgb, orig));
        /* gamma: x^(1/gamma) on x clipped below at 0 */
        ub_image *gam = clone_of(ctx, img);
        ub_apply_crf(gam, UB_CRF_GAMMA, 2.2);
        int bad = 0;
        for (size_t i = 0; i < plane_size(img) * (size_t)ub_image_colour_channels(img); i++) {
            double x = orig->data[i] > 0 ? orig->data[i] : 0, y = pow(x, 1 / 2.2);
            bad += !(fabs(gam->data[i] - y) <= 1e-6 * fmax(1, y));
        }
        CHECK_MSG(bad == 0, "%d channels: %d gamma values wrong", channels, bad);
        CHECK(gam->data[0] == 0 && gam->data[1] == 0 && gam->data[2] > 1.0f);
        CHECK(alpha_same(gam, orig));
        /* linear, and a gamma that is no curve: unchanged */
        ub_image *lin = clone_of(ctx, img);
        ub_apply_crf(lin, UB_CRF_LINEAR, 2.2);
        ub_apply_crf(lin, UB_CRF_GAMMA, 0);
        ub_apply_crf(lin, UB_CRF_GAMMA, NAN);
        CHECK(memcmp(lin->data, orig->data, plane_size(img) * (size_t)channels * sizeof(float)) == 0);
        ub_image_destroy(&img);
        ub_image_destroy(&orig);
        ub_image_destroy(&srgb);
        ub_image_destroy(&want);
        ub_image_destroy(&gam);
        ub_image_destroy(&lin);
    }
    ub_apply_crf(NULL, UB_CRF_SRGB, 0);
    ub_ctx_destroy(&ctx);
}

/* ---- JPEG ---- */

static double psnr_of(ub_ctx *ctx, const ub_image *ref, const ub_image *img) {
    ub_metrics m;
    if (ub_metrics_compute(ctx, ref, img, NULL, &m) != UB_OK) return NAN;
    return m.psnr;
}

/* A photo-like texture: one textured luminance, tinted per channel, so the
   colour is correlated as in real photographs (independent noise per channel
   would be all chroma, which JPEG's 4:2:0 subsampling mostly discards). */
static ub_image *photo_like(ub_ctx *ctx, int64_t w, int64_t h, int channels, uint64_t seed) {
    ub_image *lum = test_image(ctx, w, h, 1, seed), *img = test_image(ctx, w, h, channels, seed + 1);
    const float scale[3] = {1.0f, 0.8f, 0.6f}, offset[3] = {0.0f, 0.1f, 0.2f};
    for (int c = 0; c < ub_image_colour_channels(img); c++)
        for (size_t i = 0; i < plane_size(img); i++) ub_image_plane(img, c)[i] = scale[c] * lum->data[i] + offset[c];
    ub_image_destroy(&lum);
    return img;
}

static void test_jpeg(void) {
    ub_ctx *ctx = test_ctx(2);
    ub_image *sharp = photo_like(ctx, 160, 96, 3, 21);
    double previous = 0;
    const int qualities[] = {20, 50, 75, 95};
    for (size_t q = 0; q < sizeof qualities / sizeof *qualities; q++) {
        ub_image *a = clone_of(ctx, sharp), *b = clone_of(ctx, sharp);
        CHECK_OK(ctx, ub_jpeg_roundtrip(ctx, a, qualities[q]));
        CHECK_OK(ctx, ub_jpeg_roundtrip(ctx, b, qualities[q]));
        CHECK(colour_same(a, b)); /* deterministic */
        CHECK(a->width == sharp->width && a->height == sharp->height && a->channels == 3);
        const double psnr = psnr_of(ctx, sharp, a);
        printf("JPEG quality %3d: PSNR %.2f dB\n", qualities[q], psnr);
        CHECK_MSG(psnr > previous, "quality %d: PSNR %.2f, not above %.2f at lower quality", qualities[q], psnr,
                  previous);
        if (qualities[q] == 75) CHECK_MSG(psnr > 25 && psnr < 60, "quality 75: PSNR %.2f", psnr);
        previous = psnr;
        ub_image_destroy(&a);
        ub_image_destroy(&b);
    }
    /* with alpha: colour exactly as the image without alpha, alpha untouched */
    ub_image *rgba = photo_like(ctx, 160, 96, 4, 21), *rgb = clone_of(ctx, sharp);
    odd_alpha(rgba);
    ub_image *orig = clone_of(ctx, rgba);
    CHECK_OK(ctx, ub_jpeg_roundtrip(ctx, rgba, 75));
    CHECK_OK(ctx, ub_jpeg_roundtrip(ctx, rgb, 75));
    CHECK(colour_same(rgba, rgb));
    CHECK(alpha_same(rgba, orig) && rgba->channels == 4);
    /* grey and grey + alpha */
    ub_image *ga = test_image(ctx, 50, 40, 2, 5);
    odd_alpha(ga);
    ub_image *ga_orig = clone_of(ctx, ga);
    CHECK_OK(ctx, ub_jpeg_roundtrip(ctx, ga, 90));
    CHECK(alpha_same(ga, ga_orig) && ga->channels == 2 && !colour_same(ga, ga_orig));
    const double grey_psnr = psnr_of(ctx, ga_orig, ga);
    CHECK_MSG(grey_psnr > 30 && grey_psnr < 70, "grey quality 90: PSNR %.2f", grey_psnr);
    /* errors carry a message and leave the image as it was */
    ub_image *keep = clone_of(ctx, ga);
    CHECK(ub_jpeg_roundtrip(ctx, ga, 0) == UB_ERR_INVALID && strstr(ub_last_error(ctx), "quality"));
    CHECK(ub_jpeg_roundtrip(ctx, ga, 101) == UB_ERR_INVALID && strstr(ub_last_error(ctx), "quality"));
    CHECK(ub_jpeg_roundtrip(ctx, NULL, 75) == UB_ERR_INVALID && *ub_last_error(ctx));
    CHECK(colour_same(ga, keep) && alpha_same(ga, keep));
    ub_image *wide = flat_image(ctx, 70000, 1, 2, (const float[]){0.5f, 1.0f});
    CHECK(ub_jpeg_roundtrip(ctx, wide, 75) == UB_ERR_LIMIT);
    CHECK_MSG(strstr(ub_last_error(ctx), "JPEG round trip") && strstr(ub_last_error(ctx), "70000x1"), "%s",
              ub_last_error(ctx));
    ub_image_destroy(&wide);
    ub_image_destroy(&keep);
    ub_image_destroy(&ga);
    ub_image_destroy(&ga_orig);
    ub_image_destroy(&rgba);
    ub_image_destroy(&rgb);
    ub_image_destroy(&orig);
    ub_image_destroy(&sharp);
    ub_ctx_destroy(&ctx);
}

/* ---- timing (--bench) ---- */

/* Best of `reps` runs, in ns per pixel (all colour channels of a pixel). */
static double time_noise(int threads, int64_t size, double a, double b, int reps) {
    ub_ctx *ctx = test_ctx(threads);
    ub_image *img = test_image(ctx, size, size, 3, 1), *work = clone_of(ctx, img);
    double best = INFINITY;
    for (int r = 0; r < reps; r++) {
        memcpy(work->data, img->data, plane_size(img) * 3 * sizeof(float));
        double t0 = test_seconds();
        ub_add_noise(ctx, work, a, b, (uint64_t)r);
        best = fmin(best, test_seconds() - t0);
    }
    ub_image_destroy(&img);
    ub_image_destroy(&work);
    ub_ctx_destroy(&ctx);
    return best * 1e9 / (double)(size * size);
}

static void bench(void) {
    const double gains[][2] = {{0.01, 0.01}, {0.001, 0.002}, {0.0, 0.01}, {0.01, 0.0}, {1e-5, 0.0}};
    for (size_t g = 0; g < sizeof gains / sizeof *gains; g++) {
        double a = gains[g][0], b = gains[g][1];
        printf("{\"bench\":\"noise\",\"a\":%g,\"b\":%g,\"ns_per_rgb_pixel_1024_t1\":%.1f,"
               "\"ns_per_rgb_pixel_1024_t2\":%.1f,\"ms_256x256_t1\":%.3f}\n",
               a, b, time_noise(1, 1024, a, b, 3), time_noise(2, 1024, a, b, 3),
               time_noise(1, 256, a, b, 10) * 256 * 256 * 1e-6);
    }
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--bench") == 0) {
        bench();
        return 0;
    }
    test_noise_statistics();
    test_noise_twin();
    test_noise_determinism();
    test_highlights();
    test_clip();
    test_crf();
    test_jpeg();
    return test_finish("test_sensor");
}
