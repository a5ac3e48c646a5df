/* synth/trajectory.c — camera-shake trajectories and their PSFs (see
   unblur/synth.h, "Trajectories").

   The shake model (Boracchi & Foi 2012, the generator behind DeblurGAN's
   kernels). A particle moves over the exposure with a complex velocity v of
   fixed step length L/(n-1). At each step, with probability
   big_shake * anxiety, an abrupt change throws the direction roughly
   backwards (2 v e^{i(pi + u - 1/2)}, u uniform); a Gaussian acceleration
   (scale `gaussian`) jitters it, and a centripetal term pulls it back towards
   the start, as a hand steadying a camera does:
       dv = abrupt + anxiety (gaussian (N1 + i N2) - centripetal x_t) L/(n-1)
       v  = (v + dv) scaled back to length L/(n-1);   x_{t+1} = x_t + v.
   The path is then shifted to mean zero and scaled by L / (its length), so its
   length is exactly `length` (to rounding) and it is centred on the origin,
   like ub_trajectory_linear. With rotation_deg > 0 the camera also turns:
   yaw, pitch and roll are smooth random walks (an AR(1) angular velocity,
   correlation time a tenth of the exposure, integrated), each shifted to mean
   zero and scaled to its peak; the peaks are rotation_deg * w / max(w, 1-w)
   for roll and rotation_deg * (1-w) / max(w, 1-w) for yaw and pitch, with
   w = roll_weight: the larger share reaches exactly rotation_deg, and roll
   and yaw/pitch keep the ratio w : (1-w).

   The PSF. The camera moves continuously, so the kernel is the time-integral
   of the path, joined by straight segments between samples at constant speed:
   each segment is split into sub-steps at most 1/4 px long, and each sub-step
   midpoint deposits its share of the exposure by BILINEAR SPLATTING — the
   four pixels around it receive weights (1-fx)(1-fy), fx(1-fy), ... This is
   the adjoint of bilinear sampling: the mass stays exactly 1 and its centroid
   is exactly the point, so a sub-pixel path gives a smooth, sub-pixel-accurate
   PSF instead of a staircase of whole pixels. RE-CENTRING: a PSF whose
   centroid is off the centre shifts the blurred image against the sharp one,
   and a network trained on such pairs learns to shift instead of to deblur.
   Splatting is linear and keeps centroids, so shifting the path by minus its
   (time-weighted) centroid BEFORE splatting centres the kernel's mass exactly,
   with no resampling of the kernel. When a given size clips the path, the
   dropped mass moves the centroid; the path is then shifted by the centroid
   of what was kept and splatted again (Broyden's method, at most 16 passes),
   and the most central result is kept; when even that leaves the centroid
   more than 1e-6 px off (a path clipped on both sides may have no centring
   shift), the kept mass is tilted by a linear ramp 1 + a x + b y solved to
   put the centroid exactly at the centre (a slight brightness gradient along
   the path, no blur). Exact when nothing is clipped, and in practice when it
   is (the ramp is only weakened, and the result inexact, if it would have to
   fall below 1/4 somewhere — a path clipped down to almost nothing). If
   nothing of the path falls inside the kernel, the result is the delta.
   With size = 0 the kernel is the smallest odd square that holds the centred
   path plus a 1-px margin, capped at 1023 px (a longer path is clipped). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "synth/internal.h"

enum {
    DEFAULT_SAMPLES = 2000,
    MAX_SAMPLES = 10 * 1000 * 1000,
    KERNEL_MAX = 1023,
    RECENTRE_PASSES = 16
};
/* Longest sub-step of the splatted path, in pixels. */
static const double SUB_STEP = 0.25;
/* The most sub-steps one PSF may splat (a path of 16 million pixels). */
static const double MAX_SPLATS = 64.0 * 1024 * 1024;
static const double PI = 3.14159265358979323846;

/* ---- the type ---- */

void ub_trajectory_destroy(ub_trajectory **t) {
    if (!t || !*t) return;
    ub__free((*t)->x);
    ub__free((*t)->y);
    ub__free((*t)->yaw);
    ub__free((*t)->pitch);
    ub__free((*t)->roll);
    free(*t);
    *t = NULL;
}

static ub_status trajectory_alloc(ub_ctx *ctx, int n, int rotation, ub_trajectory **out) {
    ub_trajectory *t = calloc(1, sizeof *t);
    if (!t) return ub__fail(ctx, UB_ERR_NOMEM, "out of memory for a trajectory");
    t->n = n;
    t->x = ub__calloc((size_t)n, sizeof(double));
    t->y = ub__calloc((size_t)n, sizeof(double));
    int failed = !t->x || !t->y;
    if (rotation) {
        t->yaw = ub__calloc((size_t)n, sizeof(double));
        t->pitch = ub__calloc((size_t)n, sizeof(double));
        t->roll = ub__calloc((size_t)n, sizeof(double));
        failed |= !t->yaw || !t->pitch || !t->roll;
    }
    if (failed) {
        ub_trajectory_destroy(&t);
        return ub__fail(ctx, UB_ERR_NOMEM, "out of memory for a trajectory of %d samples", n);
    }
    *out = t;
    return UB_OK;
}

double ub_trajectory_length(const ub_trajectory *t) {
    if (!t || !t->x || !t->y) return 0.0;
    double len = 0.0;
    for (int i = 1; i < t->n; i++) len += hypot(t->x[i] - t->x[i - 1], t->y[i] - t->y[i - 1]);
    return len;
}

/* ---- parameters ---- */

void ub_shake_default(ub_shake_params *p) {
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->length = 20.0;
    /* Boracchi-Foi's recommended anxiety; DeblurGAN draws centripetal ~ U(0, 0.7),
       big_shake ~ U(0, 0.2), gaussian ~ U(0, 10): the defaults are their means. */
    p->anxiety = 0.005;
    p->centripetal = 0.35;
    p->big_shake = 0.1;
    p->gaussian = 5.0;
    p->samples = DEFAULT_SAMPLES;
    p->rotation_deg = 0.0;
    p->roll_weight = 0.3; /* when rotating: roll smaller than yaw/pitch */
}

static int in_unit(double v) { return isfinite(v) && v >= 0.0 && v <= 1.0; }

static ub_status check_samples(ub_ctx *ctx, int samples, int *n) {
    if (samples == 0) samples = DEFAULT_SAMPLES;
    if (samples < 2 || samples > MAX_SAMPLES)
        return ub__fail(ctx, UB_ERR_INVALID, "trajectory samples %d: use 0 (default %d) or 2 to %d", samples,
                        DEFAULT_SAMPLES, MAX_SAMPLES);
    *n = samples;
    return UB_OK;
}

static ub_status check_shake(ub_ctx *ctx, const ub_shake_params *p) {
    if (!isfinite(p->length) || p->length < 0.0)
        return ub__fail(ctx, UB_ERR_INVALID, "shake length %g: must be finite and >= 0", p->length);
    if (!in_unit(p->anxiety)) return ub__fail(ctx, UB_ERR_INVALID, "shake anxiety %g: must be in [0, 1]", p->anxiety);
    if (!in_unit(p->centripetal))
        return ub__fail(ctx, UB_ERR_INVALID, "shake centripetal %g: must be in [0, 1]", p->centripetal);
    if (!in_unit(p->big_shake))
        return ub__fail(ctx, UB_ERR_INVALID, "shake big_shake %g: must be in [0, 1]", p->big_shake);
    if (!isfinite(p->gaussian) || p->gaussian < 0.0 || p->gaussian > 100.0)
        return ub__fail(ctx, UB_ERR_INVALID, "shake gaussian %g: must be in [0, 100]", p->gaussian);
    if (!isfinite(p->rotation_deg) || p->rotation_deg < 0.0 || p->rotation_deg >= 90.0)
        return ub__fail(ctx, UB_ERR_INVALID, "shake rotation_deg %g: must be in [0, 90)", p->rotation_deg);
    if (!in_unit(p->roll_weight))
        return ub__fail(ctx, UB_ERR_INVALID, "shake roll_weight %g: must be in [0, 1]", p->roll_weight);
    return UB_OK;
}

/* ---- the walks ---- */

/* The Boracchi-Foi walk in pixels, starting at the origin. */
static void shake_walk(ub_rng *rng, const ub_shake_params *p, int n, double *x, double *y) {
    const double step = p->length / (n - 1);
    const double start = 2.0 * PI * ub_rng_uniform(rng);
    double vx = step * cos(start), vy = step * sin(start);
    x[0] = y[0] = 0.0;
    for (int t = 0; t + 1 < n; t++) {
        double ax = 0.0, ay = 0.0;
        if (ub_rng_uniform(rng) < p->big_shake * p->anxiety) { /* abrupt turn, roughly backwards */
            const double phi = PI + (ub_rng_uniform(rng) - 0.5);
            ax = 2.0 * (vx * cos(phi) - vy * sin(phi));
            ay = 2.0 * (vx * sin(phi) + vy * cos(phi));
        }
        const double gx = ub_rng_normal(rng), gy = ub_rng_normal(rng);
        const double nvx = vx + ax + p->anxiety * (p->gaussian * gx - p->centripetal * x[t]) * step;
        const double nvy = vy + ay + p->anxiety * (p->gaussian * gy - p->centripetal * y[t]) * step;
        const double speed = hypot(nvx, nvy);
        if (speed > 0.0 && isfinite(speed)) { /* else keep the previous velocity */
            vx = nvx * (step / speed);
            vy = nvy * (step / speed);
        }
        x[t + 1] = x[t] + vx;
        y[t + 1] = y[t] + vy;
    }
}

static double mean_of(const double *v, int n) {
    double sum = 0.0;
    for (int i = 0; i < n; i++) sum += v[i];
    return sum / n;
}

/* Mean zero, and length exactly `length` (a zero-length path stays at the origin). */
static void centre_and_scale(ub_trajectory *t, double length) {
    const double mx = mean_of(t->x, t->n), my = mean_of(t->y, t->n);
    for (int i = 0; i < t->n; i++) t->x[i] -= mx, t->y[i] -= my;
    const double actual = ub_trajectory_length(t);
    const double scale = actual > 0.0 ? length / actual : 0.0;
    for (int i = 0; i < t->n; i++) t->x[i] *= scale, t->y[i] *= scale;
}

/* A smooth angle walk: AR(1) angular velocity integrated, mean zero, peak |angle| = amplitude. */
static void rotation_walk(ub_rng *rng, int n, double amplitude, double *angle) {
    const double rho = exp(-1.0 / (0.1 * n));
    double omega = 0.0;
    angle[0] = 0.0;
    for (int t = 1; t < n; t++) {
        omega = rho * omega + ub_rng_normal(rng);
        angle[t] = angle[t - 1] + omega;
    }
    const double m = mean_of(angle, n);
    double peak = 0.0;
    for (int t = 0; t < n; t++) {
        angle[t] -= m;
        if (fabs(angle[t]) > peak) peak = fabs(angle[t]);
    }
    const double scale = peak > 0.0 ? amplitude / peak : 0.0;
    for (int t = 0; t < n; t++) angle[t] *= scale;
}

ub_status ub_trajectory_shake(ub_ctx *ctx, ub_rng *rng, const ub_shake_params *p, ub_trajectory **out) {
    if (!out) return ub__fail(ctx, UB_ERR_INVALID, "ub_trajectory_shake: NULL output");
    *out = NULL;
    if (!rng || !p) return ub__fail(ctx, UB_ERR_INVALID, "ub_trajectory_shake: NULL generator or parameters");
    int n = 0;
    ub_status st = check_shake(ctx, p);
    if (st || (st = check_samples(ctx, p->samples, &n))) return st;
    const int rotating = p->rotation_deg > 0.0;
    if ((st = trajectory_alloc(ctx, n, rotating, out))) return st;
    ub_trajectory *t = *out;
    shake_walk(rng, p, n, t->x, t->y);
    centre_and_scale(t, p->length);
    if (rotating) {
        const double w = p->roll_weight, top = w > 1.0 - w ? w : 1.0 - w;
        const double amplitude = p->rotation_deg * PI / 180.0;
        rotation_walk(rng, n, amplitude * (1.0 - w) / top, t->yaw);
        rotation_walk(rng, n, amplitude * (1.0 - w) / top, t->pitch);
        rotation_walk(rng, n, amplitude * w / top, t->roll);
    }
    return UB_OK;
}

ub_status ub_trajectory_linear(ub_ctx *ctx, double length, double angle, int samples, ub_trajectory **out) {
    if (!out) return ub__fail(ctx, UB_ERR_INVALID, "ub_trajectory_linear: NULL output");
    *out = NULL;
    if (!isfinite(length) || length < 0.0)
        return ub__fail(ctx, UB_ERR_INVALID, "linear blur length %g: must be finite and >= 0", length);
    if (!isfinite(angle)) return ub__fail(ctx, UB_ERR_INVALID, "linear blur angle %g: not finite", angle);
    int n = 0;
    ub_status st = check_samples(ctx, samples, &n);
    if (st || (st = trajectory_alloc(ctx, n, 0, out))) return st;
    const double dx = length * cos(angle), dy = length * sin(angle);
    for (int i = 0; i < n; i++) {
        /* symmetric about the middle sample, so the mean is zero to rounding */
        const double s = (double)(2 * i - (n - 1)) / (2.0 * (n - 1));
        (*out)->x[i] = s * dx;
        (*out)->y[i] = s * dy;
    }
    return UB_OK;
}

/* ---- rasterising into a PSF ---- */

static int segment_steps(double len) {
    const double m = ceil(len / SUB_STEP);
    return m < 1.0 ? 1 : (int)m;
}

/* Adds `weight` at (px, py) (relative to the centre c) bilinearly; taps outside
   the size x size grid are dropped. Returns the mass dropped. */
static double splat(double *acc, int size, double px, double py, double weight) {
    const int c = size / 2;
    const double gx = c + px, gy = c + py, fx0 = floor(gx), fy0 = floor(gy);
    const double fx = gx - fx0, fy = gy - fy0;
    const double wx[2] = {1.0 - fx, fx}, wy[2] = {1.0 - fy, fy};
    double dropped = 0.0;
    for (int j = 0; j < 2; j++) {
        const double yy = fy0 + j;
        for (int i = 0; i < 2; i++) {
            const double xx = fx0 + i, v = weight * wy[j] * wx[i];
            if (v == 0.0) continue;
            if (yy < 0.0 || yy >= size || xx < 0.0 || xx >= size) dropped += v;
            else acc[(size_t)yy * size + (size_t)xx] += v;
        }
    }
    return dropped;
}

/* Splats the path shifted by (sx, sy) into acc (zeroed here); returns the mass dropped (0 when nothing is clipped). */
static double splat_path(const ub_trajectory *t, double sx, double sy, int size, double *acc) {
    memset(acc, 0, sizeof(double) * (size_t)size * size);
    if (t->n == 1) return splat(acc, size, t->x[0] + sx, t->y[0] + sy, 1.0);
    double dropped = 0.0;
    for (int i = 0; i + 1 < t->n; i++) {
        const double x0 = t->x[i] + sx, y0 = t->y[i] + sy, dx = t->x[i + 1] - t->x[i], dy = t->y[i + 1] - t->y[i];
        const int m = segment_steps(hypot(dx, dy));
        const double w = 1.0 / ((double)(t->n - 1) * m);
        for (int j = 0; j < m; j++) {
            const double s = (j + 0.5) / m;
            dropped += splat(acc, size, x0 + s * dx, y0 + s * dy, w);
        }
    }
    return dropped;
}

/* Mass and centroid (relative to the centre) of the splatted grid. */
static double acc_centroid(const double *acc, int size, double *cx, double *cy) {
    const int c = size / 2;
    double sum = 0.0, sx = 0.0, sy = 0.0;
    for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++) {
            const double v = acc[(size_t)y * size + x];
            sum += v;
            sx += v * (x - c);
            sy += v * (y - c);
        }
    *cx = sum > 0.0 ? sx / sum : 0.0;
    *cy = sum > 0.0 ? sy / sum : 0.0;
    return sum;
}

/* The time-weighted centroid of the path (segments at constant speed: their midpoints). */
static void path_centroid(const ub_trajectory *t, double *cx, double *cy) {
    if (t->n == 1) {
        *cx = t->x[0], *cy = t->y[0];
        return;
    }
    double sx = 0.0, sy = 0.0;
    for (int i = 0; i + 1 < t->n; i++) sx += t->x[i] + t->x[i + 1], sy += t->y[i] + t->y[i + 1];
    *cx = sx / (2.0 * (t->n - 1));
    *cy = sy / (2.0 * (t->n - 1));
}

/* Broyden's rank-one update: make J map the step (dx, dy) onto the change (gx, gy) it caused. */
static void broyden_update(double j[2][2], double dx, double dy, double gx, double gy) {
    const double norm2 = dx * dx + dy * dy;
    if (!(norm2 > 1e-24)) return;
    const double rx = gx - (j[0][0] * dx + j[0][1] * dy), ry = gy - (j[1][0] * dx + j[1][1] * dy);
    j[0][0] += rx * dx / norm2, j[0][1] += rx * dy / norm2;
    j[1][0] += ry * dx / norm2, j[1][1] += ry * dy / norm2;
}

/* Splats the path shifted by (sx, sy) into `best`. If clipping moved the
   centroid of what was kept, solves centroid(shift) = 0 by Broyden's method:
   the 2x2 Jacobian starts as the identity (exact when nothing is clipped) and
   learns from every splat; a trial that makes the centroid worse is not
   taken, and the next step from the best shift is halved. Returns the mass of
   `best`, 0 if nothing falls inside, and its centroid in (*cx, *cy). `acc`
   is scratch of the same size. */
static double splat_centred(const ub_trajectory *t, double sx, double sy, int size, double *acc, double *best,
                            double *best_cx, double *best_cy) {
    const size_t cells = (size_t)size * size;
    double j[2][2] = {{1.0, 0.0}, {0.0, 1.0}}, step = 1.0;
    double best_err = INFINITY, best_mass = 0.0, bx = sx, by = sy, bcx = 0.0, bcy = 0.0;
    for (int pass = 0; pass < RECENTRE_PASSES; pass++) {
        const double dropped = splat_path(t, sx, sy, size, acc);
        double cx, cy;
        const double mass = acc_centroid(acc, size, &cx, &cy), err = hypot(cx, cy);
        if (mass > 0.0 && best_mass > 0.0) broyden_update(j, sx - bx, sy - by, cx - bcx, cy - bcy);
        if (mass > 0.0 && err < best_err) {
            memcpy(best, acc, sizeof(double) * cells);
            best_err = err, best_mass = mass, bx = sx, by = sy, bcx = cx, bcy = cy;
            if (dropped == 0.0 || err < 1e-9) break; /* unclipped, the centroid is exact by construction */
        } else {
            step *= 0.5;
        }
        if (best_mass == 0.0) break; /* nothing inside even at the start */
        double det = j[0][0] * j[1][1] - j[0][1] * j[1][0];
        if (!(fabs(det) > 1e-3)) { /* degenerate: start again from the identity */
            j[0][0] = j[1][1] = 1.0, j[0][1] = j[1][0] = 0.0, det = 1.0;
        }
        double dx = -(j[1][1] * bcx - j[0][1] * bcy) / det, dy = -(j[0][0] * bcy - j[1][0] * bcx) / det;
        const double len = hypot(dx, dy);
        if (len > 2.0) dx *= 2.0 / len, dy *= 2.0 / len; /* a step of at most 2 px */
        sx = bx + step * dx;
        sy = by + step * dy;
    }
    *best_cx = bcx, *best_cy = bcy;
    return best_mass;
}

/* When moving the path cannot centre what a clip keeps (a path clipped on
   both sides may have no centring shift), tilts the kept mass by a linear
   ramp 1 + a x + b y, with (a, b) solved so that the centroid is exactly the
   centre: a slight change of brightness along the path, no blur and no loss
   of mass. The ramp is kept >= 1/4 over the support (weakened if needed, then
   no longer exact). Returns the new mass. */
static double tilt_mass(double *grid, int size, double mass) {
    const int c = size / 2;
    double mx = 0.0, my = 0.0, mxx = 0.0, mxy = 0.0, myy = 0.0;
    for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++) {
            const double v = grid[(size_t)y * size + x], dx = x - c, dy = y - c;
            mx += v * dx, my += v * dy, mxx += v * dx * dx, mxy += v * dx * dy, myy += v * dy * dy;
        }
    /* sum v (1 + a x + b y) (x, y) = 0:  [mxx mxy; mxy myy] (a, b) = -(mx, my) */
    const double det = mxx * myy - mxy * mxy;
    double a = 0.0, b = 0.0;
    if (det > 1e-12 * mxx * myy) {
        a = -(myy * mx - mxy * my) / det;
        b = -(mxx * my - mxy * mx) / det;
    } else { /* the mass lies on a line: solve each axis on its own */
        a = mxx > 0.0 ? -mx / mxx : 0.0;
        b = myy > 0.0 ? -my / myy : 0.0;
    }
    double lowest = 1.0;
    for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++)
            if (grid[(size_t)y * size + x] > 0.0) lowest = fmin(lowest, 1.0 + a * (x - c) + b * (y - c));
    const double weaken = lowest < 0.25 ? 0.75 / (1.0 - lowest) : 1.0;
    double total = 0.0;
    for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++) {
            double *v = &grid[(size_t)y * size + x];
            *v *= 1.0 + weaken * (a * (x - c) + b * (y - c));
            total += *v;
        }
    return total > 0.0 ? total : mass;
}

static ub_status check_path(ub_ctx *ctx, const ub_trajectory *t) {
    if (!t || t->n < 1 || !t->x || !t->y)
        return ub__fail(ctx, UB_ERR_INVALID, "ub_kernel_from_trajectory: empty or invalid trajectory");
    double splats = 0.0;
    for (int i = 0; i < t->n; i++) {
        if (!isfinite(t->x[i]) || !isfinite(t->y[i]))
            return ub__fail(ctx, UB_ERR_INVALID, "trajectory point %d is not finite", i);
        if (i > 0) splats += segment_steps(hypot(t->x[i] - t->x[i - 1], t->y[i] - t->y[i - 1]));
    }
    if (splats > MAX_SPLATS)
        return ub__fail(ctx, UB_ERR_LIMIT, "trajectory of %.0f px is too long to rasterise", splats * SUB_STEP);
    return UB_OK;
}

/* The smallest odd size holding the centred path's splats plus a 1-px margin,
   capped at KERNEL_MAX (a longer path is then clipped like a given size). */
static int auto_size(const ub_trajectory *t, double cx, double cy) {
    double reach = 0.0;
    for (int i = 0; i < t->n; i++) reach = fmax(reach, fmax(fabs(t->x[i] - cx), fabs(t->y[i] - cy)));
    const double half = ceil(reach - 1e-9) + 1.0; /* a splat at |p| <= r touches up to ceil(r) */
    return half >= (KERNEL_MAX - 1) / 2 ? KERNEL_MAX : 2 * (int)fmax(half, 1.0) + 1;
}

ub_status ub_kernel_from_trajectory(ub_ctx *ctx, const ub_trajectory *t, int size, ub_kernel **out) {
    if (!out) return ub__fail(ctx, UB_ERR_INVALID, "ub_kernel_from_trajectory: NULL output");
    *out = NULL;
    ub_status st = check_path(ctx, t);
    if (st) return st;
    if (size != 0 && (size < 1 || size > KERNEL_MAX || !(size & 1)))
        return ub__fail(ctx, UB_ERR_INVALID, "PSF size %d: use 0 (fit the path) or an odd size up to %d", size,
                        KERNEL_MAX);
    double cx, cy;
    path_centroid(t, &cx, &cy);
    if (size == 0) size = auto_size(t, cx, cy);
    const size_t cells = (size_t)size * size;
    double *acc = ub__alloc(sizeof(double) * cells * 2);
    if (!acc) return ub__fail(ctx, UB_ERR_NOMEM, "out of memory for a %dx%d PSF", size, size);
    double *best = acc + cells, ox, oy;
    double best_mass = splat_centred(t, -cx, -cy, size, acc, best, &ox, &oy);
    if (best_mass > 0.0 && hypot(ox, oy) > 1e-6) best_mass = tilt_mass(best, size, best_mass);
    if ((st = ub_kernel_create(ctx, size, size, out))) {
        ub__free(acc);
        return st;
    }
    if (best_mass > 0.0)
        for (size_t i = 0; i < cells; i++) (*out)->data[i] = (float)(best[i] / best_mass);
    else
        (*out)->data[cells / 2] = 1.0f; /* nothing of the path falls inside: the delta */
    ub__free(acc);
    return UB_OK;
}

/* ---- discrete frames (a clip averaged from video frames: GoPro-style pairs) ---- */

/* Point i of n lies at time (i + 1/2) / n of the exposure; of `frames` equal slots, the first `duty`
   of each is open (the frame's own exposure), the rest closed (the gap until the next frame). */
static int point_frame(int i, int n, int frames, double duty) {
    const double slot = ((double)i + 0.5) / (double)n * (double)frames;
    const int k = (int)floor(slot);
    return slot - (double)k < duty ? (k < frames ? k : frames - 1) : -1;
}

static ub_status check_frames(ub_ctx *ctx, const ub_trajectory *t, int frames, double duty) {
    if (frames < 1 || frames > t->n || !(duty > 0.0 && duty <= 1.0))
        return ub__fail(ctx, UB_ERR_INVALID, "frames: need 1 <= frames <= %d points and 0 < duty <= 1 (got %d, %g)",
                        t->n, frames, duty);
    return UB_OK;
}

ub_status ub__trajectory_frames(ub_ctx *ctx, const ub_trajectory *t, int frames, double duty, ub_trajectory **out) {
    *out = NULL;
    ub_status st = check_path(ctx, t);
    if (st == UB_OK) st = check_frames(ctx, t, frames, duty);
    if (st) return st;
    int kept = 0;
    for (int i = 0; i < t->n; i++) kept += point_frame(i, t->n, frames, duty) >= 0;
    if (kept == 0) return ub__fail(ctx, UB_ERR_INVALID, "frames: no point of the path is exposed");
    const int rotation = t->yaw || t->pitch || t->roll;
    if ((st = trajectory_alloc(ctx, kept, rotation, out))) return st;
    for (int i = 0, j = 0; i < t->n; i++) {
        if (point_frame(i, t->n, frames, duty) < 0) continue;
        (*out)->x[j] = t->x[i], (*out)->y[j] = t->y[i];
        if (rotation) {
            (*out)->yaw[j] = t->yaw ? t->yaw[i] : 0.0;
            (*out)->pitch[j] = t->pitch ? t->pitch[i] : 0.0;
            (*out)->roll[j] = t->roll ? t->roll[i] : 0.0;
        }
        j++;
    }
    return UB_OK;
}

ub_status ub__kernel_from_frames(ub_ctx *ctx, const ub_trajectory *t, int frames, double duty, ub_kernel **out) {
    ub_trajectory *open = NULL;
    ub_status st = ub__trajectory_frames(ctx, t, frames, duty, &open);
    if (st) return st;
    /* each frame's piece of the path, rasterised as a path of its own (its points are consecutive in
       `open`), equal mass per frame; centred on the frames' mean centroid */
    int *first = ub__calloc((size_t)frames + 1, sizeof(int));
    double cx = 0.0, cy = 0.0;
    int pieces = 0;
    if (!first) st = ub__fail(ctx, UB_ERR_NOMEM, "out of memory for a frames PSF");
    for (int i = 0, j = 0, last = -1; st == UB_OK && i < t->n; i++) {
        const int k = point_frame(i, t->n, frames, duty);
        if (k < 0) continue;
        if (k != last) first[pieces++] = j, last = k;
        j++;
    }
    if (st == UB_OK) first[pieces] = open->n;
    for (int p = 0; st == UB_OK && p < pieces; p++) {
        const ub_trajectory piece = {first[p + 1] - first[p], open->x + first[p], open->y + first[p], NULL, NULL, NULL};
        double px, py;
        path_centroid(&piece, &px, &py);
        cx += px / pieces, cy += py / pieces;
    }
    const int size = st == UB_OK ? auto_size(open, cx, cy) : 0;
    const size_t cells = (size_t)size * size;
    double *acc = st == UB_OK ? ub__alloc(sizeof(double) * cells * 2) : NULL;
    if (st == UB_OK && !acc) st = ub__fail(ctx, UB_ERR_NOMEM, "out of memory for a %dx%d PSF", size, size);
    if (st == UB_OK) st = ub_kernel_create(ctx, size, size, out);
    if (st == UB_OK) {
        double *sum = acc + cells, mass = 0.0;
        memset(sum, 0, sizeof(double) * cells);
        for (int p = 0; p < pieces; p++) {
            const ub_trajectory piece = {first[p + 1] - first[p], open->x + first[p], open->y + first[p], NULL, NULL, NULL};
            splat_path(&piece, -cx, -cy, size, acc);
            for (size_t i = 0; i < cells; i++) sum[i] += acc[i] / pieces;
        }
        for (size_t i = 0; i < cells; i++) mass += sum[i];
        for (size_t i = 0; i < cells; i++) (*out)->data[i] = (float)(sum[i] / mass);
    }
    ub__free(acc);
    ub__free(first);
    ub_trajectory_destroy(&open);
    return st;
}
