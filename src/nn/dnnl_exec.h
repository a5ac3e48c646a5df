/* nn/dnnl_exec.h — the fast executor of an RBNet graph (nn/graph.h): float32
   on oneDNN (C API 2.x), forward and backward. The reference executor
   (nn/graph_ref.h, double precision) is its twin; tests/test_nn_fast.c
   compares the two.

   A net is built once per graph (= per batch and input size): the primitive
   descriptors, the buffers and the plan of which value lives in which buffer
   are all made by ub__fast_net_create; forward and backward only execute.

   How it runs:
   - Convolutions (3x3 stride 1/2, the head and tail) are oneDNN primitives.
     Activations stay in one layout from the head to the tail, the one oneDNN
     picks for a typical convolution of the net if it runs all the passes
     there with optimised code (ub__fast_layout; on this project's AVX-512
     machine: NHWC for inference, nChw16c for training); only the 3-channel
     image is plain NCHW, with one reorder into the head's layout.
   - A ReLU after a convolution is fused into it (eltwise post-op); an add of
     a convolution's output to another value (a ResBlock's x + conv2(...),
     the decoder's up(f) + att(skip)) is fused as a sum post-op: the
     convolution accumulates into the buffer that holds the other operand.
   - The 2x2 stride-2 transposed convolution: on NHWC two oneDNN matmuls
     (one per output row parity) that write the output's rows in place, with
     bias and sum; on blocked layouts oneDNN's deconvolution without bias or
     post-ops (with them it is 4-25x slower and needs a scratchpad of twice
     its output), then one pass adding the bias and the other operand.
   - SE and spatial attention, the global residual, the reflect padding and
     the crop are C kernels on the same layouts (nn/blocked.h), in place in
     inference.
   - NAF blocks (block naf): the 3x3 depthwise convolution is oneDNN's grouped
     convolution, the 1x1 convolutions ordinary ones; LayerNorm2d, SimpleGate,
     SCA and the beta / gamma scales are C kernels on the same layouts
     (nn/naf_blk.c), not in place. No bf16 inference path yet: a bf16
     inference net of a graph with NAF ops is refused (UB_ERR_UNSUPPORTED),
     so the model runs float; bf16 training runs their convolutions in bf16.
   - Parameters are PyTorch's flat float array (graph.h's table); each forward
     reorders the weights into the primitives' layouts (4 MB at W = 32).
   - Inference nets (training = 0): every value's buffer lives from its
     producer to its last reader, ops run in place where their input dies,
     and the buffers are placed in one arena (greedy by size over their
     lifetimes), which comes to the largest set of maps alive at once: for
     RBNet two full-resolution maps of W channels. The caller's input and
     output arrays are used directly. Training nets keep every activation
     that the backward pass reads; its gradients get their own arena, planned
     the same way in reverse.
   - Threads: oneDNN here is built on OpenMP, so it runs on the OpenMP
     threads of the calling thread. Each call sets omp_set_num_threads to
     ub_ctx_threads(ctx) of the context given at creation and restores the
     previous value before returning (the setting is per calling thread in
     OpenMP). The C kernels give the same bits on any thread count, and so do
     oneDNN's forward and backward-data passes as measured; its
     backward-weights reductions depend on the thread split: weight gradients
     on 1 and 2 threads differ by about 1e-6 of their largest element.

   bf16 (ub__fast_net_create_bf16: inference only, on a CPU with native bf16):
   - Every convolution, the transposed ones too, runs on bf16 inputs and
     weights with float accumulation (oneDNN's avx512_core_bf16 / amx code:
     about 2x float's speed at W = 32; measured in bench/RBNET_RESULTS.md).
     The weights are reordered to bf16 by each forward pass, as in float.
   - A value is held in bf16 where a convolution writes it and only
     convolutions read it (a ResBlock's conv1 + ReLU output, the
     bottleneck's and the last decoder stage's outputs); everything that a C
     kernel (SE, SA, the adds, the crop, a blocked transposed convolution's
     bias pass) or a sum post-op touches stays float: the residual stream,
     the skips, the image side. A float value that a convolution reads gets
     a bf16 copy by a oneDNN reorder right before it; a convolution whose
     float operand is added to a bf16 output starts from a converted copy.
     Memory stays that of the float net (the copies replace float maps).
   - The layout is probed with bf16 convolutions. Every convolution and
     matmul must get a native implementation: one named for avx512_core_bf16
     or amx (its GEMM-based matmul, "gemm:jit", names no ISA: it counts when
     oneDNN's ISA has bf16); anything else (an emulated bf16, "ref") makes
     creation fail with UB_ERR_UNSUPPORTED, and so does a CPU without
     AVX512-BF16 / AMX or a oneDNN capped below them (ONEDNN_MAX_CPU_ISA),
     so that the caller runs float instead: emulated bf16 is slower than float.
   - The SE hooks (tiled inference) work unchanged: SE's inputs are float.

   bf16 training (ub__fast_net_create_bf16_training, mixed precision):
   - Every value stays float (the trainer's losses, SE/SA/NAF kernels,
     adds, ReLU masks and the global residual are the float ones); each
     convolution reads the bf16 copy of its input (kept for backward-
     weights) and bf16 weights, and writes float. Its backward passes read
     the output's gradient converted to bf16 (one reorder per convolution)
     and bf16 weights, and write float input and weight gradients (oneDNN
     accumulates in float and stores float), which are summed in float.
   - The gradient of a bf16 copy is its float value's: the copy's reorder
     has no backward step.
   - The convolution of the image (the head, 3 input channels) runs float:
     in bf16 it was 2x slower (W16, 192x192) and oneDNN 2.6 has no native
     bf16 backward-data pass for it.
   - Every pass must run natively, as in inference (creation fails with
     UB_ERR_UNSUPPORTED otherwise, and the trainer runs float).

   The context given to ub__fast_net_create must outlive the net: errors of
   later calls are reported through it. A net is not thread-safe. */
#ifndef UB_NN_DNNL_EXEC_H
#define UB_NN_DNNL_EXEC_H

#include "nn/graph.h"

typedef struct ub__fast_net ub__fast_net;

/* The activation layout of a net. AUTO asks oneDNN which layout it picks (format any) for a W -> W
   3x3 convolution of the graph with the net's propagation kind, and takes it if oneDNN runs that
   convolution there with optimised code (not "ref:"), forward and for training both backward
   passes; else the first of NHWC, nChw16c, nChw8c where it does. */
typedef enum ub__fast_layout {
    UB_FAST_LAYOUT_AUTO = 0,
    UB_FAST_LAYOUT_NHWC,
    UB_FAST_LAYOUT_BLOCKED8,  /* nChw8c */
    UB_FAST_LAYOUT_BLOCKED16  /* nChw16c */
} ub__fast_layout;

/* Builds the executor of graph g (parameters described by t) for inference (training = 0) or
   training (training = 1: forward keeps what backward needs). UB_ERR_UNSUPPORTED when oneDNN has no
   CPU engine here; UB_ERR_NOMEM; UB_ERR_INVALID for a graph this executor cannot run. */
ub_status ub__fast_net_create(ub_ctx *ctx, const ub__graph *g, const ub__param_table *t, int training,
                              ub__fast_net **out);
/* The same with a chosen activation layout (benchmarks and tests compare layouts). */
ub_status ub__fast_net_create_layout(ub_ctx *ctx, const ub__graph *g, const ub__param_table *t, int training,
                                     ub__fast_layout layout, ub__fast_net **out);

/* An inference net whose convolutions run in bf16 on the CPU's own bf16 instructions (see "bf16" above).
   cpu_features: what the CPU has (ub_cpu_features(); tests mask bits to see the refusal). UB_ERR_UNSUPPORTED
   when it has neither UB_CPU_AVX512BF16 nor UB_CPU_AMX, or when oneDNN would run a convolution or matmul
   in bf16 other than natively (emulated, or "ref"): the caller then runs the float net. */
ub_status ub__fast_net_create_bf16(ub_ctx *ctx, const ub__graph *g, const ub__param_table *t, ub__fast_layout layout,
                                   unsigned cpu_features, ub__fast_net **out);

/* The same for training (forward keeps what backward needs): see "bf16 training" above. */
ub_status ub__fast_net_create_bf16_training(ub_ctx *ctx, const ub__graph *g, const ub__param_table *t,
                                            ub__fast_layout layout, unsigned cpu_features, ub__fast_net **out);

/* Runs the graph: params holds t->total floats (PyTorch order and layouts), input is NCHW
   (n, 3, h, w) and output NCHW (n, 3, h, w), the graph's sizes; they must not overlap. */
ub_status ub__fast_forward(ub__fast_net *net, const float *params, const float *input, float *output);

/* For nets created with training = 1, after ub__fast_forward: given the gradient of the output
   (n, 3, h, w), ACCUMULATES (+=) the gradient of the parameters into dparams (t->total floats) and,
   when dinput is not NULL, of the input into dinput (n, 3, h, w). params must be those of the
   forward pass. */
ub_status ub__fast_backward(ub__fast_net *net, const float *params, const float *doutput, float *dparams,
                            float *dinput);

/* The same, telling the caller as the pass goes which parameter gradients are complete: after each op,
   final(user, from) says that dparams[from .. t->total) will not change any more (from never grows from
   one call to the next and is 0 at the last). A data-parallel trainer starts summing those over its
   processes while the rest of the pass runs. A status other than UB_OK from final stops the pass and is
   returned. The gradients are those of ub__fast_backward, bit for bit. */
typedef ub_status (*ub__fast_grads_final)(void *user, size_t from);
ub_status ub__fast_backward_hooked(ub__fast_net *net, const float *params, const float *doutput, float *dparams,
                                   float *dinput, ub__fast_grads_final final, void *user);

void ub__fast_net_destroy(ub__fast_net **net);

/* ---- SE hooks, for tiled inference (nn/model.c) ----
   SE (channel attention) is RBNet's one global operation: it scales each channel of its input by a
   function of that channel's mean over the whole plane, which a tile cannot see. Tiled inference therefore
   runs in two passes: ub__fast_se_sums gathers every SE input's per-channel sums over each tile's core,
   and ub__fast_net_set_se_means makes the forward pass use the whole image's means. SE ops are numbered
   0 .. ub__fast_net_se_count() - 1 in execution order (RBNet: the deepest level first). */
int ub__fast_net_se_count(const ub__fast_net *net);
/* Channels and size of SE op i's input (per image). */
void ub__fast_net_se_shape(const ub__fast_net *net, int i, int *c, int *h, int *w);
/* From now on SE op i uses means[i] ((n, c) floats, copied) instead of its input's own mean; means = NULL
   goes back to the own means. Inference nets only (the backward pass assumes the own mean). */
ub_status ub__fast_net_set_se_means(ub__fast_net *net, const float *const *means);
/* Runs the forward pass on input (n, 3, h, w) only as far as every SE input is computed (RBNet: the
   encoder, about 40% of the work) and ADDS (+=) to sums[i] ((n, c) doubles) the sums of each channel of SE
   op i's input over the window rows [y0, y1), columns [x0, x1) of the padded input grid (h, w rounded up to
   the graph's padding), mapped to that op's level: the window's edges must be multiples of every level's
   scale. Sums are taken in double in a fixed order (the same bits on any thread count). */
ub_status ub__fast_se_sums(ub__fast_net *net, const float *params, const float *input, int y0, int y1, int x0,
                           int x1, double *const *sums);

/* NAF blocks add a global op in every block, SCA (its 1x1 convolution of the channel means); the hooks
   above count them among the "SE" ops (in execution order, SE and SCA mixed) and SCA uses given means as
   SE does. Their inputs depend on the means of the ones before, so the sums are gathered group by group:
   ub__fast_net_se_group(net, k0, &cost) is the end k1 of the group that starts at k0 (the ops whose inputs
   are all computed before op k0 runs: for RBNet with res blocks, every SE at once), cost the share of
   the forward pass's ops that gathering it runs; ub__fast_se_sums_range adds the sums of ops [k0, k1) as
   ub__fast_se_sums does, running the forward pass with the given means of the ops before k0 (set them
   first). ub__fast_se_sums refuses a net with more than one group. */
int ub__fast_net_se_group(const ub__fast_net *net, int k0, double *cost);
ub_status ub__fast_se_sums_range(ub__fast_net *net, const float *params, const float *input, int k0, int k1, int y0,
                                 int y1, int x0, int x1, double *const *sums);

/* Facts about a net, for reports and benchmarks. */
typedef struct ub__fast_net_info {
    ub__fast_layout layout; /* the layout chosen (never AUTO) */
    size_t buffer_bytes;    /* activations, gradients, caches and scratch that the net holds */
    size_t dnnl_scratch_bytes; /* of which oneDNN's own scratchpad: its primitives' choice, larger for AMX's
                                  brgemm kernels (per-thread tile buffers) than for AVX-512's */
    size_t weight_bytes;    /* weights in the primitives' layouts */
    int buffers;            /* activation buffers after planning */
    const char *conv_impl;  /* oneDNN's implementation of the first 3x3 convolution (e.g. "brgconv:avx512_core") */
    const char *impls;      /* every implementation the net's primitives use, space-separated */
    int bf16;               /* made by ub__fast_net_create_bf16 or _bf16_training */
    int ran_reference;      /* one of oneDNN's reference implementations ("ref:", 10-100x slower) has run */
} ub__fast_net_info;
void ub__fast_net_get_info(const ub__fast_net *net, ub__fast_net_info *info);
/* One line per fast op (kind, channels, size, buffer, oneDNN implementations of its passes) and per
   buffer, into buf (NUL-terminated, cut at size); returns the size needed. */
size_t ub__fast_net_describe(const ub__fast_net *net, char *buf, size_t size);
/* Times every op of the following calls (summed), for ub__fast_net_describe; 0 turns it off. */
ub_status ub__fast_net_profile(ub__fast_net *net, int enable);

#endif
