/* unblur/core.h — context, status codes, settings, progress.

   Every library call takes a ub_ctx. The context holds the thread count, the
   limits applied to untrusted input, the progress callback, and the message
   of the last error. The library never prints, never exits and never aborts
   on bad input: a function returns a ub_status (UB_OK = 0, errors < 0) and
   leaves a one-line message in the context, of the form
       "<file>: <problem>"        when a file is involved,
       "<problem>"                otherwise.

   A context is not thread-safe: use one per thread that calls the library.
   (Calls use several threads internally, up to the configured count.)

   Typical use:
       ub_settings s;
       ub_default_settings(&s);
       s.threads = 4;
       ub_ctx *ctx;
       if (ub_ctx_create(&ctx, &s) != UB_OK) ...;
       ...
       if (ub_image_read(ctx, "a.png", &img) != UB_OK)
           fprintf(stderr, "unblur: %s\n", ub_last_error(ctx));
       ub_ctx_destroy(&ctx);
*/
#ifndef UNBLUR_CORE_H
#define UNBLUR_CORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define UB_API __attribute__((visibility("default")))
#else
#define UB_API
#endif

typedef enum ub_status {
    UB_OK = 0,
    UB_ERR_INVALID = -1,     /* a bad argument or option value */
    UB_ERR_NOMEM = -2,       /* an allocation failed */
    UB_ERR_IO = -3,          /* open/read/write/rename failed */
    UB_ERR_FORMAT = -4,      /* the data is corrupt, truncated or not what it claims */
    UB_ERR_LIMIT = -5,       /* the input exceeds a configured limit (pixels) */
    UB_ERR_UNSUPPORTED = -6, /* valid, but a variant unblur does not handle */
    UB_ERR_CANCELLED = -7,   /* the progress callback asked to stop */
    UB_ERR_MISMATCH = -8     /* two inputs that must agree (sizes, channels) do not */
} ub_status;

/* Progress: called from the calling thread with a fraction in [0,1] and a
   short label. Return non-zero to cancel the operation (UB_ERR_CANCELLED). */
typedef int (*ub_progress_fn)(void *user, double fraction, const char *label);

/* Default pixel limit: 128 megapixels, enough for a 100-megapixel photo. */
#define UB_DEFAULT_MAX_PIXELS ((int64_t)128 * 1000 * 1000)

typedef struct ub_settings {
    int threads;            /* worker threads; 0 = all online cores */
    int64_t max_pixels;     /* images with more pixels (w*h) are refused before allocation */
    ub_progress_fn progress;/* optional */
    void *progress_user;
    uint8_t reserved[32];   /* zero; room to grow without breaking the ABI */
} ub_settings;

typedef struct ub_ctx ub_ctx;

UB_API void ub_default_settings(ub_settings *s);
/* Creates a context. On failure *out is NULL and the status says why. */
UB_API ub_status ub_ctx_create(ub_ctx **out, const ub_settings *s);
/* Destroys the context and sets *ctx to NULL. NULL is accepted. */
UB_API void ub_ctx_destroy(ub_ctx **ctx);

/* The message of the last failed call ("" if none). Valid until the next call. */
UB_API const char *ub_last_error(const ub_ctx *ctx);
UB_API void ub_clear_error(ub_ctx *ctx);
/* A short name for a status ("invalid argument", "corrupt data", ...). */
UB_API const char *ub_status_string(ub_status st);

UB_API int ub_ctx_threads(const ub_ctx *ctx);
UB_API int64_t ub_ctx_max_pixels(const ub_ctx *ctx);

/* Writes `size` bytes to `path` atomically: a temporary file in the same folder,
   renamed over `path` only when complete. */
UB_API ub_status ub_write_file_atomic(ub_ctx *ctx, const char *path, const void *bytes, size_t size);

/* "MAJOR.MINOR.PATCH" */
UB_API const char *ub_version(void);

/* CPU features detected at run time (bit set), for dispatch and reporting. */
enum { UB_CPU_AVX2 = 1, UB_CPU_FMA = 2, UB_CPU_AVX512F = 4, UB_CPU_AVX512BF16 = 8, UB_CPU_AMX = 16 };
UB_API unsigned ub_cpu_features(void);
/* e.g. "avx2 fma avx512f" */
UB_API const char *ub_cpu_features_string(unsigned features);

#ifdef __cplusplus
}
#endif
#endif
