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

/* Chi-square of Poisson draws against the pmf, bins merged so that each expects >= 20. */
static double poisson_fit(const long *counts, int kmax, double lambda, int draws, int *dof) {
    double observed[512], expected[512], obs = 0, exp_ = 0, p = exp(-lambda), tail = 1;
    int bins = 0;
    for (int k = 0; k <= kmax && bins < 511; k++) {
        obs += (double)counts[k];
        exp_ += p * draws;
        tail -= p;
        if (exp_ >= 20 && tail * draws >= 20) {
            observed[bins] = obs, expected[bins] = exp_, bins++;
            obs = exp_ = 0;
        }
        p *= lambda / (k + 1);
    }
    /* the rest (k beyond the last bin) */
    double rest = 0;
    for (int k = 0; k <= kmax; k++) rest += (double)counts[k];
    for (int i = 0; i < bins; i++) rest -= observed[i];
    observed[bins] = rest, expected[bins] = draws;
    for (int i = 0; i < bins; i++) expected[bins] -= expected[i];
    bins++;
    *dof = bins - 1;
    return chi_square(observed, expected, bins);
}

static void test_poisson(void) {
    const double lambdas[] = {0.1, 1, 5, 9.9, 10, 30, 1000, 1e5};
    enum { KMAX = 200 };
    for (size_t l = 0; l < sizeof lambdas / sizeof *lambdas; l++) {
        const double lambda = lambdas[l];
        ub_rng r;
        ub_rng_seed(&r, ub_rng_derive(4, l, 0));
        const int n = 200000;
        long counts[KMAX + 2] = {0};
        double sum = 0, sum2 = 0;
        int bad = 0;
        for (int i = 0; i < n; i++) {
            double k = ub_rng_poisson(&r, lambda);
            bad += !(k >= 0 && k == floor(k));
            sum += k, sum2 += k * k;
            counts[k <= KMAX ? (int)k : KMAX + 1]++;
        }
        CHECK_MSG(bad == 0, "lambda %g: %d draws not non-negative integers", lambda, bad);
        double mean = sum / n, var = sum2 / n - mean * mean;
        /* SE of the mean sqrt(lambda/n); of the variance sqrt((lambda + 2 lambda^2)/n) */
        CHECK_MSG(fabs(mean - lambda) < 5 * sqrt(lambda / n), "lambda %g: mean %.6g", lambda, mean);
        CHECK_MSG(fabs(var - lambda) < 5 * sqrt((lambda + 2 * lambda * lambda) / n), "lambda %g: variance %.6g",
                  lambda, var);
        if (lambda <= 30) { /* the whole shape, not just two moments */
            CHECK(counts[KMAX + 1] == 0);
            int dof;
            double chi = poisson_fit(counts, KMAX, lambda, n, &dof);
            CHECK_MSG(chi < chi_bound(dof), "lambda %g: chi-square %g with %d dof", lambda, chi, dof);
        }
        if (lambda <= 1) { /* P(0) = exp(-lambda) */
            double p0 = exp(-lambda);
            CHECK_MSG(fabs(counts[0] / (double)n - p0) < 5 * sqrt(p0 * (1 - p0) / n), "lambda %g: P(0) = %g, want %g",
                      lambda, counts[0] / (double)n, p0);
        }
    }
    ub_rng r;
    ub_rng_seed(&r, 5);
    CHECK(ub_rng_poisson(&r, 0) == 0);
    CHECK(ub_rng_poisson(&r, -1) == 0);
    CHECK(ub_rng_poisson(&r, NAN) == 0);
}

int main(void) {
    test_golden();
    test_seeding();
    test_derive();
    test_uniform();
    test_below();
    test_normal();
    test_poisson();
    return test_finish("test_rng");
}
