/* train/dataset.h — the training set: sharp images held in memory, and the
   sampler that turns (run seed, step, index in batch) into a (blurred, sharp)
   patch pair. Internal to the library (ub__ prefix); the trainer is its user.

   API
     ub__dataset_open(ctx, folders, nfolders, id_list, min_side, &ds)
     ub__dataset_count(ds), ub__dataset_name(ds, i), ub__dataset_image_size(ds, i, &w, &h),
     ub__dataset_bytes(ds), ub__dataset_skipped_count(ds), ub__dataset_skipped_name(ds, i)
     ub__dataset_sample(ds, synth, ctx, run_seed, step, index, patch, blurred, sharp, &info)
     ub__sampler_create(ctx, synth_json, name, workers, &s), ub__sampler_destroy(&s)
     ub__dataset_batch(s, ds, run_seed, step, first, batch, patch, blurred, sharp)
     ub__dataset_close(&ds)

   FILES
   Each folder is walked recursively (so bsds500/ or bsds500/images/ finds
   the JPEGs of images/train, images/val and images/test); entries whose
   names start with '.' are skipped, symbolic links are followed (nesting
   deeper than 32 folders is an error, which also stops link loops). A file is an image when its extension
   is .png, .jpg or .jpeg (any case); other files are ignored. Paths are sorted
   (bytewise) within each folder, and folders keep the order given, so the
   image order — and hence every sample — does not depend on the file system.
   The id list (NULL = keep every image) is a text file of file stems (the name
   without its last extension), one per line; blank lines and everything after
   '#' are ignored, surrounding blanks are trimmed. An id that matches no image
   is an error naming the id; an id that matches two images (a.png and a.jpg)
   is an error naming both; images whose stem is not listed are left out.

   STORAGE
   Each image is decoded once (in parallel, ub_ctx_threads(ctx) decoders) and
   kept planar at its own precision: 8-bit files as uint8, 16-bit as uint16
   (1/4 and 1/2 of float32). Grey images keep their one plane and are promoted
   to RGB when sampled (R = G = B); alpha is dropped (the colour under it is
   used as is). Images smaller than `min_side` on either side are SKIPPED, not
   an error: their names are kept (ub__dataset_skipped_*) so that the caller can
   warn; a dataset with no image left is an error. A file that cannot be read
   or decoded is an error naming the file. Progress is reported per group of
   decoded images ("loading images").

   SAMPLES
   Sample `index` of step `step` of a run draws, from a generator seeded with
   ub_rng_derive(run_seed, step, index), in this order: an image (uniform over
   the images), an augmentation (uniform over the 8: a horizontal flip or not,
   then 0, 1, 2 or 3 quarter turns counter-clockwise), and a crop position
   (uniform over the positions where the patch lies inside the augmented
   image). The whole augmented image, as float sRGB values k/255 or k/65535
   (what ub_image_read gives), goes to ub_synth_crop with
   seed = ub_rng_derive(run_seed, step, index) and synth index 1 (a stream
   distinct from the geometric draws). ub_synth_crop blurs a margin around the
   patch that covers this sample's blur reach (reflecting only where that
   leaves the image) and keeps the valid centre, and treats the whole image as
   the photograph (its size sets the depth plane and the lens's pixel pitch);
   so there is no separate context parameter, and each sample costs time in
   proportion to its image's size as well as to the blur. The outputs are
   planar RGB float32, 3 x patch x patch: the blurred camera output and the
   sharp target (same exposure and response, no blur/noise/JPEG).
   A patch larger than the drawn image's shorter side is an error naming it.

   DETERMINISM AND THREADS
   A sample depends only on (dataset, synth config, run_seed, step, index,
   patch): the same bytes whatever the thread or worker that makes it and
   whatever was made before, so a resumed run sees the same data.
   The dataset is read-only after opening: ub__dataset_sample may be called
   concurrently on one dataset, each thread with its own ub_ctx and its own
   ub_synth (made with that context; a ub_synth records errors in its context
   and is not thread-safe). ub__sampler owns such a set, one per worker, and
   ub__dataset_batch spreads a batch over them (OpenMP); on failure it reports
   the error of the lowest failing sample, so even errors do not depend on
   the worker count. */
#ifndef UB_TRAIN_DATASET_H
#define UB_TRAIN_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "unblur/synth.h"

typedef struct ub__dataset ub__dataset;

/* Lists, filters and decodes the images of `nfolders` folders (see FILES and STORAGE above).
   id_list: NULL or a path; min_side >= 1. On failure *out is NULL. */
ub_status ub__dataset_open(ub_ctx *ctx, const char *const *folders, int nfolders, const char *id_list,
                           int min_side, ub__dataset **out);
/* Frees the dataset and sets *ds to NULL; NULL is accepted. */
void ub__dataset_close(ub__dataset **ds);

/* Number of images kept, and image i's path (0 <= i < count) and size. */
int ub__dataset_count(const ub__dataset *ds);
const char *ub__dataset_name(const ub__dataset *ds, int i);
void ub__dataset_image_size(const ub__dataset *ds, int i, int64_t *width, int64_t *height);
/* Bytes of pixel data held (the images; paths and bookkeeping not counted). */
size_t ub__dataset_bytes(const ub__dataset *ds);
/* Images skipped for being smaller than min_side: count, and their paths in listing order. */
int ub__dataset_skipped_count(const ub__dataset *ds);
const char *ub__dataset_skipped_name(const ub__dataset *ds, int i);

/* What a sample drew. */
typedef struct ub__sample_info {
    int image;            /* index into the dataset */
    int flip;             /* 1: mirrored left-right (before the turns) */
    int quarter_turns;    /* 0..3 counter-clockwise turns of 90 degrees */
    int64_t x0, y0;       /* the patch's top-left in the augmented image */
    uint64_t synth_seed;  /* ub_synth_crop's seed and index */
    uint64_t synth_index;
} ub__sample_info;

/* Makes sample (run_seed, step, index) as described in SAMPLES above. `synth` must have been made
   with `ctx`; both belong to the calling thread. blurred and sharp each receive 3 * patch * patch
   floats (planar RGB). info may be NULL. */
ub_status ub__dataset_sample(const ub__dataset *ds, ub_synth *synth, ub_ctx *ctx, uint64_t run_seed,
                             uint64_t step, int index, int patch, float *blurred, float *sharp,
                             ub__sample_info *info);

/* Workers for ub__dataset_batch: each a context (1 thread, ctx's pixel limit) and a ub_synth made
   from `synth_json` (a config, e.g. {"preset": "realistic"}; `name` labels its errors), made once
   and reused. workers = 0: ub_ctx_threads(ctx). Errors of batches are reported in `ctx`, which the
   sampler keeps (like a ub_synth): use the sampler from the thread that owns ctx. */
typedef struct ub__sampler ub__sampler;
ub_status ub__sampler_create(ub_ctx *ctx, const char *synth_json, const char *name, int workers,
                             ub__sampler **out);
void ub__sampler_destroy(ub__sampler **s);
int ub__sampler_workers(const ub__sampler *s);

/* Fills samples first .. first+batch-1 of `step`: blurred and sharp are NCHW, batch x 3 x patch x patch
   floats. Identical bytes for any worker count; a data-parallel run's ranks each make their own range
   of the same global batch (train/dist.h). */
ub_status ub__dataset_batch(ub__sampler *s, const ub__dataset *ds, uint64_t run_seed, uint64_t step, int first,
                            int batch, int patch, float *blurred, float *sharp);

#endif
