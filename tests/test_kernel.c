/* tests/test_kernel.c — kernels (PSFs): the type and its checks, sums and
   centroids, the delta, the Gaussian (second moment sigma^2), apertures
   (equal-area disc and polygons, fast path against the plain twin), kernel
   files (round trip, colour files, errors naming the file). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "synth/internal.h"
#include "testutil.h"

static const double PI = 3.14159265358979323846;

static float at(const ub_kernel *k, int x, int y) { return k->data[(size_t)y * k->width + x]; }

static float kernel_max(const ub_kernel *k) {
    float m = 0.0f;
    for (int i = 0; i < k->width * k->height; i++) m = k->data[i] > m ? k->data[i] : m;
    return m;
}

static int all_non_negative(const ub_kernel *k) {
    for (int i = 0; i < k->width * k->height; i++)
        if (!(k->data[i] >= 0.0f)) return 0;
    return 1;
}

/* Per-axis second moments about the centre. */
static void second_moments(const ub_kernel *k, double *mxx, double *myy) {
    double s = 0, sx = 0, sy = 0;
    for (int y = 0; y < k->height; y++)
        for (int x = 0; x < k->width; x++) {
            const double v = at(k, x, y), dx = x - k->width / 2, dy = y - k->height / 2;
            s += v, sx += v * dx * dx, sy += v * dy * dy;
        }
    *mxx = sx / s;
    *myy = sy / s;
}

static void test_type(void) {
    ub_ctx *ctx = test_ctx(1);
    ub_kernel *k = NULL, *c = NULL;
    const int bad[][2] = {{0, 1}, {2, 3}, {3, 4}, {-1, 1}, {1025, 1}, {1, 1024}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK(ub_kernel_create(ctx, bad[i][0], bad[i][1], &k) == UB_ERR_INVALID && k == NULL);
        CHECK(strstr(ub_last_error(ctx), "odd") != NULL);
    }
    CHECK_OK(ctx, ub_kernel_create(ctx, 5, 3, &k));
    CHECK(k->width == 5 && k->height == 3 && ub_kernel_sum(k) == 0.0);
    /* mass at (4, 1) and (3, 0): centroid relative to the centre (2, 1) */
    k->data[1 * 5 + 4] = 3.0f;
    k->data[0 * 5 + 3] = 1.0f;
    CHECK_NEAR(ub_kernel_sum(k), 4.0, 0);
    double cx, cy;
    ub_kernel_centroid(k, &cx, &cy);
    CHECK_NEAR(cx, (3 * 2 + 1 * 1) / 4.0, 1e-12);
    CHECK_NEAR(cy, -1 / 4.0, 1e-12);
    CHECK_OK(ctx, ub_kernel_clone(ctx, k, &c));
    CHECK(c && c->width == 5 && c->height == 3 && memcmp(c->data, k->data, 15 * sizeof(float)) == 0);
    CHECK_OK(ctx, ub_kernel_normalize(ctx, k));
    CHECK_NEAR(ub_kernel_sum(k), 1.0, 1e-7);
    CHECK_NEAR(at(k, 4, 1), 0.75, 1e-7);
    /* normalize refuses negative, non-finite and zero kernels */
    c->data[0] = -1.0f;
    CHECK(ub_kernel_normalize(ctx, c) == UB_ERR_INVALID);
    c->data[0] = NAN;
    CHECK(ub_kernel_normalize(ctx, c) == UB_ERR_INVALID);
    memset(c->data, 0, 15 * sizeof(float));
    CHECK(ub_kernel_normalize(ctx, c) == UB_ERR_INVALID);
    CHECK(strstr(ub_last_error(ctx), "sum") != NULL);
    ub_kernel_centroid(c, &cx, &cy); /* zero kernel: centred by convention */
    CHECK(cx == 0.0 && cy == 0.0);
    ub_kernel_destroy(&k);
    ub_kernel_destroy(&c);
    CHECK(k == NULL);
    ub_kernel_destroy(&k); /* NULL is accepted */
    CHECK_OK(ctx, ub_kernel_delta(ctx, &k));
    CHECK(k->width == 1 && k->height == 1 && k->data[0] == 1.0f);
    ub_kernel_destroy(&k);
    ub_ctx_destroy(&ctx);
}

static void test_gaussian(void) {
    ub_ctx *ctx = test_ctx(1);
    const double sigmas[] = {0.05, 0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 3.0, 5.0, 7.3, 10.0, 20.0, 50.0};
    for (size_t i = 0; i < sizeof sigmas / sizeof *sigmas; i++) {
        const double s = sigmas[i];
        ub_kernel *k;
        CHECK_OK(ctx, ub_kernel_gaussian(ctx, s, &k));
        const int size = 2 * (int)ceil(3 * s) + 1;
        CHECK_MSG(k->width == size && k->height == size, "sigma %g: %dx%d, want %d", s, k->width, k->height, size);
        CHECK_NEAR(ub_kernel_sum(k), 1.0, 1e-6);
        CHECK(all_non_negative(k));
        double mxx, myy, cx, cy;
        second_moments(k, &mxx, &myy);
        CHECK_MSG(fabs(mxx / (s * s) - 1) < 0.02 && fabs(myy / (s * s) - 1) < 0.02, "sigma %g: moments %g %g", s,
                  mxx, myy);
        CHECK_MSG(fabs(mxx / (s * s) - 1) < 1e-4, "sigma %g: moment %.9g (solved width should be exact)", s, mxx);
        ub_kernel_centroid(k, &cx, &cy);
        CHECK(fabs(cx) < 1e-6 && fabs(cy) < 1e-6);
        /* separable and symmetric: the transpose is the same kernel */
        int symmetric = 1;
        for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++) symmetric &= at(k, x, y) == at(k, y, x);
        CHECK(symmetric);
        ub_kernel_destroy(&k);
    }
    ub_kernel *k = NULL;
    CHECK_OK(ctx, ub_kernel_gaussian(ctx, 0.0, &k));
    CHECK(k && k->width == 1 && k->data[0] == 1.0f);
    ub_kernel_destroy(&k);
    CHECK(ub_kernel_gaussian(ctx, -1.0, &k) == UB_ERR_INVALID && !k);
    CHECK(ub_kernel_gaussian(ctx, NAN, &k) == UB_ERR_INVALID && !k);
    CHECK(ub_kernel_gaussian(ctx, 200.0, &k) == UB_ERR_LIMIT && !k);
    ub_ctx_destroy(&ctx);
}

/* 2 sqrt(area / pi), area = sum of coverage / max coverage */
static double equivalent_diameter(const ub_kernel *k) {
    return 2.0 * sqrt(ub_kernel_sum(k) / kernel_max(k) / PI);
}

/* Normalised coverage at offset (dx, dy) from the centre, nearest pixel. */
static double coverage_at(const ub_kernel *k, double dx, double dy) {
    const int x = (int)lround(k->width / 2 + dx), y = (int)lround(k->height / 2 + dy);
    if (x < 0 || y < 0 || x >= k->width || y >= k->height) return 0.0;
    return at(k, x, y) / kernel_max(k);
}

/* Checks shared by every aperture kernel; also that it equals its plain twin. */
static void check_aperture(ub_ctx *ctx, const ub_kernel *k, double d, int blades, double rotation) {
    CHECK_NEAR(ub_kernel_sum(k), 1.0, 1e-6);
    CHECK(all_non_negative(k));
    double cx, cy;
    ub_kernel_centroid(k, &cx, &cy);
    CHECK_MSG(fabs(cx) < 1e-3 && fabs(cy) < 1e-3, "d %g blades %d: centroid %g %g", d, blades, cx, cy);
    const double eq = equivalent_diameter(k);
    CHECK_MSG(fabs(eq / d - 1) < 0.02, "d %g blades %d rot %g: equivalent diameter %g", d, blades, rotation, eq);
    /* smallest odd size: the outermost ring holds some coverage */
    double ring = 0;
    for (int i = 0; i < k->width; i++)
        ring += at(k, i, 0) + at(k, i, k->height - 1) + at(k, 0, i) + at(k, k->width - 1, i);
    CHECK_MSG(ring > 0, "d %g blades %d: %dx%d is larger than needed", d, blades, k->width, k->height);
    if (d >= 5) /* some pixel is wholly inside, so max = 1/area: the area is exact */
        CHECK_MSG(fabs(eq / d - 1) < 1e-5, "d %g blades %d rot %g: equivalent diameter %.9g", d, blades, rotation, eq);
    /* the plain twin: exact geometry for every pixel */
    ub_kernel *ref;
    CHECK_OK(ctx, ub__kernel_aperture_ref(ctx, d, blades, rotation, &ref));
    CHECK(ref->width == k->width && ref->height == k->height);
    double diff = 0;
    for (int i = 0; i < k->width * k->height && ref->width == k->width; i++)
        diff = fmax(diff, fabs(ref->data[i] - k->data[i]));
    CHECK_MSG(diff <= 1e-6 * kernel_max(k), "d %g blades %d: fast and plain differ by %g", d, blades, diff);
    ub_kernel_destroy(&ref);
    /* an independent estimate: 16x16 point samples per pixel of the documented shape
       (the polygon may have been moved by a few hundredths of a pixel to centre it) */
    const int S = 16, c = k->width / 2;
    const double n = blades, rc = blades < 3 ? d / 2 : d / 2 * sqrt(2 * PI / (n * sin(2 * PI / n)));
    double worst = 0;
    for (int y = 0; y < k->height; y++)
        for (int x = 0; x < k->width; x++) {
            int inside = 0;
            for (int j = 0; j < S; j++)
                for (int i = 0; i < S; i++) {
                    const double px = x - c - 0.5 + (i + 0.5) / S, py = y - c - 0.5 + (j + 0.5) / S;
                    int in = 1;
                    if (blades < 3) in = px * px + py * py <= rc * rc;
                    else
                        for (int e = 0; e < blades; e++) {
                            const double phi = rotation + PI / n + 2 * PI * e / n;
                            in &= px * cos(phi) + py * sin(phi) <= rc * cos(PI / n);
                        }
                    inside += in;
                }
            worst = fmax(worst, fabs(inside / (double)(S * S) - at(k, x, y) / kernel_max(k)));
        }
    CHECK_MSG(worst < (blades < 3 ? 0.04 : 0.07), "d %g blades %d rot %g: coverage differs from sampling by %g",
              d, blades, rotation, worst);
}

static void test_aperture_disc(void) {
    ub_ctx *ctx = test_ctx(1);
    const double diameters[] = {5.0, 6.3, 7.5, 10.0, 21.0, 40.3, 101.0};
    for (size_t i = 0; i < sizeof diameters / sizeof *diameters; i++) {
        const double d = diameters[i];
        ub_kernel *k;
        CHECK_OK(ctx, ub_kernel_aperture(ctx, d, 0, 0.0, &k));
        const int size = 2 * ((int)ceil(d / 2 + 0.5) - 1) + 1;
        CHECK_MSG(k->width == size && k->height == size, "d %g: %dx%d, want %d", d, k->width, k->height, size);
        check_aperture(ctx, k, d, 0, 0.0);
        /* round: the same reach along an axis and a diagonal (within a pixel) */
        const double r = d / 2 - 1.0;
        CHECK(coverage_at(k, r, 0) > 0.5 && coverage_at(k, r / sqrt(2), r / sqrt(2)) > 0.5);
        CHECK(coverage_at(k, r + 2.75, 0) == 0 && coverage_at(k, (r + 2.75) / sqrt(2), (r + 2.75) / sqrt(2)) == 0);
        ub_kernel_destroy(&k);
    }
    /* tiny diameters: (nearly) a delta */
    ub_kernel *k;
    CHECK_OK(ctx, ub_kernel_aperture(ctx, 1.0, 0, 0.0, &k));
    CHECK(k->width == 1 && k->data[0] == 1.0f);
    ub_kernel_destroy(&k);
    CHECK_OK(ctx, ub_kernel_aperture(ctx, 0.0, 6, 0.0, &k));
    CHECK(k->width == 1 && k->data[0] == 1.0f);
    ub_kernel_destroy(&k);
    CHECK_OK(ctx, ub_kernel_aperture(ctx, 1.2, 0, 0.0, &k));
    CHECK(k->width == 3 && at(k, 1, 1) > 0.8f);
    ub_kernel_destroy(&k);
    /* errors */
    k = NULL;
    CHECK(ub_kernel_aperture(ctx, -2.0, 0, 0.0, &k) == UB_ERR_INVALID && !k);
    CHECK(ub_kernel_aperture(ctx, NAN, 0, 0.0, &k) == UB_ERR_INVALID && !k);
    CHECK(ub_kernel_aperture(ctx, 5.0, 0, INFINITY, &k) == UB_ERR_INVALID && !k);
    CHECK(ub_kernel_aperture(ctx, 5.0, 65, 0.0, &k) == UB_ERR_INVALID && !k);
    CHECK(ub_kernel_aperture(ctx, 2000.0, 0, 0.0, &k) == UB_ERR_LIMIT && !k);
    ub_ctx_destroy(&ctx);
}

static void test_aperture_polygon(void) {
    ub_ctx *ctx = test_ctx(1);
    const double d = 41.0, rotations[] = {0.0, 0.3, -1.1};
    for (int blades = 3; blades <= 9; blades++)
        for (size_t j = 0; j < sizeof rotations / sizeof *rotations; j++) {
            const double rot = rotations[j], n = blades;
            ub_kernel *k;
            CHECK_OK(ctx, ub_kernel_aperture(ctx, d, blades, rot, &k));
            check_aperture(ctx, k, d, blades, rot);
            /* a polygon, not a disc: it reaches further towards a vertex than across an edge
               (the centring move may spread a few hundredths of a pixel's mass one pixel further) */
            const double rc = d / 2 * sqrt(2 * PI / (n * sin(2 * PI / n))), apothem = rc * cos(PI / n);
            const double edge = rot + PI / n;
            CHECK_MSG(coverage_at(k, (rc - 1.5) * cos(rot), (rc - 1.5) * sin(rot)) > 0.4, "blades %d rot %g: vertex",
                      blades, rot);
            CHECK_MSG(coverage_at(k, (apothem + 1.5) * cos(edge), (apothem + 1.5) * sin(edge)) < 0.05,
                      "blades %d rot %g: edge", blades, rot);
            CHECK(coverage_at(k, (apothem - 1.5) * cos(edge), (apothem - 1.5) * sin(edge)) > 0.95);
            /* with few blades the disc of the same area would fail the vertex check */
            if (blades <= 5) CHECK(rc - 1.5 > d / 2 + 1.0);
            ub_kernel_destroy(&k);
        }
    /* the shape at small sizes keeps its area too */
    for (int blades = 5; blades <= 9; blades++) {
        ub_kernel *k;
        CHECK_OK(ctx, ub_kernel_aperture(ctx, 7.0, blades, 0.2, &k));
        check_aperture(ctx, k, 7.0, blades, 0.2);
        ub_kernel_destroy(&k);
    }
    ub_ctx_destroy(&ctx);
}

/* ---- files ---- */

static void check_round_trip(ub_ctx *ctx, const ub_kernel *k, const char *path) {
    ub_kernel *back = NULL;
    CHECK_OK(ctx, ub_kernel_write(ctx, k, path));
    CHECK_OK(ctx, ub_kernel_read(ctx, path, &back));
    if (!back) return;
    CHECK(back->width == k->width && back->height == k->height);
    CHECK_NEAR(ub_kernel_sum(back), 1.0, 1e-6);
    const float peak = kernel_max(k);
    double worst = 0;
    for (int i = 0; i < k->width * k->height; i++) {
        const double e = fabs((double)back->data[i] - k->data[i]);
        worst = e > worst ? e : worst;
    }
    CHECK_MSG(worst <= peak / 65535.0, "%s: worst difference %g, max %g (1/65535 of max = %g)", path, worst,
              (double)peak, peak / 65535.0);
    ub_kernel_destroy(&back);
}

static void test_files(void) {
    ub_ctx *ctx = test_ctx(1);
    const char *dir = test_tmpdir("kernel");
    char path[600];
    ub_kernel *k;
    /* a shake kernel (sparse, sub-pixel), a Gaussian, a polygon */
    ub_rng rng;
    ub_rng_seed(&rng, 7);
    ub_shake_params p;
    ub_shake_default(&p);
    p.length = 31;
    ub_trajectory *t;
    CHECK_OK(ctx, ub_trajectory_shake(ctx, &rng, &p, &t));
    CHECK_OK(ctx, ub_kernel_from_trajectory(ctx, t, 0, &k));
    ub_trajectory_destroy(&t);
    snprintf(path, sizeof path, "%s/shake.png", dir);
    check_round_trip(ctx, k, path);
    ub_kernel_destroy(&k);
    CHECK_OK(ctx, ub_kernel_gaussian(ctx, 4.0, &k));
    snprintf(path, sizeof path, "%s/gauss.png", dir);
    check_round_trip(ctx, k, path);
    ub_kernel_destroy(&k);
    CHECK_OK(ctx, ub_kernel_aperture(ctx, 15.0, 7, 0.1, &k));
    snprintf(path, sizeof path, "%s/aperture", dir); /* no extension: still a PNG */
    check_round_trip(ctx, k, path);
    ub_image *img;
    CHECK_OK(ctx, ub_image_read(ctx, path, &img));
    CHECK(img->channels == 1 && img->bit_depth == 16);
    float top = 0;
    for (int i = 0; i < k->width * k->height; i++) top = img->data[i] > top ? img->data[i] : top;
    CHECK(top == 1.0f); /* scaled so its maximum is 65535 */
    ub_image_destroy(&img);

    /* writing: refused for JPEG names, zero and negative kernels; the message names the file */
    snprintf(path, sizeof path, "%s/k.jpg", dir);
    CHECK(ub_kernel_write(ctx, k, path) == UB_ERR_INVALID && strstr(ub_last_error(ctx), path));
    snprintf(path, sizeof path, "%s/zero.png", dir);
    memset(k->data, 0, sizeof(float) * k->width * k->height);
    CHECK(ub_kernel_write(ctx, k, path) == UB_ERR_INVALID && strstr(ub_last_error(ctx), path));
    k->data[0] = -1;
    CHECK(ub_kernel_write(ctx, k, path) == UB_ERR_INVALID && strstr(ub_last_error(ctx), path));
    ub_kernel_destroy(&k);

    /* a colour kernel file: the mean of the colour channels */
    CHECK_OK(ctx, ub_image_create(ctx, &img, 3, 3, 3));
    ub_image_plane(img, 0)[4] = 1.0f; /* centre: (1, 0.5, 0) -> 0.5 */
    ub_image_plane(img, 1)[4] = 0.5f;
    ub_image_plane(img, 2)[1] = 1.0f; /* top: (0, 0, 1) -> 1/3 */
    snprintf(path, sizeof path, "%s/colour.png", dir);
    CHECK_OK(ctx, ub_image_write(ctx, img, path, NULL));
    ub_image_destroy(&img);
    CHECK_OK(ctx, ub_kernel_read(ctx, path, &k));
    if (k) {
        const double v4 = (1.0 + 128.0 / 255.0) / 3.0, v1 = 1.0 / 3.0; /* 0.5 is stored as 128/255 */
        CHECK_NEAR(k->data[4], v4 / (v4 + v1), 1e-6);
        CHECK_NEAR(k->data[1], v1 / (v4 + v1), 1e-6);
        ub_kernel_destroy(&k);
    }

    /* reading: even sizes, all-zero images, corrupt and missing files; the message names the file */
    CHECK_OK(ctx, ub_image_create(ctx, &img, 4, 3, 1));
    img->data[5] = 1.0f;
    snprintf(path, sizeof path, "%s/even.png", dir);
    CHECK_OK(ctx, ub_image_write(ctx, img, path, NULL));
    ub_image_destroy(&img);
    k = NULL;
    CHECK(ub_kernel_read(ctx, path, &k) == UB_ERR_INVALID && !k);
    CHECK_MSG(strstr(ub_last_error(ctx), path) && strstr(ub_last_error(ctx), "odd"), "%s", ub_last_error(ctx));
    CHECK_OK(ctx, ub_image_create(ctx, &img, 5, 5, 1));
    snprintf(path, sizeof path, "%s/black.png", dir);
    CHECK_OK(ctx, ub_image_write(ctx, img, path, NULL));
    ub_image_destroy(&img);
    CHECK(ub_kernel_read(ctx, path, &k) == UB_ERR_INVALID && !k);
    CHECK_MSG(strstr(ub_last_error(ctx), path) && strstr(ub_last_error(ctx), "zero"), "%s", ub_last_error(ctx));
    snprintf(path, sizeof path, "%s/garbage.png", dir);
    FILE *fp = fopen(path, "wb");
    if (fp) {
        fputs("this is not an image at all", fp);
        fclose(fp);
    }
    CHECK(ub_kernel_read(ctx, path, &k) != UB_OK && !k);
    CHECK_MSG(strstr(ub_last_error(ctx), path) != NULL, "%s", ub_last_error(ctx));
    snprintf(path, sizeof path, "%s/missing.png", dir);
    CHECK(ub_kernel_read(ctx, path, &k) == UB_ERR_IO && !k);
    CHECK_MSG(strstr(ub_last_error(ctx), path) != NULL, "%s", ub_last_error(ctx));
    ub_ctx_destroy(&ctx);
    const char *made[] = {"shake.png", "gauss.png", "aperture", "colour.png", "even.png", "black.png", "garbage.png"};
    for (size_t i = 0; i < sizeof made / sizeof *made; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, made[i]);
        remove(path);
    }
    CHECK_MSG(rmdir(dir) == 0, "%s: left files behind (a failed write leaves no temporary file)", dir);
}

/* ub_kernel_correlation: 1 for the same shape at any offset and size of frame, less for another shape, 0 for
   an empty kernel. */
static void test_correlation(void) {
    ub_ctx *ctx = test_ctx(1);
    ub_kernel *line = NULL, *moved = NULL, *delta = NULL, *zero = NULL;
    CHECK_OK(ctx, ub_kernel_create(ctx, 7, 7, &line));
    CHECK_OK(ctx, ub_kernel_create(ctx, 11, 9, &moved));
    CHECK_OK(ctx, ub_kernel_delta(ctx, &delta));
    CHECK_OK(ctx, ub_kernel_create(ctx, 3, 3, &zero));
    if (line && moved && delta && zero) {
        for (int x = 1; x < 6; x++) line->data[3 * 7 + x] = 1.0f, moved->data[2 * 11 + x + 4] = 2.0f;
        CHECK(fabs(ub_kernel_correlation(line, line) - 1) < 1e-12);
        CHECK(fabs(ub_kernel_correlation(line, moved) - 1) < 1e-12);
        CHECK(fabs(ub_kernel_correlation(moved, line) - 1) < 1e-12);
        CHECK(fabs(ub_kernel_correlation(line, delta) - 1 / sqrt(5.0)) < 1e-12);
        CHECK(ub_kernel_correlation(line, zero) == 0);
    }
    ub_kernel_destroy(&line), ub_kernel_destroy(&moved), ub_kernel_destroy(&delta), ub_kernel_destroy(&zero);
    ub_ctx_destroy(&ctx);
}

int main(void) {
    test_type();
    test_correlation();
    test_gaussian();
    test_aperture_disc();
    test_aperture_polygon();
    test_files();
    return test_finish("test_kernel");
}
