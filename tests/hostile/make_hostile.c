/* make_hostile — writes a battery of hostile (and a few valid) PNG/JPEG files.

   Usage: make_hostile OUTDIR

   Every file is built byte by byte here (PNG chunks with zlib's crc32 and
   compress2; JPEG bases with libjpeg, then patched copies), so each case is
   exactly controlled and reproducible.

   For every file written, one line goes to stdout:
       NAME <TAB> EXPECT <TAB> DESCRIPTION
   EXPECT has four characters, the expected exit status of, in order,
       unblur info IN
       unblur convert IN out/x.png
       unblur convert IN out/x.jpg
       unblur metrics IN IN
   each '0' (must succeed), '1' (must fail cleanly) or '*' (either, but
   cleanly: no crash, no sanitizer report, one-line error, no stray file).
   run_hostile.sh reads these lines as its manifest. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <png.h>
#include <zlib.h>

/* ------------------------------------------------------------------ */
/* growable byte buffer                                                 */

typedef struct buf {
    unsigned char *p;
    size_t n, cap;
} buf;

static void die(const char *what) {
    fprintf(stderr, "make_hostile: %s\n", what);
    exit(1);
}

static void reserve(buf *b, size_t extra) {
    if (b->n + extra <= b->cap) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + extra) cap *= 2;
    unsigned char *p = realloc(b->p, cap);
    if (!p) die("out of memory");
    b->p = p;
    b->cap = cap;
}

static void put(buf *b, const void *data, size_t len) {
    reserve(b, len);
    if (len) memcpy(b->p + b->n, data, len);
    b->n += len;
}

static void put8(buf *b, unsigned v) {
    unsigned char c = (unsigned char)v;
    put(b, &c, 1);
}

static void put_be16(buf *b, unsigned v) {
    put8(b, (v >> 8) & 0xFF);
    put8(b, v & 0xFF);
}

static void put_be32(buf *b, uint32_t v) {
    put8(b, (v >> 24) & 0xFF);
    put8(b, (v >> 16) & 0xFF);
    put8(b, (v >> 8) & 0xFF);
    put8(b, v & 0xFF);
}

static void put_le16(buf *b, unsigned v) {
    put8(b, v & 0xFF);
    put8(b, (v >> 8) & 0xFF);
}

static void put_le32(buf *b, uint32_t v) {
    put8(b, v & 0xFF);
    put8(b, (v >> 8) & 0xFF);
    put8(b, (v >> 16) & 0xFF);
    put8(b, (v >> 24) & 0xFF);
}

static void set_be16(unsigned char *p, unsigned v) {
    p[0] = (unsigned char)((v >> 8) & 0xFF);
    p[1] = (unsigned char)(v & 0xFF);
}

static void set_be32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)((v >> 24) & 0xFF);
    p[1] = (unsigned char)((v >> 16) & 0xFF);
    p[2] = (unsigned char)((v >> 8) & 0xFF);
    p[3] = (unsigned char)(v & 0xFF);
}

static uint32_t get_be32(const unsigned char *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static unsigned get_be16(const unsigned char *p) {
    return ((unsigned)p[0] << 8) | p[1];
}

static buf copy_of(const buf *src) {
    buf b = {0};
    put(&b, src->p, src->n);
    return b;
}

static void free_buf(buf *b) {
    free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
}

/* ------------------------------------------------------------------ */
/* output                                                               */

static const char *g_dir;
static int g_count;

static void emit(const char *name, const char *expect, const void *data, size_t len,
                 const char *desc) {
    size_t need = strlen(g_dir) + strlen(name) + 2;
    char *path = malloc(need);
    if (!path) die("out of memory");
    snprintf(path, need, "%s/%s", g_dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "make_hostile: %s: %s\n", path, strerror(errno));
        exit(1);
    }
    if (len && fwrite(data, 1, len, f) != len) die("write failed");
    if (fclose(f) != 0) die("close failed");
    free(path);
    printf("%s\t%s\t%s\n", name, expect, desc);
    g_count++;
}

static void emit_buf(const char *name, const char *expect, const buf *b, const char *desc) {
    emit(name, expect, b->p, b->n, desc);
}

/* the first `len` bytes of b */
static void emit_cut(const char *name, const char *expect, const buf *b, size_t len,
                     const char *desc) {
    if (len > b->n) die("cut past the end");
    emit(name, expect, b->p, len, desc);
}

/* ------------------------------------------------------------------ */
/* PNG by hand                                                          */

static const unsigned char png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

/* A chunk with a correct CRC. */
static void png_chunk(buf *b, const char *type, const void *data, uint32_t len) {
    put_be32(b, len);
    size_t start = b->n;
    put(b, type, 4);
    put(b, data, len);
    uLong crc = crc32(0L, b->p + start, (uInt)(4 + len));
    put_be32(b, (uint32_t)crc);
}

/* A chunk whose length field says `len_field` but carries `data_len` bytes, with
   the given CRC (or the correct CRC of what is there when crc_ok). */
static void png_chunk_raw(buf *b, uint32_t len_field, const char *type, const void *data,
                          size_t data_len, int crc_ok, uint32_t crc) {
    put_be32(b, len_field);
    size_t start = b->n;
    put(b, type, 4);
    put(b, data, data_len);
    if (crc_ok) crc = (uint32_t)crc32(0L, b->p + start, (uInt)(4 + data_len));
    put_be32(b, crc);
}

static void ihdr_data(unsigned char d[13], uint32_t w, uint32_t h, int depth, int ctype,
                      int interlace) {
    set_be32(d, w);
    set_be32(d + 4, h);
    d[8] = (unsigned char)depth;
    d[9] = (unsigned char)ctype;
    d[10] = 0; /* compression */
    d[11] = 0; /* filter */
    d[12] = (unsigned char)interlace;
}

static void png_ihdr(buf *b, uint32_t w, uint32_t h, int depth, int ctype, int interlace) {
    unsigned char d[13];
    ihdr_data(d, w, h, depth, ctype, interlace);
    png_chunk(b, "IHDR", d, 13);
}

static int png_channels(int ctype) {
    switch (ctype) {
    case 0: return 1;
    case 2: return 3;
    case 3: return 1;
    case 4: return 2;
    case 6: return 4;
    default: return 1;
    }
}

/* Filtered (filter type 0) non-interlaced raw scanlines with a deterministic pattern.
   `max_index` > 0 limits sample values (for palette images: indices < max_index). */
static buf png_raw(uint32_t w, uint32_t h, int depth, int ctype, unsigned max_index) {
    buf r = {0};
    size_t bits = (size_t)w * (size_t)png_channels(ctype) * (size_t)depth;
    size_t rowbytes = (bits + 7) / 8;
    unsigned seed = 12345;
    for (uint32_t y = 0; y < h; y++) {
        put8(&r, 0);
        if (max_index) {
            /* pack indices of `depth` bits */
            unsigned char acc = 0;
            int nbits = 0;
            for (uint32_t x = 0; x < w; x++) {
                unsigned v = (x + y * 3) % max_index;
                acc = (unsigned char)(acc | (v << (8 - depth - nbits)));
                nbits += depth;
                if (nbits == 8) {
                    put8(&r, acc);
                    acc = 0;
                    nbits = 0;
                }
            }
            if (nbits) put8(&r, acc);
        } else {
            for (size_t i = 0; i < rowbytes; i++) {
                seed = seed * 1103515245u + 12345u;
                unsigned v = (unsigned)((i * 7 + y * 13) & 0xFF) ^ ((seed >> 16) & 0x0F);
                put8(&r, v);
            }
        }
    }
    return r;
}

static buf zcompress(const void *data, size_t len) {
    buf z = {0};
    uLongf zlen = compressBound((uLong)len);
    reserve(&z, zlen);
    if (compress2(z.p, &zlen, data, (uLong)len, 9) != Z_OK) die("compress2 failed");
    z.n = zlen;
    return z;
}

/* A whole PNG: signature, IHDR, optional PLTE/tRNS, one IDAT from `raw`, IEND. */
static buf png_build(uint32_t w, uint32_t h, int depth, int ctype, int interlace,
                     const unsigned char *plte, uint32_t plte_len, const unsigned char *trns,
                     uint32_t trns_len, const buf *raw) {
    buf b = {0};
    put(&b, png_sig, 8);
    png_ihdr(&b, w, h, depth, ctype, interlace);
    if (plte) png_chunk(&b, "PLTE", plte, plte_len);
    if (trns) png_chunk(&b, "tRNS", trns, trns_len);
    buf z = zcompress(raw->p, raw->n);
    png_chunk(&b, "IDAT", z.p, (uint32_t)z.n);
    free_buf(&z);
    png_chunk(&b, "IEND", NULL, 0);
    return b;
}

/* Offset of the length field of the first chunk of `type`, or die. */
static size_t png_find(const buf *b, const char *type) {
    size_t pos = 8;
    while (pos + 8 <= b->n) {
        uint32_t len = get_be32(b->p + pos);
        if (memcmp(b->p + pos + 4, type, 4) == 0) return pos;
        pos += 12 + (size_t)len;
    }
    die("chunk not found");
    return 0;
}

/* Writes a PNG with libpng into memory (used for the interlaced control). */
static void png_mem_write(png_structp png, png_bytep data, size_t len) {
    put((buf *)png_get_io_ptr(png), data, len);
}
static void png_mem_flush(png_structp png) {
    (void)png;
}

static buf libpng_rgb_interlaced(uint32_t w, uint32_t h) {
    buf out = {0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    if (!png) die("png_create_write_struct");
    png_infop info = png_create_info_struct(png);
    if (!info) die("png_create_info_struct");
    unsigned char *pixels = malloc((size_t)w * h * 3);
    png_bytep *rows = malloc(sizeof(png_bytep) * h);
    if (!pixels || !rows) die("out of memory");
    for (uint32_t y = 0; y < h; y++) {
        rows[y] = pixels + (size_t)y * w * 3;
        for (uint32_t x = 0; x < w; x++) {
            rows[y][3 * x + 0] = (unsigned char)(x * 255 / (w - 1));
            rows[y][3 * x + 1] = (unsigned char)(y * 255 / (h - 1));
            rows[y][3 * x + 2] = (unsigned char)((x * y * 5) & 0xFF);
        }
    }
    if (setjmp(png_jmpbuf(png))) die("libpng write failed");
    png_set_write_fn(png, &out, png_mem_write, png_mem_flush);
    png_set_IHDR(png, info, w, h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_ADAM7,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    png_write_image(png, rows);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    free(rows);
    free(pixels);
    return out;
}

/* ------------------------------------------------------------------ */
/* JPEG with libjpeg                                                    */

enum { J_RGB, J_GREY, J_CMYK, J_YCCK, J_TWO };

static buf jpeg_make(int w, int h, int kind, int progressive, int quality) {
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    unsigned char *mem = NULL;
    unsigned long memlen = 0;
    int comps = kind == J_GREY ? 1 : kind == J_TWO ? 2 : (kind == J_CMYK || kind == J_YCCK) ? 4 : 3;

    c.err = jpeg_std_error(&err); /* default error_exit: exits, fine for a generator */
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &mem, &memlen);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = comps;
    c.in_color_space = kind == J_GREY ? JCS_GRAYSCALE
                       : kind == J_TWO ? JCS_UNKNOWN
                       : (kind == J_CMYK || kind == J_YCCK) ? JCS_CMYK
                                                             : JCS_RGB;
    jpeg_set_defaults(&c);
    if (kind == J_CMYK) jpeg_set_colorspace(&c, JCS_CMYK);
    if (kind == J_YCCK) jpeg_set_colorspace(&c, JCS_YCCK);
    jpeg_set_quality(&c, quality, TRUE);
    if (progressive) jpeg_simple_progression(&c);
    jpeg_start_compress(&c, TRUE);
    unsigned char *row = malloc((size_t)w * (size_t)comps);
    if (!row) die("out of memory");
    while (c.next_scanline < c.image_height) {
        int y = (int)c.next_scanline;
        for (int x = 0; x < w; x++)
            for (int k = 0; k < comps; k++)
                row[x * comps + k] = (unsigned char)((x * 255 / w + y * 97 / h * (k + 1) + k * 40 +
                                                      ((x ^ y) & 7) * 3) & 0xFF);
        JSAMPROW rp = row;
        jpeg_write_scanlines(&c, &rp, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    free(row);
    buf b = {0};
    put(&b, mem, memlen);
    free(mem);
    return b;
}

/* Offset of the first marker FF `code` in the header segments (before the first
   scan's data), or 0 when absent. */
static size_t jpeg_find(const buf *b, unsigned code) {
    size_t pos = 2;
    while (pos + 4 <= b->n) {
        if (b->p[pos] != 0xFF) die("jpeg_find: not at a marker");
        unsigned m = b->p[pos + 1];
        if (m == code) return pos;
        if (m == 0xD9 || m == 0xDA) break;
        pos += 2 + get_be16(b->p + pos + 2);
    }
    return 0;
}

/* Offset of the first byte of entropy-coded data of the first scan. */
static size_t jpeg_scan_start(const buf *b) {
    size_t pos = 2;
    while (pos + 4 <= b->n) {
        unsigned m = b->p[pos + 1];
        size_t len = get_be16(b->p + pos + 2);
        if (m == 0xDA) return pos + 2 + len;
        pos += 2 + len;
    }
    die("no SOS");
    return 0;
}

static size_t jpeg_sof(const buf *b) {
    size_t p = jpeg_find(b, 0xC0);
    if (!p) p = jpeg_find(b, 0xC2);
    if (!p) die("no SOF");
    return p;
}

/* SOI + `seg` + the rest of `base` after its SOI. */
static buf jpeg_insert_after_soi(const buf *base, const buf *seg) {
    buf b = {0};
    put(&b, base->p, 2);
    put(&b, seg->p, seg->n);
    put(&b, base->p + 2, base->n - 2);
    return b;
}

/* An APP1 Exif segment around a TIFF body (length computed). */
static buf exif_app1(const buf *tiff) {
    buf s = {0};
    put8(&s, 0xFF);
    put8(&s, 0xE1);
    put_be16(&s, (unsigned)(2 + 6 + tiff->n));
    put(&s, "Exif\0\0", 6);
    put(&s, tiff->p, tiff->n);
    return s;
}

static void ifd_entry_le(buf *t, unsigned tag, unsigned type, uint32_t count, uint32_t value) {
    put_le16(t, tag);
    put_le16(t, type);
    put_le32(t, count);
    put_le32(t, value);
}

/* Emits a JPEG made of `base` with an Exif APP1 built from `tiff`. */
static void emit_exif(const char *name, const char *expect, const buf *base, buf *tiff,
                      const char *desc) {
    buf seg = exif_app1(tiff);
    buf j = jpeg_insert_after_soi(base, &seg);
    emit_buf(name, expect, &j, desc);
    free_buf(&j);
    free_buf(&seg);
    free_buf(tiff);
}

/* ------------------------------------------------------------------ */

static void make_png_cases(void) {
    /* the base: 16x16 8-bit RGB, valid */
    buf raw = png_raw(16, 16, 8, 2, 0);
    buf base = png_build(16, 16, 8, 2, 0, NULL, 0, NULL, 0, &raw);
    size_t ihdr = png_find(&base, "IHDR");
    size_t idat = png_find(&base, "IDAT");
    uint32_t idat_len = get_be32(base.p + idat);
    size_t iend = png_find(&base, "IEND");

    emit_buf("ok_rgb8.png", "0000", &base, "valid 16x16 8-bit RGB PNG (positive control)");

    /* truncations */
    emit_cut("png_cut_in_signature.png", "1111", &base, 4, "PNG cut inside the 8-byte signature");
    emit_cut("png_sig_only.png", "1111", &base, 8, "PNG signature only");
    emit_cut("png_cut_in_ihdr.png", "1111", &base, ihdr + 8 + 6, "PNG cut inside the IHDR data");
    emit_cut("png_cut_mid_idat.png", "1111", &base, idat + 8 + idat_len / 2,
             "PNG cut in the middle of the IDAT data");
    emit_cut("png_cut_before_idat_crc.png", "1111", &base, idat + 8 + idat_len,
             "PNG cut after the IDAT data, before its CRC");
    emit_cut("png_no_iend.png", "****", &base, iend,
             "PNG complete up to IDAT, IEND missing (tolerated or refused, cleanly)");

    /* CRC errors */
    {
        buf b = copy_of(&base);
        b.p[ihdr + 8 + 13] ^= 0x55;
        emit_buf("png_bad_crc_ihdr.png", "1111", &b, "PNG with a wrong IHDR CRC");
        free_buf(&b);
        b = copy_of(&base);
        b.p[idat + 8 + idat_len] ^= 0x55;
        emit_buf("png_bad_crc_idat.png", "1111", &b, "PNG with a wrong IDAT CRC");
        free_buf(&b);
    }

    /* IHDR dimension and format abuse, each followed by the base IDAT and IEND */
    struct {
        const char *name, *desc;
        uint32_t w, h;
        int depth, ctype, interlace;
    } hdr[] = {
        {"png_dim_2g_minus1.png", "PNG IHDR 2147483647 x 2147483647 (max legal), tiny IDAT",
         0x7FFFFFFFu, 0x7FFFFFFFu, 8, 2, 0},
        {"png_dim_2g.png", "PNG IHDR 2147483648 x 2147483648 (illegal: > 2^31-1)", 0x80000000u,
         0x80000000u, 8, 2, 0},
        {"png_dim_4g.png", "PNG IHDR 0xFFFFFFFF x 0xFFFFFFFF (illegal; w*h overflows int64)",
         0xFFFFFFFFu, 0xFFFFFFFFu, 8, 2, 0},
        {"png_zero_width.png", "PNG IHDR width 0", 0, 16, 8, 2, 0},
        {"png_zero_height.png", "PNG IHDR height 0", 16, 0, 8, 2, 0},
        {"png_wide_1g_x1.png", "PNG IHDR 1073741824 x 1 RGBA16 (row bytes overflow 32 bits)",
         0x40000000u, 1, 16, 6, 0},
        {"png_rgb_depth4.png", "PNG colour type 2 (RGB) with bit depth 4 (illegal combination)",
         16, 16, 4, 2, 0},
        {"png_palette_depth16.png", "PNG colour type 3 (palette) with bit depth 16 (illegal)", 16,
         16, 16, 3, 0},
        {"png_colour_type5.png", "PNG colour type 5 (does not exist)", 16, 16, 8, 5, 0},
        {"png_depth3.png", "PNG grey with bit depth 3 (illegal)", 16, 16, 3, 0, 0},
        {"png_interlace2.png", "PNG interlace method 2 (does not exist)", 16, 16, 8, 2, 2},
    };
    for (size_t i = 0; i < sizeof hdr / sizeof hdr[0]; i++) {
        buf b = {0};
        put(&b, png_sig, 8);
        png_ihdr(&b, hdr[i].w, hdr[i].h, hdr[i].depth, hdr[i].ctype, hdr[i].interlace);
        put(&b, base.p + idat, base.n - idat);
        emit_buf(hdr[i].name, "1111", &b, hdr[i].desc);
        free_buf(&b);
    }

    /* IHDR: compression / filter method not 0 */
    {
        unsigned char d[13];
        ihdr_data(d, 16, 16, 8, 2, 0);
        d[10] = 1;
        buf b = {0};
        put(&b, png_sig, 8);
        png_chunk(&b, "IHDR", d, 13);
        put(&b, base.p + idat, base.n - idat);
        emit_buf("png_compression1.png", "1111", &b, "PNG IHDR compression method 1 (illegal)");
        free_buf(&b);
        /* IHDR with length 12 (correct CRC of what is there) */
        b = (buf){0};
        put(&b, png_sig, 8);
        ihdr_data(d, 16, 16, 8, 2, 0);
        png_chunk(&b, "IHDR", d, 12);
        put(&b, base.p + idat, base.n - idat);
        emit_buf("png_ihdr_len12.png", "1111", &b, "PNG IHDR chunk of length 12 instead of 13");
        free_buf(&b);
    }

    /* huge but legal header + tiny IDAT: must be refused by the pixel limit */
    {
        buf row = png_raw(20000, 1, 8, 2, 0);
        buf z = zcompress(row.p, row.n);
        buf b = {0};
        put(&b, png_sig, 8);
        png_ihdr(&b, 20000, 20000, 8, 2, 0);
        png_chunk(&b, "IDAT", z.p, (uint32_t)z.n);
        png_chunk(&b, "IEND", NULL, 0);
        emit_buf("png_huge_20000x20000.png", "1111", &b,
                 "legal PNG header 20000x20000 RGB8 (400 MP > default limit), one row of data");
        free_buf(&b);
        free_buf(&z);
        free_buf(&row);

        /* within the limit (16 MP) but only 2 rows of data: truncated, fails cleanly */
        row = png_raw(4000, 2, 8, 2, 0);
        z = zcompress(row.p, row.n);
        b = (buf){0};
        put(&b, png_sig, 8);
        png_ihdr(&b, 4000, 4000, 8, 2, 0);
        png_chunk(&b, "IDAT", z.p, (uint32_t)z.n);
        png_chunk(&b, "IEND", NULL, 0);
        emit_buf("png_4000x4000_2rows.png", "1111", &b,
                 "legal PNG header 4000x4000 RGB8 (under the limit), zlib stream ends after 2 rows");
        free_buf(&b);
        free_buf(&z);
        free_buf(&row);
    }

    /* palette cases */
    {
        unsigned char plte[16 * 3], trns[16];
        for (int i = 0; i < 16; i++) {
            plte[3 * i] = (unsigned char)(i * 16);
            plte[3 * i + 1] = (unsigned char)(255 - i * 16);
            plte[3 * i + 2] = (unsigned char)(i * 5);
            trns[i] = (unsigned char)(i * 17);
        }
        buf praw = png_raw(16, 16, 4, 3, 16);
        buf b = png_build(16, 16, 4, 3, 0, plte, sizeof plte, trns, sizeof trns, &praw);
        emit_buf("ok_palette4_trns.png", "0010", &b,
                 "valid 4-bit palette PNG with tRNS (alpha: JPEG output must be refused)");
        free_buf(&b);

        b = png_build(16, 16, 4, 3, 0, NULL, 0, NULL, 0, &praw);
        emit_buf("png_palette_no_plte.png", "1111", &b, "palette PNG without a PLTE chunk");
        free_buf(&b);

        b = png_build(16, 16, 4, 3, 0, plte, 3 * 2, NULL, 0, &praw);
        emit_buf("png_palette_index_oob.png", "****", &b,
                 "4-bit palette PNG, PLTE of 2 entries, indices up to 15 (clean error or decode, "
                 "no out-of-bounds read)");
        free_buf(&b);

        buf raw8 = png_raw(16, 16, 8, 3, 256);
        b = png_build(16, 16, 8, 3, 0, plte, 3 * 1, NULL, 0, &raw8);
        emit_buf("png_palette8_index255.png", "****", &b,
                 "8-bit palette PNG, PLTE of 1 entry, indices up to 255");
        free_buf(&b);
        free_buf(&raw8);

        b = png_build(16, 16, 4, 3, 0, plte, 4, NULL, 0, &praw);
        emit_buf("png_plte_len4.png", "1111", &b, "palette PNG whose PLTE length (4) is not a multiple of 3");
        free_buf(&b);

        unsigned char big[257 * 3];
        memset(big, 7, sizeof big);
        b = png_build(16, 16, 4, 3, 0, big, sizeof big, NULL, 0, &praw);
        emit_buf("png_plte_257.png", "1111", &b, "palette PNG with 257 PLTE entries");
        free_buf(&b);

        unsigned char trns_long[64];
        memset(trns_long, 0x80, sizeof trns_long);
        b = png_build(16, 16, 4, 3, 0, plte, 3 * 4, trns_long, sizeof trns_long, &praw);
        emit_buf("png_trns_longer_than_plte.png", "****", &b,
                 "palette PNG, PLTE 4 entries, tRNS 64 entries, indices up to 15");
        free_buf(&b);
        free_buf(&praw);
    }

    /* zlib / filter / chunk-order abuse */
    {
        buf b = copy_of(&base);
        /* corrupt the deflate data after the 2-byte zlib header, then fix the CRC */
        for (uint32_t i = 2; i < idat_len - 4 && i < 40; i++) b.p[idat + 8 + i] ^= 0xA5;
        uLong crc = crc32(0L, b.p + idat + 4, 4 + idat_len);
        set_be32(b.p + idat + 8 + idat_len, (uint32_t)crc);
        emit_buf("png_idat_bad_zlib.png", "1111", &b, "PNG IDAT with a corrupt deflate stream (CRC correct)");
        free_buf(&b);

        b = copy_of(&base);
        b.p[idat + 8] = 0x78;
        b.p[idat + 9] = 0x00; /* bad zlib header check bits */
        crc = crc32(0L, b.p + idat + 4, 4 + idat_len);
        set_be32(b.p + idat + 8 + idat_len, (uint32_t)crc);
        emit_buf("png_idat_bad_zlib_header.png", "1111", &b, "PNG IDAT with an invalid zlib header");
        free_buf(&b);

        /* raw with an illegal filter type 7 on row 5 */
        buf r = png_raw(16, 16, 8, 2, 0);
        r.p[5 * (1 + 48)] = 7;
        b = png_build(16, 16, 8, 2, 0, NULL, 0, NULL, 0, &r);
        emit_buf("png_bad_filter_type.png", "1111", &b, "PNG with row filter type 7 on row 5");
        free_buf(&b);
        free_buf(&r);

        /* too little data: only 8 rows in a complete zlib stream */
        r = png_raw(16, 8, 8, 2, 0);
        b = png_build(16, 16, 8, 2, 0, NULL, 0, NULL, 0, &r);
        emit_buf("png_idat_short.png", "1111", &b,
                 "PNG 16x16 whose complete zlib stream holds only 8 rows");
        free_buf(&b);
        free_buf(&r);

        /* too much data: 32 rows for a 16-row image */
        r = png_raw(16, 32, 8, 2, 0);
        b = png_build(16, 16, 8, 2, 0, NULL, 0, NULL, 0, &r);
        emit_buf("png_idat_extra.png", "****", &b, "PNG 16x16 whose zlib stream holds 32 rows");
        free_buf(&b);
        free_buf(&r);

        /* no IDAT at all */
        b = (buf){0};
        put(&b, base.p, idat);
        png_chunk(&b, "IEND", NULL, 0);
        emit_buf("png_no_idat.png", "1111", &b, "PNG with IHDR and IEND but no IDAT");
        free_buf(&b);

        /* zero-length IDAT */
        b = (buf){0};
        put(&b, base.p, idat);
        png_chunk(&b, "IDAT", NULL, 0);
        png_chunk(&b, "IEND", NULL, 0);
        emit_buf("png_idat_empty.png", "1111", &b, "PNG with a zero-length IDAT");
        free_buf(&b);

        /* IDAT before IHDR */
        b = (buf){0};
        put(&b, png_sig, 8);
        put(&b, base.p + idat, iend - idat);
        put(&b, base.p + ihdr, idat - ihdr);
        png_chunk(&b, "IEND", NULL, 0);
        emit_buf("png_idat_before_ihdr.png", "1111", &b, "PNG with IDAT before IHDR");
        free_buf(&b);

        /* two IHDRs */
        b = (buf){0};
        put(&b, base.p, idat);
        png_ihdr(&b, 64, 64, 8, 2, 0);
        put(&b, base.p + idat, base.n - idat);
        emit_buf("png_two_ihdr.png", "1111", &b, "PNG with a second IHDR (64x64) before IDAT");
        free_buf(&b);

        /* a chunk claiming 0xFFFFFFFF bytes */
        b = (buf){0};
        put(&b, base.p, idat);
        png_chunk_raw(&b, 0xFFFFFFFFu, "tEXt", "a\0b", 3, 0, 0);
        put(&b, base.p + idat, base.n - idat);
        emit_buf("png_chunk_len_4g.png", "1111", &b, "PNG with a tEXt chunk whose length is 0xFFFFFFFF");
        free_buf(&b);

        /* an ancillary chunk claiming 512 MiB, then end of file: libpng only warns
           that it exceeds png_set_chunk_malloc_max() and allocates it anyway
           unless benign errors are errors or the chunk is ignored */
        b = (buf){0};
        put(&b, base.p, idat);
        png_chunk_raw(&b, 0x20000000u, "zTXt", "k\0\0x", 4, 0, 0);
        emit_buf("png_ztxt_len_512m.png", "1111", &b,
                 "PNG with a zTXt chunk claiming 512 MiB, file ends 4 bytes into it");
        free_buf(&b);

        /* an IDAT claiming 2^31-1 bytes holding a few */
        b = (buf){0};
        put(&b, base.p, idat);
        png_chunk_raw(&b, 0x7FFFFFFFu, "IDAT", base.p + idat + 8, idat_len, 0, 0);
        emit_buf("png_idat_len_2g.png", "1111", &b, "PNG IDAT length field 2^31-1, file much shorter");
        free_buf(&b);

        /* unknown critical chunk */
        b = (buf){0};
        put(&b, base.p, idat);
        png_chunk(&b, "XYZW", "hello", 5);
        put(&b, base.p + idat, base.n - idat);
        emit_buf("png_unknown_critical.png", "1111", &b,
                 "PNG with an unknown critical chunk 'XYZW' before IDAT");
        free_buf(&b);
    }

    /* valid controls of other kinds */
    {
        buf r = png_raw(16, 16, 16, 4, 0);
        buf b = png_build(16, 16, 16, 4, 0, NULL, 0, NULL, 0, &r);
        emit_buf("ok_grey_alpha16.png", "0010", &b,
                 "valid 16x16 16-bit grey+alpha PNG (alpha: JPEG output must be refused)");
        free_buf(&b);
        free_buf(&r);

        r = png_raw(16, 16, 1, 0, 0);
        b = png_build(16, 16, 1, 0, 0, NULL, 0, NULL, 0, &r);
        emit_buf("ok_grey1.png", "0000", &b, "valid 16x16 1-bit grey PNG");
        free_buf(&b);
        free_buf(&r);

        b = libpng_rgb_interlaced(23, 19);
        emit_buf("ok_rgb_interlaced.png", "0000", &b, "valid 23x19 Adam7-interlaced RGB PNG (libpng)");
        free_buf(&b);

        r = png_raw(1, 1, 8, 2, 0);
        b = png_build(1, 1, 8, 2, 0, NULL, 0, NULL, 0, &r);
        emit_buf("ok_1x1.png", "0001", &b,
                 "valid 1x1 RGB PNG (metrics must refuse it cleanly: SSIM needs 11x11)");
        free_buf(&b);
        free_buf(&r);

        emit_buf("ok_png_named.jpg", "0000", &base,
                 "valid PNG named .jpg (format comes from the bytes)");
    }

    free_buf(&raw);
    free_buf(&base);
}

static void make_jpeg_cases(void) {
    buf base = jpeg_make(32, 24, J_RGB, 0, 85);
    size_t sof = jpeg_sof(&base);
    size_t dqt = jpeg_find(&base, 0xDB);
    size_t dht = jpeg_find(&base, 0xC4);
    size_t scan = jpeg_scan_start(&base);
    size_t scan_len = base.n - 2 - scan;
    if (!dqt || !dht) die("base JPEG lacks DQT/DHT");

    emit_buf("ok_rgb.jpg", "0000", &base, "valid 32x24 baseline YCbCr JPEG (libjpeg)");
    emit_buf("ok_jpeg_named.png", "0000", &base, "valid JPEG named .png (format comes from the bytes)");
    {
        buf b = jpeg_make(32, 24, J_GREY, 0, 85);
        emit_buf("ok_grey.jpg", "0000", &b, "valid 32x24 greyscale JPEG");
        free_buf(&b);
        b = jpeg_make(32, 24, J_RGB, 1, 85);
        emit_buf("ok_progressive.jpg", "0000", &b, "valid 32x24 progressive JPEG");
        /* cut a progressive file in the middle (after some scans) */
        emit_cut("jpg_progressive_cut.jpg", "1111", &b, b.n / 2, "progressive JPEG cut at half its size");
        /* progressive headers claiming far more pixels than the scans hold: libjpeg
           allocates whole-image coefficient arrays in jpeg_start_decompress, so the
           pixel limit must be checked after jpeg_read_header, and the missing data
           (a warning in libjpeg) must stop the decoding early */
        {
            size_t psof = jpeg_sof(&b);
            buf p = copy_of(&b);
            set_be16(p.p + psof + 5, 11000);
            set_be16(p.p + psof + 7, 11000);
            emit_buf("jpg_progressive_11000x11000.jpg", "1111", &p,
                     "progressive JPEG SOF 11000x11000 (121 MP, under the limit) with 32x24 of data");
            set_be16(p.p + psof + 5, 12000);
            set_be16(p.p + psof + 7, 12000);
            emit_buf("jpg_progressive_12000x12000.jpg", "1111", &p,
                     "progressive JPEG SOF 12000x12000 (144 MP, over the default limit)");
            free_buf(&p);
        }
        free_buf(&b);
        b = jpeg_make(32, 24, J_CMYK, 0, 85);
        emit_buf("ok_cmyk_adobe.jpg", "0000", &b,
                 "valid 4-component Adobe CMYK JPEG (converted to RGB per the API docs)");
        free_buf(&b);
        b = jpeg_make(32, 24, J_YCCK, 0, 85);
        emit_buf("ok_ycck_adobe.jpg", "0000", &b, "valid 4-component Adobe YCCK JPEG");
        free_buf(&b);
        b = jpeg_make(32, 24, J_TWO, 0, 85);
        emit_buf("jpg_two_components.jpg", "1111", &b,
                 "JPEG with 2 components of unknown colour space (unsupported)");
        free_buf(&b);
    }

    /* truncations */
    emit_cut("jpg_soi_only.jpg", "1111", &base, 2, "JPEG: SOI marker only");
    emit_cut("jpg_cut_in_soi.jpg", "1111", &base, 1, "JPEG: one byte, 0xFF");
    emit_cut("jpg_cut_in_dqt.jpg", "1111", &base, dqt + 10, "JPEG cut inside the DQT segment");
    emit_cut("jpg_cut_in_sof.jpg", "1111", &base, sof + 9, "JPEG cut inside the SOF segment");
    emit_cut("jpg_cut_after_sos.jpg", "1111", &base, scan, "JPEG cut right after the SOS header");
    emit_cut("jpg_cut_mid_scan.jpg", "1111", &base, scan + scan_len / 2,
             "JPEG cut in the middle of the entropy-coded data (libjpeg only warns: must be an error)");
    emit_cut("jpg_no_eoi.jpg", "****", &base, base.n - 2, "JPEG complete but without EOI");
    {
        buf b = {0};
        put(&b, base.p, base.n - 2);
        put8(&b, 0xFF);
        emit_buf("jpg_cut_in_eoi.jpg", "****", &b, "JPEG whose last byte (0xD9 of EOI) is missing");
        free_buf(&b);
    }

    /* SOF abuse */
    struct {
        const char *name, *desc;
        int off;    /* offset from the SOF marker */
        int width;  /* 1 or 2: bytes patched; 4: height and width both set to value */
        unsigned value;
    } sofp[] = {
        {"jpg_sof_65535x65535.jpg", "JPEG SOF claiming 65535 x 65535", 5, 4, 65535},
        {"jpg_sof_width0.jpg", "JPEG SOF width 0", 7, 2, 0},
        {"jpg_sof_height0.jpg", "JPEG SOF height 0 (DNL, unsupported)", 5, 2, 0},
        {"jpg_sof_12000x12000.jpg", "JPEG SOF 12000 x 12000 (144 MP > default limit), 32x24 of data", 5, 4, 12000},
        {"jpg_sof_precision12.jpg", "JPEG SOF sample precision 12", 4, 1, 12},
        {"jpg_sof_precision0.jpg", "JPEG SOF sample precision 0", 4, 1, 0},
        {"jpg_sof_ncomp0.jpg", "JPEG SOF with 0 components", 9, 1, 0},
        {"jpg_sof_ncomp5.jpg", "JPEG SOF claiming 5 components (length mismatch)", 9, 1, 5},
        {"jpg_sof_sampling_5x5.jpg", "JPEG SOF with sampling factors 5x5 (max is 4)", 11, 1, 0x55},
        {"jpg_sof_sampling_0.jpg", "JPEG SOF with sampling factors 0x0", 11, 1, 0x00},
        {"jpg_sof_qtable_undefined.jpg", "JPEG component using quantisation table 3 (never defined)", 12, 1, 3},
        {"jpg_sof_qtable_oob.jpg", "JPEG component using quantisation table 200", 12, 1, 200},
    };
    for (size_t i = 0; i < sizeof sofp / sizeof sofp[0]; i++) {
        buf b = copy_of(&base);
        unsigned char *p = b.p + sof + sofp[i].off;
        if (sofp[i].width == 4) {
            set_be16(p, sofp[i].value);
            set_be16(p + 2, sofp[i].value);
        } else if (sofp[i].width == 2) {
            set_be16(p, sofp[i].value);
        } else {
            *p = (unsigned char)sofp[i].value;
        }
        emit_buf(sofp[i].name, "1111", &b, sofp[i].desc);
        free_buf(&b);
    }

    /* unsupported / other SOF types */
    struct {
        const char *name, *expect, *desc;
        unsigned marker;
    } soft[] = {
        {"jpg_sof3_lossless.jpg", "1111", "JPEG with SOF3 (lossless Huffman): unsupported", 0xC3},
        {"jpg_sof5_hierarchical.jpg", "1111", "JPEG with SOF5 (differential sequential)", 0xC5},
        {"jpg_sof11_lossless_arith.jpg", "1111", "JPEG with SOF11 (lossless arithmetic)", 0xCB},
        {"jpg_sof9_arith.jpg", "****",
         "JPEG with SOF9 (arithmetic) over Huffman data: garbage in, clean result either way", 0xC9},
        {"jpg_sof1_extended.jpg", "****", "JPEG with SOF1 (extended sequential) over baseline data", 0xC1},
    };
    for (size_t i = 0; i < sizeof soft / sizeof soft[0]; i++) {
        buf b = copy_of(&base);
        b.p[sof + 1] = (unsigned char)soft[i].marker;
        emit_buf(soft[i].name, soft[i].expect, &b, soft[i].desc);
        free_buf(&b);
    }

    /* Huffman / scan / marker abuse */
    {
        buf b = copy_of(&base);
        for (int i = 0; i < 16; i++) b.p[dht + 5 + i] = 0xFF;
        emit_buf("jpg_dht_overfull.jpg", "1111", &b, "JPEG DHT whose code counts sum to 4080 (> 256)");
        free_buf(&b);

        b = copy_of(&base);
        b.p[dht + 4] = 0x07; /* DC table 7: illegal slot */
        emit_buf("jpg_dht_bad_slot.jpg", "1111", &b, "JPEG DHT defining table index 7");
        free_buf(&b);

        /* headers then EOI, no scan */
        size_t sos = 2;
        while (base.p[sos + 1] != 0xDA) sos += 2 + get_be16(base.p + sos + 2);
        b = (buf){0};
        put(&b, base.p, sos);
        put8(&b, 0xFF);
        put8(&b, 0xD9);
        emit_buf("jpg_no_sos.jpg", "1111", &b, "JPEG with all headers then EOI, no scan");
        free_buf(&b);

        /* scan referencing a component id not in the frame */
        b = copy_of(&base);
        b.p[sos + 5] = 0x77;
        emit_buf("jpg_sos_bad_component.jpg", "1111", &b, "JPEG SOS naming component id 0x77 (not in frame)");
        free_buf(&b);

        /* scan referencing an undefined Huffman table */
        b = copy_of(&base);
        b.p[sos + 6] = 0x33;
        emit_buf("jpg_sos_bad_huff_table.jpg", "1111", &b, "JPEG SOS using Huffman tables 3/3 (never defined)");
        free_buf(&b);

        /* entropy data replaced by noise */
        b = copy_of(&base);
        unsigned seed = 99;
        for (size_t i = scan; i < base.n - 2; i++) {
            seed = seed * 1103515245u + 12345u;
            unsigned char v = (unsigned char)(seed >> 16);
            b.p[i] = v == 0xFF ? 0x00 : v;
        }
        emit_buf("jpg_scan_noise.jpg", "****", &b,
                 "JPEG whose entropy-coded data is random noise (libjpeg warns; clean result either way)");
        free_buf(&b);

        /* an APP0 segment with length field 1 (< 2) */
        size_t app0 = jpeg_find(&base, 0xE0);
        if (app0) {
            b = copy_of(&base);
            set_be16(b.p + app0 + 2, 1);
            emit_buf("jpg_app0_len1.jpg", "****", &b, "JPEG APP0 segment with length field 1");
            free_buf(&b);
            b = copy_of(&base);
            set_be16(b.p + app0 + 2, 0xFFFF);
            emit_buf("jpg_app0_len_65535.jpg", "1111", &b,
                     "JPEG APP0 segment with length 65535 (runs past the end of file)");
            free_buf(&b);
        }

        /* a DQT of length 2 (empty) followed by the real one */
        b = (buf){0};
        put(&b, base.p, dqt);
        put8(&b, 0xFF);
        put8(&b, 0xDB);
        put_be16(&b, 67);
        put8(&b, 0x05); /* table 5: illegal */
        for (int i = 0; i < 64; i++) put8(&b, 1);
        put(&b, base.p + dqt, base.n - dqt);
        emit_buf("jpg_dqt_bad_slot.jpg", "1111", &b, "JPEG DQT defining table index 5");
        free_buf(&b);
    }

    /* EXIF (APP1) abuse */
    {
        buf t;
        /* valid orientation 6 (rotate 90 CW), little endian */
        t = (buf){0};
        put(&t, "II*\0", 4);
        put_le32(&t, 8);
        put_le16(&t, 1);
        ifd_entry_le(&t, 0x0112, 3, 1, 6);
        put_le32(&t, 0);
        emit_exif("ok_exif_orient6.jpg", "0000", &base, &t,
                  "valid JPEG with EXIF orientation 6 (comes out 24x32)");

        /* valid orientation 8, big endian */
        t = (buf){0};
        put(&t, "MM\0*", 4);
        put_be32(&t, 8);
        put_be16(&t, 1);
        put_be16(&t, 0x0112);
        put_be16(&t, 3);
        put_be32(&t, 1);
        put_be16(&t, 8);
        put_be16(&t, 0);
        put_be32(&t, 0);
        emit_exif("ok_exif_orient8_mm.jpg", "0000", &base, &t,
                  "valid JPEG with big-endian EXIF orientation 8");

        t = (buf){0};
        put(&t, "II*\0", 4);
        put_le32(&t, 0x1000);
        put_le16(&t, 1);
        ifd_entry_le(&t, 0x0112, 3, 1, 6);
        put_le32(&t, 0);
        emit_exif("jpg_exif_ifd0_past_end.jpg", "****", &base, &t,
                  "JPEG EXIF whose IFD0 offset (0x1000) points past the segment");

        t = (buf){0};
        put(&t, "II*\0", 4);
        put_le32(&t, 0xFFFFFFF8u);
        put_le16(&t, 1);
        ifd_entry_le(&t, 0x0112, 3, 1, 6);
        put_le32(&t, 0);
        emit_exif("jpg_exif_ifd0_offset_wrap.jpg", "****", &base, &t,
                  "JPEG EXIF IFD0 offset 0xFFFFFFF8 (offset + size wraps 32 bits)");

        t = (buf){0};
        put(&t, "II*\0", 4);
        put_le32(&t, 8);
        put_le16(&t, 0xFFFF);
        ifd_entry_le(&t, 0x0112, 3, 1, 6);
        put_le32(&t, 0);
        emit_exif("jpg_exif_count_65535.jpg", "****", &base, &t,
                  "JPEG EXIF IFD0 claiming 65535 entries, 1 present");

        t = (buf){0};
        put(&t, "II", 2);
        emit_exif("jpg_exif_tiff_truncated.jpg", "****", &base, &t,
                  "JPEG EXIF APP1 holding only 'Exif\\0\\0II' (TIFF header cut)");

        t = (buf){0};
        emit_exif("jpg_exif_empty.jpg", "****", &base, &t, "JPEG EXIF APP1 holding only 'Exif\\0\\0'");

        t = (buf){0};
        put(&t, "XX*\0", 4);
        put_le32(&t, 8);
        put_le16(&t, 1);
        ifd_entry_le(&t, 0x0112, 3, 1, 6);
        put_le32(&t, 0);
        emit_exif("jpg_exif_bad_byte_order.jpg", "****", &base, &t, "JPEG EXIF with byte order 'XX'");

        t = (buf){0};
        put(&t, "II*\0", 4);
        put_le32(&t, 8);
        put_le16(&t, 1);
        ifd_entry_le(&t, 0x010F, 2, 4, 0x00636261); /* Make "abc" inline */
        put_le32(&t, 8);                            /* next IFD: itself */
        emit_exif("jpg_exif_ifd_loop.jpg", "****", &base, &t,
                  "JPEG EXIF whose IFD0 names itself as the next IFD (a loop; must not hang)");

        t = (buf){0};
        put(&t, "II*\0", 4);
        put_le32(&t, 8);
        put_le16(&t, 2);
        ifd_entry_le(&t, 0x8769, 4, 1, 0x7FFFFFF0u); /* Exif sub-IFD far away */
        ifd_entry_le(&t, 0x8825, 4, 1, 8);           /* GPS IFD: back to IFD0 */
        put_le32(&t, 0);
        emit_exif("jpg_exif_subifd_past_end.jpg", "****", &base, &t,
                  "JPEG EXIF with an Exif sub-IFD pointer past the end and a GPS pointer back to IFD0");

        t = (buf){0};
        put(&t, "II*\0", 4);
        put_le32(&t, 8);
        put_le16(&t, 1);
        ifd_entry_le(&t, 0x0112, 3, 1, 99);
        put_le32(&t, 0);
        emit_exif("jpg_exif_orient99.jpg", "****", &base, &t, "JPEG EXIF orientation 99 (invalid)");

        t = (buf){0};
        put(&t, "II*\0", 4);
        put_le32(&t, 8);
        put_le16(&t, 1);
        ifd_entry_le(&t, 0x0112, 3, 0x7FFFFFFFu, 0xFFFFFFF0u);
        put_le32(&t, 0);
        emit_exif("jpg_exif_orient_count_huge.jpg", "****", &base, &t,
                  "JPEG EXIF orientation entry with count 2^31-1 at offset 0xFFFFFFF0");

        t = (buf){0};
        put(&t, "II*\0", 4);
        put_le32(&t, 8);
        put_le16(&t, 1);
        put_le16(&t, 0x0112);
        put_le16(&t, 3); /* entry cut after 4 bytes */
        emit_exif("jpg_exif_entry_cut.jpg", "****", &base, &t,
                  "JPEG EXIF IFD0 with 1 entry cut after 4 of its 12 bytes");

        t = (buf){0};
        put(&t, "II*\0", 4);
        put_le32(&t, 8);
        put_le16(&t, 1);
        ifd_entry_le(&t, 0x0112, 0xFFFF, 1, 6); /* unknown type */
        put_le32(&t, 0);
        emit_exif("jpg_exif_orient_bad_type.jpg", "****", &base, &t,
                  "JPEG EXIF orientation entry of type 0xFFFF");

        /* APP1 "Exif" with length field 1 */
        buf seg = {0};
        put8(&seg, 0xFF);
        put8(&seg, 0xE1);
        put_be16(&seg, 1);
        buf j = jpeg_insert_after_soi(&base, &seg);
        emit_buf("jpg_app1_len1.jpg", "****", &j, "JPEG APP1 with length field 1 before the JFIF APP0");
        free_buf(&j);
        free_buf(&seg);

        /* two EXIF segments: the second one hostile */
        t = (buf){0};
        put(&t, "II*\0", 4);
        put_le32(&t, 8);
        put_le16(&t, 1);
        ifd_entry_le(&t, 0x0112, 3, 1, 6);
        put_le32(&t, 0);
        buf s1 = exif_app1(&t);
        free_buf(&t);
        t = (buf){0};
        put(&t, "MM\0*", 4);
        put_be32(&t, 0xFFFFFFFFu);
        buf s2 = exif_app1(&t);
        free_buf(&t);
        put(&s1, s2.p, s2.n);
        j = jpeg_insert_after_soi(&base, &s1);
        emit_buf("jpg_exif_twice.jpg", "****", &j,
                 "JPEG with two EXIF APP1 segments, the second with IFD0 offset 0xFFFFFFFF");
        free_buf(&j);
        free_buf(&s1);
        free_buf(&s2);
    }

    free_buf(&base);
}

static void make_misc_cases(void) {
    static const char text[] = "This is not an image.\nJust some text, honestly.\n";
    emit("text.png", "1111", text, sizeof text - 1, "a text file named .png");
    emit("text.jpg", "1111", text, sizeof text - 1, "a text file named .jpg");
    emit("empty.png", "1111", "", 0, "an empty file named .png");
    emit("empty.jpg", "1111", "", 0, "an empty file named .jpg");

    buf b = {0};
    unsigned seed = 7;
    for (int i = 0; i < 2048; i++) {
        seed = seed * 1103515245u + 12345u;
        put8(&b, (seed >> 16) & 0xFF);
    }
    emit_buf("noise.png", "1111", &b, "2 KiB of random bytes named .png");
    b.p[0] = 0xFF;
    b.p[1] = 0xD8;
    b.p[2] = 0xFF;
    emit_buf("noise_soi.jpg", "1111", &b, "SOI + 0xFF then 2 KiB of random bytes");
    free_buf(&b);

    b = (buf){0};
    put(&b, png_sig, 8);
    for (int i = 0; i < 200; i++) put8(&b, (unsigned)(i * 37));
    emit_buf("png_sig_then_noise.png", "1111", &b, "PNG signature followed by noise");
    free_buf(&b);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: make_hostile OUTDIR\n");
        return 2;
    }
    g_dir = argv[1];
    make_png_cases();
    make_jpeg_cases();
    make_misc_cases();
    fprintf(stderr, "make_hostile: wrote %d files into %s\n", g_count, g_dir);
    return 0;
}
