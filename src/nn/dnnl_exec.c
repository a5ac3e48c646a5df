/* nn/dnnl_exec.c — the fast executor of an RBNet graph on oneDNN (see
   dnnl_exec.h).

   Creation turns the graph's operations into a list of "fast ops": a
   convolution absorbs the ReLU or the add that is its output's only reader
   (and runs where that reader was), a plain-NCHW input of a convolution gets
   a reorder into the layout oneDNN wants, everything else maps one to one.
   Then it plans buffers: in inference a value's buffer lives from its
   producer to its last reader and ops run in place where their input dies;
   in training every value lives to the end; the gradients of the backward
   pass are planned the same way in reverse; each set is placed in one arena.
   Forward and backward then only execute. A bf16 net (inference) marks which
   values it holds in bf16 before the fast ops are made (mark_bf16), and its
   convolutions add the reorders that give them bf16 inputs (bf16_copy). */
#include <dnnl.h>
#include <dnnl_debug.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn/blocked.h"
#include "nn/dnnl_exec.h"

typedef enum fkind { F_PAD, F_REORDER, F_CONV, F_RELU, F_ADD, F_SE, F_SA, F_CROP, F_LN, F_GATE, F_SCA, F_SCALE } fkind;

/* A value as the fast executor holds it. */
typedef struct fval {
    int c, h, w;
    int plain;     /* NCHW; else the net's layout, or (opaque) the layout a convolution asked for */
    int opaque;    /* a convolution's own input layout: only oneDNN reads it */
    ub__blk lay;   /* (not for opaque values) */
    dnnl_memory_desc_t md;
    size_t floats; /* padding included */
    int last_use;  /* the last fast op that reads it; -1 none */
    int pinned;    /* lives to the end (the input, the output, everything in training) */
    int slot, gslot;
    int needs_grad; /* on a path from a parameter to the output (not the input image side) */
    int external;   /* the caller's buffer: the input (inference nets) and the output */
    int bf16;       /* held in bf16 (bf16 nets: only convolutions read it); `floats` then counts 4-byte units */
    int bf16_copy;  /* (f32 values of bf16 nets) the value holding its bf16 copy for convolutions; -1 none */
    int copy_of;    /* (bf16 copies) the float value copied: its gradient is the copy's (bf16 training) */
} fval;

/* A oneDNN primitive and the layout of its scratchpad (in the net's shared scratchpad buffer). */
typedef struct prim {
    dnnl_primitive_t p;
    dnnl_memory_desc_t scratch;
    int reference; /* oneDNN chose its reference code ("ref:...") for it */
} prim;

typedef struct fop {
    fkind kind;
    int a, b, out;      /* fast value ids; b: ADD's second operand, CONV's summed operand (-1: none) */
    int relu, deconv;   /* CONV: fused ReLU; a transposed convolution */
    int inplace;        /* the output took the buffer of b (CONV) or of a (the others) */
    int k, stride, r;   /* kernel, stride, SE hidden units */
    size_t w, bias, w2, b2; /* parameter offsets (SIZE_MAX: none) */
    size_t params_end;      /* the end of the highest of them (0: none): backward writes dparams below it */
    size_t before_end;      /* the highest params_end of the ops before this one: once this op's backward
                               has run, dparams[before_end ..) is final */
    /* CONV: the forward, backward-data and backward-weights primitives; REORDER: fwd and its inverse in bwd_data */
    prim fwd, bwd_data, bwd_weights;
    prim w_to_fwd, w_to_bwd, dw_to_user; /* weight reorders (p NULL when the layouts agree) */
    prim seed; /* bf16 nets: the summed operand converted into the output when their data types differ */
    prim dy_to16; /* bf16 training: the output's float gradient to bf16, the backward passes' diff_dst */
    dnnl_memory_desc_t w_user, w_fwd, w_bwd, w_diff, b_md;
    dnnl_memory_desc_t dy_md, dx_md; /* diff_dst and diff_src of the backward passes (bf16 training: bf16, f32) */
    float *w_fwd_buf, *w_bwd_buf; /* NULL: the parameters are used as they are */
    float *cache;                 /* SE/SA/LayerNorm/SCA forward cache of a training net */
    /* a transposed convolution on NHWC runs as two matmuls, one per output row parity (see make_matmul) */
    int matmul;
    prim mm, mm_w_to;
    dnnl_memory_desc_t mm_src, mm_w_user, mm_w, mm_bias, mm_dst;
    float *mm_w_plain, *mm_w_buf, *mm_b; /* [parity][Cin][2 Cout] from PyTorch's weights, reordered; bias [2 Cout] */
} fop;

struct ub__fast_net {
    ub_ctx *ctx;
    int n, training, threads;
    int bf16; /* an inference net whose convolutions run in bf16 (ub__fast_net_create_bf16) */
    ub__fast_layout layout;
    dnnl_engine_t eng;
    dnnl_stream_t stream;
    fval *vals;
    int nvals, in_value, out_value;
    fop *ops;
    int nops;
    float *arena, *garena; /* activations; gradients (training) */
    size_t arena_floats, garena_floats;
    size_t *slot_floats, *slot_offsets, *gslot_floats, *gslot_offsets; /* per buffer, in the arenas */
    int nslots, ngslots;
    float *tscratch; /* a transposed convolution's bare output, before its bias and add (blocked layouts) */
    size_t tscratch_floats;
    float *gscratch; /* a convolution's input gradient when it must be added, not written */
    size_t gscratch_floats;
    void *kscratch; /* SE / SA / NAF scratch */
    size_t kscratch_bytes;
    float *kcache; /* SE / SA cache of an inference net (shared) */
    size_t kcache_floats;
    void *dnnl_scratch;
    size_t dnnl_scratch_bytes;
    float *dw_scratch; /* weight and bias gradients in the backward-weights layout */
    size_t dw_floats;
    void *dy16; /* bf16 training: a convolution's output gradient in bf16 */
    size_t dy16_bytes;
    size_t weight_bytes;
    unsigned char *ginit; /* per value during backward: its gradient buffer holds data */
    int forward_done;
    const float *ext_in; /* the caller's input and output during a forward pass */
    float *ext_out;
    char impl[64];
    char impls[256]; /* every implementation oneDNN chose, once each */
    int ran_reference; /* a primitive with oneDNN's reference code has run (an input-gradient pass no
                          training step asks for may hold one that never runs) */
    double *prof_fwd, *prof_bwd; /* seconds per fast op, summed over calls, when profiling */
    /* SE ops (tiled inference): their fast op indices, the means that replace their own when se_override is
       set ((n, c) floats each, at se_mean_off[i] in se_means), how many ops produce every SE input (se_stop),
       the padded input grid (grid_h x grid_w) that windows of ub__fast_se_sums are given in */
    int nse, se_override, se_stop, grid_h, grid_w;
    int *se_ops;
    int *se_op_stop; /* per global op: how many ops produce its input */
    size_t *se_mean_off;
    float *se_means;
    double *se_tmp; /* (n, c) of the widest SE input */
};

/* ---------------------------------------------------------------- errors, oneDNN helpers */

static ub_status dnnl_fail(ub__fast_net *net, dnnl_status_t s, const char *what) {
    const ub_status st = s == dnnl_out_of_memory ? UB_ERR_NOMEM
                         : s == dnnl_invalid_arguments ? UB_ERR_INVALID
                                                       : UB_ERR_UNSUPPORTED;
    return ub__fail(net->ctx, st, "oneDNN: %s: %s", what, dnnl_status2str(s));
}

#define TRY_DNNL(net, call, what)                                   \
    do {                                                            \
        dnnl_status_t s_ = (call);                                  \
        if (s_ != dnnl_success) return dnnl_fail((net), s_, (what)); \
    } while (0)

#define TRY(call)                    \
    do {                             \
        ub_status st_ = (call);      \
        if (st_ != UB_OK) return st_; \
    } while (0)

static ub_status nomem(ub__fast_net *net) { return ub__fail(net->ctx, UB_ERR_NOMEM, "fast RBNet: out of memory"); }

/* Attributes of every primitive: the scratchpad is ours; post-ops sum then ReLU as asked. */
static ub_status make_attr(ub__fast_net *net, dnnl_primitive_attr_t *attr, int sum, int relu) {
    TRY_DNNL(net, dnnl_primitive_attr_create(attr), "attributes");
    dnnl_status_t s = dnnl_primitive_attr_set_scratchpad_mode(*attr, dnnl_scratchpad_mode_user);
    if (s == dnnl_success && (sum || relu)) {
        dnnl_post_ops_t po;
        s = dnnl_post_ops_create(&po);
        if (s == dnnl_success) {
            if (sum) s = dnnl_post_ops_append_sum(po, 1.0f);
            if (s == dnnl_success && relu) s = dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f);
            if (s == dnnl_success) s = dnnl_primitive_attr_set_post_ops(*attr, po);
            dnnl_post_ops_destroy(po);
        }
    }
    if (s != dnnl_success) {
        dnnl_primitive_attr_destroy(*attr);
        *attr = NULL;
        return dnnl_fail(net, s, "post-ops");
    }
    return UB_OK;
}

/* Makes the primitive of pd (which stays the caller's) and sizes the shared scratchpad for it. */
static ub_status make_prim(ub__fast_net *net, const_dnnl_primitive_desc_t pd, prim *out, const char *what) {
    const dnnl_memory_desc_t *s = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    memset(&out->scratch, 0, sizeof out->scratch);
    out->reference = 0;
    if (s) out->scratch = *s;
    const size_t bytes = dnnl_memory_desc_get_size(&out->scratch);
    if (bytes > net->dnnl_scratch_bytes) net->dnnl_scratch_bytes = bytes;
    const char *impl = NULL;
    if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) == dnnl_success && impl)
        out->reference = !strncmp(impl, "ref:", 4);
    if (impl && !strstr(net->impls, impl)) {
        const size_t used = strlen(net->impls);
        snprintf(net->impls + used, sizeof net->impls - used, "%s%s", used ? " " : "", impl);
    }
    TRY_DNNL(net, dnnl_primitive_create(&out->p, pd), what);
    return UB_OK;
}

/* A reorder from one layout to another; accumulate: dst += reorder(src). */
static ub_status make_reorder(ub__fast_net *net, const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to,
                              int accumulate, prim *out, const char *what) {
    dnnl_primitive_attr_t attr;
    TRY(make_attr(net, &attr, accumulate, 0));
    dnnl_primitive_desc_t pd;
    dnnl_status_t s = dnnl_reorder_primitive_desc_create(&pd, from, net->eng, to, net->eng, attr);
    dnnl_primitive_attr_destroy(attr);
    if (s != dnnl_success) return dnnl_fail(net, s, what);
    ub_status st = make_prim(net, pd, out, what);
    dnnl_primitive_desc_destroy(pd);
    return st;
}

typedef struct marg {
    int arg;
    const dnnl_memory_desc_t *md;
    const void *ptr; /* oneDNN takes void *: inputs are only read */
} marg;

enum { MAX_ARGS = 6 };

/* Executes p on buffers, wrapping each in a memory object for the call (cheap on a CPU engine). */
static ub_status run_prim(ub__fast_net *net, const prim *p, int n, const marg *args, const char *what) {
    dnnl_exec_arg_t ea[MAX_ARGS + 1];
    int made = 0;
    dnnl_status_t s = dnnl_success;
    for (; made < n && s == dnnl_success; made++) {
        ea[made].arg = args[made].arg;
        s = dnnl_memory_create(&ea[made].memory, args[made].md, net->eng, (void *)args[made].ptr);
        if (s != dnnl_success) ea[made].memory = NULL;
    }
    if (s == dnnl_success && dnnl_memory_desc_get_size(&p->scratch) > 0) {
        ea[made].arg = DNNL_ARG_SCRATCHPAD;
        s = dnnl_memory_create(&ea[made].memory, &p->scratch, net->eng, net->dnnl_scratch);
        if (s == dnnl_success) made++;
    }
    if (p->reference) net->ran_reference = 1;
    if (s == dnnl_success) s = dnnl_primitive_execute(p->p, net->stream, made, ea);
    if (s == dnnl_success) s = dnnl_stream_wait(net->stream);
    for (int i = 0; i < made; i++)
        if (ea[i].memory) dnnl_memory_destroy(ea[i].memory);
    return s == dnnl_success ? UB_OK : dnnl_fail(net, s, what);
}

static void destroy_prim(prim *p) {
    if (p->p) dnnl_primitive_destroy(p->p);
    p->p = NULL;
}

/* ---------------------------------------------------------------- values and layouts */

static dnnl_format_tag_t layout_tag(ub__fast_layout layout) {
    switch (layout) {
    case UB_FAST_LAYOUT_BLOCKED8: return dnnl_nChw8c;
    case UB_FAST_LAYOUT_BLOCKED16: return dnnl_nChw16c;
    default: return dnnl_nhwc;
    }
}

static int layout_block(ub__fast_layout layout) {
    return layout == UB_FAST_LAYOUT_BLOCKED8 ? 8 : layout == UB_FAST_LAYOUT_BLOCKED16 ? 16 : 0;
}

/* 4-byte units that hold md (a bf16 buffer with an odd count gets a half unit more). */
static size_t md_floats(const dnnl_memory_desc_t *md) {
    return (dnnl_memory_desc_get_size(md) + sizeof(float) - 1) / sizeof(float);
}

/* A value of the graph: plain NCHW or the net's layout; in float, or in bf16 (not plain: only oneDNN reads
   it, the C kernels never do). */
static ub_status init_value(ub__fast_net *net, fval *v, int c, int h, int w, int plain, int bf16) {
    memset(v, 0, sizeof *v);
    v->c = c, v->h = h, v->w = w, v->plain = plain;
    v->bf16 = bf16 && !plain;
    v->last_use = -1;
    v->slot = v->gslot = -1;
    v->bf16_copy = v->copy_of = -1;
    v->lay = ub__blk_make(net->n, c, h, w, plain ? 1 : layout_block(net->layout));
    const dnnl_dims_t dims = {net->n, c, h, w};
    TRY_DNNL(net, dnnl_memory_desc_init_by_tag(&v->md, 4, dims, v->bf16 ? dnnl_bf16 : dnnl_f32,
                                               plain ? dnnl_nchw : layout_tag(net->layout)),
             "activation layout");
    v->floats = ub__blk_floats(&v->lay);
    if (v->bf16) v->floats = md_floats(&v->md);
    else if (dnnl_memory_desc_get_size(&v->md) != v->floats * sizeof(float))
        return ub__fail(net->ctx, UB_ERR_UNSUPPORTED, "fast RBNet: unexpected oneDNN layout size");
    return UB_OK;
}

/* Is oneDNN's implementation of pd a reference (plain loop) one? */
static int is_ref_impl(const_dnnl_primitive_desc_t pd) {
    const char *impl = NULL;
    return dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) != dnnl_success || !impl ||
           strncmp(impl, "ref", 3) == 0;
}

/* Does oneDNN itself use the CPU's bf16 instructions (AVX512-BF16, which AMX machines have too)? Its
   effective ISA is the CPU's, unless capped (ONEDNN_MAX_CPU_ISA). */
static int onednn_has_native_bf16(void) {
    const unsigned isa = (unsigned)dnnl_get_effective_cpu_isa(), bf16 = (unsigned)dnnl_cpu_isa_avx512_core_bf16;
    return (isa & bf16) == bf16;
}

/* Does pd run on the CPU's own bf16 instructions? oneDNN names its convolutions after the ISA they need:
   "avx512_core_bf16" (AVX512-BF16) or "amx" (AMX); a bf16 primitive named otherwise (a plain "avx512_core",
   or "ref") converts to float in software, which is slower than float itself. Its GEMM-based matmul
   ("gemm:jit", which the transposed convolutions use on NHWC) names no ISA: its bf16 kernels use the bf16
   instructions whenever oneDNN's ISA has them. */
static int is_native_bf16_impl(const_dnnl_primitive_desc_t pd) {
    const char *impl = NULL;
    if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) != dnnl_success || !impl ||
        strncmp(impl, "ref", 3) == 0 || !onednn_has_native_bf16())
        return 0;
    return strstr(impl, "bf16") || strstr(impl, "amx") || strcmp(impl, "gemm:jit") == 0;
}

/* For the bf16 primitives of bf16 nets (lowp): fails (UB_ERR_UNSUPPORTED) unless pd, a convolution or
   matmul, runs natively in bf16. */
static ub_status check_native(ub__fast_net *net, int lowp, const_dnnl_primitive_desc_t pd, const char *what) {
    if (!lowp || is_native_bf16_impl(pd)) return UB_OK;
    const char *impl = NULL;
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
    return ub__fail(net->ctx, UB_ERR_UNSUPPORTED, "fast RBNet: oneDNN has no native bf16 %s here (it offers %s)", what,
                    impl ? impl : "nothing");
}

/* Does oneDNN run a c -> c 3x3 convolution (bias, ReLU) on (n, c, h, w) in layout `tag` with optimised
   code, forward and (training) both backward passes? any_dst: with tag any, the layout it picks for dst. */
static ub_status probe_conv(ub__fast_net *net, int c, int h, int w, dnnl_format_tag_t tag, int *fast,
                            dnnl_memory_desc_t *any_dst) {
    const dnnl_dims_t x = {net->n, c, h, w}, wd = {c, c, 3, 3}, bd = {c}, strides = {1, 1}, pad = {1, 1};
    const dnnl_data_type_t dt = net->bf16 ? dnnl_bf16 : dnnl_f32;
    dnnl_memory_desc_t src, wt, b;
    TRY_DNNL(net, dnnl_memory_desc_init_by_tag(&src, 4, x, dt, tag), "probe");
    TRY_DNNL(net, dnnl_memory_desc_init_by_tag(&wt, 4, wd, dt, dnnl_format_tag_any), "probe");
    TRY_DNNL(net, dnnl_memory_desc_init_by_tag(&b, 1, bd, dnnl_f32, dnnl_x), "probe");
    dnnl_convolution_desc_t d;
    TRY_DNNL(net,
             dnnl_convolution_forward_desc_init(&d, net->training ? dnnl_forward_training : dnnl_forward_inference,
                                                dnnl_convolution_direct, &src, &wt, &b, &src, strides, pad, pad),
             "probe convolution");
    dnnl_primitive_attr_t attr;
    TRY(make_attr(net, &attr, 0, 1));
    dnnl_primitive_desc_t fpd = NULL, bpd = NULL;
    dnnl_status_t s = dnnl_primitive_desc_create(&fpd, &d, attr, net->eng, NULL);
    *fast = s == dnnl_success && !is_ref_impl(fpd) && (!net->bf16 || is_native_bf16_impl(fpd));
    if (s == dnnl_success && any_dst) *any_dst = *dnnl_primitive_desc_query_md(fpd, dnnl_query_dst_md, 0);
    if (*fast && net->training) {
        s = dnnl_convolution_backward_data_desc_init(&d, dnnl_convolution_direct, &src, &wt, &src, strides, pad, pad);
        if (s == dnnl_success) s = dnnl_primitive_desc_create(&bpd, &d, NULL, net->eng, fpd);
        *fast = s == dnnl_success && !is_ref_impl(bpd);
        if (bpd) dnnl_primitive_desc_destroy(bpd);
        bpd = NULL;
        if (*fast)
            s = dnnl_convolution_backward_weights_desc_init(&d, dnnl_convolution_direct, &src, &wt, &b, &src, strides,
                                                            pad, pad);
        if (*fast && s == dnnl_success) s = dnnl_primitive_desc_create(&bpd, &d, NULL, net->eng, fpd);
        *fast = *fast && s == dnnl_success && !is_ref_impl(bpd);
        if (bpd) dnnl_primitive_desc_destroy(bpd);
    }
    if (fpd) dnnl_primitive_desc_destroy(fpd);
    dnnl_primitive_attr_destroy(attr);
    return UB_OK;
}

/* The activation layout for a net whose typical convolution is c -> c on (n, c, h, w): the one oneDNN
   picks for its output when asked (format any), provided that oneDNN runs all the passes in it with
   optimised code; else the first of NHWC, nChw16c, nChw8c that it does. */
static ub_status probe_layout(ub__fast_net *net, int c, int h, int w, ub__fast_layout *out) {
    int fast;
    dnnl_memory_desc_t md;
    memset(&md, 0, sizeof md);
    TRY(probe_conv(net, c, h, w, dnnl_format_tag_any, &fast, &md));
    ub__fast_layout candidates[4] = {UB_FAST_LAYOUT_NHWC, UB_FAST_LAYOUT_NHWC, UB_FAST_LAYOUT_BLOCKED16,
                                     UB_FAST_LAYOUT_BLOCKED8};
    if (md.format_kind == dnnl_blocked) {
        const dnnl_blocking_desc_t *b = &md.format_desc.blocking;
        if (b->inner_nblks == 1 && b->inner_idxs[0] == 1 && b->inner_blks[0] == 16) candidates[0] = UB_FAST_LAYOUT_BLOCKED16;
        if (b->inner_nblks == 1 && b->inner_idxs[0] == 1 && b->inner_blks[0] == 8) candidates[0] = UB_FAST_LAYOUT_BLOCKED8;
    }
    for (int i = 0; i < 4; i++) {
        TRY(probe_conv(net, c, h, w, layout_tag(candidates[i]), &fast, NULL));
        if (fast) {
            *out = candidates[i];
            return UB_OK;
        }
    }
    *out = candidates[0];
    return UB_OK;
}

/* ---------------------------------------------------------------- building the fast ops */

/* The offset of parameter `index` (SIZE_MAX: none), noted in the op's extent. */
static size_t take_param(fop *f, const ub__param_table *t, int index) {
    if (index == UB_NO_PARAM) return SIZE_MAX;
    const ub__param *p = &t->params[index];
    if (p->offset + p->count > f->params_end) f->params_end = p->offset + p->count;
    return p->offset;
}

static fop *push_op(ub__fast_net *net, fkind kind, int a, int b, int out) {
    fop *f = &net->ops[net->nops++];
    memset(f, 0, sizeof *f);
    f->kind = kind, f->a = a, f->b = b, f->out = out;
    f->w = f->bias = f->w2 = f->b2 = SIZE_MAX;
    return f;
}

static ub_status push_value(ub__fast_net *net, const dnnl_memory_desc_t *md, int like, int *id) {
    fval *v = &net->vals[net->nvals];
    memset(v, 0, sizeof *v);
    v->c = net->vals[like].c, v->h = net->vals[like].h, v->w = net->vals[like].w;
    v->opaque = 1;
    v->last_use = -1;
    v->slot = v->gslot = -1;
    v->bf16_copy = v->copy_of = -1;
    v->md = *md;
    v->bf16 = md->data_type == dnnl_bf16;
    v->floats = md_floats(md);
    *id = net->nvals++;
    return UB_OK;
}

/* The forward pass of a 2x2 stride-2 transposed convolution on NHWC as matmuls: output row 2y + a, pixel
   2x + b, channel o is sum_i in[y, x, i] w[i, o, a, b] + bias[o], so for each a one matmul of the input's
   pixels (batch n, y; rows x) by a (Cin, 2 Cout) matrix gives (b, o) contiguous for each x, which is
   exactly output row 2y + a: the destination is the output with a row stride of two output rows. The
   sum post-op accumulates onto the other operand of the add. No temporary, unlike oneDNN's deconvolution,
   whose scratchpad is twice the output. */
static ub_status make_matmul(ub__fast_net *net, fop *f, int cin, int cout, int h, int w, int sum) {
    const dnnl_dim_t n = net->n, c2 = 2 * (dnnl_dim_t)cout;
    const dnnl_dims_t sd = {n, h, w, cin}, ss = {(dnnl_dim_t)h * w * cin, (dnnl_dim_t)w * cin, cin, 1};
    const dnnl_dims_t dd = {n, h, w, c2}, ds = {4 * (dnnl_dim_t)h * w * cout, 4 * (dnnl_dim_t)w * cout, c2, 1};
    const dnnl_dims_t wd = {1, 1, cin, c2}, bd = {1, 1, 1, c2};
    const dnnl_data_type_t src_dt = net->vals[f->a].bf16 ? dnnl_bf16 : dnnl_f32;
    const dnnl_data_type_t dst_dt = net->vals[f->out].bf16 ? dnnl_bf16 : dnnl_f32;
    TRY_DNNL(net, dnnl_memory_desc_init_by_strides(&f->mm_src, 4, sd, src_dt, ss), "matmul");
    TRY_DNNL(net, dnnl_memory_desc_init_by_strides(&f->mm_dst, 4, dd, dst_dt, ds), "matmul");
    TRY_DNNL(net, dnnl_memory_desc_init_by_tag(&f->mm_w_user, 4, wd, dnnl_f32, dnnl_abcd), "matmul");
    TRY_DNNL(net, dnnl_memory_desc_init_by_tag(&f->mm_bias, 4, bd, dnnl_f32, dnnl_abcd), "matmul");
    dnnl_memory_desc_t w_any;
    TRY_DNNL(net, dnnl_memory_desc_init_by_tag(&w_any, 4, wd, src_dt, dnnl_format_tag_any), "matmul");
    dnnl_matmul_desc_t d;
    TRY_DNNL(net, dnnl_matmul_desc_init(&d, &f->mm_src, &w_any, &f->mm_bias, &f->mm_dst), "matmul");
    dnnl_primitive_attr_t attr;
    TRY(make_attr(net, &attr, sum, 0));
    dnnl_primitive_desc_t pd;
    dnnl_status_t st = dnnl_primitive_desc_create(&pd, &d, attr, net->eng, NULL);
    dnnl_primitive_attr_destroy(attr);
    if (st != dnnl_success) return dnnl_fail(net, st, "matmul");
    f->mm_w = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    ub_status status = check_native(net, src_dt == dnnl_bf16, pd, "matmul");
    if (status == UB_OK) status = make_prim(net, pd, &f->mm, "matmul");
    dnnl_primitive_desc_destroy(pd);
    if (status == UB_OK && !dnnl_memory_desc_equal(&f->mm_w, &f->mm_w_user))
        status = make_reorder(net, &f->mm_w_user, &f->mm_w, 0, &f->mm_w_to, "matmul weight reorder");
    f->matmul = status == UB_OK;
    return status;
}

/* The bf16 copy of float value v that the convolutions of a bf16 net read: a reorder fop, made before the
   first convolution that reads v and shared by later ones (a value never changes once computed). */
static ub_status bf16_copy(ub__fast_net *net, int v, int *copy) {
    if (net->vals[v].bf16_copy < 0) {
        const fval *x = &net->vals[v];
        const dnnl_dims_t dims = {net->n, x->c, x->h, x->w};
        dnnl_memory_desc_t md;
        TRY_DNNL(net, dnnl_memory_desc_init_by_tag(&md, 4, dims, dnnl_bf16, layout_tag(net->layout)), "bf16 copy");
        int r;
        TRY(push_value(net, &md, v, &r));
        fop *f = push_op(net, F_REORDER, v, -1, r);
        TRY(make_reorder(net, &net->vals[v].md, &md, 0, &f->fwd, "bf16 copy"));
        net->vals[v].bf16_copy = r;
        net->vals[r].copy_of = v;
    }
    *copy = net->vals[v].bf16_copy;
    return UB_OK;
}

/* md in another data type: the same layout, strides counted in elements (only by-tag and blocked mds). */
static dnnl_memory_desc_t retyped(const dnnl_memory_desc_t *md, dnnl_data_type_t dt) {
    dnnl_memory_desc_t r = *md;
    r.data_type = dt;
    return r;
}

/* bf16 training: the backward passes read a bf16 diff_dst (the float gradient converted by dy_to16 into
   net->dy16) and bf16 weights, and write float diff_src and diff_weights: oneDNN's bf16 convolutions
   accumulate in float and can store float, so the gradients and their sums stay float. */
static ub_status bf16_backward_mds(ub__fast_net *net, fop *f, dnnl_memory_desc_t *dw_any) {
    f->dx_md = retyped(&f->dx_md, dnnl_f32);
    f->dy_md = retyped(&f->dy_md, dnnl_bf16);
    *dw_any = retyped(dw_any, dnnl_f32);
    const size_t bytes = dnnl_memory_desc_get_size(&f->dy_md);
    if (bytes > net->dy16_bytes) net->dy16_bytes = bytes;
    const dnnl_memory_desc_t dy32 = retyped(&f->dy_md, dnnl_f32);
    return make_reorder(net, &dy32, &f->dy_md, 0, &f->dy_to16, "gradient to bf16");
}

/* The forward, and for training the backward primitives of a (transposed) convolution fop. Its input
   value may still be plain: then the forward picks its own input layout and a reorder fop is added. */
static ub_status make_conv(ub__fast_net *net, const ub__graph *g, const ub__param_table *t, const ub__op *op,
                           int out, int sum_with, int relu) {
    const ub__value *in = &g->values[op->a], *o = &g->values[op->out];
    const int deconv = op->kind == UB_OP_CONVT, k = deconv ? 2 : op->k, s = deconv ? 2 : op->stride;
    const int pl = deconv ? 0 : k / 2;
    /* a depthwise convolution (groups = channels) has grouped weights: (g, 1, 1, k, k), goihw in PyTorch's order */
    const int grouped = !deconv && op->groups > 1, wnd = grouped ? 5 : 4;
    const dnnl_dims_t wdims4 = {o->c, in->c, k, k}, wdims5 = {op->groups, o->c / op->groups, in->c / op->groups, k, k};
    const dnnl_dim_t *wdims = grouped ? wdims5 : wdims4;
    const dnnl_dims_t bdims = {o->c}, strides = {s, s}, padl = {pl, pl};
    /* the right/bottom padding that makes oneDNN's output size PyTorch's */
    const dnnl_dims_t padr = {deconv ? 0 : (o->h - 1) * s + k - in->h - pl, deconv ? 0 : (o->w - 1) * s + k - in->w - pl};
    const int has_bias = op->bias != UB_NO_PARAM;
    /* a bf16 net's convolutions read bf16 (a float input through its bf16 copy) and bf16 weights, and write
       their output's type; the bias stays float */
    int src = op->a;
    /* bf16 training runs a convolution of the image (the head: 3 input channels) in float: in bf16 it is
       slower (measured 2x at W16), and oneDNN has no native bf16 backward-data pass for it */
    const int lowp = net->bf16 && !(net->training && net->vals[src].plain);
    const dnnl_data_type_t dt = lowp ? dnnl_bf16 : dnnl_f32;
    if (lowp && !net->vals[src].plain && !net->vals[src].bf16) TRY(bf16_copy(net, src, &src));
    dnnl_memory_desc_t src_md = net->vals[src].md, w_any, b_md;
    if (net->vals[src].plain) {
        const dnnl_dims_t xd = {net->n, in->c, in->h, in->w};
        TRY_DNNL(net, dnnl_memory_desc_init_by_tag(&src_md, 4, xd, dt, dnnl_format_tag_any), "convolution input");
    }
    TRY_DNNL(net, dnnl_memory_desc_init_by_tag(&w_any, wnd, wdims, dt, dnnl_format_tag_any), "weights");
    TRY_DNNL(net, dnnl_memory_desc_init_by_tag(&b_md, 1, bdims, dnnl_f32, dnnl_x), "bias");
    const dnnl_memory_desc_t *dst_md = &net->vals[out].md, *bias_md = has_bias ? &b_md : NULL;
    const dnnl_prop_kind_t prop = net->training ? dnnl_forward_training : dnnl_forward_inference;

    dnnl_convolution_desc_t cd;
    dnnl_deconvolution_desc_t dd;
    if (deconv)
        TRY_DNNL(net, dnnl_deconvolution_forward_desc_init(&dd, prop, dnnl_deconvolution_direct, &src_md, &w_any, bias_md,
                                                           dst_md, strides, padl, padr), "transposed convolution");
    else
        TRY_DNNL(net, dnnl_convolution_forward_desc_init(&cd, prop, dnnl_convolution_direct, &src_md, &w_any, bias_md,
                                                         dst_md, strides, padl, padr), "convolution");
    /* oneDNN's deconvolution is fast bare, slow with a bias (4x) and a sum post-op (25x): on blocked
       layouts it runs bare into a scratch buffer, and ub__blk_add_bias adds the bias and the other operand;
       on NHWC it runs as matmuls (make_matmul), which this forward descriptor then only serves as a hint for */
    const int bare = deconv && net->layout != UB_FAST_LAYOUT_NHWC;
    if (bare) {
        TRY_DNNL(net, dnnl_deconvolution_forward_desc_init(&dd, prop, dnnl_deconvolution_direct, &src_md, &w_any, NULL,
                                                           dst_md, strides, padl, padr), "transposed convolution");
        if (relu) return ub__fail(net->ctx, UB_ERR_UNSUPPORTED, "fast RBNet: ReLU after a transposed convolution");
        if (net->vals[out].bf16) /* ub__blk_add_bias, a float kernel, writes it (mark_bf16 keeps it float) */
            return ub__fail(net->ctx, UB_ERR_INVALID, "fast RBNet: bf16 output of a bare transposed convolution");
    }
    dnnl_primitive_attr_t attr;
    TRY(make_attr(net, &attr, sum_with >= 0 && !bare, relu));
    dnnl_primitive_desc_t fpd;
    dnnl_status_t st = dnnl_primitive_desc_create(&fpd, deconv ? (const void *)&dd : (const void *)&cd, attr, net->eng, NULL);
    dnnl_primitive_attr_destroy(attr);
    if (st != dnnl_success) return dnnl_fail(net, st, deconv ? "transposed convolution" : "convolution");

    /* (on NHWC the transposed convolution's descriptor is only a hint: its matmuls are checked) */
    ub_status status = deconv && net->layout == UB_FAST_LAYOUT_NHWC
                           ? UB_OK
                           : check_native(net, lowp, fpd, deconv ? "transposed convolution" : "convolution");
    if (status == UB_OK && net->vals[src].plain) {
        /* a reorder from NCHW into the layout this convolution chose, unless it chose NCHW */
        const dnnl_memory_desc_t *chosen = dnnl_primitive_desc_query_md(fpd, dnnl_query_src_md, 0);
        if (!dnnl_memory_desc_equal(chosen, &net->vals[src].md)) {
            int r;
            push_value(net, chosen, src, &r);
            fop *f = push_op(net, F_REORDER, src, -1, r);
            status = make_reorder(net, &net->vals[src].md, chosen, 0, &f->fwd, "input reorder");
            if (status == UB_OK && net->training)
                status = make_reorder(net, chosen, &net->vals[src].md, 1, &f->bwd_data, "input gradient reorder");
            src = r;
        }
    }
    fop *f = push_op(net, F_CONV, src, sum_with, out);
    f->relu = relu, f->deconv = deconv, f->k = k, f->stride = s;
    if (status == UB_OK && sum_with >= 0 && net->vals[sum_with].bf16 != net->vals[out].bf16)
        status = make_reorder(net, &net->vals[sum_with].md, &net->vals[out].md, 0, &f->seed, "summed operand");
    if (bare && net->vals[out].floats > net->tscratch_floats) net->tscratch_floats = net->vals[out].floats;
    f->w = take_param(f, t, op->w), f->bias = take_param(f, t, op->bias);
    f->b_md = b_md;
    if (status == UB_OK && deconv && net->layout == UB_FAST_LAYOUT_NHWC)
        status = make_matmul(net, f, in->c, o->c, in->h, in->w, sum_with >= 0);
    if (status == UB_OK && !f->matmul) status = make_prim(net, fpd, &f->fwd, "convolution");
    if (status == UB_OK && !net->impl[0] && !deconv && k == 3 && in->c == o->c) {
        const char *impl = NULL;
        if (dnnl_primitive_desc_query(fpd, dnnl_query_impl_info_str, 0, &impl) == dnnl_success && impl)
            snprintf(net->impl, sizeof net->impl, "%s", impl);
    }
    if (status == UB_OK) {
        /* PyTorch's weights: conv (Cout, Cin, k, k) = oihw; ConvTranspose (Cin, Cout, k, k) = iohw of (Cout, Cin) */
        st = dnnl_memory_desc_init_by_tag(&f->w_user, wnd, wdims, dnnl_f32,
                                          deconv ? dnnl_iohw : grouped ? dnnl_goihw : dnnl_oihw);
        if (st == dnnl_success) f->w_fwd = *dnnl_primitive_desc_query_md(fpd, dnnl_query_weights_md, 0);
        else status = dnnl_fail(net, st, "weights");
    }
    if (status == UB_OK && !f->matmul && !dnnl_memory_desc_equal(&f->w_fwd, &f->w_user))
        status = make_reorder(net, &f->w_user, &f->w_fwd, 0, &f->w_to_fwd, "weight reorder");

    if (status == UB_OK && net->training) {
        const dnnl_memory_desc_t *x_md = &net->vals[src].md;
        dnnl_memory_desc_t dw_any = w_any;
        f->dx_md = *x_md, f->dy_md = *dst_md;
        if (lowp) status = bf16_backward_mds(net, f, &dw_any);
        dnnl_primitive_desc_t bpd = NULL, wpd = NULL;
        dnnl_primitive_attr_t battr = NULL;
        if (status == UB_OK) status = make_attr(net, &battr, 0, 0);
        if (status == UB_OK) {
            if (deconv) {
                st = dnnl_deconvolution_backward_data_desc_init(&dd, dnnl_deconvolution_direct, &f->dx_md, &w_any,
                                                                &f->dy_md, strides, padl, padr);
                if (st == dnnl_success) st = dnnl_primitive_desc_create(&bpd, &dd, battr, net->eng, fpd);
            } else {
                st = dnnl_convolution_backward_data_desc_init(&cd, dnnl_convolution_direct, &f->dx_md, &w_any, &f->dy_md,
                                                              strides, padl, padr);
                if (st == dnnl_success) st = dnnl_primitive_desc_create(&bpd, &cd, battr, net->eng, fpd);
            }
            if (st != dnnl_success) status = dnnl_fail(net, st, "convolution backward data");
        }
        if (status == UB_OK) {
            if (deconv) {
                st = dnnl_deconvolution_backward_weights_desc_init(&dd, dnnl_deconvolution_direct, x_md, &dw_any, bias_md,
                                                                   &f->dy_md, strides, padl, padr);
                if (st == dnnl_success) st = dnnl_primitive_desc_create(&wpd, &dd, battr, net->eng, fpd);
            } else {
                st = dnnl_convolution_backward_weights_desc_init(&cd, dnnl_convolution_direct, x_md, &dw_any, bias_md,
                                                                 &f->dy_md, strides, padl, padr);
                if (st == dnnl_success) st = dnnl_primitive_desc_create(&wpd, &cd, battr, net->eng, fpd);
            }
            if (st != dnnl_success) status = dnnl_fail(net, st, "convolution backward weights");
        }
        if (battr) dnnl_primitive_attr_destroy(battr);
        if (status == UB_OK) status = check_native(net, lowp, bpd, "convolution backward data");
        if (status == UB_OK) status = check_native(net, lowp, wpd, "convolution backward weights");
        if (status == UB_OK) status = make_prim(net, bpd, &f->bwd_data, "convolution backward data");
        if (status == UB_OK) status = make_prim(net, wpd, &f->bwd_weights, "convolution backward weights");
        if (status == UB_OK) {
            f->w_bwd = *dnnl_primitive_desc_query_md(bpd, dnnl_query_weights_md, 0);
            f->w_diff = *dnnl_primitive_desc_query_md(wpd, dnnl_query_diff_weights_md, 0);
            if (!dnnl_memory_desc_equal(&f->w_bwd, &f->w_user) && !dnnl_memory_desc_equal(&f->w_bwd, &f->w_fwd))
                status = make_reorder(net, &f->w_user, &f->w_bwd, 0, &f->w_to_bwd, "weight reorder");
        }
        if (status == UB_OK) status = make_reorder(net, &f->w_diff, &f->w_user, 1, &f->dw_to_user, "weight gradient reorder");
        if (status == UB_OK) {
            const size_t floats = md_floats(&f->w_diff) + (size_t)o->c;
            if (floats > net->dw_floats) net->dw_floats = floats;
        }
        if (bpd) dnnl_primitive_desc_destroy(bpd);
        if (wpd) dnnl_primitive_desc_destroy(wpd);
    }
    dnnl_primitive_desc_destroy(fpd);
    return status;
}

/* Which values are plain NCHW: the image side (input, padding, crop, and an add that mixes layouts). */
static void mark_plain(const ub__graph *g, int *plain) {
    plain[0] = 1;
    for (int i = 0; i < g->nops; i++) {
        const ub__op *op = &g->ops[i];
        switch (op->kind) {
        case UB_OP_PAD:
        case UB_OP_CROP: plain[op->out] = 1; break;
        case UB_OP_CONV:
        case UB_OP_CONVT: plain[op->out] = 0; break;
        case UB_OP_ADD: plain[op->out] = plain[op->a] || plain[op->b]; break;
        default: plain[op->out] = plain[op->a]; break;
        }
    }
}

static ub_status check_graph(ub__fast_net *net, const ub__graph *g, const ub__param_table *t) {
    if (g->n < 1 || g->nvalues < 2 || g->nops < 1)
        return ub__fail(net->ctx, UB_ERR_INVALID, "fast RBNet: empty graph");
    for (int i = 0; i < g->nops; i++) {
        const ub__op *op = &g->ops[i];
        const int ids[3] = {op->a, op->out, op->kind == UB_OP_ADD ? op->b : 0};
        for (int j = 0; j < 3; j++)
            if (ids[j] < 0 || ids[j] >= g->nvalues)
                return ub__fail(net->ctx, UB_ERR_INVALID, "fast RBNet: operation %d has a bad value id", i);
        const int params[4] = {op->w, op->bias, op->w2, op->b2};
        for (int j = 0; j < 4; j++)
            if (params[j] != UB_NO_PARAM && (params[j] < 0 || params[j] >= t->count))
                return ub__fail(net->ctx, UB_ERR_INVALID, "fast RBNet: operation %d has a bad parameter", i);
        if ((op->kind == UB_OP_CONV || op->kind == UB_OP_CONVT) && op->w == UB_NO_PARAM)
            return ub__fail(net->ctx, UB_ERR_INVALID, "fast RBNet: convolution %d has no weight", i);
        const int cin = g->values[op->a].c;
        if (op->kind == UB_OP_CONV && op->groups != 1 && (op->groups != cin || g->values[op->out].c != cin))
            return ub__fail(net->ctx, UB_ERR_INVALID, "fast RBNet: convolution %d has %d groups: only 1 or depthwise",
                            i, op->groups);
        const int naf = op->kind == UB_OP_LAYERNORM || op->kind == UB_OP_GATE || op->kind == UB_OP_SCA ||
                        op->kind == UB_OP_SCALE || (op->kind == UB_OP_CONV && op->groups != 1);
        if (naf && op->w == UB_NO_PARAM && op->kind != UB_OP_GATE)
            return ub__fail(net->ctx, UB_ERR_INVALID, "fast RBNet: operation %d has no weight", i);
    }
    const ub__value *first = &g->values[0], *last = &g->values[g->nvalues - 1];
    if (first->c != 3 || last->c != 3 || first->h != last->h || first->w != last->w)
        return ub__fail(net->ctx, UB_ERR_INVALID, "fast RBNet: the graph does not map an image to an image");
    return UB_OK;
}

/* Which convolution absorbs which op: defer[j] = i when convolution i's output is read only by op j, a ReLU
   or an add with a value in the net's layout (the convolution then runs at j, writing j's output). */
static void mark_fusions(const ub__graph *g, const int *plain, const int *readers, const int *reader, int *defer) {
    for (int i = 0; i < g->nops; i++) defer[i] = -1;
    for (int i = 0; i < g->nops; i++) {
        const ub__op *op = &g->ops[i];
        if ((op->kind != UB_OP_CONV && op->kind != UB_OP_CONVT) || readers[op->out] != 1) continue;
        const int j = reader[op->out];
        const ub__op *next = &g->ops[j];
        const int other = next->kind == UB_OP_ADD ? (next->a == op->out ? next->b : next->a) : -1;
        if (next->kind == UB_OP_RELU || (next->kind == UB_OP_ADD && other != op->out && !plain[other])) defer[j] = i;
    }
}

/* Which values a bf16 net holds in bf16: those that a convolution writes (with its fused ReLU or add) and
   that only convolutions read, as their input: the C kernels (SE, SA, adds, crop, a transposed
   convolution's bias pass on blocked layouts) read and write float, and the value that a convolution
   adds its output to stays float too (a ResBlock's x: the residual stream is float). A float value that
   convolutions read gets a bf16 copy (bf16_copy). In RBNet: the ReLU outputs inside the ResBlocks, the
   bottleneck's output and the last decoder stage's are bf16. (Measured at W=32 on 256x256: a bf16
   residual stream too, converted where SE reads it, is no faster, and 2 dB further from float.) */
static void mark_bf16(const ub__fast_net *net, const ub__graph *g, const int *plain, const int *defer, int *bf16) {
    const int nv = g->nvalues;
    for (int v = 0; v < nv; v++) bf16[v] = 0;
    /* a training net keeps every value in float: the backward pass's masks and kernels read them, and its
       convolutions read bf16 copies, which backward-weights reads again */
    if (!net->bf16 || net->training) return;
    for (int i = 0; i < g->nops; i++) { /* written by a convolution (a fused one writes its ReLU's / add's output) */
        const ub__op *op = &g->ops[i];
        const int conv = defer[i] >= 0 ? defer[i] : op->kind == UB_OP_CONV || op->kind == UB_OP_CONVT ? i : -1;
        const int bare_convt = conv >= 0 && g->ops[conv].kind == UB_OP_CONVT && net->layout != UB_FAST_LAYOUT_NHWC;
        if (conv >= 0 && !bare_convt && !plain[op->out]) bf16[op->out] = 1;
    }
    for (int i = 0; i < g->nops; i++) { /* read by anything but a convolution's input */
        const ub__op *op = &g->ops[i];
        if (op->kind == UB_OP_CONV || op->kind == UB_OP_CONVT) continue;
        bf16[op->a] = 0;
        if (op->kind == UB_OP_ADD) bf16[op->b] = 0;
    }
    bf16[nv - 1] = 0;
}

/* The fast ops, in execution order (see the top of this file). */
static ub_status build_ops(ub__fast_net *net, const ub__graph *g, const ub__param_table *t) {
    const int nv = g->nvalues, no = g->nops;
    int *plain = calloc((size_t)nv, sizeof(int)), *readers = calloc((size_t)nv, sizeof(int)),
        *reader = calloc((size_t)nv, sizeof(int)), *defer = malloc(sizeof(int) * (size_t)no),
        *bf16 = calloc((size_t)nv, sizeof(int));
    ub_status st = plain && readers && reader && defer && bf16 ? UB_OK : nomem(net);
    if (st == UB_OK) {
        mark_plain(g, plain);
        for (int i = 0; i < no; i++) {
            readers[g->ops[i].a]++, reader[g->ops[i].a] = i;
            if (g->ops[i].kind == UB_OP_ADD && g->ops[i].b != g->ops[i].a) readers[g->ops[i].b]++, reader[g->ops[i].b] = i;
        }
        mark_fusions(g, plain, readers, reader, defer);
        mark_bf16(net, g, plain, defer, bf16);
        for (int v = 0; v < nv && st == UB_OK; v++)
            st = init_value(net, &net->vals[v], g->values[v].c, g->values[v].h, g->values[v].w, plain[v], bf16[v]);
        net->nvals = nv;
    }
    for (int i = 0; i < no && st == UB_OK; i++) {
        const ub__op *op = &g->ops[i];
        if (defer[i] >= 0) { /* a convolution absorbed this ReLU / add: it runs here */
            const ub__op *conv = &g->ops[defer[i]];
            const int other = op->kind == UB_OP_ADD ? (op->a == conv->out ? op->b : op->a) : -1;
            st = make_conv(net, g, t, conv, op->out, other, op->kind == UB_OP_RELU);
            continue;
        }
        fop *f;
        switch (op->kind) {
        case UB_OP_CONV:
        case UB_OP_CONVT:
            if (readers[op->out] != 1 || defer[reader[op->out]] != i) st = make_conv(net, g, t, op, op->out, -1, 0);
            break;
        case UB_OP_PAD:
            if (!plain[op->a]) st = ub__fail(net->ctx, UB_ERR_INVALID, "fast RBNet: padding of a non-image value");
            push_op(net, F_PAD, op->a, -1, op->out);
            break;
        case UB_OP_RELU: push_op(net, F_RELU, op->a, -1, op->out); break;
        case UB_OP_ADD: push_op(net, F_ADD, op->a, op->b, op->out); break;
        case UB_OP_SE:
            f = push_op(net, F_SE, op->a, -1, op->out);
            f->r = op->r;
            f->w = take_param(f, t, op->w), f->bias = take_param(f, t, op->bias);
            f->w2 = take_param(f, t, op->w2), f->b2 = take_param(f, t, op->b2);
            if (op->r < 1 || f->w == SIZE_MAX || f->bias == SIZE_MAX || f->w2 == SIZE_MAX || f->b2 == SIZE_MAX)
                st = ub__fail(net->ctx, UB_ERR_INVALID, "fast RBNet: SE without its parameters");
            break;
        case UB_OP_SA:
            f = push_op(net, F_SA, op->a, -1, op->out);
            f->k = op->k;
            f->w = take_param(f, t, op->w);
            if (op->k < 1 || op->k % 2 == 0 || f->w == SIZE_MAX)
                st = ub__fail(net->ctx, UB_ERR_INVALID, "fast RBNet: spatial attention without its kernel");
            break;
        case UB_OP_CROP: push_op(net, F_CROP, op->a, -1, op->out); break;
        case UB_OP_LAYERNORM:
        case UB_OP_SCA:
        case UB_OP_SCALE:
            f = push_op(net, op->kind == UB_OP_LAYERNORM ? F_LN : op->kind == UB_OP_SCA ? F_SCA : F_SCALE, op->a, -1,
                        op->out);
            f->w = take_param(f, t, op->w), f->bias = take_param(f, t, op->bias);
            if (f->w == SIZE_MAX || (op->kind != UB_OP_SCALE && f->bias == SIZE_MAX))
                st = ub__fail(net->ctx, UB_ERR_INVALID, "fast RBNet: a NAF op without its parameters");
            break;
        case UB_OP_GATE: push_op(net, F_GATE, op->a, -1, op->out); break;
        }
    }
    free(plain);
    free(readers);
    free(reader);
    free(defer);
    free(bf16);
    return st;
}

/* ---------------------------------------------------------------- planning buffers */

/* Buffers live in one arena: each has a size and a lifetime [start, end] in op steps, and gets the lowest
   offset that no buffer alive at the same time occupies, the largest placed first (TFLite's "greedy by
   size"). A map of one level thus fits in the gap that maps of another level leave, and the arena comes
   close to the largest set of maps alive at once. */
typedef struct span {
    size_t floats, offset;
    int start, end;
} span;

enum { ARENA_ALIGN = 16 }; /* floats: 64 bytes */

static int by_offset(const void *a, const void *b) {
    const span *x = *(span *const *)a, *y = *(span *const *)b;
    return (x->offset > y->offset) - (x->offset < y->offset);
}

/* Places the spans; returns the arena's size in floats, or 0 when out of memory. */
static size_t arena_place(span *sp, int n) {
    int *order = malloc(sizeof(int) * (size_t)(n ? n : 1));
    span **live = malloc(sizeof(span *) * (size_t)(n ? n : 1));
    char *placed = calloc((size_t)(n ? n : 1), 1);
    size_t total = 0;
    if (!order || !live || !placed) {
        free(order), free(live), free(placed);
        return 0;
    }
    for (int i = 0; i < n; i++) {
        order[i] = i;
        sp[i].floats = (sp[i].floats + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
    }
    for (int i = 1; i < n; i++) /* insertion sort: size descending, then start; n is small */
        for (int j = i; j > 0; j--) {
            const span *a = &sp[order[j - 1]], *b = &sp[order[j]];
            if (a->floats > b->floats || (a->floats == b->floats && a->start <= b->start)) break;
            const int t = order[j];
            order[j] = order[j - 1], order[j - 1] = t;
        }
    for (int k = 0; k < n; k++) {
        span *b = &sp[order[k]];
        int nlive = 0;
        for (int i = 0; i < n; i++)
            if (placed[i] && sp[i].start <= b->end && b->start <= sp[i].end) live[nlive++] = &sp[i];
        qsort(live, (size_t)nlive, sizeof *live, by_offset);
        size_t at = 0;
        for (int i = 0; i < nlive; i++) {
            if (live[i]->offset >= at + b->floats) break; /* the gap before it fits */
            if (live[i]->offset + live[i]->floats > at) at = live[i]->offset + live[i]->floats;
        }
        b->offset = at;
        placed[order[k]] = 1;
        if (at + b->floats > total) total = at + b->floats;
    }
    free(order), free(live), free(placed);
    return total ? total : ARENA_ALIGN;
}

/* The values a fast op reads (up to 2; -1 for none). */
static void op_inputs(const fop *f, int in[2]) {
    in[0] = f->a;
    in[1] = f->b >= 0 && f->b != f->a ? f->b : -1;
}

/* Can op f write its output into the buffer of value v (read by f for the last time)? */
static int can_share(const ub__fast_net *net, const fop *f, int i, int v) {
    if (net->training || v < 0) return 0;
    const fval *x = &net->vals[v], *o = &net->vals[f->out];
    if (o->external || x->external || x->pinned || x->last_use != i || x->opaque || o->opaque) return 0;
    if (x->plain != o->plain || x->bf16 != o->bf16 || x->floats != o->floats) return 0;
    switch (f->kind) {
    case F_CONV: return v == f->b && f->b != f->a;
    case F_RELU:
    case F_SE:
    case F_SA: return v == f->a;
    case F_ADD: return net->vals[f->a].plain == net->vals[f->b].plain;
    default: return 0;
    }
}

/* Activation buffers: one per value, or shared along a chain of in-place ops; placed in the arena. */
static ub_status plan_slots(ub__fast_net *net) {
    const int nv = net->nvals, nf = net->nops;
    for (int i = 0; i < nf; i++) {
        int in[2];
        op_inputs(&net->ops[i], in);
        for (int j = 0; j < 2; j++)
            if (in[j] >= 0) net->vals[in[j]].last_use = i;
    }
    for (int v = 0; v < nv; v++) net->vals[v].pinned = net->training;
    net->vals[net->in_value].pinned = net->vals[net->out_value].pinned = 1;
    /* the caller's buffers serve directly: the output always (the backward pass never reads it), the input
       in inference (training keeps a copy: the caller may reuse its buffer before the backward pass) */
    net->vals[net->out_value].external = 1;
    net->vals[net->in_value].external = !net->training;
    for (int i = 0; i < nf; i++) /* unless the backward pass reads the output: a ReLU's mask */
        if (net->training && net->ops[i].out == net->out_value && (net->ops[i].kind == F_RELU || net->ops[i].relu))
            net->vals[net->out_value].external = 0;
    span *sp = calloc((size_t)nv, sizeof(span));
    if (!sp) return nomem(net);
    int nb = 0;
    fval *in = &net->vals[net->in_value];
    if (!in->external) sp[nb] = (span){in->floats, 0, -1, nf}, in->slot = nb++;
    for (int i = 0; i < nf; i++) {
        fop *f = &net->ops[i];
        fval *o = &net->vals[f->out];
        const int candidates[2] = {f->kind == F_CONV ? f->b : f->a, f->kind == F_ADD ? f->b : -1};
        for (int j = 0; j < 2 && o->slot < 0; j++)
            if (can_share(net, f, i, candidates[j])) {
                o->slot = net->vals[candidates[j]].slot;
                f->inplace = 1;
            }
        if (o->slot < 0 && !o->external) sp[nb] = (span){o->floats, 0, i, i}, o->slot = nb++;
        int reads[2];
        op_inputs(f, reads);
        for (int j = 0; j < 2; j++)
            if (reads[j] >= 0 && net->vals[reads[j]].slot >= 0 && sp[net->vals[reads[j]].slot].end < i)
                sp[net->vals[reads[j]].slot].end = i;
        if (o->slot >= 0 && (o->pinned || sp[o->slot].end < i)) sp[o->slot].end = o->pinned ? nf : i;
    }
    ub_status st = UB_OK;
    net->nslots = nb;
    net->slot_floats = malloc(sizeof(size_t) * (size_t)(nb ? nb : 1));
    net->slot_offsets = malloc(sizeof(size_t) * (size_t)(nb ? nb : 1));
    if (!net->slot_floats || !net->slot_offsets || !(net->arena_floats = arena_place(sp, nb))) st = nomem(net);
    for (int b = 0; st == UB_OK && b < nb; b++) net->slot_floats[b] = sp[b].floats, net->slot_offsets[b] = sp[b].offset;
    free(sp);
    return st;
}

/* Gradient buffers: a value's gradient lives from the backward step of its last reader to that of its
   producer (steps counted backwards: op i is step nops - 1 - i). */
static ub_status plan_gradient_slots(ub__fast_net *net) {
    const int nv = net->nvals, nf = net->nops;
    span *sp = calloc((size_t)nv, sizeof(span));
    if (!sp) return nomem(net);
    int nb = 0;
    fval *out = &net->vals[net->out_value];
    sp[nb] = (span){out->floats, 0, -1, -1}, out->gslot = nb++;
    for (int i = nf - 1; i >= 0; i--) {
        const int step = nf - 1 - i;
        const fop *f = &net->ops[i];
        int in[2];
        op_inputs(f, in);
        for (int j = 0; j < 2; j++) /* (a bf16 copy's gradient is its float value's) */
            if (in[j] >= 0 && net->vals[in[j]].copy_of >= 0) in[j] = net->vals[in[j]].copy_of;
        for (int j = 0; j < 2; j++)
            if (in[j] >= 0 && net->vals[in[j]].gslot < 0) sp[nb] = (span){net->vals[in[j]].floats, 0, step, step}, net->vals[in[j]].gslot = nb++;
        if (net->vals[f->out].gslot >= 0) sp[net->vals[f->out].gslot].end = step;
    }
    if (net->vals[net->in_value].gslot >= 0) sp[net->vals[net->in_value].gslot].end = nf; /* read after the last step */
    ub_status st = UB_OK;
    net->ngslots = nb;
    net->gslot_floats = malloc(sizeof(size_t) * (size_t)(nb ? nb : 1));
    net->gslot_offsets = malloc(sizeof(size_t) * (size_t)(nb ? nb : 1));
    if (!net->gslot_floats || !net->gslot_offsets || !(net->garena_floats = arena_place(sp, nb))) st = nomem(net);
    for (int b = 0; st == UB_OK && b < nb; b++) net->gslot_floats[b] = sp[b].floats, net->gslot_offsets[b] = sp[b].offset;
    free(sp);
    return st;
}

/* Which values need a gradient when the input's is not asked for. */
static void mark_needs_grad(ub__fast_net *net) {
    for (int i = 0; i < net->nops; i++) {
        const fop *f = &net->ops[i];
        int need = f->kind == F_CONV || f->kind == F_SE || f->kind == F_SA || f->kind == F_LN || f->kind == F_SCA ||
                   f->kind == F_SCALE || net->vals[f->a].needs_grad;
        if (f->b >= 0) need |= net->vals[f->b].needs_grad;
        net->vals[f->out].needs_grad = need;
    }
}

/* ---------------------------------------------------------------- allocation */

static float *alloc_floats(size_t n) {
    size_t bytes;
    if (!ub__mul_size(n ? n : 1, sizeof(float), &bytes)) return NULL;
    float *p = ub__alloc(bytes);
    if (p) memset(p, 0, bytes); /* padding channels must read as zeros; reused slots never hold NaN */
    return p;
}

static ub_status alloc_buffers(ub__fast_net *net) {
    if (!(net->arena = alloc_floats(net->arena_floats))) return nomem(net);
    if (net->training) {
        net->ginit = calloc((size_t)net->nvals, 1);
        if (!net->ginit || !(net->garena = alloc_floats(net->garena_floats))) return nomem(net);
        for (int v = 0; v < net->nvals; v++)
            if (net->vals[v].floats > net->gscratch_floats) net->gscratch_floats = net->vals[v].floats;
        if (!(net->gscratch = alloc_floats(net->gscratch_floats))) return nomem(net);
        if (!(net->dw_scratch = alloc_floats(net->dw_floats))) return nomem(net);
        if (net->dy16_bytes && !(net->dy16 = ub__alloc(net->dy16_bytes))) return nomem(net);
    }
    for (int i = 0; i < net->nops; i++) {
        fop *f = &net->ops[i];
        if (f->kind == F_CONV) {
            const size_t wf = md_floats(&f->w_fwd);
            if (f->w_to_fwd.p && !(f->w_fwd_buf = alloc_floats(wf))) return nomem(net);
            if (f->w_to_fwd.p) net->weight_bytes += wf * sizeof(float);
            const size_t wb = md_floats(&f->w_bwd);
            if (f->w_to_bwd.p && !(f->w_bwd_buf = alloc_floats(wb))) return nomem(net);
            if (f->w_to_bwd.p) net->weight_bytes += wb * sizeof(float);
            if (f->matmul) {
                const size_t plain = md_floats(&f->mm_w_user);
                const size_t packed = md_floats(&f->mm_w);
                if (!(f->mm_w_plain = alloc_floats(2 * plain)) || !(f->mm_w_buf = alloc_floats(2 * packed)) ||
                    !(f->mm_b = alloc_floats(md_floats(&f->mm_bias))))
                    return nomem(net);
                net->weight_bytes += 2 * (plain + packed) * sizeof(float);
            }
        }
        /* (SCA: also the window sums of tiled inference, ub__naf_scratch_bytes >= ub__se_scratch_bytes(l, 1)) */
        if ((f->kind == F_LN || f->kind == F_SCA || f->kind == F_SCALE) &&
            ub__naf_scratch_bytes(&net->vals[f->a].lay) > net->kscratch_bytes)
            net->kscratch_bytes = ub__naf_scratch_bytes(&net->vals[f->a].lay);
        if (f->kind == F_LN || f->kind == F_SCA) {
            const ub__blk *l = &net->vals[f->a].lay;
            const size_t cache = f->kind == F_LN ? ub__ln_cache_floats(l) : ub__sca_cache_floats(l);
            if (net->training) {
                if (!(f->cache = alloc_floats(cache))) return nomem(net);
            } else if (cache > net->kcache_floats)
                net->kcache_floats = cache;
        }
        if (f->kind != F_SE && f->kind != F_SA) continue;
        const ub__blk *l = &net->vals[f->a].lay;
        const size_t cache = f->kind == F_SE ? ub__se_cache_floats(l, f->r) : ub__sa_cache_floats(l, f->k);
        /* (the spatial attention's forward pass needs no scratch, only its backward pass) */
        const size_t scratch = f->kind == F_SE ? ub__se_scratch_bytes(l, f->r)
                               : net->training ? ub__sa_scratch_bytes(l, f->k) : 0;
        if (scratch > net->kscratch_bytes) net->kscratch_bytes = scratch;
        if (net->training) {
            if (!(f->cache = alloc_floats(cache))) return nomem(net);
        } else if (cache > net->kcache_floats)
            net->kcache_floats = cache;
    }
    if (net->tscratch_floats && !(net->tscratch = alloc_floats(net->tscratch_floats))) return nomem(net);
    if (net->kscratch_bytes && !(net->kscratch = ub__alloc(net->kscratch_bytes))) return nomem(net);
    if (net->kcache_floats && !(net->kcache = alloc_floats(net->kcache_floats))) return nomem(net);
    if (net->dnnl_scratch_bytes && !(net->dnnl_scratch = ub__alloc(net->dnnl_scratch_bytes))) return nomem(net);
    return UB_OK;
}

/* ---------------------------------------------------------------- create / destroy */

void ub__fast_net_destroy(ub__fast_net **pnet) {
    if (!pnet || !*pnet) return;
    ub__fast_net *net = *pnet;
    for (int i = 0; net->ops && i < net->nops; i++) {
        fop *f = &net->ops[i];
        prim *ps[10] = {&f->fwd, &f->bwd_data, &f->bwd_weights, &f->w_to_fwd, &f->w_to_bwd, &f->dw_to_user, &f->mm,
                        &f->mm_w_to, &f->seed, &f->dy_to16};
        for (int j = 0; j < 10; j++) destroy_prim(ps[j]);
        ub__free(f->mm_w_plain);
        ub__free(f->mm_w_buf);
        ub__free(f->mm_b);
        ub__free(f->w_fwd_buf);
        ub__free(f->w_bwd_buf);
        ub__free(f->cache);
    }
    ub__free(net->arena);
    ub__free(net->garena);
    free(net->slot_floats);
    free(net->slot_offsets);
    free(net->gslot_floats);
    free(net->gslot_offsets);
    free(net->ginit);
    ub__free(net->gscratch);
    ub__free(net->tscratch);
    ub__free(net->kscratch);
    ub__free(net->kcache);
    ub__free(net->dnnl_scratch);
    ub__free(net->dw_scratch);
    ub__free(net->dy16);
    free(net->vals);
    free(net->ops);
    free(net->prof_fwd);
    free(net->prof_bwd);
    free(net->se_ops);
    free(net->se_op_stop);
    free(net->se_mean_off);
    free(net->se_means);
    free(net->se_tmp);
    if (net->stream) dnnl_stream_destroy(net->stream);
    if (net->eng) dnnl_engine_destroy(net->eng);
    free(net);
    *pnet = NULL;
}

/* The SE ops, the buffers of their given means, and how far a forward pass must run to produce every SE
   input (the encoder, for RBNet: its skips). */
static ub_status plan_se(ub__fast_net *net) {
    const fval *grid = &net->vals[net->nops > 0 && net->ops[0].kind == F_PAD ? net->ops[0].out : net->in_value];
    net->grid_h = grid->h, net->grid_w = grid->w;
    for (int i = 0; i < net->nops; i++) net->nse += net->ops[i].kind == F_SE || net->ops[i].kind == F_SCA;
    const size_t count = (size_t)(net->nse ? net->nse : 1);
    net->se_ops = malloc(sizeof(int) * count);
    net->se_op_stop = calloc(count, sizeof(int));
    net->se_mean_off = malloc(sizeof(size_t) * count);
    if (!net->se_ops || !net->se_mean_off || !net->se_op_stop) return nomem(net);
    size_t floats = 0, widest = 1;
    for (int i = 0, k = 0; i < net->nops; i++) {
        if (net->ops[i].kind != F_SE && net->ops[i].kind != F_SCA) continue;
        const fval *in = &net->vals[net->ops[i].a];
        net->se_ops[k] = i;
        for (int j = 0; j < i; j++) /* the producer of the op's input */
            if (net->ops[j].out == net->ops[i].a) net->se_op_stop[k] = j + 1;
        if (net->se_op_stop[k] > net->se_stop) net->se_stop = net->se_op_stop[k];
        net->se_mean_off[k++] = floats;
        floats += (size_t)net->n * (size_t)in->c;
        if ((size_t)net->n * (size_t)in->c > widest) widest = (size_t)net->n * (size_t)in->c;
    }
    net->se_means = calloc(floats ? floats : 1, sizeof(float));
    net->se_tmp = calloc(widest, sizeof(double));
    return net->se_means && net->se_tmp ? UB_OK : nomem(net);
}

/* oneDNN runs on the calling thread's OpenMP team: size it for the call, restore it after. */
static int threads_enter(const ub__fast_net *net) {
    const int saved = omp_get_max_threads();
    omp_set_num_threads(net->threads);
    return saved;
}

static void threads_leave(int saved) { omp_set_num_threads(saved); }

/* The shape of the first c -> c convolution (else of the first convolution's output). */
static void first_conv_shape(const ub__graph *g, int *c, int *h, int *w) {
    *c = 32, *h = g->values[0].h, *w = g->values[0].w;
    int found = 0;
    for (int i = 0; i < g->nops && found < 2; i++)
        if (g->ops[i].kind == UB_OP_CONV) {
            const ub__value *o = &g->values[g->ops[i].out];
            *c = o->c, *h = o->h, *w = o->w;
            found = g->values[g->ops[i].a].c == o->c ? 2 : 1;
        }
}

static ub_status create(ub__fast_net *net, const ub__graph *g, const ub__param_table *t, ub__fast_layout layout) {
    if (dnnl_engine_get_count(dnnl_cpu) == 0)
        return ub__fail(net->ctx, UB_ERR_UNSUPPORTED, "oneDNN: no CPU engine on this machine");
    if (dnnl_engine_create(&net->eng, dnnl_cpu, 0) != dnnl_success) {
        net->eng = NULL;
        return ub__fail(net->ctx, UB_ERR_UNSUPPORTED, "oneDNN: cannot create a CPU engine");
    }
    TRY_DNNL(net, dnnl_stream_create(&net->stream, net->eng, dnnl_stream_default_flags), "stream");
    TRY(check_graph(net, g, t));
    net->n = g->n;
    if (layout == UB_FAST_LAYOUT_AUTO) {
        int c, h, w;
        first_conv_shape(g, &c, &h, &w);
        TRY(probe_layout(net, c, h, w, &layout));
    }
    net->layout = layout;
    /* every graph op gives at most two fast ops (a reorder and a convolution) and one new value */
    net->vals = calloc((size_t)(g->nvalues + g->nops), sizeof(fval));
    net->ops = calloc((size_t)(2 * g->nops), sizeof(fop));
    if (!net->vals || !net->ops) return nomem(net);
    TRY(build_ops(net, g, t));
    for (int i = 1; i < net->nops; i++) { /* for the backward pass's hook, which runs the ops in reverse */
        const fop *before = &net->ops[i - 1];
        net->ops[i].before_end = before->before_end > before->params_end ? before->before_end : before->params_end;
    }
    net->in_value = 0;
    net->out_value = g->nvalues - 1;
    if (!net->vals[net->out_value].plain)
        return ub__fail(net->ctx, UB_ERR_INVALID, "fast RBNet: the graph's output is not an image");
    mark_needs_grad(net);
    TRY(plan_se(net));
    TRY(plan_slots(net));
    if (net->training) TRY(plan_gradient_slots(net));
    return alloc_buffers(net);
}

static ub_status create_net(ub_ctx *ctx, const ub__graph *g, const ub__param_table *t, int training, int bf16,
                            ub__fast_layout layout, ub__fast_net **out) {
    if (!out) return ub__fail(ctx, UB_ERR_INVALID, "fast RBNet: no output pointer");
    *out = NULL;
    if (!g || !t || layout < UB_FAST_LAYOUT_AUTO || layout > UB_FAST_LAYOUT_BLOCKED16)
        return ub__fail(ctx, UB_ERR_INVALID, "fast RBNet: bad arguments");
    ub__fast_net *net = calloc(1, sizeof *net);
    if (!net) return ub__fail(ctx, UB_ERR_NOMEM, "fast RBNet: out of memory");
    net->ctx = ctx;
    net->training = training != 0;
    net->bf16 = bf16;
    net->threads = ub_ctx_threads(ctx);
    const int saved = threads_enter(net);
    ub_status st = create(net, g, t, layout);
    threads_leave(saved);
    if (st != UB_OK) {
        ub__fast_net_destroy(&net);
        return st;
    }
    *out = net;
    return UB_OK;
}

ub_status ub__fast_net_create_layout(ub_ctx *ctx, const ub__graph *g, const ub__param_table *t, int training,
                                     ub__fast_layout layout, ub__fast_net **out) {
    return create_net(ctx, g, t, training, 0, layout, out);
}

ub_status ub__fast_net_create(ub_ctx *ctx, const ub__graph *g, const ub__param_table *t, int training,
                              ub__fast_net **out) {
    return ub__fast_net_create_layout(ctx, g, t, training, UB_FAST_LAYOUT_AUTO, out);
}

static ub_status create_bf16(ub_ctx *ctx, const ub__graph *g, const ub__param_table *t, int training,
                             ub__fast_layout layout, unsigned cpu_features, ub__fast_net **out) {
    if (out) *out = NULL;
    if (!(cpu_features & (UB_CPU_AVX512BF16 | UB_CPU_AMX)))
        return ub__fail(ctx, UB_ERR_UNSUPPORTED, "fast RBNet: this CPU has no native bf16 (AVX512-BF16 or AMX)");
    if (!onednn_has_native_bf16())
        return ub__fail(ctx, UB_ERR_UNSUPPORTED, "fast RBNet: oneDNN does not use this CPU's bf16 instructions "
                        "(ISA capped by ONEDNN_MAX_CPU_ISA?)");
    return create_net(ctx, g, t, training, 1, layout, out);
}

ub_status ub__fast_net_create_bf16(ub_ctx *ctx, const ub__graph *g, const ub__param_table *t, ub__fast_layout layout,
                                   unsigned cpu_features, ub__fast_net **out) {
    return create_bf16(ctx, g, t, 0, layout, cpu_features, out);
}

ub_status ub__fast_net_create_bf16_training(ub_ctx *ctx, const ub__graph *g, const ub__param_table *t,
                                            ub__fast_layout layout, unsigned cpu_features, ub__fast_net **out) {
    return create_bf16(ctx, g, t, 1, layout, cpu_features, out);
}

void ub__fast_net_get_info(const ub__fast_net *net, ub__fast_net_info *info) {
    memset(info, 0, sizeof *info);
    info->layout = net->layout;
    info->buffers = net->nslots;
    info->weight_bytes = net->weight_bytes;
    info->conv_impl = net->impl[0] ? net->impl : "?";
    info->bf16 = net->bf16;
    info->impls = net->impls;
    size_t floats = net->gscratch_floats + net->tscratch_floats + net->kcache_floats + net->dw_floats + net->arena_floats + net->garena_floats;
    for (int i = 0; i < net->nops; i++)
        if (net->ops[i].cache) {
            const fop *f = &net->ops[i];
            const ub__blk *l = &net->vals[f->a].lay;
            floats += f->kind == F_SE    ? ub__se_cache_floats(l, f->r)
                      : f->kind == F_SA  ? ub__sa_cache_floats(l, f->k)
                      : f->kind == F_LN  ? ub__ln_cache_floats(l)
                                         : ub__sca_cache_floats(l);
        }
    info->buffer_bytes = floats * sizeof(float) + net->kscratch_bytes + net->dnnl_scratch_bytes + net->dy16_bytes;
    info->dnnl_scratch_bytes = net->dnnl_scratch_bytes;
    info->ran_reference = net->ran_reference;
}

/* ---------------------------------------------------------------- forward */

static double seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

ub_status ub__fast_net_profile(ub__fast_net *net, int enable) {
    free(net->prof_fwd), free(net->prof_bwd);
    net->prof_fwd = net->prof_bwd = NULL;
    if (!enable) return UB_OK;
    net->prof_fwd = calloc((size_t)net->nops, sizeof(double));
    net->prof_bwd = calloc((size_t)net->nops, sizeof(double));
    if (!net->prof_fwd || !net->prof_bwd) {
        free(net->prof_fwd), free(net->prof_bwd);
        net->prof_fwd = net->prof_bwd = NULL;
        return nomem(net);
    }
    return UB_OK;
}

static float *value_data(const ub__fast_net *net, int v) {
    if (net->vals[v].external) return v == net->out_value ? net->ext_out : (float *)net->ext_in; /* only read */
    return net->arena + net->slot_offsets[net->vals[v].slot];
}
static float *grad_data(const ub__fast_net *net, int v) {
    return net->garena + net->gslot_offsets[net->vals[v].gslot];
}

/* A convolution that adds its output to value b starts from b in its output's buffer (unless it took b's
   buffer): copied, or converted when a bf16 net holds the two in different types. */
static ub_status seed_sum(ub__fast_net *net, const fop *f, float *dst) {
    if (f->b < 0 || f->inplace) return UB_OK;
    const fval *b = &net->vals[f->b], *o = &net->vals[f->out];
    if (!f->seed.p) {
        memcpy(dst, value_data(net, f->b), sizeof(float) * o->floats);
        return UB_OK;
    }
    const marg r[2] = {{DNNL_ARG_FROM, &b->md, value_data(net, f->b)}, {DNNL_ARG_TO, &o->md, dst}};
    return run_prim(net, &f->seed, 2, r, "summed operand conversion");
}

static ub_status matmul_forward(ub__fast_net *net, const fop *f, const float *params) {
    const fval *o = &net->vals[f->out];
    const int cin = net->vals[f->a].c, cout = o->c;
    const size_t plain = (size_t)cin * 2 * cout, packed = md_floats(&f->mm_w);
    /* PyTorch's (Cin, Cout, 2, 2) -> per row parity a: (Cin, [b, Cout]) */
    const float *w = params + f->w;
    for (int a = 0; a < 2; a++)
        for (int i = 0; i < cin; i++)
            for (int b = 0; b < 2; b++)
                for (int c = 0; c < cout; c++)
                    f->mm_w_plain[(size_t)a * plain + (size_t)i * 2 * cout + (size_t)b * cout + (size_t)c] =
                        w[(((size_t)i * cout + (size_t)c) * 2 + (size_t)a) * 2 + (size_t)b];
    for (int b = 0; b < 2; b++)
        for (int c = 0; c < cout; c++)
            f->mm_b[(size_t)b * cout + (size_t)c] = f->bias != SIZE_MAX ? params[f->bias + (size_t)c] : 0.0f;
    float *dst = value_data(net, f->out);
    TRY(seed_sum(net, f, dst));
    const size_t row_bytes = (size_t)o->w * (size_t)cout * (o->bf16 ? 2 : sizeof(float));
    for (int a = 0; a < 2; a++) {
        const float *wa = f->mm_w_plain + (size_t)a * plain;
        if (f->mm_w_to.p) {
            const marg r[2] = {{DNNL_ARG_FROM, &f->mm_w_user, wa},
                               {DNNL_ARG_TO, &f->mm_w, f->mm_w_buf + (size_t)a * packed}};
            TRY(run_prim(net, &f->mm_w_to, 2, r, "matmul weight reorder"));
            wa = f->mm_w_buf + (size_t)a * packed;
        }
        /* output row 2y + a starts a rows of (w_out x cout) after row 2y */
        const marg args[4] = {{DNNL_ARG_SRC, &f->mm_src, value_data(net, f->a)},
                              {DNNL_ARG_WEIGHTS, &f->mm_w, wa},
                              {DNNL_ARG_BIAS, &f->mm_bias, f->mm_b},
                              {DNNL_ARG_DST, &f->mm_dst, (char *)dst + (size_t)a * row_bytes}};
        TRY(run_prim(net, &f->mm, 4, args, "transposed convolution (matmul)"));
    }
    return UB_OK;
}

static ub_status conv_forward(ub__fast_net *net, const fop *f, const float *params) {
    if (f->matmul) return matmul_forward(net, f, params);
    const float *w = f->w_fwd_buf ? f->w_fwd_buf : params + f->w;
    if (f->w_to_fwd.p) {
        const marg r[2] = {{DNNL_ARG_FROM, &f->w_user, params + f->w}, {DNNL_ARG_TO, &f->w_fwd, f->w_fwd_buf}};
        TRY(run_prim(net, &f->w_to_fwd, 2, r, "weight reorder"));
    }
    float *dst = value_data(net, f->out);
    if (f->deconv) { /* bare, then out = other operand + it + bias */
        const marg args[3] = {{DNNL_ARG_SRC, &net->vals[f->a].md, value_data(net, f->a)},
                              {DNNL_ARG_WEIGHTS, &f->w_fwd, w},
                              {DNNL_ARG_DST, &net->vals[f->out].md, net->tscratch}};
        TRY(run_prim(net, &f->fwd, 3, args, "transposed convolution"));
        ub__blk_add_bias(&net->vals[f->out].lay, dst, f->b >= 0 ? value_data(net, f->b) : NULL, net->tscratch,
                         f->bias != SIZE_MAX ? params + f->bias : NULL, net->threads);
        return UB_OK;
    }
    TRY(seed_sum(net, f, dst));
    marg args[4] = {{DNNL_ARG_SRC, &net->vals[f->a].md, value_data(net, f->a)},
                    {DNNL_ARG_WEIGHTS, &f->w_fwd, w},
                    {DNNL_ARG_DST, &net->vals[f->out].md, dst},
                    {DNNL_ARG_BIAS, &f->b_md, f->bias != SIZE_MAX ? params + f->bias : NULL}};
    return run_prim(net, &f->fwd, f->bias != SIZE_MAX ? 4 : 3, args, f->deconv ? "transposed convolution" : "convolution");
}

/* The whole image's mean for SE op f when the caller set them, else NULL (the op computes its own). */
static const float *se_given_mean(const ub__fast_net *net, const fop *f) {
    if (!net->se_override) return NULL;
    for (int i = 0; i < net->nse; i++)
        if (&net->ops[net->se_ops[i]] == f) return net->se_means + net->se_mean_off[i];
    return NULL;
}

static ub_status op_forward(ub__fast_net *net, const fop *f, const float *params) {
    const fval *a = &net->vals[f->a], *o = &net->vals[f->out];
    const float *x = value_data(net, f->a);
    float *y = value_data(net, f->out);
    const int th = net->threads;
    switch (f->kind) {
    case F_PAD: ub__pad_reflect(y, x, net->n, a->c, a->h, a->w, o->h, o->w, th); break;
    case F_REORDER: {
        const marg r[2] = {{DNNL_ARG_FROM, &a->md, x}, {DNNL_ARG_TO, &o->md, y}};
        return run_prim(net, &f->fwd, 2, r, "input reorder");
    }
    case F_CONV: return conv_forward(net, f, params);
    case F_RELU: ub__vec_relu(y, x, o->floats, th); break;
    case F_ADD: {
        const fval *b = &net->vals[f->b];
        if (a->plain == o->plain && b->plain == o->plain) {
            ub__vec_add(y, x, value_data(net, f->b), o->floats, th);
        } else {
            ub__blk_copy_region(&a->lay, x, &o->lay, y, o->h, o->w, 0, th);
            ub__blk_copy_region(&b->lay, value_data(net, f->b), &o->lay, y, o->h, o->w, 1, th);
        }
        break;
    }
    case F_SE:
        ub__se_forward_mean_blk(&a->lay, y, x, se_given_mean(net, f), params + f->w, params + f->bias, params + f->w2,
                                params + f->b2, f->r, f->cache ? f->cache : net->kcache, net->kscratch, th);
        break;
    case F_SA: ub__sa_forward_blk(&a->lay, y, x, params + f->w, f->k, f->cache ? f->cache : net->kcache, th); break;
    case F_CROP: ub__blk_copy_region(&a->lay, x, &o->lay, y, o->h, o->w, 0, th); break;
    case F_LN:
        ub__ln_forward_blk(&a->lay, y, x, params + f->w, params + f->bias, f->cache ? f->cache : net->kcache, th);
        break;
    case F_GATE: ub__gate_forward_blk(&a->lay, &o->lay, y, x, th); break;
    case F_SCA:
        ub__sca_forward_blk(&a->lay, y, x, se_given_mean(net, f), params + f->w, params + f->bias,
                            f->cache ? f->cache : net->kcache, net->kscratch, th);
        break;
    case F_SCALE: ub__scale_forward_blk(&a->lay, y, x, params + f->w, th); break;
    }
    return UB_OK;
}

/* Runs the first `count` fast ops on the caller's input (output: NULL when they do not reach it). */
static ub_status run_ops(ub__fast_net *net, const float *params, const float *input, float *output, int count) {
    const fval *in = &net->vals[net->in_value];
    net->ext_in = input;
    net->ext_out = output;
    if (!in->external) memcpy(value_data(net, net->in_value), input, sizeof(float) * in->floats);
    ub_status st = UB_OK;
    for (int i = 0; i < count && st == UB_OK; i++) {
        const double t0 = net->prof_fwd ? seconds() : 0;
        st = op_forward(net, &net->ops[i], params);
        if (net->prof_fwd) net->prof_fwd[i] += seconds() - t0;
    }
    return st;
}

ub_status ub__fast_forward(ub__fast_net *net, const float *params, const float *input, float *output) {
    if (!net) return UB_ERR_INVALID;
    if (!params || !input || !output) return ub__fail(net->ctx, UB_ERR_INVALID, "fast RBNet: NULL buffer");
    const int saved = threads_enter(net);
    ub_status st = run_ops(net, params, input, output, net->nops);
    const fval *out = &net->vals[net->out_value];
    if (st == UB_OK && !out->external) memcpy(output, value_data(net, net->out_value), sizeof(float) * out->floats);
    net->ext_in = NULL;
    net->ext_out = NULL;
    net->forward_done = st == UB_OK;
    threads_leave(saved);
    return st;
}

/* ---------------------------------------------------------------- SE hooks (tiled inference) */

int ub__fast_net_se_count(const ub__fast_net *net) { return net->nse; }

void ub__fast_net_se_shape(const ub__fast_net *net, int i, int *c, int *h, int *w) {
    const fval *in = &net->vals[net->ops[net->se_ops[i]].a];
    *c = in->c, *h = in->h, *w = in->w;
}

ub_status ub__fast_net_set_se_means(ub__fast_net *net, const float *const *means) {
    if (!net) return UB_ERR_INVALID;
    if (!means) {
        net->se_override = 0;
        return UB_OK;
    }
    if (net->training) return ub__fail(net->ctx, UB_ERR_INVALID, "fast RBNet: given SE means on a training net");
    for (int i = 0; i < net->nse; i++)
        if (!means[i]) return ub__fail(net->ctx, UB_ERR_INVALID, "fast RBNet: SE %d has no given mean", i);
    for (int i = 0; i < net->nse; i++) {
        const size_t floats = (size_t)net->n * (size_t)net->vals[net->ops[net->se_ops[i]].a].c;
        memcpy(net->se_means + net->se_mean_off[i], means[i], sizeof(float) * floats);
    }
    net->se_override = 1;
    return UB_OK;
}

int ub__fast_net_se_group(const ub__fast_net *net, int k0, double *cost) {
    int k1 = k0 + 1, stop = net->se_op_stop[k0];
    while (k1 < net->nse && net->se_op_stop[k1] <= net->se_ops[k0]) {
        if (net->se_op_stop[k1] > stop) stop = net->se_op_stop[k1];
        k1++;
    }
    if (cost) *cost = net->nops ? (double)stop / net->nops : 0;
    return k1;
}

ub_status ub__fast_se_sums(ub__fast_net *net, const float *params, const float *input, int y0, int y1, int x0,
                           int x1, double *const *sums) {
    if (!net) return UB_ERR_INVALID;
    if (net->nse && ub__fast_net_se_group(net, 0, NULL) != net->nse)
        return ub__fail(net->ctx, UB_ERR_INVALID, "fast RBNet: the global means depend on each other: "
                        "ub__fast_se_sums_range, group by group");
    return ub__fast_se_sums_range(net, params, input, 0, net->nse, y0, y1, x0, x1, sums);
}

ub_status ub__fast_se_sums_range(ub__fast_net *net, const float *params, const float *input, int k0, int k1, int y0,
                                 int y1, int x0, int x1, double *const *sums) {
    if (!net) return UB_ERR_INVALID;
    if (k0 < 0 || k1 > net->nse || k0 > k1) return ub__fail(net->ctx, UB_ERR_INVALID, "fast RBNet: bad SE range");
    if (!params || !input || !sums) return ub__fail(net->ctx, UB_ERR_INVALID, "fast RBNet: NULL buffer");
    if (y0 < 0 || x0 < 0 || y1 <= y0 || x1 <= x0 || y1 > net->grid_h || x1 > net->grid_w)
        return ub__fail(net->ctx, UB_ERR_INVALID, "fast RBNet: SE window [%d, %d) x [%d, %d) outside %dx%d", y0, y1,
                        x0, x1, net->grid_h, net->grid_w);
    int stop = 0;
    for (int i = k0; i < k1; i++) { /* the window must fall on whole pixels of every level */
        if (net->se_op_stop[i] > stop) stop = net->se_op_stop[i];
        const fval *in = &net->vals[net->ops[net->se_ops[i]].a];
        const int sy = net->grid_h / in->h, sx = net->grid_w / in->w;
        if (!sums[i] || sy * in->h != net->grid_h || sx * in->w != net->grid_w || y0 % sy || y1 % sy || x0 % sx ||
            x1 % sx)
            return ub__fail(net->ctx, UB_ERR_INVALID, "fast RBNet: SE window not aligned with level %d", i);
    }
    const int saved = threads_enter(net);
    ub_status st = run_ops(net, params, input, NULL, stop);
    for (int i = k0; st == UB_OK && i < k1; i++) {
        const fval *in = &net->vals[net->ops[net->se_ops[i]].a];
        const int sy = net->grid_h / in->h, sx = net->grid_w / in->w;
        ub__blk_window_sums(&in->lay, value_data(net, net->ops[net->se_ops[i]].a), y0 / sy, y1 / sy, x0 / sx, x1 / sx,
                            net->se_tmp, net->kscratch, net->threads);
        for (size_t k = 0; k < (size_t)net->n * (size_t)in->c; k++) sums[i][k] += net->se_tmp[k];
    }
    net->ext_in = NULL;
    net->forward_done = 0; /* only part of the graph ran */
    threads_leave(saved);
    return st;
}

/* ---------------------------------------------------------------- backward */

/* The gradient buffer of v, zeroed at its first use in this backward pass. */
static float *grad_begin(ub__fast_net *net, int v) {
    float *g = grad_data(net, v);
    if (!net->ginit[v]) {
        memset(g, 0, sizeof(float) * net->vals[v].floats);
        net->ginit[v] = 1;
    }
    return g;
}

/* d(v) += src, where src has v's layout. */
static void grad_add(ub__fast_net *net, int v, const float *src) {
    float *g = grad_data(net, v);
    if (!net->ginit[v]) {
        memcpy(g, src, sizeof(float) * net->vals[v].floats);
        net->ginit[v] = 1;
    } else {
        ub__vec_accumulate(g, src, net->vals[v].floats, net->threads);
    }
}

/* d(v) += src, where src has the layout of value `like` (same sizes). */
static void grad_add_from(ub__fast_net *net, int v, const float *src, int like) {
    const fval *x = &net->vals[v], *l = &net->vals[like];
    if (x->plain == l->plain) {
        grad_add(net, v, src);
        return;
    }
    ub__blk_copy_region(&l->lay, src, &x->lay, grad_begin(net, v), x->h, x->w, 1, net->threads);
}

static ub_status conv_backward(ub__fast_net *net, const fop *f, const float *params, float *dparams, int all) {
    const fval *x = &net->vals[f->a], *o = &net->vals[f->out];
    float *dy = grad_data(net, f->out);
    if (f->b >= 0) grad_add(net, f->b, dy);
    if (f->relu) ub__vec_relu_mask(dy, value_data(net, f->out), o->floats, net->threads);
    const void *dyp = dy;
    if (f->dy_to16.p) { /* bf16 training: both passes read the gradient in bf16 */
        const marg r[2] = {{DNNL_ARG_FROM, &o->md, dy}, {DNNL_ARG_TO, &f->dy_md, net->dy16}};
        TRY(run_prim(net, &f->dy_to16, 2, r, "gradient to bf16"));
        dyp = net->dy16;
    }
    /* weights and bias */
    const size_t wf = md_floats(&f->w_diff);
    float *dw = net->dw_scratch, *db = net->dw_scratch + wf;
    marg wa[4] = {{DNNL_ARG_SRC, &x->md, value_data(net, f->a)},
                  {DNNL_ARG_DIFF_DST, &f->dy_md, dyp},
                  {DNNL_ARG_DIFF_WEIGHTS, &f->w_diff, dw},
                  {DNNL_ARG_DIFF_BIAS, &f->b_md, db}};
    TRY(run_prim(net, &f->bwd_weights, f->bias != SIZE_MAX ? 4 : 3, wa, "convolution backward weights"));
    const marg r[2] = {{DNNL_ARG_FROM, &f->w_diff, dw}, {DNNL_ARG_TO, &f->w_user, dparams + f->w}};
    TRY(run_prim(net, &f->dw_to_user, 2, r, "weight gradient reorder"));
    if (f->bias != SIZE_MAX)
        for (int c = 0; c < o->c; c++) dparams[f->bias + (size_t)c] += db[c];
    if (!all && !x->needs_grad) return UB_OK;
    /* the input: written straight into its gradient if that is still empty, else added */
    const float *w = params + f->w;
    if (f->w_to_bwd.p) {
        const marg wr[2] = {{DNNL_ARG_FROM, &f->w_user, params + f->w}, {DNNL_ARG_TO, &f->w_bwd, f->w_bwd_buf}};
        TRY(run_prim(net, &f->w_to_bwd, 2, wr, "weight reorder"));
        w = f->w_bwd_buf;
    } else if (f->w_fwd_buf && dnnl_memory_desc_equal(&f->w_bwd, &f->w_fwd)) {
        w = f->w_fwd_buf; /* reordered by the forward pass from the same parameters */
    }
    /* (the gradient of a bf16 copy is that of the float value it copies) */
    const int gx = x->copy_of >= 0 ? x->copy_of : f->a;
    const int first = !net->ginit[gx];
    float *dx = first ? grad_data(net, gx) : net->gscratch;
    const marg da[3] = {{DNNL_ARG_DIFF_DST, &f->dy_md, dyp}, {DNNL_ARG_WEIGHTS, &f->w_bwd, w},
                        {DNNL_ARG_DIFF_SRC, &f->dx_md, dx}};
    TRY(run_prim(net, &f->bwd_data, 3, da, "convolution backward data"));
    if (first) net->ginit[gx] = 1;
    else ub__vec_accumulate(grad_data(net, gx), dx, net->vals[gx].floats, net->threads);
    return UB_OK;
}

static ub_status op_backward(ub__fast_net *net, const fop *f, const float *params, float *dparams, int all) {
    const fval *a = &net->vals[f->a], *o = &net->vals[f->out];
    const int th = net->threads;
    if (!all && !o->needs_grad) return UB_OK;
    if (o->copy_of >= 0) return UB_OK; /* a bf16 copy: its readers wrote the float value's gradient */
    float *dy = grad_begin(net, f->out); /* zeros if nothing reached this value */
    const int want_a = all || a->needs_grad;
    switch (f->kind) {
    case F_PAD:
        if (want_a) ub__pad_reflect_backward(grad_begin(net, f->a), dy, net->n, a->c, a->h, a->w, o->h, o->w, th);
        break;
    case F_REORDER:
        if (want_a) {
            const marg r[2] = {{DNNL_ARG_FROM, &o->md, dy}, {DNNL_ARG_TO, &a->md, grad_begin(net, f->a)}};
            return run_prim(net, &f->bwd_data, 2, r, "input gradient reorder");
        }
        break;
    case F_CONV: return conv_backward(net, f, params, dparams, all);
    case F_RELU:
        ub__vec_relu_mask(dy, value_data(net, f->out), o->floats, th);
        if (want_a) grad_add(net, f->a, dy);
        break;
    case F_ADD:
        if (want_a) grad_add_from(net, f->a, dy, f->out);
        if (all || net->vals[f->b].needs_grad) grad_add_from(net, f->b, dy, f->out);
        break;
    case F_SE:
        ub__se_backward_blk(&a->lay, want_a ? grad_begin(net, f->a) : NULL, dparams + f->w, dparams + f->bias,
                            dparams + f->w2, dparams + f->b2, dy, value_data(net, f->a), params + f->w, params + f->w2,
                            f->r, f->cache, net->kscratch, th);
        break;
    case F_SA:
        ub__sa_backward_blk(&a->lay, want_a ? grad_begin(net, f->a) : NULL, dparams + f->w, dy, value_data(net, f->a),
                            params + f->w, f->k, f->cache, net->kscratch, th);
        break;
    case F_CROP:
        if (want_a) ub__blk_copy_region(&o->lay, dy, &a->lay, grad_begin(net, f->a), o->h, o->w, 1, th);
        break;
    case F_LN:
        ub__ln_backward_blk(&a->lay, want_a ? grad_begin(net, f->a) : NULL, dparams + f->w, dparams + f->bias, dy,
                            value_data(net, f->a), params + f->w, f->cache, net->kscratch, th);
        break;
    case F_GATE:
        if (want_a) ub__gate_backward_blk(&a->lay, &o->lay, grad_begin(net, f->a), dy, value_data(net, f->a), th);
        break;
    case F_SCA:
        ub__sca_backward_blk(&a->lay, want_a ? grad_begin(net, f->a) : NULL, dparams + f->w, dparams + f->bias, dy,
                             value_data(net, f->a), params + f->w, f->cache, net->kscratch, th);
        break;
    case F_SCALE:
        ub__scale_backward_blk(&a->lay, want_a ? grad_begin(net, f->a) : NULL, dparams + f->w, dy,
                               value_data(net, f->a), params + f->w, net->kscratch, th);
        break;
    }
    return UB_OK;
}

ub_status ub__fast_backward(ub__fast_net *net, const float *params, const float *doutput, float *dparams,
                            float *dinput) {
    return ub__fast_backward_hooked(net, params, doutput, dparams, dinput, NULL, NULL);
}

ub_status ub__fast_backward_hooked(ub__fast_net *net, const float *params, const float *doutput, float *dparams,
                                   float *dinput, ub__fast_grads_final final, void *user) {
    if (!net) return UB_ERR_INVALID;
    if (!net->training) return ub__fail(net->ctx, UB_ERR_INVALID, "fast RBNet: backward on an inference net");
    if (!net->forward_done) return ub__fail(net->ctx, UB_ERR_INVALID, "fast RBNet: backward before forward");
    if (!params || !doutput || !dparams) return ub__fail(net->ctx, UB_ERR_INVALID, "fast RBNet: NULL buffer");
    const int saved = threads_enter(net);
    memset(net->ginit, 0, (size_t)net->nvals);
    grad_add(net, net->out_value, doutput);
    const int all = dinput != NULL;
    ub_status st = UB_OK;
    for (int i = net->nops - 1; i >= 0 && st == UB_OK; i--) {
        const double t0 = net->prof_bwd ? seconds() : 0;
        st = op_backward(net, &net->ops[i], params, dparams, all);
        if (net->prof_bwd) net->prof_bwd[i] += seconds() - t0;
        if (final && st == UB_OK) st = final(user, net->ops[i].before_end);
    }
    if (st == UB_OK && dinput) {
        const float *g = grad_begin(net, net->in_value);
        ub__vec_accumulate(dinput, g, net->vals[net->in_value].floats, net->threads);
    }
    threads_leave(saved);
    return st;
}

/* ---------------------------------------------------------------- description */

static const char *prim_impl(const prim *p) {
    const_dnnl_primitive_desc_t pd = NULL;
    const char *impl = NULL;
    if (!p->p || dnnl_primitive_get_primitive_desc(p->p, &pd) != dnnl_success ||
        dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) != dnnl_success || !impl)
        return "-";
    return impl;
}

size_t ub__fast_net_describe(const ub__fast_net *net, char *buf, size_t size) {
    static const char *const names[] = {"pad", "reorder", "conv", "relu", "add", "se", "sa", "crop",
                                        "lnorm", "gate", "sca", "scale"};
    size_t used = 0;
    for (int i = 0; i < net->nops; i++) {
        const fop *f = &net->ops[i];
        const fval *a = &net->vals[f->a], *o = &net->vals[f->out];
        char line[320];
        int len = snprintf(line, sizeof line, "%3d %-7s %4d -> %-4d %5dx%-5d slot %2d%s", i,
                           f->kind == F_CONV && f->deconv ? "convT" : names[f->kind], a->c, o->c, o->h, o->w, o->slot,
                           f->inplace ? " (in place)" : "");
        if (f->kind == F_CONV)
            len += snprintf(line + len, sizeof line - (size_t)len,
                            " k%d s%d%s%s%s  fwd %s (scratch %.1f MB)  bwd-data %s  bwd-weights %s", f->k, f->stride,
                            f->relu ? " +relu" : "", f->b >= 0 ? " +sum" : "",
                            !net->vals[f->a].bf16 ? "" : o->bf16 ? " bf16->bf16" : " bf16->f32", prim_impl(f->matmul ? &f->mm : &f->fwd),
                            dnnl_memory_desc_get_size(f->matmul ? &f->mm.scratch : &f->fwd.scratch) / 1e6,
                            prim_impl(&f->bwd_data),
                            prim_impl(&f->bwd_weights));
        if (f->kind == F_REORDER)
            len += snprintf(line + len, sizeof line - (size_t)len, "  %s / %s", prim_impl(&f->fwd), prim_impl(&f->bwd_data));
        if (net->prof_fwd && len > 0 && (size_t)len < sizeof line)
            len += snprintf(line + len, sizeof line - (size_t)len, "  [fwd %.1f ms, bwd %.1f ms]", 1e3 * net->prof_fwd[i],
                            1e3 * net->prof_bwd[i]);
        if (len < 0) continue;
        if (used + (size_t)len + 2 <= size) {
            memcpy(buf + used, line, (size_t)len);
            buf[used + (size_t)len] = '\n';
            buf[used + (size_t)len + 1] = '\0';
        }
        used += (size_t)len + 1;
    }
    for (int k = 0; net->prof_fwd && k <= F_SCALE; k++) {
        double fw = 0, bw = 0;
        for (int i = 0; i < net->nops; i++)
            if ((int)net->ops[i].kind == k) fw += net->prof_fwd[i], bw += net->prof_bwd[i];
        char line[96];
        const int len = snprintf(line, sizeof line, "total %-7s fwd %8.1f ms  bwd %8.1f ms\n", names[k], 1e3 * fw, 1e3 * bw);
        if (len > 0 && used + (size_t)len + 1 <= size) memcpy(buf + used, line, (size_t)len + 1);
        if (len > 0) used += (size_t)len;
    }
    for (int i = 0; i < net->nslots; i++) {
        char line[96];
        const int len = snprintf(line, sizeof line, "buffer %d: %.1f MB at %.1f MB of the arena (%.1f MB)\n", i,
                                 net->slot_floats[i] * 4 / 1e6, net->slot_offsets[i] * 4 / 1e6,
                                 net->arena_floats * 4 / 1e6);
        if (len > 0 && used + (size_t)len + 1 <= size) memcpy(buf + used, line, (size_t)len + 1);
        if (len > 0) used += (size_t)len;
    }
    return used + 1;
}

