/* nn/safetensors.c — the safetensors weight format (see safetensors.h).

   Reading validates the header completely (with jansson) against the data
   buffer's size before the data is even read from the file, so that a hostile
   file costs at most its header in memory and never an out-of-bounds access.
   Every byte of tensor data is assembled explicitly as little-endian, so the
   code does not depend on the host's byte order or on any alignment. */
#include "nn/safetensors.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/internal.h"

/* ------------------------------------------------------------------ dtypes */

enum { DT_BOOL, DT_U8, DT_I8, DT_F8_E5M2, DT_F8_E4M3, DT_I16, DT_U16, DT_F16, DT_BF16,
       DT_I32, DT_U32, DT_F32, DT_I64, DT_U64, DT_F64, DT_COUNT };

typedef struct st_dtype {
    const char *name;
    unsigned size;  /* bytes per element */
    int is_float;   /* readable by ub__st_read_f32 */
} st_dtype;

/* The byte-sized dtypes of the format (the sub-byte F4/F6 ones are not handled). */
static const st_dtype DTYPES[DT_COUNT] = {
    [DT_BOOL] = {"BOOL", 1, 0}, [DT_U8] = {"U8", 1, 0},     [DT_I8] = {"I8", 1, 0},
    [DT_F8_E5M2] = {"F8_E5M2", 1, 0}, [DT_F8_E4M3] = {"F8_E4M3", 1, 0},
    [DT_I16] = {"I16", 2, 0},   [DT_U16] = {"U16", 2, 0},   [DT_F16] = {"F16", 2, 1},
    [DT_BF16] = {"BF16", 2, 1}, [DT_I32] = {"I32", 4, 0},   [DT_U32] = {"U32", 4, 0},
    [DT_F32] = {"F32", 4, 1},   [DT_I64] = {"I64", 8, 0},   [DT_U64] = {"U64", 8, 0},
    [DT_F64] = {"F64", 8, 1},
};

static int dtype_lookup(const char *name) {
    for (int i = 0; i < DT_COUNT; i++)
        if (strcmp(DTYPES[i].name, name) == 0) return i;
    return -1;
}

/* ------------------------------------------------------- half and bfloat16 */

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

/* Rounds m >> shift to nearest, ties to even (shift >= 1). */
static uint32_t shift_round_even(uint32_t m, int shift) {
    uint32_t q = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    return q + (rem > half || (rem == half && (q & 1)));
}

uint16_t ub__f16_from_float(float f) {
    const uint32_t u = bits_of(f), sign = (u >> 16) & 0x8000, mag = u & 0x7fffffff;
    if (mag >= 0x7f800000) { /* infinity, or NaN: keep the payload's top bits, but stay a NaN */
        uint32_t payload = (mag & 0x007fffff) >> 13;
        if (mag > 0x7f800000 && payload == 0) payload = 1;
        return (uint16_t)(sign | 0x7c00 | payload);
    }
    if (mag >= 0x477ff000) return (uint16_t)(sign | 0x7c00); /* >= 65520 rounds to infinity */
    const int exp = (int)(mag >> 23);
    if (exp >= 113) /* a normal half: rebias 127 -> 15; a carry out of the mantissa bumps the exponent, as it should */
        return (uint16_t)(sign | shift_round_even(((uint32_t)(exp - 112) << 23) | (mag & 0x007fffff), 13));
    if (exp < 102) return (uint16_t)sign; /* below 2^-25: rounds to zero (2^-25 itself is a tie, to even 0) */
    /* a subnormal half, in units of 2^-24: mantissa (with its implicit 1) * 2^(exp-150) / 2^-24;
       rounding up from the largest subnormal gives 0x0400, the smallest normal, as it should */
    return (uint16_t)(sign | shift_round_even((mag & 0x007fffff) | 0x00800000, 126 - exp));
}

float ub__float_from_f16(uint16_t h) {
    const uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f;
    uint32_t mant = h & 0x3ff;
    if (exp == 0x1f) return float_of(sign | 0x7f800000 | (mant << 13));
    if (exp) return float_of(sign | ((exp + 112) << 23) | (mant << 13));
    if (!mant) return float_of(sign);
    /* subnormal: mant * 2^-24, normalised so that bit 10 is the implicit 1 */
    int shift = 0;
    while (!(mant & 0x400)) mant <<= 1, shift++;
    return float_of(sign | ((uint32_t)(127 - 14 - shift) << 23) | ((mant & 0x3ff) << 13));
}

uint16_t ub__bf16_from_float(float f) {
    const uint32_t u = bits_of(f);
    if ((u & 0x7fffffff) > 0x7f800000) { /* NaN: truncate the payload, but stay a NaN */
        uint32_t b = u >> 16;
        return (uint16_t)((b & 0x7f) ? b : b | 0x40);
    }
    /* ties to even; a carry past the largest finite value correctly gives infinity */
    return (uint16_t)((u + 0x7fff + ((u >> 16) & 1)) >> 16);
}

float ub__float_from_bf16(uint16_t b) { return float_of((uint32_t)b << 16); }

/* ---------------------------------------------------------------- messages */

/* The context's one-line message "FILE: ...": control characters (a tensor
   name may hold "\n" through a JSON escape) become '?'. */
static ub_status st_fail(ub_ctx *ctx, ub_status status, const char *file, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static ub_status st_fail(ub_ctx *ctx, ub_status status, const char *file, const char *fmt, ...) {
    char msg[UB_ERRMSG_MAX];
    int n = snprintf(msg, sizeof msg, "%s: ", file);
    if (n < 0) n = 0;
    if ((size_t)n < sizeof msg) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
        va_end(ap);
    }
    for (char *p = msg; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = '?';
    return ub__fail(ctx, status, "%s", msg);
}

/* "[8, 3, 3, 3]" */
static const char *format_shape(char *buf, size_t size, int rank, const int64_t *dims) {
    size_t n = (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < rank && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s%lld", i ? ", " : "", (long long)dims[i]);
    if (n < size) snprintf(buf + n, size - n, "]");
    return buf;
}

#define SHAPE_TEXT 256 /* room for 8 dimensions of 20 digits */

/* ------------------------------------------------------------------ reader */

typedef struct st_tensor {
    char *name;
    int dtype;
    int rank;
    int64_t dims[UB__ST_MAX_RANK];
    uint64_t begin, end; /* in the data buffer */
} st_tensor;

typedef struct st_pair {
    char *key, *value;
} st_pair;

struct ub__safetensors {
    char *path;
    st_tensor *tensors; /* in data order */
    int count;
    st_pair *meta;
    int meta_count;
    uint8_t *data;
    uint64_t data_size;
};

static char *copy_string(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static uint64_t load_u64_le(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

/* A JSON integer >= 0, else false. */
static bool json_natural(const json_t *v, uint64_t *out) {
    if (!json_is_integer(v) || json_integer_value(v) < 0) return false;
    *out = (uint64_t)json_integer_value(v);
    return true;
}

static ub_status parse_shape(ub_ctx *ctx, const char *file, const char *name, const json_t *shape,
                             st_tensor *t, uint64_t *count) {
    if (!json_is_array(shape)) return st_fail(ctx, UB_ERR_FORMAT, file, "tensor %s: shape is not a list", name);
    size_t rank = json_array_size(shape);
    if (rank > UB__ST_MAX_RANK)
        return st_fail(ctx, UB_ERR_FORMAT, file, "tensor %s: shape has %zu dimensions (at most %d)", name, rank,
                       UB__ST_MAX_RANK);
    t->rank = (int)rank;
    *count = 1;
    bool overflow = false;
    for (size_t d = 0; d < rank; d++) {
        uint64_t n;
        if (!json_natural(json_array_get(shape, d), &n))
            return st_fail(ctx, UB_ERR_FORMAT, file, "tensor %s: shape element %zu is not a non-negative integer",
                           name, d);
        t->dims[d] = (int64_t)n;
        overflow |= __builtin_mul_overflow(*count, n, count);
    }
    if (overflow) {
        char s[SHAPE_TEXT];
        return st_fail(ctx, UB_ERR_FORMAT, file, "tensor %s: shape %s has too many elements", name,
                       format_shape(s, sizeof s, t->rank, t->dims));
    }
    return UB_OK;
}

static ub_status parse_offsets(ub_ctx *ctx, const char *file, const char *name, const json_t *offsets,
                               uint64_t data_size, st_tensor *t) {
    if (!json_is_array(offsets) || json_array_size(offsets) != 2 ||
        !json_natural(json_array_get(offsets, 0), &t->begin) || !json_natural(json_array_get(offsets, 1), &t->end))
        return st_fail(ctx, UB_ERR_FORMAT, file, "tensor %s: data_offsets is not a list of two non-negative integers",
                       name);
    unsigned long long b = t->begin, e = t->end;
    if (b > e) return st_fail(ctx, UB_ERR_FORMAT, file, "tensor %s: data_offsets [%llu, %llu] are reversed", name, b, e);
    if (e > data_size)
        return st_fail(ctx, UB_ERR_FORMAT, file,
                       "tensor %s: data_offsets [%llu, %llu] run past the end of the data (%llu bytes)", name, b, e,
                       (unsigned long long)data_size);
    return UB_OK;
}

/* One tensor entry: an object with exactly dtype, shape and data_offsets, all consistent. */
static ub_status parse_entry(ub_ctx *ctx, const char *file, const char *name, const json_t *v, uint64_t data_size,
                             st_tensor *t) {
    if (!json_is_object(v)) return st_fail(ctx, UB_ERR_FORMAT, file, "tensor %s: entry is not an object", name);
    static const char *const keys[3] = {"dtype", "shape", "data_offsets"};
    for (int k = 0; k < 3; k++)
        if (!json_object_get(v, keys[k]))
            return st_fail(ctx, UB_ERR_FORMAT, file, "tensor %s: no \"%s\"", name, keys[k]);
    if (json_object_size(v) != 3) {
        const char *key;
        const json_t *value;
        json_object_foreach((json_t *)v, key, value) {
            (void)value;
            if (strcmp(key, keys[0]) && strcmp(key, keys[1]) && strcmp(key, keys[2]))
                return st_fail(ctx, UB_ERR_FORMAT, file, "tensor %s: unexpected key \"%s\"", name, key);
        }
    }
    const json_t *dtype = json_object_get(v, "dtype");
    if (!json_is_string(dtype)) return st_fail(ctx, UB_ERR_FORMAT, file, "tensor %s: dtype is not a string", name);
    if ((t->dtype = dtype_lookup(json_string_value(dtype))) < 0)
        return st_fail(ctx, UB_ERR_UNSUPPORTED, file, "tensor %s: unknown dtype \"%s\"", name,
                       json_string_value(dtype));
    uint64_t count = 0, bytes;
    ub_status s = parse_shape(ctx, file, name, json_object_get(v, "shape"), t, &count);
    if (!s) s = parse_offsets(ctx, file, name, json_object_get(v, "data_offsets"), data_size, t);
    if (s) return s;
    char shape_text[SHAPE_TEXT];
    format_shape(shape_text, sizeof shape_text, t->rank, t->dims);
    if (__builtin_mul_overflow(count, (uint64_t)DTYPES[t->dtype].size, &bytes))
        return st_fail(ctx, UB_ERR_FORMAT, file, "tensor %s: %s %s is too large", name, DTYPES[t->dtype].name,
                       shape_text);
    if (t->end - t->begin != bytes)
        return st_fail(ctx, UB_ERR_FORMAT, file, "tensor %s: data_offsets [%llu, %llu] do not match %s %s (%llu bytes)",
                       name, (unsigned long long)t->begin, (unsigned long long)t->end, DTYPES[t->dtype].name,
                       shape_text, (unsigned long long)bytes);
    if (!(t->name = copy_string(name))) return st_fail(ctx, UB_ERR_NOMEM, file, "out of memory");
    return UB_OK;
}

static ub_status parse_metadata(ub_ctx *ctx, ub__safetensors *st, const json_t *meta) {
    if (!json_is_object(meta)) return st_fail(ctx, UB_ERR_FORMAT, st->path, "__metadata__ is not an object");
    size_t n = json_object_size(meta);
    if (n && !(st->meta = calloc(n, sizeof *st->meta))) return st_fail(ctx, UB_ERR_NOMEM, st->path, "out of memory");
    const char *key;
    const json_t *value;
    json_object_foreach((json_t *)meta, key, value) {
        if (!json_is_string(value))
            return st_fail(ctx, UB_ERR_FORMAT, st->path, "__metadata__ \"%s\" is not a string", key);
        st_pair *p = &st->meta[st->meta_count++];
        p->key = copy_string(key);
        p->value = copy_string(json_string_value(value));
        if (!p->key || !p->value) return st_fail(ctx, UB_ERR_NOMEM, st->path, "out of memory");
    }
    return UB_OK;
}

/* Data order; zero-sized tensors before the one starting where they sit, then by name (unique). */
static int compare_offsets(const void *pa, const void *pb) {
    const st_tensor *a = pa, *b = pb;
    if (a->begin != b->begin) return a->begin < b->begin ? -1 : 1;
    if (a->end != b->end) return a->end < b->end ? -1 : 1;
    return strcmp(a->name, b->name);
}

/* Sorted by offset, the tensors must cover [0, data_size) exactly once. */
static ub_status check_tiling(ub_ctx *ctx, ub__safetensors *st) {
    if (st->count > 1) qsort(st->tensors, (size_t)st->count, sizeof *st->tensors, compare_offsets);
    uint64_t pos = 0;
    for (int i = 0; i < st->count; i++) {
        const st_tensor *t = &st->tensors[i];
        if (t->begin > pos)
            return st_fail(ctx, UB_ERR_FORMAT, st->path, "a hole at byte %llu of the data (before tensor %s)",
                           (unsigned long long)pos, t->name);
        if (t->begin < pos) {
            const st_tensor *prev = &st->tensors[i - 1];
            return st_fail(ctx, UB_ERR_FORMAT, st->path,
                           "tensors %s [%llu, %llu] and %s [%llu, %llu] have overlapping offsets", prev->name,
                           (unsigned long long)prev->begin, (unsigned long long)prev->end, t->name,
                           (unsigned long long)t->begin, (unsigned long long)t->end);
        }
        pos = t->end;
    }
    if (pos < st->data_size)
        return st_fail(ctx, UB_ERR_FORMAT, st->path, "a hole at byte %llu of the data (after the last tensor; %llu bytes)",
                       (unsigned long long)pos, (unsigned long long)st->data_size);
    return UB_OK;
}

static ub_status parse_json(ub_ctx *ctx, ub__safetensors *st, const json_t *root) {
    if (!json_is_object(root)) return st_fail(ctx, UB_ERR_FORMAT, st->path, "header is not a JSON object");
    const json_t *meta = json_object_get(root, "__metadata__");
    size_t n = json_object_size(root) - (meta != NULL);
    if (n > (size_t)INT32_MAX) return st_fail(ctx, UB_ERR_LIMIT, st->path, "too many tensors (%zu)", n);
    if (n && !(st->tensors = calloc(n, sizeof *st->tensors)))
        return st_fail(ctx, UB_ERR_NOMEM, st->path, "out of memory");
    const char *key;
    const json_t *value;
    json_object_foreach((json_t *)root, key, value) {
        if (value == meta) continue;
        ub_status s = parse_entry(ctx, st->path, key, value, st->data_size, &st->tensors[st->count]);
        if (s) return s;
        st->count++;
    }
    ub_status s = meta ? parse_metadata(ctx, st, meta) : UB_OK;
    return s ? s : check_tiling(ctx, st);
}

static ub_status parse_header(ub_ctx *ctx, ub__safetensors *st, const char *header, size_t len) {
    json_error_t err;
    json_t *root = json_loadb(header, len, JSON_REJECT_DUPLICATES, &err);
    if (!root) {
        if (json_error_code(&err) == json_error_duplicate_key)
            return st_fail(ctx, UB_ERR_FORMAT, st->path, "header: a name appears twice (%s, byte %d)", err.text,
                           err.position);
        return st_fail(ctx, UB_ERR_FORMAT, st->path, "header is not valid JSON: %s (byte %d)", err.text,
                       err.position);
    }
    ub_status s = parse_json(ctx, st, root);
    json_decref(root);
    return s;
}

/* The 8-byte prefix: a header length that fits in the file and under the limit. */
static ub_status check_header_length(ub_ctx *ctx, const char *file, const uint8_t prefix[8], uint64_t file_size,
                                     uint64_t *header_len) {
    uint64_t n = load_u64_le(prefix);
    if (n > UB__ST_MAX_HEADER)
        return st_fail(ctx, UB_ERR_FORMAT, file, "header length %llu is over the limit of %llu bytes",
                       (unsigned long long)n, (unsigned long long)UB__ST_MAX_HEADER);
    if (n > file_size - 8)
        return st_fail(ctx, UB_ERR_FORMAT, file, "header length %llu runs past the end of the file (%llu bytes)",
                       (unsigned long long)n, (unsigned long long)file_size);
    *header_len = n;
    return UB_OK;
}

static ub_status check_file_size(ub_ctx *ctx, const char *file, uint64_t size) {
    if (size < 8)
        return st_fail(ctx, UB_ERR_FORMAT, file, "too short for a safetensors file (%llu bytes)",
                       (unsigned long long)size);
    return UB_OK;
}

static ub_status st_create(ub_ctx *ctx, const char *file, ub__safetensors **out) {
    ub__safetensors *st = calloc(1, sizeof *st);
    if (st) st->path = copy_string(file);
    if (!st || !st->path) {
        free(st);
        return st_fail(ctx, UB_ERR_NOMEM, file, "out of memory");
    }
    *out = st;
    return UB_OK;
}

/* The data buffer (at least one byte, so that an empty one is not NULL). */
static ub_status alloc_data(ub_ctx *ctx, ub__safetensors *st) {
    if (st->data_size > SIZE_MAX || !(st->data = ub__alloc(st->data_size ? (size_t)st->data_size : 1)))
        return st_fail(ctx, UB_ERR_NOMEM, st->path, "out of memory for %llu bytes of data",
                       (unsigned long long)st->data_size);
    return UB_OK;
}

ub_status ub__st_open_memory(ub_ctx *ctx, const void *bytes, size_t size, const char *name,
                             ub__safetensors **out) {
    if (!out) return ub__fail(ctx, UB_ERR_INVALID, "ub__st_open_memory: NULL argument");
    *out = NULL;
    if (!name) name = "<memory>";
    if (!bytes && size) return ub__fail(ctx, UB_ERR_INVALID, "ub__st_open_memory: NULL argument");
    const uint8_t *b = bytes;
    uint64_t header_len = 0;
    ub_status s = check_file_size(ctx, name, size);
    if (!s) s = check_header_length(ctx, name, b, size, &header_len);
    ub__safetensors *st = NULL;
    if (!s) s = st_create(ctx, name, &st);
    if (s) return s;
    st->data_size = size - 8 - header_len;
    s = parse_header(ctx, st, (const char *)b + 8, (size_t)header_len);
    if (!s) s = alloc_data(ctx, st);
    if (s) {
        ub__st_close(&st);
        return s;
    }
    if (st->data_size) memcpy(st->data, b + 8 + header_len, (size_t)st->data_size);
    *out = st;
    return UB_OK;
}

/* Reads exactly n bytes, or fails naming the file. */
static ub_status read_exact(ub_ctx *ctx, const char *path, FILE *fp, void *buf, size_t n) {
    if (n && fread(buf, 1, n, fp) != n) {
        if (ferror(fp)) return st_fail(ctx, UB_ERR_IO, path, "cannot read: %s", strerror(errno));
        return st_fail(ctx, UB_ERR_FORMAT, path, "is truncated (it shrank while being read)");
    }
    return UB_OK;
}

static ub_status open_file(ub_ctx *ctx, const char *path, FILE *fp, ub__safetensors **out) {
    struct stat info;
    if (fstat(fileno(fp), &info) != 0) return st_fail(ctx, UB_ERR_IO, path, "cannot read: %s", strerror(errno));
    if (S_ISDIR(info.st_mode)) return st_fail(ctx, UB_ERR_IO, path, "is a directory");
    if (!S_ISREG(info.st_mode)) return st_fail(ctx, UB_ERR_IO, path, "is not a regular file");
    uint64_t size = (uint64_t)info.st_size, header_len = 0;
    uint8_t prefix[8];
    ub_status s = check_file_size(ctx, path, size);
    if (!s) s = read_exact(ctx, path, fp, prefix, 8);
    if (!s) s = check_header_length(ctx, path, prefix, size, &header_len);
    if (s) return s;
    char *header = malloc(header_len ? (size_t)header_len : 1);
    if (!header) return st_fail(ctx, UB_ERR_NOMEM, path, "out of memory for a %llu-byte header",
                                (unsigned long long)header_len);
    ub__safetensors *st = NULL;
    s = read_exact(ctx, path, fp, header, (size_t)header_len);
    if (!s) s = st_create(ctx, path, &st);
    if (!s) {
        st->data_size = size - 8 - header_len;
        s = parse_header(ctx, st, header, (size_t)header_len);
    }
    free(header);
    /* only now, with the header known good, is the data read */
    if (!s) s = alloc_data(ctx, st);
    if (!s) s = read_exact(ctx, path, fp, st->data, (size_t)st->data_size);
    if (s) {
        ub__st_close(&st);
        return s;
    }
    *out = st;
    return UB_OK;
}

ub_status ub__st_open(ub_ctx *ctx, const char *path, ub__safetensors **out) {
    if (!out) return ub__fail(ctx, UB_ERR_INVALID, "ub__st_open: NULL argument");
    *out = NULL;
    if (!path || !*path) return ub__fail(ctx, UB_ERR_INVALID, "ub__st_open: empty file name");
    FILE *fp = fopen(path, "rb");
    if (!fp) return st_fail(ctx, UB_ERR_IO, path, "cannot open: %s", strerror(errno));
    ub_status s = open_file(ctx, path, fp, out);
    fclose(fp);
    return s;
}

void ub__st_close(ub__safetensors **pst) {
    if (!pst || !*pst) return;
    ub__safetensors *st = *pst;
    for (int i = 0; i < st->count; i++) free(st->tensors[i].name);
    free(st->tensors);
    for (int i = 0; i < st->meta_count; i++) {
        free(st->meta[i].key);
        free(st->meta[i].value);
    }
    free(st->meta);
    ub__free(st->data);
    free(st->path);
    free(st);
    *pst = NULL;
}

/* ---------------------------------------------------------------- accessors */

static const st_tensor *tensor_at(const ub__safetensors *st, int i) {
    return st && i >= 0 && i < st->count ? &st->tensors[i] : NULL;
}

int ub__st_count(const ub__safetensors *st) { return st ? st->count : 0; }

const char *ub__st_name(const ub__safetensors *st, int i) {
    const st_tensor *t = tensor_at(st, i);
    return t ? t->name : NULL;
}

int ub__st_find(const ub__safetensors *st, const char *name) {
    if (!st || !name) return -1;
    for (int i = 0; i < st->count; i++)
        if (strcmp(st->tensors[i].name, name) == 0) return i;
    return -1;
}

int ub__st_shape(const ub__safetensors *st, int i, int64_t dims[UB__ST_MAX_RANK]) {
    const st_tensor *t = tensor_at(st, i);
    if (!t) return -1;
    if (dims) memcpy(dims, t->dims, (size_t)t->rank * sizeof *dims);
    return t->rank;
}

const char *ub__st_dtype(const ub__safetensors *st, int i) {
    const st_tensor *t = tensor_at(st, i);
    return t ? DTYPES[t->dtype].name : NULL;
}

const void *ub__st_data(const ub__safetensors *st, int i, size_t *size) {
    const st_tensor *t = tensor_at(st, i);
    size_t n = t ? (size_t)(t->end - t->begin) : 0;
    if (size) *size = n;
    return n ? st->data + t->begin : NULL;
}

const char *ub__st_meta(const ub__safetensors *st, const char *key) {
    if (!st || !key) return NULL;
    for (int i = 0; i < st->meta_count; i++)
        if (strcmp(st->meta[i].key, key) == 0) return st->meta[i].value;
    return NULL;
}

int ub__st_meta_count(const ub__safetensors *st) { return st ? st->meta_count : 0; }

const char *ub__st_meta_key(const ub__safetensors *st, int i) {
    return st && i >= 0 && i < st->meta_count ? st->meta[i].key : NULL;
}

const char *ub__st_path(const ub__safetensors *st) { return st ? st->path : NULL; }

/* --------------------------------------------------------- reading floats */

static void convert_to_float(float *out, const uint8_t *p, size_t n, int dtype) {
    switch (dtype) {
    case DT_F32:
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        memcpy(out, p, n * sizeof *out);
#else
        for (size_t i = 0; i < n; i++)
            out[i] = float_of((uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 | (uint32_t)p[4 * i + 2] << 16 |
                              (uint32_t)p[4 * i + 3] << 24);
#endif
        break;
    case DT_F16:
        for (size_t i = 0; i < n; i++) out[i] = ub__float_from_f16((uint16_t)(p[2 * i] | p[2 * i + 1] << 8));
        break;
    case DT_BF16:
        for (size_t i = 0; i < n; i++) out[i] = ub__float_from_bf16((uint16_t)(p[2 * i] | p[2 * i + 1] << 8));
        break;
    case DT_F64:
        for (size_t i = 0; i < n; i++) {
            uint64_t u = load_u64_le(p + 8 * i);
            double d;
            memcpy(&d, &u, sizeof d);
            out[i] = (float)d;
        }
        break;
    default:
        break;
    }
}

static bool same_shape(const st_tensor *t, int rank, const int64_t *shape) {
    if (t->rank != rank) return false;
    for (int d = 0; d < rank; d++)
        if (t->dims[d] != shape[d]) return false;
    return true;
}

ub_status ub__st_read_f32(ub_ctx *ctx, const ub__safetensors *st, const char *name, int rank, const int64_t *shape,
                          float *out) {
    if (!st || !name || !out || rank < 0 || rank > UB__ST_MAX_RANK || (rank && !shape))
        return ub__fail(ctx, UB_ERR_INVALID, "ub__st_read_f32: bad argument");
    const st_tensor *t = tensor_at(st, ub__st_find(st, name));
    if (!t) return st_fail(ctx, UB_ERR_FORMAT, st->path, "missing tensor %s", name);
    if (!same_shape(t, rank, shape)) {
        char have[SHAPE_TEXT], want[SHAPE_TEXT];
        return st_fail(ctx, UB_ERR_MISMATCH, st->path, "tensor %s has shape %s, expected %s", name,
                       format_shape(have, sizeof have, t->rank, t->dims), format_shape(want, sizeof want, rank, shape));
    }
    if (!DTYPES[t->dtype].is_float)
        return st_fail(ctx, UB_ERR_UNSUPPORTED, st->path, "tensor %s has dtype %s, expected a float type", name,
                       DTYPES[t->dtype].name);
    const size_t n = (size_t)(t->end - t->begin) / DTYPES[t->dtype].size;
    if (n) convert_to_float(out, st->data + t->begin, n, t->dtype);
    return UB_OK;
}

/* ------------------------------------------------------------------ writer */

typedef struct wr_tensor {
    char *name;
    int dtype;
    int rank;
    int64_t dims[UB__ST_MAX_RANK];
    uint8_t *bytes; /* little-endian, already converted */
    size_t size;
} wr_tensor;

struct ub__st_writer {
    wr_tensor *tensors;
    int count, cap;
    st_pair *meta;
    int meta_count, meta_cap;
};

ub__st_writer *ub__st_writer_create(ub_ctx *ctx) {
    ub__st_writer *w = calloc(1, sizeof *w);
    if (!w) ub__fail(ctx, UB_ERR_NOMEM, "safetensors writer: out of memory");
    return w;
}

void ub__st_writer_destroy(ub__st_writer **pw) {
    if (!pw || !*pw) return;
    ub__st_writer *w = *pw;
    for (int i = 0; i < w->count; i++) {
        free(w->tensors[i].name);
        free(w->tensors[i].bytes);
    }
    free(w->tensors);
    for (int i = 0; i < w->meta_count; i++) {
        free(w->meta[i].key);
        free(w->meta[i].value);
    }
    free(w->meta);
    free(w);
    *pw = NULL;
}

/* Grows *array (of *cap elements) to hold one more; false when out of memory. */
static bool grow(void **array, int *cap, int count, size_t elem) {
    if (count < *cap) return true;
    if (*cap > INT32_MAX / 2) return false;
    int n = *cap ? 2 * *cap : 16;
    void *p = realloc(*array, (size_t)n * elem);
    if (!p) return false;
    *array = p;
    *cap = n;
    return true;
}

/* Only valid UTF-8 can go into the JSON header. */
static bool valid_json_string(const char *s) {
    json_t *probe = json_string(s);
    json_decref(probe);
    return probe != NULL;
}

static void convert_from_float(uint8_t *p, const float *data, size_t n, int dtype) {
    for (size_t i = 0; i < n; i++) {
        if (dtype == DT_F32) {
            uint32_t u = bits_of(data[i]);
            for (int b = 0; b < 4; b++) p[4 * i + b] = (uint8_t)(u >> (8 * b));
        } else {
            uint16_t h = dtype == DT_F16 ? ub__f16_from_float(data[i]) : ub__bf16_from_float(data[i]);
            p[2 * i] = (uint8_t)h;
            p[2 * i + 1] = (uint8_t)(h >> 8);
        }
    }
}

static ub_status check_new_tensor(ub_ctx *ctx, const ub__st_writer *w, const char *name, const char *dtype, int rank,
                                  const int64_t *shape, size_t *count) {
    if (strcmp(name, "__metadata__") == 0 || !valid_json_string(name))
        return ub__fail(ctx, UB_ERR_INVALID, "safetensors writer: \"%s\" is not a valid tensor name", name);
    for (int i = 0; i < w->count; i++)
        if (strcmp(w->tensors[i].name, name) == 0)
            return ub__fail(ctx, UB_ERR_INVALID, "safetensors writer: tensor %s is already there", name);
    int dt = dtype_lookup(dtype);
    if (dt != DT_F32 && dt != DT_F16 && dt != DT_BF16)
        return ub__fail(ctx, UB_ERR_INVALID, "safetensors writer: tensor %s: dtype \"%s\" is not F32, F16 or BF16",
                        name, dtype);
    if (rank < 0 || rank > UB__ST_MAX_RANK || (rank && !shape))
        return ub__fail(ctx, UB_ERR_INVALID, "safetensors writer: tensor %s: rank %d is not in 0..%d", name, rank,
                        UB__ST_MAX_RANK);
    *count = 1;
    for (int d = 0; d < rank; d++)
        if (shape[d] < 0 || !ub__mul_size(*count, (size_t)shape[d], count))
            return ub__fail(ctx, UB_ERR_INVALID, "safetensors writer: tensor %s: bad shape", name);
    if (!ub__mul_size(*count, DTYPES[dt].size, &(size_t){0}))
        return ub__fail(ctx, UB_ERR_INVALID, "safetensors writer: tensor %s: too large", name);
    return UB_OK;
}

ub_status ub__st_writer_add(ub_ctx *ctx, ub__st_writer *w, const char *name, const char *dtype, int rank,
                            const int64_t *shape, const float *data) {
    if (!w || !name || !dtype) return ub__fail(ctx, UB_ERR_INVALID, "ub__st_writer_add: NULL argument");
    size_t count = 0;
    ub_status s = check_new_tensor(ctx, w, name, dtype, rank, shape, &count);
    if (s) return s;
    if (count && !data) return ub__fail(ctx, UB_ERR_INVALID, "ub__st_writer_add: tensor %s: NULL data", name);
    wr_tensor t = {.dtype = dtype_lookup(dtype), .rank = rank};
    if (rank) memcpy(t.dims, shape, (size_t)rank * sizeof *shape);
    t.size = count * DTYPES[t.dtype].size;
    t.name = copy_string(name);
    t.bytes = t.size ? malloc(t.size) : NULL;
    if (!t.name || (t.size && !t.bytes) || !grow((void **)&w->tensors, &w->cap, w->count, sizeof *w->tensors)) {
        free(t.name);
        free(t.bytes);
        return ub__fail(ctx, UB_ERR_NOMEM, "safetensors writer: tensor %s: out of memory", name);
    }
    convert_from_float(t.bytes, data, count, t.dtype);
    w->tensors[w->count++] = t;
    return UB_OK;
}

ub_status ub__st_writer_meta(ub_ctx *ctx, ub__st_writer *w, const char *key, const char *value) {
    if (!w || !key || !value) return ub__fail(ctx, UB_ERR_INVALID, "ub__st_writer_meta: NULL argument");
    if (!valid_json_string(key) || !valid_json_string(value))
        return ub__fail(ctx, UB_ERR_INVALID, "safetensors writer: metadata %s is not valid UTF-8", key);
    char *v = copy_string(value);
    if (!v) return ub__fail(ctx, UB_ERR_NOMEM, "safetensors writer: out of memory");
    for (int i = 0; i < w->meta_count; i++)
        if (strcmp(w->meta[i].key, key) == 0) {
            free(w->meta[i].value);
            w->meta[i].value = v;
            return UB_OK;
        }
    char *k = copy_string(key);
    if (!k || !grow((void **)&w->meta, &w->meta_cap, w->meta_count, sizeof *w->meta)) {
        free(k);
        free(v);
        return ub__fail(ctx, UB_ERR_NOMEM, "safetensors writer: out of memory");
    }
    w->meta[w->meta_count++] = (st_pair){k, v};
    return UB_OK;
}

/* {"dtype": ..., "shape": [...], "data_offsets": [begin, end]}, keys in that order. */
static json_t *tensor_entry(const wr_tensor *t, size_t begin) {
    json_t *shape = json_array(), *offsets = json_array(), *entry = json_object();
    bool ok = shape && offsets && entry;
    for (int d = 0; ok && d < t->rank; d++) ok = json_array_append_new(shape, json_integer(t->dims[d])) == 0;
    ok = ok && json_array_append_new(offsets, json_integer((json_int_t)begin)) == 0 &&
         json_array_append_new(offsets, json_integer((json_int_t)(begin + t->size))) == 0;
    ok = ok && json_object_set_new(entry, "dtype", json_string(DTYPES[t->dtype].name)) == 0;
    ok = ok && json_object_set(entry, "shape", shape) == 0 && json_object_set(entry, "data_offsets", offsets) == 0;
    json_decref(shape);
    json_decref(offsets);
    if (!ok) json_decref(entry);
    return ok ? entry : NULL;
}

/* The header JSON, tensors in the order added and __metadata__ last (as rbnet.py writes it). */
static char *header_json(const ub__st_writer *w, size_t *data_size) {
    json_t *root = json_object(), *meta = w->meta_count ? json_object() : NULL;
    bool ok = root && (meta || !w->meta_count);
    size_t offset = 0;
    for (int i = 0; ok && i < w->count; i++) {
        ok = json_object_set_new(root, w->tensors[i].name, tensor_entry(&w->tensors[i], offset)) == 0;
        offset += w->tensors[i].size;
    }
    for (int i = 0; ok && i < w->meta_count; i++)
        ok = json_object_set_new(meta, w->meta[i].key, json_string(w->meta[i].value)) == 0;
    if (ok && meta) ok = json_object_set(root, "__metadata__", meta) == 0;
    char *text = ok ? json_dumps(root, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    json_decref(meta);
    json_decref(root);
    *data_size = offset;
    return text;
}

ub_status ub__st_writer_encode(ub_ctx *ctx, const ub__st_writer *w, void **bytes, size_t *size) {
    if (!w || !bytes || !size) return ub__fail(ctx, UB_ERR_INVALID, "ub__st_writer_encode: NULL argument");
    *bytes = NULL;
    *size = 0;
    size_t data_size, total;
    char *header = header_json(w, &data_size);
    if (!header) return ub__fail(ctx, UB_ERR_NOMEM, "safetensors writer: out of memory");
    const size_t len = strlen(header), padded = (len + 7) / 8 * 8;
    if (padded > UB__ST_MAX_HEADER) {
        free(header);
        return ub__fail(ctx, UB_ERR_LIMIT, "safetensors writer: the header would be %zu bytes (at most %llu)", padded,
                        (unsigned long long)UB__ST_MAX_HEADER);
    }
    uint8_t *out = NULL;
    if (!__builtin_add_overflow(8 + padded, data_size, &total)) out = malloc(total);
    if (!out) {
        free(header);
        return ub__fail(ctx, UB_ERR_NOMEM, "safetensors writer: out of memory");
    }
    for (int b = 0; b < 8; b++) out[b] = (uint8_t)((uint64_t)padded >> (8 * b));
    memcpy(out + 8, header, len);
    memset(out + 8 + len, ' ', padded - len); /* the format allows trailing spaces; 8-byte alignment of the data */
    free(header);
    uint8_t *p = out + 8 + padded;
    for (int i = 0; i < w->count; i++) {
        if (w->tensors[i].size) memcpy(p, w->tensors[i].bytes, w->tensors[i].size);
        p += w->tensors[i].size;
    }
    *bytes = out;
    *size = total;
    return UB_OK;
}

ub_status ub__st_writer_save(ub_ctx *ctx, const ub__st_writer *w, const char *path) {
    if (!path) return ub__fail(ctx, UB_ERR_INVALID, "ub__st_writer_save: NULL argument");
    void *bytes;
    size_t size;
    ub_status s = ub__st_writer_encode(ctx, w, &bytes, &size);
    if (s) return s;
    s = ub_write_file_atomic(ctx, path, bytes, size);
    free(bytes);
    return s;
}
