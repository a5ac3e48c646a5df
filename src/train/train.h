/* train/train.h — a training run of RBNet: sharp images -> synthetic blur
   (train/dataset.h) -> the fast executor (nn/dnnl_exec.h) -> loss
   (nn/loss.h) -> AdamW with warm-up + cosine, gradient clipping and an EMA
   of the weights (nn/optim.h). Internal to the library (ub__ prefix); the
   `unblur train` command (src/cli/cmd_train.c) is its user, so this header
   includes only public headers and standard ones.

   A STEP t (t = 1, 2, ..., the Adam update number):
       batch  = ub__dataset_batch(run seed, step t)             (B x 3 x P x P)
       output = forward(params, blurred)
       loss   = pixel(output, sharp) + freq_weight * frequency(output, sharp)
                + perceptual_weight * perceptual(output, sharp)   (with vgg: slow, double precision)
       grads  = backward(dloss/doutput)                        (zeroed first)
       clip grads to global norm `clip` (0: no clipping)
       params = AdamW(params, grads, lr(t))                    (or Adam: weight decay in the gradient)
       ema    = d_t ema + (1 - d_t) params, d_t = min(ema_decay, (1 + t - 1) / (10 + t - 1))
   Determinism: the data depends only on (data, synthesis, seed, step), and
   every piece above gives the same bits for the same thread count, so a run
   is reproducible and a resumed run continues bit-identically (the schedule
   uses `steps` as its length: stop a run early with stop_at, not by
   changing `steps`).

   A RUN FOLDER (cfg.run) holds
       config.json              the resolved configuration (ub__train_config_to_json)
       log.csv                  step,loss,lr,images_per_s,val_psnr,val_ssim,val_input_psnr,val_input_ssim,
                                real_psnr,real_ssim,real_input_psnr,real_input_ssim
                                (the val columns empty except on validated steps; a resume drops the rows
                                of steps after the checkpoint, which it redoes, and appends)
       curve.svg                the loss and validation curves, redrawn from log.csv with each checkpoint
       model.safetensors        the EMA weights (model_dtype), with RBNet's metadata (ub_model_save)
       checkpoint.safetensors   tensors "params", "adam.m", "adam.v", "ema" (F32, flat, graph.h's order)
                                and metadata: step, seed, config_hash, the architecture (width, blocks,
                                mid_blocks, depth, se_reduction, sa_kernel) and the data/synthesis keys
                                (data, ids, synth, patch, batch, seed) that a resume must match.
   Files are written atomically. A checkpoint is written every checkpoint_seconds (0: after every step),
   at the end and when stopped, and only of a finite state: a non-finite loss or gradient norm stops the
   run (UB_ERR_INVALID, "step T: ... is not finite ...") WITHOUT writing anything, so the last checkpoint
   on disk is the last good one.

   VALIDATION (cfg.val not empty): every image of that folder (recursively, sorted; images smaller than
   val_patch are skipped) gives one pair made once at opening: the centred val_patch x val_patch crop,
   blurred by the same synthesis with seed ub_rng_derive(seed, 0x76616c, i) and index 1. Every val_every
   steps and at the last step, the EMA weights run on each blurred crop (output clipped to [0, 1]) and
   the mean PSNR and SSIM over the images are logged, with the blurry inputs' own means.
   Real pairs (cfg.val_pairs): every image of that folder whose path contains "blur" and whose path with
   the last "blur" replaced by "sharp" exists (GoPro's blur/ and sharp/ folders, or NAME_blur1.png beside
   NAME_sharp1.png) gives a pair: their centred val_patch crops; logged as real_* the same way.

   Threads: ub_ctx_threads(ctx) for the network, losses and optimiser; cfg.workers samplers (0: the
   context's threads). The run is used from the thread that owns ctx. With cfg.prefetch = 1 a data thread
   (pthread) makes step t+1's batch while the network runs step t: the same bytes, so the same weights;
   it pays only where cores are free (measured, 16-core Xeon, W 32, batch 8 of 128 px: realistic preset
   30.4 -> 32.7 images/s; gaussian 38.7 -> 35.1; on 2 busy cores it halves the speed), hence off by default.

   DATA PARALLELISM (train/dist.h): under `mpirun -np P`, P processes (ranks) share every step's batch:
   rank r makes samples r B/P .. (r+1) B/P - 1 of the global batch B (B must be a multiple of P), so the
   data is the same samples whatever P. Each rank runs forward, loss and backward on its share; the
   gradients are summed over the ranks (their mean = the gradient of the whole batch's mean loss) in
   buckets of cfg.bucket_mb, each started (MPI_Iallreduce) as soon as the backward pass has finished it
   (nn/dnnl_exec.h's hooked backward), so that the sums travel while the pass goes on; the losses and
   the flags below follow in one small sum after the pass, and every rank clips and applies the same
   update: the weights stay the same bits everywhere (checked at every checkpoint by a hash). Rank 0
   alone validates, logs and writes files; a resume is read by rank 0 and broadcast, and so are fresh
   weights. A signal or a report's stop request on any rank, and rank 0's checkpoint timer, reach all
   ranks through the flags of the next sum, so they stop and checkpoint at the same step; a failure on
   one rank (e.g. an unreadable image) is shared the same way and every rank exits with an error.
   Not bit-identical to a run with another P (the batch's sums are taken in another order): the same
   within float rounding (tests/cli_mpi.sh: max |dw| after 20 steps, -np 2 vs -np 1); with P = 2 the
   buckets give the bits of one sum. The overlap pays where the network is slow (bench/run_bucket_bench.sh,
   W 32, 2 processes over TCP shaped to 1 Gbit/s: 1.17x the images/s of one sum after the pass, the sum's
   exposed time 0.063 -> 0.008 s per step); on one machine (shared memory) the sum costs ~1% and buckets
   change nothing measurable. bucket_mb = 0 keeps the one MPI_Allreduce after the pass. */
#ifndef UB_TRAIN_TRAIN_H
#define UB_TRAIN_TRAIN_H

#include <signal.h>
#include <stdint.h>

#include "unblur/core.h"

#define UB__TRAIN_PATH_MAX 1024

typedef struct ub__train_config {
    char data[UB__TRAIN_PATH_MAX];         /* folders of sharp images, comma-separated */
    char ids[UB__TRAIN_PATH_MAX];          /* id list file, "" = every image */
    char preset[64];                       /* synthesis preset (when synth_config is "") */
    char synth_config[UB__TRAIN_PATH_MAX]; /* synthesis config JSON file, "" = the preset */
    char val[UB__TRAIN_PATH_MAX];          /* validation folder (synthetic pairs), "" = none */
    char val_pairs[UB__TRAIN_PATH_MAX];    /* folder of real blurred/sharp pairs, "" = none */
    char run[UB__TRAIN_PATH_MAX];          /* the run folder (created if missing) */
    int width, blocks, depth;              /* RBNet (mid_blocks = blocks, SE 8, SA 7) */
    int patch, batch;
    long steps;                            /* the schedule's length */
    double lr, min_lr, weight_decay, clip, ema_decay;
    long warmup;
    char loss[16];                         /* "l1" or "charbonnier" */
    double freq_weight;                    /* weight of the frequency loss (0: off) */
    char vgg[UB__TRAIN_PATH_MAX];          /* VGG19 weights (torchvision names) for the perceptual loss, "" = off */
    char vgg_layer[16];                    /* its compared layer, "" = nn/loss.h's default (relu3_3) */
    double perceptual_weight;              /* weight of the perceptual loss (used when vgg is given) */
    int64_t seed;                          /* 0 .. 2^63 - 1 */
    int workers;                           /* sampler workers, 0 = the context's threads */
    char optimizer[16];                    /* "adamw" (decoupled weight decay) or "adam" (L2 in the gradient) */
    char model_dtype[8];                   /* model.safetensors: "F32", "F16" or "BF16" */
    double checkpoint_seconds;             /* >= 0 */
    long val_every;                        /* >= 1 */
    int val_patch;
    int prefetch;                          /* 1: a thread makes the next batch while the network runs */
    double bucket_mb;                      /* under mpirun: MB of gradients per sum started during the
                                              backward pass; 0: one sum after it */
} ub__train_config;

/* bucket_mb's default (measured in bench/TRAIN_RESULTS.md). */
#define UB__TRAIN_BUCKET_MB 1.0

/* Defaults: preset "gaussian", W 32, N 2, D 2, patch 64, batch 4, 1000 steps, lr 2e-4, warm-up 100,
   min lr 1e-6, weight decay 1e-4, clip 1, EMA 0.999, loss l1, freq 0.1, no perceptual loss (weight 0.01
   when a vgg file is given), seed 1, adamw, F32, checkpoint
   300 s, val every 100, val patch 128, run "run". */
void ub__train_config_default(ub__train_config *c);
/* Applies the keys of a JSON object (the field names above, "run" included) to c; a key not listed,
   a value of the wrong type or a string too long is an error naming the key ("NAME: unknown key 'k'"). */
ub_status ub__train_config_from_json(ub_ctx *ctx, const char *text, const char *name, ub__train_config *c);
/* The configuration as a JSON object, every key (malloc'ed, NULL when out of memory). */
char *ub__train_config_to_json(const ub__train_config *c);
/* Checks the ranges; the message names the key. */
ub_status ub__train_config_check(ub_ctx *ctx, const ub__train_config *c);

typedef struct ub__train ub__train;

/* Opens a run: the dataset, samplers, network, validation set, run folder (config.json written, log.csv
   opened). resume = 0: fresh weights from the seed; resume = 1: the state of cfg->run/checkpoint.safetensors,
   refused with a one-line message naming the first key that differs (architecture or data/synthesis).
   `ctx` must outlive the run. dist: the processes of a data-parallel run (train/dist.h), or NULL for a
   run of one; it must outlive the run. Collective over dist's ranks, like ub__train_run and
   ub__train_save: every rank calls them in the same order. */
typedef struct ub__dist ub__dist;
ub_status ub__train_open(ub_ctx *ctx, const ub__train_config *cfg, int resume, ub__dist *dist, ub__train **out);
void ub__train_close(ub__train **t);

typedef struct ub__train_stats {
    long step, steps;      /* the step just done, of steps */
    double loss, lr;
    double images_per_s;   /* this step's */
    double data_seconds;   /* of this step: making the batch (synthesis) */
    double step_seconds;   /* of this step: all of it (validation and checkpoints not included) */
    double seconds;        /* since the run (this process) started */
    double eta_seconds;    /* the rest at the mean speed of this process */
    int validated;         /* 1: the val_ fields are this step's */
    double val_psnr, val_ssim, val_input_psnr, val_input_ssim;     /* synthetic set (NAN: none) */
    double real_psnr, real_ssim, real_input_psnr, real_input_ssim; /* real pairs (NAN: none) */
    int checkpointed;      /* 1: a checkpoint was written after this step */
} ub__train_stats;

/* Called after each step; non-zero asks to stop (like a signal). */
typedef int (*ub__train_report_fn)(void *user, const ub__train_stats *s);

typedef enum ub__train_outcome {
    UB__TRAIN_DONE = 0,    /* reached cfg.steps or stop_at */
    UB__TRAIN_STOPPED = 1, /* *stop became non-zero (or the report asked): checkpoint written */
    UB__TRAIN_DIVERGED = 2 /* non-finite loss: nothing written, the status is UB_ERR_INVALID */
} ub__train_outcome;

/* Runs steps until cfg.steps or stop_at (0: cfg.steps), or until *stop (may be NULL; set by a signal
   handler) is non-zero after a step; then writes the checkpoint and model.safetensors (not when diverged). */
ub_status ub__train_run(ub__train *t, long stop_at, volatile sig_atomic_t *stop, ub__train_report_fn report,
                        void *user, ub__train_outcome *outcome);

/* One step (above), without checkpoints; stats may be NULL. UB_ERR_INVALID when the loss or gradient
   norm is not finite (the state is then left as before the step). */
ub_status ub__train_step(ub__train *t, ub__train_stats *stats);
/* Writes checkpoint.safetensors, and model.safetensors; refused (UB_ERR_INVALID) for a non-finite state. */
ub_status ub__train_save(ub__train *t);

/* Draws the curve of a log.csv's text (the loss and its running mean, log scale; the validation PSNR and the
   input's) as an SVG file, written atomically. train/curve.c. */
ub_status ub__train_curve_svg(ub_ctx *ctx, const char *log_csv_text, const char *svg_path);

/* Steps done, the parameter count, and the current weights / EMA weights (count floats). */
long ub__train_steps_done(const ub__train *t);
size_t ub__train_param_count(const ub__train *t);
const float *ub__train_params(const ub__train *t);
const float *ub__train_ema(const ub__train *t);
/* Images kept and skipped (smaller than the patch) by the dataset; validation images. */
void ub__train_data_counts(const ub__train *t, int *images, int *skipped, int *val_images);
/* Totals of this process's steps: count, seconds making batches, seconds in steps, and of those
   seconds in the data-parallel sum (waiting for the other ranks included; 0 in a run of one). */
void ub__train_timing(const ub__train *t, long *steps, double *data_seconds, double *step_seconds,
                      double *sum_seconds);
/* The last validation's metrics (NAN before any) on the synthetic set, and on the real pairs. */
void ub__train_last_val(const ub__train *t, double *psnr, double *ssim, double *input_psnr, double *input_ssim);
void ub__train_last_real_val(const ub__train *t, int *pairs, double *psnr, double *ssim, double *input_psnr,
                             double *input_ssim);

#endif
