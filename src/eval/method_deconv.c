/* eval/method_deconv.c — the classical methods of unblur/deconv.h: Wiener and Richardson-Lucy with
   the item's true kernel (their defaults, as `unblur deconv` uses them), and blind deconvolution
   (the kernel estimated from the image). */
#include "eval/internal.h"

static ub_status deconv_with(ub_ctx *ctx, ub_deconv_method method, const ub_eval_item *item, ub_image **out) {
    ub_deconv_params p;
    ub_deconv_default(&p, method);
    return ub_deconv(ctx, item->input, item->kernel, &p, out);
}

ub_status ub__eval_wiener_run(ub_ctx *ctx, ub_eval_method *m, const ub_eval_item *item, ub_image **out) {
    (void)m;
    return deconv_with(ctx, UB_DECONV_WIENER, item, out);
}

ub_status ub__eval_rl_run(ub_ctx *ctx, ub_eval_method *m, const ub_eval_item *item, ub_image **out) {
    (void)m;
    return deconv_with(ctx, UB_DECONV_RL, item, out);
}

ub_status ub__eval_blind_run(ub_ctx *ctx, ub_eval_method *m, const ub_eval_item *item, ub_image **out) {
    (void)m;
    ub_blind_params p;
    ub_blind_default(&p);
    return ub_deblur_blind(ctx, item->input, &p, NULL, NULL, out, NULL);
}
