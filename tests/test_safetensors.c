/* tests/test_safetensors.c — the safetensors reader and writer (src/nn/safetensors.c):
   - half/bfloat16 conversions: exhaustive round trips and values of all 65,536
     patterns, nearest-even rounding against a double-precision search for the
     nearest value, and known cases (ties, overflow, subnormals, NaN, -0);
   - writer -> file -> reader round trips of F32 (bit exact), F16 and BF16,
     rank 0 and empty tensors, metadata, the file layout;
   - files written by ../shared/peers/rbnet.py's save_safetensors (numpy only),
     committed as tests/data/st_numpy.safetensors and st_numpy_mixed.safetensors
     by this command, run in the project root (also in tests/data/README.md):

       /usr/bin/python3 - <<'EOF'
       import sys; sys.path.insert(0, "/work/shared/peers")
       import numpy as np, rbnet
       rbnet.save_safetensors("tests/data/st_numpy.safetensors", {
           "head.weight": np.arange(24, dtype=np.float32).reshape(2, 3, 2, 2) * np.float32(0.25) - np.float32(3),
           "head.bias": np.array([0.1, -2.5, 3e38], np.float32),
           "half": np.array([1, 1/3, -0.0, 65504, 6e-8, 1e-5, np.inf, -np.inf, np.nan], np.float16)},
           {"arch": "rbnet", "width": 8, "blocks": 1})
       rbnet.save_safetensors("tests/data/st_numpy_mixed.safetensors", {
           "d": np.array([[1/3, -1e300], [1e-300, 2.5]]), "i": np.array([1, -2, 3], np.int64),
           "s": np.array(7.5, np.float32), "e": np.zeros((0, 3), np.float32), "u8": np.array([1, 2, 3], np.uint8)})
       EOF

     our writer must reproduce the first byte for byte;
   - hostile files built in memory: each gives its exact one-line message, no output object. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/safetensors.h"
#include "testutil.h"

static uint32_t bits_of(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float float_of(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* ---------------------------------------------------------------- conversions */

/* The value of a half pattern, computed independently of the library (finite only). */
static double f16_value(uint16_t h) {
    int e = (h >> 10) & 0x1f, m = h & 0x3ff;
    double v = e ? ldexp(1024 + m, e - 25) : ldexp(m, -24);
    return (h & 0x8000) ? -v : v;
}

static double bf16_value(uint16_t b) { return (double)float_of((uint32_t)b << 16); }

static void test_exhaustive_16bit(void) {
    int bad_f16 = 0, bad_bf16 = 0, bad_value = 0;
    for (uint32_t i = 0; i < 65536; i++) {
        const uint16_t h = (uint16_t)i;
        const float f = ub__float_from_f16(h);
        bad_f16 += ub__f16_from_float(f) != h; /* exact both ways, NaN payloads included */
        const int e = (h >> 10) & 0x1f;
        if (e == 0x1f) bad_value += (h & 0x3ff) ? !isnan(f) : !(isinf(f) && (f < 0) == !!(h & 0x8000));
        else bad_value += (double)f != f16_value(h) || !!signbit(f) != !!(h & 0x8000);
        bad_bf16 += ub__bf16_from_float(ub__float_from_bf16(h)) != h;
        bad_bf16 += bits_of(ub__float_from_bf16(h)) != (uint32_t)h << 16;
    }
    CHECK_MSG(bad_f16 == 0, "%d half patterns do not round-trip", bad_f16);
    CHECK_MSG(bad_value == 0, "%d half patterns decode to the wrong value", bad_value);
    CHECK_MSG(bad_bf16 == 0, "%d bfloat16 patterns do not round-trip", bad_bf16);
}

/* Is `got` the nearest pattern to the finite x, ties to even? Patterns of one sign are
   ordered like their magnitudes, so the neighbours are got +- 1 (same sign). */
static int is_nearest(double x, uint16_t got, double (*value)(uint16_t), uint16_t inf_pattern, double overflow) {
    uint16_t mag = got & 0x7fff;
    if (!!signbit(x) != !!(got & 0x8000)) return 0;
    double ax = fabs(x);
    if (mag == inf_pattern) return ax >= overflow;
    if (mag > inf_pattern) return 0;
    double d = fabs(ax - fabs(value(mag)));
    for (int step = -1; step <= 1; step += 2) {
        int n = mag + step;
        if (n < 0 || n >= inf_pattern) continue;
        double dn = fabs(ax - fabs(value((uint16_t)n)));
        if (dn < d || (dn == d && (mag & 1))) return 0;
    }
    return 1;
}

static void test_rounding_random(void) {
    test_rng r = {42};
    int bad_f16 = 0, bad_bf16 = 0;
    /* the largest finite half is 65504; halfway to the next step (65536) overflows. Likewise bfloat16. */
    const double f16_overflow = 65520.0, bf16_overflow = ldexp(255.5, 120);
    for (int i = 0; i < 1000000; i++) {
        uint32_t u = (uint32_t)test_rng_next(&r);
        /* half of the draws in the range where halves live, so that subnormals and ties get tried */
        if (i & 1) u = (u & 0x80000000u) | (0x33000000u + (u % (0x47800000u - 0x33000000u)));
        float f = float_of(u);
        if (!isfinite(f)) continue;
        bad_f16 += !is_nearest(f, ub__f16_from_float(f), f16_value, 0x7c00, f16_overflow);
        bad_bf16 += !is_nearest(f, ub__bf16_from_float(f), bf16_value, 0x7f80, bf16_overflow);
    }
    CHECK_MSG(bad_f16 == 0, "%d floats rounded to a half that is not the nearest (ties to even)", bad_f16);
    CHECK_MSG(bad_bf16 == 0, "%d floats rounded to a bfloat16 that is not the nearest (ties to even)", bad_bf16);
}

static void test_rounding_known(void) {
    /* half: ties to even around 1 (step 2^-10) */
    CHECK(ub__f16_from_float(1.0f + ldexpf(1, -11)) == 0x3c00);     /* tie, to even 1.0 */
    CHECK(ub__f16_from_float(1.0f + 3 * ldexpf(1, -11)) == 0x3c02); /* tie, to even 1 + 2^-9 */
    CHECK(ub__f16_from_float(1.0f + ldexpf(1, -11) + ldexpf(1, -20)) == 0x3c01); /* above the tie */
    CHECK(ub__f16_from_float(65504.0f) == 0x7bff);
    CHECK(ub__f16_from_float(65519.99f) == 0x7bff);
    CHECK(ub__f16_from_float(65520.0f) == 0x7c00); /* tie with 2^16: to even, which is infinity */
    CHECK(ub__f16_from_float(-1e10f) == 0xfc00);
    CHECK(ub__f16_from_float(INFINITY) == 0x7c00 && ub__f16_from_float(-INFINITY) == 0xfc00);
    /* subnormal halves, in units of 2^-24 */
    CHECK(ub__f16_from_float(ldexpf(1, -24)) == 0x0001);
    CHECK(ub__f16_from_float(ldexpf(1, -25)) == 0x0000);                  /* tie, to even 0 */
    CHECK(ub__f16_from_float(ldexpf(1, -25) * (1 + FLT_EPSILON)) == 0x0001);
    CHECK(ub__f16_from_float(3 * ldexpf(1, -25)) == 0x0002);              /* tie 1.5 units, to even 2 */
    CHECK(ub__f16_from_float(5 * ldexpf(1, -25)) == 0x0002);              /* tie 2.5 units, to even 2 */
    CHECK(ub__f16_from_float(ldexpf(1, -14) - ldexpf(1, -25)) == 0x0400); /* tie 1023.5 units: up to the smallest normal */
    CHECK(ub__f16_from_float(-ldexpf(1, -24)) == 0x8001);
    CHECK(ub__f16_from_float(1e-45f) == 0x0000);                          /* a float subnormal */
    CHECK(ub__f16_from_float(-0.0f) == 0x8000 && ub__f16_from_float(0.0f) == 0x0000);
    CHECK(ub__float_from_f16(0x0001) == ldexpf(1, -24));
    CHECK(ub__float_from_f16(0x03ff) == ldexpf(1023, -24));
    CHECK(signbit(ub__float_from_f16(0x8000)) && ub__float_from_f16(0x8000) == 0.0f);
    /* NaN: quiet NaN -> 0x7e00 (as numpy), sign kept, a payload only in the low bits stays a NaN */
    CHECK(ub__f16_from_float(NAN) == 0x7e00);
    CHECK(ub__f16_from_float(-NAN) == 0xfe00);
    CHECK(ub__f16_from_float(float_of(0x7f800001)) == 0x7c01);
    CHECK(isnan(ub__float_from_f16(0x7c01)) && isnan(ub__float_from_f16(0xfe00)));

    /* bfloat16: ties to even around 1 (step 2^-7) */
    CHECK(ub__bf16_from_float(1.0f + ldexpf(1, -8)) == 0x3f80);
    CHECK(ub__bf16_from_float(1.0f + 3 * ldexpf(1, -8)) == 0x3f82);
    CHECK(ub__bf16_from_float(1.0f + ldexpf(1, -8) + ldexpf(1, -20)) == 0x3f81);
    CHECK(ub__bf16_from_float(FLT_MAX) == 0x7f80);         /* past the largest bfloat16's half step */
    CHECK(ub__bf16_from_float(float_of(0x7f7f7fff)) == 0x7f7f);
    CHECK(ub__bf16_from_float(-INFINITY) == 0xff80);
    CHECK(ub__bf16_from_float(float_of(0x00018000)) == 0x0002); /* subnormal tie, to even */
    CHECK(ub__bf16_from_float(float_of(0x00008000)) == 0x0000); /* subnormal tie, to even 0 */
    CHECK(ub__bf16_from_float(-0.0f) == 0x8000);
    CHECK(ub__bf16_from_float(NAN) == 0x7fc0);
    CHECK(ub__bf16_from_float(float_of(0x7f800001)) == 0x7fc0); /* payload only in the dropped bits: still a NaN */
    CHECK(ub__bf16_from_float(float_of(0xff810000)) == 0xff81); /* a signalling NaN keeps its pattern */
}

/* ---------------------------------------------------------------- round trips */

static char *path_in(const char *dir, const char *name) {
    static char buf[1024];
    snprintf(buf, sizeof buf, "%s/%s", dir, name);
    return buf;
}

/* Special values every dtype must carry: -0, subnormals of float and half, NaN, infinities. */
static const uint32_t SPECIAL_BITS[] = {0x00000000, 0x80000000, 0x00000001, 0x807fffff, 0x33800000, 0x38800000,
                                        0x7fc00000, 0xffc12345, 0x7f800000, 0xff800000, 0x3f800000, 0x477fe000,
                                        0x477ff000, 0x7f7fffff, 0x3eaaaaab, 0xc0490fdb};
#define NSPECIAL (sizeof SPECIAL_BITS / sizeof *SPECIAL_BITS)

static void test_round_trip(void) {
    ub_ctx *ctx = test_ctx(1);
    const char *dir = test_tmpdir("st");
    float values[2 * NSPECIAL];
    for (size_t i = 0; i < NSPECIAL; i++) values[i] = float_of(SPECIAL_BITS[i]);
    test_rng r = {7};
    for (size_t i = NSPECIAL; i < 2 * NSPECIAL; i++) values[i] = (float)(8 * test_rng_uniform(&r) - 4);
    const int64_t shape[3] = {2, 4, 4}; /* 32 = 2 * NSPECIAL */
    const int64_t empty[2] = {3, 0};
    const float scalar = -7.25f;

    ub__st_writer *w = ub__st_writer_create(ctx);
    CHECK(w != NULL);
    CHECK_OK(ctx, ub__st_writer_add(ctx, w, "z.f32", "F32", 3, shape, values));
    CHECK_OK(ctx, ub__st_writer_add(ctx, w, "a.f16", "F16", 3, shape, values));
    CHECK_OK(ctx, ub__st_writer_add(ctx, w, "m.bf16", "BF16", 3, shape, values));
    CHECK_OK(ctx, ub__st_writer_add(ctx, w, "empty", "F16", 2, empty, NULL));
    CHECK_OK(ctx, ub__st_writer_add(ctx, w, "scalar", "F32", 0, NULL, &scalar));
    CHECK_OK(ctx, ub__st_writer_meta(ctx, w, "arch", "rbnet"));
    CHECK_OK(ctx, ub__st_writer_meta(ctx, w, "width", "16"));
    CHECK_OK(ctx, ub__st_writer_meta(ctx, w, "width", "32")); /* replaces */
    CHECK_OK(ctx, ub__st_writer_meta(ctx, w, "note", "caf\xc3\xa9 \"quoted\"\n"));
    const char *path = path_in(dir, "rt.safetensors");
    CHECK_OK(ctx, ub__st_writer_save(ctx, w, path));

    ub__safetensors *st = NULL;
    CHECK_OK(ctx, ub__st_open(ctx, path, &st));
    if (!st) {
        ub__st_writer_destroy(&w);
        ub_ctx_destroy(&ctx);
        return;
    }
    /* listed in data order = the order added; the empty tensor sits where the scalar starts */
    CHECK(ub__st_count(st) == 5);
    const char *order[5] = {"z.f32", "a.f16", "m.bf16", "empty", "scalar"};
    for (int i = 0; i < 5; i++) CHECK_MSG(strcmp(ub__st_name(st, i), order[i]) == 0, "%d: %s", i, ub__st_name(st, i));
    CHECK(ub__st_name(st, 5) == NULL && ub__st_name(st, -1) == NULL);
    CHECK(ub__st_find(st, "m.bf16") == 2 && ub__st_find(st, "nope") == -1);
    int64_t dims[UB__ST_MAX_RANK];
    CHECK(ub__st_shape(st, 1, dims) == 3 && dims[0] == 2 && dims[1] == 4 && dims[2] == 4);
    CHECK(ub__st_shape(st, 3, dims) == 2 && dims[0] == 3 && dims[1] == 0);
    CHECK(ub__st_shape(st, 4, dims) == 0 && ub__st_shape(st, 9, dims) == -1);
    CHECK(strcmp(ub__st_dtype(st, 0), "F32") == 0 && strcmp(ub__st_dtype(st, 1), "F16") == 0 &&
          strcmp(ub__st_dtype(st, 2), "BF16") == 0);
    size_t size;
    CHECK(ub__st_data(st, 1, &size) != NULL && size == 64);
    CHECK(ub__st_data(st, 3, &size) == NULL && size == 0);
    CHECK(strcmp(ub__st_meta(st, "arch"), "rbnet") == 0);
    CHECK(strcmp(ub__st_meta(st, "width"), "32") == 0);
    CHECK(strcmp(ub__st_meta(st, "note"), "caf\xc3\xa9 \"quoted\"\n") == 0);
    CHECK(ub__st_meta(st, "depth") == NULL);
    CHECK(ub__st_meta_count(st) == 3 && strcmp(ub__st_meta_key(st, 0), "arch") == 0 &&
          strcmp(ub__st_meta_key(st, 2), "note") == 0 && ub__st_meta_key(st, 3) == NULL);

    float got[2 * NSPECIAL];
    int bad[3] = {0, 0, 0};
    CHECK_OK(ctx, ub__st_read_f32(ctx, st, "z.f32", 3, shape, got));
    for (size_t i = 0; i < 2 * NSPECIAL; i++) bad[0] += bits_of(got[i]) != bits_of(values[i]);
    CHECK_OK(ctx, ub__st_read_f32(ctx, st, "a.f16", 3, shape, got));
    for (size_t i = 0; i < 2 * NSPECIAL; i++)
        bad[1] += bits_of(got[i]) != bits_of(ub__float_from_f16(ub__f16_from_float(values[i])));
    CHECK_OK(ctx, ub__st_read_f32(ctx, st, "m.bf16", 3, shape, got));
    for (size_t i = 0; i < 2 * NSPECIAL; i++)
        bad[2] += bits_of(got[i]) != bits_of(ub__float_from_bf16(ub__bf16_from_float(values[i])));
    CHECK_MSG(bad[0] == 0 && bad[1] == 0 && bad[2] == 0, "mismatches F32 %d, F16 %d, BF16 %d", bad[0], bad[1], bad[2]);
    /* exactly representable values come back exactly: 1, -0, 2^-24 (a half subnormal), infinities */
    CHECK(got[10] == 1.0f && bits_of(got[1]) == 0x80000000 && isinf(got[8]) && isnan(got[6]));
    CHECK_OK(ctx, ub__st_read_f32(ctx, st, "a.f16", 3, shape, got));
    CHECK(got[4] == ldexpf(1, -24) && got[11] == 65504.0f && isinf(got[12]) && isnan(got[7]) && signbit(got[7]));
    float one = 0;
    CHECK_OK(ctx, ub__st_read_f32(ctx, st, "scalar", 0, NULL, &one));
    CHECK(one == scalar);
    CHECK_OK(ctx, ub__st_read_f32(ctx, st, "empty", 2, empty, got));

    /* layout: the header length is a multiple of 8 and the header ends in spaces; encode = save */
    void *bytes = NULL;
    size_t nbytes = 0;
    CHECK_OK(ctx, ub__st_writer_encode(ctx, w, &bytes, &nbytes));
    FILE *fp = fopen(path, "rb");
    unsigned char *file = malloc(nbytes + 1);
    size_t nfile = fp && file ? fread(file, 1, nbytes + 1, fp) : 0;
    if (fp) fclose(fp);
    CHECK(nfile == nbytes && bytes && memcmp(file, bytes, nbytes) == 0);
    uint64_t hlen = 0;
    for (int b = 7; b >= 0; b--) hlen = hlen << 8 | ((unsigned char *)bytes)[b];
    CHECK(hlen % 8 == 0 && 8 + hlen + 128 + 64 + 64 + 0 + 4 == nbytes);
    CHECK(((char *)bytes)[8] == '{');
    /* the same bytes from memory */
    ub__safetensors *mem = NULL;
    CHECK_OK(ctx, ub__st_open_memory(ctx, bytes, nbytes, "mem", &mem));
    CHECK(ub__st_count(mem) == 5 && strcmp(ub__st_path(mem), "mem") == 0);
    ub__st_close(&mem);
    CHECK(mem == NULL);
    free(file);
    free(bytes);

    ub__st_close(&st);
    ub__st_writer_destroy(&w);
    CHECK(w == NULL);
    remove(path);
    remove(dir);
    ub_ctx_destroy(&ctx);
}

/* An empty writer gives a valid empty file: {} padded, no data. */
static void test_empty_file(void) {
    ub_ctx *ctx = test_ctx(1);
    ub__st_writer *w = ub__st_writer_create(ctx);
    void *bytes = NULL;
    size_t n = 0;
    CHECK_OK(ctx, ub__st_writer_encode(ctx, w, &bytes, &n));
    CHECK(n == 16 && bytes && memcmp((char *)bytes + 8, "{}      ", 8) == 0);
    ub__safetensors *st = NULL;
    CHECK_OK(ctx, ub__st_open_memory(ctx, bytes, n, "empty", &st));
    CHECK(st && ub__st_count(st) == 0 && ub__st_meta(st, "arch") == NULL);
    ub__st_close(&st);
    free(bytes);
    ub__st_writer_destroy(&w);
    ub__st_writer_destroy(&w); /* NULL is accepted */
    ub__st_close(&st);
    ub_ctx_destroy(&ctx);
}

static void test_writer_errors(void) {
    ub_ctx *ctx = test_ctx(1);
    ub__st_writer *w = ub__st_writer_create(ctx);
    const int64_t shape[2] = {2, 2}, negative[2] = {2, -1}, huge[2] = {INT64_MAX, 4};
    const float data[4] = {1, 2, 3, 4};
    CHECK_OK(ctx, ub__st_writer_add(ctx, w, "a", "F32", 2, shape, data));
    CHECK(ub__st_writer_add(ctx, w, "a", "F16", 2, shape, data) == UB_ERR_INVALID);
    CHECK(strcmp(ub_last_error(ctx), "safetensors writer: tensor a is already there") == 0);
    CHECK(ub__st_writer_add(ctx, w, "b", "F64", 2, shape, data) == UB_ERR_INVALID);
    CHECK(strcmp(ub_last_error(ctx), "safetensors writer: tensor b: dtype \"F64\" is not F32, F16 or BF16") == 0);
    CHECK(ub__st_writer_add(ctx, w, "__metadata__", "F32", 2, shape, data) == UB_ERR_INVALID);
    CHECK(ub__st_writer_add(ctx, w, "bad\xff", "F32", 2, shape, data) == UB_ERR_INVALID);
    CHECK(ub__st_writer_add(ctx, w, "c", "F32", 2, negative, data) == UB_ERR_INVALID);
    CHECK(ub__st_writer_add(ctx, w, "c", "F32", 2, huge, data) == UB_ERR_INVALID);
    CHECK(ub__st_writer_add(ctx, w, "c", "F32", 9, shape, data) == UB_ERR_INVALID);
    CHECK(ub__st_writer_add(ctx, w, "c", "F32", -1, shape, data) == UB_ERR_INVALID);
    CHECK(ub__st_writer_add(ctx, w, "c", "F32", 2, shape, NULL) == UB_ERR_INVALID);
    CHECK(ub__st_writer_meta(ctx, w, "k", "\xc3") == UB_ERR_INVALID);
    CHECK(ub__st_writer_save(ctx, w, "/nonexistent-folder/x.safetensors") == UB_ERR_IO);
    /* the failures left the writer as it was: one tensor */
    void *bytes = NULL;
    size_t n = 0;
    ub__safetensors *st = NULL;
    CHECK_OK(ctx, ub__st_writer_encode(ctx, w, &bytes, &n));
    CHECK_OK(ctx, ub__st_open_memory(ctx, bytes, n, "w", &st));
    CHECK(ub__st_count(st) == 1);
    ub__st_close(&st);
    free(bytes);
    ub__st_writer_destroy(&w);
    ub_ctx_destroy(&ctx);
}

/* ---------------------------------------------------------------- numpy files */

static void test_numpy_fixture(void) {
    ub_ctx *ctx = test_ctx(1);
    ub__safetensors *st = NULL;
    const char *path = UB_TEST_DATA "/st_numpy.safetensors";
    CHECK_OK(ctx, ub__st_open(ctx, path, &st));
    if (!st) {
        ub_ctx_destroy(&ctx);
        return;
    }
    CHECK(ub__st_count(st) == 3);
    CHECK(strcmp(ub__st_meta(st, "arch"), "rbnet") == 0 && strcmp(ub__st_meta(st, "width"), "8") == 0 &&
          strcmp(ub__st_meta(st, "blocks"), "1") == 0);
    const int64_t wshape[4] = {2, 3, 2, 2}, bshape[1] = {3}, hshape[1] = {9};
    float w[24], b[3], h[9];
    CHECK_OK(ctx, ub__st_read_f32(ctx, st, "head.weight", 4, wshape, w));
    for (int i = 0; i < 24; i++) CHECK_MSG(w[i] == i * 0.25f - 3, "head.weight[%d] = %g", i, w[i]);
    CHECK_OK(ctx, ub__st_read_f32(ctx, st, "head.bias", 1, bshape, b));
    CHECK(b[0] == 0.1f && b[1] == -2.5f && b[2] == 3e38f);
    CHECK_OK(ctx, ub__st_read_f32(ctx, st, "half", 1, hshape, h));
    /* numpy's float16 of [1, 1/3, -0, 65504, 6e-8, 1e-5, inf, -inf, nan] */
    const uint16_t hbits[9] = {0x3c00, 0x3555, 0x8000, 0x7bff, 0x0001, 0x00a8, 0x7c00, 0xfc00, 0x7e00};
    for (int i = 0; i < 9; i++)
        CHECK_MSG(ub__f16_from_float(h[i]) == hbits[i] && (!isfinite(h[i]) || h[i] == (float)f16_value(hbits[i])),
                  "half[%d] = %g", i, h[i]);
    CHECK(h[1] == 0.333251953125f && h[4] == ldexpf(1, -24) && signbit(h[2]));

    /* our writer, given the same tensors and metadata, writes the same bytes */
    ub__st_writer *wr = ub__st_writer_create(ctx);
    CHECK_OK(ctx, ub__st_writer_add(ctx, wr, "head.weight", "F32", 4, wshape, w));
    CHECK_OK(ctx, ub__st_writer_add(ctx, wr, "head.bias", "F32", 1, bshape, b));
    CHECK_OK(ctx, ub__st_writer_add(ctx, wr, "half", "F16", 1, hshape, h));
    CHECK_OK(ctx, ub__st_writer_meta(ctx, wr, "arch", "rbnet"));
    CHECK_OK(ctx, ub__st_writer_meta(ctx, wr, "width", "8"));
    CHECK_OK(ctx, ub__st_writer_meta(ctx, wr, "blocks", "1"));
    void *ours = NULL;
    size_t nours = 0;
    CHECK_OK(ctx, ub__st_writer_encode(ctx, wr, &ours, &nours));
    FILE *fp = fopen(path, "rb");
    unsigned char theirs[4096];
    size_t ntheirs = fp ? fread(theirs, 1, sizeof theirs, fp) : 0;
    if (fp) fclose(fp);
    CHECK_MSG(ntheirs == nours && ours && memcmp(ours, theirs, nours) == 0, "ours %zu bytes, numpy's %zu", nours,
              ntheirs);
    free(ours);
    ub__st_writer_destroy(&wr);
    ub__st_close(&st);

    /* F64 (rounded to float), I64 and U8 (not floats), an empty tensor */
    CHECK_OK(ctx, ub__st_open(ctx, UB_TEST_DATA "/st_numpy_mixed.safetensors", &st));
    if (st) {
        const char *order[5] = {"d", "i", "s", "e", "u8"};
        CHECK(ub__st_count(st) == 5);
        for (int i = 0; i < 5 && i < ub__st_count(st); i++) CHECK(strcmp(ub__st_name(st, i), order[i]) == 0);
        const int64_t dshape[2] = {2, 2}, eshape[2] = {0, 3}, ishape[1] = {3};
        float d[4];
        CHECK_OK(ctx, ub__st_read_f32(ctx, st, "d", 2, dshape, d));
        CHECK(d[0] == (float)(1.0 / 3.0) && isinf(d[1]) && d[1] < 0 && d[2] == 0.0f && d[3] == 2.5f);
        CHECK_OK(ctx, ub__st_read_f32(ctx, st, "e", 2, eshape, d));
        CHECK(ub__st_read_f32(ctx, st, "i", 1, ishape, d) == UB_ERR_UNSUPPORTED);
        CHECK(strstr(ub_last_error(ctx), "st_numpy_mixed.safetensors: tensor i has dtype I64, expected a float type"));
        CHECK(strcmp(ub__st_dtype(st, 4), "U8") == 0);
        size_t n;
        const unsigned char *raw = ub__st_data(st, 1, &n);
        CHECK(raw && n == 24 && raw[0] == 1 && raw[8] == 0xfe && raw[15] == 0xff && raw[16] == 3);
        ub__st_close(&st);
    }
    ub_ctx_destroy(&ctx);
}

/* The RBNet fixtures of the network tests (rbnet.py fixture, if present): every tensor reads,
   and rewriting them all, in file order, with the same metadata, gives the same bytes. */
static void test_rbnet_fixtures(void) {
    const char *files[2] = {UB_TEST_DATA "/rbnet_fixture.safetensors", UB_TEST_DATA "/rbnet_fixture_d3m2.safetensors"};
    ub_ctx *ctx = test_ctx(1);
    for (int f = 0; f < 2; f++) {
        FILE *fp = fopen(files[f], "rb");
        if (!fp) {
            printf("note: %s is absent, not checked\n", files[f]);
            continue;
        }
        fseek(fp, 0, SEEK_END);
        long nfile = ftell(fp);
        rewind(fp);
        unsigned char *file = malloc((size_t)nfile);
        CHECK(file && fread(file, 1, (size_t)nfile, fp) == (size_t)nfile);
        fclose(fp);
        ub__safetensors *st = NULL;
        CHECK_OK(ctx, ub__st_open(ctx, files[f], &st));
        ub__st_writer *w = ub__st_writer_create(ctx);
        for (int i = 0; st && i < ub__st_count(st); i++) {
            int64_t dims[UB__ST_MAX_RANK];
            int rank = ub__st_shape(st, i, dims);
            size_t n;
            ub__st_data(st, i, &n);
            float *v = malloc(n + 1);
            CHECK(strcmp(ub__st_dtype(st, i), "F32") == 0);
            CHECK_OK(ctx, ub__st_read_f32(ctx, st, ub__st_name(st, i), rank, dims, v));
            CHECK_OK(ctx, ub__st_writer_add(ctx, w, ub__st_name(st, i), "F32", rank, dims, v));
            free(v);
        }
        for (int m = 0; st && m < ub__st_meta_count(st); m++)
            CHECK_OK(ctx, ub__st_writer_meta(ctx, w, ub__st_meta_key(st, m), ub__st_meta(st, ub__st_meta_key(st, m))));
        CHECK(st && strcmp(ub__st_meta(st, "arch"), "rbnet") == 0 && ub__st_find(st, "input") >= 0);
        void *ours = NULL;
        size_t nours = 0;
        CHECK_OK(ctx, ub__st_writer_encode(ctx, w, &ours, &nours));
        CHECK_MSG(file && ours && nours == (size_t)nfile && memcmp(ours, file, nours) == 0, "%s: rewritten differently",
                  files[f]);
        free(ours);
        free(file);
        ub__st_writer_destroy(&w);
        ub__st_close(&st);
    }
    ub_ctx_destroy(&ctx);
}

/* ---------------------------------------------------------------- hostile files */

static unsigned char hostile[8192];

/* A file: 8-byte length (`len_override`, or the header's own length when ~0), the header, `data` bytes of 0xab. */
static size_t make_file(const char *header, uint64_t len_override, size_t data) {
    size_t n = strlen(header);
    uint64_t len = len_override == ~(uint64_t)0 ? n : len_override;
    for (int b = 0; b < 8; b++) hostile[b] = (unsigned char)(len >> (8 * b));
    memcpy(hostile + 8, header, n);
    memset(hostile + 8 + n, 0xab, data);
    return 8 + n + data;
}

#define LEN_OWN (~(uint64_t)0)

/* Opening must fail with `status` and exactly "x.st: <message>" (a prefix when `message` ends in "..."). */
static void expect_error(size_t size, ub_status status, const char *message, int line) {
    ub_ctx *ctx = test_ctx(1);
    ub__safetensors *st = (ub__safetensors *)&st; /* must come back NULL */
    ub_status got = ub__st_open_memory(ctx, hostile, size, "x.st", &st);
    const char *msg = ub_last_error(ctx);
    char want[1024];
    snprintf(want, sizeof want, "x.st: %s", message);
    size_t wlen = strlen(want);
    int prefix = wlen > 3 && strcmp(want + wlen - 3, "...") == 0;
    int same = prefix ? strncmp(msg, want, wlen - 3) == 0 : strcmp(msg, want) == 0;
    if (status == UB_OK) {
        CHECK_MSG(got == UB_OK && st != NULL, "line %d: status %d: \"%s\"", line, (int)got, msg);
        if (got == UB_OK) ub__st_close(&st);
    } else
        CHECK_MSG(got == status && st == NULL && same && !strchr(msg, '\n'), "line %d: status %d (want %d): \"%s\"",
                  line, (int)got, (int)status, msg);
    ub_ctx_destroy(&ctx);
}

#define EXPECT(size, status, message) expect_error(size, status, message, __LINE__)

static void test_hostile_lengths(void) {
    EXPECT(0, UB_ERR_FORMAT, "too short for a safetensors file (0 bytes)");
    EXPECT(7, UB_ERR_FORMAT, "too short for a safetensors file (7 bytes)");
    /* the header cut short: 100 announced, 20 present */
    size_t n = make_file("{\"a\":{\"dtype\":\"F32\",", 100, 0);
    EXPECT(n, UB_ERR_FORMAT, "header length 100 runs past the end of the file (28 bytes)");
    /* 2^63 and 2^64-1: over the limit, not an overflow */
    n = make_file("{}", (uint64_t)1 << 63, 0);
    EXPECT(n, UB_ERR_FORMAT, "header length 9223372036854775808 is over the limit of 100000000 bytes");
    n = make_file("{}", ~(uint64_t)1, 0);
    EXPECT(n, UB_ERR_FORMAT, "header length 18446744073709551614 is over the limit of 100000000 bytes");
    /* the data cut short */
    n = make_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}}", LEN_OWN, 20);
    EXPECT(n, UB_ERR_FORMAT, "tensor a: data_offsets [0, 24] run past the end of the data (20 bytes)");
    /* a header length that swallows the data: the JSON then has trailing garbage */
    const char *u8 = "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}";
    n = make_file(u8, strlen(u8) + 4, 4);
    EXPECT(n, UB_ERR_FORMAT, "header is not valid JSON: ...");
    /* shorter: cut inside the JSON */
    n = make_file("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}", 30, 0);
    EXPECT(n, UB_ERR_FORMAT, "header is not valid JSON: ...");
}

static void test_hostile_json(void) {
    EXPECT(make_file("{\"a\":", LEN_OWN, 0), UB_ERR_FORMAT, "header is not valid JSON: ...");
    EXPECT(make_file("", LEN_OWN, 0), UB_ERR_FORMAT, "header is not valid JSON: '[' or '{' expected near end of file (byte 0)");
    EXPECT(make_file("{\"a\xff\":1}", LEN_OWN, 0), UB_ERR_FORMAT, "header is not valid JSON: unable to decode byte 0xff...");
    EXPECT(make_file("[1, 2]", LEN_OWN, 0), UB_ERR_FORMAT, "header is not a JSON object");
    EXPECT(make_file("{\"a\":5}", LEN_OWN, 0), UB_ERR_FORMAT, "tensor a: entry is not an object");
    EXPECT(make_file("{\"a\":{\"dtype\":\"U8\",\"shape\":[1]}}", LEN_OWN, 1), UB_ERR_FORMAT,
           "tensor a: no \"data_offsets\"");
    EXPECT(make_file("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1],\"x\":0}}", LEN_OWN, 1),
           UB_ERR_FORMAT, "tensor a: unexpected key \"x\"");
    EXPECT(make_file("{\"a\":{\"dtype\":\"F33\",\"shape\":[1],\"data_offsets\":[0,4]}}", LEN_OWN, 4),
           UB_ERR_UNSUPPORTED, "tensor a: unknown dtype \"F33\"");
    EXPECT(make_file("{\"a\":{\"dtype\":32,\"shape\":[1],\"data_offsets\":[0,4]}}", LEN_OWN, 4), UB_ERR_FORMAT,
           "tensor a: dtype is not a string");
    /* duplicate tensor names, and duplicate metadata keys */
    EXPECT(make_file("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                     "\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}", LEN_OWN, 2),
           UB_ERR_FORMAT, "header: a name appears twice (duplicate object key near '\"a\"'...");
    EXPECT(make_file("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", LEN_OWN, 0), UB_ERR_FORMAT,
           "header: a name appears twice...");
    EXPECT(make_file("{\"__metadata__\":{\"k\":1}}", LEN_OWN, 0), UB_ERR_FORMAT, "__metadata__ \"k\" is not a string");
    EXPECT(make_file("{\"__metadata__\":[\"k\"]}", LEN_OWN, 0), UB_ERR_FORMAT, "__metadata__ is not an object");
    /* a name with a newline (a JSON escape): the message stays on one line */
    EXPECT(make_file("{\"a\\nb\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,1]}}", LEN_OWN, 1),
           UB_ERR_FORMAT, "tensor a?b: data_offsets [0, 1] do not match U8 [2] (2 bytes)");
}

static void test_hostile_shapes(void) {
    const char *fmt = "{\"w\":{\"dtype\":\"F32\",\"shape\":%s,\"data_offsets\":[0,%s]}}";
    struct {
        const char *shape, *end;
        ub_status status;
        const char *message;
    } cases[] = {
        {"[-1]", "4", UB_ERR_FORMAT, "tensor w: shape element 0 is not a non-negative integer"},
        {"[2, 2.0]", "16", UB_ERR_FORMAT, "tensor w: shape element 1 is not a non-negative integer"},
        {"[\"2\"]", "8", UB_ERR_FORMAT, "tensor w: shape element 0 is not a non-negative integer"},
        {"2", "8", UB_ERR_FORMAT, "tensor w: shape is not a list"},
        {"[1e30]", "4", UB_ERR_FORMAT, "tensor w: shape element 0 is not a non-negative integer"},
        {"[100000000000000000000]", "4", UB_ERR_FORMAT, "header is not valid JSON: too big integer..."},
        {"[1,1,1,1,1,1,1,1,1]", "4", UB_ERR_FORMAT, "tensor w: shape has 9 dimensions (at most 8)"},
        {"[4294967296, 4294967296]", "4", UB_ERR_FORMAT,
         "tensor w: shape [4294967296, 4294967296] has too many elements"},
        {"[9223372036854775807]", "4", UB_ERR_FORMAT, "tensor w: F32 [9223372036854775807] is too large"},
        {"[4611686018427387904]", "4", UB_ERR_FORMAT, "tensor w: F32 [4611686018427387904] is too large"},
        {"[8, 3, 3, 3]", "96", UB_ERR_FORMAT, "tensor w: data_offsets [0, 96] do not match F32 [8, 3, 3, 3] (864 bytes)"},
        {"[]", "8", UB_ERR_FORMAT, "tensor w: data_offsets [0, 8] do not match F32 [] (4 bytes)"},
        {"[2, 0]", "8", UB_ERR_FORMAT, "tensor w: data_offsets [0, 8] do not match F32 [2, 0] (0 bytes)"},
    };
    char header[512];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        snprintf(header, sizeof header, fmt, cases[i].shape, cases[i].end);
        expect_error(make_file(header, LEN_OWN, (size_t)atoi(cases[i].end)), cases[i].status, cases[i].message,
                     (int)(1000 + i));
    }
}

static void test_hostile_offsets(void) {
    const char *two = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":%s},"
                      "\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":%s}}";
    struct {
        const char *a, *b;
        size_t data;
        const char *message;
    } cases[] = {
        {"[8,0]", "[8,12]", 12, "tensor a: data_offsets [8, 0] are reversed"},
        {"[0,8]", "[8,12]", 11, "tensor b: data_offsets [8, 12] run past the end of the data (11 bytes)"},
        {"[0,8]", "[18446744073709551612,0]", 12, "header is not valid JSON: too big integer..."}, /* beyond jansson's integers */
        {"[0,8]", "[-4,0]", 12, "tensor b: data_offsets is not a list of two non-negative integers"},
        {"[0,8]", "[8,12,16]", 12, "tensor b: data_offsets is not a list of two non-negative integers"},
        {"[0,8]", "[8.0,12]", 12, "tensor b: data_offsets is not a list of two non-negative integers"},
        {"[0,8]", "\"8-12\"", 12, "tensor b: data_offsets is not a list of two non-negative integers"},
        {"[0,8]", "[4,8]", 8, "tensors a [0, 8] and b [4, 8] have overlapping offsets"},
        {"[4,12]", "[0,4]", 12, NULL}, /* unsorted in the JSON, but a tiling: valid */
        {"[0,8]", "[9,13]", 13, "a hole at byte 8 of the data (before tensor b)"},
        {"[4,12]", "[12,16]", 16, "a hole at byte 0 of the data (before tensor a)"},
        {"[0,8]", "[8,12]", 15, "a hole at byte 12 of the data (after the last tensor; 15 bytes)"},
        {"[0,8]", "[0,4]", 8, "tensors b [0, 4] and a [0, 8] have overlapping offsets"},
    };
    char header[512];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        snprintf(header, sizeof header, two, cases[i].a, cases[i].b);
        size_t n = make_file(header, LEN_OWN, cases[i].data);
        if (!cases[i].message) {
            ub_ctx *ctx = test_ctx(1);
            ub__safetensors *st = NULL;
            CHECK_OK(ctx, ub__st_open_memory(ctx, hostile, n, "x.st", &st));
            CHECK(st && strcmp(ub__st_name(st, 0), "b") == 0 && strcmp(ub__st_name(st, 1), "a") == 0);
            ub__st_close(&st);
            ub_ctx_destroy(&ctx);
            continue;
        }
        expect_error(n, UB_ERR_FORMAT, cases[i].message, (int)(2000 + i));
    }
    /* zero-sized tensors: valid at the boundary between two others, an overlap inside one */
    const char *zero = "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
                       "\"z\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":%s}}";
    snprintf(header, sizeof header, zero, "[4,4]");
    EXPECT(make_file(header, LEN_OWN, 4), UB_OK, "");
    snprintf(header, sizeof header, zero, "[0,0]");
    EXPECT(make_file(header, LEN_OWN, 4), UB_OK, "");
    snprintf(header, sizeof header, zero, "[2,2]");
    EXPECT(make_file(header, LEN_OWN, 4), UB_ERR_FORMAT, "tensors a [0, 4] and z [2, 2] have overlapping offsets");
    /* an empty header with data: all of it is a hole */
    EXPECT(make_file("{}", LEN_OWN, 3), UB_ERR_FORMAT, "a hole at byte 0 of the data (after the last tensor; 3 bytes)");
}

/* The reading errors: missing tensor, wrong shape, wrong dtype, bad arguments. */
static void test_read_errors(void) {
    ub_ctx *ctx = test_ctx(1);
    size_t n = make_file("{\"a\":{\"dtype\":\"BF16\",\"shape\":[2,3],\"data_offsets\":[0,12]},"
                         "\"n\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[12,20]}}", LEN_OWN, 20);
    ub__safetensors *st = NULL;
    CHECK_OK(ctx, ub__st_open_memory(ctx, hostile, n, "m.safetensors", &st));
    float out[6];
    const int64_t good[2] = {2, 3}, wrong[2] = {3, 2}, one[1] = {1};
    CHECK(ub__st_read_f32(ctx, st, "b", 2, good, out) == UB_ERR_FORMAT);
    CHECK(strcmp(ub_last_error(ctx), "m.safetensors: missing tensor b") == 0);
    CHECK(ub__st_read_f32(ctx, st, "a", 2, wrong, out) == UB_ERR_MISMATCH);
    CHECK(strcmp(ub_last_error(ctx), "m.safetensors: tensor a has shape [2, 3], expected [3, 2]") == 0);
    CHECK(ub__st_read_f32(ctx, st, "a", 1, good, out) == UB_ERR_MISMATCH);
    CHECK(strcmp(ub_last_error(ctx), "m.safetensors: tensor a has shape [2, 3], expected [2]") == 0);
    CHECK(ub__st_read_f32(ctx, st, "n", 1, one, out) == UB_ERR_UNSUPPORTED);
    CHECK(strcmp(ub_last_error(ctx), "m.safetensors: tensor n has dtype I64, expected a float type") == 0);
    CHECK(ub__st_read_f32(ctx, st, "a", 9, good, out) == UB_ERR_INVALID);
    CHECK(ub__st_read_f32(ctx, st, "a", 2, good, NULL) == UB_ERR_INVALID);
    CHECK_OK(ctx, ub__st_read_f32(ctx, st, "a", 2, good, out));
    CHECK(bits_of(out[0]) == 0xabab0000u); /* BF16 0xabab, little-endian */
    ub__st_close(&st);

    /* files: absent, a folder, truncated on disk (the same checks as in memory) */
    CHECK(ub__st_open(ctx, "/nonexistent/m.safetensors", &st) == UB_ERR_IO && st == NULL);
    CHECK(strcmp(ub_last_error(ctx), "/nonexistent/m.safetensors: cannot open: No such file or directory") == 0);
    const char *dir = test_tmpdir("st-errors");
    CHECK(ub__st_open(ctx, dir, &st) == UB_ERR_IO && strstr(ub_last_error(ctx), ": is a directory"));
    char path[1024];
    snprintf(path, sizeof path, "%s/cut.safetensors", dir);
    n = make_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}}", LEN_OWN, 23);
    FILE *fp = fopen(path, "wb");
    if (fp) {
        fwrite(hostile, 1, n, fp);
        fclose(fp);
    }
    CHECK(ub__st_open(ctx, path, &st) == UB_ERR_FORMAT && st == NULL);
    CHECK(strstr(ub_last_error(ctx), "cut.safetensors: tensor a: data_offsets [0, 24] run past the end of the data (23 bytes)"));
    fp = fopen(path, "wb");
    if (fp) {
        fwrite(hostile, 1, 5, fp);
        fclose(fp);
    }
    CHECK(ub__st_open(ctx, path, &st) == UB_ERR_FORMAT && strstr(ub_last_error(ctx), "too short for a safetensors file (5 bytes)"));
    remove(path);
    remove(dir);
    ub_ctx_destroy(&ctx);
}

int main(void) {
    test_exhaustive_16bit();
    test_rounding_known();
    test_rounding_random();
    test_round_trip();
    test_empty_file();
    test_writer_errors();
    test_numpy_fixture();
    test_rbnet_fixtures();
    test_hostile_lengths();
    test_hostile_json();
    test_hostile_shapes();
    test_hostile_offsets();
    test_read_errors();
    return test_finish("test_safetensors");
}
