/* unblur/image.h — the one image type, PNG/JPEG input and output, sRGB <-> linear.

   IMAGE LAYOUT
   An image is float32, PLANAR: channel c, row y, column x lives at
       data[((int64_t)c * height + y) * width + x]
   Planar keeps each channel contiguous, which is what convolution, FFTs,
   metrics and the network (NCHW) want. Channels:
       1 grey, 2 grey + alpha, 3 RGB, 4 RGBA        (alpha is always last)
   Values are nominally in [0,1] (image files are scaled by 1/255 or 1/65535),
   in the file's own encoding (sRGB for ordinary photos); processing may take
   them outside [0,1], and writers clamp. Alpha is straight (not premultiplied)
   and every operation of unblur carries it through untouched.
   `bit_depth` (8 or 16) records the precision of the source file, so that a
   16-bit input is written back as 16-bit by default. 16-bit data round-trips
   exactly (k/65535 is exact in float32 and rounds back to k).

   READING
   ub_image_read() recognises the format from the file's first bytes, not its
   name. PNG: every bit depth (1/2/4/8/16), grey, grey+alpha, palette (with or
   without tRNS), RGB, RGBA, interlaced; tRNS becomes an alpha channel.
   JPEG: baseline and progressive, grey and YCbCr; CMYK/YCCK are converted to
   RGB with the naive (no ICC profile) formula; the EXIF orientation tag is
   applied, so the image comes out upright. The pixel limit of the context
   (ub_settings.max_pixels) is checked from the header, before any pixel
   buffer is allocated. Zero-size, truncated and corrupt files are errors.

   WRITING
   ub_image_write() picks the format from the extension (.png, .jpg, .jpeg;
   case-insensitive). It writes a temporary file in the target folder and
   renames it over the target only when everything succeeded, so a failure
   never leaves a partial file. PNG: 8 or 16 bits, 1-4 channels. JPEG: 8 bits,
   grey or RGB, quality 1-100; an image with alpha is refused (JPEG cannot
   hold it) rather than silently flattened.
*/
#ifndef UNBLUR_IMAGE_H
#define UNBLUR_IMAGE_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ub_image {
    int64_t width, height;
    int channels;   /* 1..4, see above */
    int bit_depth;  /* 8 or 16: precision of the source / default for writing */
    float *data;    /* planar, channels * height * width floats, 64-byte aligned */
} ub_image;

typedef enum ub_format { UB_FORMAT_AUTO = 0, UB_FORMAT_PNG, UB_FORMAT_JPEG } ub_format;

/* Allocates a zeroed image (bit_depth 8). Checks the size against the context's limit. */
UB_API ub_status ub_image_create(ub_ctx *ctx, ub_image **out, int64_t width, int64_t height, int channels);
/* Frees the image and sets *img to NULL. NULL is accepted. */
UB_API void ub_image_destroy(ub_image **img);
UB_API ub_status ub_image_clone(ub_ctx *ctx, const ub_image *src, ub_image **out);

/* Pointer to the first sample of channel c. */
static inline float *ub_image_plane(const ub_image *img, int c) {
    return img->data + (int64_t)c * img->height * img->width;
}
/* Number of colour channels (1 or 3): the channels minus alpha. */
static inline int ub_image_colour_channels(const ub_image *img) {
    return img->channels >= 3 ? 3 : 1;
}
static inline int ub_image_has_alpha(const ub_image *img) {
    return img->channels == 2 || img->channels == 4;
}

/* Reads a PNG or JPEG file. */
UB_API ub_status ub_image_read(ub_ctx *ctx, const char *path, ub_image **out);
/* Decodes a PNG or JPEG held in memory; `name` is used in error messages. */
UB_API ub_status ub_image_decode(ub_ctx *ctx, const void *bytes, size_t size, const char *name,
                                 ub_image **out);

typedef struct ub_write_options {
    ub_format format; /* AUTO: from the file name's extension */
    int bit_depth;    /* 0: the image's own bit_depth; 8 or 16 (PNG only) */
    int jpeg_quality; /* 1..100, 0 = default (95) */
} ub_write_options;

UB_API void ub_default_write_options(ub_write_options *o);
/* Writes atomically (temporary file + rename). `opts` may be NULL. */
UB_API ub_status ub_image_write(ub_ctx *ctx, const ub_image *img, const char *path,
                                const ub_write_options *opts);
/* Encodes to a malloc'ed buffer (free() it); format must be PNG or JPEG. */
UB_API ub_status ub_image_encode(ub_ctx *ctx, const ub_image *img, const ub_write_options *opts,
                                 void **bytes, size_t *size);

/* The format a file name asks for, or UB_FORMAT_AUTO when unknown. */
UB_API ub_format ub_format_from_name(const char *path);

/* sRGB <-> linear light, IEC 61966-2-1 piecewise curve, in place, on n values.
   Values outside [0,1] are extended (odd-symmetric below 0, the power curve above 1),
   so highlights > 1 survive a round trip. Vectorised; the inverse is exact within 1e-6 on [0,1]. */
UB_API void ub_srgb_to_linear(float *v, size_t n);
UB_API void ub_linear_to_srgb(float *v, size_t n);
/* Plain scalar references of the two curves (double precision), for tests. */
UB_API double ub_srgb_to_linear_ref(double v);
UB_API double ub_linear_to_srgb_ref(double v);
/* Convert the colour channels of an image in place; alpha is untouched. */
UB_API void ub_image_srgb_to_linear(ub_image *img);
UB_API void ub_image_linear_to_srgb(ub_image *img);

#ifdef __cplusplus
}
#endif
#endif
