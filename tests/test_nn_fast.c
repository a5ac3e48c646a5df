/* tests/test_nn_fast.c — the fast RBNet executor (nn/dnnl_exec.h, oneDNN,
   float) against its twin, the double-precision reference executor
   (nn/graph_ref.h), and the blocked-layout kernels (nn/blocked.h) against
   the reference layers (nn/ref.h):
   - SE, SA, reflect padding and region copies on every layout (NCHW, NHWC,
     nChw8c, nChw16c; channel counts that leave padding), forward and backward;
   - small hand-made graphs (7x7 convolution without bias, stride 2, ReLU,
     transposed convolution, a residual add across layouts);
   - whole RBNets {W8 N1 D2}, {W8 N1 D3 M2}, {W4 N2 D1} on odd sizes and
     batches: forward, and backward (every parameter tensor and the input),
     with PyTorch-like random weights;
   - training nets in every layout against the reference; inference nets
     (buffer reuse, in-place ops) against training nets in every layout;
     1 vs 2 threads; repeated calls; gradients accumulate.
   Skipped (77) when oneDNN has no CPU engine. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/blocked.h"
#include "nn/dnnl_exec.h"
#include "nn/graph.h"
#include "nn/rbnet.h"
#include "nn/graph_ref.h"
#include "nn/ref.h"
#include "testblk.h"
#include "testutil.h"

#define FWD_TOL 1e-4  /* max abs error of the output, relative to max(1, |output|) */
#define BWD_TOL 1e-4  /* max abs error of a gradient tensor, relative to its largest element */
#define KERNEL_TOL 2e-5


static void fill_uniform(test_rng *rng, double *d, float *f, size_t n, double lo, double hi) {
    for (size_t i = 0; i < n; i++) {
        const float v = (float)(lo + (hi - lo) * test_rng_uniform(rng));
        if (d) d[i] = v;
        if (f) f[i] = v;
    }
}

/* max |a - b| / max(floor, max |b|) */
static double rel_err(const float *a, const double *b, size_t n, double floor) {
    double err = 0, scale = floor;
    for (size_t i = 0; i < n; i++) {
        err = fmax(err, fabs((double)a[i] - b[i]));
        scale = fmax(scale, fabs(b[i]));
    }
    return err / scale;
}

static double rel_err_ff(const float *a, const float *b, size_t n) {
    double err = 0, scale = 1e-30;
    for (size_t i = 0; i < n; i++) {
        err = fmax(err, fabs((double)a[i] - b[i]));
        scale = fmax(scale, fabs((double)b[i]));
    }
    return err / scale;
}

/* ---------------------------------------------------------------- kernels on layouts */

static void test_se_sa_layout(int B, int C, int threads) {
    const int N = 2, H = 7, W = 9, R = C / 4 > 0 ? C / 4 : 1, K = 7;
    const ub__blk l = ub__blk_make(N, C, H, W, B);
    const size_t nx = (size_t)N * C * H * W, nb = ub__blk_floats(&l);
    test_rng rng = {(uint64_t)(B * 131 + C)};
    double *x = test_calloc(nx, sizeof(double)), *dout = test_calloc(nx, sizeof(double)), *out = test_calloc(nx, sizeof(double)),
           *din = test_calloc(nx, sizeof(double));
    double *w1 = test_calloc((size_t)R * C, sizeof(double)), *b1 = test_calloc((size_t)R, sizeof(double)),
           *w2 = test_calloc((size_t)C * R, sizeof(double)), *b2 = test_calloc((size_t)C, sizeof(double)),
           *wsa = test_calloc((size_t)2 * K * K, sizeof(double));
    float *fw1 = test_calloc((size_t)R * C, sizeof(float)), *fb1 = test_calloc((size_t)R, sizeof(float)),
          *fw2 = test_calloc((size_t)C * R, sizeof(float)), *fb2 = test_calloc((size_t)C, sizeof(float)),
          *fwsa = test_calloc((size_t)2 * K * K, sizeof(float));
    fill_uniform(&rng, x, NULL, nx, -1, 1);
    fill_uniform(&rng, dout, NULL, nx, -1, 1);
    fill_uniform(&rng, w1, fw1, (size_t)R * C, -1, 1);
    fill_uniform(&rng, b1, fb1, (size_t)R, -0.5, 0.5);
    fill_uniform(&rng, w2, fw2, (size_t)C * R, -1, 1);
    fill_uniform(&rng, b2, fb2, (size_t)C, -0.5, 0.5);
    fill_uniform(&rng, wsa, fwsa, (size_t)2 * K * K, -0.3, 0.3);
    /* one pixel with a channel tie for the max: the first channel must win in both */
    x[ub__blk_at(&(ub__blk){N, C, H, W, 1, C}, 1, 0, 3, 4)] = 2.0;
    x[ub__blk_at(&(ub__blk){N, C, H, W, 1, C}, 1, C - 1, 3, 4)] = 2.0;
    float *bx = test_calloc(nb, sizeof(float)), *bdout = test_calloc(nb, sizeof(float)), *bout = test_calloc(nb, sizeof(float)),
          *bdin = test_calloc(nb, sizeof(float)), *plain = test_calloc(nx, sizeof(float));
    testblk_from_nchw(&l, x, bx);
    testblk_from_nchw(&l, dout, bdout);
    /* cross-check the layout arithmetic against the round trip */
    testblk_to_nchw(&l, bx, plain);
    CHECK(rel_err(plain, x, nx, 1) == 0);

    /* SE */
    double *cache = test_calloc(ub__se_cache_size(N, C, R), sizeof(double));
    double *dw1 = test_calloc((size_t)R * C, sizeof(double)), *db1 = test_calloc((size_t)R, sizeof(double)),
           *dw2 = test_calloc((size_t)C * R, sizeof(double)), *db2 = test_calloc((size_t)C, sizeof(double));
    float *fcache = test_calloc(ub__se_cache_floats(&l, R), sizeof(float));
    float *fdw1 = test_calloc((size_t)R * C, sizeof(float)), *fdb1 = test_calloc((size_t)R, sizeof(float)),
          *fdw2 = test_calloc((size_t)C * R, sizeof(float)), *fdb2 = test_calloc((size_t)C, sizeof(float));
    void *scratch = test_calloc(ub__se_scratch_bytes(&l, R) + ub__sa_scratch_bytes(&l, K), 1);
    ub__se_forward_ref(out, cache, x, w1, b1, w2, b2, N, C, H, W, R);
    ub__se_forward_blk(&l, bout, bx, fw1, fb1, fw2, fb2, R, fcache, scratch, threads);
    testblk_to_nchw(&l, bout, plain);
    CHECK_MSG(rel_err(plain, out, nx, 1) < KERNEL_TOL, "SE forward B=%d C=%d: %g", B, C, rel_err(plain, out, nx, 1));
    CHECK(testblk_padding_zero(&l, bout));
    ub__se_backward_ref(din, dw1, db1, dw2, db2, dout, cache, x, w1, w2, N, C, H, W, R);
    ub__se_backward_blk(&l, bdin, fdw1, fdb1, fdw2, fdb2, bdout, bx, fw1, fw2, R, fcache, scratch, threads);
    testblk_to_nchw(&l, bdin, plain);
    CHECK_MSG(rel_err(plain, din, nx, 1e-12) < KERNEL_TOL, "SE din B=%d C=%d: %g", B, C, rel_err(plain, din, nx, 1e-12));
    CHECK_MSG(rel_err(fdw1, dw1, (size_t)R * C, 1e-12) < KERNEL_TOL, "SE dw1 B=%d", B);
    CHECK_MSG(rel_err(fdb1, db1, (size_t)R, 1e-12) < KERNEL_TOL, "SE db1 B=%d", B);
    CHECK_MSG(rel_err(fdw2, dw2, (size_t)C * R, 1e-12) < KERNEL_TOL, "SE dw2 B=%d", B);
    CHECK_MSG(rel_err(fdb2, db2, (size_t)C, 1e-12) < KERNEL_TOL, "SE db2 B=%d", B);
    /* in place gives the same */
    float *inplace = test_calloc(nb, sizeof(float));
    memcpy(inplace, bx, sizeof(float) * nb);
    ub__se_forward_blk(&l, inplace, inplace, fw1, fb1, fw2, fb2, R, fcache, scratch, threads);
    CHECK(memcmp(inplace, bout, sizeof(float) * nb) == 0);

    /* SA */
    double *sacache = test_calloc(ub__sa_cache_size(N, H, W), sizeof(double)), *dwsa = test_calloc((size_t)2 * K * K, sizeof(double));
    float *fsacache = test_calloc(ub__sa_cache_floats(&l, K), sizeof(float)), *fdwsa = test_calloc((size_t)2 * K * K, sizeof(float));
    memset(din, 0, sizeof(double) * nx);
    memset(bdin, 0, sizeof(float) * nb);
    ub__sa_forward_ref(out, sacache, x, wsa, N, C, H, W, K);
    ub__sa_forward_blk(&l, bout, bx, fwsa, K, fsacache, threads);
    testblk_to_nchw(&l, bout, plain);
    CHECK_MSG(rel_err(plain, out, nx, 1) < KERNEL_TOL, "SA forward B=%d C=%d: %g", B, C, rel_err(plain, out, nx, 1));
    CHECK(testblk_padding_zero(&l, bout));
    ub__sa_backward_ref(din, dwsa, dout, sacache, x, wsa, N, C, H, W, K);
    ub__sa_backward_blk(&l, bdin, fdwsa, bdout, bx, fwsa, K, fsacache, scratch, threads);
    testblk_to_nchw(&l, bdin, plain);
    CHECK_MSG(rel_err(plain, din, nx, 1e-12) < KERNEL_TOL, "SA din B=%d C=%d: %g", B, C, rel_err(plain, din, nx, 1e-12));
    CHECK_MSG(rel_err(fdwsa, dwsa, (size_t)2 * K * K, 1e-12) < KERNEL_TOL, "SA dw B=%d C=%d: %g", B, C,
              rel_err(fdwsa, dwsa, (size_t)2 * K * K, 1e-12));
    memcpy(inplace, bx, sizeof(float) * nb);
    ub__sa_forward_blk(&l, inplace, inplace, fwsa, K, fsacache, threads);
    CHECK(memcmp(inplace, bout, sizeof(float) * nb) == 0);

    /* a region copy into another layout and back, and a crop */
    const ub__blk p = ub__blk_make(N, C, H, W, 1), crop = ub__blk_make(N, C, H - 2, W - 3, B == 1 ? 16 : 1);
    float *conv = test_calloc(nx, sizeof(float)), *cropped = test_calloc(ub__blk_floats(&crop), sizeof(float));
    ub__blk_copy_region(&l, bx, &p, conv, H, W, 0, threads);
    CHECK(rel_err(conv, x, nx, 1) == 0);
    ub__blk_copy_region(&l, bx, &crop, cropped, H - 2, W - 3, 0, threads);
    int crop_ok = testblk_padding_zero(&crop, cropped);
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int y = 0; y < H - 2; y++)
                for (int xx = 0; xx < W - 3; xx++)
                    crop_ok &= cropped[ub__blk_at(&crop, n, c, y, xx)] == bx[ub__blk_at(&l, n, c, y, xx)];
    CHECK_MSG(crop_ok, "crop B=%d C=%d", B, C);

    free(x), free(dout), free(out), free(din), free(w1), free(b1), free(w2), free(b2), free(wsa);
    free(fw1), free(fb1), free(fw2), free(fb2), free(fwsa), free(bx), free(bdout), free(bout), free(bdin), free(plain);
    free(cache), free(dw1), free(db1), free(dw2), free(db2), free(fcache), free(fdw1), free(fdb1), free(fdw2), free(fdb2);
    free(scratch), free(inplace), free(sacache), free(dwsa), free(fsacache), free(fdwsa), free(conv), free(cropped);
}

static void test_pad(int threads) {
    const int N = 2, C = 3, H = 5, W = 7, Hp = 8, Wp = 12;
    const size_t n = (size_t)N * C * H * W, np = (size_t)N * C * Hp * Wp;
    test_rng rng = {7};
    double *x = test_calloc(n, sizeof(double)), *out = test_calloc(np, sizeof(double)), *dout = test_calloc(np, sizeof(double)),
           *din = test_calloc(n, sizeof(double));
    float *fx = test_calloc(n, sizeof(float)), *fout = test_calloc(np, sizeof(float)), *fdout = test_calloc(np, sizeof(float)),
          *fdin = test_calloc(n, sizeof(float));
    fill_uniform(&rng, x, fx, n, -1, 1);
    fill_uniform(&rng, dout, fdout, np, -1, 1);
    ub__pad_reflect_forward_ref(out, x, N, C, H, W, Hp, Wp);
    ub__pad_reflect(fout, fx, N, C, H, W, Hp, Wp, threads);
    CHECK(rel_err(fout, out, np, 1) == 0);
    ub__pad_reflect_backward_ref(din, dout, N, C, H, W, Hp, Wp);
    ub__pad_reflect_backward(fdin, fdout, N, C, H, W, Hp, Wp, threads);
    CHECK(rel_err(fdin, din, n, 1) < 1e-6);
    free(x), free(out), free(dout), free(din), free(fx), free(fout), free(fdout), free(fdin);
}

/* ---------------------------------------------------------------- graphs: fast against reference */

typedef struct net_case {
    const char *name;
    ub__graph g;
    ub__param_table t;
    double *params, *input;
    float *fparams, *finput;
    size_t nin, nout;
} net_case;

/* PyTorch's default initialisation: weights and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in from the
   weight (dim 1 times the kernel: for ConvTranspose, whose weight is (Cin, Cout, k, k), that is Cout k k). */
static void init_params(net_case *nc, uint64_t seed) {
    test_rng rng = {seed};
    nc->params = test_calloc(nc->t.total, sizeof(double));
    nc->fparams = test_calloc(nc->t.total, sizeof(float));
    double bound = 1;
    for (int i = 0; i < nc->t.count; i++) {
        const ub__param *p = &nc->t.params[i];
        if (p->rank >= 2) {
            double fan_in = (double)p->shape[1];
            for (int d = 2; d < p->rank; d++) fan_in *= (double)p->shape[d];
            bound = 1 / sqrt(fan_in);
        }
        fill_uniform(&rng, nc->params + p->offset, nc->fparams + p->offset, p->count, -bound, bound);
    }
}

static void init_input(net_case *nc, uint64_t seed) {
    test_rng rng = {seed};
    const ub__value *in = &nc->g.values[0], *out = &nc->g.values[nc->g.nvalues - 1];
    nc->nin = (size_t)nc->g.n * in->c * in->h * in->w;
    nc->nout = (size_t)nc->g.n * out->c * out->h * out->w;
    nc->input = test_calloc(nc->nin, sizeof(double));
    nc->finput = test_calloc(nc->nin, sizeof(float));
    fill_uniform(&rng, nc->input, nc->finput, nc->nin, 0, 1);
}

static int make_rbnet(ub_ctx *ctx, net_case *nc, const char *name, int width, int blocks, int depth, int mid, int n,
                      int h, int w, int skip, int block) {
    memset(nc, 0, sizeof *nc);
    nc->name = name;
    ub__rbnet_config c;
    ub__rbnet_config_default(&c);
    c.width = width, c.blocks = blocks, c.depth = depth, c.mid_blocks = mid, c.skip_attention = skip;
    c.block = block;
    if (ub__rbnet_params(ctx, &c, &nc->t) != UB_OK || ub__rbnet_graph(ctx, &c, &nc->t, n, h, w, &nc->g) != UB_OK) {
        fprintf(stderr, "%s: %s\n", name, ub_last_error(ctx));
        return 0;
    }
    init_params(nc, (uint64_t)(width * 1000 + blocks * 100 + depth * 10 + mid));
    init_input(nc, (uint64_t)(h * 100 + w));
    return 1;
}

static void free_case(net_case *nc) {
    free(nc->params), free(nc->fparams), free(nc->input), free(nc->finput);
    free(nc->g.ops), free(nc->g.values), free(nc->t.params);
    memset(nc, 0, sizeof *nc);
}

/* A hand-made graph: a 7x7 convolution without bias (3 -> 5), ReLU, a stride-2 3x3 (5 -> 6), a transposed
   convolution (6 -> 3), and the residual add of the NCHW input; H and W even. */
static void make_hand_graph(net_case *nc, int n, int h, int w) {
    memset(nc, 0, sizeof *nc);
    nc->name = "hand graph";
    static const struct { const char *name; int rank; int64_t shape[4]; } spec[] = {
        {"c7.weight", 4, {5, 3, 7, 7}}, {"s2.weight", 4, {6, 5, 3, 3}}, {"s2.bias", 1, {6}},
        {"up.weight", 4, {6, 3, 2, 2}}, {"up.bias", 1, {3}}};
    nc->t.count = 5;
    nc->t.params = test_calloc(5, sizeof(ub__param));
    for (int i = 0; i < 5; i++) {
        ub__param *p = &nc->t.params[i];
        snprintf(p->name, sizeof p->name, "%s", spec[i].name);
        p->rank = spec[i].rank;
        p->count = 1;
        for (int d = 0; d < p->rank; d++) p->shape[d] = spec[i].shape[d], p->count *= (size_t)spec[i].shape[d];
        p->offset = nc->t.total;
        nc->t.total += p->count;
    }
    ub__graph *g = &nc->g;
    g->n = n;
    g->nvalues = 6;
    g->values = test_calloc(6, sizeof(ub__value));
    const ub__value v[6] = {{3, h, w}, {5, h, w}, {5, h, w}, {6, h / 2, w / 2}, {3, h, w}, {3, h, w}};
    memcpy(g->values, v, sizeof v);
    g->nops = 5;
    g->ops = test_calloc(5, sizeof(ub__op));
    g->ops[0] = (ub__op){UB_OP_CONV, 0, -1, 1, 0, UB_NO_PARAM, UB_NO_PARAM, UB_NO_PARAM, 7, 1, 0, 1};
    g->ops[1] = (ub__op){UB_OP_RELU, 1, -1, 2, UB_NO_PARAM, UB_NO_PARAM, UB_NO_PARAM, UB_NO_PARAM, 0, 1, 0, 1};
    g->ops[2] = (ub__op){UB_OP_CONV, 2, -1, 3, 1, 2, UB_NO_PARAM, UB_NO_PARAM, 3, 2, 0, 1};
    g->ops[3] = (ub__op){UB_OP_CONVT, 3, -1, 4, 3, 4, UB_NO_PARAM, UB_NO_PARAM, 2, 2, 0, 1};
    g->ops[4] = (ub__op){UB_OP_ADD, 0, 4, 5, UB_NO_PARAM, UB_NO_PARAM, UB_NO_PARAM, UB_NO_PARAM, 0, 1, 0, 1};
    init_params(nc, 99);
    init_input(nc, 98);
}

/* Outputs of a fast net (created here) on the case's input; returns 0 when oneDNN is missing (skip). */
static int fast_forward(ub_ctx *ctx, net_case *nc, int training, ub__fast_layout layout, float *out,
                        ub__fast_net **keep) {
    ub__fast_net *net = NULL;
    ub_status st = ub__fast_net_create_layout(ctx, &nc->g, &nc->t, training, layout, &net);
    if (st == UB_ERR_UNSUPPORTED && strstr(ub_last_error(ctx), "engine")) return 0;
    CHECK_MSG(st == UB_OK, "%s: create: %s", nc->name, ub_last_error(ctx));
    if (st != UB_OK) return -1;
    CHECK_MSG(ub__fast_forward(net, nc->fparams, nc->finput, out) == UB_OK, "%s: forward: %s", nc->name,
              ub_last_error(ctx));
    if (keep) *keep = net;
    else ub__fast_net_destroy(&net);
    return 1;
}

static const char *const layout_names[] = {"auto", "NHWC", "nChw8c", "nChw16c"};

/* Forward and backward of a training net in one layout against the reference. */
static int check_case(ub_ctx *ctx, net_case *nc, ub__fast_layout layout) {
    ub__ref_state rs;
    CHECK_OK(ctx, ub__graph_forward_ref(ctx, &nc->g, &nc->t, nc->params, nc->input, &rs));
    const double *ref_out = rs.values[nc->g.nvalues - 1];
    float *out = test_calloc(nc->nout, sizeof(float));
    ub__fast_net *net = NULL;
    int ok = fast_forward(ctx, nc, 1, layout, out, &net);
    if (ok <= 0) {
        ub__ref_state_free(&rs);
        free(out);
        return ok == 0 ? 0 : 1;
    }
    double err = rel_err(out, ref_out, nc->nout, 1);
    ub__fast_net_info info;
    ub__fast_net_get_info(net, &info);
    printf("%-28s %-7s forward  rel err %.2e (training net: %s)\n", nc->name, layout_names[info.layout], err,
           info.impls);
    CHECK_MSG(err < FWD_TOL, "%s forward (layout %s): %g", nc->name, layout_names[layout], err);

    /* backward: dL/doutput random */
    test_rng rng = {1234};
    double *dout = test_calloc(nc->nout, sizeof(double)), *dparams = test_calloc(nc->t.total, sizeof(double)),
           *dinput = test_calloc(nc->nin, sizeof(double));
    float *fdout = test_calloc(nc->nout, sizeof(float)), *fdparams = test_calloc(nc->t.total, sizeof(float)),
          *fdinput = test_calloc(nc->nin, sizeof(float));
    fill_uniform(&rng, dout, fdout, nc->nout, -1, 1);
    CHECK_OK(ctx, ub__graph_backward_ref(ctx, &nc->g, &nc->t, nc->params, &rs, dout, dparams, dinput));
    CHECK_MSG(ub__fast_backward(net, nc->fparams, fdout, fdparams, fdinput) == UB_OK, "%s backward: %s", nc->name,
              ub_last_error(ctx));
    double worst = 0;
    const char *worst_name = "";
    for (int i = 0; i < nc->t.count; i++) {
        const ub__param *p = &nc->t.params[i];
        const double e = rel_err(fdparams + p->offset, dparams + p->offset, p->count, 1e-12);
        CHECK_MSG(e < BWD_TOL, "%s (layout %s): gradient of %s: rel err %g", nc->name, layout_names[layout], p->name, e);
        if (e > worst) worst = e, worst_name = p->name;
    }
    const double ein = rel_err(fdinput, dinput, nc->nin, 1e-12);
    CHECK_MSG(ein < BWD_TOL, "%s (layout %s): gradient of the input: rel err %g", nc->name, layout_names[layout], ein);
    printf("%-28s %-7s backward worst rel err %.2e (%s), input %.2e\n", nc->name, layout_names[info.layout], worst,
           worst_name, ein);
    if (layout != UB_FAST_LAYOUT_AUTO) { /* the inference checks below once per case */
        free(dout), free(dparams), free(dinput), free(fdout), free(fdparams), free(fdinput), free(out);
        ub__fast_net_destroy(&net);
        ub__ref_state_free(&rs);
        return 1;
    }

    /* backward accumulates, and without dinput gives the same parameter gradients */
    float *again = test_calloc(nc->t.total, sizeof(float));
    memcpy(again, fdparams, sizeof(float) * nc->t.total);
    CHECK_OK(ctx, ub__fast_backward(net, nc->fparams, fdout, again, NULL));
    double acc = 0;
    for (size_t i = 0; i < nc->t.total; i++) acc = fmax(acc, fabs(again[i] - 2.0 * fdparams[i]));
    double scale = 0;
    for (size_t i = 0; i < nc->t.total; i++) scale = fmax(scale, fabs(fdparams[i]));
    CHECK_MSG(acc <= 1e-6 * scale, "%s: second backward does not accumulate the same: %g", nc->name, acc / scale);

    /* an inference net (planned buffers, in-place ops), on every layout, gives the training net's output */
    float *inf = test_calloc(nc->nout, sizeof(float));
    const ub__fast_layout layouts[4] = {UB_FAST_LAYOUT_AUTO, UB_FAST_LAYOUT_NHWC, UB_FAST_LAYOUT_BLOCKED8,
                                        UB_FAST_LAYOUT_BLOCKED16};
    for (int k = 0; k < 4; k++) {
        ub__fast_net *inet = NULL;
        if (fast_forward(ctx, nc, 0, layouts[k], inf, &inet) <= 0) continue;
        const double e = rel_err_ff(inf, out, nc->nout);
        CHECK_MSG(e < 1e-5, "%s: inference net (layout %d) vs training net: %g", nc->name, layouts[k], e);
        /* a second run on the same buffers gives the same bits */
        float *inf2 = test_calloc(nc->nout, sizeof(float));
        CHECK_OK(ctx, ub__fast_forward(inet, nc->fparams, nc->finput, inf2));
        CHECK(memcmp(inf, inf2, sizeof(float) * nc->nout) == 0);
        ub__fast_net_info ii;
        ub__fast_net_get_info(inet, &ii);
        if (k == 0)
            printf("%-28s inference net: %d activation buffers (%d values), %.2f MB\n", nc->name, ii.buffers,
                   nc->g.nvalues, ii.buffer_bytes / 1e6);
        free(inf2);
        ub__fast_net_destroy(&inet);
    }
    /* the backward pass refuses an inference net */
    ub__fast_net *inet = NULL;
    if (fast_forward(ctx, nc, 0, UB_FAST_LAYOUT_AUTO, inf, &inet) > 0) {
        CHECK(ub__fast_backward(inet, nc->fparams, fdout, fdparams, NULL) == UB_ERR_INVALID);
        ub__fast_net_destroy(&inet);
    }

    free(inf), free(again), free(dout), free(dparams), free(dinput), free(fdout), free(fdparams), free(fdinput);
    free(out);
    ub__fast_net_destroy(&net);
    ub__ref_state_free(&rs);
    return 1;
}

/* The same net on 1 and 2 threads: forward and backward. */
static void check_threads(net_case *nc) {
    float *out[2], *dp[2], *din[2];
    test_rng rng = {77};
    float *dout = test_calloc(nc->nout, sizeof(float));
    fill_uniform(&rng, NULL, dout, nc->nout, -1, 1);
    for (int k = 0; k < 2; k++) {
        ub_ctx *ctx = test_ctx(k + 1);
        out[k] = test_calloc(nc->nout, sizeof(float));
        dp[k] = test_calloc(nc->t.total, sizeof(float));
        din[k] = test_calloc(nc->nin, sizeof(float));
        ub__fast_net *net = NULL;
        if (fast_forward(ctx, nc, 1, UB_FAST_LAYOUT_AUTO, out[k], &net) > 0) {
            CHECK_OK(ctx, ub__fast_backward(net, nc->fparams, dout, dp[k], din[k]));
            ub__fast_net_destroy(&net);
        }
        ub_ctx_destroy(&ctx);
    }
    const double eo = rel_err_ff(out[0], out[1], nc->nout), ep = rel_err_ff(dp[0], dp[1], nc->t.total),
                 ei = rel_err_ff(din[0], din[1], nc->nin);
    const int same = !memcmp(out[0], out[1], sizeof(float) * nc->nout) &&
                     !memcmp(dp[0], dp[1], sizeof(float) * nc->t.total) &&
                     !memcmp(din[0], din[1], sizeof(float) * nc->nin);
    /* the parameter tensor that differs most, relative to its own largest element */
    double worst = 0;
    const char *worst_name = "-";
    for (int i = 0; i < nc->t.count; i++) {
        const ub__param *p = &nc->t.params[i];
        const double e = rel_err_ff(dp[0] + p->offset, dp[1] + p->offset, p->count);
        if (e > worst) worst = e, worst_name = p->name;
    }
    printf("%-28s 1 vs 2 threads: output %.1e, dparams %.1e (worst tensor %s %.1e), dinput %.1e (%s)\n", nc->name,
           eo, ep, worst_name, worst, ei, same ? "bit-identical" : "not bit-identical");
    /* oneDNN's weight-gradient reductions split the batch and the pixels by thread: a few ulps apart */
    CHECK_MSG(eo <= 1e-6 && ep <= 5e-6 && ei <= 1e-6, "%s: thread counts differ: %g %g %g", nc->name, eo, ep, ei);
    for (int k = 0; k < 2; k++) free(out[k]), free(dp[k]), free(din[k]);
    free(dout);
}

/* ub__fast_backward_hooked: each call's claim "dparams[from ..) is final" must hold (the region ends with
   the values it had at that call), from never grows and ends at 0, the gradients are ub__fast_backward's
   bits, and the claims come early enough to overlap: the share of gradients final half-way through. */
typedef struct final_log {
    const float *dparams;
    size_t total, from[1024];
    float *seen[1024]; /* a copy of dparams[from ..) at each call */
    int calls, grew;
} final_log;

static ub_status log_final(void *user, size_t from) {
    final_log *L = user;
    if (L->calls > 0 && from > L->from[L->calls - 1]) L->grew = 1;
    if (L->calls == 1024) return UB_ERR_INVALID;
    L->from[L->calls] = from;
    L->seen[L->calls] = test_calloc(L->total - from, sizeof(float));
    memcpy(L->seen[L->calls], L->dparams + from, (L->total - from) * sizeof(float));
    L->calls++;
    return UB_OK;
}

static void check_hooked_backward(ub_ctx *ctx, net_case *nc) {
    float *out = test_calloc(nc->nout, sizeof(float)), *dout = test_calloc(nc->nout, sizeof(float));
    float *plain = test_calloc(nc->t.total, sizeof(float)), *hooked = test_calloc(nc->t.total, sizeof(float));
    test_rng rng = {91};
    fill_uniform(&rng, NULL, dout, nc->nout, -1, 1);
    ub__fast_net *net = NULL;
    final_log L = {.dparams = hooked, .total = nc->t.total};
    if (fast_forward(ctx, nc, 1, UB_FAST_LAYOUT_AUTO, out, &net) > 0) {
        CHECK_OK(ctx, ub__fast_backward(net, nc->fparams, dout, plain, NULL));
        CHECK_OK(ctx, ub__fast_backward_hooked(net, nc->fparams, dout, hooked, NULL, log_final, &L));
        ub__fast_net_destroy(&net);
    }
    CHECK_MSG(!memcmp(plain, hooked, nc->t.total * sizeof(float)), "%s: hooked backward differs", nc->name);
    CHECK_MSG(L.calls > 0 && !L.grew && L.from[L.calls - 1] == 0, "%s: %d calls, from grew %d, last %zu", nc->name,
              L.calls, L.grew, L.calls ? L.from[L.calls - 1] : (size_t)-1);
    int wrong = -1;
    for (int c = 0; c < L.calls; c++)
        if (wrong < 0 && memcmp(L.seen[c], hooked + L.from[c], (L.total - L.from[c]) * sizeof(float)) != 0) wrong = c;
    CHECK_MSG(wrong < 0, "%s: call %d said dparams[%zu ..) was final, but it changed later", nc->name, wrong,
              wrong >= 0 ? L.from[wrong] : 0);
    const double half = L.calls ? 1.0 - (double)L.from[L.calls / 2] / (double)L.total : 0;
    printf("%-28s hooked backward: %d calls, %.0f%% of the gradients final half-way through\n", nc->name, L.calls,
           100 * half);
    /* RBNet's parameters are in forward order and mostly in its deep levels: a tenth at least is final
       half-way (measured: W8 N1 D2 23%, W8 N1 D3 M2 15%); an executor that said so only at the end fails */
    CHECK_MSG(half > 0.1, "%s: only %.0f%% of the gradients final half-way", nc->name, 100 * half);
    for (int c = 0; c < L.calls; c++) free(L.seen[c]);
    free(out), free(dout), free(plain), free(hooked);
}

int main(void) {
    ub_ctx *ctx = test_ctx(2);
    /* oneDNN present? */
    net_case hand;
    make_hand_graph(&hand, 2, 14, 18);
    float *probe = test_calloc(hand.nout, sizeof(float));
    const int have = fast_forward(ctx, &hand, 0, UB_FAST_LAYOUT_AUTO, probe, NULL);
    free(probe);
    if (have == 0) {
        printf("test_nn_fast: skipped: oneDNN has no CPU engine here (%s)\n", ub_last_error(ctx));
        free_case(&hand);
        ub_ctx_destroy(&ctx);
        return 77;
    }

    const int layouts[4][2] = {{1, 12}, {8, 12}, {16, 12}, {0, 16}};
    for (int k = 0; k < 4; k++) test_se_sa_layout(layouts[k][0], layouts[k][1], 2);
    test_se_sa_layout(16, 40, 1);
    test_pad(2);

    for (int l = UB_FAST_LAYOUT_AUTO; l <= UB_FAST_LAYOUT_BLOCKED16; l++) check_case(ctx, &hand, (ub__fast_layout)l);
    free_case(&hand);

    static const struct { const char *name; int width, blocks, depth, mid, n, h, w, skip, block; } cases[] = {
        {"W8 N1 D2, 1x3x19x23", 8, 1, 2, 1, 1, 19, 23, UB__SKIP_BOTH, UB__BLOCK_RES},
        {"W8 N1 D3 M2, 1x3x19x23", 8, 1, 3, 2, 1, 19, 23, UB__SKIP_BOTH, UB__BLOCK_RES},
        {"W4 N2 D1, 2x3x16x16", 4, 2, 1, 2, 2, 16, 16, UB__SKIP_BOTH, UB__BLOCK_RES},
        {"W8 N1 D2, 2x3x13x10", 8, 1, 2, 1, 2, 13, 10, UB__SKIP_BOTH, UB__BLOCK_RES},
        /* the skip-attention ablations (rbnet.py --skip-attention se | sa | none) */
        {"W8 N1 D2 skip se, 1x3x16x20", 8, 1, 2, 1, 1, 16, 20, UB__SKIP_SE, UB__BLOCK_RES},
        {"W8 N1 D2 skip sa, 1x3x16x20", 8, 1, 2, 1, 1, 16, 20, UB__SKIP_SA, UB__BLOCK_RES},
        {"W8 N1 D2 skip none, 1x3x16x20", 8, 1, 2, 1, 1, 16, 20, UB__SKIP_NONE, UB__BLOCK_RES},
        /* NAF blocks (rbnet.py --block naf): LayerNorm2d, depthwise conv, SimpleGate, SCA, beta / gamma */
        {"NAF W8 N1 D2, 1x3x19x23", 8, 1, 2, 1, 1, 19, 23, UB__SKIP_BOTH, UB__BLOCK_NAF},
        {"NAF W4 N2 D1 M2, 2x3x16x16", 4, 2, 1, 2, 2, 16, 16, UB__SKIP_BOTH, UB__BLOCK_NAF},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        net_case nc;
        if (!make_rbnet(ctx, &nc, cases[i].name, cases[i].width, cases[i].blocks, cases[i].depth, cases[i].mid,
                        cases[i].n, cases[i].h, cases[i].w, cases[i].skip, cases[i].block)) {
            CHECK(0);
            continue;
        }
        for (int l = UB_FAST_LAYOUT_AUTO; l <= UB_FAST_LAYOUT_BLOCKED16; l++) check_case(ctx, &nc, (ub__fast_layout)l);
        if (i == 0 || i == 2 || cases[i].block == UB__BLOCK_NAF) check_threads(&nc);
        if (i <= 1) check_hooked_backward(ctx, &nc);
        free_case(&nc);
    }
    ub_ctx_destroy(&ctx);
    return test_finish("test_nn_fast");
}
