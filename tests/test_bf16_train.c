/* tests/test_bf16_train.c — bf16 mixed-precision training (ub__fast_net_create_bf16_training, the trainer's
   precision key) against fp32:
   - the executor, RBNet res {W16 N1 D2} and NAF {W8 N1 M1 D2}, batch 2, 48x48 (odd levels included), the same
     parameters, input and output gradient: the output within OUT_PSNR of fp32's, each parameter tensor's
     gradient within GRAD_REL of fp32's (relative L2, printed per layer), oneDNN's native bf16 code only (no
     "ref:" chosen or run), the same bits on a second pass;
   - the trainer: 8 steps of a tiny run (W16 N1 D2, patch 32, batch 2) in bf16 vs fp32: the weights' distance
     from fp32's within WEIGHT_REL of fp32's own movement; a bf16 run stopped at 4 and resumed to 8 equals one
     of 8 bit for bit; the precision key: JSON round trip, bad names refused, a resume that changes it refused
     naming it;
   - the fallback: a CPU whose features lack AVX512-BF16 and AMX (ub__train_open_cpu with the bits cleared)
     trains fp32, bit-identical to precision fp32, and says why; the executor refuses it.
   Why these tolerances. bf16 keeps 8 bits of mantissa: each convolution operand (input, weights, output
   gradient) is rounded by <= 2^-9 = 0.2% relative, products are summed in float. A weight gradient is a sum
   over every pixel of x * dy, both rounded, whose errors are independent: its relative error is ~0.3% where
   the sum does not cancel, more where it does (a bias, whose gradient is a sum of signed dy; a layer behind
   SE or SA, whose gradient is a small difference of large terms), and the errors of deeper layers add to the
   ones they pass on. Measured here on AVX512-BF16 (printed): all parameters 0.5% (naf) and 1.2% (res) from
   fp32; the worst single tensor is an SE's first weight, 4% (naf) and 11% (res): its gradient is a sum over
   the batch of the channel means times a hidden unit's gradient, itself the sum over the plane of x * dy,
   signed terms that mostly cancel. GRAD_REL = 25% per tensor and GRAD_ALL = 3% overall leave room for another
   CPU's kernels (AMX sums in another order) and still catch a pass that reads the wrong value or drops a
   term (an unrelated gradient is ~100% off). Weights: AdamW moves each weight by ~lr per step whatever its
   gradient's size, so a small gradient whose sign bf16 rounding flips moves its weight the other way by a
   full step: measured 14-17% of fp32's own movement after 8 steps (W16 N1 D2); WEIGHT_REL = 35%. The
   300-step loss curves are compared in bench/TRAIN_RESULTS.md.
   OUT_PSNR = 40 dB as tests/test_bf16.c (forward rounding only; measured 66-74 dB).
   Skipped (77) when the CPU has no native bf16 (AVX512-BF16 or AMX) or oneDNN does not use it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "nn/dnnl_exec.h"
#include "nn/graph.h"
#include "nn/model.h"
#include "nn/rbnet.h"
#include "testutil.h"
#include "train/train.h"

#define OUT_PSNR 40.0
#define GRAD_REL 0.25
#define GRAD_ALL 0.03
#define WEIGHT_REL 0.35

static int skipped;
static char root[512];

static double psnr(const float *a, const float *b, size_t n) {
    double se = 0;
    for (size_t i = 0; i < n; i++) se += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    return se == 0 ? INFINITY : 10 * log10((double)n / se);
}

/* ||a - b|| / ||b|| over n floats (0 when both are zero). */
static double rel_l2(const float *a, const float *b, size_t n) {
    double d = 0, r = 0;
    for (size_t i = 0; i < n; i++) d += ((double)a[i] - b[i]) * ((double)a[i] - b[i]), r += (double)b[i] * b[i];
    return d == 0 ? 0 : sqrt(d / r);
}

/* ---- the executor ---- */

typedef struct net_case {
    int width, blocks, mid, depth, naf;
} net_case;

/* One forward and backward pass of net; the output and the parameter gradient (zeroed first). */
static void pass(ub_ctx *ctx, ub__fast_net *net, const float *params, const float *x, const float *dy, float *y,
                 float *grads, size_t total) {
    memset(grads, 0, total * sizeof(float));
    CHECK_OK(ctx, ub__fast_forward(net, params, x, y));
    CHECK_OK(ctx, ub__fast_backward(net, params, dy, grads, NULL));
}

static void compare_grads(const ub__param_table *t, const float *g16, const float *g32) {
    double worst = 0;
    const char *worst_name = "";
    for (int i = 0; i < t->count; i++) {
        const ub__param *p = &t->params[i];
        const double r = rel_l2(g16 + p->offset, g32 + p->offset, p->count);
        if (r > worst) worst = r, worst_name = p->name;
        CHECK_MSG(r <= GRAD_REL, "%s: gradient %.4f from fp32's", p->name, r);
    }
    const double whole = rel_l2(g16, g32, t->total);
    printf("  gradients: worst %s %.4f, all %.4f (relative L2 to fp32)\n", worst_name, worst, whole);
    CHECK_MSG(whole <= GRAD_ALL, "all gradients %.4f from fp32's", whole);
}

static void test_executor(ub_ctx *ctx, const net_case *k) {
    ub__rbnet_config c;
    ub__rbnet_config_default(&c);
    c.width = k->width, c.blocks = k->blocks, c.mid_blocks = k->mid, c.depth = k->depth;
    if (k->naf) c.block = UB__BLOCK_NAF;
    ub__param_table t;
    ub__graph g;
    const int n = 2, h = 48, w = 48;
    CHECK_OK(ctx, ub__rbnet_params(ctx, &c, &t));
    CHECK_OK(ctx, ub__rbnet_graph(ctx, &c, &t, n, h, w, &g));
    const size_t pixels = (size_t)n * 3 * h * w;
    float *params = test_calloc(t.total, sizeof(float)), *g32 = test_calloc(t.total, sizeof(float));
    float *g16 = test_calloc(t.total, sizeof(float)), *again = test_calloc(t.total, sizeof(float));
    float *x = test_calloc(pixels, sizeof(float)), *dy = test_calloc(pixels, sizeof(float));
    float *y32 = test_calloc(pixels, sizeof(float)), *y16 = test_calloc(pixels, sizeof(float));
    ub_rng rng;
    ub_rng_seed(&rng, 5);
    ub__rbnet_init(&t, &rng, params);
    /* NAF's beta / gamma start at zero, which would hide the blocks from the gradients of the ops before */
    for (int i = 0; k->naf && i < t.count; i++)
        if (strstr(t.params[i].name, "beta") || strstr(t.params[i].name, "gamma"))
            for (size_t j = 0; j < t.params[i].count; j++) params[t.params[i].offset + j] = 0.5f;
    for (size_t i = 0; i < pixels; i++) x[i] = (float)ub_rng_uniform(&rng), dy[i] = (float)ub_rng_uniform(&rng) - 0.5f;
    ub__fast_net *f32 = NULL, *bf16 = NULL;
    CHECK_OK(ctx, ub__fast_net_create(ctx, &g, &t, 1, &f32));
    const ub_status st = ub__fast_net_create_bf16_training(ctx, &g, &t, UB_FAST_LAYOUT_AUTO, ub_cpu_features(), &bf16);
    if (st == UB_ERR_UNSUPPORTED) {
        printf("test_bf16_train: %s\n", ub_last_error(ctx));
        skipped = 1;
    } else if (f32) {
        CHECK_OK(ctx, st);
        pass(ctx, f32, params, x, dy, y32, g32, t.total);
        pass(ctx, bf16, params, x, dy, y16, g16, t.total);
        const double db = psnr(y16, y32, pixels);
        ub__fast_net_info info;
        ub__fast_net_get_info(bf16, &info);
        printf("%s W%d N%d M%d D%d n%d %dx%d: output %.1f dB from fp32; %s\n", k->naf ? "naf" : "res", k->width,
               k->blocks, k->mid, k->depth, n, h, w, db, info.impls);
        CHECK_MSG(db >= OUT_PSNR, "%.1f dB", db);
        compare_grads(&t, g16, g32);
        CHECK(info.bf16 == 1 && !info.ran_reference);
        /* (impls lists a "ref:" primitive, as the float net's does: the head's input-gradient pass, made but
           never run without an input gradient) */
        CHECK_MSG(strstr(info.impls, "bf16") || strstr(info.impls, "amx"), "%s", info.impls);
        /* a second pass gives the same bits (weights and gradients reordered again, buffers reused) */
        pass(ctx, bf16, params, x, dy, y32, again, t.total);
        CHECK(!memcmp(again, g16, t.total * sizeof(float)) && !memcmp(y32, y16, pixels * sizeof(float)));
        /* the input's gradient (through the float head) */
        float *dx32 = test_calloc(pixels, sizeof(float)), *dx16 = test_calloc(pixels, sizeof(float));
        CHECK_OK(ctx, ub__fast_backward(f32, params, dy, again, dx32));
        CHECK_OK(ctx, ub__fast_backward(bf16, params, dy, again, dx16));
        const double rx = rel_l2(dx16, dx32, pixels);
        printf("  input gradient %.4f from fp32's\n", rx);
        CHECK_MSG(rx <= GRAD_ALL, "input gradient %.4f", rx);
        free(dx32), free(dx16);
    }
    /* a CPU without native bf16 is refused, so that the trainer runs float */
    ub__fast_net *refused = NULL;
    const unsigned no_bf16 = ub_cpu_features() & ~(unsigned)(UB_CPU_AVX512BF16 | UB_CPU_AMX);
    CHECK(ub__fast_net_create_bf16_training(ctx, &g, &t, UB_FAST_LAYOUT_AUTO, no_bf16, &refused) ==
              UB_ERR_UNSUPPORTED && !refused);
    ub__fast_net_destroy(&f32);
    ub__fast_net_destroy(&bf16);
    free(params), free(g32), free(g16), free(again), free(x), free(dy), free(y32), free(y16);
    ub__graph_free(&g);
    ub__param_table_free(&t);
}

/* ---- the trainer ---- */

static const char *at(const char *rel) { return test_join(root, rel); }

static void make_fixture(ub_ctx *ctx) {
    snprintf(root, sizeof root, "%s", test_tmpdir("bf16_train"));
    CHECK(mkdir(at("data"), 0755) == 0);
    for (int i = 0; i < 4; i++) {
        char name[32];
        snprintf(name, sizeof name, "data/img%d.png", i);
        ub_image *img = test_image(ctx, 80 + 8 * i, 72, 3, 10 + (uint64_t)i);
        ub_write_options o;
        ub_default_write_options(&o);
        CHECK_OK(ctx, ub_image_write(ctx, img, at(name), &o));
        ub_image_destroy(&img);
    }
}

static void tiny_config(ub__train_config *c, const char *run, const char *precision) {
    ub_train_config_default(c);
    snprintf(c->data, sizeof c->data, "%s", at("data"));
    snprintf(c->run, sizeof c->run, "%s", at(run));
    snprintf(c->preset, sizeof c->preset, "linear");
    snprintf(c->precision, sizeof c->precision, "%s", precision);
    c->width = 16, c->blocks = 1, c->depth = 2, c->patch = 32, c->batch = 2;
    c->steps = 8, c->warmup = 2, c->lr = 1e-3, c->min_lr = 1e-4, c->ema_decay = 0.9;
    c->workers = 2, c->checkpoint_seconds = 1e9, c->val_every = 1000;
}

/* Runs c (fresh or resumed) on a CPU with `features`, stopping after step `stop` (0: to the end); returns the
   weights (malloc'ed) and whether the net was bf16. */
static float *run(ub_ctx *ctx, const ub__train_config *c, int resume, unsigned features, long stop, int *bf16) {
    ub__train *t = NULL;
    CHECK_OK(ctx, ub__train_open_cpu(ctx, c, resume, NULL, features, &t));
    if (!t) return NULL;
    const char *why = NULL;
    *bf16 = ub_train_bf16(t, &why);
    if (!*bf16 && strcmp(c->precision, "fp32") != 0) printf("  fp32 because: %s\n", why);
    ub_train_outcome out;
    CHECK_OK(ctx, ub_train_run(t, stop, NULL, NULL, NULL, &out));
    const size_t n = ub_train_param_count(t);
    float *w = malloc(n * sizeof(float));
    if (w) memcpy(w, ub__train_params(t), n * sizeof(float));
    ub_train_close(&t);
    return w;
}

static size_t param_count(ub_ctx *ctx, const ub__train_config *c) {
    ub__train *t = NULL;
    ub__train_config one = *c;
    one.steps = 1;
    snprintf(one.run, sizeof one.run, "%s", at("run-count"));
    CHECK_OK(ctx, ub_train_open(ctx, &one, 0, NULL, &t));
    const size_t n = t ? ub_train_param_count(t) : 0;
    ub_train_close(&t);
    return n;
}

static void test_trainer(ub_ctx *ctx) {
    ub__train_config c32, c16, cfb, cr;
    tiny_config(&c32, "run-fp32", "fp32");
    tiny_config(&c16, "run-bf16", "bf16");
    tiny_config(&cfb, "run-fallback", "bf16");
    tiny_config(&cr, "run-resume", "bf16");
    const size_t n = param_count(ctx, &c32);
    const unsigned all = ub_cpu_features(), none = all & ~(unsigned)(UB_CPU_AVX512BF16 | UB_CPU_AMX);
    int b32 = -1, b16 = -1, bfb = -1, br = -1;
    /* the initial weights (a run of 0 steps cannot be made: a stop after the first would be one step) */
    ub__train *t = NULL;
    CHECK_OK(ctx, ub_train_open(ctx, &c32, 0, NULL, &t));
    float *w0 = t ? malloc(n * sizeof(float)) : NULL;
    if (w0) memcpy(w0, ub__train_params(t), n * sizeof(float));
    ub_train_close(&t);
    float *w32 = run(ctx, &c32, 0, all, 0, &b32), *w16 = run(ctx, &c16, 0, all, 0, &b16);
    float *wfb = run(ctx, &cfb, 0, none, 0, &bfb);
    CHECK(b32 == 0 && b16 == 1 && bfb == 0);
    if (w0 && w32 && w16 && wfb) {
        float *moved = malloc(n * sizeof(float));
        for (size_t i = 0; moved && i < n; i++) moved[i] = w32[i] - w0[i];
        double d = 0, m = 0;
        for (size_t i = 0; i < n; i++)
            d += ((double)w16[i] - w32[i]) * ((double)w16[i] - w32[i]), m += (double)moved[i] * moved[i];
        const double rel = sqrt(d / m);
        printf("trainer W16 N1 D2, 8 steps: bf16 weights %.4f of fp32's movement from fp32's\n", rel);
        CHECK_MSG(rel <= WEIGHT_REL, "%.4f", rel);
        CHECK_MSG(!memcmp(wfb, w32, n * sizeof(float)), "the fallback is not fp32 bit for bit");
        free(moved);
    }
    /* a bf16 run stopped after step 4 and resumed equals a straight one */
    float *half = run(ctx, &cr, 0, all, 4, &br);
    free(half);
    float *resumed = run(ctx, &cr, 1, all, 0, &br);
    CHECK(br == 1 && resumed && w16 && !memcmp(resumed, w16, n * sizeof(float)));
    /* a resume may not change the precision: named in the message; nor can a fp32 checkpoint go bf16 */
    snprintf(cr.precision, sizeof cr.precision, "fp32");
    CHECK(ub_train_open(ctx, &cr, 1, NULL, &t) == UB_ERR_MISMATCH && !t);
    CHECK_MSG(strstr(ub_last_error(ctx), "precision is bf16 in the checkpoint, fp32 in this run"), "%s",
              ub_last_error(ctx));
    snprintf(c32.precision, sizeof c32.precision, "auto");
    CHECK(ub_train_open(ctx, &c32, 1, NULL, &t) == UB_ERR_MISMATCH && !t);
    CHECK_MSG(strstr(ub_last_error(ctx), "precision is fp32 in the checkpoint, auto in this run"), "%s",
              ub_last_error(ctx));
    free(w0), free(w32), free(w16), free(wfb), free(resumed);
}

static void test_config(ub_ctx *ctx) {
    ub__train_config a, b;
    tiny_config(&a, "run-json", "auto");
    char *text = ub_train_config_to_json(&a);
    CHECK(text && strstr(text, "\"precision\": \"auto\""));
    ub_train_config_default(&b);
    CHECK(!strcmp(b.precision, "fp32"));
    CHECK_OK(ctx, ub_train_config_from_json(ctx, text ? text : "{}", "config.json", &b));
    CHECK(!strcmp(b.precision, "auto"));
    CHECK_OK(ctx, ub_train_config_check(ctx, &b));
    snprintf(b.precision, sizeof b.precision, "fp16");
    CHECK(ub_train_config_check(ctx, &b) == UB_ERR_INVALID && strstr(ub_last_error(ctx), "precision"));
    CHECK(ub_train_config_from_json(ctx, "{\"precision\": \"bfloat16x\"}", "t.json", &b) == UB_ERR_INVALID);
    CHECK(ub_train_config_from_json(ctx, "{\"precision\": 16}", "t.json", &b) == UB_ERR_INVALID);
    free(text);
}

int main(void) {
    ub_ctx *ctx = test_ctx(2);
    test_config(ctx); /* whatever the CPU */
    if (!(ub_cpu_features() & (UB_CPU_AVX512BF16 | UB_CPU_AMX))) {
        printf("test_bf16_train: skipped (this CPU has no native bf16: AVX512-BF16 or AMX)\n");
        ub_ctx_destroy(&ctx);
        return test_finish("bf16_train") ? 1 : 77;
    }
    const net_case cases[] = {{16, 1, 1, 2, 0}, {16, 1, 1, 2, 1}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases && !skipped; i++) test_executor(ctx, &cases[i]);
    if (!skipped) {
        make_fixture(ctx);
        test_trainer(ctx);
    }
    ub_ctx_destroy(&ctx);
    if (skipped) {
        printf("test_bf16_train: skipped (no native bf16 in oneDNN here, or no CPU engine)\n");
        return test_finish("bf16_train") ? 1 : 77;
    }
    return test_finish("bf16_train");
}
