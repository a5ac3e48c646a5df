/* image/io.c — the front door of image I/O: recognise the format by its
   first bytes, open files with clear errors, write atomically. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "image/internal.h"

static const uint8_t png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

static ub_format sniff(const uint8_t *head, size_t n) {
    if (n >= 8 && memcmp(head, png_magic, 8) == 0) return UB_FORMAT_PNG;
    if (n >= 3 && head[0] == 0xff && head[1] == 0xd8 && head[2] == 0xff) return UB_FORMAT_JPEG;
    return UB_FORMAT_AUTO;
}

static ub_status decode(ub_ctx *ctx, ub__source *src, ub_format fmt, const char *name, ub_image **out) {
    switch (fmt) {
    case UB_FORMAT_PNG: return ub__png_decode(ctx, src, name, out);
    case UB_FORMAT_JPEG: return ub__jpeg_decode(ctx, src, name, out);
    default: return ub__fail(ctx, UB_ERR_FORMAT, "%s: not a PNG or JPEG file", name);
    }
}

ub_status ub_image_decode(ub_ctx *ctx, const void *bytes, size_t size, const char *name, ub_image **out) {
    if (!out || (!bytes && size)) return ub__fail(ctx, UB_ERR_INVALID, "ub_image_decode: NULL argument");
    *out = NULL;
    if (!name) name = "<memory>";
    if (size == 0) return ub__fail(ctx, UB_ERR_FORMAT, "%s: empty file", name);
    ub__source src = {.bytes = bytes, .size = size};
    return decode(ctx, &src, sniff(bytes, size), name, out);
}

ub_status ub_image_read(ub_ctx *ctx, const char *path, ub_image **out) {
    if (!out || !path) return ub__fail(ctx, UB_ERR_INVALID, "ub_image_read: NULL argument");
    *out = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp) return ub__fail(ctx, UB_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    ub_status status = UB_OK;
    uint8_t head[8];
    size_t n = 0;
    if (fstat(fileno(fp), &st) != 0)
        status = ub__fail(ctx, UB_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    else if (S_ISDIR(st.st_mode))
        status = ub__fail(ctx, UB_ERR_IO, "%s: is a directory, not an image", path);
    else if ((n = fread(head, 1, sizeof head, fp)) == 0)
        status = ferror(fp) ? ub__fail(ctx, UB_ERR_IO, "%s: cannot read: %s", path, strerror(errno))
                            : ub__fail(ctx, UB_ERR_FORMAT, "%s: empty file", path);
    else if (fseek(fp, 0, SEEK_SET) != 0)
        status = ub__fail(ctx, UB_ERR_IO, "%s: cannot seek (unblur reads regular files)", path);
    if (status == UB_OK) {
        ub__source src = {.fp = fp};
        status = decode(ctx, &src, sniff(head, n), path, out);
    }
    fclose(fp);
    return status;
}

ub_format ub_format_from_name(const char *path) {
    const char *dot = path ? strrchr(path, '.') : NULL;
    if (!dot || strchr(dot, '/')) return UB_FORMAT_AUTO;
    if (strcasecmp(dot, ".png") == 0) return UB_FORMAT_PNG;
    if (strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0) return UB_FORMAT_JPEG;
    return UB_FORMAT_AUTO;
}

void ub_default_write_options(ub_write_options *o) {
    memset(o, 0, sizeof *o);
}

void ub__sink_write(ub__sink *sink, const void *data, size_t n) {
    if (sink->failed || n == 0) return;
    if (sink->fp) {
        if (fwrite(data, 1, n, sink->fp) != n) sink->failed = 1;
        return;
    }
    if (n > SIZE_MAX - sink->size) {
        sink->failed = 1;
        return;
    }
    if (sink->size + n > sink->cap) {
        size_t cap = sink->cap ? sink->cap : 65536;
        while (cap < sink->size + n) cap = cap > SIZE_MAX / 2 ? sink->size + n : cap * 2;
        uint8_t *p = realloc(sink->bytes, cap);
        if (!p) {
            sink->failed = 1;
            return;
        }
        sink->bytes = p;
        sink->cap = cap;
    }
    memcpy(sink->bytes + sink->size, data, n);
    sink->size += n;
}

/* Checks the options against the image and resolves defaults. */
static ub_status resolve_options(ub_ctx *ctx, const ub_image *img, const char *name, const ub_write_options *in,
                                 ub_write_options *out) {
    ub_write_options o;
    if (in) o = *in;
    else ub_default_write_options(&o);
    if (!img || !img->data || img->width <= 0 || img->height <= 0 || img->channels < 1 || img->channels > 4)
        return ub__fail(ctx, UB_ERR_INVALID, "%s: invalid image to write", name);
    if (o.format == UB_FORMAT_AUTO) o.format = ub_format_from_name(name);
    if (o.format == UB_FORMAT_AUTO)
        return ub__fail(ctx, UB_ERR_INVALID, "%s: unknown output format (use .png, .jpg or .jpeg)", name);
    if (o.bit_depth == 0) o.bit_depth = img->bit_depth == 16 ? 16 : 8;
    if (o.bit_depth != 8 && o.bit_depth != 16)
        return ub__fail(ctx, UB_ERR_INVALID, "%s: bit depth %d (use 8 or 16)", name, o.bit_depth);
    if (o.jpeg_quality == 0) o.jpeg_quality = 95;
    if (o.jpeg_quality < 1 || o.jpeg_quality > 100)
        return ub__fail(ctx, UB_ERR_INVALID, "%s: JPEG quality %d (use 1 to 100)", name, o.jpeg_quality);
    if (o.format == UB_FORMAT_JPEG) {
        if (ub_image_has_alpha(img))
            return ub__fail(ctx, UB_ERR_UNSUPPORTED,
                            "%s: JPEG cannot hold the image's alpha channel (write PNG to keep it)", name);
        o.bit_depth = 8; /* JPEG is 8-bit; a 16-bit source is quantised */
    }
    *out = o;
    return UB_OK;
}

static ub_status encode(ub_ctx *ctx, const ub_image *img, const ub_write_options *o, ub__sink *sink,
                        const char *name) {
    if (o->format == UB_FORMAT_PNG) return ub__png_encode(ctx, img, o->bit_depth, sink, name);
    return ub__jpeg_encode(ctx, img, o->jpeg_quality, sink, name);
}

ub_status ub_image_write(ub_ctx *ctx, const ub_image *img, const char *path, const ub_write_options *opts) {
    if (!path) return ub__fail(ctx, UB_ERR_INVALID, "ub_image_write: NULL path");
    ub_write_options o = {0};
    ub_status st = resolve_options(ctx, img, path, opts, &o);
    if (st) return st;
    ub__outfile of;
    if ((st = ub__outfile_open(ctx, &of, path))) return st;
    ub__sink sink = {.fp = of.fp};
    st = encode(ctx, img, &o, &sink, path);
    if (st == UB_OK && sink.failed) st = ub__fail(ctx, UB_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    if (st) {
        ub__outfile_abort(&of);
        return st;
    }
    return ub__outfile_commit(ctx, &of);
}

ub_status ub_image_encode(ub_ctx *ctx, const ub_image *img, const ub_write_options *opts, void **bytes,
                          size_t *size) {
    if (!bytes || !size || !opts || opts->format == UB_FORMAT_AUTO)
        return ub__fail(ctx, UB_ERR_INVALID, "ub_image_encode: needs an output buffer and an explicit format");
    *bytes = NULL;
    *size = 0;
    ub_write_options o = {0};
    ub_status st = resolve_options(ctx, img, "<memory>", opts, &o);
    if (st) return st;
    ub__sink sink = {0};
    st = encode(ctx, img, &o, &sink, "<memory>");
    if (st == UB_OK && sink.failed) st = ub__fail(ctx, UB_ERR_NOMEM, "<memory>: out of memory while encoding");
    if (st) {
        free(sink.bytes);
        return st;
    }
    *bytes = sink.bytes;
    *size = sink.size;
    return UB_OK;
}
