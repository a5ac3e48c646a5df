/* tests/test_rng.c — the seeded generator (src/core/rng.c): golden values of
   xoshiro256** with splitmix64 seeding, reproducibility, stream derivation,
   and the distributions (uniform, below, normal, Poisson) against their
   moments, tails and, where cheap, a chi-square goodness of fit.

   Statistical checks use tolerances of 5 to 6 standard errors (or a
   chi-square bound far in the tail), so a correct generator fails them with a
   probability below ~1e-6, and the seeds are fixed, so a run is reproducible:
   a failure is a real change of behaviour. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "testutil.h"
#include "unblur/rng.h"

/* Golden values from an independent transcription (Python) of Vigna's
   splitmix64 and xoshiro256** reference code. A change here changes every
   synthesised data set: it must be deliberate. */
static void test_golden(void) {
    static const struct {
        uint64_t seed;
        uint64_t first[3];
    } golden[] = {{0, {0x99ec5f36cb75f2b4ull, 0xbf6e1f784956452aull, 0x1a5f849d4933e6e0ull}},
                  {12345, {0xbe6a36374160d49bull, 0x214aaa0637a688c6ull, 0xf69d16de9954d388ull}}};
    for (size_t g = 0; g < sizeof golden / sizeof *golden; g++) {
        ub_rng r;
        ub_rng_seed(&r, golden[g].seed);
        for (int i = 0; i < 3; i++) {
            uint64_t v = ub_rng_u64(&r);
            CHECK_MSG(v == golden[g].first[i], "seed %llu draw %d: %016llx, want %016llx",
                      (unsigned long long)golden[g].seed, i, (unsigned long long)v,
                      (unsigned long long)golden[g].first[i]);
        }
    }
    CHECK(ub_rng_derive(7, 3, 5) == 0x736284de82526854ull);
    CHECK(ub_rng_derive(0, 0, 0) == 0x238275bc38fcbe91ull);
}

static void test_seeding(void) {
    ub_rng a, b, c;
    ub_rng_seed(&a, 42);
    ub_rng_seed(&b, 42);
    ub_rng_seed(&c, 43);
    int same = 1, differ = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = ub_rng_u64(&a), y = ub_rng_u64(&b), z = ub_rng_u64(&c);
        same &= x == y;
        differ += x != z;
    }
    CHECK(same);
    CHECK(differ == 1000);
    /* the state is the whole story: a copy continues identically (no hidden spare normal) */
    ub_rng_seed(&a, 9);
    (void)ub_rng_normal(&a);
    b = a;
    CHECK(ub_rng_normal(&a) == ub_rng_normal(&b));
    CHECK(ub_rng_poisson(&a, 50) == ub_rng_poisson(&b, 50));
    CHECK(memcmp(&a, &b, sizeof a) == 0);
}

/* Different (a, b) give different seeds and uncorrelated streams; the same give the same. */
static void test_derive(void) {
    enum { N = 16 };
    uint64_t seeds[2 * N * N];
    int k = 0;
    for (uint64_t run = 0; run < 2; run++)
        for (uint64_t a = 0; a < N; a++)
            for (uint64_t b = 0; b < N; b++) {
                seeds[k] = ub_rng_derive(1000 + run, a, b);
                CHECK(seeds[k] == ub_rng_derive(1000 + run, a, b));
                k++;
            }
    int collisions = 0;
    for (int i = 0; i < k; i++)
        for (int j = i + 1; j < k; j++) collisions += seeds[i] == seeds[j];
    CHECK_MSG(collisions == 0, "%d collisions among %d derived seeds", collisions, k);
    CHECK(ub_rng_derive(5, 1, 2) != ub_rng_derive(5, 2, 1));
    CHECK(ub_rng_derive(5, 0, 0) != 5);
    /* neighbouring streams are uncorrelated: |r| < 5 / sqrt(n) */
    const int n = 200000;
    ub_rng r1, r2;
    ub_rng_seed(&r1, ub_rng_derive(77, 0, 0));
    ub_rng_seed(&r2, ub_rng_derive(77, 0, 1));
    double sxy = 0, sx = 0, sy = 0, sxx = 0, syy = 0;
    for (int i = 0; i < n; i++) {
        double x = ub_rng_uniform(&r1), y = ub_rng_uniform(&r2);
        sx += x, sy += y, sxx += x * x, syy += y * y, sxy += x * y;
    }
    double cov = sxy / n - sx / n * sy / n;
    double corr = cov / sqrt((sxx / n - sx / n * sx / n) * (syy / n - sy / n * sy / n));
    CHECK_MSG(fabs(corr) < 5 / sqrt(n), "streams (0,0) and (0,1) correlate: r = %g", corr);
}

static void test_uniform(void) {
    ub_rng r;
    ub_rng_seed(&r, 1);
    const int n = 1000000;
    double sum = 0, sum2 = 0, lo = 1, hi = 0;
    int outside = 0;
    long bits[64] = {0};
    for (int i = 0; i < n; i++) {
        double u = ub_rng_uniform(&r);
        outside += !(u >= 0.0 && u < 1.0);
        lo = fmin(lo, u), hi = fmax(hi, u);
        sum += u, sum2 += u * u;
    }
    for (int i = 0; i < n / 10; i++) {
        uint64_t v = ub_rng_u64(&r);
        for (int b = 0; b < 64; b++) bits[b] += (v >> b) & 1;
    }
    CHECK(outside == 0);
    CHECK(lo < 1e-5 && hi > 1 - 1e-5);
    double mean = sum / n, var = sum2 / n - mean * mean;
    /* SE of the mean: sqrt(1/12 / n); of the variance: sqrt((1/80 - 1/144) / n) */
    CHECK_MSG(fabs(mean - 0.5) < 5 * sqrt(1.0 / 12 / n), "uniform mean %g", mean);
    CHECK_MSG(fabs(var - 1.0 / 12) < 5 * sqrt((1.0 / 80 - 1.0 / 144) / n), "uniform variance %g", var);
    /* every bit of the raw output is fair: SE sqrt(0.25 * n/10) */
    int unfair = 0;
    for (int b = 0; b < 64; b++) unfair += fabs((double)bits[b] - n / 20.0) > 6 * sqrt(0.25 * n / 10);
    CHECK_MSG(unfair == 0, "%d biased bits", unfair);
    /* range: [lo, hi) */
    int out_of_range = 0;
    for (int i = 0; i < 1000; i++) {
        double v = ub_rng_range(&r, -3, 2);
        out_of_range += !(v >= -3 && v < 2);
    }
    CHECK(out_of_range == 0);
}

/* Pearson's chi-square of observed counts against expected ones. */
static double chi_square(const double *observed, const double *expected, int bins) {
    double chi = 0;
    for (int i = 0; i < bins; i++) chi += (observed[i] - expected[i]) * (observed[i] - expected[i]) / expected[i];
    return chi;
}

/* A bound that a chi-square with `dof` degrees of freedom exceeds with probability < ~1e-6. */
static double chi_bound(int dof) { return dof + 7 * sqrt(2.0 * dof) + 12; }

static void test_below(void) {
    ub_rng r;
    ub_rng_seed(&r, 2);
    for (uint64_t n = 1; n <= 12; n++) {
        double observed[12] = {0}, expected[12];
        const int draws = 20000 * (int)n;
        int outside = 0;
        for (int i = 0; i < draws; i++) {
            uint64_t v = ub_rng_below(&r, n);
            if (v >= n) outside++;
            else observed[v]++;
        }
        for (uint64_t i = 0; i < n; i++) expected[i] = (double)draws / (double)n;
        CHECK(outside == 0);
        if (n > 1) {
            double chi = chi_square(observed, expected, (int)n);
            CHECK_MSG(chi < chi_bound((int)n - 1), "below(%llu): chi-square %g", (unsigned long long)n, chi);
        }
    }
    /* a large n where a plain modulo would put half the mass in the first third */
    const uint64_t big = 3ull << 62;
    double thirds[3] = {0}, expected[3];
    const int draws = 300000;
    int outside = 0;
    for (int i = 0; i < draws; i++) {
        uint64_t v = ub_rng_below(&r, big);
        if (v < big) thirds[v >> 62]++;
        else outside++;
    }
    for (int i = 0; i < 3; i++) expected[i] = draws / 3.0;
    CHECK_MSG(chi_square(thirds, expected, 3) < chi_bound(2), "below(3*2^62): %g %g %g", thirds[0], thirds[1],
              thirds[2]);
    /* n just over 2^63: about half the raw draws are rejected; the halves [0, 2^62) and
       [2^62, 2^63] stay even */
    const uint64_t half = (1ull << 63) + 1;
    double halves[2] = {0}, even[2] = {draws / 2.0, draws / 2.0};
    for (int i = 0; i < draws; i++) {
        uint64_t v = ub_rng_below(&r, half);
        outside += v >= half;
        halves[v >= (1ull << 62)]++;
    }
    CHECK(outside == 0);
    CHECK_MSG(chi_square(halves, even, 2) < chi_bound(1), "below(2^63+1): %g %g", halves[0], halves[1]);
}

static void test_normal(void) {
    ub_rng r;
    ub_rng_seed(&r, 3);
    const int n = 1000000;
    double sum = 0, sum2 = 0, sum4 = 0;
    int beyond2 = 0, beyond3 = 0, finite = 1;
    for (int i = 0; i < n; i++) {
        double z = ub_rng_normal(&r);
        finite &= isfinite(z);
        sum += z, sum2 += z * z, sum4 += z * z * z * z;
        beyond2 += fabs(z) > 2, beyond3 += fabs(z) > 3;
    }
    CHECK(finite);
    double mean = sum / n, var = sum2 / n - mean * mean, m4 = sum4 / n;
    CHECK_MSG(fabs(mean) < 5 / sqrt(n), "normal mean %g", mean);
    CHECK_MSG(fabs(var - 1) < 5 * sqrt(2.0 / n), "normal variance %g", var);
    CHECK_MSG(fabs(m4 - 3) < 5 * sqrt(96.0 / n), "normal fourth moment %g", m4);
    /* two-sided tails: P(|z| > 2) = 0.0455003, P(|z| > 3) = 0.0026998 */
    const double p2 = 0.04550026389635842, p3 = 0.0026997960632601866;
    CHECK_MSG(fabs(beyond2 / (double)n - p2) < 5 * sqrt(p2 * (1 - p2) / n), "P(|z|>2) = %g", beyond2 / (double)n);
    CHECK_MSG(fabs(beyond3 / (double)n - p3) < 5 * sqrt(p3 * (1 - p3) / n), "P(|z|>3) = %g", beyond3 / (double)n);
}

/* Counts of Poisson draws in a window [lo, lo + POISSON_WINDOW) of k around
   lambda (+-8 standard deviations or more), with what fell below and above. */
enum { POISSON_WINDOW = 6000 };
typedef struct poisson_counts {
    double lambda;
    int64_t lo;
    long below, above, n, bad;
    double sum, sum2;
    long counts[POISSON_WINDOW];
} poisson_counts;

static void counts_init(poisson_counts *c, double lambda) {
    memset(c, 0, sizeof *c);
    c->lambda = lambda;
    const double lo = floor(lambda - 8 * sqrt(lambda) - 10);
    c->lo = lo > 0 ? (int64_t)lo : 0;
}

static void counts_add(poisson_counts *c, double k) {
    c->bad += !(k >= 0 && k == floor(k));
    c->n++;
    c->sum += k, c->sum2 += k * k;
    if (k < (double)c->lo) c->below++;
    else if (k >= (double)(c->lo + POISSON_WINDOW)) c->above++;
    else c->counts[(int64_t)k - c->lo]++;
}

/* Chi-square of the counts against the pmf (exp(k log lambda - lambda - lgamma(k+1)): the test runs on one
   thread), bins merged so that each expects >= 20, the window's outside folded into the end bins. */
static double poisson_chi(const poisson_counts *c, int *dof) {
    static double observed[POISSON_WINDOW + 2], expected[POISSON_WINDOW + 2];
    double obs = (double)c->below, exp_ = 0, total = 0;
    for (int64_t k = 0; k < c->lo; k++) exp_ += exp(k * log(c->lambda) - c->lambda - lgamma(k + 1.0));
    int bins = 0;
    for (int64_t j = 0; j < POISSON_WINDOW; j++) {
        const double k = (double)(c->lo + j);
        obs += (double)c->counts[j];
        exp_ += exp(k * log(c->lambda) - c->lambda - lgamma(k + 1.0));
        if (exp_ * c->n >= 20) {
            observed[bins] = obs, expected[bins] = exp_ * c->n, total += expected[bins], bins++;
            obs = exp_ = 0;
        }
    }
    /* the rest of the mass (the last partial bin and everything above the window) joins the last bin */
    observed[bins - 1] += obs + (double)c->above;
    expected[bins - 1] += (double)c->n - total;
    *dof = bins - 1;
    return chi_square(observed, expected, bins);
}

/* Mean, variance and the whole shape against the pmf. */
static void check_poisson(const poisson_counts *c, const char *what) {
    const double lambda = c->lambda, n = (double)c->n;
    CHECK_MSG(c->bad == 0, "%s lambda %g: %ld draws not non-negative integers", what, lambda, c->bad);
    double mean = c->sum / n, var = c->sum2 / n - mean * mean;
    /* SE of the mean sqrt(lambda/n); of the variance sqrt((lambda + 2 lambda^2)/n) */
    CHECK_MSG(fabs(mean - lambda) < 5 * sqrt(lambda / n), "%s lambda %g: mean %.6g", what, lambda, mean);
    CHECK_MSG(fabs(var - lambda) < 5 * sqrt((lambda + 2 * lambda * lambda) / n), "%s lambda %g: variance %.6g",
              what, lambda, var);
    int dof;
    double chi = poisson_chi(c, &dof);
    CHECK_MSG(dof >= 1 && chi < chi_bound(dof), "%s lambda %g: chi-square %g with %d dof", what, lambda, chi, dof);
    if (lambda <= 1) { /* P(0) = exp(-lambda) */
        double p0 = exp(-lambda), f0 = (double)c->counts[0] / n;
        CHECK_MSG(fabs(f0 - p0) < 5 * sqrt(p0 * (1 - p0) / n), "%s lambda %g: P(0) = %g, want %g", what, lambda, f0,
                  p0);
    }
}

/* Both sides of each method's switch (Knuth below 10, PTRS from 10; sensor.c's normal stand-in from 1e4) and
   far beyond it. */
static const double test_lambdas[] = {0.1, 0.5, 1, 5, 9.9, 10, 30, 1000, 1e5};
enum { N_LAMBDAS = sizeof test_lambdas / sizeof *test_lambdas };

static void test_poisson(void) {
    poisson_counts *c = malloc(sizeof *c);
    for (size_t l = 0; l < N_LAMBDAS; l++) {
        ub_rng r;
        ub_rng_seed(&r, ub_rng_derive(4, l, 0));
        counts_init(c, test_lambdas[l]);
        for (int i = 0; i < 200000; i++) counts_add(c, ub_rng_poisson(&r, test_lambdas[l]));
        check_poisson(c, "ub_rng_poisson");
    }
    free(c);
    ub_rng r;
    ub_rng_seed(&r, 5);
    CHECK(ub_rng_poisson(&r, 0) == 0);
    CHECK(ub_rng_poisson(&r, -1) == 0);
    CHECK(ub_rng_poisson(&r, NAN) == 0);
}

/* The batched draw (the sensor noise's): the means of a batch interleaved, so that the squeeze's
   survivors and the small means' draws of one batch share the stream; odd lengths (not batches of 64). */
static void test_poisson_batch(void) {
    poisson_counts *c = malloc(N_LAMBDAS * sizeof *c);
    for (size_t l = 0; l < N_LAMBDAS; l++) counts_init(&c[l], test_lambdas[l]);
    enum { LEN = 1001 };
    double lambda[LEN], k[LEN];
    for (int i = 0; i < LEN; i++) lambda[i] = test_lambdas[i % N_LAMBDAS];
    ub_rng r;
    ub_rng_seed(&r, 6);
    for (int rep = 0; rep < 200000 * (int)N_LAMBDAS / LEN; rep++) {
        const int n = LEN - rep % 100; /* lengths 902..1001 */
        ub__rng_poisson_n(&r, lambda, k, n);
        for (int i = 0; i < n; i++) counts_add(&c[i % N_LAMBDAS], k[i]);
    }
    for (size_t l = 0; l < N_LAMBDAS; l++) check_poisson(&c[l], "ub__rng_poisson_n");
    free(c);
    /* no mean, a negative or NaN one: 0; deterministic from the state */
    const double odd[5] = {0, -3, NAN, 2, 50};
    double out[5], again[5];
    ub_rng a, b;
    ub_rng_seed(&a, 7);
    b = a;
    ub__rng_poisson_n(&a, odd, out, 5);
    ub__rng_poisson_n(&b, odd, again, 5);
    CHECK(out[0] == 0 && out[1] == 0 && out[2] == 0);
    CHECK(memcmp(out, again, sizeof out) == 0 && memcmp(&a, &b, sizeof a) == 0);
}

/* The ziggurat normal (the sensor noise's): moments, and the shape in 0.25-wide bins from -5 to 5 with
   both tails, against the normal CDF; the tail beyond the base strip's edge R = 3.654 on its own. */
static double normal_cdf(double z) { return 0.5 * erfc(-z / sqrt(2.0)); }

static void test_normal_zig(void) {
    enum { BINS = 42 }; /* (-inf, -5), 40 bins of 0.25, [5, inf) */
    const int n = 2000000;
    double observed[BINS] = {0}, expected[BINS], sum = 0, sum2 = 0, sum4 = 0;
    long beyond_r = 0, finite = 1;
    ub_rng r;
    ub_rng_seed(&r, 8);
    for (int i = 0; i < n; i++) {
        const double z = ub__rng_normal_zig(&r);
        finite &= isfinite(z);
        sum += z, sum2 += z * z, sum4 += z * z * z * z;
        beyond_r += fabs(z) > 3.6541528853610088;
        const double b = floor((z + 5) / 0.25) + 1;
        observed[b < 0 ? 0 : b > BINS - 1 ? BINS - 1 : (int)b]++;
    }
    CHECK(finite);
    const double mean = sum / n, var = sum2 / n - mean * mean, m4 = sum4 / n;
    CHECK_MSG(fabs(mean) < 5 / sqrt(n), "ziggurat mean %g", mean);
    CHECK_MSG(fabs(var - 1) < 5 * sqrt(2.0 / n), "ziggurat variance %g", var);
    CHECK_MSG(fabs(m4 - 3) < 5 * sqrt(96.0 / n), "ziggurat fourth moment %g", m4);
    for (int b = 0; b < BINS; b++) {
        const double lo = b == 0 ? -INFINITY : -5 + 0.25 * (b - 1), hi = b == BINS - 1 ? INFINITY : lo + 0.25;
        expected[b] = n * ((b == BINS - 1 ? 1 : normal_cdf(hi)) - (b == 0 ? 0 : normal_cdf(lo)));
    }
    /* the outermost bins expect < 20 (0.57 each): fold them into their neighbours */
    observed[1] += observed[0], expected[1] += expected[0];
    observed[BINS - 2] += observed[BINS - 1], expected[BINS - 2] += expected[BINS - 1];
    const double chi = chi_square(observed + 1, expected + 1, BINS - 2);
    CHECK_MSG(chi < chi_bound(BINS - 3), "ziggurat: chi-square %g with %d dof", chi, BINS - 3);
    const double pr = 2 * normal_cdf(-3.6541528853610088), er = n * pr;
    CHECK_MSG(fabs((double)beyond_r - er) < 5 * sqrt(er), "ziggurat: %ld beyond R, want %.0f", beyond_r, er);
}

int main(void) {
    test_golden();
    test_seeding();
    test_derive();
    test_uniform();
    test_below();
    test_normal();
    test_poisson();
    test_poisson_batch();
    test_normal_zig();
    return test_finish("test_rng");
}
