/* tests/test_nn_ref.c — the double-precision reference layers of nn/ref.h:
   every backward pass against central differences (every input and parameter
   gradient, random small shapes), that backward accumulates and skips NULL
   gradients, hand-computed forward cases, and proof that the gradient checker
   catches a wrong gradient. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/ref.h"
#include "testutil.h"

#define FD_STEP 1e-3 /* fourth-order central differences (test_fd_check): rounding and truncation both < 1e-7 */
#define FD_TOL 1e-6  /* worst relative error allowed per element */
#define MAX_TENSORS 5

static double *alloc_doubles(size_t n) { return test_calloc(n, sizeof(double)); }

static double *random_doubles(test_rng *rng, size_t n, double lo, double hi) {
    double *p = alloc_doubles(n);
    for (size_t i = 0; i < n; i++) p[i] = lo + (hi - lo) * test_rng_uniform(rng);
    return p;
}

/* ---------------------------------------------------------------- one layer under test */

/* A layer with its differentiable tensors (inputs first, then parameters), shapes and cache. */
typedef struct layer_case layer_case;
struct layer_case {
    char name[96];
    int N, C, H, W, Cout, K, stride, R, Hp, Wp;
    int ntensors;
    const char *tensor_name[MAX_TENSORS];
    double *tensor[MAX_TENSORS];
    size_t size[MAX_TENSORS];
    size_t nout;
    double *cache; /* SE, SA */
    void (*forward)(layer_case *lc, double *out);
    /* grad[k] may be NULL */
    void (*backward)(layer_case *lc, double *const grad[MAX_TENSORS], const double *dout);
};

static void add_tensor(layer_case *lc, const char *name, double *t, size_t size) {
    lc->tensor_name[lc->ntensors] = name;
    lc->tensor[lc->ntensors] = t;
    lc->size[lc->ntensors] = size;
    lc->ntensors++;
}

static void free_case(layer_case *lc) {
    for (int k = 0; k < lc->ntensors; k++) free(lc->tensor[k]);
    free(lc->cache);
}

static void case_forward(void *state, double *out) {
    layer_case *lc = state;
    lc->forward(lc, out);
}

/* Runs forward, then backward into fresh zeroed buffers (grad[k] NULL where use[k] is false). */
static void run_backward(layer_case *lc, const double *dout, double *out, const int use[MAX_TENSORS],
                         double *grad[MAX_TENSORS]) {
    for (int k = 0; k < MAX_TENSORS; k++) grad[k] = k < lc->ntensors && use[k] ? alloc_doubles(lc->size[k]) : NULL;
    lc->forward(lc, out); /* fills the cache that backward reads */
    lc->backward(lc, grad, dout);
}

static void free_grads(double *grad[MAX_TENSORS]) {
    for (int k = 0; k < MAX_TENSORS; k++) free(grad[k]);
}

static int close_enough(double a, double b) { return fabs(a - b) <= 1e-12 * fabs(b) + 1e-14; }

/* Each gradient alone (the others NULL) equals its value when all are asked for; all NULL runs too. */
static void check_null_grads(layer_case *lc, const double *dout, double *out, double *const full[MAX_TENSORS]) {
    const int none[MAX_TENSORS] = {0};
    double *grad[MAX_TENSORS];
    run_backward(lc, dout, out, none, grad);
    for (int only = 0; only < lc->ntensors; only++) {
        int use[MAX_TENSORS] = {0};
        use[only] = 1;
        run_backward(lc, dout, out, use, grad);
        size_t mismatches = 0;
        for (size_t i = 0; i < lc->size[only]; i++) mismatches += !close_enough(grad[only][i], full[only][i]);
        CHECK_MSG(mismatches == 0, "%s: d%s alone differs in %zu elements", lc->name, lc->tensor_name[only],
                  mismatches);
        free_grads(grad);
    }
}

/* All the gradient checks of one layer; returns the worst finite-difference relative error. */
static double check_layer(layer_case *lc, test_rng *rng) {
    double *out = alloc_doubles(lc->nout), *dout = random_doubles(rng, lc->nout, -1, 1);
    const int all[MAX_TENSORS] = {1, 1, 1, 1, 1};
    double *grad[MAX_TENSORS];
    run_backward(lc, dout, out, all, grad);

    double worst_all = 0;
    for (int k = 0; k < lc->ntensors; k++) {
        size_t at;
        double worst = test_fd_check(case_forward, lc, lc->tensor[k], lc->size[k], grad[k], dout, lc->nout, FD_STEP, &at);
        CHECK_MSG(worst < FD_TOL, "%s: d%s[%zu]: relative error %.3g", lc->name, lc->tensor_name[k], at, worst);
        if (worst > worst_all) worst_all = worst;
    }

    /* accumulation: keep the first result, add a random offset to the buffers (so that an element that
       backward sets instead of adding to, even to zero, shows), run backward again into them:
       they must hold offset + 2 * first */
    double *first[MAX_TENSORS] = {0}, *offset[MAX_TENSORS] = {0};
    for (int k = 0; k < lc->ntensors; k++) {
        first[k] = alloc_doubles(lc->size[k]);
        memcpy(first[k], grad[k], lc->size[k] * sizeof(double));
        offset[k] = random_doubles(rng, lc->size[k], -1, 1);
        for (size_t i = 0; i < lc->size[k]; i++) grad[k][i] += offset[k][i];
    }
    lc->forward(lc, out);
    lc->backward(lc, grad, dout);
    for (int k = 0; k < lc->ntensors; k++) {
        size_t wrong = 0;
        for (size_t i = 0; i < lc->size[k]; i++)
            wrong += !close_enough(grad[k][i], offset[k][i] + 2 * first[k][i]);
        CHECK_MSG(wrong == 0, "%s: d%s does not accumulate (%zu elements)", lc->name, lc->tensor_name[k], wrong);
    }
    free_grads(offset);

    check_null_grads(lc, dout, out, first);
    free_grads(first);
    free_grads(grad);
    free(out);
    free(dout);
    printf("  %-44s worst relative error %.2e\n", lc->name, worst_all);
    return worst_all;
}

/* ---------------------------------------------------------------- the layers as cases */

#define T(k) (lc->tensor[k])

static void conv_forward(layer_case *lc, double *out) {
    ub__conv2d_forward_ref(out, T(0), T(1), lc->ntensors > 2 ? T(2) : NULL, lc->N, lc->C, lc->H, lc->W, lc->Cout,
                           lc->K, lc->stride);
}
static void conv_backward(layer_case *lc, double *const grad[MAX_TENSORS], const double *dout) {
    ub__conv2d_backward_ref(grad[0], grad[1], lc->ntensors > 2 ? grad[2] : NULL, dout, T(0), T(1), lc->N, lc->C,
                            lc->H, lc->W, lc->Cout, lc->K, lc->stride);
}
static layer_case conv_case(test_rng *rng, int N, int C, int H, int W, int Cout, int K, int stride, int bias) {
    layer_case lc = {.N = N, .C = C, .H = H, .W = W, .Cout = Cout, .K = K, .stride = stride};
    snprintf(lc.name, sizeof lc.name, "conv2d %dx%dx%dx%d->%d K%d s%d%s", N, C, H, W, Cout, K, stride,
             bias ? " bias" : "");
    const size_t nin = (size_t)N * C * H * W, nw = (size_t)Cout * C * K * K;
    add_tensor(&lc, "in", random_doubles(rng, nin, -1, 1), nin);
    add_tensor(&lc, "weight", random_doubles(rng, nw, -1, 1), nw);
    if (bias) add_tensor(&lc, "bias", random_doubles(rng, Cout, -1, 1), Cout);
    const int Ho = (H + 2 * (K / 2) - K) / stride + 1, Wo = (W + 2 * (K / 2) - K) / stride + 1;
    lc.nout = (size_t)N * Cout * Ho * Wo;
    lc.forward = conv_forward;
    lc.backward = conv_backward;
    return lc;
}

static void convT_forward(layer_case *lc, double *out) {
    ub__convT2_forward_ref(out, T(0), T(1), T(2), lc->N, lc->C, lc->H, lc->W, lc->Cout);
}
static void convT_backward(layer_case *lc, double *const grad[MAX_TENSORS], const double *dout) {
    ub__convT2_backward_ref(grad[0], grad[1], grad[2], dout, T(0), T(1), lc->N, lc->C, lc->H, lc->W, lc->Cout);
}
static layer_case convT_case(test_rng *rng, int N, int C, int H, int W, int Cout) {
    layer_case lc = {.N = N, .C = C, .H = H, .W = W, .Cout = Cout};
    snprintf(lc.name, sizeof lc.name, "convT2 %dx%dx%dx%d->%d", N, C, H, W, Cout);
    const size_t nin = (size_t)N * C * H * W, nw = (size_t)C * Cout * 4;
    add_tensor(&lc, "in", random_doubles(rng, nin, -1, 1), nin);
    add_tensor(&lc, "weight", random_doubles(rng, nw, -1, 1), nw);
    add_tensor(&lc, "bias", random_doubles(rng, Cout, -1, 1), Cout);
    lc.nout = (size_t)N * Cout * 4 * H * W;
    lc.forward = convT_forward;
    lc.backward = convT_backward;
    return lc;
}

static void relu_forward(layer_case *lc, double *out) { ub__relu_forward_ref(out, T(0), lc->size[0]); }
static void relu_backward(layer_case *lc, double *const grad[MAX_TENSORS], const double *dout) {
    ub__relu_backward_ref(grad[0], dout, T(0), lc->size[0]);
}
/* Finite differences straddling a kink (relu at 0, a change of the max's channel) measure nothing: keep every
   input at least KINK_MARGIN, far more than the step, from one (as ggml's grad_expect avoids them too). */
#define KINK_MARGIN 1e-2

static layer_case relu_case(test_rng *rng, size_t n) {
    layer_case lc = {0};
    snprintf(lc.name, sizeof lc.name, "relu %zu", n);
    double *in = random_doubles(rng, n, -1, 1);
    for (size_t i = 0; i < n; i++)
        if (fabs(in[i]) < KINK_MARGIN) in[i] = in[i] < 0 ? -KINK_MARGIN : KINK_MARGIN;
    add_tensor(&lc, "in", in, n);
    lc.nout = n;
    lc.forward = relu_forward;
    lc.backward = relu_backward;
    return lc;
}

static void linear_forward(layer_case *lc, double *out) {
    ub__linear_forward_ref(out, T(0), T(1), T(2), lc->N, lc->C, lc->Cout);
}
static void linear_backward(layer_case *lc, double *const grad[MAX_TENSORS], const double *dout) {
    ub__linear_backward_ref(grad[0], grad[1], grad[2], dout, T(0), T(1), lc->N, lc->C, lc->Cout);
}
static layer_case linear_case(test_rng *rng, int N, int In, int Out) {
    layer_case lc = {.N = N, .C = In, .Cout = Out};
    snprintf(lc.name, sizeof lc.name, "linear %dx%d->%d", N, In, Out);
    add_tensor(&lc, "in", random_doubles(rng, (size_t)N * In, -1, 1), (size_t)N * In);
    add_tensor(&lc, "weight", random_doubles(rng, (size_t)Out * In, -1, 1), (size_t)Out * In);
    add_tensor(&lc, "bias", random_doubles(rng, Out, -1, 1), Out);
    lc.nout = (size_t)N * Out;
    lc.forward = linear_forward;
    lc.backward = linear_backward;
    return lc;
}

static void se_forward(layer_case *lc, double *out) {
    ub__se_forward_ref(out, lc->cache, T(0), T(1), T(2), T(3), T(4), lc->N, lc->C, lc->H, lc->W, lc->R);
}
static void se_backward(layer_case *lc, double *const grad[MAX_TENSORS], const double *dout) {
    ub__se_backward_ref(grad[0], grad[1], grad[2], grad[3], grad[4], dout, lc->cache, T(0), T(1), T(3), lc->N, lc->C,
                        lc->H, lc->W, lc->R);
}
static layer_case se_case(test_rng *rng, int N, int C, int H, int W, int R) {
    layer_case lc = {.N = N, .C = C, .H = H, .W = W, .R = R};
    snprintf(lc.name, sizeof lc.name, "SE %dx%dx%dx%d R%d", N, C, H, W, R);
    const size_t nin = (size_t)N * C * H * W;
    /* inputs in [0, 1] like images, so that the channel means differ */
    add_tensor(&lc, "in", random_doubles(rng, nin, 0, 1), nin);
    add_tensor(&lc, "w1", random_doubles(rng, (size_t)R * C, -1, 1), (size_t)R * C);
    double *b1 = random_doubles(rng, R, -0.5, 0.5);
    for (int r = 0; r < R; r++) b1[r] += r % 2 ? -3.0 : 3.0; /* odd hidden units clipped by the relu, even ones active */
    add_tensor(&lc, "b1", b1, R);
    add_tensor(&lc, "w2", random_doubles(rng, (size_t)C * R, -1, 1), (size_t)C * R);
    add_tensor(&lc, "b2", random_doubles(rng, C, -1, 1), C);
    lc.cache = alloc_doubles(ub__se_cache_size(N, C, R));
    lc.nout = nin;
    lc.forward = se_forward;
    lc.backward = se_backward;
    return lc;
}

static void sa_forward(layer_case *lc, double *out) {
    ub__sa_forward_ref(out, lc->cache, T(0), T(1), lc->N, lc->C, lc->H, lc->W, lc->K);
}
static void sa_backward(layer_case *lc, double *const grad[MAX_TENSORS], const double *dout) {
    ub__sa_backward_ref(grad[0], grad[1], dout, lc->cache, T(0), T(1), lc->N, lc->C, lc->H, lc->W, lc->K);
}
/* Lifts each pixel's max over the channels at least KINK_MARGIN above the runner-up. */
static void separate_max(double *in, int N, int C, int HW) {
    for (int n = 0; n < N; n++)
        for (int p = 0; p < HW; p++) {
            double *x = in + (size_t)n * C * HW + p;
            int top = 0;
            for (int c = 1; c < C; c++)
                if (x[(size_t)c * HW] > x[(size_t)top * HW]) top = c;
            double second = -INFINITY;
            for (int c = 0; c < C; c++)
                if (c != top && x[(size_t)c * HW] > second) second = x[(size_t)c * HW];
            if (x[(size_t)top * HW] - second < KINK_MARGIN) x[(size_t)top * HW] = second + KINK_MARGIN;
        }
}

static layer_case sa_case(test_rng *rng, int N, int C, int H, int W, int K) {
    layer_case lc = {.N = N, .C = C, .H = H, .W = W, .K = K};
    snprintf(lc.name, sizeof lc.name, "SA %dx%dx%dx%d K%d", N, C, H, W, K);
    const size_t nin = (size_t)N * C * H * W, nw = (size_t)2 * K * K;
    double *in = random_doubles(rng, nin, -1, 1);
    separate_max(in, N, C, H * W);
    add_tensor(&lc, "in", in, nin);
    /* weights ~ 1/K keep the sigmoid out of saturation, where every gradient would be tiny */
    add_tensor(&lc, "w", random_doubles(rng, nw, -1.0 / K, 1.0 / K), nw);
    lc.cache = alloc_doubles(ub__sa_cache_size(N, H, W));
    lc.nout = nin;
    lc.forward = sa_forward;
    lc.backward = sa_backward;
    return lc;
}

static void pad_forward(layer_case *lc, double *out) {
    ub__pad_reflect_forward_ref(out, T(0), lc->N, lc->C, lc->H, lc->W, lc->Hp, lc->Wp);
}
static void pad_backward(layer_case *lc, double *const grad[MAX_TENSORS], const double *dout) {
    ub__pad_reflect_backward_ref(grad[0], dout, lc->N, lc->C, lc->H, lc->W, lc->Hp, lc->Wp);
}
static layer_case pad_case(test_rng *rng, int N, int C, int H, int W, int Hp, int Wp) {
    layer_case lc = {.N = N, .C = C, .H = H, .W = W, .Hp = Hp, .Wp = Wp};
    snprintf(lc.name, sizeof lc.name, "pad %dx%dx%dx%d->%dx%d", N, C, H, W, Hp, Wp);
    const size_t nin = (size_t)N * C * H * W;
    add_tensor(&lc, "in", random_doubles(rng, nin, -1, 1), nin);
    lc.nout = (size_t)N * C * Hp * Wp;
    lc.forward = pad_forward;
    lc.backward = pad_backward;
    return lc;
}

/* ---------------------------------------------------------------- 1. gradients */

static double check_and_free(layer_case lc, test_rng *rng) {
    double worst = check_layer(&lc, rng);
    free_case(&lc);
    return worst;
}

static void test_gradients(void) {
    test_rng rng = {2024};
    double worst = 0;
    /* conv2d: K 3 and 7, stride 1 and 2, with and without bias, odd and even sides; K 1 too */
    static const int conv[][8] = {
        /* N C H W Cout K stride bias */
        {2, 3, 5, 7, 4, 3, 1, 1}, {2, 4, 8, 6, 3, 3, 1, 0}, {2, 5, 7, 9, 3, 3, 2, 1}, {2, 3, 8, 5, 4, 3, 2, 0},
        {2, 3, 6, 7, 2, 7, 1, 1}, {2, 3, 9, 6, 2, 7, 1, 0}, {2, 3, 9, 8, 2, 7, 2, 1}, {2, 4, 6, 5, 2, 7, 2, 0},
        {2, 5, 5, 6, 3, 1, 1, 1},
    };
    for (size_t i = 0; i < sizeof conv / sizeof *conv; i++) {
        const int *c = conv[i];
        worst = fmax(worst, check_and_free(conv_case(&rng, c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]), &rng));
    }
    worst = fmax(worst, check_and_free(convT_case(&rng, 2, 3, 4, 5, 4), &rng));
    worst = fmax(worst, check_and_free(convT_case(&rng, 2, 5, 3, 3, 2), &rng));
    worst = fmax(worst, check_and_free(relu_case(&rng, 2 * 3 * 5 * 7), &rng));
    worst = fmax(worst, check_and_free(linear_case(&rng, 2, 5, 3), &rng));
    worst = fmax(worst, check_and_free(linear_case(&rng, 3, 4, 1), &rng));
    worst = fmax(worst, check_and_free(se_case(&rng, 2, 5, 5, 6, 2), &rng));
    worst = fmax(worst, check_and_free(se_case(&rng, 2, 4, 7, 5, 1), &rng));
    worst = fmax(worst, check_and_free(se_case(&rng, 2, 3, 6, 6, 3), &rng));
    worst = fmax(worst, check_and_free(sa_case(&rng, 2, 4, 6, 7, 7), &rng));
    worst = fmax(worst, check_and_free(sa_case(&rng, 2, 3, 5, 5, 3), &rng));
    worst = fmax(worst, check_and_free(sa_case(&rng, 2, 5, 8, 9, 7), &rng));
    worst = fmax(worst, check_and_free(pad_case(&rng, 2, 3, 5, 6, 8, 8), &rng));
    worst = fmax(worst, check_and_free(pad_case(&rng, 2, 2, 3, 3, 5, 5), &rng));
    worst = fmax(worst, check_and_free(pad_case(&rng, 1, 2, 4, 7, 4, 8), &rng));
    printf("gradients: worst relative error over all layers %.2e (tolerance %.0e)\n", worst, FD_TOL);
}

/* ---------------------------------------------------------------- 2. forward, by hand */

static int equal_arrays(const double *a, const double *b, size_t n, double tol) {
    for (size_t i = 0; i < n; i++)
        if (!(fabs(a[i] - b[i]) <= tol)) {
            fprintf(stderr, "  element %zu: %.12g, expected %.12g\n", i, a[i], b[i]);
            return 0;
        }
    return 1;
}

static void test_conv_forward_by_hand(void) {
    /* a delta at (2, 2) of a 5x5 image: the output is the kernel, flipped (correlation), around (2, 2) */
    double in[25] = {0}, w[9], out[25], expect[25];
    in[2 * 5 + 2] = 1;
    for (int i = 0; i < 9; i++) w[i] = i + 1;
    const double bias = 0.5;
    ub__conv2d_forward_ref(out, in, w, &bias, 1, 1, 5, 5, 1, 3, 1);
    for (int y = 0; y < 5; y++)
        for (int x = 0; x < 5; x++) {
            const int ky = 2 - y + 1, kx = 2 - x + 1; /* out[y,x] = sum w[ky,kx] in[y+ky-1, x+kx-1] */
            expect[y * 5 + x] = bias + (ky >= 0 && ky < 3 && kx >= 0 && kx < 3 ? w[ky * 3 + kx] : 0);
        }
    CHECK(equal_arrays(out, expect, 25, 0));
    CHECK(out[1 * 5 + 1] == 9.5 && out[3 * 5 + 3] == 1.5 && out[0] == 0.5);

    /* stride 2: H = 7 -> 4, W = 8 -> 4; a centre-only kernel samples in[2y, 2x] */
    double img[7 * 8], sub[16], centre[9] = {0, 0, 0, 0, 1, 0, 0, 0, 0};
    for (int i = 0; i < 56; i++) img[i] = i;
    ub__conv2d_forward_ref(sub, img, centre, NULL, 1, 1, 7, 8, 1, 3, 2);
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 4; x++) CHECK(sub[y * 4 + x] == img[2 * y * 8 + 2 * x]);
    /* K 7, stride 2 on 7x7: 4x4; a kernel of ones sums the 7x7 window at (2y-3.., 2x-3..), zero outside */
    double ones[49], sum7[16];
    for (int i = 0; i < 49; i++) ones[i] = 1;
    ub__conv2d_forward_ref(sum7, ones, ones, NULL, 1, 1, 7, 7, 1, 7, 2);
    /* rows covered at y: [2y-3, 2y+3] within [0, 6]: y=0 -> 4, y=1 -> 6, y=2 -> 6, y=3 -> 4 */
    const double cover[4] = {4, 6, 6, 4};
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 4; x++) CHECK(sum7[y * 4 + x] == cover[y] * cover[x]);

    /* two input channels, two outputs: out[o] = sum_i w[o,i] * in[i] with 1x1 kernels */
    double in2[2 * 2] = {1, 2, 10, 20}, w2[4] = {1, 1, 2, -1}, b2[2] = {0, 100}, out2[4];
    ub__conv2d_forward_ref(out2, in2, w2, b2, 1, 2, 1, 2, 2, 1, 1);
    const double expect2[4] = {11, 22, 92, 84};
    CHECK(equal_arrays(out2, expect2, 4, 0));
}

static void test_convT_forward_by_hand(void) {
    /* one channel 2x2 -> 4x4: block (y, x) is in[y,x] * w[a,b] + bias */
    const double in[4] = {1, 2, 3, 4}, w[4] = {1, 10, 100, 1000}, bias = 0.25;
    double out[16];
    ub__convT2_forward_ref(out, in, w, &bias, 1, 1, 2, 2, 1);
    const double expect[16] = {
        1.25,   10.25,   2.25,   20.25,   /* row 0: in[0,0] w[0,*], in[0,1] w[0,*] */
        100.25, 1000.25, 200.25, 2000.25, /* row 1: w[1,*] */
        3.25,   30.25,   4.25,   40.25,   /* row 2: in[1,*] */
        300.25, 3000.25, 400.25, 4000.25,
    };
    CHECK(equal_arrays(out, expect, 16, 0));
    /* weight layout (Cin, Cout, 2, 2): the second output channel reads w[i, 1] */
    const double in2[2] = {1, 2}, w2[2 * 2 * 4] = {1, 1, 1, 1, 3, 3, 3, 3, 5, 5, 5, 5, 7, 7, 7, 7}, b2[2] = {0, 0};
    double out2[2 * 4];
    ub__convT2_forward_ref(out2, in2, w2, b2, 1, 2, 1, 1, 2);
    for (int p = 0; p < 4; p++) {
        CHECK(out2[p] == 1 * 1 + 2 * 5);
        CHECK(out2[4 + p] == 1 * 3 + 2 * 7);
    }
}

static void test_relu_linear_by_hand(void) {
    const double in[4] = {-1, 0, 0.5, 2};
    double out[4];
    ub__relu_forward_ref(out, in, 4);
    CHECK(out[0] == 0 && out[1] == 0 && out[2] == 0.5 && out[3] == 2);
    double din[4] = {1, 1, 1, 1};
    const double dout[4] = {5, 5, 5, 5};
    ub__relu_backward_ref(din, dout, in, 4);
    CHECK(din[0] == 1 && din[1] == 1 && din[2] == 6 && din[3] == 6); /* at 0: no gradient (PyTorch) */

    const double x[2 * 3] = {1, 2, 3, -1, 0, 1}, w[2 * 3] = {1, 0, -1, 2, 2, 2}, b[2] = {0.5, -0.5};
    double y[4];
    ub__linear_forward_ref(y, x, w, b, 2, 3, 2);
    const double expect[4] = {-1.5, 11.5, -1.5, -0.5};
    CHECK(equal_arrays(y, expect, 4, 0));
}

static double sigmoid(double v) { return 1 / (1 + exp(-v)); }

static void test_se_by_hand(void) {
    /* C = 2 constant planes 1 and 3 (means 1, 3); R = 1: h = 0.5 + 1.5 - 1 = 1; s = sigmoid(2, -2 + 0.5) */
    enum { C = 2, H = 3, W = 4 };
    double in[C * H * W], out[C * H * W], cache[2 + 1 + 2];
    for (int i = 0; i < H * W; i++) in[i] = 1, in[H * W + i] = 3;
    const double w1[2] = {0.5, 0.5}, w2[2] = {2, -2}, b2[2] = {0, 0.5};
    double b1 = -1;
    CHECK(ub__se_cache_size(1, C, 1) == 5);
    ub__se_forward_ref(out, cache, in, w1, &b1, w2, b2, 1, C, H, W, 1);
    CHECK_NEAR(cache[0], 1, 1e-15);
    CHECK_NEAR(cache[1], 3, 1e-15);
    CHECK_NEAR(cache[2], 1, 1e-15);
    for (int i = 0; i < H * W; i++) {
        CHECK_NEAR(out[i], 1 * sigmoid(2), 1e-15);
        CHECK_NEAR(out[H * W + i], 3 * sigmoid(-1.5), 1e-15);
    }
    /* fc1's output -1: the relu clips it, z = 0, s = sigmoid(b2) */
    b1 = -3;
    ub__se_forward_ref(out, cache, in, w1, &b1, w2, b2, 1, C, H, W, 1);
    CHECK(cache[2] == 0);
    CHECK_NEAR(out[0], sigmoid(0), 1e-15);
    CHECK_NEAR(out[H * W], 3 * sigmoid(0.5), 1e-15);
}

static void test_sa_by_hand(void) {
    /* C = 3, channel 2 is the max everywhere; a kernel that only taps the max map at its centre:
       a = sigmoid(max_c x), out = x * a; the mean map is pooled too */
    enum { C = 3, H = 3, W = 3, K = 3, HW = H * W };
    double in[C * HW], out[C * HW], cache[4 * HW], w[2 * K * K] = {0};
    for (int p = 0; p < HW; p++) in[p] = 0.1 * p, in[HW + p] = -0.2 * p, in[2 * HW + p] = 1 + 0.1 * p;
    w[K * K + 4] = 1; /* (0, 1, 1, 1): the max map, centre */
    CHECK(ub__sa_cache_size(1, H, W) == 4 * HW);
    ub__sa_forward_ref(out, cache, in, w, 1, C, H, W, K);
    for (int p = 0; p < HW; p++) {
        const double max = 1 + 0.1 * p, a = sigmoid(max);
        CHECK_NEAR(cache[p], (0.1 * p - 0.2 * p + 1 + 0.1 * p) / 3, 1e-15); /* mean */
        CHECK(cache[HW + p] == in[2 * HW + p]);                               /* max */
        CHECK_NEAR(cache[2 * HW + p], a, 1e-15);                              /* attention */
        CHECK(cache[3 * HW + p] == 2);                                        /* argmax */
        for (int c = 0; c < C; c++) CHECK_NEAR(out[c * HW + p], in[c * HW + p] * a, 1e-15);
    }

    /* a tie between channels 0 and 1 (both 2, channel 2 is 1): the max's gradient goes to channel 0 only.
       With dout only on channel 2, channel 1 gets nothing at all (mean weights are 0). */
    for (int p = 0; p < HW; p++) in[p] = 2, in[HW + p] = 2, in[2 * HW + p] = 1;
    ub__sa_forward_ref(out, cache, in, w, 1, C, H, W, K);
    for (int p = 0; p < HW; p++) CHECK(cache[3 * HW + p] == 0);
    double dout[C * HW] = {0}, din[C * HW] = {0};
    for (int p = 0; p < HW; p++) dout[2 * HW + p] = 1;
    ub__sa_backward_ref(din, NULL, dout, cache, in, w, 1, C, H, W, K);
    const double a = sigmoid(2), g = 1 * a * (1 - a); /* da = dout * x on channel 2 = 1 */
    for (int p = 0; p < HW; p++) {
        CHECK_NEAR(din[p], g, 1e-15);
        CHECK(din[HW + p] == 0);
        CHECK_NEAR(din[2 * HW + p], a, 1e-15);
    }
}

static void test_pad_by_hand(void) {
    /* [a b c d] padded by 2 on the right -> a b c d c b */
    const double row[4] = {1, 2, 3, 4};
    double out[6];
    ub__pad_reflect_forward_ref(out, row, 1, 1, 1, 4, 1, 6);
    const double expect[6] = {1, 2, 3, 4, 3, 2};
    CHECK(equal_arrays(out, expect, 6, 0));
    /* its backward folds the gradient back: ones -> 1 2 2 1 */
    const double ones[6] = {1, 1, 1, 1, 1, 1};
    double din[4] = {0};
    ub__pad_reflect_backward_ref(din, ones, 1, 1, 1, 4, 1, 6);
    const double folded[4] = {1, 2, 2, 1};
    CHECK(equal_arrays(din, folded, 4, 0));
    /* 2-D, 3x2 -> 5x3: rows 0 1 2 1 0, columns 0 1 0 */
    const double img[6] = {1, 2, 3, 4, 5, 6};
    double big[15];
    ub__pad_reflect_forward_ref(big, img, 1, 1, 3, 2, 5, 3);
    const double expect2[15] = {1, 2, 1, 3, 4, 3, 5, 6, 5, 3, 4, 3, 1, 2, 1};
    CHECK(equal_arrays(big, expect2, 15, 0));
    /* no padding: a copy */
    double same[6];
    ub__pad_reflect_forward_ref(same, img, 1, 1, 3, 2, 3, 2);
    CHECK(equal_arrays(same, img, 6, 0));
}

/* ---------------------------------------------------------------- 3. the checker catches wrong gradients */

static void test_checker_catches_errors(void) {
    test_rng rng = {7};
    layer_case lc = conv_case(&rng, 2, 3, 6, 5, 2, 3, 2, 1);
    double *out = alloc_doubles(lc.nout), *dout = random_doubles(&rng, lc.nout, -1, 1);
    const int all[MAX_TENSORS] = {1, 1, 1, 1, 1};
    double *grad[MAX_TENSORS];
    run_backward(&lc, dout, out, all, grad);
    for (int k = 0; k < lc.ntensors; k++) {
        const double right = test_fd_check(case_forward, &lc, lc.tensor[k], lc.size[k], grad[k], dout, lc.nout,
                                           FD_STEP, NULL);
        const size_t victim = lc.size[k] / 2;
        grad[k][victim] += 1e-3;
        size_t at;
        const double wrong = test_fd_check(case_forward, &lc, lc.tensor[k], lc.size[k], grad[k], dout, lc.nout,
                                           FD_STEP, &at);
        grad[k][victim] -= 1e-3;
        printf("  checker on d%s: right %.2e, one element off by 1e-3: %.2e at [%zu]\n", lc.tensor_name[k], right,
               wrong, at);
        CHECK(right < FD_TOL);
        CHECK_MSG(wrong >= FD_TOL && at == victim, "d%s: the checker missed a wrong element: %.3g at %zu",
                  lc.tensor_name[k], wrong, at);
    }
    /* a gradient of the wrong sign everywhere, and a NaN */
    for (size_t i = 0; i < lc.size[1]; i++) grad[1][i] = -grad[1][i];
    CHECK(test_fd_check(case_forward, &lc, lc.tensor[1], lc.size[1], grad[1], dout, lc.nout, FD_STEP, NULL) > 0.99);
    grad[1][0] = NAN;
    CHECK(test_fd_check(case_forward, &lc, lc.tensor[1], lc.size[1], grad[1], dout, lc.nout, FD_STEP, NULL) == INFINITY);
    free_grads(grad);
    free(out);
    free(dout);
    free_case(&lc);
}

int main(void) {
    test_gradients();
    test_conv_forward_by_hand();
    test_convT_forward_by_hand();
    test_relu_linear_by_hand();
    test_se_by_hand();
    test_sa_by_hand();
    test_pad_by_hand();
    test_checker_catches_errors();
    return test_finish("test_nn_ref");
}
