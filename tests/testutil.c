#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int test_failures = 0;
int test_checks = 0;

int test_finish(const char *name) {
    if (test_failures) fprintf(stderr, "%s: %d of %d checks FAILED\n", name, test_failures, test_checks);
    else printf("%s: all %d checks passed\n", name, test_checks);
    return test_failures ? 1 : 0;
}

uint64_t test_rng_next(test_rng *r) {
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

double test_rng_uniform(test_rng *r) { return (double)(test_rng_next(r) >> 11) * (1.0 / 9007199254740992.0); }

ub_ctx *test_ctx(int threads) {
    ub_settings s;
    ub_default_settings(&s);
    s.threads = threads;
    ub_ctx *ctx;
    if (ub_ctx_create(&ctx, &s) != UB_OK) {
        fprintf(stderr, "cannot create a context\n");
        exit(1);
    }
    return ctx;
}

ub_image *test_image(ub_ctx *ctx, int64_t w, int64_t h, int channels, uint64_t seed) {
    ub_image *img;
    if (ub_image_create(ctx, &img, w, h, channels) != UB_OK) {
        fprintf(stderr, "test_image: %s\n", ub_last_error(ctx));
        exit(1);
    }
    test_rng r = {seed};
    for (int c = 0; c < channels; c++) {
        double fx = 0.02 + 0.2 * test_rng_uniform(&r), fy = 0.02 + 0.2 * test_rng_uniform(&r);
        double ph = 6.28 * test_rng_uniform(&r);
        float *p = ub_image_plane(img, c);
        for (int64_t y = 0; y < h; y++)
            for (int64_t x = 0; x < w; x++) {
                double v = 0.5 + 0.3 * sin(fx * x + ph) * cos(fy * y) + 0.15 * (test_rng_uniform(&r) - 0.5);
                p[y * w + x] = (float)(v < 0 ? 0 : v > 1 ? 1 : v);
            }
    }
    return img;
}

const char *test_tmpdir(const char *tag) {
    static char path[512];
    const char *base = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/unblur-%s-XXXXXX", base && *base ? base : "/tmp", tag);
    if (!mkdtemp(path)) {
        perror("mkdtemp");
        exit(1);
    }
    return path;
}

const char *test_shared_path(const char *rel, char *buf, size_t size) {
    const char *base = getenv("UNBLUR_SHARED");
    snprintf(buf, size, "%s/data/%s", base && *base ? base : UB_SHARED_DIR, rel);
    if (access(buf, R_OK) != 0) {
        printf("skip: %s is absent\n", buf);
        return NULL;
    }
    return buf;
}

double test_fd_check(test_forward_fn forward, void *state, double *x, size_t nx, const double *analytic,
                     const double *g, size_t nout, double h, size_t *worst_index) {
    static const double steps[4] = {2, 1, -1, -2}, weights[4] = {-1, 8, -8, 1}; /* (-f(2h) + 8f(h) - 8f(-h) + f(-2h)) / 12h */
    double *out[4];
    int ok = 1;
    for (int s = 0; s < 4; s++) ok &= (out[s] = malloc(nout * sizeof(double))) != NULL;
    double worst = ok ? 0.0 : INFINITY;
    if (worst_index) *worst_index = 0;
    for (size_t i = 0; i < nx && ok; i++) {
        const double saved = x[i];
        for (int s = 0; s < 4; s++) {
            x[i] = saved + steps[s] * h;
            forward(state, out[s]);
        }
        x[i] = saved;
        double sum = 0.0;
        for (size_t j = 0; j < nout; j++)
            sum += g[j] * ((out[0][j] - out[3][j]) * weights[0] + (out[1][j] - out[2][j]) * weights[1]);
        const double numeric = sum / (12 * h), a = analytic[i];
        const double err = fabs(a - numeric) / fmax(1e-8, fabs(a) + fabs(numeric));
        if (!(err <= worst)) { /* NaN counts as the worst */
            worst = isnan(err) ? INFINITY : err;
            if (worst_index) *worst_index = i;
        }
    }
    for (int s = 0; s < 4; s++) free(out[s]);
    return worst;
}

void *test_calloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}

double test_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

const char *test_join(const char *dir, const char *rel) {
    static char buf[4][1024];
    static int next;
    char *p = buf[next++ & 3];
    snprintf(p, sizeof buf[0], "%s/%s", dir, rel);
    return p;
}

/* Random rectangles and discs of random greys over a grey background: strong edges in every
   direction (rectangles alone leave the kernel's diagonal structure undetermined: a horizontal edge
   only sees the kernel's vertical profile). */
ub_image *test_shapes(ub_ctx *ctx, int64_t w, int64_t h, int channels, uint64_t seed) {
    ub_image *img = NULL;
    if (ub_image_create(ctx, &img, w, h, channels) != UB_OK) exit(1);
    test_rng r = {seed};
    for (int c = 0; c < channels; c++) {
        float *p = ub_image_plane(img, c);
        for (int64_t i = 0; i < w * h; i++) p[i] = 0.5f;
    }
    for (int n = 0; n < 80; n++) {
        const int disc = n % 2;
        const double cx = test_rng_uniform(&r) * w, cy = test_rng_uniform(&r) * h;
        const double rx = 3 + test_rng_uniform(&r) * w / 8, ry = disc ? rx : 3 + test_rng_uniform(&r) * h / 8;
        const double v = 0.1 + 0.8 * test_rng_uniform(&r);
        for (int c = 0; c < channels; c++) {
            float *p = ub_image_plane(img, c);
            const float vc = (float)(c == 0 ? v : fmin(1.0, v * (0.8 + 0.1 * c)));
            for (int64_t y = 0; y < h; y++)
                for (int64_t x = 0; x < w; x++) {
                    const double dx = (x - cx) / rx, dy = (y - cy) / ry;
                    if (disc ? dx * dx + dy * dy <= 1.0 : fabs(dx) <= 1.0 && fabs(dy) <= 1.0) p[y * w + x] = vc;
                }
        }
    }
    return img;
}
