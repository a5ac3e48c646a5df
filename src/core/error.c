/* core/error.c — the context's last-error message and status names. */
#include <stdio.h>
#include <string.h>

#include "core/internal.h"

ub_status ub__vfail(ub_ctx *ctx, ub_status st, const char *fmt, va_list ap) {
    if (!ctx) return st;
    vsnprintf(ctx->error, sizeof ctx->error, fmt, ap);
    /* The message is one line: a newline from a library string would break it. */
    for (char *p = ctx->error; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    return st;
}

ub_status ub__fail(ub_ctx *ctx, ub_status st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    ub__vfail(ctx, st, fmt, ap);
    va_end(ap);
    return st;
}

const char *ub_last_error(const ub_ctx *ctx) { return ctx ? ctx->error : "no context"; }

void ub_clear_error(ub_ctx *ctx) {
    if (ctx) ctx->error[0] = '\0';
}

const char *ub_status_string(ub_status st) {
    switch (st) {
    case UB_OK: return "ok";
    case UB_ERR_INVALID: return "invalid argument";
    case UB_ERR_NOMEM: return "out of memory";
    case UB_ERR_IO: return "input/output error";
    case UB_ERR_FORMAT: return "corrupt or unrecognised data";
    case UB_ERR_LIMIT: return "over a configured limit";
    case UB_ERR_UNSUPPORTED: return "unsupported";
    case UB_ERR_CANCELLED: return "cancelled";
    case UB_ERR_MISMATCH: return "inputs do not match";
    }
    return "unknown status";
}
