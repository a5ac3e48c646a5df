/* deconv/blind.c — blind deconvolution: the driver (ub_blind_default, ub_deblur_blind), the
   periodic frame, resampling, the pyramid (the frame's FFTs: blind_fft.c).

   The kernel is estimated on the luminance, reduced to at most max_side (and further where the
   image is noisy: ub__blind_estimate_scale), coarse to fine: a pyramid
   of scales sqrt(1/2)^s down to a kernel of about 5 px; at every level, starting from the previous
   level's kernel upsampled (the coarsest from a 2-pixel horizontal segment), `xk_iter` alternations of

     latent step  L0 on intensity and gradients (blind_latent.c, Pan et al. 2014), then the latent's
                  gradients kept only above a threshold (the strongest edges, Cho & Lee 2009)
     kernel step  least squares on gradients with Tikhonov, cleaned (blind_kernel.c)

   with the L0 weights divided by 1.1 at every alternation (Pan et al.'s schedule), and then two more
   kernel steps against a natural latent image, the sparse deconvolution's (blind_refine.c). The kernel
   is then brought to the full resolution and the image deconvolved with it by ub_deconv (p->final: SPARSE, a
   hyper-Laplacian prior with unknown borders and saturation handled, src/deconv/sparse.c). When
   the estimate is nearly a delta (the image was sharp), inconsistent with the image's spectrum
   (blind_check.c) or the result rings implausibly, the input is returned as it is.

   The values are deconvolved as they are stored (response LINEAR, the default) or, on request (SRGB),
   in linear light and encoded again. Linear light is what a camera blurs, and it wins where nothing
   else disturbs the blur (DIV2K crops with the shake synthesis and no noise or JPEG: +3.0 dB against
   -0.1), but on every real set measured the stored values win (Levin +5.79 against -2.34 dB, the GoPro
   examples +1.02 against -0.90, REDS 0.00 against -0.39; docs/blind.md). The final step's prior
   weight is raised with the noise read from the image (final_params).

   Everything runs on periodic frames (blind_internal.h): the image at (0, 0), the rest a blend of its
   reflections that makes opposite borders meet smoothly, so circular convolutions are a fair model. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "deconv/blind_internal.h"

/* ---- frames, gradients, resampling ---- */

static int64_t clampi(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Fills positions [n, m) of a periodic line of length m whose values [0, n) are known (stride s):
   a blend of the reflection at the end (v[2n - 1 - i]) and of the start's reflection across the
   wrap (v[m - 1 - i + n ... ]), with a smooth weight going 0 -> 1, so that the line is continuous
   at n and at m = 0. */
static void fill_line(float *v, int64_t n, int64_t m, int64_t s) {
    const int64_t pad = m - n;
    for (int64_t i = n; i < m; i++) {
        const double t = (double)(i - n + 1) / (double)(pad + 1);
        const double wgt = t * t * (3.0 - 2.0 * t);
        const float a = v[clampi(2 * n - 1 - i, 0, n - 1) * s];
        const float b = v[clampi(m - 1 - i, 0, n - 1) * s];
        v[i * s] = (float)((1.0 - wgt) * a + wgt * b);
    }
}

void ub__blind_pad(const float *img, int w, int h, float *frame, int fw, int fh) {
    for (int y = 0; y < h; y++) {
        memcpy(frame + (size_t)y * fw, img + (size_t)y * w, (size_t)w * sizeof(float));
        fill_line(frame + (size_t)y * fw, w, fw, 1);
    }
    for (int x = 0; x < fw; x++) fill_line(frame + x, h, fh, fw);
}

void ub__blind_grad(const float *v, int w, int h, float *gx, float *gy) {
    for (int y = 0; y < h; y++) {
        const float *row = v + (size_t)y * w, *next = v + (size_t)(y + 1 == h ? 0 : y + 1) * w;
        float *ox = gx + (size_t)y * w, *oy = gy + (size_t)y * w;
        for (int x = 0; x + 1 < w; x++) ox[x] = row[x + 1] - row[x];
        ox[w - 1] = row[0] - row[w - 1];
        for (int x = 0; x < w; x++) oy[x] = next[x] - row[x];
    }
}

void ub__blind_image_grad(const float *frame, int fw, int fh, int w, int h, float *gx, float *gy) {
    ub__blind_grad(frame, fw, fh, gx, gy);
    for (int y = 0; y < fh; y++)
        for (int x = 0; x < fw; x++)
            if (x >= w - 1 || y >= h - 1) gx[(size_t)y * fw + x] = 0, gy[(size_t)y * fw + x] = 0;
}

/* Separable resampling of a w x h plane to nw x nh: a triangle filter, widened by 1 / scale when
   reducing (anti-aliasing, as MATLAB's imresize 'bilinear'); edges replicated. */
static void resample_1d(const float *in, int64_t n, int64_t is, float *out, int64_t m, int64_t os, int64_t count,
                        int64_t in_step, int64_t out_step) {
    const double scale = (double)m / (double)n, sup = scale < 1 ? 1.0 / scale : 1.0;
    for (int64_t o = 0; o < m; o++) {
        const double c = ((double)o + 0.5) / scale - 0.5;
        const int64_t lo = (int64_t)floor(c - sup), hi = (int64_t)ceil(c + sup);
        double wsum = 0;
        for (int64_t i = lo; i <= hi; i++) wsum += fmax(0.0, 1.0 - fabs((double)i - c) / sup);
        for (int64_t q = 0; q < count; q++) {
            double acc = 0;
            for (int64_t i = lo; i <= hi; i++) {
                const double wt = fmax(0.0, 1.0 - fabs((double)i - c) / sup);
                if (wt > 0) acc += wt * in[q * in_step + clampi(i, 0, n - 1) * is];
            }
            out[q * out_step + o * os] = (float)(acc / wsum);
        }
    }
}

static int resize_plane(const float *in, int w, int h, float *out, int nw, int nh) {
    float *tmp = malloc((size_t)nw * h * sizeof(float));
    if (!tmp) return -1;
    resample_1d(in, w, 1, tmp, nw, 1, h, w, nw);     /* rows */
    resample_1d(tmp, h, nw, out, nh, nw, nw, 1, 1);  /* columns */
    free(tmp);
    return 0;
}

/* Resamples a kernel about its centre by `factor` (> 1 enlarges) into a nw x nh window (bilinear,
   zero outside), then cleans it (negatives 0, sum 1). */
static void resize_kernel(const float *k, int kw, int kh, double factor, float *out, int nw, int nh) {
    double sum = 0;
    for (int j = 0; j < nh; j++)
        for (int i = 0; i < nw; i++) {
            const double x = (i - nw / 2) / factor + kw / 2, y = (j - nh / 2) / factor + kh / 2;
            const double fx = floor(x), fy = floor(y);
            const int x0 = (int)fx, y0 = (int)fy;
            const double ax = x - fx, ay = y - fy;
            double v = 0;
            for (int dy = 0; dy <= 1; dy++)
                for (int dx = 0; dx <= 1; dx++) {
                    const int xx = x0 + dx, yy = y0 + dy;
                    if (xx < 0 || yy < 0 || xx >= kw || yy >= kh) continue;
                    v += (dx ? ax : 1 - ax) * (dy ? ay : 1 - ay) * k[(size_t)yy * kw + xx];
                }
            v = v > 0 ? v : 0;
            out[(size_t)j * nw + i] = (float)v;
            sum += v;
        }
    const size_t nk = (size_t)nw * nh;
    if (sum > 0)
        for (size_t i = 0; i < nk; i++) out[i] = (float)(out[i] / sum);
    else {
        memset(out, 0, nk * sizeof(float));
        out[(size_t)(nh / 2) * nw + nw / 2] = 1.0f;
    }
}

/* The least even 2,3,5,7-smooth number >= n (FFTW's fast sizes). */
int ub__blind_fast_len(int n) {
    for (int m = n + (n & 1);; m += 2) {
        int r = m;
        while (r % 2 == 0) r /= 2;
        while (r % 3 == 0) r /= 3;
        while (r % 5 == 0) r /= 5;
        while (r % 7 == 0) r /= 7;
        if (r == 1) return m;
    }
}

static int odd_at_least(double v, int lo) {
    int n = (int)ceil(v);
    if (n % 2 == 0) n++;
    return n < lo ? lo : n;
}

/* ---- the estimate ---- */

enum { XK_ITER = 5, CG_ITERS = 20, MIN_SIDE = 16 };
/* L0 weights (start, floor) as Pan et al.; GAMMA, the kernel's Tikhonov weight (Pan et al.: 2), was
   chosen on 8 of Levin's 32 images (docs/blind.md). */
static const double LAMBDA0 = 4e-3, LAMBDA_MIN = 1e-4, GAMMA = 0.5, PYR_RATIO = 0.70710678118654752440;

/* Weight of the noise variance in the final step's lambda (final_params): 80 measured against 20 on
   six DIV2K crops with the shake synthesis, +0.78 dB (1 image worse) against +0.51 (2 worse). */
static const double NOISE_LAMBDA = 80.0;

/* The estimate's plane: reduced until its luminance noise is at most EST_NOISE (ub__blind_estimate_scale),
   but not below MIN_EST_SIDE pixels on its longer side. Chosen with `unblur eval` on Levin, the GoPro
   pairs, DIV2K shake crops, kodak24-realistic and 20 of Lai's items against 0.005 (docs/blind.md). */
static const double EST_NOISE = 0.003;
enum { MIN_EST_SIDE = 384 };

ub_status ub__blind_step_progress(ub_ctx *ctx, ub__blind_progress *ps, double amount) {
    ps->done += amount;
    if (ps->fn && ps->fn(ps->user, fmin(1.0, ps->done / ps->total)))
        return ub__fail(ctx, UB_ERR_CANCELLED, "blind deconvolution: cancelled");
    return UB_OK;
}

/* One pyramid level: refines `k` (kw x kw) on the w x h plane `y`. `threshold` is the gradient
   threshold, `lambda` the two L0 weights (updated for the next level). */
static ub_status estimate_level(ub_ctx *ctx, const float *y, int w, int h, float *k, int kw, double threshold,
                                double *lambda) {
    ub__bfft f;
    const int fw = ub__blind_fast_len(w + kw), fh = ub__blind_fast_len(h + kw);
    ub_status st = ub__bfft_init(ctx, &f, fw, fh);
    if (st) return st;
    const size_t n = f.n, nc = f.nc;
    float *yf = fftwf_malloc(n * sizeof(float)), *x = fftwf_malloc(n * sizeof(float));
    float *gx = fftwf_malloc(n * sizeof(float)), *gy = fftwf_malloc(n * sizeof(float));
    fftwf_complex *Y = fftwf_malloc(nc * sizeof(fftwf_complex)), *K = fftwf_malloc(nc * sizeof(fftwf_complex));
    fftwf_complex *BX = fftwf_malloc(nc * sizeof(fftwf_complex)), *BY = fftwf_malloc(nc * sizeof(fftwf_complex));
    if (!yf || !x || !gx || !gy || !Y || !K || !BX || !BY) {
        st = ub__fail(ctx, UB_ERR_NOMEM, "blind deconvolution: out of memory");
        goto done;
    }
    ub__blind_pad(y, w, h, yf, fw, fh);
    ub__bfft_forward(&f, yf, Y);
    /* the blurry frame's gradients, inside the image only (the fill is no blurred scene) */
    ub__blind_image_grad(yf, fw, fh, w, h, gx, gy);
    ub__bfft_forward(&f, gx, BX);
    ub__bfft_forward(&f, gy, BY);
    double th = threshold;
    for (int it = 0; it < XK_ITER; it++) {
        ub__latent_params lp = {.lambda_pixel = lambda[0], .lambda_grad = lambda[1], .kappa = 2.0, .beta_max = 1e5};
        ub__bfft_otf(&f, k, kw, kw, K);
        if ((st = ub__blind_latent(&f, Y, K, &lp, x)) != UB_OK) {
            st = ub__fail(ctx, st, "blind deconvolution: out of memory");
            goto done;
        }
        ub__blind_image_grad(x, fw, fh, w, h, gx, gy);
        /* keep the strongest edges: at least some pixel passes */
        float pmax = 0;
        for (size_t i = 0; i < n; i++) pmax = fmaxf(pmax, gx[i] * gx[i] + gy[i] * gy[i]);
        while (th > 0 && pmax < th) th *= 0.81;
        for (size_t i = 0; i < n; i++)
            if (gx[i] * gx[i] + gy[i] * gy[i] < (float)th) gx[i] = 0, gy[i] = 0;
        th /= 1.1;
        if ((st = ub__blind_kernel(&f, gx, gy, BX, BY, GAMMA, CG_ITERS, k, kw, kw)) != UB_OK) {
            st = ub__fail(ctx, st, "blind deconvolution: out of memory");
            goto done;
        }
        lambda[0] = fmax(lambda[0] / 1.1, LAMBDA_MIN);
        lambda[1] = fmax(lambda[1] / 1.1, LAMBDA_MIN);
    }
done:
    fftwf_free(yf);
    fftwf_free(x);
    fftwf_free(gx);
    fftwf_free(gy);
    fftwf_free(Y);
    fftwf_free(K);
    fftwf_free(BX);
    fftwf_free(BY);
    ub__bfft_free(&f);
    return st;
}

ub_status ub__blind_estimate_kernel(ub_ctx *ctx, const float *lum, int w, int h, int kw, ub__blind_progress *ps,
                                    float **out) {
    int maxitr = (int)floor(log(5.0 / kw) / log(PYR_RATIO));
    if (maxitr < 0) maxitr = 0;
    const int levels = maxitr + 1;
    float *k = NULL, *ys = NULL;
    ub_status st = UB_OK;
    double lambda[2] = {LAMBDA0, LAMBDA0}, threshold = 0;
    int pk = 0;
    for (int s = levels - 1; s >= 0; s--) {
        const double scale = pow(PYR_RATIO, s);
        const int ks = odd_at_least(kw * scale, 3);
        int sw = (int)lround(w * scale), sh = (int)lround(h * scale);
        if (sw < ks + 2) sw = ks + 2;
        if (sh < ks + 2) sh = ks + 2;
        float *nk = malloc((size_t)ks * ks * sizeof(float));
        float *ny = malloc((size_t)sw * sh * sizeof(float));
        if (!nk || !ny) {
            free(nk), free(ny);
            st = ub__fail(ctx, UB_ERR_NOMEM, "blind deconvolution: out of memory");
            break;
        }
        free(ys);
        ys = ny;
        if (s == 0 && sw == w && sh == h) memcpy(ys, lum, (size_t)w * h * sizeof(float));
        else if (resize_plane(lum, w, h, ys, sw, sh)) {
            free(nk);
            st = ub__fail(ctx, UB_ERR_NOMEM, "blind deconvolution: out of memory");
            break;
        }
        if (!k) { /* the coarsest level: a 2-pixel horizontal segment (Pan et al.'s init_kernel) */
            memset(nk, 0, (size_t)ks * ks * sizeof(float));
            nk[(size_t)(ks / 2) * ks + ks / 2 - 1] = 0.5f;
            nk[(size_t)(ks / 2) * ks + ks / 2] = 0.5f;
            /* the gradient threshold, from the blurry image's own gradients */
            float *gx = malloc((size_t)sw * sh * sizeof(float)), *gy = malloc((size_t)sw * sh * sizeof(float));
            if (!gx || !gy) {
                free(gx), free(gy), free(nk);
                st = ub__fail(ctx, UB_ERR_NOMEM, "blind deconvolution: out of memory");
                break;
            }
            ub__blind_grad(ys, sw, sh, gx, gy);
            for (int yy = 0; yy < sh; yy++) gx[(size_t)yy * sw + sw - 1] = 0; /* no wrap-around */
            for (int xx = 0; xx < sw; xx++) gy[(size_t)(sh - 1) * sw + xx] = 0;
            threshold = ub__blind_grad_threshold(gx, gy, (size_t)sw * sh, (size_t)2 * ks);
            free(gx), free(gy);
        } else {
            resize_kernel(k, pk, pk, 1.0 / PYR_RATIO, nk, ks, ks);
        }
        free(k);
        k = nk, pk = ks;
        if ((st = estimate_level(ctx, ys, sw, sh, k, ks, threshold, lambda)) != UB_OK) break;
        if (ub__blind_kernel_clean(k, ks, ks, 0.0, 0.0) != 0) {
            memset(k, 0, (size_t)ks * ks * sizeof(float));
            k[(size_t)(ks / 2) * ks + ks / 2] = 1.0f;
        }
        if ((st = ub__blind_step_progress(ctx, ps, (double)sw * sh * ks)) != UB_OK) break;
    }
    free(ys);
    if (st) {
        free(k);
        return st;
    }
    /* the finest kernel: nothing under 1/20 of the maximum (Pan et al.'s k_thresh) */
    if (ub__blind_kernel_clean(k, kw, kw, 0.05, 0.0) != 0) {
        memset(k, 0, (size_t)kw * kw * sizeof(float));
        k[(size_t)(kw / 2) * kw + kw / 2] = 1.0f;
    }
    *out = k;
    return UB_OK;
}

/* ---- the public entry points ---- */

void ub_blind_default(ub_blind_params *p) {
    memset(p, 0, sizeof *p);
    p->kernel_size = 0;
    p->noise_weight = NOISE_LAMBDA;
    p->max_side = 1024;
    ub_deconv_default(&p->final, UB_DECONV_SPARSE);
    p->response = UB_BLIND_RESPONSE_LINEAR;
}

/* The scale of the plane the kernel is estimated on: at most max_side on the longer side, and
   reduced further while the luminance's noise would stay above EST_NOISE there (a reduction by s
   averages about 1 / s^2 pixels: noise sigma s), down to MIN_EST_SIDE pixels. Noise in the plane
   turns into stray kernel taps; halving Lai et al.'s 1024 px images with 1 % noise raised the
   estimates' correlation with the true kernels from 0.60 to 0.78 (docs/blind.md). Photos whose
   reduced plane is already clean (Levin's, the GoPro pairs) are estimated as before. */
double ub__blind_estimate_scale(const float *lum, int64_t w, int64_t h, int max_side) {
    const int64_t side = w > h ? w : h;
    double s = side > max_side ? (double)max_side / (double)side : 1.0;
    const double sigma = ub__blind_noise_sigma(lum, w, h) * s;
    if (sigma > EST_NOISE) s = fmax(s * EST_NOISE / sigma, fmin(s, (double)MIN_EST_SIDE / (double)side));
    return s;
}

/* The automatic kernel size for a w x h image: an eighth of the longer side, odd, in [15, 75]. */
static int auto_kernel_size(int64_t w, int64_t h) {
    const int64_t side = w > h ? w : h;
    int k = (int)(side / 8);
    if (k % 2 == 0) k--;
    return k < 15 ? 15 : k > 75 ? 75 : k;
}

/* Whether a w x h image can hold the blind step, with the kernel's side (p's, or the automatic one):
   the one rule behind ub_blind_fits and check_params's messages. */
typedef enum { SIZE_FITS, SIZE_TOO_SMALL, SIZE_TOO_LARGE, SIZE_KERNEL_TOO_LARGE } size_verdict;

static int kernel_side(int64_t w, int64_t h, const ub_blind_params *p) {
    return p && p->kernel_size > 0 ? p->kernel_size : auto_kernel_size(w, h);
}

static size_verdict judge_size(int64_t w, int64_t h, int ksize) {
    if (w < MIN_SIDE || h < MIN_SIDE) return SIZE_TOO_SMALL;
    if (w > (1 << 20) || h > (1 << 20)) return SIZE_TOO_LARGE;
    return ksize > w / 2 || ksize > h / 2 || ksize > 1023 ? SIZE_KERNEL_TOO_LARGE : SIZE_FITS;
}

int ub_blind_fits(int64_t w, int64_t h, const ub_blind_params *p) {
    return judge_size(w, h, kernel_side(w, h, p)) == SIZE_FITS;
}

/* The grey plane of an image (Rec. 601 weights for colour), into `lum` (width x height). */
static void luminance(const ub_image *img, float *lum) {
    const size_t npix = (size_t)img->width * (size_t)img->height;
    if (ub_image_colour_channels(img) == 3) {
        const float *r = ub_image_plane(img, 0), *g = ub_image_plane(img, 1), *b = ub_image_plane(img, 2);
        for (size_t i = 0; i < npix; i++) lum[i] = 0.299f * r[i] + 0.587f * g[i] + 0.114f * b[i];
    } else {
        memcpy(lum, ub_image_plane(img, 0), npix * sizeof(float));
    }
}

/* True when the nk taps of `k`, a kernel at `scale` times the photo's resolution, are too small a
   blur to act on (do no harm): 70 % of its mass in its two largest taps, or a tap holding 12 % of it,
   at full resolution (a blur spread over fewer than about 8 pixels). On sharp photographs (Kodak)
   the estimate is such a small blob: L0's flattening of fine texture reads as a slight blur, and
   deconvolving it sharpens the texture far from the input. Levin et al.'s kernels (13-27 px) give at
   most 0.11 in one tap. Cost: a real blur of under ~8 px is left alone. At a reduced scale a path of
   L pixels covers scale x L, so its taps hold 1 / scale times more: the shares are scaled. */
static int nearly_delta(const float *k, size_t nk, double scale) {
    float a = 0, b = 0;
    double sum = 0;
    for (size_t i = 0; i < nk; i++) {
        const float v = k[i];
        sum += v;
        if (v > a) b = a, a = v;
        else if (v > b) b = v;
    }
    return sum > 0 && ((a + b) * scale >= 0.7 * sum || a * scale >= 0.12 * sum);
}

/* Do no harm, before the final step: the estimate is acted on only when it is a real blur (not
   nearly a delta) and the image's spectrum allows it (blind_check.c: a sharp image keeps power
   where the kernel would have removed it; a picket fence or fine texture fools the estimator into
   a streak or a blob that the final step then inverts, amplifying that power by 1 / |K|^2). Both
   tests look at the estimate's own plane and kernel `ke` (`scale` times the photo's resolution):
   enlarged bilinearly by 1 / scale, a nearly-delta estimate spreads into a blob of ~7 px that the
   full-resolution rule passed, and sharp 2040 px photos came out 24-33 dB from themselves
   (docs/blind.md). A kernel without a stop band (excess 0) is as mild as a delta to this test: the
   sharp photos' blobs had none, every blur that deblurring improved had one. */
static int trustworthy(ub_ctx *ctx, const float *est, int ew, int eh, const float *ke, int eks, double scale,
                       const ub_kernel *k) {
    if (nearly_delta(k->data, (size_t)k->width * k->height, 1.0) || nearly_delta(ke, (size_t)eks * eks, scale))
        return 0;
    const double excess = ub__blind_stopband_excess(ctx, est, ew, eh, ke, eks);
    return excess > 0 && excess <= UB__BLIND_MAX_EXCESS;
}

/* Do no harm, after it: `*deconvolved` becomes `*res` (NULL until then: the caller copies the input
   there when nothing was kept) unless its luminance rings far beyond what deblurring a real capture
   does (the backstop for a wrong kernel that passed the spectral test). Takes `*deconvolved`. */
static ub_status keep_if_plausible(ub_ctx *ctx, const float *lum, ub_blind_response response, ub_image **res,
                                   ub_image **deconvolved) {
    const ub_image *d = *deconvolved;
    const int64_t w = d->width, h = d->height;
    const size_t npix = (size_t)w * (size_t)h;
    float *out_lum = malloc(npix * sizeof(float));
    if (!out_lum) {
        ub_image_destroy(deconvolved);
        return ub__fail(ctx, UB_ERR_NOMEM, "blind deconvolution: out of memory");
    }
    luminance(d, out_lum);
    const int implausible = ub__blind_output_implausible(lum, out_lum, w, h);
    free(out_lum);
    if (implausible) ub_image_destroy(deconvolved);
    else {
        if (response == UB_BLIND_RESPONSE_SRGB) ub_image_linear_to_srgb(*deconvolved);
        *res = *deconvolved;
        *deconvolved = NULL;
    }
    return UB_OK;
}

static int colours_finite(const ub_image *img) {
    const size_t n = (size_t)img->width * (size_t)img->height * (size_t)ub_image_colour_channels(img);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(img->data[i])) return 0;
    return 1;
}

/* The image in the domain where its blur is a convolution: for sRGB-encoded values a linear-light
   copy in *out; for linear values nothing (*out NULL: use the image itself). */
static ub_status linear_copy(ub_ctx *ctx, const ub_image *img, ub_blind_response response, ub_image **out) {
    *out = NULL;
    if (response == UB_BLIND_RESPONSE_LINEAR) return UB_OK;
    ub_status st = ub_image_clone(ctx, img, out);
    if (st == UB_OK) ub_image_srgb_to_linear(*out);
    return st;
}

/* The noise level the final step must not amplify: the largest of the colour channels' (it
   deconvolves each channel on its own, each with its own noise). */
static double channel_noise(const ub_image *img) {
    double worst = 0;
    for (int c = 0; c < ub_image_colour_channels(img); c++)
        worst = fmax(worst, ub__blind_noise_sigma(ub_image_plane(img, c), img->width, img->height));
    return worst;
}

/* The final step's settings: p's, with the prior's weight raised to noise_weight sigma^2 (by default
   NOISE_LAMBDA) where that is larger. The defaults were tuned on Levin's nearly noise-free captures; the weight that balances
   a data term against a sparse prior grows with the noise variance (a MAP estimate under Gaussian
   noise of deviation sigma and a Laplacian prior of scale b has lambda = sigma^2 / b), and with the
   clean-image weight a noisy photo's deconvolution amplifies its noise by 1 / |K|^2. */
static ub_deconv_params final_params(const ub_blind_params *p, double sigma) {
    ub_deconv_params fp = p->final;
    if (fp.method == UB_DECONV_SPARSE) fp.lambda = fmax(fp.lambda, p->noise_weight * sigma * sigma);
    return fp;
}

/* The image's size and the parameters, checked before any work: UB_OK with the kernel's side in
   *ksize_out, else UB_ERR_INVALID with a message naming the problem. */
static ub_status check_params(ub_ctx *ctx, int64_t w, int64_t h, const ub_blind_params *p, int *ksize_out) {
    const int ksize = *ksize_out = kernel_side(w, h, p);
    const size_verdict size = judge_size(w, h, ksize);
    if (size == SIZE_TOO_SMALL)
        return ub__fail(ctx, UB_ERR_INVALID, "blind deconvolution: a %lldx%lld image is too small (at least %dx%d)",
                        (long long)w, (long long)h, MIN_SIDE, MIN_SIDE);
    if (size == SIZE_TOO_LARGE)
        return ub__fail(ctx, UB_ERR_INVALID, "blind deconvolution: a %lldx%lld image is too large", (long long)w,
                        (long long)h);
    if (p->kernel_size < 0 || (p->kernel_size > 0 && (p->kernel_size % 2 == 0 || p->kernel_size < 3)))
        return ub__fail(ctx, UB_ERR_INVALID, "blind deconvolution: kernel size %d: use an odd size of at least 3 "
                        "(or 0 for automatic)", p->kernel_size);
    if (size == SIZE_KERNEL_TOO_LARGE)
        return ub__fail(ctx, UB_ERR_INVALID, "blind deconvolution: a %dx%d kernel is too large for a %lldx%lld image "
                        "(at most half its shorter side)", ksize, ksize, (long long)w, (long long)h);
    if (p->max_side < 0 || (p->max_side > 0 && p->max_side < 2 * MIN_SIDE))
        return ub__fail(ctx, UB_ERR_INVALID, "blind deconvolution: max_side %d: use 0 (1024) or at least %d",
                        p->max_side, 2 * MIN_SIDE);
    if (!(p->noise_weight >= 0 && p->noise_weight <= 1e6))
        return ub__fail(ctx, UB_ERR_INVALID, "blind deconvolution: noise weight %g: use a value in [0, 1e6]",
                        p->noise_weight);
    if (p->response != UB_BLIND_RESPONSE_SRGB && p->response != UB_BLIND_RESPONSE_LINEAR)
        return ub__fail(ctx, UB_ERR_INVALID, "blind deconvolution: unknown response %d", (int)p->response);
    if (p->final.method != UB_DECONV_SPARSE && p->final.method != UB_DECONV_WIENER && p->final.method != UB_DECONV_RL)
        return ub__fail(ctx, UB_ERR_INVALID, "blind deconvolution: unknown final method %d", (int)p->final.method);
    return UB_OK;
}

ub_status ub_deblur_blind(ub_ctx *ctx, const ub_image *blurry, const ub_blind_params *p,
                          ub_deconv_progress progress, void *user, ub_image **out, ub_kernel **kernel_out) {
    if (out) *out = NULL;
    if (kernel_out) *kernel_out = NULL;
    if (!ctx) return UB_ERR_INVALID;
    if (!blurry || !out || !blurry->data)
        return ub__fail(ctx, UB_ERR_INVALID, "blind deconvolution: no image or no output given");
    ub_blind_params def;
    ub_blind_default(&def);
    if (!p) p = &def;
    const int64_t w = blurry->width, h = blurry->height;
    int ksize = 0;
    const ub_status bad = check_params(ctx, w, h, p, &ksize);
    if (bad != UB_OK) return bad;
    const int max_side = p->max_side ? p->max_side : 1024;

    ub_status st = UB_OK;
    const size_t npix = (size_t)w * (size_t)h;
    float *lum = NULL, *est = NULL, *ke = NULL;
    ub_kernel *k = NULL;
    ub_image *res = NULL, *work = NULL;
    if (!colours_finite(blurry)) /* before the tone curve: its table lookup must see numbers */
        return ub__fail(ctx, UB_ERR_INVALID, "blind deconvolution: the image holds NaN or infinite values");
    /* everything below runs where the blur is a convolution: linear light */
    if ((st = linear_copy(ctx, blurry, p->response, &work)) != UB_OK) return st;
    const ub_image *lin = work ? work : blurry;
    if (!(lum = malloc(npix * sizeof(float)))) {
        st = ub__fail(ctx, UB_ERR_NOMEM, "blind deconvolution: out of memory");
        goto done;
    }
    luminance(lin, lum);
    /* the estimate's resolution */
    const double s = ub__blind_estimate_scale(lum, w, h, max_side);
    int ew = (int)w, eh = (int)h, eks = ksize;
    ub__blind_progress ps = {.fn = progress, .user = user};
    if (s < 1.0) ew = (int)lround(w * s), eh = (int)lround(h * s), eks = odd_at_least(ksize * s, 3);
    if (!(est = malloc((size_t)ew * eh * sizeof(float))) ||
        (s < 1.0 ? resize_plane(lum, (int)w, (int)h, est, ew, eh) : (memcpy(est, lum, npix * sizeof(float)), 0))) {
        st = ub__fail(ctx, UB_ERR_NOMEM, "blind deconvolution: out of memory");
        goto done;
    }
    {   /* progress: the levels in proportion to pixels x kernel size, then the final step */
        int maxitr = (int)floor(log(5.0 / eks) / log(PYR_RATIO));
        if (maxitr < 0) maxitr = 0;
        double total = 0;
        for (int l = 0; l <= maxitr; l++) total += pow(PYR_RATIO, 3 * l) * ew * eh * eks;
        if (p->check_uniform) total *= 2; /* the quarters' estimates: about as much again */
        ps.total = total / 0.8; /* the final step: the last fifth */
    }
    if ((st = ub__blind_estimate_kernel(ctx, est, ew, eh, eks, &ps, &ke)) != UB_OK) goto done;
    {   /* muted: the estimate's progress is this step's, not the refinement's inner deconvolutions' */
        const ub_progress_fn shown = ub__progress_mute(ctx);
        st = ub__blind_refine(ctx, est, ew, eh, ke, eks, GAMMA);
        ub__progress_restore(ctx, shown);
        if (st != UB_OK) goto done;
    }
    if ((st = ub_kernel_create(ctx, ksize, ksize, &k)) != UB_OK) goto done;
    if (eks == ksize) memcpy(k->data, ke, (size_t)ksize * ksize * sizeof(float));
    else {
        resize_kernel(ke, eks, eks, 1.0 / s, k->data, ksize, ksize);
        if (ub__blind_kernel_clean(k->data, ksize, ksize, 0.05, 0.0) != 0) {
            memset(k->data, 0, (size_t)ksize * ksize * sizeof(float));
            k->data[(size_t)(ksize / 2) * ksize + ksize / 2] = 1.0f;
        }
    }
    int act = trustworthy(ctx, est, ew, eh, ke, eks, s, k); /* s <= 1: ub__blind_estimate_scale only reduces */
    if (act && p->check_uniform) {
        double agreement = -1;
        if ((st = ub__blind_uniformity(ctx, est, ew, eh, ke, eks, GAMMA, &ps, &agreement)) != UB_OK) goto done;
        act = agreement < 0 || agreement >= UB__BLIND_MIN_AGREEMENT;
    }
    if (act) { /* the final step: ub_deconv (sparse.c), every colour channel */
        ub_image *deconvolved = NULL;
        const ub_deconv_params fp = final_params(p, channel_noise(lin));
        if ((st = ub_deconv(ctx, lin, k, &fp, &deconvolved)) != UB_OK) goto done;
        if ((st = keep_if_plausible(ctx, lum, p->response, &res, &deconvolved)) != UB_OK) goto done;
        if ((st = ub__blind_step_progress(ctx, &ps, 0.2 * ps.total)) != UB_OK) goto done;
    }
    /* declined (or nothing kept): the input as it is; cloned only now, so a large photo's deconvolution
       never holds a third copy of it */
    if (!res && (st = ub_image_clone(ctx, blurry, &res)) != UB_OK) goto done;
    if (progress && progress(user, 1.0)) st = ub__fail(ctx, UB_ERR_CANCELLED, "blind deconvolution: cancelled");
done:
    free(lum);
    free(est);
    free(ke);
    ub_image_destroy(&work);
    if (st == UB_OK) {
        *out = res;
        if (kernel_out) *kernel_out = k;
        else ub_kernel_destroy(&k);
    } else {
        ub_image_destroy(&res);
        ub_kernel_destroy(&k);
    }
    return st;
}
