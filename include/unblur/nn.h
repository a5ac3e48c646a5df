/* unblur/nn.h — RBNet, unblur's deblurring network: weights, inference.

   RBNet is a multi-scale U-Net of residual blocks (or NAF blocks: block naf)
   with SE channel attention followed by CBAM spatial attention on every skip
   connection (or one of them, or none: skip_attention), and a global
   residual; ../shared/peers/rbnet.py is its executable specification. A
   model's weights are read from and written to safetensors files with
   exactly PyTorch's state_dict names and shapes, so files move both ways
   between unblur and PyTorch.

       ub_model *m;
       if (ub_model_load(ctx, "rbnet.safetensors", &m) != UB_OK) ...;
       ub_image *sharp;
       ub_model_run(m, blurry, &sharp);       // RGB or grey, alpha carried
       ub_model_destroy(&m);

   Images go in and come out display-referred (sRGB-encoded, [0,1]), as the
   network was trained; the output is clipped to [0,1]. */
#ifndef UNBLUR_NN_H
#define UNBLUR_NN_H

#include "image.h"
#include "rng.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ub_rbnet_config {
    int width;        /* W: channels at the first level (32) */
    int blocks;       /* N: residual blocks per encoder/decoder stage (2) */
    int mid_blocks;   /* M: residual blocks in the bottleneck (= blocks) */
    int depth;        /* D: down-samplings (2) */
    int se_reduction; /* SE hidden units = max(1, C / se_reduction) (8) */
    int sa_kernel;    /* spatial attention kernel (7) */
    int block;        /* UB_RBNET_BLOCK_RES (ResBlock, the default) or UB_RBNET_BLOCK_NAF (NAFBlock) */
    int skip_attention; /* UB_RBNET_SKIP_BOTH (SE then spatial, the default), _SE, _SA or _NONE */
} ub_rbnet_config;

enum { UB_RBNET_BLOCK_RES = 0, UB_RBNET_BLOCK_NAF = 1 };
enum { UB_RBNET_SKIP_BOTH = 0, UB_RBNET_SKIP_SE = 1, UB_RBNET_SKIP_SA = 2, UB_RBNET_SKIP_NONE = 3 };
/* "res" / "naf" and "both" / "se" / "sa" / "none" -> the values above; -1 for another name. */
UB_API int ub_rbnet_block_parse(const char *name);
UB_API int ub_rbnet_skip_parse(const char *name);

UB_API void ub_rbnet_default(ub_rbnet_config *c);

typedef struct ub_model ub_model;

/* Random weights with PyTorch's default initialisation (uniform in +-1/sqrt(fan_in)). */
UB_API ub_status ub_model_create(ub_ctx *ctx, const ub_rbnet_config *c, ub_rng *rng, ub_model **out);
/* Reads a safetensors file: architecture from its metadata (a file without depth /
   mid_blocks means depth 2, mid_blocks = blocks), every tensor checked by name and shape. */
UB_API ub_status ub_model_load(ub_ctx *ctx, const char *path, ub_model **out);
/* Writes the weights (dtype "F32", "F16" or "BF16") with the architecture as metadata, atomically. */
UB_API ub_status ub_model_save(ub_ctx *ctx, const ub_model *m, const char *path, const char *dtype);
UB_API void ub_model_destroy(ub_model **m);
/* The path of a bundled model by name ("default", "fast"): NAME.safetensors in $UNBLUR_MODELS when set
   (and only there), else in share/unblur/models beside the installed program or library, else in the
   models/ folder beside the build folder (running from the build tree). UB_ERR_IO names the folders
   searched when there is none; UB_ERR_INVALID for a name that is not letters, digits, '-', '_', '.'. */
UB_API ub_status ub_model_find(ub_ctx *ctx, const char *name, char *path, size_t size);
/* ub_model_load of a file ("a/b.safetensors", or any spec with a '/', a .safetensors suffix, or naming a
   file in the working folder) or of a bundled model by name (ub_model_find); NULL or "" = "default". */
UB_API ub_status ub_model_open(ub_ctx *ctx, const char *spec, ub_model **out);
/* The RBNet configuration (defaults for a model of another architecture). */
UB_API void ub_model_config(const ub_model *m, ub_rbnet_config *out);
/* The architecture's name (the metadata's "arch": "rbnet"), and its configuration in words
   ("width 32, blocks 2, ..., block naf"), cut to size. */
UB_API const char *ub_model_arch(const ub_model *m);
UB_API void ub_model_describe(const ub_model *m, char *buf, size_t size);
/* Number of parameters. */
UB_API size_t ub_model_parameters(const ub_model *m);
/* The receptive radius R in pixels: an output pixel depends on input pixels at most R away (the
   convolutions' reach; SE and SCA means are global on top of it). -1 on failure (message in the context).
   A blur longer than about R cannot be seen whole by the network. */
UB_API int ub_model_receptive_radius(const ub_model *m);

/* Compares two safetensors files (model files, training checkpoints) tensor by tensor: the same names
   and shapes (else an error naming the first difference), and *max_abs = the largest |a - b| over every
   float tensor (a NaN on one side counts as infinite), *tensor = the name of the tensor where it is (cut
   to tensor_size; may be NULL), *count = the number of tensors. */
UB_API ub_status ub_safetensors_diff(ub_ctx *ctx, const char *path_a, const char *path_b, double *max_abs,
                                     char *tensor, size_t tensor_size, int *count);

/* Deblurs one image (sides not multiples of 2^depth are reflect-padded and cropped back, as in
   rbnet.py; a side must be longer than the padding it needs): RGB as is; grey (and grey+alpha) is run as RGB (the grey value in
   all three channels) and written back as the mean of the three outputs; alpha is copied;
   bit_depth is kept; the output is clipped to [0,1]. Same as ub_model_run_tiled(m, in,
   UB_MODEL_TILE_DEFAULT, out): in bounded memory, whatever the image's size. */
UB_API ub_status ub_model_run(ub_model *m, const ub_image *in, ub_image **out);

#define UB_MODEL_TILE_DEFAULT 0 /* the default: whole up to 1280 x 1280, else tiles of 768 x 768 (measured) */
#define UB_MODEL_TILE_OFF (-1)  /* the whole image at once (memory grows with the image) */

/* ub_model_run in tiles of at most `tile` x `tile` pixels (1..65536, rounded up to a multiple of
   2^depth; or one of the two values above). The output EQUALS the whole image's (the same arithmetic on
   the same values: measured bit-identical; no seam): each tile is computed inside a margin of the
   network's receptive field (48 pixels for the default RBNet) of which only the tile is kept, and the SE
   attention's channel means, which are global, are first gathered over the whole image by a pass
   through the encoder. Cost at the default tile: ~1.3x the whole image at once. Memory: the input and
   output images plus one tile-sized net and buffers (~230 MB at width 32), whatever the image's size. An
   image within one tile and its margins is run whole. Progress goes per tile to the context's callback
   ("deblur"); a cancel returns UB_ERR_CANCELLED. */
UB_API ub_status ub_model_run_tiled(ub_model *m, const ub_image *in, int tile, ub_image **out);

/* Flip self-ensemble for the following runs: views = 1 (off, the default), 2 (the image and its
   left-right mirror) or 4 (also top-bottom and both); each view's output is mirrored back and the outputs
   averaged. Costs one run per view. UB_ERR_INVALID for another count. ub_model_ensemble: the count set. */
UB_API ub_status ub_model_set_ensemble(ub_model *m, int views);
UB_API int ub_model_ensemble(const ub_model *m);

/* The arithmetic of the network's convolutions in ub_model_run / ub_model_run_tiled.
   FP32 (the default) is PyTorch's float32, as rbnet.py specifies. BF16 runs every convolution on bf16
   inputs and weights (8-bit mantissa) with float accumulation, where the CPU does bf16 natively
   (AVX512-BF16 or AMX, detected at run time); SE, spatial attention, the adds and the global residual stay
   float. Measured (bench/RBNET_RESULTS.md, "bf16 inference"; AVX512-BF16, W=32): 1.6-1.7x the speed of
   FP32 on 1 or 2 threads, the same memory; PSNR of the bf16 output against the fp32 output on a real
   photograph 70-71 dB (random and trained weights). On a CPU without native bf16, BF16 runs FP32: never
   an emulated bf16, which is slower than float. AUTO does the same as BF16; it differs in intent only
   (a caller that asked for BF16 tells its user when it fell back, one that asked for AUTO need not).
   Tiled and whole-image runs agree in bf16 as in float (measured: identical). */
typedef enum ub_precision {
    UB_PRECISION_FP32 = 0,
    UB_PRECISION_BF16 = 1,
    UB_PRECISION_AUTO = 2
} ub_precision;

/* Asks for a precision for the following runs (UB_ERR_INVALID for another value). */
UB_API ub_status ub_model_set_precision(ub_model *m, ub_precision p);
/* What ran: UB_PRECISION_FP32 or UB_PRECISION_BF16, for the last run; before any run (or after
   ub_model_set_precision), what the next run will use as far as the CPU's features tell (a oneDNN whose
   ISA is capped below them still makes that run fall back to FP32: ask again after it). */
UB_API ub_precision ub_model_precision_used(const ub_model *m);

#ifdef __cplusplus
}
#endif
#endif
