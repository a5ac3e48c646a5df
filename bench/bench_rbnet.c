/* bench/bench_rbnet.c — RBNet on the fast executor (oneDNN, float32):
   inference latency and peak memory at one image size, or the throughput
   of a training step. One JSON object per run on stdout, with the field
   names of ../shared/peers/torch_rbnet_bench.py so that the two compare
   line by line (bench/run_rbnet_bench.sh does that).

   usage: ub_bench_rbnet --size HxW [options]          inference, batch 1
          ub_bench_rbnet --train [--batch 8 --crop 128] [options]
          ub_bench_rbnet --peak [--threads 2]           the machine's fp32 FMA throughput
   options: --width 32 --blocks 2 --mid-blocks M (default: blocks) --depth 2 --threads 2
            --iters 11 --warmup 2 --layout auto|nhwc|blocked16|blocked8
            --precision fp32|bf16 (inference: bf16 = ub__fast_net_create_bf16; training: mixed precision,
              ub__fast_net_create_bf16_training; either fails without native bf16)
            --block res|naf (the RBNet block kind; default res)
            --model M.safetensors (its weights and architecture; default: random weights)
            --image IN.png (the input, and --size, from an image; default: random values)
            --compare (bf16: also run the float net on the same input, after the timing and the peak RSS,
                       and report "psnr_vs_fp32" (dB, peak 1) and "max_abs_vs_fp32" of the outputs
                       clipped to [0, 1], as ub_model_run clips them)
   One configuration per process, so that peak_rss_mib (ru_maxrss) is that configuration's own.
   Inference: "ms" = median of --iters forward passes after --warmup; "gflops" = 2 x the
   convolution and linear MACs (counted as torch_rbnet_bench.py counts them) / median time.
   Training: one step = forward + L1 loss gradient + backward + Adam (lr 1e-4) on --batch random
   crops; "images_per_s" = batch / median step time; "gflops" there = 3 x the forward FLOPs (forward,
   backward-data, backward-weights) / step time.
   Peak: the theoretical fp32 peak = threads x nominal GHz (/proc/cpuinfo) x 2 FMA units x lanes (16 with
   AVX-512F, else 8) x 2, and a measured FMA loop (12 independent chains per thread, as the peers'
   dnnl_conv_bench.c does), which shows the clock the cores really run at. */
#include <immintrin.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "nn/dnnl_exec.h"
#include "nn/graph.h"
#include "nn/model.h"
#include "bench_util.h"
#include "unblur.h"

static double cpu_seconds(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_sec +
           1e-6 * (double)ru.ru_stime.tv_usec;
}

static double peak_rss_mib(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0;
}

static double rss_mib(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    double kib = 0;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6)) kib = atof(line + 6);
    if (f) fclose(f);
    return kib / 1024.0;
}

static void *xmalloc(size_t n) {
    void *p = calloc(n ? n : 1, 1);
    if (!p) {
        fprintf(stderr, "ub_bench_rbnet: out of memory\n");
        exit(1);
    }
    return p;
}

/* splitmix64 -> [0, 1) */
static double uniform(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return (double)((z ^ (z >> 31)) >> 11) * 0x1.0p-53;
}

/* PyTorch's default initialisation: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), biases with their weight's fan_in. */
static float *init_params(const ub__param_table *t) {
    float *p = xmalloc(sizeof(float) * t->total);
    uint64_t s = 1;
    double bound = 1;
    for (int i = 0; i < t->count; i++) {
        const ub__param *q = &t->params[i];
        if (q->rank >= 2) {
            double fan_in = (double)q->shape[1];
            for (int d = 2; d < q->rank; d++) fan_in *= (double)q->shape[d];
            bound = 1 / sqrt(fan_in);
        }
        for (size_t j = 0; j < q->count; j++) p[q->offset + j] = (float)(bound * (2 * uniform(&s) - 1));
    }
    return p;
}

/* Multiply-accumulates of one forward pass, as torch_rbnet_bench.py counts them (conv, conv-transpose,
   linear; the spatial-attention conv included). */
static double count_macs(const ub__graph *g) {
    double macs = 0;
    for (int i = 0; i < g->nops; i++) {
        const ub__op *op = &g->ops[i];
        const ub__value *a = &g->values[op->a], *o = &g->values[op->out];
        if (op->kind == UB_OP_CONV) macs += (double)o->c * o->h * o->w * a->c * op->k * op->k;
        if (op->kind == UB_OP_CONVT) macs += (double)a->c * a->h * a->w * o->c * 4;
        if (op->kind == UB_OP_SE) macs += 2.0 * a->c * op->r;
        if (op->kind == UB_OP_SA) macs += (double)a->h * a->w * 2 * op->k * op->k;
    }
    return macs * g->n;
}

static const char *layout_name(ub__fast_layout l) {
    return l == UB_FAST_LAYOUT_NHWC ? "nhwc" : l == UB_FAST_LAYOUT_BLOCKED16 ? "nChw16c" : l == UB_FAST_LAYOUT_BLOCKED8 ? "nChw8c" : "auto";
}

/* ---- the machine's peak: an FMA loop of 12 independent chains per thread (the peers' loop, plus a
   compiler barrier: without it, gcc 12 makes that loop report 1.5x the possible rate here) ---- */
#define FMA_LOOP(NAME, TARGET, VEC, SET1, FMADD, LANES)                                                     \
    __attribute__((target(TARGET))) static double NAME(int threads) {                                       \
        const long iters = 50000000L;                                                                       \
        float sink = 0;                                                                                     \
        const double t0 = bench_seconds();                                                                            \
        _Pragma("omp parallel num_threads(threads) reduction(+ : sink)") {                                  \
            VEC b = SET1(0.999999f), c = SET1(1e-7f), a0 = SET1(1.f), a1 = a0, a2 = a0, a3 = a0, a4 = a0,    \
                a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;                            \
            for (long i = 0; i < iters; i++) {                                                              \
                a0 = FMADD(a0, b, c), a1 = FMADD(a1, b, c), a2 = FMADD(a2, b, c), a3 = FMADD(a3, b, c);     \
                a4 = FMADD(a4, b, c), a5 = FMADD(a5, b, c), a6 = FMADD(a6, b, c), a7 = FMADD(a7, b, c);     \
                a8 = FMADD(a8, b, c), a9 = FMADD(a9, b, c), a10 = FMADD(a10, b, c), a11 = FMADD(a11, b, c); \
                /* an empty asm that "changes" the chains: the compiler cannot simplify the loop */          \
                __asm__ volatile("" : "+v"(a0), "+v"(a1), "+v"(a2), "+v"(a3), "+v"(a4), "+v"(a5), "+v"(a6),  \
                                 "+v"(a7), "+v"(a8), "+v"(a9), "+v"(a10), "+v"(a11));                       \
            }                                                                                               \
            VEC sum = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;                          \
            sink += sum[0];                                                                                 \
        }                                                                                                   \
        const double dt = bench_seconds() - t0;                                                                       \
        if (sink == 12345.f) fputc(' ', stderr); /* keeps the result live */                               \
        return (double)threads * iters * 12 * LANES * 2 / dt / 1e9;                                         \
    }
FMA_LOOP(fma_gflops_avx2, "avx2,fma", __m256, _mm256_set1_ps, _mm256_fmadd_ps, 8)
FMA_LOOP(fma_gflops_avx512, "avx512f", __m512, _mm512_set1_ps, _mm512_fmadd_ps, 16)

static double nominal_ghz(void) {
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[256];
    double mhz = 0;
    while (f && mhz == 0 && fgets(line, sizeof line, f))
        if (!strncmp(line, "cpu MHz", 7) && strchr(line, ':')) mhz = atof(strchr(line, ':') + 1);
    if (f) fclose(f);
    return mhz / 1000.0;
}

static void peak(int threads) {
    const int avx512 = __builtin_cpu_supports("avx512f"), lanes = avx512 ? 16 : 8;
    const double ghz = nominal_ghz(), theory = threads * ghz * 2 * lanes * 2;
    const double measured = avx512 ? fma_gflops_avx512(threads) : fma_gflops_avx2(threads);
    printf("{\"impl\": \"unblur\", \"mode\": \"peak\", \"isa\": \"%s\", \"threads\": %d, \"nominal_ghz\": %.3f, "
           "\"fma_units\": 2, \"lanes\": %d, \"theoretical_gflops\": %.1f, \"measured_fma_gflops\": %.1f, "
           "\"measured_fma_ghz\": %.3f, \"avx2_theoretical_gflops\": %.1f}\n",
           avx512 ? "avx512f" : "avx2+fma", threads, ghz, lanes, theory, measured, measured / (threads * 2 * lanes * 2),
           threads * ghz * 2 * 8 * 2);
}

typedef struct options {
    int h, w, train, peak, batch, crop, threads, iters, warmup, bf16, compare;
    const char *model, *image;
    ub__rbnet_config cfg;
    ub__fast_layout layout;
} options;

static void usage(void) {
    fprintf(stderr, "usage: ub_bench_rbnet --size HxW | --image IN | --train [--batch N] [--crop C] | --peak\n"
                    "       [--width W] [--blocks N] [--mid-blocks M] [--depth D] [--model M] [--threads T]\n"
                    "       [--iters N] [--warmup N] [--layout auto|nhwc|blocked16|blocked8]\n"
                    "       [--precision fp32|bf16 [--compare]]\n");
    exit(2);
}

static options parse(int argc, char **argv) {
    options o = {0, 0, 0, 0, 8, 128, 2, 11, 2, 0, 0, NULL, NULL, {0}, UB_FAST_LAYOUT_AUTO};
    ub__rbnet_config_default(&o.cfg);
    int mid = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--train") || !strcmp(a, "--peak") || !strcmp(a, "--compare")) {
            *(a[2] == 't' ? &o.train : a[2] == 'p' ? &o.peak : &o.compare) = 1;
            continue;
        }
        if (!v) usage();
        i++;
        if (!strcmp(a, "--size")) {
            if (sscanf(v, "%dx%d", &o.h, &o.w) != 2) usage();
        } else if (!strcmp(a, "--batch")) o.batch = atoi(v);
        else if (!strcmp(a, "--crop")) o.crop = atoi(v);
        else if (!strcmp(a, "--width")) o.cfg.width = atoi(v);
        else if (!strcmp(a, "--blocks")) o.cfg.blocks = atoi(v);
        else if (!strcmp(a, "--mid-blocks")) mid = atoi(v);
        else if (!strcmp(a, "--depth")) o.cfg.depth = atoi(v);
        else if (!strcmp(a, "--threads")) o.threads = atoi(v);
        else if (!strcmp(a, "--iters")) o.iters = atoi(v);
        else if (!strcmp(a, "--warmup")) o.warmup = atoi(v);
        else if (!strcmp(a, "--model")) o.model = v;
        else if (!strcmp(a, "--image")) o.image = v;
        else if (!strcmp(a, "--precision")) {
            if (strcmp(v, "fp32") && strcmp(v, "bf16")) usage();
            o.bf16 = !strcmp(v, "bf16");
        }
        else if (!strcmp(a, "--block")) {
            if (strcmp(v, "res") && strcmp(v, "naf")) usage();
            o.cfg.block = !strcmp(v, "naf") ? UB__BLOCK_NAF : UB__BLOCK_RES;
        }
        else if (!strcmp(a, "--layout")) {
            o.layout = !strcmp(v, "nhwc") ? UB_FAST_LAYOUT_NHWC : !strcmp(v, "blocked16") ? UB_FAST_LAYOUT_BLOCKED16
                     : !strcmp(v, "blocked8") ? UB_FAST_LAYOUT_BLOCKED8 : UB_FAST_LAYOUT_AUTO;
        } else usage();
    }
    o.cfg.mid_blocks = mid >= 0 ? mid : o.cfg.blocks;
    const int conflicting = (o.train && (o.compare || o.image)) || (o.compare && !o.bf16);
    const int no_size = !o.train && !o.peak && !o.image && (o.h < 1 || o.w < 1);
    if (conflicting || no_size || o.batch < 1 || o.crop < 2 || o.threads < 1 || o.iters < 1 || o.warmup < 0) usage();
    return o;
}

static void die(ub_ctx *ctx, const char *what) {
    fprintf(stderr, "ub_bench_rbnet: %s: %s\n", what, ub_last_error(ctx));
    exit(1);
}

/* Adam (PyTorch's defaults, lr 1e-4) on the flat parameters. */
static void adam(float *p, const float *g, float *m, float *v, size_t n, int step) {
    const double b1 = 0.9, b2 = 0.999, lr = 1e-4, eps = 1e-8;
    const double c1 = 1 - pow(b1, step), c2 = 1 - pow(b2, step);
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        m[i] = (float)(b1 * m[i] + (1 - b1) * g[i]);
        v[i] = (float)(b2 * v[i] + (1 - b2) * g[i] * g[i]);
        p[i] -= (float)(lr * (m[i] / c1) / (sqrt(v[i] / c2) + eps));
    }
}

int main(int argc, char **argv) {
    options o = parse(argc, argv);
    if (o.peak) {
        peak(o.threads);
        return 0;
    }
    ub_settings s;
    ub_default_settings(&s);
    s.threads = o.threads;
    ub_ctx *ctx = NULL;
    if (ub_ctx_create(&ctx, &s) != UB_OK) return 1;
    float *loaded = NULL;
    if (o.model) { /* (the architecture's options are the file's) */
        ub_model *mdl = NULL;
        if (ub_model_load(ctx, o.model, &mdl) != UB_OK) die(ctx, o.model);
        o.cfg = mdl->net.config.rbnet;
        loaded = xmalloc(sizeof(float) * mdl->net.table.total);
        memcpy(loaded, mdl->params, sizeof(float) * mdl->net.table.total);
        ub_model_destroy(&mdl);
    }
    ub_image *img = NULL;
    if (o.image) {
        if (ub_image_read(ctx, o.image, &img) != UB_OK) die(ctx, o.image);
        o.h = (int)img->height, o.w = (int)img->width;
    }
    const int n = o.train ? o.batch : 1, h = o.train ? o.crop : o.h, w = o.train ? o.crop : o.w;
    ub__param_table t;
    ub__graph g;
    if (ub__rbnet_params(ctx, &o.cfg, &t) != UB_OK || ub__rbnet_graph(ctx, &o.cfg, &t, n, h, w, &g) != UB_OK)
        die(ctx, "graph");
    float *params = loaded ? loaded : init_params(&t);
    const size_t pixels = (size_t)n * 3 * h * w, plane = (size_t)h * w;
    float *input = xmalloc(sizeof(float) * pixels), *output = xmalloc(sizeof(float) * pixels);
    uint64_t seed = 2;
    for (size_t i = 0; i < pixels; i++) input[i] = (float)uniform(&seed);
    for (int c = 0; img && c < 3; c++) /* grey: the grey value in all three channels, as ub_model_run does */
        memcpy(input + c * plane, ub_image_plane(img, ub_image_colour_channels(img) == 3 ? c : 0), sizeof(float) * plane);
    ub_image_destroy(&img);
    const double base_rss = rss_mib();

    double t0 = bench_seconds();
    ub__fast_net *net = NULL;
    if ((o.bf16 && o.train ? ub__fast_net_create_bf16_training(ctx, &g, &t, o.layout, ub_cpu_features(), &net)
         : o.bf16          ? ub__fast_net_create_bf16(ctx, &g, &t, o.layout, ub_cpu_features(), &net)
                           : ub__fast_net_create_layout(ctx, &g, &t, o.train, o.layout, &net)) != UB_OK)
        die(ctx, "create");
    const double create_ms = 1e3 * (bench_seconds() - t0);
    ub__fast_net_info info;
    ub__fast_net_get_info(net, &info);
    /* UB_BENCH_DESCRIBE=1: the plan, oneDNN's implementations and the time of every op (summed over the
       timed runs), on stderr; the profiling adds a clock read per op */
    const int describe = getenv("UB_BENCH_DESCRIBE") != NULL;

    float *target = NULL, *dout = NULL, *dparams = NULL, *m = NULL, *v = NULL;
    if (o.train) {
        target = xmalloc(sizeof(float) * pixels);
        dout = xmalloc(sizeof(float) * pixels);
        dparams = xmalloc(sizeof(float) * t.total);
        m = xmalloc(sizeof(float) * t.total);
        v = xmalloc(sizeof(float) * t.total);
        for (size_t i = 0; i < pixels; i++) target[i] = (float)uniform(&seed);
    }
    double *times = xmalloc(sizeof(double) * (size_t)o.iters), first_loss = 0, loss = 0, cpu0 = 0, wall0 = 0;
    for (int it = 0; it < o.warmup + o.iters; it++) {
        if (it == o.warmup) cpu0 = cpu_seconds(), wall0 = bench_seconds();
        if (it == o.warmup && describe) ub__fast_net_profile(net, 1);
        const double start = bench_seconds();
        if (ub__fast_forward(net, params, input, output) != UB_OK) die(ctx, "forward");
        if (o.train) {
            /* L1 loss = mean |out - target|; its gradient sign(out - target) / count */
            double sum = 0;
            for (size_t i = 0; i < pixels; i++) {
                const float d = output[i] - target[i];
                sum += fabs(d);
                dout[i] = (float)((d > 0) - (d < 0)) / (float)pixels;
            }
            loss = sum / (double)pixels;
            if (it == 0) first_loss = loss;
            memset(dparams, 0, sizeof(float) * t.total);
            if (ub__fast_backward(net, params, dout, dparams, NULL) != UB_OK) die(ctx, "backward");
            adam(params, dparams, m, v, t.total, it + 1);
        }
        if (it >= o.warmup) times[it - o.warmup] = bench_seconds() - start;
    }
    const double cpu_timed = cpu_seconds() - cpu0, cpu_per_wall = cpu_timed / (bench_seconds() - wall0);
    /* oneDNN falls back to its reference code ("ref:...") where it has no optimised kernel for a shape, layout
       or ISA: 10-100x slower, so such a figure is not unblur's speed. onednn_impls also lists primitives made
       but never run in training (the head's input gradient), hence the net's own record of what ran */
    ub__fast_net_get_info(net, &info);
    const int reference_impl = info.ran_reference;
    if (reference_impl)
        fprintf(stderr, "bench_rbnet: WARNING: a oneDNN reference implementation ran in this timed path (%s): "
                "the figure below measures oneDNN's slow fallback, not unblur\n", info.impls);
    qsort(times, (size_t)o.iters, sizeof *times, bench_cmp_double);
    const double med = times[o.iters / 2], best = times[0];
    const double macs = count_macs(&g), peak_rss = peak_rss_mib();
    double psnr = 0, max_abs = 0;
    if (o.compare) { /* the float net's output, clipped as ub_model_run clips, against ours */
        ub__fast_net *ref = NULL;
        float *expect = xmalloc(sizeof(float) * pixels);
        if (ub__fast_net_create_layout(ctx, &g, &t, 0, UB_FAST_LAYOUT_AUTO, &ref) != UB_OK ||
            ub__fast_forward(ref, params, input, expect) != UB_OK)
            die(ctx, "compare");
        double se = 0;
        for (size_t i = 0; i < pixels; i++) {
            const double a = fmin(1, fmax(0, output[i])), b = fmin(1, fmax(0, expect[i]));
            se += (a - b) * (a - b);
            max_abs = fmax(max_abs, fabs(a - b));
        }
        psnr = se > 0 ? 10 * log10((double)pixels / se) : INFINITY;
        ub__fast_net_destroy(&ref);
        free(expect);
    }
    printf("{\"impl\": \"unblur\", \"mode\": \"%s\", \"dtype\": \"%s\", \"batch\": %d, \"h\": %d, \"w\": %d, "
           "\"width\": %d, \"blocks\": %d, \"mid_blocks\": %d, \"depth\": %d, \"threads\": %d, \"iters\": %d, "
           "\"warmup\": %d, \"params\": %zu, ",
           o.train ? "train" : "infer", o.bf16 ? "bf16" : "fp32", n, h, w, o.cfg.width, o.cfg.blocks, o.cfg.mid_blocks, o.cfg.depth, o.threads,
           o.iters, o.warmup, t.total);
    if (o.train)
        printf("\"step_ms\": %.2f, \"step_ms_min\": %.2f, \"images_per_s\": %.3f, \"gflops\": %.1f, "
               "\"cpu_step_ms\": %.2f, \"images_per_cpu_s\": %.3f, \"block\": \"%s\", "
               "\"first_loss\": %.6f, \"last_loss\": %.6f, ",
               1e3 * med, 1e3 * best, n / med, 3 * 2 * macs / med / 1e9, 1e3 * cpu_timed / o.iters,
               n * o.iters / cpu_timed, o.cfg.block == UB__BLOCK_NAF ? "naf" : "res", first_loss, loss);
    else
        printf("\"ms\": %.2f, \"ms_min\": %.2f, \"gmac\": %.3f, \"gflops\": %.1f, ", 1e3 * med, 1e3 * best, macs / 1e9,
               2 * macs / med / 1e9);
    if (o.compare) printf("\"psnr_vs_fp32\": %.2f, \"max_abs_vs_fp32\": %.3g, ", psnr, max_abs);
    if (o.model || o.image) printf("\"model\": \"%s\", \"image\": \"%s\", ", o.model ? o.model : "random",
                                   o.image ? o.image : "random");
    printf("\"kmac_per_pixel\": %.1f, \"cpu_per_wall\": %.2f, \"base_rss_mib\": %.1f, \"peak_rss_mib\": %.1f, "
           "\"net_buffers_mib\": %.1f, \"activation_buffers\": %d, \"create_ms\": %.1f, \"layout\": \"%s\", "
           "\"conv_impl\": \"%s\", \"onednn_impls\": \"%s\", \"reference_impl\": %s, \"cpu\": \"%s\"}\n",
           macs / n / h / w / 1e3, cpu_per_wall, base_rss, peak_rss, info.buffer_bytes / 1048576.0, info.buffers,
           create_ms, layout_name(info.layout), info.conv_impl, info.impls, reference_impl ? "true" : "false",
           ub_cpu_features_string(ub_cpu_features()));
    fflush(stdout);
    if (describe) {
        const size_t need = ub__fast_net_describe(net, NULL, 0);
        char *text = xmalloc(need);
        ub__fast_net_describe(net, text, need);
        fputs(text, stderr);
        free(text);
    }
    ub__fast_net_destroy(&net);
    free(times), free(params), free(input), free(output), free(target), free(dout), free(dparams), free(m), free(v);
    ub__graph_free(&g);
    ub__param_table_free(&t);
    ub_ctx_destroy(&ctx);
    return 0;
}
