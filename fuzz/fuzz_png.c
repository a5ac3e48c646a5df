/* fuzz/fuzz_png.c — libFuzzer target: ub_image_decode on PNG bytes, then a round trip.

   Inputs that do not start with the 8-byte PNG signature are rejected
   (return -1: libFuzzer neither runs them further nor adds them to the corpus).
   We reject rather than force the signature so that every corpus file and every
   crash file is a PNG file that other programs can read (`unblur info FILE`; for
   even sizes after fixing the CRCs, see below); the cost is nil, since mutations that break the signature are dropped at once
   and the decoder's "not a PNG or JPEG" path is one comparison.

   CRCs. libpng rejects a critical chunk (IHDR, PLTE, IDAT) whose CRC is wrong, so
   nearly every mutation inside one would stop at the CRC check and the decoder
   behind it would hardly be fuzzed. So for inputs of EVEN size the harness
   recomputes the CRC of every complete chunk before decoding (odd sizes are
   decoded as they are, which keeps the CRC-error paths fuzzed too). To replay an
   even-sized crash file outside the harness, fix its CRCs first:
   /usr/bin/python3 fuzz/fix_png_crc.py IN OUT.

   After a successful decode (small images only, to keep executions fast):
   - encode as PNG at the image's own bit depth and decode again: the result must
     be identical (8-bit k/255 and 16-bit k/65535 round-trip exactly, see image.h);
   - encode at the other bit depth (must succeed);
   - encode as JPEG: refused with UB_ERR_UNSUPPORTED when the image has alpha,
     otherwise it must succeed and decode back to the same size.

   fuzz/findings/png-oom-* are inputs that once cost up to 2 GB (an ancillary chunk
   claiming 2^31-1 bytes); replay them after any change to src/image/png_io.c:
       build-fuzz/fuzz/fuzz_png fuzz/findings/png-oom-*.png */
#include <string.h>
#include <zlib.h>

#include "fuzz_common.h"

static const uint8_t png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

static void *encode(const ub_image *img, ub_format format, int bit_depth, size_t *size, ub_status *st) {
    ub_write_options o;
    ub_default_write_options(&o);
    o.format = format;
    o.bit_depth = bit_depth;
    o.jpeg_quality = 90;
    void *bytes = NULL;
    *size = 0;
    *st = ub_image_encode(fuzz_ctx(), img, &o, &bytes, size);
    return bytes;
}

static void round_trip(const ub_image *img) {
    ub_ctx *ctx = fuzz_ctx();
    size_t size;
    ub_status st;

    /* PNG at the image's own depth: exact. */
    void *bytes = encode(img, UB_FORMAT_PNG, 0, &size, &st);
    FUZZ_CHECK(st == UB_OK && bytes && size > 8);
    ub_image *back = NULL;
    st = ub_image_decode(ctx, bytes, size, "<round trip>", &back);
    FUZZ_CHECK(st == UB_OK);
    fuzz_check_image(back);
    FUZZ_CHECK(back->width == img->width && back->height == img->height);
    FUZZ_CHECK(back->channels == img->channels && back->bit_depth == img->bit_depth);
    const size_t n = (size_t)img->width * (size_t)img->height * (size_t)img->channels;
    FUZZ_CHECK(memcmp(back->data, img->data, n * sizeof(float)) == 0);
    ub_image_destroy(&back);
    free(bytes);

    /* PNG at the other depth. */
    bytes = encode(img, UB_FORMAT_PNG, img->bit_depth == 16 ? 8 : 16, &size, &st);
    FUZZ_CHECK(st == UB_OK && bytes);
    free(bytes);

    /* JPEG: no alpha allowed. */
    bytes = encode(img, UB_FORMAT_JPEG, 0, &size, &st);
    if (ub_image_has_alpha(img)) {
        FUZZ_CHECK(st == UB_ERR_UNSUPPORTED && bytes == NULL);
    } else {
        FUZZ_CHECK(st == UB_OK && bytes);
        st = ub_image_decode(ctx, bytes, size, "<round trip>", &back);
        FUZZ_CHECK(st == UB_OK);
        FUZZ_CHECK(back->width == img->width && back->height == img->height && back->channels == img->channels);
        ub_image_destroy(&back);
    }
    free(bytes);
}

/* Rewrites the CRC of every complete chunk (see the top of the file). */
static void fix_crcs(uint8_t *data, size_t size) {
    for (size_t p = 8; size - p >= 12;) {
        uint32_t len = (uint32_t)data[p] << 24 | (uint32_t)data[p + 1] << 16 | (uint32_t)data[p + 2] << 8 | data[p + 3];
        if (size - p - 12 < len) return;
        uint32_t crc = (uint32_t)crc32(0L, data + p + 4, (uInt)len + 4);
        uint8_t *c = data + p + 8 + len;
        c[0] = (uint8_t)(crc >> 24), c[1] = (uint8_t)(crc >> 16), c[2] = (uint8_t)(crc >> 8), c[3] = (uint8_t)crc;
        p += 12 + (size_t)len;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < sizeof png_signature || memcmp(data, png_signature, sizeof png_signature) != 0) return -1;
    uint8_t *copy = NULL;
    if (size % 2 == 0) {
        /* an exact-size copy, so that ASan still catches reads past the end */
        if (!(copy = malloc(size))) return 0;
        memcpy(copy, data, size);
        fix_crcs(copy, size);
        data = copy;
    }
    ub_ctx *ctx = fuzz_ctx();
    ub_image *img = (ub_image *)0x1; /* must be set to NULL on failure */
    ub_status st = ub_image_decode(ctx, data, size, "<fuzz>", &img);
    free(copy);
    if (st != UB_OK) {
        FUZZ_CHECK(img == NULL);
        FUZZ_CHECK(st < 0 && ub_last_error(ctx)[0] != '\0');
        return 0;
    }
    fuzz_check_image(img);
    if (img->width * img->height <= FUZZ_ROUNDTRIP_PIXELS) round_trip(img);
    ub_image_destroy(&img);
    FUZZ_CHECK(img == NULL);
    return 0;
}
