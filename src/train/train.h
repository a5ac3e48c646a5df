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
       config.json              the resolved configuration (ub_train_config_to_json)
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

#include "nn/dnnl_exec.h"
#include "unblur/train.h"

/* The public API (unblur/train.h) under the names the library uses inside. */
typedef ub_train_config ub__train_config;
typedef ub_train ub__train;
typedef ub_train_stats ub__train_stats;

/* One step (above), without checkpoints; stats may be NULL. UB_ERR_INVALID when the loss or gradient
   norm is not finite (the state is then left as before the step). */
ub_status ub__train_step(ub__train *t, ub__train_stats *stats);
/* Writes checkpoint.safetensors, and model.safetensors; refused (UB_ERR_INVALID) for a non-finite state. */
ub_status ub__train_save(ub__train *t);

/* Draws the curve of a log.csv's text (the loss and its running mean, log scale; the validation PSNR and the
   input's) as an SVG file, written atomically. train/curve.c. */
ub_status ub__train_curve_svg(ub_ctx *ctx, const char *log_csv_text, const char *svg_path);

/* ub_train_open for a CPU with these features (ub_cpu_features(); tests clear the bf16 bits to see the
   fallback of cfg.precision bf16). */
ub_status ub__train_open_cpu(ub_ctx *ctx, const ub__train_config *cfg, int resume, ub_dist *dist,
                             unsigned cpu_features, ub__train **out);

/* cfg.precision (train/precision.c): fp32; bf16 mixed precision where the CPU has AVX512-BF16 or AMX (the
   convolutions' passes on bf16 copies of their inputs, weights and output gradients, accumulating and
   storing float; everything else float: master weights, AdamW, gradient sums, losses, SE/SA/NAF kernels,
   adds, the global residual); elsewhere fp32 (the CLI says so for bf16, not for auto). */
enum { UB__TRAIN_FP32 = 0, UB__TRAIN_BF16 = 1, UB__TRAIN_AUTO = 2 };
/* UB__TRAIN_*, or -1 for a name other than "fp32", "bf16", "auto". */
int ub__train_precision_parse(const char *name);
/* The training net of graph g: float, or for BF16 / AUTO the bf16 one when the CPU and oneDNN run its
   convolutions natively, else the float one with the reason in why (a bf16 net sets nothing there). */
ub_status ub__train_make_net(ub_ctx *ctx, const ub__graph *g, const ub__param_table *t, int precision,
                             unsigned cpu_features, ub__fast_net **net, char *why, size_t why_size);

/* The current weights / EMA weights (ub_train_param_count floats). */
const float *ub__train_params(const ub__train *t);
const float *ub__train_ema(const ub__train *t);

#endif
