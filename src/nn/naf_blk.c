/* nn/naf_blk.c — the NAF block's float kernels on oneDNN's activation layouts (see blocked.h): LayerNorm2d,
   SimpleGate, simplified channel attention and the per-channel scale.

   Loops run pixel-major: in a row (n, y) a pixel's channel block k is B contiguous floats, and block k + 1
   lies one block plane (h w B floats) further on, so the inner loops run over the lanes of a block and
   vectorise, and no element's address is divided out. Each output is computed by one thread. Reductions
   over pixels (parameter gradients, plane sums) are cut in chunks of whole rows of one image, summed in
   double per chunk, then the chunks in order: the same bits on any thread count. */
#include "nn/blocked.h"

#include <math.h>
#include <string.h>

#define LN_EPS 1e-6

/* The parameter gradients of LayerNorm and of the scale are summed in chunks of this many rows of one
   image (at 128 x 128, 8 x 128 pixels: enough jobs to balance two threads, few partial sums). */
enum { ROW_CHUNK = 8 };

static size_t align64(size_t bytes) { return (bytes + 63) & ~(size_t)63; }

static int row_chunks(const ub__blk *l) { return (l->h + ROW_CHUNK - 1) / ROW_CHUNK; }

/* Real (non-padding) channels in block k. */
static int block_channels(const ub__blk *l, int k) {
    const int left = l->c - k * l->B;
    return left < l->B ? left : l->B;
}

/* Floats from a pixel's channel block to its next one. */
static size_t block_plane(const ub__blk *l) { return (size_t)l->h * l->w * l->B; }

/* The first float of row y of image n (channel block 0). */
static size_t row_start(const ub__blk *l, int n, int y) { return ((size_t)n * l->cb * l->h + (size_t)y) * l->w * l->B; }

/* Per-chunk partial sums of the pixel reductions (n * row_chunks * 2c doubles); the plane sums of SCA
   (n c doubles) followed by ub__blk_plane_sums' own scratch. */
size_t ub__naf_scratch_bytes(const ub__blk *l) {
    const size_t chunks = align64(sizeof(double) * 2 * (size_t)l->n * row_chunks(l) * l->c);
    const size_t planes = align64(sizeof(double) * (size_t)l->n * l->c) + ub__se_scratch_bytes(l, 1);
    return chunks > planes ? chunks : planes;
}

/* dst[c] += the sum over chunks, in order, of partial[chunk * stride + c], for c < count. */
static void add_chunks(float *dst, const double *partial, long chunks, size_t stride, int count) {
    for (int c = 0; c < count; c++) {
        double s = 0;
        for (long k = 0; k < chunks; k++) s += partial[(size_t)k * stride + (size_t)c];
        dst[c] += (float)s;
    }
}

/* out = in * mul[c] (+ add[c]) in layout l, or out += that when accumulate, with mul and add of (n, c)
   floats when per_image, else of c floats. Written padding lanes get zeros. out may be in. */
static void scale_rows(const ub__blk *l, float *out, const float *in, const float *mul, const float *add,
                       int per_image, int accumulate, int threads) {
    const int B = l->B, h = l->h, w = l->w;
    const long rows = (long)l->n * l->cb * h;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (long r = 0; r < rows; r++) {
        const int k = (int)(r / h % l->cb), n = (int)(r / h / l->cb), nk = block_channels(l, k);
        const size_t first = (per_image ? (size_t)n * l->c : 0) + (size_t)k * B;
        const float *m = mul + first, *a = add ? add + first : NULL, *s = in + (size_t)r * w * B;
        float *d = out + (size_t)r * w * B;
        for (int x = 0; x < w; x++, s += B, d += B) {
            if (!accumulate) {
#pragma omp simd
                for (int j = 0; j < nk; j++) d[j] = s[j] * m[j];
                for (int j = nk; j < B; j++) d[j] = 0.0f;
            } else if (a) {
#pragma omp simd
                for (int j = 0; j < nk; j++) d[j] += s[j] * m[j] + a[j];
            } else {
#pragma omp simd
                for (int j = 0; j < nk; j++) d[j] += s[j] * m[j];
            }
        }
    }
}

/* ---------------------------------------------------------------- LayerNorm2d */

size_t ub__ln_cache_floats(const ub__blk *l) { return (size_t)2 * l->n * l->h * l->w; }

/* Mean and 1 / std over the channels of the pixel at p (block k at p + k * plane), in double. */
static void pixel_moments(const ub__blk *l, const float *p, size_t plane, double *mean, double *rstd) {
    double s = 0, q = 0;
    for (int k = 0; k < l->cb; k++) {
        const float *v = p + (size_t)k * plane;
        const int nk = block_channels(l, k);
#pragma omp simd reduction(+ : s)
        for (int j = 0; j < nk; j++) s += v[j];
    }
    const double mu = s / l->c;
    for (int k = 0; k < l->cb; k++) { /* two passes: no cancellation when |mean| >> std */
        const float *v = p + (size_t)k * plane;
        const int nk = block_channels(l, k);
#pragma omp simd reduction(+ : q)
        for (int j = 0; j < nk; j++) q += (v[j] - mu) * (v[j] - mu);
    }
    *mean = mu, *rstd = 1.0 / sqrt(q / l->c + LN_EPS);
}

void ub__ln_forward_blk(const ub__blk *l, float *out, const float *in, const float *w, const float *b, float *cache,
                        int threads) {
    const size_t plane = block_plane(l);
    const long rows = (long)l->n * l->h;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (long r = 0; r < rows; r++) {
        const size_t first = row_start(l, (int)(r / l->h), (int)(r % l->h));
        float *pc = cache + (size_t)2 * r * l->w;
        for (int x = 0; x < l->w; x++) {
            const size_t px = first + (size_t)x * l->B;
            double mu, rstd;
            pixel_moments(l, in + px, plane, &mu, &rstd);
            for (int k = 0; k < l->cb; k++) {
                const float *v = in + px + (size_t)k * plane, *wk = w + (size_t)k * l->B, *bk = b + (size_t)k * l->B;
                float *o = out + px + (size_t)k * plane;
                const int nk = block_channels(l, k);
#pragma omp simd
                for (int j = 0; j < nk; j++) o[j] = (float)((v[j] - mu) * rstd * wk[j] + bk[j]);
                for (int j = nk; j < l->B; j++) o[j] = 0.0f;
            }
            pc[2 * x] = (float)mu, pc[2 * x + 1] = (float)rstd;
        }
    }
}

/* One pixel of the LayerNorm backward: din (may be NULL) += the input gradient; pw, pb (indexed by
   channel) += dout * xhat, dout. */
static void ln_backward_pixel(const ub__blk *l, size_t plane, float *din, const float *dout, const float *in,
                              const float *w, double mu, double rstd, double *pw, double *pb) {
    double mg = 0, mgx = 0;
    for (int k = 0; k < l->cb; k++) {
        const float *g = dout + (size_t)k * plane, *v = in + (size_t)k * plane, *wk = w + (size_t)k * l->B;
        double *sw = pw + (size_t)k * l->B, *sb = pb + (size_t)k * l->B;
        const int nk = block_channels(l, k);
#pragma omp simd reduction(+ : mg, mgx)
        for (int j = 0; j < nk; j++) {
            const double xhat = (v[j] - mu) * rstd, gw = (double)g[j] * wk[j];
            mg += gw, mgx += gw * xhat;
            sw[j] += g[j] * xhat, sb[j] += g[j];
        }
    }
    if (!din) return;
    mg /= l->c, mgx /= l->c;
    for (int k = 0; k < l->cb; k++) {
        const float *g = dout + (size_t)k * plane, *v = in + (size_t)k * plane, *wk = w + (size_t)k * l->B;
        float *d = din + (size_t)k * plane;
        const int nk = block_channels(l, k);
#pragma omp simd
        for (int j = 0; j < nk; j++) {
            const double xhat = (v[j] - mu) * rstd;
            d[j] += (float)(rstd * ((double)g[j] * wk[j] - mg - xhat * mgx));
        }
    }
}

void ub__ln_backward_blk(const ub__blk *l, float *din, float *dw, float *db, const float *dout, const float *in,
                         const float *w, const float *cache, void *scratch, int threads) {
    const size_t plane = block_plane(l), C = (size_t)l->c;
    const int nrc = row_chunks(l);
    const long chunks = (long)l->n * nrc;
    double *partial = scratch; /* per chunk: dw (c), then db (c) */
#pragma omp parallel for num_threads(threads) schedule(static)
    for (long t = 0; t < chunks; t++) {
        const int n = (int)(t / nrc), y0 = (int)(t % nrc) * ROW_CHUNK;
        const int y1 = y0 + ROW_CHUNK < l->h ? y0 + ROW_CHUNK : l->h;
        double *pw = partial + (size_t)t * 2 * C, *pb = pw + C;
        memset(pw, 0, sizeof(double) * 2 * C);
        for (int y = y0; y < y1; y++) {
            const size_t first = row_start(l, n, y);
            const float *pc = cache + 2 * (((size_t)n * l->h + (size_t)y) * l->w);
            for (int x = 0; x < l->w; x++) {
                const size_t px = first + (size_t)x * l->B;
                ln_backward_pixel(l, plane, din ? din + px : NULL, dout + px, in + px, w, pc[2 * x], pc[2 * x + 1],
                                  pw, pb);
            }
        }
    }
    if (dw) add_chunks(dw, partial, chunks, 2 * C, l->c);
    if (db) add_chunks(db, partial + C, chunks, 2 * C, l->c);
}

/* ---------------------------------------------------------------- SimpleGate */

/* A channel's place in a pixel: block k, lane j. */
typedef struct lane {
    int k, j;
} lane;

static int min_int(int a, int b) { return a < b ? a : b; }

/* The gate pairs output channel c with input channels c and C + c. A run is a range [c, c + len) that lies
   within one block in all three places, so that each pixel's part of it is contiguous: its first floats
   are at ia, ib (from a pixel of li) and io (of lo). The runs are the same for every pixel. */
typedef struct gate_run {
    lane a, b, o;
    int c, len;
    size_t ia, ib, io;
} gate_run;

static void gate_settle(const ub__blk *li, const ub__blk *lo, gate_run *u) {
    u->len = min_int(min_int(lo->c - u->c, lo->B - u->o.j), min_int(li->B - u->a.j, li->B - u->b.j));
    u->ia = (size_t)u->a.k * block_plane(li) + (size_t)u->a.j;
    u->ib = (size_t)u->b.k * block_plane(li) + (size_t)u->b.j;
    u->io = (size_t)u->o.k * block_plane(lo) + (size_t)u->o.j;
}

static gate_run gate_first(const ub__blk *li, const ub__blk *lo) {
    gate_run u = {{0, 0}, {lo->c / li->B, lo->c % li->B}, {0, 0}, 0, 0, 0, 0, 0};
    gate_settle(li, lo, &u);
    return u;
}

static void lane_advance(lane *p, int count, int B) {
    if ((p->j += count) == B) p->k++, p->j = 0;
}

/* The next run; len 0 after the last. */
static void gate_next(const ub__blk *li, const ub__blk *lo, gate_run *u) {
    lane_advance(&u->a, u->len, li->B), lane_advance(&u->b, u->len, li->B), lane_advance(&u->o, u->len, lo->B);
    u->c += u->len;
    gate_settle(li, lo, u);
}

void ub__gate_forward_blk(const ub__blk *li, const ub__blk *lo, float *out, const float *in, int threads) {
    const long rows = (long)lo->n * lo->h;
    const int Bi = li->B, Bo = lo->B, last = lo->cb - 1, real = block_channels(lo, last);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (long r = 0; r < rows; r++) {
        const int n = (int)(r / lo->h), y = (int)(r % lo->h);
        const float *irow = in + row_start(li, n, y);
        float *orow = out + row_start(lo, n, y);
        for (gate_run u = gate_first(li, lo); u.len > 0; gate_next(li, lo, &u))
            for (int x = 0; x < lo->w; x++) {
                const float *a = irow + u.ia + (size_t)x * Bi, *b = irow + u.ib + (size_t)x * Bi;
                float *o = orow + u.io + (size_t)x * Bo;
#pragma omp simd
                for (int j = 0; j < u.len; j++) o[j] = a[j] * b[j];
            }
        float *pad = orow + (size_t)last * block_plane(lo);
        for (int x = 0; real < Bo && x < lo->w; x++)
            for (int j = real; j < Bo; j++) pad[(size_t)x * Bo + j] = 0.0f;
    }
}

void ub__gate_backward_blk(const ub__blk *li, const ub__blk *lo, float *din, const float *dout, const float *in,
                           int threads) {
    const long rows = (long)lo->n * lo->h;
    const int Bi = li->B, Bo = lo->B;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (long r = 0; r < rows; r++) {
        const int n = (int)(r / lo->h), y = (int)(r % lo->h);
        const size_t irow = row_start(li, n, y), orow = row_start(lo, n, y);
        for (gate_run u = gate_first(li, lo); u.len > 0; gate_next(li, lo, &u))
            for (int x = 0; x < lo->w; x++) {
                const float *a = in + irow + u.ia + (size_t)x * Bi, *b = in + irow + u.ib + (size_t)x * Bi;
                const float *g = dout + orow + u.io + (size_t)x * Bo;
                float *da = din + irow + u.ia + (size_t)x * Bi, *db = din + irow + u.ib + (size_t)x * Bi;
#pragma omp simd
                for (int j = 0; j < u.len; j++) da[j] += g[j] * b[j], db[j] += g[j] * a[j];
            }
    }
}

/* ---------------------------------------------------------------- SCA */

size_t ub__sca_cache_floats(const ub__blk *l) { return (size_t)4 * l->n * l->c; }

void ub__sca_forward_blk(const ub__blk *l, float *out, const float *in, const float *given_mean, const float *w,
                         const float *b, float *cache, void *scratch, int threads) {
    const int N = l->n, C = l->c;
    float *m = cache, *s = cache + (size_t)N * C;
    if (given_mean) memcpy(m, given_mean, sizeof(float) * (size_t)N * C);
    else {
        double *sums = scratch;
        const double hw = (double)l->h * l->w;
        ub__blk_plane_sums(l, in, NULL, sums, (char *)scratch + align64(sizeof(double) * (size_t)N * C), threads);
        for (int k = 0; k < N * C; k++) m[k] = (float)(sums[k] / hw);
    }
    for (int n = 0; n < N; n++)
        for (int o = 0; o < C; o++) {
            double v = b[o];
            for (int i = 0; i < C; i++) v += (double)w[(size_t)o * C + i] * m[(size_t)n * C + i];
            s[(size_t)n * C + o] = (float)v;
        }
    scale_rows(l, out, in, s, NULL, 1, 0, threads);
}

void ub__sca_backward_blk(const ub__blk *l, float *din, float *dw, float *db, const float *dout, const float *in,
                          const float *w, float *cache, void *scratch, int threads) {
    const int N = l->n, C = l->c;
    const float *m = cache, *s = cache + (size_t)N * C;
    float *ds = cache + (size_t)2 * N * C, *dm = cache + (size_t)3 * N * C;
    const double hw = (double)l->h * l->w;
    double *sums = scratch;
    ub__blk_plane_sums(l, dout, in, sums, (char *)scratch + align64(sizeof(double) * (size_t)N * C), threads);
    for (int k = 0; k < N * C; k++) ds[k] = (float)sums[k];
    for (int o = 0; o < C; o++) {
        double sb = 0;
        for (int n = 0; n < N; n++) sb += ds[(size_t)n * C + o];
        if (db) db[o] += (float)sb;
        for (int i = 0; dw && i < C; i++) {
            double sw = 0;
            for (int n = 0; n < N; n++) sw += (double)ds[(size_t)n * C + o] * m[(size_t)n * C + i];
            dw[(size_t)o * C + i] += (float)sw;
        }
    }
    if (!din) return;
    for (int n = 0; n < N; n++)
        for (int i = 0; i < C; i++) {
            double v = 0;
            for (int o = 0; o < C; o++) v += (double)w[(size_t)o * C + i] * ds[(size_t)n * C + o];
            dm[(size_t)n * C + i] = (float)(v / hw);
        }
    /* din += dout * s + dm: the mean spreads its gradient evenly over the plane */
    scale_rows(l, din, dout, s, dm, 1, 1, threads);
}

/* ---------------------------------------------------------------- per-channel scale */

void ub__scale_forward_blk(const ub__blk *l, float *out, const float *in, const float *w, int threads) {
    scale_rows(l, out, in, w, NULL, 0, 0, threads);
}

/* One pass: each chunk of rows adds its dout * in to its own partial sums of dw and, when din, dout * w to
   din. */
void ub__scale_backward_blk(const ub__blk *l, float *din, float *dw, const float *dout, const float *in,
                            const float *w, void *scratch, int threads) {
    const int B = l->B, nrc = row_chunks(l);
    const size_t C = (size_t)l->c, plane = block_plane(l);
    const long chunks = (long)l->n * nrc;
    double *partial = scratch;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (long t = 0; t < chunks; t++) {
        const int n = (int)(t / nrc), y0 = (int)(t % nrc) * ROW_CHUNK;
        const int y1 = y0 + ROW_CHUNK < l->h ? y0 + ROW_CHUNK : l->h;
        double *pw = partial + (size_t)t * C;
        memset(pw, 0, sizeof(double) * C);
        for (int k = 0; k < l->cb; k++) {
            const int nk = block_channels(l, k);
            const float *wk = w + (size_t)k * B;
            double *sw = pw + (size_t)k * B;
            for (int y = y0; y < y1; y++) {
                const size_t first = row_start(l, n, y) + (size_t)k * plane;
                for (int x = 0; x < l->w; x++) {
                    const float *g = dout + first + (size_t)x * B, *v = in + first + (size_t)x * B;
#pragma omp simd
                    for (int j = 0; j < nk; j++) sw[j] += (double)g[j] * v[j];
                    if (!din) continue;
                    float *d = din + first + (size_t)x * B;
#pragma omp simd
                    for (int j = 0; j < nk; j++) d[j] += g[j] * wk[j];
                }
            }
        }
    }
    if (dw) add_chunks(dw, partial, chunks, C, l->c);
}
