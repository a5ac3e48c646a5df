/* nn/graph_ref.h — the reference executor of a graph (nn/graph.h), whatever
   the architecture: double precision, forward and backward, built from the
   layers of nn/ref.h. It is slow and simple on purpose: the fast executor is
   tested against it, and finite differences test it. */
#ifndef UB_NN_GRAPH_REF_H
#define UB_NN_GRAPH_REF_H

#include "nn/graph.h"

/* Every value and every layer cache of one forward pass, kept for the backward pass. */
typedef struct ub__ref_state {
    double **values; /* per value id: N * c * h * w */
    double **caches; /* per op: SE/SA/LayerNorm/SCA caches, else NULL */
    int nvalues, nops;
} ub__ref_state;

/* Runs the graph on `input` (n, 3, h, w); the output is state->values[nvalues - 1]. */
ub_status ub__graph_forward_ref(ub_ctx *ctx, const ub__graph *g, const ub__param_table *t, const double *params,
                                const double *input, ub__ref_state *state);
/* Accumulates the gradients of the parameters (dparams, t->total) and, if dinput is not
   NULL, of the input, given the gradient of the output. */
ub_status ub__graph_backward_ref(ub_ctx *ctx, const ub__graph *g, const ub__param_table *t, const double *params,
                                 const ub__ref_state *state, const double *doutput, double *dparams, double *dinput);
void ub__ref_state_free(ub__ref_state *state);

#endif
