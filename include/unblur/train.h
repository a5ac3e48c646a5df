/* unblur/train.h — training RBNet on synthetic blur: a run folder, its
   configuration, and the loop (sharp images -> synthetic blur -> the network
   -> loss -> AdamW, with validation and checkpoints; the whole design is
   described at the top of src/train/train.h). `unblur train` is its user.

       ub_train_config c;
       ub_train_config_default(&c);               // then set data, run, ...
       ub_train *t;
       if (ub_train_open(ctx, &c, 0, NULL, &t) != UB_OK) ...;
       ub_train_outcome how;
       ub_train_run(t, 0, NULL, NULL, NULL, &how);  // checkpoint + model.safetensors at the end
       ub_train_close(&t);

   Data-parallel runs (under mpirun) pass the processes' ub_dist (ub_dist_open). */
#ifndef UNBLUR_TRAIN_H
#define UNBLUR_TRAIN_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define UB_TRAIN_PATH_MAX 1024

typedef struct ub_train_config {
    char data[UB_TRAIN_PATH_MAX];         /* folders of sharp images, comma-separated */
    char ids[UB_TRAIN_PATH_MAX];          /* id list file, "" = every image */
    char preset[64];                       /* synthesis preset (when synth_config is "") */
    char synth_config[UB_TRAIN_PATH_MAX]; /* synthesis config JSON file, "" = the preset */
    char val[UB_TRAIN_PATH_MAX];          /* validation folder (synthetic pairs), "" = none */
    char val_pairs[UB_TRAIN_PATH_MAX];    /* folder of real blurred/sharp pairs, "" = none */
    char run[UB_TRAIN_PATH_MAX];          /* the run folder (created if missing) */
    int width, blocks, depth;              /* RBNet (SE 8, SA 7) */
    int mid_blocks;                        /* bottleneck blocks, -1 = blocks */
    char block[8];                         /* "res" (ResBlock) or "naf" (NAFBlock) */
    char skip_attention[8];                /* "both", "se", "sa" or "none" */
    int patch, batch;
    long steps;                            /* the schedule's length */
    double lr, min_lr, weight_decay, clip, ema_decay;
    long warmup;
    char loss[16];                         /* "l1" or "charbonnier" */
    double freq_weight;                    /* weight of the frequency loss (0: off) */
    char vgg[UB_TRAIN_PATH_MAX];          /* VGG19 weights (torchvision names) for the perceptual loss, "" = off */
    char vgg_layer[16];                    /* its compared layer, "" = nn/loss.h's default (relu3_3) */
    double perceptual_weight;              /* weight of the perceptual loss (used when vgg is given) */
    int64_t seed;                          /* 0 .. 2^63 - 1 */
    int workers;                           /* sampler workers, 0 = the context's threads */
    char optimizer[16];                    /* "adamw" (decoupled weight decay) or "adam" (L2 in the gradient) */
    char model_dtype[8];                   /* model.safetensors: "F32", "F16" or "BF16" */
    char precision[8];                     /* the convolutions' arithmetic: "fp32", "bf16" (mixed: bf16
                                              convolution passes, everything else float) where the CPU
                                              has AVX512-BF16 or AMX, else fp32; "auto" the same */
    double checkpoint_seconds;             /* >= 0 */
    long val_every;                        /* >= 1 */
    int val_patch;
    int prefetch;                          /* 1: a thread makes the next batch while the network runs */
    double bucket_mb;                      /* under mpirun: MB of gradients per sum started during the
                                              backward pass; 0: one sum after it */
    char val_sets[UB_TRAIN_PATH_MAX];     /* benchmark sets (unblur/eval.h specs, e.g. "reds_dev:crop=128"),
                                              comma-separated, scored on the EMA weights at each validation;
                                              "" = none */
    char data_root[UB_TRAIN_PATH_MAX];    /* where val_sets' aliases resolve, "" = eval's "../shared/data" */
    char init_from[UB_TRAIN_PATH_MAX];    /* a fresh run's starting weights (a model file of the run's
                                              architecture, or of the same with fewer mid_blocks: grown;
                                              the EMA starts from them), "" = from the seed */
} ub_train_config;

/* bucket_mb's default (measured in bench/TRAIN_RESULTS.md). */
#define UB_TRAIN_BUCKET_MB 1.0

/* Defaults: preset "gaussian", W 32, N 2, M = N (mid_blocks -1), D 2, block res, skip attention both, patch 64, batch 4, 1000 steps, lr 2e-4, warm-up 100,
   min lr 1e-6, weight decay 1e-4, clip 1, EMA 0.999, loss l1, freq 0.1, no perceptual loss (weight 0.01
   when a vgg file is given), seed 1, adamw, F32, precision fp32, checkpoint
   300 s, val every 100, val patch 128, run "run". */
UB_API void ub_train_config_default(ub_train_config *c);
/* Applies the keys of a JSON object (the field names above, "run" included) to c; a key not listed,
   a value of the wrong type or a string too long is an error naming the key ("NAME: unknown key 'k'"). */
UB_API ub_status ub_train_config_from_json(ub_ctx *ctx, const char *text, const char *name, ub_train_config *c);
/* The configuration as a JSON object, every key (malloc'ed, NULL when out of memory). */
UB_API char *ub_train_config_to_json(const ub_train_config *c);
/* Checks the ranges; the message names the key. */
UB_API ub_status ub_train_config_check(ub_ctx *ctx, const ub_train_config *c);

typedef struct ub_train ub_train;
typedef struct ub__dist ub_dist; /* the processes of a data-parallel run (below) */

/* Opens a run: the dataset, samplers, network, validation set, run folder (config.json written, log.csv
   opened). resume = 0: fresh weights from the seed (or cfg->init_from's, refused with a message naming the
   first architecture key that differs, unless the run only has more mid_blocks: ub_train_init_counts); resume = 1: the state of cfg->run/checkpoint.safetensors,
   refused with a one-line message naming the first key that differs (architecture or data/synthesis).
   `ctx` must outlive the run. dist: the processes of a data-parallel run (train/dist.h), or NULL for a
   run of one; it must outlive the run. Collective over dist's ranks, like ub_train_run and
   the checkpoints it writes: every rank calls them in the same order. */
UB_API ub_status ub_train_open(ub_ctx *ctx, const ub_train_config *cfg, int resume, ub_dist *dist, ub_train **out);
UB_API void ub_train_close(ub_train **t);

typedef struct ub_train_stats {
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
} ub_train_stats;

/* Called after each step; non-zero asks to stop (like a signal). */
typedef int (*ub_train_report_fn)(void *user, const ub_train_stats *s);

typedef enum ub_train_outcome {
    UB_TRAIN_DONE = 0,    /* reached cfg.steps or stop_at */
    UB_TRAIN_STOPPED = 1, /* *stop became non-zero (or the report asked): checkpoint written */
    UB_TRAIN_DIVERGED = 2 /* non-finite loss: nothing written, the status is UB_ERR_INVALID */
} ub_train_outcome;

/* Runs steps until cfg.steps or stop_at (0: cfg.steps), or until *stop (may be NULL; set by a signal
   handler) is non-zero after a step; then writes the checkpoint and model.safetensors (not when diverged). */
UB_API ub_status ub_train_run(ub_train *t, long stop_at, volatile sig_atomic_t *stop, ub_train_report_fn report,
                        void *user, ub_train_outcome *outcome);

/* 1 when the run's convolutions compute in bf16 (precision bf16 or auto on a CPU with native bf16), else 0;
   *why (may be NULL): when bf16 or auto was asked and the run computes fp32, the reason (else ""). */
UB_API int ub_train_bf16(const ub_train *t, const char **why);

/* Steps done and the parameter count. */
UB_API long ub_train_steps_done(const ub_train *t);
UB_API size_t ub_train_param_count(const ub_train *t);
/* Of the net's parameter tensors (*tensors), how many a fresh run took from cfg.init_from (*read; 0
   without one). Fewer than all: the run grew the file's net (a deeper RBNet bottleneck, whose new
   blocks start as the identity, so that step 0 computes what the file's net computes). */
UB_API void ub_train_init_counts(const ub_train *t, int *read, int *tensors);
/* Images kept and skipped (smaller than the patch) by the dataset; validation images. */
UB_API void ub_train_data_counts(const ub_train *t, int *images, int *skipped, int *val_images);
/* Totals of this process's steps: count, seconds making batches, seconds in steps, and of those
   seconds in the data-parallel sum (waiting for the other ranks included; 0 in a run of one). */
UB_API void ub_train_timing(const ub_train *t, long *steps, double *data_seconds, double *step_seconds,
                      double *sum_seconds);
/* The last validation's metrics (NAN before any) on the synthetic set, and on the real pairs. */
UB_API void ub_train_last_val(const ub_train *t, double *psnr, double *ssim, double *input_psnr, double *input_ssim);
UB_API void ub_train_last_real_val(const ub_train *t, int *pairs, double *psnr, double *ssim, double *input_psnr,
                             double *input_ssim);

/* The benchmark sets of cfg.val_sets (rank 0; 0 on the others): their count; for k < count, set k's log.csv
   column prefix (NAME of NAME_psnr) and the last validation's mean PSNR of the EMA weights' outputs and of
   the inputs (NAN before any). Any pointer may be NULL. */
UB_API int ub_train_val_sets(const ub_train *t, int k, const char **name, double *psnr, double *input_psnr);

/* ---- the processes of a data-parallel run (MPI; a run of one without mpirun) ---- */
/* Joins the run's processes (MPI_Init when started by an MPI launcher; else a run of one). argc/argv may
   be NULL. */
UB_API ub_status ub_dist_open(ub_ctx *ctx, int *argc, char ***argv, ub_dist **out);
UB_API void ub_dist_close(ub_dist **d);
/* Processes of this job on this machine, from the launcher's environment (1 without one). */
UB_API int ub_dist_local_processes(void);
UB_API int ub_dist_rank(const ub_dist *d); /* 0 .. size - 1; 0 for NULL */
UB_API int ub_dist_size(const ub_dist *d); /* 1 for NULL */
/* The MPI library's name and version, or "none". */
UB_API const char *ub_dist_library(const ub_dist *d);

#ifdef __cplusplus
}
#endif
#endif
