/* nn/optim.c — Adam/AdamW, the learning-rate schedule, gradient clipping and
   the weight EMA of nn/optim.h. Element-wise loops on OpenMP threads (any
   split gives the same bits); the one reduction, the gradient norm, sums
   fixed chunks in double and adds their partial sums in chunk order. */
#include "nn/optim.h"

#include <math.h>

/* Below this many elements a parallel region costs more than it saves. */
enum { PARALLEL_MIN = 1 << 15, NORM_CHUNK_MIN = 4096, NORM_CHUNKS_MAX = 256 };

static int threads_for(size_t n, int threads) { return threads < 1 || n < PARALLEL_MIN ? 1 : threads; }

void ub__adam_config_default(ub__adam_config *c) {
    *c = (ub__adam_config){.beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.0, .decoupled = 1};
}

void ub__adam_step(const ub__adam_config *c, size_t n, float *params, const float *grads, float *m, float *v,
                   long step, double lr, int threads) {
    const double b1 = c->beta1, b2 = c->beta2, eps = c->eps, wd = c->weight_decay;
    const double t = step < 1 ? 1.0 : (double)step;
    const double step_size = lr / (1.0 - pow(b1, t)), bc2_sqrt = sqrt(1.0 - pow(b2, t));
    const double l2 = c->decoupled ? 0.0 : wd, shrink = c->decoupled ? 1.0 - lr * wd : 1.0;
#pragma omp parallel for num_threads(threads_for(n, threads)) schedule(static)
    for (size_t i = 0; i < n; i++) {
        const double p = params[i], g = (double)grads[i] + l2 * p;
        const double mi = b1 * m[i] + (1.0 - b1) * g, vi = b2 * v[i] + (1.0 - b2) * g * g;
        m[i] = (float)mi, v[i] = (float)vi;
        params[i] = (float)(p * shrink - step_size * mi / (sqrt(vi) / bc2_sqrt + eps));
    }
}

double ub__lr_at(const ub__lr_schedule *s, long step) {
    const long t = step < 1 ? 1 : step, W = s->warmup_steps > 0 ? s->warmup_steps : 0, T = s->total_steps;
    if (t <= W) return s->base_lr * (double)t / (double)W;
    if (T <= W) return s->base_lr;
    if (t >= T) return s->min_lr;
    const double progress = (double)(t - W) / (double)(T - W);
    return s->min_lr + (s->base_lr - s->min_lr) * 0.5 * (1.0 + cos(3.14159265358979323846 * progress));
}

double ub__grad_norm(size_t n, const float *grads, int threads) {
    if (n == 0) return 0.0;
    size_t chunks = (n + NORM_CHUNK_MIN - 1) / NORM_CHUNK_MIN;
    chunks = chunks > NORM_CHUNKS_MAX ? NORM_CHUNKS_MAX : chunks;
    const size_t len = (n + chunks - 1) / chunks;
    double partial[NORM_CHUNKS_MAX];
#pragma omp parallel for num_threads(threads_for(n, threads)) schedule(static)
    for (size_t k = 0; k < chunks; k++) {
        const size_t end = (k + 1) * len < n ? (k + 1) * len : n;
        double sum = 0.0;
        for (size_t i = k * len; i < end; i++) sum += (double)grads[i] * grads[i];
        partial[k] = sum;
    }
    double sum = 0.0;
    for (size_t k = 0; k < chunks; k++) sum += partial[k];
    return sqrt(sum);
}

double ub__clip_grad_norm(size_t n, float *grads, double max_norm, int threads) {
    const double norm = ub__grad_norm(n, grads, threads);
    if (!isfinite(norm) || !(norm > max_norm) || !(max_norm > 0)) return norm;
    const double scale = max_norm / norm;
#pragma omp parallel for num_threads(threads_for(n, threads)) schedule(static)
    for (size_t i = 0; i < n; i++) grads[i] = (float)(grads[i] * scale);
    return norm;
}

void ub__ema_update(size_t n, float *ema, const float *params, double decay, int threads) {
#pragma omp parallel for num_threads(threads_for(n, threads)) schedule(static)
    for (size_t i = 0; i < n; i++) ema[i] = (float)(decay * ema[i] + (1.0 - decay) * params[i]);
}

double ub__ema_decay_at(double decay, long updates, int warmup) {
    if (!warmup) return decay;
    const double u = updates < 0 ? 0.0 : (double)updates, ramp = (1.0 + u) / (10.0 + u);
    return ramp < decay ? ramp : decay;
}
