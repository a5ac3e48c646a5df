/* tests/test_image.c — image type, PNG/JPEG reading and writing (every PNG
   variant, progressive/grey/CMYK JPEG, EXIF orientation), errors on bad
   input, and the sRGB curves against their double-precision references. */
#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jpeglib.h>
#include <png.h>

#include "testutil.h"

static char dir[512];

static const char *path_in(const char *name) {
    static char p[8][700];
    static int next;
    char *s = p[next++ % 8];
    snprintf(s, sizeof p[0], "%s/%s", dir, name);
    return s;
}

static double max_abs_diff(const ub_image *a, const ub_image *b) {
    if (a->width != b->width || a->height != b->height || a->channels != b->channels) return INFINITY;
    double m = 0;
    size_t n = (size_t)a->width * a->height * a->channels;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)a->data[i] - b->data[i]));
    return m;
}

/* Quantise an image to the codes of `bits`, so that a round trip must be exact. */
static void quantise(ub_image *img, int bits) {
    double maxv = bits == 16 ? 65535.0 : 255.0;
    size_t n = (size_t)img->width * img->height * img->channels;
    for (size_t i = 0; i < n; i++) img->data[i] = (float)(round(img->data[i] * maxv) / maxv);
}

static void test_png_round_trip(ub_ctx *ctx) {
    for (int bits = 8; bits <= 16; bits += 8)
        for (int ch = 1; ch <= 4; ch++) {
            ub_image *img = test_image(ctx, 37, 23, ch, 100 + ch), *back = NULL;
            quantise(img, bits);
            img->bit_depth = bits;
            char name[64];
            snprintf(name, sizeof name, "rt_%d_%d.png", bits, ch);
            CHECK_OK(ctx, ub_image_write(ctx, img, path_in(name), NULL));
            CHECK_OK(ctx, ub_image_read(ctx, path_in(name), &back));
            CHECK_MSG(back && max_abs_diff(img, back) == 0.0, "%d-bit, %d channels: max diff %g", bits, ch,
                      back ? max_abs_diff(img, back) : -1.0);
            CHECK(back && back->bit_depth == bits);
            ub_image_destroy(&back);
            /* the same through memory */
            ub_write_options o = {.format = UB_FORMAT_PNG};
            void *bytes = NULL;
            size_t size = 0;
            CHECK_OK(ctx, ub_image_encode(ctx, img, &o, &bytes, &size));
            CHECK_OK(ctx, ub_image_decode(ctx, bytes, size, "mem", &back));
            CHECK(back && max_abs_diff(img, back) == 0.0);
            free(bytes);
            ub_image_destroy(&back);
            ub_image_destroy(&img);
        }
    /* every 16-bit code survives exactly */
    ub_image *ramp, *back = NULL;
    CHECK_OK(ctx, ub_image_create(ctx, &ramp, 256, 256, 1));
    for (int i = 0; i < 65536; i++) ramp->data[i] = (float)i / 65535.0f;
    ramp->bit_depth = 16;
    CHECK_OK(ctx, ub_image_write(ctx, ramp, path_in("ramp16.png"), NULL));
    CHECK_OK(ctx, ub_image_read(ctx, path_in("ramp16.png"), &back));
    CHECK(back && max_abs_diff(ramp, back) == 0.0);
    ub_image_destroy(&back);
    ub_image_destroy(&ramp);
}

/* Writes a PNG with libpng directly: rows of packed samples as PNG stores them. */
static void write_raw_png(const char *path, int w, int h, int depth, int colour, int interlace,
                          const png_byte *pixels, size_t rowbytes, const png_color *palette, int npalette,
                          const png_byte *trns, int ntrns, const png_color_16 *trns_grey) {
    FILE *f = fopen(path, "wb");
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) {
        fprintf(stderr, "write_raw_png failed\n");
        exit(1);
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, w, h, depth, colour, interlace, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (palette) png_set_PLTE(png, info, palette, npalette);
    if (trns || trns_grey) png_set_tRNS(png, info, trns, ntrns, trns_grey);
    png_write_info(png, info);
    png_bytep *rows = malloc(sizeof(png_bytep) * h);
    for (int y = 0; y < h; y++) rows[y] = (png_bytep)pixels + (size_t)y * rowbytes;
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(rows);
    fclose(f);
}

static void test_png_variants(ub_ctx *ctx) {
    enum { W = 13, H = 7 };
    png_byte px[H][W * 8];
    ub_image *img = NULL;
    /* grey at 1, 2 and 4 bits: sample s of depth d reads as s / (2^d - 1) */
    for (int depth = 1; depth <= 4; depth *= 2) {
        memset(px, 0, sizeof px);
        int maxv = (1 << depth) - 1, per_byte = 8 / depth;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                int s = (x + y) % (maxv + 1);
                px[y][x / per_byte] |= (png_byte)(s << (8 - depth * (x % per_byte + 1)));
            }
        write_raw_png(path_in("grey_low.png"), W, H, depth, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, &px[0][0],
                      sizeof px[0], NULL, 0, NULL, 0, NULL);
        CHECK_OK(ctx, ub_image_read(ctx, path_in("grey_low.png"), &img));
        int ok = img && img->channels == 1 && img->width == W && img->height == H;
        for (int y = 0; ok && y < H; y++)
            for (int x = 0; x < W; x++)
                if (fabsf(img->data[y * W + x] - (float)((x + y) % (maxv + 1)) / maxv) > 1e-6f) ok = 0;
        CHECK_MSG(ok, "%d-bit grey", depth);
        ub_image_destroy(&img);
    }
    /* palette with tRNS -> RGBA */
    png_color pal[4] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {10, 20, 30}};
    png_byte alpha[4] = {255, 128, 0, 255};
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) px[y][x] = (png_byte)((x * 3 + y) % 4);
    write_raw_png(path_in("pal.png"), W, H, 8, PNG_COLOR_TYPE_PALETTE, PNG_INTERLACE_NONE, &px[0][0], sizeof px[0],
                  pal, 4, alpha, 4, NULL);
    CHECK_OK(ctx, ub_image_read(ctx, path_in("pal.png"), &img));
    if (img) {
        CHECK(img->channels == 4);
        int i = px[2][5];
        size_t at = 2 * W + 5, plane = (size_t)W * H;
        CHECK_NEAR(img->data[at], pal[i].red / 255.0, 1e-6);
        CHECK_NEAR(img->data[plane + at], pal[i].green / 255.0, 1e-6);
        CHECK_NEAR(img->data[3 * plane + at], alpha[i] / 255.0, 1e-6);
    }
    ub_image_destroy(&img);
    /* palette without tRNS -> RGB */
    write_raw_png(path_in("pal3.png"), W, H, 8, PNG_COLOR_TYPE_PALETTE, PNG_INTERLACE_NONE, &px[0][0], sizeof px[0],
                  pal, 4, NULL, 0, NULL);
    CHECK_OK(ctx, ub_image_read(ctx, path_in("pal3.png"), &img));
    CHECK(img && img->channels == 3 && fabsf(img->data[0] - pal[px[0][0]].red / 255.0f) < 1e-6f);
    ub_image_destroy(&img);
    /* grey with a tRNS colour key -> grey + alpha */
    png_color_16 key = {0};
    key.gray = 7;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) px[y][x] = (png_byte)(x == 3 ? 7 : 100);
    write_raw_png(path_in("greykey.png"), W, H, 8, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, &px[0][0], sizeof px[0],
                  NULL, 0, NULL, 0, &key);
    CHECK_OK(ctx, ub_image_read(ctx, path_in("greykey.png"), &img));
    CHECK(img && img->channels == 2 && img->data[W * H + 3] == 0.0f && img->data[W * H + 4] == 1.0f);
    ub_image_destroy(&img);
    /* 16-bit grey + alpha, and interlaced 16-bit RGB: exact */
    for (int variant = 0; variant < 2; variant++) {
        int ch = variant ? 3 : 2;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W * ch; x++) {
                unsigned v = (unsigned)(x * 4099 + y * 31337) & 0xffff;
                px[y][2 * x] = (png_byte)(v >> 8), px[y][2 * x + 1] = (png_byte)v;
            }
        write_raw_png(path_in("p16.png"), W, H, 16, variant ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY_ALPHA,
                      variant ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, &px[0][0], sizeof px[0], NULL, 0, NULL, 0,
                      NULL);
        CHECK_OK(ctx, ub_image_read(ctx, path_in("p16.png"), &img));
        int ok = img && img->channels == ch && img->bit_depth == 16;
        for (int y = 0; ok && y < H; y++)
            for (int x = 0; x < W; x++)
                for (int c = 0; c < ch; c++) {
                    unsigned v = (unsigned)((x * ch + c) * 4099 + y * 31337) & 0xffff;
                    if (img->data[((size_t)c * H + y) * W + x] != (float)v / 65535.0f) ok = 0;
                }
        CHECK_MSG(ok, "16-bit %s", variant ? "interlaced RGB" : "grey+alpha");
        ub_image_destroy(&img);
    }
}

/* ---- JPEG ---- */

/* Writes an 8-bit JPEG with libjpeg directly (grey, RGB or CMYK), optionally progressive, with an APP1 payload. */
static void write_raw_jpeg(const char *path, int w, int h, int comps, J_COLOR_SPACE cs, const JSAMPLE *pixels,
                           int progressive, const unsigned char *app1, unsigned app1_len) {
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    FILE *f = fopen(path, "wb");
    jpeg_stdio_dest(&c, f);
    c.image_width = w, c.image_height = h, c.input_components = comps, c.in_color_space = cs;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 100, TRUE);
    if (comps == 3) /* no chroma subsampling: keep the test exact-ish */
        for (int i = 0; i < 3; i++) c.comp_info[i].h_samp_factor = c.comp_info[i].v_samp_factor = 1;
    if (progressive) jpeg_simple_progression(&c);
    jpeg_start_compress(&c, TRUE);
    if (app1) jpeg_write_marker(&c, JPEG_APP0 + 1, app1, app1_len);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = (JSAMPROW)pixels + (size_t)c.next_scanline * w * comps;
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    fclose(f);
}

static void test_jpeg_variants(ub_ctx *ctx) {
    enum { W = 48, H = 32 };
    static JSAMPLE px[H * W * 4];
    ub_image *img = NULL;
    for (int progressive = 0; progressive < 2; progressive++) {
        /* RGB: smooth ramps, decoded within a few codes */
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                for (int c = 0; c < 3; c++) px[(y * W + x) * 3 + c] = (JSAMPLE)(x * 4 + c * 30 + y);
        write_raw_jpeg(path_in("rgb.jpg"), W, H, 3, JCS_RGB, px, progressive, NULL, 0);
        CHECK_OK(ctx, ub_image_read(ctx, path_in("rgb.jpg"), &img));
        double err = 0;
        if (img)
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++)
                    for (int c = 0; c < 3; c++)
                        err = fmax(err, fabs(img->data[((size_t)c * H + y) * W + x] - px[(y * W + x) * 3 + c] / 255.0));
        CHECK_MSG(img && img->channels == 3 && err < 4.0 / 255, "progressive %d: max error %g", progressive, err);
        ub_image_destroy(&img);
    }
    /* grey */
    for (int i = 0; i < W * H; i++) px[i] = (JSAMPLE)(i % W * 5);
    write_raw_jpeg(path_in("grey.jpg"), W, H, 1, JCS_GRAYSCALE, px, 0, NULL, 0);
    CHECK_OK(ctx, ub_image_read(ctx, path_in("grey.jpg"), &img));
    CHECK(img && img->channels == 1 && fabsf(img->data[W + 7] - 35 / 255.0f) < 3.0f / 255);
    ub_image_destroy(&img);
    /* Adobe CMYK (stored inverted): (r, g, b, 255) reads back as (r, g, b) */
    for (int i = 0; i < W * H; i++) px[4 * i] = 200, px[4 * i + 1] = 100, px[4 * i + 2] = 30, px[4 * i + 3] = 255;
    write_raw_jpeg(path_in("cmyk.jpg"), W, H, 4, JCS_CMYK, px, 0, NULL, 0);
    CHECK_OK(ctx, ub_image_read(ctx, path_in("cmyk.jpg"), &img));
    CHECK_MSG(img && img->channels == 3 && fabsf(img->data[5] - 200 / 255.0f) < 3.0f / 255 &&
                  fabsf(img->data[2 * W * H + 5] - 30 / 255.0f) < 3.0f / 255,
              "CMYK -> RGB");
    ub_image_destroy(&img);
    /* our own encoder: higher quality, smaller error; grey stays grey */
    ub_image *src = test_image(ctx, 64, 40, 3, 7);
    double err_at[2];
    for (int q = 0; q < 2; q++) {
        ub_write_options o = {.jpeg_quality = q ? 98 : 10};
        CHECK_OK(ctx, ub_image_write(ctx, src, path_in("own.jpg"), &o));
        CHECK_OK(ctx, ub_image_read(ctx, path_in("own.jpg"), &img));
        double e = 0;
        if (img)
            for (size_t i = 0; i < (size_t)64 * 40 * 3; i++) e += fabs(img->data[i] - src->data[i]);
        err_at[q] = e / (64 * 40 * 3);
        ub_image_destroy(&img);
    }
    CHECK_MSG(err_at[1] < 0.75 * err_at[0] && err_at[1] < 0.04, "mean error q10 %g, q98 %g", err_at[0], err_at[1]);
    ub_image_destroy(&src);
    src = test_image(ctx, 16, 16, 4, 8);
    CHECK(ub_image_write(ctx, src, path_in("alpha.jpg"), NULL) == UB_ERR_UNSUPPORTED);
    CHECK(strstr(ub_last_error(ctx), "alpha") != NULL);
    CHECK(access(path_in("alpha.jpg"), F_OK) != 0);
    ub_image_destroy(&src);
}

/* APP1 "Exif" payload with IFD0 holding one Orientation entry. */
static unsigned make_exif(unsigned char *b, int orientation, int little, int corrupt) {
    static const unsigned char head[6] = {'E', 'x', 'i', 'f', 0, 0};
    memcpy(b, head, 6);
    unsigned char *t = b + 6;
#define P16(p, v) (little ? ((p)[0] = (v)&0xff, (p)[1] = (v) >> 8) : ((p)[0] = (v) >> 8, (p)[1] = (v)&0xff))
#define P32(p, v) (little ? ((p)[0] = (v)&0xff, (p)[1] = ((v) >> 8) & 0xff, (p)[2] = ((v) >> 16) & 0xff, (p)[3] = (v) >> 24) \
                          : ((p)[0] = (v) >> 24, (p)[1] = ((v) >> 16) & 0xff, (p)[2] = ((v) >> 8) & 0xff, (p)[3] = (v)&0xff))
    t[0] = t[1] = little ? 'I' : 'M';
    P16(t + 2, 42u);
    P32(t + 4, corrupt ? 0x7fffff00u : 8u);
    P16(t + 8, 1u);              /* one entry */
    P16(t + 10, 0x0112u);        /* Orientation */
    P16(t + 12, 3u);             /* SHORT */
    P32(t + 14, 1u);             /* count */
    P16(t + 18, (unsigned)orientation);
    t[20] = t[21] = 0;
    P32(t + 22, 0u);             /* no next IFD */
#undef P16
#undef P32
    return 6 + 26;
}

/* Expected upright image for EXIF orientation o, by composing flips and a transpose. */
static float expected_at(const JSAMPLE *src, int w, int h, int o, int x, int y) {
    int transpose = o >= 5;
    int flip_h = o == 2 || o == 3 || o == 6 || o == 7, flip_v = o == 3 || o == 4 || o == 7 || o == 8;
    int ow = transpose ? h : w, oh = transpose ? w : h;
    if (flip_h) x = ow - 1 - x;
    if (flip_v) y = oh - 1 - y;
    int sx = transpose ? y : x, sy = transpose ? x : y;
    return src[sy * w + sx] / 255.0f;
}

static void test_exif_orientation(ub_ctx *ctx) {
    enum { W = 32, H = 16 };
    JSAMPLE px[W * H];
    /* four flat 8x8-aligned quadrants: JPEG reproduces them almost exactly */
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) px[y * W + x] = (JSAMPLE)((x < W / 2 ? 40 : 120) + (y < H / 2 ? 0 : 100));
    unsigned char app1[64];
    for (int o = 1; o <= 8; o++)
        for (int little = 0; little < 2; little++) {
            unsigned n = make_exif(app1, o, little, 0);
            write_raw_jpeg(path_in("exif.jpg"), W, H, 1, JCS_GRAYSCALE, px, 0, app1, n);
            ub_image *img = NULL;
            CHECK_OK(ctx, ub_image_read(ctx, path_in("exif.jpg"), &img));
            if (!img) continue;
            int ow = o >= 5 ? H : W, oh = o >= 5 ? W : H, ok = img->width == ow && img->height == oh;
            for (int y = 0; ok && y < oh; y++)
                for (int x = 0; x < ow; x++)
                    if (fabsf(img->data[y * ow + x] - expected_at(px, W, H, o, x, y)) > 3.0f / 255) ok = 0;
            CHECK_MSG(ok, "orientation %d (%s)", o, little ? "II" : "MM");
            ub_image_destroy(&img);
        }
    /* an IFD offset past the end: the EXIF block is ignored, the image still reads */
    unsigned n = make_exif(app1, 6, 1, 1);
    write_raw_jpeg(path_in("exif_bad.jpg"), W, H, 1, JCS_GRAYSCALE, px, 0, app1, n);
    ub_image *img = NULL;
    CHECK_OK(ctx, ub_image_read(ctx, path_in("exif_bad.jpg"), &img));
    CHECK(img && img->width == W);
    ub_image_destroy(&img);
}

/* ---- errors ---- */

static void write_bytes(const char *path, const void *b, size_t n) {
    FILE *f = fopen(path, "wb");
    if (n) fwrite(b, 1, n, f);
    fclose(f);
}

static void expect_read_error(ub_ctx *ctx, const char *path, ub_status want, const char *words) {
    ub_image *img = (ub_image *)1;
    ub_status st = ub_image_read(ctx, path, &img);
    CHECK_MSG(st == want, "%s: status %d, want %d (%s)", path, st, want, ub_last_error(ctx));
    CHECK(img == NULL);
    CHECK_MSG(strstr(ub_last_error(ctx), path) == ub_last_error(ctx), "message '%s' does not start with the file",
              ub_last_error(ctx));
    CHECK_MSG(!words || strstr(ub_last_error(ctx), words), "message '%s' lacks '%s'", ub_last_error(ctx), words);
}

static unsigned char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*n);
    if (fread(b, 1, *n, f) != *n) *n = 0;
    fclose(f);
    return b;
}

static void test_errors(ub_ctx *ctx) {
    expect_read_error(ctx, path_in("missing.png"), UB_ERR_IO, "cannot open");
    write_bytes(path_in("empty.png"), "", 0);
    expect_read_error(ctx, path_in("empty.png"), UB_ERR_FORMAT, "empty");
    write_bytes(path_in("text.png"), "hello, world\n", 13);
    expect_read_error(ctx, path_in("text.png"), UB_ERR_FORMAT, "not a PNG or JPEG");
    expect_read_error(ctx, dir, UB_ERR_IO, "directory");
    /* truncations of valid files */
    ub_image *img = test_image(ctx, 40, 30, 3, 3);
    CHECK_OK(ctx, ub_image_write(ctx, img, path_in("good.png"), NULL));
    CHECK_OK(ctx, ub_image_write(ctx, img, path_in("good.jpg"), NULL));
    const char *kinds[2] = {"good.png", "good.jpg"};
    for (int k = 0; k < 2; k++) {
        size_t n;
        unsigned char *b = slurp(path_in(kinds[k]), &n);
        size_t cuts[4] = {n - 1, n / 2, 40, 9};
        for (int i = 0; i < 4; i++) {
            write_bytes(path_in("cut.img"), b, cuts[i]);
            expect_read_error(ctx, path_in("cut.img"), UB_ERR_FORMAT, NULL);
            ub_image *m = (ub_image *)1;
            CHECK(ub_image_decode(ctx, b, cuts[i], "mem", &m) == UB_ERR_FORMAT && m == NULL);
        }
        free(b);
    }
    /* the pixel limit is enforced from the header */
    ub_settings s;
    ub_default_settings(&s);
    s.max_pixels = 40 * 30 - 1;
    ub_ctx *small;
    CHECK(ub_ctx_create(&small, &s) == UB_OK);
    expect_read_error(small, path_in("good.png"), UB_ERR_LIMIT, "limit");
    expect_read_error(small, path_in("good.jpg"), UB_ERR_LIMIT, "limit");
    ub_ctx_destroy(&small);
    /* writing: unknown extension, missing folder; nothing is left behind */
    CHECK(ub_image_write(ctx, img, path_in("x.bmp"), NULL) == UB_ERR_INVALID);
    CHECK(access(path_in("x.bmp"), F_OK) != 0);
    CHECK(ub_image_write(ctx, img, path_in("nowhere/x.png"), NULL) == UB_ERR_IO);
    ub_write_options o = {.bit_depth = 12};
    CHECK(ub_image_write(ctx, img, path_in("x.png"), &o) == UB_ERR_INVALID);
    CHECK(access(path_in("x.png"), F_OK) != 0);
    ub_image *none = (ub_image *)1;
    CHECK(ub_image_create(ctx, &none, 0, 5, 3) != UB_OK && none == NULL);
    CHECK(ub_image_create(ctx, &none, 5, 5, 5) == UB_ERR_UNSUPPORTED);
    CHECK(ub_image_create(ctx, &none, INT64_MAX / 2, 4, 1) == UB_ERR_LIMIT);
    ub_image_destroy(&img);
}

/* ---- colour ---- */

static void test_colour(ub_ctx *ctx) {
    enum { N = 100001 };
    float *v = malloc(N * sizeof(float)), *w = malloc(N * sizeof(float));
    for (int i = 0; i < N; i++) v[i] = w[i] = (float)i / (N - 1);
    ub_srgb_to_linear(w, N);
    double fwd = 0, inv = 0;
    for (int i = 0; i < N; i++) fwd = fmax(fwd, fabs(w[i] - ub_srgb_to_linear_ref(v[i])));
    ub_linear_to_srgb(w, N);
    for (int i = 0; i < N; i++) inv = fmax(inv, fabs(w[i] - v[i]));
    CHECK_MSG(fwd < 1e-6, "sRGB->linear off its reference by %g", fwd);
    CHECK_MSG(inv < 1e-6, "round trip error %g", inv);
    for (int i = 0; i < N; i++) w[i] = v[i];
    ub_linear_to_srgb(w, N);
    double back = 0;
    for (int i = 0; i < N; i++) back = fmax(back, fabs(w[i] - ub_linear_to_srgb_ref(v[i])));
    CHECK_MSG(back < 1e-6, "linear->sRGB off its reference by %g", back);
    printf("sRGB: forward %.2g, inverse %.2g, round trip %.2g (max abs on [0,1])\n", fwd, back, inv);
    /* known points, the threshold, values outside [0,1] */
    CHECK_NEAR(ub_srgb_to_linear_ref(0.5), 0.21404114, 1e-7);
    CHECK_NEAR(ub_srgb_to_linear_ref(0.04045), 0.04045 / 12.92, 1e-12);
    float out[4] = {-0.2f, 1.5f, 4.0f, 0.0f};
    ub_srgb_to_linear(out, 4);
    ub_linear_to_srgb(out, 4);
    CHECK_NEAR(out[0], -0.2, 1e-5);
    CHECK_NEAR(out[1], 1.5, 1e-5);
    CHECK_NEAR(out[2], 4.0, 1e-4);
    CHECK(out[3] == 0.0f);
    /* alpha is untouched */
    ub_image *img = test_image(ctx, 8, 8, 4, 9), *orig;
    CHECK_OK(ctx, ub_image_clone(ctx, img, &orig));
    ub_image_srgb_to_linear(img);
    CHECK(memcmp(ub_image_plane(img, 3), ub_image_plane(orig, 3), 64 * sizeof(float)) == 0);
    CHECK(memcmp(ub_image_plane(img, 0), ub_image_plane(orig, 0), 64 * sizeof(float)) != 0);
    ub_image_destroy(&img);
    ub_image_destroy(&orig);
    free(v);
    free(w);
}

int main(void) {
    snprintf(dir, sizeof dir, "%s", test_tmpdir("image"));
    ub_ctx *ctx = test_ctx(2);
    test_png_round_trip(ctx);
    test_png_variants(ctx);
    test_jpeg_variants(ctx);
    test_exif_orientation(ctx);
    test_errors(ctx);
    test_colour(ctx);
    ub_ctx_destroy(&ctx);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return test_finish("test_image");
}
