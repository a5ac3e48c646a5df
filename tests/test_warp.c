/* tests/test_warp.c — camera warps (ub_warp_blur): the identity, exact integer
   shifts, the pose conventions (translation, yaw, pitch, roll), agreement with
   convolution by the trajectory's PSF (built here, and the library's own
   ub_kernel_from_trajectory + ub_convolve), roll blurring the corners more
   than the centre, the fast path against its reference twin, thread
   invariance, alpha, errors, and the time of a training-sized call. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "synth/internal.h"
#include "testutil.h"

#define PI 3.14159265358979323846

/* A trajectory owned by the test (ub_trajectory_destroy belongs to another module). */
static ub_trajectory *traj_new(int n, int rotation) {
    ub_trajectory *t = calloc(1, sizeof *t);
    t->n = n;
    t->x = calloc((size_t)n, sizeof(double));
    t->y = calloc((size_t)n, sizeof(double));
    if (rotation) {
        t->yaw = calloc((size_t)n, sizeof(double));
        t->pitch = calloc((size_t)n, sizeof(double));
        t->roll = calloc((size_t)n, sizeof(double));
    }
    return t;
}

static void traj_free(ub_trajectory *t) {
    free(t->x), free(t->y), free(t->yaw), free(t->pitch), free(t->roll);
    free(t);
}

static size_t samples_of(const ub_image *img) { return (size_t)img->width * img->height * img->channels; }

static double max_abs_diff(const ub_image *a, const ub_image *b) {
    double m = 0;
    for (size_t i = 0; i < samples_of(a); i++) m = fmax(m, fabs((double)a->data[i] - b->data[i]));
    return m;
}

/* Mean |a - b| over a w x h patch at (x0, y0) of every colour channel. */
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

static void test_identity(void) {
    ub_ctx *ctx = test_ctx(2);
    ub_image *in = test_image(ctx, 61, 47, 3, 1), *out = NULL;
    for (int rot = 0; rot <= 1; rot++) { /* rotation arrays present but zero: still the identity */
        ub_trajectory *t = traj_new(10, rot);
        CHECK_OK(ctx, ub_warp_blur(ctx, in, t, 500, 0, &out));
        CHECK_MSG(max_abs_diff(in, out) <= 1e-6, "rotation arrays %d: %g", rot, max_abs_diff(in, out));
        ub_image_destroy(&out);
        traj_free(t);
    }
    ub_image_destroy(&in);
    ub_ctx_destroy(&ctx);
}

/* Every pose at an integer translation: the image moves by it exactly, away from the borders. */
static void test_integer_shift(void) {
    ub_ctx *ctx = test_ctx(2);
    ub_image *in = test_image(ctx, 64, 48, 3, 2), *out = NULL;
    const int shifts[][2] = {{3, 0}, {0, -2}, {-1, 4}};
    for (int k = 0; k < 3; k++) {
        const int sx = shifts[k][0], sy = shifts[k][1];
        ub_trajectory *t = traj_new(7, 0);
        for (int i = 0; i < t->n; i++) t->x[i] = sx, t->y[i] = sy;
        CHECK_OK(ctx, ub_warp_blur(ctx, in, t, 0, 0, &out));
        double worst = 0;
        for (int c = 0; c < 3; c++)
            for (int64_t y = 5; y < 43; y++)
                for (int64_t x = 5; x < 59; x++) {
                    const float got = ub_image_plane(out, c)[y * 64 + x];
                    const float want = ub_image_plane(in, c)[(y - sy) * 64 + (x - sx)];
                    worst = fmax(worst, fabs((double)got - want));
                }
        CHECK_MSG(worst <= 1e-6, "shift (%d, %d): worst %g", sx, sy, worst);
        ub_image_destroy(&out);
        traj_free(t);
    }
    ub_image_destroy(&in);
    ub_ctx_destroy(&ctx);
}

/* Where a point light at (px, py) lands under one pose: the centroid of the output. */
static void moved_point(ub_ctx *ctx, ub_trajectory *t, double focal, int64_t px, int64_t py, double *cx,
                        double *cy) {
    ub_image *in, *out = NULL;
    ub_image_create(ctx, &in, 101, 81, 1);
    in->data[py * 101 + px] = 1;
    CHECK_OK(ctx, ub_warp_blur(ctx, in, t, focal, 0, &out));
    double sum = 0, sx = 0, sy = 0;
    for (int64_t y = 0; y < 81; y++)
        for (int64_t x = 0; x < 101; x++) {
            const double v = out ? out->data[y * 101 + x] : 0;
            sum += v, sx += v * x, sy += v * y;
        }
    *cx = sum > 0 ? sx / sum : -1;
    *cy = sum > 0 ? sy / sum : -1;
    ub_image_destroy(&in);
    ub_image_destroy(&out);
}

/* The documented conventions: +x translation moves content right (like a kernel's
   mass at +x), +yaw right, +pitch up, +roll clockwise on screen (y down). */
static void test_conventions(void) {
    ub_ctx *ctx = test_ctx(1);
    const double f = 100, ccx = 50, ccy = 40; /* 101 x 81: the centre is (50, 40) */
    double x, y;
    ub_trajectory *t = traj_new(1, 1);
    t->x[0] = 2, t->y[0] = -1;
    moved_point(ctx, t, f, 30, 30, &x, &y);
    CHECK_NEAR(x, 32, 1e-9);
    CHECK_NEAR(y, 29, 1e-9);
    t->x[0] = 0.25, t->y[0] = 0;
    moved_point(ctx, t, f, 30, 30, &x, &y);
    CHECK_NEAR(x, 30.25, 1e-6);
    t->x[0] = t->y[0] = 0;
    t->yaw[0] = atan(3.0 / f);
    /* (perspective stretches the pulled point slightly: its centroid is off by < 1e-3 px) */
    moved_point(ctx, t, f, 50, 40, &x, &y);
    CHECK_NEAR(x, ccx + 3, 2e-3);
    CHECK_NEAR(y, ccy, 1e-6);
    t->yaw[0] = 0, t->pitch[0] = atan(4.0 / f);
    moved_point(ctx, t, f, 50, 40, &x, &y);
    CHECK_NEAR(x, ccx, 1e-6);
    CHECK_NEAR(y, ccy - 4, 2e-3);
    t->pitch[0] = 0, t->roll[0] = PI / 2; /* (cx + 10, cy) turns to (cx, cy + 10) */
    moved_point(ctx, t, f, 60, 40, &x, &y);
    CHECK_NEAR(x, ccx, 1e-5);
    CHECK_NEAR(y, ccy + 10, 1e-5);
    traj_free(t);
    /* samples = 1 takes the middle of the exposure; samples > n takes every point once */
    t = traj_new(5, 0);
    for (int i = 0; i < 5; i++) t->x[i] = i;
    ub_image *in = test_image(ctx, 40, 30, 1, 3), *a = NULL, *b = NULL;
    CHECK_OK(ctx, ub_warp_blur(ctx, in, t, 0, 1, &a));
    CHECK_NEAR(a->data[10 * 40 + 20], in->data[10 * 40 + 18], 1e-7);
    ub_image_destroy(&a);
    CHECK_OK(ctx, ub_warp_blur(ctx, in, t, 0, 5, &a));
    CHECK_OK(ctx, ub_warp_blur(ctx, in, t, 0, 99, &b));
    CHECK(a && b && memcmp(a->data, b->data, samples_of(a) * sizeof(float)) == 0);
    ub_image_destroy(&a);
    ub_image_destroy(&b);
    ub_image_destroy(&in);
    traj_free(t);
    ub_ctx_destroy(&ctx);
}

/* A straight 9-pixel path at 30 degrees equals convolution with that path's PSF
   (bilinear splats of the same poses, built here), away from the borders.
   Bilinear sampling at p - t is exactly convolution with the bilinear splat of a
   delta at t, so the two agree to float rounding (1e-5, not the 1e-2 a
   re-centred, differently rasterised PSF would need). */
static void test_matches_psf(void) {
    ub_ctx *ctx = test_ctx(2);
    enum { N = 37, KS = 15, KC = KS / 2, W = 72, H = 60 };
    ub_trajectory *t = traj_new(N, 0);
    double k[KS * KS] = {0};
    for (int i = 0; i < N; i++) {
        const double r = -4.5 + 9.0 * i / (N - 1);
        t->x[i] = r * cos(PI / 6), t->y[i] = r * sin(PI / 6);
        const double fx = floor(t->x[i]), fy = floor(t->y[i]), ax = t->x[i] - fx, ay = t->y[i] - fy;
        const int x0 = KC + (int)fx, y0 = KC + (int)fy;
        k[y0 * KS + x0] += (1 - ax) * (1 - ay) / N;
        k[y0 * KS + x0 + 1] += ax * (1 - ay) / N;
        k[(y0 + 1) * KS + x0] += (1 - ax) * ay / N;
        k[(y0 + 1) * KS + x0 + 1] += ax * ay / N;
    }
    ub_image *in = test_image(ctx, W, H, 3, 4), *out = NULL;
    CHECK_OK(ctx, ub_warp_blur(ctx, in, t, 0, 0, &out));
    double worst = 0, mean = 0;
    int count = 0;
    for (int c = 0; c < 3; c++)
        for (int y = KC; y < H - KC; y++)
            for (int x = KC; x < W - KC; x++) {
                double conv = 0; /* a point at p spreads to p + offset: out(p) = sum k(o) in(p - o) */
                for (int oy = -KC; oy <= KC; oy++)
                    for (int ox = -KC; ox <= KC; ox++)
                        conv += k[(oy + KC) * KS + ox + KC] * ub_image_plane(in, c)[(y - oy) * W + (x - ox)];
                const double d = fabs(conv - ub_image_plane(out, c)[y * W + x]);
                worst = fmax(worst, d), mean += d, count++;
            }
    mean /= count;
    CHECK_MSG(worst <= 1e-5, "warp vs PSF convolution: worst %g, mean %g", worst, mean);
    /* and it did blur: the output is not the input */
    CHECK(patch_mad(in, out, 10, 10, 40, 30) > 0.01);
    ub_image_destroy(&in);
    ub_image_destroy(&out);
    traj_free(t);
    ub_ctx_destroy(&ctx);
}

/* The same against the library's own PSF path, ub_kernel_from_trajectory +
   ub_convolve, on an L-shaped path (right 6 px, then down 3 px) so that a
   mirrored kernel would show: a straight line is symmetric. The path is
   centred first, as that kernel is re-centred. It is rasterised from the path
   by its own rules, not as the same splat of the same 37 points: agreement to
   1e-2 in mean (any two rasterisations of one path) rather than to rounding. */
static void test_matches_library_psf(void) {
    ub_ctx *ctx = test_ctx(2);
    ub_trajectory *t = traj_new(37, 0), *mirrored = traj_new(37, 0);
    double mx = 0, my = 0;
    for (int i = 0; i < 37; i++) {
        t->x[i] = i < 24 ? 0.25 * i : 6, t->y[i] = i < 24 ? 0 : 0.25 * (i - 24);
        mx += t->x[i] / 37, my += t->y[i] / 37;
    }
    for (int i = 0; i < 37; i++) {
        t->x[i] -= mx, t->y[i] -= my;
        mirrored->x[i] = -t->x[i], mirrored->y[i] = -t->y[i];
    }
    ub_kernel *k = NULL;
    ub_image *in = test_image(ctx, 72, 60, 3, 4), *warped = NULL, *flipped = NULL, *conv = NULL;
    CHECK_OK(ctx, ub_kernel_from_trajectory(ctx, t, 0, &k));
    if (k) CHECK_OK(ctx, ub_convolve(ctx, in, k, UB_BORDER_REFLECT, &conv));
    CHECK_OK(ctx, ub_warp_blur(ctx, in, t, 0, 0, &warped));
    CHECK_OK(ctx, ub_warp_blur(ctx, in, mirrored, 0, 0, &flipped));
    if (conv && warped && flipped) {
        double mean = 0, mean_mirrored = 0;
        int count = 0;
        for (int c = 0; c < 3; c++)
            for (int y = 8; y < 52; y++)
                for (int x = 8; x < 64; x++, count++) {
                    const double v = ub_image_plane(conv, c)[y * 72 + x];
                    mean += fabs(v - ub_image_plane(warped, c)[y * 72 + x]);
                    mean_mirrored += fabs(v - ub_image_plane(flipped, c)[y * 72 + x]);
                }
        mean /= count, mean_mirrored /= count;
        CHECK_MSG(mean <= 1e-2, "warp vs ub_convolve(ub_kernel_from_trajectory): mean %g", mean);
        CHECK_MSG(mean_mirrored > 3 * mean, "the mirrored path agrees as well (%g vs %g)", mean_mirrored, mean);
        printf("warp vs ub_convolve(ub_kernel_from_trajectory), L-shaped 9 px path: mean abs difference %.2g "
               "(mirrored path: %.2g)\n", mean, mean_mirrored);
    }
    ub_image_destroy(&in);
    ub_image_destroy(&warped);
    ub_image_destroy(&flipped);
    ub_image_destroy(&conv);
    ub_kernel_destroy(&k);
    traj_free(t);
    traj_free(mirrored);
    ub_ctx_destroy(&ctx);
}

/* Roll only: displacement grows with the distance from the centre. */
static void test_roll_varies(void) {
    ub_ctx *ctx = test_ctx(2);
    ub_trajectory *t = traj_new(32, 1);
    for (int i = 0; i < 32; i++) t->roll[i] = (-3.0 + 6.0 * i / 31) * PI / 180;
    ub_image *in = test_image(ctx, 128, 128, 3, 5), *out = NULL;
    CHECK_OK(ctx, ub_warp_blur(ctx, in, t, 300, 0, &out));
    const double centre = patch_mad(in, out, 56, 56, 16, 16);
    const double corners[4] = {patch_mad(in, out, 2, 2, 16, 16), patch_mad(in, out, 110, 2, 16, 16),
                               patch_mad(in, out, 2, 110, 16, 16), patch_mad(in, out, 110, 110, 16, 16)};
    for (int i = 0; i < 4; i++)
        CHECK_MSG(corners[i] > 3 * centre, "corner %d: %g, centre %g", i, corners[i], centre);
    ub_image_destroy(&in);
    ub_image_destroy(&out);
    traj_free(t);
    ub_ctx_destroy(&ctx);
}

/* A shaky path with rotation, sub-pixel translations and big moves that reach the borders. */
static ub_trajectory *random_traj(int n, int rotation, double reach, uint64_t seed) {
    test_rng r = {seed};
    ub_trajectory *t = traj_new(n, rotation);
    for (int i = 0; i < n; i++) {
        t->x[i] = reach * (2 * test_rng_uniform(&r) - 1);
        t->y[i] = reach * (2 * test_rng_uniform(&r) - 1);
        if (rotation) {
            t->yaw[i] = 0.02 * (2 * test_rng_uniform(&r) - 1);
            t->pitch[i] = 0.02 * (2 * test_rng_uniform(&r) - 1);
            t->roll[i] = 0.05 * (2 * test_rng_uniform(&r) - 1);
        }
    }
    return t;
}

static void test_fast_vs_reference(void) {
    ub_ctx *ctx = test_ctx(2);
    const int sizes[][3] = {{57, 43, 3}, {1, 9, 1}, {9, 1, 4}, {2, 2, 2}, {33, 70, 4}, {5, 5, 3}};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++)
        for (int rot = 0; rot <= 1; rot++) {
            ub_image *in = test_image(ctx, sizes[s][0], sizes[s][1], sizes[s][2], 10 + s), *a = NULL, *b = NULL;
            ub_trajectory *t = random_traj(40, rot, s % 2 ? 25 : 4, 100 + s);
            CHECK_OK(ctx, ub_warp_blur(ctx, in, t, 80, 24, &a));
            CHECK_OK(ctx, ub__warp_blur_ref(ctx, in, t, 80, 24, &b));
            if (a && b)
                CHECK_MSG(max_abs_diff(a, b) <= 1e-5, "%dx%dx%d rot %d: %g", sizes[s][0], sizes[s][1],
                          sizes[s][2], rot, max_abs_diff(a, b));
            ub_image_destroy(&a);
            ub_image_destroy(&b);
            ub_image_destroy(&in);
            traj_free(t);
        }
    ub_ctx_destroy(&ctx);
}

static void test_threads_and_alpha(void) {
    ub_image *first = NULL, *in = NULL;
    ub_trajectory *t = random_traj(64, 1, 6, 7);
    for (int threads = 1; threads <= 4; threads++) {
        ub_ctx *ctx = test_ctx(threads);
        if (!in) in = test_image(ctx, 97, 83, 4, 8);
        ub_image *out = NULL;
        CHECK_OK(ctx, ub_warp_blur(ctx, in, t, 150, 0, &out));
        if (out) {
            CHECK(memcmp(ub_image_plane(out, 3), ub_image_plane(in, 3), 97 * 83 * sizeof(float)) == 0);
            CHECK(out->channels == 4);
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
    ub_image_destroy(&in);
    traj_free(t);
}

static void test_errors(void) {
    ub_ctx *ctx = test_ctx(1);
    ub_image *in = test_image(ctx, 256, 32, 3, 9), *out = NULL;
    ub_trajectory *t = traj_new(4, 1);
    CHECK(ub_warp_blur(ctx, NULL, t, 100, 0, &out) == UB_ERR_INVALID);
    CHECK(ub_warp_blur(ctx, in, NULL, 100, 0, &out) == UB_ERR_INVALID);
    CHECK(ub_warp_blur(ctx, in, t, 100, 0, NULL) == UB_ERR_INVALID);
    CHECK(ub_warp_blur(ctx, in, t, 100, -1, &out) == UB_ERR_INVALID);
    CHECK(ub_warp_blur(ctx, in, t, 0, 0, &out) == UB_ERR_INVALID); /* rotation needs a focal length */
    CHECK(ub_warp_blur(ctx, in, t, NAN, 0, &out) == UB_ERR_INVALID);
    t->x[2] = NAN;
    CHECK(ub_warp_blur(ctx, in, t, 100, 0, &out) == UB_ERR_INVALID);
    CHECK(strstr(ub_last_error(ctx), "trajectory point 2") != NULL);
    t->x[2] = 1e12;
    CHECK(ub_warp_blur(ctx, in, t, 100, 0, &out) == UB_ERR_INVALID);
    t->x[2] = 0, t->yaw[1] = 80 * PI / 180; /* the left edge is 52 degrees off axis: turned behind the camera */
    CHECK(ub_warp_blur(ctx, in, t, 100, 0, &out) == UB_ERR_INVALID);
    CHECK(strstr(ub_last_error(ctx), "field of view") != NULL);
    CHECK(out == NULL);
    t->n = 0;
    CHECK(ub_warp_blur(ctx, in, t, 100, 0, &out) == UB_ERR_INVALID);
    traj_free(t);
    ub_image_destroy(&in);
    ub_ctx_destroy(&ctx);
}

/* What the training pipeline pays per sample (printed, not checked: machines differ). */
static void report_timing(void) {
    ub_ctx *ctx = test_ctx(1);
    ub_image *in = test_image(ctx, 256, 256, 3, 11);
    for (int rot = 0; rot <= 1; rot++) {
        ub_trajectory *t = random_traj(64, rot, 8, 12);
        double best = 1e9;
        for (int rep = 0; rep < 3; rep++) {
            ub_image *out = NULL;
            const double t0 = 1e3 * test_seconds();
            CHECK_OK(ctx, ub_warp_blur(ctx, in, t, 300, 64, &out));
            best = fmin(best, 1e3 * test_seconds() - t0);
            ub_image_destroy(&out);
        }
        printf("warp blur 256x256 RGB, 64 poses, %s, 1 thread: %.2f ms\n", rot ? "with rotation" : "translation only",
               best);
        traj_free(t);
    }
    ub_image_destroy(&in);
    ub_ctx_destroy(&ctx);
}

int main(void) {
    test_identity();
    test_integer_shift();
    test_conventions();
    test_matches_psf();
    test_matches_library_psf();
    test_roll_varies();
    test_fast_vs_reference();
    test_threads_and_alpha();
    test_errors();
    report_timing();
    return test_finish("test_warp");
}
