/* nn/model_ensemble.c — flip self-ensemble (issue 13's inference options): the network run on the image
   and on its mirror images, each output mirrored back, and the outputs averaged. A network is not
   equivariant to flips, so its errors differ between the views and partly cancel; the cost is one run
   per view. Whether it pays is measured on the real pairs (docs/results.md), not assumed. */
#include <string.h>

#include "unblur/image.h"

#include "core/internal.h"
#include "nn/model.h"

enum { FLIP_X = 1, FLIP_Y = 2 };

/* Mirrors every plane of img in place: left-right (FLIP_X) and/or top-bottom (FLIP_Y). */
static void mirror(ub_image *img, int flips) {
    const int64_t w = img->width, h = img->height;
    for (int c = 0; c < img->channels; c++) {
        float *p = ub_image_plane(img, c);
        if (flips & FLIP_X)
            for (int64_t y = 0; y < h; y++)
                for (int64_t a = y * w, b = a + w - 1; a < b; a++, b--) {
                    float t = p[a];
                    p[a] = p[b], p[b] = t;
                }
        if (flips & FLIP_Y)
            for (int64_t top = 0, bottom = h - 1; top < bottom; top++, bottom--)
                for (int64_t x = 0; x < w; x++) {
                    float t = p[top * w + x];
                    p[top * w + x] = p[bottom * w + x], p[bottom * w + x] = t;
                }
    }
}

ub_status ub_model_set_ensemble(ub_model *m, int views) {
    if (!m) return UB_ERR_INVALID;
    if (views != 1 && views != 2 && views != 4)
        return ub__fail(m->ctx, UB_ERR_INVALID, "model: ensemble of %d views: use 1 (off), 2 or 4", views);
    m->views = views;
    return UB_OK;
}

int ub_model_ensemble(const ub_model *m) { return m ? m->views : 0; }

/* Every view is run in full (tiled as asked, so memory stays bounded) and summed in view order: the
   result does not depend on the thread count. Alpha is the input's (the views' copies are not averaged).
   Progress restarts for each view (one bar per view). */
ub_status ub_model_run_tiled(ub_model *m, const ub_image *in, int tile, ub_image **out) {
    if (!m) return UB_ERR_INVALID;
    if (m->views <= 1 || !in || !out) return ub__model_run_view(m, in, tile, out);
    static const int view_flips[4] = {0, FLIP_X, FLIP_Y, FLIP_X | FLIP_Y};
    ub_image *sum = NULL, *mirrored = NULL;
    ub_status st = ub__model_run_view(m, in, tile, &sum);
    if (st == UB_OK) st = ub_image_clone(m->ctx, in, &mirrored);
    const size_t count = (size_t)ub_image_colour_channels(in) * (size_t)in->width * (size_t)in->height;
    for (int v = 1; st == UB_OK && v < m->views; v++) {
        ub_image *sharp = NULL;
        memcpy(mirrored->data, in->data, sizeof(float) * (size_t)in->channels * in->width * in->height);
        mirror(mirrored, view_flips[v]);
        st = ub__model_run_view(m, mirrored, tile, &sharp);
        if (st != UB_OK) break;
        mirror(sharp, view_flips[v]);
        for (size_t i = 0; i < count; i++) sum->data[i] += sharp->data[i]; /* colour planes come first */
        ub_image_destroy(&sharp);
    }
    ub_image_destroy(&mirrored);
    if (st != UB_OK) {
        ub_image_destroy(&sum);
        *out = NULL;
        return st;
    }
    const float scale = 1.0f / (float)m->views;
    for (size_t i = 0; i < count; i++) sum->data[i] *= scale;
    *out = sum;
    return UB_OK;
}
