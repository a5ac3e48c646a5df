/* eval/methods.c — the methods an evaluation can run: a table of {name, needs-kernel, open, run}.

   Adding a method is one row here and its run function in a file of its own (method_model.c,
   method_deconv.c). The identity is here: it is the baseline every gain is measured from. */
#include <stdlib.h>
#include <string.h>

#include "eval/internal.h"

static ub_status identity_run(ub_ctx *ctx, ub_eval_method *m, const ub_eval_item *item, ub_image **out) {
    (void)m;
    return ub_image_clone(ctx, item->input, out);
}

#define MODEL_ARG "expects a weights file or model name: model:PATH"

static const eval_method_kind methods[] = {
    {"identity", ARG_NONE, NULL, false, NULL, identity_run},
    {"model", ARG_REQUIRED, MODEL_ARG, false, ub__eval_model_open, ub__eval_model_run},
    {"model-flip2", ARG_REQUIRED, MODEL_ARG, false, ub__eval_model_flip2_open, ub__eval_model_run},
    {"model-flip4", ARG_REQUIRED, MODEL_ARG, false, ub__eval_model_flip4_open, ub__eval_model_run},
    {"wiener", ARG_NONE, NULL, true, NULL, ub__eval_wiener_run},
    {"rl", ARG_NONE, NULL, true, NULL, ub__eval_rl_run},
    {"sparse", ARG_OPTIONAL, "expects rgb or luma", true, ub__eval_sparse_open, ub__eval_sparse_run},
    {"blind", ARG_OPTIONAL, "expects linear or srgb", false, ub__eval_blind_open, ub__eval_blind_run},
    {"blind-fixed", ARG_NONE, NULL, false, NULL, ub__eval_blind_fixed_run},
    {"auto", ARG_OPTIONAL, MODEL_ARG, false, ub__eval_auto_open, ub__eval_auto_run},
};

const char *ub_eval_method_list(void) { return "identity, model:PATH, model-flip2:PATH, model-flip4:PATH, wiener, rl, sparse, sparse:rgb, sparse:luma, blind, blind:linear, blind:srgb, blind-fixed, auto, auto:PATH"; }

static const eval_method_kind *find_method(const char *spec, size_t n) {
    for (size_t i = 0; i < sizeof methods / sizeof *methods; i++)
        if (strlen(methods[i].name) == n && !strncmp(spec, methods[i].name, n)) return &methods[i];
    return NULL;
}

ub_status ub_eval_method_create(ub_ctx *ctx, const char *spec, ub_eval_method **out) {
    *out = NULL;
    const char *colon = strchr(spec, ':');
    size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
    const eval_method_kind *k = find_method(spec, n);
    if (!k) return ub__fail(ctx, UB_ERR_INVALID, "method '%s': unknown (%s)", spec, ub_eval_method_list());
    const int given = colon != NULL;
    if ((k->argument == ARG_REQUIRED && !given) || (k->argument == ARG_NONE && given) || (colon && !colon[1]))
        return ub__fail(ctx, UB_ERR_INVALID, "method '%s': %s", spec,
                        k->argument == ARG_NONE ? "takes no argument" : k->argument_help);
    ub_eval_method *m = calloc(1, sizeof *m);
    if (!m) return ub__fail(ctx, UB_ERR_NOMEM, "out of memory");
    m->kind = k;
    m->blind_response = -1;
    m->deconv_colour = -1;
    m->name = ub__eval_strdup(k->name);
    ub_status st = m->name ? UB_OK : ub__fail(ctx, UB_ERR_NOMEM, "out of memory");
    if (st == UB_OK && k->open) st = k->open(ctx, m, colon ? colon + 1 : NULL);
    if (st != UB_OK) ub_eval_method_destroy(&m);
    *out = m;
    return st;
}

ub_status ub_eval_method_from_model(ub_ctx *ctx, const char *name, ub_model *model, ub_eval_method **out) {
    *out = NULL;
    ub_eval_method *m = calloc(1, sizeof *m);
    if (!m) return ub__fail(ctx, UB_ERR_NOMEM, "out of memory");
    m->kind = find_method("model", 5);
    m->name = ub__eval_strdup(name && *name ? name : "model");
    m->model = model;
    if (!m->name) {
        ub_eval_method_destroy(&m);
        return ub__fail(ctx, UB_ERR_NOMEM, "out of memory");
    }
    *out = m;
    return UB_OK;
}

void ub_eval_method_destroy(ub_eval_method **mp) {
    if (!mp || !*mp) return;
    ub_eval_method *m = *mp;
    if (m->owns_model) ub_model_destroy(&m->model);
    free(m->name);
    free(m);
    *mp = NULL;
}

const char *ub_eval_method_name(const ub_eval_method *m) { return m->name; }
int ub_eval_method_needs_kernel(const ub_eval_method *m) { return m->kind->needs_kernel; }

ub_status ub_eval_method_run(ub_ctx *ctx, ub_eval_method *m, const ub_eval_item *item, ub_image **out) {
    *out = NULL;
    if (m->kind->needs_kernel && !item->kernel)
        return ub__fail(ctx, UB_ERR_UNSUPPORTED, "%s: method %s needs the true kernel, which this item lacks",
                        item->name, m->name);
    return m->kind->run(ctx, m, item, out);
}
