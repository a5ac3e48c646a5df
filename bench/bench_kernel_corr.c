/* bench/bench_kernel_corr.c — how close an estimated kernel is to the true one:
   ub_bench_kernel_corr EST.png TRUE.png [--rot180]
   prints the normalised correlation max over integer shifts of the two kernels, each scaled to unit
   L2 norm (1 = the same shape up to a shift). --rot180 turns TRUE by 180 degrees first (Levin's
   kernels 1,2,3,5,6,7 are stored in correlation orientation: see ../shared/data/levin2009/SOURCE.txt). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "unblur.h"

static void unit(ub_kernel *k) {
    double s = 0;
    const size_t n = (size_t)k->width * k->height;
    for (size_t i = 0; i < n; i++) s += (double)k->data[i] * k->data[i];
    s = s > 0 ? 1.0 / sqrt(s) : 0;
    for (size_t i = 0; i < n; i++) k->data[i] = (float)(k->data[i] * s);
}

int main(int argc, char **argv) {
    if (argc < 3) bench_die("ub_bench_kernel_corr", "usage: ub_bench_kernel_corr EST.png TRUE.png [--rot180]");
    const int rot = argc > 3 && !strcmp(argv[3], "--rot180");
    ub_settings s;
    ub_default_settings(&s);
    ub_ctx *ctx = NULL;
    if (ub_ctx_create(&ctx, &s) != UB_OK) bench_die("ub_bench_kernel_corr", "no context");
    ub_kernel *a = NULL, *b = NULL;
    if (ub_kernel_read(ctx, argv[1], &a) != UB_OK || ub_kernel_read(ctx, argv[2], &b) != UB_OK)
        bench_die("ub_bench_kernel_corr", "%s", ub_last_error(ctx));
    if (rot) {
        const size_t n = (size_t)b->width * b->height;
        for (size_t i = 0; i < n / 2; i++) {
            const float t = b->data[i];
            b->data[i] = b->data[n - 1 - i];
            b->data[n - 1 - i] = t;
        }
    }
    unit(a);
    unit(b);
    double best = 0;
    /* b's centre moved to a's centre + (dx, dy) */
    const int rx = (a->width + b->width) / 2, ry = (a->height + b->height) / 2;
    for (int dy = -ry; dy <= ry; dy++)
        for (int dx = -rx; dx <= rx; dx++) {
            double c = 0;
            for (int y = 0; y < b->height; y++) {
                const int ay = y - b->height / 2 + a->height / 2 + dy;
                if (ay < 0 || ay >= a->height) continue;
                for (int x = 0; x < b->width; x++) {
                    const int ax = x - b->width / 2 + a->width / 2 + dx;
                    if (ax < 0 || ax >= a->width) continue;
                    c += (double)a->data[(size_t)ay * a->width + ax] * b->data[(size_t)y * b->width + x];
                }
            }
            if (c > best) best = c;
        }
    printf("%.4f\n", best);
    ub_kernel_destroy(&a);
    ub_kernel_destroy(&b);
    ub_ctx_destroy(&ctx);
    return 0;
}
