/* eval/set_load.c — loading one item of a set: read, pair, blur in memory, crop.

   Every item is a pure function of the files and the set's options: the in-memory blurs (Lai's
   noise, the synthesis) draw from generators seeded by the item's indices, in a fixed order, so an
   item is the same on every run and thread count. Alpha is dropped: metrics ignore it, and a
   method should not be scored on what it did not see. */
#include <stdlib.h>
#include <string.h>

#include "eval/internal.h"

/* A copy of the colour channels (the image itself when it has no alpha). */
static ub_status drop_alpha(ub_ctx *ctx, ub_image **img) {
    if (!ub_image_has_alpha(*img)) return UB_OK;
    ub_image *c = NULL;
    int n = ub_image_colour_channels(*img);
    ub_status st = ub_image_create(ctx, &c, (*img)->width, (*img)->height, n);
    if (st != UB_OK) return st;
    memcpy(c->data, (*img)->data, sizeof(float) * (size_t)n * (size_t)c->width * (size_t)c->height);
    c->bit_depth = (*img)->bit_depth;
    ub_image_destroy(img);
    *img = c;
    return UB_OK;
}

static ub_status read_colour(ub_ctx *ctx, const char *path, ub_image **out) {
    ub_status st = ub_image_read(ctx, path, out);
    if (st == UB_OK) st = drop_alpha(ctx, out);
    if (st != UB_OK) ub_image_destroy(out);
    return st;
}

/* The centred min(C, w) x min(C, h) region, in place of the image. */
static ub_status centre_crop(ub_ctx *ctx, ub_image **img, int c) {
    ub_image *in = *img, *out = NULL;
    int64_t w = in->width < c ? in->width : c, h = in->height < c ? in->height : c;
    if (w == in->width && h == in->height) return UB_OK;
    ub_status st = ub_image_create(ctx, &out, w, h, in->channels);
    if (st != UB_OK) return st;
    int64_t x0 = (in->width - w) / 2, y0 = (in->height - h) / 2;
    for (int ch = 0; ch < in->channels; ch++)
        for (int64_t y = 0; y < h; y++)
            memcpy(ub_image_plane(out, ch) + y * w, ub_image_plane(in, ch) + (y0 + y) * in->width + x0,
                   sizeof(float) * (size_t)w);
    out->bit_depth = in->bit_depth;
    ub_image_destroy(img);
    *img = out;
    return UB_OK;
}

static ub_status check_same_size(ub_ctx *ctx, const eval_entry *e, const ub_image *in, const ub_image *ref) {
    if (in->width == ref->width && in->height == ref->height && in->channels == ref->channels) return UB_OK;
    return ub__fail(ctx, UB_ERR_MISMATCH, "%s: %lldx%lld with %d channel(s), but its reference %s is %lldx%lld with %d",
                    e->input, (long long)in->width, (long long)in->height, in->channels, e->reference,
                    (long long)ref->width, (long long)ref->height, ref->channels);
}

/* The kernel in convolution orientation (turned 180 degrees: the row-major array reversed). */
static ub_status read_kernel(ub_ctx *ctx, const eval_entry *e, ub_kernel **out) {
    ub_status st = ub_kernel_read(ctx, e->kernel, out);
    if (st != UB_OK || !e->kernel_rot180) return st;
    float *d = (*out)->data;
    for (size_t i = 0, j = (size_t)(*out)->width * (size_t)(*out)->height - 1; i < j; i++, j--) {
        float t = d[i];
        d[i] = d[j];
        d[j] = t;
    }
    return UB_OK;
}

static ub_status load_pair(ub_ctx *ctx, const eval_entry *e, ub_eval_item *it) {
    ub_status st = read_colour(ctx, e->input, &it->input);
    if (st == UB_OK) st = read_colour(ctx, e->reference, &it->reference);
    if (st == UB_OK) st = check_same_size(ctx, e, it->input, it->reference);
    if (st == UB_OK && e->kernel) st = read_kernel(ctx, e, &it->kernel);
    return st;
}

/* Adds N(0, sigma^2) to every sample, drawn in plane order from one seeded stream, and clips to [0,1]. */
static void add_noise(ub_image *img, double sigma, uint64_t seed) {
    ub_rng r;
    ub_rng_seed(&r, seed);
    size_t n = (size_t)img->channels * (size_t)img->width * (size_t)img->height;
    for (size_t i = 0; i < n; i++) {
        double v = img->data[i] + sigma * ub_rng_normal(&r);
        img->data[i] = (float)(v < 0 ? 0 : v > 1 ? 1 : v);
    }
}

/* Lai et al.'s recipe: the sharp image convolved with the kernel, plus 1 % Gaussian noise. */
static ub_status load_lai(ub_ctx *ctx, const eval_entry *e, ub_eval_item *it) {
    ub_status st = read_colour(ctx, e->input, &it->reference);
    if (st == UB_OK) st = ub_kernel_read(ctx, e->kernel, &it->kernel);
    if (st == UB_OK) st = ub_convolve(ctx, it->reference, it->kernel, UB_BORDER_REFLECT, &it->input);
    if (st == UB_OK) add_noise(it->input, 0.01, ub_rng_derive(UB_EVAL_LAI_SEED, e->image_index, e->kernel_index));
    return st;
}

static ub_status load_synth(ub_ctx *ctx, const ub_eval_set *s, const eval_entry *e, ub_eval_item *it) {
    ub_image *sharp = NULL;
    ub_synth *sy = NULL;
    ub_synth_sample sample = {0};
    ub_status st = read_colour(ctx, e->input, &sharp);
    if (st == UB_OK && s->crop > 0) st = centre_crop(ctx, &sharp, s->crop);
    if (st == UB_OK) st = ub_synth_create_preset(ctx, s->preset, &sy);
    ub_synth_inputs in = {.sharp = sharp};
    if (st == UB_OK) st = ub_synth_run(sy, &in, s->seed, e->image_index, &sample);
    if (st == UB_OK) {
        it->input = sample.blurred;
        it->reference = sample.sharp;
        sample.blurred = sample.sharp = NULL;
    }
    ub_synth_sample_free(&sample);
    ub_synth_destroy(&sy);
    ub_image_destroy(&sharp);
    return st;
}

static ub_status load_sharp(ub_ctx *ctx, const eval_entry *e, ub_eval_item *it) {
    ub_status st = read_colour(ctx, e->input, &it->reference);
    if (st == UB_OK) st = ub_image_clone(ctx, it->reference, &it->input);
    return st;
}

static ub_status load_entry(ub_ctx *ctx, const ub_eval_set *s, const eval_entry *e, ub_eval_item *it) {
    switch (s->kind) {
    case SET_PAIRS:
    case SET_LEVIN: return load_pair(ctx, e, it);
    case SET_LAI: return load_lai(ctx, e, it);
    case SET_SYNTH: return load_synth(ctx, s, e, it);
    default: return load_sharp(ctx, e, it);
    }
}

ub_status ub_eval_set_load(ub_ctx *ctx, const ub_eval_set *s, size_t i, ub_eval_item *out) {
    memset(out, 0, sizeof *out);
    if (i >= s->count)
        return ub__fail(ctx, UB_ERR_INVALID, "%s: item %zu of %zu does not exist", s->name, i, s->count);
    const eval_entry *e = &s->entries[i];
    out->name = ub__eval_strdup(e->name);
    ub_status st = out->name ? load_entry(ctx, s, e, out) : ub__fail(ctx, UB_ERR_NOMEM, "out of memory");
    /* synth crops before blurring (cheaper, and the blur sees real context); the others after */
    if (st == UB_OK && s->crop > 0 && s->kind != SET_SYNTH) st = centre_crop(ctx, &out->input, s->crop);
    if (st == UB_OK && s->crop > 0 && s->kind != SET_SYNTH) st = centre_crop(ctx, &out->reference, s->crop);
    if (st != UB_OK) ub_eval_item_free(out);
    return st;
}

void ub_eval_item_free(ub_eval_item *it) {
    if (!it) return;
    free(it->name);
    ub_image_destroy(&it->input);
    ub_image_destroy(&it->reference);
    ub_kernel_destroy(&it->kernel);
    memset(it, 0, sizeof *it);
}
