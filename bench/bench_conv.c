/* bench/bench_conv.c — uniform blur timings, as JSON lines.

   ub_bench_conv [--size HxW] [--threads LIST] [--reps N] [--motion FILE] [--disk FILE]
                 [--sweep [--avx2] [--sweep-size HxW] [--sweep-planes 1|3] [--sweep-max K]]
                 [--json OUT]

   Blur: an RGB float image of --size (default 720x1280, as seed_blur.py) convolved with
     motion31  the 31x31 anti-aliased motion line at 30 degrees of seed_blur.py's base_kernel
               (27 non-zero taps; built in, or read from --motion FILE)
     disk31    a 31x31 anti-aliased disk (built in by 16x16 supersampling, or --disk FILE, e.g.
               the exact cv2.circle kernel of seed_blur.py written by bench/run_blur_bench.sh)
   by these implementations (REFLECT border; all three colour planes):
     direct          the direct path, non-zero taps only, the best instruction set of this CPU
     direct_avx2     the same restricted to AVX2 (only where the best is AVX-512)
     direct_dense    direct over ALL taps: the zeros of the kernel replaced by 1e-30, which
                     costs as much as a dense kernel — what skipping zero taps saves
     fft             the FFT path (FFTW r2c/c2r, cached plans, deterministic)
     fftw2d_threads  for comparison only: one fftwf_plan_dft_r2c_2d / c2r_2d per plane with
                     fftwf_plan_with_nthreads(threads), same padding, spectrum product
                     (the kernel's spectrum precomputed, not timed; plans made beforehand)
     auto            ub_convolve (AUTO choice, output image allocated: the public entry point)
   at each thread count of --threads (default 1,2).

   --sweep: the crossover that sets AUTO (src/synth/conv.c): on --sweep-planes planes (1 or 3,
   default 1; the FFT shares the kernel's spectrum between planes) of --sweep-size (default
   720x1280; 256x256 for training crops), dense square kernels of size 3..--sweep-max (default
   129), DIRECT and FFT, and per size the ratio
       per_tap = (fft_ms / C) / (direct_ms / (taps x pixels)),   C = ub__conv_fft_cost(PW, PH)
   (N log2 N of the padded size, weighted by FFTW's speed on its factors) = how many direct
   tap-pixels cost as much as one unit of C (from the CPU time at 1 thread, the wall time
   otherwise). --avx2: the direct side restricted to AVX2.

   Kernel files: "W H" then W*H numbers, row-major (any whitespace).
   Times: median and minimum of --reps runs (default 7) after one warm-up run,
   clock_gettime(CLOCK_MONOTONIC), and the least process CPU time (cpu_min_ms: at 1 thread
   it leaves out the time another process held the core). One JSON object per line: name,
   size (HxW), kernel, taps, threads, median_ms, min_ms, cpu_min_ms, runs; the first line
   describes the machine. */
#include <fftw3.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "synth/internal.h"
#include "bench_util.h"
#include "unblur.h"

typedef struct opts {
    int64_t w, h, sweep_w, sweep_h;
    int threads[8], nthreads, reps, sweep, avx2, sweep_planes, sweep_max;
    const char *motion, *disk, *json;
    FILE *json_fp;
} opts;

#define die(...) bench_die("ub_bench_conv", __VA_ARGS__)

static void check(ub_ctx *ctx, ub_status st, const char *what) {
    if (st != UB_OK) die("%s: %s", what, ub_last_error(ctx));
}

static double clock_ms(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static void emit(const opts *o, const char *fmt, ...) {
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    printf("%s\n", line);
    fflush(stdout);
    if (o->json_fp) fprintf(o->json_fp, "%s\n", line), fflush(o->json_fp);
}

/* ---- kernels ---- */

static ub_kernel *kernel_alloc(int w, int h) {
    ub_kernel *k = calloc(1, sizeof *k);
    if (!k || !(k->data = calloc((size_t)w * h, sizeof(float)))) die("out of memory");
    k->width = w, k->height = h;
    return k;
}

static void kernel_free(ub_kernel *k) {
    if (k) free(k->data), free(k);
}

static int64_t kernel_taps(const ub_kernel *k) {
    int64_t n = 0;
    for (int i = 0; i < k->width * k->height; i++) n += k->data[i] != 0.0f;
    return n;
}

/* seed_blur.py base_kernel(31, "motion"): cv2.line(LINE_AA, thickness 1) from (round(15 - 15 cos 30),
   round(15 - 15 sin 30)) to the mirror point, normalised: these 27 (row, column) pixels, each 1/27. */
static ub_kernel *kernel_motion31(void) {
    static const int px[][2] = {{8, 2},   {9, 3},   {9, 4},   {10, 5},  {10, 6},  {11, 7},  {11, 8},
                                {12, 9},  {12, 10}, {13, 11}, {13, 12}, {14, 13}, {14, 14}, {15, 15},
                                {16, 16}, {16, 17}, {17, 18}, {17, 19}, {18, 20}, {18, 21}, {19, 22},
                                {19, 23}, {20, 24}, {20, 25}, {21, 26}, {21, 27}, {22, 28}};
    ub_kernel *k = kernel_alloc(31, 31);
    const int n = (int)(sizeof px / sizeof *px);
    for (int i = 0; i < n; i++) k->data[px[i][0] * 31 + px[i][1]] = 1.0f / (float)n;
    return k;
}

/* A disk of radius size/2 by 16x16 supersampled coverage, normalised. */
static ub_kernel *kernel_disk(int size) {
    ub_kernel *k = kernel_alloc(size, size);
    const double c = size / 2, r = size / 2;
    double sum = 0;
    for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++) {
            int in = 0;
            for (int sy = 0; sy < 16; sy++)
                for (int sx = 0; sx < 16; sx++) {
                    double dx = x - 0.5 + (sx + 0.5) / 16 - c, dy = y - 0.5 + (sy + 0.5) / 16 - c;
                    in += dx * dx + dy * dy <= r * r;
                }
            k->data[y * size + x] = (float)in;
            sum += in;
        }
    for (int i = 0; i < size * size; i++) k->data[i] = (float)(k->data[i] / sum);
    return k;
}

static ub_kernel *kernel_square(int size) {
    ub_kernel *k = kernel_alloc(size, size);
    for (int i = 0; i < size * size; i++) k->data[i] = 1.0f / (float)(size * size);
    return k;
}

static ub_kernel *kernel_read_text(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) die("%s: cannot open", path);
    int w, h;
    if (fscanf(f, "%d %d", &w, &h) != 2 || w < 1 || h < 1 || w % 2 == 0 || h % 2 == 0 || w > 1023 || h > 1023)
        die("%s: expected \"W H\" (odd) then W*H values", path);
    ub_kernel *k = kernel_alloc(w, h);
    for (int i = 0; i < w * h; i++)
        if (fscanf(f, "%f", &k->data[i]) != 1) die("%s: only %d of %d values", path, i, w * h);
    fclose(f);
    return k;
}

/* The same kernel with its zeros replaced by 1e-30 (a normal float: no denormal slow-down). */
static ub_kernel *kernel_densified(const ub_kernel *k) {
    ub_kernel *d = kernel_alloc(k->width, k->height);
    for (int i = 0; i < k->width * k->height; i++) d->data[i] = k->data[i] != 0.0f ? k->data[i] : 1e-30f;
    return d;
}

/* ---- the FFTW 2-D comparison peer ---- */

typedef struct fftw2d {
    int64_t pw, ph, cw;
    float *real;
    fftwf_complex *spec, *kspec;
    fftwf_plan fwd, inv;
} fftw2d;

static void fftw2d_init(fftw2d *f, int64_t w, int64_t h, const ub_kernel *k, int threads) {
    if (ub__conv_fft_size(w, h, k, UB_BORDER_REFLECT, &f->pw, &f->ph)) die("fftw2d: too large");
    f->cw = f->pw / 2 + 1;
    f->real = fftwf_malloc(sizeof(float) * (size_t)(f->pw * f->ph));
    f->spec = fftwf_malloc(sizeof(fftwf_complex) * (size_t)(f->cw * f->ph));
    f->kspec = fftwf_malloc(sizeof(fftwf_complex) * (size_t)(f->cw * f->ph));
    if (!f->real || !f->spec || !f->kspec) die("out of memory");
    ub__fftw_lock();
    fftwf_plan_with_nthreads(threads);
    f->fwd = fftwf_plan_dft_r2c_2d((int)f->ph, (int)f->pw, f->real, f->spec, FFTW_ESTIMATE);
    f->inv = fftwf_plan_dft_c2r_2d((int)f->ph, (int)f->pw, f->spec, f->real, FFTW_ESTIMATE);
    fftwf_plan_with_nthreads(1);
    ub__fftw_unlock();
    /* the kernel's spectrum, centre wrapped to (0, 0), scaled */
    memset(f->real, 0, sizeof(float) * (size_t)(f->pw * f->ph));
    const int cx = k->width / 2, cy = k->height / 2;
    for (int j = 0; j < k->height; j++)
        for (int i = 0; i < k->width; i++)
            f->real[((j - cy + f->ph) % f->ph) * f->pw + (i - cx + f->pw) % f->pw] =
                k->data[j * k->width + i] / (float)(f->pw * f->ph);
    fftwf_execute_dft_r2c(f->fwd, f->real, f->kspec);
}

static void fftw2d_run(fftw2d *f, const float *in, int64_t w, int64_t h, int cx, int cy, float *out) {
    for (int64_t y = 0; y < f->ph; y++)
        for (int64_t x = 0; x < f->pw; x++)
            f->real[y * f->pw + x] = in[ub__reflect(y - cy, h) * w + ub__reflect(x - cx, w)];
    fftwf_execute_dft_r2c(f->fwd, f->real, f->spec);
    for (int64_t i = 0; i < f->cw * f->ph; i++) {
        const float a = f->spec[i][0], b = f->spec[i][1], c = f->kspec[i][0], d = f->kspec[i][1];
        f->spec[i][0] = a * c - b * d;
        f->spec[i][1] = a * d + b * c;
    }
    fftwf_execute_dft_c2r(f->inv, f->spec, f->real);
    for (int64_t y = 0; y < h; y++) memcpy(out + y * w, f->real + (y + cy) * f->pw + cx, sizeof(float) * (size_t)w);
}

static void fftw2d_free(fftw2d *f) {
    ub__fftw_lock();
    fftwf_destroy_plan(f->fwd);
    fftwf_destroy_plan(f->inv);
    ub__fftw_unlock();
    fftwf_free(f->real), fftwf_free(f->spec), fftwf_free(f->kspec);
}

/* ---- timing ---- */

typedef enum impl { I_DIRECT, I_AVX2, I_DENSE, I_FFT, I_FFTW2D, I_AUTO } impl;
static const char *const impl_name[] = {"direct", "direct_avx2", "direct_dense", "fft", "fftw2d_threads", "auto"};

typedef struct job {
    ub_ctx *ctx;
    impl which;
    const ub_image *img;
    ub_image *out;
    const ub_kernel *k;
    fftw2d *f2;
} job;

static void run_once(job *j) {
    const float *in[3];
    float *out[3];
    const int planes = ub_image_colour_channels(j->img);
    for (int c = 0; c < planes; c++) in[c] = ub_image_plane(j->img, c), out[c] = ub_image_plane(j->out, c);
    const int64_t w = j->img->width, h = j->img->height;
    switch (j->which) {
    case I_DIRECT:
    case I_DENSE:
        check(j->ctx, ub__conv_direct(j->ctx, in, out, planes, w, h, j->k, UB_BORDER_REFLECT, UB__ISA_BEST), "direct");
        break;
    case I_AVX2:
        check(j->ctx, ub__conv_direct(j->ctx, in, out, planes, w, h, j->k, UB_BORDER_REFLECT, UB__ISA_AVX2), "avx2");
        break;
    case I_FFT: check(j->ctx, ub__conv_fft(j->ctx, in, out, planes, w, h, j->k, UB_BORDER_REFLECT), "fft"); break;
    case I_FFTW2D:
        for (int c = 0; c < planes; c++) fftw2d_run(j->f2, in[c], w, h, j->k->width / 2, j->k->height / 2, out[c]);
        break;
    case I_AUTO: {
        ub_image *res;
        check(j->ctx, ub_convolve(j->ctx, j->img, j->k, UB_BORDER_REFLECT, &res), "ub_convolve");
        ub_image_destroy(&res);
        break;
    }
    }
}

/* Wall time (median, min) and the process's CPU time (min): on a shared machine the CPU time of
   a 1-thread run does not count the time another process held the core. */
typedef struct timing {
    double median, min, cpu_min;
} timing;

static timing time_job(job *j, int reps) {
    double t[64], cpu = INFINITY;
    if (reps > 64) reps = 64;
    run_once(j); /* warm-up: pages touched, plans cached */
    for (int r = 0; r < reps; r++) {
        const double t0 = clock_ms(CLOCK_MONOTONIC), c0 = clock_ms(CLOCK_PROCESS_CPUTIME_ID);
        run_once(j);
        t[r] = clock_ms(CLOCK_MONOTONIC) - t0;
        cpu = fmin(cpu, clock_ms(CLOCK_PROCESS_CPUTIME_ID) - c0);
    }
    qsort(t, (size_t)reps, sizeof *t, bench_cmp_double);
    return (timing){t[reps / 2], t[0], cpu};
}

static ub_image *random_image(ub_ctx *ctx, int64_t w, int64_t h, int channels) {
    ub_image *img;
    check(ctx, ub_image_create(ctx, &img, w, h, channels), "image");
    uint64_t s = 12345;
    for (int64_t i = 0; i < w * h * channels; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        img->data[i] = (float)(s >> 40) / (float)(1 << 24);
    }
    return img;
}

static void bench_kernel(const opts *o, const char *kname, const ub_kernel *k) {
    ub_kernel *dense = kernel_densified(k);
    const int has512 = (ub_cpu_features() & UB_CPU_AVX512F) != 0;
    for (int t = 0; t < o->nthreads; t++) {
        const int threads = o->threads[t];
        ub_settings s;
        ub_default_settings(&s);
        s.threads = threads;
        ub_ctx *ctx;
        if (ub_ctx_create(&ctx, &s) != UB_OK) die("context");
        ub_image *img = random_image(ctx, o->w, o->h, 3), *out = random_image(ctx, o->w, o->h, 3);
        fftw2d f2;
        fftw2d_init(&f2, o->w, o->h, k, threads);
        for (int i = I_DIRECT; i <= I_AUTO; i++) {
            if (i == I_AVX2 && !has512) continue;
            job j = {ctx, (impl)i, img, out, i == I_DENSE ? dense : k, &f2};
            const timing tm = time_job(&j, o->reps);
            const char *chosen = "";
            if (i == I_AUTO)
                chosen = ub__conv_choose(o->w, o->h, k, UB_BORDER_REFLECT, 3) == UB_CONV_FFT ? "fft" : "direct";
            emit(o,
                 "{\"impl\": \"unblur\", \"name\": \"%s\", \"size\": \"%lldx%lld\", \"kernel\": \"%s\", "
                 "\"taps\": %lld, \"threads\": %d, \"median_ms\": %.3f, \"min_ms\": %.3f, \"cpu_min_ms\": %.3f, "
                 "\"runs\": %d%s%s%s}",
                 impl_name[i], (long long)o->h, (long long)o->w, kname, (long long)kernel_taps(j.k), threads, tm.median,
                 tm.min, tm.cpu_min, o->reps, *chosen ? ", \"auto_chose\": \"" : "", chosen, *chosen ? "\"" : "");
        }
        fftw2d_free(&f2);
        ub_image_destroy(&img), ub_image_destroy(&out);
        ub_ctx_destroy(&ctx);
    }
    kernel_free(dense);
}

/* DIRECT vs FFT over dense square kernels on --sweep-planes planes: the data behind AUTO. */
static void sweep_one(const opts *o, ub_ctx *ctx, const ub_image *img, ub_image *out, int size) {
    ub_kernel *k = kernel_square(size);
    job jd = {ctx, o->avx2 ? I_AVX2 : I_DIRECT, img, out, k, NULL}, jf = {ctx, I_FFT, img, out, k, NULL};
    const int threads = ub_ctx_threads(ctx), planes = img->channels;
    const int reps = size > 41 ? 3 : o->reps; /* the big direct cases take seconds: fewer runs */
    const timing td = time_job(&jd, reps), tf = time_job(&jf, reps);
    /* per_tap from the CPU time at 1 thread (robust to a shared core), from the wall time otherwise */
    const double dt = threads == 1 ? td.cpu_min : td.min, ft = threads == 1 ? tf.cpu_min : tf.min;
    int64_t pw, ph;
    ub__conv_fft_size(img->width, img->height, k, UB_BORDER_REFLECT, &pw, &ph);
    const double taps = (double)size * size;
    const double pixels = (double)img->width * (double)img->height;
    const double per_tap = (ft / ub__conv_fft_cost(pw, ph)) / (dt / (taps * pixels));
    const int fft = ub__conv_choose(img->width, img->height, k, UB_BORDER_REFLECT, planes) == UB_CONV_FFT;
    emit(o,
         "{\"impl\": \"unblur\", \"name\": \"sweep\", \"size\": \"%lldx%lld\", \"planes\": %d, "
         "\"kernel\": \"square%d\", \"taps\": %.0f, \"threads\": %d, \"direct\": \"%s\", "
         "\"direct_median_ms\": %.3f, \"direct_min_ms\": %.3f, \"direct_cpu_min_ms\": %.3f, "
         "\"fft_median_ms\": %.3f, \"fft_min_ms\": %.3f, \"fft_cpu_min_ms\": %.3f, \"padded\": \"%lldx%lld\", "
         "\"per_tap\": %.2f, \"auto_chose\": \"%s\", \"runs\": %d}",
         (long long)img->height, (long long)img->width, planes, size, taps, threads, o->avx2 ? "avx2" : "best",
         td.median, td.min, td.cpu_min, tf.median, tf.min, tf.cpu_min, (long long)ph, (long long)pw, per_tap,
         fft ? "fft" : "direct", reps);
    kernel_free(k);
}

static void sweep(const opts *o) {
    static const int sizes[] = {3, 5, 7, 9, 11, 15, 21, 25, 31, 41, 51, 65, 81, 97, 129};
    for (int t = 0; t < o->nthreads; t++) {
        ub_settings s;
        ub_default_settings(&s);
        s.threads = o->threads[t];
        ub_ctx *ctx;
        if (ub_ctx_create(&ctx, &s) != UB_OK) die("context");
        ub_image *img = random_image(ctx, o->sweep_w, o->sweep_h, o->sweep_planes);
        ub_image *out = random_image(ctx, o->sweep_w, o->sweep_h, o->sweep_planes);
        for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
            if (sizes[i] <= o->sweep_max) sweep_one(o, ctx, img, out, sizes[i]);
        ub_image_destroy(&img), ub_image_destroy(&out);
        ub_ctx_destroy(&ctx);
    }
}

static void parse_hw(const char *s, int64_t *w, int64_t *h) {
    long long hh, ww;
    if (sscanf(s, "%lldx%lld", &hh, &ww) != 2 || hh < 1 || ww < 1) die("bad size %s (want HxW)", s);
    *h = hh, *w = ww;
}

static void parse(opts *o, int argc, char **argv) {
    *o = (opts){.w = 1280, .h = 720, .sweep_w = 1280, .sweep_h = 720, .threads = {1, 2}, .nthreads = 2, .reps = 7,
              .sweep_planes = 1, .sweep_max = 129};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--sweep") || !strcmp(a, "--avx2")) {
            *(a[2] == 's' ? &o->sweep : &o->avx2) = 1;
            continue;
        }
        if (!v) die("%s needs a value (see the top of bench/bench_conv.c)", a);
        i++;
        if (!strcmp(a, "--size")) parse_hw(v, &o->w, &o->h);
        else if (!strcmp(a, "--sweep-size")) parse_hw(v, &o->sweep_w, &o->sweep_h);
        else if (!strcmp(a, "--reps")) o->reps = atoi(v);
        else if (!strcmp(a, "--sweep-planes")) o->sweep_planes = atoi(v);
        else if (!strcmp(a, "--sweep-max")) o->sweep_max = atoi(v);
        else if (!strcmp(a, "--motion")) o->motion = v;
        else if (!strcmp(a, "--disk")) o->disk = v;
        else if (!strcmp(a, "--json")) o->json = v;
        else if (!strcmp(a, "--threads")) {
            o->nthreads = 0;
            for (char *p = (char *)v; *p && o->nthreads < 8;) {
                o->threads[o->nthreads++] = (int)strtol(p, &p, 10);
                if (*p == ',') p++;
            }
        } else die("unknown option %s", a);
    }
    if (o->reps < 1 || o->nthreads < 1) die("--reps and --threads must be positive");
    if (o->sweep_planes != 1 && o->sweep_planes != 3) die("--sweep-planes: 1 or 3");
    for (int t = 0; t < o->nthreads; t++)
        if (o->threads[t] < 1) die("--threads: counts must be positive");
}

int main(int argc, char **argv) {
    opts o;
    parse(&o, argc, argv);
    if (o.json && !(o.json_fp = fopen(o.json, "a"))) die("%s: cannot open", o.json);
    fftwf_init_threads(); /* for the fftw2d_threads peer only */
    emit(&o, "{\"name\": \"info\", \"version\": \"%s\", \"cpu\": \"%s\", \"fftw\": \"%s\"}", ub_version(),
         ub_cpu_features_string(ub_cpu_features()), fftwf_version);
    ub_kernel *motion = o.motion ? kernel_read_text(o.motion) : kernel_motion31();
    ub_kernel *disk = o.disk ? kernel_read_text(o.disk) : kernel_disk(31);
    if (o.sweep) sweep(&o);
    else {
        bench_kernel(&o, "motion31", motion);
        bench_kernel(&o, "disk31", disk);
    }
    kernel_free(motion), kernel_free(disk);
    if (o.json_fp) fclose(o.json_fp);
    return 0;
}
