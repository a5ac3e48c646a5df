/* tests/test_train.c — the training run (src/train/train.c) on a tiny RBNet (W 4, N 1) and a folder of four
   small images made here: the config's JSON round trip and refusal of unknown keys; a smoke run whose loss falls
   and whose validation PSNR ends above the blurry input's (real pairs found in both layouts; curve.svg drawn); a
   run stopped by the stop flag (as a signal does) at step N and resumed to 2N equals, bit for bit, a run of 2N
   steps (with and without the data thread) (and its log.csv drops rows after the checkpoint); a huge learning
   rate stops the run with a "not finite" message and leaves a finite checkpoint of the last good step; resuming
   with another width or seed is refused with a message naming the key; a perceptual loss on random VGG weights
   adds to the loss. */
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nn/loss.h"
#include "nn/safetensors.h"
#include "testutil.h"
#include "train/train.h"

static char root[512];

static const char *at(const char *rel) { return test_join(root, rel); }

static void write_image(ub_ctx *ctx, const char *rel, int64_t w, int64_t h, uint64_t seed) {
    ub_image *img = test_image(ctx, w, h, 3, seed);
    ub_write_options o;
    ub_default_write_options(&o);
    if (ub_image_write(ctx, img, at(rel), &o) != UB_OK) {
        fprintf(stderr, "%s\n", ub_last_error(ctx));
        exit(1);
    }
    ub_image_destroy(&img);
}

static void make_fixture(ub_ctx *ctx) {
    snprintf(root, sizeof root, "%s", test_tmpdir("train"));
    if (mkdir(at("data"), 0755) != 0 || mkdir(at("val"), 0755) != 0) {
        perror(root);
        exit(1);
    }
    for (int i = 0; i < 4; i++) {
        char name[32];
        snprintf(name, sizeof name, "data/img%d.png", i);
        write_image(ctx, name, 80 + 8 * i, 72, 10 + (uint64_t)i);
    }
    if (mkdir(at("pairs"), 0755) != 0 || mkdir(at("pairs/blur"), 0755) != 0 || mkdir(at("pairs/sharp"), 0755) != 0) {
        perror(root);
        exit(1);
    }
    /* real pairs in both layouts; an unpaired "blur" image and a lone sharp one are left out */
    write_image(ctx, "pairs/x_blur1.png", 48, 40, 31);
    write_image(ctx, "pairs/x_sharp1.png", 48, 40, 32);
    write_image(ctx, "pairs/blur/y.png", 40, 48, 33);
    write_image(ctx, "pairs/sharp/y.png", 40, 48, 34);
    write_image(ctx, "pairs/blur/z.png", 40, 40, 35);
    write_image(ctx, "val/a.png", 64, 56, 21);
    write_image(ctx, "val/b.png", 56, 64, 22);
}

static void remove_tree(const char *path) {
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", path);
}

static void tiny_config(ub__train_config *c, const char *run) {
    ub_train_config_default(c);
    snprintf(c->data, sizeof c->data, "%s", at("data"));
    snprintf(c->val, sizeof c->val, "%s", at("val"));
    snprintf(c->run, sizeof c->run, "%s", at(run));
    snprintf(c->preset, sizeof c->preset, "linear");
    c->width = 4, c->blocks = 1, c->depth = 2, c->patch = 32, c->batch = 2;
    c->steps = 40, c->warmup = 4, c->lr = 3e-3, c->min_lr = 1e-4, c->ema_decay = 0.9;
    c->workers = 2, c->checkpoint_seconds = 1e9, c->val_every = 1000, c->val_patch = 32;
}

static void test_config_json(ub_ctx *ctx) {
    ub__train_config a, b;
    tiny_config(&a, "run-json");
    a.lr = 1.25e-3, a.seed = 1234567890123ll;
    snprintf(a.val_sets, sizeof a.val_sets, "reds_dev:crop=128,pairs:x/y");
    snprintf(a.data_root, sizeof a.data_root, "data");
    snprintf(a.init_from, sizeof a.init_from, "m.safetensors");
    char *text = ub_train_config_to_json(&a);
    CHECK(text != NULL);
    ub_train_config_default(&b);
    CHECK_OK(ctx, ub_train_config_from_json(ctx, text, "config.json", &b));
    char *again = ub_train_config_to_json(&b);
    CHECK(again && strcmp(text, again) == 0);
    CHECK(b.lr == 1.25e-3 && b.seed == 1234567890123ll && b.width == 4);
    CHECK(!strcmp(b.val_sets, a.val_sets) && !strcmp(b.data_root, "data") && !strcmp(b.init_from, "m.safetensors"));
    free(text), free(again);
    /* an older run's config.json (no val_sets, data_root, init_from) still reads: the defaults, none */
    ub__train_config old;
    ub_train_config_default(&old);
    CHECK_OK(ctx, ub_train_config_from_json(ctx, "{\"width\": 8}", "old.json", &old));
    CHECK(old.val_sets[0] == '\0' && old.data_root[0] == '\0' && old.init_from[0] == '\0');
    CHECK(ub_train_config_from_json(ctx, "{\"width\": 8, \"wdith\": 8}", "t.json", &b) == UB_ERR_INVALID);
    CHECK_MSG(strstr(ub_last_error(ctx), "unknown key 'wdith'") != NULL, "%s", ub_last_error(ctx));
    CHECK(ub_train_config_from_json(ctx, "{\"width\": \"8\"}", "t.json", &b) == UB_ERR_INVALID);
    CHECK(strstr(ub_last_error(ctx), "width") != NULL);
    CHECK(ub_train_config_from_json(ctx, "{\"optimizer\": \"sgd\"}", "t.json", &b) == UB_OK);
    CHECK(ub_train_config_check(ctx, &b) == UB_ERR_INVALID && strstr(ub_last_error(ctx), "optimizer") != NULL);
    snprintf(b.optimizer, sizeof b.optimizer, "adam");
    CHECK_OK(ctx, ub_train_config_check(ctx, &b));
    b.loss[0] = 'x';
    CHECK(ub_train_config_check(ctx, &b) == UB_ERR_INVALID && strstr(ub_last_error(ctx), "loss") != NULL);
}

typedef struct recorder {
    double loss[256];
    long count;
    long stop_after; /* sets *flag after this step (0: never) */
    volatile sig_atomic_t *flag;
} recorder;

static int record(void *user, const ub__train_stats *s) {
    recorder *r = user;
    if (r->count < 256) r->loss[r->count++] = s->loss;
    if (r->stop_after > 0 && s->step >= r->stop_after) *r->flag = 1;
    return 0;
}

static double mean(const double *x, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += x[i];
    return s / n;
}

/* The SVG has the two loss lines, the two PSNR lines and one point per validation (1 here). */
static void check_curve(const char *path) {
    FILE *fp = fopen(path, "r");
    CHECK(fp != NULL);
    if (!fp) return;
    static char text[1 << 16];
    size_t len = fread(text, 1, sizeof text - 1, fp);
    fclose(fp);
    text[len] = '\0';
    int lines = 0, points = 0;
    for (const char *p = text; (p = strstr(p, "<polyline")) != NULL; p++) lines++;
    for (const char *p = text; (p = strstr(p, "<circle")) != NULL; p++) points++;
    CHECK(strncmp(text, "<svg", 4) == 0 && strstr(text, "</svg>") != NULL);
    CHECK_MSG(lines == 4 && points == 1, "%s: %d lines, %d points", path, lines, points);
}

static void test_smoke(ub_ctx *ctx) {
    ub__train_config c;
    tiny_config(&c, "run-smoke");
    c.steps = 100;
    snprintf(c.val_pairs, sizeof c.val_pairs, "%s", at("pairs"));
    ub__train *t = NULL;
    CHECK_OK(ctx, ub_train_open(ctx, &c, 0, NULL, &t));
    if (!t) return;
    int images, skipped, nval;
    ub_train_data_counts(t, &images, &skipped, &nval);
    CHECK(images == 4 && skipped == 0 && nval == 2);
    recorder r = {{0}, 0, 0, NULL};
    ub_train_outcome out = UB_TRAIN_STOPPED;
    CHECK_OK(ctx, ub_train_run(t, 0, NULL, record, &r, &out));
    CHECK(out == UB_TRAIN_DONE && r.count == c.steps && ub_train_steps_done(t) == c.steps);
    double first = mean(r.loss, 5), last = mean(r.loss + r.count - 5, 5);
    double psnr, ssim, in_psnr, in_ssim;
    ub_train_last_val(t, &psnr, &ssim, &in_psnr, &in_ssim);
    printf("smoke: loss %.5f -> %.5f; validation PSNR %.3f dB (blurry input %.3f), SSIM %.4f (input %.4f)\n",
           first, last, psnr, in_psnr, ssim, in_ssim);
    CHECK_MSG(last < 0.8 * first, "loss %g -> %g", first, last);
    CHECK(isfinite(psnr) && isfinite(in_psnr) && in_psnr > 10);
    /* measured (1 thread): 25.70 dB -> 25.9 after 100 steps; the blur of the linear preset is mild on 32 px */
    CHECK_MSG(psnr > in_psnr + 0.05, "validation PSNR %.3f dB, blurry input %.3f dB", psnr, in_psnr);
    int pairs = 0;
    ub_train_last_real_val(t, &pairs, &psnr, &ssim, &in_psnr, &in_ssim);
    printf("smoke: real pairs: %d, PSNR %.3f dB (input %.3f)\n", pairs, psnr, in_psnr);
    CHECK(pairs == 2 && isfinite(psnr) && isfinite(ssim) && isfinite(in_psnr) && in_psnr < 30);
    ub_train_close(&t);
    /* the run folder */
    struct stat sb;
    const char *files[] = {"run-smoke/config.json", "run-smoke/log.csv", "run-smoke/model.safetensors",
                           "run-smoke/checkpoint.safetensors", "run-smoke/curve.svg"};
    for (int i = 0; i < 5; i++) CHECK_MSG(stat(at(files[i]), &sb) == 0 && sb.st_size > 0, "%s", files[i]);
    check_curve(at("run-smoke/curve.svg"));
    ub_model *m = NULL;
    CHECK_OK(ctx, ub_model_load(ctx, at("run-smoke/model.safetensors"), &m));
    ub_model_destroy(&m);
}

/* Runs `c` from scratch (resume 0) or from its checkpoint, stopping by the flag after stop_after steps. */
static float *run_copy(ub_ctx *ctx, const ub__train_config *c, int resume, long stop_after, long *done,
                       ub_train_outcome *out) {
    ub__train *t = NULL;
    volatile sig_atomic_t flag = 0;
    recorder r = {{0}, 0, stop_after, &flag};
    CHECK_OK(ctx, ub_train_open(ctx, c, resume, NULL, &t));
    if (!t) return NULL;
    CHECK_OK(ctx, ub_train_run(t, 0, &flag, record, &r, out));
    size_t n = ub_train_param_count(t);
    float *w = malloc(2 * n * sizeof(float));
    memcpy(w, ub__train_params(t), n * sizeof(float));
    memcpy(w + n, ub__train_ema(t), n * sizeof(float));
    *done = ub_train_steps_done(t);
    ub_train_close(&t);
    return w;
}

/* NAF blocks (block naf, M 2, skip attention se): a run of a few steps on the fast executor, the model file
   with block / skip_attention metadata, loadable; a resume that changes the block kind is refused. */
static void test_naf(ub_ctx *ctx) {
    ub__train_config c;
    tiny_config(&c, "run-naf");
    c.steps = 4, c.mid_blocks = 2, c.val[0] = '\0';
    snprintf(c.block, sizeof c.block, "naf");
    snprintf(c.skip_attention, sizeof c.skip_attention, "se");
    CHECK_OK(ctx, ub_train_config_check(ctx, &c));
    long done = 0;
    ub_train_outcome out;
    float *w = run_copy(ctx, &c, 0, 0, &done, &out);
    CHECK(w && out == UB_TRAIN_DONE && done == 4);
    ub_model *m = NULL;
    CHECK_OK(ctx, ub_model_load(ctx, at("run-naf/model.safetensors"), &m));
    if (m) {
        ub_rbnet_config a;
        ub_model_config(m, &a);
        CHECK(a.block == UB_RBNET_BLOCK_NAF && a.skip_attention == UB_RBNET_SKIP_SE && a.mid_blocks == 2);
    }
    ub_model_destroy(&m);
    free(w);
    ub__train *t = NULL;
    snprintf(c.block, sizeof c.block, "res");
    CHECK(ub_train_open(ctx, &c, 1, NULL, &t) == UB_ERR_MISMATCH && t == NULL);
    CHECK_MSG(strstr(ub_last_error(ctx), "block is naf in the checkpoint, res in this run") != NULL, "%s",
              ub_last_error(ctx));
    snprintf(c.block, sizeof c.block, "dense");
    CHECK(ub_train_config_check(ctx, &c) == UB_ERR_INVALID && strstr(ub_last_error(ctx), "block"));
}

/* log.csv has a header, then exactly the rows of steps 1..steps in order. */
static void check_log_steps(const char *path, long steps) {
    FILE *fp = fopen(path, "r");
    CHECK(fp != NULL);
    if (!fp) return;
    char line[512];
    long rows = 0, ok = 1;
    CHECK(fgets(line, sizeof line, fp) && strncmp(line, "step,loss,lr,images_per_s", 25) == 0);
    while (fgets(line, sizeof line, fp)) ok &= atol(line) == ++rows;
    fclose(fp);
    CHECK_MSG(ok && rows == steps, "%s: %ld rows, in order: %ld", path, rows, ok);
}

static void test_resume(ub_ctx *ctx) {
    ub__train_config a, b;
    tiny_config(&a, "run-a");
    tiny_config(&b, "run-b");
    a.steps = b.steps = 12;
    a.prefetch = 1; /* the data thread makes the same batches: a and b must still agree */
    a.val[0] = b.val[0] = '\0';
    long done = 0;
    ub_train_outcome out;
    float *half = run_copy(ctx, &a, 0, 6, &done, &out);
    CHECK(out == UB_TRAIN_STOPPED && done == 6);
    /* a row of a step after the checkpoint, as a run killed before its next checkpoint leaves */
    FILE *fp = fopen(at("run-a/log.csv"), "a");
    CHECK(fp && fputs("7,0.5,0.001,10,,,,\n", fp) >= 0 && fclose(fp) == 0);
    float *resumed = run_copy(ctx, &a, 1, 0, &done, &out);
    check_log_steps(at("run-a/log.csv"), 12);
    CHECK(out == UB_TRAIN_DONE && done == 12);
    float *straight = run_copy(ctx, &b, 0, 0, &done, &out);
    CHECK(out == UB_TRAIN_DONE && done == 12);
    ub_rbnet_config arch = {4, 1, 1, 2, 8, 7, UB_RBNET_BLOCK_RES, UB_RBNET_SKIP_BOTH};
    ub_rng rng;
    ub_rng_seed(&rng, 1);
    ub_model *m = NULL;
    CHECK_OK(ctx, ub_model_create(ctx, &arch, &rng, &m));
    size_t n = m ? ub_model_parameters(m) : 0;
    ub_model_destroy(&m);
    if (half && resumed && straight && n > 0) {
        CHECK_MSG(memcmp(resumed, straight, 2 * n * sizeof(float)) == 0, "resumed run differs from a straight one");
        CHECK(memcmp(half, straight, n * sizeof(float)) != 0);
    }
    free(half), free(resumed), free(straight);

    /* a checkpoint of another architecture or seed is refused, naming the key */
    ub__train *t = NULL;
    a.width = 8;
    CHECK(ub_train_open(ctx, &a, 1, NULL, &t) == UB_ERR_MISMATCH && t == NULL);
    CHECK_MSG(strstr(ub_last_error(ctx), "width is 4 in the checkpoint, 8 in this run") != NULL, "%s",
              ub_last_error(ctx));
    a.width = 4, a.seed = 99;
    CHECK(ub_train_open(ctx, &a, 1, NULL, &t) == UB_ERR_MISMATCH && t == NULL);
    CHECK_MSG(strstr(ub_last_error(ctx), "seed") != NULL, "%s", ub_last_error(ctx));
}

static void test_nan(ub_ctx *ctx) {
    ub__train_config c;
    tiny_config(&c, "run-nan");
    c.val[0] = '\0';
    c.lr = 1e6, c.min_lr = 0, c.warmup = 0, c.clip = 0, c.checkpoint_seconds = 0, c.steps = 30;
    ub__train *t = NULL;
    CHECK_OK(ctx, ub_train_open(ctx, &c, 0, NULL, &t));
    if (!t) return;
    ub_train_outcome out = UB_TRAIN_DONE;
    CHECK(ub_train_run(t, 0, NULL, NULL, NULL, &out) == UB_ERR_INVALID);
    CHECK(out == UB_TRAIN_DIVERGED);
    CHECK_MSG(strstr(ub_last_error(ctx), "not finite") != NULL, "%s", ub_last_error(ctx));
    long done = ub_train_steps_done(t);
    printf("nan: stopped at step %ld: %s\n", done + 1, ub_last_error(ctx));
    size_t n = ub_train_param_count(t);
    ub_train_close(&t);
    CHECK(done >= 1 && done < c.steps);
    ub__safetensors *st = NULL;
    CHECK_OK(ctx, ub__st_open(ctx, at("run-nan/checkpoint.safetensors"), &st));
    if (!st) return;
    const char *step = ub__st_meta(st, "step");
    CHECK(step != NULL && atol(step) >= 1 && atol(step) <= done);
    float *w = malloc(n * sizeof(float));
    int64_t shape[1] = {(int64_t)n};
    const char *names[] = {"params", "adam.m", "adam.v", "ema"};
    for (int k = 0; k < 4; k++) {
        CHECK_OK(ctx, ub__st_read_f32(ctx, st, names[k], 1, shape, w));
        int finite = 1;
        for (size_t i = 0; i < n; i++) finite &= isfinite(w[i]) != 0;
        CHECK_MSG(finite, "checkpoint tensor %s is not finite", names[k]);
    }
    free(w);
    ub__st_close(&st);
}

/* A VGG19 truncated at relu1_2 with random weights, written with torchvision's names. */
static void write_random_vgg(ub_ctx *ctx, const char *path) {
    ub__vgg *vgg = NULL;
    CHECK_OK(ctx, ub__vgg_create(ctx, "relu1_2", &vgg));
    if (!vgg) return;
    test_rng r = {7};
    for (size_t i = 0; i < vgg->table.total; i++) vgg->params[i] = (float)(0.2 * (test_rng_uniform(&r) - 0.5));
    ub__st_writer *w = ub__st_writer_create(ctx);
    for (int i = 0; w && i < vgg->table.count; i++) {
        const ub__param *p = &vgg->table.params[i];
        CHECK_OK(ctx, ub__st_writer_add(ctx, w, p->name, "F32", p->rank, p->shape, vgg->params + p->offset));
    }
    CHECK_OK(ctx, ub__st_writer_save(ctx, w, path));
    ub__st_writer_destroy(&w);
    ub__vgg_destroy(&vgg);
}

/* The perceptual loss adds to the loss (same first batch, same initial weights) and trains. */
static void test_perceptual(ub_ctx *ctx) {
    write_random_vgg(ctx, at("vgg.safetensors"));
    double first[2];
    for (int with = 0; with < 2; with++) {
        ub__train_config c;
        tiny_config(&c, with ? "run-vgg" : "run-novgg");
        c.val[0] = '\0', c.steps = 3;
        if (with) {
            snprintf(c.vgg, sizeof c.vgg, "%s", at("vgg.safetensors"));
            snprintf(c.vgg_layer, sizeof c.vgg_layer, "relu1_2");
            c.perceptual_weight = 0.5;
        }
        ub__train *t = NULL;
        recorder r = {{0}, 0, 0, NULL};
        CHECK_OK(ctx, ub_train_open(ctx, &c, 0, NULL, &t));
        if (!t) return;
        CHECK_OK(ctx, ub_train_run(t, 0, NULL, record, &r, NULL));
        CHECK(r.count == 3 && isfinite(r.loss[2]));
        first[with] = r.loss[0];
        ub_train_close(&t);
    }
    CHECK_MSG(first[1] > first[0] + 1e-6, "loss with the perceptual term %g, without %g", first[1], first[0]);
}

int main(void) {
    /* one network thread: OpenMP barriers on a loaded 2-core machine cost more than they give here;
       the samplers still run 2 workers */
    ub_ctx *ctx = test_ctx(1);
    make_fixture(ctx);
    test_config_json(ctx);
    test_smoke(ctx);
    test_resume(ctx);
    test_naf(ctx);
    test_nan(ctx);
    test_perceptual(ctx);
    remove_tree(root);
    ub_ctx_destroy(&ctx);
    return test_finish("train");
}
