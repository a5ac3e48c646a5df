/* bench/bench_synth.c — synthesis speed: whole images under each preset, and
   one 256x256 training pair of the `realistic` preset (what the trainer asks
   for per sample). Prints one JSON object per measurement.

   usage: ub_bench_synth [--size WxH] [--threads N] [--pairs N] [--image PATH]
   The image defaults to a textured synthetic one; times do not depend much
   on content (they do on the drawn parameters, hence many pairs). */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "unblur.h"

static ub_image *textured(ub_ctx *ctx, int64_t w, int64_t h) {
    ub_image *img = NULL;
    if (ub_image_create(ctx, &img, w, h, 3) != UB_OK) return NULL;
    ub_rng r;
    ub_rng_seed(&r, 1);
    for (int c = 0; c < 3; c++)
        for (int64_t i = 0; i < w * h; i++) {
            int64_t x = i % w, y = i / w;
            ub_image_plane(img, c)[i] = (float)(0.5 + 0.25 * ((x / 16 + y / 16 + c) % 2) + 0.2 * (ub_rng_uniform(&r) - 0.5));
        }
    return img;
}

static void report(const char *name, const char *what, int64_t w, int64_t h, int threads, double *t, int n) {
    qsort(t, (size_t)n, sizeof *t, bench_cmp_double);
    double mean = 0;
    for (int i = 0; i < n; i++) mean += t[i] / n;
    printf("{\"name\": \"%s\", \"what\": \"%s\", \"size\": \"%lldx%lld\", \"threads\": %d, \"runs\": %d, "
           "\"median_ms\": %.3f, \"mean_ms\": %.3f, \"min_ms\": %.3f, \"p90_ms\": %.3f, \"us_per_pixel\": %.5f}\n",
           name, what, (long long)w, (long long)h, threads, n, 1e3 * t[n / 2], 1e3 * mean, 1e3 * t[0],
           1e3 * t[(int)(0.9 * (n - 1))], 1e6 * t[n / 2] / (double)(w * h));
    fflush(stdout);
}

int main(int argc, char **argv) {
    /* as the unblur program does (src/cli/main.c): keep image-sized buffers in the heap */
    mallopt(M_MMAP_THRESHOLD, 256 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    long w = 1280, h = 720;
    int threads = 1, pairs = 200;
    const char *image = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--size") && i + 1 < argc) sscanf(argv[++i], "%ldx%ld", &w, &h);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--pairs") && i + 1 < argc) pairs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--image") && i + 1 < argc) image = argv[++i];
        else {
            fprintf(stderr, "usage: ub_bench_synth [--size WxH] [--threads N] [--pairs N] [--image PATH]\n");
            return 2;
        }
    }
    ub_settings s;
    ub_default_settings(&s);
    s.threads = threads;
    ub_ctx *ctx;
    if (ub_ctx_create(&ctx, &s) != UB_OK) return 1;
    ub_image *img = NULL;
    if (image && ub_image_read(ctx, image, &img) != UB_OK) {
        fprintf(stderr, "%s\n", ub_last_error(ctx));
        return 1;
    }
    if (!img) img = textured(ctx, w, h);
    w = (long)img->width, h = (long)img->height;
    if (pairs > 0 && (w < 256 || h < 256)) {
        fprintf(stderr, "ub_bench_synth: the training pairs are 256x256 crops: the image (%ldx%ld) is smaller; "
                        "give --pairs 0\n", w, h);
        return 1;
    }

    /* whole images, each preset, 5 samples each */
    const char *presets[] = {"gaussian", "linear", "shake", "realistic"};
    for (int p = 0; p < 4; p++) {
        ub_synth *syn = NULL;
        if (ub_synth_create_preset(ctx, presets[p], &syn) != UB_OK) return 1;
        double t[5];
        for (int i = 0; i < 5; i++) {
            ub_synth_inputs in = {img, NULL, NULL};
            ub_synth_sample out = {0};
            double t0 = bench_seconds();
            if (ub_synth_run(syn, &in, 1, (uint64_t)i, &out) != UB_OK) {
                fprintf(stderr, "%s\n", ub_last_error(ctx));
                return 1;
            }
            t[i] = bench_seconds() - t0;
            ub_synth_sample_free(&out);
        }
        report(presets[p], "whole image", w, h, threads, t, 5);
        ub_synth_destroy(&syn);
    }

    /* training pairs: 256x256 crops of the realistic preset, many samples */
    ub_synth *syn = NULL;
    if (ub_synth_create_preset(ctx, "realistic", &syn) != UB_OK) return 1;
    double *t = malloc(sizeof(double) * (size_t)pairs);
    ub_rng r;
    ub_rng_seed(&r, 7);
    for (int i = 0; i < pairs; i++) {
        int64_t x0 = (int64_t)ub_rng_below(&r, (uint64_t)(w - 256 + 1));
        int64_t y0 = (int64_t)ub_rng_below(&r, (uint64_t)(h - 256 + 1));
        ub_synth_inputs in = {img, NULL, NULL};
        ub_synth_sample out = {0};
        double t0 = bench_seconds();
        if (ub_synth_crop(syn, &in, x0, y0, 256, 1, (uint64_t)i, &out) != UB_OK) {
            fprintf(stderr, "%s\n", ub_last_error(ctx));
            return 1;
        }
        t[i] = bench_seconds() - t0;
        ub_synth_sample_free(&out);
    }
    if (pairs > 0) report("realistic", "256x256 training pair", 256, 256, threads, t, pairs);
    free(t);
    ub_synth_destroy(&syn);
    ub_image_destroy(&img);
    ub_ctx_destroy(&ctx);
    return 0;
}
