/* synth/conv_fft.c — convolution by FFT (FFTW3, single precision) for large dense kernels.

   The plane is reflect-padded to PW x PH, even 2,3,5,7-smooth sizes (the
   cheapest for FFTW within 25 % above the need: see "sizes") of at least
   (w + kw - 1) x (h + kh - 1) for REFLECT (w x h for VALID, which never needs
   the wrap-around), with the image at offset (cx, cy) (REFLECT) or
   (0, 0) (VALID). The kernel sits with its centre at (0, 0), wrapped, so the
   circular convolution at (x + cx, y + cy) is the output at (x, y).

   The 2-D transform is done by hand in parallel phases rather than by
   one fftwf_plan_dft_r2c_2d: r2c of every padded row (built on the fly from
   the input, so no padded real copy exists), then per chunk of COL_CHUNK
   complex columns a forward transform, the product with the kernel's spectrum
   and the inverse transform while the chunk is in cache, then c2r of only the
   rows that reach the output. Each 1-D transform is one fixed plan applied to
   one fixed piece of data, whichever thread runs it, so the result is
   bit-identical for any thread count. FFTW's own threads
   (fftwf_plan_with_nthreads) are not used: their plans depend on the thread
   count, which would break that invariance, and they do not help — measured
   (ub_bench_conv, 720p RGB, 31x31 disk): one fftwf_plan_dft_r2c_2d/c2r_2d per
   plane with 2 FFTW threads took 12.2 ms, these phases 7.9-9.6 ms at 2 threads
   (17.4 ms and 12.3 ms at 1 thread).

   Plans are made with FFTW_ESTIMATE and cached per (PW, PH) in the context
   (ctx->conv_cache, LRU of CACHE_SLOTS), so repeated same-size convolutions
   (training crops) plan nothing; the last call's work buffers are kept too.
   The cache's mutex guards the cache; the process-wide ub__fftw_lock guards
   FFTW's planner, which is global. Memory: fftwf_malloc. */
#include <fftw3.h>
#include <immintrin.h>
#include <limits.h>
#include <omp.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "synth/internal.h"

enum { COL_CHUNK = 16, CACHE_SLOTS = 8, ROW_ALIGN = 16 /* floats: 64 bytes */, CPLX_ALIGN = 8 /* complex: 64 bytes */ };

/* FFTW's planner lock (ub__fftw_lock): core/fftw_lock.c, shared with nn/ and deconv/. */

/* ---- sizes ----

   FFTW's speed per n log2 n depends on the factors of n: measured here (FFTW 3.3.10, batched
   strided columns and r2c rows, n = 200..2200), every factor 3 costs about 11 % more than a
   factor 2, every 5 about 17 %, every 7 about 22 %. So 768 = 2^8 3 is about twice as fast as
   the smaller 750 = 2 3 5^3: the padded size is the even 2,3,5,7-smooth m in [n, 1.25 n] of
   least estimated cost m log2 m * penalty(m), not merely the smallest. */

static double size_penalty(int64_t m) {
    static const struct { int p; double cost; } factors[] = {{2, 1.0}, {3, 1.11}, {5, 1.17}, {7, 1.22}};
    double pen = 1.0;
    for (int i = 0; i < 4; i++)
        while (m % factors[i].p == 0) m /= factors[i].p, pen *= factors[i].cost;
    return m == 1 ? pen : INFINITY; /* INFINITY: not 7-smooth */
}

static int64_t fast_size(int64_t n) {
    if (n <= 1) return 1;
    const int64_t hi = n + n / 4 + 2;
    int64_t best = 0;
    double best_cost = INFINITY;
    /* every odd 3,5,7-smooth part p, times the least power of two (at least 2) reaching n */
    for (int64_t p7 = 1; p7 <= hi; p7 *= 7)
        for (int64_t p5 = p7; p5 <= hi; p5 *= 5)
            for (int64_t p3 = p5; p3 <= hi; p3 *= 3) {
                int64_t m = 2 * p3;
                while (m < n) m *= 2;
                const double cost = (double)m * log2((double)m) * size_penalty(m);
                if (m <= hi && cost < best_cost) best = m, best_cost = cost;
            }
    if (best == 0) /* cannot happen (1, 5/4, 3/2, 7/4, 2 are never more than 5/4 apart), but be safe */
        for (best = 2; best < n; best *= 2) {}
    return best;
}

double ub__conv_fft_cost(int64_t pw, int64_t ph) {
    const double n = (double)pw * (double)ph;
    return n <= 1 ? 0.0 : n * log2(n) * 0.5 * (size_penalty(pw) + size_penalty(ph));
}

/* FFTW counts in int; keep every product of the geometry far from overflow. */
enum { FFT_MAX_SIDE = 1 << 26 };

int ub__conv_fft_size(int64_t w, int64_t h, const ub_kernel *k, ub_border border, int64_t *pw, int64_t *ph) {
    const int reflect = border == UB_BORDER_REFLECT;
    const int64_t nw = reflect ? w + k->width - 1 : w, nh = reflect ? h + k->height - 1 : h;
    if (nw > FFT_MAX_SIDE || nh > FFT_MAX_SIDE) return -1;
    *pw = fast_size(nw), *ph = fast_size(nh);
    size_t cells;
    const size_t row = (size_t)(*pw / 2 + 1 + 2 * CPLX_ALIGN);
    return *pw > INT_MAX / 2 || *ph > INT_MAX || !ub__mul_size((size_t)*ph, row, &cells) ? -1 : 0;
}

typedef struct geometry {
    int64_t w, h, ow, oh;
    int64_t pw, ph; /* padded real size */
    int64_t cw, cs; /* complex columns (pw/2 + 1) and complex row stride */
    int64_t rs;     /* real row stride of the per-thread scratch rows */
    int64_t ox, oy; /* where the image sits in the padded plane */
    int64_t cx, cy; /* kernel centre */
} geometry;

static int64_t round_up(int64_t n, int64_t m) { return (n + m - 1) / m * m; }

static geometry geometry_of(int64_t w, int64_t h, const ub_kernel *k, ub_border border, int64_t pw, int64_t ph) {
    const int reflect = border == UB_BORDER_REFLECT;
    geometry g = {.w = w, .h = h, .pw = pw, .ph = ph, .cx = k->width / 2, .cy = k->height / 2};
    g.ow = reflect ? w : w - k->width + 1;
    g.oh = reflect ? h : h - k->height + 1;
    g.cw = pw / 2 + 1;
    /* an ODD number of 64-byte lines per row: a stride of 2^k lines puts a column's elements
       in few cache sets, which made the column transforms up to 10x slower (e.g. 1024 complex) */
    g.cs = round_up(g.cw, CPLX_ALIGN);
    if ((g.cs / CPLX_ALIGN) % 2 == 0) g.cs += CPLX_ALIGN;
    g.rs = round_up(pw, ROW_ALIGN);
    g.ox = reflect ? g.cx : 0;
    g.oy = reflect ? g.cy : 0;
    return g;
}

/* ---- the plan cache ---- */

typedef struct plan_set {
    int64_t pw, ph;                /* key; 0 = empty slot */
    uint64_t last_use;
    fftwf_plan row_fwd, row_inv;   /* one row: r2c and c2r, out of place */
    fftwf_plan col_fwd, col_inv;   /* COL_CHUNK complex columns, in place; NULL when cw < COL_CHUNK */
    fftwf_plan tail_fwd, tail_inv; /* the last cw % COL_CHUNK columns; NULL when none */
} plan_set;

/* The work buffers of the last call are kept too (when not larger than WORK_KEEP_MAX): fresh
   multi-megabyte buffers cost page faults on every call, which profiling showed to be a quarter
   of a 720p RGB convolution's time. */
enum { WORK_KEEP_MAX = 64 << 20 };

typedef struct plan_cache {
    pthread_mutex_t lock;
    uint64_t clock;
    plan_set slot[CACHE_SLOTS];
    void *work; /* fftwf_malloc'ed, work_size bytes, or NULL */
    size_t work_size;
} plan_cache;

static void plans_destroy(plan_set *s) {
    fftwf_plan *all[] = {&s->row_fwd, &s->row_inv, &s->col_fwd, &s->col_inv, &s->tail_fwd, &s->tail_inv};
    ub__fftw_lock();
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) {
        if (*all[i]) fftwf_destroy_plan(*all[i]);
        *all[i] = NULL;
    }
    ub__fftw_unlock();
    s->pw = s->ph = 0;
}

static void cache_free(void *p) {
    plan_cache *c = p;
    if (!c) return;
    for (int i = 0; i < CACHE_SLOTS; i++) plans_destroy(&c->slot[i]);
    fftwf_free(c->work);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

static plan_cache *cache_of(ub_ctx *ctx) {
    if (ctx->conv_cache) return ctx->conv_cache;
    plan_cache *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    if (pthread_mutex_init(&c->lock, NULL)) {
        free(c);
        return NULL;
    }
    ctx->conv_cache = c;
    ctx->conv_cache_free = cache_free;
    return c;
}

/* FFTW_ESTIMATE never touches the arrays; it only looks at their alignment, which every
   later new-array execution shares (all rows and chunks start at multiples of 64 bytes). */
static int plans_make(plan_set *s, const geometry *g, float *row, fftwf_complex *buf) {
    const int n = (int)g->ph, cs = (int)g->cs, tail = (int)(g->cw % COL_CHUNK);
    const unsigned flags = FFTW_ESTIMATE;
    ub__fftw_lock();
    fftwf_make_planner_thread_safe(); /* no-op in libfftw3f_omp; kept for the pthreads build of FFTW */
    /* Our plans must be single-threaded (see the top): if some other code of the process asked
       FFTW for threaded plans, ask for one thread just for these, then put its setting back
       (nthreads != 1 means FFTW's threads are initialised, so this never triggers a cleanup). */
    const int planner_threads = fftwf_planner_nthreads();
    if (planner_threads != 1) fftwf_plan_with_nthreads(1);
    s->row_fwd = fftwf_plan_dft_r2c_1d((int)g->pw, row, buf, flags);
    s->row_inv = fftwf_plan_dft_c2r_1d((int)g->pw, buf, row, flags);
    if (g->cw >= COL_CHUNK) {
        s->col_fwd = fftwf_plan_many_dft(1, &n, COL_CHUNK, buf, NULL, cs, 1, buf, NULL, cs, 1, FFTW_FORWARD, flags);
        s->col_inv = fftwf_plan_many_dft(1, &n, COL_CHUNK, buf, NULL, cs, 1, buf, NULL, cs, 1, FFTW_BACKWARD, flags);
    }
    if (tail) {
        fftwf_complex *at = buf + (g->cw - tail);
        s->tail_fwd = fftwf_plan_many_dft(1, &n, tail, at, NULL, cs, 1, at, NULL, cs, 1, FFTW_FORWARD, flags);
        s->tail_inv = fftwf_plan_many_dft(1, &n, tail, at, NULL, cs, 1, at, NULL, cs, 1, FFTW_BACKWARD, flags);
    }
    if (planner_threads != 1) fftwf_plan_with_nthreads(planner_threads);
    ub__fftw_unlock();
    const int ok = s->row_fwd && s->row_inv && (g->cw < COL_CHUNK || (s->col_fwd && s->col_inv)) &&
                   (!tail || (s->tail_fwd && s->tail_inv));
    s->pw = g->pw, s->ph = g->ph;
    return ok;
}

/* The plans for g's size, from the cache or made now (evicting the least recently used).
   Valid until the next call on this context. */
static const plan_set *plans_get(ub_ctx *ctx, const geometry *g, float *row, fftwf_complex *buf) {
    plan_cache *c = cache_of(ctx);
    if (!c) return NULL;
    pthread_mutex_lock(&c->lock);
    plan_set *hit = NULL, *victim = &c->slot[0];
    for (int i = 0; i < CACHE_SLOTS && !hit; i++) {
        plan_set *s = &c->slot[i];
        if (s->pw == g->pw && s->ph == g->ph) hit = s;
        else if (s->pw == 0 || (victim->pw != 0 && s->last_use < victim->last_use)) victim = s;
    }
    if (!hit) {
        plans_destroy(victim);
        if (plans_make(victim, g, row, buf)) hit = victim;
        else plans_destroy(victim);
    }
    if (hit) hit->last_use = ++c->clock;
    pthread_mutex_unlock(&c->lock);
    return hit;
}

/* A workspace of at least `bytes`: the kept one when large enough, else a new one. */
static void *work_take(plan_cache *c, size_t bytes, size_t *size) {
    pthread_mutex_lock(&c->lock);
    void *w = NULL;
    if (c->work && c->work_size >= bytes) w = c->work, *size = c->work_size;
    else fftwf_free(c->work);
    c->work = NULL;
    pthread_mutex_unlock(&c->lock);
    if (!w && (w = fftwf_malloc(bytes))) *size = bytes;
    return w;
}

static void work_give_back(plan_cache *c, void *w, size_t size) {
    if (size > WORK_KEEP_MAX) {
        fftwf_free(w);
        return;
    }
    pthread_mutex_lock(&c->lock);
    fftwf_free(c->work);
    c->work = w, c->work_size = size;
    pthread_mutex_unlock(&c->lock);
}

/* ---- the phases ----

   One parallel region per call. With P planes and two spectrum buffers used in turn, the work
   is 2P + 1 phases, each of which needs the one before it complete:
       rows 0      kernel rows (spectrum rows, zeroed or r2c)  +  forward rows of plane 0
       columns 0   per chunk: kernel columns, then plane 0's forward, product, inverse
       rows p      inverse rows of plane p-1  +  forward rows of plane p       (1 <= p < P)
       columns p   per chunk: plane p's forward, product, inverse
       rows P      inverse rows of plane P-1
   Threads take items from a phase's atomic counter and, once it is exhausted, wait only until
   every TAKEN item is done — not for every thread as an OpenMP barrier would. On a loaded
   machine a thread that never got a core takes no item and holds nobody up (with barriers a
   720p RGB FFT went from 11 ms to 30-40 ms when another process held one of the two cores). */

typedef struct fft_job {
    const geometry *g;
    const plan_set *plans;
    const ub_kernel *k;
    const float *const *in;
    float *const *out;
    int planes;
    float *rows;            /* one scratch row (rs floats) per thread */
    const int32_t *xmap;    /* pw: the input column of each padded column */
    fftwf_complex *buf[2];  /* ph x cs: the spectra of planes p (buf[p % 2]) */
    fftwf_complex *spec;    /* ph x cs: the kernel's spectrum, scaled by 1/(pw ph) */
} fft_job;

static float *thread_row(const fft_job *j) { return j->rows + (int64_t)omp_get_thread_num() * j->g->rs; }

static void columns(const fft_job *j, fftwf_complex *data, int64_t chunk, int forward) {
    const geometry *g = j->g;
    const int64_t c0 = chunk * COL_CHUNK;
    const int tail = c0 + COL_CHUNK > g->cw;
    fftwf_plan p = forward ? (tail ? j->plans->tail_fwd : j->plans->col_fwd)
                           : (tail ? j->plans->tail_inv : j->plans->col_inv);
    fftwf_execute_dft(p, data + c0, data + c0);
}

static void multiply_chunk(const fft_job *j, fftwf_complex *data, int64_t chunk) {
    const geometry *g = j->g;
    const int64_t c0 = chunk * COL_CHUNK, c1 = c0 + COL_CHUNK < g->cw ? c0 + COL_CHUNK : g->cw;
    for (int64_t q = 0; q < g->ph; q++) {
        float *restrict b = (float *)(data + q * g->cs);
        const float *restrict s = (const float *)(j->spec + q * g->cs);
        for (int64_t c = c0; c < c1; c++) {
            const float br = b[2 * c], bi = b[2 * c + 1], sr = s[2 * c], si = s[2 * c + 1];
            b[2 * c] = br * sr - bi * si;
            b[2 * c + 1] = br * si + bi * sr;
        }
    }
}

/* Spectrum row q of the kernel: its row j = q + cy (mod ph), centre wrapped to column 0, scaled. */
static void kernel_row(const fft_job *j, int64_t q) {
    const geometry *g = j->g;
    const int64_t kw = j->k->width, ky = (q + g->cy) % g->ph;
    fftwf_complex *dst = j->spec + q * g->cs;
    int any = 0;
    if (ky < j->k->height)
        for (int64_t kx = 0; kx < kw; kx++) any |= j->k->data[ky * kw + kx] != 0.0f;
    if (!any) {
        memset(dst, 0, (size_t)g->cw * sizeof(fftwf_complex));
        return;
    }
    const float scale = (float)(1.0 / ((double)g->pw * (double)g->ph));
    float *row = thread_row(j);
    memset(row, 0, (size_t)g->pw * sizeof(float));
    for (int64_t kx = 0; kx < kw; kx++) row[(kx - g->cx + g->pw) % g->pw] = j->k->data[ky * kw + kx] * scale;
    fftwf_execute_dft_r2c(j->plans->row_fwd, row, dst);
}

/* Padded row q of plane p, r2c: in(reflect(x - ox), reflect(q - oy)). */
static void forward_row(const fft_job *j, int p, int64_t q) {
    const geometry *g = j->g;
    const float *src = j->in[p] + ub__reflect(q - g->oy, g->h) * g->w;
    float *row = thread_row(j);
    for (int64_t x = 0; x < g->ox; x++) row[x] = src[j->xmap[x]];
    memcpy(row + g->ox, src, (size_t)g->w * sizeof(float));
    for (int64_t x = g->ox + g->w; x < g->pw; x++) row[x] = src[j->xmap[x]];
    fftwf_execute_dft_r2c(j->plans->row_fwd, row, j->buf[p % 2] + q * g->cs);
}

/* Output row y of plane p: c2r of spectrum row y + cy, columns cx .. cx + ow - 1. */
static void inverse_row(const fft_job *j, int p, int64_t y) {
    const geometry *g = j->g;
    float *row = thread_row(j);
    fftwf_execute_dft_c2r(j->plans->row_inv, j->buf[p % 2] + (y + g->cy) * g->cs, row);
    memcpy(j->out[p] + y * g->ow, row + g->cx, (size_t)g->ow * sizeof(float));
}

typedef struct phase {
    atomic_llong next, done; /* items handed out, items finished */
    int64_t total, grain;
} phase;

static void phase_item(const fft_job *j, int ph, int64_t i) {
    const geometry *g = j->g;
    const int p = ph / 2; /* rows p (ph even) or columns p (ph odd) */
    if (ph % 2) {
        fftwf_complex *data = j->buf[p % 2];
        if (p == 0) columns(j, j->spec, i, 1);
        columns(j, data, i, 1);
        multiply_chunk(j, data, i);
        columns(j, data, i, 0);
        return;
    }
    const int64_t nk = p == 0 ? g->ph : 0, nf = p < j->planes ? g->ph : 0;
    if (i < nk) kernel_row(j, i);
    else if (i < nk + nf) forward_row(j, p, i - nk);
    else inverse_row(j, p - 1, i - nk - nf);
}

/* Spins, then yields the core: the thread we wait for may be queued behind us. */
static void wait_done(phase *f) {
    for (int spins = 0; atomic_load(&f->done) < f->total; spins++) {
        if (spins < 2000) _mm_pause();
        else sched_yield();
    }
}

static void run_phases(ub_ctx *ctx, const fft_job *j, phase *phases) {
    const geometry *g = j->g;
    const int planes = j->planes, count = 2 * planes + 1;
    for (int ph = 0; ph < count; ph++) {
        const int p = ph / 2;
        phase *f = &phases[ph];
        atomic_init(&f->next, 0);
        atomic_init(&f->done, 0);
        f->total = ph % 2 ? (g->cw + COL_CHUNK - 1) / COL_CHUNK
                          : (p == 0 ? g->ph : 0) + (p < planes ? g->ph : 0) + (p > 0 ? g->oh : 0);
        f->grain = ph % 2 ? 1 : 8;
    }
#pragma omp parallel num_threads(ub_ctx_threads(ctx))
    for (int ph = 0; ph < count; ph++) {
        phase *f = &phases[ph];
        int64_t i0;
        while ((i0 = atomic_fetch_add(&f->next, f->grain)) < f->total) {
            const int64_t i1 = i0 + f->grain < f->total ? i0 + f->grain : f->total;
            for (int64_t i = i0; i < i1; i++) phase_item(j, ph, i);
            atomic_fetch_add(&f->done, i1 - i0);
        }
        wait_done(f);
    }
}

/* Bytes of the workspace: rows | xmap | spec | buf[0] | buf[1], each part 64-byte aligned. */
static size_t work_bytes(const geometry *g, int threads, int planes, size_t part[5]) {
    const size_t spectrum = (size_t)(g->ph * g->cs) * sizeof(fftwf_complex);
    part[0] = (size_t)threads * (size_t)g->rs * sizeof(float);
    part[1] = (size_t)round_up(g->pw * (int64_t)sizeof(int32_t), 64);
    part[2] = part[3] = spectrum;
    part[4] = planes > 1 ? spectrum : 0;
    size_t total = 0;
    for (int i = 0; i < 5; i++)
        if (__builtin_add_overflow(total, part[i], &total)) return 0;
    return total;
}

ub_status ub__conv_fft(ub_ctx *ctx, const float *const *in, float *const *out, int planes, int64_t w, int64_t h,
                       const ub_kernel *k, ub_border border) {
    int64_t pw, ph;
    if (ub__conv_fft_size(w, h, k, border, &pw, &ph))
        return ub__fail(ctx, UB_ERR_LIMIT, "convolve: a %lldx%lld plane is too large for the FFT", (long long)w,
                        (long long)h);
    const geometry g = geometry_of(w, h, k, border, pw, ph);
    plan_cache *c = cache_of(ctx);
    size_t part[5], size = 0;
    const size_t bytes = work_bytes(&g, ub_ctx_threads(ctx), planes, part);
    char *work = c && bytes ? work_take(c, bytes, &size) : NULL;
    if (!work)
        return ub__fail(ctx, UB_ERR_NOMEM, "convolve: out of memory for a %lldx%lld FFT", (long long)pw, (long long)ph);
    fft_job j = {.g = &g, .k = k, .in = in, .out = out, .planes = planes};
    j.rows = (float *)work;
    int32_t *xmap = (int32_t *)(work + part[0]);
    j.xmap = xmap;
    j.spec = (fftwf_complex *)(work + part[0] + part[1]);
    j.buf[0] = (fftwf_complex *)(work + part[0] + part[1] + part[2]);
    j.buf[1] = planes > 1 ? (fftwf_complex *)(work + part[0] + part[1] + part[2] + part[3]) : j.buf[0];
    for (int64_t x = 0; x < g.pw; x++) xmap[x] = (int32_t)ub__reflect(x - g.ox, g.w);
    ub_status st = UB_OK;
    if (!(j.plans = plans_get(ctx, &g, j.rows, j.buf[0])))
        st = ub__fail(ctx, UB_ERR_NOMEM, "convolve: FFTW could not plan a %lldx%lld transform", (long long)pw,
                      (long long)ph);
    else {
        phase *phases = calloc((size_t)(2 * planes + 1), sizeof *phases);
        if (!phases) st = ub__fail(ctx, UB_ERR_NOMEM, "convolve: out of memory");
        else run_phases(ctx, &j, phases);
        free(phases);
    }
    work_give_back(c, work, size);
    return st;
}
