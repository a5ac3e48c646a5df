/* unblur/rng.h — explicit, seeded random generators.

   Every random draw in unblur comes from a ub_rng that the caller seeded, so
   that every result is reproducible; there is no global generator. The
   generator is xoshiro256** (Blackman & Vigna), seeded through splitmix64.

   Streams: ub_rng_derive(seed, a, b) mixes a run seed with indices (image
   index, step, sample, component...) into an independent seed, so that sample
   i of a batch draws the same numbers whatever the thread that makes it and
   whatever was drawn before it.

       ub_rng r;
       ub_rng_seed(&r, ub_rng_derive(run_seed, image_index, 0));
       double u = ub_rng_uniform(&r);          // [0, 1)
       double g = ub_rng_normal(&r);           // N(0, 1)
*/
#ifndef UNBLUR_RNG_H
#define UNBLUR_RNG_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ub_rng {
    uint64_t s[4];
} ub_rng;

UB_API void ub_rng_seed(ub_rng *r, uint64_t seed);
/* A seed for stream (a, b) of a run seed: splitmix64 mixing, collision-free in practice. */
UB_API uint64_t ub_rng_derive(uint64_t seed, uint64_t a, uint64_t b);

UB_API uint64_t ub_rng_u64(ub_rng *r);
/* Uniform in [0, 1), 53 random bits. */
UB_API double ub_rng_uniform(ub_rng *r);
/* Uniform in [lo, hi). */
UB_API double ub_rng_range(ub_rng *r, double lo, double hi);
/* Uniform integer in [0, n), unbiased; n > 0. */
UB_API uint64_t ub_rng_below(ub_rng *r, uint64_t n);
/* Standard normal (Marsaglia polar method; no cached spare, so draws are stateless beyond s). */
UB_API double ub_rng_normal(ub_rng *r);
/* Poisson with mean lambda >= 0: Knuth's product of uniforms below 10, Hormann's PTRS from 10. */
UB_API double ub_rng_poisson(ub_rng *r, double lambda);

#ifdef __cplusplus
}
#endif
#endif
