/* image/image.c — the image type: allocation under the pixel limit, clone, orientation. */
#include <stdlib.h>
#include <string.h>

#include "image/internal.h"

ub_status ub__image_alloc(ub_ctx *ctx, const char *name, int64_t width, int64_t height, int channels,
                          ub_image **out) {
    *out = NULL;
    if (channels < 1 || channels > 4)
        return ub__fail(ctx, UB_ERR_UNSUPPORTED, "%s: %d channels (unblur handles 1 to 4)", name, channels);
    if (width <= 0 || height <= 0)
        return ub__fail(ctx, UB_ERR_FORMAT, "%s: image size %lldx%lld is empty", name, (long long)width,
                        (long long)height);
    int64_t pixels;
    if (__builtin_mul_overflow(width, height, &pixels) || pixels > ctx->max_pixels)
        return ub__fail(ctx, UB_ERR_LIMIT, "%s: image of %lldx%lld pixels is over the limit of %lld pixels",
                        name, (long long)width, (long long)height, (long long)ctx->max_pixels);
    size_t samples;
    if (!ub__mul3_size((size_t)width, (size_t)height, (size_t)channels, &samples) ||
        samples > SIZE_MAX / sizeof(float))
        return ub__fail(ctx, UB_ERR_LIMIT, "%s: image too large", name);
    ub_image *img = calloc(1, sizeof *img);
    float *data = ub__alloc(samples * sizeof(float));
    if (!img || !data) {
        free(img);
        ub__free(data);
        return ub__fail(ctx, UB_ERR_NOMEM, "%s: out of memory for a %lldx%lld image", name, (long long)width,
                        (long long)height);
    }
    img->width = width;
    img->height = height;
    img->channels = channels;
    img->bit_depth = 8;
    img->data = data;
    *out = img;
    return UB_OK;
}

ub_status ub_image_create(ub_ctx *ctx, ub_image **out, int64_t width, int64_t height, int channels) {
    if (!out) return ub__fail(ctx, UB_ERR_INVALID, "ub_image_create: NULL output");
    ub_status st = ub__image_alloc(ctx, "new image", width, height, channels, out);
    if (st) return st;
    memset((*out)->data, 0, (size_t)width * (size_t)height * (size_t)channels * sizeof(float));
    return UB_OK;
}

void ub_image_destroy(ub_image **img) {
    if (!img || !*img) return;
    ub__free((*img)->data);
    free(*img);
    *img = NULL;
}

ub_status ub_image_clone(ub_ctx *ctx, const ub_image *src, ub_image **out) {
    ub_status st = ub__image_alloc(ctx, "clone", src->width, src->height, src->channels, out);
    if (st) return st;
    (*out)->bit_depth = src->bit_depth;
    memcpy((*out)->data, src->data, (size_t)src->width * (size_t)src->height * (size_t)src->channels * sizeof(float));
    return UB_OK;
}

/* Source coordinates of output pixel (x, y) for each EXIF orientation; w, h are
   the SOURCE dimensions. 5..8 swap width and height. */
static inline void orient_source(int orientation, int64_t w, int64_t h, int64_t x, int64_t y, int64_t *sx,
                                 int64_t *sy) {
    switch (orientation) {
    case 2: *sx = w - 1 - x; *sy = y; break;             /* mirror horizontally */
    case 3: *sx = w - 1 - x; *sy = h - 1 - y; break;     /* rotate 180 */
    case 4: *sx = x; *sy = h - 1 - y; break;             /* mirror vertically */
    case 5: *sx = y; *sy = x; break;                     /* transpose */
    case 6: *sx = y; *sy = h - 1 - x; break;             /* rotate 90 clockwise */
    case 7: *sx = w - 1 - y; *sy = h - 1 - x; break;     /* transverse */
    case 8: *sx = w - 1 - y; *sy = x; break;             /* rotate 90 counter-clockwise */
    default: *sx = x; *sy = y; break;
    }
}

ub_status ub__image_orient(ub_ctx *ctx, const char *name, ub_image **img, int orientation) {
    if (orientation < 2 || orientation > 8) return UB_OK;
    ub_image *src = *img, *dst;
    int swap = orientation >= 5;
    int64_t ow = swap ? src->height : src->width, oh = swap ? src->width : src->height;
    ub_status st = ub__image_alloc(ctx, name, ow, oh, src->channels, &dst);
    if (st) return st;
    dst->bit_depth = src->bit_depth;
    for (int c = 0; c < src->channels; c++) {
        const float *sp = ub_image_plane(src, c);
        float *dp = ub_image_plane(dst, c);
        for (int64_t y = 0; y < oh; y++)
            for (int64_t x = 0; x < ow; x++) {
                int64_t sx, sy;
                orient_source(orientation, src->width, src->height, x, y, &sx, &sy);
                dp[y * ow + x] = sp[sy * src->width + sx];
            }
    }
    ub_image_destroy(img);
    *img = dst;
    return UB_OK;
}
