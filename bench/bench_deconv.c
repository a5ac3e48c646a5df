/* bench/bench_deconv.c — non-blind deconvolution on Levin et al. 2009 with the true kernels:
   quality (shift-tolerant PSNR) and time, as JSON lines.

   ub_bench_deconv --levin DIR [--method wiener|rl|sparse] [--boundary auto|zero|periodic]
                   [--iterations N] [--nsr X] [--lambda X] [--alpha X] [--threads N]
                   [--peer PDIR] [--save ODIR] [--only CASE] [--json OUT]

   Cases: DIR/blurred/im{i}_kernel{k}_img.png with DIR/gt_sharp/im{i}.png; the kernel is
   DIR/gt_kernels/kernel{k}.png rotated 180 degrees for k in 1,2,3,5,6,7 and as stored for k = 4, 8
   (convolution orientation; DIR/SOURCE.txt). Each output is clamped to [0, 1] and rounded to 8 bits
   (what `unblur deconv -o OUT.png` writes for these 8-bit inputs) and scored as
   `unblur metrics SHARP OUT --shift 10` does (crop 10, best integer offset in [-10, 10]^2).
   --peer PDIR scores PDIR/im{i}_kernel{k}.png (another program's outputs, e.g. scikit-image's
   written by bench/run_deconv_bench.sh) the same way, rounded to 8 bits too, so both sides of a
   comparison see one metric. --save writes the outputs as ODIR/im{i}_kernel{k}.png.
   Time: wall seconds of one ub_deconv call (after one untimed warm-up call on the first case).
   One object per case: case, method, boundary, psnr (shift-tolerant), input_psnr, s, and
   peer_psnr with --peer; then a summary line of the means. Threads: default 1. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "unblur.h"

#define die(...) bench_die("ub_bench_deconv", __VA_ARGS__)

static void check(ub_ctx *ctx, ub_status st, const char *what) {
    if (st != UB_OK) die("%s: %s", what, ub_last_error(ctx));
}

static void quantise8(ub_image *img) {
    const size_t n = (size_t)(img->width * img->height) * (size_t)img->channels;
    for (size_t i = 0; i < n; i++) {
        float v = img->data[i];
        v = v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
        img->data[i] = roundf(v * 255.0f) / 255.0f;
    }
}

static double score(ub_ctx *ctx, const ub_image *sharp, const ub_image *img) {
    ub_metrics_options o = {.shift = 10, .crop = 10};
    ub_metrics m;
    check(ctx, ub_metrics_compute(ctx, sharp, img, &o, &m), "metrics");
    return m.psnr;
}

static void rot180(ub_kernel *k) {
    const size_t n = (size_t)k->width * (size_t)k->height;
    for (size_t i = 0; i < n / 2; i++) {
        float t = k->data[i];
        k->data[i] = k->data[n - 1 - i], k->data[n - 1 - i] = t;
    }
}

int main(int argc, char **argv) {
    const char *levin = NULL, *method = "sparse", *boundary = "auto", *peer = NULL, *save = NULL, *only = NULL,
               *json = NULL;
    int threads = 1, iterations = -1;
    double nsr = -1, lambda = -1, alpha = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
#define OPT(name) (!strcmp(a, name) && v && ++i)
        if (OPT("--levin")) levin = v;
        else if (OPT("--method")) method = v;
        else if (OPT("--boundary")) boundary = v;
        else if (OPT("--iterations")) iterations = atoi(v);
        else if (OPT("--nsr")) nsr = atof(v);
        else if (OPT("--lambda")) lambda = atof(v);
        else if (OPT("--alpha")) alpha = atof(v);
        else if (OPT("--threads")) threads = atoi(v);
        else if (OPT("--peer")) peer = v;
        else if (OPT("--save")) save = v;
        else if (OPT("--only")) only = v;
        else if (OPT("--json")) json = v;
        else die("unknown or incomplete option %s (see the top of bench/bench_deconv.c)", a);
#undef OPT
    }
    if (!levin) die("--levin DIR is required");
    ub_settings s;
    ub_default_settings(&s);
    s.threads = threads;
    ub_ctx *ctx;
    if (ub_ctx_create(&ctx, &s) != UB_OK) die("cannot create a context");
    ub_deconv_method m;
    check(ctx, ub_deconv_method_parse(ctx, method, &m), "--method");
    ub_deconv_params p;
    ub_deconv_default(&p, m);
    if (!strcmp(boundary, "zero")) p.boundary = UB_DECONV_BOUNDARY_ZERO;
    else if (!strcmp(boundary, "periodic")) p.boundary = UB_DECONV_BOUNDARY_PERIODIC;
    else if (strcmp(boundary, "auto")) die("--boundary auto, zero or periodic");
    if (iterations > 0) p.iterations = iterations;
    if (nsr > 0) p.nsr = nsr;
    if (lambda > 0) p.lambda = lambda;
    if (alpha > 0) p.alpha = alpha;
    FILE *jf = json ? fopen(json, "a") : NULL;
    if (json && !jf) die("cannot open %s", json);
    double sum_psnr = 0, sum_in = 0, sum_s = 0, sum_peer = 0;
    int count = 0, warmed = 0;
    char path[4096], name[64];
    for (int im = 1; im <= 4; im++)
        for (int kn = 1; kn <= 8; kn++) {
            snprintf(name, sizeof name, "im%d_kernel%d", im, kn);
            if (only && strcmp(only, name)) continue;
            ub_image *blurry, *sharp, *out;
            ub_kernel *k;
            snprintf(path, sizeof path, "%s/blurred/%s_img.png", levin, name);
            check(ctx, ub_image_read(ctx, path, &blurry), path);
            snprintf(path, sizeof path, "%s/gt_sharp/im%d.png", levin, im);
            check(ctx, ub_image_read(ctx, path, &sharp), path);
            snprintf(path, sizeof path, "%s/gt_kernels/kernel%d.png", levin, kn);
            check(ctx, ub_kernel_read(ctx, path, &k), path);
            if (kn != 4 && kn != 8) rot180(k);
            if (!warmed++) {
                check(ctx, ub_deconv(ctx, blurry, k, &p, &out), name);
                ub_image_destroy(&out);
            }
            const double t0 = bench_seconds();
            check(ctx, ub_deconv(ctx, blurry, k, &p, &out), name);
            const double sec = bench_seconds() - t0;
            quantise8(out);
            if (save) {
                snprintf(path, sizeof path, "%s/%s.png", save, name);
                check(ctx, ub_image_write(ctx, out, path, NULL), path);
            }
            const double q = score(ctx, sharp, out), qin = score(ctx, sharp, blurry);
            char line[512];
            int len = snprintf(line, sizeof line,
                               "{\"case\":\"%s\",\"method\":\"%s\",\"boundary\":\"%s\",\"threads\":%d,\"psnr\":%.4f,"
                               "\"input_psnr\":%.4f,\"s\":%.5f",
                               name, method, boundary, threads, q, qin, sec);
            if (peer) {
                ub_image *pi;
                snprintf(path, sizeof path, "%s/%s.png", peer, name);
                check(ctx, ub_image_read(ctx, path, &pi), path);
                quantise8(pi);
                const double qp = score(ctx, sharp, pi);
                sum_peer += qp;
                len += snprintf(line + len, sizeof line - (size_t)len, ",\"peer_psnr\":%.4f", qp);
                ub_image_destroy(&pi);
            }
            snprintf(line + len, sizeof line - (size_t)len, "}");
            puts(line);
            if (jf) fprintf(jf, "%s\n", line);
            sum_psnr += q, sum_in += qin, sum_s += sec, count++;
            ub_image_destroy(&blurry), ub_image_destroy(&sharp), ub_image_destroy(&out);
            ub_kernel_destroy(&k);
        }
    if (!count) die("no case matched");
    char line[512];
    int len = snprintf(line, sizeof line,
                       "{\"summary\":\"%s\",\"boundary\":\"%s\",\"cases\":%d,\"threads\":%d,\"iterations\":%d,"
                       "\"nsr\":%g,\"lambda\":%g,\"alpha\":%g,\"mean_psnr\":%.4f,\"mean_input_psnr\":%.4f,"
                       "\"mean_s\":%.5f",
                       method, boundary, count, threads, p.iterations, p.nsr, p.lambda, p.alpha, sum_psnr / count,
                       sum_in / count, sum_s / count);
    if (peer) len += snprintf(line + len, sizeof line - (size_t)len, ",\"mean_peer_psnr\":%.4f", sum_peer / count);
    snprintf(line + len, sizeof line - (size_t)len, "}");
    puts(line);
    if (jf) fprintf(jf, "%s\n", line), fclose(jf);
    ub_ctx_destroy(&ctx);
    return 0;
}
