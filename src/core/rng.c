/* core/rng.c — xoshiro256** with splitmix64 seeding; uniform, normal and
   Poisson draws. See unblur/rng.h.

   The draws use the static inline next()/uniform() below, not the exported
   ub_rng_u64/ub_rng_uniform: calls to exported functions inside the shared
   library go through the PLT and cannot be inlined, which cost the per-pixel
   sensor noise (synth/sensor.c) a fifth of its time. */
#include <math.h>

#include "core/internal.h"
#include "core/ziggurat.h"
#include "unblur/rng.h"

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void ub_rng_seed(ub_rng *r, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

uint64_t ub_rng_derive(uint64_t seed, uint64_t a, uint64_t b) {
    uint64_t x = seed;
    uint64_t h = splitmix64(&x);
    x = h ^ (a * 0xd6e8feb86659fd93ull);
    h = splitmix64(&x);
    x = h ^ (b * 0xa0761d6478bd642full);
    return splitmix64(&x);
}

/* 64x64 -> 128-bit products (a GCC/Clang extension on x86-64) */
__extension__ typedef unsigned __int128 u128;

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t next(ub_rng *r) {
    uint64_t *s = r->s;
    const uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

static inline double uniform(ub_rng *r) { return (double)(next(r) >> 11) * 0x1.0p-53; }

uint64_t ub_rng_u64(ub_rng *r) { return next(r); }

double ub_rng_uniform(ub_rng *r) { return uniform(r); }

double ub_rng_range(ub_rng *r, double lo, double hi) { return lo + (hi - lo) * uniform(r); }

uint64_t ub_rng_below(ub_rng *r, uint64_t n) {
    /* Lemire's multiply-shift with rejection: unbiased */
    u128 m = (u128)next(r) * n;
    uint64_t low = (uint64_t)m;
    if (low < n) {
        uint64_t threshold = -n % n;
        while (low < threshold) {
            m = (u128)next(r) * n;
            low = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

double ub_rng_normal(ub_rng *r) {
    double u, v, s;
    do {
        u = 2.0 * uniform(r) - 1.0;
        v = 2.0 * uniform(r) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    return u * sqrt(-2.0 * log(s) / s);
}

/* The ziggurat (Marsaglia & Tsang 2000, 256 layers, the 52-bit layout numpy
   uses; tables in core/ziggurat.h): one 64-bit draw gives the layer (8 bits),
   the sign (1) and the abscissa (52), and 99% of draws end at the first test,
   without a logarithm; the rest take the wedge test against exp(-x^2/2) or
   Marsaglia's exact tail beyond R. Exact up to the tables' rounding (1e-13 of
   a layer's area). */
double ub__rng_normal_zig(ub_rng *r) {
    for (;;) {
        const uint64_t bits = next(r);
        const unsigned layer = (unsigned)(bits & 0xff);
        const int negative = (int)((bits >> 8) & 1);
        const uint64_t j = (bits >> 9) & 0x000fffffffffffffull;
        const double x = (double)j * ub__zig_wi[layer];
        if (j < ub__zig_ki[layer]) return negative ? -x : x;
        if (layer == 0) { /* the tail beyond R, by Marsaglia's exponential rejection */
            for (;;) {
                const double xx = -UB__ZIG_INV_R * log1p(-uniform(r)), yy = -log1p(-uniform(r));
                if (yy + yy > xx * xx) return negative ? -(UB__ZIG_R + xx) : UB__ZIG_R + xx;
            }
        }
        const double f0 = ub__zig_fi[layer - 1], f1 = ub__zig_fi[layer];
        if (f1 + (f0 - f1) * uniform(r) < exp(-0.5 * x * x)) return negative ? -x : x;
    }
}

/* Knuth's product of uniforms: k uniforms until their product falls to
   exp(-lambda); about lambda + 1 cheap draws, for lambda < 10 (numpy's choice). */
static double poisson_product(ub_rng *r, double lambda) {
    const double limit = exp(-lambda);
    double p = uniform(r);
    int k = 0;
    while (p > limit) {
        k++;
        p *= uniform(r);
    }
    return k;
}

/* log(k!) for k < 16: lgamma is avoided, its `signgam` global is not thread-safe. */
static const double log_factorial_small[16] = {
    0.0,                    0.0,                    0.69314718055994530942, 1.79175946922805500081,
    3.17805383034794561964, 4.78749174278204599425, 6.57925121201010099506, 8.52516136106541430017,
    10.60460290274525022842, 12.80182748008146961121, 15.10441257307551529523, 17.50230784587388583929,
    19.98721449566188614952, 22.55216385312342288557, 25.19122118273868150009, 27.89927138384089156609};

/* log of the Poisson pmf at k, log(lambda^k e^-lambda / k!), given log(lambda) for
   k < 16. From 16 on, Stirling's series for log(x!) with x = k + 1, written so
   that the large terms cancel exactly rather than in rounding: with
   d = log(lambda / x) = log1p((lambda - x) / x),
       log pmf = (x - lambda) + k d - log(x) / 2 - log(2 pi) / 2 - series(x)
   (series to 1/x^9: truncation < 1e-16 for x >= 17). */
static double log_poisson_pmf(double k, double lambda, double loglam) {
    if (k < 16) return -lambda + k * loglam - log_factorial_small[(int)k];
    const double x = k + 1.0, ix = 1.0 / x, ix2 = ix * ix;
    const double series =
        ix * (1.0 / 12 - ix2 * (1.0 / 360 - ix2 * (1.0 / 1260 - ix2 * (1.0 / 1680 - ix2 * (1.0 / 1188)))));
    const double d = log1p((lambda - x) * ix);
    return (x - lambda) + k * d - 0.5 * log(x) - 0.91893853320467274178 - series;
}

/* PTRS: transformed rejection with squeeze (W. Hormann, "The transformed
   rejection method for generating Poisson random variables", 1993), for
   lambda >= 10, as numpy draws it. A candidate k comes from a pair (u, v),
   u uniform in [-0.5, 0.5) and v in [0, 1). */
typedef struct ptrs {
    double lambda, b, a, invalpha, vr;
    double loglam; /* log(lambda), taken on first need (NaN until then) */
} ptrs;

/* Hormann's constants, as scalar functions so that the batch loop below vectorises. */
static inline double ptrs_b(double lambda) { return 0.931 + 2.53 * sqrt(lambda); }
static inline double ptrs_a(double b) { return -0.059 + 0.02483 * b; }
static inline double ptrs_vr(double b) { return 0.9277 - 3.6224 / (b - 2); }
static inline double ptrs_k(double lambda, double b, double a, double u, double us) {
    return floor((2 * a / us + b) * u + lambda + 0.43);
}

static inline ptrs ptrs_setup(double lambda) {
    const double b = ptrs_b(lambda);
    return (ptrs){lambda, b, ptrs_a(b), 1.1239 + 1.1328 / (b - 3.4), ptrs_vr(b), NAN};
}

/* The whole test of candidate (u, v) -> *k. Most candidates end at the squeeze
   without a logarithm; the acceptance test takes one logarithm of the ratio
   instead of three. */
static int ptrs_accepts(ptrs *p, double u, double v, double *k) {
    const double us = 0.5 - fabs(u);
    *k = ptrs_k(p->lambda, p->b, p->a, u, us);
    if (us >= 0.07 && v <= p->vr) return 1;
    if (*k < 0 || (us < 0.013 && v > us)) return 0;
    if (*k < 16 && isnan(p->loglam)) p->loglam = log(p->lambda);
    return log(v * p->invalpha / (p->a / (us * us) + p->b)) <= log_poisson_pmf(*k, p->lambda, p->loglam);
}

/* PTRS from a first candidate (u, v) already drawn, drawing more until one is accepted. */
static double poisson_ptrs_from(ub_rng *r, double lambda, double u, double v) {
    ptrs p = ptrs_setup(lambda);
    double k;
    while (!ptrs_accepts(&p, u, v, &k)) {
        u = uniform(r) - 0.5;
        v = uniform(r);
    }
    return k;
}

static double poisson_ptrs(ub_rng *r, double lambda) {
    const double u = uniform(r) - 0.5, v = uniform(r);
    return poisson_ptrs_from(r, lambda, u, v);
}

double ub__rng_poisson(ub_rng *r, double lambda) {
    if (!(lambda > 0)) return 0;
    return lambda < 10 ? poisson_product(r, lambda) : poisson_ptrs(r, lambda);
}

/* One batch of ub__rng_poisson_n. Per mean the scalar PTRS is a chain of
   dependent square root, divisions and floor (latency, not work); here the
   first candidates of the whole batch are drawn first and put through the
   squeeze together, a loop the compiler vectorises. Only what the squeeze
   leaves (about a quarter of the means from 10 up, all below 10) goes on
   serially, in index order, from the same stream. */
enum { POISSON_BATCH = 64 };

static void poisson_batch(ub_rng *r, const double *lambda, double *out, int n) {
    double u[POISSON_BATCH], v[POISSON_BATCH];
    int64_t done[POISSON_BATCH];
    for (int i = 0; i < n; i++) {
        u[i] = uniform(r) - 0.5;
        v[i] = uniform(r);
    }
#pragma omp simd
    for (int i = 0; i < n; i++) {
        const double l = lambda[i], b = ptrs_b(l), us = 0.5 - fabs(u[i]);
        out[i] = ptrs_k(l, b, ptrs_a(b), u[i], us);
        done[i] = (l >= 10) & (us >= 0.07) & (v[i] <= ptrs_vr(b)); /* &, not &&: no branch to vectorise */
    }
    for (int i = 0; i < n; i++) {
        if (done[i]) continue;
        const double l = lambda[i];
        out[i] = !(l > 0) ? 0 : l < 10 ? poisson_product(r, l) : poisson_ptrs_from(r, l, u[i], v[i]);
    }
}

void ub__rng_poisson_n(ub_rng *r, const double *lambda, double *out, int64_t n) {
    for (int64_t at = 0; at < n; at += POISSON_BATCH)
        poisson_batch(r, lambda + at, out + at, n - at < POISSON_BATCH ? (int)(n - at) : POISSON_BATCH);
}

double ub_rng_poisson(ub_rng *r, double lambda) { return ub__rng_poisson(r, lambda); }
