/* fuzz/fuzz_common.h — what the two libFuzzer targets share: one context made
   once (1 thread, a 4-megapixel limit so that each execution stays fast and
   small), and a trap that turns a broken invariant into a crash libFuzzer saves. */
#ifndef UB_FUZZ_COMMON_H
#define UB_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "unblur.h"

/* 4 megapixels: large enough for every real seed, small enough that a hostile
   header cannot make one execution take seconds or hundreds of MiB. */
#define FUZZ_MAX_PIXELS ((int64_t)4000000)
/* Round trips (encode + decode again) only on images up to this many pixels. */
#define FUZZ_ROUNDTRIP_PIXELS ((int64_t)65536)

static ub_ctx *fuzz_ctx(void) {
    static ub_ctx *ctx;
    if (!ctx) {
        ub_settings s;
        ub_default_settings(&s);
        s.threads = 1; /* libFuzzer runs one process per core; keep it to one */
        s.max_pixels = FUZZ_MAX_PIXELS;
        if (ub_ctx_create(&ctx, &s) != UB_OK) abort();
    }
    return ctx;
}

/* A broken invariant: say which, then abort so that libFuzzer records the input. */
#define FUZZ_CHECK(cond)                                                                        \
    do {                                                                                        \
        if (!(cond)) {                                                                          \
            fprintf(stderr, "%s:%d: invariant broken: %s (last error: %s)\n", __FILE__, __LINE__, \
                    #cond, ub_last_error(fuzz_ctx()));                                          \
            abort();                                                                            \
        }                                                                                       \
    } while (0)

/* A decoded image must be well formed: what ub_image_decode promises its callers. */
static void fuzz_check_image(const ub_image *img) {
    FUZZ_CHECK(img != NULL && img->data != NULL);
    FUZZ_CHECK(img->width > 0 && img->height > 0);
    FUZZ_CHECK(img->width * img->height <= FUZZ_MAX_PIXELS);
    FUZZ_CHECK(img->channels >= 1 && img->channels <= 4);
    FUZZ_CHECK(img->bit_depth == 8 || img->bit_depth == 16);
    /* Every sample of a decoded 8/16-bit file lies in [0,1]. Reading them all
       also makes ASan check that the whole buffer is in bounds. */
    const size_t n = (size_t)img->width * (size_t)img->height * (size_t)img->channels;
    for (size_t i = 0; i < n; i++) FUZZ_CHECK(img->data[i] >= 0.0f && img->data[i] <= 1.0f);
}

#endif
