/* nn/arch_rbnet.c — RBNet as an architecture descriptor (nn/arch.h): its
   configuration, parameters in PyTorch's state_dict order, and its graph
   (see rbnet.h and ../shared/peers/rbnet.py). */
#include <stdlib.h>
#include <string.h>

#include "nn/arch.h"

static const char *const block_names[] = {"res", "naf"};
static const char *const skip_names[] = {"both", "se", "sa", "none"};

const char *ub__rbnet_block_name(int block) { return block >= 0 && block < 2 ? block_names[block] : NULL; }
const char *ub__rbnet_skip_name(int skip) { return skip >= 0 && skip < 4 ? skip_names[skip] : NULL; }

int ub__rbnet_block_parse(const char *name) {
    for (int i = 0; i < 2; i++)
        if (name && strcmp(name, block_names[i]) == 0) return i;
    return -1;
}

int ub__rbnet_skip_parse(const char *name) {
    for (int i = 0; i < 4; i++)
        if (name && strcmp(name, skip_names[i]) == 0) return i;
    return -1;
}

void ub__rbnet_config_default(ub__rbnet_config *c) {
    c->width = 32;
    c->blocks = 2;
    c->mid_blocks = 2;
    c->depth = 2;
    c->se_reduction = 8;
    c->sa_kernel = 7;
    c->block = UB__BLOCK_RES;
    c->skip_attention = UB__SKIP_BOTH;
}

ub_status ub__rbnet_config_check(ub_ctx *ctx, const ub__rbnet_config *c) {
    if (c->width < 1 || c->width > 1024 || c->blocks < 0 || c->blocks > 64 || c->mid_blocks < 0 ||
        c->mid_blocks > 64 || c->depth < 1 || c->depth > 8 || c->se_reduction < 1 || c->sa_kernel < 1 ||
        c->sa_kernel > 15 || c->sa_kernel % 2 == 0 || ((int64_t)c->width << c->depth) > 65536 ||
        !ub__rbnet_block_name(c->block) || !ub__rbnet_skip_name(c->skip_attention))
        return ub__fail(ctx, UB_ERR_INVALID,
                        "RBNet: unsupported configuration (width %d, blocks %d, mid_blocks %d, depth %d, "
                        "se_reduction %d, sa_kernel %d, block %d, skip_attention %d)",
                        c->width, c->blocks, c->mid_blocks, c->depth, c->se_reduction, c->sa_kernel, c->block,
                        c->skip_attention);
    return UB_OK;
}

static int has_se(const ub__rbnet_config *c) {
    return c->skip_attention == UB__SKIP_BOTH || c->skip_attention == UB__SKIP_SE;
}
static int has_sa(const ub__rbnet_config *c) {
    return c->skip_attention == UB__SKIP_BOTH || c->skip_attention == UB__SKIP_SA;
}

/* ---- parameters, in PyTorch's state_dict order ---- */

/* NAFBlock: its own parameters (beta, gamma) first, then its modules' in registration order. */
static void add_naf_block(ub__param_builder *pb, const char *p, int c) {
    char name[64];
    const int64_t scale[4] = {1, c, 1, 1}, vec[1] = {c};
    ub__pb_add(pb, UB_INIT_ZEROS, 4, scale, "%s.beta", p);
    ub__pb_add(pb, UB_INIT_ZEROS, 4, scale, "%s.gamma", p);
    ub__pb_add(pb, UB_INIT_ONES, 1, vec, "%s.norm1.weight", p);
    ub__pb_add(pb, UB_INIT_ZEROS, 1, vec, "%s.norm1.bias", p);
    snprintf(name, sizeof name, "%s.conv1", p), ub__pb_conv(pb, name, 2 * c, c, 1, 1, 1);
    snprintf(name, sizeof name, "%s.conv2", p), ub__pb_conv(pb, name, 2 * c, 2 * c, 3, 2 * c, 1);
    snprintf(name, sizeof name, "%s.sca.conv", p), ub__pb_conv(pb, name, c, c, 1, 1, 1);
    snprintf(name, sizeof name, "%s.conv3", p), ub__pb_conv(pb, name, c, c, 1, 1, 1);
    ub__pb_add(pb, UB_INIT_ONES, 1, vec, "%s.norm2.weight", p);
    ub__pb_add(pb, UB_INIT_ZEROS, 1, vec, "%s.norm2.bias", p);
    snprintf(name, sizeof name, "%s.conv4", p), ub__pb_conv(pb, name, 2 * c, c, 1, 1, 1);
    snprintf(name, sizeof name, "%s.conv5", p), ub__pb_conv(pb, name, c, c, 1, 1, 1);
}

static void add_stage(ub__param_builder *pb, const ub__rbnet_config *cfg, const char *stage, int c, int n) {
    char name[48];
    for (int i = 0; i < n; i++) {
        if (cfg->block == UB__BLOCK_NAF) {
            snprintf(name, sizeof name, "%s.%d", stage, i);
            add_naf_block(pb, name, c);
            continue;
        }
        snprintf(name, sizeof name, "%s.%d.conv1", stage, i);
        ub__pb_conv(pb, name, c, c, 3, 1, 1);
        snprintf(name, sizeof name, "%s.%d.conv2", stage, i);
        ub__pb_conv(pb, name, c, c, 3, 1, 1);
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
    ub__param_builder pb;
    ub__pb_begin(&pb, out);
    char name[48];
    ub__pb_conv(&pb, "head", c->width, 3, 3, 1, 1);
    for (int l = 1; l <= c->depth; l++) {
        int ch = c->width << (l - 1);
        snprintf(name, sizeof name, "enc%d", l);
        add_stage(&pb, c, name, ch, c->blocks);
        snprintf(name, sizeof name, "down%d", l);
        ub__pb_conv(&pb, name, 2 * ch, ch, 3, 1, 1);
    }
    add_stage(&pb, c, "bottleneck", c->width << c->depth, c->mid_blocks);
    for (int l = c->depth; l >= 1; l--) {
        int ch = c->width << (l - 1), r = se_hidden(c, ch);
        int64_t up[4] = {2 * ch, ch, 2, 2}, upb[1] = {ch}, fc1[2] = {r, ch}, fc1b[1] = {r}, fc2[2] = {ch, r},
                fc2b[1] = {ch}, sa[4] = {1, 2, c->sa_kernel, c->sa_kernel};
        ub__pb_add(&pb, UB_INIT_FAN_IN, 4, up, "up%d.weight", l);
        ub__pb_add(&pb, UB_INIT_FAN_IN, 1, upb, "up%d.bias", l);
        if (has_se(c)) {
            ub__pb_add(&pb, UB_INIT_FAN_IN, 2, fc1, "att%d.se.fc1.weight", l);
            ub__pb_add(&pb, UB_INIT_FAN_IN, 1, fc1b, "att%d.se.fc1.bias", l);
            ub__pb_add(&pb, UB_INIT_FAN_IN, 2, fc2, "att%d.se.fc2.weight", l);
            ub__pb_add(&pb, UB_INIT_FAN_IN, 1, fc2b, "att%d.se.fc2.bias", l);
        }
        if (has_sa(c)) ub__pb_add(&pb, UB_INIT_FAN_IN, 4, sa, "att%d.sa.conv.weight", l);
        snprintf(name, sizeof name, "dec%d", l);
        add_stage(&pb, c, name, ch, c->blocks);
    }
    ub__pb_conv(&pb, "tail", 3, c->width, 3, 1, 1);
    return ub__pb_finish(ctx, &pb, "RBNet");
}

/* ---- the graph ---- */

static ub__op *last_op(ub__graph_builder *gb) { return gb->failed ? &gb->sink : &gb->g->ops[gb->g->nops - 1]; }

/* An op with weight PREFIX.wname and bias PREFIX.bname (bname NULL: none). */
static int same_with(ub__graph_builder *gb, ub__op_kind kind, int a, const char *p, const char *wname,
                     const char *bname) {
    int out = ub__gb_same(gb, kind, a, -1);
    int w = ub__gb_param(gb, "%s.%s", p, wname), b = bname ? ub__gb_param(gb, "%s.%s", p, bname) : UB_NO_PARAM;
    ub__op *op = last_op(gb);
    op->w = w, op->bias = b;
    return out;
}

static int gate(ub__graph_builder *gb, int a) {
    if (gb->failed) return 0;
    const ub__value v = gb->g->values[a];
    int out = ub__gb_value(gb, v.c / 2, v.h, v.w);
    ub__gb_op(gb, UB_OP_GATE, a, out);
    return out;
}

/* NAFBlock (rbnet.py):  y = x + beta * conv3(sca(sg(conv2(conv1(norm1(x))))))
                         z = y + gamma * conv5(sg(conv4(norm2(y)))) */
static int naf_block(ub__graph_builder *gb, const char *p, int x) {
    if (gb->failed) return 0;
    const int c = gb->g->values[x].c;
    char name[80];
    int t = same_with(gb, UB_OP_LAYERNORM, x, p, "norm1.weight", "norm1.bias");
    snprintf(name, sizeof name, "%s.conv1", p), t = ub__gb_conv_named(gb, t, name, 2 * c, 1, 1, 1);
    snprintf(name, sizeof name, "%s.conv2", p), t = ub__gb_conv_named(gb, t, name, 2 * c, 3, 1, 2 * c);
    t = same_with(gb, UB_OP_SCA, gate(gb, t), p, "sca.conv.weight", "sca.conv.bias");
    snprintf(name, sizeof name, "%s.conv3", p), t = ub__gb_conv_named(gb, t, name, c, 1, 1, 1);
    int y = ub__gb_same(gb, UB_OP_ADD, x, same_with(gb, UB_OP_SCALE, t, p, "beta", NULL));
    t = same_with(gb, UB_OP_LAYERNORM, y, p, "norm2.weight", "norm2.bias");
    snprintf(name, sizeof name, "%s.conv4", p), t = ub__gb_conv_named(gb, t, name, 2 * c, 1, 1, 1);
    snprintf(name, sizeof name, "%s.conv5", p), t = ub__gb_conv_named(gb, gate(gb, t), name, c, 1, 1, 1);
    return ub__gb_same(gb, UB_OP_ADD, y, same_with(gb, UB_OP_SCALE, t, p, "gamma", NULL));
}

static int stage(ub__graph_builder *gb, const ub__rbnet_config *cfg, const char *prefix, int blocks, int x) {
    char name[48];
    if (gb->failed) return 0;
    const int c = gb->g->values[x].c;
    for (int i = 0; i < blocks; i++) {
        snprintf(name, sizeof name, "%s.%d", prefix, i);
        if (cfg->block == UB__BLOCK_NAF) {
            x = naf_block(gb, name, x);
            continue;
        }
        int w1 = ub__gb_param(gb, "%s.conv1.weight", name), b1 = ub__gb_param(gb, "%s.conv1.bias", name);
        int w2 = ub__gb_param(gb, "%s.conv2.weight", name), b2 = ub__gb_param(gb, "%s.conv2.bias", name);
        int h1 = ub__gb_conv(gb, x, c, 3, 1, 1, w1, b1);
        int r = ub__gb_same(gb, UB_OP_RELU, h1, -1);
        int h2 = ub__gb_conv(gb, r, c, 3, 1, 1, w2, b2);
        x = ub__gb_same(gb, UB_OP_ADD, x, h2);
    }
    return x;
}

static int skip_attention(ub__graph_builder *gb, const ub__rbnet_config *c, int l, int x) {
    if (gb->failed) return 0;
    const ub__value v = gb->g->values[x];
    if (has_se(c)) {
        int s = ub__gb_value(gb, v.c, v.h, v.w);
        ub__op *op = ub__gb_op(gb, UB_OP_SE, x, s);
        op->w = ub__gb_param(gb, "att%d.se.fc1.weight", l);
        op->bias = ub__gb_param(gb, "att%d.se.fc1.bias", l);
        op->w2 = ub__gb_param(gb, "att%d.se.fc2.weight", l);
        op->b2 = ub__gb_param(gb, "att%d.se.fc2.bias", l);
        op->r = se_hidden(c, v.c);
        x = s;
    }
    if (has_sa(c)) {
        int a = ub__gb_value(gb, v.c, v.h, v.w);
        ub__op *op = ub__gb_op(gb, UB_OP_SA, x, a);
        op->w = ub__gb_param(gb, "att%d.sa.conv.weight", l);
        op->k = c->sa_kernel;
        x = a;
    }
    return x;
}

ub_status ub__rbnet_graph(ub_ctx *ctx, const ub__rbnet_config *c, const ub__param_table *t, int n, int h, int w,
                          ub__graph *out) {
    memset(out, 0, sizeof *out);
    const int m = 1 << c->depth, hp = h + (m - h % m) % m, wp = w + (m - w % m) % m;
    if (n < 1 || h < 1 || w < 1 || hp - h >= h || wp - w >= w)
        return ub__fail(ctx, UB_ERR_INVALID, "RBNet: input %dx%d is too small for depth %d (reflect padding to %dx%d)",
                        w, h, c->depth, wp, hp);
    ub__graph_builder gb;
    ub__gb_begin(&gb, out, t, n);
    int x = ub__gb_value(&gb, 3, h, w), xin = x;
    if (hp != h || wp != w) {
        xin = ub__gb_value(&gb, 3, hp, wp);
        ub__gb_op(&gb, UB_OP_PAD, x, xin);
    }
    int f = ub__gb_conv_named(&gb, xin, "head", c->width, 3, 1, 1);
    int skips[9] = {0};
    char name[32];
    for (int l = 1; l <= c->depth; l++) {
        snprintf(name, sizeof name, "enc%d", l);
        f = stage(&gb, c, name, c->blocks, f);
        skips[l] = f;
        snprintf(name, sizeof name, "down%d", l);
        f = ub__gb_conv_named(&gb, f, name, 2 * (c->width << (l - 1)), 3, 2, 1);
    }
    f = stage(&gb, c, "bottleneck", c->mid_blocks, f);
    for (int l = c->depth; l >= 1 && !gb.failed; l--) {
        const ub__value v = out->values[f];
        int u = ub__gb_value(&gb, v.c / 2, 2 * v.h, 2 * v.w);
        ub__op *op = ub__gb_op(&gb, UB_OP_CONVT, f, u);
        op->w = ub__gb_param(&gb, "up%d.weight", l);
        op->bias = ub__gb_param(&gb, "up%d.bias", l);
        int a = skip_attention(&gb, c, l, skips[l]);
        f = ub__gb_same(&gb, UB_OP_ADD, u, a);
        snprintf(name, sizeof name, "dec%d", l);
        f = stage(&gb, c, name, c->blocks, f);
    }
    int tail = ub__gb_conv_named(&gb, f, "tail", 3, 3, 1, 1);
    int y = ub__gb_same(&gb, UB_OP_ADD, xin, tail);
    if (xin != x) {
        int cropped = ub__gb_value(&gb, 3, h, w);
        ub__gb_op(&gb, UB_OP_CROP, y, cropped);
    }
    return ub__gb_finish(ctx, &gb, "RBNet");
}

/* ---- the descriptor ---- */

static void rb_default(ub__arch_config *c) {
    memset(c, 0, sizeof *c);
    ub__rbnet_config_default(&c->rbnet);
}

static ub_status rb_check(ub_ctx *ctx, const ub__arch_config *c) { return ub__rbnet_config_check(ctx, &c->rbnet); }

/* An integer of the metadata, or `fallback` when absent; an error when present but not a number. */
static ub_status meta_int(ub_ctx *ctx, const ub__safetensors *st, const char *key, int fallback, int *out) {
    const char *v = ub__st_meta(st, key);
    *out = fallback;
    if (!v) return UB_OK;
    char *end;
    long x = strtol(v, &end, 10);
    if (end == v || *end || x < 0 || x > 1 << 20)
        return ub__fail(ctx, UB_ERR_FORMAT, "%s: metadata %s is '%s', not a whole number", ub__st_path(st), key, v);
    *out = (int)x;
    return UB_OK;
}

/* A name of the metadata (one of names), or `fallback` when absent. */
static ub_status meta_enum(ub_ctx *ctx, const ub__safetensors *st, const char *key, int (*parse)(const char *),
                           const char *allowed, int fallback, int *out) {
    const char *v = ub__st_meta(st, key);
    *out = fallback;
    if (!v) return UB_OK;
    if ((*out = parse(v)) < 0)
        return ub__fail(ctx, UB_ERR_FORMAT, "%s: metadata %s is '%s', not %s", ub__st_path(st), key, v, allowed);
    return UB_OK;
}

static ub_status rb_from_meta(ub_ctx *ctx, const ub__safetensors *st, ub__arch_config *ac) {
    ub__rbnet_config *c = &ac->rbnet;
    rb_default(ac);
    ub_status s;
    if ((s = meta_int(ctx, st, "width", c->width, &c->width)) || (s = meta_int(ctx, st, "blocks", c->blocks, &c->blocks)) ||
        (s = meta_int(ctx, st, "mid_blocks", c->blocks, &c->mid_blocks)) ||
        (s = meta_int(ctx, st, "depth", 2, &c->depth)) ||
        (s = meta_int(ctx, st, "se_reduction", c->se_reduction, &c->se_reduction)) ||
        (s = meta_int(ctx, st, "sa_kernel", c->sa_kernel, &c->sa_kernel)) ||
        (s = meta_enum(ctx, st, "block", ub__rbnet_block_parse, "res or naf", UB__BLOCK_RES, &c->block)) ||
        (s = meta_enum(ctx, st, "skip_attention", ub__rbnet_skip_parse, "both, se, sa or none", UB__SKIP_BOTH,
                       &c->skip_attention)))
        return s;
    if (ub__rbnet_config_check(ctx, c)) {
        char why[256]; /* the message is rewritten below: copy it out of the context first */
        snprintf(why, sizeof why, "%s", ub_last_error(ctx));
        return ub__fail(ctx, UB_ERR_FORMAT, "%s: %s", ub__st_path(st), why);
    }
    return UB_OK;
}

/* rbnet.py's keys; block and skip_attention only when not the default (as rbnet.py writes them: older
   files, and readers, know nothing else). */
static ub_status rb_to_meta(ub_ctx *ctx, const ub__arch_config *ac, ub__st_writer *w) {
    const ub__rbnet_config *c = &ac->rbnet;
    const struct { const char *key; int value; } meta[] = {{"width", c->width}, {"blocks", c->blocks},
                                                           {"mid_blocks", c->mid_blocks}, {"depth", c->depth},
                                                           {"se_reduction", c->se_reduction}, {"sa_kernel", c->sa_kernel}};
    ub_status s = UB_OK;
    for (size_t i = 0; s == UB_OK && i < sizeof meta / sizeof *meta; i++) {
        char v[16];
        snprintf(v, sizeof v, "%d", meta[i].value);
        s = ub__st_writer_meta(ctx, w, meta[i].key, v);
    }
    if (s == UB_OK && c->block != UB__BLOCK_RES) s = ub__st_writer_meta(ctx, w, "block", ub__rbnet_block_name(c->block));
    if (s == UB_OK && c->skip_attention != UB__SKIP_BOTH)
        s = ub__st_writer_meta(ctx, w, "skip_attention", ub__rbnet_skip_name(c->skip_attention));
    return s;
}

static void rb_describe(const ub__arch_config *ac, char *buf, size_t size) {
    const ub__rbnet_config *c = &ac->rbnet;
    snprintf(buf, size, "width %d, blocks %d, mid_blocks %d, depth %d, se_reduction %d, sa_kernel %d", c->width,
             c->blocks, c->mid_blocks, c->depth, c->se_reduction, c->sa_kernel);
    size_t n = strlen(buf);
    if (c->block != UB__BLOCK_RES && n < size)
        n += (size_t)snprintf(buf + n, size - n, ", block %s", ub__rbnet_block_name(c->block));
    if (c->skip_attention != UB__SKIP_BOTH && n < size)
        snprintf(buf + n, size - n, ", skip_attention %s", ub__rbnet_skip_name(c->skip_attention));
}

static ub_status rb_params(ub_ctx *ctx, const ub__arch_config *c, ub__param_table *out) {
    return ub__rbnet_params(ctx, &c->rbnet, out);
}

static ub_status rb_graph(ub_ctx *ctx, const ub__arch_config *c, const ub__param_table *t, int n, int h, int w,
                          ub__graph *out) {
    return ub__rbnet_graph(ctx, &c->rbnet, t, n, h, w, out);
}

static int rb_pad_multiple(const ub__arch_config *c) { return 1 << c->rbnet.depth; }

/* A deeper bottleneck, nothing else changed: the bottleneck's new blocks come after the file's. The
   bottleneck works at 1/2^depth of the resolution, so each block there widens the receptive field
   by 2^(depth+1) pixels at the cost of about two full-resolution convolutions of the first level. */
static int rb_grows_from(const ub__arch_config *had, const ub__arch_config *want) {
    ub__rbnet_config a = had->rbnet, b = want->rbnet;
    if (a.mid_blocks >= b.mid_blocks) return 0;
    a.mid_blocks = b.mid_blocks;
    return memcmp(&a, &b, sizeof a) == 0;
}

/* A new residual block starts as the identity: its second convolution at zero (x + conv2(relu(conv1 x))
   = x), its first as drawn so that gradients reach both. A NAF block already starts so (beta and
   gamma are zero). */
static void rb_start_grown(const ub__arch_config *want, const ub__param *p, float *x) {
    if (want->rbnet.block != UB__BLOCK_RES) return;
    const char *conv2 = strstr(p->name, ".conv2.");
    if (conv2 && (!strcmp(conv2, ".conv2.weight") || !strcmp(conv2, ".conv2.bias")))
        memset(x, 0, p->count * sizeof *x);
}

const ub__arch ub__arch_rbnet = {"rbnet", rb_default, rb_check, rb_from_meta, rb_to_meta, rb_describe, rb_params,
                                 rb_graph, rb_pad_multiple, rb_grows_from, rb_start_grown};
