/* nn/optim.h — the optimiser: Adam / AdamW over the flat parameter array
   (nn/graph.h: all parameters in one float array, llm.c style), the
   learning-rate schedule, global gradient-norm clipping and an exponential
   moving average of the weights.

   Functions over explicit buffers: the caller owns params, grads and the
   state (m, v: one float each per parameter, zeroed before the first step;
   the step count). Applying different settings to parts of the array (no
   weight decay on biases, say) is a call per range: every function here is
   element-wise except the norm.

   Adam (PyTorch's torch.optim.Adam / AdamW, non-fused), for step t = 1, 2, ...:
       [Adam with weight_decay, decoupled = 0]  g <- g + wd * p     (L2 in the gradient)
       m <- b1 m + (1 - b1) g
       v <- b2 v + (1 - b2) g^2
       [AdamW, decoupled = 1]                   p <- p (1 - lr wd)  (decoupled decay)
       p <- p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
   Each element is computed in double from its float state and stored as
   float. Defaults: b1 0.9, b2 0.999, eps 1e-8, wd 0, decoupled.

   Schedule: lr(t) for the update number t (1-based, as Adam's step):
       t <= W:       base * t / W                     (linear warm-up; W = 0: none)
       W < t < T:    floor + (base - floor) (1 + cos(pi (t - W) / (T - W))) / 2
       t >= T:       floor
   so lr(W) = base, lr(W + (T - W)/2) = (base + floor) / 2, lr(T) = floor.

   Clipping: the global L2 norm over all gradients; when it exceeds max_norm
   the gradients are scaled by max_norm / norm, so that their norm becomes
   max_norm (PyTorch's clip_grad_norm_ divides by norm + 1e-6 instead). A
   non-finite norm is returned and nothing is scaled: the caller should skip
   the step.

   EMA: ema <- d ema + (1 - d) p (initialise ema as a copy of the params).
   Warm-up (optional): d_t = min(d, (1 + t) / (10 + t)) after t updates,
   so that early averages are not dominated by the random initial weights.

   Determinism: element-wise updates give the same bits on any thread count;
   the norm is a double sum over chunks fixed by n alone, added in order.
   `threads` < 1 counts as 1; small arrays run on one thread. */
#ifndef UB_NN_OPTIM_H
#define UB_NN_OPTIM_H

#include <stddef.h>

typedef struct ub__adam_config {
    double beta1, beta2, eps;
    double weight_decay;
    int decoupled; /* 1: AdamW; 0: Adam with L2 weight decay added to the gradient */
} ub__adam_config;

void ub__adam_config_default(ub__adam_config *c);

/* One update of params[0..n) with grads; m, v updated in place; step = t >= 1 (the update number). */
void ub__adam_step(const ub__adam_config *c, size_t n, float *params, const float *grads, float *m, float *v,
                   long step, double lr, int threads);

typedef struct ub__lr_schedule {
    double base_lr;    /* the peak, reached at the end of the warm-up */
    double min_lr;     /* the floor of the cosine */
    long warmup_steps; /* W >= 0 */
    long total_steps;  /* T: the cosine reaches the floor at t = T (T <= W: no decay, base after warm-up) */
} ub__lr_schedule;

/* lr(t); t < 1 counts as 1. */
double ub__lr_at(const ub__lr_schedule *s, long step);

/* The global L2 norm of grads[0..n), summed in double. */
double ub__grad_norm(size_t n, const float *grads, int threads);
/* Scales grads to norm max_norm when their norm exceeds it (max_norm > 0); returns the norm before. */
double ub__clip_grad_norm(size_t n, float *grads, double max_norm, int threads);

/* ema <- decay * ema + (1 - decay) * params. */
void ub__ema_update(size_t n, float *ema, const float *params, double decay, int threads);
/* The decay for the update after `updates` earlier ones: decay, or min(decay, (1 + updates) / (10 + updates))
   with warmup. */
double ub__ema_decay_at(double decay, long updates, int warmup);

#endif
