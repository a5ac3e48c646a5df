/* nn/arch.h — architectures as descriptors, and the net object that the model
   (nn/model.c) and the trainer (train/train.c) share.

   An architecture is a small table of functions: its name (the safetensors
   metadata key "arch"), its configuration (default, check, to and from the
   metadata, a one-line description), its parameter table, its graph for an
   input size, and the padding multiple of its inputs. Initialisation is
   generic (each parameter says how it starts: graph.h's ub__param_init). The
   registry (nn/arch.c) lists them; nothing else in nn/ names one.

   A NEW ARCHITECTURE is one file (src/nn/arch_NAME.c: its config struct and
   descriptor, written with graph.h's builders) plus one line in arch.c's
   registry, and its tests. New op kinds (when it needs any) touch graph.h
   (the kind), graph.c (its receptive-field rule: compulsory), ref.c / ref.h
   and graph_ref.c (the double reference, forward and backward), and
   dnnl_exec.c (the fast executor; it refuses kinds it does not know). */
#ifndef UB_NN_ARCH_H
#define UB_NN_ARCH_H

#include <stddef.h>

#include "nn/graph.h"
#include "nn/rbnet.h"
#include "nn/safetensors.h"
#include "unblur/rng.h"

/* An architecture's configuration, whatever it is: a descriptor reads and writes its own struct here. */
#define UB__ARCH_CONFIG_BYTES 256
typedef union ub__arch_config {
    ub__rbnet_config rbnet;
    unsigned char bytes[UB__ARCH_CONFIG_BYTES];
    long double align_;
} ub__arch_config;

typedef struct ub__arch {
    const char *name; /* metadata "arch" */
    void (*config_default)(ub__arch_config *c);
    ub_status (*config_check)(ub_ctx *ctx, const ub__arch_config *c);
    /* The configuration from a file's metadata (absent keys: the documented defaults); checked. */
    ub_status (*config_from_meta)(ub_ctx *ctx, const ub__safetensors *st, ub__arch_config *c);
    /* Adds the configuration's metadata (not "arch": the caller writes it) to w. */
    ub_status (*config_to_meta)(ub_ctx *ctx, const ub__arch_config *c, ub__st_writer *w);
    /* "width 32, blocks 2, ..." */
    void (*config_describe)(const ub__arch_config *c, char *buf, size_t size);
    ub_status (*params)(ub_ctx *ctx, const ub__arch_config *c, ub__param_table *out);
    /* The graph for n x 3 x h x w inputs. */
    ub_status (*graph)(ub_ctx *ctx, const ub__arch_config *c, const ub__param_table *t, int n, int h, int w,
                       ub__graph *out);
    /* Inputs are padded to multiples of this (tiles are aligned to it). */
    int (*pad_multiple)(const ub__arch_config *c);
    /* Optional (NULL: a trainer starts only from weights of its own configuration). Growing a trained
       net (--init-from): 1 when a net of configuration `want` may start from the weights of `had`,
       whose parameters are then a subset of want's, by name and shape; and, in place, how a parameter
       that `had` lacks starts (after ub__net_init's draw) so that the grown net computes what the
       smaller one did. */
    int (*grows_from)(const ub__arch_config *had, const ub__arch_config *want);
    void (*start_grown)(const ub__arch_config *want, const ub__param *p, float *x);
} ub__arch;

/* The architecture named so, or NULL. */
const ub__arch *ub__arch_find(const char *name);
extern const ub__arch ub__arch_rbnet;

/* A network: its architecture, configuration and parameter table (not its weights). */
typedef struct ub__net {
    const ub__arch *arch;
    ub__arch_config config;
    ub__param_table table;
} ub__net;

/* Checks the configuration and builds the table. */
ub_status ub__net_make(ub_ctx *ctx, const ub__arch *arch, const ub__arch_config *config, ub__net *out);
/* The architecture and configuration of a file's metadata ("arch" absent: rbnet), and its table. */
ub_status ub__net_from_meta(ub_ctx *ctx, const ub__safetensors *st, ub__net *out);
void ub__net_free(ub__net *net);
ub_status ub__net_graph(ub_ctx *ctx, const ub__net *net, int n, int h, int w, ub__graph *out);
/* PyTorch's initialisation of params (table.total floats), parameter by parameter (graph.h's
   ub__param_init), drawing from rng in the table's order. */
void ub__net_init(const ub__net *net, ub_rng *rng, float *params);
/* Writes params (table.total floats) as a safetensors file (dtype "F32", "F16" or "BF16") with the
   architecture's metadata, atomically. */
ub_status ub__net_save(ub_ctx *ctx, const ub__net *net, const float *params, const char *path, const char *dtype);
/* Reads every parameter of the table from st by name and shape; other tensors than the table's (and a
   fixture's "input" / "output") are an error. missing NULL: a parameter st lacks is an error too; else
   (table.count bytes) it is left as it is and flagged 1 (a smaller net's file: grows_from). */
ub_status ub__net_read(ub_ctx *ctx, const ub__net *net, const ub__safetensors *st, float *params,
                       unsigned char *missing);

#endif
