/* eval/method_model.c — "model:PATH": RBNet weights run over the whole image in tiles (PATH: a file, or
   a bundled model by name, "model:default", as ub_model_open resolves it). */
#include <stdlib.h>
#include <string.h>

#include "eval/internal.h"

/* "folder/stem" of the weights file: trained models are RUN/model.safetensors, so the stem alone
   would name every model "model". */
static char *model_name(const char *path) {
    const char *slash = strrchr(path, '/');
    char *stem = ub__eval_stem(path);
    if (!stem || !slash) return stem;
    const char *dir = slash;
    while (dir > path && dir[-1] != '/') dir--;
    char *name = slash > dir ? ub__eval_printf("%.*s/%s", (int)(slash - dir), dir, stem) : NULL;
    if (name) {
        free(stem);
        return name;
    }
    return stem;
}

ub_status ub__eval_model_open(ub_ctx *ctx, ub_eval_method *m, const char *path) {
    ub_status st = ub_model_open(ctx, path, &m->model);
    if (st != UB_OK) return st;
    m->owns_model = true;
    char *name = model_name(path);
    if (!name) return ub__fail(ctx, UB_ERR_NOMEM, "out of memory");
    free(m->name);
    m->name = name;
    return UB_OK;
}

ub_status ub__eval_model_run(ub_ctx *ctx, ub_eval_method *m, const ub_eval_item *item, ub_image **out) {
    (void)ctx; /* the model reports through the context it was loaded with */
    return ub_model_run_tiled(m->model, item->input, UB_MODEL_TILE_DEFAULT, out);
}

/* "model-flip2:PATH", "model-flip4:PATH": the same weights with the flip self-ensemble of 2 or 4 views
   (ub_model_set_ensemble), named "folder/stem flipN" so both rows sit side by side in one table. */
static ub_status open_with_views(ub_ctx *ctx, ub_eval_method *m, const char *path, int views) {
    ub_status st = ub__eval_model_open(ctx, m, path);
    if (st == UB_OK) st = ub_model_set_ensemble(m->model, views);
    char *name = st == UB_OK ? ub__eval_printf("%s flip%d", m->name, views) : NULL;
    if (st == UB_OK && !name) st = ub__fail(ctx, UB_ERR_NOMEM, "out of memory");
    if (name) {
        free(m->name);
        m->name = name;
    }
    return st;
}

ub_status ub__eval_model_flip2_open(ub_ctx *ctx, ub_eval_method *m, const char *path) {
    return open_with_views(ctx, m, path, 2);
}

ub_status ub__eval_model_flip4_open(ub_ctx *ctx, ub_eval_method *m, const char *path) {
    return open_with_views(ctx, m, path, 4);
}
