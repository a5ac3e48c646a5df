/* synth/kernel.c — point-spread functions: the kernel type, Gaussian and
   aperture kernels, and kernel files (see unblur/synth.h, "Kernels").

   The model. A kernel is the image of a point of light: odd-sized, centre at
   (width/2, height/2), non-negative, sum 1, so that convolving never changes
   the brightness of a flat region. Values are float32; every sum, moment and
   normalisation is accumulated in double.

   Gaussian. A Gaussian sampled at integer offsets and truncated at 3 sigma
   has a second moment up to ~3% below sigma^2 (the tails are cut), and far
   below it when sigma < 0.8 (integer taps cannot resolve so narrow a bell).
   How much a blur spreads an image is its second moment, so the taps are
   exp(-i^2 / 2s^2) with the width s solved (bisection) so that the
   truncated, sampled kernel has a second moment of exactly sigma^2 per axis:
   s is within 1.5% of sigma for sigma >= 0.8 (5% at 0.5, 36% at 0.3).

   Aperture. Defocus blurs a point into the shape of the lens aperture: a disc,
   or a regular polygon for an iris of `blades` straight blades. The diameter
   is the EQUAL-AREA diameter: the polygon has the area of the disc of that
   diameter, pi d^2/4. The light a lens gathers, and so its f-number, goes
   with the area of its pupil, so with this convention the thin-lens circle
   of confusion gives the right blur size whatever the blade count. Vertex k of the polygon lies at angle
   rotation + 2 pi k / blades from the +x axis (image axes: x right, y down).
   Each pixel holds the EXACT area of its square inside the shape: for the
   disc, the integral of the covered chord in closed form; for the polygon,
   the square clipped by the edges' half-planes (Sutherland-Hodgman) and the
   shoelace formula. Pixels whose whole square is at least half a diagonal
   inside or outside are 1 or 0 without the geometry
   (ub__kernel_aperture_ref is the plain twin that computes every pixel).
   So the kernel's area is pi d^2/4 to rounding. Box coverage can move the
   centroid of an asymmetric polygon by a few hundredths of a pixel; that is
   corrected by a bilinear sub-pixel move of the mass (see aperture_kernel). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "synth/internal.h"

enum { KERNEL_MAX = 1023 };

/* Half the diagonal of a pixel, with a little slack for rounding. */
static const double HALF_DIAGONAL = 0.70711;

static int odd_size_ok(int s) { return s >= 1 && s <= KERNEL_MAX && (s & 1); }

/* ---- the type ---- */

ub_status ub_kernel_create(ub_ctx *ctx, int width, int height, ub_kernel **out) {
    if (!out) return ub__fail(ctx, UB_ERR_INVALID, "ub_kernel_create: NULL output");
    *out = NULL;
    if (!odd_size_ok(width) || !odd_size_ok(height))
        return ub__fail(ctx, UB_ERR_INVALID, "kernel size %dx%d: width and height must be odd, 1 to %d", width,
                        height, KERNEL_MAX);
    ub_kernel *k = calloc(1, sizeof *k);
    float *data = ub__calloc((size_t)width * (size_t)height, sizeof(float));
    if (!k || !data) {
        free(k);
        ub__free(data);
        return ub__fail(ctx, UB_ERR_NOMEM, "out of memory for a %dx%d kernel", width, height);
    }
    k->width = width;
    k->height = height;
    k->data = data;
    *out = k;
    return UB_OK;
}

void ub_kernel_destroy(ub_kernel **k) {
    if (!k || !*k) return;
    ub__free((*k)->data);
    free(*k);
    *k = NULL;
}

static int kernel_valid(const ub_kernel *k) {
    return k && k->data && odd_size_ok(k->width) && odd_size_ok(k->height);
}

static size_t kernel_count(const ub_kernel *k) { return (size_t)k->width * (size_t)k->height; }

ub_status ub_kernel_clone(ub_ctx *ctx, const ub_kernel *k, ub_kernel **out) {
    if (!out) return ub__fail(ctx, UB_ERR_INVALID, "ub_kernel_clone: NULL output");
    *out = NULL;
    if (!kernel_valid(k)) return ub__fail(ctx, UB_ERR_INVALID, "ub_kernel_clone: invalid kernel");
    ub_status st = ub_kernel_create(ctx, k->width, k->height, out);
    if (st) return st;
    memcpy((*out)->data, k->data, kernel_count(k) * sizeof(float));
    return UB_OK;
}

double ub_kernel_sum(const ub_kernel *k) {
    if (!kernel_valid(k)) return 0.0;
    double sum = 0.0;
    for (size_t i = 0, n = kernel_count(k); i < n; i++) sum += k->data[i];
    return sum;
}

double ub_kernel_correlation(const ub_kernel *a, const ub_kernel *b) {
    double na = 0, nb = 0, best = 0;
    for (size_t i = 0; i < (size_t)a->width * (size_t)a->height; i++) na += (double)a->data[i] * a->data[i];
    for (size_t i = 0; i < (size_t)b->width * (size_t)b->height; i++) nb += (double)b->data[i] * b->data[i];
    if (na <= 0 || nb <= 0) return 0;
    /* b's centre moved to a's centre + (dx, dy) */
    const int rx = (a->width + b->width) / 2, ry = (a->height + b->height) / 2;
    for (int dy = -ry; dy <= ry; dy++)
        for (int dx = -rx; dx <= rx; dx++) {
            double c = 0;
            for (int y = 0; y < b->height; y++) {
                const int ay = y - b->height / 2 + a->height / 2 + dy;
                if (ay < 0 || ay >= a->height) continue;
                for (int x = 0; x < b->width; x++) {
                    const int ax = x - b->width / 2 + a->width / 2 + dx;
                    if (ax >= 0 && ax < a->width)
                        c += (double)a->data[(size_t)ay * a->width + ax] * b->data[(size_t)y * b->width + x];
                }
            }
            if (c > best) best = c;
        }
    return best / sqrt(na * nb);
}

void ub_kernel_centroid(const ub_kernel *k, double *cx, double *cy) {
    double sx = 0.0, sy = 0.0, sum = 0.0;
    if (kernel_valid(k)) {
        const int w = k->width, h = k->height;
        for (int y = 0; y < h; y++) {
            const float *row = k->data + (size_t)y * w;
            double rs = 0.0, rx = 0.0;
            for (int x = 0; x < w; x++) {
                rs += row[x];
                rx += row[x] * (double)(x - w / 2);
            }
            sum += rs;
            sx += rx;
            sy += rs * (double)(y - h / 2);
        }
    }
    if (cx) *cx = sum != 0.0 ? sx / sum : 0.0;
    if (cy) *cy = sum != 0.0 ? sy / sum : 0.0;
}

ub_status ub_kernel_normalize(ub_ctx *ctx, ub_kernel *k) {
    if (!kernel_valid(k)) return ub__fail(ctx, UB_ERR_INVALID, "ub_kernel_normalize: invalid kernel");
    const size_t n = kernel_count(k);
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        const float v = k->data[i];
        if (!isfinite(v) || v < 0.0f)
            return ub__fail(ctx, UB_ERR_INVALID, "kernel value %g at (%d, %d): values must be finite and >= 0",
                            (double)v, (int)(i % (size_t)k->width), (int)(i / (size_t)k->width));
        sum += v;
    }
    if (!(sum > 0.0) || !isfinite(sum))
        return ub__fail(ctx, UB_ERR_INVALID, "kernel sum %g: a kernel needs a positive, finite sum", sum);
    for (size_t i = 0; i < n; i++) k->data[i] = (float)(k->data[i] / sum);
    return UB_OK;
}

ub_status ub_kernel_delta(ub_ctx *ctx, ub_kernel **out) {
    ub_status st = ub_kernel_create(ctx, 1, 1, out);
    if (st) return st;
    (*out)->data[0] = 1.0f;
    return UB_OK;
}

/* ---- Gaussian ---- */

/* Second moment of the 1-D taps exp(-i^2 / 2 s^2), i in [-r, r]. */
static double taps_variance(double s, int r) {
    double sum = 0.0, moment = 0.0;
    for (int i = -r; i <= r; i++) {
        const double g = exp(-0.5 * (double)i * i / (s * s));
        sum += g;
        moment += g * (double)i * i;
    }
    return moment / sum;
}

/* The width s whose truncated, sampled taps have variance sigma^2. The
   variance grows monotonically with s from 0 (s -> 0) to r(r+1)/3 (s -> inf),
   which exceeds sigma^2 when r >= 3 sigma, so the root exists and is unique. */
static double solve_width(double sigma, int r) {
    double lo = 1e-3, hi = 10.0 * (r + 1);
    for (int it = 0; it < 200 && hi - lo > 1e-15 * hi; it++) {
        const double mid = 0.5 * (lo + hi);
        if (taps_variance(mid, r) < sigma * sigma) lo = mid;
        else hi = mid;
    }
    return 0.5 * (lo + hi);
}

ub_status ub_kernel_gaussian(ub_ctx *ctx, double sigma, ub_kernel **out) {
    if (!out) return ub__fail(ctx, UB_ERR_INVALID, "ub_kernel_gaussian: NULL output");
    *out = NULL;
    if (!isfinite(sigma) || sigma < 0.0)
        return ub__fail(ctx, UB_ERR_INVALID, "Gaussian sigma %g: must be finite and >= 0", sigma);
    if (ceil(3.0 * sigma) > (KERNEL_MAX - 1) / 2)
        return ub__fail(ctx, UB_ERR_LIMIT, "Gaussian sigma %g: the kernel would exceed %d px", sigma, KERNEL_MAX);
    const int r = (int)ceil(3.0 * sigma), size = 2 * r + 1;
    if (r == 0) return ub_kernel_delta(ctx, out);
    double *taps = malloc(sizeof(double) * (size_t)size);
    if (!taps) return ub__fail(ctx, UB_ERR_NOMEM, "out of memory for a Gaussian kernel");
    const double s = solve_width(sigma, r);
    double sum = 0.0;
    for (int i = -r; i <= r; i++) sum += taps[i + r] = exp(-0.5 * (double)i * i / (s * s));
    for (int i = 0; i < size; i++) taps[i] /= sum;
    ub_status st = ub_kernel_create(ctx, size, size, out);
    if (st == UB_OK)
        for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++) (*out)->data[(size_t)y * size + x] = (float)(taps[y] * taps[x]);
    free(taps);
    return st;
}

/* ---- aperture ---- */

enum { MAX_BLADES = 64 };

/* A disc (blades == 0) or a regular polygon as the intersection of
   half-planes n_k . p <= apothem. */
typedef struct aperture {
    int blades;
    double radius;  /* disc radius, or the polygon's circumradius */
    double reach;   /* half the side of the bounding square: max |x|, |y| of the shape */
    double apothem; /* polygon only */
    double nx[MAX_BLADES], ny[MAX_BLADES];
} aperture;

static void aperture_init(aperture *a, double diameter, int blades, double rotation) {
    const double r_eq = 0.5 * diameter;
    memset(a, 0, sizeof *a);
    if (blades < 3) {
        a->radius = a->reach = r_eq;
        return;
    }
    const double n = blades, pi = 3.14159265358979323846;
    a->blades = blades;
    /* area (n/2) R^2 sin(2 pi/n) = pi r_eq^2 */
    a->radius = r_eq * sqrt(2.0 * pi / (n * sin(2.0 * pi / n)));
    a->apothem = a->radius * cos(pi / n);
    for (int k = 0; k < blades; k++) {
        const double vertex = rotation + 2.0 * pi * k / n, phi = vertex + pi / n; /* normals between vertices */
        a->nx[k] = cos(phi);
        a->ny[k] = sin(phi);
        a->reach = fmax(a->reach, a->radius * fmax(fabs(cos(vertex)), fabs(sin(vertex))));
    }
}

/* < 0 inside, > 0 outside: the distance to the circle, or for the polygon the
   largest half-plane excess (the distance to the nearest edge line inside, a
   lower bound of the distance outside). */
static double aperture_excess(const aperture *a, double x, double y) {
    if (a->blades == 0) return sqrt(x * x + y * y) - a->radius;
    double worst = -INFINITY;
    for (int k = 0; k < a->blades; k++) worst = fmax(worst, a->nx[k] * x + a->ny[k] * y - a->apothem);
    return worst;
}

/* Antiderivative of the half chord sqrt(R^2 - x^2), x clamped to [-R, R]. */
static double half_chord_integral(double x, double r) {
    x = x < -r ? -r : x > r ? r : x;
    return 0.5 * (x * sqrt(fmax(r * r - x * x, 0.0)) + r * r * asin(x / r));
}

/* Exact area of the disc of radius r at the origin inside [x0,x1] x [y0,y1]:
   the integral over x of the covered part of each vertical chord, split where
   the chord's ends cross y0 or y1, each piece in closed form. */
static double disc_rect_area(double r, double x0, double x1, double y0, double y1) {
    double cut[8];
    int n = 0;
    cut[n++] = x0;
    cut[n++] = x1;
    const double ys[2] = {y0, y1};
    for (int i = 0; i < 2; i++)
        if (fabs(ys[i]) < r) {
            const double c = sqrt(r * r - ys[i] * ys[i]);
            if (c > x0 && c < x1) cut[n++] = c;
            if (-c > x0 && -c < x1) cut[n++] = -c;
        }
    if (r > x0 && r < x1) cut[n++] = r;
    if (-r > x0 && -r < x1) cut[n++] = -r;
    for (int i = 1; i < n; i++) /* insertion sort of <= 8 values */
        for (int j = i; j > 0 && cut[j] < cut[j - 1]; j--) {
            const double t = cut[j];
            cut[j] = cut[j - 1], cut[j - 1] = t;
        }
    double area = 0.0;
    for (int i = 0; i + 1 < n; i++) {
        const double lo = cut[i], hi = cut[i + 1], mid = 0.5 * (lo + hi);
        if (!(hi > lo) || fabs(mid) >= r) continue;
        const double h = sqrt(r * r - mid * mid), chord = half_chord_integral(hi, r) - half_chord_integral(lo, r);
        const double top = h > y1 ? y1 * (hi - lo) : chord;     /* integral of min(y1, h) */
        const double bottom = -h < y0 ? y0 * (hi - lo) : -chord; /* integral of max(y0, -h) */
        if (fmin(y1, h) > fmax(y0, -h)) area += top - bottom;
    }
    return area;
}

/* Exact area of the polygon inside the unit square centred at (x, y): the
   square, in coordinates relative to its centre, clipped by each half-plane
   (Sutherland-Hodgman), then the shoelace formula. */
static double polygon_square_area(const aperture *a, double x, double y) {
    double px[2][MAX_BLADES + 8], py[2][MAX_BLADES + 8];
    int n = 4, cur = 0;
    const double sq[4][2] = {{-0.5, -0.5}, {0.5, -0.5}, {0.5, 0.5}, {-0.5, 0.5}};
    for (int i = 0; i < 4; i++) px[0][i] = sq[i][0], py[0][i] = sq[i][1];
    for (int k = 0; k < a->blades && n > 0; k++) {
        const double limit = a->apothem - (a->nx[k] * x + a->ny[k] * y);
        int m = 0;
        for (int i = 0; i < n; i++) {
            const int j = (i + 1) % n;
            const double ei = a->nx[k] * px[cur][i] + a->ny[k] * py[cur][i] - limit;
            const double ej = a->nx[k] * px[cur][j] + a->ny[k] * py[cur][j] - limit;
            if (ei <= 0.0) px[1 - cur][m] = px[cur][i], py[1 - cur][m++] = py[cur][i];
            if ((ei < 0.0 && ej > 0.0) || (ei > 0.0 && ej < 0.0)) {
                const double t = ei / (ei - ej);
                px[1 - cur][m] = px[cur][i] + t * (px[cur][j] - px[cur][i]);
                py[1 - cur][m++] = py[cur][i] + t * (py[cur][j] - py[cur][i]);
            }
        }
        n = m, cur = 1 - cur;
    }
    double twice = 0.0;
    for (int i = 0; i < n; i++) {
        const int j = (i + 1) % n;
        twice += px[cur][i] * py[cur][j] - px[cur][j] * py[cur][i];
    }
    return 0.5 * fabs(twice);
}

/* Exact fraction of the pixel square centred at (x, y) that the shape covers. */
static double pixel_coverage_exact(const aperture *a, double x, double y) {
    if (a->blades == 0) return disc_rect_area(a->radius, x - 0.5, x + 0.5, y - 0.5, y + 0.5);
    return polygon_square_area(a, x, y);
}

/* The same, skipping the geometry when the whole square is on one side:
   |excess| >= half a diagonal at the centre means no corner crosses the boundary. */
static double pixel_coverage(const aperture *a, double x, double y) {
    const double e = aperture_excess(a, x, y);
    if (e <= -HALF_DIAGONAL) return 1.0;
    if (e >= HALF_DIAGONAL) return 0.0;
    return pixel_coverage_exact(a, x, y);
}

/* Coverage of a (2g+1)^2 grid centred on the shape; returns the total area
   and the centroid relative to the centre. */
static double aperture_render(const aperture *a, int g, int plain, double *cov, double *cx, double *cy) {
    const int size = 2 * g + 1;
    double sum = 0.0, mx = 0.0, my = 0.0;
    for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++) {
            const double px = x - g, py = y - g;
            const double v = plain ? pixel_coverage_exact(a, px, py) : pixel_coverage(a, px, py);
            cov[(size_t)y * size + x] = v;
            sum += v, mx += v * px, my += v * py;
        }
    *cx = mx / sum;
    *cy = my / sum;
    return sum;
}

/* Moves the mass of a size x size grid by (dx, dy) with bilinear weights:
   the centroid moves by exactly (dx, dy) and the mass is kept, except what
   leaves the grid, which is dropped. Returns the mass kept. */
static double shift_mass(const double *in, int size, double dx, double dy, double *out) {
    const double fx0 = floor(dx), fy0 = floor(dy), fx = dx - fx0, fy = dy - fy0;
    const int ox = (int)fx0, oy = (int)fy0;
    const double w[2][2] = {{(1 - fx) * (1 - fy), fx * (1 - fy)}, {(1 - fx) * fy, fx * fy}};
    double kept = 0.0;
    memset(out, 0, sizeof(double) * (size_t)size * size);
    for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++) {
            const double v = in[(size_t)y * size + x];
            if (v == 0.0) continue;
            for (int j = 0; j < 2; j++)
                for (int i = 0; i < 2; i++) {
                    const int tx = x + ox + i, ty = y + oy + j;
                    if (w[j][i] != 0.0 && tx >= 0 && ty >= 0 && tx < size && ty < size) {
                        out[(size_t)ty * size + tx] += v * w[j][i];
                        kept += v * w[j][i];
                    }
                }
        }
    return kept;
}

/* The smallest h <= g such that the grid is zero outside the central (2h+1)^2 square. */
static int occupied_half(const double *cov, int g) {
    const int size = 2 * g + 1;
    int h = 0;
    for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++)
            if (cov[(size_t)y * size + x] > 0.0) {
                const int d = abs(x - g) > abs(y - g) ? abs(x - g) : abs(y - g);
                if (d > h) h = d;
            }
    return h;
}

/* Pixel coverage keeps the area exactly but not quite the centroid of an
   asymmetric polygon: a pixel weighs its content at its centre (a staircase,
   not x), which would shift a defocused image by up to ~0.03 px for a small
   triangle. So the coverage is rendered in a grid one pixel wider than the
   shape, its mass is moved by minus its centroid with bilinear weights (exact
   for the centroid, a blur of at most a few hundredths of a pixel; discs and
   symmetric polygons need no move), and the grid is cropped to the smallest
   square that holds the result. */
static ub_status aperture_kernel(ub_ctx *ctx, double diameter, int blades, double rotation, int plain,
                                 ub_kernel **out) {
    if (!out) return ub__fail(ctx, UB_ERR_INVALID, "ub_kernel_aperture: NULL output");
    *out = NULL;
    if (!isfinite(diameter) || diameter < 0.0)
        return ub__fail(ctx, UB_ERR_INVALID, "aperture diameter %g: must be finite and >= 0", diameter);
    if (blades > MAX_BLADES)
        return ub__fail(ctx, UB_ERR_INVALID, "aperture blades %d: at most %d (or < 3 for a disc)", blades,
                        MAX_BLADES);
    if (!isfinite(rotation)) return ub__fail(ctx, UB_ERR_INVALID, "aperture rotation %g: not finite", rotation);
    if (diameter <= 1.0) return ub_kernel_delta(ctx, out); /* a point stays (nearly) a point */
    aperture a;
    aperture_init(&a, diameter, blades, rotation);
    /* pixel i spans [i - 1/2, i + 1/2]: it is touched when i - 1/2 < reach */
    const double half = ceil(a.reach + 0.5) - 1.0;
    if (half + 1 > (KERNEL_MAX - 1) / 2)
        return ub__fail(ctx, UB_ERR_LIMIT, "aperture diameter %g: the kernel would exceed %d px", diameter,
                        KERNEL_MAX);
    const int g = (int)half + 1, grid = 2 * g + 1;
    const size_t cells = (size_t)grid * grid;
    double *cov = malloc(sizeof(double) * cells * 2);
    if (!cov) return ub__fail(ctx, UB_ERR_NOMEM, "out of memory for a %dx%d aperture", grid, grid);
    double cx, cy;
    const double area = aperture_render(&a, g, plain, cov, &cx, &cy);
    const double *mass = cov;
    if (fabs(cx) > 1e-12 || fabs(cy) > 1e-12) { /* else centred by symmetry */
        shift_mass(cov, grid, -cx, -cy, cov + cells);
        mass = cov + cells;
    }
    const int h = occupied_half(mass, g), size = 2 * h + 1;
    ub_status st = ub_kernel_create(ctx, size, size, out);
    if (st == UB_OK)
        for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++)
                (*out)->data[(size_t)y * size + x] = (float)(mass[(size_t)(y + g - h) * grid + x + g - h] / area);
    free(cov);
    return st;
}

ub_status ub_kernel_aperture(ub_ctx *ctx, double diameter, int blades, double rotation, ub_kernel **out) {
    return aperture_kernel(ctx, diameter, blades, rotation, 0, out);
}

ub_status ub__kernel_aperture_ref(ub_ctx *ctx, double diameter, int blades, double rotation, ub_kernel **out) {
    return aperture_kernel(ctx, diameter, blades, rotation, 1, out);
}

/* ---- files ---- */

ub_status ub_kernel_write(ub_ctx *ctx, const ub_kernel *k, const char *path) {
    if (!path) return ub__fail(ctx, UB_ERR_INVALID, "ub_kernel_write: NULL path");
    if (!kernel_valid(k)) return ub__fail(ctx, UB_ERR_INVALID, "%s: invalid kernel to write", path);
    if (ub_format_from_name(path) == UB_FORMAT_JPEG)
        return ub__fail(ctx, UB_ERR_INVALID, "%s: kernels are written as 16-bit PNG (use .png)", path);
    const size_t n = kernel_count(k);
    float peak = 0.0f;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(k->data[i]) || k->data[i] < 0.0f)
            return ub__fail(ctx, UB_ERR_INVALID, "%s: kernel has a negative or non-finite value", path);
        if (k->data[i] > peak) peak = k->data[i];
    }
    if (!(peak > 0.0f)) return ub__fail(ctx, UB_ERR_INVALID, "%s: kernel is all zero", path);
    ub_image *img;
    ub_status st = ub_image_create(ctx, &img, k->width, k->height, 1);
    if (st) return st;
    for (size_t i = 0; i < n; i++) img->data[i] = (float)((double)k->data[i] / peak);
    img->bit_depth = 16;
    ub_write_options o;
    ub_default_write_options(&o);
    o.format = UB_FORMAT_PNG;
    o.bit_depth = 16;
    st = ub_image_write(ctx, img, path, &o);
    ub_image_destroy(&img);
    return st;
}

ub_status ub_kernel_read(ub_ctx *ctx, const char *path, ub_kernel **out) {
    if (!out) return ub__fail(ctx, UB_ERR_INVALID, "ub_kernel_read: NULL output");
    *out = NULL;
    if (!path) return ub__fail(ctx, UB_ERR_INVALID, "ub_kernel_read: NULL path");
    ub_image *img;
    ub_status st = ub_image_read(ctx, path, &img);
    if (st) return st;
    const int64_t w = img->width, h = img->height;
    if (!(w & 1) || !(h & 1) || w > KERNEL_MAX || h > KERNEL_MAX) {
        ub_image_destroy(&img);
        return ub__fail(ctx, UB_ERR_INVALID, "%s: a kernel must have odd width and height up to %d, not %lldx%lld",
                        path, KERNEL_MAX, (long long)w, (long long)h);
    }
    if ((st = ub_kernel_create(ctx, (int)w, (int)h, out))) {
        ub_image_destroy(&img);
        return st;
    }
    const int colours = ub_image_colour_channels(img);
    const size_t n = (size_t)w * (size_t)h;
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        double v = 0.0;
        for (int c = 0; c < colours; c++) v += ub_image_plane(img, c)[i];
        (*out)->data[i] = (float)(v / colours);
        sum += (*out)->data[i];
    }
    ub_image_destroy(&img);
    if (!(sum > 0.0)) {
        ub_kernel_destroy(out);
        return ub__fail(ctx, UB_ERR_INVALID, "%s: kernel image is all zero", path);
    }
    if ((st = ub_kernel_normalize(ctx, *out))) ub_kernel_destroy(out); /* cannot fail: values >= 0, sum > 0 */
    return st;
}
