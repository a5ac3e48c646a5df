/* train/train.c — a training run of RBNet (see train.h). */
#include "train/train.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>

#include "core/internal.h"
#include "nn/dnnl_exec.h"
#include "nn/loss.h"
#include "nn/arch.h"
#include "nn/model.h"
#include "nn/optim.h"
#include "nn/safetensors.h"
#include "train/dataset.h"
#include "train/dist.h"
#include "unblur/eval.h"
#include "unblur/metrics.h"

#define MAX_FOLDERS 16
/* Benchmark sets scored at each validation (cfg.val_sets). */
#define MAX_VAL_SETS 16
/* The validation pairs' seed stream ("val"): distinct from the training samples' (seed, step >= 1). */
#define VAL_STREAM 0x76616cu
/* The weight initialisation's stream: step 0 of the sampler is never drawn, so (0, this) is free. */
#define INIT_STREAM 0x696e6974u
/* The floats after a step's gradients in the buffer that the ranks sum (summed after the backward pass). */
enum { TAIL_LOSS, TAIL_FAILED, TAIL_STOP, TAIL_CHECKPOINT, TAIL_FLOATS };

/* ---- configuration ---- */

typedef enum { KEY_STR, KEY_INT, KEY_LONG, KEY_DBL, KEY_I64 } key_kind;

typedef struct config_key {
    const char *name;
    key_kind kind;
    size_t offset, size; /* size: of a string field */
} config_key;

#define STR_KEY(f) {#f, KEY_STR, offsetof(ub__train_config, f), sizeof(((ub__train_config *)0)->f)}
#define NUM_KEY(f, k) {#f, k, offsetof(ub__train_config, f), 0}

static const config_key config_keys[] = {
    STR_KEY(data), STR_KEY(ids), STR_KEY(preset), STR_KEY(synth_config), STR_KEY(val), STR_KEY(val_pairs),
    STR_KEY(run),
    NUM_KEY(width, KEY_INT), NUM_KEY(blocks, KEY_INT), NUM_KEY(depth, KEY_INT), NUM_KEY(mid_blocks, KEY_INT),
    STR_KEY(block), STR_KEY(skip_attention), NUM_KEY(patch, KEY_INT),
    NUM_KEY(batch, KEY_INT), NUM_KEY(steps, KEY_LONG), NUM_KEY(lr, KEY_DBL), NUM_KEY(min_lr, KEY_DBL),
    NUM_KEY(weight_decay, KEY_DBL), NUM_KEY(clip, KEY_DBL), NUM_KEY(ema_decay, KEY_DBL),
    NUM_KEY(warmup, KEY_LONG), STR_KEY(loss), NUM_KEY(freq_weight, KEY_DBL), STR_KEY(vgg), STR_KEY(vgg_layer),
    NUM_KEY(perceptual_weight, KEY_DBL), NUM_KEY(seed, KEY_I64),
    NUM_KEY(workers, KEY_INT), STR_KEY(optimizer), STR_KEY(model_dtype), STR_KEY(precision),
    NUM_KEY(checkpoint_seconds, KEY_DBL),
    NUM_KEY(val_every, KEY_LONG), NUM_KEY(val_patch, KEY_INT), NUM_KEY(prefetch, KEY_INT),
    NUM_KEY(bucket_mb, KEY_DBL), STR_KEY(val_sets), STR_KEY(data_root), STR_KEY(init_from),
};
#define NKEYS (sizeof config_keys / sizeof *config_keys)

void ub_train_config_default(ub__train_config *c) {
    memset(c, 0, sizeof *c);
    snprintf(c->preset, sizeof c->preset, "gaussian");
    snprintf(c->run, sizeof c->run, "run");
    snprintf(c->loss, sizeof c->loss, "l1");
    snprintf(c->optimizer, sizeof c->optimizer, "adamw");
    snprintf(c->model_dtype, sizeof c->model_dtype, "F32");
    snprintf(c->precision, sizeof c->precision, "fp32");
    c->width = 32, c->blocks = 2, c->depth = 2, c->mid_blocks = -1, c->patch = 64, c->batch = 4;
    snprintf(c->block, sizeof c->block, "res");
    snprintf(c->skip_attention, sizeof c->skip_attention, "both");
    c->steps = 1000, c->warmup = 100;
    c->lr = 2e-4, c->min_lr = 1e-6, c->weight_decay = 1e-4, c->clip = 1.0, c->ema_decay = 0.999;
    c->freq_weight = 0.1, c->perceptual_weight = 0.01, c->seed = 1, c->workers = 0;
    c->checkpoint_seconds = 300, c->val_every = 100, c->val_patch = 128;
    c->bucket_mb = UB_TRAIN_BUCKET_MB;
}

static ub_status apply_key(ub_ctx *ctx, const char *name, const config_key *k, json_t *v, ub__train_config *c) {
    char *field = (char *)c + k->offset;
    switch (k->kind) {
    case KEY_STR:
        if (!json_is_string(v)) return ub__fail(ctx, UB_ERR_INVALID, "%s: key '%s' must be a string", name, k->name);
        if (strlen(json_string_value(v)) >= k->size)
            return ub__fail(ctx, UB_ERR_INVALID, "%s: key '%s' is too long", name, k->name);
        snprintf(field, k->size, "%s", json_string_value(v));
        return UB_OK;
    case KEY_DBL:
        if (!json_is_number(v)) return ub__fail(ctx, UB_ERR_INVALID, "%s: key '%s' must be a number", name, k->name);
        *(double *)field = json_number_value(v);
        return UB_OK;
    default: break;
    }
    if (!json_is_integer(v)) return ub__fail(ctx, UB_ERR_INVALID, "%s: key '%s' must be an integer", name, k->name);
    json_int_t x = json_integer_value(v);
    if (k->kind == KEY_I64) *(int64_t *)field = (int64_t)x;
    else if (k->kind == KEY_LONG) *(long *)field = (long)x;
    else if (x < -1000000000 || x > 1000000000)
        return ub__fail(ctx, UB_ERR_INVALID, "%s: key '%s' is out of range", name, k->name);
    else *(int *)field = (int)x;
    return UB_OK;
}

ub_status ub_train_config_from_json(ub_ctx *ctx, const char *text, const char *name, ub__train_config *c) {
    json_error_t err;
    json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &err);
    if (!root) return ub__fail(ctx, UB_ERR_FORMAT, "%s: line %d: %s", name, err.line, err.text);
    ub_status st = UB_OK;
    if (!json_is_object(root)) st = ub__fail(ctx, UB_ERR_FORMAT, "%s: not a JSON object", name);
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
        if (st) break;
        size_t i = 0;
        while (i < NKEYS && strcmp(config_keys[i].name, key) != 0) i++;
        st = i == NKEYS ? ub__fail(ctx, UB_ERR_INVALID, "%s: unknown key '%s'", name, key)
                        : apply_key(ctx, name, &config_keys[i], v, c);
    }
    json_decref(root);
    return st;
}

/* The configuration as a JSON object, every key in config_keys' order (NULL when out of memory). */
static json_t *config_object(const ub__train_config *c) {
    json_t *root = json_object();
    for (size_t i = 0; root && i < NKEYS; i++) {
        const config_key *k = &config_keys[i];
        const char *field = (const char *)c + k->offset;
        json_t *v = k->kind == KEY_STR    ? json_string(field)
                    : k->kind == KEY_DBL  ? json_real(*(const double *)field)
                    : k->kind == KEY_I64  ? json_integer(*(const int64_t *)field)
                    : k->kind == KEY_LONG ? json_integer(*(const long *)field)
                                          : json_integer(*(const int *)field);
        if (!v || json_object_set_new(root, k->name, v) != 0) {
            json_decref(root);
            return NULL;
        }
    }
    return root;
}

char *ub_train_config_to_json(const ub__train_config *c) {
    json_t *root = config_object(c);
    char *text = root ? json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17)) : NULL;
    json_decref(root);
    return text;
}

/* The network's configuration: RBNet (the trainer's one architecture so far) from the training keys. */
static ub_status arch_config(ub_ctx *ctx, const ub__train_config *c, ub__arch_config *out) {
    memset(out, 0, sizeof *out);
    ub__rbnet_config *a = &out->rbnet;
    ub__rbnet_config_default(a);
    a->width = c->width, a->blocks = c->blocks, a->mid_blocks = c->mid_blocks < 0 ? c->blocks : c->mid_blocks;
    a->depth = c->depth;
    a->block = ub__rbnet_block_parse(c->block);
    a->skip_attention = ub__rbnet_skip_parse(c->skip_attention);
    if (a->block < 0) return ub__fail(ctx, UB_ERR_INVALID, "training config: bad block (res or naf)");
    if (a->skip_attention < 0)
        return ub__fail(ctx, UB_ERR_INVALID, "training config: bad skip_attention (both, se, sa or none)");
    if (c->mid_blocks < -1 || c->mid_blocks > 64)
        return ub__fail(ctx, UB_ERR_INVALID, "training config: bad mid_blocks (0..64, -1 = blocks)");
    return ub__rbnet_config_check(ctx, a) ? UB_ERR_INVALID : UB_OK;
}

ub_status ub_train_config_check(ub_ctx *ctx, const ub__train_config *c) {
    const char *bad = NULL;
    if (!c->data[0]) bad = "data (no folder given)";
    else if (!c->run[0]) bad = "run (no folder given)";
    else if (!c->synth_config[0] && !c->preset[0]) bad = "preset";
    else if (c->patch < 8 || c->patch > 4096) bad = "patch (8..4096)";
    else if (c->batch < 1 || c->batch > 4096) bad = "batch (1..4096)";
    else if (c->steps < 1) bad = "steps (>= 1)";
    else if (c->warmup < 0) bad = "warmup (>= 0)";
    else if (!(c->lr > 0) || !isfinite(c->lr)) bad = "lr (> 0)";
    else if (!(c->min_lr >= 0) || c->min_lr > c->lr) bad = "min_lr (0..lr)";
    else if (!(c->weight_decay >= 0) || !isfinite(c->weight_decay)) bad = "weight_decay (>= 0)";
    else if (!(c->clip >= 0) || !isfinite(c->clip)) bad = "clip (>= 0, 0 = off)";
    else if (!(c->ema_decay >= 0 && c->ema_decay < 1)) bad = "ema_decay ([0, 1))";
    else if (strcmp(c->loss, "l1") != 0 && strcmp(c->loss, "charbonnier") != 0) bad = "loss (l1 or charbonnier)";
    else if (strcmp(c->optimizer, "adamw") != 0 && strcmp(c->optimizer, "adam") != 0) bad = "optimizer (adamw or adam)";
    else if (strcmp(c->model_dtype, "F32") != 0 && strcmp(c->model_dtype, "F16") != 0 &&
             strcmp(c->model_dtype, "BF16") != 0)
        bad = "model_dtype (F32, F16 or BF16)";
    else if (ub__train_precision_parse(c->precision) < 0) bad = "precision (fp32, bf16 or auto)";
    else if (!(c->freq_weight >= 0) || !isfinite(c->freq_weight)) bad = "freq_weight (>= 0)";
    else if (!(c->perceptual_weight >= 0) || !isfinite(c->perceptual_weight)) bad = "perceptual_weight (>= 0)";
    else if (c->seed < 0) bad = "seed (>= 0)";
    else if (c->workers < 0 || c->workers > 1024) bad = "workers (0..1024)";
    else if (!(c->checkpoint_seconds >= 0)) bad = "checkpoint_seconds (>= 0)";
    else if (c->val_every < 1) bad = "val_every (>= 1)";
    else if (c->prefetch != 0 && c->prefetch != 1) bad = "prefetch (0 or 1)";
    else if (!(c->bucket_mb >= 0 && c->bucket_mb <= 1e6)) bad = "bucket_mb (0..1e6, 0 = one sum after the backward pass)";
    else if (c->val_patch < 16 || c->val_patch > 4096) bad = "val_patch (16..4096)";
    if (bad) return ub__fail(ctx, UB_ERR_INVALID, "training config: bad %s", bad);
    ub__arch_config arch;
    ub_status st = arch_config(ctx, c, &arch);
    if (st) return st;
    if (c->patch % (1 << c->depth) != 0)
        return ub__fail(ctx, UB_ERR_INVALID, "training config: patch %d is not a multiple of 2^depth = %d", c->patch,
                        1 << c->depth);
    return UB_OK;
}

/* ---- the run ---- */

/* A validation set: n pairs of crops (val_patch square), the blurred planar RGB, the sharp as images;
   the last metrics of the EMA model's outputs and those of the blurred inputs. */
typedef struct val_set {
    int n;
    float *blurred;
    ub_image **sharp;
    double psnr, ssim, input_psnr, input_ssim;
} val_set;

struct ub_train {
    ub_ctx *ctx;
    ub__train_config cfg;
    /* data parallelism (train/dist.h): this process is rank `rank` of `ranks`; it makes samples
       rank * local_batch .. + local_batch - 1 of every step's batch of cfg.batch */
    ub__dist *dist;
    int rank, ranks, local_batch;
    volatile sig_atomic_t *stop; /* the run's stop flag, sampled into each step's sum */
    int agreed_stop, agreed_checkpoint; /* this step's sums: a rank was asked to stop; rank 0 wants a checkpoint */
    char *synth_json;
    ub__dataset *ds;
    ub__sampler *sampler;
    /* prefetching (cfg.prefetch): a thread makes the next step's batch into next_* while the network runs;
       the sampler then reports into its own context, data_ctx, since two threads cannot share one */
    ub_ctx *data_ctx;
    float *next_blurred, *next_sharp;
    pthread_t thread;
    int pending; /* the thread runs (or ran and was not joined yet) */
    long pending_step;
    ub_status pending_status;
    ub__net arch; /* the network: architecture, configuration, parameter table (nn/arch.h, as a model's) */
    int init_params_read; /* parameters (tensors) taken from cfg.init_from; fewer than the table's: grown */
    ub__graph graph;
    ub__fast_net *net;
    unsigned cpu_features; /* what cfg.precision may use */
    int bf16;              /* net computes its convolutions in bf16 (cfg.precision, train/precision.c) */
    char no_bf16[256];     /* why not, when bf16 or auto was asked */
    ub__vgg *vgg; /* the perceptual loss's network, or NULL */
    float *params, *grads, *m, *v, *ema; /* grads: total + TAIL_FLOATS */
    float *blurred, *sharp, *output, *doutput; /* local_batch x 3 x patch x patch each */
    size_t batch_floats;
    long step; /* updates done */
    FILE *log;
    val_set vs[2]; /* validation: 0 synthetic (cfg.val), 1 real pairs (cfg.val_pairs) */
    ub_image *val_out;
    ub__graph val_graph;
    ub__fast_net *val_net;
    /* benchmark sets (cfg.val_sets, unblur/eval.h) scored on a model holding a copy of the EMA weights */
    int nsets;
    ub_eval_set *esets[MAX_VAL_SETS];
    char set_column[MAX_VAL_SETS][64]; /* log.csv's column prefix */
    double set_psnr[MAX_VAL_SETS], set_input_psnr[MAX_VAL_SETS];
    ub_model *val_model;
    ub_eval_method *val_method;
    double start_time, last_checkpoint;
    long start_step;
    int diverged; /* a non-finite loss, gradient norm or state stopped the run */
    long steps_timed;
    double data_seconds, step_seconds, sum_seconds; /* sum: time in the ranks' collectives, waiting included */
    /* gradients summed during the backward pass (cfg.bucket_mb > 0): buckets of bucket_floats, from the top
       of the gradient array down; grads[unsent ..) are summing or summed */
    size_t bucket_floats, unsent;
};

static ub_status join_prefetch(ub__train *t);

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static char *read_text_file(ub_ctx *ctx, const char *path) {
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        ub__fail(ctx, UB_ERR_IO, "%s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        len += fread(buf + len, 1, cap - 1 - len, fp);
        if (len < cap - 1) break;
        char *bigger = cap < ((size_t)64 << 20) ? realloc(buf, cap * 2) : NULL;
        if (!bigger) free(buf);
        buf = bigger, cap *= 2;
    }
    int failed = ferror(fp);
    fclose(fp);
    if (!buf || failed) {
        ub_status st = buf ? UB_ERR_IO : UB_ERR_NOMEM;
        free(buf);
        ub__fail(ctx, st, "%s: cannot read (or larger than 64 MB)", path);
        return NULL;
    }
    buf[len] = '\0';
    return buf;
}

/* The synthesis config as JSON text: the file's, or {"preset": P}. */
static char *synth_text(ub_ctx *ctx, const ub__train_config *c) {
    if (c->synth_config[0]) return read_text_file(ctx, c->synth_config);
    json_t *o = json_pack("{s:s}", "preset", c->preset);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!text) ub__fail(ctx, UB_ERR_NOMEM, "training: out of memory");
    return text;
}

/* FNV-1a, 64-bit: the config hash recorded in checkpoints (for people; resume compares the keys). */
static uint64_t fnv1a(uint64_t h, const char *s) {
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return (h ^ 0xff) * 0x100000001b3ull; /* a separator, so that ("ab","c") != ("a","bc") */
}

/* The keys a resumed run must match, as (name, value) strings. */
typedef struct key_values {
    char name[16][16];
    char value[16][UB_TRAIN_PATH_MAX];
    int count;
} key_values;

static void add_kv(key_values *kv, const char *name, const char *fmt, long long x, const char *s) {
    snprintf(kv->name[kv->count], sizeof kv->name[0], "%s", name);
    if (s) snprintf(kv->value[kv->count], sizeof kv->value[0], "%s", s);
    else snprintf(kv->value[kv->count], sizeof kv->value[0], fmt ? fmt : "%lld", x);
    kv->count++;
}

/* Architecture first, then data and synthesis; the synthesis is its JSON text's hash. */
static void resume_keys(const ub__train *t, key_values *kv) {
    kv->count = 0;
    const ub__rbnet_config *a = &t->arch.config.rbnet;
    add_kv(kv, "width", "%lld", a->width, NULL);
    add_kv(kv, "blocks", "%lld", a->blocks, NULL);
    add_kv(kv, "mid_blocks", "%lld", a->mid_blocks, NULL);
    add_kv(kv, "depth", "%lld", a->depth, NULL);
    add_kv(kv, "se_reduction", "%lld", a->se_reduction, NULL);
    add_kv(kv, "sa_kernel", "%lld", a->sa_kernel, NULL);
    /* rbnet.py's convention: written only when not the default, so that a res checkpoint stays as it was */
    const char *block = ub__rbnet_block_name(a->block), *skip = ub__rbnet_skip_name(a->skip_attention);
    if (a->block != UB__BLOCK_RES && block) add_kv(kv, "block", NULL, 0, block);
    if (a->skip_attention != UB__SKIP_BOTH && skip) add_kv(kv, "skip_attention", NULL, 0, skip);
    /* the arithmetic, as asked (the same convention: fp32 checkpoints stay as they were) */
    if (strcmp(t->cfg.precision, "fp32") != 0) add_kv(kv, "precision", NULL, 0, t->cfg.precision);
    add_kv(kv, "data", NULL, 0, t->cfg.data);
    add_kv(kv, "ids", NULL, 0, t->cfg.ids);
    char hash[24];
    snprintf(hash, sizeof hash, "%016llx", (unsigned long long)fnv1a(0xcbf29ce484222325ull, t->synth_json));
    add_kv(kv, "synth", NULL, 0, hash);
    add_kv(kv, "patch", "%lld", t->cfg.patch, NULL);
    add_kv(kv, "batch", "%lld", t->cfg.batch, NULL);
    add_kv(kv, "seed", "%lld", (long long)t->cfg.seed, NULL);
}

static uint64_t config_hash(const key_values *kv) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (int i = 0; i < kv->count; i++) h = fnv1a(fnv1a(h, kv->name[i]), kv->value[i]);
    return h;
}

static void run_path(const ub__train *t, const char *file, char *out, size_t size) {
    snprintf(out, size, "%s/%s", t->cfg.run, file);
}

static ub_status alloc_floats(ub_ctx *ctx, size_t n, float **out) {
    *out = ub__calloc(n, sizeof(float));
    return *out ? UB_OK : ub__fail(ctx, UB_ERR_NOMEM, "training: out of memory (%zu floats)", n);
}

static ub_status open_data(ub__train *t) {
    char list[UB_TRAIN_PATH_MAX];
    snprintf(list, sizeof list, "%s", t->cfg.data);
    const char *folders[MAX_FOLDERS];
    int n = 0;
    for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (n == MAX_FOLDERS) return ub__fail(t->ctx, UB_ERR_INVALID, "training: more than %d data folders", n);
        folders[n++] = tok;
    }
    if (n == 0) return ub__fail(t->ctx, UB_ERR_INVALID, "training: no data folder");
    ub_status st = ub__dataset_open(t->ctx, folders, n, t->cfg.ids[0] ? t->cfg.ids : NULL, t->cfg.patch, &t->ds);
    if (st) return st;
    const char *name = t->cfg.synth_config[0] ? t->cfg.synth_config : t->cfg.preset;
    if (!t->cfg.prefetch) return ub__sampler_create(t->ctx, t->synth_json, name, t->cfg.workers, &t->sampler);
    ub_settings set;
    ub_default_settings(&set);
    set.threads = ub_ctx_threads(t->ctx), set.max_pixels = ub_ctx_max_pixels(t->ctx);
    st = ub_ctx_create(&t->data_ctx, &set);
    if (st) return ub__fail(t->ctx, st, "training: cannot make the data context");
    st = ub__sampler_create(t->data_ctx, t->synth_json, name, t->cfg.workers, &t->sampler);
    if (!st) st = alloc_floats(t->ctx, t->batch_floats, &t->next_blurred);
    if (!st) st = alloc_floats(t->ctx, t->batch_floats, &t->next_sharp);
    return st == UB_ERR_NOMEM || !st ? st : ub__fail(t->ctx, st, "%s", ub_last_error(t->data_ctx));
}

static ub_status open_network(ub__train *t) {
    ub_ctx *ctx = t->ctx;
    ub__arch_config ac;
    ub_status st = arch_config(ctx, &t->cfg, &ac);
    if (!st) st = ub__net_make(ctx, &ub__arch_rbnet, &ac, &t->arch);
    if (!st) st = ub__net_graph(ctx, &t->arch, t->local_batch, t->cfg.patch, t->cfg.patch, &t->graph);
    if (!st)
        st = ub__train_make_net(ctx, &t->graph, &t->arch.table, ub__train_precision_parse(t->cfg.precision),
                                t->cpu_features, &t->net, t->no_bf16, sizeof t->no_bf16);
    if (!st) {
        ub__fast_net_info info;
        ub__fast_net_get_info(t->net, &info);
        t->bf16 = info.bf16;
    }
    if (!st && t->cfg.vgg[0]) {
        st = ub__vgg_open(ctx, t->cfg.vgg, t->cfg.vgg_layer[0] ? t->cfg.vgg_layer : NULL, &t->vgg);
        int fc, fh, fw;
        if (!st && !ub__vgg_feature_shape(t->vgg, t->cfg.patch, t->cfg.patch, &fc, &fh, &fw))
            st = ub__fail(ctx, UB_ERR_INVALID, "training: patch %d is too small for VGG layer %s", t->cfg.patch,
                          t->vgg->layer);
    }
    size_t n = t->arch.table.total;
    float **state[] = {&t->params, &t->grads, &t->m, &t->v, &t->ema};
    for (size_t i = 0; !st && i < sizeof state / sizeof *state; i++)
        st = alloc_floats(ctx, state[i] == &t->grads ? n + TAIL_FLOATS : n, state[i]);
    if (!st && !ub__mul3_size((size_t)t->local_batch * 3, (size_t)t->cfg.patch, (size_t)t->cfg.patch, &t->batch_floats))
        st = ub__fail(ctx, UB_ERR_LIMIT, "training: batch too large");
    float **bufs[] = {&t->blurred, &t->sharp, &t->output, &t->doutput};
    for (size_t i = 0; !st && i < sizeof bufs / sizeof *bufs; i++) st = alloc_floats(ctx, t->batch_floats, bufs[i]);
    if (st) return st;
    ub_rng rng;
    ub_rng_seed(&rng, ub_rng_derive((uint64_t)t->cfg.seed, 0, INIT_STREAM));
    ub__net_init(&t->arch, &rng, t->params);
    memcpy(t->ema, t->params, n * sizeof(float));
    return UB_OK;
}

/* ---- validation ---- */

/* Copies an image's colour planes into 3 planar RGB planes (grey repeated). */
static void to_rgb(const ub_image *img, float *out) {
    size_t plane = (size_t)img->width * (size_t)img->height;
    for (int c = 0; c < 3; c++)
        memcpy(out + c * plane, ub_image_plane(img, ub_image_colour_channels(img) == 3 ? c : 0), plane * sizeof(float));
}

static ub_status rgb_image(ub_ctx *ctx, int size, const float *rgb, ub_image **out) {
    ub_status st = ub_image_create(ctx, out, size, size, 3);
    if (!st) memcpy((*out)->data, rgb, (size_t)3 * size * size * sizeof(float));
    return st;
}

/* Mean PSNR and SSIM over a set's images of the 3 x vp x vp crops in `imgs` (vs->n of them). */
static ub_status val_metrics(ub__train *t, const val_set *vs, const float *imgs, double *psnr, double *ssim) {
    size_t floats = (size_t)3 * t->cfg.val_patch * t->cfg.val_patch;
    ub_metrics_options opts = {0, 0, 0};
    double sp = 0, ss = 0;
    for (int i = 0; i < vs->n; i++) {
        memcpy(t->val_out->data, imgs + i * floats, floats * sizeof(float));
        ub_metrics m;
        ub_status st = ub_metrics_compute(t->ctx, vs->sharp[i], t->val_out, &opts, &m);
        if (st) return st;
        sp += isfinite(m.psnr) ? m.psnr : 100.0, ss += m.ssim;
    }
    *psnr = sp / vs->n, *ssim = ss / vs->n;
    return UB_OK;
}

/* Stores pair i of a set: its blurred crop (planar RGB) and its sharp crop as an image. */
static ub_status store_pair(ub__train *t, val_set *vs, int i, const ub_image *blurred, const ub_image *sharp) {
    int vp = t->cfg.val_patch;
    to_rgb(blurred, vs->blurred + (size_t)i * 3 * vp * vp);
    float *rgb = ub__alloc((size_t)3 * vp * vp * sizeof(float));
    if (!rgb) return ub__fail(t->ctx, UB_ERR_NOMEM, "training: out of memory");
    to_rgb(sharp, rgb);
    ub_status st = rgb_image(t->ctx, vp, rgb, &vs->sharp[i]);
    ub__free(rgb);
    return st;
}

static ub_status alloc_set(ub__train *t, val_set *vs, int n) {
    size_t floats = (size_t)3 * t->cfg.val_patch * t->cfg.val_patch;
    ub_status st = alloc_floats(t->ctx, floats * (size_t)(n > 0 ? n : 1), &vs->blurred);
    if (!st && !(vs->sharp = calloc((size_t)(n > 0 ? n : 1), sizeof *vs->sharp)))
        st = ub__fail(t->ctx, UB_ERR_NOMEM, "training: out of memory");
    return st;
}

static void free_set(val_set *vs) {
    for (int i = 0; vs->sharp && i < vs->n; i++) ub_image_destroy(&vs->sharp[i]);
    free(vs->sharp);
    ub__free(vs->blurred);
    memset(vs, 0, sizeof *vs);
}

static ub_status make_synthetic_pair(ub__train *t, ub__dataset *vds, ub_synth *synth, int i) {
    ub_image *img = NULL;
    ub_synth_sample s = {0};
    int vp = t->cfg.val_patch;
    ub_status st = ub_image_read(t->ctx, ub__dataset_name(vds, i), &img);
    if (!st) {
        ub_synth_inputs in = {img, NULL, NULL};
        uint64_t seed = ub_rng_derive((uint64_t)t->cfg.seed, VAL_STREAM, (uint64_t)i);
        st = ub_synth_crop(synth, &in, (img->width - vp) / 2, (img->height - vp) / 2, vp, seed, 1, &s);
    }
    if (!st) st = store_pair(t, &t->vs[0], i, s.blurred, s.sharp);
    ub_synth_sample_free(&s);
    ub_image_destroy(&img);
    return st;
}

static ub_status open_synthetic_set(ub__train *t) {
    ub_ctx *ctx = t->ctx;
    ub__dataset *vds = NULL;
    ub_synth *synth = NULL;
    const char *folder = t->cfg.val;
    ub_status st = ub__dataset_open(ctx, &folder, 1, NULL, t->cfg.val_patch, &vds);
    if (!st) st = ub_synth_create_json(ctx, t->synth_json, "validation synthesis", &synth);
    int n = st ? 0 : ub__dataset_count(vds);
    if (!st) st = alloc_set(t, &t->vs[0], n);
    for (int i = 0; !st && i < n; i++) {
        st = make_synthetic_pair(t, vds, synth, i);
        t->vs[0].n = i + 1; /* counts a failed pair too: free_set accepts its NULL image */
    }
    ub_synth_destroy(&synth);
    ub__dataset_close(&vds);
    return st;
}

/* The centred vp x vp crop of an image. */
static ub_status centre_crop(ub_ctx *ctx, const ub_image *img, int vp, ub_image **out) {
    ub_status st = ub_image_create(ctx, out, vp, vp, img->channels);
    int64_t x0 = (img->width - vp) / 2, y0 = (img->height - vp) / 2;
    for (int c = 0; !st && c < img->channels; c++)
        for (int y = 0; y < vp; y++)
            memcpy(ub_image_plane(*out, c) + (size_t)y * vp, ub_image_plane(img, c) + (y0 + y) * img->width + x0,
                   (size_t)vp * sizeof(float));
    return st;
}

static ub_status make_real_pair(ub__train *t, const char *blur_path, const char *sharp_path, int i) {
    ub_image *blur = NULL, *sharp = NULL, *bc = NULL, *sc = NULL;
    int vp = t->cfg.val_patch;
    ub_status st = ub_image_read(t->ctx, blur_path, &blur);
    if (!st) st = ub_image_read(t->ctx, sharp_path, &sharp);
    if (!st && (blur->width != sharp->width || blur->height != sharp->height))
        st = ub__fail(t->ctx, UB_ERR_MISMATCH, "%s: %lldx%lld, but its sharp pair %s is %lldx%lld", blur_path,
                      (long long)blur->width, (long long)blur->height, sharp_path, (long long)sharp->width,
                      (long long)sharp->height);
    if (!st && (blur->width < vp || blur->height < vp))
        st = ub__fail(t->ctx, UB_ERR_INVALID, "%s: smaller than the validation patch %d", blur_path, vp);
    if (!st) st = centre_crop(t->ctx, blur, vp, &bc);
    if (!st) st = centre_crop(t->ctx, sharp, vp, &sc);
    if (!st) st = store_pair(t, &t->vs[1], i, bc, sc);
    ub_image_destroy(&blur), ub_image_destroy(&sharp), ub_image_destroy(&bc), ub_image_destroy(&sc);
    return st;
}

/* The sharp partner of a blurred image's path: its last "blur" replaced by "sharp" (GoPro's blur/ and
   sharp/ folders; NAME_blur1.png and NAME_sharp1.png), when that file exists. */
static int sharp_partner(const char *path, char *out, size_t size) {
    const char *at = NULL;
    for (const char *p = strstr(path, "blur"); p; p = strstr(p + 1, "blur")) at = p;
    if (!at) return 0;
    int len = snprintf(out, size, "%.*s%s%s", (int)(at - path), path, "sharp", at + 4);
    struct stat sb;
    return len > 0 && (size_t)len < size && stat(out, &sb) == 0;
}

static ub_status open_real_set(ub__train *t) {
    ub_ctx *ctx = t->ctx;
    ub__dataset *ds = NULL;
    const char *folder = t->cfg.val_pairs;
    ub_status st = ub__dataset_open(ctx, &folder, 1, NULL, t->cfg.val_patch, &ds);
    int n = st ? 0 : ub__dataset_count(ds);
    if (!st) st = alloc_set(t, &t->vs[1], n);
    char partner[UB_TRAIN_PATH_MAX + 8];
    for (int i = 0; !st && i < n; i++) {
        if (!sharp_partner(ub__dataset_name(ds, i), partner, sizeof partner)) continue;
        st = make_real_pair(t, ub__dataset_name(ds, i), partner, t->vs[1].n);
        t->vs[1].n++;
    }
    ub__dataset_close(&ds);
    if (!st && t->vs[1].n == 0)
        st = ub__fail(ctx, UB_ERR_INVALID, "%s: no blurred/sharp pair (names with 'blur' whose 'sharp' twin exists)",
                      folder);
    return st;
}

/* A set's column prefix in log.csv: its name (the alias, or KIND:FOLDER) with every character other than
   a letter, digit or '_' made '_'; a name already taken gets "_2", "_3"... */
static void set_column(ub__train *t, int k) {
    char *col = t->set_column[k];
    snprintf(col, sizeof t->set_column[k] - 4, "%s", ub_eval_set_name(t->esets[k]));
    for (char *c = col; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_')) *c = '_';
    size_t len = strlen(col);
    for (int n = 2, clash = 1; clash; n++) {
        clash = 0;
        for (int j = 0; j < k; j++) clash |= strcmp(t->set_column[j], col) == 0;
        if (clash) snprintf(col + len, 4, "_%u", (unsigned)n % 100u); /* n <= MAX_VAL_SETS */
    }
}

/* Opens cfg.val_sets (comma-separated specs): an error names the set; and the model they are scored on. */
static ub_status open_eval_sets(ub__train *t) {
    ub_ctx *ctx = t->ctx;
    char specs[UB_TRAIN_PATH_MAX];
    snprintf(specs, sizeof specs, "%s", t->cfg.val_sets);
    ub_status st = UB_OK;
    for (char *save = NULL, *spec = strtok_r(specs, ",", &save); !st && spec; spec = strtok_r(NULL, ",", &save)) {
        while (*spec == ' ') spec++;
        if (!*spec) continue;
        if (t->nsets == MAX_VAL_SETS)
            return ub__fail(ctx, UB_ERR_INVALID, "training config: val_sets: more than %d sets", MAX_VAL_SETS);
        st = ub_eval_set_open(ctx, spec, t->cfg.data_root[0] ? t->cfg.data_root : NULL, &t->esets[t->nsets]);
        if (st) {
            char why[512];
            snprintf(why, sizeof why, "%s", ub_last_error(ctx));
            if (strstr(why, spec)) return ub__fail(ctx, st, "val_sets: %s", why);
            return ub__fail(ctx, st, "val_sets: set '%s': %s", spec, why);
        }
        t->nsets++;
        if (ub_eval_set_count(t->esets[t->nsets - 1]) == 0)
            return ub__fail(ctx, UB_ERR_INVALID, "val_sets: set '%s': no images", spec);
        set_column(t, t->nsets - 1);
        t->set_psnr[t->nsets - 1] = t->set_input_psnr[t->nsets - 1] = NAN;
    }
    if (!st && t->nsets > 0) st = ub__model_make(ctx, t->arch.arch, &t->arch.config, &t->val_model);
    if (!st && t->nsets > 0) st = ub_eval_method_from_model(ctx, "ema", t->val_model, &t->val_method);
    return st;
}

/* Scores the EMA weights on the benchmark sets (ub_eval_run, as `unblur eval` would score model.safetensors). */
static ub_status validate_eval_sets(ub__train *t) {
    memcpy(t->val_model->params, t->ema, t->arch.table.total * sizeof(float));
    ub_eval_results *r = NULL;
    ub_status st = ub_eval_run(t->ctx, t->esets, (size_t)t->nsets, &t->val_method, 1, NULL, &r);
    if (st) return st;
    const ub_eval_summary *sum;
    const ub_eval_image *img;
    size_t nsum = ub_eval_results_summaries(r, &sum), nimg = ub_eval_results_images(r, &img), at = 0;
    for (int k = 0; k < t->nsets && (size_t)k < nsum; k++) {
        /* images come set-major, sum[k].count of them per set */
        double in = 0;
        size_t finite = 0;
        for (size_t i = at; i < at + sum[k].count && i < nimg; i++)
            if (isfinite(img[i].input_psnr)) in += img[i].input_psnr, finite++;
        at += sum[k].count;
        t->set_psnr[k] = sum[k].psnr;
        t->set_input_psnr[k] = finite ? in / (double)finite : NAN;
    }
    ub_eval_results_destroy(&r);
    return UB_OK;
}

static ub_status open_validation(ub__train *t) {
    if (t->cfg.val_sets[0]) {
        ub_status st = open_eval_sets(t);
        if (st) return st;
    }
    if (!t->cfg.val[0] && !t->cfg.val_pairs[0]) return UB_OK;
    ub_ctx *ctx = t->ctx;
    int vp = t->cfg.val_patch;
    ub_status st = t->cfg.val[0] ? open_synthetic_set(t) : UB_OK;
    if (!st && t->cfg.val_pairs[0]) st = open_real_set(t);
    if (!st) st = ub_image_create(ctx, &t->val_out, vp, vp, 3);
    if (!st) st = ub__net_graph(ctx, &t->arch, 1, vp, vp, &t->val_graph);
    if (!st) st = ub__fast_net_create(ctx, &t->val_graph, &t->arch.table, 0, &t->val_net);
    for (int k = 0; !st && k < 2; k++)
        if (t->vs[k].n > 0)
            st = val_metrics(t, &t->vs[k], t->vs[k].blurred, &t->vs[k].input_psnr, &t->vs[k].input_ssim);
    return st;
}

/* Runs the EMA weights on every crop of a set. */
static ub_status validate_set(ub__train *t, val_set *vs) {
    size_t floats = (size_t)3 * t->cfg.val_patch * t->cfg.val_patch;
    float *outs = NULL;
    ub_status st = alloc_floats(t->ctx, floats * (size_t)vs->n, &outs);
    for (int i = 0; !st && i < vs->n; i++) {
        float *o = outs + i * floats;
        st = ub__fast_forward(t->val_net, t->ema, vs->blurred + i * floats, o);
        for (size_t k = 0; !st && k < floats; k++) o[k] = o[k] < 0 ? 0 : o[k] > 1 ? 1 : o[k];
    }
    if (!st) st = val_metrics(t, vs, outs, &vs->psnr, &vs->ssim);
    ub__free(outs);
    return st;
}

static ub_status validate(ub__train *t) {
    ub_status st = UB_OK;
    for (int k = 0; !st && k < 2; k++)
        if (t->vs[k].n > 0) st = validate_set(t, &t->vs[k]);
    if (!st && t->nsets > 0) st = validate_eval_sets(t);
    return st;
}

/* ---- checkpoints ---- */

static int all_finite(const float *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

static ub_status write_checkpoint(ub__train *t) {
    ub_ctx *ctx = t->ctx;
    char path[UB_TRAIN_PATH_MAX + 32];
    run_path(t, "checkpoint.safetensors", path, sizeof path);
    ub__st_writer *w = ub__st_writer_create(ctx);
    if (!w) return ub__fail(ctx, UB_ERR_NOMEM, "%s: out of memory", path);
    int64_t shape[1] = {(int64_t)t->arch.table.total};
    const char *names[] = {"params", "adam.m", "adam.v", "ema"};
    const float *data[] = {t->params, t->m, t->v, t->ema};
    ub_status st = UB_OK;
    for (int i = 0; !st && i < 4; i++) st = ub__st_writer_add(ctx, w, names[i], "F32", 1, shape, data[i]);
    key_values kv;
    resume_keys(t, &kv);
    char buf[32];
    snprintf(buf, sizeof buf, "%ld", t->step);
    if (!st) st = ub__st_writer_meta(ctx, w, "step", buf);
    snprintf(buf, sizeof buf, "%016llx", (unsigned long long)config_hash(&kv));
    if (!st) st = ub__st_writer_meta(ctx, w, "config_hash", buf);
    for (int i = 0; !st && i < kv.count; i++) st = ub__st_writer_meta(ctx, w, kv.name[i], kv.value[i]);
    if (!st) st = ub__st_writer_save(ctx, w, path);
    ub__st_writer_destroy(&w);
    return st;
}

static ub_status write_model(ub__train *t) {
    char path[UB_TRAIN_PATH_MAX + 32];
    run_path(t, "model.safetensors", path, sizeof path);
    return ub__net_save(t->ctx, &t->arch, t->ema, path, t->cfg.model_dtype);
}

static ub_status write_curve(ub__train *t) {
    char log_path[UB_TRAIN_PATH_MAX + 32], svg_path[UB_TRAIN_PATH_MAX + 32];
    run_path(t, "log.csv", log_path, sizeof log_path);
    run_path(t, "curve.svg", svg_path, sizeof svg_path);
    if (fflush(t->log) != 0) return ub__fail(t->ctx, UB_ERR_IO, "%s: cannot write", log_path);
    char *text = read_text_file(t->ctx, log_path);
    if (!text) return UB_ERR_IO;
    ub_status st = ub__train_curve_svg(t->ctx, text, svg_path);
    free(text);
    return st;
}

static uint64_t hash_floats(uint64_t h, const float *x, size_t n) {
    const unsigned char *b = (const unsigned char *)x;
    for (size_t i = 0; i < n * sizeof(float); i++) h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

/* Data-parallel runs: the weights must be the same bits on every rank (each applies the same summed
   gradients); checked at every checkpoint, so that a drift cannot go unnoticed. */
static ub_status check_same_weights(ub__train *t) {
    if (t->ranks == 1) return UB_OK;
    uint64_t h = hash_floats(0xcbf29ce484222325ull, t->params, t->arch.table.total);
    h = hash_floats(h, t->ema, t->arch.table.total);
    unsigned long long lo, hi;
    ub_status st = ub__dist_min_max(t->dist, h, &lo, &hi);
    if (!st && lo != hi)
        st = ub__fail(t->ctx, UB_ERR_INVALID, "step %ld: the weights differ between the %d training processes", t->step,
                      t->ranks);
    return st;
}

ub_status ub__train_save(ub__train *t) {
    size_t n = t->arch.table.total;
    t->diverged = !all_finite(t->params, n) || !all_finite(t->ema, n) || !all_finite(t->m, n) || !all_finite(t->v, n);
    if (t->diverged)
        return ub__fail(t->ctx, UB_ERR_INVALID, "step %ld: the weights are not finite; not saved", t->step);
    ub_status st = check_same_weights(t);
    if (!st && t->rank == 0) st = write_checkpoint(t);
    if (!st && t->rank == 0) st = write_model(t);
    if (!st && t->log) st = write_curve(t);
    st = ub__dist_agree(t->dist, t->ctx, st);
    t->last_checkpoint = now_seconds();
    return st;
}

/* Restores the state of checkpoint.safetensors after checking its keys against this run's. */
static ub_status load_checkpoint(ub__train *t) {
    ub_ctx *ctx = t->ctx;
    char path[UB_TRAIN_PATH_MAX + 32];
    run_path(t, "checkpoint.safetensors", path, sizeof path);
    ub__safetensors *st = NULL;
    ub_status s = ub__st_open(ctx, path, &st);
    if (s) return s;
    key_values kv;
    resume_keys(t, &kv);
    /* the keys written only when not the default: absent in the checkpoint means the default */
    const ub__rbnet_config *a = &t->arch.config.rbnet;
    const char *optional[3][3] = {{"block", "res", ub__rbnet_block_name(a->block)},
                                  {"skip_attention", "both", ub__rbnet_skip_name(a->skip_attention)},
                                  {"precision", "fp32", t->cfg.precision}};
    for (int i = 0; !s && i < kv.count; i++) {
        const char *had = ub__st_meta(st, kv.name[i]);
        int opt = 0;
        for (int j = 0; j < 3; j++) opt |= !strcmp(kv.name[i], optional[j][0]);
        if (!opt && (!had || strcmp(had, kv.value[i]) != 0))
            s = ub__fail(ctx, UB_ERR_MISMATCH, "%s: %s is %s in the checkpoint, %s in this run; refusing to resume",
                         path, kv.name[i], had ? had : "(absent)", kv.value[i]);
    }
    for (int i = 0; !s && i < 3; i++) {
        const char *had = ub__st_meta(st, optional[i][0]);
        if (strcmp(had ? had : optional[i][1], optional[i][2]) != 0)
            s = ub__fail(ctx, UB_ERR_MISMATCH, "%s: %s is %s in the checkpoint, %s in this run; refusing to resume",
                         path, optional[i][0], had ? had : optional[i][1], optional[i][2]);
    }
    const char *step = s ? NULL : ub__st_meta(st, "step");
    char *end = NULL;
    long done = step ? strtol(step, &end, 10) : -1;
    if (!s && (!step || *end || done < 0)) s = ub__fail(ctx, UB_ERR_FORMAT, "%s: no valid 'step' metadata", path);
    int64_t shape[1] = {(int64_t)t->arch.table.total};
    const char *names[] = {"params", "adam.m", "adam.v", "ema"};
    float *data[] = {t->params, t->m, t->v, t->ema};
    for (int i = 0; !s && i < 4; i++) s = ub__st_read_f32(ctx, st, names[i], 1, shape, data[i]);
    ub__st_close(&st);
    if (!s) t->step = done;
    return s;
}

/* The first architecture key in which the file's net (a) differs from this run's (b), as an error. */
static ub_status init_mismatch(ub_ctx *ctx, const char *path, const ub__rbnet_config *a, const ub__rbnet_config *b) {
    const struct { const char *key; int had, want; } num[] = {
        {"width", a->width, b->width}, {"blocks", a->blocks, b->blocks}, {"mid_blocks", a->mid_blocks, b->mid_blocks},
        {"depth", a->depth, b->depth}, {"se_reduction", a->se_reduction, b->se_reduction},
        {"sa_kernel", a->sa_kernel, b->sa_kernel}};
    for (size_t i = 0; i < sizeof num / sizeof *num; i++)
        if (num[i].had != num[i].want)
            return ub__fail(ctx, UB_ERR_MISMATCH, "%s: %s is %d in the model, %d in this run; refusing --init-from",
                            path, num[i].key, num[i].had, num[i].want);
    const struct { const char *key, *had, *want; int differ; } names[] = {
        {"block", ub__rbnet_block_name(a->block), ub__rbnet_block_name(b->block), a->block != b->block},
        {"skip_attention", ub__rbnet_skip_name(a->skip_attention), ub__rbnet_skip_name(b->skip_attention),
         a->skip_attention != b->skip_attention}};
    for (size_t i = 0; i < 2; i++)
        if (names[i].differ)
            return ub__fail(ctx, UB_ERR_MISMATCH, "%s: %s is %s in the model, %s in this run; refusing --init-from",
                            path, names[i].key, names[i].had ? names[i].had : "?", names[i].want ? names[i].want : "?");
    return UB_OK;
}

/* A grown net's weights: the file's where it has them, the architecture's start elsewhere (the seed's
   draw, then start_grown), so that step 0 computes what the file's net computes. */
static ub_status load_grown(ub__train *t, const ub__safetensors *st) {
    const ub__param_table *tab = &t->arch.table;
    unsigned char *missing = calloc((size_t)tab->count, 1);
    if (!missing) return ub__fail(t->ctx, UB_ERR_NOMEM, "training: out of memory");
    ub_status s = ub__net_read(t->ctx, &t->arch, st, t->params, missing);
    for (int i = 0; !s && i < tab->count; i++) {
        if (missing[i]) t->arch.arch->start_grown(&t->arch.config, &tab->params[i], t->params + tab->params[i].offset);
        else t->init_params_read++;
    }
    free(missing);
    return s;
}

/* A fresh run's weights (and EMA) from cfg.init_from: a model file of this run's architecture, or of a
   smaller configuration the architecture grows from (arch.h's grows_from: RBNet's deeper bottleneck). */
static ub_status load_init(ub__train *t) {
    ub_ctx *ctx = t->ctx;
    const char *path = t->cfg.init_from;
    ub__safetensors *st = NULL;
    ub_status s = ub__st_open(ctx, path, &st);
    if (s) return s;
    ub__net net;
    memset(&net, 0, sizeof net);
    s = ub__net_from_meta(ctx, st, &net);
    if (!s && net.arch != t->arch.arch)
        s = ub__fail(ctx, UB_ERR_MISMATCH, "%s: arch is %s in the model, %s in this run; refusing --init-from", path,
                     net.arch->name, t->arch.arch->name);
    const ub__arch *arch = t->arch.arch;
    if (!s && arch->grows_from && arch->grows_from(&net.config, &t->arch.config)) {
        s = load_grown(t, st);
    } else if (!s) {
        s = init_mismatch(ctx, path, &net.config.rbnet, &t->arch.config.rbnet);
        if (!s) s = ub__net_read(ctx, &t->arch, st, t->params, NULL);
        if (!s) t->init_params_read = t->arch.table.count;
    }
    ub__net_free(&net);
    ub__st_close(&st);
    if (!s) memcpy(t->ema, t->params, t->arch.table.total * sizeof(float));
    return s;
}

/* ---- opening ---- */

/* log.csv's header: the fixed columns, then NAME_psnr,NAME_input_psnr per benchmark set. */
enum { LOG_HEADER_MAX = 256 + MAX_VAL_SETS * 160 };
static void log_header(const ub__train *t, char head[LOG_HEADER_MAX]) {
    size_t len = (size_t)snprintf(head, LOG_HEADER_MAX,
                                  "step,loss,lr,images_per_s,val_psnr,val_ssim,val_input_psnr,val_input_ssim,"
                                  "real_psnr,real_ssim,real_input_psnr,real_input_ssim");
    for (int k = 0; k < t->nsets; k++)
        len += (size_t)snprintf(head + len, LOG_HEADER_MAX - len, ",%s_psnr,%s_input_psnr", t->set_column[k],
                                t->set_column[k]);
    snprintf(head + len, LOG_HEADER_MAX - len, "\n");
}

/* A resumed run's log keeps the header and the rows up to the checkpoint's step: rows written after it
   (by a run killed before its next checkpoint) are dropped, since the resumed run redoes those steps.
   The header becomes this run's (the same unless val_sets changed; older rows keep their columns). */
static ub_status trim_log(ub__train *t, const char *path) {
    struct stat sb;
    if (stat(path, &sb) != 0) return UB_OK;
    char *text = read_text_file(t->ctx, path);
    if (!text) return UB_ERR_IO;
    size_t kept = 0;
    for (char *line = text; *line;) {
        char *eol = strchr(line, '\n');
        size_t len = eol ? (size_t)(eol - line) + 1 : strlen(line);
        char *end;
        long step = strtol(line, &end, 10);
        int header = line == text, row = end != line && *end == ',';
        if (!header && row && step <= t->step) memmove(text + kept, line, len), kept += len;
        line += len;
    }
    char head[LOG_HEADER_MAX];
    log_header(t, head);
    size_t head_len = strlen(head);
    char *joined = malloc(head_len + kept + 1);
    ub_status st = joined ? UB_OK : ub__fail(t->ctx, UB_ERR_NOMEM, "training: out of memory");
    if (joined) {
        memcpy(joined, head, head_len), memcpy(joined + head_len, text, kept);
        st = ub_write_file_atomic(t->ctx, path, joined, head_len + kept);
    }
    free(joined), free(text);
    return st;
}

static ub_status open_log(ub__train *t, int resume) {
    char path[UB_TRAIN_PATH_MAX + 32];
    run_path(t, "log.csv", path, sizeof path);
    if (resume) {
        ub_status st = trim_log(t, path);
        if (st) return st;
    }
    t->log = fopen(path, resume ? "a" : "w");
    if (!t->log) return ub__fail(t->ctx, UB_ERR_IO, "%s: %s", path, strerror(errno));
    if (!resume) {
        char head[LOG_HEADER_MAX];
        log_header(t, head);
        fputs(head, t->log);
    }
    return UB_OK;
}

static ub_status write_config(ub__train *t) {
    char path[UB_TRAIN_PATH_MAX + 32];
    run_path(t, "config.json", path, sizeof path);
    char *text = ub_train_config_to_json(&t->cfg);
    if (!text) return ub__fail(t->ctx, UB_ERR_NOMEM, "training: out of memory");
    size_t len = strlen(text);
    text[len] = '\n'; /* replaces the terminator: the file ends with a newline */
    ub_status st = ub_write_file_atomic(t->ctx, path, text, len + 1);
    free(text);
    return st;
}

/* Rank 0's weights, optimiser state and step into every rank (fresh weights are the same everywhere
   anyway, being drawn from the run seed; a resumed state is read by rank 0 alone). */
static ub_status share_state(ub__train *t) {
    size_t bytes = t->arch.table.total * sizeof(float);
    float *state[] = {t->params, t->m, t->v, t->ema};
    ub_status st = UB_OK;
    for (size_t i = 0; !st && i < sizeof state / sizeof *state; i++) st = ub__dist_broadcast(t->dist, state[i], bytes);
    if (!st) st = ub__dist_broadcast(t->dist, &t->step, sizeof t->step);
    return st;
}

/* ---- data-parallel runs: every process must have been given the same run ---- */

/* What the processes must share, as a JSON object: the config without the keys that only rank 0 uses or
   that do not change the arithmetic, the synthesis (its text, wherever it came from) and the training
   images (count, and a hash of their paths and sizes: pixels are not compared). Rank 0's is the norm. */
static json_t *shared_setup(const ub__train *t) {
    static const char *const own[] = {"run", "val", "val_pairs", "val_sets", "data_root", "init_from", "val_every",
                                      "val_patch", "checkpoint_seconds",
                                      "model_dtype", "workers", "prefetch", "synth_config", "preset"};
    json_t *o = config_object(&t->cfg);
    if (!o) return NULL;
    for (size_t i = 0; i < sizeof own / sizeof *own; i++) json_object_del(o, own[i]);
    uint64_t h = 0xcbf29ce484222325ull;
    const int n = ub__dataset_count(t->ds);
    for (int i = 0; i < n; i++) {
        int64_t w, hh;
        char size[48];
        ub__dataset_image_size(t->ds, i, &w, &hh);
        snprintf(size, sizeof size, "%lldx%lld", (long long)w, (long long)hh);
        h = fnv1a(fnv1a(h, ub__dataset_name(t->ds, i)), size);
    }
    char images[64];
    snprintf(images, sizeof images, "%d images (paths and sizes: hash %016llx)", n, (unsigned long long)h);
    if (json_object_set_new(o, "synthesis", json_string(t->synth_json)) ||
        json_object_set_new(o, "images", json_string(images))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* A JSON value for a message: at most 60 characters. */
static void show_value(const json_t *v, char *buf, size_t size) {
    char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(17));
    snprintf(buf, size, "%.60s%s", text ? text : "?", text && strlen(text) > 60 ? "..." : "");
    free(text);
}

/* Rank 0's text (NUL-terminated, malloc'ed) into *theirs on every rank; text: this rank's (NULL: out of
   memory). Every rank takes part in both broadcasts whatever happens, so that none waits forever. */
static ub_status receive_setup(ub__train *t, const char *text, char **theirs) {
    *theirs = NULL;
    unsigned long long len = text ? strlen(text) + 1 : 0; /* rank 0's counts */
    ub_status st = ub__dist_broadcast(t->dist, &len, sizeof len);
    if (st || len == 0) return st ? st : ub__fail(t->ctx, UB_ERR_NOMEM, "training: out of memory");
    char *buf = malloc(len);
    if (buf && t->rank == 0) memcpy(buf, text, len);
    /* in pieces of the same sizes on every rank: one without memory receives them into scratch */
    char scratch[256];
    for (unsigned long long at = 0; !st && at < len; at += sizeof scratch) {
        size_t piece = len - at < sizeof scratch ? (size_t)(len - at) : sizeof scratch;
        st = ub__dist_broadcast(t->dist, buf ? buf + at : scratch, piece);
    }
    if (!st && !buf) st = ub__fail(t->ctx, UB_ERR_NOMEM, "training: out of memory");
    if (st) free(buf), buf = NULL;
    *theirs = buf;
    return st;
}

/* UB_OK when mine has every key of norm with the same value; else a message naming the first that differs. */
static ub_status same_as_rank0(ub__train *t, const json_t *norm, const json_t *mine) {
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)norm, key, v) {
        const json_t *w = json_object_get(mine, key);
        if (w && json_equal(v, w)) continue;
        char a[80], b[80];
        show_value(w ? w : json_null(), a, sizeof a), show_value(v, b, sizeof b);
        return ub__fail(t->ctx, UB_ERR_INVALID,
                        "training: process %d of %d was given %s %s, process 0 %s: every process needs the same "
                        "training setup (images: the same files at the same path on every machine)",
                        t->rank, t->ranks, key, a, b);
    }
    return UB_OK;
}

/* Rank 0 sends its setup; a rank given another one (mpirun's MPMD form, or a config file or image folder
   that differs between machines) names the first key that differs, and every rank fails, before any
   collective whose size depends on the setup (a mismatch there hangs or aborts without a word). */
static ub_status check_same_setup(ub__train *t) {
    if (t->ranks == 1) return UB_OK;
    json_t *mine = shared_setup(t), *norm = NULL;
    char *text = mine ? json_dumps(mine, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17)) : NULL, *theirs;
    ub_status st = receive_setup(t, t->rank == 0 ? text : text ? "" : NULL, &theirs);
    if (!st && !text) st = ub__fail(t->ctx, UB_ERR_NOMEM, "training: out of memory");
    if (!st && !(norm = json_loads(theirs, 0, NULL)))
        st = ub__fail(t->ctx, UB_ERR_INVALID, "training: process 0's setup is not JSON");
    if (!st) st = same_as_rank0(t, norm, mine);
    json_decref(norm), json_decref(mine);
    free(text), free(theirs);
    return ub__dist_agree(t->dist, t->ctx, st);
}

ub_status ub_train_open(ub_ctx *ctx, const ub__train_config *cfg, int resume, ub__dist *dist, ub__train **out) {
    return ub__train_open_cpu(ctx, cfg, resume, dist, ub_cpu_features(), out);
}

ub_status ub__train_open_cpu(ub_ctx *ctx, const ub__train_config *cfg, int resume, ub__dist *dist,
                             unsigned cpu_features, ub__train **out) {
    if (!cfg || !out) return ub__fail(ctx, UB_ERR_INVALID, "training: NULL argument");
    *out = NULL;
    ub_status st = ub_train_config_check(ctx, cfg);
    if (st) return st;
    const int ranks = ub__dist_size(dist);
    if (cfg->batch % ranks != 0)
        return ub__fail(ctx, UB_ERR_INVALID, "training: a batch of %d does not split evenly over %d processes",
                        cfg->batch, ranks);
    ub__train *t = calloc(1, sizeof *t);
    if (!t) return ub__fail(ctx, UB_ERR_NOMEM, "training: out of memory");
    t->ctx = ctx, t->cfg = *cfg, t->cpu_features = cpu_features;
    t->dist = dist, t->rank = ub__dist_rank(dist), t->ranks = ranks, t->local_batch = cfg->batch / ranks;
    if (ranks > 1 && cfg->bucket_mb > 0) t->bucket_floats = (size_t)fmax(1.0, cfg->bucket_mb * 1e6 / sizeof(float));
    for (int k = 0; k < 2; k++) t->vs[k].psnr = t->vs[k].ssim = t->vs[k].input_psnr = t->vs[k].input_ssim = NAN;
    t->synth_json = synth_text(ctx, cfg);
    st = t->synth_json ? UB_OK : UB_ERR_INVALID;
    if (!st) st = open_network(t);
    if (!st) st = open_data(t);
    if (!st && resume && t->rank == 0) st = load_checkpoint(t);
    if (!st && !resume && cfg->init_from[0] && t->rank == 0) st = load_init(t);
    st = ub__dist_agree(dist, ctx, st);
    if (!st) st = check_same_setup(t);
    if (!st) st = share_state(t);
    /* only rank 0 validates and writes */
    if (!st && t->rank == 0) st = open_validation(t);
    if (!st && t->rank == 0) st = ub__make_folders(ctx, cfg->run);
    if (!st && t->rank == 0) st = write_config(t);
    if (!st && t->rank == 0) st = open_log(t, resume);
    st = ub__dist_agree(dist, ctx, st);
    if (st) {
        ub_train_close(&t);
        return st;
    }
    t->start_time = t->last_checkpoint = now_seconds();
    t->start_step = t->step;
    *out = t;
    return UB_OK;
}

void ub_train_close(ub__train **tp) {
    if (!tp || !*tp) return;
    ub__train *t = *tp;
    if (t->log) fclose(t->log);
    ub__fast_net_destroy(&t->val_net);
    ub__graph_free(&t->val_graph);
    free_set(&t->vs[0]), free_set(&t->vs[1]);
    ub_eval_method_destroy(&t->val_method);
    ub_model_destroy(&t->val_model);
    for (int k = 0; k < t->nsets; k++) ub_eval_set_destroy(&t->esets[k]);
    ub_image_destroy(&t->val_out);
    float *bufs[] = {t->params, t->grads, t->m, t->v, t->ema, t->blurred, t->sharp, t->output, t->doutput};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) ub__free(bufs[i]);
    ub__fast_net_destroy(&t->net);
    ub__vgg_destroy(&t->vgg);
    ub__graph_free(&t->graph);
    ub__net_free(&t->arch);
    join_prefetch(t);
    ub__sampler_destroy(&t->sampler);
    ub_ctx_destroy(&t->data_ctx);
    ub__free(t->next_blurred), ub__free(t->next_sharp);
    ub__dataset_close(&t->ds);
    free(t->synth_json);
    free(t);
    *tp = NULL;
}

/* ---- steps ---- */

/* This rank's first sample of every batch. */
static int first_sample(const ub__train *t) { return t->rank * t->local_batch; }

static void *prefetch_main(void *arg) {
    ub__train *t = arg;
    t->pending_status = ub__dataset_batch(t->sampler, t->ds, (uint64_t)t->cfg.seed, (uint64_t)t->pending_step,
                                          first_sample(t), t->local_batch, t->cfg.patch, t->next_blurred,
                                          t->next_sharp);
    return NULL;
}

static ub_status start_prefetch(ub__train *t, long step) {
    t->pending_step = step;
    if (pthread_create(&t->thread, NULL, prefetch_main, t) != 0)
        return ub__fail(t->ctx, UB_ERR_NOMEM, "training: cannot start the data thread");
    t->pending = 1;
    return UB_OK;
}

/* Waits for the data thread; its status (the error copied into the run's context). */
static ub_status join_prefetch(ub__train *t) {
    if (!t->pending) return UB_OK;
    pthread_join(t->thread, NULL);
    t->pending = 0;
    ub_status st = t->pending_status;
    return st ? ub__fail(t->ctx, st, "%s", ub_last_error(t->data_ctx)) : UB_OK;
}

static void swap_buffers(float **a, float **b) {
    float *x = *a;
    *a = *b, *b = x;
}

/* The batch of `step` into t->blurred, t->sharp: made now, or (prefetching) taken from the data thread,
   which then starts on the next step's. The bytes are the same either way. */
static ub_status make_batch(ub__train *t, long step) {
    uint64_t seed = (uint64_t)t->cfg.seed;
    if (!t->cfg.prefetch)
        return ub__dataset_batch(t->sampler, t->ds, seed, (uint64_t)step, first_sample(t), t->local_batch,
                                 t->cfg.patch, t->blurred, t->sharp);
    ub_status st;
    if (t->pending && t->pending_step == step) {
        st = join_prefetch(t);
        swap_buffers(&t->blurred, &t->next_blurred), swap_buffers(&t->sharp, &t->next_sharp);
    } else {
        if (t->pending) pthread_join(t->thread, NULL), t->pending = 0; /* a batch of another step: unused */
        st = ub__dataset_batch(t->sampler, t->ds, seed, (uint64_t)step, first_sample(t), t->local_batch,
                               t->cfg.patch, t->blurred, t->sharp);
        if (st) st = ub__fail(t->ctx, st, "%s", ub_last_error(t->data_ctx));
    }
    if (!st && step < t->cfg.steps) st = start_prefetch(t, step + 1);
    return st;
}

/* The loss of the current batch's output; its gradient w.r.t. the output into t->doutput. */
static ub_status batch_loss(ub__train *t, double *loss) {
    ub__loss_spec spec = {strcmp(t->cfg.loss, "charbonnier") == 0 ? UB__LOSS_CHARBONNIER : UB__LOSS_L1,
                          UB__CHARBONNIER_EPS};
    int n = t->local_batch, p = t->cfg.patch;
    memset(t->doutput, 0, t->batch_floats * sizeof(float));
    double pixel = 0, freq = 0;
    ub_status st = ub__pixel_loss(t->ctx, &spec, n, 3, p, p, t->output, t->sharp, t->doutput, 1.0, &pixel);
    if (!st && t->cfg.freq_weight > 0)
        st = ub__frequency_loss(t->ctx, n, 3, p, p, t->output, t->sharp, t->doutput, t->cfg.freq_weight, &freq);
    double perceptual = 0, pw = t->vgg ? t->cfg.perceptual_weight : 0;
    if (!st && pw > 0)
        st = ub__perceptual_loss(t->ctx, t->vgg, n, p, p, t->output, t->sharp, t->doutput, pw, &perceptual);
    *loss = pixel + t->cfg.freq_weight * freq + pw * perceptual;
    return st;
}

static int checkpoint_due(const ub__train *t) {
    return now_seconds() - t->last_checkpoint >= t->cfg.checkpoint_seconds;
}

/* The backward pass's hook (bucket_mb > 0): every bucket of gradients that the pass has finished starts
   summing over the ranks while the pass goes on. The buckets' edges are fixed (n - k * bucket_floats), so
   every rank starts the same sums in the same order, whatever its pass did (MPI matches them by order). */
static ub_status start_buckets(ub__train *t, size_t final_from) {
    double t0 = now_seconds();
    ub_status st = UB_OK;
    while (!st && t->unsent > 0) {
        size_t lo = t->unsent > t->bucket_floats ? t->unsent - t->bucket_floats : 0;
        if (lo < final_from) break;
        st = ub__dist_sum_start(t->dist, t->grads + lo, t->unsent - lo);
        t->unsent = lo;
    }
    if (!st) st = ub__dist_progress(t->dist);
    t->sum_seconds += now_seconds() - t0;
    return st;
}

static ub_status grads_final(void *user, size_t from) { return start_buckets(user, from); }

/* Data-parallel runs: the step's sums. Every rank calls it every step, failed or not (so that none waits
   forever): the ranks' gradients, losses and flags (TAIL_*) are summed — in one collective after the
   backward pass (bucket_mb = 0), or in buckets started during it (start_buckets) and the tail now; each
   rank's gradient is of the mean loss over its share of the batch, so the mean over ranks is the
   gradient of the whole batch's mean loss, the same on every rank. */
static ub_status sum_over_ranks(ub__train *t, ub_status own, double *loss) {
    const size_t n = t->arch.table.total;
    float *tail = t->grads + n;
    tail[TAIL_LOSS] = own ? 0.0f : (float)*loss;
    tail[TAIL_FAILED] = own ? 1.0f : 0.0f;
    tail[TAIL_STOP] = (t->stop && *t->stop) || t->agreed_stop ? 1.0f : 0.0f;
    tail[TAIL_CHECKPOINT] = t->rank == 0 && checkpoint_due(t) ? 1.0f : 0.0f;
    ub_status st = UB_OK;
    if (t->bucket_floats > 0) {
        st = start_buckets(t, 0); /* what the pass did not finish (all of it after a failure) */
        double t0 = now_seconds();
        ub_status tail_st = ub__dist_sum_start(t->dist, tail, TAIL_FLOATS);
        if (!st) st = tail_st;
        tail_st = ub__dist_sum_wait(t->dist);
        if (!st) st = tail_st;
        t->sum_seconds += now_seconds() - t0;
    } else {
        double t0 = now_seconds();
        st = ub__dist_sum_floats(t->dist, t->grads, n + TAIL_FLOATS);
        t->sum_seconds += now_seconds() - t0;
    }
    if (st || own) return st ? st : own;
    if (tail[TAIL_FAILED] > 0)
        return ub__fail(t->ctx, UB_ERR_INVALID, "step %ld: another training process failed (its own message says why)",
                        t->step + 1);
    const float scale = 1.0f / (float)t->ranks;
#pragma omp parallel for num_threads(ub_ctx_threads(t->ctx)) schedule(static)
    for (size_t i = 0; i < n; i++) t->grads[i] *= scale;
    *loss = (double)tail[TAIL_LOSS] / t->ranks;
    t->agreed_stop = tail[TAIL_STOP] > 0, t->agreed_checkpoint = tail[TAIL_CHECKPOINT] > 0;
    return UB_OK;
}

ub_status ub__train_step(ub__train *t, ub__train_stats *stats) {
    ub_ctx *ctx = t->ctx;
    double t0 = now_seconds();
    long step = t->step + 1;
    size_t n = t->arch.table.total;
    int threads = ub_ctx_threads(ctx);
    t->unsent = n; /* no bucket started yet, even when this rank fails before its backward pass */
    ub_status st = make_batch(t, step);
    double data_s = now_seconds() - t0;
    if (!st) st = ub__fast_forward(t->net, t->params, t->blurred, t->output);
    double loss = 0;
    if (!st) st = batch_loss(t, &loss);
    if (t->ranks == 1 && st) return st;
    /* a run of one stops before the backward pass; ranks learn of a non-finite loss from its sum */
    if (t->ranks == 1 && !isfinite(loss)) t->diverged = 1;
    else if (!st) {
        memset(t->grads, 0, n * sizeof(float));
        if (t->bucket_floats > 0) st = ub__fast_backward_hooked(t->net, t->params, t->doutput, t->grads, NULL, grads_final, t);
        else st = ub__fast_backward(t->net, t->params, t->doutput, t->grads, NULL);
    }
    if (t->ranks > 1) st = sum_over_ranks(t, st, &loss);
    if (st) return st;
    t->diverged = !isfinite(loss);
    if (t->diverged)
        return ub__fail(ctx, UB_ERR_INVALID, "step %ld: the loss is not finite (%g): stopped (learning rate too high?)",
                        step, loss);
    double norm = t->cfg.clip > 0 ? ub__clip_grad_norm(n, t->grads, t->cfg.clip, threads)
                                  : ub__grad_norm(n, t->grads, threads);
    t->diverged = !isfinite(norm);
    if (t->diverged)
        return ub__fail(ctx, UB_ERR_INVALID,
                        "step %ld: the gradient norm is not finite (%g): stopped (learning rate too high?)", step,
                        norm);
    ub__lr_schedule sched = {t->cfg.lr, t->cfg.min_lr, t->cfg.warmup, t->cfg.steps};
    double lr = ub__lr_at(&sched, step);
    ub__adam_config adam;
    ub__adam_config_default(&adam);
    adam.weight_decay = t->cfg.weight_decay, adam.decoupled = strcmp(t->cfg.optimizer, "adam") != 0;
    ub__adam_step(&adam, n, t->params, t->grads, t->m, t->v, step, lr, threads);
    ub__ema_update(n, t->ema, t->params, ub__ema_decay_at(t->cfg.ema_decay, step - 1, 1), threads);
    t->step = step;
    double now = now_seconds();
    t->steps_timed++, t->data_seconds += data_s, t->step_seconds += now - t0;
    if (stats) {
        memset(stats, 0, sizeof *stats);
        stats->data_seconds = data_s, stats->step_seconds = now - t0;
        stats->step = step, stats->steps = t->cfg.steps, stats->loss = loss, stats->lr = lr;
        stats->images_per_s = t->cfg.batch / fmax(now - t0, 1e-9);
        stats->seconds = now - t->start_time;
        double per_step = stats->seconds / (double)(step - t->start_step);
        stats->eta_seconds = per_step * (double)(t->cfg.steps - step);
        stats->val_psnr = stats->val_ssim = stats->val_input_psnr = stats->val_input_ssim = NAN;
        stats->real_psnr = stats->real_ssim = stats->real_input_psnr = stats->real_input_ssim = NAN;
    }
    return UB_OK;
}

static void log_row(ub__train *t, const ub__train_stats *s) {
    if (!t->log) return;
    fprintf(t->log, "%ld,%.9g,%.9g,%.4g", s->step, s->loss, s->lr, s->images_per_s);
    const double v[8] = {s->val_psnr,  s->val_ssim,  s->val_input_psnr,  s->val_input_ssim,
                         s->real_psnr, s->real_ssim, s->real_input_psnr, s->real_input_ssim};
    for (int i = 0; i < 8; i++) {
        if (s->validated && isfinite(v[i])) fprintf(t->log, ",%.6f", v[i]);
        else fputc(',', t->log);
    }
    for (int k = 0; k < t->nsets; k++) {
        const double w[2] = {t->set_psnr[k], t->set_input_psnr[k]};
        for (int i = 0; i < 2; i++) {
            if (s->validated && isfinite(w[i])) fprintf(t->log, ",%.6f", w[i]);
            else fputc(',', t->log);
        }
    }
    fputc('\n', t->log);
}

ub_status ub_train_run(ub__train *t, long stop_at, volatile sig_atomic_t *stop, ub_train_report_fn report,
                        void *user, ub_train_outcome *outcome) {
    long last = stop_at > 0 && stop_at < t->cfg.steps ? stop_at : t->cfg.steps;
    int asked = 0;
    ub_status st = UB_OK;
    t->diverged = 0, t->stop = stop, t->agreed_stop = 0;
    while (!st && !asked && t->step < last) {
        ub__train_stats s;
        if ((st = ub__train_step(t, &s)) != UB_OK) break;
        if (t->step % t->cfg.val_every == 0 || t->step == last) {
            /* rank 0 validates; the others wait for its outcome */
            if (t->vs[0].n + t->vs[1].n + t->nsets > 0) st = validate(t), s.validated = !st;
            if ((st = ub__dist_agree(t->dist, t->ctx, st)) != UB_OK) break;
            const val_set *a = &t->vs[0], *b = &t->vs[1];
            s.val_psnr = a->psnr, s.val_ssim = a->ssim;
            s.val_input_psnr = a->input_psnr, s.val_input_ssim = a->input_ssim;
            s.real_psnr = b->psnr, s.real_ssim = b->ssim;
            s.real_input_psnr = b->input_psnr, s.real_input_ssim = b->input_ssim;
        }
        /* a run of ranks acts on what they agreed in the step's sum (a signal reaches them at different
           moments, and only rank 0 keeps time) */
        const int many = t->ranks > 1;
        asked = many ? t->agreed_stop : stop && *stop;
        /* the last step's and a stop's checkpoint come after the loop */
        if (!asked && t->step < last && (many ? t->agreed_checkpoint : checkpoint_due(t))) {
            if ((st = ub__train_save(t)) != UB_OK) break;
            s.checkpointed = 1;
        }
        log_row(t, &s);
        /* a report's request to stop is shared through the next step's sum */
        if (report && report(user, &s) != 0) t->agreed_stop = 1, asked |= !many;
        if (!many && stop && *stop) asked = 1;
    }
    if (!st) st = ub__train_save(t);
    if (outcome)
        *outcome = t->diverged ? UB_TRAIN_DIVERGED : asked && t->step < last ? UB_TRAIN_STOPPED : UB_TRAIN_DONE;
    return st;
}

long ub_train_steps_done(const ub__train *t) { return t->step; }
int ub_train_bf16(const ub__train *t, const char **why) {
    if (why) *why = t->no_bf16;
    return t->bf16;
}
size_t ub_train_param_count(const ub__train *t) { return t->arch.table.total; }

void ub_train_init_counts(const ub__train *t, int *read, int *tensors) {
    if (read) *read = t->init_params_read;
    if (tensors) *tensors = t->arch.table.count;
}
const float *ub__train_params(const ub__train *t) { return t->params; }
const float *ub__train_ema(const ub__train *t) { return t->ema; }

void ub_train_data_counts(const ub__train *t, int *images, int *skipped, int *val_images) {
    if (images) *images = ub__dataset_count(t->ds);
    if (skipped) *skipped = ub__dataset_skipped_count(t->ds);
    if (val_images) *val_images = t->vs[0].n;
}

void ub_train_last_val(const ub__train *t, double *psnr, double *ssim, double *input_psnr, double *input_ssim) {
    if (psnr) *psnr = t->vs[0].psnr;
    if (ssim) *ssim = t->vs[0].ssim;
    if (input_psnr) *input_psnr = t->vs[0].input_psnr;
    if (input_ssim) *input_ssim = t->vs[0].input_ssim;
}

void ub_train_last_real_val(const ub__train *t, int *pairs, double *psnr, double *ssim, double *input_psnr,
                             double *input_ssim) {
    if (pairs) *pairs = t->vs[1].n;
    if (psnr) *psnr = t->vs[1].psnr;
    if (ssim) *ssim = t->vs[1].ssim;
    if (input_psnr) *input_psnr = t->vs[1].input_psnr;
    if (input_ssim) *input_ssim = t->vs[1].input_ssim;
}

int ub_train_val_sets(const ub__train *t, int k, const char **name, double *psnr, double *input_psnr) {
    if (k >= 0 && k < t->nsets) {
        if (name) *name = t->set_column[k];
        if (psnr) *psnr = t->set_psnr[k];
        if (input_psnr) *input_psnr = t->set_input_psnr[k];
    }
    return t->nsets;
}

void ub_train_timing(const ub__train *t, long *steps, double *data_seconds, double *step_seconds,
                      double *sum_seconds) {
    if (sum_seconds) *sum_seconds = t->sum_seconds;
    if (steps) *steps = t->steps_timed;
    if (data_seconds) *data_seconds = t->data_seconds;
    if (step_seconds) *step_seconds = t->step_seconds;
}

/* ---- unblur/train.h's view of train/dist.h ---- */

ub_status ub_dist_open(ub_ctx *ctx, int *argc, char ***argv, ub_dist **out) {
    return ub__dist_open(ctx, argc, argv, out);
}
void ub_dist_close(ub_dist **d) { ub__dist_close(d); }
int ub_dist_local_processes(void) { return ub__dist_local_processes(); }
int ub_dist_rank(const ub_dist *d) { return ub__dist_rank(d); }
int ub_dist_size(const ub_dist *d) { return ub__dist_size(d); }
const char *ub_dist_library(const ub_dist *d) { return ub__dist_library(d); }
