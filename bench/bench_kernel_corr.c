/* bench/bench_kernel_corr.c — how close an estimated kernel is to the true one:
   ub_bench_kernel_corr EST.png TRUE.png [--rot180]
   prints the normalised correlation max over integer shifts of the two kernels, each scaled to unit
   L2 norm (1 = the same shape up to a shift). --rot180 turns TRUE by 180 degrees first (Levin's
   kernels 1,2,3,5,6,7 are stored in correlation orientation: see ../shared/data/levin2009/SOURCE.txt). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "unblur.h"

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
    const double best = ub_kernel_correlation(a, b);
    printf("%.4f\n", best);
    ub_kernel_destroy(&a);
    ub_kernel_destroy(&b);
    ub_ctx_destroy(&ctx);
    return 0;
}
