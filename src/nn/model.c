/* nn/model.c — RBNet models: create with random weights, load and save
   safetensors files with PyTorch's names, shapes and metadata. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/dnnl_exec.h"
#include "nn/model.h"
#include "nn/safetensors.h"

void ub_rbnet_default(ub_rbnet_config *c) {
    ub__rbnet_config d;
    ub__rbnet_config_default(&d);
    *c = (ub_rbnet_config){d.width, d.blocks, d.mid_blocks, d.depth, d.se_reduction, d.sa_kernel};
}

static ub__rbnet_config internal_config(const ub_rbnet_config *c) {
    return (ub__rbnet_config){c->width, c->blocks, c->mid_blocks, c->depth, c->se_reduction, c->sa_kernel};
}

void ub__rbnet_init(const ub__param_table *t, ub_rng *rng, float *params) {
    double bound = 1.0;
    for (int i = 0; i < t->count; i++) {
        const ub__param *p = &t->params[i];
        if (p->rank >= 2) { /* a weight: fan_in = size(1) * receptive field, as torch.nn.init computes it */
            double fan_in = (double)p->shape[1];
            for (int d = 2; d < p->rank; d++) fan_in *= (double)p->shape[d];
            bound = 1.0 / sqrt(fan_in);
        } /* a bias follows its weight and takes the same bound */
        for (size_t j = 0; j < p->count; j++) params[p->offset + j] = (float)ub_rng_range(rng, -bound, bound);
    }
}

static ub_status model_alloc(ub_ctx *ctx, const ub__rbnet_config *c, ub_model **out) {
    *out = NULL;
    ub_model *m = calloc(1, sizeof *m);
    if (!m) return ub__fail(ctx, UB_ERR_NOMEM, "model: out of memory");
    m->ctx = ctx;
    m->config = *c;
    ub_status st = ub__rbnet_params(ctx, c, &m->table);
    if (st == UB_OK && !(m->params = ub__calloc(m->table.total, sizeof(float))))
        st = ub__fail(ctx, UB_ERR_NOMEM, "model: out of memory for %zu parameters", m->table.total);
    if (st) {
        ub_model_destroy(&m);
        return st;
    }
    *out = m;
    return UB_OK;
}

ub_status ub_model_create(ub_ctx *ctx, const ub_rbnet_config *c, ub_rng *rng, ub_model **out) {
    if (!c || !rng || !out) return ub__fail(ctx, UB_ERR_INVALID, "ub_model_create: NULL argument");
    ub__rbnet_config ic = internal_config(c);
    ub_status st = model_alloc(ctx, &ic, out);
    if (st == UB_OK) ub__rbnet_init(&(*out)->table, rng, (*out)->params);
    return st;
}

void ub_model_destroy(ub_model **m) {
    if (!m || !*m) return;
    ub__param_table_free(&(*m)->table);
    ub__free((*m)->params);
    free(*m);
    *m = NULL;
}

void ub_model_config(const ub_model *m, ub_rbnet_config *out) {
    const ub__rbnet_config *c = &m->config;
    *out = (ub_rbnet_config){c->width, c->blocks, c->mid_blocks, c->depth, c->se_reduction, c->sa_kernel};
}

size_t ub_model_parameters(const ub_model *m) { return m->table.total; }

/* ---- safetensors ---- */

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

static ub_status config_from_metadata(ub_ctx *ctx, const ub__safetensors *st, ub__rbnet_config *c) {
    const char *arch = ub__st_meta(st, "arch");
    if (arch && strcmp(arch, "rbnet") != 0)
        return ub__fail(ctx, UB_ERR_UNSUPPORTED, "%s: architecture '%s', not rbnet", ub__st_path(st), arch);
    ub__rbnet_config_default(c);
    ub_status s;
    if ((s = meta_int(ctx, st, "width", c->width, &c->width)) || (s = meta_int(ctx, st, "blocks", c->blocks, &c->blocks)) ||
        (s = meta_int(ctx, st, "mid_blocks", c->blocks, &c->mid_blocks)) ||
        (s = meta_int(ctx, st, "depth", 2, &c->depth)) ||
        (s = meta_int(ctx, st, "se_reduction", c->se_reduction, &c->se_reduction)) ||
        (s = meta_int(ctx, st, "sa_kernel", c->sa_kernel, &c->sa_kernel)))
        return s;
    if (ub__rbnet_config_check(ctx, c)) {
        char why[256]; /* the message is rewritten below: copy it out of the context first */
        snprintf(why, sizeof why, "%s", ub_last_error(ctx));
        return ub__fail(ctx, UB_ERR_FORMAT, "%s: %s", ub__st_path(st), why);
    }
    return UB_OK;
}

/* Names in the file that the model does not have (other than the fixtures' input/output). */
static ub_status check_extra(ub_ctx *ctx, const ub__safetensors *st, const ub__param_table *t) {
    for (int i = 0; i < ub__st_count(st); i++) {
        const char *name = ub__st_name(st, i);
        if (ub__param_find(t, name) < 0 && strcmp(name, "input") != 0 && strcmp(name, "output") != 0)
            return ub__fail(ctx, UB_ERR_FORMAT, "%s: unexpected tensor %s (not part of this RBNet)", ub__st_path(st), name);
    }
    return UB_OK;
}

ub_status ub_model_load(ub_ctx *ctx, const char *path, ub_model **out) {
    if (!path || !out) return ub__fail(ctx, UB_ERR_INVALID, "ub_model_load: NULL argument");
    *out = NULL;
    ub__safetensors *st = NULL;
    ub__rbnet_config c;
    ub_status s = ub__st_open(ctx, path, &st);
    if (s == UB_OK) s = config_from_metadata(ctx, st, &c);
    if (s == UB_OK) s = model_alloc(ctx, &c, out);
    if (s == UB_OK) s = check_extra(ctx, st, &(*out)->table);
    for (int i = 0; s == UB_OK && i < (*out)->table.count; i++) {
        const ub__param *p = &(*out)->table.params[i];
        s = ub__st_read_f32(ctx, st, p->name, p->rank, p->shape, (*out)->params + p->offset);
    }
    ub__st_close(&st);
    if (s) ub_model_destroy(out);
    return s;
}

ub_status ub_model_save(ub_ctx *ctx, const ub_model *m, const char *path, const char *dtype) {
    if (!m || !path) return ub__fail(ctx, UB_ERR_INVALID, "ub_model_save: NULL argument");
    ub__st_writer *w = ub__st_writer_create(ctx);
    if (!w) return ub__fail(ctx, UB_ERR_NOMEM, "%s: out of memory", path);
    ub_status s = UB_OK;
    const ub__rbnet_config *c = &m->config;
    const struct { const char *key; int value; } meta[] = {{"width", c->width}, {"blocks", c->blocks},
                                                           {"mid_blocks", c->mid_blocks}, {"depth", c->depth},
                                                           {"se_reduction", c->se_reduction}, {"sa_kernel", c->sa_kernel}};
    s = ub__st_writer_meta(ctx, w, "arch", "rbnet");
    for (size_t i = 0; s == UB_OK && i < sizeof meta / sizeof *meta; i++) {
        char v[16];
        snprintf(v, sizeof v, "%d", meta[i].value);
        s = ub__st_writer_meta(ctx, w, meta[i].key, v);
    }
    for (int i = 0; s == UB_OK && i < m->table.count; i++) {
        const ub__param *p = &m->table.params[i];
        s = ub__st_writer_add(ctx, w, p->name, dtype ? dtype : "F32", p->rank, p->shape, m->params + p->offset);
    }
    if (s == UB_OK) s = ub__st_writer_save(ctx, w, path);
    ub__st_writer_destroy(&w);
    return s;
}

/* ---- inference ---- */

/* The network's input: the colour channels as RGB, NCHW (n = 1). */
static ub_status rgb_input(ub_ctx *ctx, const ub_image *in, float **out) {
    const size_t plane = (size_t)in->width * (size_t)in->height;
    float *x = ub__alloc(3 * plane * sizeof(float));
    if (!x) return ub__fail(ctx, UB_ERR_NOMEM, "deblur: out of memory for a %lldx%lld image", (long long)in->width,
                            (long long)in->height);
    for (int c = 0; c < 3; c++) memcpy(x + c * plane, ub_image_plane(in, ub_image_colour_channels(in) == 3 ? c : 0),
                                       plane * sizeof(float));
    *out = x;
    return UB_OK;
}

/* Network output (RGB, NCHW) -> an image shaped like the input: clipped, grey as the mean, alpha copied. */
static void store_output(const float *y, const ub_image *in, ub_image *out) {
    const size_t plane = (size_t)in->width * (size_t)in->height;
    const int colours = ub_image_colour_channels(in);
    for (size_t i = 0; i < plane; i++) {
        float v[3] = {y[i], y[plane + i], y[2 * plane + i]};
        for (int c = 0; c < 3; c++) v[c] = v[c] < 0 ? 0 : v[c] > 1 ? 1 : v[c];
        if (colours == 1) ub_image_plane(out, 0)[i] = (v[0] + v[1] + v[2]) / 3.0f;
        else
            for (int c = 0; c < 3; c++) ub_image_plane(out, c)[i] = v[c];
    }
    if (ub_image_has_alpha(in))
        memcpy(ub_image_plane(out, in->channels - 1), ub_image_plane(in, in->channels - 1), plane * sizeof(float));
}

ub_status ub_model_run(ub_model *m, const ub_image *in, ub_image **out) {
    ub_ctx *ctx = m->ctx;
    if (!in || !out) return ub__fail(ctx, UB_ERR_INVALID, "ub_model_run: NULL argument");
    *out = NULL;
    if (in->width > 1 << 20 || in->height > 1 << 20)
        return ub__fail(ctx, UB_ERR_LIMIT, "deblur: %lldx%lld is too large", (long long)in->width, (long long)in->height);
    ub__graph g = {0};
    ub__fast_net *net = NULL;
    float *x = NULL, *y = NULL;
    ub_status st = ub__rbnet_graph(ctx, &m->config, &m->table, 1, (int)in->height, (int)in->width, &g);
    if (st == UB_OK) st = ub__fast_net_create(ctx, &g, &m->table, 0, &net);
    if (st == UB_OK) st = rgb_input(ctx, in, &x);
    if (st == UB_OK && !(y = ub__alloc(3 * (size_t)in->width * (size_t)in->height * sizeof(float))))
        st = ub__fail(ctx, UB_ERR_NOMEM, "deblur: out of memory");
    if (st == UB_OK) st = ub__fast_forward(net, m->params, x, y);
    if (st == UB_OK) st = ub_image_create(ctx, out, in->width, in->height, in->channels);
    if (st == UB_OK) {
        (*out)->bit_depth = in->bit_depth;
        store_output(y, in, *out);
    }
    ub__fast_net_destroy(&net);
    ub__graph_free(&g);
    ub__free(x);
    ub__free(y);
    return st;
}
