/* eval/method_auto.c — "auto:PATH" and ub_deblur_auto: the blind deconvolution where it trusts its
   kernel, the network everywhere else.

   Why this rule (issue 13, point 5, measured in docs/results.md): on camera shake the classical blind
   deconvolution gains far more than the networks trained so far (Levin +5.8 dB against -0.35), and it
   declines to act — returning the input untouched — on sharp photographs and on blur it cannot explain
   (docs/blind.md: a delta-like estimate, a kernel the image's spectrum contradicts, an output that
   rings) and, asked here to check it, where the quarters of the image disagree on the kernel (the blur
   varies over the frame: moving subjects, rotation; deconv/blind_uniform.c). Where it declines, the
   network runs: it helps on the small blur of REDS (+0.8 dB) that the
   blind estimate calls sharp. The blind step's refusal is read from its output: a copy of the input,
   bit for bit. Without a model the input is returned there: the fallback that does no harm, while the
   trained networks still change sharp photos more than they help real blur (docs/results.md). */
#include <stdlib.h>
#include <string.h>

#include "eval/internal.h"
#include "unblur/deconv.h"

static int same_pixels(const ub_image *a, const ub_image *b) {
    return a->width == b->width && a->height == b->height && a->channels == b->channels &&
           !memcmp(a->data, b->data, sizeof(float) * (size_t)a->channels * (size_t)a->width * (size_t)a->height);
}

/* Where the blind step does not act: the model's output, or without one the input as it is. */
static ub_status fallback(ub_ctx *ctx, ub_model *model, const ub_image *in, int tile, ub_image **out) {
    return model ? ub_model_run_tiled(model, in, tile, out) : ub_image_clone(ctx, in, out);
}

/* The blind step's progress, shown as the context's ("blind"); nonzero when it asks to stop. */
static int blind_progress(void *user, double done) { return ub__progress((ub_ctx *)user, done, "blind") != UB_OK; }

ub_status ub_deblur_auto(ub_ctx *ctx, ub_model *model, const ub_image *in, int tile, ub_image **out,
                        int *used_blind) {
    if (!ctx) return UB_ERR_INVALID;
    if (!in || !out) return ub__fail(ctx, UB_ERR_INVALID, "ub_deblur_auto: NULL argument");
    *out = NULL;
    if (used_blind) *used_blind = 0;
    ub_blind_params p;
    ub_blind_default(&p);
    p.check_uniform = 1; /* declines where the blur varies over the frame: the network is better there */
    ub_image *blind = NULL;
    ub_status st = UB_OK;
    if (!ub_blind_fits(in->width, in->height, &p)) /* too small or thin for a kernel: as if declined */
        return fallback(ctx, model, in, tile, out);
    if ((st = ub_deblur_blind(ctx, in, &p, blind_progress, ctx, &blind, NULL)) != UB_OK) return st;
    if (!same_pixels(blind, in)) {
        if (used_blind) *used_blind = 1;
        *out = blind;
        return UB_OK;
    }
    if (!model) { /* the fallback that does no harm: the declined output is the input already */
        *out = blind;
        return UB_OK;
    }
    ub_image_destroy(&blind);
    return fallback(ctx, model, in, tile, out);
}

/* "auto" alone: no model, the input where blind declines; "auto:PATH": that model there. */
ub_status ub__eval_auto_open(ub_ctx *ctx, ub_eval_method *m, const char *path) {
    if (!path) {
        char *name = ub__eval_strdup("auto (blind | input)");
        if (!name) return ub__fail(ctx, UB_ERR_NOMEM, "out of memory");
        free(m->name);
        m->name = name;
        return UB_OK;
    }
    ub_status st = ub__eval_model_open(ctx, m, path);
    char *name = st == UB_OK ? ub__eval_printf("auto (blind | %s)", m->name) : NULL;
    if (st == UB_OK && !name) st = ub__fail(ctx, UB_ERR_NOMEM, "out of memory");
    if (name) {
        free(m->name);
        m->name = name;
    }
    return st;
}

ub_status ub__eval_auto_run(ub_ctx *ctx, ub_eval_method *m, const ub_eval_item *item, ub_image **out) {
    return ub_deblur_auto(ctx, m->model, item->input, UB_MODEL_TILE_DEFAULT, out, NULL);
}
