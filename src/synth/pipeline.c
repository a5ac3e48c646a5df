/* synth/pipeline.c — one sample: draw parameters, blur in linear light, then
   the camera (clip, noise, response, JPEG).

   Order of effects, following the light:
     display-referred sharp -> linear light
       -> scene radiance: highlights boosted (light sources exceed 1 so that
          they smear into streaks instead of grey smudges), then the exposure
       -> scene: defocus (depth), then moving objects over the background
       -> camera: depth-scaled Gaussian, straight motion, shake (uniform
          kernel; homography warps when the shake rotates; depth-scaled warps
          when it translates in a 3-D scene: parallax)
       -> clip -> Poisson-Gaussian noise -> clip -> camera response -> JPEG
   The sharp target gets the same radiance, clipping and response: no blur,
   noise or JPEG.

   Determinism: every parameter is drawn from (seed, index) by synth/draw.c
   (which also writes the sample's JSON record); the modules called are
   thread-count invariant, so a sample is byte-identical on any number of
   threads.

   Crops for training take a margin around the crop that covers the blur of
   this sample, blur that region and keep its centre, so the crop has no
   border artefacts; noise and JPEG are applied to the final crop. */
#include <float.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "synth/draw.h"

struct ub_synth {
    ub_ctx *ctx;
    ub__synth_config cfg;
};


/* Depth enters the depth-scaled Gaussian by rank: a table of this many quantiles. */
enum { DEPTH_QUANTILES = 64 };

/* ---- creation ---- */

static ub_status create(ub_ctx *ctx, const char *json_text, const char *name, ub_synth **out) {
    *out = NULL;
    ub_synth *s = calloc(1, sizeof *s);
    if (!s) return ub__fail(ctx, UB_ERR_NOMEM, "%s: out of memory", name);
    s->ctx = ctx;
    ub_status st = ub__synth_config_parse(ctx, json_text, name, &s->cfg);
    if (st) {
        free(s);
        return st;
    }
    *out = s;
    return UB_OK;
}

ub_status ub_synth_create_preset(ub_ctx *ctx, const char *preset, ub_synth **out) {
    if (!out) return ub__fail(ctx, UB_ERR_INVALID, "ub_synth_create_preset: NULL output");
    const char *json = ub__synth_preset_json(preset);
    if (!json)
        return ub__fail(ctx, UB_ERR_INVALID, "unknown preset '%s' (presets: %s)", preset ? preset : "(null)",
                        ub__synth_preset_names());
    return create(ctx, json, preset, out);
}

ub_status ub_synth_create_json(ub_ctx *ctx, const char *json_text, const char *name, ub_synth **out) {
    if (!out || !json_text) return ub__fail(ctx, UB_ERR_INVALID, "ub_synth_create_json: NULL argument");
    return create(ctx, json_text, name ? name : "config", out);
}

ub_status ub_synth_create_file(ub_ctx *ctx, const char *path, ub_synth **out) {
    if (!out || !path) return ub__fail(ctx, UB_ERR_INVALID, "ub_synth_create_file: NULL argument");
    json_error_t err;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    if (!root) {
        if (err.line < 0) return ub__fail(ctx, UB_ERR_IO, "%s: %s", path, err.text);
        return ub__fail(ctx, UB_ERR_INVALID, "%s: line %d, column %d: %s", path, err.line, err.column, err.text);
    }
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    if (!text) return ub__fail(ctx, UB_ERR_NOMEM, "%s: out of memory", path);
    ub_status st = create(ctx, text, path, out);
    free(text);
    return st;
}

void ub_synth_destroy(ub_synth **s) {
    if (!s || !*s) return;
    free(*s);
    *s = NULL;
}

void ub_synth_sample_free(ub_synth_sample *out) {
    if (!out) return;
    ub_image_destroy(&out->blurred);
    ub_image_destroy(&out->sharp);
    ub_kernel_destroy(&out->kernel);
    free(out->params_json);
    out->params_json = NULL;
}

/* ---- helpers ---- */

static void replace(ub_image **img, ub_image *next) {
    ub_image_destroy(img);
    *img = next;
}

/* The region [x0, x0+w) x [y0, y0+h) of `src`, reflected where it leaves the image. */
static ub_status extract(ub_ctx *ctx, const ub_image *src, int64_t x0, int64_t y0, int64_t w, int64_t h,
                         ub_image **out) {
    ub_status st = ub_image_create(ctx, out, w, h, src->channels);
    if (st) return st;
    (*out)->bit_depth = src->bit_depth;
    for (int c = 0; c < src->channels; c++) {
        const float *sp = ub_image_plane(src, c);
        float *dp = ub_image_plane(*out, c);
        for (int64_t y = 0; y < h; y++) {
            const float *row = sp + ub__reflect(y0 + y, src->height) * src->width;
            for (int64_t x = 0; x < w; x++) dp[y * w + x] = row[ub__reflect(x0 + x, src->width)];
        }
    }
    return UB_OK;
}

static void scale_colour(ub_image *img, double factor) {
    size_t n = (size_t)img->width * (size_t)img->height * (size_t)ub_image_colour_channels(img);
    for (size_t i = 0; i < n; i++) img->data[i] *= (float)factor;
}

static int compare_floats(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* The quantiles qs[0..count) (fractions in [0,1]) of a depth map, from one sort of a
   regular subsample (deterministic, cheap). Falls back to the middle pixel without memory. */
static void depth_quantiles(const ub_image *depth, const double *qs, int count, float *out) {
    const int64_t n = depth->width * depth->height, step = n > 65536 ? n / 65536 : 1;
    int64_t m = 0;
    float *v = malloc(sizeof(float) * (size_t)((n + step - 1) / step));
    for (int i = 0; !v && i < count; i++) out[i] = depth->data[n / 2];
    if (!v) return;
    for (int64_t i = 0; i < n; i += step) v[m++] = depth->data[i];
    qsort(v, (size_t)m, sizeof(float), compare_floats);
    for (int i = 0; i < count; i++) out[i] = v[(int64_t)fmin((double)(m - 1), floor(qs[i] * (double)m))];
    free(v);
}

static double depth_quantile(const ub_image *depth, double q) {
    float r;
    depth_quantiles(depth, &q, 1, &r);
    return r;
}

static void depth_range(const ub_image *depth, double *lo, double *hi) {
    float a = depth->data[0], b = depth->data[0];
    for (int64_t i = 1; i < depth->width * depth->height; i++) {
        const float d = depth->data[i]; /* ternaries: fminf/fmaxf are libm calls here */
        a = d < a ? d : a;
        b = d > b ? d : b;
    }
    *lo = a, *hi = b;
}

/* The lens of a sample; the pixel pitch maps the sensor width onto the full image width. */
static ub_lens lens_of(const ub__draw *d, const ub_image *depth, int64_t full_width) {
    ub_lens lens = {d->focal_mm, d->f_number, d->focus_m > 0 ? d->focus_m : depth_quantile(depth, d->focus_quantile),
                    d->sensor_width_mm * 1000.0 / (double)full_width, d->blades, d->blade_rotation};
    /* a focus closer than the focal length is impossible; stay just beyond it */
    if (lens.focus_m <= lens.focal_mm / 1000.0 * 1.05) lens.focus_m = lens.focal_mm / 1000.0 * 1.05;
    return lens;
}

/* A soft mask of the nearest 20% of the scene: the foreground layer when no mask is given. */
static ub_status near_layer_mask(ub_ctx *ctx, const ub_image *depth, ub_image **out) {
    ub_status st = ub_image_create(ctx, out, depth->width, depth->height, 1);
    if (st) return st;
    const double edge = depth_quantile(depth, 0.2), soft = fmax(1e-3, 0.05 * edge);
    for (int64_t i = 0; i < depth->width * depth->height; i++) {
        double t = (edge - depth->data[i]) / soft; /* > 0: nearer than the edge */
        (*out)->data[i] = (float)fmin(1.0, fmax(0.0, 0.5 + t));
    }
    return UB_OK;
}

/* ---- the blur stage (linear light, whole region, reflect borders) ---- */

/* The row and column halves of a Gaussian (the 2-D kernel is their product). */
static ub_status gaussian_pair(ub_ctx *ctx, double sigma, ub_kernel **row, ub_kernel **col) {
    ub_kernel *k2 = NULL;
    ub_status st = ub_kernel_gaussian(ctx, sigma, &k2);
    const int n = st == UB_OK ? k2->width : 1;
    if (st == UB_OK) st = ub_kernel_create(ctx, n, 1, row);
    if (st == UB_OK) st = ub_kernel_create(ctx, 1, n, col);
    if (st == UB_OK) {
        for (int i = 0; i < n; i++) (*row)->data[i] = (*col)->data[i] = k2->data[(n / 2) * n + i];
        if ((st = ub_kernel_normalize(ctx, *row)) == UB_OK) st = ub_kernel_normalize(ctx, *col);
    }
    ub_kernel_destroy(&k2);
    return st;
}

/* A Gaussian blur of one plane as two 1-D passes: 2K taps per pixel instead of K^2.
   `tmp` holds one plane. */
static ub_status gaussian_plane(ub_ctx *ctx, const float *in, int64_t w, int64_t h, const ub_kernel *row,
                                const ub_kernel *col, float *tmp, float *out) {
    ub_status st = ub_convolve_plane(ctx, in, w, h, row, UB_BORDER_REFLECT, UB_CONV_AUTO, tmp);
    return st ? st : ub_convolve_plane(ctx, tmp, w, h, col, UB_BORDER_REFLECT, UB_CONV_AUTO, out);
}

static ub_status gaussian_blur(ub_ctx *ctx, const ub_image *in, double sigma, ub_image **out) {
    ub_kernel *row = NULL, *col = NULL;
    const size_t plane = (size_t)(in->width * in->height);
    float *tmp = ub__alloc(plane * sizeof(float));
    ub_status st = tmp ? gaussian_pair(ctx, sigma, &row, &col) : ub__fail(ctx, UB_ERR_NOMEM, "synth: out of memory");
    if (st == UB_OK) st = ub_image_clone(ctx, in, out);
    for (int c = 0; st == UB_OK && c < ub_image_colour_channels(in); c++)
        st = gaussian_plane(ctx, ub_image_plane(in, c), in->width, in->height, row, col, tmp, ub_image_plane(*out, c));
    if (st) ub_image_destroy(out);
    ub__free(tmp);
    ub_kernel_destroy(&row);
    ub_kernel_destroy(&col);
    return st;
}

/* A pixel's depth rank in [0, 1] by the quantile table q[0..n] (piecewise linear). */
static float depth_rank(const float *q, int n, float d) {
    if (!(d > q[0])) return 0.0f;
    if (d >= q[n]) return 1.0f;
    int lo = 0, hi = n; /* q[lo] < d < q[hi] */
    while (hi - lo > 1) {
        int mid = (lo + hi) / 2;
        if (q[mid] < d) lo = mid;
        else hi = mid;
    }
    const float span = q[hi] - q[lo];
    return ((float)lo + (span > 0 ? (d - q[lo]) / span : 0.5f)) / (float)n;
}

/* The seed article's model: a Gaussian whose sigma grows linearly with depth
   (0 at the nearest point, `sigma` at the farthest), done fast: the image is
   blurred at `layers` evenly spaced sigmas, and each pixel blends the two
   layers that bracket its own sigma (hat weights). Depth enters by its rank in
   the scene (the quantile table q), so that the blur spans 0..sigma over the
   pixels whatever the depth distribution (a ground plane has most of its
   pixels near: by metres, nearly all would stay sharp). One blurred plane is
   in memory at a time, and the layer coordinate of each pixel is computed once. */
static ub_status depth_scaled_gaussian(ub_ctx *ctx, const ub_image *in, const ub_image *depth, const float *q,
                                       double sigma, int layers, ub_image **out) {
    const int64_t w = in->width, h = in->height, plane = w * h;
    float *coord = ub__alloc(sizeof(float) * (size_t)plane * 3), *tmp = coord + plane, *blurred = tmp + plane;
    ub_status st = coord ? ub_image_create(ctx, out, w, h, in->channels) /* zeroed */
                         : ub__fail(ctx, UB_ERR_NOMEM, "synth: out of memory");
    if (st) {
        ub__free(coord);
        return st;
    }
    (*out)->bit_depth = in->bit_depth;
    if (ub_image_has_alpha(in))
        memcpy(ub_image_plane(*out, in->channels - 1), ub_image_plane(in, in->channels - 1), sizeof(float) * (size_t)plane);
    for (int64_t i = 0; i < plane; i++) coord[i] = depth_rank(q, DEPTH_QUANTILES, depth->data[i]) * (float)(layers - 1);
    const int colours = ub_image_colour_channels(in);
    for (int l = 0; l < layers && st == UB_OK; l++) {
        const double sigma_l = sigma * l / (layers - 1);
        ub_kernel *row = NULL, *col = NULL;
        if (sigma_l >= 0.05) st = gaussian_pair(ctx, sigma_l, &row, &col);
        for (int c = 0; st == UB_OK && c < colours; c++) {
            const float *src = ub_image_plane(in, c);
            if (row) st = gaussian_plane(ctx, src, w, h, row, col, tmp, blurred);
            const float *b = row ? blurred : src;
            float *o = ub_image_plane(*out, c);
            const float layer = (float)l;
#pragma omp simd
            for (int64_t i = 0; i < plane; i++) {
                const float weight = 1.0f - fabsf(coord[i] - layer); /* a ternary, not fmaxf: that is a libm call */
                o[i] += (weight > 0.0f ? weight : 0.0f) * b[i];
            }
        }
        ub_kernel_destroy(&row);
        ub_kernel_destroy(&col);
    }
    ub__free(coord);
    if (st) ub_image_destroy(out);
    return st;
}

typedef struct stage_inputs {
    const ub_image *depth; /* metres, region-sized (procedural when none was given) */
    int depth_given;       /* a real depth map: its near layer can be the moving object */
    const ub_image *mask;  /* region-sized or NULL */
    ub_lens lens;          /* from the whole image's depth, when defocus applies */
    double parallax_ref_m; /* the whole image's depth at the drawn quantile, when parallax applies */
    double radius;         /* the whole image's half-diagonal (a crop draws as many sub-frames as its image) */
    int64_t keep, keep_size; /* a crop: only [keep, keep + keep_size)^2 of the region is kept (0 size: all) */
    double cx, cy;         /* the whole image's centre in the region's pixels (NAN: the region is the image) */
    /* the whole image's depth quantiles, 0%..100% (a crop scales blur as its image does) */
    float depth_q[DEPTH_QUANTILES + 1];
} stage_inputs;

/* Enough warps that consecutive poses are about a pixel apart, so that the
   exposure integrates into a smooth smear and not a few ghost copies: the
   farthest a pixel travels is bounded by the translation path plus the
   rotation times (focal length + the image's half-diagonal). */
static int warp_samples(const ub_synth *s, const ub__draw *d, const ub_image *img) {
    const double half_diagonal = 0.5 * hypot((double)img->width, (double)img->height);
    const double travel = d->shake_params.length + d->shake_params.rotation_deg * UB__DEG * (d->focal_px + half_diagonal);
    const double wanted = fmin(1024.0, ceil(1.5 * travel));
    return wanted > s->cfg.shake.warp_samples ? (int)wanted : s->cfg.shake.warp_samples;
}

/* How far parallax moves the fastest content over the exposure, in pixels, at most `radius` pixels
   from the principal point: the path times its largest gain, and the forward step's radial spread. */
static double parallax_travel(const ub__draw *d, double radius) {
    const double gp = 1 - d->parallax_share + d->parallax_share * d->parallax_gain;
    return d->shake_params.length * gp + fabs(d->parallax_forward) * d->parallax_gain * radius;
}

/* The parallax of this sample: the reference depth, the principal point, and enough sub-frames that
   the fastest-moving content steps about a pixel (as warp_samples). */
static ub_parallax parallax_of(const ub_synth *s, const ub__draw *d, const stage_inputs *si) {
    ub_parallax p;
    ub_parallax_default(&p);
    p.depth_ref_m = si->parallax_ref_m;
    p.max_gain = d->parallax_gain;
    p.translation_share = d->parallax_share;
    p.forward = d->parallax_forward;
    p.cx = si->cx, p.cy = si->cy;
    const double wanted = fmin(1024.0, ceil(1.5 * parallax_travel(d, si->radius)));
    p.samples = wanted > s->cfg.shake.parallax_samples ? (int)wanted : s->cfg.shake.parallax_samples;
    return p;
}

static ub_status camera_shake(ub_synth *s, const ub__draw *d, const stage_inputs *si, ub_image **lin, ub_kernel **kernel) {
    ub_ctx *ctx = s->ctx;
    ub_rng r;
    ub_rng_seed(&r, d->trajectory_seed);
    ub_trajectory *t = NULL;
    ub_image *next = NULL;
    ub_status st = ub_trajectory_shake(ctx, &r, &d->shake_params, &t);
    if (st == UB_OK && d->frames) { /* video frames: the kernel of separate copies; a warp sees the exposed points */
        st = ub__kernel_from_frames(ctx, t, d->frames, d->frame_duty, kernel);
        if (st == UB_OK && (d->rotational || d->parallax)) {
            ub_trajectory *open = NULL;
            st = ub__trajectory_frames(ctx, t, d->frames, d->frame_duty, &open);
            ub_trajectory_destroy(&t);
            t = open;
        }
    } else if (st == UB_OK) st = ub_kernel_from_trajectory(ctx, t, 0, kernel);
    if (st == UB_OK) {
        if (d->rotational) st = ub_warp_blur(ctx, *lin, t, d->focal_px, warp_samples(s, d, *lin), &next);
        else if (d->parallax) {
            const ub_parallax p = parallax_of(s, d, si);
            /* the shake is the last blur: a crop's margin is only read */
            if (si->keep_size > 0)
                st = ub__parallax_blur_window(ctx, *lin, si->depth, t, &p, si->keep, si->keep, si->keep_size,
                                              si->keep_size, &next);
            else st = ub_parallax_blur(ctx, *lin, si->depth, t, &p, &next);
        } else st = ub_convolve(ctx, *lin, *kernel, UB_BORDER_REFLECT, &next);
    }
    ub_trajectory_destroy(&t);
    if (st == UB_OK) replace(lin, next);
    return st;
}

static ub_status straight_motion(ub_ctx *ctx, const ub__draw *d, ub_image **lin, ub_kernel **kernel) {
    ub_trajectory *t = NULL;
    ub_image *next = NULL;
    ub_status st = ub_trajectory_linear(ctx, d->line_length, d->line_angle * UB__DEG, 256, &t);
    if (st == UB_OK) st = ub_kernel_from_trajectory(ctx, t, 0, kernel);
    if (st == UB_OK) st = ub_convolve(ctx, *lin, *kernel, UB_BORDER_REFLECT, &next);
    ub_trajectory_destroy(&t);
    if (st == UB_OK) replace(lin, next);
    return st;
}

static ub_status moving_object(ub_synth *s, const ub__draw *d, const stage_inputs *si, ub_image **lin) {
    ub_ctx *ctx = s->ctx;
    ub_image *mask = NULL, *next = NULL;
    ub_status st = UB_OK;
    if (!si->mask && si->depth_given) st = near_layer_mask(ctx, si->depth, &mask);
    if (st == UB_OK && !si->mask && !mask) {
        ub_rng r;
        ub_rng_seed(&r, d->mask_seed);
        st = ub_mask_procedural(ctx, &r, (*lin)->width, (*lin)->height, &mask);
    }
    if (st == UB_OK) st = ub_object_motion_blur(ctx, *lin, si->mask ? si->mask : mask, NULL, &d->motion, &next);
    ub_image_destroy(&mask);
    if (st == UB_OK) replace(lin, next);
    /* more objects, each over what the ones before left (procedural masks: a given mask or depth
       layer is the first object) */
    for (int i = 0; st == UB_OK && i + 1 < d->objects; i++) {
        ub_rng r;
        ub_rng_seed(&r, d->more_mask_seed[i]);
        if ((st = ub_mask_procedural(ctx, &r, (*lin)->width, (*lin)->height, &mask))) break;
        st = ub_object_motion_blur(ctx, *lin, mask, NULL, &d->more[i], &next);
        ub_image_destroy(&mask);
        if (st == UB_OK) replace(lin, next);
    }
    return st;
}

/* Linear file values -> scene radiance at the sensor: light sources are what the
   file clipped, so they are boosted (judged before the exposure change), then the
   exposure scales everything. The sharp target gets the same, so a light source
   is saturated in both images of a pair, as it would be in a real sharp photo. */
static void scene_radiance(const ub__draw *d, ub_image *lin) {
    if (d->highlights) ub_boost_highlights(lin, d->hl_threshold, d->hl_factor);
    scale_colour(lin, d->exposure);
}

/* Applies the drawn blurs to `lin` (replaced); `kernel` receives the camera PSF, if any. */
static ub_status blur_stage(ub_synth *s, const ub__draw *d, const stage_inputs *si, ub_image **lin, ub_kernel **kernel) {
    ub_ctx *ctx = s->ctx;
    ub_status st = UB_OK;
    scene_radiance(d, *lin);
    if (d->defocus) {
        ub_image *next = NULL;
        if ((st = ub_defocus(ctx, *lin, si->depth, &si->lens, &next))) return st;
        replace(lin, next);
    }
    if (d->object && (st = moving_object(s, d, si, lin))) return st;
    if (d->gaussian) {
        ub_image *next = NULL;
        if (s->cfg.gaussian.depth_scaled) {
            st = depth_scaled_gaussian(ctx, *lin, si->depth, si->depth_q, d->sigma,
                                       s->cfg.gaussian.layers, &next);
            /* the kernel recorded is the farthest (widest) one */
            ub_kernel_destroy(kernel);
            if (st == UB_OK) st = ub_kernel_gaussian(ctx, d->sigma, kernel);
        } else {
            ub_kernel_destroy(kernel);
            if ((st = gaussian_blur(ctx, *lin, d->sigma, &next)) == UB_OK) st = ub_kernel_gaussian(ctx, d->sigma, kernel);
        }
        if (st) return st;
        replace(lin, next);
    }
    if (d->linear) {
        ub_kernel_destroy(kernel);
        if ((st = straight_motion(ctx, d, lin, kernel))) return st;
    }
    if (d->shake) {
        ub_kernel_destroy(kernel);
        if ((st = camera_shake(s, d, si, lin, kernel))) return st;
    }
    return UB_OK;
}

/* How far this sample's blur reaches, in pixels: the margin a crop needs. */
static int64_t blur_reach(const ub__draw *d, const ub_image *depth, const ub_lens *lens, int size, double crop_radius) {
    double m = 2;
    if (d->gaussian) m += 3 * d->sigma + 1;
    if (d->linear) m += d->line_length / 2 + 1;
    if (d->shake) {
        m += d->shake_params.length + 1;
        /* (crop_radius: the crop's farthest pixel from the image's centre, where forward motion is fastest) */
        if (d->parallax && depth) m += parallax_travel(d, crop_radius);
        if (d->rotational) m += d->shake_params.rotation_deg * UB__DEG * (d->focal_px + 2.0 * size) + 1;
    }
    if (d->object)
        m += hypot(d->motion.dx, d->motion.dy) / 2 + fabs(d->motion.rotation) * size +
             fabs(sqrt(fmax(d->motion.scale, 1.0 / d->motion.scale)) - 1) * size + 1;
    if (d->defocus && depth) {
        double lo, hi;
        depth_range(depth, &lo, &hi);
        m += fmax(ub_coc_diameter_px(lens, lo), ub_coc_diameter_px(lens, hi)) / 2 + 1;
    }
    return (int64_t)ceil(fmin(m, 4096));
}

/* ---- the camera stage (display-referred output) ---- */

static ub_status camera_stage(ub_ctx *ctx, const ub__draw *d, ub_image *blurred, ub_image *sharp) {
    ub_clip(blurred);
    ub_add_noise(ctx, blurred, d->shot_gain, d->read_noise, d->noise_seed);
    ub_clip(blurred);
    ub_apply_crf(blurred, d->crf, d->gamma);
    ub_clip(sharp);
    ub_apply_crf(sharp, d->crf, d->gamma);
    return d->jpeg ? ub_jpeg_roundtrip(ctx, blurred, d->jpeg_quality) : UB_OK;
}

/* ---- samples ---- */

static ub_status check_inputs(ub_ctx *ctx, const ub_synth_inputs *in) {
    if (!in || !in->sharp) return ub__fail(ctx, UB_ERR_INVALID, "synth: no sharp image");
    const ub_image *sh = in->sharp;
    const ub_image *aux[2] = {in->depth, in->mask};
    const char *what[2] = {"depth map", "mask"};
    for (int i = 0; i < 2; i++) {
        if (!aux[i]) continue;
        if (aux[i]->channels != 1)
            return ub__fail(ctx, UB_ERR_MISMATCH, "synth: the %s has %d channels (it needs 1)", what[i], aux[i]->channels);
        if (aux[i]->width != sh->width || aux[i]->height != sh->height)
            return ub__fail(ctx, UB_ERR_MISMATCH, "synth: the %s is %lldx%lld but the image is %lldx%lld", what[i],
                            (long long)aux[i]->width, (long long)aux[i]->height, (long long)sh->width,
                            (long long)sh->height);
    }
    return UB_OK;
}

/* Display-referred -> linear light. */
static ub_status linearise(ub_ctx *ctx, const ub_image *src, ub_image **out) {
    ub_status st = ub_image_clone(ctx, src, out);
    if (st) return st;
    ub_image_srgb_to_linear(*out);
    return UB_OK;
}

/* Whether this sample reads depth: the depth-scaled Gaussian, defocus, or an object
   taken from a given depth map's near layer. */
static int needs_depth(const ub_synth *s, const ub__draw *d, const ub_synth_inputs *in) {
    return (d->gaussian && s->cfg.gaussian.depth_scaled) || d->defocus || (d->object && in->depth && !in->mask) ||
           d->parallax;
}

/* The depth the sample uses: the given one, or a ground plane from 1 m to 20 m;
   NULL when the sample does not need one (no plane made, no focus search). */
static ub_status scene_depth(ub_ctx *ctx, const ub_synth *s, const ub__draw *d, const ub_synth_inputs *in,
                             ub_image **owned, const ub_image **depth, stage_inputs *si) {
    *owned = NULL;
    *depth = NULL;
    if (!needs_depth(s, d, in)) return UB_OK;
    *depth = in->depth;
    ub_status st = in->depth ? UB_OK : ub_depth_plane(ctx, in->sharp->width, in->sharp->height, 1.0, 20.0, owned);
    if (st) return st;
    if (!in->depth) *depth = *owned;
    if (d->defocus) si->lens = lens_of(d, *depth, in->sharp->width);
    if (d->parallax) si->parallax_ref_m = depth_quantile(*depth, d->parallax_quantile);
    si->radius = 0.5 * hypot((double)in->sharp->width, (double)in->sharp->height);
    if (d->gaussian && s->cfg.gaussian.depth_scaled) {
        double fractions[DEPTH_QUANTILES + 1];
        for (int i = 0; i <= DEPTH_QUANTILES; i++) fractions[i] = (double)i / DEPTH_QUANTILES;
        depth_quantiles(*depth, fractions, DEPTH_QUANTILES + 1, si->depth_q);
        si->depth_q[DEPTH_QUANTILES] = FLT_MAX; /* the farthest pixel is at rank 1 even when the subsample missed it */
    }
    return UB_OK;
}

static ub_status finish(ub_ctx *ctx, const ub__draw *d, uint64_t seed, uint64_t index, const stage_inputs *si,
                        ub_synth_sample *out) {
    ub_status st = camera_stage(ctx, d, out->blurred, out->sharp);
    if (st) return st;
    out->params_json = ub__draw_json(d, seed, index, out->kernel, d->defocus ? &si->lens : NULL);
    if (!out->params_json) return ub__fail(ctx, UB_ERR_NOMEM, "synth: out of memory");
    out->blurred->bit_depth = out->sharp->bit_depth;
    return UB_OK;
}

ub_status ub_synth_run(ub_synth *s, const ub_synth_inputs *in, uint64_t seed, uint64_t index,
                       ub_synth_sample *out) {
    ub_ctx *ctx = s->ctx;
    memset(out, 0, sizeof *out);
    ub_status st = check_inputs(ctx, in);
    if (st) return st;
    ub__draw d;
    ub__draw_sample(&s->cfg, seed, index, &d);
    ub_image *plane = NULL;
    stage_inputs si = {.mask = in->mask, .depth_given = in->depth != NULL, .cx = NAN, .cy = NAN};
    if ((st = scene_depth(ctx, s, &d, in, &plane, &si.depth, &si)) == UB_OK) st = linearise(ctx, in->sharp, &out->blurred);
    if (st == UB_OK) st = ub_image_clone(ctx, out->blurred, &out->sharp);
    if (st == UB_OK) scene_radiance(&d, out->sharp);
    if (st == UB_OK) st = blur_stage(s, &d, &si, &out->blurred, &out->kernel);
    if (st == UB_OK) st = finish(ctx, &d, seed, index, &si, out);
    ub_image_destroy(&plane);
    if (st) ub_synth_sample_free(out);
    return st;
}

ub_status ub_synth_crop(ub_synth *s, const ub_synth_inputs *in, int64_t x0, int64_t y0, int size, uint64_t seed,
                        uint64_t index, ub_synth_sample *out) {
    ub_ctx *ctx = s->ctx;
    memset(out, 0, sizeof *out);
    ub_status st = check_inputs(ctx, in);
    if (st) return st;
    const ub_image *sh = in->sharp;
    if (size < 1 || x0 < 0 || y0 < 0 || x0 + size > sh->width || y0 + size > sh->height)
        return ub__fail(ctx, UB_ERR_INVALID, "synth: crop %d at (%lld,%lld) is not inside the %lldx%lld image", size,
                        (long long)x0, (long long)y0, (long long)sh->width, (long long)sh->height);
    ub__draw d;
    ub__draw_sample(&s->cfg, seed, index, &d);
    ub_image *plane = NULL, *region = NULL, *depth_r = NULL, *mask_r = NULL, *lin = NULL;
    stage_inputs si = {.depth_given = in->depth != NULL};
    const double cx0 = (double)(sh->width - 1) / 2, cy0 = (double)(sh->height - 1) / 2; /* the image's centre */
    const ub_image *depth = NULL;
    if ((st = scene_depth(ctx, s, &d, in, &plane, &depth, &si))) return st;
    const double crop_radius = hypot(fmax(fabs((double)x0 - cx0), fabs((double)(x0 + size - 1) - cx0)),
                                     fmax(fabs((double)y0 - cy0), fabs((double)(y0 + size - 1) - cy0)));
    const int64_t m = blur_reach(&d, depth, &si.lens, size, crop_radius), rs = size + 2 * m;
    si.cx = cx0 - (double)(x0 - m), si.cy = cy0 - (double)(y0 - m);
    si.keep = m, si.keep_size = size;
    st = extract(ctx, sh, x0 - m, y0 - m, rs, rs, &region);
    if (st == UB_OK && depth) st = extract(ctx, depth, x0 - m, y0 - m, rs, rs, &depth_r);
    if (st == UB_OK && in->mask) st = extract(ctx, in->mask, x0 - m, y0 - m, rs, rs, &mask_r);
    si.depth = depth_r;
    si.mask = mask_r;
    if (st == UB_OK) st = linearise(ctx, region, &lin);
    if (st == UB_OK) st = blur_stage(s, &d, &si, &lin, &out->kernel);
    if (st == UB_OK) st = extract(ctx, lin, m, m, size, size, &out->blurred);
    if (st == UB_OK) ub_image_destroy(&region), st = extract(ctx, sh, x0, y0, size, size, &region);
    if (st == UB_OK) st = linearise(ctx, region, &out->sharp);
    if (st == UB_OK) scene_radiance(&d, out->sharp);
    if (st == UB_OK) st = finish(ctx, &d, seed, index, &si, out);
    ub_image_destroy(&plane);
    ub_image_destroy(&region);
    ub_image_destroy(&depth_r);
    ub_image_destroy(&mask_r);
    ub_image_destroy(&lin);
    if (st) ub_synth_sample_free(out);
    return st;
}

ub_status ub_synth_kernel(ub_synth *s, uint64_t seed, uint64_t index, ub_kernel **out) {
    ub_ctx *ctx = s->ctx;
    *out = NULL;
    ub__draw d;
    ub__draw_sample(&s->cfg, seed, index, &d);
    ub_trajectory *t = NULL;
    ub_status st = UB_OK;
    if (d.shake) {
        ub_rng r;
        ub_rng_seed(&r, d.trajectory_seed);
        st = ub_trajectory_shake(ctx, &r, &d.shake_params, &t);
    } else if (d.linear) {
        st = ub_trajectory_linear(ctx, d.line_length, d.line_angle * UB__DEG, 256, &t);
    } else if (d.gaussian) {
        return ub_kernel_gaussian(ctx, d.sigma, out);
    } else {
        return ub__fail(ctx, UB_ERR_INVALID, "synth: sample %llu applies no camera blur", (unsigned long long)index);
    }
    if (st == UB_OK && d.shake && d.frames) st = ub__kernel_from_frames(ctx, t, d.frames, d.frame_duty, out);
    else if (st == UB_OK) st = ub_kernel_from_trajectory(ctx, t, 0, out);
    ub_trajectory_destroy(&t);
    return st;
}
