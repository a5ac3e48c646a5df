/* nn/graph.c — parameter tables and graphs: the generic builders that
   architectures describe themselves with, and the receptive-field rules (see
   graph.h). */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "nn/graph.h"

/* ---- parameters ---- */

void ub__pb_begin(ub__param_builder *pb, ub__param_table *t) {
    memset(t, 0, sizeof *t);
    *pb = (ub__param_builder){t, 0, 0};
}

void ub__pb_add(ub__param_builder *pb, ub__param_init init, int rank, const int64_t *shape, const char *fmt, ...) {
    ub__param_table *t = pb->t;
    if (pb->failed) return;
    if (t->count == pb->cap) {
        int cap = pb->cap ? 2 * pb->cap : 64;
        ub__param *p = realloc(t->params, sizeof *p * (size_t)cap);
        if (!p) {
            pb->failed = 1;
            return;
        }
        t->params = p;
        pb->cap = cap;
    }
    ub__param *p = &t->params[t->count++];
    memset(p, 0, sizeof *p);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->name, sizeof p->name, fmt, ap);
    va_end(ap);
    p->rank = rank;
    p->init = init;
    p->count = 1;
    for (int i = 0; i < rank; i++) p->shape[i] = shape[i], p->count *= (size_t)shape[i];
    p->offset = t->total;
    t->total += p->count;
}

void ub__pb_conv(ub__param_builder *pb, const char *prefix, int cout, int cin, int k, int groups, int bias) {
    int64_t w[4] = {cout, cin / groups, k, k}, b[1] = {cout};
    ub__pb_add(pb, UB_INIT_FAN_IN, 4, w, "%s.weight", prefix);
    if (bias) ub__pb_add(pb, UB_INIT_FAN_IN, 1, b, "%s.bias", prefix);
}

ub_status ub__pb_finish(ub_ctx *ctx, ub__param_builder *pb, const char *who) {
    if (!pb->failed) return UB_OK;
    ub__param_table_free(pb->t);
    return ub__fail(ctx, UB_ERR_NOMEM, "%s: out of memory", who);
}

void ub__param_table_free(ub__param_table *t) {
    free(t->params);
    memset(t, 0, sizeof *t);
}

int ub__param_find(const ub__param_table *t, const char *name) {
    for (int i = 0; i < t->count; i++)
        if (strcmp(t->params[i].name, name) == 0) return i;
    return -1;
}

/* ---- graphs ---- */

void ub__gb_begin(ub__graph_builder *gb, ub__graph *g, const ub__param_table *t, int n) {
    memset(g, 0, sizeof *g);
    *gb = (ub__graph_builder){.g = g, .t = t};
    g->n = n;
}

int ub__gb_value(ub__graph_builder *gb, int c, int h, int w) {
    ub__graph *g = gb->g;
    if (gb->failed) return 0;
    if (g->nvalues == gb->value_cap) {
        int cap = gb->value_cap ? 2 * gb->value_cap : 64;
        ub__value *v = realloc(g->values, sizeof *v * (size_t)cap);
        if (!v) return gb->failed = 1, 0;
        g->values = v;
        gb->value_cap = cap;
    }
    g->values[g->nvalues] = (ub__value){c, h, w};
    return g->nvalues++;
}

ub__op *ub__gb_op(ub__graph_builder *gb, ub__op_kind kind, int a, int out) {
    ub__graph *g = gb->g;
    if (gb->failed) return &gb->sink;
    if (g->nops == gb->op_cap) {
        int cap = gb->op_cap ? 2 * gb->op_cap : 128;
        ub__op *o = realloc(g->ops, sizeof *o * (size_t)cap);
        if (!o) return gb->failed = 1, &gb->sink;
        g->ops = o;
        gb->op_cap = cap;
    }
    ub__op *op = &g->ops[g->nops++];
    *op = (ub__op){kind, a, -1, out, UB_NO_PARAM, UB_NO_PARAM, UB_NO_PARAM, UB_NO_PARAM, 0, 1, 0, 1};
    return op;
}

int ub__gb_param(ub__graph_builder *gb, const char *fmt, ...) {
    char name[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    int p = ub__param_find(gb->t, name);
    if (p < 0 && !gb->failed) gb->failed = 2;
    return p < 0 ? UB_NO_PARAM : p;
}

int ub__gb_conv(ub__graph_builder *gb, int x, int cout, int k, int stride, int groups, int w, int b) {
    if (gb->failed) return 0;
    const ub__value in = gb->g->values[x];
    int ho = (in.h + 2 * (k / 2) - k) / stride + 1, wo = (in.w + 2 * (k / 2) - k) / stride + 1;
    int out = ub__gb_value(gb, cout, ho, wo);
    ub__op *op = ub__gb_op(gb, UB_OP_CONV, x, out);
    op->w = w, op->bias = b, op->k = k, op->stride = stride, op->groups = groups;
    return out;
}

int ub__gb_conv_named(ub__graph_builder *gb, int x, const char *prefix, int cout, int k, int stride, int groups) {
    int w = ub__gb_param(gb, "%s.weight", prefix), b = ub__gb_param(gb, "%s.bias", prefix);
    return ub__gb_conv(gb, x, cout, k, stride, groups, w, b);
}

int ub__gb_same(ub__graph_builder *gb, ub__op_kind kind, int a, int b) {
    if (gb->failed) return 0;
    const ub__value v = gb->g->values[a];
    int out = ub__gb_value(gb, v.c, v.h, v.w);
    ub__op *op = ub__gb_op(gb, kind, a, out);
    op->b = b;
    return out;
}

ub_status ub__gb_finish(ub_ctx *ctx, ub__graph_builder *gb, const char *who) {
    if (!gb->failed) return UB_OK;
    const int missing = gb->failed == 2;
    ub__graph_free(gb->g);
    return missing ? ub__fail(ctx, UB_ERR_INVALID, "%s: parameter table does not match the configuration", who)
                   : ub__fail(ctx, UB_ERR_NOMEM, "%s: out of memory", who);
}

void ub__graph_free(ub__graph *g) {
    free(g->ops);
    free(g->values);
    memset(g, 0, sizeof *g);
}

/* ---- receptive field ----

   Per value, the distance beyond its pixel's footprint (a pixel of level s covers 2^s input pixels) of
   every input pixel it depends on. A k x k convolution (or the spatial attention's) at level s adds
   (k/2) 2^s (stride 2: the same on the left, less on the right); the 2x2 transposed convolution to level
   s adds 2^s (the coarse pixel's footprint reaches 2^s beyond the fine one's); an add takes the larger
   of its operands; per-pixel ops keep their input's; SE and SCA keep it too apart from their global
   means, which are counted in *global. Every op kind is listed: the compiler (-Wswitch) names a new one
   without a rule, and one that slips through is refused at run time. */
ub_status ub__graph_receptive_radius(ub_ctx *ctx, const ub__graph *g, int *radius, int *global) {
    *radius = 0;
    if (global) *global = 0;
    int *reach = calloc((size_t)g->nvalues, sizeof(int));
    if (!reach) return ub__fail(ctx, UB_ERR_NOMEM, "receptive field: out of memory");
    const int grid = g->values[g->nops > 0 && g->ops[0].kind == UB_OP_PAD ? g->ops[0].out : 0].h;
    for (int i = 0; i < g->nops; i++) {
        const ub__op *op = &g->ops[i];
        const int a = reach[op->a], scale_in = grid / g->values[op->a].h;
        int r = -1;
        switch (op->kind) {
        case UB_OP_CONV:
        case UB_OP_SA: r = a + op->k / 2 * scale_in; break;
        case UB_OP_CONVT: r = a + grid / g->values[op->out].h; break;
        case UB_OP_ADD: r = a > reach[op->b] ? a : reach[op->b]; break;
        case UB_OP_SE:
        case UB_OP_SCA:
            if (global) (*global)++;
            r = a;
            break;
        case UB_OP_PAD:  /* the padded grid is the frame of reference */
        case UB_OP_CROP:
        case UB_OP_RELU:
        case UB_OP_LAYERNORM:
        case UB_OP_GATE:
        case UB_OP_SCALE: r = a; break;
        }
        if (r < 0) {
            free(reach);
            return ub__fail(ctx, UB_ERR_INVALID, "receptive field: op %d has kind %d, which has no rule", i,
                            (int)op->kind);
        }
        reach[op->out] = r;
    }
    *radius = reach[g->nvalues - 1];
    free(reach);
    return UB_OK;
}
