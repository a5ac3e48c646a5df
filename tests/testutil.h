/* tests/testutil.h — a minimal harness: checks that count failures, a
   deterministic generator for test images, temporary folders. A test program
   returns test_finish(), which is non-zero when any check failed. */
#ifndef UB_TESTUTIL_H
#define UB_TESTUTIL_H

#include <stdint.h>
#include <stdio.h>

#include "unblur.h"

extern int test_failures;
extern int test_checks;

#define CHECK(cond)                                                                      \
    do {                                                                                 \
        test_checks++;                                                                   \
        if (!(cond)) {                                                                   \
            test_failures++;                                                             \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);     \
        }                                                                                \
    } while (0)

#define CHECK_MSG(cond, ...)                                                             \
    do {                                                                                 \
        test_checks++;                                                                   \
        if (!(cond)) {                                                                   \
            test_failures++;                                                             \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);     \
            fprintf(stderr, __VA_ARGS__);                                                \
            fputc('\n', stderr);                                                         \
        }                                                                                \
    } while (0)

#define CHECK_NEAR(a, b, tol) \
    CHECK_MSG(fabs((double)(a) - (double)(b)) <= (tol), "%s = %.9g, %s = %.9g, tol %g", #a, (double)(a), #b, (double)(b), (double)(tol))

#define CHECK_OK(ctx, expr) \
    CHECK_MSG((expr) == UB_OK, "%s", ub_last_error(ctx))

int test_finish(const char *name);

/* splitmix64: a tiny deterministic generator for test data. */
typedef struct test_rng { uint64_t s; } test_rng;
uint64_t test_rng_next(test_rng *r);
double test_rng_uniform(test_rng *r); /* [0,1) */

/* A context with `threads` threads (0 = all). Aborts the test if it cannot be made. */
ub_ctx *test_ctx(int threads);
/* A smooth random image with texture (sums of sinusoids plus noise), values in [0,1]. */
ub_image *test_image(ub_ctx *ctx, int64_t w, int64_t h, int channels, uint64_t seed);
/* Rectangles and discs of random greys over a grey background (strong edges in every direction):
   what a blind kernel estimate can be tested on. Exits on failure. */
ub_image *test_shapes(ub_ctx *ctx, int64_t w, int64_t h, int channels, uint64_t seed);
/* A fresh empty folder under $TMPDIR (or /tmp); the path is static storage of this harness. */
const char *test_tmpdir(const char *tag);
/* ../shared/data/<rel>, or NULL (with a message) when absent. */
const char *test_shared_path(const char *rel, char *buf, size_t size);
/* dir/rel in one of 4 rotating static buffers (so that a call can take a few such paths at once). */
const char *test_join(const char *dir, const char *rel);
/* calloc of n (at least 1) elements, or the test exits with "out of memory". */
void *test_calloc(size_t n, size_t size);
/* A monotonic clock in seconds, for the timings some tests print (never assert). */
double test_seconds(void);

/* Finite-difference check of an analytic gradient with respect to x[0..nx). `forward(state, out)` writes the
   nout outputs from the current inputs (x among them); the loss is L = sum(g * out). Each x[i] is moved in turn
   to x[i] + {2h, h, -h, -2h} (and restored exactly), and dL/dx[i] is the fourth-order central difference
   (-L(2h) + 8 L(h) - 8 L(-h) + L(-2h)) / 12h, with the outputs subtracted before they are summed, so that those
   x[i] does not touch cancel exactly. Its truncation error is O(h^4), which lets h be large enough (1e-3 in
   double) for rounding to stay far below 1e-6 relative; keep inputs at least 2h from kinks (relu at 0, ties
   of a max). Returns the worst relative error |a - n| / max(1e-8, |a| + |n|) over the elements (+inf when out
   of memory or a NaN), and its index in *worst_index (may be NULL). */
typedef void (*test_forward_fn)(void *state, double *out);
double test_fd_check(test_forward_fn forward, void *state, double *x, size_t nx, const double *analytic,
                     const double *g, size_t nout, double h, size_t *worst_index);

#endif
