/* tests/test_trajectory.c — camera-shake trajectories and their PSFs:
   determinism, exact length, centring, the rotation walks, linear paths,
   PSFs of many random shakes (sum, sign, centroid, fit), clipping to a given
   size, argument errors, and clips averaged from video frames. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "synth/internal.h"
#include "testutil.h"

static const double PI = 3.14159265358979323846;

static float at(const ub_kernel *k, int x, int y) { return k->data[(size_t)y * k->width + x]; }

static ub_trajectory *shake(ub_ctx *ctx, uint64_t seed, const ub_shake_params *p) {
    ub_rng rng;
    ub_rng_seed(&rng, seed);
    ub_trajectory *t = NULL;
    CHECK_OK(ctx, ub_trajectory_shake(ctx, &rng, p, &t));
    if (!t) exit(1);
    return t;
}

static double mean(const double *v, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += v[i];
    return s / n;
}

static double peak_abs(const double *v, int n) {
    double m = 0;
    for (int i = 0; i < n; i++) m = fabs(v[i]) > m ? fabs(v[i]) : m;
    return m;
}

/* Sum 1, non-negative, centroid at the centre. */
static void check_psf(const ub_kernel *k, double centroid_tol, const char *what) {
    double s = ub_kernel_sum(k), cx, cy;
    int negative = 0;
    for (int i = 0; i < k->width * k->height; i++) negative += !(k->data[i] >= 0.0f);
    ub_kernel_centroid(k, &cx, &cy);
    CHECK_MSG(fabs(s - 1.0) <= 1e-6, "%s: sum %.9g", what, s);
    CHECK_MSG(negative == 0, "%s: %d negative values", what, negative);
    CHECK_MSG(fabs(cx) <= centroid_tol && fabs(cy) <= centroid_tol, "%s: centroid (%g, %g)", what, cx, cy);
    CHECK_MSG(k->width == k->height && (k->width & 1), "%s: size %dx%d", what, k->width, k->height);
}

static void test_determinism(void) {
    ub_ctx *ctx = test_ctx(1);
    ub_shake_params p;
    ub_shake_default(&p);
    CHECK(p.samples == 2000 && p.length == 20 && p.rotation_deg == 0);
    p.rotation_deg = 1.5;
    ub_trajectory *a = shake(ctx, 42, &p), *b = shake(ctx, 42, &p), *c = shake(ctx, 43, &p);
    const size_t bytes = sizeof(double) * (size_t)a->n;
    CHECK(a->n == 2000 && b->n == 2000 && c->n == 2000);
    CHECK(memcmp(a->x, b->x, bytes) == 0 && memcmp(a->y, b->y, bytes) == 0);
    CHECK(memcmp(a->yaw, b->yaw, bytes) == 0 && memcmp(a->pitch, b->pitch, bytes) == 0 &&
          memcmp(a->roll, b->roll, bytes) == 0);
    CHECK(memcmp(a->x, c->x, bytes) != 0 && memcmp(a->y, c->y, bytes) != 0 && memcmp(a->yaw, c->yaw, bytes) != 0);
    /* the rotation draws come after the translation: turning rotation off keeps the same path */
    p.rotation_deg = 0;
    ub_trajectory *d = shake(ctx, 42, &p);
    CHECK(memcmp(a->x, d->x, bytes) == 0 && memcmp(a->y, d->y, bytes) == 0);
    CHECK(d->yaw == NULL && d->pitch == NULL && d->roll == NULL);
    ub_kernel *ka, *kb;
    CHECK_OK(ctx, ub_kernel_from_trajectory(ctx, a, 0, &ka));
    CHECK_OK(ctx, ub_kernel_from_trajectory(ctx, b, 0, &kb));
    CHECK(ka->width == kb->width && memcmp(ka->data, kb->data, sizeof(float) * ka->width * ka->height) == 0);
    ub_kernel_destroy(&ka);
    ub_kernel_destroy(&kb);
    ub_trajectory_destroy(&a);
    ub_trajectory_destroy(&b);
    ub_trajectory_destroy(&c);
    ub_trajectory_destroy(&d);
    CHECK(d == NULL);
    ub_trajectory_destroy(&d); /* NULL is accepted */
    ub_ctx_destroy(&ctx);
}

static void test_length(void) {
    ub_ctx *ctx = test_ctx(1);
    const double lengths[] = {0.5, 1.0, 5.0, 20.0, 37.3, 60.0, 200.0};
    const int samples[] = {0, 2, 64, 500, 2000};
    for (size_t i = 0; i < sizeof lengths / sizeof *lengths; i++)
        for (size_t j = 0; j < sizeof samples / sizeof *samples; j++) {
            ub_shake_params p;
            ub_shake_default(&p);
            p.length = lengths[i];
            p.samples = samples[j];
            p.anxiety = 0.05; /* lively: abrupt turns and a curvy path */
            ub_trajectory *t = shake(ctx, 1000 + i * 10 + j, &p);
            CHECK(t->n == (samples[j] ? samples[j] : 2000));
            const double len = ub_trajectory_length(t);
            CHECK_MSG(fabs(len - p.length) <= 1e-9 * p.length, "L %g n %d: length %.15g", p.length, t->n, len);
            CHECK_MSG(fabs(mean(t->x, t->n)) < 1e-9 * p.length && fabs(mean(t->y, t->n)) < 1e-9 * p.length,
                      "L %g n %d: not centred", p.length, t->n);
            ub_trajectory_destroy(&t);
        }
    /* zero length: a point at the origin, and a delta-like PSF */
    ub_shake_params p;
    ub_shake_default(&p);
    p.length = 0;
    ub_trajectory *t = shake(ctx, 5, &p);
    CHECK(ub_trajectory_length(t) == 0.0 && peak_abs(t->x, t->n) == 0.0 && peak_abs(t->y, t->n) == 0.0);
    ub_kernel *k;
    CHECK_OK(ctx, ub_kernel_from_trajectory(ctx, t, 0, &k));
    CHECK(k->width == 3 && at(k, 1, 1) == 1.0f);
    ub_kernel_destroy(&k);
    ub_trajectory_destroy(&t);
    /* ub_trajectory_length on a hand-made path: 3-4-5 twice */
    double x[3] = {0, 3, 0}, y[3] = {0, 4, 8};
    ub_trajectory hand = {3, x, y, NULL, NULL, NULL};
    CHECK_NEAR(ub_trajectory_length(&hand), 10.0, 1e-12);
    CHECK(ub_trajectory_length(NULL) == 0.0);
    ub_ctx_destroy(&ctx);
}

/* The model's character: anxiety 0 is a straight line; the default is curvy,
   with abrupt turns now and then. */
static void test_shape(void) {
    ub_ctx *ctx = test_ctx(1);
    ub_shake_params p;
    ub_shake_default(&p);
    p.anxiety = 0;
    ub_trajectory *t = shake(ctx, 9, &p);
    const double chord = hypot(t->x[t->n - 1] - t->x[0], t->y[t->n - 1] - t->y[0]);
    CHECK_NEAR(chord, p.length, 1e-9 * p.length);
    ub_trajectory_destroy(&t);
    ub_shake_default(&p);
    double ratio = 0;
    const int runs = 50;
    for (int s = 0; s < runs; s++) {
        t = shake(ctx, 100 + s, &p);
        ratio += hypot(t->x[t->n - 1] - t->x[0], t->y[t->n - 1] - t->y[0]) / p.length / runs;
        ub_trajectory_destroy(&t);
    }
    printf("default shake: mean chord / length %.3f\n", ratio);
    CHECK_MSG(ratio < 0.9 && ratio > 0.02, "mean chord / length %g", ratio);
    ub_ctx_destroy(&ctx);
}

static void test_rotation(void) {
    ub_ctx *ctx = test_ctx(1);
    const double weights[] = {0.0, 0.3, 0.5, 0.8, 1.0}, degrees[] = {0.5, 3.0};
    for (size_t i = 0; i < sizeof weights / sizeof *weights; i++)
        for (size_t j = 0; j < sizeof degrees / sizeof *degrees; j++) {
            ub_shake_params p;
            ub_shake_default(&p);
            p.rotation_deg = degrees[j];
            p.roll_weight = weights[i];
            ub_trajectory *t = shake(ctx, 77 + i, &p);
            CHECK(t->yaw && t->pitch && t->roll);
            if (!t->yaw || !t->pitch || !t->roll) continue;
            const double amp = degrees[j] * PI / 180, w = weights[i], top = w > 1 - w ? w : 1 - w;
            const double py = peak_abs(t->yaw, t->n), pp = peak_abs(t->pitch, t->n), pr = peak_abs(t->roll, t->n);
            CHECK(py <= amp * (1 + 1e-12) && pp <= amp * (1 + 1e-12) && pr <= amp * (1 + 1e-12));
            CHECK_MSG(fabs(fmax(py, pr) - amp) < 1e-12 * amp, "w %g: peaks %g %g, amplitude %g", w, py, pr, amp);
            CHECK_NEAR(py, amp * (1 - w) / top, 1e-12 * amp);
            CHECK_NEAR(pp, amp * (1 - w) / top, 1e-12 * amp);
            CHECK_NEAR(pr, amp * w / top, 1e-12 * amp);
            /* smooth: no sample-to-sample jump bigger than 2% of the amplitude; mean zero */
            double jump = 0;
            for (int s = 1; s < t->n; s++) jump = fmax(jump, fabs(t->yaw[s] - t->yaw[s - 1]));
            CHECK_MSG(jump < 0.02 * amp || w == 1.0, "w %g: yaw jumps by %g of %g", w, jump, amp);
            CHECK(fabs(mean(t->roll, t->n)) < 1e-12 && fabs(mean(t->pitch, t->n)) < 1e-12);
            ub_trajectory_destroy(&t);
        }
    ub_ctx_destroy(&ctx);
}

static void test_linear(void) {
    ub_ctx *ctx = test_ctx(1);
    const int sample_counts[] = {0, 2, 7, 2000};
    for (size_t s = 0; s < sizeof sample_counts / sizeof *sample_counts; s++) {
        ub_trajectory *t;
        CHECK_OK(ctx, ub_trajectory_linear(ctx, 20.0, 0.0, sample_counts[s], &t));
        CHECK(t->n == (sample_counts[s] ? sample_counts[s] : 2000) && !t->yaw && !t->pitch && !t->roll);
        CHECK_NEAR(ub_trajectory_length(t), 20.0, 1e-12);
        CHECK_NEAR(t->x[0], -10.0, 1e-12);
        CHECK_NEAR(t->x[t->n - 1], 10.0, 1e-12);
        ub_kernel *k;
        CHECK_OK(ctx, ub_kernel_from_trajectory(ctx, t, 0, &k));
        check_psf(k, 1e-6, "linear 20 px");
        /* a horizontal line through the centre, columns c-10..c+10, even density inside */
        const int c = k->width / 2;
        CHECK_MSG(k->width == 23, "size %d", k->width);
        double off_row = 0, moment = 0;
        int extent_ok = 1, even = 1;
        for (int y = 0; y < k->height; y++)
            for (int x = 0; x < k->width; x++) {
                const double v = at(k, x, y);
                if (y != c) off_row += v;
                moment += v * (x - c) * (x - c);
                if (y == c && (abs(x - c) <= 10) != (v > 0)) extent_ok = 0;
                if (y == c && abs(x - c) <= 9 && fabs(v - 1.0 / 20) > 0.05 / 20) even = 0;
            }
        CHECK(off_row == 0.0);
        CHECK_MSG(extent_ok && even, "samples %d: extent %d, even %d", t->n, extent_ok, even);
        CHECK_MSG(fabs(moment / (400.0 / 12) - 1) < 0.02, "second moment %g vs L^2/12", moment);
        ub_kernel_destroy(&k);
        ub_trajectory_destroy(&t);
    }
    /* diagonal and vertical lines: every pixel with mass lies near the line, within the extent */
    const double angles[] = {PI / 4, PI / 2, 2.0, -0.4};
    for (size_t a = 0; a < sizeof angles / sizeof *angles; a++) {
        ub_trajectory *t;
        const double L = 30.0, ux = cos(angles[a]), uy = sin(angles[a]);
        CHECK_OK(ctx, ub_trajectory_linear(ctx, L, angles[a], 0, &t));
        CHECK_NEAR(ub_trajectory_length(t), L, 1e-12);
        ub_kernel *k;
        CHECK_OK(ctx, ub_kernel_from_trajectory(ctx, t, 0, &k));
        check_psf(k, 1e-5, "linear 30 px");
        const int c = k->width / 2;
        double worst_across = 0, worst_along = 0, along_moment = 0;
        for (int y = 0; y < k->height; y++)
            for (int x = 0; x < k->width; x++) {
                const double v = at(k, x, y);
                if (v <= 0) continue;
                const double along = (x - c) * ux + (y - c) * uy, across = -(x - c) * uy + (y - c) * ux;
                worst_across = fmax(worst_across, fabs(across));
                worst_along = fmax(worst_along, fabs(along));
                along_moment += v * along * along;
            }
        /* a splat reaches the corners of its cell: at most |ux| + |uy| away along either axis */
        const double cell = fabs(ux) + fabs(uy) + 1e-9;
        CHECK_MSG(worst_across <= cell && worst_along <= L / 2 + cell, "angle %g: across %g along %g", angles[a],
                  worst_across, worst_along);
        CHECK_MSG(fabs(along_moment / (L * L / 12) - 1) < 0.03, "angle %g: moment along %g", angles[a], along_moment);
        ub_kernel_destroy(&k);
        ub_trajectory_destroy(&t);
    }
    ub_ctx_destroy(&ctx);
}

/* Many random shakes, DeblurGAN's parameter ranges, lengths 1..60 px. */
static void test_random_psfs(void) {
    ub_ctx *ctx = test_ctx(1);
    test_rng r = {2024};
    double worst_centroid = 0;
    int sized = 0;
    for (int i = 0; i < 300; i++) {
        ub_shake_params p;
        ub_shake_default(&p);
        p.length = 1.0 + 59.0 * test_rng_uniform(&r);
        p.anxiety = 0.1 * test_rng_uniform(&r);
        p.centripetal = 0.7 * test_rng_uniform(&r);
        p.big_shake = 0.2 * test_rng_uniform(&r);
        p.gaussian = 10.0 * test_rng_uniform(&r);
        p.samples = i % 3 == 0 ? 0 : 64 + (int)(test_rng_next(&r) % 3000);
        ub_trajectory *t = shake(ctx, 5000 + i, &p);
        ub_kernel *k;
        char what[96];
        snprintf(what, sizeof what, "shake %d (L %.2f, n %d)", i, p.length, t->n);
        CHECK_OK(ctx, ub_kernel_from_trajectory(ctx, t, 0, &k));
        check_psf(k, 1e-3, what);
        double cx, cy;
        ub_kernel_centroid(k, &cx, &cy);
        worst_centroid = fmax(worst_centroid, fmax(fabs(cx), fabs(cy)));
        /* smallest fit: within the path's reach plus margin, and the outer ring is empty (1-px margin) */
        double ring = 0;
        const int w = k->width;
        for (int j = 0; j < w; j++) ring += at(k, j, 0) + at(k, j, w - 1) + at(k, 0, j) + at(k, w - 1, j);
        CHECK_MSG(ring == 0.0, "%s: mass on the border", what);
        CHECK_MSG(w <= 2 * (int)ceil(p.length / 2 + 1e-9) + 3, "%s: size %d for length %g", what, w, p.length);
        /* a larger given size places the same PSF at the centre (up to 65x65) */
        if (w <= 63) {
            sized++;
            ub_kernel *big;
            CHECK_OK(ctx, ub_kernel_from_trajectory(ctx, t, 65, &big));
            check_psf(big, 1e-3, what);
            const int off = (65 - w) / 2;
            double diff = 0, outside = 0;
            for (int y = 0; y < 65; y++)
                for (int x = 0; x < 65; x++) {
                    const int kx = x - off, ky = y - off;
                    if (kx >= 0 && ky >= 0 && kx < w && ky < w) diff = fmax(diff, fabs(at(big, x, y) - at(k, kx, ky)));
                    else outside += at(big, x, y);
                }
            CHECK_MSG(diff < 1e-6 && outside == 0.0, "%s: 65x65 differs by %g, %g outside", what, diff, outside);
            ub_kernel_destroy(&big);
        }
        ub_kernel_destroy(&k);
        ub_trajectory_destroy(&t);
    }
    CHECK(sized > 100);
    printf("random shakes: worst centroid offset %.3g px\n", worst_centroid);
    CHECK(worst_centroid < 1e-5);
    ub_ctx_destroy(&ctx);
}

static void test_clipping(void) {
    ub_ctx *ctx = test_ctx(1);
    ub_shake_params p;
    ub_shake_default(&p);
    p.length = 60;
    double worst = 0, worst_small = 0;
    for (int i = 0; i < 40; i++) {
        ub_trajectory *t = shake(ctx, 900 + i, &p);
        ub_kernel *k;
        const int sizes[] = {21, 9, 5, 3};
        for (int j = 0; j < 4; j++) {
            CHECK_OK(ctx, ub_kernel_from_trajectory(ctx, t, sizes[j], &k));
            CHECK(k->width == sizes[j] && k->height == sizes[j]);
            double cx, cy;
            ub_kernel_centroid(k, &cx, &cy);
            char what[64];
            snprintf(what, sizeof what, "shake %d clipped to %d", i, sizes[j]);
            /* at 3x3 and 5x5 a clip may keep mass on one side only: no centring is possible */
            check_psf(k, sizes[j] > 5 ? 1e-5 : 1.0, what);
            if (sizes[j] > 5) worst = fmax(worst, fmax(fabs(cx), fabs(cy)));
            else worst_small = fmax(worst_small, fmax(fabs(cx), fabs(cy)));
            ub_kernel_destroy(&k);
        }
        /* size 1: whatever falls inside is the delta */
        CHECK_OK(ctx, ub_kernel_from_trajectory(ctx, t, 1, &k));
        CHECK(k->width == 1 && k->data[0] == 1.0f);
        ub_kernel_destroy(&k);
        ub_trajectory_destroy(&t);
    }
    printf("clipped shakes (60 px): worst centroid offset %.3g px into 21 and 9 px, %.3g px into 5 and 3 px\n", worst,
           worst_small);
    CHECK(worst < 1e-5);
    /* a ring around the centre that a 3x3 kernel misses entirely: the delta */
    double x[64], y[64];
    for (int i = 0; i < 64; i++) x[i] = 8 * cos(2 * PI * i / 63), y[i] = 8 * sin(2 * PI * i / 63);
    ub_trajectory ring = {64, x, y, NULL, NULL, NULL};
    ub_kernel *k;
    CHECK_OK(ctx, ub_kernel_from_trajectory(ctx, &ring, 3, &k));
    CHECK(k->width == 3 && at(k, 1, 1) == 1.0f && ub_kernel_sum(k) == 1.0);
    ub_kernel_destroy(&k);
    /* one sample off the grid: re-centred onto the centre pixel */
    double x1 = 0.3, y1 = -7.2;
    ub_trajectory one = {1, &x1, &y1, NULL, NULL, NULL};
    CHECK_OK(ctx, ub_kernel_from_trajectory(ctx, &one, 0, &k));
    CHECK(k->width == 3 && at(k, 1, 1) == 1.0f);
    ub_kernel_destroy(&k);
    ub_ctx_destroy(&ctx);
}

static void test_errors(void) {
    ub_ctx *ctx = test_ctx(1);
    ub_rng rng;
    ub_rng_seed(&rng, 1);
    ub_shake_params good, p;
    ub_shake_default(&good);
    ub_trajectory sentinel = {0}, *t = &sentinel; /* must be reset to NULL on failure */
    CHECK(ub_trajectory_shake(ctx, NULL, &good, &t) == UB_ERR_INVALID && !t);
    CHECK(ub_trajectory_shake(ctx, &rng, NULL, &t) == UB_ERR_INVALID);
    ub_shake_params bad[8];
    for (int i = 0; i < 8; i++) bad[i] = good;
    bad[0].length = -1;
    bad[1].length = NAN;
    bad[2].anxiety = 1.5;
    bad[3].centripetal = -0.1;
    bad[4].big_shake = 2;
    bad[5].samples = 1;
    bad[6].rotation_deg = 95;
    bad[7].roll_weight = -0.5;
    for (int i = 0; i < 8; i++) {
        p = bad[i];
        CHECK_MSG(ub_trajectory_shake(ctx, &rng, &p, &t) == UB_ERR_INVALID && !t, "bad parameters %d", i);
        CHECK(ub_last_error(ctx)[0] != '\0');
    }
    CHECK(ub_trajectory_linear(ctx, -3, 0, 0, &t) == UB_ERR_INVALID && !t);
    CHECK(ub_trajectory_linear(ctx, 3, NAN, 0, &t) == UB_ERR_INVALID && !t);
    CHECK(ub_trajectory_linear(ctx, 3, 0, -5, &t) == UB_ERR_INVALID && !t);
    /* longer than 1023 px: size 0 caps the kernel at 1023 and clips (symmetrically here) */
    CHECK_OK(ctx, ub_trajectory_linear(ctx, 2000, 0.5, 100, &t));
    ub_kernel ksentinel = {0}, *k = &ksentinel;
    CHECK_OK(ctx, ub_kernel_from_trajectory(ctx, t, 0, &k));
    CHECK(k && k->width == 1023 && k->height == 1023);
    if (k) check_psf(k, 1e-5, "2000 px line capped at 1023");
    ub_kernel_destroy(&k);
    k = &ksentinel;
    CHECK(ub_kernel_from_trajectory(ctx, t, 64, &k) == UB_ERR_INVALID && !k); /* even */
    ub_trajectory *huge;
    CHECK_OK(ctx, ub_trajectory_linear(ctx, 1e8, 0.0, 3, &huge)); /* too many sub-steps to rasterise */
    CHECK(ub_kernel_from_trajectory(ctx, huge, 0, &k) == UB_ERR_LIMIT && !k);
    ub_trajectory_destroy(&huge);
    CHECK(ub_kernel_from_trajectory(ctx, t, 1025, &k) == UB_ERR_INVALID && !k);
    CHECK(ub_kernel_from_trajectory(ctx, NULL, 0, &k) == UB_ERR_INVALID && !k);
    t->x[3] = NAN;
    CHECK(ub_kernel_from_trajectory(ctx, t, 0, &k) == UB_ERR_INVALID && !k);
    ub_trajectory_destroy(&t);
    ub_ctx_destroy(&ctx);
}

/* A clip averaged from video frames: a straight 40 px path in 4 frames exposed a quarter of their slot
   each gives 4 separate 2.5 px dashes, equal in mass, with empty gaps, centred; exposed whole
   (duty 1) it is the continuous smear; the exposed points are the right ones; bad arguments fail. */
static void test_frames(void) {
    ub_ctx *ctx = test_ctx(1);
    ub_trajectory *t = NULL, *open = NULL;
    CHECK_OK(ctx, ub_trajectory_linear(ctx, 40.0, 0.0, 800, &t));
    ub_kernel *k = NULL, *whole = NULL, *smear = NULL;
    CHECK_OK(ctx, ub__kernel_from_frames(ctx, t, 4, 0.25, &k));
    if (k) {
        const int c = k->height / 2;
        double row[1024] = {0}, total = 0, cx = 0;
        for (int y = 0; y < k->height; y++)
            for (int x = 0; x < k->width; x++) row[x] += at(k, x, y), total += at(k, x, y), cx += (x - k->width / 2) * at(k, x, y);
        CHECK_NEAR(total, 1.0, 1e-5);
        CHECK_MSG(fabs(cx) < 1e-3, "frames PSF centroid %g", cx);
        int runs = 0, inside = 0;
        double run_mass[8] = {0};
        for (int x = 0; x < k->width; x++) {
            if (row[x] > 1e-6 && !inside) runs++;
            inside = row[x] > 1e-6;
            if (inside && runs <= 8) run_mass[runs - 1] += row[x];
        }
        CHECK_MSG(runs == 4, "%d dashes, not 4", runs);
        for (int i = 0; i < 4 && runs == 4; i++) CHECK_NEAR(run_mass[i], 0.25, 1e-4);
        CHECK(at(k, k->width / 2, c) == 0.0f); /* the middle is a gap */
    }
    CHECK_OK(ctx, ub__kernel_from_frames(ctx, t, 4, 1.0, &whole));
    CHECK_OK(ctx, ub_kernel_from_trajectory(ctx, t, 0, &smear));
    if (whole && smear && whole->width == smear->width) {
        double l1 = 0;
        for (int i = 0; i < whole->width * whole->height; i++) l1 += fabs(whole->data[i] - smear->data[i]);
        CHECK_MSG(l1 < 0.01, "duty 1 differs from the continuous smear by %g (L1)", l1);
    } else {
        CHECK(0);
    }
    CHECK_OK(ctx, ub__trajectory_frames(ctx, t, 4, 0.25, &open));
    if (open) {
        CHECK(open->n == 200);
        int ok = 1; /* every kept point lies in the first quarter of its slot: x in [-20 + 10k, -17.5 + 10k] */
        for (int i = 0; i < open->n; i++) {
            const double u = open->x[i] + 20.0, slot = fmod(u, 10.0);
            ok &= slot <= 2.5 + 0.06;
        }
        CHECK(ok);
    }
    ub_kernel *bad = NULL;
    ub_trajectory *none = NULL;
    CHECK(ub__kernel_from_frames(ctx, t, 0, 0.5, &bad) == UB_ERR_INVALID && !bad);
    CHECK(ub__kernel_from_frames(ctx, t, 4, 0.0, &bad) == UB_ERR_INVALID && !bad);
    CHECK(ub__trajectory_frames(ctx, t, 801, 0.5, &none) == UB_ERR_INVALID && !none);
    ub_kernel_destroy(&k), ub_kernel_destroy(&whole), ub_kernel_destroy(&smear);
    ub_trajectory_destroy(&t), ub_trajectory_destroy(&open);
    ub_ctx_destroy(&ctx);
}

int main(void) {
    test_determinism();
    test_length();
    test_shape();
    test_rotation();
    test_linear();
    test_random_psfs();
    test_clipping();
    test_errors();
    test_frames();
    return test_finish("test_trajectory");
}
