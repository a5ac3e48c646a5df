/* image/jpeg_io.c — JPEG decoding and encoding with libjpeg-turbo's libjpeg API.

   As with libpng, libjpeg's fatal errors arrive by longjmp; the jump stays in
   this file (see png_io.c for the pattern). Warnings are tolerated, except the
   ones that mean missing or garbled data: a truncated or damaged scan is an error here,
   not an image silently padded with grey. A progress monitor caps the number
   of scans, which defeats progressive files built to take forever. */
#include <setjmp.h>
#include <stdio.h> /* before jpeglib.h, which uses FILE */
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#include "image/internal.h"

enum { MAX_SCANS = 1000 };

typedef struct jpeg_state {
    ub_ctx *ctx;
    const char *name;
    struct jpeg_error_mgr err;
    struct jpeg_progress_mgr progress;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX + 64];
    struct jpeg_decompress_struct d;
    struct jpeg_compress_struct c;
    JSAMPLE *row;
    ub_image *img;
    unsigned char *membuf; /* jpeg_mem_dest output */
    unsigned long memsize;
} jpeg_state;

static jpeg_state *state_of(j_common_ptr cinfo) { return (jpeg_state *)cinfo->client_data; }

static void on_error_exit(j_common_ptr cinfo) {
    jpeg_state *s = state_of(cinfo);
    (*cinfo->err->format_message)(cinfo, s->message);
    longjmp(s->jump, 1);
}

static void on_emit_message(j_common_ptr cinfo, int level) {
    if (level >= 0) return; /* trace messages */
    int code = cinfo->err->msg_code;
    /* Warnings that mean lost or garbled pixel data; the others (extraneous bytes,
       unknown markers, odd but decodable headers) are common in real files. */
    if (code == JWRN_JPEG_EOF || code == JWRN_HIT_MARKER || code == JWRN_MUST_RESYNC || code == JWRN_HUFF_BAD_CODE ||
        code == JWRN_ARITH_BAD_CODE) {
        jpeg_state *s = state_of(cinfo);
        (*cinfo->err->format_message)(cinfo, s->message);
        if (code == JWRN_JPEG_EOF) snprintf(s->message, sizeof s->message, "file is truncated");
        longjmp(s->jump, 1);
    }
    cinfo->err->num_warnings++;
}

static void on_progress(j_common_ptr cinfo) {
    if (!cinfo->is_decompressor) return;
    j_decompress_ptr d = (j_decompress_ptr)cinfo;
    if (d->input_scan_number > MAX_SCANS) {
        jpeg_state *s = state_of(cinfo);
        snprintf(s->message, sizeof s->message, "more than %d scans", MAX_SCANS);
        longjmp(s->jump, 1);
    }
}

/* Naive CMYK -> RGB (no ICC profile). Adobe files store inverted CMYK, which
   nearly all CMYK JPEGs are: then R = C * K / 255 on the stored values. */
static void cmyk_to_rgb_row(const JSAMPLE *in, int64_t w, int inverted, JSAMPLE *out) {
    for (int64_t x = 0; x < w; x++) {
        int c = in[4 * x], m = in[4 * x + 1], y = in[4 * x + 2], k = in[4 * x + 3];
        if (!inverted) c = 255 - c, m = 255 - m, y = 255 - y, k = 255 - k;
        out[3 * x] = (JSAMPLE)((c * k + 127) / 255);
        out[3 * x + 1] = (JSAMPLE)((m * k + 127) / 255);
        out[3 * x + 2] = (JSAMPLE)((y * k + 127) / 255);
    }
}

static ub_status decode_inner(jpeg_state *s, ub__source *src) {
    if (setjmp(s->jump)) return ub__fail(s->ctx, UB_ERR_FORMAT, "%s: corrupt JPEG: %s", s->name, s->message);
    j_decompress_ptr d = &s->d;
    if (src->fp) jpeg_stdio_src(d, src->fp);
    else jpeg_mem_src(d, src->bytes, (unsigned long)src->size);
    jpeg_save_markers(d, JPEG_APP0 + 1, 0xffff);
    jpeg_read_header(d, TRUE);

    int cmyk = d->jpeg_color_space == JCS_CMYK || d->jpeg_color_space == JCS_YCCK;
    if (d->jpeg_color_space == JCS_GRAYSCALE) d->out_color_space = JCS_GRAYSCALE;
    else if (cmyk) d->out_color_space = JCS_CMYK;
    else if (d->num_components == 3) d->out_color_space = JCS_RGB;
    else
        return ub__fail(s->ctx, UB_ERR_UNSUPPORTED, "%s: JPEG with %d colour components", s->name,
                        d->num_components);
    int channels = d->out_color_space == JCS_GRAYSCALE ? 1 : 3;
    /* The pixel limit is checked here, before libjpeg allocates its buffers. */
    ub_status st = ub__image_alloc(s->ctx, s->name, d->image_width, d->image_height, channels, &s->img);
    if (st) return st;

    jpeg_start_decompress(d);
    int64_t w = d->output_width;
    size_t rowbytes;
    if (!ub__mul3_size((size_t)w, (size_t)d->output_components, 1, &rowbytes) ||
        w != s->img->width || (int64_t)d->output_height != s->img->height)
        return ub__fail(s->ctx, UB_ERR_FORMAT, "%s: corrupt JPEG: inconsistent size", s->name);
    s->row = malloc(rowbytes + (size_t)w * 3);
    if (!s->row) return ub__fail(s->ctx, UB_ERR_NOMEM, "%s: out of memory", s->name);
    JSAMPLE *rgb = s->row + rowbytes;
    while (d->output_scanline < d->output_height) {
        int64_t y = d->output_scanline;
        JSAMPROW rows[1] = {s->row};
        if (jpeg_read_scanlines(d, rows, 1) != 1)
            return ub__fail(s->ctx, UB_ERR_FORMAT, "%s: corrupt JPEG: no scanline %lld", s->name, (long long)y);
        const JSAMPLE *px = s->row;
        if (cmyk) {
            cmyk_to_rgb_row(s->row, w, d->saw_Adobe_marker, rgb);
            px = rgb;
        }
        for (int c = 0; c < channels; c++) {
            float *dst = ub_image_plane(s->img, c) + y * w;
            for (int64_t x = 0; x < w; x++) dst[x] = (float)px[x * channels + c] / 255.0f;
        }
    }
    int orientation = 1;
    for (jpeg_saved_marker_ptr m = d->marker_list; m; m = m->next)
        if (m->marker == JPEG_APP0 + 1 && orientation == 1) orientation = ub__exif_orientation(m->data, m->data_length);
    jpeg_finish_decompress(d);
    return ub__image_orient(s->ctx, s->name, &s->img, orientation);
}

static void init_errors(jpeg_state *s, j_common_ptr cinfo) {
    cinfo->err = jpeg_std_error(&s->err);
    s->err.error_exit = on_error_exit;
    s->err.emit_message = on_emit_message;
    cinfo->client_data = s;
}

ub_status ub__jpeg_decode(ub_ctx *ctx, ub__source *src, const char *name, ub_image **out) {
    jpeg_state *s = calloc(1, sizeof *s);
    if (!s) return ub__fail(ctx, UB_ERR_NOMEM, "%s: out of memory", name);
    s->ctx = ctx;
    s->name = name;
    init_errors(s, (j_common_ptr)&s->d);
    jpeg_create_decompress(&s->d);
    s->progress.progress_monitor = on_progress;
    s->d.progress = &s->progress;
    ub_status st = decode_inner(s, src);
    jpeg_destroy_decompress(&s->d);
    free(s->row);
    if (st) ub_image_destroy(&s->img);
    *out = s->img;
    free(s);
    return st;
}

static ub_status encode_inner(jpeg_state *s, const ub_image *img, int quality, ub__sink *sink) {
    if (setjmp(s->jump)) return ub__fail(s->ctx, UB_ERR_IO, "%s: cannot write JPEG: %s", s->name, s->message);
    j_compress_ptr c = &s->c;
    if (img->width > JPEG_MAX_DIMENSION || img->height > JPEG_MAX_DIMENSION)
        return ub__fail(s->ctx, UB_ERR_LIMIT, "%s: %lldx%lld is larger than JPEG allows (%d)", s->name,
                        (long long)img->width, (long long)img->height, (int)JPEG_MAX_DIMENSION);
    const int channels = img->channels; /* 1 or 3: alpha was refused earlier */
    if (sink->fp) jpeg_stdio_dest(c, sink->fp);
    else jpeg_mem_dest(c, &s->membuf, &s->memsize);
    c->image_width = (JDIMENSION)img->width;
    c->image_height = (JDIMENSION)img->height;
    c->input_components = channels;
    c->in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(c);
    jpeg_set_quality(c, quality, TRUE);
    c->optimize_coding = TRUE;
    s->row = malloc((size_t)img->width * (size_t)channels);
    if (!s->row) return ub__fail(s->ctx, UB_ERR_NOMEM, "%s: out of memory", s->name);
    jpeg_start_compress(c, TRUE);
    const int64_t w = img->width;
    while (c->next_scanline < c->image_height) {
        int64_t y = c->next_scanline;
        for (int ch = 0; ch < channels; ch++) {
            const float *src = ub_image_plane(img, ch) + y * w;
            for (int64_t x = 0; x < w; x++) s->row[x * channels + ch] = (JSAMPLE)ub__quantize(src[x], 255);
        }
        JSAMPROW rows[1] = {s->row};
        jpeg_write_scanlines(c, rows, 1);
    }
    jpeg_finish_compress(c);
    if (!sink->fp) ub__sink_write(sink, s->membuf, s->memsize);
    return UB_OK;
}

ub_status ub__jpeg_encode(ub_ctx *ctx, const ub_image *img, int quality, ub__sink *sink, const char *name) {
    jpeg_state *s = calloc(1, sizeof *s);
    if (!s) return ub__fail(ctx, UB_ERR_NOMEM, "%s: out of memory", name);
    s->ctx = ctx;
    s->name = name;
    init_errors(s, (j_common_ptr)&s->c);
    jpeg_create_compress(&s->c);
    ub_status st = encode_inner(s, img, quality, sink);
    jpeg_destroy_compress(&s->c);
    free(s->row);
    free(s->membuf);
    free(s);
    return st;
}
