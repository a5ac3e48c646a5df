/* nn/graph_ref.c — forward and backward of a graph in double precision with
   the reference layers (see graph_ref.h). */
#include <stdlib.h>
#include <string.h>

#include "nn/graph_ref.h"
#include "nn/ref.h"

static size_t value_size(const ub__graph *g, int v) {
    const ub__value *x = &g->values[v];
    return (size_t)g->n * (size_t)x->c * (size_t)x->h * (size_t)x->w;
}

static const double *param_data(const ub__param_table *t, const double *params, int index) {
    return index == UB_NO_PARAM ? NULL : params + t->params[index].offset;
}

static double *param_grad(const ub__param_table *t, double *dparams, int index) {
    return index == UB_NO_PARAM ? NULL : dparams + t->params[index].offset;
}

void ub__ref_state_free(ub__ref_state *s) {
    for (int i = 0; s->values && i < s->nvalues; i++) free(s->values[i]);
    for (int i = 0; s->caches && i < s->nops; i++) free(s->caches[i]);
    free(s->values);
    free(s->caches);
    memset(s, 0, sizeof *s);
}

static void crop(double *out, const double *in, int n, int c, int h, int w, int hp, int wp) {
    for (int i = 0; i < n * c; i++)
        for (int y = 0; y < h; y++) memcpy(out + ((size_t)i * h + y) * w, in + ((size_t)i * hp + y) * wp, sizeof(double) * (size_t)w);
}

static void crop_backward(double *din, const double *dout, int n, int c, int h, int w, int hp, int wp) {
    for (int i = 0; i < n * c; i++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) din[((size_t)i * hp + y) * wp + x] += dout[((size_t)i * h + y) * w + x];
}

static void forward_op(const ub__graph *g, const ub__op *op, const ub__param_table *t, const double *params,
                       ub__ref_state *s, int index) {
    const ub__value *a = &g->values[op->a], *o = &g->values[op->out];
    const int n = g->n;
    const double *x = s->values[op->a];
    double *y = s->values[op->out];
    switch (op->kind) {
    case UB_OP_PAD: ub__pad_reflect_forward_ref(y, x, n, a->c, a->h, a->w, o->h, o->w); break;
    case UB_OP_CONV:
        if (op->groups > 1)
            ub__dwconv2d_forward_ref(y, x, param_data(t, params, op->w), param_data(t, params, op->bias), n, a->c, a->h,
                                     a->w, op->k, op->stride);
        else
            ub__conv2d_forward_ref(y, x, param_data(t, params, op->w), param_data(t, params, op->bias), n, a->c, a->h,
                                   a->w, o->c, op->k, op->stride);
        break;
    case UB_OP_CONVT:
        ub__convT2_forward_ref(y, x, param_data(t, params, op->w), param_data(t, params, op->bias), n, a->c, a->h, a->w,
                               o->c);
        break;
    case UB_OP_RELU: ub__relu_forward_ref(y, x, value_size(g, op->a)); break;
    case UB_OP_ADD: {
        const double *b = s->values[op->b];
        for (size_t i = 0; i < value_size(g, op->a); i++) y[i] = x[i] + b[i];
        break;
    }
    case UB_OP_SE:
        ub__se_forward_ref(y, s->caches[index], x, param_data(t, params, op->w), param_data(t, params, op->bias),
                           param_data(t, params, op->w2), param_data(t, params, op->b2), n, a->c, a->h, a->w, op->r);
        break;
    case UB_OP_SA:
        ub__sa_forward_ref(y, s->caches[index], x, param_data(t, params, op->w), n, a->c, a->h, a->w, op->k);
        break;
    case UB_OP_CROP: crop(y, x, n, a->c, o->h, o->w, a->h, a->w); break;
    case UB_OP_LAYERNORM:
        ub__layernorm_forward_ref(y, s->caches[index], x, param_data(t, params, op->w),
                                  param_data(t, params, op->bias), n, a->c, a->h, a->w);
        break;
    case UB_OP_GATE: ub__gate_forward_ref(y, x, n, o->c, (size_t)a->h * a->w); break;
    case UB_OP_SCA:
        ub__sca_forward_ref(y, s->caches[index], x, param_data(t, params, op->w), param_data(t, params, op->bias), n,
                            a->c, a->h, a->w);
        break;
    case UB_OP_SCALE: ub__scale_forward_ref(y, x, param_data(t, params, op->w), n, a->c, (size_t)a->h * a->w); break;
    }
}

static size_t cache_size(const ub__graph *g, const ub__op *op) {
    const ub__value *a = &g->values[op->a];
    if (op->kind == UB_OP_SE) return ub__se_cache_size(g->n, a->c, op->r);
    if (op->kind == UB_OP_SA) return ub__sa_cache_size(g->n, a->h, a->w);
    if (op->kind == UB_OP_LAYERNORM) return ub__layernorm_cache_size(g->n, a->h, a->w);
    if (op->kind == UB_OP_SCA) return ub__sca_cache_size(g->n, a->c);
    return 0;
}

ub_status ub__graph_forward_ref(ub_ctx *ctx, const ub__graph *g, const ub__param_table *t, const double *params,
                                const double *input, ub__ref_state *s) {
    memset(s, 0, sizeof *s);
    s->nvalues = g->nvalues;
    s->nops = g->nops;
    s->values = calloc((size_t)g->nvalues, sizeof(double *));
    s->caches = calloc((size_t)g->nops, sizeof(double *));
    int ok = s->values && s->caches;
    for (int v = 0; ok && v < g->nvalues; v++) ok = (s->values[v] = malloc(sizeof(double) * value_size(g, v))) != NULL;
    for (int i = 0; ok && i < g->nops; i++) {
        size_t n = cache_size(g, &g->ops[i]);
        if (n) ok = (s->caches[i] = malloc(sizeof(double) * n)) != NULL;
    }
    if (!ok) {
        ub__ref_state_free(s);
        return ub__fail(ctx, UB_ERR_NOMEM, "reference executor: out of memory");
    }
    memcpy(s->values[0], input, sizeof(double) * value_size(g, 0));
    for (int i = 0; i < g->nops; i++) forward_op(g, &g->ops[i], t, params, s, i);
    return UB_OK;
}

static void backward_op(const ub__graph *g, const ub__op *op, const ub__param_table *t, const double *params,
                        const ub__ref_state *s, int index, double **grads, double *dparams) {
    const ub__value *a = &g->values[op->a], *o = &g->values[op->out];
    const int n = g->n;
    const double *x = s->values[op->a], *dy = grads[op->out];
    double *dx = grads[op->a];
    switch (op->kind) {
    case UB_OP_PAD: ub__pad_reflect_backward_ref(dx, dy, n, a->c, a->h, a->w, o->h, o->w); break;
    case UB_OP_CONV:
        if (op->groups > 1)
            ub__dwconv2d_backward_ref(dx, param_grad(t, dparams, op->w), param_grad(t, dparams, op->bias), dy, x,
                                      param_data(t, params, op->w), n, a->c, a->h, a->w, op->k, op->stride);
        else
            ub__conv2d_backward_ref(dx, param_grad(t, dparams, op->w), param_grad(t, dparams, op->bias), dy, x,
                                    param_data(t, params, op->w), n, a->c, a->h, a->w, o->c, op->k, op->stride);
        break;
    case UB_OP_CONVT:
        ub__convT2_backward_ref(dx, param_grad(t, dparams, op->w), param_grad(t, dparams, op->bias), dy, x,
                                param_data(t, params, op->w), n, a->c, a->h, a->w, o->c);
        break;
    case UB_OP_RELU: ub__relu_backward_ref(dx, dy, x, value_size(g, op->a)); break;
    case UB_OP_ADD: {
        double *db = grads[op->b];
        for (size_t i = 0; i < value_size(g, op->a); i++) dx[i] += dy[i], db[i] += dy[i];
        break;
    }
    case UB_OP_SE:
        ub__se_backward_ref(dx, param_grad(t, dparams, op->w), param_grad(t, dparams, op->bias),
                            param_grad(t, dparams, op->w2), param_grad(t, dparams, op->b2), dy, s->caches[index], x,
                            param_data(t, params, op->w), param_data(t, params, op->w2), n, a->c, a->h, a->w, op->r);
        break;
    case UB_OP_SA:
        ub__sa_backward_ref(dx, param_grad(t, dparams, op->w), dy, s->caches[index], x, param_data(t, params, op->w), n,
                            a->c, a->h, a->w, op->k);
        break;
    case UB_OP_CROP: crop_backward(dx, dy, n, a->c, o->h, o->w, a->h, a->w); break;
    case UB_OP_LAYERNORM:
        ub__layernorm_backward_ref(dx, param_grad(t, dparams, op->w), param_grad(t, dparams, op->bias), dy,
                                   s->caches[index], x, param_data(t, params, op->w), n, a->c, a->h, a->w);
        break;
    case UB_OP_GATE: ub__gate_backward_ref(dx, dy, x, n, o->c, (size_t)a->h * a->w); break;
    case UB_OP_SCA:
        ub__sca_backward_ref(dx, param_grad(t, dparams, op->w), param_grad(t, dparams, op->bias), dy, s->caches[index],
                             x, param_data(t, params, op->w), n, a->c, a->h, a->w);
        break;
    case UB_OP_SCALE:
        ub__scale_backward_ref(dx, param_grad(t, dparams, op->w), dy, x, param_data(t, params, op->w), n, a->c,
                               (size_t)a->h * a->w);
        break;
    }
}

ub_status ub__graph_backward_ref(ub_ctx *ctx, const ub__graph *g, const ub__param_table *t, const double *params,
                                 const ub__ref_state *s, const double *doutput, double *dparams, double *dinput) {
    double **grads = calloc((size_t)g->nvalues, sizeof(double *));
    int ok = grads != NULL;
    for (int v = 0; ok && v < g->nvalues; v++) ok = (grads[v] = calloc(value_size(g, v), sizeof(double))) != NULL;
    if (ok) {
        const int last = g->nvalues - 1;
        memcpy(grads[last], doutput, sizeof(double) * value_size(g, last));
        for (int i = g->nops - 1; i >= 0; i--) backward_op(g, &g->ops[i], t, params, s, i, grads, dparams);
        if (dinput)
            for (size_t i = 0; i < value_size(g, 0); i++) dinput[i] += grads[0][i];
    }
    for (int v = 0; grads && v < g->nvalues; v++) free(grads[v]);
    free(grads);
    return ok ? UB_OK : ub__fail(ctx, UB_ERR_NOMEM, "reference executor: out of memory");
}
