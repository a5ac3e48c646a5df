/* deconv/tiles.c — a large plane deconvolved in overlapping tiles: memory bounded by the tile, not
   the photo, and FFTs small enough to stay in the caches.

   A plane of more than TILE_MIN_CELLS pixels is cut into a grid of cores of at most TILE_CORE
   pixels a side. Each tile is solved on its core plus a margin of picture on every side (none
   beyond the picture's own border): the method's AUTO boundary treats what lies past a tile as
   unknown, exactly as at the picture's borders, so a tile is only unsure of its outer band, about
   one kernel wide. The margin is that band (the kernel's longer side) plus a feather F; across the
   feather, 2F wide and centred on the boundary between two cores, the tiles are blended with linear
   weights that sum to 1. Tiles run concurrently, one per thread (ub__run_jobs), and are added in a
   fixed order, so the output does not depend on the thread count. Whole-plane semantics (ZERO,
   PERIODIC) are not tiled. Measured against the whole plane: docs/blind.md ("Large photos"). */
#include <string.h>

#include "deconv/internal.h"

enum { TILE_CORE = 1600, FEATHER_MIN = 16 };
static const double TILE_MIN_CELLS = 2048.0 * 2048.0; /* up to this: one plane, as before */

/* The core boundaries of n cores over [0, len): c[0] = 0 ... c[n] = len. */
static int64_t core_edge(int64_t i, int64_t n, int64_t len) { return i * len / n; }

/* The weight of a tile at position v of an axis whose core is [c0, c1) on [0, len): 1 inside the core
   less the feather, a linear ramp over [c - F, c + F) at a core edge c that is not the picture's. */
static float axis_weight(int64_t v, int64_t c0, int64_t c1, int64_t len, int64_t f) {
    float wgt = 1.0f;
    if (c0 > 0 && v < c0 + f) wgt = (float)((double)(v - (c0 - f)) + 0.5) / (float)(2 * f);
    if (c1 < len && v >= c1 - f) {
        const float r = (float)((double)(c1 + f - v) - 0.5) / (float)(2 * f);
        wgt = r < wgt ? r : wgt;
    }
    return wgt < 0 ? 0 : wgt > 1 ? 1 : wgt;
}

int ub__deconv_tiled(const ub_deconv_params *p, int64_t w, int64_t h) {
    return p->boundary == UB_DECONV_BOUNDARY_AUTO && (double)w * (double)h > TILE_MIN_CELLS;
}

ub_status ub__deconv_plane(ub_ctx *ctx, ub__deconv_plane_fn solve, const float *in, float *out, int64_t w,
                           int64_t h, const ub_kernel *k, const ub_deconv_params *p) {
    if (!ub__deconv_tiled(p, w, h)) return solve(ctx, in, out, w, h, k, p);
    return ub__deconv_plane_tiles(ctx, solve, in, out, w, h, k, p, TILE_CORE);
}

/* One tile of the grid: its core [cx0, cx1) x [cy0, cy1), the extent solved [ex0, ex1) x [ey0, ey1), and
   its share (the core widened by the feather, clipped to the picture) [ax0, ax1) x [ay0, ay1). */
typedef struct tile {
    int64_t cx0, cx1, cy0, cy1, ex0, ex1, ey0, ey1, ax0, ax1, ay0, ay1;
} tile;

/* [c0 - by, c1 + by) clipped to [0, len). */
static void widen(int64_t c0, int64_t c1, int64_t by, int64_t len, int64_t *lo, int64_t *hi) {
    *lo = c0 - by > 0 ? c0 - by : 0;
    *hi = c1 + by < len ? c1 + by : len;
}

static tile tile_at(int64_t tx, int64_t ty, int64_t nx, int64_t ny, int64_t w, int64_t h, int64_t margin, int64_t f) {
    tile t;
    t.cy0 = core_edge(ty, ny, h), t.cy1 = core_edge(ty + 1, ny, h);
    t.cx0 = core_edge(tx, nx, w), t.cx1 = core_edge(tx + 1, nx, w);
    widen(t.cy0, t.cy1, margin, h, &t.ey0, &t.ey1), widen(t.cx0, t.cx1, margin, w, &t.ex0, &t.ex1);
    widen(t.cy0, t.cy1, f, h, &t.ay0, &t.ay1), widen(t.cx0, t.cx1, f, w, &t.ax0, &t.ax1);
    return t;
}

/* ---- independent solves, one per thread ---- */

ub_status ub__run_jobs(ub_ctx *ctx, int64_t count, ub__job_fn job, void *arg) {
    const int threads = (int)(count < ub_ctx_threads(ctx) ? count : ub_ctx_threads(ctx));
    if (threads <= 1) {
        for (int64_t i = 0; i < count; i++) {
            ub_status st = job(ctx, arg, i);
            if (st) return st;
        }
        return UB_OK;
    }
    int64_t done = 0;
    ub_status failed = UB_OK;
#pragma omp parallel num_threads(threads)
    {
        ub_settings one;
        ub_default_settings(&one);
        one.threads = 1, one.max_pixels = ctx->max_pixels;
        ub_ctx *own = NULL;
        const ub_status made = ub_ctx_create(&own, &one);
#pragma omp for schedule(dynamic, 1)
        for (int64_t i = 0; i < count; i++) {
            ub_status mine;
#pragma omp atomic read
            mine = failed;
            if (mine != UB_OK) continue;
            mine = made == UB_OK ? job(own, arg, i) : UB_ERR_NOMEM;
#pragma omp critical /* unnamed: a named one is an exported symbol of the library */
            { /* (failed is read outside this section: written atomically) */
                ub_status now = failed;
                if (mine != UB_OK && now == UB_OK) {
                    now = mine;
                    if (made == UB_OK) ub__fail(ctx, mine, "%s", ub_last_error(own));
                    else ub__fail(ctx, mine, "deconvolve: out of memory for a worker");
                }
                done++;
                if (now == UB_OK) now = ub__progress(ctx, (double)done / (double)count, "deconvolve");
#pragma omp atomic write
                failed = now;
            }
        }
        ub_ctx_destroy(&own);
    }
    return failed;
}

/* ---- the tiles ---- */

typedef struct tiles_job {
    ub__deconv_plane_fn solve;
    const float *in;
    int64_t w, h, nx, ny, margin, f;
    const ub_kernel *k;
    const ub_deconv_params *p;
    float **shares;
} tiles_job;

/* Solves tile i into its share, share[(y - ay0) (ax1 - ax0) + x - ax0] = weight * result. */
static ub_status solve_tile(ub_ctx *ctx, void *arg, int64_t i) {
    const tiles_job *j = arg;
    const tile t = tile_at(i % j->nx, i / j->nx, j->nx, j->ny, j->w, j->h, j->margin, j->f);
    const int64_t tw = t.ex1 - t.ex0, th = t.ey1 - t.ey0, sw = t.ax1 - t.ax0;
    float *sub = ub__alloc((size_t)(tw * th) * sizeof(float)), *res = ub__alloc((size_t)(tw * th) * sizeof(float));
    ub_status st = sub && res ? UB_OK : ub__fail(ctx, UB_ERR_NOMEM, "deconvolve: out of memory for a tile");
    for (int64_t y = 0; st == UB_OK && y < th; y++)
        memcpy(sub + y * tw, j->in + (t.ey0 + y) * j->w + t.ex0, (size_t)tw * sizeof(float));
    if (st == UB_OK) st = j->solve(ctx, sub, res, tw, th, j->k, j->p);
    for (int64_t y = t.ay0; st == UB_OK && y < t.ay1; y++) {
        const float wy = axis_weight(y, t.cy0, t.cy1, j->h, j->f);
        const float *r = res + (y - t.ey0) * tw - t.ex0;
        float *o = j->shares[i] + (y - t.ay0) * sw - t.ax0;
        for (int64_t x = t.ax0; x < t.ax1; x++) o[x] = wy * axis_weight(x, t.cx0, t.cx1, j->w, j->f) * r[x];
    }
    ub__free(sub);
    ub__free(res);
    return st;
}

/* The tiles are solved by ub__run_jobs into shares kept apart, then the shares are added in tile
   order, so the output is the same for any thread count. */
ub_status ub__deconv_plane_tiles(ub_ctx *ctx, ub__deconv_plane_fn solve, const float *in, float *out, int64_t w,
                                 int64_t h, const ub_kernel *k, const ub_deconv_params *p, int64_t core) {
    const int64_t kside = k->width > k->height ? k->width : k->height;
    const int64_t f = kside / 2 > FEATHER_MIN ? kside / 2 : FEATHER_MIN, margin = kside + f;
    const int64_t nx = (w + core - 1) / core, ny = (h + core - 1) / core, count = nx * ny;
    if (w / nx < 2 * f || h / ny < 2 * f) return solve(ctx, in, out, w, h, k, p); /* a kernel as large as a core */
    tiles_job job = {solve, in, w, h, nx, ny, margin, f, k, p, ub__calloc((size_t)count, sizeof(float *))};
    ub_status st = job.shares ? UB_OK : ub__fail(ctx, UB_ERR_NOMEM, "deconvolve: out of memory for the tiles");
    for (int64_t i = 0; i < count && st == UB_OK; i++) {
        const tile t = tile_at(i % nx, i / nx, nx, ny, w, h, margin, f);
        job.shares[i] = ub__alloc((size_t)((t.ax1 - t.ax0) * (t.ay1 - t.ay0)) * sizeof(float));
        if (!job.shares[i]) st = ub__fail(ctx, UB_ERR_NOMEM, "deconvolve: out of memory for a tile");
    }
    if (st == UB_OK) st = ub__run_jobs(ctx, count, solve_tile, &job);
    if (st == UB_OK) {
        memset(out, 0, (size_t)(w * h) * sizeof(float));
        for (int64_t i = 0; i < count; i++) {
            const tile t = tile_at(i % nx, i / nx, nx, ny, w, h, margin, f);
            const int64_t sw = t.ax1 - t.ax0;
            for (int64_t y = t.ay0; y < t.ay1; y++) {
                const float *sh = job.shares[i] + (y - t.ay0) * sw - t.ax0;
                float *o = out + y * w;
                for (int64_t x = t.ax0; x < t.ax1; x++) o[x] += sh[x];
            }
        }
    }
    for (int64_t i = 0; job.shares && i < count; i++) ub__free(job.shares[i]);
    ub__free(job.shares);
    return st;
}
