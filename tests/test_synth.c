/* tests/test_synth.c — the synthesis pipeline: configs and their errors,
   presets, determinism over runs and thread counts, crops equal to the
   matching region of a whole-image sample, the drawn trajectory lengths
   following the configured distribution, what each preset does, and the 3-D scene (parallax, several
   moving objects). */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static int same_image(const ub_image *a, const ub_image *b) {
    return a && b && a->width == b->width && a->height == b->height && a->channels == b->channels &&
           memcmp(a->data, b->data, sizeof(float) * (size_t)(a->width * a->height * a->channels)) == 0;
}

static void expect_config_error(ub_ctx *ctx, const char *json, const char *words) {
    ub_synth *s = (ub_synth *)1;
    ub_status st = ub_synth_create_json(ctx, json, "c.json", &s);
    CHECK_MSG(st == UB_ERR_INVALID && s == NULL, "config %s was accepted", json);
    CHECK_MSG(strstr(ub_last_error(ctx), "c.json: ") == ub_last_error(ctx), "'%s' does not name the file",
              ub_last_error(ctx));
    CHECK_MSG(strstr(ub_last_error(ctx), words), "'%s' lacks '%s'", ub_last_error(ctx), words);
}

static void test_configs(void) {
    ub_ctx *ctx = test_ctx(1);
    const char *presets[] = {"gaussian", "linear", "shake", "realistic", "camera"};
    for (int i = 0; i < 5; i++) {
        ub_synth *s = NULL;
        CHECK_OK(ctx, ub_synth_create_preset(ctx, presets[i], &s));
        ub_synth_destroy(&s);
        CHECK(s == NULL);
    }
    ub_synth *s = NULL;
    CHECK(ub_synth_create_preset(ctx, "blurry", &s) == UB_ERR_INVALID && strstr(ub_last_error(ctx), "realistic"));
    CHECK_OK(ctx, ub_synth_create_json(ctx, "{\"preset\": \"shake\", \"sensor\": {\"jpeg\": {\"p\": 0}}}", "c.json", &s));
    ub_synth_destroy(&s);
    CHECK_OK(ctx, ub_synth_create_json(ctx, "{\"shake\": {\"p\": 1, \"length\": {\"min\": 2, \"max\": 9, \"log\": true}}}",
                                       "c.json", &s));
    ub_synth_destroy(&s);
    expect_config_error(ctx, "{\"shake\": {\"lenght\": 3}}", "shake.lenght: unknown key");
    expect_config_error(ctx, "{\"shake\": {\"length\": [40, 20]}}", "shake.length: min 40 > max 20");
    expect_config_error(ctx, "{\"shake\": {\"samples\": \"many\"}}", "shake.samples: expected a number");
    expect_config_error(ctx, "{\"shake\": {\"samples\": 20.5}}", "shake.samples: expected a whole number");
    expect_config_error(ctx, "{\"shake\": {\"p\": 1.5}}", "shake.p: 1.5 is outside");
    expect_config_error(ctx, "{\"object\": {\"scale\": [0.1, 2]}}", "object.scale: outside the allowed");
    expect_config_error(ctx, "{\"shake\": 3}", "shake: expected an object");
    expect_config_error(ctx, "{\"sensor\": {\"shot_gain\": {\"min\": 0, \"max\": 1, \"log\": true}}}", "log range");
    expect_config_error(ctx, "{\"shake\": {\"length\": [1, 2, 3]}}", "[min, max]");
    expect_config_error(ctx, "{\n  \"shake\": {\"p\": 1,}\n}", "line 2");
    expect_config_error(ctx, "[1, 2]", "a config is a JSON object");
    expect_config_error(ctx, "{\"preset\": \"nope\"}", "preset: expected one of");
    expect_config_error(ctx, "{\"shake\": {\"p\": 1, \"p\": 0}}", "line");
    ub_ctx_destroy(&ctx);
}

/* A config of camera blur only (no noise, no JPEG): a crop must equal the whole image's region. */
static const char *const clean_shake =
    "{\"shake\": {\"p\": 1, \"length\": [6, 18], \"anxiety\": [0.001, 0.005]},"
    " \"sensor\": {\"exposure\": 1, \"response\": {\"srgb_p\": 1}, \"jpeg\": {\"p\": 0}}}";

static void test_determinism_and_crops(void) {
    ub_image *sharp = NULL;
    ub_synth_sample runs[3] = {{0}};
    for (int threads = 1; threads <= 3; threads++) {
        ub_ctx *ctx = test_ctx(threads);
        if (!sharp) sharp = test_image(ctx, 160, 120, 3, 42);
        ub_synth *s = NULL;
        CHECK_OK(ctx, ub_synth_create_preset(ctx, "realistic", &s));
        ub_synth_inputs in = {sharp, NULL, NULL};
        CHECK_OK(ctx, ub_synth_run(s, &in, 7, 3, &runs[threads - 1]));
        ub_synth_destroy(&s);
        ub_ctx_destroy(&ctx);
    }
    CHECK_MSG(same_image(runs[0].blurred, runs[1].blurred) && same_image(runs[0].blurred, runs[2].blurred),
              "realistic sample differs across thread counts");
    CHECK(same_image(runs[0].sharp, runs[1].sharp));
    CHECK(runs[0].params_json && runs[1].params_json && strcmp(runs[0].params_json, runs[1].params_json) == 0);
    for (int i = 0; i < 3; i++) ub_synth_sample_free(&runs[i]);

    ub_ctx *ctx = test_ctx(2);
    ub_synth *s = NULL;
    CHECK_OK(ctx, ub_synth_create_json(ctx, clean_shake, "clean", &s));
    ub_synth_inputs in = {sharp, NULL, NULL};
    ub_synth_sample whole = {0}, again = {0}, other = {0}, crop = {0};
    CHECK_OK(ctx, ub_synth_run(s, &in, 5, 11, &whole));
    CHECK_OK(ctx, ub_synth_run(s, &in, 5, 11, &again));
    CHECK_OK(ctx, ub_synth_run(s, &in, 5, 12, &other));
    CHECK(same_image(whole.blurred, again.blurred));
    CHECK(!same_image(whole.blurred, other.blurred));
    CHECK(whole.kernel != NULL);
    /* the crop's valid centre equals the whole image's blur at the same place */
    const int x0 = 60, y0 = 40, size = 48;
    CHECK_OK(ctx, ub_synth_crop(s, &in, x0, y0, size, 5, 11, &crop));
    if (crop.blurred && whole.blurred) {
        CHECK(crop.blurred->width == size && crop.blurred->height == size);
        double worst = 0;
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < size; y++)
                for (int x = 0; x < size; x++)
                    worst = fmax(worst, fabs(ub_image_plane(crop.blurred, c)[y * size + x] -
                                             ub_image_plane(whole.blurred, c)[(y0 + y) * 160 + x0 + x]));
        CHECK_MSG(worst < 1e-5, "crop differs from the whole image's region by %g", worst);
        double sharp_diff = 0;
        for (int y = 0; y < size; y++)
            sharp_diff = fmax(sharp_diff, fabs(crop.sharp->data[y * size] - whole.sharp->data[(y0 + y) * 160 + x0]));
        CHECK(sharp_diff < 1e-6);
    }
    ub_synth_sample_free(&crop);
    CHECK(ub_synth_crop(s, &in, 150, 0, 48, 5, 11, &crop) == UB_ERR_INVALID);
    ub_synth_sample_free(&whole);
    ub_synth_sample_free(&again);
    ub_synth_sample_free(&other);
    ub_synth_sample_free(&crop);
    ub_synth_destroy(&s);
    ub_image_destroy(&sharp);
    ub_ctx_destroy(&ctx);
}

/* Drawn shake lengths follow the configured uniform [10, 30]: Kolmogorov-Smirnov at n = 400. */
static void test_length_distribution(void) {
    ub_ctx *ctx = test_ctx(1);
    ub_synth *s = NULL;
    CHECK_OK(ctx, ub_synth_create_json(ctx, "{\"shake\": {\"p\": 1, \"length\": [10, 30]}}", "c.json", &s));
    ub_image *sharp = test_image(ctx, 16, 16, 1, 3);
    enum { N = 400 };
    double lengths[N];
    int n = 0;
    for (int i = 0; i < N && s; i++) {
        ub_synth_sample out = {0};
        ub_synth_inputs in = {sharp, NULL, NULL};
        if (ub_synth_run(s, &in, 99, (uint64_t)i, &out) != UB_OK) break;
        json_t *root = json_loads(out.params_json, 0, NULL);
        json_t *len = json_object_get(json_object_get(root, "shake"), "length");
        if (json_is_number(len)) lengths[n++] = json_number_value(len);
        json_decref(root);
        ub_synth_sample_free(&out);
    }
    CHECK(n == N);
    double d = 0, mean = 0;
    for (int i = 0; i < n; i++) mean += lengths[i] / n;
    for (int i = 1; i < n; i++) /* insertion sort: n is small */
        for (int j = i; j > 0 && lengths[j - 1] > lengths[j]; j--) {
            double t = lengths[j];
            lengths[j] = lengths[j - 1], lengths[j - 1] = t;
        }
    for (int i = 0; i < n; i++) {
        double cdf = (lengths[i] - 10) / 20;
        d = fmax(d, fmax(fabs(cdf - (double)i / n), fabs(cdf - (double)(i + 1) / n)));
    }
    /* 1.63 / sqrt(n) is the 1% critical value */
    CHECK_MSG(d < 1.63 / sqrt(n), "KS statistic %g (n %d)", d, n);
    CHECK_MSG(fabs(mean - 20) < 1.5, "mean length %g", mean);
    CHECK(lengths[0] >= 10 && lengths[n - 1] <= 30);
    printf("shake lengths ~ U[10,30]: KS D = %.4f (1%% critical %.4f), mean %.2f\n", d, 1.63 / sqrt(n), mean);
    ub_image_destroy(&sharp);
    ub_synth_destroy(&s);
    ub_ctx_destroy(&ctx);
}

static void test_presets_effects(void) {
    ub_ctx *ctx = test_ctx(2);
    /* a constant image stays constant under the gaussian preset (no noise) */
    ub_image *flat;
    CHECK_OK(ctx, ub_image_create(ctx, &flat, 64, 48, 4));
    for (int i = 0; i < 64 * 48 * 4; i++) flat->data[i] = 0.4f;
    ub_image_plane(flat, 3)[5] = 0.0f; /* alpha, to be carried through */
    ub_synth *s = NULL;
    CHECK_OK(ctx, ub_synth_create_preset(ctx, "gaussian", &s));
    ub_synth_inputs in = {flat, NULL, NULL};
    ub_synth_sample out = {0};
    CHECK_OK(ctx, ub_synth_run(s, &in, 1, 0, &out));
    if (out.blurred) {
        double worst = 0;
        for (int i = 0; i < 64 * 48 * 3; i++) worst = fmax(worst, fabs(out.blurred->data[i] - 0.4));
        CHECK_MSG(worst < 1e-4, "flat image changed by %g", worst);
        CHECK(memcmp(ub_image_plane(out.blurred, 3), ub_image_plane(flat, 3), 64 * 48 * sizeof(float)) == 0);
        CHECK(memcmp(ub_image_plane(out.sharp, 3), ub_image_plane(flat, 3), 64 * 48 * sizeof(float)) == 0);
    }
    ub_synth_sample_free(&out);
    ub_synth_destroy(&s);
    ub_image_destroy(&flat);
    /* every preset blurs a textured image (lower PSNR than the sharp target against itself) and records its params */
    ub_image *sharp = test_image(ctx, 96, 80, 3, 8);
    const char *presets[] = {"gaussian", "linear", "shake", "realistic", "camera"};
    for (int p = 0; p < 5; p++) {
        CHECK_OK(ctx, ub_synth_create_preset(ctx, presets[p], &s));
        double mean_psnr = 0;
        for (int i = 0; i < 4 && s; i++) {
            ub_synth_inputs si = {sharp, NULL, NULL};
            CHECK_OK(ctx, ub_synth_run(s, &si, 3, (uint64_t)i, &out));
            ub_metrics m = {0};
            if (out.blurred) CHECK_OK(ctx, ub_metrics_compute(ctx, out.sharp, out.blurred, NULL, &m));
            mean_psnr += m.psnr / 4;
            CHECK(out.params_json && strstr(out.params_json, "\"sensor\""));
            ub_synth_sample_free(&out);
        }
        CHECK_MSG(mean_psnr > 10 && mean_psnr < 40, "%s: mean PSNR %g", presets[p], mean_psnr);
        printf("preset %-9s mean PSNR blurred vs sharp: %.2f dB\n", presets[p], mean_psnr);
        ub_synth_destroy(&s);
    }
    /* mismatched depth or mask is refused */
    ub_image *small = test_image(ctx, 10, 10, 1, 1);
    CHECK_OK(ctx, ub_synth_create_preset(ctx, "realistic", &s));
    ub_synth_inputs bad = {sharp, small, NULL};
    CHECK(ub_synth_run(s, &bad, 0, 0, &out) == UB_ERR_MISMATCH);
    CHECK(strstr(ub_last_error(ctx), "depth map"));
    ub_synth_destroy(&s);
    ub_image_destroy(&small);
    ub_image_destroy(&sharp);
    ub_ctx_destroy(&ctx);
}

/* The camera preset's promise (src/synth/config.c): shake in 90 % of samples, its length log-uniform over
   2-64 px, so nearly sharp (2-6 px: log 3 / log 32 = 31.7 %) and long blur (> 24 px: 28.3 %) are both common.
   With 400 samples a share's standard error is <= 2.5 %: 4 of them are allowed. */
static void test_camera_preset(void) {
    ub_ctx *ctx = test_ctx(1);
    ub_synth *s = NULL;
    CHECK_OK(ctx, ub_synth_create_preset(ctx, "camera", &s));
    ub_image *sharp = test_image(ctx, 16, 16, 3, 3);
    enum { N = 400 };
    int shaken = 0, nearly_sharp = 0, long_blur = 0;
    for (int i = 0; i < N && s; i++) {
        ub_synth_sample out = {0};
        ub_synth_inputs in = {sharp, NULL, NULL};
        if (ub_synth_run(s, &in, 7, (uint64_t)i, &out) != UB_OK) break;
        json_t *root = json_loads(out.params_json, 0, NULL);
        json_t *len = json_object_get(json_object_get(root, "shake"), "length");
        if (json_is_number(len)) {
            const double l = json_number_value(len);
            shaken++;
            nearly_sharp += l <= 6;
            long_blur += l > 24;
        }
        json_decref(root);
        ub_synth_sample_free(&out);
    }
    printf("camera preset: %d of %d samples shaken, %.1f %% of them 2-6 px, %.1f %% over 24 px\n", shaken, N,
           100.0 * nearly_sharp / (shaken ? shaken : 1), 100.0 * long_blur / (shaken ? shaken : 1));
    CHECK_MSG(fabs((double)shaken / N - 0.9) < 4 * 0.015, "%d shaken", shaken);
    CHECK_MSG(fabs((double)nearly_sharp / shaken - log(3) / log(32)) < 0.1, "%d nearly sharp", nearly_sharp);
    CHECK_MSG(fabs((double)long_blur / shaken - log(64 / 24.0) / log(32)) < 0.1, "%d long", long_blur);
    ub_synth_destroy(&s);
    ub_image_destroy(&sharp);
    ub_ctx_destroy(&ctx);
}

/* clean.p: that share of samples comes out with input == target (no blur, no noise, no JPEG), the
   others exactly as without the key (the decision has its own random stream), in run and in crop. */
static void test_clean_samples(void) {
    ub_ctx *ctx = test_ctx(1);
    ub_synth *plain = NULL, *clean = NULL, *zero = NULL;
    CHECK_OK(ctx, ub_synth_create_preset(ctx, "camera", &plain));
    CHECK_OK(ctx, ub_synth_create_json(ctx, "{\"preset\": \"camera\", \"clean\": {\"p\": 0.3}}", "c.json", &clean));
    CHECK_OK(ctx, ub_synth_create_json(ctx, "{\"preset\": \"camera\", \"clean\": {\"p\": 0}}", "z.json", &zero));
    ub_image *sharp = test_image(ctx, 48, 40, 3, 5);
    enum { N = 200 };
    int cleaned = 0, others_equal = 1, clean_exact = 1;
    for (int i = 0; i < N && plain && clean && zero; i++) {
        ub_synth_inputs in = {sharp, NULL, NULL};
        ub_synth_sample a = {0}, b = {0}, z = {0};
        if (ub_synth_run(plain, &in, 11, (uint64_t)i, &a) || ub_synth_run(clean, &in, 11, (uint64_t)i, &b) ||
            ub_synth_run(zero, &in, 11, (uint64_t)i, &z))
            break;
        if (i < 20) CHECK(same_image(a.blurred, z.blurred) && !strcmp(a.params_json, z.params_json));
        if (strstr(b.params_json, "\"clean\": true")) {
            cleaned++;
            clean_exact &= same_image(b.blurred, b.sharp) && !b.kernel;
        } else {
            others_equal &= same_image(a.blurred, b.blurred) && same_image(a.sharp, b.sharp);
        }
        ub_synth_sample_free(&a), ub_synth_sample_free(&b), ub_synth_sample_free(&z);
    }
    printf("clean.p 0.3: %d of %d samples clean\n", cleaned, N);
    CHECK_MSG(fabs((double)cleaned / N - 0.3) < 4 * 0.033, "%d clean of %d", cleaned, N);
    CHECK_MSG(clean_exact, "a clean sample's input differs from its target");
    CHECK_MSG(others_equal, "clean.p changed a sample it did not clean");
    ub_synth_sample out = {0};
    ub_synth_inputs in = {sharp, NULL, NULL};
    int found = 0;
    for (int i = 0; i < 40 && !found && clean; i++) { /* a crop of a clean sample, too */
        if (ub_synth_crop(clean, &in, 8, 4, 32, 11, (uint64_t)i, &out)) break;
        if (strstr(out.params_json, "\"clean\": true")) {
            found = 1;
            CHECK(same_image(out.blurred, out.sharp));
        }
        ub_synth_sample_free(&out);
    }
    CHECK(found);
    ub_synth *bad = NULL;
    CHECK(ub_synth_create_json(ctx, "{\"clean\": {\"p\": 1.5}}", "bad.json", &bad) == UB_ERR_INVALID && !bad);
    ub_synth_destroy(&plain), ub_synth_destroy(&clean), ub_synth_destroy(&zero), ub_synth_destroy(&bad);
    ub_image_destroy(&sharp);
    ub_ctx_destroy(&ctx);
}

/* The largest |a - b| between a crop and the same region of the whole image's sample. */
static double crop_vs_whole(const ub_image *crop, const ub_image *whole, int64_t x0, int64_t y0) {
    double worst = 0;
    for (int c = 0; c < 3; c++)
        for (int64_t y = 0; y < crop->height; y++)
            for (int64_t x = 0; x < crop->width; x++)
                worst = fmax(worst, fabs(ub_image_plane(crop, c)[y * crop->width + x] -
                                         ub_image_plane(whole, c)[(y0 + y) * whole->width + x0 + x]));
    return worst;
}

/* Mean |blurred - sharp| over rows [y0, y1). */
static double rows_mad(const ub_synth_sample *s, int64_t y0, int64_t y1) {
    const int64_t w = s->sharp->width;
    double sum = 0;
    for (int c = 0; c < 3; c++)
        for (int64_t i = y0 * w; i < y1 * w; i++)
            sum += fabs(ub_image_plane(s->blurred, c)[i] - ub_image_plane(s->sharp, c)[i]);
    return sum / (double)(3 * (y1 - y0) * w);
}

/* A 3-D scene: parallax (the ground plane's near bottom blurs more than its far top, a crop equals the
   whole image's region: the principal point and the margin follow the crop) and several moving
   objects; configs that do not ask for them draw exactly what they drew before. */
static void test_scene_3d(void) {
    ub_ctx *ctx = test_ctx(2), *one = test_ctx(1);
    ub_image *sharp = test_shapes(ctx, 160, 120, 3, 8);
    ub_synth_inputs in = {sharp, NULL, NULL};
    ub_synth *par = NULL, *objs = NULL, *plain = NULL, *explicit0 = NULL;
    CHECK_OK(ctx, ub_synth_create_json(ctx,
                                       "{\"shake\": {\"p\": 1, \"length\": [10, 10], \"parallax\": {\"p\": 1,"
                                       " \"reference_quantile\": [0.5, 0.5], \"max_gain\": [3, 3], \"forward\": [0.04, 0.04]}},"
                                       " \"sensor\": {\"exposure\": 1, \"response\": {\"srgb_p\": 1}, \"jpeg\": {\"p\": 0}}}",
                                       "parallax", &par));
    ub_synth_sample whole = {0}, crop = {0}, whole1 = {0};
    if (par) {
        CHECK_OK(ctx, ub_synth_run(par, &in, 3, 1, &whole));
        CHECK_OK(ctx, ub_synth_crop(par, &in, 70, 50, 48, 3, 1, &crop));
        ub_synth *par1 = NULL;
        CHECK_OK(one, ub_synth_create_json(one, "{\"shake\": {\"p\": 1, \"length\": [10, 10], \"parallax\": {\"p\": 1,"
                                                " \"reference_quantile\": [0.5, 0.5], \"max_gain\": [3, 3], \"forward\": [0.04, 0.04]}},"
                                                " \"sensor\": {\"exposure\": 1, \"response\": {\"srgb_p\": 1}, \"jpeg\": {\"p\": 0}}}",
                                           "parallax", &par1));
        if (par1) CHECK_OK(one, ub_synth_run(par1, &in, 3, 1, &whole1));
        ub_synth_destroy(&par1);
    }
    if (whole.blurred && crop.blurred && whole1.blurred) {
        CHECK(strstr(whole.params_json, "\"parallax\"") != NULL);
        CHECK(same_image(whole.blurred, whole1.blurred)); /* 2 threads = 1 thread */
        const double d = crop_vs_whole(crop.blurred, whole.blurred, 70, 50);
        CHECK_MSG(d < 1e-5, "a parallax crop differs from the whole image's region by %g", d);
        const double top = rows_mad(&whole, 0, 20), bottom = rows_mad(&whole, 100, 120);
        CHECK_MSG(bottom > 2 * top, "the near bottom should blur more: bottom %g, top %g", bottom, top);
        printf("parallax on the ground plane: mean |blurred - sharp| top rows %.4f, bottom rows %.4f\n", top, bottom);
    }
    ub_synth_sample_free(&whole), ub_synth_sample_free(&crop), ub_synth_sample_free(&whole1);

    CHECK_OK(ctx, ub_synth_create_json(ctx,
                                       "{\"object\": {\"p\": 1, \"count\": [3, 3], \"translate\": [12, 12]},"
                                       " \"sensor\": {\"exposure\": 1, \"response\": {\"srgb_p\": 1}, \"jpeg\": {\"p\": 0}}}",
                                       "objects", &objs));
    if (objs) {
        CHECK_OK(ctx, ub_synth_run(objs, &in, 4, 2, &whole));
        CHECK_OK(ctx, ub_synth_crop(objs, &in, 40, 30, 64, 4, 2, &crop));
    }
    if (whole.blurred && crop.blurred) {
        CHECK(strstr(whole.params_json, "\"count\": 3") != NULL);
        CHECK(rows_mad(&whole, 0, 120) > 0);
    }
    ub_synth_sample_free(&whole), ub_synth_sample_free(&crop);

    /* video frames: separate copies; a crop is still the whole image's region */
    ub_synth *framed = NULL;
    CHECK_OK(ctx, ub_synth_create_json(ctx,
                                       "{\"shake\": {\"p\": 1, \"length\": [20, 20], \"frames\": {\"p\": 1, \"count\": [5, 5],"
                                       " \"duty\": [0.3, 0.3]}},"
                                       " \"sensor\": {\"exposure\": 1, \"response\": {\"srgb_p\": 1}, \"jpeg\": {\"p\": 0}}}",
                                       "frames", &framed));
    if (framed) {
        CHECK_OK(ctx, ub_synth_run(framed, &in, 2, 5, &whole));
        CHECK_OK(ctx, ub_synth_crop(framed, &in, 60, 40, 48, 2, 5, &crop));
    }
    if (whole.blurred && crop.blurred) {
        CHECK(strstr(whole.params_json, "\"frames\"") != NULL);
        const double d = crop_vs_whole(crop.blurred, whole.blurred, 60, 40);
        CHECK_MSG(d < 1e-5, "a frames crop differs from the whole image's region by %g", d);
        ub_kernel *k = NULL; /* `unblur kernels` draws the sample's own kernel: the frames' dashes */
        CHECK_OK(ctx, ub_synth_kernel(framed, 2, 5, &k));
        CHECK(k && whole.kernel && k->width == whole.kernel->width && k->height == whole.kernel->height &&
              memcmp(k->data, whole.kernel->data, sizeof(float) * (size_t)(k->width * k->height)) == 0);
        ub_kernel_destroy(&k);
    }
    ub_synth_sample_free(&whole), ub_synth_sample_free(&crop);
    ub_synth_destroy(&framed);

    /* the camera preset with the new keys at their defaults draws exactly what it drew */
    CHECK_OK(ctx, ub_synth_create_preset(ctx, "camera", &plain));
    CHECK_OK(ctx, ub_synth_create_json(ctx, "{\"preset\": \"camera\", \"shake\": {\"parallax\": {\"p\": 0}, \"frames\": {\"p\": 0}},"
                                            " \"object\": {\"count\": [1, 1]}}",
                                       "c.json", &explicit0));
    for (int i = 0; i < 12 && plain && explicit0; i++) {
        ub_synth_sample a = {0}, b = {0};
        if (ub_synth_crop(plain, &in, 20, 20, 64, 9, (uint64_t)i, &a) || ub_synth_crop(explicit0, &in, 20, 20, 64, 9, (uint64_t)i, &b)) {
            CHECK(0);
            break;
        }
        CHECK(same_image(a.blurred, b.blurred) && !strcmp(a.params_json, b.params_json));
        ub_synth_sample_free(&a), ub_synth_sample_free(&b);
    }
    expect_config_error(ctx, "{\"object\": {\"count\": [0, 2]}}", "object.count");
    expect_config_error(ctx, "{\"shake\": {\"parallax\": {\"max_gain\": [0.5, 2]}}}", "shake.parallax.max_gain");
    expect_config_error(ctx, "{\"shake\": {\"parallax\": {\"forward\": [0, 0.9]}}}", "shake.parallax.forward");
    ub_synth_destroy(&par), ub_synth_destroy(&objs), ub_synth_destroy(&plain), ub_synth_destroy(&explicit0);
    ub_image_destroy(&sharp);
    ub_ctx_destroy(&ctx), ub_ctx_destroy(&one);
}

int main(void) {
    test_configs();
    test_camera_preset();
    test_clean_samples();
    test_determinism_and_crops();
    test_length_distribution();
    test_presets_effects();
    test_scene_3d();
    return test_finish("test_synth");
}
