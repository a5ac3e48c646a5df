/* tests/test_deconv.c — non-blind deconvolution: the FFT helpers against a direct DFT, Wiener
   (PERIODIC) against a direct-DFT Wiener, Richardson-Lucy ZERO against its direct-convolution twin
   (scikit-image's algorithm), SPARSE (AUTO and PERIODIC, a saturated pixel included) against a
   plain twin with direct convolutions and a direct-DFT x-step, every method and boundary improving a synthetic blur by a clear
   margin, hostile kernels and parameters refused with a message naming the problem, colour and
   alpha, and the same bits on 1 and 2 threads. Small images made here; nothing from ../shared. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "deconv/internal.h"
#include "testutil.h"

static const double PI = 3.14159265358979323846;

static ub_kernel *kernel_new(int w, int h) {
    ub_kernel *k = test_calloc(1, sizeof *k);
    k->width = w, k->height = h;
    k->data = test_calloc((size_t)w * h, sizeof(float));
    return k;
}

static void kernel_free(ub_kernel *k) {
    if (!k) return;
    free(k->data);
    free(k);
}

/* An asymmetric motion-like kernel: a bent stroke of rising weight, normalised. */
static ub_kernel *kernel_stroke(int size) {
    ub_kernel *k = kernel_new(size, size);
    double s = 0;
    for (int i = 0; i < 4 * size; i++) {
        const double t = (double)i / (4 * size - 1);
        const int x = (int)lround((size - 1) * t);
        const int y = (int)lround((size - 1) * (0.5 + 0.35 * sin(3.0 * t) - 0.2 * t));
        k->data[y * size + x] += (float)(0.5 + t);
    }
    for (int i = 0; i < size * size; i++) s += k->data[i];
    for (int i = 0; i < size * size; i++) k->data[i] = (float)(k->data[i] / s);
    return k;
}

static ub_kernel *kernel_random(int w, int h, uint64_t seed) {
    ub_kernel *k = kernel_new(w, h);
    test_rng r = {seed};
    double s = 0;
    for (int i = 0; i < w * h; i++) s += k->data[i] = (float)(test_rng_uniform(&r) + 0.05);
    for (int i = 0; i < w * h; i++) k->data[i] = (float)(k->data[i] / s);
    return k;
}

static double max_abs_diff(const float *a, const float *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - (double)b[i]));
    return m;
}

/* Direct 2-D DFT of a complex w x h array (row-major), sign -1 forward, +1 inverse (unscaled). */
static void dft2(const double *ir, const double *ii, int64_t w, int64_t h, double *orr, double *oi, double sign) {
    for (int64_t v = 0; v < h; v++)
        for (int64_t u = 0; u < w; u++) {
            double sr = 0, si = 0;
            for (int64_t y = 0; y < h; y++)
                for (int64_t x = 0; x < w; x++) {
                    const double a = sign * 2 * PI * ((double)((u * x) % w) / w + (double)((v * y) % h) / h);
                    const double c = cos(a), s = sin(a), xr = ir[y * w + x], xi = ii ? ii[y * w + x] : 0.0;
                    sr += xr * c - xi * s, si += xr * s + xi * c;
                }
            orr[v * w + u] = sr, oi[v * w + u] = si;
        }
}

/* The kernel's centre wrapped to (0, 0) of a w x h plane, in double. */
static void kernel_wrapped(const ub_kernel *k, int64_t w, int64_t h, double *out) {
    memset(out, 0, (size_t)(w * h) * sizeof *out);
    for (int j = 0; j < k->height; j++)
        for (int i = 0; i < k->width; i++)
            out[((j - k->height / 2 + h) % h) * w + (i - k->width / 2 + w) % w] += k->data[j * k->width + i];
}

static void test_fft_helpers(void) {
    ub_ctx *ctx = test_ctx(2);
    CHECK(ub__fft_good_size(1) == 1);
    CHECK(ub__fft_good_size(11) == 12);
    CHECK(ub__fft_good_size(271) == 280);
    CHECK(ub__fft_good_size(97) == 98);
    const int64_t sizes[][2] = {{12, 10}, {7, 9}, {40, 36}, {45, 8}, {1, 5}};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        const int64_t pw = sizes[s][0], ph = sizes[s][1], n = pw * ph;
        ub__fft2 f;
        CHECK_OK(ctx, ub__fft2_init(ctx, &f, pw, ph));
        float *real = ub__fft2_real(&f), *back = ub__fft2_real(&f), *spec = ub__fft2_spectrum(&f);
        double *in = test_calloc((size_t)n, sizeof *in), *re = test_calloc((size_t)n, sizeof *re),
               *im = test_calloc((size_t)n, sizeof *im);
        test_rng r = {100 + s};
        for (int64_t y = 0; y < ph; y++)
            for (int64_t x = 0; x < pw; x++) real[y * f.rs + x] = (float)(in[y * pw + x] = test_rng_uniform(&r) - 0.3);
        ub__fft2_forward(&f, real, spec);
        { /* the same bits on 2 threads (small planes normally run on one) */
            ub__fft2 f2 = f;
            f2.threads = 2;
            float *spec2 = ub__fft2_spectrum(&f), *back2 = ub__fft2_real(&f);
            ub__fft2_forward(&f2, real, spec2);
            CHECK(memcmp(spec, spec2, (size_t)(f.ph * f.cs) * 2 * sizeof(float)) == 0);
            ub__fft2_inverse(&f2, spec2, back2);
            memcpy(spec2, spec, (size_t)(f.ph * f.cs) * 2 * sizeof(float));
            ub__fft2_inverse(&f, spec2, back);
            CHECK(memcmp(back, back2, (size_t)(f.ph * f.rs) * sizeof(float)) == 0);
            ub__free(spec2), ub__free(back2);
        }
        dft2(in, NULL, pw, ph, re, im, -1.0);
        double err = 0;
        for (int64_t v = 0; v < ph; v++)
            for (int64_t u = 0; u < f.cw; u++)
                err = fmax(err, fmax(fabs(spec[2 * (v * f.cs + u)] - re[v * pw + u]),
                                     fabs(spec[2 * (v * f.cs + u) + 1] - im[v * pw + u])));
        CHECK_MSG(err < 1e-4 * (double)n, "%lldx%lld forward: %g", (long long)pw, (long long)ph, err);
        ub__fft2_inverse(&f, spec, back);
        err = 0;
        for (int64_t y = 0; y < ph; y++)
            for (int64_t x = 0; x < pw; x++) err = fmax(err, fabs(back[y * f.rs + x] - in[y * pw + x]));
        CHECK_MSG(err < 1e-5, "%lldx%lld round trip: %g", (long long)pw, (long long)ph, err);
        /* OTF product = circular convolution with the kernel (centre at width/2, height/2) */
        if (pw >= 5 && ph >= 3) {
            ub_kernel *k = kernel_random(5, 3, 7 + s);
            float *otf = ub__fft2_spectrum(&f);
            CHECK_OK(ctx, ub__fft2_otf(ctx, &f, k, otf));
            ub__fft2_forward(&f, real, spec);
            ub__fft2_mul(&f, spec, otf, 0);
            ub__fft2_inverse(&f, spec, back);
            double e1 = 0;
            for (int64_t y = 0; y < ph; y++)
                for (int64_t x = 0; x < pw; x++) {
                    double c = 0; /* sum k(i, j) in(x - (i - cx), y - (j - cy)) */
                    for (int j = 0; j < 3; j++)
                        for (int i = 0; i < 5; i++)
                            c += k->data[j * 5 + i] * in[((y - (j - 1) + 3 * ph) % ph) * pw + (x - (i - 2) + 5 * pw) % pw];
                    e1 = fmax(e1, fabs(back[y * f.rs + x] - c));
                }
            CHECK_MSG(e1 < 1e-5, "%lldx%lld otf convolution: %g", (long long)pw, (long long)ph, e1);
            ub__free(otf);
            kernel_free(k);
        }
        ub__free(real), ub__free(back), ub__free(spec);
        free(in), free(re), free(im);
        ub__fft2_free(&f);
        ub__fft2_free(&f); /* twice is safe */
    }
    /* the smooth extension keeps the picture and joins the wrap-around without a jump */
    {
        ub__fft2 f;
        CHECK_OK(ctx, ub__fft2_init(ctx, &f, 30, 28));
        float *dst = ub__fft2_real(&f), img[20 * 17];
        for (int i = 0; i < 20 * 17; i++) img[i] = (float)((i % 20) * 0.05 + (i / 20) * 0.01);
        ub__extend_smooth(&f, img, 20, 17, dst);
        double worst = 0, jump = 0;
        for (int y = 0; y < 17; y++)
            for (int x = 0; x < 20; x++) worst = fmax(worst, fabs(dst[y * f.rs + x] - img[y * 20 + x]));
        for (int y = 0; y < 28; y++)
            for (int x = 0; x < 30; x++) {
                jump = fmax(jump, fabs(dst[y * f.rs + (x + 1) % 30] - dst[y * f.rs + x]));
                jump = fmax(jump, fabs(dst[((y + 1) % 28) * f.rs + x] - dst[y * f.rs + x]));
            }
        CHECK(worst == 0.0);
        CHECK_MSG(jump < 0.35, "largest step of the extended plane %g (the picture's own: 0.16 across)", jump);
        ub__free(dst);
        ub__fft2_free(&f);
    }
    ub_ctx_destroy(&ctx);
}

/* ---- Wiener PERIODIC against a direct-DFT Wiener ---- */

static void test_wiener_reference(void) {
    ub_ctx *ctx = test_ctx(2);
    const int64_t w = 20, h = 14, n = w * h;
    ub_image *img = test_image(ctx, w, h, 1, 11);
    ub_kernel *k = kernel_random(5, 3, 3);
    ub_deconv_params p;
    ub_deconv_default(&p, UB_DECONV_WIENER);
    p.boundary = UB_DECONV_BOUNDARY_PERIODIC;
    p.nsr = 0.01;
    ub_image *out = NULL;
    CHECK_OK(ctx, ub_deconv(ctx, img, k, &p, &out));
    double *y = test_calloc((size_t)n, sizeof *y), *kk = test_calloc((size_t)n, sizeof *kk);
    double *yr = test_calloc((size_t)n, sizeof *yr), *yi = test_calloc((size_t)n, sizeof *yi);
    double *kr = test_calloc((size_t)n, sizeof *kr), *ki = test_calloc((size_t)n, sizeof *ki);
    double *xr = test_calloc((size_t)n, sizeof *xr), *xi = test_calloc((size_t)n, sizeof *xi);
    for (int64_t i = 0; i < n; i++) y[i] = img->data[i];
    kernel_wrapped(k, w, h, kk);
    dft2(y, NULL, w, h, yr, yi, -1.0);
    dft2(kk, NULL, w, h, kr, ki, -1.0);
    for (int64_t i = 0; i < n; i++) { /* conj(K) Y / (|K|^2 + nsr) */
        const double d = kr[i] * kr[i] + ki[i] * ki[i] + p.nsr;
        const double a = (kr[i] * yr[i] + ki[i] * yi[i]) / d, b = (kr[i] * yi[i] - ki[i] * yr[i]) / d;
        xr[i] = a, xi[i] = b;
    }
    dft2(xr, xi, w, h, yr, yi, 1.0);
    double err = 0;
    for (int64_t i = 0; i < n; i++) err = fmax(err, fabs(out->data[i] - yr[i] / (double)n));
    CHECK_MSG(err < 2e-5, "Wiener vs direct DFT: %g", err);
    free(y), free(kk), free(yr), free(yi), free(kr), free(ki), free(xr), free(xi);
    ub_image_destroy(&out);
    ub_image_destroy(&img);
    kernel_free(k);
    ub_ctx_destroy(&ctx);
}

/* ---- RL ZERO against the direct-convolution twin ---- */

static void test_rl_reference(void) {
    ub_ctx *ctx = test_ctx(2);
    const int64_t w = 41, h = 33;
    ub_image *sharp = test_image(ctx, w, h, 1, 5), *blurry = NULL, *out = NULL;
    ub_kernel *k = kernel_stroke(7);
    CHECK_OK(ctx, ub_convolve(ctx, sharp, k, UB_BORDER_REFLECT, &blurry));
    ub_deconv_params p;
    ub_deconv_default(&p, UB_DECONV_RL);
    p.boundary = UB_DECONV_BOUNDARY_ZERO;
    p.iterations = 12;
    CHECK_OK(ctx, ub_deconv(ctx, blurry, k, &p, &out));
    float *ref = test_calloc((size_t)(w * h), sizeof *ref);
    CHECK_OK(ctx, ub__rl_zero_ref(ctx, blurry->data, ref, w, h, k, p.iterations));
    const double err = max_abs_diff(out->data, ref, (size_t)(w * h));
    CHECK_MSG(err < 2e-4, "RL ZERO vs direct twin: %g", err);
    /* a non-square kernel too */
    ub_kernel *k2 = kernel_random(9, 3, 9);
    ub_image_destroy(&out);
    CHECK_OK(ctx, ub_deconv(ctx, blurry, k2, &p, &out));
    CHECK_OK(ctx, ub__rl_zero_ref(ctx, blurry->data, ref, w, h, k2, p.iterations));
    const double err2 = max_abs_diff(out->data, ref, (size_t)(w * h));
    CHECK_MSG(err2 < 2e-4, "RL ZERO 9x3 vs direct twin: %g", err2);
    free(ref);
    kernel_free(k), kernel_free(k2);
    ub_image_destroy(&sharp), ub_image_destroy(&blurry), ub_image_destroy(&out);
    ub_ctx_destroy(&ctx);
}

/* ---- SPARSE against a plain twin: the same iteration in double, direct circular convolutions,
   derivatives by their definitions, the x-step solved by a direct DFT. The constants are those
   of sparse.c (BETA_START 1, BETA_END 4096, W2 0.25, bu 1, saturation 0.98). ---- */

static double sh_ref(double v, double tau) { return v > tau ? v - tau : v < -tau ? v + tau : 0.0; } /* alpha 1 */

static void sparse_ref(const float *in, int64_t w, int64_t h, const ub_kernel *k, int iters, double lambda,
                       int64_t pw, int64_t ph, const double *x0, int masked, double *x) {
    const int64_t n = pw * ph;
    const int cx = k->width / 2, cy = k->height / 2;
    double *kx = test_calloc((size_t)n, sizeof *kx), *g[5], *rhs = test_calloc((size_t)n, sizeof *rhs);
    double *kk = test_calloc((size_t)n, sizeof *kk), *kr = test_calloc((size_t)n, sizeof *kr),
           *ki = test_calloc((size_t)n, sizeof *ki), *rr = test_calloc((size_t)n, sizeof *rr),
           *ri = test_calloc((size_t)n, sizeof *ri), *tr = test_calloc((size_t)n, sizeof *tr),
           *ti = test_calloc((size_t)n, sizeof *ti);
    for (int f = 0; f < 5; f++) g[f] = test_calloc((size_t)n, sizeof *g[f]);
#define AT(a, X, Y) (a)[(((Y) + 4 * ph) % ph) * pw + ((X) + 4 * pw) % pw]
    memcpy(x, x0, (size_t)n * sizeof *x);
    kernel_wrapped(k, pw, ph, kk);
    dft2(kk, NULL, pw, ph, kr, ki, -1.0);
    for (int it = -1; it < iters; it++) {
        if (it >= 0) {
            const double bhat = 1.0 * pow(4096.0, (double)it / (iters - 1)), beta = lambda * bhat, tau = 1.0 / bhat;
            for (int64_t yy = 0; yy < ph; yy++)
                for (int64_t xx = 0; xx < pw; xx++) {
                    const double c = AT(x, xx, yy);
                    AT(g[0], xx, yy) = sh_ref(AT(x, xx + 1, yy) - c, tau);
                    AT(g[1], xx, yy) = sh_ref(AT(x, xx, yy + 1) - c, tau);
                    AT(g[2], xx, yy) = sh_ref(AT(x, xx + 1, yy) - 2 * c + AT(x, xx - 1, yy), 0.25 * tau);
                    AT(g[3], xx, yy) = sh_ref(AT(x, xx, yy + 1) - 2 * c + AT(x, xx, yy - 1), 0.25 * tau);
                    AT(g[4], xx, yy) = sh_ref(AT(x, xx + 1, yy + 1) - AT(x, xx, yy + 1) - AT(x, xx + 1, yy) + c, 0.25 * tau);
                    const int inside = !masked || (xx < w && yy < h);
                    const double d = xx < w && yy < h ? in[yy * w + xx] : 0.0, v = AT(kx, xx, yy);
                    if (inside && !(d >= 0.98f && v >= d)) AT(kx, xx, yy) = (d + v) / 2.0; /* u */
                }
            for (int64_t yy = 0; yy < ph; yy++) /* rhs = K^T u + beta sum D^T g */
                for (int64_t xx = 0; xx < pw; xx++) {
                    double s = 0;
                    for (int v = 0; v < k->height; v++)
                        for (int u = 0; u < k->width; u++) s += k->data[v * k->width + u] * AT(kx, xx + (u - cx), yy + (v - cy));
                    double dt = AT(g[0], xx - 1, yy) - AT(g[0], xx, yy) + AT(g[1], xx, yy - 1) - AT(g[1], xx, yy);
                    dt += AT(g[2], xx + 1, yy) - 2 * AT(g[2], xx, yy) + AT(g[2], xx - 1, yy);
                    dt += AT(g[3], xx, yy + 1) - 2 * AT(g[3], xx, yy) + AT(g[3], xx, yy - 1);
                    dt += AT(g[4], xx - 1, yy - 1) - AT(g[4], xx, yy - 1) - AT(g[4], xx - 1, yy) + AT(g[4], xx, yy);
                    rhs[yy * pw + xx] = s + beta * dt;
                }
            dft2(rhs, NULL, pw, ph, rr, ri, -1.0);
            for (int64_t v = 0; v < ph; v++)
                for (int64_t u = 0; u < pw; u++) {
                    const double ax = 2 - 2 * cos(2 * PI * u / pw), ay = 2 - 2 * cos(2 * PI * v / ph);
                    const int64_t i = v * pw + u;
                    const double den = kr[i] * kr[i] + ki[i] * ki[i] + beta * (ax + ay + ax * ax + ay * ay + ax * ay);
                    rr[i] /= den, ri[i] /= den;
                }
            dft2(rr, ri, pw, ph, tr, ti, 1.0);
            for (int64_t i = 0; i < n; i++) x[i] = tr[i] / (double)n;
        }
        for (int64_t yy = 0; yy < ph; yy++) /* kx = k * x */
            for (int64_t xx = 0; xx < pw; xx++) {
                double s = 0;
                for (int v = 0; v < k->height; v++)
                    for (int u = 0; u < k->width; u++) s += k->data[v * k->width + u] * AT(x, xx - (u - cx), yy - (v - cy));
                AT(kx, xx, yy) = s;
            }
    }
#undef AT
    for (int f = 0; f < 5; f++) free(g[f]);
    free(kx), free(rhs), free(kk), free(kr), free(ki), free(rr), free(ri), free(tr), free(ti);
}

static void test_sparse_reference(void) {
    ub_ctx *ctx = test_ctx(1);
    const int64_t w = 13, h = 10;
    ub_image *sharp = test_image(ctx, w, h, 1, 31), *blurry = NULL;
    ub_kernel *k = kernel_stroke(5);
    CHECK_OK(ctx, ub_convolve(ctx, sharp, k, UB_BORDER_REFLECT, &blurry));
    blurry->data[7] = 0.99f; /* one saturated pixel */
    for (int b = 0; b < 2; b++) {
        ub_deconv_params p;
        ub_deconv_default(&p, UB_DECONV_SPARSE);
        p.iterations = 6;
        p.lambda = 2e-3;
        p.boundary = b ? UB_DECONV_BOUNDARY_PERIODIC : UB_DECONV_BOUNDARY_AUTO;
        int64_t pw = w, ph = h;
        if (!b) ub__deconv_pad_size(w, h, k->width, k->height, &pw, &ph);
        ub__fft2 f;
        CHECK_OK(ctx, ub__fft2_init(ctx, &f, pw, ph));
        float *plane = ub__fft2_real(&f);
        if (b) ub__extend_zero(&f, blurry->data, w, h, plane);
        else ub__extend_smooth(&f, blurry->data, w, h, plane);
        double *x0 = test_calloc((size_t)(pw * ph), sizeof *x0), *x = test_calloc((size_t)(pw * ph), sizeof *x);
        for (int64_t yy = 0; yy < ph; yy++)
            for (int64_t xx = 0; xx < pw; xx++) x0[yy * pw + xx] = plane[yy * f.rs + xx];
        sparse_ref(blurry->data, w, h, k, p.iterations, p.lambda, pw, ph, x0, !b, x);
        ub_image *out = NULL;
        CHECK_OK(ctx, ub_deconv(ctx, blurry, k, &p, &out));
        double err = 0;
        for (int64_t yy = 0; out && yy < h; yy++)
            for (int64_t xx = 0; xx < w; xx++) err = fmax(err, fabs(out->data[yy * w + xx] - x[yy * pw + xx]));
        CHECK_MSG(err < 2e-4, "sparse boundary %d vs plain twin: %g", (int)p.boundary, err);
        ub_image_destroy(&out);
        ub__free(plane);
        ub__fft2_free(&f);
        free(x0), free(x);
    }
    kernel_free(k);
    ub_image_destroy(&sharp), ub_image_destroy(&blurry);
    ub_ctx_destroy(&ctx);
}

/* ---- every method improves a synthetic blur ---- */

static double psnr(ub_ctx *ctx, const ub_image *ref, const ub_image *img, int crop) {
    ub_metrics_options o = {.shift = 0, .crop = crop};
    ub_metrics m;
    CHECK_OK(ctx, ub_metrics_compute(ctx, ref, img, &o, &m));
    return m.psnr;
}

static void test_improves(void) {
    ub_ctx *ctx = test_ctx(2);
    const int64_t w = 96, h = 80;
    ub_image *sharp = test_image(ctx, w, h, 1, 21), *blurry = NULL;
    ub_kernel *k = kernel_stroke(11);
    CHECK_OK(ctx, ub_convolve(ctx, sharp, k, UB_BORDER_REFLECT, &blurry));
    test_rng r = {77};
    for (int64_t i = 0; i < w * h; i++) /* a little noise, as a camera would add */
        blurry->data[i] += (float)(0.004 * (test_rng_uniform(&r) + test_rng_uniform(&r) - 1.0));
    const double base = psnr(ctx, sharp, blurry, 0);
    const struct { ub_deconv_method m; ub_deconv_boundary b; double gain; } cases[] = {
        {UB_DECONV_WIENER, UB_DECONV_BOUNDARY_AUTO, 4.0}, {UB_DECONV_RL, UB_DECONV_BOUNDARY_AUTO, 4.0},
        {UB_DECONV_SPARSE, UB_DECONV_BOUNDARY_AUTO, 3.5}, /* the test image is textured noise: a sparse prior gains less */
        /* scikit-image's RL: 30 iterations from 0.5 with zeros beyond the borders; it gains little */
        {UB_DECONV_RL, UB_DECONV_BOUNDARY_ZERO, 0.2},
        {UB_DECONV_WIENER, UB_DECONV_BOUNDARY_PERIODIC, 1.0}, {UB_DECONV_SPARSE, UB_DECONV_BOUNDARY_PERIODIC, 1.0},
        /* (SPARSE and WIENER with ZERO take the zeros beyond the borders as data: they ring inwards by
           design, and are only checked for determinism below) */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ub_deconv_params p;
        ub_deconv_default(&p, cases[i].m);
        p.boundary = cases[i].b;
        ub_image *out = NULL;
        CHECK_OK(ctx, ub_deconv(ctx, blurry, k, &p, &out));
        if (!out) continue;
        /* the borders are scored too, except for ZERO/PERIODIC, whose borders are known to ring */
        const int crop = cases[i].b == UB_DECONV_BOUNDARY_AUTO ? 0 : 12;
        const double gain = psnr(ctx, sharp, out, crop) - psnr(ctx, sharp, blurry, crop);
        if (getenv("UB_TEST_VERBOSE")) printf("method %d boundary %d gain %.2f\n", (int)cases[i].m, (int)cases[i].b, gain);
        CHECK_MSG(gain >= cases[i].gain, "method %d boundary %d: %.2f dB -> gain %.2f dB (want >= %.1f)",
                  (int)cases[i].m, (int)cases[i].b, base, gain, cases[i].gain);
        ub_image_destroy(&out);
    }
    ub_image_destroy(&sharp), ub_image_destroy(&blurry);
    kernel_free(k);
    ub_ctx_destroy(&ctx);
}

/* ---- hostile kernels and parameters ---- */

static void expect_invalid(ub_ctx *ctx, const ub_image *img, const ub_kernel *k, const char *words) {
    ub_image *out = (ub_image *)1;
    ub_deconv_params p;
    ub_deconv_default(&p, UB_DECONV_WIENER);
    const ub_status st = ub_deconv(ctx, img, k, &p, &out);
    CHECK_MSG(st == UB_ERR_INVALID && out == NULL, "'%s': status %d", words, (int)st);
    CHECK_MSG(strstr(ub_last_error(ctx), words) != NULL, "'%s' not in '%s'", words, ub_last_error(ctx));
    CHECK(strchr(ub_last_error(ctx), '\n') == NULL);
    CHECK(ub_kernel_check(ctx, k, img->width, img->height) == UB_ERR_INVALID);
}

static void test_hostile(void) {
    ub_ctx *ctx = test_ctx(1);
    ub_image *img = test_image(ctx, 16, 12, 1, 3);
    expect_invalid(ctx, img, NULL, "empty");
    ub_kernel *k = kernel_new(4, 3);
    k->data[0] = 1;
    expect_invalid(ctx, img, k, "even");
    kernel_free(k);
    k = kernel_new(3, 3);
    k->data[4] = NAN;
    expect_invalid(ctx, img, k, "non-finite");
    k->data[4] = INFINITY;
    expect_invalid(ctx, img, k, "non-finite");
    k->data[4] = 1, k->data[0] = -0.5f;
    expect_invalid(ctx, img, k, "negative");
    k->data[4] = 0, k->data[0] = 0;
    expect_invalid(ctx, img, k, "sums to zero");
    kernel_free(k);
    k = kernel_new(17, 3);
    k->data[8] = 1;
    expect_invalid(ctx, img, k, "larger than the image");
    kernel_free(k);
    k = kernel_new(3, 13);
    k->data[8] = 1;
    expect_invalid(ctx, img, k, "larger than the image");
    kernel_free(k);
    ub_kernel empty = {0, 0, NULL};
    expect_invalid(ctx, img, &empty, "empty");
    /* an unnormalised kernel is fine: it is normalised */
    k = kernel_new(3, 3);
    k->data[4] = 5.0f;
    ub_image *out = NULL;
    ub_deconv_params p;
    ub_deconv_default(&p, UB_DECONV_RL);
    CHECK_OK(ctx, ub_deconv(ctx, img, k, &p, &out));
    if (out) CHECK(max_abs_diff(out->data, img->data, (size_t)(16 * 12)) < 1e-5); /* a delta changes nothing */
    ub_image_destroy(&out);
    /* parameters */
    ub_deconv_method m;
    CHECK(ub_deconv_method_parse(ctx, "sparse", &m) == UB_OK && m == UB_DECONV_SPARSE);
    CHECK(ub_deconv_method_parse(ctx, "wiener", &m) == UB_OK && m == UB_DECONV_WIENER);
    CHECK(ub_deconv_method_parse(ctx, "rl", &m) == UB_OK && m == UB_DECONV_RL);
    CHECK(ub_deconv_method_parse(ctx, "lucy", &m) == UB_ERR_INVALID && strstr(ub_last_error(ctx), "lucy"));
    CHECK(ub_deconv_method_parse(ctx, NULL, &m) == UB_ERR_INVALID);
    ub_deconv_default(&p, UB_DECONV_WIENER);
    p.nsr = 0;
    CHECK(ub_deconv(ctx, img, k, &p, &out) == UB_ERR_INVALID && strstr(ub_last_error(ctx), "nsr"));
    ub_deconv_default(&p, UB_DECONV_RL);
    p.iterations = 0;
    CHECK(ub_deconv(ctx, img, k, &p, &out) == UB_ERR_INVALID && strstr(ub_last_error(ctx), "iterations"));
    ub_deconv_default(&p, UB_DECONV_SPARSE);
    p.lambda = -1;
    CHECK(ub_deconv(ctx, img, k, &p, &out) == UB_ERR_INVALID && strstr(ub_last_error(ctx), "lambda"));
    ub_deconv_default(&p, UB_DECONV_SPARSE);
    p.alpha = NAN;
    CHECK(ub_deconv(ctx, img, k, &p, &out) == UB_ERR_INVALID && strstr(ub_last_error(ctx), "alpha"));
    p.alpha = 0.8, p.boundary = (ub_deconv_boundary)7;
    CHECK(ub_deconv(ctx, img, k, &p, &out) == UB_ERR_INVALID && strstr(ub_last_error(ctx), "boundary"));
    CHECK(ub_deconv(ctx, img, k, &p, NULL) == UB_ERR_INVALID);
    CHECK(ub_deconv(ctx, NULL, k, &p, &out) == UB_ERR_INVALID && out == NULL);
    kernel_free(k);
    ub_image_destroy(&img);
    ub_ctx_destroy(&ctx);
}

/* ---- colour, alpha, thread invariance ---- */

static void test_colour_threads(void) {
    ub_ctx *c1 = test_ctx(1), *c2 = test_ctx(2);
    ub_image *sharp = test_image(c1, 70, 52, 4, 8), *blurry = NULL;
    ub_kernel *k = kernel_stroke(9);
    CHECK_OK(c1, ub_convolve(c1, sharp, k, UB_BORDER_REFLECT, &blurry));
    const ub_deconv_method methods[] = {UB_DECONV_WIENER, UB_DECONV_RL, UB_DECONV_SPARSE};
    const ub_deconv_boundary bounds[] = {UB_DECONV_BOUNDARY_AUTO, UB_DECONV_BOUNDARY_ZERO, UB_DECONV_BOUNDARY_PERIODIC};
    for (int mi = 0; mi < 3; mi++)
        for (int bi = 0; bi < 3; bi++) {
            ub_deconv_params p;
            ub_deconv_default(&p, methods[mi]);
            p.boundary = bounds[bi];
            p.iterations = methods[mi] == UB_DECONV_WIENER ? 0 : 10;
            ub_image *a = NULL, *b = NULL;
            CHECK_OK(c1, ub_deconv(c1, blurry, k, &p, &a));
            CHECK_OK(c2, ub_deconv(c2, blurry, k, &p, &b));
            if (!a || !b) continue;
            CHECK(a->channels == 4 && a->width == 70 && a->height == 52);
            const size_t plane = 70 * 52;
            CHECK_MSG(memcmp(a->data, b->data, 4 * plane * sizeof(float)) == 0, "method %d boundary %d: 1 vs 2 threads",
                      mi, bi);
            CHECK(memcmp(ub_image_plane(a, 3), ub_image_plane(blurry, 3), plane * sizeof(float)) == 0); /* alpha */
            int finite = 1;
            for (size_t i = 0; i < 4 * plane; i++) finite &= isfinite(a->data[i]) != 0;
            CHECK(finite);
            ub_image_destroy(&a), ub_image_destroy(&b);
        }
    kernel_free(k);
    ub_image_destroy(&sharp), ub_image_destroy(&blurry);
    /* planes from 2^18 cells run on the context's threads (smaller ones on one): a large one too */
    ub_image *big = test_image(c1, 530, 500, 1, 9);
    k = kernel_stroke(15);
    for (int mi = 0; mi < 3; mi++) {
        ub_deconv_params p;
        ub_deconv_default(&p, methods[mi]);
        p.iterations = 2;
        ub_image *a = NULL, *b = NULL;
        CHECK_OK(c1, ub_deconv(c1, big, k, &p, &a));
        CHECK_OK(c2, ub_deconv(c2, big, k, &p, &b));
        if (a && b) CHECK_MSG(memcmp(a->data, b->data, 530 * 500 * sizeof(float)) == 0, "530x500 method %d", mi);
        ub_image_destroy(&a), ub_image_destroy(&b);
    }
    kernel_free(k);
    ub_image_destroy(&big);
    ub_ctx_destroy(&c1), ub_ctx_destroy(&c2);
}

/* ---- large planes in tiles (deconv/tiles.c) and colour as luma + chroma (deconv/colour.c) ---- */

/* A "method" that returns its input: what the tiling does to it is the blend alone. */
static ub_status copy_plane(ub_ctx *ctx, const float *in, float *out, int64_t w, int64_t h, const ub_kernel *k,
                            const ub_deconv_params *p) {
    (void)ctx, (void)k, (void)p;
    memcpy(out, in, (size_t)(w * h) * sizeof(float));
    return UB_OK;
}

/* ub__run_jobs: every job runs once (on 1 and 3 threads), and a failure's message reaches the caller. */
static ub_status fill_job(ub_ctx *ctx, void *arg, int64_t i) {
    int *ran = arg;
    if (i == 5 && ran[100] == 1) return ub__fail(ctx, UB_ERR_INVALID, "job %d failed", (int)i);
    ran[i] += 1 + (ub_ctx_threads(ctx) == 1 ? 0 : 1000); /* a worker's context has one thread */
    return UB_OK;
}

static void test_jobs(void) {
    for (int threads = 1; threads <= 3; threads += 2) {
        ub_ctx *ctx = test_ctx(threads);
        int ran[101] = {0};
        CHECK_OK(ctx, ub__run_jobs(ctx, 40, fill_job, ran));
        int once = 1;
        for (int i = 0; i < 40; i++) once &= ran[i] == 1;
        CHECK_MSG(once, "%d threads: a job did not run exactly once on a one-thread context", threads);
        memset(ran, 0, sizeof ran);
        ran[100] = 1;
        CHECK(ub__run_jobs(ctx, 40, fill_job, ran) == UB_ERR_INVALID);
        CHECK_MSG(strstr(ub_last_error(ctx), "job 5 failed") != NULL, "'%s'", ub_last_error(ctx));
        ub_ctx_destroy(&ctx);
    }
}

static void test_tiles(void) {
    ub_ctx *ctx = test_ctx(2);
    ub_deconv_params p;
    ub_deconv_default(&p, UB_DECONV_SPARSE);
    CHECK(!ub__deconv_tiled(&p, 2048, 2048) && ub__deconv_tiled(&p, 2049, 2048));
    p.boundary = UB_DECONV_BOUNDARY_PERIODIC; /* a whole-plane meaning: never tiled */
    CHECK(!ub__deconv_tiled(&p, 4000, 3000));
    p.boundary = UB_DECONV_BOUNDARY_AUTO;
    /* the blend is a partition of unity: the copy comes back (cores of 50..64 px, feathers of 16) */
    const int64_t w = 203, h = 151;
    ub_image *sharp = test_image(ctx, w, h, 1, 31), *blurry = NULL;
    ub_kernel *k = kernel_stroke(9);
    float *tiled = test_calloc((size_t)(w * h), sizeof(float)), *whole = test_calloc((size_t)(w * h), sizeof(float));
    CHECK_OK(ctx, ub__deconv_plane_tiles(ctx, copy_plane, sharp->data, tiled, w, h, k, &p, 64));
    CHECK_MSG(max_abs_diff(tiled, sharp->data, (size_t)(w * h)) < 1e-6, "copy through tiles: %g",
              max_abs_diff(tiled, sharp->data, (size_t)(w * h)));
    /* sparse deconvolution in tiles is the whole plane's, up to what the tiles' borders do not know */
    CHECK_OK(ctx, ub_convolve(ctx, sharp, k, UB_BORDER_REFLECT, &blurry));
    CHECK_OK(ctx, ub__deconv_plane_tiles(ctx, ub__sparse_plane, blurry->data, tiled, w, h, k, &p, 64));
    CHECK_OK(ctx, ub__sparse_plane(ctx, blurry->data, whole, w, h, k, &p));
    double se = 0, change = 0;
    for (int64_t i = 0; i < w * h; i++) {
        se += ((double)tiled[i] - whole[i]) * ((double)tiled[i] - whole[i]);
        change += ((double)whole[i] - blurry->data[i]) * ((double)whole[i] - blurry->data[i]);
    }
    const double rms = sqrt(se / (double)(w * h)), rms_change = sqrt(change / (double)(w * h));
    ub_image tiled_img = *blurry, whole_img = *blurry;
    tiled_img.data = tiled, whole_img.data = whole;
    const double pt = psnr(ctx, sharp, &tiled_img, 0), pw = psnr(ctx, sharp, &whole_img, 0);
    if (getenv("UB_TEST_VERBOSE"))
        printf("tiles vs whole: rms %.2e (the deconvolution's change: %.2e); PSNR %.2f vs %.2f dB\n", rms, rms_change, pt, pw);
    CHECK_MSG(rms < 0.1 * rms_change && pt > pw - 0.3, "tiles vs whole: rms %.2e against a change of %.2e, %.2f vs %.2f dB",
              rms, rms_change, pt, pw);
    /* a kernel as large as a core: the whole plane */
    ub_kernel *big = kernel_stroke(61);
    CHECK_OK(ctx, ub__deconv_plane_tiles(ctx, copy_plane, sharp->data, tiled, w, h, big, &p, 64));
    CHECK(memcmp(tiled, sharp->data, (size_t)(w * h) * sizeof(float)) == 0);
    kernel_free(big);
    free(tiled), free(whole);
    kernel_free(k);
    ub_image_destroy(&sharp), ub_image_destroy(&blurry);
    ub_ctx_destroy(&ctx);
}

static void test_luma_chroma(void) {
    ub_ctx *c1 = test_ctx(1), *c2 = test_ctx(2);
    const int64_t w = 120, h = 90, n = w * h;
    ub_kernel *k = kernel_stroke(11);
    ub_deconv_params rgb, luma;
    ub_deconv_default(&rgb, UB_DECONV_SPARSE);
    luma = rgb, rgb.colour = UB_DECONV_COLOUR_RGB, luma.colour = UB_DECONV_COLOUR_LUMA;
    /* a grey picture in three equal channels: no chroma, so luma alone is deconvolved, as RGB does each */
    ub_image *grey = test_image(c1, w, h, 3, 41), *blurry = NULL, *a = NULL, *b = NULL;
    memcpy(ub_image_plane(grey, 1), ub_image_plane(grey, 0), (size_t)n * sizeof(float));
    memcpy(ub_image_plane(grey, 2), ub_image_plane(grey, 0), (size_t)n * sizeof(float));
    CHECK_OK(c1, ub_convolve(c1, grey, k, UB_BORDER_REFLECT, &blurry));
    CHECK_OK(c1, ub_deconv(c1, blurry, k, &rgb, &a));
    CHECK_OK(c1, ub_deconv(c1, blurry, k, &luma, &b));
    if (a && b) CHECK_MSG(max_abs_diff(a->data, b->data, (size_t)(3 * n)) < 1e-4, "grey: luma vs rgb %g",
                          max_abs_diff(a->data, b->data, (size_t)(3 * n)));
    ub_image_destroy(&a), ub_image_destroy(&b), ub_image_destroy(&blurry);
    /* a colour picture whose colour is smooth, as a photograph's is (texture in the luma): both gain,
       luma within 0.5 dB of RGB; the same on 1 and 2 threads */
    ub_image *sharp = NULL, *c = NULL;
    CHECK_OK(c1, ub_image_clone(c1, grey, &sharp));
    for (int64_t y = 0; y < h; y++)
        for (int64_t x = 0; x < w; x++) {
            ub_image_plane(sharp, 0)[y * w + x] += (float)(0.15 * sin((double)x / 17.0));
            ub_image_plane(sharp, 2)[y * w + x] += (float)(0.15 * cos((double)y / 13.0));
        }
    CHECK_OK(c1, ub_convolve(c1, sharp, k, UB_BORDER_REFLECT, &blurry));
    CHECK_OK(c1, ub_deconv(c1, blurry, k, &rgb, &a));
    CHECK_OK(c1, ub_deconv(c1, blurry, k, &luma, &b));
    CHECK_OK(c2, ub_deconv(c2, blurry, k, &luma, &c));
    if (a && b && c) {
        const double base = psnr(c1, sharp, blurry, 0), ga = psnr(c1, sharp, a, 0) - base, gb = psnr(c1, sharp, b, 0) - base;
        if (getenv("UB_TEST_VERBOSE")) printf("colour: rgb %+.2f dB, luma %+.2f dB\n", ga, gb);
        CHECK_MSG(ga >= 3.0 && gb >= 3.0 && gb >= ga - 0.5, "colour gains: rgb %+.2f, luma %+.2f dB", ga, gb);
        CHECK(memcmp(b->data, c->data, (size_t)(3 * n) * sizeof(float)) == 0);
    }
    ub_image_destroy(&b), ub_image_destroy(&c);
    /* AUTO, the default, is RGB on a picture this small */
    ub_deconv_params automatic;
    ub_deconv_default(&automatic, UB_DECONV_SPARSE);
    CHECK(automatic.colour == UB_DECONV_COLOUR_AUTO);
    CHECK_OK(c1, ub_deconv(c1, blurry, k, &automatic, &b));
    if (a && b) CHECK(memcmp(a->data, b->data, (size_t)(3 * n) * sizeof(float)) == 0);
    ub_image_destroy(&a), ub_image_destroy(&b);
    /* an unknown value is refused */
    luma.colour = (ub_deconv_colour)7;
    CHECK(ub_deconv(c1, blurry, k, &luma, &a) == UB_ERR_INVALID && !a);
    CHECK(strstr(ub_last_error(c1), "colour") != NULL);
    kernel_free(k);
    ub_image_destroy(&grey), ub_image_destroy(&sharp), ub_image_destroy(&blurry);
    ub_ctx_destroy(&c1), ub_ctx_destroy(&c2);
}

int main(void) {
    test_fft_helpers();
    test_wiener_reference();
    test_rl_reference();
    test_sparse_reference();
    test_improves();
    test_hostile();
    test_colour_threads();
    test_jobs();
    test_tiles();
    test_luma_chroma();
    return test_finish("test_deconv");
}
