/* nn/graph.h — RBNet as data: its parameters (names and shapes exactly as
   PyTorch's state_dict, in the same order) and its computation as a list of
   operations over numbered values, built once for an input size.

   Two executors run the same graph: the reference (nn/rbnet_ref.c: double
   precision, plain loops, forward and backward — the specification) and the
   fast one (oneDNN, float). Building the network once as a graph keeps the
   two from drifting apart: there is one description of RBNet in C.

   Value 0 is the input image (N, 3, H, W); the last value is the output
   (N, 3, H, W). Parameters live in one flat array (llm.c style): a
   parameter is an offset and a count into it. */
#ifndef UB_NN_GRAPH_H
#define UB_NN_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "core/internal.h"

typedef struct ub__rbnet_config {
    int width;        /* W: channels at level 0 */
    int blocks;       /* N: residual blocks per encoder/decoder stage */
    int mid_blocks;   /* M: residual blocks in the bottleneck */
    int depth;        /* D: number of down-samplings */
    int se_reduction; /* SE: fc1 has max(1, C / se_reduction) outputs */
    int sa_kernel;    /* spatial attention kernel (odd) */
} ub__rbnet_config;

void ub__rbnet_config_default(ub__rbnet_config *c);
/* Checks the ranges: width 1..1024, blocks 0..64, depth 1..8, se_reduction >= 1, sa_kernel odd 1..15. */
ub_status ub__rbnet_config_check(ub_ctx *ctx, const ub__rbnet_config *c);

typedef struct ub__param {
    char name[64];      /* e.g. "enc1.0.conv1.weight" */
    int rank;
    int64_t shape[4];
    size_t offset, count;
} ub__param;

typedef struct ub__param_table {
    ub__param *params;
    int count;
    size_t total; /* floats in all */
} ub__param_table;

ub_status ub__rbnet_params(ub_ctx *ctx, const ub__rbnet_config *c, ub__param_table *out);
void ub__param_table_free(ub__param_table *t);
/* Index of a parameter by name, or -1. */
int ub__param_find(const ub__param_table *t, const char *name);

typedef enum ub__op_kind {
    UB_OP_PAD,   /* reflect-pad bottom/right: a -> out (sizes from the values) */
    UB_OP_CONV,  /* conv2d: a -> out, weight w, bias b (or none), kernel k, stride */
    UB_OP_CONVT, /* conv-transpose 2x2 stride 2: a -> out, weight w, bias b */
    UB_OP_RELU,  /* a -> out */
    UB_OP_ADD,   /* a + b -> out */
    UB_OP_SE,    /* channel attention on a: weights w (fc1), b (fc1 bias), w2, b2; r hidden units */
    UB_OP_SA,    /* spatial attention on a: weight w (1, 2, k, k), no bias */
    UB_OP_CROP   /* top-left crop of a to out's size */
} ub__op_kind;

enum { UB_NO_PARAM = -1 };

typedef struct ub__op {
    ub__op_kind kind;
    int a, b;          /* input value ids (b: ADD only) */
    int out;           /* output value id */
    int w, bias, w2, b2; /* parameter indices into the table, or UB_NO_PARAM */
    int k, stride, r;
} ub__op;

typedef struct ub__value {
    int c, h, w; /* per image; the batch N is the graph's */
} ub__value;

typedef struct ub__graph {
    int n;           /* batch */
    ub__op *ops;
    int nops;
    ub__value *values;
    int nvalues;
} ub__graph;

/* The RBNet graph for inputs of n x 3 x h x w (any h, w >= 2; padded to multiples of 2^depth). */
ub_status ub__rbnet_graph(ub_ctx *ctx, const ub__rbnet_config *c, const ub__param_table *t, int n, int h, int w,
                          ub__graph *out);
void ub__graph_free(ub__graph *g);

#endif
