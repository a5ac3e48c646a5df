/* synth/conv.c — uniform blur: ub_convolve and ub_convolve_plane.

   TRUE convolution (the kernel flipped relative to correlation):
       out(x, y) = sum_{i,j} k(i, j) * in(x + cx - i, y + cy - j),   (cx, cy) = (kw/2, kh/2)
   so kernel mass at offset (+3, 0) from the centre moves image content 3 px
   to the right. REFLECT reads outside the image through ub__reflect
   (half-sample symmetric, any kernel size, even larger than the image);
   VALID keeps only the (w-kw+1) x (h-kh+1) outputs whose taps all fall
   inside, i.e. VALID out(x, y) = REFLECT out(x + cx, y + cy).

   Three implementations, one semantics:
     REFERENCE  the plain four loops with double accumulation (this file);
     DIRECT     reflect-pad once, then an AVX2/AVX-512 FMA loop over the
                NON-ZERO taps only (conv_direct.c);
     FFT        FFTW r2c/c2r on a 2,3,5,7-smooth padded size, plans cached
                per context (conv_fft.c).
   AUTO chooses between DIRECT and FFT with the cost model of auto_method()
   below, whose constants come from the crossover sweep of bench/bench_conv.c. */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "synth/internal.h"

/* ---- argument checks ---- */

static ub_status check_kernel(ub_ctx *ctx, const ub_kernel *k) {
    if (!k || !k->data) return ub__fail(ctx, UB_ERR_INVALID, "convolve: NULL kernel");
    if (k->width < 1 || k->height < 1 || k->width % 2 == 0 || k->height % 2 == 0)
        return ub__fail(ctx, UB_ERR_INVALID, "convolve: kernel size %dx%d must be odd and positive", k->width,
                        k->height);
    return UB_OK;
}

/* The output size for `border`, or an error when VALID leaves nothing. */
static ub_status output_size(ub_ctx *ctx, int64_t w, int64_t h, const ub_kernel *k, ub_border border, int64_t *ow,
                             int64_t *oh) {
    if (border == UB_BORDER_REFLECT) {
        *ow = w, *oh = h;
        return UB_OK;
    }
    if (border != UB_BORDER_VALID)
        return ub__fail(ctx, UB_ERR_INVALID, "convolve: unknown border mode %d", (int)border);
    *ow = w - k->width + 1, *oh = h - k->height + 1;
    if (*ow <= 0 || *oh <= 0)
        return ub__fail(ctx, UB_ERR_INVALID,
                        "convolve: a %dx%d kernel is larger than the %lldx%lld image (VALID leaves no pixel)",
                        k->width, k->height, (long long)w, (long long)h);
    return UB_OK;
}

static bool ranges_overlap(const float *a, size_t na, const float *b, size_t nb) {
    const uintptr_t a0 = (uintptr_t)a, b0 = (uintptr_t)b;
    return a0 < b0 + nb * sizeof(float) && b0 < a0 + na * sizeof(float);
}

static ub_status check_plane_args(ub_ctx *ctx, const float *in, int64_t w, int64_t h, const ub_kernel *k,
                                  ub_border border, const float *out, int64_t *ow, int64_t *oh) {
    if (!in || !out) return ub__fail(ctx, UB_ERR_INVALID, "convolve: NULL plane");
    if (w <= 0 || h <= 0)
        return ub__fail(ctx, UB_ERR_INVALID, "convolve: plane size %lldx%lld must be positive", (long long)w,
                        (long long)h);
    size_t n;
    if (!ub__mul_size((size_t)w, (size_t)h, &n) || n > (size_t)INT64_MAX / sizeof(float))
        return ub__fail(ctx, UB_ERR_LIMIT, "convolve: plane of %lldx%lld is too large", (long long)w, (long long)h);
    ub_status st = check_kernel(ctx, k);
    if (st) return st;
    if ((st = output_size(ctx, w, h, k, border, ow, oh))) return st;
    if (ranges_overlap(in, n, out, (size_t)(*ow * *oh)))
        return ub__fail(ctx, UB_ERR_INVALID, "convolve: the output must not overlap the input");
    return UB_OK;
}

/* ---- the reference twin ---- */

static void convolve_ref(const float *in, int64_t w, int64_t h, const ub_kernel *k, ub_border border, int64_t ow,
                         int64_t oh, float *out) {
    const int64_t kw = k->width, kh = k->height, cx = kw / 2, cy = kh / 2;
    /* VALID output (x, y) is the REFLECT output at (x + cx, y + cy), whose taps never leave the image */
    const int64_t ox = border == UB_BORDER_VALID ? cx : 0, oy = border == UB_BORDER_VALID ? cy : 0;
    for (int64_t y = 0; y < oh; y++)
        for (int64_t x = 0; x < ow; x++) {
            double sum = 0;
            for (int64_t j = 0; j < kh; j++) {
                const int64_t sy = ub__reflect(y + oy + cy - j, h);
                for (int64_t i = 0; i < kw; i++)
                    sum += (double)k->data[j * kw + i] * in[sy * w + ub__reflect(x + ox + cx - i, w)];
            }
            out[y * ow + x] = (float)sum;
        }
}

/* ---- AUTO: direct or FFT ----

   Cost model. DIRECT costs about (non-zero taps) x (output pixels) FMAs per plane. FFT costs
   about C(PW, PH) = N log2 N per plane (N = PW x PH, weighted by how fast FFTW is on the sizes'
   factors: ub__conv_fft_cost), plus KERNEL_SHARE of that once for the kernel's spectrum, which
   the planes share. DIRECT is chosen when
       taps * pixels * planes <= PER_TAP * C(PW, PH) * (planes + KERNEL_SHARE),
   PER_TAP being how many direct tap-pixels cost as much as one unit of C.

   Measured with `ub_bench_conv --sweep` (dense square kernels 3..65, DIRECT vs FFT; AMD EPYC
   Zen 5, 2 vCPUs, FFTW 3.3.10; the tables are in bench/BLUR_RESULTS.md). The ratio is flat
   over kernel sizes 7..41 (it rises a little for 51..65, where the padded size grows), i.e.
   the model holds; it depends on the instruction set of the direct path:
                                  AVX-512 direct            AVX2 direct
       720x1280, 1 thread         9.1 (RGB)  9.5 (plane)    7.2 (RGB)  7.8 (plane)
       720x1280, 2 threads        8.8 (RGB)  9.2 (plane)    7.0 (RGB)  7.2 (plane)
       256x256 RGB, 1 / 2 threads 9.1 / 10.2                -
   (medians over sizes 9..41; CPU time at 1 thread, wall time at 2 on a quiet machine — both
   paths scale 1.9-2x there; while another process held a core the FFT's 2-thread gain fell
   to 1.2x and the ratio rose to 14). Fitting 1 plane against 3: PER_TAP * KERNEL_SHARE ~ 0.3-0.9.
   With these constants a 720p RGB image goes FFT above ~260 non-zero taps (a dense 16x16):
   the 27-tap motion line of the benchmark goes direct, the 709-tap 31x31 disk FFT; every
   choice in the sweep (720p and 256x256, 1 and 3 planes, 1 and 2 threads, both instruction
   sets) is the faster path but one, which is 4 % slower. */
static const double PER_TAP_AVX512 = 8.8, PER_TAP_AVX2 = 7.0, KERNEL_SHARE = 0.08;

static int64_t count_nonzero(const ub_kernel *k) {
    int64_t n = 0;
    for (int64_t i = 0; i < (int64_t)k->width * k->height; i++) n += k->data[i] != 0.0f;
    return n;
}

static ub_conv_method auto_method(int64_t w, int64_t h, const ub_kernel *k, ub_border border, int planes) {
    int64_t pw, ph;
    if (ub__conv_fft_size(w, h, k, border, &pw, &ph) != 0) return UB_CONV_DIRECT;
    const int64_t ow = border == UB_BORDER_VALID ? w - k->width + 1 : w;
    const int64_t oh = border == UB_BORDER_VALID ? h - k->height + 1 : h;
    const double per_tap = (ub_cpu_features() & UB_CPU_AVX512F) ? PER_TAP_AVX512 : PER_TAP_AVX2;
    const double direct = (double)count_nonzero(k) * (double)ow * (double)oh * planes;
    return direct <= per_tap * ub__conv_fft_cost(pw, ph) * (planes + KERNEL_SHARE) ? UB_CONV_DIRECT : UB_CONV_FFT;
}

ub_conv_method ub__conv_choose(int64_t w, int64_t h, const ub_kernel *k, ub_border border, int planes) {
    return auto_method(w, h, k, border, planes);
}

/* ---- entry points ---- */

static ub_status convolve_planes(ub_ctx *ctx, const float *const *in, float *const *out, int planes, int64_t w,
                                 int64_t h, const ub_kernel *k, ub_border border, ub_conv_method method,
                                 int64_t ow, int64_t oh) {
    if (method == UB_CONV_AUTO) method = auto_method(w, h, k, border, planes);
    switch (method) {
    case UB_CONV_DIRECT: return ub__conv_direct(ctx, in, out, planes, w, h, k, border, UB__ISA_BEST);
    case UB_CONV_FFT: return ub__conv_fft(ctx, in, out, planes, w, h, k, border);
    case UB_CONV_REFERENCE:
        for (int p = 0; p < planes; p++) convolve_ref(in[p], w, h, k, border, ow, oh, out[p]);
        return UB_OK;
    default: return ub__fail(ctx, UB_ERR_INVALID, "convolve: unknown method %d", (int)method);
    }
}

ub_status ub_convolve_plane(ub_ctx *ctx, const float *in, int64_t w, int64_t h, const ub_kernel *k,
                            ub_border border, ub_conv_method method, float *out) {
    int64_t ow = 0, oh = 0;
    ub_status st = check_plane_args(ctx, in, w, h, k, border, out, &ow, &oh);
    if (st) return st;
    return convolve_planes(ctx, &in, &out, 1, w, h, k, border, method, ow, oh);
}

/* Alpha: copied (REFLECT) or cropped to the valid window (VALID), never blurred. */
static void carry_alpha(const ub_image *in, const ub_kernel *k, ub_border border, ub_image *out) {
    if (!ub_image_has_alpha(in)) return;
    const float *src = ub_image_plane(in, in->channels - 1);
    float *dst = ub_image_plane(out, out->channels - 1);
    const int64_t ox = border == UB_BORDER_VALID ? k->width / 2 : 0, oy = border == UB_BORDER_VALID ? k->height / 2 : 0;
    for (int64_t y = 0; y < out->height; y++)
        memcpy(dst + y * out->width, src + (y + oy) * in->width + ox, (size_t)out->width * sizeof(float));
}

ub_status ub_convolve(ub_ctx *ctx, const ub_image *in, const ub_kernel *k, ub_border border, ub_image **out) {
    if (!out) return ub__fail(ctx, UB_ERR_INVALID, "convolve: NULL output");
    *out = NULL;
    if (!in || !in->data) return ub__fail(ctx, UB_ERR_INVALID, "convolve: NULL image");
    int64_t ow = 0, oh = 0;
    ub_status st = check_kernel(ctx, k);
    if (st || (st = output_size(ctx, in->width, in->height, k, border, &ow, &oh))) return st;
    ub_image *res;
    if ((st = ub_image_create(ctx, &res, ow, oh, in->channels))) return st;
    res->bit_depth = in->bit_depth;
    const int colours = ub_image_colour_channels(in);
    const float *src[3];
    float *dst[3];
    for (int c = 0; c < colours; c++) src[c] = ub_image_plane(in, c), dst[c] = ub_image_plane(res, c);
    st = convolve_planes(ctx, src, dst, colours, in->width, in->height, k, border, UB_CONV_AUTO, ow, oh);
    if (st) {
        ub_image_destroy(&res);
        return st;
    }
    carry_alpha(in, k, border, res);
    *out = res;
    return UB_OK;
}
