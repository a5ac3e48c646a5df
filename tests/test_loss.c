/* tests/test_loss.c — the losses of nn/loss.h.
   - Gradients: fourth-order finite differences (test_fd_check) of every double
     twin — L1 (away from its kink), Charbonnier, the frequency loss (odd and
     even sides, n = 2, c = 3), multi-scale (odd sides; Charbonnier and frequency), the
     perceptual loss through random VGG-shaped weights — and proof that the
     check catches a gradient wrong in one element.
   - Float versions against their twins (values and gradients), gradients
     accumulate and honour the weight, bit-identical on 1 and 2 threads.
   - Known values: L1 of a constant offset, Charbonnier against L1, the
     frequency loss of identical inputs (0) and of a constant offset (only the
     DC bin: |a| W / (2 (W/2+1))), the multi-scale sum, a perceptual loss
     through one hand-set filter (ImageNet normalisation), max-pool ties.
   - VGG weights: read from a safetensors file with torchvision's names
     (written here with ub__st_writer); a wrong shape or a missing tensor is
     refused with a message naming it; unknown layers and small inputs are
     refused. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/loss.h"
#include "nn/safetensors.h"
#include "testutil.h"

#define FD_TOL 1e-6   /* worst relative error allowed per element */
/* The perceptual loss goes through ReLUs and max-pools: its step must stay below the distance to their kinks
   (random data: a step of 1e-4 crosses one) and above rounding (1e-5 leaves ~1e-6 of it). */
#define PERCEPTUAL_H 3e-5
#define DIRECTIONAL_H 1e-6 /* a step along a direction moves every input: kinks are closer */
#define FREQUENCY_H 1e-4   /* piecewise linear: any step short of a bin's Re or Im crossing 0 is exact */
#define WRONG_BY 1e-3 /* the planted error: one element of the gradient off by this fraction */

static double *random_doubles(test_rng *rng, size_t n, double lo, double hi) {
    double *p = test_calloc(n, sizeof *p);
    for (size_t i = 0; i < n; i++) p[i] = lo + (hi - lo) * test_rng_uniform(rng);
    return p;
}

static float *to_floats(const double *d, size_t n) {
    float *f = test_calloc(n, sizeof *f);
    for (size_t i = 0; i < n; i++) f[i] = (float)d[i];
    return f;
}

/* Inputs exactly representable as floats, so that float and double versions see the same numbers. */
static void round_to_float(double *d, size_t n) {
    for (size_t i = 0; i < n; i++) d[i] = (float)d[i];
}

static double max_abs(const double *a, size_t n) {
    double m = 0.0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(a[i]));
    return m;
}

/* max |float - double| relative to the largest double. */
static double max_rel_diff(const float *f, const double *d, size_t n) {
    double m = 0.0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)f[i] - d[i]));
    const double scale = max_abs(d, n);
    return scale > 0 ? m / scale : m;
}

/* ---------------------------------------------------------------- one scalar loss under test */

typedef struct loss_case {
    const char *name;
    int n, c, h, w;
    ub__loss_spec spec;
    int scales;               /* > 0: multi-scale */
    const double *scale_weights;
    const ub__vgg *vgg;       /* perceptual */
    double *y, *t;
    double *dir;              /* directional check: y = y0 + s * dir, x = &s */
    double *y0, s;
    ub_ctx *ctx;
} loss_case;

static size_t case_count(const loss_case *lc) { return (size_t)lc->n * lc->c * lc->h * lc->w; }

static double case_loss(loss_case *lc, double *grad) {
    double loss = NAN;
    ub_status st;
    if (lc->vgg)
        st = ub__perceptual_loss_ref(lc->ctx, lc->vgg, lc->n, lc->h, lc->w, lc->y, lc->t, grad, 1.0, &loss);
    else if (lc->scales > 0)
        st = ub__multiscale_loss_ref(lc->ctx, &lc->spec, lc->scales, lc->scale_weights, lc->n, lc->c, lc->h, lc->w,
                                     lc->y, lc->t, grad, 1.0, &loss);
    else
        st = ub__pixel_loss_ref(lc->ctx, &lc->spec, lc->n, lc->c, lc->h, lc->w, lc->y, lc->t, grad, 1.0, &loss);
    if (st) fprintf(stderr, "%s: %s\n", lc->name, ub_last_error(lc->ctx));
    return loss;
}

static void case_forward(void *state, double *out) { out[0] = case_loss(state, NULL); }

/* For the directional check: y = y0 + s dir. */
static void case_forward_dir(void *state, double *out) {
    loss_case *lc = state;
    for (size_t i = 0; i < case_count(lc); i++) lc->y[i] = lc->y0[i] + lc->s * lc->dir[i];
    out[0] = case_loss(lc, NULL);
}

/* Finite differences over y[first .. first + nx) against the twin's analytic gradient; then the same with one
   element of the gradient off by WRONG_BY, which the check must catch. */
static void fd_check_case(loss_case *lc, size_t first, size_t nx, double h) {
    const size_t count = case_count(lc);
    double *grad = test_calloc(count, sizeof *grad);
    const double one = 1.0;
    case_loss(lc, grad);
    /* Element by element: an analytic gradient of exactly 0 (the frequency loss at x = 0 is a sum of +-1 signs,
       which may cancel) has no scale for a relative error, so it passes when the numeric one is rounding,
       |numeric| < 1e-9 (test_fd_check's relative error against its floor of 1e-8 below 0.1). */
    double worst = 0.0;
    size_t worst_at = first;
    for (size_t i = first; i < first + nx; i++) {
        double err = test_fd_check(case_forward, lc, lc->y + i, 1, grad + i, &one, 1, h, NULL);
        if (grad[i] == 0.0) err = err < 0.1 ? 0.0 : err;
        if (!(err <= worst)) worst = err, worst_at = i;
    }
    CHECK_MSG(worst < FD_TOL, "%s: worst relative error %.3g at y[%zu] (analytic %.9g)", lc->name, worst, worst_at,
              grad[worst_at]);
    if (getenv("UB_TEST_VERBOSE")) printf("%s: worst relative error %.3g\n", lc->name, worst);
    size_t planted = first + nx / 2;
    while (grad[planted] == 0.0 && planted + 1 < first + nx) planted++;
    grad[planted] *= 1 + WRONG_BY;
    const double err_wrong = test_fd_check(case_forward, lc, lc->y + planted, 1, grad + planted, &one, 1, h, NULL);
    CHECK_MSG(err_wrong > FD_TOL, "%s: a gradient wrong by %g at y[%zu] passed (%.3g)", lc->name, WRONG_BY, planted,
              err_wrong);
    free(grad);
}

/* d/ds L(y0 + s dir) at s = 0 against <grad, dir>: every element of the gradient at once. */
static void fd_check_direction(loss_case *lc, test_rng *rng, double h) {
    const size_t count = case_count(lc);
    double *grad = test_calloc(count, sizeof *grad);
    lc->dir = random_doubles(rng, count, -1, 1);
    lc->y0 = test_calloc(count, sizeof *lc->y0);
    memcpy(lc->y0, lc->y, count * sizeof(double));
    case_loss(lc, grad);
    double directional = 0.0;
    for (size_t i = 0; i < count; i++) directional += grad[i] * lc->dir[i];
    const double one = 1.0;
    lc->s = 0.0;
    const double err = test_fd_check(case_forward_dir, lc, &lc->s, 1, &directional, &one, 1, h, NULL);
    CHECK_MSG(err < FD_TOL, "%s: directional derivative off by %.3g", lc->name, err);
    if (getenv("UB_TEST_VERBOSE")) printf("%s: relative error %.3g\n", lc->name, err);
    memcpy(lc->y, lc->y0, count * sizeof(double));
    free(lc->dir), free(lc->y0), free(grad);
    lc->dir = lc->y0 = NULL;
}

/* y = t + an offset of random sign and size in [margin, margin + 0.5]: no L1 kink within reach. */
static void offset_pair(test_rng *rng, size_t n, double margin, double **y, double **t) {
    *t = random_doubles(rng, n, 0, 1);
    *y = test_calloc(n, sizeof **y);
    for (size_t i = 0; i < n; i++) {
        const double d = margin + 0.5 * test_rng_uniform(rng);
        (*y)[i] = (*t)[i] + (test_rng_uniform(rng) < 0.5 ? -d : d);
    }
    round_to_float(*y, n);
    round_to_float(*t, n);
}

/* ---------------------------------------------------------------- pixel losses */

static void test_pixel_gradients(ub_ctx *ctx) {
    test_rng rng = {1};
    loss_case lc = {.name = "L1", .n = 2, .c = 3, .h = 5, .w = 6, .spec = {UB__LOSS_L1, 0}, .ctx = ctx};
    const size_t count = case_count(&lc);
    offset_pair(&rng, count, 0.05, &lc.y, &lc.t);
    fd_check_case(&lc, 0, count, 1e-3);
    lc.name = "Charbonnier eps 1e-3", lc.spec = (ub__loss_spec){UB__LOSS_CHARBONNIER, 1e-3};
    fd_check_case(&lc, 0, count, 1e-3);
    free(lc.y);
    lc.y = random_doubles(&rng, count, 0, 1); /* residuals near and across 0: smooth with a wide eps */
    lc.name = "Charbonnier eps 0.1", lc.spec = (ub__loss_spec){UB__LOSS_CHARBONNIER, 0.1};
    fd_check_case(&lc, 0, count, 1e-3);
    free(lc.y), free(lc.t);
}

/* The frequency loss is piecewise linear: exact differences with a small step, far from its kinks
   (Re or Im of a bin crossing 0), which random data keeps away from. */
static void test_frequency_gradients(ub_ctx *ctx) {
    static const int sides[][4] = {{2, 3, 5, 6}, {2, 3, 6, 7}, {1, 2, 4, 4}, {1, 1, 7, 5}, {1, 1, 1, 6}, {1, 1, 5, 1}};
    test_rng rng = {2};
    for (size_t k = 0; k < sizeof sides / sizeof *sides; k++) {
        char name[64];
        loss_case lc = {.name = name, .n = sides[k][0], .c = sides[k][1], .h = sides[k][2], .w = sides[k][3],
                        .spec = {UB__LOSS_FREQUENCY, 0}, .ctx = ctx};
        snprintf(name, sizeof name, "frequency %dx%dx%dx%d", lc.n, lc.c, lc.h, lc.w);
        const size_t count = case_count(&lc);
        lc.y = random_doubles(&rng, count, 0, 1);
        lc.t = random_doubles(&rng, count, 0, 1);
        round_to_float(lc.y, count);
        round_to_float(lc.t, count);
        fd_check_case(&lc, 0, count, FREQUENCY_H);
        free(lc.y), free(lc.t);
    }
}

static void test_multiscale_gradients(ub_ctx *ctx) {
    test_rng rng = {3};
    const double weights[3] = {1.0, 0.5, 0.25};
    loss_case lc = {.name = "multi-scale Charbonnier 2x2x13x11, 3 scales", .n = 2, .c = 2, .h = 13, .w = 11,
                    .spec = {UB__LOSS_CHARBONNIER, 0.1}, .scales = 3, .scale_weights = weights, .ctx = ctx};
    size_t count = case_count(&lc);
    lc.y = random_doubles(&rng, count, 0, 1);
    lc.t = random_doubles(&rng, count, 0, 1);
    fd_check_case(&lc, 0, count, 1e-3);
    free(lc.y), free(lc.t);
    lc = (loss_case){.name = "multi-scale frequency 1x2x9x7, 3 scales", .n = 1, .c = 2, .h = 9, .w = 7,
                     .spec = {UB__LOSS_FREQUENCY, 0}, .scales = 3, .scale_weights = weights, .ctx = ctx};
    count = case_count(&lc);
    lc.y = random_doubles(&rng, count, 0, 1);
    lc.t = random_doubles(&rng, count, 0, 1);
    fd_check_case(&lc, 0, count, FREQUENCY_H);
    free(lc.y), free(lc.t);
}

/* The float version of a case against its twin: value, gradient, accumulation with a weight. */
static void compare_float(loss_case *lc, double value_tol, double grad_tol) {
    const size_t count = case_count(lc);
    double *gd = test_calloc(count, sizeof *gd);
    const double ld = case_loss(lc, gd);
    float *y = to_floats(lc->y, count), *t = to_floats(lc->t, count), *g = test_calloc(count, sizeof *g);
    double lf = NAN;
    ub_status st;
    if (lc->scales > 0)
        st = ub__multiscale_loss(lc->ctx, &lc->spec, lc->scales, lc->scale_weights, lc->n, lc->c, lc->h, lc->w, y, t,
                                 g, 1.0, &lf);
    else
        st = ub__pixel_loss(lc->ctx, &lc->spec, lc->n, lc->c, lc->h, lc->w, y, t, g, 1.0, &lf);
    CHECK_OK(lc->ctx, st);
    CHECK_MSG(fabs(lf - ld) <= value_tol * fabs(ld), "%s: float %.9g, double %.9g", lc->name, lf, ld);
    const double diff = max_rel_diff(g, gd, count);
    CHECK_MSG(diff <= grad_tol, "%s: gradient off by %.3g of its largest element", lc->name, diff);
    /* accumulation: g already holds the gradient; adding it again with weight -2 leaves -g */
    double lf2 = NAN;
    if (lc->scales > 0)
        st = ub__multiscale_loss(lc->ctx, &lc->spec, lc->scales, lc->scale_weights, lc->n, lc->c, lc->h, lc->w, y, t,
                                 g, -2.0, &lf2);
    else
        st = ub__pixel_loss(lc->ctx, &lc->spec, lc->n, lc->c, lc->h, lc->w, y, t, g, -2.0, &lf2);
    CHECK_OK(lc->ctx, st);
    CHECK(lf2 == lf); /* the value is not weighted */
    for (size_t i = 0; i < count; i++) gd[i] = -gd[i];
    CHECK_MSG(max_rel_diff(g, gd, count) <= 2 * grad_tol, "%s: accumulation", lc->name);
    free(gd), free(y), free(t), free(g);
}

static void test_float_versions(ub_ctx *ctx) {
    test_rng rng = {4};
    const double weights[3] = {1.0, 0.3, 2.0};
    const struct {
        ub__loss_spec spec;
        int n, c, h, w, scales;
        double value_tol, grad_tol;
    } cases[] = {
        {{UB__LOSS_L1, 0}, 2, 3, 40, 50, 0, 1e-12, 1e-7},
        {{UB__LOSS_CHARBONNIER, 1e-3}, 2, 3, 40, 50, 0, 1e-12, 1e-7},
        {{UB__LOSS_FREQUENCY, 0}, 2, 3, 6, 7, 0, 1e-6, 1e-5},
        {{UB__LOSS_FREQUENCY, 0}, 1, 3, 16, 15, 0, 1e-6, 1e-5},
        {{UB__LOSS_L1, 0}, 2, 3, 13, 11, 3, 1e-7, 1e-6},
        {{UB__LOSS_FREQUENCY, 0}, 1, 2, 12, 10, 3, 1e-6, 1e-5},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        char name[96];
        loss_case lc = {.name = name, .n = cases[k].n, .c = cases[k].c, .h = cases[k].h, .w = cases[k].w,
                        .spec = cases[k].spec, .scales = cases[k].scales, .scale_weights = weights, .ctx = ctx};
        snprintf(name, sizeof name, "float kind %d %dx%dx%dx%d scales %d", (int)lc.spec.kind, lc.n, lc.c, lc.h, lc.w,
                 lc.scales);
        const size_t count = case_count(&lc);
        lc.y = random_doubles(&rng, count, 0, 1);
        lc.t = random_doubles(&rng, count, 0, 1);
        round_to_float(lc.y, count);
        round_to_float(lc.t, count);
        compare_float(&lc, cases[k].value_tol, cases[k].grad_tol);
        free(lc.y), free(lc.t);
    }
}

static void test_known_values(ub_ctx *ctx) {
    enum { N = 2, C = 3, H = 6, W = 7, COUNT = N * C * H * W };
    float y[COUNT], t[COUNT], g[COUNT];
    double yd[COUNT], td[COUNT];
    test_rng rng = {5};
    for (int i = 0; i < COUNT; i++) t[i] = (float)test_rng_uniform(&rng), y[i] = t[i] + 0.25f;
    for (int i = 0; i < COUNT; i++) yd[i] = y[i], td[i] = t[i];
    /* L1 of a constant offset is the offset (up to the rounding of t + 0.25 in float) */
    CHECK_NEAR(ub__l1_loss(ctx, COUNT, y, t, NULL, 1.0), 0.25, 1e-7);
    memset(g, 0, sizeof g);
    ub__l1_loss(ctx, COUNT, y, t, g, 1.0);
    CHECK_NEAR(g[5], 1.0 / COUNT, 1e-9); /* 1/COUNT rounded to float */
    /* Charbonnier: sqrt(d^2 + eps^2) - |d| lies in (0, eps^2 / (2|d|)] */
    const double l1 = ub__l1_loss(ctx, COUNT, y, t, NULL, 1.0);
    const double ch = ub__charbonnier_loss(ctx, COUNT, y, t, 1e-3, NULL, 1.0);
    CHECK_MSG(ch > l1 && ch - l1 <= 1e-6 / (2 * 0.2499), "Charbonnier %.12g, L1 %.12g", ch, l1);
    CHECK_NEAR(ub__charbonnier_loss(ctx, COUNT, t, t, 1e-3, NULL, 1.0), 1e-3, 1e-15); /* eps at y = t */
    CHECK(ub__l1_loss(ctx, 0, NULL, NULL, NULL, 1.0) == 0.0);

    /* frequency loss: identical inputs give exactly 0 and no gradient */
    const ub__loss_spec freq = {UB__LOSS_FREQUENCY, 0};
    double loss = NAN;
    memset(g, 0, sizeof g);
    CHECK_OK(ctx, ub__frequency_loss(ctx, N, C, H, W, t, t, g, 1.0, &loss));
    CHECK(loss == 0.0);
    int all_zero = 1;
    for (int i = 0; i < COUNT; i++) all_zero &= g[i] == 0.0f;
    CHECK(all_zero);
    /* a constant offset a has one nonzero bin per plane, DC = a H W: the loss is a H W / (2 H (W/2+1)) */
    const double expect = 0.25 * W / (2.0 * (W / 2 + 1));
    CHECK_OK(ctx, ub__frequency_loss_ref(ctx, N, C, H, W, yd, td, NULL, 1.0, &loss));
    CHECK_NEAR(loss, expect, 1e-6 * expect); /* t + 0.25 rounds in float: the offset is 0.25 to ~3e-8 */
    memset(g, 0, sizeof g);
    CHECK_OK(ctx, ub__frequency_loss(ctx, N, C, H, W, y, t, g, 1.0, &loss));
    CHECK_NEAR(loss, expect, 1e-5 * expect);
    /* ... and its gradient comes from the DC bin alone: 1 / (2 N C H (W/2+1)) everywhere */
    const double g_dc = 1.0 / (2.0 * N * C * H * (W / 2 + 1));
    double worst = 0;
    for (int i = 0; i < COUNT; i++) worst = fmax(worst, fabs(g[i] - g_dc));
    CHECK_MSG(worst < 1e-5 * g_dc, "DC gradient off by %g", worst);
    for (int even = 0; even < 2; even++) { /* even width: W/2+1 bins of W */
        const int w = 6 + even * 2, count = 2 * 5 * w;
        float ye[2 * 5 * 8], te[2 * 5 * 8];
        for (int i = 0; i < count; i++) te[i] = 0.5f, ye[i] = 0.375f;
        CHECK_OK(ctx, ub__frequency_loss(ctx, 2, 1, 5, w, ye, te, NULL, 1.0, &loss));
        CHECK_NEAR(loss, 0.125 * w / (2.0 * (w / 2 + 1)), 1e-7);
    }

    /* multi-scale: a constant offset survives averaging, so the loss is offset * sum of weights */
    const double weights[3] = {1.0, 0.5, 0.25};
    const ub__loss_spec l1_spec = {UB__LOSS_L1, 0};
    CHECK_OK(ctx, ub__multiscale_loss(ctx, &l1_spec, 3, weights, N, C, H, W, y, t, NULL, 1.0, &loss));
    CHECK_NEAR(loss, 0.25 * 1.75, 1e-7);
    CHECK_OK(ctx, ub__multiscale_loss(ctx, &freq, 1, NULL, N, C, H, W, y, t, NULL, 1.0, &loss));
    CHECK_NEAR(loss, expect, 1e-5 * expect); /* one scale is the plain loss */

    /* refusals */
    CHECK(ub__frequency_loss(ctx, N, C, 0, W, y, t, NULL, 1.0, &loss) == UB_ERR_INVALID);
    CHECK(ub__multiscale_loss(ctx, &l1_spec, 4, NULL, N, C, H, W, y, t, NULL, 1.0, &loss) == UB_ERR_INVALID);
    CHECK(strstr(ub_last_error(ctx), "too small") != NULL);
    const ub__loss_spec bad_eps = {UB__LOSS_CHARBONNIER, 0.0};
    CHECK(ub__pixel_loss(ctx, &bad_eps, N, C, H, W, y, t, NULL, 1.0, &loss) == UB_ERR_INVALID);
}

/* The same bits on 1 and 2 threads (several sum chunks, several planes). */
static void test_threads(void) {
    ub_ctx *ctx1 = test_ctx(1), *ctx2 = test_ctx(2);
    enum { N = 2, C = 3, H = 40, W = 50, COUNT = N * C * H * W };
    float *y = test_calloc(COUNT, sizeof *y), *t = test_calloc(COUNT, sizeof *t);
    float *g1 = test_calloc(COUNT, sizeof *g1), *g2 = test_calloc(COUNT, sizeof *g2);
    test_rng rng = {6};
    for (int i = 0; i < COUNT; i++) y[i] = (float)test_rng_uniform(&rng), t[i] = (float)test_rng_uniform(&rng);
    for (int kind = UB__LOSS_L1; kind <= UB__LOSS_FREQUENCY; kind++) {
        const ub__loss_spec spec = {(ub__loss_kind)kind, 1e-3};
        double l1 = NAN, l2 = NAN;
        memset(g1, 0, COUNT * sizeof *g1), memset(g2, 0, COUNT * sizeof *g2);
        CHECK_OK(ctx1, ub__multiscale_loss(ctx1, &spec, 2, NULL, N, C, H, W, y, t, g1, 0.7, &l1));
        CHECK_OK(ctx2, ub__multiscale_loss(ctx2, &spec, 2, NULL, N, C, H, W, y, t, g2, 0.7, &l2));
        CHECK_MSG(memcmp(&l1, &l2, sizeof l1) == 0, "kind %d: %.17g vs %.17g", kind, l1, l2);
        CHECK_MSG(memcmp(g1, g2, COUNT * sizeof *g1) == 0, "kind %d: gradients differ", kind);
    }
    free(y), free(t), free(g1), free(g2);
    ub_ctx_destroy(&ctx1);
    ub_ctx_destroy(&ctx2);
}

/* ---------------------------------------------------------------- perceptual */

static void test_maxpool(void) {
    /* one 2x4 plane -> 1x2: a tie (first wins) and a plain maximum; odd rows/columns beyond are dropped */
    const double in[3 * 5] = {1, 3, 2, 0, 9, 3, 0, 2, 2, 9, 9, 9, 9, 9, 9};
    double out[2], din[15] = {0};
    const double dout[2] = {10, 20};
    ub__maxpool2_forward_ref(out, in, 1, 1, 3, 5);
    CHECK(out[0] == 3 && out[1] == 2);
    ub__maxpool2_backward_ref(din, dout, in, 1, 1, 3, 5);
    CHECK(din[1] == 10 && din[5] == 0); /* the first 3 in row-major order */
    CHECK(din[2] == 20 && din[7] == 0 && din[8] == 0);
    double sum = 0;
    for (int i = 0; i < 15; i++) sum += din[i];
    CHECK(sum == 30);
}

/* Kaiming-uniform weights (std sqrt(2 / fan_in)) and small biases keep activations O(1) through the layers. */
static void random_vgg(ub__vgg *vgg, test_rng *rng) {
    for (int i = 0; i < vgg->table.count; i++) {
        const ub__param *p = &vgg->table.params[i];
        const double fan_in = p->rank == 4 ? (double)(p->shape[1] * 9) : 1.0;
        const double a = p->rank == 4 ? sqrt(6.0 / fan_in) : 0.1;
        for (size_t k = 0; k < p->count; k++) vgg->params[p->offset + k] = (float)(a * (2 * test_rng_uniform(rng) - 1));
    }
}

static void test_vgg_table(ub_ctx *ctx) {
    ub__vgg *vgg = NULL;
    CHECK_OK(ctx, ub__vgg_create(ctx, NULL, &vgg));
    if (vgg) { /* relu3_3 = features.15: convs 0, 2, 5, 7, 10, 12, 14 */
        CHECK(strcmp(vgg->layer, "relu3_3") == 0 && vgg->last == 15 && vgg->nconv == 7 && vgg->table.count == 14);
        CHECK(strcmp(vgg->table.params[0].name, "features.0.weight") == 0);
        CHECK(vgg->table.params[0].shape[0] == 64 && vgg->table.params[0].shape[1] == 3);
        CHECK(strcmp(vgg->table.params[13].name, "features.14.bias") == 0 && vgg->table.params[13].shape[0] == 256);
        CHECK(strcmp(vgg->table.params[8].name, "features.10.weight") == 0 && vgg->table.params[8].shape[1] == 128);
        int fc = 0, fh = 0, fw = 0;
        CHECK(ub__vgg_feature_shape(vgg, 37, 20, &fc, &fh, &fw) && fc == 256 && fh == 9 && fw == 5);
        CHECK(!ub__vgg_feature_shape(vgg, 3, 20, &fc, &fh, &fw));
    }
    ub__vgg_destroy(&vgg);
    CHECK(vgg == NULL);
    CHECK_OK(ctx, ub__vgg_create(ctx, "relu5_4", &vgg));
    if (vgg) { /* the whole of vgg19's convolutions: 16, 20,024,384 parameters */
        CHECK(vgg->last == 35 && vgg->nconv == 16 && vgg->table.total == 20024384);
        CHECK(strcmp(vgg->table.params[31].name, "features.34.bias") == 0);
    }
    ub__vgg_destroy(&vgg);
    CHECK_OK(ctx, ub__vgg_create(ctx, "pool5", &vgg));
    if (vgg) CHECK(vgg->last == 36);
    ub__vgg_destroy(&vgg);
    CHECK(ub__vgg_create(ctx, "relu6_1", &vgg) == UB_ERR_INVALID && vgg == NULL);
    CHECK(strstr(ub_last_error(ctx), "relu6_1") != NULL);
}

/* conv1_1 with one nonzero tap: output channel 0 = normalised red, the rest 0, so
   loss = mean over 64 h w features = sum |y_R - t_R| / 0.229 / (64 h w). */
static void test_perceptual_known(ub_ctx *ctx) {
    ub__vgg *vgg = NULL;
    CHECK_OK(ctx, ub__vgg_create(ctx, "conv1_1", &vgg));
    if (!vgg) return;
    vgg->params[0 * 27 + 0 * 9 + 1 * 3 + 1] = 1.0f; /* weight[0, 0, 1, 1]: the centre tap on red */
    enum { H = 5, W = 4, COUNT = 3 * H * W };
    float y[COUNT], t[COUNT], g[COUNT] = {0};
    test_rng rng = {8};
    for (int i = 0; i < COUNT; i++) t[i] = (float)test_rng_uniform(&rng), y[i] = t[i] + (i < H * W ? 0.125f : 0.5f);
    double loss = NAN;
    CHECK_OK(ctx, ub__perceptual_loss(ctx, vgg, 1, H, W, y, t, g, 1.0, &loss));
    CHECK_NEAR(loss, 0.125 / 0.229 / 64, 1e-8);
    CHECK_NEAR(g[0], 1.0 / 0.229 / (64.0 * H * W), 1e-9); /* red: through the tap and the normalisation */
    CHECK(g[H * W] == 0.0f && g[2 * H * W + 3] == 0.0f);   /* green, blue: no path */
    CHECK_OK(ctx, ub__perceptual_loss(ctx, vgg, 1, H, W, t, t, NULL, 1.0, &loss));
    CHECK(loss == 0.0);
    ub__vgg_destroy(&vgg);
}

static void test_perceptual_gradients(ub_ctx *ctx) {
    test_rng rng = {9};
    ub__vgg *vgg = NULL;
    CHECK_OK(ctx, ub__vgg_create(ctx, "relu2_1", &vgg));
    if (!vgg) return;
    random_vgg(vgg, &rng);
    /* every element of one colour plane of a 6x6 image (through conv, ReLU, conv, ReLU, pool, conv, ReLU) */
    loss_case lc = {.name = "perceptual relu2_1 1x3x6x6", .n = 1, .c = 3, .h = 6, .w = 6, .vgg = vgg, .ctx = ctx};
    size_t count = case_count(&lc);
    lc.y = random_doubles(&rng, count, 0, 1);
    lc.t = random_doubles(&rng, count, 0, 1);
    fd_check_case(&lc, 36, 36, PERCEPTUAL_H);
    free(lc.y), free(lc.t);
    /* the whole gradient along a random direction, 2x3x16x16 */
    lc = (loss_case){.name = "perceptual relu2_1 2x3x16x16 (directional)", .n = 2, .c = 3, .h = 16, .w = 16,
                     .vgg = vgg, .ctx = ctx};
    count = case_count(&lc);
    lc.y = random_doubles(&rng, count, 0, 1);
    lc.t = random_doubles(&rng, count, 0, 1);
    fd_check_direction(&lc, &rng, DIRECTIONAL_H);
    /* the float entry point against the double one */
    double *gd = test_calloc(count, sizeof *gd), ld = NAN, lf = NAN;
    CHECK_OK(ctx, ub__perceptual_loss_ref(ctx, vgg, lc.n, lc.h, lc.w, lc.y, lc.t, gd, 0.5, &ld));
    float *y = to_floats(lc.y, count), *t = to_floats(lc.t, count), *g = test_calloc(count, sizeof *g);
    CHECK_OK(ctx, ub__perceptual_loss(ctx, vgg, lc.n, lc.h, lc.w, y, t, g, 0.5, &lf));
    CHECK_NEAR(lf, ld, 1e-6 * ld);
    CHECK_MSG(max_rel_diff(g, gd, count) < 1e-4, "float perceptual gradient off by %g", max_rel_diff(g, gd, count));
    CHECK(ub__perceptual_loss(ctx, vgg, 1, 1, 16, y, t, NULL, 1.0, &lf) == UB_ERR_INVALID); /* pool1 needs 2 rows */
    free(gd), free(y), free(t), free(g), free(lc.y), free(lc.t);
    ub__vgg_destroy(&vgg);
}

/* Writes the table's tensors with torchvision's names; `bad` (if not NULL) is written with its first
   dimension halved, `skip` (if not NULL) is left out. */
static int write_vgg_file(ub_ctx *ctx, const ub__vgg *vgg, const char *path, const char *bad, const char *skip) {
    ub__st_writer *wr = ub__st_writer_create(ctx);
    int ok = wr != NULL;
    for (int i = 0; ok && i < vgg->table.count; i++) {
        const ub__param *p = &vgg->table.params[i];
        if (skip && strcmp(p->name, skip) == 0) continue;
        int64_t shape[4];
        memcpy(shape, p->shape, sizeof shape);
        if (bad && strcmp(p->name, bad) == 0) shape[1] /= 2;
        ok = ub__st_writer_add(ctx, wr, p->name, "F32", p->rank, shape, vgg->params + p->offset) == UB_OK;
    }
    ok = ok && ub__st_writer_meta(ctx, wr, "source", "test_loss random weights") == UB_OK;
    ok = ok && ub__st_writer_save(ctx, wr, path) == UB_OK;
    ub__st_writer_destroy(&wr);
    return ok;
}

static void test_perceptual_file(ub_ctx *ctx) {
    test_rng rng = {10};
    ub__vgg *mem = NULL, *file = NULL;
    CHECK_OK(ctx, ub__vgg_create(ctx, "relu2_1", &mem));
    if (!mem) return;
    random_vgg(mem, &rng);
    const char *dir = test_tmpdir("loss");
    char path[600], bad[600], missing[600];
    snprintf(path, sizeof path, "%s/vgg19.safetensors", dir);
    snprintf(bad, sizeof bad, "%s/bad.safetensors", dir);
    snprintf(missing, sizeof missing, "%s/missing.safetensors", dir);
    CHECK_MSG(write_vgg_file(ctx, mem, path, NULL, NULL), "%s", ub_last_error(ctx));
    CHECK_MSG(write_vgg_file(ctx, mem, bad, "features.2.weight", NULL), "%s", ub_last_error(ctx));
    CHECK_MSG(write_vgg_file(ctx, mem, missing, NULL, "features.5.bias"), "%s", ub_last_error(ctx));

    CHECK_OK(ctx, ub__vgg_open(ctx, path, "relu2_1", &file));
    if (file) {
        CHECK(file->table.total == mem->table.total &&
              memcmp(file->params, mem->params, mem->table.total * sizeof(float)) == 0);
        enum { COUNT = 3 * 12 * 10 };
        float y[COUNT], t[COUNT];
        for (int i = 0; i < COUNT; i++) y[i] = (float)test_rng_uniform(&rng), t[i] = (float)test_rng_uniform(&rng);
        double a = NAN, b = NAN;
        CHECK_OK(ctx, ub__perceptual_loss(ctx, mem, 1, 12, 10, y, t, NULL, 1.0, &a));
        CHECK_OK(ctx, ub__perceptual_loss(ctx, file, 1, 12, 10, y, t, NULL, 1.0, &b));
        CHECK(a == b && a > 0);
    }
    ub__vgg_destroy(&file);
    /* a file for a deeper layer is enough for a shallower one */
    CHECK_OK(ctx, ub__vgg_open(ctx, path, "pool1", &file));
    ub__vgg_destroy(&file);

    CHECK(ub__vgg_open(ctx, bad, "relu2_1", &file) == UB_ERR_MISMATCH && file == NULL);
    CHECK_MSG(strstr(ub_last_error(ctx), "features.2.weight") != NULL, "message: %s", ub_last_error(ctx));
    CHECK_OK(ctx, ub__vgg_open(ctx, bad, "relu1_1", &file)); /* the bad tensor is beyond relu1_1 */
    ub__vgg_destroy(&file);
    CHECK(ub__vgg_open(ctx, missing, "relu2_1", &file) != UB_OK && file == NULL);
    CHECK_MSG(strstr(ub_last_error(ctx), "features.5.bias") != NULL, "message: %s", ub_last_error(ctx));
    snprintf(missing, sizeof missing, "%s/absent.safetensors", dir);
    CHECK(ub__vgg_open(ctx, missing, NULL, &file) == UB_ERR_IO && file == NULL);
    remove(path), remove(bad);
    snprintf(missing, sizeof missing, "%s/missing.safetensors", dir);
    remove(missing);
    remove(dir);
    ub__vgg_destroy(&mem);
}

int main(void) {
    ub_ctx *ctx = test_ctx(0);
    test_pixel_gradients(ctx);
    test_frequency_gradients(ctx);
    test_multiscale_gradients(ctx);
    test_float_versions(ctx);
    test_known_values(ctx);
    test_threads();
    test_maxpool();
    test_vgg_table(ctx);
    test_perceptual_known(ctx);
    test_perceptual_gradients(ctx);
    test_perceptual_file(ctx);
    ub_ctx_destroy(&ctx);
    return test_finish("loss");
}
