/* train/dataset.c — the training set in memory and its deterministic sampler.
   See train/dataset.h for what is listed, kept, drawn and why. */
#include <dirent.h>
#include <errno.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "image/internal.h"
#include "train/dataset.h"

/* One image as kept: planar, at the file's precision. */
typedef struct stored_image {
    char *path;
    int64_t width, height;
    int planes;    /* 1 (grey, promoted to RGB when sampled) or 3 */
    int bit_depth; /* 8: uint8_t samples; 16: uint16_t */
    void *pixels;  /* planes x height x width */
} stored_image;

struct ub__dataset {
    stored_image *images;
    int count;
    char **skipped; /* paths of the images under min_side */
    int skipped_count;
    size_t bytes;
};

enum { MAX_FOLDER_DEPTH = 32 };

/* ======================================================================
   Listing
   ====================================================================== */

typedef struct path_list {
    char **items;
    size_t n, cap;
} path_list;

static void path_list_free(path_list *l) {
    for (size_t i = 0; i < l->n; i++) free(l->items[i]);
    free(l->items);
    memset(l, 0, sizeof *l);
}

/* Appends `owned` (freed on failure). */
static ub_status path_list_push(ub_ctx *ctx, path_list *l, char *owned) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        char **items = cap > SIZE_MAX / sizeof *items ? NULL : realloc(l->items, cap * sizeof *items);
        if (!items) {
            free(owned);
            return ub__fail(ctx, UB_ERR_NOMEM, "dataset: out of memory listing images");
        }
        l->items = items;
        l->cap = cap;
    }
    l->items[l->n++] = owned;
    return UB_OK;
}

static char *join_path(const char *dir, const char *name) {
    const size_t a = strlen(dir), b = strlen(name);
    const int slash = a > 0 && dir[a - 1] != '/';
    char *p = malloc(a + (size_t)slash + b + 1);
    if (!p) return NULL;
    memcpy(p, dir, a);
    if (slash) p[a] = '/';
    memcpy(p + a + slash, name, b + 1);
    return p;
}

static int compare_paths(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds the image files under `dir` (recursively) to `out`, in readdir order. */
static ub_status walk(ub_ctx *ctx, const char *dir, int depth, path_list *out) {
    if (depth > MAX_FOLDER_DEPTH)
        return ub__fail(ctx, UB_ERR_INVALID, "%s: folders nested more than %d deep (a link loop?)", dir,
                        MAX_FOLDER_DEPTH);
    DIR *d = opendir(dir);
    if (!d) return ub__fail(ctx, UB_ERR_IO, "%s: %s", dir, strerror(errno));
    ub_status st = UB_OK;
    const struct dirent *e;
    while (st == UB_OK && (errno = 0, e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue; /* ., .., and hidden files */
        char *path = join_path(dir, e->d_name);
        if (!path) {
            st = ub__fail(ctx, UB_ERR_NOMEM, "dataset: out of memory listing images");
            break;
        }
        const int image_name = ub_format_from_name(path) != UB_FORMAT_AUTO;
        struct stat sb;
        if (stat(path, &sb) != 0) {
            /* a dangling link: an error only if it claims to be an image */
            if (image_name) st = ub__fail(ctx, UB_ERR_IO, "%s: %s", path, strerror(errno));
            free(path);
        } else if (S_ISDIR(sb.st_mode)) {
            st = walk(ctx, path, depth + 1, out);
            free(path);
        } else if (S_ISREG(sb.st_mode) && image_name) {
            st = path_list_push(ctx, out, path);
        } else {
            free(path);
        }
    }
    if (st == UB_OK && errno) st = ub__fail(ctx, UB_ERR_IO, "%s: %s", dir, strerror(errno));
    closedir(d);
    return st;
}

/* Every image of the folders: sorted within each folder, folders in the order given. */
static ub_status list_images(ub_ctx *ctx, const char *const *folders, int nfolders, path_list *out) {
    for (int f = 0; f < nfolders; f++) {
        const size_t first = out->n;
        ub_status st = walk(ctx, folders[f], 0, out);
        if (st) return st;
        if (out->n > first) qsort(out->items + first, out->n - first, sizeof *out->items, compare_paths);
    }
    return UB_OK;
}

/* ======================================================================
   The id list
   ====================================================================== */

/* The file name without its folder and its last extension. */
static void stem_of(const char *path, const char **stem, size_t *len) {
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    const char *dot = strrchr(name, '.');
    *stem = name;
    *len = dot && dot != name ? (size_t)(dot - name) : strlen(name);
}

static ub_status read_text(ub_ctx *ctx, const char *path, char **out) {
    *out = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp) return ub__fail(ctx, UB_ERR_IO, "%s: %s", path, strerror(errno));
    size_t n = 0, cap = 4096;
    char *text = malloc(cap);
    ub_status st = text ? UB_OK : ub__fail(ctx, UB_ERR_NOMEM, "%s: out of memory", path);
    while (st == UB_OK) {
        if (cap - n < 2) {
            char *bigger = cap > SIZE_MAX / 4 ? NULL : realloc(text, cap * 2);
            if (!bigger) {
                st = ub__fail(ctx, UB_ERR_NOMEM, "%s: out of memory", path);
                break;
            }
            text = bigger, cap *= 2;
        }
        const size_t got = fread(text + n, 1, cap - n - 1, fp);
        n += got;
        if (got == 0) {
            if (ferror(fp)) st = ub__fail(ctx, UB_ERR_IO, "%s: read error", path);
            break;
        }
    }
    fclose(fp);
    if (st) {
        free(text);
        return st;
    }
    text[n] = '\0';
    *out = text;
    return UB_OK;
}

static int is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

/* Splits the id list in place into ids (pointers into `text`): comments after '#', blanks trimmed. */
static ub_status parse_ids(ub_ctx *ctx, const char *path, char *text, path_list *ids) {
    for (char *line = text; line && *line;) {
        char *next = strchr(line, '\n');
        if (next) *next++ = '\0';
        char *hash = strchr(line, '#');
        if (hash) *hash = '\0';
        while (is_blank(*line)) line++;
        size_t len = strlen(line);
        while (len > 0 && is_blank(line[len - 1])) line[--len] = '\0';
        if (len > 0) {
            char *id = strdup(line);
            ub_status st = id ? path_list_push(ctx, ids, id) : ub__fail(ctx, UB_ERR_NOMEM, "%s: out of memory", path);
            if (st) return st;
        }
        line = next;
    }
    return UB_OK;
}

typedef struct stem_entry {
    const char *stem;
    size_t len;
    size_t index; /* into the path list */
} stem_entry;

static int compare_stem(const char *a, size_t alen, const char *b, size_t blen) {
    const int c = memcmp(a, b, alen < blen ? alen : blen);
    return c ? c : (alen > blen) - (alen < blen);
}

static int compare_entries(const void *pa, const void *pb) {
    const stem_entry *a = pa, *b = pb;
    const int c = compare_stem(a->stem, a->len, b->stem, b->len);
    return c ? c : (a->index > b->index) - (a->index < b->index);
}

/* The first entry whose stem is not less than `id` (entries sorted). */
static size_t lower_bound(const stem_entry *e, size_t n, const char *id, size_t len) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        const size_t mid = lo + (hi - lo) / 2;
        if (compare_stem(e[mid].stem, e[mid].len, id, len) < 0) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* Marks in keep[] the images named by the ids; every id must name exactly one image. */
static ub_status match_ids(ub_ctx *ctx, const char *list_path, const path_list *ids, const path_list *paths,
                           unsigned char *keep) {
    stem_entry *e = calloc(paths->n ? paths->n : 1, sizeof *e);
    if (!e) return ub__fail(ctx, UB_ERR_NOMEM, "%s: out of memory", list_path);
    for (size_t i = 0; i < paths->n; i++) {
        stem_of(paths->items[i], &e[i].stem, &e[i].len);
        e[i].index = i;
    }
    if (paths->n) qsort(e, paths->n, sizeof *e, compare_entries);
    ub_status st = UB_OK;
    for (size_t k = 0; k < ids->n && st == UB_OK; k++) {
        const char *id = ids->items[k];
        const size_t len = strlen(id), at = lower_bound(e, paths->n, id, len);
        const int found = at < paths->n && compare_stem(e[at].stem, e[at].len, id, len) == 0;
        const int twice = found && at + 1 < paths->n && compare_stem(e[at + 1].stem, e[at + 1].len, id, len) == 0;
        if (!found)
            st = ub__fail(ctx, UB_ERR_INVALID, "%s: id '%s' matches no image in the folders given", list_path, id);
        else if (twice)
            st = ub__fail(ctx, UB_ERR_INVALID, "%s: id '%s' matches two images: %s and %s", list_path, id,
                          paths->items[e[at].index], paths->items[e[at + 1].index]);
        else keep[e[at].index] = 1;
    }
    free(e);
    return st;
}

/* Leaves in `paths` only the images the id list names (order kept). */
static ub_status filter_by_ids(ub_ctx *ctx, const char *list_path, path_list *paths) {
    char *text = NULL;
    path_list ids = {0};
    unsigned char *keep = calloc(paths->n ? paths->n : 1, 1);
    ub_status st = keep ? read_text(ctx, list_path, &text)
                        : ub__fail(ctx, UB_ERR_NOMEM, "%s: out of memory", list_path);
    if (st == UB_OK) st = parse_ids(ctx, list_path, text, &ids);
    if (st == UB_OK && ids.n == 0) st = ub__fail(ctx, UB_ERR_INVALID, "%s: the id list is empty", list_path);
    if (st == UB_OK) st = match_ids(ctx, list_path, &ids, paths, keep);
    if (st == UB_OK) {
        size_t kept = 0;
        for (size_t i = 0; i < paths->n; i++) {
            if (keep[i]) paths->items[kept++] = paths->items[i];
            else free(paths->items[i]);
        }
        paths->n = kept;
    }
    path_list_free(&ids);
    free(text);
    free(keep);
    return st;
}

/* ======================================================================
   Decoding and storage
   ====================================================================== */

/* Quantises the colour planes of `img` back to the codes of its file (exact: the reader gave k/255
   or k/65535); alpha is dropped. */
static ub_status compact(ub_ctx *ctx, const ub_image *img, const char *path, stored_image *out) {
    const int planes = ub_image_colour_channels(img), bits = img->bit_depth == 16 ? 16 : 8;
    size_t n, bytes;
    if (!ub__mul3_size((size_t)img->width, (size_t)img->height, (size_t)planes, &n) ||
        !ub__mul_size(n, (size_t)bits / 8, &bytes))
        return ub__fail(ctx, UB_ERR_LIMIT, "%s: too large", path);
    void *px = ub__alloc(bytes);
    if (!px) return ub__fail(ctx, UB_ERR_NOMEM, "%s: out of memory", path);
    if (bits == 16) {
        uint16_t *q = px;
        for (size_t i = 0; i < n; i++) q[i] = (uint16_t)ub__quantize(img->data[i], 65535);
    } else {
        uint8_t *q = px;
        for (size_t i = 0; i < n; i++) q[i] = (uint8_t)ub__quantize(img->data[i], 255);
    }
    out->width = img->width;
    out->height = img->height;
    out->planes = planes;
    out->bit_depth = bits;
    out->pixels = px;
    return UB_OK;
}

static size_t stored_bytes(const stored_image *im) {
    return (size_t)im->width * (size_t)im->height * (size_t)im->planes * (size_t)(im->bit_depth / 8);
}

/* Decodes one file into `slot`, or sets *too_small. */
static ub_status load_one(ub_ctx *ctx, const char *path, int min_side, stored_image *slot, unsigned char *too_small) {
    ub_image *img = NULL;
    ub_status st = ub_image_read(ctx, path, &img);
    if (st) return st;
    if (img->width < min_side || img->height < min_side) *too_small = 1;
    else st = compact(ctx, img, path, slot);
    ub_image_destroy(&img);
    return st;
}

static void destroy_contexts(ub_ctx **c, int n) {
    if (!c) return;
    for (int i = 0; i < n; i++) ub_ctx_destroy(&c[i]);
    free(c);
}

/* n single-threaded contexts with ctx's pixel limit, one per worker thread. */
static ub_status make_contexts(ub_ctx *ctx, int n, ub_ctx ***out) {
    *out = calloc((size_t)n, sizeof **out);
    if (!*out) return ub__fail(ctx, UB_ERR_NOMEM, "dataset: out of memory");
    ub_settings s;
    ub_default_settings(&s);
    s.threads = 1;
    s.max_pixels = ub_ctx_max_pixels(ctx);
    for (int i = 0; i < n; i++) {
        ub_status st = ub_ctx_create(&(*out)[i], &s);
        if (st) {
            destroy_contexts(*out, n);
            *out = NULL;
            return ub__fail(ctx, st, "dataset: cannot create a worker context");
        }
    }
    return UB_OK;
}

/* Decodes every path in parallel, a group at a time (progress and cancellation between groups).
   The error reported is that of the first failing file in listing order. */
static ub_status decode_all(ub_ctx *ctx, char *const *paths, int64_t n, int min_side, stored_image *slots,
                            unsigned char *too_small) {
    const int threads = (int)(n < ub_ctx_threads(ctx) ? n : ub_ctx_threads(ctx));
    ub_ctx **wctx = NULL;
    ub_status *status = calloc((size_t)n, sizeof *status);
    char **messages = calloc((size_t)n, sizeof *messages);
    ub_status st = status && messages ? make_contexts(ctx, threads, &wctx)
                                      : ub__fail(ctx, UB_ERR_NOMEM, "dataset: out of memory");
    const int64_t group = 4 * (int64_t)threads;
    for (int64_t first = 0; first < n && st == UB_OK; first += group) {
        const int64_t end = first + group < n ? first + group : n;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
        for (int64_t i = first; i < end; i++) {
            ub_ctx *wc = wctx[omp_get_thread_num()];
            status[i] = load_one(wc, paths[i], min_side, &slots[i], &too_small[i]);
            if (status[i]) messages[i] = strdup(ub_last_error(wc));
        }
        for (int64_t i = first; i < end && st == UB_OK; i++)
            if (status[i]) st = ub__fail(ctx, status[i], "%s", messages[i] ? messages[i] : paths[i]);
        if (st == UB_OK) st = ub__progress(ctx, (double)end / (double)n, "loading images");
    }
    destroy_contexts(wctx, threads);
    for (int64_t i = 0; messages && i < n; i++) free(messages[i]);
    free(messages);
    free(status);
    return st;
}

/* Moves the decoded images and the skipped names from `paths` into the dataset. */
static ub_status assemble(ub_ctx *ctx, path_list *paths, stored_image *slots, const unsigned char *too_small,
                          ub__dataset *ds) {
    size_t kept = 0;
    for (size_t i = 0; i < paths->n; i++) kept += !too_small[i];
    if (kept > (size_t)INT32_MAX || paths->n - kept > (size_t)INT32_MAX)
        return ub__fail(ctx, UB_ERR_LIMIT, "dataset: more than %d images", (int)INT32_MAX);
    ds->images = calloc(kept ? kept : 1, sizeof *ds->images);
    ds->skipped = calloc(paths->n - kept ? paths->n - kept : 1, sizeof *ds->skipped);
    if (!ds->images || !ds->skipped) return ub__fail(ctx, UB_ERR_NOMEM, "dataset: out of memory");
    for (size_t i = 0; i < paths->n; i++) {
        if (too_small[i]) {
            ds->skipped[ds->skipped_count++] = paths->items[i];
        } else {
            slots[i].path = paths->items[i];
            ds->bytes += stored_bytes(&slots[i]);
            ds->images[ds->count++] = slots[i];
            slots[i].pixels = NULL; /* now owned by the dataset */
        }
        paths->items[i] = NULL;
    }
    return UB_OK;
}

static ub_status check_open_args(ub_ctx *ctx, const char *const *folders, int nfolders, int min_side) {
    if (!folders || nfolders < 1) return ub__fail(ctx, UB_ERR_INVALID, "dataset: no folder given");
    for (int f = 0; f < nfolders; f++)
        if (!folders[f] || !*folders[f]) return ub__fail(ctx, UB_ERR_INVALID, "dataset: folder %d is empty", f + 1);
    if (min_side < 1) return ub__fail(ctx, UB_ERR_INVALID, "dataset: min_side %d is not positive", min_side);
    return UB_OK;
}

ub_status ub__dataset_open(ub_ctx *ctx, const char *const *folders, int nfolders, const char *id_list, int min_side,
                           ub__dataset **out) {
    if (!out) return ub__fail(ctx, UB_ERR_INVALID, "dataset: NULL output");
    *out = NULL;
    ub_status st = check_open_args(ctx, folders, nfolders, min_side);
    if (st) return st;
    path_list paths = {0};
    stored_image *slots = NULL;
    unsigned char *too_small = NULL;
    ub__dataset *ds = calloc(1, sizeof *ds);
    if (!ds) return ub__fail(ctx, UB_ERR_NOMEM, "dataset: out of memory");
    st = list_images(ctx, folders, nfolders, &paths);
    if (st == UB_OK && id_list) st = filter_by_ids(ctx, id_list, &paths);
    if (st == UB_OK && paths.n == 0) st = ub__fail(ctx, UB_ERR_INVALID, "%s: no PNG or JPEG image found", folders[0]);
    if (st == UB_OK) {
        slots = calloc(paths.n, sizeof *slots);
        too_small = calloc(paths.n, 1);
        if (!slots || !too_small) st = ub__fail(ctx, UB_ERR_NOMEM, "dataset: out of memory");
    }
    if (st == UB_OK) st = decode_all(ctx, paths.items, (int64_t)paths.n, min_side, slots, too_small);
    if (st == UB_OK) st = assemble(ctx, &paths, slots, too_small, ds);
    if (st == UB_OK && ds->count == 0)
        st = ub__fail(ctx, UB_ERR_INVALID, "%s: all %d images are smaller than %dx%d", folders[0], ds->skipped_count,
                      min_side, min_side);
    for (size_t i = 0; slots && i < paths.n; i++) ub__free(slots[i].pixels);
    free(slots);
    free(too_small);
    path_list_free(&paths);
    if (st) ub__dataset_close(&ds);
    *out = ds;
    return st;
}

void ub__dataset_close(ub__dataset **ds) {
    if (!ds || !*ds) return;
    ub__dataset *d = *ds;
    for (int i = 0; d->images && i < d->count; i++) {
        free(d->images[i].path);
        ub__free(d->images[i].pixels);
    }
    for (int i = 0; d->skipped && i < d->skipped_count; i++) free(d->skipped[i]);
    free(d->images);
    free(d->skipped);
    free(d);
    *ds = NULL;
}

int ub__dataset_count(const ub__dataset *ds) { return ds ? ds->count : 0; }

const char *ub__dataset_name(const ub__dataset *ds, int i) {
    return ds && i >= 0 && i < ds->count ? ds->images[i].path : NULL;
}

void ub__dataset_image_size(const ub__dataset *ds, int i, int64_t *width, int64_t *height) {
    const int ok = ds && i >= 0 && i < ds->count;
    if (width) *width = ok ? ds->images[i].width : 0;
    if (height) *height = ok ? ds->images[i].height : 0;
}

size_t ub__dataset_bytes(const ub__dataset *ds) { return ds ? ds->bytes : 0; }

int ub__dataset_skipped_count(const ub__dataset *ds) { return ds ? ds->skipped_count : 0; }

const char *ub__dataset_skipped_name(const ub__dataset *ds, int i) {
    return ds && i >= 0 && i < ds->skipped_count ? ds->skipped[i] : NULL;
}

/* ======================================================================
   Samples
   ====================================================================== */

/* The augmented image is the source mirrored left-right (if flip), then turned counter-clockwise
   `turns` times; its pixel (x, y) is source pixel origin + x * step_x + y * step_y (row-major). */
typedef struct axes {
    int64_t origin, step_x, step_y;
} axes;

static axes augment_axes(int64_t w, int64_t h, int flip, int turns) {
    /* per turn count, the mirrored source's column fx and row fy as functions of (x, y):
       fx = ox + xx x + xy y, fy = oy + yx x + yy y */
    static const int coef[4][4] = {{1, 0, 0, 1}, {0, -1, 1, 0}, {-1, 0, 0, -1}, {0, 1, -1, 0}}; /* xx xy yx yy */
    const int *k = coef[turns & 3];
    int64_t ox = (turns == 1 || turns == 2) ? w - 1 : 0, xx = k[0], xy = k[1];
    const int64_t oy = (turns == 2 || turns == 3) ? h - 1 : 0, yx = k[2], yy = k[3];
    if (flip) ox = w - 1 - ox, xx = -xx, xy = -xy; /* sx = w - 1 - fx */
    return (axes){oy * w + ox, yx * w + xx, yy * w + xy};
}

/* Fills one float plane of the augmented image from a stored plane (8- or 16-bit codes). */
static void augment_plane(const stored_image *im, int plane, axes a, int64_t aw, int64_t ah, const float *lut8,
                          float *dst) {
    const size_t size = (size_t)im->width * (size_t)im->height;
    if (im->bit_depth == 16) {
        const uint16_t *src = (const uint16_t *)im->pixels + (size_t)plane * size;
        for (int64_t y = 0; y < ah; y++) {
            int64_t at = a.origin + y * a.step_y;
            /* the division matches the PNG reader's k / 65535.0f exactly */
            for (int64_t x = 0; x < aw; x++, at += a.step_x) dst[y * aw + x] = (float)src[at] / 65535.0f;
        }
    } else {
        const uint8_t *src = (const uint8_t *)im->pixels + (size_t)plane * size;
        for (int64_t y = 0; y < ah; y++) {
            int64_t at = a.origin + y * a.step_y;
            for (int64_t x = 0; x < aw; x++, at += a.step_x) dst[y * aw + x] = lut8[src[at]];
        }
    }
}

/* The whole stored image, flipped and turned, as a 3-channel float image of the reader's values. */
static ub_status augmented_image(ub_ctx *ctx, const stored_image *im, int flip, int turns, ub_image **out) {
    const int64_t aw = turns & 1 ? im->height : im->width, ah = turns & 1 ? im->width : im->height;
    ub_status st = ub_image_create(ctx, out, aw, ah, 3);
    if (st) return st;
    (*out)->bit_depth = im->bit_depth;
    float lut8[256];
    for (int k = 0; k < 256; k++) lut8[k] = (float)k / 255.0f; /* as the readers compute it */
    const axes a = augment_axes(im->width, im->height, flip, turns);
    for (int c = 0; c < im->planes; c++) augment_plane(im, c, a, aw, ah, lut8, ub_image_plane(*out, c));
    for (int c = im->planes; c < 3; c++) /* grey promoted to RGB */
        memcpy(ub_image_plane(*out, c), ub_image_plane(*out, 0), sizeof(float) * (size_t)(aw * ah));
    return UB_OK;
}

static ub_status check_sample_args(const ub__dataset *ds, const ub_synth *synth, ub_ctx *ctx, int index, int patch,
                                   const float *blurred, const float *sharp) {
    if (!ds || !synth || !blurred || !sharp) return ub__fail(ctx, UB_ERR_INVALID, "dataset sample: NULL argument");
    if (ds->count < 1) return ub__fail(ctx, UB_ERR_INVALID, "dataset sample: the dataset is empty");
    if (index < 0) return ub__fail(ctx, UB_ERR_INVALID, "dataset sample: index %d is negative", index);
    if (patch < 1) return ub__fail(ctx, UB_ERR_INVALID, "dataset sample: patch %d is not positive", patch);
    return UB_OK;
}

/* The geometric draws of a sample (image, augmentation, position), in the documented order. */
static ub_status draw_geometry(const ub__dataset *ds, ub_ctx *ctx, uint64_t sample_seed, int patch,
                               ub__sample_info *info) {
    ub_rng r;
    ub_rng_seed(&r, sample_seed);
    memset(info, 0, sizeof *info);
    info->image = (int)ub_rng_below(&r, (uint64_t)ds->count);
    const int augmentation = (int)ub_rng_below(&r, 8);
    info->flip = augmentation & 1;
    info->quarter_turns = augmentation >> 1;
    const stored_image *im = &ds->images[info->image];
    const int64_t aw = info->quarter_turns & 1 ? im->height : im->width;
    const int64_t ah = info->quarter_turns & 1 ? im->width : im->height;
    if (patch > aw || patch > ah)
        return ub__fail(ctx, UB_ERR_INVALID, "%s: the %lldx%lld image is smaller than the %d-pixel patch", im->path,
                        (long long)im->width, (long long)im->height, patch);
    info->x0 = (int64_t)ub_rng_below(&r, (uint64_t)(aw - patch + 1));
    info->y0 = (int64_t)ub_rng_below(&r, (uint64_t)(ah - patch + 1));
    info->synth_seed = sample_seed;
    info->synth_index = 1;
    return UB_OK;
}

static ub_status copy_planes(ub_ctx *ctx, const ub_image *img, int patch, float *out) {
    if (!img || img->channels != 3 || img->width != patch || img->height != patch)
        return ub__fail(ctx, UB_ERR_MISMATCH, "dataset sample: the synthesis returned an unexpected image");
    memcpy(out, img->data, sizeof(float) * 3 * (size_t)patch * (size_t)patch);
    return UB_OK;
}

ub_status ub__dataset_sample(const ub__dataset *ds, ub_synth *synth, ub_ctx *ctx, uint64_t run_seed, uint64_t step,
                             int index, int patch, float *blurred, float *sharp, ub__sample_info *info) {
    ub_status st = check_sample_args(ds, synth, ctx, index, patch, blurred, sharp);
    if (st) return st;
    ub__sample_info drawn;
    if ((st = draw_geometry(ds, ctx, ub_rng_derive(run_seed, step, (uint64_t)index), patch, &drawn))) return st;
    ub_image *whole = NULL;
    ub_synth_sample sample = {0};
    st = augmented_image(ctx, &ds->images[drawn.image], drawn.flip, drawn.quarter_turns, &whole);
    if (st == UB_OK) {
        const ub_synth_inputs in = {whole, NULL, NULL};
        st = ub_synth_crop(synth, &in, drawn.x0, drawn.y0, patch, drawn.synth_seed, drawn.synth_index, &sample);
    }
    if (st == UB_OK) st = copy_planes(ctx, sample.blurred, patch, blurred);
    if (st == UB_OK) st = copy_planes(ctx, sample.sharp, patch, sharp);
    ub_synth_sample_free(&sample);
    ub_image_destroy(&whole);
    if (st == UB_OK && info) *info = drawn;
    return st;
}

/* ======================================================================
   The sampler: workers for batches
   ====================================================================== */

/* The lowest-index failure a worker met in the current batch. */
typedef struct worker_failure {
    int index; /* INT32_MAX: none */
    ub_status status;
    char *message;
} worker_failure;

struct ub__sampler {
    ub_ctx *ctx;
    int workers;
    ub_ctx **wctx;
    ub_synth **synth;
    worker_failure *failure;
};

void ub__sampler_destroy(ub__sampler **s) {
    if (!s || !*s) return;
    ub__sampler *p = *s;
    for (int i = 0; p->synth && i < p->workers; i++) ub_synth_destroy(&p->synth[i]);
    for (int i = 0; p->failure && i < p->workers; i++) free(p->failure[i].message);
    destroy_contexts(p->wctx, p->workers);
    free(p->synth);
    free(p->failure);
    free(p);
    *s = NULL;
}

ub_status ub__sampler_create(ub_ctx *ctx, const char *synth_json, const char *name, int workers, ub__sampler **out) {
    if (!out || !synth_json) return ub__fail(ctx, UB_ERR_INVALID, "sampler: NULL argument");
    *out = NULL;
    if (workers < 0) return ub__fail(ctx, UB_ERR_INVALID, "sampler: %d workers", workers);
    ub__sampler *s = calloc(1, sizeof *s);
    if (!s) return ub__fail(ctx, UB_ERR_NOMEM, "sampler: out of memory");
    s->ctx = ctx;
    s->workers = workers ? workers : ub_ctx_threads(ctx);
    s->synth = calloc((size_t)s->workers, sizeof *s->synth);
    s->failure = calloc((size_t)s->workers, sizeof *s->failure);
    ub_status st = s->synth && s->failure ? make_contexts(ctx, s->workers, &s->wctx)
                                          : ub__fail(ctx, UB_ERR_NOMEM, "sampler: out of memory");
    for (int i = 0; st == UB_OK && i < s->workers; i++) {
        st = ub_synth_create_json(s->wctx[i], synth_json, name, &s->synth[i]);
        if (st) st = ub__fail(ctx, st, "%s", ub_last_error(s->wctx[i]));
    }
    if (st) ub__sampler_destroy(&s);
    *out = s;
    return st;
}

int ub__sampler_workers(const ub__sampler *s) { return s ? s->workers : 0; }

static void record_failure(worker_failure *f, int index, ub_status st, const char *message) {
    if (index >= f->index) return;
    free(f->message);
    f->index = index;
    f->status = st;
    f->message = strdup(message);
}

/* The failure of the lowest sample index over the workers, reported in the sampler's context. */
static ub_status first_failure(ub__sampler *s) {
    const worker_failure *first = NULL;
    for (int w = 0; w < s->workers; w++)
        if (s->failure[w].index != INT32_MAX && (!first || s->failure[w].index < first->index)) first = &s->failure[w];
    if (!first) return UB_OK;
    if (first->message) return ub__fail(s->ctx, first->status, "%s", first->message);
    return ub__fail(s->ctx, first->status, "dataset: sample %d failed", first->index);
}

ub_status ub__dataset_batch(ub__sampler *s, const ub__dataset *ds, uint64_t run_seed, uint64_t step, int first,
                            int batch, int patch, float *blurred, float *sharp) {
    if (!s) return UB_ERR_INVALID;
    if (!ds || !blurred || !sharp) return ub__fail(s->ctx, UB_ERR_INVALID, "dataset batch: NULL argument");
    if (first < 0 || batch < 1 || batch > INT32_MAX - first || patch < 1)
        return ub__fail(s->ctx, UB_ERR_INVALID, "dataset batch: samples %d + %d, patch %d", first, batch, patch);
    const size_t per_sample = 3 * (size_t)patch * (size_t)patch;
    for (int w = 0; w < s->workers; w++) {
        free(s->failure[w].message);
        s->failure[w] = (worker_failure){INT32_MAX, UB_OK, NULL};
    }
    /* dynamic: sample costs vary with the drawn blur; any worker may make any sample */
#pragma omp parallel for num_threads(s->workers) schedule(dynamic, 1)
    for (int i = 0; i < batch; i++) {
        const int w = omp_get_thread_num();
        ub_status st = ub__dataset_sample(ds, s->synth[w], s->wctx[w], run_seed, step, first + i, patch,
                                          blurred + (size_t)i * per_sample, sharp + (size_t)i * per_sample, NULL);
        if (st) record_failure(&s->failure[w], first + i, st, ub_last_error(s->wctx[w]));
    }
    return first_failure(s);
}
