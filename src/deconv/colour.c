/* deconv/colour.c — a colour image deconvolved as luma at full resolution and chroma at half
   (ub_deconv_params.colour = UB_DECONV_COLOUR_LUMA): half the work of three full-resolution channels.

   The eye, cameras (demosaicking) and JPEG (4:2:0) all carry colour at lower resolution than
   brightness, and a photograph's chroma is smooth where its luma has edges. So: Y = 0.299 R +
   0.587 G + 0.114 B and the differences B - Y, R - Y; Y is deconvolved as it is; each difference is
   reduced 2x2 (box), deconvolved with the kernel halved, and only the change the deconvolution made
   is brought back (bilinear) and added to the full-resolution difference, which keeps whatever fine
   colour the input had. The cost in PSNR against deconvolving R, G, B apart: docs/blind.md. */
#include <string.h>

#include "deconv/internal.h"

static const float WR = 0.299f, WG = 0.587f, WB = 0.114f;

/* The kernel at half the resolution: every tap moved to half its offset from the centre, shared
   bilinearly between its neighbours (the sum stays 1). */
static ub_status halve_kernel(ub_ctx *ctx, const ub_kernel *k, ub_kernel **out) {
    const int rx = k->width / 2, ry = k->height / 2, hx = (rx + 1) / 2, hy = (ry + 1) / 2;
    ub_status st = ub_kernel_create(ctx, 2 * hx + 1, 2 * hy + 1, out);
    if (st) return st;
    ub_kernel *h = *out;
    memset(h->data, 0, (size_t)h->width * (size_t)h->height * sizeof(float));
    for (int j = 0; j < k->height; j++)
        for (int i = 0; i < k->width; i++) {
            const float v = k->data[(size_t)j * (size_t)k->width + (size_t)i];
            if (v == 0.0f) continue;
            const int twice_x = i - rx + 2 * hx, twice_y = j - ry + 2 * hy; /* 2x the target position */
            const int x0 = twice_x / 2, y0 = twice_y / 2, fx = twice_x % 2, fy = twice_y % 2;
            for (int dy = 0; dy <= fy; dy++)
                for (int dx = 0; dx <= fx; dx++)
                    h->data[(size_t)(y0 + dy) * (size_t)h->width + (size_t)(x0 + dx)] +=
                        v / (float)((1 + fx) * (1 + fy));
        }
    return UB_OK;
}

/* 2x2 box reduction of a w x h plane into (w+1)/2 x (h+1)/2 (a last odd row/column averaged alone). */
static void reduce(const float *in, int64_t w, int64_t h, float *out) {
    const int64_t hw = (w + 1) / 2, hh = (h + 1) / 2;
    for (int64_t y = 0; y < hh; y++) {
        const float *r0 = in + 2 * y * w, *r1 = in + (2 * y + 1 < h ? 2 * y + 1 : 2 * y) * w;
        for (int64_t x = 0; x < hw; x++) {
            const int64_t x1 = 2 * x + 1 < w ? 2 * x + 1 : 2 * x;
            out[y * hw + x] = 0.25f * (r0[2 * x] + r0[x1] + r1[2 * x] + r1[x1]);
        }
    }
}

/* plane += the hw x hh plane `change`, brought to w x h (bilinear, pixel centres aligned, edges held). */
static void add_enlarged(float *plane, int64_t w, int64_t h, const float *change, int64_t hw, int64_t hh) {
    for (int64_t y = 0; y < h; y++) {
        const float sy = ((float)y + 0.5f) * 0.5f - 0.5f;
        int64_t y0 = sy < 0 ? 0 : (int64_t)sy, y1 = y0 + 1 < hh ? y0 + 1 : hh - 1;
        const float ay = sy < 0 ? 0.0f : sy - (float)y0;
        for (int64_t x = 0; x < w; x++) {
            const float sx = ((float)x + 0.5f) * 0.5f - 0.5f;
            int64_t x0 = sx < 0 ? 0 : (int64_t)sx, x1 = x0 + 1 < hw ? x0 + 1 : hw - 1;
            const float ax = sx < 0 ? 0.0f : sx - (float)x0;
            const float top = change[y0 * hw + x0] + ax * (change[y0 * hw + x1] - change[y0 * hw + x0]);
            const float bottom = change[y1 * hw + x0] + ax * (change[y1 * hw + x1] - change[y1 * hw + x0]);
            plane[y * w + x] += top + ay * (bottom - top);
        }
    }
}

/* One colour difference (in place, w x h): reduced, deconvolved with the halved kernel, its change
   enlarged and added. */
static ub_status chroma_plane(ub_ctx *ctx, ub__deconv_plane_fn solve, float *diff, int64_t w, int64_t h,
                              const ub_kernel *half, const ub_deconv_params *p) {
    const int64_t hw = (w + 1) / 2, hh = (h + 1) / 2;
    float *small = ub__alloc((size_t)(hw * hh) * sizeof(float)), *solved = ub__alloc((size_t)(hw * hh) * sizeof(float));
    ub_status st = small && solved ? UB_OK : ub__fail(ctx, UB_ERR_NOMEM, "deconvolve: out of memory");
    if (st == UB_OK) reduce(diff, w, h, small);
    /* half the iterations: the differences have few edges, and the halved kernel is short, so the
       continuation converges sooner (docs/blind.md, "Large photos": the cost in PSNR measured) */
    ub_deconv_params q = *p;
    q.iterations = p->iterations > 1 ? (p->iterations + 1) / 2 : p->iterations;
    if (st == UB_OK) st = ub__deconv_plane(ctx, solve, small, solved, hw, hh, half, &q);
    if (st == UB_OK) {
        for (int64_t i = 0; i < hw * hh; i++) solved[i] -= small[i];
        add_enlarged(diff, w, h, solved, hw, hh);
    }
    ub__free(small);
    ub__free(solved);
    return st;
}

/* The two colour differences, R - Y and B - Y, as two jobs (ub__run_jobs: side by side on 2 threads). */
typedef struct chroma_job {
    ub__deconv_plane_fn solve;
    float *diff[2];
    int64_t w, h;
    const ub_kernel *half;
    const ub_deconv_params *p;
} chroma_job;

static ub_status chroma_one(ub_ctx *ctx, void *arg, int64_t i) {
    const chroma_job *j = arg;
    return chroma_plane(ctx, j->solve, j->diff[i], j->w, j->h, j->half, j->p);
}

ub_status ub__deconv_luma_chroma(ub_ctx *ctx, ub__deconv_plane_fn solve, const ub_image *in, ub_image *out,
                                 const ub_kernel *k, const ub_deconv_params *p) {
    const int64_t w = in->width, h = in->height, n = w * h;
    const float *r = ub_image_plane(in, 0), *g = ub_image_plane(in, 1), *b = ub_image_plane(in, 2);
    float *ro = ub_image_plane(out, 0), *go = ub_image_plane(out, 1), *bo = ub_image_plane(out, 2);
    ub_kernel *half = NULL;
    float *luma = ub__alloc((size_t)n * sizeof(float));
    ub_status st = luma ? UB_OK : ub__fail(ctx, UB_ERR_NOMEM, "deconvolve: out of memory");
    if (st == UB_OK) st = halve_kernel(ctx, k, &half);
    if (st) goto done;
    /* the differences go straight into the output's R and B planes, the luma in G's, then Y into `luma` */
    for (int64_t i = 0; i < n; i++) {
        const float y = WR * r[i] + WG * g[i] + WB * b[i];
        go[i] = y, ro[i] = r[i] - y, bo[i] = b[i] - y;
    }
    if ((st = ub__deconv_plane(ctx, solve, go, luma, w, h, k, p)) != UB_OK) goto done;
    if ((st = ub__progress(ctx, 0.6, "deconvolve")) != UB_OK) goto done;
    chroma_job job = {solve, {ro, bo}, w, h, half, p};
    if ((st = ub__run_jobs(ctx, 2, chroma_one, &job)) != UB_OK) goto done;
    for (int64_t i = 0; i < n; i++) {
        const float y = luma[i], red = y + ro[i], blue = y + bo[i];
        ro[i] = red, bo[i] = blue, go[i] = (y - WR * red - WB * blue) / WG;
    }
done:
    ub_kernel_destroy(&half);
    ub__free(luma);
    return st;
}
