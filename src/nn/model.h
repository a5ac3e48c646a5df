/* nn/model.h — the model object behind unblur/nn.h: a net (architecture,
   configuration, parameter table: nn/arch.h, shared with the trainer) and its
   weights as one flat float array in PyTorch's order. */
#ifndef UB_NN_MODEL_H
#define UB_NN_MODEL_H

#include "nn/arch.h"
#include "unblur/nn.h"

struct ub_model {
    ub_ctx *ctx;
    ub__net net;
    float *params; /* net.table.total floats */
    /* inference settings */
    ub_precision precision; /* asked (ub_model_set_precision) */
    ub_precision used;      /* UB_PRECISION_FP32 or _BF16: of the last run, or expected for the next */
    unsigned cpu_features;  /* ub_cpu_features() at creation; tests clear the bf16 bits to see the fallback */
    int views;              /* flip self-ensemble: 1 (off), 2 or 4 mirror images averaged (nn/model_ensemble.c) */
};

/* ub_model_run_tiled for one view, the image as it is. */
ub_status ub__model_run_view(ub_model *m, const ub_image *in, int tile, ub_image **out);

/* A model of the given architecture and configuration, its weights zero (the caller fills them:
   ub__net_init, or a file). */
ub_status ub__model_make(ub_ctx *ctx, const ub__arch *arch, const ub__arch_config *c, ub_model **out);

/* PyTorch's default initialisation of an RBNet table's parameters (ub__net_init on an RBNet). */
void ub__rbnet_init(const ub__param_table *t, ub_rng *rng, float *params);

#endif
