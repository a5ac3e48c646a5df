/* fuzz/fuzz_config.c — libFuzzer target: the two JSON configuration readers on
   arbitrary bytes (taken as a C string, cut at the first NUL):

   1. the synthesis config (ub_synth_create_json, src/synth/config.c). On failure:
      *out is NULL and the message is one non-empty line naming "<fuzz>". On
      success, one sample of a 24x24 RGB image with a seed drawn from the input
      (ub_synth_run): blurred and sharp have the image's size and channels, every
      value finite, the blurred one in [0, 1] (it went through the camera's
      clipping and response), the sidecar JSON non-empty; then ub_synth_kernel
      either refuses (no camera blur) or gives a kernel summing to 1 (1e-4).
   2. the training config (ub__train_config_from_json over the defaults,
      src/train/train.c). On failure: a one-line message. On success: when
      ub__train_config_check accepts it, writing it (ub__train_config_to_json)
      and reading that back gives a config that writes the same text.

   Each execution stays small: the image is 24x24, and the config's own bounds
   (kernel sizes, sample counts) cap the rest; -timeout in run.sh catches a
   bound that does not. */
#include <math.h>
#include <string.h>

#include "fuzz_common.h"
#include "train/train.h"

static const char FUZZ_NAME[] = "<fuzz>";
enum { SIDE = 24 };

static void check_message(void) {
    const char *msg = ub_last_error(fuzz_ctx());
    FUZZ_CHECK(msg && msg[0] && !strchr(msg, '\n'));
}

static void check_planes(const ub_image *img, int clipped) {
    FUZZ_CHECK(img && img->width == SIDE && img->height == SIDE && img->channels == 3);
    for (size_t i = 0; i < (size_t)SIDE * SIDE * 3; i++) {
        FUZZ_CHECK(isfinite(img->data[i]));
        if (clipped) FUZZ_CHECK(img->data[i] >= 0.0f && img->data[i] <= 1.0f);
    }
}

static uint64_t hash_bytes(const uint8_t *d, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ d[i]) * 0x100000001b3ull;
    return h;
}

static void fuzz_synth(const char *text, uint64_t seed) {
    ub_ctx *ctx = fuzz_ctx();
    ub_synth *s = (ub_synth *)1;
    if (ub_synth_create_json(ctx, text, FUZZ_NAME, &s) != UB_OK) {
        FUZZ_CHECK(s == NULL);
        check_message();
        FUZZ_CHECK(strstr(ub_last_error(ctx), FUZZ_NAME) != NULL);
        return;
    }
    FUZZ_CHECK(s != NULL);
    ub_image *img = NULL;
    FUZZ_CHECK(ub_image_create(ctx, &img, SIDE, SIDE, 3) == UB_OK);
    for (size_t i = 0; i < (size_t)SIDE * SIDE * 3; i++) img->data[i] = (float)((i * 37 + seed) % 256) / 255.0f;
    ub_synth_inputs in = {img, NULL, NULL};
    ub_synth_sample out;
    memset(&out, 0, sizeof out);
    if (ub_synth_run(s, &in, seed, 0, &out) == UB_OK) {
        check_planes(out.blurred, 1);
        check_planes(out.sharp, 0);
        FUZZ_CHECK(out.params_json && out.params_json[0] == '{');
    } else {
        check_message(); /* e.g. a kernel larger than the context allows */
    }
    ub_synth_sample_free(&out);
    ub_kernel *k = NULL;
    if (ub_synth_kernel(s, seed, 0, &k) == UB_OK) FUZZ_CHECK(k && fabs(ub_kernel_sum(k) - 1.0) < 1e-4);
    else check_message();
    ub_kernel_destroy(&k);
    ub_image_destroy(&img);
    ub_synth_destroy(&s);
}

static void fuzz_train(const char *text) {
    ub_ctx *ctx = fuzz_ctx();
    ub__train_config c;
    ub__train_config_default(&c);
    if (ub__train_config_from_json(ctx, text, FUZZ_NAME, &c) != UB_OK) {
        check_message();
        return;
    }
    if (ub__train_config_check(ctx, &c) != UB_OK) {
        check_message();
        return;
    }
    char *a = ub__train_config_to_json(&c);
    FUZZ_CHECK(a != NULL);
    ub__train_config back;
    ub__train_config_default(&back);
    FUZZ_CHECK(ub__train_config_from_json(ctx, a, FUZZ_NAME, &back) == UB_OK);
    char *b = ub__train_config_to_json(&back);
    FUZZ_CHECK(b != NULL && strcmp(a, b) == 0);
    free(a);
    free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    (void)fuzz_check_image; /* fuzz_common.h's check for images: not for this target */
    if (size > 65536) return -1;
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    const uint64_t seed = hash_bytes(data, size);
    fuzz_synth(text, seed);
    fuzz_train(text);
    free(text);
    return 0;
}
