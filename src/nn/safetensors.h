/* nn/safetensors.h — the weight format: read and write safetensors files.

   The format (https://github.com/huggingface/safetensors):
       8 bytes    N, a little-endian u64: the length of the header
       N bytes    the header: UTF-8 JSON, an object mapping each tensor name to
                  {"dtype": "F32", "shape": [8, 3, 3, 3], "data_offsets": [begin, end]}
                  plus an optional "__metadata__" object of string -> string
       the rest   the data buffer: raw little-endian, row-major tensor data;
                  data_offsets are relative to its first byte
   The tensors must tile the buffer exactly: sorted by offset, each begins where
   the previous one ends, the first at 0 and the last at the buffer's end.

   Reading: ub__st_open validates the WHOLE header against the file size before
   any tensor data is read: the header length (at most 100 MB, within the file),
   the JSON (valid UTF-8, no duplicate names, an object), every entry (an object
   with exactly dtype/shape/data_offsets; a known dtype; a shape of at most 8
   non-negative integers whose byte size matches the offsets, without overflow),
   the tiling, and the metadata (strings only). A failure is a one-line message
   "FILE: problem", naming the tensor where there is one, e.g.
       "m.safetensors: tensor head.weight: data_offsets [0, 96] do not match F32 [8, 3, 3, 3] (864 bytes)"
   Statuses: UB_ERR_IO (open/read), UB_ERR_FORMAT (a corrupt or inconsistent
   file, a missing tensor), UB_ERR_UNSUPPORTED (an unknown dtype; reading a
   non-float tensor as float), UB_ERR_MISMATCH (a tensor of another shape than
   the caller expects), UB_ERR_NOMEM.
   Tensors are listed in the order of their data in the file (zero-sized ones
   at the same offset by name), whatever the order of the JSON.

   Writing: a writer collects tensors (converted from float at once to F32, F16
   or BF16, rounding to nearest even) and metadata, then saves them atomically
   (ub_write_file_atomic): tensors in the order added, data packed without gaps,
   the compact JSON header padded with spaces to a multiple of 8 bytes and
   "__metadata__" last — byte for byte what ../shared/peers/rbnet.py's
   save_safetensors writes for the same F32/F16 tensors and string metadata
   (with ASCII names: both escape other characters, in different ways).

   Typical use:
       ub__safetensors *st;
       if (ub__st_open(ctx, "m.safetensors", &st)) return ...;
       const char *width = ub__st_meta(st, "width");            // NULL if absent
       int64_t shape[4] = {8, 3, 3, 3};
       ub_status s = ub__st_read_f32(ctx, st, "head.weight", 4, shape, w);
       ub__st_close(&st);

       ub__st_writer *w = ub__st_writer_create(ctx);
       ub__st_writer_add(ctx, w, "head.weight", "F32", 4, shape, data);
       ub__st_writer_meta(ctx, w, "arch", "rbnet");
       ub__st_writer_save(ctx, w, "out.safetensors");
       ub__st_writer_destroy(&w);

   Neither object is shared between threads while in use; distinct objects are
   independent. No global state. */
#ifndef UB_NN_SAFETENSORS_H
#define UB_NN_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "unblur/core.h"

#define UB__ST_MAX_RANK 8
/* The reference implementation's limit on the header length, in bytes. */
#define UB__ST_MAX_HEADER ((uint64_t)100 * 1000 * 1000)

typedef struct ub__safetensors ub__safetensors;
typedef struct ub__st_writer ub__st_writer;

/* ---- reading ---- */

/* Opens and validates `path`, then reads its data. On failure *out is NULL. */
ub_status ub__st_open(ub_ctx *ctx, const char *path, ub__safetensors **out);
/* The same for `size` bytes in memory (copied); `name` stands for the file in messages. */
ub_status ub__st_open_memory(ub_ctx *ctx, const void *bytes, size_t size, const char *name,
                             ub__safetensors **out);
/* Frees everything and sets *st to NULL. NULL is accepted. */
void ub__st_close(ub__safetensors **st);

/* The number of tensors (not counting __metadata__). */
int ub__st_count(const ub__safetensors *st);
/* Tensor i's name (0 <= i < count; NULL otherwise); valid until ub__st_close. */
const char *ub__st_name(const ub__safetensors *st, int i);
/* The index of the tensor called `name`, or -1. */
int ub__st_find(const ub__safetensors *st, const char *name);
/* Tensor i's rank (0..8), its dimensions written to dims; -1 for a bad index. */
int ub__st_shape(const ub__safetensors *st, int i, int64_t dims[UB__ST_MAX_RANK]);
/* Tensor i's dtype as in the file ("F32", "BF16", "I64", ...); NULL for a bad index. */
const char *ub__st_dtype(const ub__safetensors *st, int i);
/* Tensor i's raw little-endian bytes and their count; NULL for a bad index
   (and for an empty tensor, with *size 0). */
const void *ub__st_data(const ub__safetensors *st, int i, size_t *size);
/* The metadata value of `key`, or NULL if absent. */
const char *ub__st_meta(const ub__safetensors *st, const char *key);
/* The number of metadata entries, and entry i's key (in the file's order; NULL for a bad index). */
int ub__st_meta_count(const ub__safetensors *st);
const char *ub__st_meta_key(const ub__safetensors *st, int i);
/* The name the file was opened under (for messages). */
const char *ub__st_path(const ub__safetensors *st);

/* Reads the float tensor `name` (F32, F16, BF16 or F64) into out[] as float,
   after checking that its shape is exactly shape[0..rank-1] (rank 0..8). F64
   is rounded to nearest; the others are exact. Errors: "FILE: missing tensor
   NAME", "FILE: tensor NAME has shape [..], expected [..]", "FILE: tensor NAME
   has dtype I64, expected a float type". */
ub_status ub__st_read_f32(ub_ctx *ctx, const ub__safetensors *st, const char *name, int rank, const int64_t *shape,
                          float *out);

/* ---- writing ---- */

/* A new, empty writer; NULL (with a message) when out of memory. */
ub__st_writer *ub__st_writer_create(ub_ctx *ctx);
/* Adds tensor `name` (valid UTF-8, not "__metadata__", not already added) of
   `dtype` "F32", "F16" or "BF16" and shape shape[0..rank-1] (rank 0..8, every
   dimension >= 0), converting prod(shape) floats from `data` now (NaN stays
   NaN with its sign, infinities and overflow give infinities, F16 subnormals
   are rounded, not flushed). `data` may be NULL only when the tensor is empty. */
ub_status ub__st_writer_add(ub_ctx *ctx, ub__st_writer *w, const char *name, const char *dtype, int rank,
                            const int64_t *shape, const float *data);
/* Sets metadata `key` to `value` (replacing an earlier value of the same key). */
ub_status ub__st_writer_meta(ub_ctx *ctx, ub__st_writer *w, const char *key, const char *value);
/* The whole file in memory: *bytes (free with free()) and *size. */
ub_status ub__st_writer_encode(ub_ctx *ctx, const ub__st_writer *w, void **bytes, size_t *size);
/* Writes the file atomically (a temporary file renamed over `path`). */
ub_status ub__st_writer_save(ub_ctx *ctx, const ub__st_writer *w, const char *path);
/* Frees the writer and sets *w to NULL. NULL is accepted. */
void ub__st_writer_destroy(ub__st_writer **w);

/* ---- scalar conversions (IEEE 754 binary16 and bfloat16 bit patterns) ----
   To half/bfloat16: round to nearest, ties to even; overflow gives infinity;
   a NaN keeps its sign and the top bits of its payload (never becoming an
   infinity), like numpy's float32 -> float16. From them: exact. */
uint16_t ub__f16_from_float(float f);
float ub__float_from_f16(uint16_t h);
uint16_t ub__bf16_from_float(float f);
float ub__float_from_bf16(uint16_t b);

#endif
