/* deconv/tiles.c — a large plane deconvolved in overlapping tiles: memory bounded by the tile, not
   the photo, and FFTs small enough to stay in the caches.

   A plane of more than TILE_MIN_CELLS pixels is cut into a grid of cores of at most TILE_CORE
   pixels a side. Each tile is solved on its core plus a margin of picture on every side (none
   beyond the picture's own border): the method's AUTO boundary treats what lies past a tile as
   unknown, exactly as at the picture's borders, so a tile is only unsure of its outer band, about
   one kernel wide. The margin is that band (the kernel's longer side) plus a feather F; across the
   feather, 2F wide and centred on the boundary between two cores, the tiles are blended with linear
   weights that sum to 1. Tiles run one after another, each on all the context's threads, so the
   output does not depend on the thread count. Whole-plane semantics (ZERO, PERIODIC) are not
   tiled. Measured against the whole plane: docs/blind.md ("Large photos"). */
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

ub_status ub__deconv_plane_tiles(ub_ctx *ctx, ub__deconv_plane_fn solve, const float *in, float *out, int64_t w,
                                 int64_t h, const ub_kernel *k, const ub_deconv_params *p, int64_t core) {
    const int64_t kside = k->width > k->height ? k->width : k->height;
    const int64_t f = kside / 2 > FEATHER_MIN ? kside / 2 : FEATHER_MIN, margin = kside + f;
    const int64_t nx = (w + core - 1) / core, ny = (h + core - 1) / core;
    if (w / nx < 2 * f || h / ny < 2 * f) return solve(ctx, in, out, w, h, k, p); /* a kernel as large as a core */
    const int64_t tw_max = core + 2 * margin + 1, th_max = core + 2 * margin + 1;
    float *sub = ub__alloc((size_t)(tw_max * th_max) * sizeof(float));
    float *res = ub__alloc((size_t)(tw_max * th_max) * sizeof(float));
    ub_status st = sub && res ? UB_OK : ub__fail(ctx, UB_ERR_NOMEM, "deconvolve: out of memory for a tile");
    memset(out, 0, (size_t)(w * h) * sizeof(float));
    for (int64_t ty = 0; ty < ny && st == UB_OK; ty++) {
        const int64_t cy0 = core_edge(ty, ny, h), cy1 = core_edge(ty + 1, ny, h);
        const int64_t ey0 = cy0 - margin > 0 ? cy0 - margin : 0, ey1 = cy1 + margin < h ? cy1 + margin : h;
        for (int64_t tx = 0; tx < nx && st == UB_OK; tx++) {
            const int64_t cx0 = core_edge(tx, nx, w), cx1 = core_edge(tx + 1, nx, w);
            const int64_t ex0 = cx0 - margin > 0 ? cx0 - margin : 0, ex1 = cx1 + margin < w ? cx1 + margin : w;
            const int64_t tw = ex1 - ex0, th = ey1 - ey0;
            for (int64_t y = 0; y < th; y++) memcpy(sub + y * tw, in + (ey0 + y) * w + ex0, (size_t)tw * sizeof(float));
            if ((st = solve(ctx, sub, res, tw, th, k, p)) != UB_OK) break;
            /* the tile's share: its core widened by the feather, clipped to the picture */
            const int64_t ay0 = cy0 - f > 0 ? cy0 - f : 0, ay1 = cy1 + f < h ? cy1 + f : h;
            const int64_t ax0 = cx0 - f > 0 ? cx0 - f : 0, ax1 = cx1 + f < w ? cx1 + f : w;
            for (int64_t y = ay0; y < ay1; y++) {
                const float wy = axis_weight(y, cy0, cy1, h, f);
                const float *r = res + (y - ey0) * tw - ex0;
                float *o = out + y * w;
                for (int64_t x = ax0; x < ax1; x++) o[x] += wy * axis_weight(x, cx0, cx1, w, f) * r[x];
            }
        }
    }
    ub__free(sub);
    ub__free(res);
    return st;
}
