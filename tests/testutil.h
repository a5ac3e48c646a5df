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
/* A fresh empty folder under $TMPDIR (or /tmp); the path is static storage of this harness. */
const char *test_tmpdir(const char *tag);
/* ../shared/data/<rel>, or NULL (with a message) when absent. */
const char *test_shared_path(const char *rel, char *buf, size_t size);

#endif
