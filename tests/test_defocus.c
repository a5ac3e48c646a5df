/* tests/test_defocus.c — depth maps and depth-of-field blur: the thin-lens CoC
   against hand-computed values; defocus of a uniform depth against a plain
   convolution with the aperture; the measured size of a defocused point; a
   plane in focus left unchanged; occlusion both ways (a sharp foreground over
   a blurred background, a blurred foreground over a sharp background); thread
   invariance; the push-pull fill; reading millimetre and disparity maps
   (synthetic files, and real ones from ../shared/data when present); errors. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "synth/internal.h"
#include "testutil.h"

/* f = 50 mm, f/8, focused at 2 m, 5 um pixels: CoC(d) = 32.05 |d - 2| / d px (see test_coc_formula). */
static ub_lens test_lens(void) {
    ub_lens lens = {.focal_mm = 50, .f_number = 8, .focus_m = 2, .pixel_pitch_um = 5, .blades = 0,
                    .blade_rotation = 0};
    return lens;
}

static ub_image *constant_depth(ub_ctx *ctx, int64_t w, int64_t h, float d) {
    ub_image *img;
    if (ub_image_create(ctx, &img, w, h, 1) != UB_OK) exit(1);
    for (int64_t i = 0; i < w * h; i++) img->data[i] = d;
    return img;
}

static double max_abs_diff(const float *a, const float *b, int64_t n) {
    double worst = 0;
    for (int64_t i = 0; i < n; i++) {
        const double e = fabs((double)a[i] - (double)b[i]);
        worst = e > worst ? e : worst;
    }
    return worst;
}

static double psnr_colour(const ub_image *a, const ub_image *b) {
    const int64_t n = a->width * a->height;
    double sse = 0;
    for (int c = 0; c < ub_image_colour_channels(a); c++)
        for (int64_t i = 0; i < n; i++) {
            const double e = (double)ub_image_plane(a, c)[i] - (double)ub_image_plane(b, c)[i];
            sse += e * e;
        }
    const double mse = sse / ((double)n * ub_image_colour_channels(a));
    return mse > 0 ? 10 * log10(1 / mse) : INFINITY;
}

/* ---- circle of confusion ---- */

static void test_coc_formula(void) {
    ub_lens lens = {.focal_mm = 50, .f_number = 2, .focus_m = 2, .pixel_pitch_um = 5};
    /* By hand: f = 0.05 m, A = f/N = 0.025 m, d_f = 2 m, d = 4 m:
         c = A f |d - d_f| / (d (d_f - f)) = 0.025 * 0.05 * 2 / (4 * 1.95) = 0.0025 / 7.8
           = 3.2051282e-4 m = 320.51282 um = 64.102564 px at 5 um. */
    CHECK_NEAR(ub_coc_diameter_px(&lens, 4.0), 64.102564, 1e-5);
    /* d = 1 m: 0.025 * 0.05 * 1 / (1 * 1.95) = 6.4102564e-4 m = 128.20513 px; the same as at infinity
       (c -> A f / (d_f - f) = 0.00125 / 1.95 m): a lens focused at 2 m blurs 1 m and infinity alike. */
    CHECK_NEAR(ub_coc_diameter_px(&lens, 1.0), 128.20513, 1e-4);
    CHECK_NEAR(ub_coc_diameter_px(&lens, 1e12), 128.20513, 1e-4);
    CHECK(ub_coc_diameter_px(&lens, 2.0) == 0.0);
    /* f/8, 2.5 um pixels: a quarter of the aperture, twice the pixels -> half: 32.051282 px at 4 m */
    lens.f_number = 8, lens.pixel_pitch_um = 2.5;
    CHECK_NEAR(ub_coc_diameter_px(&lens, 4.0), 32.051282, 1e-5);
    /* invalid: d <= 0, NaN, focus at or inside the focal length, no aperture, no lens */
    CHECK(ub_coc_diameter_px(&lens, 0.0) == 0.0);
    CHECK(ub_coc_diameter_px(&lens, -3.0) == 0.0);
    CHECK(ub_coc_diameter_px(&lens, NAN) == 0.0);
    lens.focus_m = 0.05;
    CHECK(ub_coc_diameter_px(&lens, 4.0) == 0.0);
    lens.focus_m = 2, lens.f_number = 0;
    CHECK(ub_coc_diameter_px(&lens, 4.0) == 0.0);
    CHECK(ub_coc_diameter_px(NULL, 4.0) == 0.0);
}

/* ---- defocus ---- */

/* A plane at the focus distance comes out unchanged; so does a plane whose CoC stays under a
   pixel, although its pixels are shared between three layers (the exact-recomposition case). */
static void test_focus_plane_sharp(void) {
    ub_ctx *ctx = test_ctx(2);
    const ub_lens lens = test_lens();
    ub_image *img = test_image(ctx, 96, 80, 4, 3), *out;
    ub_image *depth = constant_depth(ctx, 96, 80, 2.0f);
    CHECK_OK(ctx, ub_defocus(ctx, img, depth, &lens, &out));
    const double psnr = psnr_colour(img, out);
    CHECK_MSG(psnr > 50, "PSNR %.2f dB", psnr);
    CHECK(memcmp(ub_image_plane(img, 3), ub_image_plane(out, 3), 96 * 80 * sizeof(float)) == 0); /* alpha */
    ub_image_destroy(&out);
    ub_image_destroy(&depth);
    /* 1.95 .. 2.05 m: CoC from -0.82 to +0.78 px -> layers at -1, 0, +1 px, none blurred */
    CHECK_OK(ctx, ub_depth_plane(ctx, 96, 80, 1.95, 2.05, &depth));
    CHECK_OK(ctx, ub_defocus(ctx, img, depth, &lens, &out));
    const double psnr2 = psnr_colour(img, out);
    CHECK_MSG(psnr2 > 50, "tilted plane near focus: PSNR %.2f dB", psnr2);
    ub_image_destroy(&out);
    ub_image_destroy(&depth);
    ub_image_destroy(&img);
    ub_ctx_destroy(&ctx);
}

/* A uniform depth is one layer, opaque everywhere: exactly a convolution with the aperture. */
static void test_uniform_is_convolution(void) {
    ub_ctx *ctx = test_ctx(2);
    ub_lens lens = test_lens();
    lens.blades = 6, lens.blade_rotation = 0.3;
    ub_image *img = test_image(ctx, 70, 50, 3, 5), *out, *ref;
    ub_image *depth = constant_depth(ctx, 70, 50, 3.5f);
    CHECK_OK(ctx, ub_defocus(ctx, img, depth, &lens, &out));
    ub_kernel *k;
    CHECK_OK(ctx, ub_kernel_aperture(ctx, ub_coc_diameter_px(&lens, 3.5f), 6, 0.3, &k));
    CHECK_OK(ctx, ub_convolve(ctx, img, k, UB_BORDER_REFLECT, &ref));
    const double e = max_abs_diff(out->data, ref->data, 70 * 50 * 3);
    CHECK_MSG(e < 1e-5, "defocus vs convolution: max difference %g", e);
    CHECK(max_abs_diff(out->data, img->data, 70 * 50 * 3) > 0.05); /* and it did blur */
    ub_kernel_destroy(&k);
    ub_image_destroy(&ref);
    ub_image_destroy(&out);
    ub_image_destroy(&depth);
    ub_image_destroy(&img);
    ub_ctx_destroy(&ctx);
}

/* A point at depth d spreads into a disc of diameter CoC(d). Estimator: a uniform disc of
   diameter D has a flat top of height peak = sum / area, so area = sum / peak and
   D = 2 sqrt(area / pi). Anti-aliasing only redistributes mass along the rim, so the
   estimate does not depend on how the rim is drawn, and it is sub-pixel — a half-maximum
   extent, by contrast, moves in whole pixels (a 10% tolerance is one pixel at 10 px). */
static void test_point_spread(void) {
    ub_ctx *ctx = test_ctx(2);
    const ub_lens lens = test_lens();
    const int size = 81;
    const double depths[] = {3.0, 4.0, 1.2}; /* CoC 10.7, 16.0 (behind), 21.4 px (in front) */
    for (size_t i = 0; i < sizeof depths / sizeof *depths; i++) {
        ub_image *img, *out;
        CHECK_OK(ctx, ub_image_create(ctx, &img, size, size, 1));
        img->data[(size / 2) * size + size / 2] = 1.0f;
        ub_image *depth = constant_depth(ctx, size, size, (float)depths[i]);
        CHECK_OK(ctx, ub_defocus(ctx, img, depth, &lens, &out));
        double sum = 0, peak = 0;
        for (int j = 0; j < size * size; j++) {
            sum += out->data[j];
            peak = out->data[j] > peak ? out->data[j] : peak;
        }
        const double expected = ub_coc_diameter_px(&lens, depths[i]);
        const double measured = 2 * sqrt(sum / peak / 3.14159265358979);
        CHECK_MSG(expected > 8 && expected < 30, "depth %.1f: CoC %.2f px is outside the tested range", depths[i],
                  expected);
        CHECK_MSG(fabs(measured - expected) <= 0.1 * expected, "depth %.1f m: measured %.2f px, CoC %.2f px",
                  depths[i], measured, expected);
        CHECK_NEAR(sum, 1.0, 1e-3); /* light is conserved */
        ub_image_destroy(&out);
        ub_image_destroy(&depth);
        ub_image_destroy(&img);
    }
    ub_ctx_destroy(&ctx);
}

/* A disc of radius r at the centre: 1 inside, 0 outside. */
static int in_disc(int64_t x, int64_t y, int64_t w, int64_t h, double r) {
    const double dx = x - 0.5 * (w - 1), dy = y - 0.5 * (h - 1);
    return dx * dx + dy * dy <= r * r;
}

/* Chebyshev distance-1 neighbourhood all inside (or all outside) the disc. */
static int disc_interior(int64_t x, int64_t y, int64_t w, int64_t h, double r, int inside, int margin) {
    for (int64_t j = -margin; j <= margin; j++)
        for (int64_t i = -margin; i <= margin; i++)
            if (in_disc(x + i, y + j, w, h, r) != inside) return 0;
    return 1;
}

/* A scene: `fg` inside the disc at depth fg_m, `bg` outside at bg_m, except the bottom
   STRIP rows at strip_m (when not 0): a third depth, so that the layers span both sides. */
enum { STRIP = 10 };
static void make_scene(ub_ctx *ctx, const ub_image *fg, const ub_image *bg, double r, float fg_m, float bg_m,
                       float strip_m, ub_image **scene, ub_image **depth) {
    const int64_t w = bg->width, h = bg->height;
    if (ub_image_clone(ctx, bg, scene) != UB_OK || ub_image_create(ctx, depth, w, h, 1) != UB_OK) exit(1);
    for (int64_t y = 0; y < h; y++)
        for (int64_t x = 0; x < w; x++) {
            const int f = in_disc(x, y, w, h, r);
            (*depth)->data[y * w + x] = f ? fg_m : strip_m > 0 && y >= h - STRIP ? strip_m : bg_m;
            for (int c = 0; c < bg->channels; c++)
                if (f) ub_image_plane(*scene, c)[y * w + x] = ub_image_plane(fg, c)[y * w + x];
        }
}

/* A sharp foreground (at the focus distance) over a far, blurred background: no pixel of the
   foreground more than 1 px inside its edge changes, and the background is blurred without
   a dark halo or a bright fringe of foreground colour around the object. A blurred strip in
   front (1.2 m, out of the disc's reach) makes the layers straddle the focus plane. */
static void test_sharp_foreground(void) {
    ub_ctx *ctx = test_ctx(2);
    const ub_lens lens = test_lens(); /* background at 10 m: CoC 25.6 px */
    const int64_t w = 128, h = 96;
    const double r = 24;
    ub_image *fg = test_image(ctx, w, h, 3, 11), *bg = test_image(ctx, w, h, 3, 12), *scene, *depth, *out;
    make_scene(ctx, fg, bg, r, 2.0f, 10.0f, 1.2f, &scene, &depth);
    CHECK_OK(ctx, ub_defocus(ctx, scene, depth, &lens, &out));
    double worst_inside = 0, bg_change = 0;
    int64_t bg_count = 0;
    for (int c = 0; c < 3; c++)
        for (int64_t y = 0; y < h; y++)
            for (int64_t x = 0; x < w; x++) {
                const int64_t i = y * w + x;
                const double e = fabs(ub_image_plane(out, c)[i] - ub_image_plane(scene, c)[i]);
                if (disc_interior(x, y, w, h, r, 1, 1)) worst_inside = e > worst_inside ? e : worst_inside;
                if (!in_disc(x, y, w, h, r + 30) && y < h - STRIP) bg_change += e, bg_count++;
            }
    CHECK_MSG(worst_inside <= 1e-4, "foreground changed by %g more than 1 px inside its edge", worst_inside);
    CHECK_MSG(bg_change / (double)bg_count > 0.01, "background barely blurred: mean change %g",
              bg_change / (double)bg_count);
    ub_image_destroy(&out);
    ub_image_destroy(&scene);
    ub_image_destroy(&depth);

    /* A flat grey background: blurred, it must stay exactly grey up to the object's edge — darker
       would be the halo of a missing background, a tint would be foreground colour leaking. */
    for (int64_t i = 0; i < w * h * 3; i++) bg->data[i] = 0.5f;
    make_scene(ctx, fg, bg, r, 2.0f, 10.0f, 1.2f, &scene, &depth);
    CHECK_OK(ctx, ub_defocus(ctx, scene, depth, &lens, &out));
    double worst_bg = 0;
    for (int c = 0; c < 3; c++)
        for (int64_t y = 0; y < h; y++)
            for (int64_t x = 0; x < w; x++)
                if (!in_disc(x, y, w, h, r)) {
                    const double e = fabs(ub_image_plane(out, c)[y * w + x] - 0.5);
                    worst_bg = e > worst_bg ? e : worst_bg;
                }
    CHECK_MSG(worst_bg <= 1e-3, "grey background around a sharp object off by %g (halo or fringe)", worst_bg);
    ub_image_destroy(&out);
    ub_image_destroy(&scene);
    ub_image_destroy(&depth);
    ub_image_destroy(&fg);
    ub_image_destroy(&bg);
    ub_ctx_destroy(&ctx);
}

/* A blurred foreground (1 m: CoC 32 px) over a background in focus: the foreground spills over
   the background next to its edge, the background beyond the blur's reach is unchanged, and the
   foreground's centre (farther from its edge than the blur radius) keeps its colour. */
static void test_blurred_foreground(void) {
    ub_ctx *ctx = test_ctx(2);
    const ub_lens lens = test_lens();
    const int64_t w = 128, h = 112;
    const double r = 28, reach = 0.5 * ub_coc_diameter_px(&lens, 1.0) + 1.5;
    ub_image *fg, *bg = test_image(ctx, w, h, 3, 21), *scene, *depth, *out;
    CHECK_OK(ctx, ub_image_create(ctx, &fg, w, h, 3));
    for (int64_t i = 0; i < w * h * 3; i++) fg->data[i] = 0.95f;
    make_scene(ctx, fg, bg, r, 1.0f, 2.0f, 0.0f, &scene, &depth);
    CHECK_OK(ctx, ub_defocus(ctx, scene, depth, &lens, &out));
    double spill = 0, worst_far = 0, worst_centre = 0;
    int64_t spill_count = 0;
    for (int c = 0; c < 3; c++)
        for (int64_t y = 0; y < h; y++)
            for (int64_t x = 0; x < w; x++) {
                const int64_t i = y * w + x;
                const double e = fabs(ub_image_plane(out, c)[i] - ub_image_plane(scene, c)[i]);
                if (!in_disc(x, y, w, h, r) && in_disc(x, y, w, h, r + 3)) spill += e, spill_count++;
                if (!in_disc(x, y, w, h, r + reach)) worst_far = e > worst_far ? e : worst_far;
                if (in_disc(x, y, w, h, r - reach)) {
                    const double ec = fabs(ub_image_plane(out, c)[i] - 0.95);
                    worst_centre = ec > worst_centre ? ec : worst_centre;
                }
            }
    CHECK_MSG(spill / (double)spill_count > 0.1, "no spill next to the blurred object: mean change %g",
              spill / (double)spill_count);
    CHECK_MSG(worst_far <= 1e-5, "background beyond the blur changed by %g", worst_far);
    CHECK_MSG(worst_centre <= 1e-4, "centre of the blurred object off by %g", worst_centre);
    ub_image_destroy(&out);
    ub_image_destroy(&scene);
    ub_image_destroy(&depth);
    ub_image_destroy(&fg);
    ub_image_destroy(&bg);
    ub_ctx_destroy(&ctx);
}

/* Many layers on both sides of the focus plane: the same bits on 1, 2 and 3 threads. */
static void test_thread_invariance(void) {
    const ub_lens lens = test_lens(); /* 1 .. 8 m: CoC -32 .. +24 px, 24 layers */
    ub_image *first = NULL;
    for (int threads = 1; threads <= 3; threads++) {
        ub_ctx *ctx = test_ctx(threads);
        ub_image *img = test_image(ctx, 90, 70, 3, 31), *depth, *out;
        CHECK_OK(ctx, ub_depth_plane(ctx, 90, 70, 1.0, 8.0, &depth));
        CHECK_OK(ctx, ub_defocus(ctx, img, depth, &lens, &out));
        if (!first) first = out, out = NULL;
        else CHECK_MSG(memcmp(first->data, out->data, 90 * 70 * 3 * sizeof(float)) == 0, "threads %d differ", threads);
        ub_image_destroy(&out);
        ub_image_destroy(&depth);
        ub_image_destroy(&img);
        ub_ctx_destroy(&ctx);
    }
    ub_image_destroy(&first);
}

static int progress_stop(void *user, double fraction, const char *label) {
    (void)label;
    *(double *)user = fraction;
    return fraction > 0.3;
}

static void test_defocus_errors(void) {
    ub_ctx *ctx = test_ctx(1);
    ub_lens lens = test_lens();
    ub_image *img = test_image(ctx, 20, 16, 3, 1), *depth = constant_depth(ctx, 20, 16, 3.0f), *out = NULL, *bad;
    CHECK(ub_defocus(ctx, NULL, depth, &lens, &out) == UB_ERR_INVALID && out == NULL);
    CHECK(ub_defocus(ctx, img, NULL, &lens, &out) == UB_ERR_INVALID);
    CHECK(ub_defocus(ctx, img, depth, NULL, &out) == UB_ERR_INVALID);
    CHECK(ub_defocus(ctx, img, depth, &lens, NULL) == UB_ERR_INVALID);
    bad = constant_depth(ctx, 20, 15, 3.0f);
    CHECK(ub_defocus(ctx, img, bad, &lens, &out) == UB_ERR_MISMATCH);
    ub_image_destroy(&bad);
    CHECK(ub_defocus(ctx, img, img, &lens, &out) == UB_ERR_INVALID); /* 3-channel depth */
    depth->data[37] = 0.0f;
    CHECK(ub_defocus(ctx, img, depth, &lens, &out) == UB_ERR_INVALID);
    CHECK_MSG(strstr(ub_last_error(ctx), "(17, 1)") != NULL, "%s", ub_last_error(ctx));
    depth->data[37] = NAN;
    CHECK(ub_defocus(ctx, img, depth, &lens, &out) == UB_ERR_INVALID);
    depth->data[37] = 3.0f;
    lens.focus_m = 0.04; /* inside the focal length */
    CHECK(ub_defocus(ctx, img, depth, &lens, &out) == UB_ERR_INVALID);
    lens = test_lens();
    lens.pixel_pitch_um = 0;
    CHECK(ub_defocus(ctx, img, depth, &lens, &out) == UB_ERR_INVALID);
    CHECK(out == NULL);
    ub_image_destroy(&depth);
    ub_ctx_destroy(&ctx);
    /* cancellation through the progress callback, on a scene of several layers */
    ub_settings s;
    ub_default_settings(&s);
    double seen = 0;
    s.threads = 1, s.progress = progress_stop, s.progress_user = &seen;
    CHECK(ub_ctx_create(&ctx, &s) == UB_OK);
    CHECK_OK(ctx, ub_depth_plane(ctx, 20, 16, 1.0, 8.0, &depth));
    lens = test_lens();
    CHECK(ub_defocus(ctx, img, depth, &lens, &out) == UB_ERR_CANCELLED && out == NULL);
    CHECK(seen > 0.3 && seen < 1);
    ub_image_destroy(&depth);
    ub_image_destroy(&img);
    ub_ctx_destroy(&ctx);
}

/* ---- push-pull ---- */

static void test_push_pull(void) {
    const int64_t w = 77, h = 53, n = w * h;
    float *first = malloc(sizeof(float) * 2 * n), *known = malloc(sizeof(float) * n);
    float *v[2] = {malloc(sizeof(float) * n), malloc(sizeof(float) * n)};
    for (int threads = 1; threads <= 2; threads++) {
        ub_ctx *ctx = test_ctx(threads);
        test_rng r = {5};
        for (int64_t i = 0; i < n; i++) {
            const int64_t x = i % w, y = i / w;
            const int hole = (x > 20 && x < 60 && y > 10 && y < 40) || test_rng_uniform(&r) < 0.3;
            known[i] = hole ? 0.0f : 1.0f;
            v[0][i] = hole ? NAN : 0.25f;                     /* a constant fills with itself */
            v[1][i] = hole ? -1.0f : (float)(x < 38 ? 0.1 : 0.9); /* two halves fill between them */
        }
        CHECK_OK(ctx, ub__push_pull_fill(ctx, v, 2, known, w, h));
        double worst_const = 0, lo = 1, hi = 0, worst_known = 0;
        for (int64_t i = 0; i < n; i++) {
            worst_const = fmax(worst_const, fabs(v[0][i] - 0.25));
            lo = fmin(lo, v[1][i]), hi = fmax(hi, v[1][i]);
            if (known[i] > 0) worst_known = fmax(worst_known, fabs(v[1][i] - ((i % w) < 38 ? 0.1f : 0.9f)));
        }
        CHECK_MSG(worst_const < 1e-6, "constant fill off by %g", worst_const);
        CHECK_MSG(lo >= 0.1f && hi <= 0.9f, "fill outside the known range: %g .. %g", lo, hi);
        CHECK(worst_known == 0); /* known values kept exactly */
        if (threads == 1) {
            memcpy(first, v[0], sizeof(float) * n), memcpy(first + n, v[1], sizeof(float) * n);
        } else {
            CHECK(memcmp(first, v[0], sizeof(float) * n) == 0 && memcmp(first + n, v[1], sizeof(float) * n) == 0);
        }
        /* nothing known */
        for (int64_t i = 0; i < n; i++) known[i] = 0;
        CHECK(ub__push_pull_fill(ctx, v, 2, known, w, h) == UB_ERR_INVALID);
        ub_ctx_destroy(&ctx);
    }
    free(v[0]), free(v[1]), free(first), free(known);
}

/* ---- depth maps ---- */

/* Writes a 1-channel (or `channels`) PNG of integer codes at `bits`. */
static void write_codes(ub_ctx *ctx, const char *path, const unsigned *codes, int64_t w, int64_t h, int channels,
                        int bits) {
    ub_image *img;
    if (ub_image_create(ctx, &img, w, h, channels) != UB_OK) exit(1);
    const double maxval = bits == 16 ? 65535.0 : 255.0;
    for (int c = 0; c < channels; c++)
        for (int64_t i = 0; i < w * h; i++) ub_image_plane(img, c)[i] = (float)(codes[i] / maxval);
    ub_write_options o;
    ub_default_write_options(&o);
    o.bit_depth = bits;
    CHECK_OK(ctx, ub_image_write(ctx, img, path, &o));
    ub_image_destroy(&img);
}

static int mentions(const ub_ctx *ctx, const char *path) { return strstr(ub_last_error(ctx), path) != NULL; }

static void test_depth_files(void) {
    ub_ctx *ctx = test_ctx(2);
    const char *dir = test_tmpdir("defocus");
    char mm16[600], disp8[600], disp16[600], mm8[600], rgb[600], zeros[600];
    snprintf(mm16, sizeof mm16, "%s/mm16.png", dir);
    snprintf(disp8, sizeof disp8, "%s/disp8.png", dir);
    snprintf(disp16, sizeof disp16, "%s/disp16.png", dir);
    snprintf(mm8, sizeof mm8, "%s/mm8.png", dir);
    snprintf(rgb, sizeof rgb, "%s/rgb.png", dir);
    snprintf(zeros, sizeof zeros, "%s/zeros.png", dir);
    enum { W = 40, H = 30 };
    unsigned codes[W * H];
    /* millimetres: 1000 mm left, 3000 mm right, 2345 mm in one pixel, a hole over the boundary */
    for (int i = 0; i < W * H; i++) {
        const int x = i % W, y = i / W;
        codes[i] = x < W / 2 ? 1000 : 3000;
        if (x >= 15 && x < 25 && y >= 8 && y < 20) codes[i] = 0;
    }
    codes[3] = 2345;
    write_codes(ctx, mm16, codes, W, H, 1, 16);
    ub_image *d;
    CHECK_OK(ctx, ub_depth_read(ctx, mm16, UB_DEPTH_MM16, 0, &d));
    if (d) {
        CHECK(d->width == W && d->height == H && d->channels == 1);
        CHECK_NEAR(d->data[0], 1.0, 1e-6);
        CHECK_NEAR(d->data[3], 2.345, 1e-6);
        CHECK_NEAR(d->data[W - 1], 3.0, 1e-6);
        double lo = 1e9, hi = 0;
        for (int i = 0; i < W * H; i++) lo = fmin(lo, d->data[i]), hi = fmax(hi, d->data[i]);
        CHECK_MSG(lo >= 1.0 - 1e-6 && hi <= 3.0 + 1e-6, "filled depths %g .. %g", lo, hi);
        CHECK(d->data[14 * W + 15] < d->data[14 * W + 24]); /* the fill follows the sides */
        ub_image_destroy(&d);
    }
    /* disparity, 8 bits: depth = scale / code; 0 unknown */
    for (int i = 0; i < W * H; i++) codes[i] = i < W * H / 2 ? 40 : 10;
    codes[W * H - 1] = 0;
    write_codes(ctx, disp8, codes, W, H, 1, 8);
    CHECK_OK(ctx, ub_depth_read(ctx, disp8, UB_DEPTH_DISPARITY, 80.0, &d));
    if (d) {
        CHECK_NEAR(d->data[0], 2.0, 1e-6);
        CHECK_NEAR(d->data[W * H - 2], 8.0, 1e-6);
        CHECK_NEAR(d->data[W * H - 1], 8.0, 1e-5); /* filled from its neighbours */
        ub_image_destroy(&d);
    }
    /* disparity, 16 bits */
    for (int i = 0; i < W * H; i++) codes[i] = 1000;
    write_codes(ctx, disp16, codes, W, H, 1, 16);
    CHECK_OK(ctx, ub_depth_read(ctx, disp16, UB_DEPTH_DISPARITY, 500.0, &d));
    if (d) CHECK_NEAR(d->data[7], 0.5, 1e-6);
    ub_image_destroy(&d);
    /* errors, each naming the file */
    write_codes(ctx, mm8, codes, W, H, 1, 8);
    CHECK(ub_depth_read(ctx, mm8, UB_DEPTH_MM16, 0, &d) == UB_ERR_UNSUPPORTED && d == NULL);
    CHECK_MSG(mentions(ctx, mm8) && strstr(ub_last_error(ctx), "8-bit"), "%s", ub_last_error(ctx));
    write_codes(ctx, rgb, codes, W, H, 3, 16);
    CHECK(ub_depth_read(ctx, rgb, UB_DEPTH_MM16, 0, &d) == UB_ERR_UNSUPPORTED && d == NULL);
    CHECK_MSG(mentions(ctx, rgb), "%s", ub_last_error(ctx));
    CHECK(ub_depth_read(ctx, rgb, UB_DEPTH_DISPARITY, 1.0, &d) == UB_ERR_UNSUPPORTED && mentions(ctx, rgb));
    memset(codes, 0, sizeof codes);
    write_codes(ctx, zeros, codes, W, H, 1, 16);
    CHECK(ub_depth_read(ctx, zeros, UB_DEPTH_MM16, 0, &d) == UB_ERR_FORMAT && d == NULL);
    CHECK_MSG(mentions(ctx, zeros), "%s", ub_last_error(ctx));
    CHECK(ub_depth_read(ctx, zeros, UB_DEPTH_DISPARITY, 1.0, &d) == UB_ERR_FORMAT);
    CHECK(ub_depth_read(ctx, disp16, UB_DEPTH_DISPARITY, 0.0, &d) == UB_ERR_INVALID && mentions(ctx, disp16));
    CHECK(ub_depth_read(ctx, disp16, UB_DEPTH_DISPARITY, NAN, &d) == UB_ERR_INVALID);
    CHECK(ub_depth_read(ctx, disp16, (ub_depth_kind)7, 1.0, &d) == UB_ERR_INVALID);
    char missing[620];
    snprintf(missing, sizeof missing, "%s/missing.png", dir);
    CHECK(ub_depth_read(ctx, missing, UB_DEPTH_MM16, 0, &d) != UB_OK && d == NULL);
    CHECK(ub_depth_read(ctx, NULL, UB_DEPTH_MM16, 0, &d) == UB_ERR_INVALID);
    const char *made[] = {mm16, disp8, disp16, mm8, rgb, zeros};
    for (size_t i = 0; i < sizeof made / sizeof *made; i++) remove(made[i]);
    rmdir(dir);
    ub_ctx_destroy(&ctx);
}

static void test_depth_plane(void) {
    ub_ctx *ctx = test_ctx(1);
    ub_image *d;
    CHECK_OK(ctx, ub_depth_plane(ctx, 5, 9, 1.0, 4.0, &d));
    if (d) {
        CHECK_NEAR(d->data[0], 4.0, 1e-6);           /* top row: far */
        CHECK_NEAR(d->data[8 * 5 + 4], 1.0, 1e-6);   /* bottom row: near */
        CHECK_NEAR(d->data[4 * 5 + 2], 1.6, 1e-6);   /* middle: 1 / mean(1/1, 1/4) = 1.6 (inverse depth) */
        CHECK(d->data[4 * 5] == d->data[4 * 5 + 4]); /* constant along a row */
        ub_image_destroy(&d);
    }
    CHECK(ub_depth_plane(ctx, 5, 9, 4.0, 1.0, &d) == UB_ERR_INVALID && d == NULL);
    CHECK(ub_depth_plane(ctx, 5, 9, 0.0, 1.0, &d) == UB_ERR_INVALID);
    CHECK(ub_depth_plane(ctx, 5, 9, 1.0, INFINITY, &d) == UB_ERR_INVALID);
    CHECK(ub_depth_plane(ctx, 0, 9, 1.0, 2.0, &d) != UB_OK);
    CHECK(ub_depth_plane(ctx, 5, 9, 1.0, 2.0, NULL) == UB_ERR_INVALID);
    ub_ctx_destroy(&ctx);
}

/* Real maps: NYU (millimetres, in-painted) and Open3D's (millimetres with 0 = unknown). */
static void test_real_depth(void) {
    ub_ctx *ctx = test_ctx(2);
    const char *files[] = {"nyu_depth_samples/depth_png16_mm/272.png", "rgbd_open3d_testdata/depth/00000.png"};
    for (size_t f = 0; f < sizeof files / sizeof *files; f++) {
        char buf[600];
        const char *path = test_shared_path(files[f], buf, sizeof buf);
        if (!path) continue;
        ub_image *d;
        CHECK_OK(ctx, ub_depth_read(ctx, path, UB_DEPTH_MM16, 0, &d));
        if (!d) continue;
        double lo = 1e9, hi = 0;
        for (int64_t i = 0; i < d->width * d->height; i++) lo = fmin(lo, d->data[i]), hi = fmax(hi, d->data[i]);
        printf("%s: %lldx%lld, %.3f .. %.3f m\n", files[f], (long long)d->width, (long long)d->height, lo, hi);
        CHECK_MSG(lo >= 0.3 && hi <= 10.0 && lo < hi, "%s: depths %g .. %g m", path, lo, hi);
        ub_image_destroy(&d);
    }
    ub_ctx_destroy(&ctx);
}

int main(void) {
    test_coc_formula();
    test_focus_plane_sharp();
    test_uniform_is_convolution();
    test_point_spread();
    test_sharp_foreground();
    test_blurred_foreground();
    test_thread_invariance();
    test_defocus_errors();
    test_push_pull();
    test_depth_files();
    test_depth_plane();
    test_real_depth();
    return test_finish("test_defocus");
}
