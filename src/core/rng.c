/* core/rng.c — xoshiro256** with splitmix64 seeding; uniform, normal and
   Poisson draws. See unblur/rng.h. */
#include <math.h>

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

uint64_t ub_rng_u64(ub_rng *r) {
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

double ub_rng_uniform(ub_rng *r) { return (double)(ub_rng_u64(r) >> 11) * 0x1.0p-53; }

double ub_rng_range(ub_rng *r, double lo, double hi) { return lo + (hi - lo) * ub_rng_uniform(r); }

uint64_t ub_rng_below(ub_rng *r, uint64_t n) {
    /* Lemire's multiply-shift with rejection: unbiased */
    u128 m = (u128)ub_rng_u64(r) * n;
    uint64_t low = (uint64_t)m;
    if (low < n) {
        uint64_t threshold = -n % n;
        while (low < threshold) {
            m = (u128)ub_rng_u64(r) * n;
            low = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

double ub_rng_normal(ub_rng *r) {
    double u, v, s;
    do {
        u = 2.0 * ub_rng_uniform(r) - 1.0;
        v = 2.0 * ub_rng_uniform(r) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    return u * sqrt(-2.0 * log(s) / s);
}

/* log(k!) without lgamma, whose `signgam` global is not thread-safe. */
static double log_factorial(double k) {
    static const double table[16] = {0.0,
                                     0.0,
                                     0.69314718055994530942,
                                     1.79175946922805500081,
                                     3.17805383034794561964,
                                     4.78749174278204599425,
                                     6.57925121201010099506,
                                     8.52516136106541430017,
                                     10.60460290274525022842,
                                     12.80182748008146961121,
                                     15.10441257307551529523,
                                     17.50230784587388583929,
                                     19.98721449566188614952,
                                     22.55216385312342288557,
                                     25.19122118273868150009,
                                     27.89927138384089156609};
    if (k < 16) return table[(int)k];
    const double x = k + 1.0, x2 = x * x;
    /* Stirling's series, error < 2e-12 for x >= 17 */
    return (x - 0.5) * log(x) - x + 0.91893853320467274178 + 1.0 / (12.0 * x) - 1.0 / (360.0 * x * x2) +
           1.0 / (1260.0 * x * x2 * x2);
}

double ub_rng_poisson(ub_rng *r, double lambda) {
    if (!(lambda > 0)) return 0;
    if (lambda < 10) { /* multiplication of uniforms (Knuth) */
        const double limit = exp(-lambda);
        double p = 1.0;
        int k = -1;
        do {
            k++;
            p *= ub_rng_uniform(r);
        } while (p > limit);
        return k;
    }
    /* PTRS: transformed rejection with squeeze (W. Hormann, 1993) */
    const double slam = sqrt(lambda), loglam = log(lambda);
    const double b = 0.931 + 2.53 * slam, a = -0.059 + 0.02483 * b;
    const double invalpha = 1.1239 + 1.1328 / (b - 3.4), vr = 0.9277 - 3.6224 / (b - 2);
    for (;;) {
        const double u = ub_rng_uniform(r) - 0.5, v = ub_rng_uniform(r);
        const double us = 0.5 - fabs(u);
        const double k = floor((2 * a / us + b) * u + lambda + 0.43);
        if (us >= 0.07 && v <= vr) return k;
        if (k < 0 || (us < 0.013 && v > us)) continue;
        if (log(v) + log(invalpha) - log(a / (us * us) + b) <= -lambda + k * loglam - log_factorial(k)) return k;
    }
}
