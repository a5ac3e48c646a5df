/* eval/method_deconv.c — the classical methods of unblur/deconv.h: Wiener, Richardson-Lucy and the
   sparse prior with the item's true kernel (their defaults, as `unblur deconv` uses them; "sparse:rgb" and
   "sparse:luma" name its colour handling), and blind deconvolution
   (the kernel estimated from the image): "blind" with the library's default response, "blind:linear"
   and "blind:srgb" with the values taken as linear light or as sRGB-encoded (ub_blind_response). The
   method is not told which a set is: a user's photo does not say either, and what the default should
   be is measured on the real sets (docs/blind.md). */
#include <stdlib.h>
#include <string.h>

#include "eval/internal.h"

static ub_status deconv_with(ub_ctx *ctx, ub_deconv_method method, const ub_eval_item *item, ub_image **out) {
    ub_deconv_params p;
    ub_deconv_default(&p, method);
    return ub_deconv(ctx, item->input, item->kernel, &p, out);
}

/* "sparse:rgb", "sparse:luma": the colour handling named (ub_deconv_colour) instead of the default. */
ub_status ub__eval_sparse_open(ub_ctx *ctx, ub_eval_method *m, const char *colour) {
    if (!colour) return UB_OK;
    if (strcmp(colour, "rgb") && strcmp(colour, "luma"))
        return ub__fail(ctx, UB_ERR_INVALID, "method 'sparse:%s': expects rgb or luma", colour);
    m->deconv_colour = !strcmp(colour, "rgb") ? UB_DECONV_COLOUR_RGB : UB_DECONV_COLOUR_LUMA;
    char *name = ub__eval_printf("sparse (%s)", colour);
    if (!name) return ub__fail(ctx, UB_ERR_NOMEM, "out of memory");
    free(m->name);
    m->name = name;
    return UB_OK;
}

ub_status ub__eval_wiener_run(ub_ctx *ctx, ub_eval_method *m, const ub_eval_item *item, ub_image **out) {
    (void)m;
    return deconv_with(ctx, UB_DECONV_WIENER, item, out);
}

ub_status ub__eval_rl_run(ub_ctx *ctx, ub_eval_method *m, const ub_eval_item *item, ub_image **out) {
    (void)m;
    return deconv_with(ctx, UB_DECONV_RL, item, out);
}

ub_status ub__eval_sparse_run(ub_ctx *ctx, ub_eval_method *m, const ub_eval_item *item, ub_image **out) {
    ub_deconv_params p;
    ub_deconv_default(&p, UB_DECONV_SPARSE);
    if (m->deconv_colour >= 0) p.colour = (ub_deconv_colour)m->deconv_colour;
    return ub_deconv(ctx, item->input, item->kernel, &p, out);
}

ub_status ub__eval_blind_open(ub_ctx *ctx, ub_eval_method *m, const char *response) {
    if (!response) return UB_OK;
    if (strcmp(response, "linear") && strcmp(response, "srgb"))
        return ub__fail(ctx, UB_ERR_INVALID, "method 'blind:%s': expects linear or srgb", response);
    m->blind_response = !strcmp(response, "linear") ? UB_BLIND_RESPONSE_LINEAR : UB_BLIND_RESPONSE_SRGB;
    char *name = ub__eval_printf("blind (%s)", response);
    if (!name) return ub__fail(ctx, UB_ERR_NOMEM, "out of memory");
    free(m->name);
    m->name = name;
    return UB_OK;
}

ub_status ub__eval_blind_run(ub_ctx *ctx, ub_eval_method *m, const ub_eval_item *item, ub_image **out) {
    ub_blind_params p;
    ub_blind_default(&p);
    if (m->blind_response >= 0) p.response = (ub_blind_response)m->blind_response;
    return ub_deblur_blind(ctx, item->input, &p, NULL, NULL, out, NULL);
}
