/* nn/model.h — the model object behind unblur/nn.h: configuration, parameter
   table, and the weights as one flat float array in PyTorch's order. */
#ifndef UB_NN_MODEL_H
#define UB_NN_MODEL_H

#include "nn/graph.h"
#include "unblur/nn.h"

struct ub_model {
    ub_ctx *ctx;
    ub__rbnet_config config;
    ub__param_table table;
    float *params; /* table.total floats */
};

/* PyTorch's default initialisation of `params` (uniform in +-1/sqrt(fan_in) for weights and
   biases; fan_in = size(1) * kernel area, the bias taking its weight's). */
void ub__rbnet_init(const ub__param_table *t, ub_rng *rng, float *params);

#endif
