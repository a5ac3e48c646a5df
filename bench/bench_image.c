/* bench/bench_image.c — image I/O and metrics timings on one image, as JSON lines.

   ub_bench_image IMAGE.png [--runs N] [--warmup W] [--threads T] [--quality Q]
                            [--save-jpeg PATH] [--json OUT]

   Measures (median and minimum wall time of N runs after W warm-up runs,
   clock_gettime(CLOCK_MONOTONIC)):
     png_read      ub_image_read of the file (open + read + PNG decode; page cache warm)
     png_decode    ub_image_decode of the file's bytes, already in memory
     jpeg_encode   ub_image_encode of the decoded image, JPEG quality Q (default 95), to memory
     jpeg_decode   ub_image_decode of that JPEG buffer
     psnr          PSNR of the PNG image against the JPEG-decoded one (ub_sse_plane per channel)
     ssim          SSIM of the same pair: mean over the colour channels of ub_ssim_plane
     metrics       ub_metrics_compute (PSNR + SSIM together) of the same pair
   psnr, ssim and metrics run at 1 thread and at T threads (default 0 = all online cores);
   the codecs are single-threaded (libpng, libjpeg-turbo), so they run once, with 1.
   The pair compared is exactly what scikit-image gets in bench/skimage_ssim.py when
   --save-jpeg writes the JPEG buffer to a file for it (OpenCV and unblur both decode
   with libjpeg-turbo's defaults, so the JPEG pixels are the same).

   One JSON object per line: {"impl": "unblur", "name", "size" (WIDTHxHEIGHT), "threads",
   "median_ms", "min_ms", "runs", ...} plus "value" (dB or SSIM) or "bytes" where they
   apply; the first line ("name": "info") describes the build and the machine. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_util.h"
#include "unblur.h"

typedef struct bench {
    const char *image;
    int runs, warmup, threads, quality;
    const char *save_jpeg, *json;
    char size[64];
    FILE *json_fp;
} bench;

#define die(...) bench_die("ub_bench_image", __VA_ARGS__)

static void check(ub_ctx *ctx, ub_status st, const char *what) {
    if (st != UB_OK) die("%s: %s", what, ub_last_error(ctx));
}

/* Prints one JSON line (and appends it to --json). `extra` is "" or `, "key": value...`. */
static void emit(bench *b, const char *name, int threads, const double *ms, int runs, const char *extra) {
    double sorted[1024];
    memcpy(sorted, ms, sizeof(double) * (size_t)runs);
    qsort(sorted, (size_t)runs, sizeof(double), bench_cmp_double);
    double median = runs % 2 ? sorted[runs / 2] : 0.5 * (sorted[runs / 2 - 1] + sorted[runs / 2]);
    char line[1024];
    snprintf(line, sizeof line,
             "{\"impl\": \"unblur\", \"name\": \"%s\", \"size\": \"%s\", \"threads\": %d, \"median_ms\": %.3f, "
             "\"min_ms\": %.3f, \"runs\": %d%s}",
             name, b->size, threads, median, sorted[0], runs, extra);
    puts(line);
    fflush(stdout);
    if (b->json_fp) {
        fprintf(b->json_fp, "%s\n", line);
        fflush(b->json_fp);
    }
}

/* ---- the measured operations: each returns a number to print (or NAN) ---- */

typedef struct op {
    ub_ctx *ctx;
    const char *path;
    const void *bytes;
    size_t size;
    const ub_image *a, *b;
    int quality;
    size_t out_size; /* jpeg_encode: bytes written */
} op;

static double op_png_read(op *o) {
    ub_image *img;
    check(o->ctx, ub_image_read(o->ctx, o->path, &img), "png_read");
    ub_image_destroy(&img);
    return NAN;
}

static double op_decode(op *o) {
    ub_image *img;
    check(o->ctx, ub_image_decode(o->ctx, o->bytes, o->size, "<memory>", &img), "decode");
    ub_image_destroy(&img);
    return NAN;
}

static double op_jpeg_encode(op *o) {
    ub_write_options wo;
    ub_default_write_options(&wo);
    wo.format = UB_FORMAT_JPEG;
    wo.jpeg_quality = o->quality;
    void *bytes;
    check(o->ctx, ub_image_encode(o->ctx, o->a, &wo, &bytes, &o->out_size), "jpeg_encode");
    free(bytes);
    return NAN;
}

static ub_plane plane(const ub_image *img, int c) {
    ub_plane p = {ub_image_plane(img, c), img->width, img->height, img->width};
    return p;
}

static double op_psnr(op *o) {
    const int ch = ub_image_colour_channels(o->a);
    double sse = 0;
    for (int c = 0; c < ch; c++) sse += ub_sse_plane(o->ctx, plane(o->a, c), plane(o->b, c));
    double mse = sse / ((double)o->a->width * (double)o->a->height * ch);
    return 10.0 * log10(1.0 / mse);
}

static double op_ssim(op *o) {
    const int ch = ub_image_colour_channels(o->a);
    double sum = 0;
    for (int c = 0; c < ch; c++) sum += ub_ssim_plane(o->ctx, plane(o->a, c), plane(o->b, c));
    return sum / ch;
}

static double op_metrics(op *o) {
    ub_metrics m;
    check(o->ctx, ub_metrics_compute(o->ctx, o->a, o->b, NULL, &m), "metrics");
    return m.ssim;
}

/* Runs `fn` warmup + runs times and reports the timed runs. */
static double measure(bench *b, const char *name, int threads, double (*fn)(op *), op *o, const char *value_key) {
    double ms[1024], value = NAN;
    for (int i = 0; i < b->warmup; i++) value = fn(o);
    for (int i = 0; i < b->runs; i++) {
        double t0 = 1e3 * bench_seconds();
        value = fn(o);
        ms[i] = 1e3 * bench_seconds() - t0;
    }
    char extra[256] = "";
    if (value_key && isfinite(value)) snprintf(extra, sizeof extra, ", \"%s\": %.9f", value_key, value);
    if (fn == op_jpeg_encode)
        snprintf(extra, sizeof extra, ", \"quality\": %d, \"bytes\": %zu", o->quality, o->out_size);
    emit(b, name, threads, ms, b->runs, extra);
    return value;
}

static void *slurp(const char *path, size_t *size) {
    FILE *fp = fopen(path, "rb");
    if (!fp) die("%s: cannot open", path);
    if (fseek(fp, 0, SEEK_END) != 0) die("%s: cannot seek", path);
    long n = ftell(fp);
    if (n <= 0) die("%s: empty or unreadable", path);
    rewind(fp);
    void *p = malloc((size_t)n);
    if (!p || fread(p, 1, (size_t)n, fp) != (size_t)n) die("%s: cannot read", path);
    fclose(fp);
    *size = (size_t)n;
    return p;
}

static int int_arg(const char *opt, const char *v, int lo, int hi) {
    char *end;
    long x = v ? strtol(v, &end, 10) : 0;
    if (!v || *end || x < lo || x > hi) die("%s: expects an integer in [%d, %d]", opt, lo, hi);
    return (int)x;
}

static void usage(FILE *fp) {
    fputs("usage: ub_bench_image IMAGE.png [--runs N] [--warmup W] [--threads T] [--quality Q]\n"
          "                      [--save-jpeg PATH] [--json OUT]\n"
          "  --runs N       timed runs per measurement (default 11); median and min are reported\n"
          "  --warmup W     untimed runs first (default 2)\n"
          "  --threads T    the multi-threaded measurement's thread count (default 0 = all cores)\n"
          "  --quality Q    JPEG quality (default 95)\n"
          "  --save-jpeg P  also write the JPEG buffer to P (for bench/skimage_ssim.py)\n"
          "  --json OUT     also append the JSON lines to OUT\n",
          fp);
}

int main(int argc, char **argv) {
    bench b = {.runs = 11, .warmup = 2, .threads = 0, .quality = 95};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--runs")) b.runs = int_arg(a, v, 1, 1000), i++;
        else if (!strcmp(a, "--warmup")) b.warmup = int_arg(a, v, 0, 1000), i++;
        else if (!strcmp(a, "--threads")) b.threads = int_arg(a, v, 0, 1024), i++;
        else if (!strcmp(a, "--quality")) b.quality = int_arg(a, v, 1, 100), i++;
        else if (!strcmp(a, "--save-jpeg") && v) b.save_jpeg = v, i++;
        else if (!strcmp(a, "--json") && v) b.json = v, i++;
        else if (a[0] == '-' || b.image) {
            usage(stderr);
            return 2;
        } else b.image = a;
    }
    if (!b.image) {
        usage(stderr);
        return 2;
    }
    if (b.json && !(b.json_fp = fopen(b.json, "a"))) die("%s: cannot open for appending", b.json);

    ub_settings s;
    ub_default_settings(&s);
    s.threads = 1;
    ub_ctx *ctx1, *ctxn;
    if (ub_ctx_create(&ctx1, &s) != UB_OK) die("cannot create a context");
    s.threads = b.threads;
    if (ub_ctx_create(&ctxn, &s) != UB_OK) die("cannot create a context");
    const int nthreads = ub_ctx_threads(ctxn);

    size_t png_size;
    void *png = slurp(b.image, &png_size);
    ub_image *ref;
    check(ctx1, ub_image_decode(ctx1, png, png_size, b.image, &ref), "decode");
    snprintf(b.size, sizeof b.size, "%lldx%lld", (long long)ref->width, (long long)ref->height);

    ub_write_options wo;
    ub_default_write_options(&wo);
    wo.format = UB_FORMAT_JPEG;
    wo.jpeg_quality = b.quality;
    void *jpeg;
    size_t jpeg_size;
    check(ctx1, ub_image_encode(ctx1, ref, &wo, &jpeg, &jpeg_size), "jpeg_encode");
    if (b.save_jpeg) {
        FILE *fp = fopen(b.save_jpeg, "wb");
        if (!fp || fwrite(jpeg, 1, jpeg_size, fp) != jpeg_size || fclose(fp) != 0)
            die("%s: cannot write", b.save_jpeg);
    }
    ub_image *dist;
    check(ctx1, ub_image_decode(ctx1, jpeg, jpeg_size, "<jpeg>", &dist), "jpeg_decode");

    char info[512];
    snprintf(info, sizeof info,
             "{\"impl\": \"unblur\", \"name\": \"info\", \"image\": \"%s\", \"size\": \"%s\", \"channels\": %d, "
             "\"version\": \"%s\", \"cpu\": \"%s\", \"online_cores\": %ld, \"threads_all\": %d, "
             "\"png_bytes\": %zu, \"jpeg_bytes\": %zu}",
             b.image, b.size, ref->channels, ub_version(), ub_cpu_features_string(ub_cpu_features()),
             sysconf(_SC_NPROCESSORS_ONLN), nthreads, png_size, jpeg_size);
    puts(info);
    if (b.json_fp) fprintf(b.json_fp, "%s\n", info);

    op o = {.ctx = ctx1, .path = b.image, .bytes = png, .size = png_size, .a = ref, .b = dist,
            .quality = b.quality};
    measure(&b, "png_read", 1, op_png_read, &o, NULL);
    measure(&b, "png_decode", 1, op_decode, &o, NULL);
    measure(&b, "jpeg_encode", 1, op_jpeg_encode, &o, NULL);
    op oj = o;
    oj.bytes = jpeg, oj.size = jpeg_size;
    measure(&b, "jpeg_decode", 1, op_decode, &oj, NULL);

    int thread_counts[2] = {1, nthreads};
    for (int t = 0; t < (nthreads > 1 ? 2 : 1); t++) {
        op om = o;
        om.ctx = thread_counts[t] == 1 ? ctx1 : ctxn;
        measure(&b, "psnr", thread_counts[t], op_psnr, &om, "value");
        measure(&b, "ssim", thread_counts[t], op_ssim, &om, "value");
        measure(&b, "metrics", thread_counts[t], op_metrics, &om, "ssim");
    }

    ub_image_destroy(&dist);
    ub_image_destroy(&ref);
    free(jpeg);
    free(png);
    ub_ctx_destroy(&ctxn);
    ub_ctx_destroy(&ctx1);
    if (b.json_fp) fclose(b.json_fp);
    return 0;
}
