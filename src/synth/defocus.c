/* synth/defocus.c — depth of field: the thin-lens circle of confusion and a
   layered, occlusion-aware defocus blur.

   Circle of confusion. A thin lens of focal length f and aperture A = f/N,
   focused at d_f, images a point at depth d as a disc of diameter
       c = A f |d - d_f| / (d (d_f - f))
   on the sensor; divided by the pixel pitch it is in pixels. Its SIGNED form
   (d - d_f instead of |d - d_f|) is negative in front of the focus plane and
   positive behind, and increases with depth: it orders the scene front to back
   and tells a near blur from a far blur of the same size.

   Layers. The signed CoC range of the image is cut into layers at most 1 px
   apart (so neighbouring layers blur alike), at most MAX_LAYERS of them; one
   layer sits exactly on the focus plane when the scene crosses it (in-focus
   pixels are not blurred at all), or on the depth nearest to it otherwise (a
   uniform depth is one exact layer). A pixel between two layer centres belongs
   to both with tent weights.

   Compositing, back to front. Layer l has coverage
       a_l = membership of l + membership of every nearer layer
   i.e. it is opaque over everything in front of it, and straight colour U_l =
   the pixel's colour where the pixel is at l or behind, and elsewhere — under
   the nearer layers — a push-pull fill of the colours at l and behind: a
   plausible guess of the background hidden by the foreground. The premultiplied
   layer U_l a_l and its coverage a_l are blurred with the layer's aperture and
   composited "over" the result so far:  out = (K * U_l a_l) + (1 - K * a_l) out.
   Why this shape:
     - A blurred background is blurred together with its own extension under the
       foreground, never with the foreground's colours and never with a hole, so
       no dark halo (missing light) and no bright fringe (foreground leaking)
       appears around a sharp foreground, whose pixels come out unchanged.
     - Normalising a layer's blurred colour by its blurred coverage, the usual
       cure for that halo, is implied: in premultiplied "over", K*(U a) is the
       coverage-weighted colour K*(U a)/(K*a) times K*a, and the filled,
       opaque background makes K*a = 1 wherever the halo would have been.
     - A pixel shared by two layers is opaque in the back one with its own
       colour, so the two unblurred layers recomposite it exactly
       (m c + (1 - m) c = c): an in-focus plane comes out unchanged.
     - A blurred foreground spills "over" the layers behind it, softly, and
       through its blurred, partly transparent edge the filled background shows.
   Everything is per pixel or a convolution (ub_convolve_plane, REFLECT) or the
   push-pull fill, each independent of the thread count. */
#include <math.h>
#include <string.h>

#include "synth/internal.h"

enum { MAX_LAYERS = 24 };
/* A larger blur is no longer a useful simulation; depths nearer than that are clamped to it. */
static const double MAX_COC_PX = 511.0;
/* A layer blurred by at most a pixel (a disc inside one pixel) is composited unblurred. */
static const double MIN_BLUR_PX = 1.0;
/* A layer position this close to an integer is snapped to it, so that a pixel at a layer's
   own depth belongs to that layer alone. */
static const float SNAP = 1e-4f;

/* ---- circle of confusion ---- */

static int lens_valid(const ub_lens *lens) {
    const double f = lens->focal_mm * 1e-3;
    return f > 0 && isfinite(f) && lens->f_number > 0 && isfinite(lens->f_number) && lens->pixel_pitch_um > 0 &&
           isfinite(lens->pixel_pitch_um) && lens->focus_m > f && isfinite(lens->focus_m) &&
           isfinite(lens->blade_rotation);
}

/* Negative in front of the focus plane, positive behind; the lens must be valid and d > 0. */
static double signed_coc_px(const ub_lens *lens, double d) {
    const double f = lens->focal_mm * 1e-3, aperture = f / lens->f_number, df = lens->focus_m;
    return aperture * f * (d - df) / (d * (df - f)) / (lens->pixel_pitch_um * 1e-6);
}

double ub_coc_diameter_px(const ub_lens *lens, double depth_m) {
    if (!lens || !lens_valid(lens) || !(depth_m > 0) || !isfinite(depth_m)) return 0;
    return fabs(signed_coc_px(lens, depth_m));
}

/* ---- the layers ---- */

typedef struct layer_plan {
    int count;      /* layers, index 0 = front (most negative CoC) */
    int anchor_at;  /* the index of the anchor layer */
    double anchor;  /* its signed CoC: 0 (the focus plane) or the scene's CoC nearest to 0 */
    double spacing; /* signed CoC between adjacent layers, >= 1 px */
} layer_plan;

static layer_plan plan_layers(double smin, double smax) {
    layer_plan p;
    const double range = smax - smin;
    /* MAX_LAYERS - 3 intervals: two partial ones at the ends plus the anchor layer keep the count in bounds. */
    p.spacing = range / (MAX_LAYERS - 3) > 1 ? range / (MAX_LAYERS - 3) : 1;
    p.anchor = smin > 0 ? smin : smax < 0 ? smax : 0;
    const int below = (int)ceil((p.anchor - smin) / p.spacing - 1e-9);
    const int above = (int)ceil((smax - p.anchor) / p.spacing - 1e-9);
    p.anchor_at = below > 0 ? below : 0;
    p.count = p.anchor_at + (above > 0 ? above : 0) + 1;
    if (p.count > MAX_LAYERS) p.count = MAX_LAYERS; /* only by rounding; positions are clamped to the layers */
    return p;
}

static double layer_coc(const layer_plan *p, int l) { return p->anchor + (l - p->anchor_at) * p->spacing; }

/* Fractional layer position of a signed CoC, snapped to an integer when within SNAP, clamped to the layers. */
static float layer_position(const layer_plan *p, double s) {
    float t = (float)(p->anchor_at + (s - p->anchor) / p->spacing);
    const float r = roundf(t);
    if (fabsf(t - r) < SNAP) t = r;
    return t < 0 ? 0 : t > (float)(p->count - 1) ? (float)(p->count - 1) : t;
}

/* ---- checks ---- */

static ub_status check_args(ub_ctx *ctx, const ub_image *in, const ub_image *depth, const ub_lens *lens) {
    if (!in || !in->data || !depth || !depth->data || !lens)
        return ub__fail(ctx, UB_ERR_INVALID, "defocus: NULL argument");
    if (depth->channels != 1)
        return ub__fail(ctx, UB_ERR_INVALID, "defocus: the depth map has %d channels (expected 1)", depth->channels);
    if (depth->width != in->width || depth->height != in->height)
        return ub__fail(ctx, UB_ERR_MISMATCH, "defocus: depth map %lldx%lld does not match the %lldx%lld image",
                        (long long)depth->width, (long long)depth->height, (long long)in->width,
                        (long long)in->height);
    if (!lens_valid(lens))
        return ub__fail(ctx, UB_ERR_INVALID,
                        "defocus: invalid lens (focal %g mm, f/%g, focus %g m, pitch %g um): need positive values "
                        "and a focus distance beyond the focal length",
                        lens->focal_mm, lens->f_number, lens->focus_m, lens->pixel_pitch_um);
    const float *d = ub_image_plane(depth, 0);
    const int64_t n = depth->width * depth->height;
    for (int64_t i = 0; i < n; i++)
        if (!(d[i] > 0) || !isfinite(d[i]))
            return ub__fail(ctx, UB_ERR_INVALID, "defocus: depth %g m at (%lld, %lld) must be positive and finite",
                            (double)d[i], (long long)(i % depth->width), (long long)(i / depth->width));
    return UB_OK;
}

/* ---- the work ---- */

typedef struct defocus_work {
    int64_t w, h, n;
    int colours, threads;
    const float *colour[3]; /* the input's colour planes */
    float *out[3];          /* the result's colour planes: the composite so far */
    float *pos;             /* fractional layer position per pixel */
    float *cover;           /* a_l */
    float *cover_blurred;   /* K * a_l */
    float *known;           /* fill weights: 1 at the layer or behind */
    float *fill[3];         /* U_l: colour, filled under the nearer layers */
    float *premul[3];       /* U_l a_l */
    float *premul_blurred[3]; /* K * U_l a_l */
    unsigned char occupied[MAX_LAYERS]; /* layers with pixels of their own */
    float pos_min;          /* the nearest pixel's position */
    void *block;
} defocus_work;

static ub_status work_alloc(ub_ctx *ctx, defocus_work *wk) {
    const int planes = 4 + 3 * wk->colours;
    size_t floats;
    if (!ub__mul_size((size_t)wk->n, (size_t)planes, &floats) || floats > SIZE_MAX / sizeof(float))
        return ub__fail(ctx, UB_ERR_LIMIT, "defocus: image too large");
    float *b = wk->block = ub__alloc(floats * sizeof(float));
    if (!b)
        return ub__fail(ctx, UB_ERR_NOMEM, "defocus: out of memory for a %lldx%lld image", (long long)wk->w,
                        (long long)wk->h);
    float **named[] = {&wk->pos, &wk->cover, &wk->cover_blurred, &wk->known};
    for (size_t i = 0; i < sizeof named / sizeof *named; i++, b += wk->n) *named[i] = b;
    for (int c = 0; c < wk->colours; c++) {
        wk->fill[c] = b, b += wk->n;
        wk->premul[c] = b, b += wk->n;
        wk->premul_blurred[c] = b, b += wk->n;
    }
    return UB_OK;
}

/* Signed CoC per pixel into wk->pos (clamped to +-MAX_COC_PX), and its range. */
static void signed_coc_map(const defocus_work *wk, const float *depth, const ub_lens *lens, double *smin,
                           double *smax) {
    double lo = INFINITY, hi = -INFINITY;
#pragma omp parallel for num_threads(wk->threads) schedule(static) reduction(min : lo) reduction(max : hi)
    for (int64_t y = 0; y < wk->h; y++)
        for (int64_t x = 0; x < wk->w; x++) {
            double s = signed_coc_px(lens, depth[y * wk->w + x]);
            s = s < -MAX_COC_PX ? -MAX_COC_PX : s > MAX_COC_PX ? MAX_COC_PX : s;
            wk->pos[y * wk->w + x] = (float)s;
            lo = s < lo ? s : lo;
            hi = s > hi ? s : hi;
        }
    *smin = lo, *smax = hi;
}

/* Positions per pixel, then (one cheap serial pass) which layers hold pixels and the nearest position. */
static void layer_positions(defocus_work *wk, const layer_plan *plan) {
#pragma omp parallel for num_threads(wk->threads) schedule(static)
    for (int64_t i = 0; i < wk->n; i++) wk->pos[i] = layer_position(plan, wk->pos[i]);
    memset(wk->occupied, 0, sizeof wk->occupied);
    wk->pos_min = (float)plan->count;
    for (int64_t i = 0; i < wk->n; i++) {
        const float t = wk->pos[i], below = floorf(t);
        wk->occupied[(int)below] = 1;
        if (t > below) wk->occupied[(int)below + 1] = 1;
        wk->pos_min = t < wk->pos_min ? t : wk->pos_min;
    }
}

/* Coverage a_l = clamp(l + 1 - t, 0, 1): the tent memberships of layer l and all nearer ones;
   and, when a fill is needed, its weights: 1 for the pixels at layer l or behind it. */
static void layer_coverage(const defocus_work *wk, int l, int fill) {
    const float lf = (float)l;
#pragma omp parallel for num_threads(wk->threads) schedule(static)
    for (int64_t i = 0; i < wk->n; i++) {
        const float a = lf + 1.0f - wk->pos[i];
        wk->cover[i] = a < 0 ? 0.0f : a > 1 ? 1.0f : a;
        if (fill) wk->known[i] = a < 2.0f ? 1.0f : 0.0f; /* t > l - 1 */
    }
}

/* U_l: the colour, with the pixels wholly in front of layer l replaced by a push-pull fill of the rest. */
static ub_status layer_fill(ub_ctx *ctx, defocus_work *wk) {
    for (int c = 0; c < wk->colours; c++) memcpy(wk->fill[c], wk->colour[c], (size_t)wk->n * sizeof(float));
    return ub__push_pull_fill(ctx, wk->fill, wk->colours, wk->known, wk->w, wk->h);
}

static void premultiply(defocus_work *wk, const float *const *colour) {
#pragma omp parallel for num_threads(wk->threads) schedule(static)
    for (int64_t i = 0; i < wk->n; i++)
        for (int c = 0; c < wk->colours; c++) wk->premul[c][i] = colour[c][i] * wk->cover[i];
}

/* out = C + (1 - A) out, with A clamped to [0,1] against the rounding of the blur. */
static void composite_over(const defocus_work *wk, float *const *premul, const float *cover) {
#pragma omp parallel for num_threads(wk->threads) schedule(static)
    for (int64_t i = 0; i < wk->n; i++) {
        const float a = cover[i] < 0 ? 0.0f : cover[i] > 1 ? 1.0f : cover[i];
        for (int c = 0; c < wk->colours; c++) wk->out[c][i] = premul[c][i] + (1.0f - a) * wk->out[c][i];
    }
}

static ub_status blur_layer(ub_ctx *ctx, defocus_work *wk, const ub_kernel *k) {
    ub_status st = ub_convolve_plane(ctx, wk->cover, wk->w, wk->h, k, UB_BORDER_REFLECT, UB_CONV_AUTO,
                                     wk->cover_blurred);
    for (int c = 0; c < wk->colours && !st; c++)
        st = ub_convolve_plane(ctx, wk->premul[c], wk->w, wk->h, k, UB_BORDER_REFLECT, UB_CONV_AUTO,
                               wk->premul_blurred[c]);
    return st;
}

static ub_status render_layer(ub_ctx *ctx, defocus_work *wk, const layer_plan *plan, int l, const ub_lens *lens) {
    if (!wk->occupied[l]) return UB_OK; /* nothing at this depth */
    const int in_front = wk->pos_min <= (float)l - 1.0f; /* some pixels lie wholly in front of layer l */
    ub_status st;
    layer_coverage(wk, l, in_front);
    if (in_front && (st = layer_fill(ctx, wk))) return st;
    const float *u[3];
    for (int c = 0; c < wk->colours; c++) u[c] = in_front ? wk->fill[c] : wk->colour[c];
    premultiply(wk, u);
    const double diameter = fabs(layer_coc(plan, l));
    if (diameter <= MIN_BLUR_PX) {
        composite_over(wk, wk->premul, wk->cover);
        return UB_OK;
    }
    ub_kernel *k;
    if ((st = ub_kernel_aperture(ctx, diameter, lens->blades, lens->blade_rotation, &k))) return st;
    if (!(st = blur_layer(ctx, wk, k))) composite_over(wk, wk->premul_blurred, wk->cover_blurred);
    ub_kernel_destroy(&k);
    return st;
}

ub_status ub_defocus(ub_ctx *ctx, const ub_image *in, const ub_image *depth_m, const ub_lens *lens, ub_image **out) {
    if (!out) return ub__fail(ctx, UB_ERR_INVALID, "defocus: NULL output");
    *out = NULL;
    ub_status st = check_args(ctx, in, depth_m, lens);
    if (st) return st;
    ub_image *res;
    if ((st = ub_image_clone(ctx, in, &res))) return st; /* carries alpha and bit depth */
    defocus_work wk = {.w = in->width, .h = in->height, .n = in->width * in->height,
                       .colours = ub_image_colour_channels(in), .threads = ub_ctx_threads(ctx)};
    for (int c = 0; c < wk.colours; c++) {
        wk.colour[c] = ub_image_plane(in, c);
        wk.out[c] = ub_image_plane(res, c);
        memset(wk.out[c], 0, (size_t)wk.n * sizeof(float)); /* the back layer is opaque everywhere */
    }
    if ((st = work_alloc(ctx, &wk))) {
        ub_image_destroy(&res);
        return st;
    }
    double smin, smax;
    signed_coc_map(&wk, ub_image_plane(depth_m, 0), lens, &smin, &smax);
    const layer_plan plan = plan_layers(smin, smax);
    layer_positions(&wk, &plan);
    for (int l = plan.count - 1; l >= 0 && !st; l--) {
        st = render_layer(ctx, &wk, &plan, l, lens);
        if (!st) st = ub__progress(ctx, (double)(plan.count - l) / plan.count, "defocus");
    }
    ub__free(wk.block);
    if (st) {
        ub_image_destroy(&res);
        return st;
    }
    *out = res;
    return UB_OK;
}
