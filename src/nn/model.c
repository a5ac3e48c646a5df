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
    m->precision = m->used = UB_PRECISION_FP32;
    m->cpu_features = ub_cpu_features();
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

static int native_bf16(const ub_model *m) { return (m->cpu_features & (UB_CPU_AVX512BF16 | UB_CPU_AMX)) != 0; }

ub_status ub_model_set_precision(ub_model *m, ub_precision p) {
    if (!m) return UB_ERR_INVALID;
    if (p != UB_PRECISION_FP32 && p != UB_PRECISION_BF16 && p != UB_PRECISION_AUTO)
        return ub__fail(m->ctx, UB_ERR_INVALID, "model: precision %d is not fp32, bf16 or auto", (int)p);
    m->precision = p;
    m->used = p != UB_PRECISION_FP32 && native_bf16(m) ? UB_PRECISION_BF16 : UB_PRECISION_FP32;
    return UB_OK;
}

ub_precision ub_model_precision_used(const ub_model *m) {
    return m ? m->used : UB_PRECISION_FP32;
}

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

/* ---- inference ----

   The whole image at once (run_whole) when it fits in one tile, else in tiles (run_tiled) whose output
   equals the whole image's: not an approximation with blended seams, but the same arithmetic on the same
   input values for every output pixel (measured: the same bits; in general up to float rounding).

   Why it is exact. An output pixel of RBNet depends on the input pixels within a radius R (receptive_radius,
   from the graph), except through SE, whose channel means are global. So:
   - the whole image is reflect-padded on the bottom and right to a multiple of 2^depth (as the network
     pads it: the padded grid Hp x Wp), and convolutions pad that grid with zeros;
   - cores of at most T x T pixels tile the image (multiples of 2^depth, evened out along each axis), and
     each core is computed in a region of the padded grid that extends it by a margin M >= R (a multiple
     of 2^depth) on every side, shifted inward where that would leave the padded grid. Region origins are
     multiples of 2^depth, so a region's stride-2 grids fall on the whole image's; a region that reaches
     the padded grid's edge has the same zero padding there as the whole image, and the rest of its border
     is at least M from its core. Every region has the same size: one net serves every tile. (An axis that
     fits in one region is not cut: its region is the whole padded axis.)
   - pass A runs each region through the encoder and sums every SE input over the region's core (mapped to
     that SE's level; a core at the bottom or right edge takes the padding rows and columns with it, which
     the whole image's mean also counts): the sums over all cores give the whole image's means;
   - pass B runs each region with SE using those means and keeps its core.
   Memory: the input and output images, one net for the region size and one region's input and output;
   nothing else grows with the image. */

/* Default tile (core) side, by measurement: RBNet W=32 N=2 D=2 (margin 48), random weights, a 3000x2000
   RGB image, 2 threads (AVX-512 machine shared with other work: best of 3 interleaved rounds), time
   relative to the whole image at once (1.26 s per megapixel there), and the peak memory beyond the
   input and output images (bench/bench_deblur_memory.sh build tiles):
       T = 256: 2.6x (noisy; ~2x expected), 68 MB      T = 768:  1.33x, 228 MB
       T = 384: 1.65x, 94 MB                           T = 1024: 1.24x, 394 MB
       T = 512: 1.47x, 140 MB                          whole:    1.00x, 1825 MB (and growing with the image)
   The margins' share of the work falls as (T + 2M)^2 / T^2 while a region's buffers grow as (T + 2M)^2:
   768 takes most of the speed of 1024 at 60% of its memory. */
enum { DEFAULT_TILE = 768 };

/* PyTorch's "reflect" (as the graph's padding: the edge is not repeated). */
static int reflect_index(int i, int size) { return i < size ? i : 2 * (size - 1) - i; }

/* The network's input: the colour channels as RGB, NCHW (n = 1), for rows [y0, y1), columns [x0, x1) of the
   image reflect-padded on the bottom and right (y1, x1 at most the padded grid's size). */
static void rgb_region(const ub_image *in, int y0, int y1, int x0, int x1, float *x) {
    const int iw = (int)in->width, ih = (int)in->height;
    const size_t w = (size_t)(x1 - x0), plane = (size_t)(y1 - y0) * w;
    const int inside = x1 < iw ? x1 : iw; /* columns [x0, inside) are the image's own */
    for (int c = 0; c < 3; c++) {
        const float *src = ub_image_plane(in, ub_image_colour_channels(in) == 3 ? c : 0);
        for (int y = y0; y < y1; y++) {
            const float *row = src + (size_t)reflect_index(y, ih) * (size_t)iw;
            float *dst = x + c * plane + (size_t)(y - y0) * w;
            memcpy(dst, row + x0, (size_t)(inside - x0) * sizeof(float));
            for (int xx = inside; xx < x1; xx++) dst[xx - x0] = row[reflect_index(xx, iw)];
        }
    }
}

/* Network output y (RGB, NCHW, rh x rw, its top-left at image pixel (oy, ox)) -> the image's rows [y0, y1),
   columns [x0, x1): clipped, grey as the mean. */
static void store_region(const float *y, int rh, int rw, int oy, int ox, int y0, int y1, int x0, int x1,
                         ub_image *out) {
    const size_t plane = (size_t)rh * (size_t)rw;
    const int colours = ub_image_colour_channels(out);
    for (int yy = y0; yy < y1; yy++)
        for (int xx = x0; xx < x1; xx++) {
            const size_t i = (size_t)(yy - oy) * (size_t)rw + (size_t)(xx - ox);
            const size_t o = (size_t)yy * (size_t)out->width + (size_t)xx;
            float v[3] = {y[i], y[plane + i], y[2 * plane + i]};
            for (int c = 0; c < 3; c++) v[c] = v[c] < 0 ? 0 : v[c] > 1 ? 1 : v[c];
            if (colours == 1) ub_image_plane(out, 0)[o] = (v[0] + v[1] + v[2]) / 3.0f;
            else
                for (int c = 0; c < 3; c++) ub_image_plane(out, c)[o] = v[c];
        }
}

/* The net for inputs of h x w, and a region's input and output buffers. */
typedef struct runner {
    ub__graph g;
    ub__fast_net *net;
    float *x, *y;
} runner;

/* The inference net of graph g in the model's precision: bf16 when asked and native here, else float. A
   refused bf16 net (UB_ERR_UNSUPPORTED: no native bf16 on this CPU or in oneDNN) is no error: the float net
   runs instead, and m->used says so. */
static ub_status make_net(ub_model *m, const ub__graph *g, ub__fast_net **net) {
    m->used = UB_PRECISION_FP32;
    if (m->precision != UB_PRECISION_FP32 && native_bf16(m)) {
        const ub_status st = ub__fast_net_create_bf16(m->ctx, g, &m->table, UB_FAST_LAYOUT_AUTO, m->cpu_features, net);
        if (st == UB_OK) m->used = UB_PRECISION_BF16;
        if (st != UB_ERR_UNSUPPORTED) return st;
    }
    return ub__fast_net_create(m->ctx, g, &m->table, 0, net);
}

static ub_status runner_make(ub_model *m, int h, int w, runner *r) {
    memset(r, 0, sizeof *r);
    size_t floats;
    ub_status st = ub__rbnet_graph(m->ctx, &m->config, &m->table, 1, h, w, &r->g);
    if (st == UB_OK) st = make_net(m, &r->g, &r->net);
    if (st == UB_OK && (!ub__mul3_size(3, (size_t)w, (size_t)h, &floats) ||
                        !(r->x = ub__alloc(floats * sizeof(float))) || !(r->y = ub__alloc(floats * sizeof(float)))))
        st = ub__fail(m->ctx, UB_ERR_NOMEM, "deblur: out of memory for %dx%d pixels", w, h);
    return st;
}

static void runner_free(runner *r) {
    ub__fast_net_destroy(&r->net);
    ub__graph_free(&r->g);
    ub__free(r->x);
    ub__free(r->y);
}

static ub_status run_whole(ub_model *m, const ub_image *in, ub_image *out) {
    const int h = (int)in->height, w = (int)in->width;
    runner r;
    ub_status st = runner_make(m, h, w, &r);
    if (st == UB_OK) {
        rgb_region(in, 0, h, 0, w, r.x);
        st = ub__fast_forward(r.net, m->params, r.x, r.y);
    }
    if (st == UB_OK) st = ub__progress(m->ctx, 1.0, "deblur");
    if (st == UB_OK) store_region(r.y, h, w, 0, 0, 0, h, 0, w, out);
    runner_free(&r);
    return st;
}

/* How far (in input pixels) an output pixel's value reaches, SE's global means aside: per value, the
   distance beyond its pixel's footprint (a pixel of level s covers 2^s input pixels) of every input pixel
   it depends on. A k x k convolution (or the spatial attention's) at level s adds (k/2) 2^s (stride 2:
   the same on the left, less on the right); the 2x2 transposed convolution to level s adds 2^s (the
   coarse pixel's footprint reaches 2^s beyond the fine one's); an add takes the larger of its operands;
   the others keep their input's. Returns -1 when out of memory. */
static int receptive_radius(const ub__graph *g) {
    int *reach = calloc((size_t)g->nvalues, sizeof(int));
    if (!reach) return -1;
    const int grid = g->values[g->nops > 0 && g->ops[0].kind == UB_OP_PAD ? g->ops[0].out : 0].h;
    for (int i = 0; i < g->nops; i++) {
        const ub__op *op = &g->ops[i];
        const int a = reach[op->a], scale_in = grid / g->values[op->a].h;
        switch (op->kind) {
        case UB_OP_CONV:
        case UB_OP_SA: reach[op->out] = a + op->k / 2 * scale_in; break;
        case UB_OP_CONVT: reach[op->out] = a + grid / g->values[op->out].h; break;
        case UB_OP_ADD: reach[op->out] = a > reach[op->b] ? a : reach[op->b]; break;
        default: reach[op->out] = a; break; /* PAD / CROP: the padded grid is the frame of reference */
        }
    }
    const int r = reach[g->nvalues - 1];
    free(reach);
    return r;
}

/* One axis of the tiling (see the top of this section). */
typedef struct axis {
    int size;   /* image pixels */
    int padded; /* rounded up to a multiple of 2^depth, as the network pads it */
    int core, margin, region, count;
} axis;

static axis axis_make(int size, int tile, int margin, int step) {
    const int padded = (size + step - 1) / step * step;
    axis a = {size, padded, size, margin, padded, 1};
    if (padded <= tile + 2 * margin) return a; /* one region covers it: not cut */
    /* as many cores as tiles of `tile` need, evened out (on the 2^depth grid): less margin wasted */
    const int count = (size + tile - 1) / tile, even = (size + count - 1) / count;
    a.core = (even + step - 1) / step * step;
    a.region = a.core + 2 * margin;
    a.count = (size + a.core - 1) / a.core;
    return a;
}

/* Tile i: core [c0, c1) of the image, region [r0, r0 + region) of the padded grid. */
typedef struct span1 {
    int c0, c1, r0;
} span1;

static span1 axis_span(const axis *a, int i) {
    span1 s = {i * a->core, 0, i * a->core - a->margin};
    s.c1 = s.c0 + a->core < a->size ? s.c0 + a->core : a->size;
    if (s.r0 > a->padded - a->region) s.r0 = a->padded - a->region;
    if (s.r0 < 0) s.r0 = 0;
    return s;
}

typedef struct tiler {
    ub_model *m;
    const ub_image *in;
    ub_image *out;
    axis ax, ay;
    runner r;  /* one net: every region has the same size */
    int nse;
    double **sums; /* per SE: (c) sums over the cores so far */
    float **means; /* per SE: the whole image's means */
    int *se_channels;
    double *se_pixels; /* per SE: pixels of its level's grid over the whole padded image */
    double done, total; /* progress, in tile passes weighted by their cost */
} tiler;

/* Pass A for tile (ty, tx): the SE inputs' sums over its core (a core that ends at the image's edge takes
   the padding with it). */
static ub_status pass_a(tiler *t, int ty, int tx) {
    const span1 sy = axis_span(&t->ay, ty), sx = axis_span(&t->ax, tx);
    rgb_region(t->in, sy.r0, sy.r0 + t->ay.region, sx.r0, sx.r0 + t->ax.region, t->r.x);
    const int y1 = sy.c1 == t->ay.size ? t->ay.padded : sy.c1, x1 = sx.c1 == t->ax.size ? t->ax.padded : sx.c1;
    return ub__fast_se_sums(t->r.net, t->m->params, t->r.x, sy.c0 - sy.r0, y1 - sy.r0, sx.c0 - sx.r0, x1 - sx.r0,
                            t->sums);
}

/* Pass B for tile (ty, tx): the network with the whole image's SE means; the core goes to the output. */
static ub_status pass_b(tiler *t, int ty, int tx) {
    const span1 sy = axis_span(&t->ay, ty), sx = axis_span(&t->ax, tx);
    rgb_region(t->in, sy.r0, sy.r0 + t->ay.region, sx.r0, sx.r0 + t->ax.region, t->r.x);
    ub_status st = ub__fast_forward(t->r.net, t->m->params, t->r.x, t->r.y);
    if (st == UB_OK)
        store_region(t->r.y, t->ay.region, t->ax.region, sy.r0, sx.r0, sy.c0, sy.c1, sx.c0, sx.c1, t->out);
    return st;
}

static ub_status tiler_progress(tiler *t, double cost) {
    t->done += cost;
    return ub__progress(t->m->ctx, t->done / t->total, "deblur");
}

/* The net, the region buffers and the SE sums. */
static ub_status tiler_init(tiler *t) {
    ub_ctx *ctx = t->m->ctx;
    ub_status st = runner_make(t->m, t->ay.region, t->ax.region, &t->r);
    if (st) return st;
    t->nse = ub__fast_net_se_count(t->r.net);
    const size_t nse = (size_t)(t->nse ? t->nse : 1);
    t->sums = calloc(nse, sizeof(double *));
    t->means = calloc(nse, sizeof(float *));
    t->se_channels = calloc(nse, sizeof(int));
    t->se_pixels = calloc(nse, sizeof(double));
    if (!t->sums || !t->means || !t->se_channels || !t->se_pixels)
        return ub__fail(ctx, UB_ERR_NOMEM, "deblur: out of memory");
    for (int i = 0; i < t->nse; i++) {
        int c, h, w; /* the SE's level: its input is the region scaled down by region / h */
        ub__fast_net_se_shape(t->r.net, i, &c, &h, &w);
        t->se_channels[i] = c;
        t->se_pixels[i] = (double)(t->ay.padded / (t->ay.region / h)) * (double)(t->ax.padded / (t->ax.region / w));
        if (!(t->sums[i] = calloc((size_t)c, sizeof(double))) || !(t->means[i] = calloc((size_t)c, sizeof(float))))
            return ub__fail(ctx, UB_ERR_NOMEM, "deblur: out of memory");
    }
    return UB_OK;
}

static void tiler_free(tiler *t) {
    runner_free(&t->r);
    for (int i = 0; t->sums && i < t->nse; i++) free(t->sums[i]);
    for (int i = 0; t->means && i < t->nse; i++) free(t->means[i]);
    free(t->sums);
    free(t->means);
    free(t->se_channels);
    free(t->se_pixels);
}

static ub_status run_tiled(ub_model *m, const ub_image *in, const axis *ax, const axis *ay, ub_image *out) {
    tiler t = {.m = m, .in = in, .out = out, .ax = *ax, .ay = *ay};
    const int64_t tiles = (int64_t)ax->count * ay->count; /* (tiny tiles on a huge image: beyond int) */
    const double cost_a = 0.3; /* pass A runs the encoder: about 0.3 of a forward pass at depth 2 */
    t.total = (1.0 + cost_a) * (double)tiles;
    ub_status st = tiler_init(&t);
    for (int64_t i = 0; st == UB_OK && i < tiles; i++) {
        st = pass_a(&t, (int)(i / ax->count), (int)(i % ax->count));
        if (st == UB_OK) st = tiler_progress(&t, cost_a);
    }
    for (int i = 0; st == UB_OK && i < t.nse; i++)
        for (int k = 0; k < t.se_channels[i]; k++) t.means[i][k] = (float)(t.sums[i][k] / t.se_pixels[i]);
    if (st == UB_OK) st = ub__fast_net_set_se_means(t.r.net, (const float *const *)t.means);
    for (int64_t i = 0; st == UB_OK && i < tiles; i++) {
        st = pass_b(&t, (int)(i / ax->count), (int)(i % ax->count));
        if (st == UB_OK) st = tiler_progress(&t, 1.0);
    }
    tiler_free(&t);
    return st;
}

ub_status ub_model_run_tiled(ub_model *m, const ub_image *in, int tile, ub_image **out) {
    if (!m) return UB_ERR_INVALID;
    ub_ctx *ctx = m->ctx;
    if (!in || !out) return ub__fail(ctx, UB_ERR_INVALID, "ub_model_run: NULL argument");
    *out = NULL;
    if (in->width > 1 << 20 || in->height > 1 << 20)
        return ub__fail(ctx, UB_ERR_LIMIT, "deblur: %lldx%lld is too large", (long long)in->width,
                        (long long)in->height);
    if (tile > 1 << 16 || tile < UB_MODEL_TILE_OFF)
        return ub__fail(ctx, UB_ERR_INVALID, "deblur: tile %d is not 1..65536 (0: default, -1: whole image)", tile);
    const int step = 1 << m->config.depth, h = (int)in->height, w = (int)in->width;
    /* the whole image's graph (no buffers: a list of ops): it checks the size, and gives the margin */
    ub__graph g = {0};
    ub_status st = ub__rbnet_graph(ctx, &m->config, &m->table, 1, h, w, &g);
    const int radius = st == UB_OK ? receptive_radius(&g) : 0;
    ub__graph_free(&g);
    if (st == UB_OK && radius < 0) st = ub__fail(ctx, UB_ERR_NOMEM, "deblur: out of memory");
    const int margin = (radius + step - 1) / step * step;
    const int core = ((tile > 0 ? tile : DEFAULT_TILE) + step - 1) / step * step;
    const axis ax = axis_make(w, core, margin, step), ay = axis_make(h, core, margin, step);
    if (st == UB_OK) st = ub_image_create(ctx, out, in->width, in->height, in->channels);
    if (st == UB_OK) {
        (*out)->bit_depth = in->bit_depth;
        st = tile < 0 || (ax.count == 1 && ay.count == 1) ? run_whole(m, in, *out) : run_tiled(m, in, &ax, &ay, *out);
    }
    if (st == UB_OK && ub_image_has_alpha(in))
        memcpy(ub_image_plane(*out, in->channels - 1), ub_image_plane(in, in->channels - 1),
               (size_t)w * (size_t)h * sizeof(float));
    if (st) ub_image_destroy(out);
    return st;
}

ub_status ub_model_run(ub_model *m, const ub_image *in, ub_image **out) {
    return ub_model_run_tiled(m, in, UB_MODEL_TILE_DEFAULT, out);
}
