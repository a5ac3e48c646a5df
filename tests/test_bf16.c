/* tests/test_bf16.c — bf16 inference (ub__fast_net_create_bf16, ub_model_set_precision) against float:
   - the fast executor: bf16 nets of small random-weight RBNets ({W8 N1 D2}, {W16 N2 D3 M1}) on odd and even
     sizes, batch 1 and 2, give outputs within BF16_PSNR of the float net's, pick oneDNN's native bf16
     implementations only, hold no more memory of their own than the float net (oneDNN's scratchpad aside: it
     is larger on AMX), and give the same bits on a
     second call and on 1 thread as on 2; on nChw16c too (the transposed convolutions' other path), where
     oneDNN has native bf16 code for it (W = 16; W = 8 and nChw8c are refused);
   - the model: ub_model_run in bf16 vs fp32 on a test image; tiled bf16 vs whole-image bf16 (the same
     arithmetic on the same values, as in float); what ran (ub_model_precision_used);
   - the fallback: a model whose CPU features lack AVX512-BF16 and AMX runs fp32, bit-identical to fp32;
     the executor refuses such a CPU (UB_ERR_UNSUPPORTED); a oneDNN capped below bf16
     (ONEDNN_MAX_CPU_ISA=AVX512_CORE, in a child process: oneDNN reads it once) refuses too, although the CPU
     has bf16, instead of running an emulated bf16.
   Why BF16_PSNR = 40 dB (PSNR of the bf16 output against the float output, peak 1): bf16 keeps 8 bits of
   mantissa (relative rounding <= 2^-9 = 0.2%); every convolution rounds its input and weights so, and
   accumulates in float. The output is the input plus the tail's residual, so the error is ~0.2-0.4% of the
   residual's size after a few layers; with these random weights (PyTorch's initialisation; the model's SE
   and tail strengthened) that gives errors of ~1e-3 .. 1e-4 RMS (measured: 68 dB on the executor's
   cases, 60 dB on the model's, printed). With such weights the residual is small and the PSNR says
   little about the deep layers, so the executor's cases also check the residual's own signal-to-noise
   ratio, sum (y - x)^2 / sum (bf16 - y)^2 (measured: 53-54 dB, i.e. ~0.2% of the residual, bf16's
   rounding), against RESIDUAL_SNR = 40 dB. Checked by hand: a convolution that skips its summed operand
   in the bottleneck or the last decoder stage gives 18 dB and 2.5 dB. The goal, >= 45 dB on a real
   image with real weights, is measured by bench/run_bf16_bench.sh.
   Skipped (77) when the CPU has no native bf16 (AVX512-BF16 or AMX) or oneDNN has no CPU engine. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nn/dnnl_exec.h"
#include "nn/graph.h"
#include "nn/model.h"
#include "testutil.h"

#define BF16_PSNR 40.0    /* dB; see above */
#define RESIDUAL_SNR 40.0 /* dB; see above */
#define TILE_PSNR 80.0 /* tiled vs whole bf16: the same arithmetic (measured: identical, printed) */

static int skipped;

static double psnr(const float *a, const float *b, size_t n) {
    double se = 0;
    for (size_t i = 0; i < n; i++) se += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    return se == 0 ? INFINITY : 10 * log10((double)n / se);
}

/* The signal-to-noise ratio (dB) of the network's own contribution, the residual y - x that the output adds
   to the input: sum (y - x)^2 / sum (ours - y)^2. */
static double residual_snr(const float *ours, const float *y, const float *x, size_t n) {
    double signal = 0, noise = 0;
    for (size_t i = 0; i < n; i++) {
        signal += ((double)y[i] - x[i]) * ((double)y[i] - x[i]);
        noise += ((double)ours[i] - y[i]) * ((double)ours[i] - y[i]);
    }
    return noise == 0 ? INFINITY : 10 * log10(signal / noise);
}

/* NAF's beta / gamma start at zero, which would leave its blocks (and their SCA means) out of the output:
   they are set to 0.5. Nothing else is named so. */
static void wake_naf_blocks(const ub__param_table *t, float *params) {
    for (int i = 0; params && i < t->count; i++)
        if (strstr(t->params[i].name, ".beta") || strstr(t->params[i].name, ".gamma"))
            for (size_t j = 0; j < t->params[i].count; j++) params[t->params[i].offset + j] = 0.5f;
}

/* ---- the executor ---- */

typedef struct net_case {
    int width, blocks, mid, depth, n, h, w, block;
} net_case;

static void test_executor(ub_ctx *ctx, const net_case *k) {
    ub__rbnet_config c;
    ub__rbnet_config_default(&c);
    c.width = k->width, c.blocks = k->blocks, c.mid_blocks = k->mid, c.depth = k->depth;
    c.block = k->block;
    ub__param_table t;
    ub__graph g;
    if (ub__rbnet_params(ctx, &c, &t) != UB_OK) {
        CHECK_MSG(0, "%s", ub_last_error(ctx));
        return;
    }
    CHECK_OK(ctx, ub__rbnet_graph(ctx, &c, &t, k->n, k->h, k->w, &g));
    float *params = calloc(t.total, sizeof(float));
    const size_t pixels = (size_t)k->n * 3 * (size_t)k->h * (size_t)k->w;
    float *x = calloc(pixels, sizeof(float)), *y32 = calloc(pixels, sizeof(float)), *y16 = calloc(pixels, sizeof(float));
    ub_rng rng;
    ub_rng_seed(&rng, 11);
    ub__rbnet_init(&t, &rng, params);
    wake_naf_blocks(&t, params);
    for (size_t i = 0; i < pixels; i++) x[i] = (float)ub_rng_uniform(&rng);
    ub__fast_net *f32 = NULL, *bf16 = NULL;
    ub_status st = ub__fast_net_create(ctx, &g, &t, 0, &f32);
    if (st == UB_OK) st = ub__fast_net_create_bf16(ctx, &g, &t, UB_FAST_LAYOUT_AUTO, ub_cpu_features(), &bf16);
    if (st == UB_ERR_UNSUPPORTED) {
        printf("test_bf16: %s\n", ub_last_error(ctx));
        skipped = 1;
    } else if (params && x && y32 && y16) {
        CHECK_OK(ctx, st);
        CHECK_OK(ctx, ub__fast_forward(f32, params, x, y32));
        CHECK_OK(ctx, ub__fast_forward(bf16, params, x, y16));
        const double db = psnr(y16, y32, pixels), snr = residual_snr(y16, y32, x, pixels);
        ub__fast_net_info i32, i16;
        ub__fast_net_get_info(f32, &i32);
        ub__fast_net_get_info(bf16, &i16);
        printf("%s W%d N%d M%d D%d n%d %dx%d: bf16 vs fp32 %.1f dB, residual SNR %.1f dB; activations %.2f MB (fp32 "
               "%.2f MB), oneDNN scratchpad %.3f MB (fp32 %.3f MB); %s\n", ub__rbnet_block_name(k->block), k->width, k->blocks, k->mid, k->depth,
               k->n, k->h, k->w, db, snr, i16.buffer_bytes / 1e6, i32.buffer_bytes / 1e6,
               i16.dnnl_scratch_bytes / 1e6, i32.dnnl_scratch_bytes / 1e6, i16.impls);
        CHECK_MSG(db >= BF16_PSNR, "%.1f dB", db);
        CHECK_MSG(snr >= RESIDUAL_SNR, "%.1f dB", snr);
        CHECK(i16.bf16 == 1 && i32.bf16 == 0);
        /* our own buffers (activations, caches): never more than float's. oneDNN's scratchpad is its
           implementations' choice and not compared: on an AMX Xeon the bf16 brgemm convolutions ask for
           100 KiB more of it than the float ones (per-thread tile buffers), which made the whole sum fail */
        const size_t own16 = i16.buffer_bytes - i16.dnnl_scratch_bytes, own32 = i32.buffer_bytes - i32.dnnl_scratch_bytes;
        CHECK_MSG(own16 <= own32, "%zu > %zu", own16, own32);
        CHECK_MSG(!strstr(i16.impls, "ref:") && (strstr(i16.impls, "bf16") || strstr(i16.impls, "amx")), "%s",
                  i16.impls);
        /* a second call gives the same bits (weights are reordered again, buffers reused) */
        float *again = calloc(pixels, sizeof(float));
        CHECK_OK(ctx, ub__fast_forward(bf16, params, x, again));
        CHECK(again && !memcmp(again, y16, pixels * sizeof(float)));
        /* and so does one thread (the C kernels are thread-count independent; so, as measured, is oneDNN here) */
        ub_ctx *one = test_ctx(1);
        ub__fast_net *single = NULL;
        CHECK_OK(one, ub__fast_net_create_bf16(one, &g, &t, UB_FAST_LAYOUT_AUTO, ub_cpu_features(), &single));
        if (single) CHECK_OK(one, ub__fast_forward(single, params, x, again));
        CHECK(again && !memcmp(again, y16, pixels * sizeof(float)));
        ub__fast_net_destroy(&single);
        ub_ctx_destroy(&one);
        /* blocked layouts: the transposed convolutions run as oneDNN deconvolutions into float (a bias pass
           adds the rest). oneDNN 2.6 has no native bf16 convolution on nChw8c, nor on nChw16c with 8
           channels (it offers "ref:any"): those nets are refused; W = 16 must run on nChw16c */
        const ub__fast_layout layouts[2] = {UB_FAST_LAYOUT_BLOCKED16, UB_FAST_LAYOUT_BLOCKED8};
        for (int l = 0; l < 2 && again; l++) {
            ub__fast_net *blk = NULL;
            st = ub__fast_net_create_bf16(ctx, &g, &t, layouts[l], ub_cpu_features(), &blk);
            const int must = layouts[l] == UB_FAST_LAYOUT_BLOCKED16 && k->width % 16 == 0;
            if (st == UB_ERR_UNSUPPORTED && !must) {
                printf("  %s: refused (%s)\n", l ? "nChw8c" : "nChw16c", ub_last_error(ctx));
                continue;
            }
            CHECK_OK(ctx, st);
            if (st != UB_OK) continue;
            CHECK_OK(ctx, ub__fast_forward(blk, params, x, again));
            const double bdb = psnr(again, y32, pixels);
            printf("  %s: bf16 vs fp32 %.1f dB\n", l ? "nChw8c" : "nChw16c", bdb);
            CHECK_MSG(bdb >= BF16_PSNR, "%.1f dB", bdb);
            ub__fast_net_destroy(&blk);
        }
        free(again);
    }
    ub__fast_net *refused = NULL;
    const unsigned no_bf16 = ub_cpu_features() & ~(unsigned)(UB_CPU_AVX512BF16 | UB_CPU_AMX);
    CHECK(ub__fast_net_create_bf16(ctx, &g, &t, UB_FAST_LAYOUT_AUTO, no_bf16, &refused) == UB_ERR_UNSUPPORTED);
    CHECK(refused == NULL);
    ub__fast_net_destroy(&f32);
    ub__fast_net_destroy(&bf16);
    free(params), free(x), free(y32), free(y16);
    ub__graph_free(&g);
    ub__param_table_free(&t);
}

/* ---- the model ---- */

static ub_model *make_model(ub_ctx *ctx, int width, int blocks, int depth, int block) {
    ub_rbnet_config c;
    ub_rbnet_default(&c);
    c.width = width, c.blocks = blocks, c.mid_blocks = blocks, c.depth = depth, c.block = block;
    ub_rng r;
    ub_rng_seed(&r, 5);
    ub_model *m = NULL;
    CHECK_OK(ctx, ub_model_create(ctx, &c, &r, &m));
    /* stronger SE and tail (as test_tiling.c does): the global SE means must show in the output */
    for (int i = 0; m && i < m->net.table.count; i++) {
        const ub__param *p = &m->net.table.params[i];
        const float gain = strstr(p->name, ".se.fc") ? 6.0f : !strcmp(p->name, "tail.weight") ? 4.0f : 1.0f;
        for (size_t k = 0; k < p->count; k++) m->params[p->offset + k] *= gain;
    }
    if (m) wake_naf_blocks(&m->net.table, m->params);
    return m;
}

static size_t image_floats(const ub_image *a) { return (size_t)a->width * (size_t)a->height * (size_t)a->channels; }

static void test_model(ub_ctx *ctx, int block) {
    ub_model *m = make_model(ctx, 16, 2, 2, block);
    ub_image *in = test_image(ctx, 203, 157, 3, 3), *fp32 = NULL, *whole = NULL, *tiled = NULL;
    if (!m || !in) return;
    CHECK(ub_model_precision_used(m) == UB_PRECISION_FP32);
    CHECK(ub_model_set_precision(m, (ub_precision)7) == UB_ERR_INVALID);
    CHECK_OK(ctx, ub_model_run_tiled(m, in, UB_MODEL_TILE_OFF, &fp32));
    CHECK(ub_model_precision_used(m) == UB_PRECISION_FP32);
    for (int p = UB_PRECISION_BF16; p <= UB_PRECISION_AUTO; p++) {
        CHECK_OK(ctx, ub_model_set_precision(m, (ub_precision)p));
        CHECK(ub_model_precision_used(m) == UB_PRECISION_BF16); /* expected: the CPU has bf16 */
        CHECK_OK(ctx, ub_model_run_tiled(m, in, UB_MODEL_TILE_OFF, &whole));
        CHECK(ub_model_precision_used(m) == UB_PRECISION_BF16);
        CHECK_OK(ctx, ub_model_run_tiled(m, in, 48, &tiled)); /* 4 x 4 tiles (margin 48) */
        CHECK(ub_model_precision_used(m) == UB_PRECISION_BF16);
        if (fp32 && whole && tiled) {
            const double db = psnr(whole->data, fp32->data, image_floats(in));
            const double tile_db = psnr(tiled->data, whole->data, image_floats(in));
            printf("model %s W16 N2 D2 203x157 (%s): bf16 vs fp32 %.1f dB; tiled vs whole bf16 %.1f dB\n",
                   ub__rbnet_block_name(block), p == UB_PRECISION_BF16 ? "bf16" : "auto", db, tile_db);
            CHECK_MSG(db >= BF16_PSNR, "%.1f dB", db);
            CHECK_MSG(tile_db >= TILE_PSNR, "%.1f dB", tile_db);
        }
        ub_image_destroy(&whole);
        ub_image_destroy(&tiled);
    }
    /* a CPU without native bf16: fp32, bit for bit */
    m->cpu_features &= ~(unsigned)(UB_CPU_AVX512BF16 | UB_CPU_AMX);
    CHECK_OK(ctx, ub_model_set_precision(m, UB_PRECISION_BF16));
    CHECK(ub_model_precision_used(m) == UB_PRECISION_FP32);
    CHECK_OK(ctx, ub_model_run_tiled(m, in, UB_MODEL_TILE_OFF, &whole));
    CHECK(ub_model_precision_used(m) == UB_PRECISION_FP32);
    CHECK(whole && fp32 && !memcmp(whole->data, fp32->data, image_floats(in) * sizeof(float)));
    ub_image_destroy(&whole);
    ub_image_destroy(&fp32);
    ub_image_destroy(&in);
    ub_model_destroy(&m);
}

/* ---- oneDNN capped below bf16: the child process (argv[1] = "--capped") ---- */

static int capped_child(void) {
    ub_ctx *ctx = test_ctx(1);
    ub__rbnet_config c;
    ub__rbnet_config_default(&c);
    c.width = 8, c.blocks = 1, c.mid_blocks = 1;
    ub__param_table t;
    ub__graph g;
    ub__fast_net *net = NULL;
    int rc = 1;
    if (ub__rbnet_params(ctx, &c, &t) == UB_OK && ub__rbnet_graph(ctx, &c, &t, 1, 32, 32, &g) == UB_OK) {
        const ub_status st = ub__fast_net_create_bf16(ctx, &g, &t, UB_FAST_LAYOUT_AUTO, ub_cpu_features(), &net);
        printf("test_bf16 (ONEDNN_MAX_CPU_ISA=AVX512_CORE): %s\n", st == UB_OK ? "made a bf16 net" : ub_last_error(ctx));
        rc = st == UB_ERR_UNSUPPORTED ? 0 : 1;
        ub__fast_net_destroy(&net);
        ub__graph_free(&g);
        ub__param_table_free(&t);
    }
    ub_ctx_destroy(&ctx);
    return rc;
}

static void test_capped(void) {
    fflush(stdout);
    const pid_t pid = fork();
    if (pid == 0) {
        setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE", 1);
        char *const args[] = {"test_bf16", "--capped", NULL};
        execv("/proc/self/exe", args);
        _exit(127);
    }
    int status = 0;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "--capped")) return capped_child();
    if (!(ub_cpu_features() & (UB_CPU_AVX512BF16 | UB_CPU_AMX))) {
        printf("test_bf16: skipped (this CPU has no native bf16: AVX512-BF16 or AMX)\n");
        return 77;
    }
    ub_ctx *ctx = test_ctx(2);
    const net_case cases[] = {{8, 1, 1, 2, 1, 37, 45, UB__BLOCK_RES}, {8, 1, 1, 2, 2, 64, 64, UB__BLOCK_RES},
                              {16, 2, 1, 3, 1, 61, 83, UB__BLOCK_RES}, {16, 2, 1, 3, 1, 96, 128, UB__BLOCK_RES},
                              {8, 1, 1, 2, 1, 37, 45, UB__BLOCK_NAF},
                              {16, 1, 1, 3, 2, 61, 83, UB__BLOCK_NAF}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases && !skipped; i++) test_executor(ctx, &cases[i]);
    if (!skipped) test_model(ctx, UB_RBNET_BLOCK_RES);
    if (!skipped) test_model(ctx, UB_RBNET_BLOCK_NAF);
    ub_ctx_destroy(&ctx);
    if (!skipped) test_capped();
    if (skipped) {
        printf("test_bf16: skipped (no native bf16 in oneDNN here, or no CPU engine)\n");
        return 77;
    }
    return test_finish("bf16");
}
