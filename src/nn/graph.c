/* nn/graph.c — RBNet's parameters and its graph of operations (see graph.h). */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "nn/graph.h"

void ub__rbnet_config_default(ub__rbnet_config *c) {
    c->width = 32;
    c->blocks = 2;
    c->mid_blocks = 2;
    c->depth = 2;
    c->se_reduction = 8;
    c->sa_kernel = 7;
}

ub_status ub__rbnet_config_check(ub_ctx *ctx, const ub__rbnet_config *c) {
    if (c->width < 1 || c->width > 1024 || c->blocks < 0 || c->blocks > 64 || c->mid_blocks < 0 ||
        c->mid_blocks > 64 || c->depth < 1 || c->depth > 8 || c->se_reduction < 1 || c->sa_kernel < 1 ||
        c->sa_kernel > 15 || c->sa_kernel % 2 == 0 || ((int64_t)c->width << c->depth) > 65536)
        return ub__fail(ctx, UB_ERR_INVALID,
                        "RBNet: unsupported configuration (width %d, blocks %d, mid_blocks %d, depth %d, "
                        "se_reduction %d, sa_kernel %d)",
                        c->width, c->blocks, c->mid_blocks, c->depth, c->se_reduction, c->sa_kernel);
    return UB_OK;
}

/* ---- parameters, in PyTorch's registration order ---- */

typedef struct param_builder {
    ub__param_table *t;
    int cap;
    int failed;
} param_builder;

static void add_param(param_builder *pb, int rank, const int64_t *shape, const char *fmt, ...) {
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
    p->count = 1;
    for (int i = 0; i < rank; i++) p->shape[i] = shape[i], p->count *= (size_t)shape[i];
    p->offset = t->total;
    t->total += p->count;
}

static void add_conv(param_builder *pb, const char *prefix, int cout, int cin, int k, int bias) {
    int64_t w[4] = {cout, cin, k, k}, b[1] = {cout};
    add_param(pb, 4, w, "%s.weight", prefix);
    if (bias) add_param(pb, 1, b, "%s.bias", prefix);
}

static void add_stage(param_builder *pb, const char *stage, int c, int n) {
    char name[48];
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof name, "%s.%d.conv1", stage, i);
        add_conv(pb, name, c, c, 3, 1);
        snprintf(name, sizeof name, "%s.%d.conv2", stage, i);
        add_conv(pb, name, c, c, 3, 1);
    }
}

static int se_hidden(const ub__rbnet_config *c, int channels) {
    int r = channels / c->se_reduction;
    return r < 1 ? 1 : r;
}

ub_status ub__rbnet_params(ub_ctx *ctx, const ub__rbnet_config *c, ub__param_table *out) {
    memset(out, 0, sizeof *out);
    ub_status st = ub__rbnet_config_check(ctx, c);
    if (st) return st;
    param_builder pb = {out, 0, 0};
    char name[48];
    add_conv(&pb, "head", c->width, 3, 3, 1);
    for (int l = 1; l <= c->depth; l++) {
        int ch = c->width << (l - 1);
        snprintf(name, sizeof name, "enc%d", l);
        add_stage(&pb, name, ch, c->blocks);
        snprintf(name, sizeof name, "down%d", l);
        add_conv(&pb, name, 2 * ch, ch, 3, 1);
    }
    add_stage(&pb, "bottleneck", c->width << c->depth, c->mid_blocks);
    for (int l = c->depth; l >= 1; l--) {
        int ch = c->width << (l - 1), r = se_hidden(c, ch);
        int64_t up[4] = {2 * ch, ch, 2, 2}, upb[1] = {ch}, fc1[2] = {r, ch}, fc1b[1] = {r}, fc2[2] = {ch, r},
                fc2b[1] = {ch}, sa[4] = {1, 2, c->sa_kernel, c->sa_kernel};
        add_param(&pb, 4, up, "up%d.weight", l);
        add_param(&pb, 1, upb, "up%d.bias", l);
        add_param(&pb, 2, fc1, "att%d.se.fc1.weight", l);
        add_param(&pb, 1, fc1b, "att%d.se.fc1.bias", l);
        add_param(&pb, 2, fc2, "att%d.se.fc2.weight", l);
        add_param(&pb, 1, fc2b, "att%d.se.fc2.bias", l);
        add_param(&pb, 4, sa, "att%d.sa.conv.weight", l);
        snprintf(name, sizeof name, "dec%d", l);
        add_stage(&pb, name, ch, c->blocks);
    }
    add_conv(&pb, "tail", 3, c->width, 3, 1);
    if (pb.failed) {
        ub__param_table_free(out);
        return ub__fail(ctx, UB_ERR_NOMEM, "RBNet: out of memory");
    }
    return UB_OK;
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

/* ---- the graph ---- */

typedef struct graph_builder {
    ub__graph *g;
    const ub__param_table *t;
    int op_cap, value_cap;
    int failed;
    ub__op sink;
} graph_builder;

static int new_value(graph_builder *gb, int c, int h, int w) {
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

/* Appends an operation; after a failed allocation it returns the builder's
   sink, so callers can set fields unconditionally (the graph is discarded). */
static ub__op *new_op(graph_builder *gb, ub__op_kind kind, int a, int out) {
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
    *op = (ub__op){kind, a, -1, out, UB_NO_PARAM, UB_NO_PARAM, UB_NO_PARAM, UB_NO_PARAM, 0, 1, 0};
    return op;
}

static int param(graph_builder *gb, const char *fmt, int l, int i) {
    char name[64];
    snprintf(name, sizeof name, fmt, l, i);
    int p = ub__param_find(gb->t, name);
    if (p < 0) gb->failed = 2;
    return p;
}

static int conv(graph_builder *gb, int x, int cout, int k, int stride, int w, int b) {
    if (gb->failed) return 0;
    const ub__value in = gb->g->values[x];
    int ho = (in.h + 2 * (k / 2) - k) / stride + 1, wo = (in.w + 2 * (k / 2) - k) / stride + 1;
    int out = new_value(gb, cout, ho, wo);
    ub__op *op = new_op(gb, UB_OP_CONV, x, out);
    op->w = w, op->bias = b, op->k = k, op->stride = stride;
    return out;
}

static int binary(graph_builder *gb, ub__op_kind kind, int a, int b) {
    if (gb->failed) return 0;
    const ub__value v = gb->g->values[a];
    int out = new_value(gb, v.c, v.h, v.w);
    ub__op *op = new_op(gb, kind, a, out);
    op->b = b;
    return out;
}

static int stage(graph_builder *gb, const char *prefix, int l, int blocks, int x) {
    char fmt[64];
    if (gb->failed) return 0;
    const int c = gb->g->values[x].c;
    for (int i = 0; i < blocks; i++) {
        snprintf(fmt, sizeof fmt, "%s.%%d.conv1.weight", prefix);
        int w1 = param(gb, fmt, i, 0);
        snprintf(fmt, sizeof fmt, "%s.%%d.conv1.bias", prefix);
        int b1 = param(gb, fmt, i, 0);
        snprintf(fmt, sizeof fmt, "%s.%%d.conv2.weight", prefix);
        int w2 = param(gb, fmt, i, 0);
        snprintf(fmt, sizeof fmt, "%s.%%d.conv2.bias", prefix);
        int b2 = param(gb, fmt, i, 0);
        int h1 = conv(gb, x, c, 3, 1, w1, b1);
        int r = binary(gb, UB_OP_RELU, h1, -1);
        int h2 = conv(gb, r, c, 3, 1, w2, b2);
        x = binary(gb, UB_OP_ADD, x, h2);
    }
    (void)l;
    return x;
}

static int skip_attention(graph_builder *gb, const ub__rbnet_config *c, int l, int x) {
    if (gb->failed) return 0;
    const ub__value v = gb->g->values[x];
    int s = new_value(gb, v.c, v.h, v.w);
    ub__op *op = new_op(gb, UB_OP_SE, x, s);
    op->w = param(gb, "att%d.se.fc1.weight", l, 0);
    op->bias = param(gb, "att%d.se.fc1.bias", l, 0);
    op->w2 = param(gb, "att%d.se.fc2.weight", l, 0);
    op->b2 = param(gb, "att%d.se.fc2.bias", l, 0);
    op->r = se_hidden(c, v.c);
    int a = new_value(gb, v.c, v.h, v.w);
    op = new_op(gb, UB_OP_SA, s, a);
    op->w = param(gb, "att%d.sa.conv.weight", l, 0);
    op->k = c->sa_kernel;
    return a;
}

ub_status ub__rbnet_graph(ub_ctx *ctx, const ub__rbnet_config *c, const ub__param_table *t, int n, int h, int w,
                          ub__graph *out) {
    memset(out, 0, sizeof *out);
    const int m = 1 << c->depth, hp = h + (m - h % m) % m, wp = w + (m - w % m) % m;
    if (n < 1 || h < 1 || w < 1 || hp - h >= h || wp - w >= w)
        return ub__fail(ctx, UB_ERR_INVALID, "RBNet: input %dx%d is too small for depth %d (reflect padding to %dx%d)",
                        w, h, c->depth, wp, hp);
    graph_builder gb = {.g = out, .t = t};
    out->n = n;
    int x = new_value(&gb, 3, h, w), xin = x;
    if (hp != h || wp != w) {
        xin = new_value(&gb, 3, hp, wp);
        new_op(&gb, UB_OP_PAD, x, xin);
    }
    int f = conv(&gb, xin, c->width, 3, 1, param(&gb, "head.weight", 0, 0), param(&gb, "head.bias", 0, 0));
    int skips[9] = {0};
    char name[32];
    for (int l = 1; l <= c->depth; l++) {
        snprintf(name, sizeof name, "enc%d", l);
        f = stage(&gb, name, l, c->blocks, f);
        skips[l] = f;
        f = conv(&gb, f, 2 * (c->width << (l - 1)), 3, 2, param(&gb, "down%d.weight", l, 0),
                 param(&gb, "down%d.bias", l, 0));
    }
    f = stage(&gb, "bottleneck", 0, c->mid_blocks, f);
    for (int l = c->depth; l >= 1 && !gb.failed; l--) {
        const ub__value v = out->values[f];
        int u = new_value(&gb, v.c / 2, 2 * v.h, 2 * v.w);
        ub__op *op = new_op(&gb, UB_OP_CONVT, f, u);
        op->w = param(&gb, "up%d.weight", l, 0);
        op->bias = param(&gb, "up%d.bias", l, 0);
        int a = skip_attention(&gb, c, l, skips[l]);
        f = binary(&gb, UB_OP_ADD, u, a);
        snprintf(name, sizeof name, "dec%d", l);
        f = stage(&gb, name, l, c->blocks, f);
    }
    if (gb.failed) {
        ub__graph_free(out);
        return ub__fail(ctx, UB_ERR_NOMEM, "RBNet: out of memory");
    }
    int tail = conv(&gb, f, 3, 3, 1, param(&gb, "tail.weight", 0, 0), param(&gb, "tail.bias", 0, 0));
    int y = binary(&gb, UB_OP_ADD, xin, tail);
    if (xin != x) {
        int cropped = new_value(&gb, 3, h, w);
        new_op(&gb, UB_OP_CROP, y, cropped);
    }
    if (gb.failed) {
        ub__graph_free(out);
        return ub__fail(ctx, gb.failed == 2 ? UB_ERR_INVALID : UB_ERR_NOMEM,
                        gb.failed == 2 ? "RBNet: parameter table does not match the configuration" : "RBNet: out of memory");
    }
    return UB_OK;
}

void ub__graph_free(ub__graph *g) {
    free(g->ops);
    free(g->values);
    memset(g, 0, sizeof *g);
}
