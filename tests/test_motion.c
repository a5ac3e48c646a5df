/* tests/test_motion.c — object motion (ub_object_motion_blur) and procedural
   masks (ub_mask_procedural): pixels the object never reaches equal the
   background, a moving square smears over its path and conserves energy, no
   motion reproduces the sharp frame, an opaque object hides the background,
   the inpainted background, the bounding-box fast path against its reference
   twin, thread invariance, alpha, errors, mask coverage and determinism, and
   the time of a training-sized call. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "synth/internal.h"
#include "testutil.h"

static size_t samples_of(const ub_image *img) { return (size_t)img->width * img->height * img->channels; }

static ub_image *new_image(ub_ctx *ctx, int64_t w, int64_t h, int channels, float value) {
    ub_image *img = NULL;
    if (ub_image_create(ctx, &img, w, h, channels) != UB_OK) {
        fprintf(stderr, "new_image: %s\n", ub_last_error(ctx));
        exit(1);
    }
    for (size_t i = 0; i < samples_of(img); i++) img->data[i] = value;
    return img;
}

/* A mask with an anti-aliased disc (4x4 supersampled coverage). */
static ub_image *disc_mask(ub_ctx *ctx, int64_t w, int64_t h, double cx, double cy, double r) {
    ub_image *m = new_image(ctx, w, h, 1, 0);
    for (int64_t y = 0; y < h; y++)
        for (int64_t x = 0; x < w; x++) {
            int in = 0;
            for (int j = 0; j < 4; j++)
                for (int i = 0; i < 4; i++) {
                    const double dx = x - 0.375 + 0.25 * i - cx, dy = y - 0.375 + 0.25 * j - cy;
                    in += dx * dx + dy * dy <= r * r;
                }
            m->data[y * w + x] = (float)in / 16;
        }
    return m;
}

/* A hard square [x0, x1) x [y0, y1) of value v in every colour channel (and in a mask). */
static void fill_square(ub_image *img, int64_t x0, int64_t x1, int64_t y0, int64_t y1, const float *v) {
    for (int c = 0; c < ub_image_colour_channels(img); c++)
        for (int64_t y = y0; y < y1; y++)
            for (int64_t x = x0; x < x1; x++) ub_image_plane(img, c)[y * img->width + x] = v[c];
}

static double image_sum(const ub_image *img, int c) {
    double s = 0;
    for (int64_t i = 0; i < img->width * img->height; i++) s += ub_image_plane(img, c)[i];
    return s;
}

static void test_far_pixels_are_background(void) {
    ub_ctx *ctx = test_ctx(2);
    ub_image *sharp = test_image(ctx, 96, 80, 3, 1), *bg = test_image(ctx, 96, 80, 3, 2), *out = NULL;
    ub_image *mask = disc_mask(ctx, 96, 80, 30, 30, 10);
    const ub_object_motion m = {12, -5, 0.2, 1.2, 0};
    for (int given = 0; given <= 1; given++) {
        const ub_image *b = given ? bg : sharp; /* NULL background: the filled sharp image, = sharp where mask 0 */
        CHECK_OK(ctx, ub_object_motion_blur(ctx, sharp, mask, given ? bg : NULL, &m, &out));
        if (!out) continue;
        double far = 0, near = 0;
        for (int c = 0; c < 3; c++)
            for (int64_t y = 0; y < 80; y++)
                for (int64_t x = 0; x < 96; x++) {
                    const double d = fabs((double)ub_image_plane(out, c)[y * 96 + x] - ub_image_plane(b, c)[y * 96 + x]);
                    const double r = hypot(x - 30.0, y - 30.0);
                    if (r > 10 * 1.2 + 13 + 3) far = fmax(far, d); /* radius, zoomed, plus half the motion, plus margin */
                    if (r < 8) near = fmax(near, d);
                }
        CHECK_MSG(far <= 1e-6, "background %d: far from the object %g", given, far);
        CHECK_MSG(near > 0.01, "background %d: the object's region is unchanged (%g)", given, near);
        ub_image_destroy(&out);
    }
    ub_image_destroy(&sharp);
    ub_image_destroy(&bg);
    ub_image_destroy(&mask);
    ub_ctx_destroy(&ctx);
}

/* A white 20x20 square on black moving 10 px right: two 10-px ramps, energy conserved. */
static void test_square_smear(void) {
    ub_ctx *ctx = test_ctx(2);
    const float one[3] = {1, 1, 1};
    ub_image *sharp = new_image(ctx, 64, 64, 1, 0), *mask = new_image(ctx, 64, 64, 1, 0), *out = NULL;
    fill_square(sharp, 22, 42, 22, 42, one);
    fill_square(mask, 22, 42, 22, 42, one);
    const ub_object_motion m = {10, 0, 0, 1, 0};
    CHECK_OK(ctx, ub_object_motion_blur(ctx, sharp, mask, NULL, &m, &out));
    if (out) {
        const float *row = out->data + 32 * 64;
        int partial = 0, monotone = 1;
        for (int x = 0; x < 64; x++) partial += row[x] > 0.01f && row[x] < 0.99f;
        for (int x = 16; x < 28; x++) monotone &= row[x + 1] >= row[x];
        for (int x = 37; x < 48; x++) monotone &= row[x + 1] <= row[x];
        CHECK_MSG(partial >= 16 && partial <= 24, "%d partial pixels (two ramps of ~10 expected)", partial);
        CHECK(monotone);
        CHECK_NEAR(row[15], 0, 1e-6);
        CHECK_NEAR(row[48], 0, 1e-6);
        for (int x = 28; x <= 36; x++) CHECK_NEAR(row[x], 1, 1e-5);
        /* the ramps are centred on the sharp frame's edges (21.5 and 41.5) */
        CHECK(row[21] < 0.5f && row[22] > 0.5f && row[41] > 0.5f && row[42] < 0.5f);
        CHECK_NEAR(row[21] + row[22], 1, 1e-5);
        /* rows above and below the square are untouched */
        for (int x = 0; x < 64; x++) CHECK_NEAR(out->data[10 * 64 + x], 0, 1e-7);
        const double sum = image_sum(out, 0);
        CHECK_MSG(fabs(sum - 400) <= 4, "energy %g, expected 400 (black background + a 20x20 white square)", sum);
        ub_image_destroy(&out);
    }
    /* over a grey background: sum = sum(bg) + sum(layer colour) - bg * sum(layer coverage) */
    ub_image *bg = new_image(ctx, 64, 64, 1, 0.25f);
    CHECK_OK(ctx, ub_object_motion_blur(ctx, sharp, mask, bg, &m, &out));
    if (out) {
        const double want = 0.25 * 64 * 64 + 400 - 0.25 * 400, sum = image_sum(out, 0);
        CHECK_MSG(fabs(sum - want) <= 0.01 * want, "energy %g, expected %g", sum, want);
        ub_image_destroy(&out);
    }
    ub_image_destroy(&bg);
    ub_image_destroy(&sharp);
    ub_image_destroy(&mask);
    ub_ctx_destroy(&ctx);
}

/* No motion: fg + (1 - mask) * filled background reproduces the sharp frame where the mask is 0 or 1. */
static void test_zero_motion(void) {
    ub_ctx *ctx = test_ctx(2);
    ub_image *sharp = test_image(ctx, 80, 70, 3, 3), *mask = disc_mask(ctx, 80, 70, 37.3, 33.8, 15), *out = NULL;
    const ub_object_motion m = {0, 0, 0, 1, 0};
    CHECK_OK(ctx, ub_object_motion_blur(ctx, sharp, mask, NULL, &m, &out));
    if (out) {
        double worst = 0, edge = 0;
        for (int c = 0; c < 3; c++)
            for (int64_t i = 0; i < 80 * 70; i++) {
                const double d = fabs((double)ub_image_plane(out, c)[i] - ub_image_plane(sharp, c)[i]);
                if (mask->data[i] == 0.0f || mask->data[i] == 1.0f) worst = fmax(worst, d);
                else edge = fmax(edge, d);
            }
        CHECK_MSG(worst <= 1e-5, "mask 0 or 1: %g", worst);
        CHECK_MSG(edge <= 0.5, "soft edge: %g", edge); /* a mix of the object and the filled background */
        ub_image_destroy(&out);
    }
    ub_image_destroy(&sharp);
    ub_image_destroy(&mask);
    ub_ctx_destroy(&ctx);
}

/* An opaque object hides the background wherever it covers a pixel in every sub-frame. */
static void test_occlusion(void) {
    ub_ctx *ctx = test_ctx(2);
    const float green[3] = {0.2f, 0.9f, 0.1f}, one[3] = {1, 1, 1}, magenta[3] = {1, 0, 1};
    ub_image *sharp = test_image(ctx, 72, 72, 3, 4), *mask = new_image(ctx, 72, 72, 1, 0);
    ub_image *bg = new_image(ctx, 72, 72, 3, 0), *out = NULL;
    fill_square(sharp, 20, 50, 20, 50, green);
    fill_square(mask, 20, 50, 20, 50, one);
    fill_square(bg, 0, 72, 0, 72, magenta);
    const ub_object_motion m = {8, 0, 0, 1, 0};
    for (int given = 0; given <= 1; given++) {
        CHECK_OK(ctx, ub_object_motion_blur(ctx, sharp, mask, given ? bg : NULL, &m, &out));
        if (!out) continue;
        /* covered throughout: the square's left edge reaches x = 24, its right edge leaves x = 45 */
        double worst = 0;
        for (int c = 0; c < 3; c++)
            for (int64_t y = 20; y < 50; y++)
                for (int64_t x = 25; x < 45; x++)
                    worst = fmax(worst, fabs((double)ub_image_plane(out, c)[y * 72 + x] - green[c]));
        CHECK_MSG(worst <= 1e-6, "background %d shows through the object: %g", given, worst);
        /* and beside the path, where the object passes only part of the time, it does show */
        if (given) CHECK(ub_image_plane(out, 0)[35 * 72 + 17] > 0.2f + 0.05f);
        ub_image_destroy(&out);
    }
    ub_image_destroy(&sharp);
    ub_image_destroy(&mask);
    ub_image_destroy(&bg);
    ub_ctx_destroy(&ctx);
}

/* The inpainted background: a flat colour refills the hole exactly; a ramp stays within its range. */
static void test_inpainting(void) {
    ub_ctx *ctx = test_ctx(2);
    const float flat[3] = {0.3f, 0.6f, 0.9f}, red[3] = {1, 0, 0};
    ub_image *sharp = new_image(ctx, 90, 60, 3, 0), *out = NULL;
    fill_square(sharp, 0, 90, 0, 60, flat);
    ub_image *mask = disc_mask(ctx, 90, 60, 40, 30, 12);
    for (int c = 0; c < 3; c++)
        for (int64_t i = 0; i < 90 * 60; i++) /* the object is red, mixed at its soft edge */
            ub_image_plane(sharp, c)[i] = mask->data[i] * red[c] + (1 - mask->data[i]) * flat[c];
    /* two sub-frames 1250 px away: the object is gone and only the background remains */
    const ub_object_motion gone = {5000, 0, 0, 1, 2};
    CHECK_OK(ctx, ub_object_motion_blur(ctx, sharp, mask, NULL, &gone, &out));
    if (out) {
        double worst = 0;
        for (int c = 0; c < 3; c++)
            for (int64_t i = 0; i < 90 * 60; i++)
                worst = fmax(worst, fabs((double)ub_image_plane(out, c)[i] - flat[c]));
        CHECK_MSG(worst <= 1e-5, "flat background refilled: %g", worst);
        ub_image_destroy(&out);
    }
    /* a horizontal ramp: the filled hole stays between the ramp's values around it */
    for (int64_t y = 0; y < 60; y++)
        for (int64_t x = 0; x < 90; x++) sharp->data[y * 90 + x] = mask->data[y * 90 + x] > 0 ? 5.0f : (float)x / 89;
    CHECK_OK(ctx, ub_object_motion_blur(ctx, sharp, mask, NULL, &gone, &out));
    if (out) {
        int ok = 1;
        for (int64_t y = 0; y < 60; y++)
            for (int64_t x = 0; x < 90; x++)
                if (mask->data[y * 90 + x] > 0) {
                    const float v = out->data[y * 90 + x];
                    ok &= v >= 26.0f / 89 && v <= 54.0f / 89; /* the disc spans x in [28, 52] */
                }
        CHECK(ok);
        ub_image_destroy(&out);
    }
    /* all foreground: nothing to fill from, the background is black */
    ub_image *full = new_image(ctx, 90, 60, 1, 1);
    CHECK_OK(ctx, ub_object_motion_blur(ctx, sharp, full, NULL, &gone, &out));
    if (out) CHECK_NEAR(ub_image_plane(out, 1)[30 * 90 + 40], 0, 1e-7);
    ub_image_destroy(&out);
    ub_image_destroy(&full);
    ub_image_destroy(&sharp);
    ub_image_destroy(&mask);
    ub_ctx_destroy(&ctx);
}

static void test_fast_vs_reference(void) {
    ub_ctx *ctx = test_ctx(2);
    const struct {
        int w, h, channels;
        double cx, cy, r;
        ub_object_motion m;
        int given;
    } cases[] = {
        {70, 50, 3, 35, 25, 9, {15, 4, 0.3, 1.3, 24}, 0},
        {70, 50, 1, 3, 45, 9, {-20, 7, -0.5, 0.7, 31}, 1}, /* at the edge of the image */
        {41, 77, 4, 20, 10, 6, {0, 30, 1.0, 1.0, 0}, 1},
        {33, 33, 2, 16, 16, 0, {5, 5, 0, 1, 8}, 0},       /* an empty mask */
        {8, 8, 3, 4, 4, 3, {3, -2, 0.1, 2.0, 5}, 0},
        {64, 48, 3, 50, 20, 10, {40, -30, 2.0, 0.5, 48}, 1},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        ub_image *sharp = test_image(ctx, cases[k].w, cases[k].h, cases[k].channels, 20 + k);
        ub_image *bg = test_image(ctx, cases[k].w, cases[k].h, cases[k].channels, 40 + k);
        ub_image *mask = disc_mask(ctx, cases[k].w, cases[k].h, cases[k].cx, cases[k].cy, cases[k].r);
        ub_image *a = NULL, *b = NULL;
        CHECK_OK(ctx, ub_object_motion_blur(ctx, sharp, mask, cases[k].given ? bg : NULL, &cases[k].m, &a));
        CHECK_OK(ctx, ub__object_motion_blur_ref(ctx, sharp, mask, cases[k].given ? bg : NULL, &cases[k].m, &b));
        if (a && b) {
            int same = 1;
            for (size_t i = 0; i < samples_of(a); i++) same &= a->data[i] == b->data[i];
            CHECK_MSG(same, "case %zu: the bounding boxes changed the result", k);
            if (ub_image_has_alpha(sharp))
                CHECK(memcmp(ub_image_plane(a, a->channels - 1), ub_image_plane(sharp, a->channels - 1),
                             (size_t)a->width * a->height * sizeof(float)) == 0);
        }
        ub_image_destroy(&a);
        ub_image_destroy(&b);
        ub_image_destroy(&sharp);
        ub_image_destroy(&bg);
        ub_image_destroy(&mask);
    }
    ub_ctx_destroy(&ctx);
}

static void test_threads(void) {
    ub_image *first = NULL, *sharp = NULL, *mask = NULL;
    const ub_object_motion m = {-9, 6, 0.4, 1.25, 0};
    for (int threads = 1; threads <= 4; threads++) {
        ub_ctx *ctx = test_ctx(threads);
        if (!sharp) sharp = test_image(ctx, 300, 210, 4, 5), mask = disc_mask(ctx, 300, 210, 140, 90, 60);
        ub_image *out = NULL;
        CHECK_OK(ctx, ub_object_motion_blur(ctx, sharp, mask, NULL, &m, &out));
        if (out) {
            if (!first) first = out;
            else {
                CHECK_MSG(memcmp(first->data, out->data, samples_of(out) * sizeof(float)) == 0, "threads %d",
                          threads);
                ub_image_destroy(&out);
            }
        }
        ub_ctx_destroy(&ctx);
    }
    ub_image_destroy(&first);
    ub_image_destroy(&sharp);
    ub_image_destroy(&mask);
}

static void test_errors(void) {
    ub_ctx *ctx = test_ctx(1);
    ub_image *sharp = test_image(ctx, 40, 30, 3, 6), *mask = disc_mask(ctx, 40, 30, 20, 15, 5), *out = NULL;
    ub_image *small = new_image(ctx, 39, 30, 1, 0), *rgb_mask = test_image(ctx, 40, 30, 3, 7);
    ub_image *grey_bg = new_image(ctx, 40, 30, 1, 0), *rgba_bg = test_image(ctx, 40, 30, 4, 8);
    ub_object_motion m = {3, 0, 0, 1, 0};
    CHECK(ub_object_motion_blur(ctx, NULL, mask, NULL, &m, &out) == UB_ERR_INVALID);
    CHECK(ub_object_motion_blur(ctx, sharp, NULL, NULL, &m, &out) == UB_ERR_INVALID);
    CHECK(ub_object_motion_blur(ctx, sharp, mask, NULL, NULL, &out) == UB_ERR_INVALID);
    CHECK(ub_object_motion_blur(ctx, sharp, mask, NULL, &m, NULL) == UB_ERR_INVALID);
    CHECK(ub_object_motion_blur(ctx, sharp, small, NULL, &m, &out) == UB_ERR_MISMATCH);
    CHECK(strstr(ub_last_error(ctx), "39x30") != NULL);
    CHECK(ub_object_motion_blur(ctx, sharp, rgb_mask, NULL, &m, &out) == UB_ERR_INVALID);
    CHECK(ub_object_motion_blur(ctx, sharp, mask, grey_bg, &m, &out) == UB_ERR_MISMATCH);
    CHECK(ub_object_motion_blur(ctx, sharp, mask, small, &m, &out) == UB_ERR_MISMATCH);
    CHECK_OK(ctx, ub_object_motion_blur(ctx, sharp, mask, rgba_bg, &m, &out)); /* the background's alpha is ignored */
    ub_image_destroy(&out);
    m.scale = 0;
    CHECK(ub_object_motion_blur(ctx, sharp, mask, NULL, &m, &out) == UB_ERR_INVALID);
    m.scale = 1, m.samples = -1;
    CHECK(ub_object_motion_blur(ctx, sharp, mask, NULL, &m, &out) == UB_ERR_INVALID);
    m.samples = 0, m.dx = NAN;
    CHECK(ub_object_motion_blur(ctx, sharp, mask, NULL, &m, &out) == UB_ERR_INVALID);
    m.dx = 0, m.rotation = INFINITY;
    CHECK(ub_object_motion_blur(ctx, sharp, mask, NULL, &m, &out) == UB_ERR_INVALID);
    m.rotation = 0;
    mask->data[7] = 1.5f;
    CHECK(ub_object_motion_blur(ctx, sharp, mask, NULL, &m, &out) == UB_ERR_INVALID);
    CHECK(strstr(ub_last_error(ctx), "(7, 0)") != NULL);
    mask->data[7] = NAN;
    CHECK(ub_object_motion_blur(ctx, sharp, mask, NULL, &m, &out) == UB_ERR_INVALID);
    CHECK(out == NULL);
    ub_rng rng;
    ub_rng_seed(&rng, 1);
    CHECK(ub_mask_procedural(ctx, &rng, 0, 10, &out) != UB_OK);
    CHECK(ub_mask_procedural(ctx, NULL, 10, 10, &out) == UB_ERR_INVALID);
    CHECK(ub_mask_procedural(ctx, &rng, 10, 10, NULL) == UB_ERR_INVALID);
    ub_image *imgs[] = {sharp, mask, small, rgb_mask, grey_bg, rgba_bg};
    for (size_t i = 0; i < sizeof imgs / sizeof *imgs; i++) ub_image_destroy(&imgs[i]);
    ub_ctx_destroy(&ctx);
}

static void test_procedural_mask(void) {
    ub_ctx *ctx = test_ctx(2), *ctx1 = test_ctx(1);
    const int sizes[][2] = {{256, 256}, {320, 200}, {64, 64}, {200, 480}};
    int shapes_with_soft_edges = 0, masks = 0;
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++)
        for (uint64_t seed = 1; seed <= 40; seed++) {
            const int64_t w = sizes[s][0], h = sizes[s][1];
            ub_rng r1, r2;
            ub_rng_seed(&r1, seed), ub_rng_seed(&r2, seed);
            ub_image *a = NULL, *b = NULL;
            CHECK_OK(ctx, ub_mask_procedural(ctx, &r1, w, h, &a));
            CHECK_OK(ctx1, ub_mask_procedural(ctx1, &r2, w, h, &b)); /* same seed, other thread count */
            if (!a || !b) continue;
            CHECK(a->channels == 1 && a->width == w && a->height == h);
            CHECK_MSG(memcmp(a->data, b->data, (size_t)w * h * sizeof(float)) == 0, "seed %llu not deterministic",
                      (unsigned long long)seed);
            double area = 0;
            int64_t partial = 0, in_range = 1;
            for (int64_t i = 0; i < w * h; i++) {
                area += a->data[i];
                partial += a->data[i] > 0 && a->data[i] < 1;
                in_range &= a->data[i] >= 0 && a->data[i] <= 1;
            }
            const double frac = area / (double)(w * h);
            CHECK(in_range);
            CHECK_MSG(frac >= 0.05 && frac <= 0.25, "%lldx%lld seed %llu covers %.3f", (long long)w, (long long)h,
                      (unsigned long long)seed, frac);
            /* a ~1 px soft edge: some partial pixels, few of them compared with the area
               (a disc of this area has a rim of 2 sqrt(pi area) pixels) */
            CHECK_MSG(partial > 0 && partial < 3.0 * 2 * sqrt(3.1416 * area), "seed %llu: %lld partial pixels, area %g",
                      (unsigned long long)seed, (long long)partial, area);
            shapes_with_soft_edges += partial > 0;
            masks++;
            ub_image_destroy(&a);
            ub_image_destroy(&b);
        }
    CHECK(shapes_with_soft_edges == masks);
    /* different seeds, different masks */
    ub_rng r1, r2;
    ub_rng_seed(&r1, 1), ub_rng_seed(&r2, 2);
    ub_image *a = NULL, *b = NULL;
    CHECK_OK(ctx, ub_mask_procedural(ctx, &r1, 100, 100, &a));
    CHECK_OK(ctx, ub_mask_procedural(ctx, &r2, 100, 100, &b));
    CHECK(a && b && memcmp(a->data, b->data, 100 * 100 * sizeof(float)) != 0);
    ub_image_destroy(&a);
    ub_image_destroy(&b);
    ub_ctx_destroy(&ctx);
    ub_ctx_destroy(&ctx1);
}

/* What the training pipeline pays per sample (printed, not checked: machines differ). */
static void report_timing(void) {
    ub_ctx *ctx = test_ctx(1);
    ub_image *sharp = test_image(ctx, 256, 256, 3, 9), *bg = test_image(ctx, 256, 256, 3, 10), *mask = NULL;
    ub_rng rng;
    ub_rng_seed(&rng, 11);
    CHECK_OK(ctx, ub_mask_procedural(ctx, &rng, 256, 256, &mask));
    const ub_object_motion m = {14, -6, 0.2, 1.1, 48};
    for (int given = 0; given <= 1; given++) {
        double best = 1e9;
        for (int rep = 0; rep < 3; rep++) {
            ub_image *out = NULL;
            const double t0 = 1e3 * test_seconds();
            CHECK_OK(ctx, ub_object_motion_blur(ctx, sharp, mask, given ? bg : NULL, &m, &out));
            best = fmin(best, 1e3 * test_seconds() - t0);
            ub_image_destroy(&out);
        }
        printf("object motion 256x256 RGB, 48 sub-frames, %s background, 1 thread: %.2f ms\n",
               given ? "given" : "inpainted", best);
    }
    ub_image_destroy(&sharp);
    ub_image_destroy(&bg);
    ub_image_destroy(&mask);
    ub_ctx_destroy(&ctx);
}

int main(void) {
    test_far_pixels_are_background();
    test_square_smear();
    test_zero_motion();
    test_occlusion();
    test_inpainting();
    test_fast_vs_reference();
    test_threads();
    test_errors();
    test_procedural_mask();
    report_timing();
    return test_finish("test_motion");
}
