/* train/precision.c — the training network's arithmetic (cfg.precision, see train/train.h): fp32, or bf16
   mixed precision (nn/dnnl_exec.h, "bf16 training") where the CPU computes bf16 natively. The bf16 net's
   convolution passes are checked for native bf16 code at creation; its one "ref:" primitive, as in the
   float net, is the head's input-gradient pass, which a training step never runs (ran_reference stays 0:
   tests/test_bf16_train.c, bench_rbnet). */
#include <string.h>

#include "core/internal.h"
#include "train/train.h"

int ub__train_precision_parse(const char *name) {
    if (!strcmp(name, "fp32")) return UB__TRAIN_FP32;
    if (!strcmp(name, "bf16")) return UB__TRAIN_BF16;
    if (!strcmp(name, "auto")) return UB__TRAIN_AUTO;
    return -1;
}

ub_status ub__train_make_net(ub_ctx *ctx, const ub__graph *g, const ub__param_table *t, int precision,
                             unsigned cpu_features, ub__fast_net **net, char *why, size_t why_size) {
    if (why_size) why[0] = '\0';
    if (precision != UB__TRAIN_FP32) {
        ub_status st = ub__fast_net_create_bf16_training(ctx, g, t, UB_FAST_LAYOUT_AUTO, cpu_features, net);
        if (st != UB_ERR_UNSUPPORTED) return st;
        /* no native bf16 here: the float net, and the reason for the caller's notice */
        if (why_size) snprintf(why, why_size, "%s", ub_last_error(ctx));
    }
    return ub__fast_net_create(ctx, g, t, 1, net);
}
