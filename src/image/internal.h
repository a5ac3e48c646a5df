/* image/internal.h — shared by the image part: the byte source and sink the
   codecs read and write, and the codec entry points. */
#ifndef UB_IMAGE_INTERNAL_H
#define UB_IMAGE_INTERNAL_H

#include <stdint.h>
#include <stdio.h>

#include "core/internal.h"
#include "unblur/image.h"

/* Where a decoder reads from: an open file or a memory buffer. */
typedef struct ub__source {
    FILE *fp;             /* file, or NULL */
    const uint8_t *bytes; /* memory, when fp is NULL */
    size_t size, pos;
} ub__source;

/* Where an encoder writes: an open file or a growing malloc'ed buffer. */
typedef struct ub__sink {
    FILE *fp;       /* file, or NULL */
    uint8_t *bytes; /* memory buffer, when fp is NULL (owned by the caller after success) */
    size_t size, cap;
    int failed;     /* a write failed (disk full, out of memory) */
} ub__sink;

void ub__sink_write(ub__sink *sink, const void *data, size_t n);

/* Allocates an image after checking the pixel limit; `name` goes in the error message. */
ub_status ub__image_alloc(ub_ctx *ctx, const char *name, int64_t width, int64_t height, int channels,
                          ub_image **out);

/* Rotates/flips per an EXIF orientation (1..8) into a new image; *img is replaced. */
ub_status ub__image_orient(ub_ctx *ctx, const char *name, ub_image **img, int orientation);

/* EXIF orientation (1..8) from the payload of an APP1 marker, or 1 when absent or malformed. */
int ub__exif_orientation(const uint8_t *data, size_t size);

ub_status ub__png_decode(ub_ctx *ctx, ub__source *src, const char *name, ub_image **out);
ub_status ub__jpeg_decode(ub_ctx *ctx, ub__source *src, const char *name, ub_image **out);
ub_status ub__png_encode(ub_ctx *ctx, const ub_image *img, int bit_depth, ub__sink *sink, const char *name);
ub_status ub__jpeg_encode(ub_ctx *ctx, const ub_image *img, int quality, ub__sink *sink, const char *name);

/* Float sample in [0,1] to an integer code in [0, maxval] (round half up; NaN -> 0). */
static inline unsigned ub__quantize(float v, unsigned maxval) {
    if (!(v > 0.0f)) return 0;
    if (v >= 1.0f) return maxval;
    return (unsigned)(v * (float)maxval + 0.5f);
}

#endif
