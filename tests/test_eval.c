/* tests/test_eval.c — the evaluation: sets made of tiny PNGs written here (both pair layouts, Levin,
   Lai, synth, sharp), scores equal to ub_metrics_compute on the same files, one-line errors naming
   the file (unpaired, size mismatch, bad specs), in-memory blurs identical across runs and thread
   counts (1 vs 2), summaries (gain, worse, n/a), the JSON and CSV writers, the HTML report (its
   crop where an output differs, its images, escaping, errors); and on the shared data
   (skipped where absent), the Levin inputs' published mean of 23.25 dB. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "eval/internal.h"
#include "testutil.h"

static void write_image(ub_ctx *ctx, const char *path, int64_t w, int64_t h, int channels, uint64_t seed) {
    ub_image *img = test_image(ctx, w, h, channels, seed);
    CHECK_OK(ctx, ub_image_write(ctx, img, path, NULL));
    ub_image_destroy(&img);
}

static void make_dir(const char *path) { mkdir(path, 0777); }

/* An asymmetric kernel image (an L shape), so that a turn by 180 degrees is visible. */
static void write_kernel(ub_ctx *ctx, const char *path) {
    ub_image *k = NULL;
    CHECK_OK(ctx, ub_image_create(ctx, &k, 5, 5, 1));
    k->data[0] = 1, k->data[1] = 0.5f, k->data[5] = 0.25f, k->data[12] = 0.75f;
    CHECK_OK(ctx, ub_image_write(ctx, k, path, NULL));
    ub_image_destroy(&k);
}

static int same_image(const ub_image *a, const ub_image *b) {
    return a->width == b->width && a->height == b->height && a->channels == b->channels &&
           !memcmp(a->data, b->data, sizeof(float) * (size_t)(a->width * a->height * a->channels));
}

/* The metrics of ub_eval_run's identity rows equal ub_metrics_compute on the files. */
static void check_pair_scores(ub_ctx *ctx, const char *spec, const char *blur, const char *sharp) {
    ub_eval_set *set = NULL;
    ub_eval_method *id = NULL;
    ub_eval_results *r = NULL;
    CHECK_OK(ctx, ub_eval_set_open(ctx, spec, NULL, &set));
    CHECK_OK(ctx, ub_eval_method_create(ctx, "identity", &id));
    if (!set || !id) return;
    CHECK_OK(ctx, ub_eval_run(ctx, &set, 1, &id, 1, NULL, &r));
    ub_image *a = NULL, *b = NULL;
    CHECK_OK(ctx, ub_image_read(ctx, sharp, &a));
    CHECK_OK(ctx, ub_image_read(ctx, blur, &b));
    ub_metrics m;
    CHECK_OK(ctx, ub_metrics_compute(ctx, a, b, NULL, &m));
    const ub_eval_image *im;
    size_t n = r ? ub_eval_results_images(r, &im) : 0;
    int found = 0;
    for (size_t i = 0; i < n; i++)
        if (strstr(blur, im[i].item)) {
            found = 1;
            CHECK_MSG(im[i].psnr == m.psnr && im[i].ssim == m.ssim, "%s: %.9f/%.9f vs %.9f/%.9f", im[i].item,
                      im[i].psnr, im[i].ssim, m.psnr, m.ssim);
            CHECK(im[i].input_psnr == m.psnr);
        }
    CHECK_MSG(found, "%s: no row for %s", spec, blur);
    ub_image_destroy(&a);
    ub_image_destroy(&b);
    ub_eval_results_destroy(&r);
    ub_eval_method_destroy(&id);
    ub_eval_set_destroy(&set);
}

static ub_eval_item *load_all(const char *spec, int threads, size_t *count);
static void free_all(ub_eval_item *items, size_t n);

static void test_pairs(ub_ctx *ctx, const char *dir) {
    const char *gp = test_join(dir, "gopro");
    char gopro[512];
    snprintf(gopro, sizeof gopro, "%s", gp);
    make_dir(gopro);
    make_dir(test_join(gopro, "blur"));
    make_dir(test_join(gopro, "sharp"));
    for (int i = 0; i < 3; i++) {
        char name[64];
        snprintf(name, sizeof name, "blur/f%d.png", i);
        write_image(ctx, test_join(gopro, name), 40, 32, 3, 100 + i);
        snprintf(name, sizeof name, "sharp/f%d.png", i);
        write_image(ctx, test_join(gopro, name), 40, 32, 3, 200 + i);
    }
    char spec[600];
    snprintf(spec, sizeof spec, "pairs:%s", gopro);
    check_pair_scores(ctx, spec, test_join(gopro, "blur/f1.png"), test_join(gopro, "sharp/f1.png"));

    /* the naming layout of the GoPro authors' examples */
    const char *nm = test_join(dir, "named");
    char named[512];
    snprintf(named, sizeof named, "%s", nm);
    make_dir(named);
    write_image(ctx, test_join(named, "Flower_blur1.png"), 33, 21, 3, 5);
    write_image(ctx, test_join(named, "Flower_sharp1.png"), 33, 21, 3, 6);
    snprintf(spec, sizeof spec, "pairs:%s", named);
    check_pair_scores(ctx, spec, test_join(named, "Flower_blur1.png"), test_join(named, "Flower_sharp1.png"));

    /* limit keeps the first N in name order */
    ub_eval_set *set = NULL;
    snprintf(spec, sizeof spec, "pairs:%s:limit=2", gopro);
    CHECK_OK(ctx, ub_eval_set_open(ctx, spec, NULL, &set));
    CHECK(set && ub_eval_set_count(set) == 2 && !ub_eval_set_has_kernels(set));
    ub_eval_set_destroy(&set);
    /* step keeps every N-th from the first (f0, f2), before the limit */
    snprintf(spec, sizeof spec, "pairs:%s:step=2", gopro);
    size_t n;
    ub_eval_item *it = load_all(spec, 1, &n);
    CHECK(n == 2 && !strcmp(it[0].name, "f0") && !strcmp(it[1].name, "f2"));
    free_all(it, n);
}

/* A failing open or run: one line, naming `want`. */
static void check_error(ub_ctx *ctx, ub_status st, ub_status want_status, const char *want) {
    const char *msg = ub_last_error(ctx);
    CHECK_MSG(st == want_status, "status %d, wanted %d (%s)", st, want_status, msg);
    CHECK_MSG(strstr(msg, want) != NULL, "'%s' lacks '%s'", msg, want);
    CHECK_MSG(strchr(msg, '\n') == NULL, "'%s' is not one line", msg);
}

static void test_errors(ub_ctx *ctx, const char *dir) {
    char d[512], spec[600];
    snprintf(d, sizeof d, "%s", test_join(dir, "bad"));
    make_dir(d);
    make_dir(test_join(d, "blur"));
    make_dir(test_join(d, "sharp"));
    write_image(ctx, test_join(d, "blur/x.png"), 20, 20, 3, 1);
    ub_eval_set *set = NULL;
    snprintf(spec, sizeof spec, "pairs:%s", d);
    check_error(ctx, ub_eval_set_open(ctx, spec, NULL, &set), UB_ERR_IO, "bad/blur/x.png: no matching sharp image");
    CHECK(set == NULL);

    /* a size mismatch is found when the item is read, and named */
    write_image(ctx, test_join(d, "sharp/x.png"), 20, 22, 3, 2);
    CHECK_OK(ctx, ub_eval_set_open(ctx, spec, NULL, &set));
    ub_eval_method *id = NULL;
    CHECK_OK(ctx, ub_eval_method_create(ctx, "identity", &id));
    ub_eval_results *r = NULL;
    if (set && id) check_error(ctx, ub_eval_run(ctx, &set, 1, &id, 1, NULL, &r), UB_ERR_MISMATCH, "bad/blur/x.png: 20x20");
    CHECK(r == NULL);
    ub_eval_set_destroy(&set);

    snprintf(d, sizeof d, "%s", test_join(dir, "lonely"));
    make_dir(d);
    write_image(ctx, test_join(d, "Cat_sharp2.png"), 20, 20, 3, 1);
    snprintf(spec, sizeof spec, "pairs:%s", d);
    check_error(ctx, ub_eval_set_open(ctx, spec, NULL, &set), UB_ERR_IO, "lonely/Cat_sharp2.png: no matching blurred image");

    check_error(ctx, ub_eval_set_open(ctx, "blurry:/tmp", NULL, &set), UB_ERR_INVALID, "unknown kind");
    snprintf(spec, sizeof spec, "pairs:%s:limt=3", d);
    check_error(ctx, ub_eval_set_open(ctx, spec, NULL, &set), UB_ERR_INVALID, "unknown key 'limt'");
    snprintf(spec, sizeof spec, "pairs:%s:subpixel=1", d); /* pairs are aligned: nothing to refine */
    check_error(ctx, ub_eval_set_open(ctx, spec, NULL, &set), UB_ERR_INVALID, "subpixel=1 needs shift-tolerant");
    snprintf(spec, sizeof spec, "pairs:%s:subpixel=2", d);
    check_error(ctx, ub_eval_set_open(ctx, spec, NULL, &set), UB_ERR_INVALID, "bad value in 'subpixel=2'");
    check_error(ctx, ub_eval_set_open(ctx, "pairs:/nonexistent/eval", NULL, &set), UB_ERR_IO, "/nonexistent/eval");
    check_error(ctx, ub_eval_set_open(ctx, "gopro_dev", "/nonexistent", &set), UB_ERR_IO, "/nonexistent/gopro_dev");
    ub_eval_method *m = NULL;
    check_error(ctx, ub_eval_method_create(ctx, "sharpen", &m), UB_ERR_INVALID, "unknown");
    check_error(ctx, ub_eval_method_create(ctx, "model", &m), UB_ERR_INVALID, "model:PATH");
    CHECK(ub_eval_method_create(ctx, "model:/nonexistent.safetensors", &m) != UB_OK && m == NULL);
    CHECK(strstr(ub_last_error(ctx), "/nonexistent.safetensors") != NULL);
    check_error(ctx, ub_eval_method_create(ctx, "blind:gamma", &m), UB_ERR_INVALID, "expects linear or srgb");
    check_error(ctx, ub_eval_method_create(ctx, "wiener:x", &m), UB_ERR_INVALID, "takes no argument");
    CHECK_OK(ctx, ub_eval_method_create(ctx, "blind:srgb", &m));
    CHECK(m && !strcmp(ub_eval_method_name(m), "blind (srgb)"));
    ub_eval_method_destroy(&m);
    check_error(ctx, ub_eval_method_create(ctx, "blind-fixed:srgb", &m), UB_ERR_INVALID, "takes no argument");
    CHECK_OK(ctx, ub_eval_method_create(ctx, "blind-fixed", &m));
    CHECK(m && !strcmp(ub_eval_method_name(m), "blind-fixed"));
    ub_eval_method_destroy(&m);
    ub_eval_method_destroy(&id);
}

/* Loads every item of `spec` on a context of `threads` threads. */
static ub_eval_item *load_all(const char *spec, int threads, size_t *count) {
    ub_ctx *ctx = test_ctx(threads);
    ub_eval_set *set = NULL;
    CHECK_OK(ctx, ub_eval_set_open(ctx, spec, NULL, &set));
    *count = set ? ub_eval_set_count(set) : 0;
    ub_eval_item *items = test_calloc(*count, sizeof *items);
    for (size_t i = 0; i < *count; i++) CHECK_OK(ctx, ub_eval_set_load(ctx, set, i, &items[i]));
    ub_eval_set_destroy(&set);
    ub_ctx_destroy(&ctx);
    return items;
}

static void free_all(ub_eval_item *items, size_t n) {
    for (size_t i = 0; i < n; i++) ub_eval_item_free(&items[i]);
    free(items);
}

/* The in-memory blurs (synth, lai) are the same on 1 and 2 threads, and on a second run. */
static void check_deterministic(const char *spec) {
    size_t n1, n2, n3;
    ub_eval_item *a = load_all(spec, 1, &n1), *b = load_all(spec, 2, &n2), *c = load_all(spec, 2, &n3);
    CHECK(n1 == n2 && n2 == n3 && n1 > 0);
    for (size_t i = 0; i < n1 && i < n2 && i < n3; i++) {
        if (!a[i].input || !b[i].input || !c[i].input) continue;
        CHECK_MSG(same_image(a[i].input, b[i].input) && same_image(a[i].reference, b[i].reference),
                  "%s: item %zu differs on 1 and 2 threads", spec, i);
        CHECK_MSG(same_image(b[i].input, c[i].input), "%s: item %zu differs between runs", spec, i);
        CHECK_MSG(!same_image(a[i].input, a[i].reference), "%s: item %zu is not blurred", spec, i);
    }
    free_all(a, n1);
    free_all(b, n2);
    free_all(c, n3);
}

static void test_synth_and_sharp(ub_ctx *ctx, const char *dir) {
    char d[512], spec[600];
    snprintf(d, sizeof d, "%s", test_join(dir, "photos"));
    make_dir(d);
    write_image(ctx, test_join(d, "a.png"), 96, 80, 3, 7);
    write_image(ctx, test_join(d, "b.png"), 96, 80, 4, 8); /* alpha: dropped */
    snprintf(spec, sizeof spec, "synth:%s:preset=realistic:seed=3", d);
    check_deterministic(spec);
    size_t n;
    ub_eval_item *it = load_all(spec, 2, &n);
    CHECK(n == 2 && it[1].input && it[1].input->channels == 3 && it[1].kernel == NULL);
    free_all(it, n);
    snprintf(spec, sizeof spec, "synth:%s:preset=shake:crop=64", d);
    it = load_all(spec, 2, &n);
    CHECK(n == 2 && it[0].input && it[0].input->width == 64 && it[0].input->height == 64);
    free_all(it, n);
    ub_eval_set *set = NULL;
    snprintf(spec, sizeof spec, "synth:%s:preset=blurry", d);
    CHECK(ub_eval_set_open(ctx, spec, NULL, &set) == UB_ERR_INVALID);
    snprintf(spec, sizeof spec, "sharp:%s:preset=shake", d);
    check_error(ctx, ub_eval_set_open(ctx, spec, NULL, &set), UB_ERR_INVALID, "synth sets only");

    /* sharp: the input is the reference */
    snprintf(spec, sizeof spec, "sharp:%s", d);
    it = load_all(spec, 1, &n);
    CHECK(n == 2 && it[0].input && same_image(it[0].input, it[0].reference));
    free_all(it, n);
}

/* Levin's layout: kernels 1,2,3,5,6,7 are turned by 180 degrees, 4 and 8 are not. */
static void test_levin(ub_ctx *ctx, const char *dir) {
    char d[512], spec[600];
    snprintf(d, sizeof d, "%s", test_join(dir, "levin"));
    make_dir(d);
    make_dir(test_join(d, "blurred"));
    make_dir(test_join(d, "gt_sharp"));
    make_dir(test_join(d, "gt_kernels"));
    write_image(ctx, test_join(d, "gt_sharp/im1.png"), 40, 40, 1, 1);
    write_image(ctx, test_join(d, "blurred/im1_kernel1_img.png"), 40, 40, 1, 2);
    write_image(ctx, test_join(d, "blurred/im1_kernel4_img.png"), 40, 40, 1, 3);
    write_kernel(ctx, test_join(d, "gt_kernels/kernel1.png"));
    write_kernel(ctx, test_join(d, "gt_kernels/kernel4.png"));
    snprintf(spec, sizeof spec, "levin:%s", d);
    size_t n;
    ub_eval_item *it = load_all(spec, 1, &n);
    ub_kernel *png = NULL;
    CHECK_OK(ctx, ub_kernel_read(ctx, test_join(d, "gt_kernels/kernel1.png"), &png));
    CHECK(n == 2 && png && it[0].kernel && it[1].kernel);
    if (n == 2 && png && it[0].kernel && it[1].kernel) {
        CHECK(!strcmp(it[0].name, "im1_kernel1") && !strcmp(it[1].name, "im1_kernel4"));
        for (int i = 0; i < 25; i++) {
            CHECK(it[0].kernel->data[i] == png->data[24 - i]); /* turned */
            CHECK(it[1].kernel->data[i] == png->data[i]);      /* as stored */
        }
    }
    ub_kernel_destroy(&png);
    /* "sparse" is ub_deconv with the item's (turned) kernel and the sparse prior's defaults */
    ub_eval_method *sparse = NULL;
    CHECK_OK(ctx, ub_eval_method_create(ctx, "sparse", &sparse));
    CHECK(sparse && ub_eval_method_needs_kernel(sparse));
    if (n == 2 && sparse && it[0].kernel) {
        ub_image *got = NULL, *want = NULL;
        ub_deconv_params dp;
        ub_deconv_default(&dp, UB_DECONV_SPARSE);
        CHECK_OK(ctx, ub_eval_method_run(ctx, sparse, &it[0], &got));
        CHECK_OK(ctx, ub_deconv(ctx, it[0].input, it[0].kernel, &dp, &want));
        CHECK(got && want && !memcmp(got->data, want->data, sizeof(float) * (size_t)got->width * (size_t)got->height));
        ub_image_destroy(&got);
        ub_image_destroy(&want);
    }
    ub_eval_method_destroy(&sparse);
    free_all(it, n);
    ub_eval_set *set = NULL;
    CHECK_OK(ctx, ub_eval_set_open(ctx, spec, NULL, &set));
    ub_metrics_options mo;
    if (set) ub_eval_set_metrics_options(set, &mo);
    CHECK(set && ub_eval_set_has_kernels(set) && mo.shift == 10 && mo.crop == 10);
    ub_eval_set_destroy(&set);
}

/* Lai's recipe: reference convolved with the kernel (reflect borders), noise of sigma 0.01, clipped. */
static void test_lai(ub_ctx *ctx, const char *dir) {
    char d[512], spec[600];
    snprintf(d, sizeof d, "%s", test_join(dir, "lai"));
    make_dir(d);
    make_dir(test_join(d, "sharp"));
    make_dir(test_join(d, "kernels"));
    write_image(ctx, test_join(d, "sharp/p1.png"), 64, 48, 3, 11);
    write_image(ctx, test_join(d, "sharp/p2.png"), 64, 48, 3, 12);
    write_kernel(ctx, test_join(d, "kernels/kernel_01.png"));
    write_image(ctx, test_join(d, "kernels/kernel_02.png"), 7, 7, 3, 13);
    snprintf(spec, sizeof spec, "lai:%s", d);
    check_deterministic(spec);
    size_t n;
    ub_eval_item *it = load_all(spec, 2, &n);
    CHECK(n == 4 && !strcmp(it[1].name, "p1_kernel_02") && !strcmp(it[2].name, "p2_kernel_01"));
    size_t n2;
    snprintf(spec, sizeof spec, "lai:%s:step=2", d); /* p1 with both kernels, the same items as unselected */
    ub_eval_item *sel = load_all(spec, 1, &n2);
    CHECK(n2 == 2 && n == 4 && same_image(sel[1].input, it[1].input));
    free_all(sel, n2);
    snprintf(spec, sizeof spec, "lai:%s:limit=1", d);
    sel = load_all(spec, 1, &n2);
    CHECK(n2 == 2);
    free_all(sel, n2);
    ub_image *clean = NULL;
    if (n == 4 && it[0].kernel) CHECK_OK(ctx, ub_convolve(ctx, it[0].reference, it[0].kernel, UB_BORDER_REFLECT, &clean));
    if (clean) {
        size_t count = (size_t)(clean->width * clean->height * clean->channels);
        double sum2 = 0;
        for (size_t i = 0; i < count; i++) {
            double e = it[0].input->data[i] - clean->data[i];
            sum2 += e * e;
            CHECK(it[0].input->data[i] >= 0 && it[0].input->data[i] <= 1);
        }
        double sigma = sqrt(sum2 / (double)count);
        CHECK_MSG(sigma > 0.008 && sigma < 0.012, "noise sigma %.4f", sigma);
    }
    ub_image_destroy(&clean);
    free_all(it, n);
}

/* Summaries: means of the image rows, the gain over the input, the worse count, n/a rows. */
static void test_summaries(ub_ctx *ctx, const char *dir) {
    char spec[600];
    snprintf(spec, sizeof spec, "pairs:%s", test_join(dir, "gopro"));
    ub_eval_set *set = NULL;
    CHECK_OK(ctx, ub_eval_set_open(ctx, spec, NULL, &set));
    ub_rbnet_config c;
    ub_rbnet_default(&c);
    c.width = 4, c.blocks = 1, c.mid_blocks = 1;
    ub_rng rng;
    ub_rng_seed(&rng, 1);
    ub_model *model = NULL;
    CHECK_OK(ctx, ub_model_create(ctx, &c, &rng, &model));
    ub_eval_method *m[3] = {NULL};
    CHECK_OK(ctx, ub_eval_method_create(ctx, "identity", &m[0]));
    CHECK_OK(ctx, ub_eval_method_from_model(ctx, "random", model, &m[1]));
    CHECK_OK(ctx, ub_eval_method_create(ctx, "wiener", &m[2]));
    ub_eval_results *r = NULL;
    if (set && m[0] && m[1] && m[2]) CHECK_OK(ctx, ub_eval_run(ctx, &set, 1, m, 3, NULL, &r));
    if (r) {
        const ub_eval_summary *s;
        const ub_eval_image *im;
        CHECK(ub_eval_results_summaries(r, &s) == 3 && ub_eval_results_images(r, &im) == 9);
        double psnr = 0, gain = 0;
        size_t worse = 0;
        for (int i = 0; i < 9; i++)
            if (!strcmp(im[i].method, "random")) {
                psnr += im[i].psnr / 3, gain += (im[i].psnr - im[i].input_psnr) / 3;
                worse += im[i].psnr < im[i].input_psnr;
            }
        CHECK(!strcmp(s[1].method, "random") && s[1].count == 3 && s[1].applicable);
        CHECK_NEAR(s[1].psnr, psnr, 1e-9);
        CHECK_NEAR(s[1].gain_psnr, gain, 1e-9);
        CHECK(s[1].worse == worse);
        CHECK(s[0].gain_psnr == 0 && s[0].worse == 0);
        CHECK(!s[2].applicable && isnan(im[2].psnr) && !im[2].applicable);
        char *md = NULL;
        CHECK_OK(ctx, ub_eval_format_markdown(ctx, r, &md));
        CHECK(md && strstr(md, "| pairs:gopro | wiener | 3 | n/a") && strstr(md, "| pairs:gopro | identity | 3 |"));
        free(md);
        const char *json = test_join(dir, "r.json"), *csv = test_join(dir, "r.csv");
        CHECK_OK(ctx, ub_eval_write_json(ctx, r, json));
        json_error_t err;
        json_t *root = json_load_file(json, 0, &err);
        CHECK_MSG(root && json_array_size(json_object_get(root, "images")) == 9, "%s", err.text);
        json_decref(root);
        CHECK_OK(ctx, ub_eval_write_csv(ctx, r, test_join(dir, "r.csv")));
        FILE *f = fopen(csv, "r");
        int lines = 0;
        for (int ch; f && (ch = fgetc(f)) != EOF;) lines += ch == '\n';
        if (f) fclose(f);
        CHECK_MSG(lines == 10, "csv: %d lines", lines);
    }
    ub_eval_results_destroy(&r);
    for (int i = 0; i < 3; i++) ub_eval_method_destroy(&m[i]);
    ub_model_destroy(&model);
    ub_eval_set_destroy(&set);
}

static char *read_text(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *t = calloc(1, 1 << 22);
    if (t) t[fread(t, 1, (1 << 22) - 1, f)] = 0;
    fclose(f);
    return t;
}

static int count_of(const char *text, const char *what) {
    int n = 0;
    for (const char *p = text; (p = strstr(p, what)); p += strlen(what)) n++;
    return n;
}

/* The HTML report: a saved output changed in a 20x20 square puts the crop over that square; one
   JPEG thumbnail and one PNG crop per column; names escaped; no outputs folder: "not saved"; a
   missing curve or other sets: an error and no file. */
static void test_report(ub_ctx *ctx, const char *dir) {
    char set_dir[512], saved[512], html[512], spec[600];
    snprintf(set_dir, sizeof set_dir, "%s", test_join(dir, "rep&<x>"));
    snprintf(saved, sizeof saved, "%s", test_join(dir, "rep_saved"));
    snprintf(html, sizeof html, "%s", test_join(dir, "r.html"));
    make_dir(set_dir);
    make_dir(test_join(set_dir, "blur"));
    make_dir(test_join(set_dir, "sharp"));
    write_image(ctx, test_join(set_dir, "blur/a.png"), 256, 200, 3, 7);
    write_image(ctx, test_join(set_dir, "sharp/a.png"), 256, 200, 3, 8);
    snprintf(spec, sizeof spec, "pairs:%s", set_dir);
    ub_eval_set *set = NULL;
    ub_eval_method *m = NULL;
    ub_eval_results *r = NULL;
    CHECK_OK(ctx, ub_eval_set_open(ctx, spec, NULL, &set));
    CHECK_OK(ctx, ub_eval_method_create(ctx, "identity", &m));
    ub_eval_options o = {.save_dir = saved};
    if (set && m) CHECK_OK(ctx, ub_eval_run(ctx, &set, 1, &m, 1, &o, &r));
    if (!r) goto done;
    /* the identity's saved output, changed in the square [180, 200) x [130, 150) */
    const char *out = test_join(saved, "pairs_rep__x_/identity/a.png");
    ub_image *img = NULL;
    CHECK_OK(ctx, ub_image_read(ctx, out, &img));
    if (img) {
        for (int c = 0; c < 3; c++)
            for (int y = 130; y < 150; y++)
                for (int x = 180; x < 200; x++) ub_image_plane(img, c)[y * 256 + x] = 1 - ub_image_plane(img, c)[y * 256 + x];
        CHECK_OK(ctx, ub_image_write(ctx, img, out, NULL));
        ub_image_destroy(&img);
    }
    ub_eval_report_options ro = {.outputs_dir = saved};
    CHECK_OK(ctx, ub_eval_write_report(ctx, r, &set, 1, &ro, html));
    char *t = read_text(html);
    CHECK(t != NULL);
    if (t) {
        const char *at = strstr(t, "crop at (");
        int x = -1, y = -1;
        CHECK(at && sscanf(at, "crop at (%d, %d)", &x, &y) == 2);
        CHECK_MSG(x <= 180 && x + 96 >= 200 && y <= 130 && y + 96 >= 150, "crop at (%d, %d)", x, y);
        CHECK(count_of(t, "data:image/jpeg;base64,") == 3 && count_of(t, "data:image/png;base64,") == 3);
        CHECK(strstr(t, "<td>pairs:rep&amp;&lt;x&gt;</td><td>identity</td><td>1</td>") && !strstr(t, "rep&<x>"));
        free(t);
    }
    ro.outputs_dir = NULL;
    CHECK_OK(ctx, ub_eval_write_report(ctx, r, &set, 1, &ro, html));
    t = read_text(html);
    CHECK(t && strstr(t, "not saved") && count_of(t, "data:image/jpeg;base64,") == 2);
    free(t);
    remove(html);
    ro.curve_svg = test_join(dir, "nope.svg");
    CHECK(ub_eval_write_report(ctx, r, &set, 1, &ro, html) == UB_ERR_IO && strstr(ub_last_error(ctx), "nope.svg"));
    ro.curve_svg = NULL;
    ub_eval_set *other = NULL;
    snprintf(spec, sizeof spec, "pairs:%s", test_join(dir, "gopro"));
    CHECK_OK(ctx, ub_eval_set_open(ctx, spec, NULL, &other));
    if (other) CHECK(ub_eval_write_report(ctx, r, &other, 1, &ro, html) == UB_ERR_INVALID);
    ub_eval_set_destroy(&other);
    struct stat sb;
    CHECK(stat(html, &sb) != 0);
done:
    ub_eval_results_destroy(&r);
    ub_eval_method_destroy(&m);
    ub_eval_set_destroy(&set);
}

/* The shift-tolerant score: PSNR searched like ub_metrics_compute (the same value and offset), SSIM
   climbed from there to the same best as the full search on a shifted, blurred copy. */
static void test_score(ub_ctx *ctx) {
    ub_image *ref = test_image(ctx, 64, 52, 3, 21), *img = NULL, *moved = NULL;
    ub_kernel *k = NULL;
    CHECK_OK(ctx, ub_kernel_gaussian(ctx, 1.2, &k));
    CHECK_OK(ctx, ub_convolve(ctx, ref, k, UB_BORDER_REFLECT, &img));
    CHECK_OK(ctx, ub_image_clone(ctx, img, &moved));
    if (!moved) return;
    for (int c = 0; c < 3; c++) /* img(x + 2, y - 1) = blurred(x, y) */
        for (int64_t y = 1; y < 52; y++)
            for (int64_t x = 0; x + 2 < 64; x++)
                ub_image_plane(moved, c)[y * 64 + x + 2] = ub_image_plane(img, c)[(y - 1) * 64 + x];
    for (int shift = 0; shift <= 4; shift += 4) {
        ub_metrics_options o = {.shift = shift, .crop = 4};
        ub_metrics a, b;
        CHECK_OK(ctx, ub__eval_score(ctx, ref, moved, &o, &a));
        CHECK_OK(ctx, ub_metrics_compute(ctx, ref, moved, &o, &b));
        CHECK_MSG(a.psnr == b.psnr && a.psnr_dx == b.psnr_dx && a.psnr_dy == b.psnr_dy, "shift %d: %.9f (%d,%d) vs %.9f (%d,%d)",
                  shift, a.psnr, a.psnr_dx, a.psnr_dy, b.psnr, b.psnr_dx, b.psnr_dy);
        CHECK_MSG(a.ssim == b.ssim && a.ssim_dx == b.ssim_dx && a.ssim_dy == b.ssim_dy, "shift %d: ssim %.9f vs %.9f", shift,
                  a.ssim, b.ssim);
    }
    CHECK(ub__eval_score(ctx, ref, moved, &(ub_metrics_options){.shift = 4, .crop = 2}, &(ub_metrics){0}) == UB_ERR_INVALID);
    ub_kernel_destroy(&k);
    ub_image_destroy(&ref);
    ub_image_destroy(&img);
    ub_image_destroy(&moved);
}

typedef struct progress_log {
    size_t calls, last_done, total, cancel_at;
} progress_log;

static int on_progress(void *user, size_t done, size_t total, const char *set, const char *method, const char *item) {
    progress_log *p = user;
    CHECK(set && method && item && done <= total);
    p->calls++, p->last_done = done, p->total = total;
    return p->cancel_at && done >= p->cancel_at;
}

/* Progress: one call per (method, image) run, ending at total; a non-zero return cancels. */
static void test_progress(ub_ctx *ctx, const char *dir) {
    char spec[600];
    snprintf(spec, sizeof spec, "pairs:%s", test_join(dir, "gopro"));
    ub_eval_set *set = NULL;
    ub_eval_method *m[2] = {NULL};
    CHECK_OK(ctx, ub_eval_set_open(ctx, spec, NULL, &set));
    CHECK_OK(ctx, ub_eval_method_create(ctx, "identity", &m[0]));
    CHECK_OK(ctx, ub_eval_method_create(ctx, "rl", &m[1]));
    if (!set || !m[0] || !m[1]) return;
    progress_log log = {0};
    ub_eval_options o = {.progress = on_progress, .progress_user = &log};
    ub_eval_results *r = NULL;
    CHECK_OK(ctx, ub_eval_run(ctx, &set, 1, m, 2, &o, &r));
    CHECK(log.calls == 6 && log.last_done == 6 && log.total == 6);
    ub_eval_results_destroy(&r);
    log = (progress_log){.cancel_at = 3};
    CHECK(ub_eval_run(ctx, &set, 1, m, 2, &o, &r) == UB_ERR_CANCELLED && r == NULL && log.calls == 3);
    ub_eval_method_destroy(&m[0]);
    ub_eval_method_destroy(&m[1]);
    ub_eval_set_destroy(&set);
}

/* The real Levin set: the blurred inputs score 23.25 dB on average (shift-tolerant, as published). */
static void test_levin_real(void) {
    char buf[1024];
    const char *root = test_shared_path("levin2009", buf, sizeof buf);
    if (!root) return;
    ub_ctx *ctx = test_ctx(0);
    ub_eval_set *set = NULL;
    ub_eval_method *id = NULL;
    ub_eval_results *r = NULL;
    char spec[1100];
    snprintf(spec, sizeof spec, "levin:%s", root);
    CHECK_OK(ctx, ub_eval_set_open(ctx, spec, NULL, &set));
    CHECK_OK(ctx, ub_eval_method_create(ctx, "identity", &id));
    if (set && id) CHECK_OK(ctx, ub_eval_run(ctx, &set, 1, &id, 1, NULL, &r));
    if (r) {
        const ub_eval_summary *s;
        ub_eval_results_summaries(r, &s);
        CHECK(s[0].count == 32);
        CHECK_MSG(fabs(s[0].psnr - 23.25) < 0.005, "Levin inputs: %.4f dB", s[0].psnr);
        printf("Levin inputs: %.4f dB, SSIM %.4f\n", s[0].psnr, s[0].ssim);
    }
    ub_eval_results_destroy(&r);
    ub_eval_method_destroy(&id);
    ub_eval_set_destroy(&set);
    ub_ctx_destroy(&ctx);
}

/* ub_deblur_auto routes by the blind step's decision: on a sharp image the blind deconvolution declines
   (returns its input) and the output is the model's, bit for bit; on a 15 px shake it acts and its output
   is kept. A random W8 model stands in for a trained one (only the routing is tested here). */
static void test_auto(ub_ctx *ctx) {
    ub_rbnet_config c;
    ub_rbnet_default(&c);
    c.width = 8, c.blocks = 1;
    ub_rng r;
    ub_rng_seed(&r, 5);
    ub_model *m = NULL;
    CHECK_OK(ctx, ub_model_create(ctx, &c, &r, &m));
    ub_image *sharp = test_shapes(ctx, 160, 128, 3, 7), *blurry = NULL, *net = NULL, *blind = NULL, *out = NULL;
    ub_trajectory *t = NULL;
    ub_kernel *k = NULL;
    CHECK_OK(ctx, ub_trajectory_linear(ctx, 15.0, 0.6, 200, &t));
    CHECK_OK(ctx, ub_kernel_from_trajectory(ctx, t, 0, &k));
    CHECK_OK(ctx, ub_convolve(ctx, sharp, k, UB_BORDER_REFLECT, &blurry));
    int used_blind = -1;
    CHECK_OK(ctx, ub_deblur_auto(ctx, m, sharp, 0, &out, &used_blind));
    CHECK_OK(ctx, ub_model_run_tiled(m, sharp, UB_MODEL_TILE_DEFAULT, &net));
    CHECK(used_blind == 0);
    CHECK(out && net && !memcmp(out->data, net->data, sizeof(float) * 3 * 160 * 128));
    ub_image_destroy(&out);
    ub_blind_params bp;
    ub_blind_default(&bp);
    bp.check_uniform = 1; /* as ub_deblur_auto runs it (quarters this small are not checked) */
    CHECK_OK(ctx, ub_deblur_auto(ctx, m, blurry, 0, &out, &used_blind));
    CHECK_OK(ctx, ub_deblur_blind(ctx, blurry, &bp, NULL, NULL, &blind, NULL));
    CHECK(used_blind == 1);
    CHECK(out && blind && !memcmp(out->data, blind->data, sizeof(float) * 3 * 160 * 128));
    CHECK(out && memcmp(out->data, blurry->data, sizeof(float) * 3 * 160 * 128)); /* it did act */
    ub_image *kept = NULL; /* no model: the input where blind declines */
    CHECK_OK(ctx, ub_deblur_auto(ctx, NULL, sharp, 0, &kept, &used_blind));
    CHECK(used_blind == 0 && kept && !memcmp(kept->data, sharp->data, sizeof(float) * 3 * 160 * 128));
    CHECK(ub_deblur_auto(ctx, m, NULL, 0, &kept, NULL) == UB_ERR_INVALID);
    /* too small (12 x 12) or too thin (400 x 20) for any kernel: the fallback, not an error */
    const int sizes[2][2] = {{12, 12}, {400, 20}};
    for (int i = 0; i < 2; i++) {
        ub_image *small = test_shapes(ctx, sizes[i][0], sizes[i][1], 3, 9), *a = NULL, *b = NULL;
        CHECK(!ub_blind_fits(small->width, small->height, NULL));
        CHECK_OK(ctx, ub_deblur_auto(ctx, m, small, 0, &a, &used_blind));
        CHECK_OK(ctx, ub_model_run_tiled(m, small, UB_MODEL_TILE_DEFAULT, &b));
        const size_t bytes = sizeof(float) * 3 * (size_t)sizes[i][0] * (size_t)sizes[i][1];
        CHECK(used_blind == 0 && a && b && !memcmp(a->data, b->data, bytes));
        ub_image_destroy(&a);
        CHECK_OK(ctx, ub_deblur_auto(ctx, NULL, small, 0, &a, NULL));
        CHECK(a && !memcmp(a->data, small->data, bytes));
        ub_image_destroy(&a);
        ub_image_destroy(&b);
        ub_image_destroy(&small);
    }
    CHECK(ub_blind_fits(160, 128, NULL) && ub_blind_fits(16 + 16, 32, &bp) == 1);
    bp.kernel_size = 21;
    CHECK(!ub_blind_fits(41, 100, &bp) && ub_blind_fits(42, 100, &bp));
    ub_image *imgs[] = {sharp, blurry, net, blind, out, kept};
    for (size_t i = 0; i < sizeof imgs / sizeof *imgs; i++) ub_image_destroy(&imgs[i]);
    ub_trajectory_destroy(&t);
    ub_kernel_destroy(&k);
    ub_model_destroy(&m);
}

int main(void) {
    ub_ctx *ctx = test_ctx(2);
    char dir[512];
    snprintf(dir, sizeof dir, "%s", test_tmpdir("eval"));
    test_pairs(ctx, dir);
    test_errors(ctx, dir);
    test_synth_and_sharp(ctx, dir);
    test_levin(ctx, dir);
    test_lai(ctx, dir);
    test_summaries(ctx, dir);
    test_score(ctx);
    test_progress(ctx, dir);
    test_report(ctx, dir);
    test_auto(ctx);
    ub_ctx_destroy(&ctx);
    test_levin_real();
    return test_finish("test_eval");
}
