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
    *c = (ub_rbnet_config){d.width, d.blocks, d.mid_blocks, d.depth, d.se_reduction, d.sa_kernel, d.block,
                           d.skip_attention};
}

void ub__rbnet_init(const ub__param_table *t, ub_rng *rng, float *params) {
    ub__net net = {.arch = &ub__arch_rbnet, .table = *t};
    ub__net_init(&net, rng, params);
}

ub_status ub__model_make(ub_ctx *ctx, const ub__arch *arch, const ub__arch_config *c, ub_model **out) {
    *out = NULL;
    ub_model *m = calloc(1, sizeof *m);
    if (!m) return ub__fail(ctx, UB_ERR_NOMEM, "model: out of memory");
    m->ctx = ctx;
    m->precision = m->used = UB_PRECISION_FP32;
    m->views = 1;
    m->cpu_features = ub_cpu_features();
    ub_status st = ub__net_make(ctx, arch, c, &m->net);
    if (st == UB_OK && !(m->params = ub__calloc(m->net.table.total, sizeof(float))))
        st = ub__fail(ctx, UB_ERR_NOMEM, "model: out of memory for %zu parameters", m->net.table.total);
    if (st) {
        ub_model_destroy(&m);
        return st;
    }
    *out = m;
    return UB_OK;
}

ub_status ub_model_create(ub_ctx *ctx, const ub_rbnet_config *c, ub_rng *rng, ub_model **out) {
    if (!c || !rng || !out) return ub__fail(ctx, UB_ERR_INVALID, "ub_model_create: NULL argument");
    ub__arch_config ac;
    memset(&ac, 0, sizeof ac);
    ac.rbnet = (ub__rbnet_config){c->width, c->blocks, c->mid_blocks, c->depth, c->se_reduction, c->sa_kernel,
                                  c->block, c->skip_attention};
    ub_status st = ub__model_make(ctx, &ub__arch_rbnet, &ac, out);
    if (st == UB_OK) ub__net_init(&(*out)->net, rng, (*out)->params);
    return st;
}

void ub_model_destroy(ub_model **m) {
    if (!m || !*m) return;
    ub__net_free(&(*m)->net);
    ub__free((*m)->params);
    free(*m);
    *m = NULL;
}

void ub_model_config(const ub_model *m, ub_rbnet_config *out) {
    ub_rbnet_default(out);
    if (m->net.arch != &ub__arch_rbnet) return;
    const ub__rbnet_config *c = &m->net.config.rbnet;
    *out = (ub_rbnet_config){c->width, c->blocks, c->mid_blocks, c->depth, c->se_reduction, c->sa_kernel, c->block,
                             c->skip_attention};
}

int ub_rbnet_block_parse(const char *name) { return ub__rbnet_block_parse(name); }
int ub_rbnet_skip_parse(const char *name) { return ub__rbnet_skip_parse(name); }

const char *ub_model_arch(const ub_model *m) { return m ? m->net.arch->name : NULL; }

void ub_model_describe(const ub_model *m, char *buf, size_t size) {
    if (!buf || size == 0) return;
    buf[0] = '\0';
    if (m) m->net.arch->config_describe(&m->net.config, buf, size);
}

size_t ub_model_parameters(const ub_model *m) { return m->net.table.total; }

int ub_model_receptive_radius(const ub_model *m) {
    if (!m) return -1;
    const int step = m->net.arch->pad_multiple(&m->net.config);
    ub__graph g = {0};
    int radius = -1;
    /* the rule does not depend on the size: any padded size gives the same radius */
    if (ub__net_graph(m->ctx, &m->net, 1, 4 * step, 4 * step, &g) != UB_OK ||
        ub__graph_receptive_radius(m->ctx, &g, &radius, NULL) != UB_OK)
        radius = -1;
    ub__graph_free(&g);
    return radius;
}

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

ub_status ub_model_load(ub_ctx *ctx, const char *path, ub_model **out) {
    if (!path || !out) return ub__fail(ctx, UB_ERR_INVALID, "ub_model_load: NULL argument");
    *out = NULL;
    ub__safetensors *st = NULL;
    ub__net net = {0};
    ub_status s = ub__st_open(ctx, path, &st);
    if (s == UB_OK) s = ub__net_from_meta(ctx, st, &net);
    if (s == UB_OK) s = ub__model_make(ctx, net.arch, &net.config, out);
    if (s == UB_OK) s = ub__net_read(ctx, &(*out)->net, st, (*out)->params, NULL);
    ub__net_free(&net);
    ub__st_close(&st);
    if (s) ub_model_destroy(out);
    return s;
}

ub_status ub_model_save(ub_ctx *ctx, const ub_model *m, const char *path, const char *dtype) {
    if (!m || !path) return ub__fail(ctx, UB_ERR_INVALID, "ub_model_save: NULL argument");
    return ub__net_save(ctx, &m->net, m->params, path, dtype);
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

/* By default an image with both sides within WHOLE_SIDE runs whole (a 1280 x 720 frame; a photo up to
   1.6 MP), in more memory than tiles: tiles cost their margins' work, and a net whose global means come
   in several groups (NAF: one group per SCA) runs every tile once per group. Measured 2026-12-07, a
   1280 x 720 GoPro frame, `unblur IN -o OUT --method net`, 2 threads: NAF W16 D3 3.2 s in 768 tiles
   against 1.0 s whole (231 -> 375 MB peak); res W16 D3 1.03 s against 0.79 s (144 -> 208 MB). */
enum { WHOLE_SIDE = 1280 };

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
        const ub_status st = ub__fast_net_create_bf16(m->ctx, g, &m->net.table, UB_FAST_LAYOUT_AUTO, m->cpu_features, net);
        if (st == UB_OK) m->used = UB_PRECISION_BF16;
        if (st != UB_ERR_UNSUPPORTED) return st;
    }
    return ub__fast_net_create(m->ctx, g, &m->net.table, 0, net);
}

static ub_status runner_make(ub_model *m, int h, int w, runner *r) {
    memset(r, 0, sizeof *r);
    size_t floats;
    ub_status st = ub__net_graph(m->ctx, &m->net, 1, h, w, &r->g);
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

/* Pass A for tile (ty, tx): the sums of the inputs of global ops [k0, k1) (SE, SCA) over its core (a core
   that ends at the image's edge takes the padding with it). */
static ub_status pass_a(tiler *t, int ty, int tx, int k0, int k1) {
    const span1 sy = axis_span(&t->ay, ty), sx = axis_span(&t->ax, tx);
    rgb_region(t->in, sy.r0, sy.r0 + t->ay.region, sx.r0, sx.r0 + t->ax.region, t->r.x);
    const int y1 = sy.c1 == t->ay.size ? t->ay.padded : sy.c1, x1 = sx.c1 == t->ax.size ? t->ax.padded : sx.c1;
    return ub__fast_se_sums_range(t->r.net, t->m->params, t->r.x, k0, k1, sy.c0 - sy.r0, y1 - sy.r0, sx.c0 - sx.r0,
                                  x1 - sx.r0, t->sums);
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
    ub_status st = tiler_init(&t);
    /* the global means group by group (RBNet with res blocks: one group, the SE inputs, by a pass through
       the encoder; NAF blocks: a group per SCA, each pass running as far as its input, with the means
       found so far); the cost of a pass is the share of the ops it runs */
    t.total = (double)tiles;
    for (int k0 = 0, k1; st == UB_OK && k0 < t.nse; k0 = k1) {
        double cost;
        k1 = ub__fast_net_se_group(t.r.net, k0, &cost);
        t.total += cost * (double)tiles;
    }
    for (int k0 = 0, k1; st == UB_OK && k0 < t.nse; k0 = k1) {
        double cost;
        k1 = ub__fast_net_se_group(t.r.net, k0, &cost);
        if (k0 > 0) st = ub__fast_net_set_se_means(t.r.net, (const float *const *)t.means); /* those before k0 */
        for (int64_t i = 0; st == UB_OK && i < tiles; i++) {
            st = pass_a(&t, (int)(i / ax->count), (int)(i % ax->count), k0, k1);
            if (st == UB_OK) st = tiler_progress(&t, cost);
        }
        for (int i = k0; st == UB_OK && i < k1; i++)
            for (int k = 0; k < t.se_channels[i]; k++) t.means[i][k] = (float)(t.sums[i][k] / t.se_pixels[i]);
    }
    if (st == UB_OK) st = ub__fast_net_set_se_means(t.r.net, (const float *const *)t.means);
    for (int64_t i = 0; st == UB_OK && i < tiles; i++) {
        st = pass_b(&t, (int)(i / ax->count), (int)(i % ax->count));
        if (st == UB_OK) st = tiler_progress(&t, 1.0);
    }
    tiler_free(&t);
    return st;
}

/* One view (no ensemble): the body of ub_model_run_tiled (nn/model_ensemble.c averages several). */
ub_status ub__model_run_view(ub_model *m, const ub_image *in, int tile, ub_image **out) {
    if (!m) return UB_ERR_INVALID;
    ub_ctx *ctx = m->ctx;
    if (!in || !out) return ub__fail(ctx, UB_ERR_INVALID, "ub_model_run: NULL argument");
    *out = NULL;
    if (in->width > 1 << 20 || in->height > 1 << 20)
        return ub__fail(ctx, UB_ERR_LIMIT, "deblur: %lldx%lld is too large", (long long)in->width,
                        (long long)in->height);
    if (tile > 1 << 16 || tile < UB_MODEL_TILE_OFF)
        return ub__fail(ctx, UB_ERR_INVALID, "deblur: tile %d is not 1..65536 (0: default, -1: whole image)", tile);
    const int step = m->net.arch->pad_multiple(&m->net.config), h = (int)in->height, w = (int)in->width;
    /* the whole image's graph (no buffers: a list of ops): it checks the size, and gives the margin */
    ub__graph g = {0};
    int radius = 0;
    ub_status st = ub__net_graph(ctx, &m->net, 1, h, w, &g);
    if (st == UB_OK) st = ub__graph_receptive_radius(ctx, &g, &radius, NULL);
    ub__graph_free(&g);
    const int margin = (radius + step - 1) / step * step;
    const int core = ((tile > 0 ? tile : DEFAULT_TILE) + step - 1) / step * step;
    const axis ax = axis_make(w, core, margin, step), ay = axis_make(h, core, margin, step);
    if (st == UB_OK) st = ub_image_create(ctx, out, in->width, in->height, in->channels);
    if (st == UB_OK) {
        (*out)->bit_depth = in->bit_depth;
        const int small = tile == 0 && w <= WHOLE_SIDE && h <= WHOLE_SIDE;
        const int whole = tile < 0 || small || (ax.count == 1 && ay.count == 1);
        st = whole ? run_whole(m, in, *out) : run_tiled(m, in, &ax, &ay, *out);
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

/* ---- comparing files ---- */

/* The largest |a - b| between tensor `name` of two files of the same shape; -1 with a message. */
static double tensor_diff(ub_ctx *ctx, const ub__safetensors *a, const ub__safetensors *b, const char *name,
                          int rank, const int64_t *dims, size_t count) {
    float *x = malloc((count ? count : 1) * sizeof(float)), *y = malloc((count ? count : 1) * sizeof(float));
    double worst = -1;
    if (!x || !y) ub__fail(ctx, UB_ERR_NOMEM, "model diff: out of memory for tensor %s", name);
    else if (ub__st_read_f32(ctx, a, name, rank, dims, x) == UB_OK && ub__st_read_f32(ctx, b, name, rank, dims, y) == UB_OK) {
        worst = 0;
        for (size_t i = 0; i < count; i++) {
            double d = fabs((double)x[i] - (double)y[i]);
            if (!(d <= worst)) worst = isnan(d) ? INFINITY : d; /* a NaN on one side is the largest difference */
        }
    }
    free(x), free(y);
    return worst;
}

ub_status ub_safetensors_diff(ub_ctx *ctx, const char *pa, const char *pb, double *max_abs, char *tensor,
                              size_t tensor_size, int *count) {
    if (!pa || !pb || !max_abs || !count) return ub__fail(ctx, UB_ERR_INVALID, "ub_safetensors_diff: NULL argument");
    *max_abs = 0, *count = 0;
    if (tensor && tensor_size) tensor[0] = '\0';
    ub__safetensors *a = NULL, *b = NULL;
    ub_status st = ub__st_open(ctx, pa, &a);
    if (st == UB_OK) st = ub__st_open(ctx, pb, &b);
    if (st == UB_OK && ub__st_count(a) != ub__st_count(b))
        st = ub__fail(ctx, UB_ERR_MISMATCH, "%s has %d tensors, %s has %d", pa, ub__st_count(a), pb, ub__st_count(b));
    double worst = 0;
    const char *worst_name = "";
    for (int i = 0; st == UB_OK && i < ub__st_count(a); i++) {
        const char *name = ub__st_name(a, i);
        int j = ub__st_find(b, name);
        int64_t da[UB__ST_MAX_RANK], db[UB__ST_MAX_RANK];
        int rank = ub__st_shape(a, i, da);
        if (j < 0) {
            st = ub__fail(ctx, UB_ERR_MISMATCH, "%s: no tensor %s (which %s has)", pb, name, pa);
            break;
        }
        size_t n = 1;
        int same = ub__st_shape(b, j, db) == rank;
        for (int k = 0; k < rank; k++) same &= da[k] == db[k], n *= (size_t)da[k];
        if (!same) {
            st = ub__fail(ctx, UB_ERR_MISMATCH, "tensor %s: the shapes of %s and %s differ", name, pa, pb);
            break;
        }
        double d = tensor_diff(ctx, a, b, name, rank, da, n);
        if (d < 0) st = UB_ERR_FORMAT;
        else if (d > worst || !*worst_name) worst = d, worst_name = name;
    }
    if (st == UB_OK) {
        *max_abs = worst, *count = ub__st_count(a);
        if (tensor && tensor_size) snprintf(tensor, tensor_size, "%s", worst_name);
    }
    ub__st_close(&a), ub__st_close(&b);
    return st;
}
