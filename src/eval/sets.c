/* eval/sets.c — benchmark sets: specs and aliases, folder listing, the set object.

   A spec is "KIND:DIR[:key=value]..." or "ALIAS[:key=value]..."; an alias names a kind and a
   folder under the data root with default keys. The kinds list their folders in set_kinds.c and
   load items in set_load.c. */
#include <dirent.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "eval/internal.h"

#define DEFAULT_ROOT "../shared/data"

/* ---- small helpers ---- */

char *ub__eval_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p) memcpy(p, s, n);
    return p;
}

char *ub__eval_printf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return NULL;
    char *p = malloc((size_t)n + 1);
    if (!p) return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

char *ub__eval_stem(const char *path) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    size_t n = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    char *p = malloc(n + 1);
    if (!p) return NULL;
    memcpy(p, base, n);
    p[n] = '\0';
    return p;
}

bool ub__eval_is_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

bool ub__eval_is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* ---- folder listing ---- */

static bool is_image_name(const char *name) {
    const char *dot = strrchr(name, '.');
    if (!dot || name[0] == '.') return false;
    return !strcasecmp(dot, ".png") || !strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg");
}

static int compare_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void ub__eval_names_free(eval_names *n) {
    for (size_t i = 0; i < n->n; i++) free(n->v[i]);
    free(n->v);
    memset(n, 0, sizeof *n);
}

static bool names_push(eval_names *n, const char *name) {
    if (n->n == n->cap) {
        size_t cap = n->cap ? 2 * n->cap : 64;
        char **v = realloc(n->v, cap * sizeof *v);
        if (!v) return false;
        n->v = v;
        n->cap = cap;
    }
    n->v[n->n] = ub__eval_strdup(name);
    return n->v[n->n++] != NULL;
}

ub_status ub__eval_list_images(ub_ctx *ctx, const char *dir, eval_names *out) {
    memset(out, 0, sizeof *out);
    DIR *d = opendir(dir);
    if (!d) return ub__fail(ctx, UB_ERR_IO, "%s: cannot open the folder", dir);
    struct dirent *e;
    bool ok = true;
    while (ok && (e = readdir(d)) != NULL)
        if (is_image_name(e->d_name)) ok = names_push(out, e->d_name);
    closedir(d);
    if (!ok) {
        ub__eval_names_free(out);
        return ub__fail(ctx, UB_ERR_NOMEM, "%s: out of memory listing the folder", dir);
    }
    if (out->n) qsort(out->v, out->n, sizeof *out->v, compare_names);
    return UB_OK;
}

static void entry_free(eval_entry *e) {
    free(e->name);
    free(e->input);
    free(e->reference);
    free(e->kernel);
    memset(e, 0, sizeof *e);
}

ub_status ub__eval_add_entry(ub_ctx *ctx, ub_eval_set *s, eval_entry *e, bool complete) {
    if (complete && e->name && e->input && s->count == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        eval_entry *v = realloc(s->entries, cap * sizeof *v);
        if (v) {
            s->entries = v;
            s->cap = cap;
        }
    }
    if (!complete || !e->name || !e->input || s->count == s->cap) {
        entry_free(e);
        return ub__fail(ctx, UB_ERR_NOMEM, "out of memory listing a set");
    }
    s->entries[s->count++] = *e;
    return UB_OK;
}

/* ---- specs ---- */

typedef struct set_alias {
    const char *name, *kind, *folder, *keys;
} set_alias;

static const set_alias aliases[] = {
    {"gopro_nah", "pairs", "gopro_nah_official_examples", ""},
    {"gopro_dev", "pairs", "gopro_dev", ""},
    {"reds_dev", "pairs", "reds_dev", ""},
    {"levin", "levin", "levin2009", ""},
    {"lai", "lai", "lai2016/uniform", ""},
    {"kodak24-realistic", "synth", "testsets/Kodak24", "preset=realistic"},
    {"kodak24-sharp", "sharp", "testsets/Kodak24", ""},
    {"cbsd68-sharp", "sharp", "testsets/CBSD68", ""},
};

static const struct {
    const char *name;
    eval_set_kind kind;
} kinds[] = {{"pairs", SET_PAIRS}, {"levin", SET_LEVIN}, {"lai", SET_LAI}, {"synth", SET_SYNTH}, {"sharp", SET_SHARP}};

/* The parsed spec: kind, folder, keys. */
typedef struct set_spec {
    eval_set_kind kind;
    char *dir;
    const char *alias;
    long long limit, crop, shift, seed, step, subpixel;
    char preset[32];
} set_spec;

static bool parse_number(const char *v, long long max, long long *out) {
    char *end;
    long long x = strtoll(v, &end, 10);
    if (end == v || *end || x < 0 || x > max) return false;
    *out = x;
    return true;
}

static ub_status parse_key(ub_ctx *ctx, const char *spec, const char *kv, set_spec *p) {
    const char *eq = strchr(kv, '=');
    size_t n = eq ? (size_t)(eq - kv) : strlen(kv);
    const char *v = eq ? eq + 1 : "";
    bool ok;
    if (n == 5 && !strncmp(kv, "limit", n)) ok = parse_number(v, 1000000000, &p->limit);
    else if (n == 4 && !strncmp(kv, "step", n)) ok = parse_number(v, 1000000000, &p->step) && p->step > 0;
    else if (n == 4 && !strncmp(kv, "crop", n)) ok = parse_number(v, 1 << 20, &p->crop);
    else if (n == 5 && !strncmp(kv, "shift", n)) ok = parse_number(v, 64, &p->shift);
    else if (n == 4 && !strncmp(kv, "seed", n)) ok = parse_number(v, INT64_MAX, &p->seed);
    else if (n == 8 && !strncmp(kv, "subpixel", n)) ok = parse_number(v, 1, &p->subpixel);
    else if (n == 6 && !strncmp(kv, "preset", n)) {
        ok = *v && strlen(v) < sizeof p->preset;
        if (ok) strcpy(p->preset, v);
    } else
        return ub__fail(ctx, UB_ERR_INVALID, "set '%s': unknown key '%.*s' (limit, step, crop, shift, subpixel, preset, seed)", spec,
                        (int)n, kv);
    if (!eq || !ok) return ub__fail(ctx, UB_ERR_INVALID, "set '%s': bad value in '%s'", spec, kv);
    if ((!strncmp(kv, "preset", n) || !strncmp(kv, "seed", n)) && p->kind != SET_SYNTH)
        return ub__fail(ctx, UB_ERR_INVALID, "set '%s': '%.*s' applies to synth sets only", spec, (int)n, kv);
    return UB_OK;
}

static int find_kind(const char *word, size_t n) {
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
        if (strlen(kinds[i].name) == n && !strncmp(word, kinds[i].name, n)) return (int)i;
    return -1;
}

static const set_alias *find_alias(const char *word, size_t n) {
    for (size_t i = 0; i < sizeof aliases / sizeof *aliases; i++)
        if (strlen(aliases[i].name) == n && !strncmp(word, aliases[i].name, n)) return &aliases[i];
    return NULL;
}

/* Applies "k=v:k=v" (a copy is split in place). */
static ub_status parse_keys(ub_ctx *ctx, const char *spec, const char *keys, set_spec *p) {
    char *copy = ub__eval_strdup(keys);
    if (!copy) return ub__fail(ctx, UB_ERR_NOMEM, "out of memory");
    ub_status st = UB_OK;
    for (char *save = NULL, *kv = strtok_r(copy, ":", &save); kv && st == UB_OK; kv = strtok_r(NULL, ":", &save))
        st = parse_key(ctx, spec, kv, p);
    free(copy);
    return st;
}

/* The folder of "KIND:DIR[:keys]" ends at the first ':' followed by a word and '=' (a key, known
   or not, so that a misspelt key is reported as such rather than as a missing folder). */
static const char *keys_start(const char *dir) {
    for (const char *c = strchr(dir, ':'); c; c = strchr(c + 1, ':')) {
        const char *w = c + 1;
        while (*w >= 'a' && *w <= 'z') w++;
        if (w > c + 1 && *w == '=') return c;
    }
    return NULL;
}

static ub_status parse_spec(ub_ctx *ctx, const char *spec, const char *root, set_spec *p) {
    memset(p, 0, sizeof *p);
    p->limit = -1;
    p->shift = -1;
    strcpy(p->preset, "realistic");
    const char *colon = strchr(spec, ':');
    size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
    int k = find_kind(spec, n);
    const set_alias *a = find_alias(spec, n);
    /* "levin" and "lai" are kinds and names: the name when no folder follows ("lai:limit=5") */
    if (k >= 0 && a && colon && keys_start(colon) != colon) a = NULL;
    if (k < 0 && !a)
        return ub__fail(ctx, UB_ERR_INVALID,
                        "set '%s': unknown kind or name (kinds: pairs, levin, lai, synth, sharp; names: gopro_nah, "
                        "gopro_dev, reds_dev, levin, lai, kodak24-realistic, kodak24-sharp, cbsd68-sharp)",
                        spec);
    const char *keys = "";
    if (a) {
        p->alias = a->name;
        p->kind = kinds[find_kind(a->kind, strlen(a->kind))].kind;
        p->dir = ub__eval_printf("%s/%s", root, a->folder);
        if (p->dir && parse_keys(ctx, spec, a->keys, p) != UB_OK) return UB_ERR_INVALID;
        keys = colon ? colon + 1 : "";
    } else {
        p->kind = kinds[k].kind;
        if (!colon || !colon[1]) return ub__fail(ctx, UB_ERR_INVALID, "set '%s': expects %.*s:DIR", spec, (int)n, spec);
        const char *end = keys_start(colon + 1);
        size_t len = end ? (size_t)(end - colon - 1) : strlen(colon + 1);
        p->dir = ub__eval_printf("%.*s", (int)len, colon + 1);
        keys = end ? end + 1 : "";
    }
    if (!p->dir) return ub__fail(ctx, UB_ERR_NOMEM, "out of memory");
    return parse_keys(ctx, spec, keys, p);
}

/* ---- the set object ---- */

/* "alias", else "kind:folder" (+ ":preset" for synth). */
static char *display_name(const set_spec *p) {
    if (p->alias) return ub__eval_printf("%s%s", p->alias, p->subpixel ? ":subpixel" : "");
    const char *base = p->dir + strlen(p->dir);
    while (base > p->dir && base[-1] == '/') base--; /* "DIR/" names DIR */
    const char *end = base;
    while (base > p->dir && base[-1] != '/') base--;
    const char *kind = kinds[0].name;
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
        if (kinds[i].kind == p->kind) kind = kinds[i].name;
    if (p->kind == SET_SYNTH) return ub__eval_printf("%s:%.*s:%s", kind, (int)(end - base), base, p->preset);
    return ub__eval_printf("%s:%.*s%s", kind, (int)(end - base), base, p->subpixel ? ":subpixel" : "");
}

/* Keeps every step-th image from the first, then the first `limit` of those. An image is an entry,
   except in lai where it is the group of entries of one sharp image (all its kernels). The entries
   keep their seeds (image_index), so a selection does not change the items it keeps. */
static void select_entries(ub_eval_set *s, size_t step, size_t limit) {
    size_t kept = 0, images = 0;
    uint64_t last = UINT64_MAX;
    bool keep = false;
    for (size_t i = 0; i < s->count; i++) {
        uint64_t image = s->kind == SET_LAI ? s->entries[i].image_index : i;
        if (image != last) {
            last = image;
            keep = image % step == 0 && images < limit;
            images += keep;
        }
        if (keep) s->entries[kept++] = s->entries[i];
        else entry_free(&s->entries[i]);
    }
    s->count = kept;
}

static ub_status list_set(ub_ctx *ctx, ub_eval_set *s, const set_spec *p) {
    if (!ub__eval_is_dir(p->dir)) return ub__fail(ctx, UB_ERR_IO, "%s: no such folder", p->dir);
    ub_status st;
    switch (p->kind) {
    /* pairs are matched over the whole folder (an unpaired file is an error), then selected */
    case SET_PAIRS: st = ub__eval_list_pairs(ctx, s, p->dir); break;
    case SET_LEVIN: st = ub__eval_list_levin(ctx, s, p->dir); break;
    case SET_LAI: st = ub__eval_list_lai(ctx, s, p->dir); break;
    default: st = ub__eval_list_folder(ctx, s, p->dir); break;
    }
    if (st == UB_OK) select_entries(s, p->step > 0 ? (size_t)p->step : 1, p->limit < 0 ? SIZE_MAX : (size_t)p->limit);
    return st;
}

static ub_status open_set(ub_ctx *ctx, const set_spec *p, ub_eval_set *s) {
    s->kind = p->kind;
    s->crop = (int)p->crop;
    bool aligned = p->kind != SET_LEVIN && p->kind != SET_LAI;
    /* Levin's captures are not aligned with their ground truth, and Lai's kernels are not centred:
       both are scored like Levin's comp_upto_shift (offsets up to 10 pixels). */
    s->shift = p->shift >= 0 ? (int)p->shift : aligned ? 0 : 10;
    s->subpixel = (int)p->subpixel;
    if (s->subpixel && s->shift == 0)
        return ub__fail(ctx, UB_ERR_INVALID, "set '%s': subpixel=1 needs shift-tolerant scoring (shift=K, K > 0)",
                        p->alias ? p->alias : p->dir);
    memcpy(s->preset, p->preset, sizeof s->preset);
    s->seed = (uint64_t)p->seed;
    s->name = display_name(p);
    if (!s->name) return ub__fail(ctx, UB_ERR_NOMEM, "out of memory");
    ub_status st = list_set(ctx, s, p);
    if (st == UB_OK && s->count == 0) st = ub__fail(ctx, UB_ERR_IO, "%s: no images in the set", p->dir);
    if (st == UB_OK && p->kind == SET_SYNTH) {
        ub_synth *probe = NULL; /* an unknown preset is reported when the set is opened, not per item */
        st = ub_synth_create_preset(ctx, s->preset, &probe);
        ub_synth_destroy(&probe);
    }
    return st;
}

ub_status ub_eval_set_open(ub_ctx *ctx, const char *spec, const char *data_root, ub_eval_set **out) {
    *out = NULL;
    if (!spec || !*spec) return ub__fail(ctx, UB_ERR_INVALID, "an empty set spec");
    set_spec p;
    ub_status st = parse_spec(ctx, spec, data_root ? data_root : DEFAULT_ROOT, &p);
    ub_eval_set *s = calloc(1, sizeof *s);
    if (st == UB_OK && !s) st = ub__fail(ctx, UB_ERR_NOMEM, "out of memory");
    if (st == UB_OK) st = open_set(ctx, &p, s);
    free(p.dir);
    if (st != UB_OK) ub_eval_set_destroy(&s);
    *out = s;
    return st;
}

void ub_eval_set_destroy(ub_eval_set **sp) {
    if (!sp || !*sp) return;
    ub_eval_set *s = *sp;
    for (size_t i = 0; i < s->count; i++) entry_free(&s->entries[i]);
    free(s->entries);
    free(s->name);
    free(s);
    *sp = NULL;
}

const char *ub_eval_set_name(const ub_eval_set *s) { return s->name; }
size_t ub_eval_set_count(const ub_eval_set *s) { return s->count; }
int ub_eval_set_has_kernels(const ub_eval_set *s) { return s->kind == SET_LEVIN || s->kind == SET_LAI; }

void ub_eval_set_metrics_options(const ub_eval_set *s, ub_metrics_options *out) {
    out->shift = s->shift;
    out->crop = s->shift;
    out->subpixel = s->subpixel;
}
