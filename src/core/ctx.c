/* core/ctx.c — the context: settings, limits, threads. */
#define _DEFAULT_SOURCE /* madvise */
#include <stdlib.h>
#include <sys/mman.h>
enum { HUGE_MIN = 4 << 20, HUGE_PAGE = 2 << 20 };
#include <string.h>
#include <unistd.h>

#include "core/internal.h"

void ub_default_settings(ub_settings *s) {
    memset(s, 0, sizeof *s);
    s->threads = 0;
    s->max_pixels = UB_DEFAULT_MAX_PIXELS;
}

static int online_cores(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

ub_status ub_ctx_create(ub_ctx **out, const ub_settings *s) {
    if (!out) return UB_ERR_INVALID;
    *out = NULL;
    ub_settings defaults;
    if (!s) {
        ub_default_settings(&defaults);
        s = &defaults;
    }
    if (s->threads < 0 || s->max_pixels <= 0) return UB_ERR_INVALID;
    ub_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) return UB_ERR_NOMEM;
    ctx->threads = s->threads ? s->threads : online_cores();
    ctx->max_pixels = s->max_pixels;
    ctx->progress = s->progress;
    ctx->progress_user = s->progress_user;
    *out = ctx;
    return UB_OK;
}

void ub_ctx_destroy(ub_ctx **ctx) {
    if (!ctx || !*ctx) return;
    if ((*ctx)->conv_cache_free) (*ctx)->conv_cache_free((*ctx)->conv_cache);
    free(*ctx);
    *ctx = NULL;
}

int ub_ctx_threads(const ub_ctx *ctx) { return ctx->threads; }
int64_t ub_ctx_max_pixels(const ub_ctx *ctx) { return ctx->max_pixels; }

const char *ub_version(void) { return UB_VERSION; }

ub_status ub__progress(ub_ctx *ctx, double fraction, const char *label) {
    if (!ctx->progress) return UB_OK;
    if (ctx->progress(ctx->progress_user, fraction, label))
        return ub__fail(ctx, UB_ERR_CANCELLED, "%s: cancelled", label);
    return UB_OK;
}

ub_progress_fn ub__progress_mute(ub_ctx *ctx) {
    ub_progress_fn fn = ctx->progress;
    ctx->progress = NULL;
    return fn;
}

void ub__progress_restore(ub_ctx *ctx, ub_progress_fn fn) { ctx->progress = fn; }

void *ub__alloc(size_t n) {
    if (n == 0) n = 1;
    size_t rounded = (n + 63) & ~(size_t)63;
    if (rounded < n) return NULL;
    return aligned_alloc(64, rounded);
}

void *ub__calloc_huge(size_t count, size_t size) {
    size_t n;
    if (!ub__mul_size(count, size, &n)) return NULL;
    if (n < HUGE_MIN) return ub__calloc(count, size);
    size_t rounded = (n + HUGE_PAGE - 1) & ~(size_t)(HUGE_PAGE - 1);
    if (rounded < n) return NULL;
    void *p = aligned_alloc(HUGE_PAGE, rounded);
    if (!p) return NULL;
    madvise(p, rounded, MADV_HUGEPAGE); /* advice only: where refused, small pages as before */
    memset(p, 0, n);
    return p;
}

void *ub__calloc(size_t count, size_t size) {
    size_t n;
    if (!ub__mul_size(count, size, &n)) return NULL;
    void *p = ub__alloc(n);
    if (p) memset(p, 0, n);
    return p;
}

void ub__free(void *p) { free(p); }
