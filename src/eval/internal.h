/* eval/internal.h — what the evaluation's files share: the set and method layouts, the method
   table's row type, small string and file helpers. */
#ifndef UB_EVAL_INTERNAL_H
#define UB_EVAL_INTERNAL_H

#include <stdbool.h>

#include "core/internal.h"
#include "unblur/deconv.h"
#include "unblur/eval.h"

/* ---- sets (sets.c, set_kinds.c, set_load.c) ---- */

typedef enum eval_set_kind { SET_PAIRS, SET_LEVIN, SET_LAI, SET_SYNTH, SET_SHARP } eval_set_kind;

/* One item as listed when the set is opened; its images are read when it is loaded. */
typedef struct eval_entry {
    char *name;
    char *input;      /* the blurred file (pairs, levin) or the sharp file (lai, synth, sharp) */
    char *reference;  /* the sharp file (pairs, levin); NULL where the reference is `input` */
    char *kernel;     /* the kernel file (levin, lai); NULL otherwise */
    bool kernel_rot180; /* levin: the PNG is the correlation kernel (see set_levin) */
    uint64_t image_index, kernel_index; /* seeds of the in-memory blur (lai, synth) */
} eval_entry;

struct ub_eval_set {
    eval_set_kind kind;
    char *name;
    eval_entry *entries;
    size_t count, cap;
    int crop;          /* centred crop of the images (0 = none) */
    int shift;         /* shift-tolerant scoring; the score's crop is the same */
    int subpixel;      /* the best PSNR offset refined to a quarter pixel (unblur/metrics.h) */
    char preset[32];   /* synth */
    uint64_t seed;     /* synth */
};

/* Listing helpers of sets.c, used by the set kinds (set_kinds.c). */
typedef struct eval_names {
    char **v;
    size_t n, cap;
} eval_names;

/* The image files of a folder (.png, .jpg, .jpeg), sorted by name; UB_ERR_IO naming the folder. */
ub_status ub__eval_list_images(ub_ctx *ctx, const char *dir, eval_names *out);
void ub__eval_names_free(eval_names *n);
/* Appends `e`, taking its strings (freed on failure too); `complete` false (a string the caller
   needed could not be made) gives UB_ERR_NOMEM. */
ub_status ub__eval_add_entry(ub_ctx *ctx, ub_eval_set *s, eval_entry *e, bool complete);
bool ub__eval_is_file(const char *path);
bool ub__eval_is_dir(const char *path);

/* The set kinds: each lists its whole folder into s->entries (s->kind and options are already set);
   sets.c then applies step and limit. */
ub_status ub__eval_list_pairs(ub_ctx *ctx, ub_eval_set *s, const char *dir);
ub_status ub__eval_list_levin(ub_ctx *ctx, ub_eval_set *s, const char *dir);
ub_status ub__eval_list_lai(ub_ctx *ctx, ub_eval_set *s, const char *dir);
ub_status ub__eval_list_folder(ub_ctx *ctx, ub_eval_set *s, const char *dir);

/* ---- methods (methods.c and one file per method family) ---- */

enum { ARG_NONE = 0, ARG_REQUIRED = 1, ARG_OPTIONAL = 2 };

typedef struct eval_method_kind {
    const char *name;       /* the spec's word: "identity", "model", "wiener", ... */
    int argument;           /* ARG_NONE, ARG_REQUIRED ("model:PATH") or ARG_OPTIONAL ("auto", "auto:PATH") */
    const char *argument_help; /* what the argument is, for the message when it is missing or empty */
    bool needs_kernel;
    /* Prepares the method (loads weights...); may be NULL. */
    ub_status (*open)(ub_ctx *ctx, ub_eval_method *m, const char *argument);
    ub_status (*run)(ub_ctx *ctx, ub_eval_method *m, const ub_eval_item *item, ub_image **out);
} eval_method_kind;

struct ub_eval_method {
    const eval_method_kind *kind;
    char *name;
    ub_model *model;  /* model methods */
    bool owns_model;
    int blind_response; /* blind: -1 = the library's default, else a ub_blind_response */
    int deconv_colour;  /* sparse: -1 = the library's default, else a ub_deconv_colour */
};

ub_status ub__eval_model_open(ub_ctx *ctx, ub_eval_method *m, const char *path);
ub_status ub__eval_model_run(ub_ctx *ctx, ub_eval_method *m, const ub_eval_item *item, ub_image **out);
ub_status ub__eval_model_flip2_open(ub_ctx *ctx, ub_eval_method *m, const char *path);
ub_status ub__eval_model_flip4_open(ub_ctx *ctx, ub_eval_method *m, const char *path);
ub_status ub__eval_sparse_open(ub_ctx *ctx, ub_eval_method *m, const char *colour);
ub_status ub__eval_auto_open(ub_ctx *ctx, ub_eval_method *m, const char *path);
ub_status ub__eval_auto_run(ub_ctx *ctx, ub_eval_method *m, const ub_eval_item *item, ub_image **out);
ub_status ub__eval_wiener_run(ub_ctx *ctx, ub_eval_method *m, const ub_eval_item *item, ub_image **out);
ub_status ub__eval_rl_run(ub_ctx *ctx, ub_eval_method *m, const ub_eval_item *item, ub_image **out);
ub_status ub__eval_sparse_run(ub_ctx *ctx, ub_eval_method *m, const ub_eval_item *item, ub_image **out);
ub_status ub__eval_blind_open(ub_ctx *ctx, ub_eval_method *m, const char *response);
ub_status ub__eval_blind_run(ub_ctx *ctx, ub_eval_method *m, const ub_eval_item *item, ub_image **out);
ub_status ub__eval_blind_fixed_run(ub_ctx *ctx, ub_eval_method *m, const ub_eval_item *item, ub_image **out);

/* ---- scoring (score.c) ---- */

/* ub_metrics_compute's PSNR (every offset, the same value and offset) and its SSIM searched only
   next to the best-PSNR offset: see score.c for why and how it was checked. */
ub_status ub__eval_score(ub_ctx *ctx, const ub_image *ref, const ub_image *img, const ub_metrics_options *o,
                         ub_metrics *out);
/* Sets m's sub-pixel offset to its best-PSNR integer offset and, where o asks (subpixel with a shift),
   refines it to a quarter pixel (metrics.c; unblur/metrics.h). */
ub_status ub__metrics_subpixel(ub_ctx *ctx, const ub_image *ref, const ub_image *img, const ub_metrics_options *o,
                               ub_metrics *m);

/* ---- results (run.c, table.c) ---- */

struct ub_eval_results {
    ub_eval_image *images;
    size_t nimages, cap;
    ub_eval_summary *summaries;
    size_t nsummaries;
    char **strings;    /* every name the rows point to, owned */
    size_t nstrings, strings_cap;
};

/* In place: letters, digits, '.', '-', '_' kept; anything else (the '/' and ':' of names) becomes
   '_'; never "." or "..". The names of SAVE/SET/METHOD/ITEM.png (run.c; read back by report.c). */
void ub__eval_file_safe(char *s);

/* ---- helpers (sets.c) ---- */

/* malloc'ed copies / formatting; NULL on failure. */
char *ub__eval_strdup(const char *s);
char *ub__eval_printf(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
/* The file name without folder and extension, malloc'ed. */
char *ub__eval_stem(const char *path);

#endif
