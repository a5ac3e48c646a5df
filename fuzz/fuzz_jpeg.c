/* fuzz/fuzz_jpeg.c — libFuzzer target: ub_image_decode on JPEG bytes, then metrics.

   Inputs that do not start with FF D8 FF (SOI and the first byte of the next
   marker, which is what the decoder sniffs) are rejected with -1, so that every
   corpus and crash file is a real JPEG file (`unblur info FILE` reproduces it);
   see fuzz_png.c for why we reject rather than force the signature.

   After a successful decode of a small image:
   - JPEG encode at quality 90 and decode again: same size and channels;
   - ub_metrics_compute of the image against that round trip (PSNR, SSIM): must
     succeed for images of at least 11x11, with SSIM in [-1, 1];
   - on tiny images, the fast SSIM (ub_ssim_plane) must agree with its plain
     reference twin (ub_ssim_plane_ref) — a differential check of the metrics. */
#include <math.h>
#include <string.h>

#include "fuzz_common.h"

/* The reference SSIM allocates 10 doubles per pixel: keep it to tiny images. */
#define FUZZ_SSIM_REF_PIXELS ((int64_t)16384)

static void check_metrics(const ub_image *a, const ub_image *b) {
    ub_ctx *ctx = fuzz_ctx();
    ub_metrics m;
    ub_metrics_options o = {0, 0};
    ub_status st = ub_metrics_compute(ctx, a, b, &o, &m);
    if (a->width < 11 || a->height < 11) {
        FUZZ_CHECK(st == UB_ERR_INVALID);
        return;
    }
    FUZZ_CHECK(st == UB_OK);
    FUZZ_CHECK(m.ssim >= -1.0 - 1e-9 && m.ssim <= 1.0 + 1e-9);
    FUZZ_CHECK(m.mse >= 0.0 && m.mse <= 1.0);
    FUZZ_CHECK(m.psnr >= 0.0); /* +inf when identical */
    if (a->width * a->height <= FUZZ_SSIM_REF_PIXELS) {
        for (int c = 0; c < ub_image_colour_channels(a); c++) {
            ub_plane pa = {ub_image_plane(a, c), a->width, a->height, a->width};
            ub_plane pb = {ub_image_plane(b, c), b->width, b->height, b->width};
            double fast = ub_ssim_plane(ctx, pa, pb), ref = ub_ssim_plane_ref(pa, pb);
            FUZZ_CHECK(isfinite(fast) && isfinite(ref));
            FUZZ_CHECK(fabs(fast - ref) <= 1e-9);
        }
    }
}

static void round_trip(const ub_image *img) {
    ub_ctx *ctx = fuzz_ctx();
    ub_write_options o;
    ub_default_write_options(&o);
    o.format = UB_FORMAT_JPEG;
    o.jpeg_quality = 90;
    void *bytes = NULL;
    size_t size = 0;
    ub_status st = ub_image_encode(ctx, img, &o, &bytes, &size);
    FUZZ_CHECK(st == UB_OK && bytes && size > 2);
    ub_image *back = NULL;
    st = ub_image_decode(ctx, bytes, size, "<round trip>", &back);
    FUZZ_CHECK(st == UB_OK);
    fuzz_check_image(back);
    FUZZ_CHECK(back->width == img->width && back->height == img->height && back->channels == img->channels);
    check_metrics(img, back);
    ub_image_destroy(&back);
    free(bytes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 3 || data[0] != 0xff || data[1] != 0xd8 || data[2] != 0xff) return -1;
    ub_ctx *ctx = fuzz_ctx();
    ub_image *img = (ub_image *)0x1; /* must be set to NULL on failure */
    ub_status st = ub_image_decode(ctx, data, size, "<fuzz>", &img);
    if (st != UB_OK) {
        FUZZ_CHECK(img == NULL);
        FUZZ_CHECK(st < 0 && ub_last_error(ctx)[0] != '\0');
        return 0;
    }
    fuzz_check_image(img);
    FUZZ_CHECK(img->channels == 1 || img->channels == 3); /* JPEG has no alpha */
    FUZZ_CHECK(img->bit_depth == 8);
    if (img->width * img->height <= FUZZ_ROUNDTRIP_PIXELS) round_trip(img);
    ub_image_destroy(&img);
    FUZZ_CHECK(img == NULL);
    return 0;
}
