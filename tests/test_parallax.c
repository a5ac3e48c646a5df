/* tests/test_parallax.c — a translating camera in a 3-D scene (ub_parallax_blur): at the reference
   depth it is the image-plane warp of the centred path (ub_warp_blur), far content stays put, near
   content blurs more, forward motion blurs the corners and not the centre, the blur is centred,
   the result is the same for any thread count, a window of it equals the whole call there, and bad
   arguments are refused. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "synth/internal.h"
#include "testutil.h"

static ub_trajectory *traj_new(int n) {
    ub_trajectory *t = calloc(1, sizeof *t);
    t->n = n;
    t->x = calloc((size_t)n, sizeof(double));
    t->y = calloc((size_t)n, sizeof(double));
    return t;
}

static void traj_free(ub_trajectory *t) {
    free(t->x), free(t->y);
    free(t);
}

/* A depth map: `near` at the bottom row to `far` at the top, linear in rows (far = near: constant). */
static ub_image *depth_ramp(ub_ctx *ctx, int64_t w, int64_t h, double near, double far) {
    ub_image *d = NULL;
    CHECK_OK(ctx, ub_image_create(ctx, &d, w, h, 1));
    for (int64_t y = 0; y < h; y++)
        for (int64_t x = 0; x < w; x++) d->data[y * w + x] = (float)(far + (near - far) * (double)y / (double)(h - 1));
    return d;
}

static double patch_mad(const ub_image *a, const ub_image *b, int64_t x0, int64_t y0, int64_t w, int64_t h) {
    double sum = 0;
    for (int c = 0; c < ub_image_colour_channels(a); c++)
        for (int64_t y = y0; y < y0 + h; y++)
            for (int64_t x = x0; x < x0 + w; x++) {
                const int64_t i = y * a->width + x;
                sum += fabs((double)ub_image_plane(a, c)[i] - ub_image_plane(b, c)[i]);
            }
    return sum / (double)(w * h * ub_image_colour_channels(a));
}

static double max_abs_diff(const ub_image *a, const ub_image *b) {
    double m = 0;
    for (int64_t i = 0; i < a->width * a->height * a->channels; i++) m = fmax(m, fabs((double)a->data[i] - b->data[i]));
    return m;
}

/* Constant depth at the reference, no forward motion: exactly the warp of the centred path. */
static void test_reference_depth_is_the_warp(void) {
    ub_ctx *ctx = test_ctx(2);
    ub_trajectory *t = traj_new(9), *centred = traj_new(9);
    for (int i = 0; i < 9; i++) t->x[i] = i, t->y[i] = i < 5 ? 0 : i - 4; /* mean (4, 10/9) */
    for (int i = 0; i < 9; i++) centred->x[i] = t->x[i] - 4, centred->y[i] = t->y[i] - 10.0 / 9;
    ub_image *in = test_image(ctx, 64, 48, 3, 1), *depth = depth_ramp(ctx, 64, 48, 2.5, 2.5), *a = NULL, *b = NULL;
    ub_parallax p;
    ub_parallax_default(&p);
    p.depth_ref_m = 2.5;
    CHECK_OK(ctx, ub_parallax_blur(ctx, in, depth, t, &p, &a));
    CHECK_OK(ctx, ub_warp_blur(ctx, in, centred, 0, 0, &b));
    if (a && b) {
        const double d = max_abs_diff(a, b);
        CHECK_MSG(d <= 2e-6, "parallax at the reference depth vs ub_warp_blur of the centred path: %g", d);
        CHECK(patch_mad(in, a, 0, 0, 64, 48) > 0.01); /* and it did blur */
    }
    /* no translation in the path (all rotation): the same at any depth */
    ub_image_destroy(&a);
    ub_image *ground = depth_ramp(ctx, 64, 48, 0.5, 40);
    p.translation_share = 0;
    CHECK_OK(ctx, ub_parallax_blur(ctx, in, ground, t, &p, &a));
    if (a && b) CHECK_MSG(max_abs_diff(a, b) <= 2e-6, "translation_share 0 depends on depth: %g", max_abs_diff(a, b));
    ub_image_destroy(&ground);
    ub_image_destroy(&a), ub_image_destroy(&b), ub_image_destroy(&depth), ub_image_destroy(&in);
    traj_free(t), traj_free(centred);
    ub_ctx_destroy(&ctx);
}

/* Far content (depth 1e9 m) does not move; a depth of 0 counts as the nearest (max_gain). */
static void test_far_and_unknown(void) {
    ub_ctx *ctx = test_ctx(1);
    ub_trajectory *t = traj_new(16);
    for (int i = 0; i < 16; i++) t->x[i] = 0.8 * i, t->y[i] = 0.3 * i;
    ub_image *in = test_image(ctx, 40, 30, 3, 2), *far = depth_ramp(ctx, 40, 30, 1e9, 1e9), *out = NULL, *out2 = NULL;
    ub_parallax p;
    ub_parallax_default(&p);
    CHECK_OK(ctx, ub_parallax_blur(ctx, in, far, t, &p, &out));
    if (out) CHECK_MSG(max_abs_diff(in, out) <= 1e-5, "far content moved: %g", max_abs_diff(in, out));
    ub_image *zero = depth_ramp(ctx, 40, 30, 0, 0), *nearest = depth_ramp(ctx, 40, 30, 0.25, 0.25);
    p.max_gain = 4; /* depth_ref 1 m: depth 0.25 m is exactly at the cap */
    CHECK_OK(ctx, ub_parallax_blur(ctx, in, zero, t, &p, &out2));
    ub_image_destroy(&out);
    CHECK_OK(ctx, ub_parallax_blur(ctx, in, nearest, t, &p, &out));
    if (out && out2) CHECK(max_abs_diff(out, out2) == 0);
    ub_image_destroy(&out), ub_image_destroy(&out2), ub_image_destroy(&zero), ub_image_destroy(&nearest);
    ub_image_destroy(&far), ub_image_destroy(&in);
    traj_free(t);
    ub_ctx_destroy(&ctx);
}

/* Depth 1 m at the bottom to 20 m at the top: the bottom blurs several times more than the top;
   forward motion alone blurs the corners and leaves the principal point. */
/* The spread (standard deviation, pixels) of row y of a 1-channel image around column x0. */
static double row_spread(const ub_image *img, int64_t y, double x0) {
    double sum = 0, m2 = 0;
    for (int64_t x = 0; x < img->width; x++) {
        const double v = img->data[y * img->width + x];
        sum += v, m2 += v * (x - x0) * (x - x0);
    }
    return sqrt(m2 / sum);
}

static void test_near_blurs_more_and_forward(void) {
    ub_ctx *ctx = test_ctx(2);
    enum { W = 97, H = 97 };
    ub_trajectory *t = traj_new(32);
    for (int i = 0; i < 32; i++) t->x[i] = 12.0 * i / 31;
    ub_image *line = NULL, *ground = depth_ramp(ctx, W, H, 1, 20), *out = NULL;
    CHECK_OK(ctx, ub_image_create(ctx, &line, W, H, 1));
    for (int y = 0; line && y < H; y++) line->data[y * W + 48] = 1;
    ub_parallax p;
    ub_parallax_default(&p);
    CHECK_OK(ctx, ub_parallax_blur(ctx, line, ground, t, &p, &out));
    if (out) { /* a 12 px uniform path has a spread of 12 / sqrt(12) = 3.46 px at gain 1 (the bottom row) */
        const double top = row_spread(out, 0, 48), bottom = row_spread(out, H - 1, 48);
        CHECK_MSG(fabs(bottom - 12 / sqrt(12.0)) < 0.25, "bottom row's spread %g, not 3.46", bottom);
        CHECK_MSG(top < 0.45, "the top row (20 m: gain 1/20) spreads %g px", top);
    }
    ub_image_destroy(&out), ub_image_destroy(&line);
    ub_image *in = test_shapes(ctx, W, H, 3, 3);
    for (int i = 0; i < 32; i++) t->x[i] = 0;
    ub_image *flat = depth_ramp(ctx, W, H, 1, 1);
    p.forward = 0.2;
    CHECK_OK(ctx, ub_parallax_blur(ctx, in, flat, t, &p, &out));
    if (out) {
        const double centre = patch_mad(in, out, W / 2 - 6, H / 2 - 6, 12, 12), corner = patch_mad(in, out, 0, 0, 12, 12);
        CHECK_MSG(corner > 4 * centre, "forward motion should blur the corners: corner %g, centre %g", corner, centre);
        /* the principal point itself samples itself in every sub-frame */
        CHECK_NEAR(ub_image_plane(out, 0)[(H / 2) * W + W / 2], ub_image_plane(in, 0)[(H / 2) * W + W / 2], 0);
    }
    ub_image_destroy(&out);
    p.cx = 10, p.cy = 10; /* a crop whose photo's centre is near its top-left corner */
    CHECK_OK(ctx, ub_parallax_blur(ctx, in, flat, t, &p, &out));
    if (out) {
        const double at_c = patch_mad(in, out, 4, 4, 12, 12), far_corner = patch_mad(in, out, W - 12, H - 12, 12, 12);
        CHECK_MSG(far_corner > 4 * at_c, "the principal point moved: far corner %g, near (cx, cy) %g", far_corner, at_c);
    }
    ub_image_destroy(&out), ub_image_destroy(&flat), ub_image_destroy(&ground), ub_image_destroy(&in);
    traj_free(t);
    ub_ctx_destroy(&ctx);
}

/* A point light keeps its centroid (the blur is centred on the sharp frame), whatever its depth. */
static void test_centred(void) {
    ub_ctx *ctx = test_ctx(1);
    enum { W = 64, H = 64 };
    ub_trajectory *t = traj_new(40);
    for (int i = 0; i < 40; i++) t->x[i] = i < 30 ? 0.3 * i : 9, t->y[i] = i < 30 ? 0 : 0.4 * (i - 30);
    ub_image *in = NULL, *out = NULL, *depth = depth_ramp(ctx, W, H, 1.5, 1.5);
    CHECK_OK(ctx, ub_image_create(ctx, &in, W, H, 1));
    if (in) in->data[32 * W + 30] = 1;
    ub_parallax p;
    ub_parallax_default(&p);
    p.depth_ref_m = 3; /* gain 2: the path doubled */
    CHECK_OK(ctx, ub_parallax_blur(ctx, in, depth, t, &p, &out));
    if (out) {
        double sum = 0, sx = 0, sy = 0;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) sum += out->data[y * W + x], sx += x * out->data[y * W + x], sy += y * out->data[y * W + x];
        CHECK_NEAR(sum, 1, 1e-4);
        CHECK_MSG(fabs(sx / sum - 30) < 0.1 && fabs(sy / sum - 32) < 0.1, "centroid (%g, %g), not (30, 32)", sx / sum, sy / sum);
    }
    ub_image_destroy(&out), ub_image_destroy(&in), ub_image_destroy(&depth);
    traj_free(t);
    ub_ctx_destroy(&ctx);
}

static void test_threads_and_errors(void) {
    ub_ctx *one = test_ctx(1), *two = test_ctx(2);
    ub_trajectory *t = traj_new(50);
    for (int i = 0; i < 50; i++) t->x[i] = 7 * sin(0.1 * i), t->y[i] = 0.2 * i;
    ub_image *in = test_image(one, 70, 53, 4, 5), *depth = depth_ramp(one, 70, 53, 0.8, 30), *a = NULL, *b = NULL;
    ub_parallax p;
    ub_parallax_default(&p);
    p.forward = 0.05, p.samples = 37;
    CHECK_OK(one, ub_parallax_blur(one, in, depth, t, &p, &a));
    CHECK_OK(two, ub_parallax_blur(two, in, depth, t, &p, &b));
    if (a && b) {
        CHECK(memcmp(a->data, b->data, (size_t)70 * 53 * 4 * sizeof(float)) == 0);
        CHECK(memcmp(ub_image_plane(a, 3), ub_image_plane(in, 3), (size_t)70 * 53 * sizeof(float)) == 0); /* alpha */
    }
    ub_image_destroy(&b);
    /* a window of the output: the same values there, the input elsewhere */
    CHECK_OK(two, ub__parallax_blur_window(two, in, depth, t, &p, 11, 7, 30, 20, &b));
    if (a && b) {
        int inside = 1, outside = 1;
        for (int c = 0; c < 4; c++)
            for (int y = 0; y < 53; y++)
                for (int x = 0; x < 70; x++) {
                    const int64_t i = (int64_t)c * 70 * 53 + y * 70 + x;
                    if (x >= 11 && x < 41 && y >= 7 && y < 27) inside &= a->data[i] == b->data[i];
                    else outside &= b->data[i] == in->data[i];
                }
        CHECK_MSG(inside && outside, "the window differs from the whole call (%d) or touched the rest (%d)", !inside,
                  !outside);
    }
    ub_image_destroy(&b);
    CHECK(ub__parallax_blur_window(two, in, depth, t, &p, 50, 7, 30, 20, &b) == UB_ERR_INVALID && !b);
    ub_image *small = depth_ramp(one, 69, 53, 1, 2);
    CHECK(ub_parallax_blur(one, in, small, t, &p, &b) == UB_ERR_INVALID && !b);
    CHECK(strstr(ub_last_error(one), "depth map") != NULL);
    ub_parallax bad = p;
    bad.max_gain = 0;
    CHECK(ub_parallax_blur(one, in, depth, t, &bad, &b) == UB_ERR_INVALID);
    bad = p, bad.depth_ref_m = -1;
    CHECK(ub_parallax_blur(one, in, depth, t, &bad, &b) == UB_ERR_INVALID);
    bad = p, bad.forward = 2;
    CHECK(ub_parallax_blur(one, in, depth, t, &bad, &b) == UB_ERR_INVALID);
    bad = p, bad.translation_share = 1.5;
    CHECK(ub_parallax_blur(one, in, depth, t, &bad, &b) == UB_ERR_INVALID);
    t->x[3] = NAN;
    CHECK(ub_parallax_blur(one, in, depth, t, &p, &b) == UB_ERR_INVALID);
    CHECK(ub_parallax_blur(one, NULL, depth, t, &p, &b) == UB_ERR_INVALID);
    ub_image_destroy(&a), ub_image_destroy(&small), ub_image_destroy(&depth), ub_image_destroy(&in);
    traj_free(t);
    ub_ctx_destroy(&one), ub_ctx_destroy(&two);
}

int main(void) {
    test_reference_depth_is_the_warp();
    test_far_and_unknown();
    test_near_blurs_more_and_forward();
    test_centred();
    test_threads_and_errors();
    return test_finish("test_parallax");
}
