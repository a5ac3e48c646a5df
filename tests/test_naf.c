/* tests/test_naf.c — RBNet with NAF blocks (block naf) and the skip-attention variants, in the
   double-precision reference executor, against ../shared/peers/rbnet.py and by finite differences:
   - each new layer (depthwise conv, LayerNorm2d, SimpleGate, SCA, per-channel scale): its backward
     pass against central differences of its forward pass, every input and parameter element;
   - a whole tiny NAF net (W=4, N=1, M=1, D=2, odd size: padding and crop included, beta and gamma
     non-zero) and one with skip attention "sa": backward vs central differences;
   - fixtures made by rbnet.py (tests/data/README.md): NAF at depth 2 and 3, NAF without skip
     attention on an odd size, res with SE only: the same tensor names and order, and the reference's
     output within 1e-4 of PyTorch's;
   - metadata: block / skip_attention written only when not the default, read back; initialisation
     (LayerNorm 1 / 0, beta and gamma 0);
   - the seam: an op kind without a receptive-field rule is an error; the fast executor builds NAF nets
     in float and refuses them in bf16 (UB_ERR_UNSUPPORTED). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/dnnl_exec.h"
#include "nn/graph_ref.h"
#include "nn/model.h"
#include "nn/ref.h"
#include "nn/safetensors.h"
#include "testblk.h"
#include "testutil.h"

static const char *data_path(const char *name) {
    static char buf[1024];
    snprintf(buf, sizeof buf, "%s/%s", UB_TEST_DATA, name);
    return buf;
}

static double *random_doubles(test_rng *r, size_t n, double lo, double hi) {
    double *x = test_calloc(n, sizeof(double));
    for (size_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * test_rng_uniform(r);
    return x;
}

/* Relative error, with a floor for gradients near zero (where central differences' rounding, ~1e-10
   absolute here, would dominate). */
static double rel_err(double a, double b) { return fabs(a - b) / fmax(1e-4, fabs(a) + fabs(b)); }

/* ---- one layer: tensors 0..n-1, forward into out, backward accumulating into grads ---- */

enum { MAXT = 4 };
typedef struct layer {
    double *t[MAXT];
    size_t size[MAXT];
    int n;
    size_t out_size;
    int N, C, H, W, K, stride;
    double *cache;
    void (*forward)(struct layer *l, double *out);
    void (*backward)(struct layer *l, double *const grad[MAXT], const double *dout);
} layer;

/* L = sum(g * out); worst relative error of the analytic gradients over every element. */
static double check_layer(layer *l, test_rng *r, const char *what) {
    double *g = random_doubles(r, l->out_size, -1, 1), *out = test_calloc(l->out_size, sizeof(double));
    double *grad[MAXT] = {0};
    for (int i = 0; i < l->n; i++) grad[i] = test_calloc(l->size[i], sizeof(double));
    l->forward(l, out);
    l->backward(l, grad, g);
    double worst = 0;
    const double h = 1e-5;
    for (int i = 0; i < l->n; i++)
        for (size_t j = 0; j < l->size[i]; j++) {
            const double keep = l->t[i][j];
            double lp = 0, lm = 0;
            l->t[i][j] = keep + h;
            l->forward(l, out);
            for (size_t k = 0; k < l->out_size; k++) lp += g[k] * out[k];
            l->t[i][j] = keep - h;
            l->forward(l, out);
            for (size_t k = 0; k < l->out_size; k++) lm += g[k] * out[k];
            l->t[i][j] = keep;
            worst = fmax(worst, rel_err((lp - lm) / (2 * h), grad[i][j]));
        }
    printf("%-12s backward vs central differences: worst relative error %.2e\n", what, worst);
    CHECK_MSG(worst < 1e-6, "%s: %g", what, worst);
    for (int i = 0; i < l->n; i++) free(grad[i]), free(l->t[i]);
    free(g), free(out), free(l->cache);
    return worst;
}

static void dw_fwd(layer *l, double *out) {
    ub__dwconv2d_forward_ref(out, l->t[0], l->t[1], l->t[2], l->N, l->C, l->H, l->W, l->K, l->stride);
}
static void dw_bwd(layer *l, double *const g[MAXT], const double *dout) {
    ub__dwconv2d_backward_ref(g[0], g[1], g[2], dout, l->t[0], l->t[1], l->N, l->C, l->H, l->W, l->K, l->stride);
}
static void ln_fwd(layer *l, double *out) {
    ub__layernorm_forward_ref(out, l->cache, l->t[0], l->t[1], l->t[2], l->N, l->C, l->H, l->W);
}
static void gate_fwd(layer *l, double *out) { ub__gate_forward_ref(out, l->t[0], l->N, l->C, (size_t)l->H * l->W); }
static void gate_bwd(layer *l, double *const g[MAXT], const double *dout) {
    ub__gate_backward_ref(g[0], dout, l->t[0], l->N, l->C, (size_t)l->H * l->W);
}
static void sca_fwd(layer *l, double *out) {
    ub__sca_forward_ref(out, l->cache, l->t[0], l->t[1], l->t[2], l->N, l->C, l->H, l->W);
}
static void sca_bwd(layer *l, double *const g[MAXT], const double *dout) {
    ub__sca_backward_ref(g[0], g[1], g[2], dout, l->cache, l->t[0], l->t[1], l->N, l->C, l->H, l->W);
}
static void scale_fwd(layer *l, double *out) { ub__scale_forward_ref(out, l->t[0], l->t[1], l->N, l->C, (size_t)l->H * l->W); }
static void scale_bwd(layer *l, double *const g[MAXT], const double *dout) {
    ub__scale_backward_ref(g[0], g[1], dout, l->t[0], l->t[1], l->N, l->C, (size_t)l->H * l->W);
}

static void test_layers(void) {
    test_rng r = {11};
    const int N = 2, C = 3, H = 5, W = 6;
    const size_t x = (size_t)N * C * H * W;
    for (int stride = 1; stride <= 2; stride++) {
        const int Ho = (H + 2 - 3) / stride + 1, Wo = (W + 2 - 3) / stride + 1;
        layer dw = {.n = 3, .N = N, .C = C, .H = H, .W = W, .K = 3, .stride = stride, .forward = dw_fwd, .backward = dw_bwd};
        dw.t[0] = random_doubles(&r, dw.size[0] = x, -1, 1);
        dw.t[1] = random_doubles(&r, dw.size[1] = (size_t)C * 9, -1, 1);
        dw.t[2] = random_doubles(&r, dw.size[2] = (size_t)C, -1, 1);
        dw.out_size = (size_t)N * C * Ho * Wo;
        check_layer(&dw, &r, stride == 1 ? "dwconv3x3" : "dwconv3x3/2");
    }
    /* LayerNorm: backward reads the cache of the unperturbed forward pass */
    layer ln = {.n = 3, .N = N, .C = C, .H = H, .W = W, .forward = ln_fwd, .out_size = x};
    ln.t[0] = random_doubles(&r, ln.size[0] = x, -2, 2);
    ln.t[1] = random_doubles(&r, ln.size[1] = (size_t)C, 0.5, 1.5);
    ln.t[2] = random_doubles(&r, ln.size[2] = (size_t)C, -1, 1);
    ln.cache = test_calloc(ub__layernorm_cache_size(N, H, W), sizeof(double));
    {
        double *g = random_doubles(&r, x, -1, 1), *out = test_calloc(x, sizeof(double));
        double *grad[3] = {test_calloc(x, sizeof(double)), test_calloc(C, sizeof(double)), test_calloc(C, sizeof(double))};
        ln_fwd(&ln, out);
        ub__layernorm_backward_ref(grad[0], grad[1], grad[2], g, ln.cache, ln.t[0], ln.t[1], N, C, H, W);
        double worst = 0;
        const double h = 1e-5;
        for (int i = 0; i < 3; i++)
            for (size_t j = 0; j < ln.size[i]; j++) {
                const double keep = ln.t[i][j];
                double lp = 0, lm = 0;
                ln.t[i][j] = keep + h, ln_fwd(&ln, out);
                for (size_t k = 0; k < x; k++) lp += g[k] * out[k];
                ln.t[i][j] = keep - h, ln_fwd(&ln, out);
                for (size_t k = 0; k < x; k++) lm += g[k] * out[k];
                ln.t[i][j] = keep;
                worst = fmax(worst, rel_err((lp - lm) / (2 * h), grad[i][j]));
            }
        printf("%-12s backward vs central differences: worst relative error %.2e\n", "layernorm2d", worst);
        CHECK_MSG(worst < 1e-6, "layernorm: %g", worst);
        for (int i = 0; i < 3; i++) free(grad[i]), free(ln.t[i]);
        free(g), free(out), free(ln.cache);
    }
    layer gate = {.n = 1, .N = N, .C = C, .H = H, .W = W, .forward = gate_fwd, .backward = gate_bwd, .out_size = x};
    gate.t[0] = random_doubles(&r, gate.size[0] = 2 * x, -1, 1);
    check_layer(&gate, &r, "simplegate");
    layer sca = {.n = 3, .N = N, .C = C, .H = H, .W = W, .forward = sca_fwd, .backward = sca_bwd, .out_size = x};
    sca.t[0] = random_doubles(&r, sca.size[0] = x, -1, 1);
    sca.t[1] = random_doubles(&r, sca.size[1] = (size_t)C * C, -1, 1);
    sca.t[2] = random_doubles(&r, sca.size[2] = (size_t)C, -1, 1);
    sca.cache = test_calloc(ub__sca_cache_size(N, C), sizeof(double));
    check_layer(&sca, &r, "sca");
    layer sc = {.n = 2, .N = N, .C = C, .H = H, .W = W, .forward = scale_fwd, .backward = scale_bwd, .out_size = x};
    sc.t[0] = random_doubles(&r, sc.size[0] = x, -1, 1);
    sc.t[1] = random_doubles(&r, sc.size[1] = (size_t)C, -1, 1);
    check_layer(&sc, &r, "scale");
}

/* ---- the float kernels of nn/naf_blk.c on oneDNN's layouts ---- */

static double vec_err(const float *got, const double *want, size_t n) {
    double diff = 0, scale = 1e-30;
    for (size_t i = 0; i < n; i++) diff = fmax(diff, fabs(got[i] - want[i])), scale = fmax(scale, fabs(want[i]));
    return diff / scale;
}

enum { K_LN, K_GATE, K_SCA, K_SCALE };
static const char *const kernel_names[] = {"layernorm", "gate", "sca", "scale"};

/* One kernel's float run: out (layout lo), din (li, accumulated onto din0), dw and db (accumulated onto
   0.25), and whether out came out the same when computed in place. */
typedef struct naf_run {
    float *out, *din, *dw, *db;
    int inplace_same;
} naf_run;

static naf_run run_blk_kernel(int kind, const ub__blk *li, const ub__blk *lo, const double *in, const double *dout,
                              const double *din0, const double *w, const double *b, size_t nw, int threads) {
    const size_t ni = ub__blk_floats(li), no = ub__blk_floats(lo);
    naf_run r = {test_calloc(no, sizeof(float)), test_calloc(ni, sizeof(float)), test_calloc(nw, sizeof(float)),
                 test_calloc((size_t)li->c, sizeof(float)), 1};
    float *fin = test_calloc(ni, sizeof(float)), *fdout = test_calloc(no, sizeof(float)),
          *fw = test_calloc(nw, sizeof(float)), *fb = test_calloc((size_t)li->c, sizeof(float));
    float *cache = test_calloc(ub__ln_cache_floats(li) + ub__sca_cache_floats(li), sizeof(float));
    void *scratch = test_calloc(ub__naf_scratch_bytes(li), 1);
    testblk_from_nchw(li, in, fin), testblk_from_nchw(lo, dout, fdout), testblk_from_nchw(li, din0, r.din);
    for (size_t i = 0; i < nw; i++) fw[i] = (float)w[i], r.dw[i] = 0.25f;
    for (int c = 0; c < lo->c; c++) fb[c] = (float)b[c], r.db[c] = 0.25f; /* b has C values (the gate's li: 2C) */
    for (size_t i = 0; i < no; i++) r.out[i] = 7.0f; /* the padding must be written */
    float *inplace = test_calloc(ni, sizeof(float));
    memcpy(inplace, fin, sizeof(float) * ni);
    switch (kind) {
    case K_LN:
        ub__ln_forward_blk(li, inplace, inplace, fw, fb, cache, threads);
        ub__ln_forward_blk(li, r.out, fin, fw, fb, cache, threads);
        ub__ln_backward_blk(li, r.din, r.dw, r.db, fdout, fin, fw, cache, scratch, threads);
        break;
    case K_GATE:
        ub__gate_forward_blk(li, lo, r.out, fin, threads);
        ub__gate_backward_blk(li, lo, r.din, fdout, fin, threads);
        break;
    case K_SCA:
        ub__sca_forward_blk(li, inplace, inplace, NULL, fw, fb, cache, scratch, threads);
        ub__sca_forward_blk(li, r.out, fin, NULL, fw, fb, cache, scratch, threads);
        ub__sca_backward_blk(li, r.din, r.dw, r.db, fdout, fin, fw, cache, scratch, threads);
        break;
    case K_SCALE:
        ub__scale_forward_blk(li, inplace, inplace, fw, threads);
        ub__scale_forward_blk(li, r.out, fin, fw, threads);
        ub__scale_backward_blk(li, r.din, r.dw, fdout, fin, fw, scratch, threads);
        break;
    }
    if (kind != K_GATE) r.inplace_same = !memcmp(inplace, r.out, sizeof(float) * no);
    free(fin), free(fdout), free(fw), free(fb), free(cache), free(scratch), free(inplace);
    return r;
}

/* Each kernel on layout B (0: NHWC) with C channels (the gate: 2C in, C out) against the double reference,
   with zero padding written, parameter gradients accumulated, the same bits in place, and the same bits on
   1, 2 and 3 threads. H = 19 spans several chunks of rows (the reductions' unit). */
static void check_blk_kernels(int B, int C) {
    const int N = 2, H = 19, W = 7;
    const size_t x = (size_t)N * C * H * W;
    test_rng r = {(uint64_t)(B * 977 + C)};
    for (int kind = K_LN; kind <= K_SCALE; kind++) {
        const int Ci = kind == K_GATE ? 2 * C : C;
        const ub__blk li = ub__blk_make(N, Ci, H, W, B), lo = ub__blk_make(N, C, H, W, B);
        const size_t xi = (size_t)N * Ci * H * W, nw = kind == K_SCA ? (size_t)C * C : (size_t)C;
        double *in = random_doubles(&r, xi, -2, 2), *dout = random_doubles(&r, x, -1, 1);
        double *din = random_doubles(&r, xi, -1, 1), *din0 = test_calloc(xi, sizeof(double));
        double *w = random_doubles(&r, nw, -1, 1), *b = random_doubles(&r, (size_t)C, -1, 1);
        double *out = test_calloc(x, sizeof(double)), *dw = test_calloc(nw, sizeof(double)),
               *db = test_calloc((size_t)C, sizeof(double));
        double *cache = test_calloc(ub__layernorm_cache_size(N, H, W) + ub__sca_cache_size(N, C), sizeof(double));
        memcpy(din0, din, sizeof(double) * xi);
        for (size_t i = 0; i < nw; i++) dw[i] = 0.25;
        for (int c = 0; c < C; c++) db[c] = 0.25;
        switch (kind) {
        case K_LN:
            ub__layernorm_forward_ref(out, cache, in, w, b, N, C, H, W);
            ub__layernorm_backward_ref(din, dw, db, dout, cache, in, w, N, C, H, W);
            break;
        case K_GATE:
            ub__gate_forward_ref(out, in, N, C, (size_t)H * W);
            ub__gate_backward_ref(din, dout, in, N, C, (size_t)H * W);
            break;
        case K_SCA:
            ub__sca_forward_ref(out, cache, in, w, b, N, C, H, W);
            ub__sca_backward_ref(din, dw, db, dout, cache, in, w, N, C, H, W);
            break;
        case K_SCALE:
            ub__scale_forward_ref(out, in, w, N, C, (size_t)H * W);
            ub__scale_backward_ref(din, dw, dout, in, w, N, C, (size_t)H * W);
            break;
        }
        naf_run one = run_blk_kernel(kind, &li, &lo, in, dout, din0, w, b, nw, 1);
        const double e[4] = {testblk_err(&lo, one.out, out), testblk_err(&li, one.din, din),
                             kind == K_GATE ? 0 : vec_err(one.dw, dw, nw),
                             kind == K_LN || kind == K_SCA ? vec_err(one.db, db, (size_t)C) : 0};
        CHECK_MSG(e[0] < 1e-5 && e[1] < 1e-5 && e[2] < 1e-5 && e[3] < 1e-5,
                  "%s B=%d C=%d vs reference: out %g, din %g, dw %g, db %g", kernel_names[kind], B, C, e[0], e[1],
                  e[2], e[3]);
        CHECK_MSG(testblk_padding_zero(&lo, one.out) && one.inplace_same, "%s B=%d C=%d: padding or in place",
                  kernel_names[kind], B, C);
        for (int threads = 2; threads <= 3; threads++) {
            naf_run t = run_blk_kernel(kind, &li, &lo, in, dout, din0, w, b, nw, threads);
            CHECK_MSG(!memcmp(t.out, one.out, sizeof(float) * ub__blk_floats(&lo)) &&
                          !memcmp(t.din, one.din, sizeof(float) * ub__blk_floats(&li)) &&
                          !memcmp(t.dw, one.dw, sizeof(float) * nw) && !memcmp(t.db, one.db, sizeof(float) * C),
                      "%s B=%d C=%d: %d threads differ from 1", kernel_names[kind], B, C, threads);
            free(t.out), free(t.din), free(t.dw), free(t.db);
        }
        free(one.out), free(one.din), free(one.dw), free(one.db);
        free(in), free(dout), free(din), free(din0), free(w), free(b), free(out), free(dw), free(db), free(cache);
    }
}

static void test_blk_kernels(void) {
    /* nChw8c / nChw16c with padding (the gate's 2C = 24 input splits mid-block), aligned, several blocks;
       NHWC; plain NCHW */
    const int cases[][2] = {{8, 12}, {16, 12}, {8, 16}, {16, 40}, {0, 12}, {0, 16}, {1, 5}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_blk_kernels(cases[i][0], cases[i][1]);
    printf("NAF float kernels: 7 layouts, against the reference, 1 = 2 = 3 threads\n");
}

/* LayerNorm by hand: one pixel, channels (1, 2, 3): mean 2, var 2/3. */
static void test_layernorm_by_hand(void) {
    const double in[3] = {1, 2, 3}, w[3] = {1, 2, 1}, b[3] = {0, 0, 1};
    double out[3], cache[2];
    ub__layernorm_forward_ref(out, cache, in, w, b, 1, 3, 1, 1);
    const double s = 1 / sqrt(2.0 / 3 + 1e-6);
    CHECK_NEAR(out[0], -s, 1e-12);
    CHECK_NEAR(out[1], 0, 1e-12);
    CHECK_NEAR(out[2], s + 1, 1e-12);
}

/* ---- whole nets ---- */

static double net_loss(ub_ctx *ctx, const ub__graph *g, const ub__param_table *t, const double *params,
                       const double *input, const double *gout, size_t nout) {
    ub__ref_state s;
    if (ub__graph_forward_ref(ctx, g, t, params, input, &s) != UB_OK) return NAN;
    double l = 0;
    for (size_t i = 0; i < nout; i++) l += gout[i] * s.values[g->nvalues - 1][i];
    ub__ref_state_free(&s);
    return l;
}

/* Backward of a whole net vs central differences: every input element and a spread of every tensor's. */
static void check_net(const char *what, int skip) {
    ub_ctx *ctx = test_ctx(1);
    ub__rbnet_config c;
    ub__rbnet_config_default(&c);
    c.width = 4, c.blocks = 1, c.mid_blocks = 1, c.depth = 2, c.se_reduction = 2, c.sa_kernel = 3;
    c.block = UB__BLOCK_NAF, c.skip_attention = skip;
    ub__param_table t;
    ub__graph g;
    const int n = 1, h = 7, w = 10; /* padded to 8 x 12 */
    CHECK_OK(ctx, ub__rbnet_params(ctx, &c, &t));
    CHECK_OK(ctx, ub__rbnet_graph(ctx, &c, &t, n, h, w, &g));
    test_rng r = {5};
    double *params = random_doubles(&r, t.total, -0.5, 0.5); /* beta, gamma, LayerNorm included: all non-trivial */
    const size_t nin = (size_t)n * 3 * h * w;
    double *input = random_doubles(&r, nin, 0, 1), *gout = random_doubles(&r, nin, -1, 1);
    double *dparams = test_calloc(t.total, sizeof(double)), *dinput = test_calloc(nin, sizeof(double));
    ub__ref_state s;
    CHECK_OK(ctx, ub__graph_forward_ref(ctx, &g, &t, params, input, &s));
    CHECK_OK(ctx, ub__graph_backward_ref(ctx, &g, &t, params, &s, gout, dparams, dinput));
    ub__ref_state_free(&s);
    /* 1e-4: the error falls as the step grows from 1e-6 to 1e-4 (measured 1e-4 -> 5e-7), so rounding,
       not truncation, dominates at smaller steps */
    const double eps = 1e-4;
    double worst = 0;
    int checked = 0;
    for (size_t i = 0; i < nin; i += 2) {
        const double keep = input[i];
        input[i] = keep + eps;
        double lp = net_loss(ctx, &g, &t, params, input, gout, nin);
        input[i] = keep - eps;
        double lm = net_loss(ctx, &g, &t, params, input, gout, nin);
        input[i] = keep;
        worst = fmax(worst, rel_err((lp - lm) / (2 * eps), dinput[i])), checked++;
    }
    for (int p = 0; p < t.count; p++) {
        const ub__param *q = &t.params[p];
        const size_t step = q->count > 8 ? q->count / 5 + 1 : 1;
        for (size_t j = 0; j < q->count; j += step) {
            const size_t i = q->offset + j;
            const double keep = params[i];
            params[i] = keep + eps;
            double lp = net_loss(ctx, &g, &t, params, input, gout, nin);
            params[i] = keep - eps;
            double lm = net_loss(ctx, &g, &t, params, input, gout, nin);
            params[i] = keep;
            worst = fmax(worst, rel_err((lp - lm) / (2 * eps), dparams[i])), checked++;
        }
    }
    printf("%s (W4 N1 M1 D2, 7x10, %zu parameters, %d ops): backward vs central differences, %d gradients, worst "
           "relative error %.2e\n", what, t.total, g.nops, checked, worst);
    CHECK_MSG(worst < 1e-5, "%s: worst relative gradient error %g", what, worst);
    free(params), free(input), free(gout), free(dparams), free(dinput);
    ub__graph_free(&g);
    ub__param_table_free(&t);
    ub_ctx_destroy(&ctx);
}

static double *to_double(const float *x, size_t n) {
    double *d = test_calloc(n, sizeof(double));
    for (size_t i = 0; i < n; i++) d[i] = x[i];
    return d;
}

/* The reference on a fixture's input vs its output; the table in the file's order. Returns the error. */
static double check_fixture(const char *name, int block, int skip) {
    ub_ctx *ctx = test_ctx(0);
    ub_model *m = NULL;
    ub__safetensors *st = NULL;
    double worst = INFINITY;
    CHECK_OK(ctx, ub_model_load(ctx, data_path(name), &m));
    CHECK_OK(ctx, ub__st_open(ctx, data_path(name), &st));
    if (m && st) {
        CHECK(m->net.config.rbnet.block == block && m->net.config.rbnet.skip_attention == skip);
        int k = 0;
        for (int i = 0; i < ub__st_count(st); i++) {
            const char *n = ub__st_name(st, i);
            if (!strcmp(n, "input") || !strcmp(n, "output")) continue;
            CHECK_MSG(k < m->net.table.count && !strcmp(m->net.table.params[k].name, n), "%s: tensor %d is %s, table has %s",
                      name, i, n, k < m->net.table.count ? m->net.table.params[k].name : "(end)");
            k++;
        }
        CHECK(k == m->net.table.count);
        int64_t shape[8];
        CHECK(ub__st_shape(st, ub__st_find(st, "input"), shape) == 4);
        const int n = (int)shape[0], h = (int)shape[2], w = (int)shape[3];
        const size_t count = (size_t)n * 3 * h * w;
        float *in = test_calloc(count, sizeof(float)), *want = test_calloc(count, sizeof(float));
        CHECK_OK(ctx, ub__st_read_f32(ctx, st, "input", 4, shape, in));
        CHECK_OK(ctx, ub__st_read_f32(ctx, st, "output", 4, shape, want));
        ub__graph g;
        CHECK_OK(ctx, ub__net_graph(ctx, &m->net, n, h, w, &g));
        double *params = to_double(m->params, m->net.table.total), *input = to_double(in, count);
        ub__ref_state s;
        CHECK_OK(ctx, ub__graph_forward_ref(ctx, &g, &m->net.table, params, input, &s));
        worst = 0;
        for (size_t i = 0; i < count; i++) worst = fmax(worst, fabs(s.values[g.nvalues - 1][i] - want[i]));
        CHECK_MSG(worst <= 1e-4, "%s: max |unblur - PyTorch| = %g", name, worst);
        printf("%s: %zu parameters, %d ops, %dx%d, max |reference - PyTorch| = %.2e\n", name, m->net.table.total,
               g.nops, w, h, worst);
        ub__ref_state_free(&s);
        ub__graph_free(&g);
        free(params), free(input), free(in), free(want);
    }
    ub__st_close(&st);
    ub_model_destroy(&m);
    ub_ctx_destroy(&ctx);
    return worst;
}

/* Metadata and initialisation. */
static void test_model_files(void) {
    ub_ctx *ctx = test_ctx(1);
    const char *dir = test_tmpdir("naf");
    char path[1024];
    ub_rbnet_config c;
    ub_rbnet_default(&c);
    CHECK(c.block == UB_RBNET_BLOCK_RES && c.skip_attention == UB_RBNET_SKIP_BOTH);
    c.width = 4, c.blocks = 1, c.mid_blocks = 2, c.depth = 2, c.block = UB_RBNET_BLOCK_NAF,
    c.skip_attention = UB_RBNET_SKIP_SA;
    ub_rng rng;
    ub_rng_seed(&rng, 3);
    ub_model *m = NULL, *back = NULL;
    CHECK_OK(ctx, ub_model_create(ctx, &c, &rng, &m));
    if (!m) return;
    int ones = 0, zeros = 0, random = 0;
    for (int i = 0; i < m->net.table.count; i++) {
        const ub__param *p = &m->net.table.params[i];
        const char *name = p->name;
        const size_t len = strlen(name);
        const int is_norm_w = strstr(name, ".norm") && len > 7 && !strcmp(name + len - 7, ".weight");
        const int is_zero = (strstr(name, ".norm") && !strcmp(name + len - 5, ".bias")) || !strcmp(name + len - 5, ".beta") ||
                            !strcmp(name + len - 6, ".gamma");
        for (size_t k = 0; k < p->count; k++) {
            const float v = m->params[p->offset + k];
            if (is_norm_w) {
                CHECK(v == 1.0f);
                ones++;
            } else if (is_zero) {
                CHECK(v == 0.0f);
                zeros++;
            } else random += v != 0.0f;
        }
        CHECK(!strstr(name, ".se.")); /* skip attention sa: no SE */
    }
    CHECK(ones > 0 && zeros > 0 && random > 0);
    snprintf(path, sizeof path, "%s/naf.safetensors", dir);
    CHECK_OK(ctx, ub_model_save(ctx, m, path, "F32"));
    ub__safetensors *st = NULL;
    CHECK_OK(ctx, ub__st_open(ctx, path, &st));
    if (st) {
        CHECK(ub__st_meta(st, "block") && !strcmp(ub__st_meta(st, "block"), "naf"));
        CHECK(ub__st_meta(st, "skip_attention") && !strcmp(ub__st_meta(st, "skip_attention"), "sa"));
        CHECK(ub__st_meta(st, "mid_blocks") && !strcmp(ub__st_meta(st, "mid_blocks"), "2"));
    }
    ub__st_close(&st);
    CHECK_OK(ctx, ub_model_load(ctx, path, &back));
    if (back) {
        ub_rbnet_config b;
        ub_model_config(back, &b);
        CHECK(b.block == UB_RBNET_BLOCK_NAF && b.skip_attention == UB_RBNET_SKIP_SA && b.mid_blocks == 2);
        CHECK(ub_model_parameters(back) == ub_model_parameters(m));
        CHECK(!memcmp(back->params, m->params, sizeof(float) * ub_model_parameters(m)));
        char text[256];
        ub_model_describe(back, text, sizeof text);
        CHECK_MSG(strstr(text, "block naf") && strstr(text, "skip_attention sa"), "%s", text);
        CHECK(!strcmp(ub_model_arch(back), "rbnet"));
    }
    ub_model_destroy(&back);
    ub_model_destroy(&m);
    /* res / both: neither key written (files as before, and as rbnet.py writes them) */
    ub_rbnet_default(&c);
    c.width = 4, c.blocks = 1;
    CHECK_OK(ctx, ub_model_create(ctx, &c, &rng, &m));
    snprintf(path, sizeof path, "%s/res.safetensors", dir);
    if (m) CHECK_OK(ctx, ub_model_save(ctx, m, path, "F32"));
    CHECK_OK(ctx, ub__st_open(ctx, path, &st));
    if (st) CHECK(!ub__st_meta(st, "block") && !ub__st_meta(st, "skip_attention"));
    ub__st_close(&st);
    ub_model_destroy(&m);
    /* a bad value is refused with the key named */
    ub__st_writer *w = ub__st_writer_create(ctx);
    ub__st_writer_meta(ctx, w, "arch", "rbnet");
    ub__st_writer_meta(ctx, w, "block", "dense");
    snprintf(path, sizeof path, "%s/bad.safetensors", dir);
    CHECK_OK(ctx, ub__st_writer_save(ctx, w, path));
    ub__st_writer_destroy(&w);
    CHECK(ub_model_load(ctx, path, &m) == UB_ERR_FORMAT && strstr(ub_last_error(ctx), "metadata block is 'dense'"));
    CHECK(ub_rbnet_block_parse("naf") == UB_RBNET_BLOCK_NAF && ub_rbnet_skip_parse("none") == UB_RBNET_SKIP_NONE &&
          ub_rbnet_block_parse("x") < 0);
    ub_ctx_destroy(&ctx);
}

/* The seam: an op kind with no receptive-field rule is an error; the fast executor refuses NAF ops. */
static void test_seam(void) {
    ub_ctx *ctx = test_ctx(1);
    ub__rbnet_config c;
    ub__rbnet_config_default(&c);
    c.width = 4, c.blocks = 1, c.mid_blocks = 1, c.block = UB__BLOCK_NAF;
    ub__param_table t;
    ub__graph g;
    CHECK_OK(ctx, ub__rbnet_params(ctx, &c, &t));
    CHECK_OK(ctx, ub__rbnet_graph(ctx, &c, &t, 1, 16, 16, &g));
    int radius = -1, global = -1;
    CHECK_OK(ctx, ub__graph_receptive_radius(ctx, &g, &radius, &global));
    /* SCA in each of the 5 NAF blocks (enc1, enc2, bottleneck, dec2, dec1) + SE on the 2 skips */
    CHECK_MSG(global == 7 && radius > 0, "global %d, radius %d", global, radius);
    /* the fast executor runs NAF in float (tests/test_nn_fast.c compares it with the reference) and, where
       the CPU has native bf16, in bf16 (tests/test_bf16.c: against float, and refused without native bf16) */
    ub__fast_net *net = NULL;
    const ub_status made = ub__fast_net_create(ctx, &g, &t, 0, &net);
    CHECK(made == UB_OK || made == UB_ERR_UNSUPPORTED); /* (no oneDNN CPU engine: unsupported) */
    ub__fast_net_destroy(&net);
    if (g.nops > 1) {
        g.ops[1].kind = (ub__op_kind)99;
        CHECK(ub__graph_receptive_radius(ctx, &g, &radius, NULL) == UB_ERR_INVALID &&
              strstr(ub_last_error(ctx), "no rule"));
    }
    ub__graph_free(&g);
    ub__param_table_free(&t);
    CHECK(ub__arch_find("rbnet") == &ub__arch_rbnet && !ub__arch_find("unet"));
    ub_ctx_destroy(&ctx);
}

int main(void) {
    test_layernorm_by_hand();
    test_layers();
    test_blk_kernels();
    check_net("NAF, skip attention both", UB__SKIP_BOTH);
    check_net("NAF, skip attention sa", UB__SKIP_SA);
    double d2 = check_fixture("naf_fixture.safetensors", UB__BLOCK_NAF, UB__SKIP_BOTH);
    double d3 = check_fixture("naf_fixture_d3m2.safetensors", UB__BLOCK_NAF, UB__SKIP_BOTH);
    check_fixture("naf_fixture_noatt.safetensors", UB__BLOCK_NAF, UB__SKIP_NONE);
    check_fixture("rbnet_fixture_skip_se.safetensors", UB__BLOCK_RES, UB__SKIP_SE);
    printf("NAF fixtures: depth 2 max error %.2e, depth 3 max error %.2e (limit 1e-4)\n", d2, d3);
    test_model_files();
    test_seam();
    return test_finish("test_naf");
}
