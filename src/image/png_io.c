/* image/png_io.c — PNG decoding and encoding with libpng.

   libpng reports errors by longjmp. That longjmp never leaves this file: each
   entry point keeps everything it allocates in a state struct owned by its
   caller (so nothing the jump skips is lost or indeterminate), and the
   function that calls setjmp turns a jump into a status and a message. */
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "image/internal.h"

typedef struct png_state {
    ub_ctx *ctx;
    const char *name;
    ub__source *src;
    ub__sink *sink;
    jmp_buf jump;
    char message[200];
    png_structp png;
    png_infop info;
    png_bytep row;   /* one row (non-interlaced) or the whole image (interlaced) */
    png_bytepp rows; /* row pointers into `row` when interlaced */
    ub_image *img;
} png_state;

static void on_error(png_structp png, png_const_charp msg) {
    png_state *s = png_get_error_ptr(png);
    snprintf(s->message, sizeof s->message, "%s", msg ? msg : "unknown libpng error");
    longjmp(s->jump, 1);
}

static void on_warning(png_structp png, png_const_charp msg) {
    (void)png; /* ancillary problems (bad text chunk, CRC of an ancillary chunk) are not fatal */
    (void)msg;
}

static void read_bytes(png_structp png, png_bytep out, png_size_t n) {
    png_state *s = png_get_io_ptr(png);
    ub__source *src = s->src;
    if (src->fp) {
        if (fread(out, 1, n, src->fp) != n) png_error(png, "file is truncated");
        return;
    }
    if (n > src->size - src->pos) png_error(png, "file is truncated");
    memcpy(out, src->bytes + src->pos, n);
    src->pos += n;
}

static void write_bytes(png_structp png, png_bytep data, png_size_t n) {
    png_state *s = png_get_io_ptr(png);
    ub__sink_write(s->sink, data, n);
    if (s->sink->failed) png_error(png, "write failed");
}

static void flush_bytes(png_structp png) { (void)png; }

/* Interleaved 8/16-bit row -> planar floats of row y. */
static void unpack_row(const png_byte *row, ub_image *img, int64_t y, int depth) {
    const int ch = img->channels;
    const int64_t w = img->width;
    if (depth == 16) {
        /* a true division: k / 65535.0f is the float nearest k/65535, which the
           writer rounds back to k (a multiplication by the reciprocal is not) */
        for (int c = 0; c < ch; c++) {
            float *dst = ub_image_plane(img, c) + y * w;
            for (int64_t x = 0; x < w; x++) {
                const png_byte *p = row + 2 * (x * ch + c);
                dst[x] = (float)((p[0] << 8) | p[1]) / 65535.0f;
            }
        }
    } else {
        for (int c = 0; c < ch; c++) {
            float *dst = ub_image_plane(img, c) + y * w;
            for (int64_t x = 0; x < w; x++) dst[x] = (float)row[x * ch + c] / 255.0f;
        }
    }
}

/* The part that may longjmp. Everything it allocates hangs off `s`. */
static ub_status decode_inner(png_state *s) {
    if (setjmp(s->jump)) return ub__fail(s->ctx, UB_ERR_FORMAT, "%s: corrupt PNG: %s", s->name, s->message);
    png_structp png = s->png;
    png_infop info = s->info;
    png_set_read_fn(png, s, read_bytes);
    png_read_info(png, info);

    png_uint_32 w = 0, h = 0;
    int depth = 0, colour = 0, interlace = 0;
    png_get_IHDR(png, info, &w, &h, &depth, &colour, &interlace, NULL, NULL);
    /* Expand everything to 8 or 16 bits per sample, grey/GA/RGB/RGBA. */
    if (colour == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (colour == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
    int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);

    int channels = png_get_channels(png, info);
    int out_depth = png_get_bit_depth(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    ub_status st = ub__image_alloc(s->ctx, s->name, w, h, channels, &s->img);
    if (st) return st;
    s->img->bit_depth = out_depth == 16 ? 16 : 8;

    if (passes == 1) {
        s->row = malloc(rowbytes);
        if (!s->row) return ub__fail(s->ctx, UB_ERR_NOMEM, "%s: out of memory", s->name);
        for (png_uint_32 y = 0; y < h; y++) {
            png_read_row(png, s->row, NULL);
            unpack_row(s->row, s->img, y, out_depth);
        }
    } else {
        /* Interlaced: the passes fill the whole image, so it is held once as bytes. */
        size_t total;
        if (!ub__mul_size(rowbytes, h, &total))
            return ub__fail(s->ctx, UB_ERR_LIMIT, "%s: image too large", s->name);
        s->row = malloc(total);
        s->rows = malloc(sizeof(png_bytep) * h);
        if (!s->row || !s->rows) return ub__fail(s->ctx, UB_ERR_NOMEM, "%s: out of memory", s->name);
        for (png_uint_32 y = 0; y < h; y++) s->rows[y] = s->row + (size_t)y * rowbytes;
        png_read_image(png, s->rows);
        for (png_uint_32 y = 0; y < h; y++) unpack_row(s->rows[y], s->img, y, out_depth);
    }
    /* Read to IEND so that a file cut after its pixel data is still reported as truncated. */
    png_read_end(png, NULL);
    return UB_OK;
}

ub_status ub__png_decode(ub_ctx *ctx, ub__source *src, const char *name, ub_image **out) {
    png_state s = {.ctx = ctx, .name = name, .src = src};
    s.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &s, on_error, on_warning);
    if (s.png) s.info = png_create_info_struct(s.png);
    if (!s.png || !s.info) {
        png_destroy_read_struct(&s.png, NULL, NULL);
        return ub__fail(ctx, UB_ERR_NOMEM, "%s: out of memory", name);
    }
    /* libpng rejects more than 1,000,000 columns or rows by default; keep that, and
       bound ancillary chunks, so a hostile header cannot make it allocate much. */
    png_set_chunk_malloc_max(s.png, 8u << 20);
    /* ... and skip the ancillary chunks unblur never uses: libpng would otherwise
       allocate a text or profile chunk of whatever length its header claims
       (a 100-byte file claiming a 512 MB zTXt cost 500 MB before this). */
    static const png_byte ignored[] = "tEXt\0zTXt\0iTXt\0iCCP\0sPLT\0eXIf\0pCAL\0sCAL\0hIST\0tIME\0"
                                      "pHYs\0oFFs\0sBIT\0bKGD\0";
    png_set_keep_unknown_chunks(s.png, PNG_HANDLE_CHUNK_NEVER, ignored, (int)(sizeof ignored / 5));
    png_set_keep_unknown_chunks(s.png, PNG_HANDLE_CHUNK_NEVER, NULL, 0);
    ub_status st = decode_inner(&s);
    png_destroy_read_struct(&s.png, &s.info, NULL);
    free(s.row);
    free(s.rows);
    if (st) ub_image_destroy(&s.img);
    *out = s.img;
    return st;
}

/* Planar floats of row y -> interleaved 8/16-bit big-endian samples. */
static void pack_row(const ub_image *img, int64_t y, int depth, png_byte *row) {
    const int ch = img->channels;
    const int64_t w = img->width;
    for (int c = 0; c < ch; c++) {
        const float *src = ub_image_plane(img, c) + y * w;
        if (depth == 16) {
            for (int64_t x = 0; x < w; x++) {
                unsigned v = ub__quantize(src[x], 65535);
                row[2 * (x * ch + c)] = (png_byte)(v >> 8);
                row[2 * (x * ch + c) + 1] = (png_byte)(v & 0xff);
            }
        } else {
            for (int64_t x = 0; x < w; x++) row[x * ch + c] = (png_byte)ub__quantize(src[x], 255);
        }
    }
}

static ub_status encode_inner(png_state *s, const ub_image *img, int depth) {
    if (setjmp(s->jump)) return ub__fail(s->ctx, UB_ERR_IO, "%s: cannot write PNG: %s", s->name, s->message);
    static const int colour_types[5] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                                        PNG_COLOR_TYPE_RGB_ALPHA};
    if (img->width > 0x7fffffff || img->height > 0x7fffffff)
        return ub__fail(s->ctx, UB_ERR_LIMIT, "%s: image too large for PNG", s->name);
    size_t rowbytes;
    if (!ub__mul3_size((size_t)img->width, (size_t)img->channels, (size_t)(depth / 8), &rowbytes))
        return ub__fail(s->ctx, UB_ERR_LIMIT, "%s: image too large", s->name);
    s->row = malloc(rowbytes);
    if (!s->row) return ub__fail(s->ctx, UB_ERR_NOMEM, "%s: out of memory", s->name);
    png_set_write_fn(s->png, s, write_bytes, flush_bytes);
    png_set_IHDR(s->png, s->info, (png_uint_32)img->width, (png_uint_32)img->height, depth,
                 colour_types[img->channels], PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    /* zlib level 3, not libpng's 6: 2.8x faster on a 12 MP photo for a file 6 % larger (measured
       with OpenCV's encoder, which is the same libpng and zlib) */
    png_set_compression_level(s->png, 3);
    png_write_info(s->png, s->info);
    for (int64_t y = 0; y < img->height; y++) {
        pack_row(img, y, depth, s->row);
        png_write_row(s->png, s->row);
    }
    png_write_end(s->png, NULL);
    return UB_OK;
}

ub_status ub__png_encode(ub_ctx *ctx, const ub_image *img, int bit_depth, ub__sink *sink, const char *name) {
    png_state s = {.ctx = ctx, .name = name, .sink = sink};
    s.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &s, on_error, on_warning);
    if (s.png) s.info = png_create_info_struct(s.png);
    if (!s.png || !s.info) {
        png_destroy_write_struct(&s.png, NULL);
        return ub__fail(ctx, UB_ERR_NOMEM, "%s: out of memory", name);
    }
    ub_status st = encode_inner(&s, img, bit_depth);
    png_destroy_write_struct(&s.png, &s.info);
    free(s.row);
    return st;
}
