/* deconv/blind_kernel.c — the kernel step of blind deconvolution.

       k = argmin ||grad x (*) k - grad y||^2 + gamma ||k||^2,   k supported on kw x kh

   (Cho & Lee 2009; Pan et al. 2014's estimate_psf). The support constraint makes it no single FFT
   division: conjugate gradients on the kw x kh unknowns, each product A k = crop(F^-1(M . F(k))) +
   gamma k one FFT pair on the frame, with M = |F gx|^2 + |F gy|^2. Then the estimate is cleaned:
   negatives and values under a fraction of the maximum removed, small 8-connected islands removed,
   sum 1, centroid brought to the centre by an integer shift. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "deconv/blind_internal.h"

static const double QUARTER_PI = 0.78539816339744830962, HALF_PI = 1.57079632679489661923;

/* The kw x kh window of a frame around offset (0, 0) (wrapped): out[j][i] = v[(j - kh/2) mod h][(i - kw/2) mod w]. */
static void crop_centre(const float *v, int w, int h, float *out, int kw, int kh) {
    for (int j = 0; j < kh; j++) {
        int y = j - kh / 2;
        if (y < 0) y += h;
        for (int i = 0; i < kw; i++) {
            int x = i - kw / 2;
            if (x < 0) x += w;
            out[(size_t)j * kw + i] = v[(size_t)y * w + x];
        }
    }
}

static void apply_a(ub__bfft *f, const float *m, const float *k, int kw, int kh, double gamma, fftwf_complex *spec,
                    float *frame, float *out) {
    ub__bfft_otf(f, k, kw, kh, spec);
    for (size_t i = 0; i < f->nc; i++) spec[i][0] *= m[i], spec[i][1] *= m[i];
    ub__bfft_inverse(f, spec, frame);
    crop_centre(frame, f->w, f->h, out, kw, kh);
    const size_t nk = (size_t)kw * kh;
    for (size_t i = 0; i < nk; i++) out[i] += (float)gamma * k[i];
}

static double dot(const float *a, const float *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

ub_status ub__blind_kernel(ub__bfft *f, const float *gx, const float *gy, fftwf_complex *BX,
                           fftwf_complex *BY, double gamma, int cg_iters, float *k, int kw, int kh) {
    const size_t nc = f->nc, nk = (size_t)kw * kh;
    float *m = fftwf_malloc(nc * sizeof(float)), *frame = fftwf_malloc(f->n * sizeof(float));
    fftwf_complex *GX = fftwf_malloc(nc * sizeof(fftwf_complex)), *GY = fftwf_malloc(nc * sizeof(fftwf_complex));
    float *b = malloc(nk * sizeof(float)), *r = malloc(nk * sizeof(float)), *p = malloc(nk * sizeof(float));
    float *ap = malloc(nk * sizeof(float));
    ub_status st = UB_OK;
    if (!m || !frame || !GX || !GY || !b || !r || !p || !ap) {
        st = UB_ERR_NOMEM;
        goto done;
    }
    ub__bfft_forward(f, gx, GX);
    ub__bfft_forward(f, gy, GY);
    for (size_t i = 0; i < nc; i++) {
        m[i] = GX[i][0] * GX[i][0] + GX[i][1] * GX[i][1] + GY[i][0] * GY[i][0] + GY[i][1] * GY[i][1];
        /* conj(GX) BX + conj(GY) BY, into GX */
        const float re = GX[i][0] * BX[i][0] + GX[i][1] * BX[i][1] + GY[i][0] * BY[i][0] + GY[i][1] * BY[i][1];
        const float im = GX[i][0] * BX[i][1] - GX[i][1] * BX[i][0] + GY[i][0] * BY[i][1] - GY[i][1] * BY[i][0];
        GX[i][0] = re, GX[i][1] = im;
    }
    ub__bfft_inverse(f, GX, frame);
    crop_centre(frame, f->w, f->h, b, kw, kh);
    /* conjugate gradients from k */
    apply_a(f, m, k, kw, kh, gamma, GY, frame, ap);
    for (size_t i = 0; i < nk; i++) r[i] = b[i] - ap[i], p[i] = r[i];
    double rr = dot(r, r, nk);
    const double stop = 1e-10 * fmax(dot(b, b, nk), 1e-30);
    for (int it = 0; it < cg_iters && rr > stop; it++) {
        apply_a(f, m, p, kw, kh, gamma, GY, frame, ap);
        const double pap = dot(p, ap, nk);
        if (!(pap > 0)) break;
        const double a = rr / pap;
        for (size_t i = 0; i < nk; i++) k[i] += (float)(a * p[i]), r[i] -= (float)(a * ap[i]);
        const double rr2 = dot(r, r, nk);
        const double bt = rr2 / rr;
        rr = rr2;
        for (size_t i = 0; i < nk; i++) p[i] = r[i] + (float)(bt * p[i]);
    }
    if (ub__blind_kernel_clean(k, kw, kh, 0.05, 0.1) != 0) {
        memset(k, 0, nk * sizeof(float));
        k[(size_t)(kh / 2) * kw + kw / 2] = 1.0f;
    }
done:
    fftwf_free(m);
    fftwf_free(frame);
    fftwf_free(GX);
    fftwf_free(GY);
    free(b);
    free(r);
    free(p);
    free(ap);
    return st;
}

/* Labels the 8-connected component of `seed` among the nonzero values (label[] == 0 unlabelled),
   returning its mass. */
static double flood(const float *k, int kw, int kh, int *label, int *stack, int seed, int id) {
    double mass = 0;
    int top = 0;
    stack[top++] = seed;
    label[seed] = id;
    while (top > 0) {
        const int c = stack[--top], cx = c % kw, cy = c / kw;
        mass += k[c];
        for (int dy = -1; dy <= 1; dy++)
            for (int dx = -1; dx <= 1; dx++) {
                const int x = cx + dx, y = cy + dy;
                if (x < 0 || y < 0 || x >= kw || y >= kh) continue;
                const int q = y * kw + x;
                if (k[q] > 0 && !label[q]) label[q] = id, stack[top++] = q;
            }
    }
    return mass;
}

int ub__blind_kernel_clean(float *k, int kw, int kh, double prune, double min_mass) {
    const int nk = kw * kh;
    float mx = 0;
    for (int i = 0; i < nk; i++) {
        if (!(k[i] > 0)) k[i] = 0; /* negatives and NaN */
        if (k[i] > mx) mx = k[i];
    }
    if (!(mx > 0)) return -1;
    double sum = 0;
    for (int i = 0; i < nk; i++) {
        if (k[i] < (float)(prune * mx)) k[i] = 0;
        sum += k[i];
    }
    int *label = calloc((size_t)nk, sizeof(int)), *stack = malloc((size_t)nk * sizeof(int));
    double *mass = malloc((size_t)(nk + 1) * sizeof(double));
    if (!label || !stack || !mass) {
        free(label), free(stack), free(mass);
        return -1;
    }
    int ids = 0;
    for (int i = 0; i < nk; i++)
        if (k[i] > 0 && !label[i]) {
            ids++;
            mass[ids] = flood(k, kw, kh, label, stack, i, ids);
        }
    for (int i = 0; i < nk; i++)
        if (label[i] && mass[label[i]] < min_mass * sum) k[i] = 0;
    free(label), free(stack), free(mass);
    sum = 0;
    double cx = 0, cy = 0;
    for (int j = 0; j < kh; j++)
        for (int i = 0; i < kw; i++) {
            const double v = k[(size_t)j * kw + i];
            sum += v, cx += v * i, cy += v * j;
        }
    if (!(sum > 0)) return -1;
    const int sx = (int)lround(cx / sum) - kw / 2, sy = (int)lround(cy / sum) - kh / 2;
    float *tmp = malloc((size_t)nk * sizeof(float));
    if (!tmp) return -1;
    /* move the value at (i, j) to (i - sx, j - sy); what leaves the window is dropped */
    for (int j = 0; j < kh; j++)
        for (int i = 0; i < kw; i++) {
            const int si = i + sx, sj = j + sy;
            tmp[(size_t)j * kw + i] = si >= 0 && sj >= 0 && si < kw && sj < kh ? k[(size_t)sj * kw + si] : 0.0f;
        }
    sum = 0;
    for (int i = 0; i < nk; i++) sum += tmp[i];
    if (!(sum > 0)) {
        free(tmp);
        return -1;
    }
    for (int i = 0; i < nk; i++) k[i] = (float)(tmp[i] / sum);
    free(tmp);
    return 0;
}

static int cmp_desc(const void *a, const void *b) {
    const float x = *(const float *)a, y = *(const float *)b;
    return (x < y) - (x > y);
}

double ub__blind_grad_threshold(const float *gx, const float *gy, size_t n, size_t keep) {
    float *bin[4];
    size_t cnt[4] = {0, 0, 0, 0};
    for (int b = 0; b < 4; b++) bin[b] = malloc((n ? n : 1) * sizeof(float));
    double th = 0;
    if (!bin[0] || !bin[1] || !bin[2] || !bin[3]) goto done;
    for (size_t i = 0; i < n; i++) {
        const float px = gx[i], py = gy[i], pm = px * px + py * py;
        if (pm <= 0) continue;
        /* atan(py / px) in (-pi/2, pi/2]: four bins of pi/4 */
        const double a = px == 0 ? HALF_PI : atan((double)py / px);
        const int b = a >= 0 ? (a < QUARTER_PI ? 0 : 1) : (a >= -QUARTER_PI ? 2 : 3);
        bin[b][cnt[b]++] = pm;
    }
    th = INFINITY;
    if (keep < 1) keep = 1;
    for (int b = 0; b < 4; b++) {
        if (cnt[b] < keep) {
            th = 0;
            break;
        }
        qsort(bin[b], cnt[b], sizeof(float), cmp_desc);
        if (bin[b][keep - 1] < th) th = bin[b][keep - 1];
    }
    if (!isfinite(th)) th = 0;
done:
    for (int b = 0; b < 4; b++) free(bin[b]);
    return th;
}
