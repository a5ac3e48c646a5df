/* nn/attention.c — SE (channel) and spatial attention, forward and backward,
   in float directly on oneDNN's activation layouts (see blocked.h). The
   reference twins are ub__se_*_ref and ub__sa_*_ref of nn/ref.h. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "nn/blocked.h"

/* Channel sums are cut in chunks of this many rows, each summed by one thread, and the chunks are then
   added in order: the result does not depend on the thread count. */
enum { ROW_CHUNK = 8 };

static size_t align64(size_t bytes) { return (bytes + 63) & ~(size_t)63; }

static int row_chunks(const ub__blk *l) { return (l->h + ROW_CHUNK - 1) / ROW_CHUNK; }

/* Real (non-padding) channels in block cb. */
static int block_channels(const ub__blk *l, int cb) {
    const int left = l->c - cb * l->B;
    return left < l->B ? left : l->B;
}

static float sigmoidf(double v) { return (float)(1.0 / (1.0 + exp(-v))); }

/* sums[(n * cb + block) * B + k] = sum over the window rows [y0, y1), columns [x0, x1) of a (times b when
   b is not NULL), in double. The chunks of ROW_CHUNK rows start at y0: the whole plane (the SE's own mean)
   is summed exactly as before windows existed. */
static void channel_sums(const ub__blk *l, const float *a, const float *b, int y0, int y1, int x0, int x1,
                         double *partial, double *sums, int threads) {
    const int nchunk = (y1 - y0 + ROW_CHUNK - 1) / ROW_CHUNK, B = l->B, h = l->h, w = l->w;
    const long jobs = (long)l->n * l->cb * nchunk;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (long j = 0; j < jobs; j++) {
        const long nb = j / nchunk;
        const int r0 = y0 + (int)(j % nchunk) * ROW_CHUNK, r1 = r0 + ROW_CHUNK < y1 ? r0 + ROW_CHUNK : y1;
        double *acc = partial + (size_t)j * B;
        for (int k = 0; k < B; k++) acc[k] = 0.0;
        const size_t pixels = (size_t)(x1 - x0);
        for (int y = r0; y < r1; y++) {
            const size_t base = (((size_t)nb * h + (size_t)y) * w + (size_t)x0) * B;
            const float *pa = a + base;
            if (b) {
                const float *pb = b + base;
                for (size_t p = 0; p < pixels; p++)
                    for (int k = 0; k < B; k++) acc[k] += (double)pa[p * B + k] * pb[p * B + k];
            } else {
                for (size_t p = 0; p < pixels; p++)
                    for (int k = 0; k < B; k++) acc[k] += pa[p * B + k];
            }
        }
    }
    const long blocks = (long)l->n * l->cb;
    for (long nb = 0; nb < blocks; nb++)
        for (int k = 0; k < B; k++) {
            double s = 0.0;
            for (int c = 0; c < nchunk; c++) s += partial[((size_t)nb * nchunk + (size_t)c) * B + (size_t)k];
            sums[(size_t)nb * B + (size_t)k] = s;
        }
}

/* out = in * scale[n][c] (+ shift[n][c] when shift is not NULL), or out += that when accumulate;
   scale and shift are indexed like sums above and hold zeros for the padding channels. */
static void scale_channels(const ub__blk *l, float *out, const float *in, const float *scale, const float *shift,
                           int accumulate, int threads) {
    const int B = l->B, h = l->h, w = l->w;
    const long rows = (long)l->n * l->cb * h;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (long r = 0; r < rows; r++) {
        const long nb = r / h;
        const float *sc = scale + (size_t)nb * B, *sh = shift ? shift + (size_t)nb * B : NULL;
        const float *src = in + (size_t)r * w * B;
        float *dst = out + (size_t)r * w * B;
        for (int x = 0; x < w; x++) {
            const float *s = src + (size_t)x * B;
            float *d = dst + (size_t)x * B;
            if (accumulate && sh)
                for (int k = 0; k < B; k++) d[k] += s[k] * sc[k] + sh[k];
            else if (accumulate)
                for (int k = 0; k < B; k++) d[k] += s[k] * sc[k];
            else
                for (int k = 0; k < B; k++) d[k] = s[k] * sc[k];
        }
    }
}

/* ---------------------------------------------------------------- SE */

typedef struct se_scratch {
    double *partial, *sums, *dz2, *dz1;
    float *scale, *shift;
} se_scratch;

static size_t se_parts(const ub__blk *l, int r, se_scratch *s, void *base) {
    const size_t padded = (size_t)l->n * l->cb * l->B;
    const size_t sizes[6] = {align64(sizeof(double) * (size_t)l->n * l->cb * row_chunks(l) * l->B),
                             align64(sizeof(double) * padded), align64(sizeof(double) * (size_t)l->n * l->c),
                             align64(sizeof(double) * (size_t)l->n * r), align64(sizeof(float) * padded),
                             align64(sizeof(float) * padded)};
    size_t off[6], total = 0;
    for (int i = 0; i < 6; i++) off[i] = total, total += sizes[i];
    if (s) {
        char *p = base;
        *s = (se_scratch){(double *)(p + off[0]), (double *)(p + off[1]), (double *)(p + off[2]),
                          (double *)(p + off[3]), (float *)(p + off[4]), (float *)(p + off[5])};
    }
    return total;
}

size_t ub__se_cache_floats(const ub__blk *l, int r) { return (size_t)l->n * (2 * (size_t)l->c + (size_t)r); }

size_t ub__se_scratch_bytes(const ub__blk *l, int r) { return se_parts(l, r, NULL, NULL); }

/* The padded index of channel c of image i in the sums / scale vectors. */
static size_t padded_index(const ub__blk *l, int i, int c) { return ((size_t)i * l->cb + (size_t)(c / l->B)) * l->B + (size_t)(c % l->B); }

/* channel_sums into the unpadded sums (n, c), with SE scratch for any r. */
static void unpadded_sums(const ub__blk *l, const float *a, const float *b, int y0, int y1, int x0, int x1,
                          double *sums, void *scratch, int threads) {
    se_scratch s;
    se_parts(l, 1, &s, scratch);
    channel_sums(l, a, b, y0, y1, x0, x1, s.partial, s.sums, threads);
    for (int i = 0; i < l->n; i++)
        for (int c = 0; c < l->c; c++) sums[(size_t)i * l->c + (size_t)c] = s.sums[padded_index(l, i, c)];
}

void ub__blk_window_sums(const ub__blk *l, const float *in, int y0, int y1, int x0, int x1, double *sums,
                         void *scratch, int threads) {
    unpadded_sums(l, in, NULL, y0, y1, x0, x1, sums, scratch, threads);
}

void ub__blk_plane_sums(const ub__blk *l, const float *a, const float *b, double *sums, void *scratch, int threads) {
    unpadded_sums(l, a, b, 0, l->h, 0, l->w, sums, scratch, threads);
}

void ub__se_forward_blk(const ub__blk *l, float *out, const float *in, const float *w1, const float *b1,
                        const float *w2, const float *b2, int r, float *cache, void *scratch, int threads) {
    ub__se_forward_mean_blk(l, out, in, NULL, w1, b1, w2, b2, r, cache, scratch, threads);
}

void ub__se_forward_mean_blk(const ub__blk *l, float *out, const float *in, const float *given_mean,
                             const float *w1, const float *b1, const float *w2, const float *b2, int r, float *cache,
                             void *scratch, int threads) {
    const int N = l->n, C = l->c;
    const double hw = (double)l->h * l->w;
    se_scratch s;
    se_parts(l, r, &s, scratch);
    float *mean = cache, *z = cache + (size_t)N * C, *sv = z + (size_t)N * r;
    if (given_mean) memcpy(mean, given_mean, sizeof(float) * (size_t)N * C);
    else channel_sums(l, in, NULL, 0, l->h, 0, l->w, s.partial, s.sums, threads);
    memset(s.scale, 0, sizeof(float) * (size_t)N * l->cb * l->B);
    for (int i = 0; i < N; i++) {
        if (!given_mean)
            for (int c = 0; c < C; c++) mean[(size_t)i * C + c] = (float)(s.sums[padded_index(l, i, c)] / hw);
        for (int j = 0; j < r; j++) {
            double acc = b1[j];
            for (int c = 0; c < C; c++) acc += (double)w1[(size_t)j * C + c] * mean[(size_t)i * C + c];
            z[(size_t)i * r + j] = acc > 0.0 ? (float)acc : 0.0f;
        }
        for (int c = 0; c < C; c++) {
            double acc = b2[c];
            for (int j = 0; j < r; j++) acc += (double)w2[(size_t)c * r + j] * z[(size_t)i * r + j];
            sv[(size_t)i * C + c] = s.scale[padded_index(l, i, c)] = sigmoidf(acc);
        }
    }
    scale_channels(l, out, in, s.scale, NULL, 0, threads);
}

void ub__se_backward_blk(const ub__blk *l, float *din, float *dw1, float *db1, float *dw2, float *db2,
                         const float *dout, const float *in, const float *w1, const float *w2, int r,
                         const float *cache, void *scratch, int threads) {
    const int N = l->n, C = l->c;
    const double hw = (double)l->h * l->w;
    se_scratch s;
    se_parts(l, r, &s, scratch);
    const float *mean = cache, *z = cache + (size_t)N * C, *sv = z + (size_t)N * r;
    /* dL/ds[n, c] = sum_hw dout * x; through the sigmoid: dz2 = dL/ds * s (1 - s) */
    channel_sums(l, dout, in, 0, l->h, 0, l->w, s.partial, s.sums, threads);
    for (int i = 0; i < N; i++)
        for (int c = 0; c < C; c++) {
            const double sg = sv[(size_t)i * C + c];
            s.dz2[(size_t)i * C + c] = s.sums[padded_index(l, i, c)] * sg * (1.0 - sg);
        }
    /* fc2: dz1 = relu'(z) * W2^T dz2 */
    for (int i = 0; i < N; i++)
        for (int j = 0; j < r; j++) {
            double acc = 0.0;
            if (z[(size_t)i * r + j] > 0.0f)
                for (int c = 0; c < C; c++) acc += (double)w2[(size_t)c * r + j] * s.dz2[(size_t)i * C + c];
            s.dz1[(size_t)i * r + j] = acc;
        }
    for (int c = 0; c < C; c++) {
        double gb = 0.0;
        for (int i = 0; i < N; i++) gb += s.dz2[(size_t)i * C + c];
        if (db2) db2[c] += (float)gb;
        for (int j = 0; dw2 && j < r; j++) {
            double g = 0.0;
            for (int i = 0; i < N; i++) g += s.dz2[(size_t)i * C + c] * z[(size_t)i * r + j];
            dw2[(size_t)c * r + j] += (float)g;
        }
    }
    for (int j = 0; j < r; j++) {
        double gb = 0.0;
        for (int i = 0; i < N; i++) gb += s.dz1[(size_t)i * r + j];
        if (db1) db1[j] += (float)gb;
        for (int c = 0; dw1 && c < C; c++) {
            double g = 0.0;
            for (int i = 0; i < N; i++) g += s.dz1[(size_t)i * r + j] * mean[(size_t)i * C + c];
            dw1[(size_t)j * C + c] += (float)g;
        }
    }
    if (!din) return;
    /* din += dout * s + (W1^T dz1) / hw: the mean spreads its gradient evenly over the plane */
    memset(s.scale, 0, sizeof(float) * (size_t)N * l->cb * l->B);
    memset(s.shift, 0, sizeof(float) * (size_t)N * l->cb * l->B);
    for (int i = 0; i < N; i++)
        for (int c = 0; c < C; c++) {
            double dm = 0.0;
            for (int j = 0; j < r; j++) dm += (double)w1[(size_t)j * C + c] * s.dz1[(size_t)i * r + j];
            s.scale[padded_index(l, i, c)] = sv[(size_t)i * C + c];
            s.shift[padded_index(l, i, c)] = (float)(dm / hw);
        }
    scale_channels(l, din, dout, s.scale, s.shift, 1, threads);
}

/* ---------------------------------------------------------------- SA */

typedef struct sa_view {
    int pad, hp, wp;
    float *pooled, *att, *arg; /* (n, 2, hp, wp) zero-bordered; (n, h, w); (n, h, w) */
} sa_view;

static sa_view sa_cache_view(const ub__blk *l, int k, const float *cache) {
    sa_view v;
    v.pad = k / 2;
    v.hp = l->h + 2 * v.pad;
    v.wp = l->w + 2 * v.pad;
    v.pooled = (float *)cache; /* the backward pass only reads through it */
    v.att = v.pooled + (size_t)l->n * 2 * v.hp * v.wp;
    v.arg = v.att + (size_t)l->n * l->h * l->w;
    return v;
}

size_t ub__sa_cache_floats(const ub__blk *l, int k) {
    const size_t hp = (size_t)l->h + 2 * (size_t)(k / 2), wp = (size_t)l->w + 2 * (size_t)(k / 2);
    return (size_t)l->n * (2 * hp * wp + 2 * (size_t)l->h * l->w);
}

/* Backward scratch: dlogit zero-bordered (n, hp, wp), dpooled (n, 2, h, w), per-row weight partials. */
static size_t sa_parts(const ub__blk *l, int k, void *base, float **dlog, float **dpool, double **partial) {
    const size_t hp = (size_t)l->h + 2 * (size_t)(k / 2), wp = (size_t)l->w + 2 * (size_t)(k / 2);
    const size_t s0 = align64(sizeof(float) * (size_t)l->n * hp * wp),
                 s1 = align64(sizeof(float) * (size_t)l->n * 2 * l->h * l->w),
                 s2 = align64(sizeof(double) * (size_t)l->n * l->h * 2 * k * k);
    if (base) {
        char *p = base;
        *dlog = (float *)p;
        *dpool = (float *)(p + s0);
        *partial = (double *)(p + s0 + s1);
    }
    return s0 + s1 + s2;
}

size_t ub__sa_scratch_bytes(const ub__blk *l, int k) { return sa_parts(l, k, NULL, NULL, NULL, NULL); }

/* Mean and max over the channels, per pixel, into the pooled maps (and the argmax). */
static void sa_pool(const ub__blk *l, const float *in, const sa_view *v, int threads) {
    const int B = l->B, h = l->h, w = l->w, C = l->c;
    memset(v->pooled, 0, sizeof(float) * (size_t)l->n * 2 * v->hp * v->wp);
    const long rows = (long)l->n * h;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (long r = 0; r < rows; r++) {
        const int i = (int)(r / h), y = (int)(r % h);
        float *p0 = v->pooled + ((size_t)i * 2 * v->hp + (size_t)(y + v->pad)) * v->wp + v->pad;
        float *p1 = p0 + (size_t)v->hp * v->wp;
        float *arg = v->arg + (size_t)r * w;
        for (int x = 0; x < w; x++) {
            p1[x] = in[ub__blk_at(l, i, 0, y, x)];
            arg[x] = 0.0f;
        }
        for (int cb = 0; cb < l->cb; cb++) {
            const int nk = block_channels(l, cb);
            const float *row = in + (((size_t)i * l->cb + (size_t)cb) * h + (size_t)y) * w * B;
            for (int x = 0; x < w; x++) {
                const float *px = row + (size_t)x * B;
                float sum = p0[x], mx = p1[x], am = arg[x];
                for (int k = 0; k < nk; k++) {
                    sum += px[k];
                    if (px[k] > mx) { /* strictly greater: a tie keeps the first channel */
                        mx = px[k];
                        am = (float)(cb * B + k);
                    }
                }
                p0[x] = sum, p1[x] = mx, arg[x] = am;
            }
        }
        for (int x = 0; x < w; x++) p0[x] /= (float)C;
    }
}

/* out[y, x] = sum_{i, ky, kx} wt(i, ky, kx) * src_i[y + ky][x + kx] over the zero-bordered planes src_i
   (nplanes of them, `plane` floats apart, rows of wp), for one output row; wt is w, or w rotated by 180
   degrees when flip is set (the transposed convolution). */
static void conv_row(float *out, const float *src, size_t plane, int nplanes, int wp, int y, int w_out,
                     const float *wt, int k, int flip) {
    for (int x = 0; x < w_out; x++) out[x] = 0.0f;
    for (int i = 0; i < nplanes; i++)
        for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++) {
                const float c = flip ? wt[((size_t)i * k + (k - 1 - ky)) * k + (k - 1 - kx)]
                                     : wt[((size_t)i * k + ky) * k + kx];
                const float *s = src + (size_t)i * plane + (size_t)(y + ky) * wp + kx;
                for (int x = 0; x < w_out; x++) out[x] += c * s[x];
            }
}

/* out = in * a[n, y, x] on the real channels, zero on the padding. */
static void scale_pixels(const ub__blk *l, float *out, const float *in, const float *att, int threads) {
    const int B = l->B, h = l->h, w = l->w;
    const long rows = (long)l->n * l->cb * h;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (long r = 0; r < rows; r++) {
        const int y = (int)(r % h), cb = (int)(r / h % l->cb), i = (int)(r / h / l->cb);
        const int nk = block_channels(l, cb);
        const float *a = att + ((size_t)i * h + (size_t)y) * w, *src = in + (size_t)r * w * B;
        float *dst = out + (size_t)r * w * B;
        for (int x = 0; x < w; x++) {
            for (int k = 0; k < nk; k++) dst[(size_t)x * B + k] = src[(size_t)x * B + k] * a[x];
            for (int k = nk; k < B; k++) dst[(size_t)x * B + k] = 0.0f;
        }
    }
}

void ub__sa_forward_blk(const ub__blk *l, float *out, const float *in, const float *w, int k, float *cache,
                        int threads) {
    const sa_view v = sa_cache_view(l, k, cache);
    const int h = l->h, wd = l->w;
    sa_pool(l, in, &v, threads);
    const long rows = (long)l->n * h;
    const size_t plane = (size_t)v.hp * v.wp;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (long r = 0; r < rows; r++) {
        const int i = (int)(r / h), y = (int)(r % h);
        float *a = v.att + (size_t)r * wd;
        conv_row(a, v.pooled + (size_t)i * 2 * plane, plane, 2, v.wp, y, wd, w, k, 0);
        for (int x = 0; x < wd; x++) a[x] = sigmoidf(a[x]);
    }
    scale_pixels(l, out, in, v.att, threads);
}

void ub__sa_backward_blk(const ub__blk *l, float *din, float *dw, const float *dout, const float *in,
                         const float *w, int k, const float *cache, void *scratch, int threads) {
    const sa_view v = sa_cache_view(l, k, cache);
    const int B = l->B, h = l->h, wd = l->w, C = l->c, kk2 = 2 * k * k;
    float *dlog = NULL, *dpool = NULL;
    double *partial = NULL;
    sa_parts(l, k, scratch, &dlog, &dpool, &partial);
    const size_t plane = (size_t)v.hp * v.wp;
    const long rows = (long)l->n * h;
    memset(dlog, 0, sizeof(float) * (size_t)l->n * plane);
    /* dlogit = (sum_c dout * x) * a (1 - a), into a zero-bordered plane */
#pragma omp parallel for num_threads(threads) schedule(static)
    for (long r = 0; r < rows; r++) {
        const int i = (int)(r / h), y = (int)(r % h);
        float *g = dlog + (size_t)i * plane + (size_t)(y + v.pad) * v.wp + v.pad;
        for (int cb = 0; cb < l->cb; cb++) {
            const int nk = block_channels(l, cb);
            const size_t base = (((size_t)i * l->cb + (size_t)cb) * h + (size_t)y) * wd * B;
            for (int x = 0; x < wd; x++) {
                float acc = g[x];
                for (int kc = 0; kc < nk; kc++) acc += dout[base + (size_t)x * B + kc] * in[base + (size_t)x * B + kc];
                g[x] = acc;
            }
        }
        const float *a = v.att + (size_t)r * wd;
        for (int x = 0; x < wd; x++) g[x] *= a[x] * (1.0f - a[x]);
    }
    /* the conv weight's gradient: per-row partial sums, then the rows in order */
#pragma omp parallel for num_threads(threads) schedule(static)
    for (long r = 0; r < rows; r++) {
        const int i = (int)(r / h), y = (int)(r % h);
        const float *g = dlog + (size_t)i * plane + (size_t)(y + v.pad) * v.wp + v.pad;
        double *acc = partial + (size_t)r * kk2;
        for (int t = 0; t < kk2; t++) {
            const int p = t / (k * k), ky = t / k % k, kx = t % k;
            const float *src = v.pooled + ((size_t)i * 2 + (size_t)p) * plane + (size_t)(y + ky) * v.wp + kx;
            double s = 0.0;
            /* in lanes (a fixed order for a given build, whatever the thread count): the
               sequential double sum was 5 % of a W16 training step */
#pragma omp simd reduction(+ : s)
            for (int x = 0; x < wd; x++) s += (double)g[x] * src[x];
            acc[t] = s;
        }
    }
    if (dw)
        for (int t = 0; t < kk2; t++) {
            double s = 0.0;
            for (long r = 0; r < rows; r++) s += partial[(size_t)r * kk2 + (size_t)t];
            dw[t] += (float)s;
        }
    if (!din) return;
    /* dpooled: the transposed convolution of dlogit (the kernel rotated by 180 degrees) */
#pragma omp parallel for num_threads(threads) schedule(static)
    for (long r = 0; r < rows; r++) {
        const int i = (int)(r / h), y = (int)(r % h);
        for (int p = 0; p < 2; p++)
            conv_row(dpool + (((size_t)i * 2 + (size_t)p) * h + (size_t)y) * wd, dlog + (size_t)i * plane, plane, 1,
                     v.wp, y, wd, w + (size_t)p * k * k, k, 1);
    }
    /* din += dout * a + dmean / C (every channel) + dmax (the argmax channel) */
    const long brows = (long)l->n * l->cb * h;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (long r = 0; r < brows; r++) {
        const int y = (int)(r % h), cb = (int)(r / h % l->cb), i = (int)(r / h / l->cb);
        const int nk = block_channels(l, cb);
        const size_t pix = ((size_t)i * h + (size_t)y) * wd;
        const float *a = v.att + pix, *arg = v.arg + pix;
        const float *dmean = dpool + ((size_t)i * 2 * h + (size_t)y) * wd, *dmax = dmean + (size_t)h * wd;
        const float *g = dout + (size_t)r * wd * B;
        float *d = din + (size_t)r * wd * B;
        for (int x = 0; x < wd; x++) {
            const float spread = dmean[x] / (float)C;
            for (int kc = 0; kc < nk; kc++) d[(size_t)x * B + kc] += g[(size_t)x * B + kc] * a[x] + spread;
            const int am = (int)arg[x] - cb * B;
            if (am >= 0 && am < nk) d[(size_t)x * B + am] += dmax[x];
        }
    }
}
