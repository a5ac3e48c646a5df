/* nn/arch.c — the registry of architectures and the net object (see arch.h). */
#include <math.h>
#include <string.h>

#include "nn/arch.h"

/* Every architecture: a new one adds its line here. */
static const ub__arch *const registry[] = {&ub__arch_rbnet};

const ub__arch *ub__arch_find(const char *name) {
    for (size_t i = 0; name && i < sizeof registry / sizeof *registry; i++)
        if (strcmp(registry[i]->name, name) == 0) return registry[i];
    return NULL;
}

ub_status ub__net_make(ub_ctx *ctx, const ub__arch *arch, const ub__arch_config *config, ub__net *out) {
    memset(out, 0, sizeof *out);
    out->arch = arch;
    out->config = *config;
    ub_status st = arch->config_check(ctx, config);
    if (st == UB_OK) st = arch->params(ctx, config, &out->table);
    return st;
}

ub_status ub__net_from_meta(ub_ctx *ctx, const ub__safetensors *st, ub__net *out) {
    memset(out, 0, sizeof *out);
    const char *name = ub__st_meta(st, "arch");
    const ub__arch *arch = ub__arch_find(name ? name : "rbnet");
    if (!arch) {
        char known[128] = "";
        for (size_t i = 0; i < sizeof registry / sizeof *registry; i++)
            snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", i ? ", " : "", registry[i]->name);
        return ub__fail(ctx, UB_ERR_UNSUPPORTED, "%s: architecture '%s', not %s", ub__st_path(st), name, known);
    }
    ub__arch_config c;
    ub_status s = arch->config_from_meta(ctx, st, &c);
    return s ? s : ub__net_make(ctx, arch, &c, out);
}

void ub__net_free(ub__net *net) {
    ub__param_table_free(&net->table);
    memset(net, 0, sizeof *net);
}

ub_status ub__net_graph(ub_ctx *ctx, const ub__net *net, int n, int h, int w, ub__graph *out) {
    return net->arch->graph(ctx, &net->config, &net->table, n, h, w, out);
}

void ub__net_init(const ub__net *net, ub_rng *rng, float *params) {
    const ub__param_table *t = &net->table;
    double bound = 1.0;
    for (int i = 0; i < t->count; i++) {
        const ub__param *p = &t->params[i];
        float *x = params + p->offset;
        if (p->init != UB_INIT_FAN_IN) {
            for (size_t j = 0; j < p->count; j++) x[j] = p->init == UB_INIT_ONES ? 1.0f : 0.0f;
            continue;
        }
        if (p->rank >= 2) { /* a weight: fan_in = size(1) * receptive field, as torch.nn.init computes it */
            double fan_in = (double)p->shape[1];
            for (int d = 2; d < p->rank; d++) fan_in *= (double)p->shape[d];
            bound = 1.0 / sqrt(fan_in);
        } /* a bias follows its weight and takes the same bound */
        for (size_t j = 0; j < p->count; j++) x[j] = (float)ub_rng_range(rng, -bound, bound);
    }
}

ub_status ub__net_save(ub_ctx *ctx, const ub__net *net, const float *params, const char *path, const char *dtype) {
    ub__st_writer *w = ub__st_writer_create(ctx);
    if (!w) return ub__fail(ctx, UB_ERR_NOMEM, "%s: out of memory", path);
    ub_status s = ub__st_writer_meta(ctx, w, "arch", net->arch->name);
    if (s == UB_OK) s = net->arch->config_to_meta(ctx, &net->config, w);
    for (int i = 0; s == UB_OK && i < net->table.count; i++) {
        const ub__param *p = &net->table.params[i];
        s = ub__st_writer_add(ctx, w, p->name, dtype ? dtype : "F32", p->rank, p->shape, params + p->offset);
    }
    if (s == UB_OK) s = ub__st_writer_save(ctx, w, path);
    ub__st_writer_destroy(&w);
    return s;
}

ub_status ub__net_read(ub_ctx *ctx, const ub__net *net, const ub__safetensors *st, float *params,
                       unsigned char *missing) {
    const ub__param_table *t = &net->table;
    for (int i = 0; i < ub__st_count(st); i++) {
        const char *name = ub__st_name(st, i);
        if (ub__param_find(t, name) < 0 && strcmp(name, "input") != 0 && strcmp(name, "output") != 0)
            return ub__fail(ctx, UB_ERR_FORMAT, "%s: unexpected tensor %s (not part of this %s)", ub__st_path(st), name,
                            net->arch->name);
    }
    for (int i = 0; i < t->count; i++) {
        const ub__param *p = &t->params[i];
        if (missing && (missing[i] = ub__st_find(st, p->name) < 0)) continue;
        ub_status s = ub__st_read_f32(ctx, st, p->name, p->rank, p->shape, params + p->offset);
        if (s) return s;
    }
    return UB_OK;
}
