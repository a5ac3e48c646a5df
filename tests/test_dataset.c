/* tests/test_dataset.c — the training dataset (src/train/dataset.c): recursive listing in sorted
   order, id-list filtering, compact storage (8/16-bit, grey, alpha dropped), skipped small images,
   errors that name the file or id; samples that depend only on (seed, step, index), batches equal
   for 1, 2 and 3 workers; augmentations checked against a flip and quarter turns of the source file
   done independently here; and bsds500's CBSD432 split when ../shared/data is present. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"
#include "train/dataset.h"

/* No blur, no noise, no JPEG, exposure 1, sRGB response: the synthesis is (nearly) the identity. */
static const char *const identity_json = "{\"sensor\": {\"jpeg\": {\"p\": 0}}}";
static const char *const realistic_json = "{\"preset\": \"realistic\"}";

static char root[512];
/* what the fixture made, removed in reverse order at the end */
static char made[32][1024];
static int nmade;

static void remember(const char *path) {
    if (nmade < 32) snprintf(made[nmade++], sizeof made[0], "%s", path);
}

static void remove_fixture(void) {
    while (nmade > 0) remove(made[--nmade]);
    CHECK_MSG(rmdir(root) == 0, "%s: left files behind", root);
}

static const char *at(const char *rel) { return test_join(root, rel); }

static void make_dir(const char *rel) {
    if (mkdir(at(rel), 0755) != 0) {
        perror(at(rel));
        exit(1);
    }
    remember(at(rel));
}

static void write_text(const char *rel, const char *text) {
    FILE *fp = fopen(at(rel), "wb");
    if (!fp || fputs(text, fp) < 0 || fclose(fp) != 0) {
        perror(at(rel));
        exit(1);
    }
    remember(at(rel));
}

static void write_image(ub_ctx *ctx, const char *rel, int64_t w, int64_t h, int channels, int bits, uint64_t seed) {
    ub_image *img = test_image(ctx, w, h, channels, seed);
    ub_write_options o;
    ub_default_write_options(&o);
    o.bit_depth = bits;
    o.jpeg_quality = 95;
    if (ub_image_write(ctx, img, at(rel), &o) != UB_OK) {
        fprintf(stderr, "%s\n", ub_last_error(ctx));
        exit(1);
    }
    remember(at(rel));
    ub_image_destroy(&img);
}

/* a/: extra.png, grey.jpg, rgb8.png, rgba.png, notes.txt, .hidden.png; b/: small.png, sub/deep.png (16-bit);
   c/: a corrupt PNG; d/: x.png and x.jpg (one stem, two files). */
static void make_fixture(ub_ctx *ctx) {
    snprintf(root, sizeof root, "%s", test_tmpdir("dataset"));
    make_dir("a"), make_dir("b"), make_dir("b/sub"), make_dir("c"), make_dir("d");
    write_image(ctx, "a/rgb8.png", 40, 30, 3, 8, 1);
    write_image(ctx, "a/grey.jpg", 36, 44, 1, 8, 2);
    write_image(ctx, "a/rgba.png", 48, 32, 4, 8, 3);
    write_image(ctx, "a/extra.png", 32, 32, 3, 8, 4);
    write_image(ctx, "a/.hidden.png", 32, 32, 3, 8, 5);
    write_image(ctx, "b/sub/deep.png", 34, 38, 3, 16, 6);
    write_image(ctx, "b/small.png", 20, 50, 3, 8, 7);
    write_image(ctx, "d/x.png", 32, 32, 3, 8, 8);
    write_image(ctx, "d/x.jpg", 32, 32, 3, 8, 9);
    write_text("a/notes.txt", "not an image\n");
    write_text("c/bad.png", "\x89PNG\r\n\x1a\n but not really");
    write_text("ids.txt", "# the training ids\nrgb8\n  grey \t\n\nrgba # alpha dropped\r\ndeep\nsmall\nrgb8\n");
    write_text("ids_missing.txt", "rgb8\nnope_id\n");
    write_text("ids_twice.txt", "x\n");
    write_text("ids_empty.txt", "# nothing\n\n");
}

static int ends_with(const char *s, const char *tail) {
    const size_t a = s ? strlen(s) : 0, b = strlen(tail);
    return a >= b && strcmp(s + a - b, tail) == 0;
}

static int progress_calls;
static double progress_last;
static int count_progress(void *user, double fraction, const char *label) {
    (void)label;
    progress_calls++;
    progress_last = fraction;
    return user != NULL; /* non-NULL user: cancel */
}

static ub__dataset *open_fixture(ub_ctx *ctx, const char *ids, int min_side) {
    const char *folders[2] = {at("a"), at("b")};
    ub__dataset *ds = NULL;
    CHECK_OK(ctx, ub__dataset_open(ctx, folders, 2, ids ? at(ids) : NULL, min_side, &ds));
    return ds;
}

static void test_listing(void) {
    ub_ctx *ctx = test_ctx(2);
    ub_settings s;
    ub_default_settings(&s);
    s.threads = 2;
    s.progress = count_progress;
    ub_ctx *pctx = NULL;
    CHECK(ub_ctx_create(&pctx, &s) == UB_OK);
    const char *folders[2] = {at("a"), at("b")};
    ub__dataset *ds = NULL;
    CHECK_OK(pctx, ub__dataset_open(pctx, folders, 2, at("ids.txt"), 30, &ds));
    CHECK_MSG(progress_calls >= 1 && progress_last == 1.0, "progress: %d calls, last %g", progress_calls,
              progress_last);
    const char *expect[4] = {"/a/grey.jpg", "/a/rgb8.png", "/a/rgba.png", "/b/sub/deep.png"};
    CHECK_MSG(ub__dataset_count(ds) == 4, "count %d", ub__dataset_count(ds));
    for (int i = 0; i < 4 && ub__dataset_count(ds) == 4; i++)
        CHECK_MSG(ends_with(ub__dataset_name(ds, i), expect[i]), "image %d is %s", i, ub__dataset_name(ds, i));
    CHECK(ub__dataset_name(ds, 4) == NULL && ub__dataset_name(ds, -1) == NULL);
    CHECK(ub__dataset_skipped_count(ds) == 1 && ends_with(ub__dataset_skipped_name(ds, 0), "/b/small.png"));
    /* grey kept as 1 plane, RGBA as 3, 16-bit as 2 bytes a sample */
    const size_t bytes = 36 * 44 + 40 * 30 * 3 + 48 * 32 * 3 + 34 * 38 * 3 * 2;
    CHECK_MSG(ub__dataset_bytes(ds) == bytes, "%zu bytes held, expected %zu", ub__dataset_bytes(ds), bytes);
    int64_t w = 0, h = 0;
    ub__dataset_image_size(ds, 3, &w, &h);
    CHECK(w == 34 && h == 38);
    ub__dataset_close(&ds);
    CHECK(ds == NULL);

    /* cancelled from the progress callback */
    ub_ctx_destroy(&pctx);
    s.progress_user = &s;
    CHECK(ub_ctx_create(&pctx, &s) == UB_OK);
    CHECK(ub__dataset_open(pctx, folders, 2, NULL, 30, &ds) == UB_ERR_CANCELLED && ds == NULL);
    ub_ctx_destroy(&pctx);

    /* no id list: extra.png too; .hidden.png and notes.txt never */
    ds = open_fixture(ctx, NULL, 30);
    CHECK_MSG(ub__dataset_count(ds) == 5 && ends_with(ub__dataset_name(ds, 0), "/a/extra.png"), "count %d, first %s",
              ub__dataset_count(ds), ub__dataset_name(ds, 0));
    CHECK(ub__dataset_bytes(ds) == bytes + 32 * 32 * 3);
    ub__dataset_close(&ds);
    /* min_side 1: nothing skipped */
    ds = open_fixture(ctx, NULL, 1);
    CHECK(ub__dataset_count(ds) == 6 && ub__dataset_skipped_count(ds) == 0);
    ub__dataset_close(&ds);
    ub_ctx_destroy(&ctx);
}

static void expect_open_error(ub_ctx *ctx, const char *folder, const char *ids, int min_side, ub_status want,
                              const char *words, const char *words2) {
    const char *folders[1] = {folder};
    ub__dataset *ds = (ub__dataset *)1;
    ub_status st = ub__dataset_open(ctx, folders, 1, ids, min_side, &ds);
    CHECK_MSG(st == want && ds == NULL, "%s with %s: status %d (%s)", folder, ids ? ids : "no ids", (int)st,
              ub_last_error(ctx));
    CHECK_MSG(strstr(ub_last_error(ctx), words), "'%s' lacks '%s'", ub_last_error(ctx), words);
    if (words2) CHECK_MSG(strstr(ub_last_error(ctx), words2), "'%s' lacks '%s'", ub_last_error(ctx), words2);
}

static void test_errors(void) {
    ub_ctx *ctx = test_ctx(2);
    expect_open_error(ctx, at("a"), at("ids_missing.txt"), 1, UB_ERR_INVALID, "'nope_id'", "ids_missing.txt");
    expect_open_error(ctx, at("d"), at("ids_twice.txt"), 1, UB_ERR_INVALID, "x.jpg", "x.png");
    expect_open_error(ctx, at("a"), at("ids_empty.txt"), 1, UB_ERR_INVALID, "ids_empty.txt", "empty");
    expect_open_error(ctx, at("a"), at("no_such_ids.txt"), 1, UB_ERR_IO, "no_such_ids.txt", NULL);
    expect_open_error(ctx, at("nowhere"), NULL, 1, UB_ERR_IO, "nowhere", NULL);
    expect_open_error(ctx, at("c"), NULL, 1, UB_ERR_FORMAT, "bad.png", NULL);
    expect_open_error(ctx, at("b/sub"), NULL, 100, UB_ERR_INVALID, "smaller than 100x100", NULL);
    expect_open_error(ctx, at("a"), NULL, 0, UB_ERR_INVALID, "min_side", NULL);
    make_dir("empty");
    expect_open_error(ctx, at("empty"), NULL, 1, UB_ERR_INVALID, "no PNG or JPEG", NULL);
    ub_ctx_destroy(&ctx);
}

/* ---- samples ---- */

typedef struct pair {
    float *blurred, *sharp;
} pair;

static pair pair_new(int n, int patch) {
    const size_t floats = (size_t)n * 3 * (size_t)patch * (size_t)patch;
    pair p = {calloc(floats, sizeof(float)), calloc(floats, sizeof(float))};
    if (!p.blurred || !p.sharp) exit(1);
    return p;
}

static void pair_free(pair *p) {
    free(p->blurred);
    free(p->sharp);
}

static int same_floats(const float *a, const float *b, size_t n) { return memcmp(a, b, n * sizeof(float)) == 0; }

static void test_determinism(const ub__dataset *ds) {
    ub_ctx *ctx = test_ctx(1);
    ub_synth *synth = NULL;
    CHECK_OK(ctx, ub_synth_create_json(ctx, realistic_json, "realistic", &synth));
    const int patch = 24;
    const size_t n = 3 * (size_t)patch * patch;
    pair p = pair_new(5, patch);
    ub__sample_info info[5];
    /* (seed, step, index): the same twice, then another index, step and seed */
    const uint64_t seeds[5] = {7, 7, 7, 7, 8}, steps[5] = {3, 3, 3, 4, 3};
    const int index[5] = {2, 2, 5, 2, 2};
    for (int k = 0; k < 5; k++)
        CHECK_OK(ctx, ub__dataset_sample(ds, synth, ctx, seeds[k], steps[k], index[k], patch, p.blurred + k * n,
                                         p.sharp + k * n, &info[k]));
    CHECK(same_floats(p.blurred, p.blurred + n, n) && same_floats(p.sharp, p.sharp + n, n));
    CHECK(memcmp(&info[0], &info[1], sizeof info[0]) == 0);
    CHECK(info[0].synth_seed == ub_rng_derive(7, 3, 2) && info[0].synth_index == 1);
    for (int k = 2; k < 5; k++)
        CHECK_MSG(!same_floats(p.blurred, p.blurred + k * n, n), "sample %d repeats sample 0", k);
    /* a blurred, noisy pair differs from its target; values stay in [0,1] */
    CHECK(!same_floats(p.blurred, p.sharp, n));
    for (size_t i = 0; i < 5 * n; i++)
        if (!(p.blurred[i] >= 0 && p.blurred[i] <= 1 && p.sharp[i] >= 0 && p.sharp[i] <= 1)) {
            CHECK_MSG(0, "value %zu out of [0,1]: %g %g", i, p.blurred[i], p.sharp[i]);
            break;
        }
    /* bad arguments */
    CHECK(ub__dataset_sample(ds, synth, ctx, 1, 1, -1, patch, p.blurred, p.sharp, NULL) == UB_ERR_INVALID);
    CHECK(ub__dataset_sample(ds, synth, ctx, 1, 1, 0, 0, p.blurred, p.sharp, NULL) == UB_ERR_INVALID);
    CHECK(ub__dataset_sample(ds, synth, ctx, 1, 1, 0, patch, NULL, p.sharp, NULL) == UB_ERR_INVALID);
    /* a patch larger than every image: the error names the image drawn */
    CHECK(ub__dataset_sample(ds, synth, ctx, 1, 1, 0, 45, p.blurred, p.sharp, NULL) == UB_ERR_INVALID);
    CHECK_MSG(strstr(ub_last_error(ctx), "smaller than the 45-pixel patch") && strstr(ub_last_error(ctx), root),
              "'%s'", ub_last_error(ctx));
    pair_free(&p);
    ub_synth_destroy(&synth);
    ub_ctx_destroy(&ctx);
}

static void test_batches(const ub__dataset *ds) {
    ub_ctx *ctx = test_ctx(1);
    const int batch = 6, patch = 24;
    const size_t n = (size_t)batch * 3 * patch * patch;
    pair p[3];
    char errors[3][512];
    for (int w = 0; w < 3; w++) {
        ub__sampler *s = NULL;
        CHECK_OK(ctx, ub__sampler_create(ctx, realistic_json, "realistic", w + 1, &s));
        CHECK(ub__sampler_workers(s) == w + 1);
        p[w] = pair_new(batch, patch);
        CHECK_OK(ctx, ub__dataset_batch(s, ds, 11, 5, 0, batch, patch, p[w].blurred, p[w].sharp));
        /* patch 33: rgb8 (30 high) and rgba (32 high) are too small; the lowest failing sample is reported */
        float *big = calloc(8 * 3 * 33 * 33, sizeof(float));
        CHECK(ub__dataset_batch(s, ds, 11, 5, 0, 8, 33, big, big) == UB_ERR_INVALID);
        snprintf(errors[w], sizeof errors[w], "%s", ub_last_error(ctx));
        free(big);
        ub__sampler_destroy(&s);
        CHECK(s == NULL);
    }
    for (int w = 1; w < 3; w++) {
        CHECK_MSG(same_floats(p[0].blurred, p[w].blurred, n) && same_floats(p[0].sharp, p[w].sharp, n),
                  "batch with %d workers differs from 1 worker", w + 1);
        CHECK_MSG(strcmp(errors[0], errors[w]) == 0, "errors differ: '%s' vs '%s'", errors[0], errors[w]);
    }
    CHECK_MSG(strstr(errors[0], "smaller than the 33-pixel patch"), "'%s'", errors[0]);
    /* batch entry i is sample i of the step */
    ub_ctx *one = test_ctx(1);
    ub_synth *synth = NULL;
    CHECK_OK(one, ub_synth_create_json(one, realistic_json, "realistic", &synth));
    pair q = pair_new(1, patch);
    const size_t per = 3 * (size_t)patch * patch;
    CHECK_OK(one, ub__dataset_sample(ds, synth, one, 11, 5, 4, patch, q.blurred, q.sharp, NULL));
    CHECK(same_floats(q.blurred, p[0].blurred + 4 * per, per) && same_floats(q.sharp, p[0].sharp + 4 * per, per));
    /* a range of the batch (one rank's share in data-parallel training) is those samples of the whole batch */
    pair r = pair_new(3, patch);
    ub__sampler *two = NULL;
    CHECK_OK(ctx, ub__sampler_create(ctx, realistic_json, "realistic", 2, &two));
    CHECK_OK(ctx, ub__dataset_batch(two, ds, 11, 5, 2, 3, patch, r.blurred, r.sharp));
    CHECK_MSG(same_floats(r.blurred, p[0].blurred + 2 * per, 3 * per) && same_floats(r.sharp, p[0].sharp + 2 * per, 3 * per),
              "samples 2..4 made alone differ from those of the whole batch");
    CHECK(ub__dataset_batch(two, ds, 11, 5, -1, 3, patch, r.blurred, r.sharp) == UB_ERR_INVALID);
    ub__sampler_destroy(&two);
    pair_free(&r);
    /* bad sampler arguments */
    ub__sampler *s = (ub__sampler *)1;
    CHECK(ub__sampler_create(ctx, "{\"shake\": {\"p\": 2}}", "bad.json", 2, &s) == UB_ERR_INVALID && s == NULL);
    CHECK_MSG(strstr(ub_last_error(ctx), "bad.json") && strstr(ub_last_error(ctx), "shake.p"), "'%s'",
              ub_last_error(ctx));
    pair_free(&q);
    ub_synth_destroy(&synth);
    ub_ctx_destroy(&one);
    for (int w = 0; w < 3; w++) pair_free(&p[w]);
    ub_ctx_destroy(&ctx);
}

/* ---- augmentations, checked against the source file ---- */

/* A planar 3-channel float buffer with its size. */
typedef struct planes {
    int64_t w, h;
    float *v;
} planes;

/* The source file as RGB planes: grey replicated, alpha dropped. */
static planes read_rgb(ub_ctx *ctx, const char *path) {
    ub_image *img = NULL;
    if (ub_image_read(ctx, path, &img) != UB_OK) exit(1);
    planes p = {img->width, img->height, malloc(sizeof(float) * 3 * (size_t)(img->width * img->height))};
    const size_t n = (size_t)(p.w * p.h);
    for (int c = 0; c < 3; c++)
        memcpy(p.v + c * n, ub_image_plane(img, ub_image_colour_channels(img) == 3 ? c : 0), n * sizeof(float));
    ub_image_destroy(&img);
    return p;
}

static planes mirror(planes in) {
    planes out = {in.w, in.h, malloc(sizeof(float) * 3 * (size_t)(in.w * in.h))};
    for (int c = 0; c < 3; c++)
        for (int64_t y = 0; y < in.h; y++)
            for (int64_t x = 0; x < in.w; x++)
                out.v[(c * in.h + y) * in.w + x] = in.v[(c * in.h + y) * in.w + (in.w - 1 - x)];
    free(in.v);
    return out;
}

/* A quarter turn counter-clockwise: the right column becomes the top row. */
static planes turn(planes in) {
    planes out = {in.h, in.w, malloc(sizeof(float) * 3 * (size_t)(in.w * in.h))};
    for (int c = 0; c < 3; c++)
        for (int64_t y = 0; y < out.h; y++)
            for (int64_t x = 0; x < out.w; x++)
                out.v[(c * out.h + y) * out.w + x] = in.v[(c * in.h + x) * in.w + (in.w - 1 - y)];
    free(in.v);
    return out;
}

static planes augmented_reference(ub_ctx *ctx, const char *path, const ub__sample_info *info) {
    planes p = read_rgb(ctx, path);
    if (info->flip) p = mirror(p);
    for (int t = 0; t < info->quarter_turns; t++) p = turn(p);
    return p;
}

static double max_crop_error(planes ref, const ub__sample_info *info, int patch, const float *got) {
    double worst = 0;
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < patch; y++)
            for (int x = 0; x < patch; x++) {
                const float want = ref.v[(c * ref.h + info->y0 + y) * ref.w + info->x0 + x];
                worst = fmax(worst, fabs((double)want - got[(c * patch + y) * patch + x]));
            }
    return worst;
}

/* The reference image through ub_synth_crop with the sample's seed: must equal the dataset's bytes. */
static int same_as_synth(ub_ctx *ctx, ub_synth *synth, planes ref, const ub__sample_info *info, int patch,
                         const float *blurred, const float *sharp) {
    ub_image *img = NULL;
    if (ub_image_create(ctx, &img, ref.w, ref.h, 3) != UB_OK) return 0;
    memcpy(img->data, ref.v, sizeof(float) * 3 * (size_t)(ref.w * ref.h));
    ub_synth_inputs in = {img, NULL, NULL};
    ub_synth_sample s = {0};
    const size_t n = 3 * (size_t)patch * patch;
    int same = ub_synth_crop(synth, &in, info->x0, info->y0, patch, info->synth_seed, info->synth_index, &s) == UB_OK &&
               same_floats(s.blurred->data, blurred, n) && same_floats(s.sharp->data, sharp, n);
    ub_synth_sample_free(&s);
    ub_image_destroy(&img);
    return same;
}

static void test_augmentations(const ub__dataset *ds) {
    ub_ctx *ctx = test_ctx(1);
    ub_synth *identity = NULL, *realistic = NULL;
    CHECK_OK(ctx, ub_synth_create_json(ctx, identity_json, "identity", &identity));
    CHECK_OK(ctx, ub_synth_create_json(ctx, realistic_json, "realistic", &realistic));
    const int patch = 20, samples = 96;
    pair p = pair_new(1, patch);
    const size_t n = 3 * (size_t)patch * patch;
    int seen_aug[8] = {0}, seen_image[4] = {0}, exact = 0;
    double worst = 0;
    for (int i = 0; i < samples; i++) {
        ub__sample_info info;
        CHECK_OK(ctx, ub__dataset_sample(ds, identity, ctx, 99, 0, i, patch, p.blurred, p.sharp, &info));
        seen_aug[info.flip + 2 * info.quarter_turns]++;
        seen_image[info.image & 3]++;
        CHECK_MSG(same_floats(p.blurred, p.sharp, n), "sample %d: no blur, yet blurred != sharp", i);
        planes ref = augmented_reference(ctx, ub__dataset_name(ds, info.image), &info);
        const double err = max_crop_error(ref, &info, patch, p.sharp);
        worst = fmax(worst, err);
        /* only the sRGB -> linear -> sRGB round trip of the synthesis separates them */
        CHECK_MSG(err < 4e-6, "sample %d (image %d, flip %d, turns %d, at %lld,%lld): off by %g", i, info.image,
                  info.flip, info.quarter_turns, (long long)info.x0, (long long)info.y0, err);
        exact += same_as_synth(ctx, identity, ref, &info, patch, p.blurred, p.sharp);
        if (i < 8) { /* with a real blur too: the dataset passes exactly the augmented image */
            ub__sample_info again;
            CHECK_OK(ctx, ub__dataset_sample(ds, realistic, ctx, 99, 0, i, patch, p.blurred, p.sharp, &again));
            CHECK(memcmp(&info, &again, sizeof info) == 0);
            CHECK_MSG(same_as_synth(ctx, realistic, ref, &info, patch, p.blurred, p.sharp), "sample %d", i);
        }
        free(ref.v);
    }
    CHECK_MSG(exact == samples, "%d of %d samples equal ub_synth_crop of the reference", exact, samples);
    for (int a = 0; a < 8; a++) CHECK_MSG(seen_aug[a] > 0, "augmentation %d never drawn", a);
    for (int k = 0; k < 4; k++) CHECK_MSG(seen_image[k] > 0, "image %d never drawn", k);
    printf("augmentations: %d samples, crops within %.2g of the source\n", samples, worst);
    pair_free(&p);
    ub_synth_destroy(&identity);
    ub_synth_destroy(&realistic);
    ub_ctx_destroy(&ctx);
}

/* ---- bsds500, CBSD432 ---- */

static int test_bsds500(void) {
    char images[1024], ids[1024];
    if (!test_shared_path("bsds500/images", images, sizeof images) ||
        !test_shared_path("bsds500/splits/cbsd432_all_minus_cbsd68_ids.txt", ids, sizeof ids))
        return 0;
    ub_ctx *ctx = test_ctx(0);
    const char *folders[1] = {images};
    ub__dataset *ds = NULL;
    const double t0 = test_seconds();
    CHECK_OK(ctx, ub__dataset_open(ctx, folders, 1, ids, 128, &ds));
    const double load = test_seconds() - t0;
    CHECK_MSG(ub__dataset_count(ds) == 432 && ub__dataset_skipped_count(ds) == 0, "%d images, %d skipped",
              ub__dataset_count(ds), ub__dataset_skipped_count(ds));
    size_t expect = 0;
    int in_val = 0;
    for (int i = 0; i < ub__dataset_count(ds); i++) {
        int64_t w, h;
        ub__dataset_image_size(ds, i, &w, &h);
        expect += (size_t)(w * h * 3);
        in_val += strstr(ub__dataset_name(ds, i), "/val/") != NULL;
    }
    CHECK(ub__dataset_bytes(ds) == expect);
    CHECK_MSG(in_val == 32, "%d images from val/ (CBSD432 takes the 32 val images outside CBSD68)", in_val);
    printf("bsds500 CBSD432: %d images loaded in %.2f s on %d threads, %.1f MB held\n", ub__dataset_count(ds), load,
           ub_ctx_threads(ctx), (double)ub__dataset_bytes(ds) / 1e6);
    ub__sampler *s = NULL;
    CHECK_OK(ctx, ub__sampler_create(ctx, realistic_json, "realistic", 2, &s));
    const int batch = 4, patch = 128;
    pair p = pair_new(batch, patch);
    const double t1 = test_seconds();
    CHECK_OK(ctx, ub__dataset_batch(s, ds, 1, 0, 0, batch, patch, p.blurred, p.sharp));
    printf("bsds500: a batch of %d patches of %d (realistic, 2 workers) in %.2f s\n", batch, patch,
           test_seconds() - t1);
    const size_t n = 3 * (size_t)patch * patch;
    for (int i = 0; i < batch; i++) CHECK_MSG(!same_floats(p.blurred + i * n, p.sharp + i * n, n), "sample %d", i);
    pair_free(&p);
    ub__sampler_destroy(&s);
    ub__dataset_close(&ds);
    ub_ctx_destroy(&ctx);
    return 1;
}

int main(void) {
    ub_ctx *ctx = test_ctx(1);
    make_fixture(ctx);
    test_listing();
    test_errors();
    ub__dataset *ds = open_fixture(ctx, "ids.txt", 30);
    if (ds) {
        test_determinism(ds);
        test_batches(ds);
        test_augmentations(ds);
    }
    ub__dataset_close(&ds);
    ub_ctx_destroy(&ctx);
    remove_fixture();
    test_bsds500();
    return test_finish("test_dataset");
}
