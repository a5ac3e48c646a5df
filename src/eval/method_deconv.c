/* eval/method_deconv.c — the classical methods of unblur/deconv.h: Wiener, Richardson-Lucy and the
   sparse prior with the item's true kernel (their defaults, as `unblur deconv` uses them; "sparse:rgb" and
   "sparse:luma" name its colour handling), and blind deconvolution
   (the kernel estimated from the image): "blind" with the library's default response, "blind:linear"
   and "blind:srgb" with the values taken as linear light or as sRGB-encoded (ub_blind_response),
   "blind-fixed" with the final step's prior weight fixed (as benchmarks score kernel estimates). The
   method is not told which a set is: a user's photo does not say either, and what the default should
   be is measured on the real sets (docs/blind.md). */
#include <stdlib.h>
#include <string.h>

#include "eval/internal.h"

/* The method's defaults; `colour` a ub_deconv_colour, or -1 for the default one. */
static ub_status deconv_with(ub_ctx *ctx, ub_deconv_method method, int colour, const ub_eval_item *item,
                             ub_image **out) {
    ub_deconv_params p;
    ub_deconv_default(&p, method);
    if (colour >= 0) p.colour = (ub_deconv_colour)colour;
    return ub_deconv(ctx, item->input, item->kernel, &p, out);
}

/* "BASE:ARG" with ARG one of two words: *field gets that word's value and the method is named "BASE (ARG)";
   no ARG leaves both as they are. */
static ub_status choose_variant(ub_ctx *ctx, ub_eval_method *m, const char *base, const char *arg,
                                const char *const words[2], const int values[2], int *field) {
    if (!arg) return UB_OK;
    const int which = !strcmp(arg, words[0]) ? 0 : !strcmp(arg, words[1]) ? 1 : -1;
    if (which < 0)
        return ub__fail(ctx, UB_ERR_INVALID, "method '%s:%s': expects %s or %s", base, arg, words[0], words[1]);
    *field = values[which];
    char *name = ub__eval_printf("%s (%s)", base, arg);
    if (!name) return ub__fail(ctx, UB_ERR_NOMEM, "out of memory");
    free(m->name);
    m->name = name;
    return UB_OK;
}

/* "sparse:rgb", "sparse:luma": the colour handling named (ub_deconv_colour) instead of the default. */
ub_status ub__eval_sparse_open(ub_ctx *ctx, ub_eval_method *m, const char *colour) {
    static const char *const words[2] = {"rgb", "luma"};
    static const int values[2] = {UB_DECONV_COLOUR_RGB, UB_DECONV_COLOUR_LUMA};
    return choose_variant(ctx, m, "sparse", colour, words, values, &m->deconv_colour);
}

ub_status ub__eval_wiener_run(ub_ctx *ctx, ub_eval_method *m, const ub_eval_item *item, ub_image **out) {
    (void)m;
    return deconv_with(ctx, UB_DECONV_WIENER, -1, item, out);
}

ub_status ub__eval_rl_run(ub_ctx *ctx, ub_eval_method *m, const ub_eval_item *item, ub_image **out) {
    (void)m;
    return deconv_with(ctx, UB_DECONV_RL, -1, item, out);
}

ub_status ub__eval_sparse_run(ub_ctx *ctx, ub_eval_method *m, const ub_eval_item *item, ub_image **out) {
    return deconv_with(ctx, UB_DECONV_SPARSE, m->deconv_colour, item, out);
}

ub_status ub__eval_blind_open(ub_ctx *ctx, ub_eval_method *m, const char *response) {
    static const char *const words[2] = {"linear", "srgb"};
    static const int values[2] = {UB_BLIND_RESPONSE_LINEAR, UB_BLIND_RESPONSE_SRGB};
    return choose_variant(ctx, m, "blind", response, words, values, &m->blind_response);
}

/* ub_deblur_blind with its defaults but the response (-1: the default's) and the final step's noise weight. */
static ub_status blind_with(ub_ctx *ctx, const ub_eval_item *item, int response, double noise_weight, ub_image **out) {
    ub_blind_params p;
    ub_blind_default(&p);
    if (response >= 0) p.response = (ub_blind_response)response;
    p.noise_weight = noise_weight;
    return ub_deblur_blind(ctx, item->input, &p, NULL, NULL, out, NULL);
}

ub_status ub__eval_blind_run(ub_ctx *ctx, ub_eval_method *m, const ub_eval_item *item, ub_image **out) {
    ub_blind_params def;
    ub_blind_default(&def);
    return blind_with(ctx, item, m->blind_response, def.noise_weight, out);
}

/* The same estimate, then the final step at its fixed weight whatever the image's noise (noise_weight 0:
   `unblur deconv`'s default lambda), as benchmarks run one non-blind step on every method's kernel.
   Lai et al.'s set, 1 % noise, scores 20.31 dB so against 18.88 (docs/blind.md); photographs lose by it. */
ub_status ub__eval_blind_fixed_run(ub_ctx *ctx, ub_eval_method *m, const ub_eval_item *item, ub_image **out) {
    (void)m;
    return blind_with(ctx, item, -1, 0.0, out);
}
