/* deconv/kernel_check.c — ub_kernel_check: one-line errors for kernels deconvolution cannot use. */
#include <math.h>

#include "deconv/internal.h"

ub_status ub_kernel_check(ub_ctx *ctx, const ub_kernel *k, int64_t width, int64_t height) {
    if (!k || !k->data || k->width <= 0 || k->height <= 0) return ub__fail(ctx, UB_ERR_INVALID, "kernel is empty");
    if (!(k->width & 1) || !(k->height & 1))
        return ub__fail(ctx, UB_ERR_INVALID, "kernel size %dx%d is even: a kernel has odd width and height", k->width,
                        k->height);
    const size_t n = (size_t)k->width * (size_t)k->height;
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        const float v = k->data[i];
        const int x = (int)(i % (size_t)k->width), y = (int)(i / (size_t)k->width);
        if (!isfinite(v))
            return ub__fail(ctx, UB_ERR_INVALID, "kernel has a non-finite value (%g at %d,%d)", (double)v, x, y);
        if (v < 0.0f) return ub__fail(ctx, UB_ERR_INVALID, "kernel has negative values (%g at %d,%d)", (double)v, x, y);
        sum += v;
    }
    if (!(sum > 0.0)) return ub__fail(ctx, UB_ERR_INVALID, "kernel sums to zero");
    if (!isfinite(sum)) return ub__fail(ctx, UB_ERR_INVALID, "kernel sum is not finite");
    if (k->width > width || k->height > height)
        return ub__fail(ctx, UB_ERR_INVALID, "kernel (%dx%d) is larger than the image (%lldx%lld)", k->width,
                        k->height, (long long)width, (long long)height);
    return UB_OK;
}

ub_status ub__kernel_normalised(ub_ctx *ctx, const ub_kernel *k, ub_kernel **out) {
    ub_status st = ub_kernel_clone(ctx, k, out);
    if (st == UB_OK && (st = ub_kernel_normalize(ctx, *out)) != UB_OK) ub_kernel_destroy(out);
    return st;
}
