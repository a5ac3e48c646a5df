/* nn/graph.h — a network as data: its parameters (names and shapes exactly as
   PyTorch's state_dict, in the same order) and its computation as a list of
   operations over numbered values, built once for an input size; and the
   generic helpers that an architecture (nn/arch.h) builds them with.

   Two executors run the same graph: the reference (nn/graph_ref.c: double
   precision, plain loops, forward and backward — the specification) and the
   fast one (oneDNN, float). Building a network once as a graph keeps the
   two from drifting apart: there is one description of each network in C.

   Value 0 is the input image (N, 3, H, W); the last value is the output
   (N, 3, H, W). Parameters live in one flat array (llm.c style): a
   parameter is an offset and a count into it. */
#ifndef UB_NN_GRAPH_H
#define UB_NN_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "core/internal.h"

/* How a parameter starts (ub__net_init, nn/arch.c), as PyTorch initialises it. */
typedef enum ub__param_init {
    UB_INIT_FAN_IN = 0, /* uniform in +-1/sqrt(fan_in): a weight (rank >= 2; fan_in = size(1) * kernel area);
                           a rank-1 tensor (a bias) takes the bound of the weight before it */
    UB_INIT_ONES,       /* LayerNorm weights */
    UB_INIT_ZEROS       /* LayerNorm biases, NAF's beta and gamma */
} ub__param_init;

typedef struct ub__param {
    char name[64];      /* e.g. "enc1.0.conv1.weight" */
    int rank;
    int64_t shape[4];
    size_t offset, count;
    ub__param_init init;
} ub__param;

typedef struct ub__param_table {
    ub__param *params;
    int count;
    size_t total; /* floats in all */
} ub__param_table;

void ub__param_table_free(ub__param_table *t);
/* Index of a parameter by name, or -1. */
int ub__param_find(const ub__param_table *t, const char *name);

typedef enum ub__op_kind {
    UB_OP_PAD,   /* reflect-pad bottom/right: a -> out (sizes from the values) */
    UB_OP_CONV,  /* conv2d: a -> out, weight w, bias b (or none), kernel k, stride, groups */
    UB_OP_CONVT, /* conv-transpose 2x2 stride 2: a -> out, weight w, bias b */
    UB_OP_RELU,  /* a -> out */
    UB_OP_ADD,   /* a + b -> out */
    UB_OP_SE,    /* channel attention on a: weights w (fc1), b (fc1 bias), w2, b2; r hidden units */
    UB_OP_SA,    /* spatial attention on a: weight w (1, 2, k, k), no bias */
    UB_OP_CROP,  /* top-left crop of a to out's size */
    /* NAF blocks (Chen et al. 2022; ../shared/peers/rbnet.py, block naf) */
    UB_OP_LAYERNORM, /* LayerNorm2d: over the channels of each pixel, eps 1e-6; weight w, bias b (c) */
    UB_OP_GATE,      /* SimpleGate: out (c channels) = a[:c] * a[c:] (a has 2c) */
    UB_OP_SCA,       /* simplified channel attention: out = a * (w (c, c, 1, 1) mean_hw(a) + bias), no sigmoid */
    UB_OP_SCALE      /* per-channel scale: out = w (1, c, 1, 1) * a (NAF's beta and gamma) */
} ub__op_kind;

enum { UB_NO_PARAM = -1 };

typedef struct ub__op {
    ub__op_kind kind;
    int a, b;          /* input value ids (b: ADD only) */
    int out;           /* output value id */
    int w, bias, w2, b2; /* parameter indices into the table, or UB_NO_PARAM */
    int k, stride, r;
    int groups;        /* CONV: 1, or its channels (depthwise: cin = cout = groups) */
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

void ub__graph_free(ub__graph *g);

/* How far (in input pixels) an output pixel's value reaches, global means (SE, SCA) aside: the
   receptive-field rule of every op kind (nn/graph.c). An op kind without a rule is an error
   (UB_ERR_INVALID), never a guess: tiled inference takes its margins from this. *global (may be NULL)
   is set to the number of ops that take a mean over the whole plane (SE, SCA). */
ub_status ub__graph_receptive_radius(ub_ctx *ctx, const ub__graph *g, int *radius, int *global);

/* ---- builders, for architectures (nn/arch.h) ----
   Both record the first failure and keep going (calls after it do nothing), so that an architecture's
   code reads as a plain description; *_finish reports it. */
typedef struct ub__param_builder {
    ub__param_table *t;
    int cap;
    int failed;
} ub__param_builder;

void ub__pb_begin(ub__param_builder *pb, ub__param_table *t);
void ub__pb_add(ub__param_builder *pb, ub__param_init init, int rank, const int64_t *shape, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* PREFIX.weight (cout, cin / groups, k, k) and, when bias, PREFIX.bias (cout). */
void ub__pb_conv(ub__param_builder *pb, const char *prefix, int cout, int cin, int k, int groups, int bias);
/* UB_OK, or (with the table freed) the failure, its message naming `who`. */
ub_status ub__pb_finish(ub_ctx *ctx, ub__param_builder *pb, const char *who);

typedef struct ub__graph_builder {
    ub__graph *g;
    const ub__param_table *t;
    int op_cap, value_cap;
    int failed; /* 1: out of memory; 2: a parameter is missing from the table */
    ub__op sink;
} ub__graph_builder;

void ub__gb_begin(ub__graph_builder *gb, ub__graph *g, const ub__param_table *t, int n);
int ub__gb_value(ub__graph_builder *gb, int c, int h, int w);
/* Appends an op a -> out (no parameters, stride 1, groups 1); after a failure, a scratch op whose fields
   may be set freely. */
ub__op *ub__gb_op(ub__graph_builder *gb, ub__op_kind kind, int a, int out);
/* The index of the parameter named by the format, or UB_NO_PARAM (and the builder fails). */
int ub__gb_param(ub__graph_builder *gb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Conv k x k, zero padding k/2, stride, groups, from x into a new value; w, b: parameter indices. */
int ub__gb_conv(ub__graph_builder *gb, int x, int cout, int k, int stride, int groups, int w, int b);
/* The same with the parameters PREFIX.weight and PREFIX.bias. */
int ub__gb_conv_named(ub__graph_builder *gb, int x, const char *prefix, int cout, int k, int stride, int groups);
/* An op whose output has a's shape (RELU; ADD of b; ...); returns the output. */
int ub__gb_same(ub__graph_builder *gb, ub__op_kind kind, int a, int b);
/* UB_OK, or (with the graph freed) the failure, its message naming `who`. */
ub_status ub__gb_finish(ub_ctx *ctx, ub__graph_builder *gb, const char *who);

#endif
