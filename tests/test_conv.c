/* tests/test_conv.c — convolution: DIRECT (AVX2 and, where the CPU has it, AVX-512) and FFT
   against the REFERENCE twin on many image and kernel shapes and both borders; the delta
   kernel, constant images, the shift direction (true convolution), VALID sizes, thread
   invariance, the FFT plan cache (eviction, concurrent contexts), alpha, and errors. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "synth/internal.h"
#include "testutil.h"

static const double TOL = 1e-5;

/* ---- helpers: kernels and planes made here, independent of kernel.c ---- */

static ub_kernel *kernel_new(int w, int h) {
    ub_kernel *k = malloc(sizeof *k);
    k->width = w, k->height = h;
    k->data = calloc((size_t)w * h, sizeof(float));
    return k;
}

static void kernel_free(ub_kernel *k) {
    if (!k) return;
    free(k->data);
    free(k);
}

static void kernel_normalise(ub_kernel *k) {
    double s = 0;
    for (int i = 0; i < k->width * k->height; i++) s += k->data[i];
    for (int i = 0; i < k->width * k->height; i++) k->data[i] = (float)(k->data[i] / s);
}

static ub_kernel *kernel_dense(int w, int h, uint64_t seed) {
    ub_kernel *k = kernel_new(w, h);
    test_rng r = {seed};
    for (int i = 0; i < w * h; i++) k->data[i] = (float)test_rng_uniform(&r) + 0.01f;
    kernel_normalise(k);
    return k;
}

static ub_kernel *kernel_gauss(int size, double sigma) {
    ub_kernel *k = kernel_new(size, size);
    for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++) {
            double dx = x - size / 2, dy = y - size / 2;
            k->data[y * size + x] = (float)exp(-(dx * dx + dy * dy) / (2 * sigma * sigma));
        }
    kernel_normalise(k);
    return k;
}

/* A one-pixel line through the centre at `angle`, uneven weights: sparse like a motion PSF. */
static ub_kernel *kernel_line(int size, double angle) {
    ub_kernel *k = kernel_new(size, size);
    const int c = size / 2;
    for (int t = -c; t <= c; t++) {
        int x = c + (int)lround(t * cos(angle)), y = c + (int)lround(t * sin(angle));
        k->data[y * size + x] += 1.0f + 0.5f * (float)(t + c) / (float)size;
    }
    kernel_normalise(k);
    return k;
}

static float *plane_random(int64_t w, int64_t h, uint64_t seed) {
    float *p = malloc(sizeof(float) * (size_t)(w * h));
    test_rng r = {seed};
    for (int64_t i = 0; i < w * h; i++) p[i] = (float)test_rng_uniform(&r);
    return p;
}

static double max_abs_diff(const float *a, const float *b, int64_t n) {
    double m = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (!(d <= m)) m = d; /* NaN propagates */
    }
    return m;
}

static int has_avx512(void) { return (ub_cpu_features() & UB_CPU_AVX512F) != 0; }

/* Runs one path into `out` (ow x oh); returns its status. */
typedef enum path { P_REF, P_DIRECT, P_AVX2, P_AVX512, P_FFT, P_AUTO, P_COUNT } path;
static const char *const path_name[P_COUNT] = {"reference", "direct", "direct-avx2", "direct-avx512", "fft", "auto"};

static ub_status run_path(ub_ctx *ctx, path p, const float *in, int64_t w, int64_t h, const ub_kernel *k,
                          ub_border b, float *out) {
    switch (p) {
    case P_REF: return ub_convolve_plane(ctx, in, w, h, k, b, UB_CONV_REFERENCE, out);
    case P_DIRECT: return ub_convolve_plane(ctx, in, w, h, k, b, UB_CONV_DIRECT, out);
    case P_AVX2: return ub__conv_direct(ctx, &in, &out, 1, w, h, k, b, UB__ISA_AVX2);
    case P_AVX512: return ub__conv_direct(ctx, &in, &out, 1, w, h, k, b, UB__ISA_AVX512);
    case P_FFT: return ub_convolve_plane(ctx, in, w, h, k, b, UB_CONV_FFT, out);
    default: return ub_convolve_plane(ctx, in, w, h, k, b, UB_CONV_AUTO, out);
    }
}

/* ---- every path against the reference ---- */

static void compare_all(ub_ctx *ctx, int64_t w, int64_t h, const ub_kernel *k, const char *kname, ub_border b) {
    const int64_t ow = b == UB_BORDER_VALID ? w - k->width + 1 : w, oh = b == UB_BORDER_VALID ? h - k->height + 1 : h;
    if (ow <= 0 || oh <= 0) return;
    float *in = plane_random(w, h, (uint64_t)(w * 131 + h * 7 + k->width * 3 + k->height));
    float *ref = malloc(sizeof(float) * (size_t)(ow * oh)), *out = malloc(sizeof(float) * (size_t)(ow * oh));
    float *avx2 = malloc(sizeof(float) * (size_t)(ow * oh));
    CHECK_OK(ctx, run_path(ctx, P_REF, in, w, h, k, b, ref));
    for (int p = P_DIRECT; p < P_COUNT; p++) {
        if (p == P_AVX512 && !has_avx512()) continue;
        for (int64_t i = 0; i < ow * oh; i++) out[i] = NAN;
        CHECK_OK(ctx, run_path(ctx, (path)p, in, w, h, k, b, out));
        double d = max_abs_diff(out, ref, ow * oh);
        CHECK_MSG(d <= TOL, "%s, %lldx%lld image, %s %dx%d kernel, %s: max abs %.3g", path_name[p], (long long)w,
                  (long long)h, kname, k->width, k->height, b == UB_BORDER_VALID ? "valid" : "reflect", d);
        if (p == P_AVX2) memcpy(avx2, out, sizeof(float) * (size_t)(ow * oh));
        /* the same FMAs in the same order: AVX-512 gives AVX2's bits exactly */
        if (p == P_AVX512)
            CHECK_MSG(memcmp(out, avx2, sizeof(float) * (size_t)(ow * oh)) == 0, "avx512 != avx2 bits, %lldx%lld %s",
                      (long long)w, (long long)h, kname);
    }
    free(in), free(ref), free(out), free(avx2);
}

static void test_against_reference(void) {
    ub_ctx *ctx = test_ctx(2);
    const int64_t sizes[][2] = {{37, 23}, {1, 40}, {40, 1}, {157, 70}, {5, 3}, {64, 9}};
    ub_kernel *kernels[] = {kernel_dense(1, 1, 1), kernel_dense(3, 3, 2),  kernel_dense(5, 3, 3),
                            kernel_dense(3, 7, 4), kernel_gauss(9, 1.5),   kernel_line(31, 0.52),
                            kernel_line(15, 2.0),  kernel_dense(51, 45, 5), kernel_gauss(65, 9.0)};
    const char *names[] = {"dense", "dense", "dense", "dense", "gaussian", "line", "line", "dense", "gaussian"};
    const int nk = (int)(sizeof kernels / sizeof *kernels);
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++)
        for (int i = 0; i < nk; i++) {
            /* the big kernels on a few shapes only: the reference is O(pixels x taps) */
            if (kernels[i]->width > 31 && sizes[s][0] != 37 && sizes[s][0] != 5 && sizes[s][1] != 40) continue;
            compare_all(ctx, sizes[s][0], sizes[s][1], kernels[i], names[i], UB_BORDER_REFLECT);
            compare_all(ctx, sizes[s][0], sizes[s][1], kernels[i], names[i], UB_BORDER_VALID);
        }
    /* a 65x65 kernel over a larger image, where VALID keeps a real region */
    compare_all(ctx, 97, 80, kernels[nk - 1], "gaussian", UB_BORDER_VALID);
    compare_all(ctx, 97, 80, kernels[nk - 1], "gaussian", UB_BORDER_REFLECT);
    for (int i = 0; i < nk; i++) kernel_free(kernels[i]);
    if (!has_avx512()) fprintf(stderr, "test_conv: no AVX-512 on this CPU: the AVX-512 path was not tested\n");
    ub_ctx_destroy(&ctx);
}

/* ---- exact and structural properties ---- */

static void test_delta(void) {
    ub_ctx *ctx = test_ctx(2);
    const int64_t w = 53, h = 31;
    float *in = plane_random(w, h, 9), *out = malloc(sizeof(float) * (size_t)(w * h));
    ub_kernel *one = kernel_new(1, 1), *centre = kernel_new(5, 7);
    one->data[0] = 1.0f;
    centre->data[3 * 5 + 2] = 1.0f;
    ub_kernel *ks[] = {one, centre};
    for (int i = 0; i < 2; i++) {
        CHECK_OK(ctx, ub_convolve_plane(ctx, in, w, h, ks[i], UB_BORDER_REFLECT, UB_CONV_DIRECT, out));
        CHECK_MSG(memcmp(in, out, sizeof(float) * (size_t)(w * h)) == 0, "direct delta %dx%d is not exact",
                  ks[i]->width, ks[i]->height);
        CHECK_OK(ctx, ub_convolve_plane(ctx, in, w, h, ks[i], UB_BORDER_REFLECT, UB_CONV_FFT, out));
        CHECK_NEAR(max_abs_diff(in, out, w * h), 0.0, 1e-6);
        CHECK_OK(ctx, ub_convolve_plane(ctx, in, w, h, ks[i], UB_BORDER_REFLECT, UB_CONV_REFERENCE, out));
        CHECK(memcmp(in, out, sizeof(float) * (size_t)(w * h)) == 0);
    }
    kernel_free(one), kernel_free(centre);
    free(in), free(out);
    ub_ctx_destroy(&ctx);
}

static void test_constant(void) {
    ub_ctx *ctx = test_ctx(2);
    const int64_t sizes[][2] = {{37, 23}, {1, 17}, {200, 3}};
    ub_kernel *ks[] = {kernel_dense(65, 65, 7), kernel_line(31, 1.1), kernel_gauss(11, 2.0)};
    for (size_t s = 0; s < 3; s++) {
        const int64_t w = sizes[s][0], h = sizes[s][1];
        float *in = malloc(sizeof(float) * (size_t)(w * h)), *out = malloc(sizeof(float) * (size_t)(w * h));
        for (int64_t i = 0; i < w * h; i++) in[i] = 0.37f;
        for (int i = 0; i < 3; i++)
            for (int p = P_REF; p < P_COUNT; p++) {
                if (p == P_AVX512 && !has_avx512()) continue;
                CHECK_OK(ctx, run_path(ctx, (path)p, in, w, h, ks[i], UB_BORDER_REFLECT, out));
                double d = max_abs_diff(in, out, w * h);
                CHECK_MSG(d <= 1e-6, "constant %lldx%lld, kernel %dx%d, %s: drift %.3g", (long long)w, (long long)h,
                          ks[i]->width, ks[i]->height, path_name[p], d);
            }
        free(in), free(out);
    }
    for (int i = 0; i < 3; i++) kernel_free(ks[i]);
    ub_ctx_destroy(&ctx);
}

/* Kernel mass at (+3, 0) from the centre moves content 3 px right; at (0, +2), 2 px down. */
static void test_shift_direction(void) {
    ub_ctx *ctx = test_ctx(2);
    const int64_t w = 40, h = 30;
    float *in = plane_random(w, h, 11), *out = malloc(sizeof(float) * (size_t)(w * h));
    ub_kernel *right = kernel_new(7, 1), *down = kernel_new(1, 5);
    right->data[3 + 3] = 1.0f;
    down->data[2 + 2] = 1.0f;
    for (int p = P_REF; p < P_COUNT; p++) {
        if (p == P_AVX512 && !has_avx512()) continue;
        CHECK_OK(ctx, run_path(ctx, (path)p, in, w, h, right, UB_BORDER_REFLECT, out));
        double d = 0;
        for (int64_t y = 0; y < h; y++)
            for (int64_t x = 3; x < w; x++) d = fmax(d, fabs(out[y * w + x] - in[y * w + x - 3]));
        CHECK_MSG(d <= 1e-6, "%s: +3 px right, max abs %.3g", path_name[p], d);
        CHECK_OK(ctx, run_path(ctx, (path)p, in, w, h, down, UB_BORDER_REFLECT, out));
        d = 0;
        for (int64_t y = 2; y < h; y++)
            for (int64_t x = 0; x < w; x++) d = fmax(d, fabs(out[y * w + x] - in[(y - 2) * w + x]));
        CHECK_MSG(d <= 1e-6, "%s: +2 px down, max abs %.3g", path_name[p], d);
    }
    /* and the reflected border on the left: out(0) = in(reflect(-3)) = in(2) */
    CHECK_OK(ctx, ub_convolve_plane(ctx, in, w, h, right, UB_BORDER_REFLECT, UB_CONV_DIRECT, out));
    CHECK(out[0] == in[2] && out[1] == in[1] && out[2] == in[0] && out[3] == in[0]);
    kernel_free(right), kernel_free(down);
    free(in), free(out);
    ub_ctx_destroy(&ctx);
}

/* VALID: the output size, and bit-equality with the REFLECT output's inner window (DIRECT). */
static void test_valid(void) {
    ub_ctx *ctx = test_ctx(2);
    ub_image *img = test_image(ctx, 61, 44, 3, 3), *full = NULL, *valid = NULL;
    ub_kernel *k = kernel_dense(9, 5, 12);
    CHECK_OK(ctx, ub_convolve(ctx, img, k, UB_BORDER_VALID, &valid));
    CHECK_OK(ctx, ub_convolve(ctx, img, k, UB_BORDER_REFLECT, &full));
    if (valid && full) {
        CHECK(valid->width == 61 - 9 + 1 && valid->height == 44 - 5 + 1 && valid->channels == 3);
        CHECK(full->width == 61 && full->height == 44);
        double d = 0;
        for (int c = 0; c < 3; c++)
            for (int64_t y = 0; y < valid->height; y++)
                for (int64_t x = 0; x < valid->width; x++)
                    d = fmax(d, fabs(ub_image_plane(valid, c)[y * valid->width + x] -
                                     ub_image_plane(full, c)[(y + 2) * 61 + x + 4]));
        CHECK_MSG(d == 0.0, "VALID differs from REFLECT's inner window by %.3g", d);
    }
    /* the single valid pixel: kernel as large as the image */
    float *in = plane_random(9, 5, 13), out = -1;
    CHECK_OK(ctx, ub_convolve_plane(ctx, in, 9, 5, k, UB_BORDER_VALID, UB_CONV_FFT, &out));
    double expect = 0;
    for (int j = 0; j < 5; j++)
        for (int i = 0; i < 9; i++) expect += (double)k->data[j * 9 + i] * in[(4 - j) * 9 + (8 - i)];
    CHECK_NEAR(out, expect, 1e-6);
    free(in);
    kernel_free(k);
    ub_image_destroy(&img), ub_image_destroy(&full), ub_image_destroy(&valid);
    ub_ctx_destroy(&ctx);
}

/* ---- determinism ---- */

static void test_thread_invariance(void) {
    ub_kernel *ks[] = {kernel_line(31, 0.4), kernel_dense(21, 21, 14), kernel_gauss(65, 8.0)};
    const ub_conv_method methods[] = {UB_CONV_DIRECT, UB_CONV_FFT, UB_CONV_AUTO};
    const int64_t w = 203, h = 151;
    float *in = plane_random(w, h, 15);
    float *first = malloc(sizeof(float) * (size_t)(w * h)), *out = malloc(sizeof(float) * (size_t)(w * h));
    for (int i = 0; i < 3; i++)
        for (int m = 0; m < 3; m++)
            for (int b = 0; b < 2; b++)
                for (int threads = 1; threads <= 3; threads++) {
                    ub_ctx *ctx = test_ctx(threads);
                    CHECK_OK(ctx, ub_convolve_plane(ctx, in, w, h, ks[i], (ub_border)b, methods[m],
                                                    threads == 1 ? first : out));
                    const int64_t n = b ? (w - ks[i]->width + 1) * (h - ks[i]->height + 1) : w * h;
                    if (threads > 1)
                        CHECK_MSG(memcmp(first, out, sizeof(float) * (size_t)n) == 0,
                                  "kernel %d, method %d, border %d: %d threads differ from 1", i, (int)methods[m], b,
                                  threads);
                    ub_ctx_destroy(&ctx);
                }
    for (int i = 0; i < 3; i++) kernel_free(ks[i]);
    free(in), free(first), free(out);
}

/* Several planes in one call (ub_convolve's RGB path): the FFT shares the kernel's spectrum and
   alternates two spectrum buffers, the direct path shares its padded strips. Every plane matches
   its own reference, and the bits do not depend on the thread count. */
static void test_multi_plane(void) {
    const int64_t w = 83, h = 61;
    ub_kernel *k = kernel_dense(13, 11, 21);
    float *in[3], *ref[3], *out[3], *first[3];
    for (int p = 0; p < 3; p++) {
        in[p] = plane_random(w, h, 30 + (uint64_t)p);
        ref[p] = malloc(sizeof(float) * (size_t)(w * h));
        out[p] = malloc(sizeof(float) * (size_t)(w * h));
        first[p] = malloc(sizeof(float) * (size_t)(w * h));
    }
    for (int b = 0; b < 2; b++) {
        const int64_t n = b ? (w - 12) * (h - 10) : w * h;
        ub_ctx *ctx = test_ctx(1);
        for (int p = 0; p < 3; p++)
            CHECK_OK(ctx, ub_convolve_plane(ctx, in[p], w, h, k, (ub_border)b, UB_CONV_REFERENCE, ref[p]));
        ub_ctx_destroy(&ctx);
        for (int fft = 0; fft < 2; fft++)
            for (int threads = 1; threads <= 3; threads++) {
                ctx = test_ctx(threads);
                float *const *dst = threads == 1 ? first : out;
                CHECK_OK(ctx, fft ? ub__conv_fft(ctx, (const float *const *)in, dst, 3, w, h, k, (ub_border)b)
                                  : ub__conv_direct(ctx, (const float *const *)in, dst, 3, w, h, k, (ub_border)b,
                                                    UB__ISA_BEST));
                for (int p = 0; p < 3; p++) {
                    CHECK_MSG(max_abs_diff(dst[p], ref[p], n) <= TOL, "%s, plane %d of 3, border %d: %.3g",
                              fft ? "fft" : "direct", p, b, max_abs_diff(dst[p], ref[p], n));
                    if (threads > 1) CHECK(memcmp(first[p], out[p], sizeof(float) * (size_t)n) == 0);
                }
                ub_ctx_destroy(&ctx);
            }
    }
    for (int p = 0; p < 3; p++) free(in[p]), free(ref[p]), free(out[p]), free(first[p]);
    kernel_free(k);
}

/* ---- the FFT plan cache ---- */

/* More sizes than the cache holds (evictions), then the first size again: same bits as before. */
static void test_plan_cache(void) {
    ub_ctx *ctx = test_ctx(2);
    ub_kernel *k = kernel_gauss(13, 2.5);
    float *in = plane_random(64, 64, 16), *ref = malloc(sizeof(float) * 64 * 64);
    float *out = malloc(sizeof(float) * 64 * 64);
    float *again = malloc(sizeof(float) * 64 * 64);
    CHECK_OK(ctx, ub_convolve_plane(ctx, in, 64, 64, k, UB_BORDER_REFLECT, UB_CONV_FFT, again));
    for (int s = 20; s <= 64; s += 4) {
        CHECK_OK(ctx, ub_convolve_plane(ctx, in, s, s - 3, k, UB_BORDER_REFLECT, UB_CONV_FFT, out));
        CHECK_OK(ctx, ub_convolve_plane(ctx, in, s, s - 3, k, UB_BORDER_REFLECT, UB_CONV_REFERENCE, ref));
        CHECK_NEAR(max_abs_diff(out, ref, s * (s - 3)), 0.0, TOL);
    }
    CHECK_OK(ctx, ub_convolve_plane(ctx, in, 64, 64, k, UB_BORDER_REFLECT, UB_CONV_FFT, out));
    CHECK(memcmp(out, again, sizeof(float) * 64 * 64) == 0);
    kernel_free(k);
    free(in), free(ref), free(out), free(again);
    ub_ctx_destroy(&ctx);
}

/* Several contexts planning at once from different threads (FFTW's planner is global). */
typedef struct worker {
    int seed;
    double err;
    ub_status st;
} worker;

static void *worker_run(void *arg) {
    worker *wk = arg;
    ub_ctx *ctx = test_ctx(1);
    ub_kernel *k = kernel_dense(7 + 2 * wk->seed, 5, (uint64_t)wk->seed);
    wk->st = UB_OK;
    wk->err = 0;
    for (int round = 0; round < 12 && wk->st == UB_OK; round++) {
        const int64_t w = 30 + 7 * round + wk->seed, h = 20 + 3 * round;
        float *in = plane_random(w, h, (uint64_t)round), *a = malloc(sizeof(float) * (size_t)(w * h)),
              *b = malloc(sizeof(float) * (size_t)(w * h));
        wk->st = ub_convolve_plane(ctx, in, w, h, k, UB_BORDER_REFLECT, UB_CONV_FFT, a);
        if (wk->st == UB_OK) wk->st = ub_convolve_plane(ctx, in, w, h, k, UB_BORDER_REFLECT, UB_CONV_DIRECT, b);
        if (wk->st == UB_OK) wk->err = fmax(wk->err, max_abs_diff(a, b, w * h));
        free(in), free(a), free(b);
    }
    kernel_free(k);
    ub_ctx_destroy(&ctx);
    return NULL;
}

static void test_concurrent_contexts(void) {
    enum { N = 4 };
    pthread_t th[N];
    worker wk[N];
    for (int i = 0; i < N; i++) {
        wk[i].seed = i;
        CHECK(pthread_create(&th[i], NULL, worker_run, &wk[i]) == 0);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        CHECK(wk[i].st == UB_OK);
        CHECK_NEAR(wk[i].err, 0.0, TOL);
    }
}

/* ---- images: colour convolved, alpha untouched ---- */

static void test_image_alpha(void) {
    ub_ctx *ctx = test_ctx(2);
    ub_kernel *k = kernel_line(15, 0.7);
    for (int channels = 1; channels <= 4; channels++) {
        ub_image *img = test_image(ctx, 47, 33, channels, 20 + channels), *out = NULL, *valid = NULL;
        img->bit_depth = 16;
        CHECK_OK(ctx, ub_convolve(ctx, img, k, UB_BORDER_REFLECT, &out));
        CHECK_OK(ctx, ub_convolve(ctx, img, k, UB_BORDER_VALID, &valid));
        if (!out || !valid) continue;
        CHECK(out->channels == channels && out->bit_depth == 16);
        const int colours = ub_image_colour_channels(img);
        float *ref = malloc(sizeof(float) * 47 * 33);
        for (int c = 0; c < colours; c++) {
            CHECK_OK(ctx, ub_convolve_plane(ctx, ub_image_plane(img, c), 47, 33, k, UB_BORDER_REFLECT,
                                            UB_CONV_REFERENCE, ref));
            CHECK_NEAR(max_abs_diff(ub_image_plane(out, c), ref, 47 * 33), 0.0, TOL);
        }
        if (ub_image_has_alpha(img)) {
            const float *a = ub_image_plane(img, channels - 1);
            CHECK(memcmp(ub_image_plane(out, channels - 1), a, sizeof(float) * 47 * 33) == 0);
            const float *va = ub_image_plane(valid, channels - 1);
            int same = 1;
            for (int64_t y = 0; y < valid->height; y++)
                for (int64_t x = 0; x < valid->width; x++) same &= va[y * valid->width + x] == a[(y + 7) * 47 + x + 7];
            CHECK_MSG(same, "VALID alpha is not the cropped input alpha (%d channels)", channels);
        }
        free(ref);
        ub_image_destroy(&img), ub_image_destroy(&out), ub_image_destroy(&valid);
    }
    kernel_free(k);
    ub_ctx_destroy(&ctx);
}

/* ---- AUTO's choice ---- */

static void test_auto_choice(void) {
    ub_kernel *small = kernel_dense(3, 3, 1), *line = kernel_line(31, 0.5), *big = kernel_gauss(129, 20.0);
    CHECK(ub__conv_choose(1280, 720, small, UB_BORDER_REFLECT, 3) == UB_CONV_DIRECT);
    CHECK(ub__conv_choose(1280, 720, line, UB_BORDER_REFLECT, 3) == UB_CONV_DIRECT);
    CHECK(ub__conv_choose(1280, 720, big, UB_BORDER_REFLECT, 3) == UB_CONV_FFT);
    kernel_free(small), kernel_free(line), kernel_free(big);
}

/* The FFT's padded sizes: large enough (no wrap-around into the output), even, 2,3,5,7-smooth,
   and never more than 25 % (+2) above the need. */
static int smooth7(int64_t m) {
    for (int p = 2; p <= 7; p++)
        while (m % p == 0) m /= p;
    return m == 1;
}

static void test_fft_sizes(void) {
    ub_kernel *k = kernel_new(31, 9);
    for (int64_t n = 1; n <= 3000; n += (n < 300 ? 1 : 7))
        for (int b = 0; b < 2; b++) {
            int64_t pw = 0, ph = 0;
            const int64_t w = n + 30, h = n / 3 + 9; /* VALID needs w >= 31, h >= 9 */
            CHECK(ub__conv_fft_size(w, h, k, (ub_border)b, &pw, &ph) == 0);
            const int64_t need_w = b ? w : w + 30, need_h = b ? h : h + 8;
            CHECK_MSG(pw >= need_w && pw % 2 == 0 && smooth7(pw) && pw <= need_w + need_w / 4 + 2, "pw %lld for %lld",
                      (long long)pw, (long long)need_w);
            CHECK_MSG(ph >= need_h && ph % 2 == 0 && smooth7(ph) && ph <= need_h + need_h / 4 + 2, "ph %lld for %lld",
                      (long long)ph, (long long)need_h);
        }
    int64_t pw, ph;
    /* too large for FFTW's int sizes: AUTO goes direct */
    CHECK(ub__conv_fft_size((int64_t)1 << 40, 8, k, UB_BORDER_REFLECT, &pw, &ph) != 0);
    kernel_free(k);
}

/* ---- errors ---- */

static void test_errors(void) {
    ub_ctx *ctx = test_ctx(1);
    float in[12 * 10] = {0}, out[12 * 10];
    ub_kernel *even = kernel_new(4, 3), *tall = kernel_new(3, 11), *ok = kernel_new(3, 3);
    ok->data[4] = 1;
    for (int m = UB_CONV_AUTO; m <= UB_CONV_REFERENCE; m++) {
        ub_clear_error(ctx);
        CHECK(ub_convolve_plane(ctx, in, 12, 10, even, UB_BORDER_REFLECT, (ub_conv_method)m, out) == UB_ERR_INVALID);
        CHECK_MSG(strstr(ub_last_error(ctx), "odd") != NULL, "message: %s", ub_last_error(ctx));
        CHECK(ub_convolve_plane(ctx, in, 12, 10, tall, UB_BORDER_VALID, (ub_conv_method)m, out) == UB_ERR_INVALID);
        CHECK_MSG(strstr(ub_last_error(ctx), "larger") != NULL, "message: %s", ub_last_error(ctx));
    }
    CHECK(ub_convolve_plane(ctx, in, 12, 10, tall, UB_BORDER_REFLECT, UB_CONV_DIRECT, out) == UB_OK);
    CHECK(ub_convolve_plane(ctx, NULL, 12, 10, ok, UB_BORDER_REFLECT, UB_CONV_AUTO, out) == UB_ERR_INVALID);
    CHECK(ub_convolve_plane(ctx, in, 12, 10, NULL, UB_BORDER_REFLECT, UB_CONV_AUTO, out) == UB_ERR_INVALID);
    CHECK(ub_convolve_plane(ctx, in, 0, 10, ok, UB_BORDER_REFLECT, UB_CONV_AUTO, out) == UB_ERR_INVALID);
    CHECK(ub_convolve_plane(ctx, in, 12, -1, ok, UB_BORDER_REFLECT, UB_CONV_AUTO, out) == UB_ERR_INVALID);
    CHECK(ub_convolve_plane(ctx, in, 12, 10, ok, (ub_border)7, UB_CONV_AUTO, out) == UB_ERR_INVALID);
    CHECK(ub_convolve_plane(ctx, in, 12, 10, ok, UB_BORDER_REFLECT, (ub_conv_method)9, out) == UB_ERR_INVALID);
    CHECK(ub_convolve_plane(ctx, in, 12, 10, ok, UB_BORDER_REFLECT, UB_CONV_AUTO, in + 5) == UB_ERR_INVALID);
    CHECK(strlen(ub_last_error(ctx)) > 0 && strchr(ub_last_error(ctx), '\n') == NULL);
    ub_kernel nodata = {3, 3, NULL};
    CHECK(ub_convolve_plane(ctx, in, 12, 10, &nodata, UB_BORDER_REFLECT, UB_CONV_AUTO, out) == UB_ERR_INVALID);
    if (!has_avx512()) CHECK(ub__conv_direct(ctx, (const float *const[]){in}, (float *const[]){out}, 1, 12, 10, ok,
                                             UB_BORDER_REFLECT, UB__ISA_AVX512) == UB_ERR_UNSUPPORTED);
    /* images */
    ub_image *img = test_image(ctx, 12, 10, 4, 1), *res = (ub_image *)1;
    CHECK(ub_convolve(ctx, img, even, UB_BORDER_REFLECT, &res) == UB_ERR_INVALID && res == NULL);
    CHECK(ub_convolve(ctx, img, tall, UB_BORDER_VALID, &res) == UB_ERR_INVALID && res == NULL);
    CHECK(ub_convolve(ctx, NULL, ok, UB_BORDER_VALID, &res) == UB_ERR_INVALID);
    CHECK(ub_convolve(ctx, img, ok, UB_BORDER_VALID, NULL) == UB_ERR_INVALID);
    ub_image_destroy(&img);
    kernel_free(even), kernel_free(tall), kernel_free(ok);
    ub_ctx_destroy(&ctx);
}

int main(void) {
    test_against_reference();
    test_delta();
    test_constant();
    test_shift_direction();
    test_valid();
    test_thread_invariance();
    test_multi_plane();
    test_plan_cache();
    test_concurrent_contexts();
    test_image_alpha();
    test_auto_choice();
    test_fft_sizes();
    test_errors();
    return test_finish("conv");
}
