/* tests/test_optim.c — the optimiser of nn/optim.h: Adam against a
   hand-computed example, AdamW's decoupled decay against Adam's L2 decay,
   bias correction, the learning-rate schedule's landmarks, gradient-norm
   clipping, the weight EMA and its warm-up, Adam minimising a quadratic, and
   bit-identical results on 1 and 2 threads. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/optim.h"
#include "testutil.h"

static const double QUARTER_PI = 0.78539816339744830962;

static float *alloc_floats(size_t n) { return test_calloc(n, sizeof(float)); }

/* One parameter p0 = 1, lr 0.1, b1 0.9, b2 0.999, eps 1e-8, gradients 0.5, -0.25, 1.0:
     t = 1: m = 0.1 * 0.5 = 0.05, v = 0.001 * 0.25 = 0.00025;
            m^ = 0.05 / 0.1 = 0.5, v^ = 0.00025 / 0.001 = 0.25;
            p = 1 - 0.1 * 0.5 / (0.5 + 1e-8) = 0.900000002
     t = 2: m = 0.9 * 0.05 + 0.1 * (-0.25) = 0.02, v = 0.999 * 0.00025 + 0.001 * 0.0625 = 0.00031225;
            m^ = 0.02 / (1 - 0.81) = 0.1052631579, v^ = 0.00031225 / (1 - 0.998001) = 0.1562031016;
            p = 0.900000002 - 0.1 * 0.1052631579 / (0.3952253808 + 1e-8) = 0.8733662987
     t = 3: m = 0.9 * 0.02 + 0.1 * 1 = 0.118, v = 0.999 * 0.00031225 + 0.001 * 1 = 0.00131193775;
            m^ = 0.118 / 0.271 = 0.4354243542, v^ = 0.00131193775 / 0.002997001 = 0.4377501876;
            p = 0.8733662987 - 0.1 * 0.4354243542 / (0.6616269249 + 1e-8) = 0.8075551397
   (m and v are kept as float: agreement to about 1e-7). */
static void test_adam_hand(void) {
    ub__adam_config c;
    ub__adam_config_default(&c);
    const float grads[3] = {0.5f, -0.25f, 1.0f};
    const double expect_p[3] = {0.900000002, 0.8733662987, 0.8075551397};
    const double expect_m[3] = {0.05, 0.02, 0.118}, expect_v[3] = {0.00025, 0.00031225, 0.00131193775};
    float p = 1.0f, m = 0.0f, v = 0.0f;
    for (int t = 1; t <= 3; t++) {
        ub__adam_step(&c, 1, &p, &grads[t - 1], &m, &v, t, 0.1, 1);
        CHECK_NEAR(p, expect_p[t - 1], 1e-6);
        CHECK_NEAR(m, expect_m[t - 1], 1e-8);
        CHECK_NEAR(v, expect_v[t - 1], 1e-10);
    }
}

/* With a zero gradient Adam's step is 0, so AdamW only shrinks: p (1 - lr wd)^t. Adam's L2 decay instead
   feeds wd p into the gradient, whose first step moves p by lr (bias correction: m^ / sqrt(v^) = 1). */
static void test_weight_decay(void) {
    ub__adam_config c;
    ub__adam_config_default(&c);
    c.weight_decay = 0.01;
    float p = 2.0f, m = 0, v = 0, g = 0;
    for (int t = 1; t <= 3; t++) ub__adam_step(&c, 1, &p, &g, &m, &v, t, 0.1, 1);
    CHECK_NEAR(p, 2.0 * pow(1 - 0.1 * 0.01, 3), 1e-6);
    CHECK(m == 0 && v == 0);

    /* with a gradient: PyTorch's order, p (1 - lr wd) - lr m^ / (sqrt(v^) + eps), the step itself not decayed */
    c.weight_decay = 0.5;
    p = 2.0f, m = v = 0, g = 3.0f;
    ub__adam_step(&c, 1, &p, &g, &m, &v, 1, 0.1, 1);
    CHECK_NEAR(p, 2.0 * (1 - 0.1 * 0.5) - 0.1, 1e-6);

    c.weight_decay = 0.01, g = 0.0f;
    c.decoupled = 0;
    p = 2.0f, m = v = 0;
    ub__adam_step(&c, 1, &p, &g, &m, &v, 1, 0.1, 1);
    CHECK_NEAR(p, 2.0 - 0.1, 1e-6);
    CHECK_NEAR(m, 0.1 * 0.01 * 2.0, 1e-9);
}

/* Bias correction makes the first step lr * sign(g) whatever the gradient's scale; without it the step would be
   lr * (1 - b1) / sqrt(1 - b2) = 3.16 lr. */
static void test_bias_correction(void) {
    ub__adam_config c;
    ub__adam_config_default(&c);
    const float scales[3] = {1e-3f, 1.0f, 1e3f};
    for (int i = 0; i < 3; i++) {
        float p = 0.0f, m = 0, v = 0, g = -scales[i];
        ub__adam_step(&c, 1, &p, &g, &m, &v, 1, 0.01, 1);
        CHECK_NEAR(p, 0.01, 1e-7);
    }
    /* a later step with the same constant gradient is still lr: m^ = g, v^ = g^2 */
    float p = 0.0f, m = 0, v = 0, g = 0.3f;
    for (int t = 1; t <= 10; t++) ub__adam_step(&c, 1, &p, &g, &m, &v, t, 0.01, 1);
    CHECK_NEAR(p, -0.1, 1e-6);
}

static void test_schedule(void) {
    const ub__lr_schedule s = {.base_lr = 1e-3, .min_lr = 1e-5, .warmup_steps = 100, .total_steps = 1100};
    CHECK_NEAR(ub__lr_at(&s, 1), 1e-5, 1e-18);     /* base / W */
    CHECK_NEAR(ub__lr_at(&s, 0), 1e-5, 1e-18);     /* t < 1 counts as 1 */
    CHECK_NEAR(ub__lr_at(&s, 50), 5e-4, 1e-18);
    CHECK_NEAR(ub__lr_at(&s, 100), 1e-3, 1e-18);   /* end of warm-up: the peak */
    CHECK_NEAR(ub__lr_at(&s, 600), (1e-3 + 1e-5) / 2, 1e-15); /* cosine midpoint */
    CHECK_NEAR(ub__lr_at(&s, 350), 1e-5 + (1e-3 - 1e-5) * 0.5 * (1 + cos(QUARTER_PI)), 1e-15);
    CHECK_NEAR(ub__lr_at(&s, 1100), 1e-5, 1e-18);  /* the floor */
    CHECK_NEAR(ub__lr_at(&s, 100000), 1e-5, 1e-18);
    int monotone = 1;
    for (long t = 101; t <= 1100; t++) monotone &= ub__lr_at(&s, t) <= ub__lr_at(&s, t - 1);
    for (long t = 2; t <= 100; t++) monotone &= ub__lr_at(&s, t) > ub__lr_at(&s, t - 1);
    CHECK(monotone);
    const ub__lr_schedule nowarm = {.base_lr = 2.0, .min_lr = 0.0, .warmup_steps = 0, .total_steps = 4};
    CHECK_NEAR(ub__lr_at(&nowarm, 2), 1.0, 1e-15); /* (1 + cos(pi/2)) / 2 */
    CHECK_NEAR(ub__lr_at(&nowarm, 4), 0.0, 1e-15);
    const ub__lr_schedule constant = {.base_lr = 3.0, .min_lr = 0.0, .warmup_steps = 10, .total_steps = 0};
    CHECK_NEAR(ub__lr_at(&constant, 5), 1.5, 1e-15);
    CHECK_NEAR(ub__lr_at(&constant, 500), 3.0, 1e-15);
}

static void test_clipping(void) {
    float g[2] = {3.0f, 4.0f};
    CHECK_NEAR(ub__clip_grad_norm(2, g, 10.0, 1), 5.0, 0); /* below the max: untouched */
    CHECK(g[0] == 3.0f && g[1] == 4.0f);
    CHECK_NEAR(ub__clip_grad_norm(2, g, 1.0, 1), 5.0, 0);
    CHECK_NEAR(g[0], 0.6, 1e-7);
    CHECK_NEAR(g[1], 0.8, 1e-7);

    const size_t n = 100003;
    float *big = alloc_floats(n);
    test_rng rng = {42};
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) big[i] = (float)(test_rng_uniform(&rng) * 2 - 1), sum += (double)big[i] * big[i];
    const double norm = ub__grad_norm(n, big, 2);
    CHECK_NEAR(norm, sqrt(sum), 1e-12 * sqrt(sum));
    CHECK_NEAR(ub__clip_grad_norm(n, big, 0.5 * norm, 2), norm, 0);
    CHECK_NEAR(ub__grad_norm(n, big, 1), 0.5 * norm, 1e-6 * norm); /* scaled to the max, up to float rounding */
    big[7] = NAN;
    const float before = big[8];
    CHECK(isnan(ub__clip_grad_norm(n, big, 1.0, 2)));
    CHECK(big[8] == before); /* a non-finite norm scales nothing */
    free(big);
    CHECK(ub__grad_norm(0, NULL, 1) == 0.0);
}

static void test_ema(void) {
    float ema[2] = {0.0f, 4.0f}, p[2] = {1.0f, 4.0f};
    for (int i = 0; i < 3; i++) ub__ema_update(2, ema, p, 0.9, 1);
    CHECK_NEAR(ema[0], 1 - pow(0.9, 3), 1e-7);
    CHECK(ema[1] == 4.0f); /* a constant weight stays put */
    CHECK_NEAR(ub__ema_decay_at(0.999, 0, 1), 0.1, 1e-15);
    CHECK_NEAR(ub__ema_decay_at(0.999, 90, 1), 0.91, 1e-15);
    CHECK_NEAR(ub__ema_decay_at(0.999, 1000000, 1), 0.999, 1e-15);
    CHECK_NEAR(ub__ema_decay_at(0.999, 0, 0), 0.999, 0);
}

/* f(p) = sum a_i (p_i - c_i)^2 / 2 with curvatures a_i from 0.1 to 10: Adam with a cosine schedule ends at c. */
static void test_quadratic(void) {
    enum { N = 10, STEPS = 3000 };
    float p[N], g[N], m[N] = {0}, v[N] = {0}, a[N], c[N];
    test_rng rng = {7};
    for (int i = 0; i < N; i++) {
        a[i] = (float)(0.1 * pow(100.0, i / (N - 1.0)));
        c[i] = (float)(4 * test_rng_uniform(&rng) - 2);
        p[i] = 0.0f;
    }
    ub__adam_config cfg;
    ub__adam_config_default(&cfg);
    const ub__lr_schedule s = {.base_lr = 0.05, .min_lr = 1e-5, .warmup_steps = 50, .total_steps = STEPS};
    double f0 = 0.0, f = 0.0;
    for (int i = 0; i < N; i++) f0 += 0.5 * a[i] * (double)c[i] * c[i];
    for (long t = 1; t <= STEPS; t++) {
        for (int i = 0; i < N; i++) g[i] = a[i] * (p[i] - c[i]);
        ub__adam_step(&cfg, N, p, g, m, v, t, ub__lr_at(&s, t), 1);
    }
    double worst = 0.0;
    for (int i = 0; i < N; i++) {
        worst = fmax(worst, fabs((double)p[i] - c[i]));
        f += 0.5 * a[i] * ((double)p[i] - c[i]) * ((double)p[i] - c[i]);
    }
    CHECK_MSG(worst < 1e-3, "worst |p - c| = %g", worst);
    CHECK_MSG(f < 1e-6 * f0, "f = %g from %g", f, f0);
}

/* Every function on 1 and 2 threads, over more elements than the serial cut-off: the same bits. */
static void test_threads(void) {
    const size_t n = 200001;
    float *buf[2][5]; /* params, grads, m, v, ema per run */
    double norm[2], clip[2];
    for (int r = 0; r < 2; r++) {
        for (int k = 0; k < 5; k++) buf[r][k] = alloc_floats(n);
        test_rng rng = {99};
        for (size_t i = 0; i < n; i++) {
            buf[r][0][i] = (float)(test_rng_uniform(&rng) - 0.5);
            buf[r][1][i] = (float)(test_rng_uniform(&rng) - 0.5);
        }
        memcpy(buf[r][4], buf[r][0], n * sizeof(float));
        ub__adam_config c;
        ub__adam_config_default(&c);
        c.weight_decay = 0.05;
        const int threads = r + 1;
        norm[r] = ub__grad_norm(n, buf[r][1], threads);
        for (long t = 1; t <= 3; t++) {
            clip[r] = ub__clip_grad_norm(n, buf[r][1], 0.3 * norm[r], threads);
            ub__adam_step(&c, n, buf[r][0], buf[r][1], buf[r][2], buf[r][3], t, 1e-3, threads);
            ub__ema_update(n, buf[r][4], buf[r][0], ub__ema_decay_at(0.999, t - 1, 1), threads);
        }
    }
    CHECK(memcmp(&norm[0], &norm[1], sizeof(double)) == 0);
    CHECK(memcmp(&clip[0], &clip[1], sizeof(double)) == 0);
    for (int k = 0; k < 5; k++) CHECK_MSG(memcmp(buf[0][k], buf[1][k], n * sizeof(float)) == 0, "buffer %d", k);
    for (int r = 0; r < 2; r++)
        for (int k = 0; k < 5; k++) free(buf[r][k]);
}

int main(void) {
    test_adam_hand();
    test_weight_decay();
    test_bias_correction();
    test_schedule();
    test_clipping();
    test_ema();
    test_quadratic();
    test_threads();
    return test_finish("optim");
}
