/* fuzz/fuzz_safetensors.c — libFuzzer target: the safetensors reader (src/nn/safetensors.c)
   on arbitrary bytes, then a round trip through the writer.

   Header length. Nearly every mutation inside the JSON header (an insertion, an
   erasure) would leave the 8-byte length prefix wrong, and the reader would stop
   at the JSON parse. So for inputs of EVEN size the harness first rewrites the
   prefix to the length of the JSON object that starts the header (brackets
   matched, strings skipped) plus the spaces after it, when there is such an
   object; odd sizes go in as they are, which keeps the length checks fuzzed.
   Running the harness binary on a saved input reproduces what it saw.

   On failure: *out is NULL, the status is an error, and the message is one
   non-empty line "<fuzz>: ...". On success:
   - names are unique (find(name(i)) == i); ranks 0..8; prod(shape) * dtype size
     equals the tensor's bytes; the tensors' bytes are the input's data buffer,
     in order, without gaps;
   - every float tensor (up to FUZZ_ST_MAX_ELEMENTS elements) reads: F32 bit
     exact, F16/BF16 converting back to the same bits, F64 the rounded double;
     with one more dimension it is refused (UB_ERR_MISMATCH); a non-float one is
     refused with UB_ERR_UNSUPPORTED;
   - writing the float tensors (F64 as F32) and the metadata with the writer and
     reading that back gives the same names, shapes, bits and metadata. */
#include <math.h>
#include <string.h>

#include "fuzz_common.h"
#include "nn/safetensors.h"

/* Keeps one execution small: a 1 MB input could otherwise declare ~500k F16 values to convert twice. */
#define FUZZ_ST_MAX_ELEMENTS ((size_t)1 << 18)

static const char FUZZ_NAME[] = "<fuzz>";

/* The length of the JSON object at the start of `h` (n bytes) and the spaces after it; 0 if none ends. */
static size_t json_object_length(const uint8_t *h, size_t n) {
    size_t i = 0;
    int depth = 0, in_string = 0;
    if (n == 0 || h[0] != '{') return 0;
    for (; i < n; i++) {
        uint8_t c = h[i];
        if (in_string) {
            if (c == '\\') i++;
            else if (c == '"') in_string = 0;
        } else if (c == '"') in_string = 1;
        else if (c == '{' || c == '[') depth++;
        else if ((c == '}' || c == ']') && --depth == 0) break;
    }
    if (i >= n) return 0;
    for (i++; i < n && h[i] == ' '; i++) {
    }
    return i;
}

static size_t dtype_size(const char *dtype) {
    if (!strcmp(dtype, "F64") || !strcmp(dtype, "I64") || !strcmp(dtype, "U64")) return 8;
    if (!strcmp(dtype, "F32") || !strcmp(dtype, "I32") || !strcmp(dtype, "U32")) return 4;
    if (!strcmp(dtype, "F16") || !strcmp(dtype, "BF16") || !strcmp(dtype, "I16") || !strcmp(dtype, "U16")) return 2;
    return 1;
}

static int is_float(const char *dtype) {
    return !strcmp(dtype, "F32") || !strcmp(dtype, "F16") || !strcmp(dtype, "BF16") || !strcmp(dtype, "F64");
}

static uint64_t load_le(const uint8_t *p, size_t n) {
    uint64_t v = 0;
    for (size_t b = n; b-- > 0;) v = v << 8 | p[b];
    return v;
}

static uint32_t bits_of(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* Element i of a float tensor's raw bytes, converted the way the reader must. */
static int element_matches(const char *dtype, const uint8_t *raw, size_t i, float got) {
    if (!strcmp(dtype, "F32")) return bits_of(got) == (uint32_t)load_le(raw + 4 * i, 4);
    if (!strcmp(dtype, "F16")) return ub__f16_from_float(got) == (uint16_t)load_le(raw + 2 * i, 2);
    if (!strcmp(dtype, "BF16")) return bits_of(got) == (uint32_t)load_le(raw + 2 * i, 2) << 16;
    uint64_t u = load_le(raw + 8 * i, 8);
    double d;
    memcpy(&d, &u, sizeof d);
    float want = (float)d;
    return isnan(d) ? isnan(got) : bits_of(got) == bits_of(want);
}

static void check_failure(ub_status st, const ub__safetensors *out) {
    const char *msg = ub_last_error(fuzz_ctx());
    FUZZ_CHECK(st < 0 && out == NULL);
    FUZZ_CHECK(strncmp(msg, FUZZ_NAME, sizeof FUZZ_NAME - 1) == 0 && msg[sizeof FUZZ_NAME - 1] == ':');
    FUZZ_CHECK(strlen(msg) > sizeof FUZZ_NAME + 1 && !strchr(msg, '\n') && !strchr(msg, '\r'));
}

/* Reads tensor i as float and checks every element; adds it to the writer. */
static void check_float_tensor(const ub__safetensors *st, int i, ub__st_writer *w) {
    ub_ctx *ctx = fuzz_ctx();
    const char *name = ub__st_name(st, i), *dtype = ub__st_dtype(st, i);
    int64_t dims[UB__ST_MAX_RANK + 1];
    int rank = ub__st_shape(st, i, dims);
    size_t bytes;
    const uint8_t *raw = ub__st_data(st, i, &bytes);
    size_t n = bytes / dtype_size(dtype);
    float *v = malloc(n ? n * sizeof *v : 1);
    if (!v) return;
    FUZZ_CHECK(ub__st_read_f32(ctx, st, name, rank, dims, v) == UB_OK);
    for (size_t e = 0; e < n; e++) FUZZ_CHECK(element_matches(dtype, raw, e, v[e]));
    if (rank < UB__ST_MAX_RANK) {
        dims[rank] = 1;
        FUZZ_CHECK(ub__st_read_f32(ctx, st, name, rank + 1, dims, v) == UB_ERR_MISMATCH);
    }
    const char *wtype = strcmp(dtype, "F64") ? dtype : "F32";
    FUZZ_CHECK(ub__st_writer_add(ctx, w, name, wtype, rank, dims, v) == UB_OK);
    free(v);
}

/* The writer's file must read back with the same tensors (same bits) and metadata. */
static void check_round_trip(const ub__safetensors *st, const ub__st_writer *w, int floats) {
    ub_ctx *ctx = fuzz_ctx();
    void *bytes = NULL;
    size_t size = 0;
    FUZZ_CHECK(ub__st_writer_encode(ctx, w, &bytes, &size) == UB_OK);
    ub__safetensors *back = NULL;
    FUZZ_CHECK(ub__st_open_memory(ctx, bytes, size, "<round trip>", &back) == UB_OK);
    FUZZ_CHECK(ub__st_count(back) == floats && ub__st_meta_count(back) == ub__st_meta_count(st));
    for (int m = 0; m < ub__st_meta_count(st); m++) {
        const char *key = ub__st_meta_key(st, m), *value = ub__st_meta(back, key);
        FUZZ_CHECK(value && strcmp(value, ub__st_meta(st, key)) == 0);
    }
    for (int i = 0; i < ub__st_count(back); i++) {
        const char *name = ub__st_name(back, i);
        int j = ub__st_find(st, name);
        FUZZ_CHECK(j >= 0);
        int64_t a[UB__ST_MAX_RANK], b[UB__ST_MAX_RANK];
        int rank = ub__st_shape(st, j, a);
        FUZZ_CHECK(ub__st_shape(back, i, b) == rank && memcmp(a, b, (size_t)rank * sizeof *a) == 0);
        size_t na, nb;
        const void *ra = ub__st_data(st, j, &na), *rb = ub__st_data(back, i, &nb);
        if (strcmp(ub__st_dtype(st, j), "F64") == 0) FUZZ_CHECK(nb * 2 == na);
        else FUZZ_CHECK(nb == na && (na == 0 || memcmp(ra, rb, na) == 0));
    }
    ub__st_close(&back);
    free(bytes);
}

static void check_success(const ub__safetensors *st, const uint8_t *data, size_t data_size) {
    ub_ctx *ctx = fuzz_ctx();
    const int count = ub__st_count(st);
    FUZZ_CHECK(count >= 0 && ub__st_name(st, count) == NULL && ub__st_dtype(st, -1) == NULL);
    ub__st_writer *w = ub__st_writer_create(ctx);
    FUZZ_CHECK(w != NULL);
    size_t offset = 0, elements = 0;
    int floats = 0;
    for (int i = 0; i < count; i++) {
        const char *name = ub__st_name(st, i), *dtype = ub__st_dtype(st, i);
        FUZZ_CHECK(name && dtype && ub__st_find(st, name) == i);
        int64_t dims[UB__ST_MAX_RANK];
        int rank = ub__st_shape(st, i, dims);
        FUZZ_CHECK(rank >= 0 && rank <= UB__ST_MAX_RANK);
        size_t bytes, n = 1;
        const uint8_t *raw = ub__st_data(st, i, &bytes);
        for (int d = 0; d < rank; d++) FUZZ_CHECK(dims[d] >= 0 && !__builtin_mul_overflow(n, (size_t)dims[d], &n));
        FUZZ_CHECK(n * dtype_size(dtype) == bytes && offset + bytes <= data_size);
        FUZZ_CHECK(bytes == 0 ? raw == NULL : (raw && memcmp(raw, data + offset, bytes) == 0));
        offset += bytes;
        if (!is_float(dtype)) {
            float dummy;
            FUZZ_CHECK(ub__st_read_f32(ctx, st, name, rank, dims, &dummy) == UB_ERR_UNSUPPORTED);
        } else if ((elements += n) <= FUZZ_ST_MAX_ELEMENTS) {
            check_float_tensor(st, i, w);
            floats++;
        }
    }
    FUZZ_CHECK(offset == data_size);
    FUZZ_CHECK(ub__st_read_f32(ctx, st, "\x01missing", 0, NULL, &(float){0}) == UB_ERR_FORMAT ||
               ub__st_find(st, "\x01missing") >= 0);
    for (int m = 0; m < ub__st_meta_count(st); m++) {
        const char *key = ub__st_meta_key(st, m);
        FUZZ_CHECK(key && ub__st_meta(st, key) && ub__st_writer_meta(ctx, w, key, ub__st_meta(st, key)) == UB_OK);
    }
    check_round_trip(st, w, floats);
    ub__st_writer_destroy(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* an exact-size copy (ASan catches reads past its end), with the length fixed for even sizes */
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) return 0;
    if (size) memcpy(copy, data, size);
    if (size >= 8 && size % 2 == 0) {
        size_t n = json_object_length(copy + 8, size - 8);
        if (n)
            for (int b = 0; b < 8; b++) copy[b] = (uint8_t)((uint64_t)n >> (8 * b));
    }
    (void)fuzz_check_image; /* fuzz_common.h's check for images: not for this target */
    ub_ctx *ctx = fuzz_ctx();
    ub__safetensors *st = (ub__safetensors *)&st; /* must be set to NULL on failure */
    ub_status status = ub__st_open_memory(ctx, copy, size, FUZZ_NAME, &st);
    if (status != UB_OK) check_failure(status, st);
    else {
        const size_t header = (size_t)load_le(copy, 8);
        check_success(st, copy + 8 + header, size - 8 - header);
        ub__st_close(&st);
        FUZZ_CHECK(st == NULL);
    }
    free(copy);
    return 0;
}
