/* nn/model.h — the model object behind unblur/nn.h: configuration, parameter
   table, and the weights as one flat float array in PyTorch's order. */
#ifndef UB_NN_MODEL_H
#define UB_NN_MODEL_H

#include "nn/graph.h"
#include "unblur/nn.h"

/* Training saves its weights through a ub_model view of its own arrays (src/train/train.c), made with
   designated initialisers: the inference settings below are then zero (FP32), and ub_model_save reads
   none of them. */
struct ub_model {
    ub_ctx *ctx;
    ub__rbnet_config config;
    ub__param_table table;
    float *params; /* table.total floats */
    /* inference settings */
    ub_precision precision; /* asked (ub_model_set_precision) */
    ub_precision used;      /* UB_PRECISION_FP32 or _BF16: of the last run, or expected for the next */
    unsigned cpu_features;  /* ub_cpu_features() at creation; tests clear the bf16 bits to see the fallback */
};

/* PyTorch's default initialisation of `params` (uniform in +-1/sqrt(fan_in) for weights and
   biases; fan_in = size(1) * kernel area, the bias taking its weight's). */
void ub__rbnet_init(const ub__param_table *t, ub_rng *rng, float *params);

#endif
