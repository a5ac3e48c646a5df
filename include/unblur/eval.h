/* unblur/eval.h — the yardstick: benchmark sets, methods, scores, tables.

   An evaluation runs every method on every image of every set and scores each output against the
   set's reference with the metrics of unblur/metrics.h:

       ub_eval_set *set;        ub_eval_set_open(ctx, "levin:../shared/data/levin2009", NULL, &set);
       ub_eval_method *m;       ub_eval_method_create(ctx, "model:rbnet.safetensors", &m);
       ub_eval_results *r;      ub_eval_run(ctx, &set, 1, &m, 1, NULL, &r);
       char *md;                ub_eval_format_markdown(ctx, r, &md);   // free(md)
       ub_eval_results_destroy(&r); ub_eval_method_destroy(&m); ub_eval_set_destroy(&set);

   SETS — a spec "KIND:DIR[:key=value]..." or an alias "NAME[:key=value]..." resolved under a data
   root (default "../shared/data"):
     pairs:DIR    real blur, paired: DIR/blur/X + DIR/sharp/X (GoPro, REDS layout), or files named
                  *_blur*.ext beside *_sharp*.ext (Flower_blur1.png <-> Flower_sharp1.png).
     levin:DIR    Levin et al. 2009: blurred/im{i}_kernel{k}_img.png, gt_sharp/im{i}.png,
                  gt_kernels/kernel{k}.png; each item carries its true kernel in convolution
                  orientation (rot180 of the PNG for kernels 1,2,3,5,6,7; the PNG itself for 4, 8:
                  see the data's SOURCE.txt). Scored shift-tolerant (shift 10, crop 10).
     lai:DIR      Lai et al. 2016 uniform: every DIR/sharp image x every DIR/kernels PSF, blurred in memory:
                  ub_convolve (reflect borders) with the grey normalised kernel, plus Gaussian noise
                  of sigma 0.01 drawn from ub_rng_derive(UB_EVAL_LAI_SEED, image, kernel), clipped
                  to [0,1]; alpha dropped. Scored like Levin. Items: image-major.
     synth:DIR    any folder of sharp images blurred in memory by the synthesis (key preset=P,
                  default realistic; seed=S, default 0): item i is ub_synth_run(seed, i); the
                  reference is the sample's sharp target.
     sharp:DIR    sharp images as input and reference: the harm done to a photo that needed no
                  deblurring (the identity scores +infinity there).
   Keys of every kind: step=K (every K-th image in name order, from the first), limit=N (the first N
   of those; for lai, an image is a sharp image with all its kernels), crop=C
   (the centred C x C region; for synth, cut from the sharp image before the synthesis), shift=K
   (shift-tolerant scoring; crop of the score = K), subpixel=1 (PSNR's best offset refined to a
   quarter pixel, as published Levin and Lai figures are scored: unblur/metrics.h; the set's name
   gains ":subpixel"). Images are sorted by name (strcmp). Aliases:
     gopro_nah  pairs:ROOT/gopro_nah_official_examples     levin            levin:ROOT/levin2009
     gopro_dev  pairs:ROOT/gopro_dev                       lai              lai:ROOT/lai2016/uniform
     reds_dev   pairs:ROOT/reds_dev                        kodak24-realistic synth:ROOT/testsets/Kodak24:preset=realistic
     kodak24-sharp sharp:ROOT/testsets/Kodak24             cbsd68-sharp     sharp:ROOT/testsets/CBSD68
   Opening a set lists and pairs its files (a missing folder, an unpaired file or a kernel that
   does not parse is an error naming the file); images are read when an item is loaded (a size
   mismatch is an error naming the file then). Items are the same on every run and thread count.

   METHODS — a spec: "identity", "model:PATH" (RBNet weights, ub_model_run_tiled with the default
   tile), "wiener", "rl", "sparse" (ub_deconv with the item's true kernel and the method's defaults;
   "sparse:rgb" / "sparse:luma" with that ub_deconv_colour), "blind"
   (ub_deblur_blind; "blind:linear" / "blind:srgb" with that ub_blind_response), "auto:PATH"
   (blind where it acts, else the model: ub_deblur_auto; "auto": else the input),
   "model-flip2:PATH" / "model-flip4:PATH" (the flip self-ensemble). A method that needs a kernel is
   "n/a" on a set without kernels. A method can
   also wrap a model the caller holds (ub_eval_method_from_model), for validation during training.

   SCORES — ub_metrics_compute's definitions, of the output clipped to [0, 1] as an image file would
   hold it (not rounded to a bit depth). Shift-tolerant sets (levin, lai): PSNR is the best over
   every offset in [-K, K]^2, exactly as ub_metrics_compute finds it; SSIM is climbed from the
   best-PSNR offset to the best of its neighbours until none is better (10-20 SSIMs instead of
   (2K+1)^2; equal to the full search on all of Levin's inputs and Wiener/RL outputs).

   RESULTS — per image: PSNR/SSIM of the output and of the input (the identity), the gain, the
   method's seconds; per (set, method): means, the number of images made worse (lower PSNR than the
   input), seconds per megapixel of input. Writers: Markdown (a string), JSON and CSV files
   (atomically); an HTML report (ub_eval_write_report) with thumbnails and crops of the saved outputs.

   The library never prints; progress goes to the callback of ub_eval_options. */
#ifndef UNBLUR_EVAL_H
#define UNBLUR_EVAL_H

#include "metrics.h"
#include "nn.h"
#include "synth.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The run seed of the Lai set's noise (fixed so that every evaluation sees the same inputs). */
#define UB_EVAL_LAI_SEED 2016u

/* ---- sets ---- */

typedef struct ub_eval_set ub_eval_set;

/* Opens a set from a spec (see above). `data_root` NULL means "../shared/data". */
UB_API ub_status ub_eval_set_open(ub_ctx *ctx, const char *spec, const char *data_root, ub_eval_set **out);
UB_API void ub_eval_set_destroy(ub_eval_set **s);
/* The display name: the alias, or KIND:FOLDER[:preset]. */
UB_API const char *ub_eval_set_name(const ub_eval_set *s);
UB_API size_t ub_eval_set_count(const ub_eval_set *s);
/* Non-zero when every item carries its true kernel (levin, lai). */
UB_API int ub_eval_set_has_kernels(const ub_eval_set *s);
/* The scoring options of the set (shift and crop). */
UB_API void ub_eval_set_metrics_options(const ub_eval_set *s, ub_metrics_options *out);

typedef struct ub_eval_item {
    char *name;           /* unique within the set, no extension ("im1_kernel4", "Flower_blur1") */
    ub_image *input;      /* what a method sees (colour channels only) */
    ub_image *reference;  /* what the output is scored against, same size */
    ub_kernel *kernel;    /* the true blur kernel (convolution orientation), or NULL */
} ub_eval_item;

/* Loads item i (< count). `out` is overwritten: free a previous item first. */
UB_API ub_status ub_eval_set_load(ub_ctx *ctx, const ub_eval_set *s, size_t i, ub_eval_item *out);
UB_API void ub_eval_item_free(ub_eval_item *it);

/* ---- methods ---- */

typedef struct ub_eval_method ub_eval_method;

UB_API ub_status ub_eval_method_create(ub_ctx *ctx, const char *spec, ub_eval_method **out);
/* A method running a model the caller keeps (not freed by the method, which must not outlive it). */
UB_API ub_status ub_eval_method_from_model(ub_ctx *ctx, const char *name, ub_model *model, ub_eval_method **out);
UB_API void ub_eval_method_destroy(ub_eval_method **m);
UB_API const char *ub_eval_method_name(const ub_eval_method *m);
UB_API int ub_eval_method_needs_kernel(const ub_eval_method *m);
/* Runs the method on an item: UB_ERR_UNSUPPORTED when it needs a kernel the item lacks. */
UB_API ub_status ub_eval_method_run(ub_ctx *ctx, ub_eval_method *m, const ub_eval_item *item, ub_image **out);
/* The method names known to ub_eval_method_create, for help texts: "identity, model:PATH, ...". */
UB_API const char *ub_eval_method_list(void);

/* "auto:PATH" as a function for callers outside an evaluation (the `unblur` program's default): the
   blind deconvolution (ub_deblur_blind, default parameters with check_uniform) where it acts, else the
   model (ub_model_run_tiled with `tile`: UB_MODEL_TILE_DEFAULT, _OFF or a side) — the blind step declines, returning its input,
   on sharp photos, on blur it cannot explain or that varies over the frame, and on images too small for
   a kernel (ub_blind_fits); model NULL: the input there (no harm). *used_blind (may be NULL) = 1 when
   the blind output was kept. Its progress goes to the context's callback, labelled "blind". */
UB_API ub_status ub_deblur_auto(ub_ctx *ctx, ub_model *model, const ub_image *in, int tile, ub_image **out,
                                int *used_blind);

/* ---- running ---- */

/* Progress: `done` of `total` (method, item) runs finished; the names say what runs next or just
   ran. Non-zero cancels (UB_ERR_CANCELLED). */
typedef int (*ub_eval_progress_fn)(void *user, size_t done, size_t total, const char *set, const char *method,
                                   const char *item);

typedef struct ub_eval_options {
    const char *save_dir;  /* NULL: nothing written; else SAVE/SET/METHOD/ITEM.png (names made file-safe) */
    ub_eval_progress_fn progress;
    void *progress_user;
    uint8_t reserved[32];  /* zero */
} ub_eval_options;

typedef struct ub_eval_results ub_eval_results;

/* Runs every method on every item of every set; items are loaded once per set and shared by the
   methods. `opts` may be NULL. */
UB_API ub_status ub_eval_run(ub_ctx *ctx, ub_eval_set *const *sets, size_t nsets, ub_eval_method *const *methods,
                             size_t nmethods, const ub_eval_options *opts, ub_eval_results **out);
UB_API void ub_eval_results_destroy(ub_eval_results **r);

/* One image scored by one method. */
typedef struct ub_eval_image {
    const char *set, *method, *item;
    int applicable;           /* 0: the method does not apply (no kernel); the scores are NaN */
    int64_t width, height;
    double psnr, ssim;        /* the output against the reference (+inf when identical) */
    double input_psnr, input_ssim;
    double seconds;           /* the method alone (no loading, no scoring) */
} ub_eval_image;

/* The means of one (set, method). */
typedef struct ub_eval_summary {
    const char *set, *method;
    int applicable;
    size_t count;             /* images */
    double psnr, ssim;        /* means (+inf if an image is identical to its reference) */
    double gain_psnr, gain_ssim; /* means of output - input over the images whose input PSNR is finite; NaN if none */
    size_t worse;             /* images whose PSNR is below the input's */
    double seconds_per_mp;    /* the method's seconds over the megapixels of the inputs */
    double seconds;           /* the method's total */
    double score_seconds;     /* scoring this method's outputs */
    double load_seconds;      /* the set's: reading, in-memory blurring and scoring the inputs (same on each row) */
    int shift, crop;          /* the scoring */
} ub_eval_summary;

UB_API size_t ub_eval_results_images(const ub_eval_results *r, const ub_eval_image **out);
/* Set-major, in the order given to ub_eval_run. */
UB_API size_t ub_eval_results_summaries(const ub_eval_results *r, const ub_eval_summary **out);

/* A Markdown table (rows: set x method), malloc'ed (free() it). */
UB_API ub_status ub_eval_format_markdown(ub_ctx *ctx, const ub_eval_results *r, char **out);
/* {"summary": [...], "images": [...]}; infinities and NaN as null. Atomic. */
UB_API ub_status ub_eval_write_json(ub_ctx *ctx, const ub_eval_results *r, const char *path);
/* One row per (set, method, image). Atomic. */
UB_API ub_status ub_eval_write_csv(ub_ctx *ctx, const ub_eval_results *r, const char *path);

/* The HTML report: one self-contained file (images as base64 data: URIs, no external resource).
   The summary table (the Markdown table's rows), then per set up to `images_per_set` items spread
   evenly over the set (the first, the last and evenly between), each a row of thumbnails
   blurry | each method | sharp (box-downscaled to at most 320 px wide, JPEG quality 85) with their
   PSNR, and under it the same 96x96 crop of each at 2.5x (PNG, nearest-neighbour), placed where the
   images differ most: the window of the largest summed per-pixel variance across the input and
   the methods' outputs, on a grid of 24 px steps. The inputs and references are loaded again from
   `sets` (the same sets, in the order given to ub_eval_run; items are deterministic); the outputs
   are read from `outputs_dir` as ub_eval_run's save_dir wrote them. */
typedef struct ub_eval_report_options {
    const char *outputs_dir;  /* the save_dir of the run; NULL: the methods' cells say "not saved" */
    size_t images_per_set;    /* 0: 6 */
    const char *curve_svg;    /* NULL or a training run's curve.svg, embedded as an image */
    const char *title;        /* NULL: "unblur eval" */
    uint8_t reserved[32];     /* zero */
} ub_eval_report_options;

/* Writes the report atomically. `opts` may be NULL. */
UB_API ub_status ub_eval_write_report(ub_ctx *ctx, const ub_eval_results *r, ub_eval_set *const *sets, size_t nsets,
                                      const ub_eval_report_options *opts, const char *path);

#ifdef __cplusplus
}
#endif
#endif
