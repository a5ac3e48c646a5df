/* cli/cmd_kernels.c — `unblur kernels`: the camera PSFs a preset or config draws,
   as 16-bit PNGs (kernel_0000.png, ...) plus one contact sheet. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

/* Lays the kernels out on a grid, each scaled so its peak is white, on black,
   with a 2-pixel grey gutter so their extents can be compared. */
static ub_status contact_sheet(ub_ctx *ctx, ub_kernel **ks, int n, ub_image **out) {
    int cell = 1;
    for (int i = 0; i < n; i++) {
        if (ks[i]->width > cell) cell = ks[i]->width;
        if (ks[i]->height > cell) cell = ks[i]->height;
    }
    cell += 2;
    int cols = 1;
    while (cols * cols < n) cols++;
    int rows = (n + cols - 1) / cols;
    ub_status st = ub_image_create(ctx, out, (int64_t)cols * cell + 2, (int64_t)rows * cell + 2, 1);
    if (st) return st;
    ub_image *img = *out;
    for (int64_t i = 0; i < img->width * img->height; i++) img->data[i] = 0.25f;
    for (int i = 0; i < n; i++) {
        const ub_kernel *k = ks[i];
        float peak = 0;
        for (int j = 0; j < k->width * k->height; j++) peak = k->data[j] > peak ? k->data[j] : peak;
        int64_t x0 = 2 + (int64_t)(i % cols) * cell, y0 = 2 + (int64_t)(i / cols) * cell;
        int ox = (cell - 2 - k->width) / 2, oy = (cell - 2 - k->height) / 2;
        for (int y = 0; y < cell - 2; y++)
            for (int x = 0; x < cell - 2; x++) img->data[(y0 + y) * img->width + x0 + x] = 0;
        for (int y = 0; y < k->height; y++)
            for (int x = 0; x < k->width; x++)
                img->data[(y0 + oy + y) * img->width + x0 + ox + x] = peak > 0 ? k->data[y * k->width + x] / peak : 0;
    }
    return UB_OK;
}

int cmd_kernels(const cli_command *cmd, int argc, char **argv) {
    const char *out = NULL, *preset = NULL, *config = NULL;
    int count = 16;
    int64_t seed = 0;
    const cli_option opts[] = {
        {"output", 'o', OPT_STRING, &out, 0, 0, "DIR", "folder for kernel_NNNN.png and contact_sheet.png"},
        {"count", 'n', OPT_INT, &count, 1, 10000, "N", "number of kernels (default 16)"},
        {"preset", 0, OPT_STRING, &preset, 0, 0, "P", "gaussian, linear, shake (default), realistic or camera"},
        {"config", 0, OPT_STRING, &config, 0, 0, "C.json", "a JSON config instead of a preset"},
        {"seed", 0, OPT_INT64, &seed, 0, INT64_MAX, "S", "run seed (default 0): kernel i is sample i's"},
    };
    cli_globals g = {0};
    cli_args args;
    int begun = cli_begin(cmd, argc, argv, opts, (int)(sizeof opts / sizeof *opts), &g, &args);
    if (begun >= 0) return begun;
    if (!out || args.count) return cli_fail(EXIT_USAGE, "kernels: expects -o DIR and no other argument");
    if (preset && config) return cli_fail(EXIT_USAGE, "kernels: --preset and --config exclude each other");
    if (mkdir(out, 0777) != 0 && access(out, W_OK) != 0) return cli_fail(EXIT_RUNTIME, "%s: cannot create the folder", out);
    cli_progress progress;
    ub_ctx *ctx = cli_make_context(&g, &progress);
    if (!ctx) return EXIT_RUNTIME;
    ub_synth *s = NULL;
    ub_kernel **ks = calloc((size_t)count, sizeof *ks);
    int rc = 0, made = 0;
    if (!ks) rc = cli_fail(EXIT_RUNTIME, "out of memory");
    else if ((config ? ub_synth_create_file(ctx, config, &s) : ub_synth_create_preset(ctx, preset ? preset : "shake", &s)) != UB_OK)
        rc = cli_fail_ctx(ctx);
    for (int i = 0; rc == 0 && i < count; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/kernel_%04d.png", out, i);
        if (ub_synth_kernel(s, (uint64_t)seed, (uint64_t)i, &ks[i]) != UB_OK) {
            /* a sample without camera blur (p < 1) has no kernel: skip it */
            continue;
        }
        if (ub_kernel_write(ctx, ks[i], path) != UB_OK) rc = cli_fail_ctx(ctx);
        made++;
        cli_progress_callback(&progress, (double)(i + 1) / count, "kernels");
    }
    cli_progress_done(&progress);
    if (rc == 0 && made == 0) rc = cli_fail(EXIT_RUNTIME, "kernels: the config applies no camera blur to any sample");
    if (rc == 0) {
        ub_kernel **list = calloc((size_t)made, sizeof *list);
        int m = 0;
        for (int i = 0; list && i < count; i++)
            if (ks[i]) list[m++] = ks[i];
        ub_image *sheet = NULL;
        char path[4200];
        snprintf(path, sizeof path, "%s/contact_sheet.png", out);
        if (!list) rc = cli_fail(EXIT_RUNTIME, "out of memory");
        else if (contact_sheet(ctx, list, m, &sheet) != UB_OK || ub_image_write(ctx, sheet, path, NULL) != UB_OK)
            rc = cli_fail_ctx(ctx);
        else if (!g.quiet) fprintf(stderr, "kernels: %d kernels and contact_sheet.png in %s\n", m, out);
        ub_image_destroy(&sheet);
        free(list);
    }
    for (int i = 0; ks && i < count; i++) ub_kernel_destroy(&ks[i]);
    free(ks);
    ub_synth_destroy(&s);
    ub_ctx_destroy(&ctx);
    return rc;
}
