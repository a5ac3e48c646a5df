/* tests/test_tiling.c — tiled inference (ub_model_run_tiled) against the whole
   image at once (UB_MODEL_TILE_OFF), with random weights (SE and tail
   strengthened so that the global SE means show in the output):
   - RBNet W=8 N=1 D=2 (margin 28) and W=8 N=1 D=3 M=2 (margin 80) on odd
     sizes with small tiles, so that there are many tiles, regions reaching
     into the reflect padding at the right and bottom, an axis cut and one not:
     max abs difference < 1e-5 (measured: 0, printed);
   - RGB, grey (grey -> grey) and grey+alpha (alpha copied exactly); the
     16-bit bit_depth kept;
   - an image of exactly one tile, and one of a tile and its margins: the
     whole-image path, bit for bit;
   - the output does not depend on the thread count (1 vs 2: bit-identical);
   - progress per tile pass, rising to 1; a cancel returns UB_ERR_CANCELLED
     and no image; bad tile sizes are refused.
   - NAF blocks (W=8 N=1 M=1 D=2, beta / gamma made non-zero and SCA strengthened): every block's SCA
     takes a whole-image mean that depends on the ones before, gathered group by group: tiled == whole
     too (max difference < 1e-5; measured: 0), with skip attention both and none;
   Checked by hand: without the whole image's SE means (each tile using its
   own) every case fails (differences 2e-4 .. 6e-2); with a margin one step
   (2^depth) short of the receptive radius the differences are ~4e-6 (the
   field's far edge weighs little), with the margin: 0. Skipped (77) when
   oneDNN has no CPU engine. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/model.h"
#include "testutil.h"

#define TILE_TOL 1e-5 /* the issue asks 1e-3; measured: 0 (the same arithmetic as the whole image) */

static int skipped;

static ub_model *make_model(ub_ctx *ctx, int depth, int mid_blocks, uint64_t seed) {
    ub_rbnet_config c;
    ub_rbnet_default(&c);
    c.width = 8, c.blocks = 1, c.depth = depth, c.mid_blocks = mid_blocks;
    ub_rng r;
    ub_rng_seed(&r, seed);
    ub_model *m = NULL;
    CHECK_OK(ctx, ub_model_create(ctx, &c, &r, &m));
    /* PyTorch's initialisation leaves SE almost flat (its scales stay near sigmoid(0)) and the output near
       the input: stronger SE and tail weights make the global means visible in the output, so that tiles
       with their own means would fail here (differences ~1e-2 instead of ~1e-5) */
    for (int i = 0; m && i < m->net.table.count; i++) {
        const ub__param *p = &m->net.table.params[i];
        const float gain = strstr(p->name, ".se.fc") ? 6.0f : !strcmp(p->name, "tail.weight") ? 4.0f : 1.0f;
        for (size_t k = 0; k < p->count; k++) m->params[p->offset + k] *= gain;
    }
    return m;
}

/* A test image whose halves differ strongly (dim left, bright right), so that a tile's channel means are
   far from the whole image's. */
static ub_image *contrast_image(ub_ctx *ctx, int w, int h, int channels, uint64_t seed) {
    ub_image *img = test_image(ctx, w, h, channels, seed);
    for (int c = 0; c < ub_image_colour_channels(img); c++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                float *v = ub_image_plane(img, c) + (size_t)y * (size_t)w + (size_t)x;
                *v = x < w / 2 ? 0.2f * *v : 0.6f + 0.4f * *v;
            }
    return img;
}

static double max_abs_diff(const ub_image *a, const ub_image *b) {
    const size_t n = (size_t)a->width * (size_t)a->height * (size_t)a->channels;
    double d = 0.0;
    for (size_t i = 0; i < n; i++) d = fmax(d, fabs((double)a->data[i] - b->data[i]));
    return d;
}

/* Runs `in` tiled and whole; returns the max abs difference (or +inf on failure). */
static double tiled_vs_whole(ub_ctx *ctx, ub_model *m, ub_image *in, int tile, const char *what) {
    ub_image *whole = NULL, *tiled = NULL;
    ub_status st = ub_model_run_tiled(m, in, UB_MODEL_TILE_OFF, &whole);
    if (st == UB_ERR_UNSUPPORTED) {
        skipped = 1;
        return 0;
    }
    CHECK_OK(ctx, st);
    CHECK_OK(ctx, ub_model_run_tiled(m, in, tile, &tiled));
    double d = INFINITY;
    if (whole && tiled) {
        CHECK(tiled->width == in->width && tiled->height == in->height && tiled->channels == in->channels);
        CHECK(tiled->bit_depth == in->bit_depth);
        d = max_abs_diff(whole, tiled);
        CHECK_MSG(d < TILE_TOL, "%s: tiled vs whole differ by %.3g", what, d);
        if (ub_image_has_alpha(in)) {
            const size_t plane = (size_t)in->width * (size_t)in->height;
            CHECK(memcmp(ub_image_plane(tiled, in->channels - 1), ub_image_plane(in, in->channels - 1),
                         plane * sizeof(float)) == 0);
        }
        printf("%-44s tile %3d: max |tiled - whole| = %.3g\n", what, tile, d);
    }
    ub_image_destroy(&whole);
    ub_image_destroy(&tiled);
    return d;
}

typedef struct tcase {
    int w, h, channels, bits, tile;
} tcase;

static void test_depth2(void) {
    ub_ctx *ctx = test_ctx(2);
    ub_model *m = make_model(ctx, 2, 1, 11);
    const tcase cases[] = {
        {157, 123, 3, 8, 32},  /* 5 x 4 tiles; both sides odd: the edge regions reach into the padding */
        {97, 201, 2, 16, 48},  /* grey + alpha, 16 bits */
        {89, 90, 1, 8, 32},    /* one pixel over a tile and its margins (88): 3 x 3 tiles */
        {200, 61, 3, 8, 32},   /* cut along x only: the region spans the padded height (64) */
        {128, 96, 3, 8, 32},   /* no padding: sides multiples of the tile */
    };
    for (size_t i = 0; m && !skipped && i < sizeof cases / sizeof *cases; i++) {
        const tcase *c = &cases[i];
        ub_image *in = contrast_image(ctx, c->w, c->h, c->channels, 100 + i);
        in->bit_depth = c->bits;
        char what[96];
        snprintf(what, sizeof what, "D2 %dx%d, %d channel(s), %d bits", c->w, c->h, c->channels, c->bits);
        tiled_vs_whole(ctx, m, in, c->tile, what);
        ub_image_destroy(&in);
    }
    /* one tile (the image is the tile, and then tile + margins): the whole-image path, same bits */
    const int sizes[2] = {64, 64 + 2 * 28};
    for (int i = 0; m && !skipped && i < 2; i++) {
        ub_image *in = test_image(ctx, sizes[i], sizes[i], 3, 7), *a = NULL, *b = NULL;
        CHECK_OK(ctx, ub_model_run_tiled(m, in, 64, &a));
        CHECK_OK(ctx, ub_model_run_tiled(m, in, UB_MODEL_TILE_OFF, &b));
        CHECK(a && b && max_abs_diff(a, b) == 0.0);
        ub_image_destroy(&a);
        ub_image_destroy(&b);
        ub_image_destroy(&in);
    }
    ub_model_destroy(&m);
    ub_ctx_destroy(&ctx);
}

static void test_depth3(void) {
    ub_ctx *ctx = test_ctx(2);
    ub_model *m = make_model(ctx, 3, 2, 12);
    ub_image *in = contrast_image(ctx, 301, 243, 3, 21); /* margin 80, tile 64: 5 x 4 tiles, regions 224 */
    if (m && !skipped) tiled_vs_whole(ctx, m, in, 64, "D3 M2 301x243 RGB");
    ub_image_destroy(&in);
    ub_model_destroy(&m);
    ub_ctx_destroy(&ctx);
}

/* NAF blocks: the chain of SCA means, gathered pass by pass. */
static void test_naf(int skip, const char *what) {
    ub_ctx *ctx = test_ctx(2);
    ub_rbnet_config c;
    ub_rbnet_default(&c);
    c.width = 8, c.blocks = 1, c.mid_blocks = 1, c.depth = 2, c.block = UB_RBNET_BLOCK_NAF, c.skip_attention = skip;
    ub_rng r;
    ub_rng_seed(&r, 13);
    ub_model *m = NULL;
    CHECK_OK(ctx, ub_model_create(ctx, &c, &r, &m));
    test_rng tr = {17};
    for (int i = 0; m && i < m->net.table.count; i++) { /* beta, gamma start at 0 (identity blocks): draw them */
        const ub__param *p = &m->net.table.params[i];
        const int scale = strstr(p->name, ".beta") || strstr(p->name, ".gamma");
        const float gain = strstr(p->name, ".sca.") ? 4.0f : strstr(p->name, ".se.fc") ? 6.0f : 1.0f;
        for (size_t k = 0; k < p->count; k++)
            m->params[p->offset + k] = scale ? (float)(test_rng_uniform(&tr) - 0.5) : m->params[p->offset + k] * gain;
    }
    ub_image *in = contrast_image(ctx, 157, 101, 3, 23);
    if (m && !skipped) tiled_vs_whole(ctx, m, in, 32, what);
    ub_image_destroy(&in);
    ub_model_destroy(&m);
    ub_ctx_destroy(&ctx);
}

/* The tiled output on 1 and 2 threads: the same bits. */
static void test_threads(void) {
    ub_ctx *c1 = test_ctx(1), *c2 = test_ctx(2);
    ub_model *m1 = make_model(c1, 2, 1, 11), *m2 = make_model(c2, 2, 1, 11);
    ub_image *in = test_image(c1, 131, 77, 3, 5), *a = NULL, *b = NULL;
    if (m1 && m2 && !skipped) {
        CHECK_OK(c1, ub_model_run_tiled(m1, in, 32, &a));
        CHECK_OK(c2, ub_model_run_tiled(m2, in, 32, &b));
        CHECK(a && b && max_abs_diff(a, b) == 0.0);
    }
    ub_image_destroy(&a);
    ub_image_destroy(&b);
    ub_image_destroy(&in);
    ub_model_destroy(&m1);
    ub_model_destroy(&m2);
    ub_ctx_destroy(&c1);
    ub_ctx_destroy(&c2);
}

typedef struct progress_log {
    int calls, cancel_at;
    double last;
    int monotone;
} progress_log;

static int on_progress(void *user, double fraction, const char *label) {
    progress_log *p = user;
    p->calls++;
    if (fraction < p->last || strcmp(label, "deblur") != 0) p->monotone = 0;
    p->last = fraction;
    return p->cancel_at > 0 && p->calls >= p->cancel_at;
}

static void test_progress_and_errors(void) {
    for (int cancel = 0; cancel < 2 && !skipped; cancel++) {
        progress_log log = {0, cancel ? 3 : 0, 0.0, 1};
        ub_settings s;
        ub_default_settings(&s);
        s.threads = 2;
        s.progress = on_progress;
        s.progress_user = &log;
        ub_ctx *ctx = NULL;
        if (ub_ctx_create(&ctx, &s) != UB_OK) {
            CHECK(0);
            return;
        }
        ub_model *m = make_model(ctx, 2, 1, 3);
        ub_image *in = test_image(ctx, 150, 100, 3, 9), *out = NULL;
        const ub_status st = ub_model_run_tiled(m, in, 32, &out); /* 5 x 4 tiles: 40 tile passes */
        if (cancel) {
            CHECK(st == UB_ERR_CANCELLED && out == NULL && log.calls == 3);
        } else {
            CHECK_OK(ctx, st);
            CHECK(log.calls == 40 && log.monotone && fabs(log.last - 1.0) < 1e-12);
        }
        /* bad tile sizes */
        ub_image *bad = NULL;
        CHECK(ub_model_run_tiled(m, in, -2, &bad) == UB_ERR_INVALID && bad == NULL);
        CHECK(ub_model_run_tiled(m, in, (1 << 16) + 1, &bad) == UB_ERR_INVALID && bad == NULL);
        CHECK(ub_model_run_tiled(m, NULL, 32, &bad) == UB_ERR_INVALID);
        ub_image_destroy(&out);
        ub_image_destroy(&in);
        ub_model_destroy(&m);
        ub_ctx_destroy(&ctx);
    }
}

/* The flip self-ensemble (nn/model_ensemble.c): each view is the plain run of a mirrored input mirrored
   back, so 2 views = (run(x) + mirror(run(mirror(x)))) / 2 computed here from plain runs; and 4 views are
   equivariant: ensemble(mirror(x)) = mirror(ensemble(x)) up to the order of the float sums. Invalid counts
   are refused and leave the setting as it was. */
static void mirror_x(ub_image *img) {
    for (int c = 0; c < img->channels; c++)
        for (int64_t y = 0; y < img->height; y++) {
            float *row = ub_image_plane(img, c) + y * img->width;
            for (int64_t a = 0, b = img->width - 1; a < b; a++, b--) {
                float t = row[a];
                row[a] = row[b], row[b] = t;
            }
        }
}

static void test_ensemble(void) {
    ub_ctx *ctx = test_ctx(2);
    ub_model *m = make_model(ctx, 2, 1, 41);
    ub_image *in = contrast_image(ctx, 77, 53, 3, 43), *flipped = NULL, *plain = NULL, *plain_flipped = NULL;
    ub_image *ens2 = NULL, *ens4 = NULL, *ens4_flipped = NULL;
    CHECK_OK(ctx, ub_image_clone(ctx, in, &flipped));
    if (flipped) mirror_x(flipped);
    CHECK(ub_model_ensemble(m) == 1);
    CHECK_OK(ctx, ub_model_run_tiled(m, in, 32, &plain));
    CHECK_OK(ctx, ub_model_run_tiled(m, flipped, 32, &plain_flipped));
    CHECK(ub_model_set_ensemble(m, 3) == UB_ERR_INVALID && ub_model_ensemble(m) == 1);
    CHECK_OK(ctx, ub_model_set_ensemble(m, 2));
    CHECK_OK(ctx, ub_model_run_tiled(m, in, 32, &ens2));
    CHECK_OK(ctx, ub_model_set_ensemble(m, 4));
    CHECK_OK(ctx, ub_model_run_tiled(m, in, 32, &ens4));
    CHECK_OK(ctx, ub_model_run_tiled(m, flipped, 32, &ens4_flipped));
    if (plain && plain_flipped && ens2 && ens4 && ens4_flipped) {
        mirror_x(plain_flipped);
        mirror_x(ens4_flipped);
        double worst2 = 0, worst4 = 0, moved = 0;
        const size_t n = (size_t)3 * (size_t)in->width * (size_t)in->height;
        for (size_t i = 0; i < n; i++) {
            const double want = 0.5 * ((double)plain->data[i] + plain_flipped->data[i]);
            worst2 = fmax(worst2, fabs(ens2->data[i] - want));
            worst4 = fmax(worst4, fabs((double)ens4->data[i] - ens4_flipped->data[i]));
            moved = fmax(moved, fabs((double)ens4->data[i] - plain->data[i]));
        }
        CHECK_MSG(worst2 < 1e-6, "ensemble 2 vs the mean of two plain runs: %g", worst2);
        CHECK_MSG(worst4 < 1e-6, "ensemble 4 is not flip-equivariant: %g", worst4);
        CHECK_MSG(moved > 1e-4, "ensemble 4 equals the plain run (%g): the views were not used", moved);
        printf("ensemble: 2 views vs mean of plain runs %.2g, 4 views equivariance %.2g, vs plain %.3g\n", worst2,
               worst4, moved);
    }
    ub_image *imgs[] = {in, flipped, plain, plain_flipped, ens2, ens4, ens4_flipped};
    for (size_t i = 0; i < sizeof imgs / sizeof *imgs; i++) ub_image_destroy(&imgs[i]);
    ub_model_destroy(&m);
    ub_ctx_destroy(&ctx);
}

int main(void) {
    test_depth2();
    if (!skipped) test_depth3();
    if (!skipped) test_naf(UB_RBNET_SKIP_BOTH, "NAF W8 N1 M1 D2 157x101 RGB");
    if (!skipped) test_naf(UB_RBNET_SKIP_NONE, "NAF W8 N1 M1 D2, no skip attention");
    if (!skipped) test_threads();
    if (!skipped) test_progress_and_errors();
    if (!skipped) test_ensemble();
    if (skipped) {
        printf("test_tiling: skipped (oneDNN has no CPU engine here)\n");
        return 77;
    }
    return test_finish("tiling");
}
