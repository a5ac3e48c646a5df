/* core/internal.h — what the library's parts share and the public API hides:
   the context's layout, error reporting, overflow-checked sizes, aligned
   allocation and atomic file output. */
#ifndef UB_CORE_INTERNAL_H
#define UB_CORE_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#include "unblur/core.h"
#include "unblur/rng.h"

/* Room for a message naming a file of the longest path Linux allows (PATH_MAX 4096). */
#define UB_ERRMSG_MAX 8192

struct ub_ctx {
    int threads;
    int64_t max_pixels;
    ub_progress_fn progress;
    void *progress_user;
    char error[UB_ERRMSG_MAX];
    /* the convolution's FFT plan cache (synth/conv_fft.c), freed by ub_ctx_destroy; core knows nothing of FFTW */
    void *conv_cache;
    void (*conv_cache_free)(void *);
};

/* Records "fmt..." as the context's error message and returns `st`,
   so that failures read `return ub__fail(ctx, UB_ERR_IO, "%s: %s", path, why);`. */
ub_status ub__fail(ub_ctx *ctx, ub_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
ub_status ub__vfail(ub_ctx *ctx, ub_status st, const char *fmt, va_list ap);

/* Reports progress; returns UB_ERR_CANCELLED (with a message) when the callback asks to stop. */
ub_status ub__progress(ub_ctx *ctx, double fraction, const char *label);
/* Silences the progress callback for a nested step whose own fractions would restart the caller's bar
   (the blind estimate's inner deconvolutions); returns the callback for ub__progress_restore. */
ub_progress_fn ub__progress_mute(ub_ctx *ctx);
void ub__progress_restore(ub_ctx *ctx, ub_progress_fn fn);

/* Overflow-checked size arithmetic: false when the result does not fit. */
static inline bool ub__mul_size(size_t a, size_t b, size_t *out) {
    return !__builtin_mul_overflow(a, b, out);
}
static inline bool ub__mul3_size(size_t a, size_t b, size_t c, size_t *out) {
    size_t ab;
    return ub__mul_size(a, b, &ab) && ub__mul_size(ab, c, out);
}

/* 64-byte aligned allocation (free with ub__free); NULL on failure or overflow. */
void *ub__alloc(size_t n);
void *ub__calloc(size_t count, size_t size);
/* ub__calloc for large buffers swept again and again (FFT planes): from 4 MB, 2 MB-aligned and
   advised onto transparent huge pages, which cut TLB misses (a 12 MP deconvolution 83 -> 58 s).
   Not for buffers made and dropped every step: each huge page is zeroed whole when first touched
   (a training step was 3 % slower with every large buffer on them). Free with ub__free. */
void *ub__calloc_huge(size_t count, size_t size);
void ub__free(void *p);

/* Atomic output: write to a temporary file beside `path`, then rename. */
typedef struct ub__outfile {
    FILE *fp;
    char *final_path;
    char *tmp_path;
} ub__outfile;

ub_status ub__outfile_open(ub_ctx *ctx, ub__outfile *of, const char *path);
/* Flushes, closes and renames; on any failure removes the temporary file. */
ub_status ub__outfile_commit(ub_ctx *ctx, ub__outfile *of);
/* Closes and removes the temporary file; safe to call after a commit or twice. */
void ub__outfile_abort(ub__outfile *of);

/* Writes `size` bytes atomically to `path`. */
ub_status ub__write_file_atomic(ub_ctx *ctx, const char *path, const void *bytes, size_t size);

/* mkdir -p: `path` and every missing folder above it; an existing folder is fine, an existing file is not. */
ub_status ub__make_folders(ub_ctx *ctx, const char *path);

/* Per-pixel draws for the sensor noise (core/rng.c), direct calls inside the library (no PLT):
   ub__rng_poisson is ub_rng_poisson; ub__rng_normal_zig is N(0, 1) by the ziggurat, 5-10x cheaper
   than ub_rng_normal's polar method and other numbers from the same state. ub_rng_normal keeps the
   polar method so that trajectories, kernels and noisy evaluation sets keep their values. */
double ub__rng_poisson(ub_rng *r, double lambda);
/* out[i] ~ Poisson(lambda[i]) for i < n, independent, from one stream; the same distribution as
   ub__rng_poisson, 2x cheaper per draw, but other numbers: batches of 64 draw every first candidate
   before any later draw. out may not alias lambda. */
void ub__rng_poisson_n(ub_rng *r, const double *lambda, double *out, int64_t n);
double ub__rng_normal_zig(ub_rng *r);

/* FFTW's planner is process-global and not thread-safe, and fftwf_make_planner_thread_safe() does
   nothing in libfftw3f_omp (FFTW 3.3.10 threads/openmp.c): every fftwf_plan_* and
   fftwf_destroy_plan call in unblur (synth, nn, deconv) must sit between these two (core/fftw_lock.c). */
void ub__fftw_lock(void);
void ub__fftw_unlock(void);

#endif
