/* cli/cmd_train.c — `unblur train`: train RBNet from sharp images with synthetic blur.

     unblur train --data DIR[,DIR...] [--ids FILE] [--preset P | --synth-config C.json] --run RUN [options]
     unblur train --config train.json [options]        (the JSON's keys are train.h's field names)
     unblur train --resume RUN [options]               (RUN/config.json, then the flags given)

   The configuration is resolved in this order: defaults, --resume RUN's config.json, --config's JSON,
   then every flag given. The run itself is behind the public include/unblur/train.h.

   --val-set SPEC is repeatable (and a SPEC may hold several, comma-separated): the sets given replace
   the config's val_sets (--val-set none: no set); each is scored on the EMA weights at every validation.

   Signals: the first SIGINT/SIGTERM sets a flag that the training loop reads after each step: it
   finishes the step, writes the checkpoint and exits 0. A second signal exits at once (_exit(130))
   without touching files; the checkpoint on disk is whole, being written atomically. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unblur/train.h"
#include "cli.h"

/* The one piece of global state of the program: a signal handler can only reach a global, and
   sig_atomic_t is the type it may write. 0: run; 1: stop after this step. */
static volatile sig_atomic_t stop_requested;

static void on_signal(int sig) {
    (void)sig;
    if (stop_requested) _exit(130);
    stop_requested = 1;
}

static void install_handlers(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* What the command line gave: NULL strings and -1 numbers were not given. */
typedef struct train_flags {
    const char *config, *resume, *data, *ids, *preset, *synth_config, *val, *val_pairs, *run, *loss, *optimizer;
    const char *model_dtype, *precision, *vgg, *vgg_layer, *perceptual_weight, *block, *skip_attention;
    const char *data_root, *init_from, *val_set_help;
    char val_sets[UB_TRAIN_PATH_MAX]; /* every --val-set, comma-joined */
    int val_sets_given;
    const char *lr, *min_lr, *weight_decay, *clip, *ema_decay, *freq_weight, *checkpoint_seconds, *bucket_mb;
    int width, blocks, mid_blocks, depth, patch, batch, workers, val_patch, prefetch;
    int64_t steps, warmup, seed, val_every, stop_at, log_every;
} train_flags;

/* Moves every --val-set SPEC / --val-set=SPEC out of argv into f->val_sets (comma-joined; "none" clears
   the list); returns the new argc, or -1 (reported). */
static int take_val_sets(int argc, char **argv, train_flags *f) {
    static const char name[] = "--val-set";
    const size_t n = sizeof name - 1;
    int out = 0;
    for (int i = 0; i < argc;) {
        if (!strcmp(argv[i], "--")) {
            while (i < argc) argv[out++] = argv[i++];
            break;
        }
        const char *a = argv[i], *v;
        if (strncmp(a, name, n) || (a[n] != '\0' && a[n] != '=')) {
            argv[out++] = argv[i++];
            continue;
        }
        if (a[n] == '=') v = a + n + 1, i += 1;
        else if (i + 1 < argc) v = argv[i + 1], i += 2;
        else return cli_fail(EXIT_USAGE, "train: --val-set needs a value"), -1;
        if (!*v) return cli_fail(EXIT_USAGE, "train: --val-set needs a value"), -1;
        size_t len = strlen(f->val_sets);
        if (!strcmp(v, "none")) {
            f->val_sets[0] = '\0', f->val_sets_given = 1;
            continue;
        }
        if (len + 1 + strlen(v) >= sizeof f->val_sets) return cli_fail(EXIT_USAGE, "train: --val-set: too long"), -1;
        snprintf(f->val_sets + len, sizeof f->val_sets - len, "%s%s", len ? "," : "", v);
        f->val_sets_given = 1;
    }
    return out;
}

static int read_json_file(ub_ctx *ctx, const char *path, ub_train_config *c) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return cli_fail(EXIT_RUNTIME, "%s: %s", path, strerror(errno));
    char *text = NULL;
    size_t cap = 0, len = 0;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            char *bigger = realloc(text, cap = 2 * cap + 8192);
            if (!bigger) break;
            text = bigger;
        }
        size_t got = fread(text + len, 1, 4096, fp);
        len += got;
        if (got < 4096) break;
    }
    fclose(fp);
    if (!text) return cli_fail(EXIT_RUNTIME, "%s: out of memory", path);
    text[len] = '\0';
    int rc = ub_train_config_from_json(ctx, text, path, c) != UB_OK ? cli_fail_ctx(ctx) : 0;
    free(text);
    return rc;
}

static int set_string(char *field, size_t size, const char *value, const char *flag) {
    if (!value) return 0;
    if (strlen(value) >= size) return cli_fail(EXIT_USAGE, "train: --%s is too long", flag);
    snprintf(field, size, "%s", value);
    return 0;
}

static int set_double(double *field, const char *value, const char *flag) {
    if (!value) return 0;
    char *end;
    errno = 0;
    double x = strtod(value, &end);
    if (end == value || *end || errno || !isfinite(x))
        return cli_fail(EXIT_USAGE, "train: --%s expects a number, not '%s'", flag, value);
    *field = x;
    return 0;
}

static int apply_flags(const train_flags *f, ub_train_config *c) {
    const struct { char *field; size_t size; const char *value, *flag; } strings[] = {
        {c->data, sizeof c->data, f->data, "data"},
        {c->ids, sizeof c->ids, f->ids, "ids"},
        {c->preset, sizeof c->preset, f->preset, "preset"},
        {c->synth_config, sizeof c->synth_config, f->synth_config, "synth-config"},
        {c->val, sizeof c->val, f->val, "val"},
        {c->val_pairs, sizeof c->val_pairs, f->val_pairs, "val-pairs"},
        {c->run, sizeof c->run, f->run, "run"},
        {c->loss, sizeof c->loss, f->loss, "loss"},
        {c->optimizer, sizeof c->optimizer, f->optimizer, "optimizer"},
        {c->model_dtype, sizeof c->model_dtype, f->model_dtype, "model-dtype"},
        {c->precision, sizeof c->precision, f->precision, "precision"},
        {c->vgg, sizeof c->vgg, f->vgg, "vgg"},
        {c->vgg_layer, sizeof c->vgg_layer, f->vgg_layer, "vgg-layer"},
        {c->block, sizeof c->block, f->block, "block"},
        {c->skip_attention, sizeof c->skip_attention, f->skip_attention, "skip-attention"},
        {c->data_root, sizeof c->data_root, f->data_root, "data-root"},
        {c->init_from, sizeof c->init_from, f->init_from, "init-from"},
        {c->val_sets, sizeof c->val_sets, f->val_sets_given ? f->val_sets : NULL, "val-set"},
    };
    for (size_t i = 0; i < sizeof strings / sizeof *strings; i++)
        if (set_string(strings[i].field, strings[i].size, strings[i].value, strings[i].flag)) return EXIT_USAGE;
    /* a preset given on the command line wins over a config file's synthesis file */
    if (f->preset && !f->synth_config) c->synth_config[0] = '\0';
    const struct { double *field; const char *value, *flag; } doubles[] = {
        {&c->lr, f->lr, "lr"},
        {&c->min_lr, f->min_lr, "min-lr"},
        {&c->weight_decay, f->weight_decay, "weight-decay"},
        {&c->clip, f->clip, "clip"},
        {&c->ema_decay, f->ema_decay, "ema-decay"},
        {&c->freq_weight, f->freq_weight, "freq-weight"},
        {&c->perceptual_weight, f->perceptual_weight, "perceptual-weight"},
        {&c->checkpoint_seconds, f->checkpoint_seconds, "checkpoint-seconds"},
        {&c->bucket_mb, f->bucket_mb, "bucket-mb"},
    };
    for (size_t i = 0; i < sizeof doubles / sizeof *doubles; i++)
        if (set_double(doubles[i].field, doubles[i].value, doubles[i].flag)) return EXIT_USAGE;
    const struct { int *field; int value; } ints[] = {
        {&c->width, f->width}, {&c->blocks, f->blocks}, {&c->mid_blocks, f->mid_blocks}, {&c->depth, f->depth},
        {&c->patch, f->patch},
        {&c->batch, f->batch}, {&c->workers, f->workers}, {&c->val_patch, f->val_patch}, {&c->prefetch, f->prefetch},
    };
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++)
        if (ints[i].value >= 0) *ints[i].field = ints[i].value;
    if (f->steps >= 0) c->steps = (long)f->steps;
    if (f->warmup >= 0) c->warmup = (long)f->warmup;
    if (f->val_every >= 0) c->val_every = (long)f->val_every;
    if (f->seed >= 0) c->seed = f->seed;
    return 0;
}

typedef struct reporter {
    const ub_train *t; /* its benchmark sets' last scores */
    int tty, quiet;
    long log_every;
    int drawn;
    double last_draw; /* s->seconds of the last line drawn on the terminal */
} reporter;

static void format_eta(double s, char *buf, size_t size) {
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, size, "%ldh%02ldm", t / 3600, t / 60 % 60);
    else snprintf(buf, size, "%ldm%02lds", t / 60, t % 60);
}

static int report(void *user, const ub_train_stats *s) {
    reporter *r = user;
    if (r->quiet) return 0;
    char eta[32], val[1024] = "";
    format_eta(s->eta_seconds, eta, sizeof eta);
    if (s->validated && isfinite(s->val_psnr))
        snprintf(val, sizeof val, "  val PSNR %.2f dB (input %.2f) SSIM %.4f", s->val_psnr, s->val_input_psnr,
                 s->val_ssim);
    if (s->validated && isfinite(s->real_psnr))
        snprintf(val + strlen(val), sizeof val - strlen(val), "  real PSNR %.2f dB (input %.2f) SSIM %.4f",
                 s->real_psnr, s->real_input_psnr, s->real_ssim);
    for (int k = 0, n = s->validated && r->t ? ub_train_val_sets(r->t, 0, NULL, NULL, NULL) : 0; k < n; k++) {
        const char *name;
        double psnr, input;
        ub_train_val_sets(r->t, k, &name, &psnr, &input);
        size_t len = strlen(val);
        if (isfinite(psnr) && len < sizeof val)
            snprintf(val + len, sizeof val - len, "  %s %.2f dB (input %.2f)", name, psnr, input);
    }
    if (r->tty) {
        /* at most ~10 redraws a second, but every validation and the last step */
        if (!s->validated && s->step != s->steps && r->drawn && s->seconds - r->last_draw < 0.1) return 0;
        r->last_draw = s->seconds;
        fprintf(stderr, "\rstep %ld/%ld  loss %.5f  lr %.2e  %.1f img/s  ETA %s%s\033[K", s->step, s->steps, s->loss,
                s->lr, s->images_per_s, eta, val);
        if (s->validated) fputc('\n', stderr);
        r->drawn = !s->validated;
    } else if (s->validated || s->step % r->log_every == 0 || s->step == s->steps) {
        fprintf(stderr, "step %ld/%ld loss %.5f lr %.2e %.1f img/s ETA %s%s\n", s->step, s->steps, s->loss, s->lr,
                s->images_per_s, eta, val);
    }
    fflush(stderr);
    return 0;
}

static int train(ub_ctx *ctx, ub_dist *dist, const ub_train_config *c, int resume, long stop_at, reporter *r,
                 cli_progress *loading) {
    ub_train *t = NULL;
    ub_status opened = ub_train_open(ctx, c, resume, dist, &t);
    cli_progress_done(loading); /* ends the "loading images" bar before our own lines */
    loading->enabled = 0;       /* and no "deblur" bar from the --val-set models over them */
    if (opened != UB_OK) return cli_fail_ctx(ctx);
    int images, skipped, nval;
    ub_train_data_counts(t, &images, &skipped, &nval);
    if (skipped > 0 && ub_dist_rank(dist) == 0)
        fprintf(stderr, "unblur: warning: %d images smaller than the patch (%d) skipped\n", skipped, c->patch);
    if (!r->quiet)
        fprintf(stderr,
                "unblur: training RBNet W%d N%d M%d D%d, %s blocks (%zu parameters) on %d images, %d validation; "
                "%s at step %ld\n",
                c->width, c->blocks, c->mid_blocks < 0 ? c->blocks : c->mid_blocks, c->depth, c->block,
                ub_train_param_count(t), images, nval, resume ? "resuming" : "starting",
                ub_train_steps_done(t));
    if (!r->quiet && ub_dist_size(dist) > 1)
        fprintf(stderr, "unblur: %d processes (%s), %d images of each batch of %d per process, %d threads each\n",
                ub_dist_size(dist), ub_dist_library(dist), c->batch / ub_dist_size(dist), c->batch,
                ub_ctx_threads(ctx));
    int init_read = 0, tensors = 0;
    ub_train_init_counts(t, &init_read, &tensors);
    if (!r->quiet && c->init_from[0] && !resume) {
        if (init_read == tensors) fprintf(stderr, "unblur: weights from %s\n", c->init_from);
        else
            fprintf(stderr, "unblur: weights from %s, grown: %d of %d tensors from it, the new bottleneck blocks "
                    "start as the identity\n", c->init_from, init_read, tensors);
    }
    const char *why = NULL;
    const int bf16 = ub_train_bf16(t, &why);
    if (bf16 && !r->quiet)
        fprintf(stderr, "unblur: mixed precision: convolutions in bf16, weights, optimiser and the rest in fp32\n");
    else if (!bf16 && !strcmp(c->precision, "bf16") && ub_dist_rank(dist) == 0)
        fprintf(stderr, "unblur: precision bf16: %s; training in fp32\n", why && why[0] ? why : "not available");
    r->t = t;
    install_handlers();
    ub_train_outcome outcome = UB_TRAIN_DONE;
    ub_status st = ub_train_run(t, stop_at, &stop_requested, report, r, &outcome);
    if (r->drawn) fputc('\n', stderr);
    long done = ub_train_steps_done(t), timed;
    double data_s, step_s, sum_s;
    ub_train_timing(t, &timed, &data_s, &step_s, &sum_s);
    r->t = NULL;
    ub_train_close(&t);
    if (!r->quiet && timed > 0 && step_s > 0) {
        char sum[64] = "";
        if (ub_dist_size(dist) > 1) snprintf(sum, sizeof sum, "; summing over processes: %.3f s", sum_s / (double)timed);
        fprintf(stderr, "unblur: %ld steps, %.3f s each (making the batch: %.3f s%s), %.2f images/s\n", timed,
                step_s / (double)timed, data_s / (double)timed, sum, (double)timed * c->batch / step_s);
    }
    /* every rank saw the same non-finite loss: rank 0 says it */
    if (outcome == UB_TRAIN_DIVERGED && ub_dist_rank(dist) > 0) return EXIT_RUNTIME;
    if (outcome == UB_TRAIN_DIVERGED) {
        char path[sizeof c->run + 32];
        snprintf(path, sizeof path, "%s/checkpoint.safetensors", c->run);
        if (access(path, F_OK) != 0)
            return cli_fail(EXIT_RUNTIME, "%s; no checkpoint had been written yet", ub_last_error(ctx));
        return cli_fail(EXIT_RUNTIME, "%s; the last good checkpoint is kept in %s", ub_last_error(ctx), path);
    }
    if (st) return cli_fail_ctx(ctx);
    if (outcome == UB_TRAIN_STOPPED && ub_dist_rank(dist) == 0)
        fprintf(stderr, "unblur: stopped at step %ld; checkpoint written; continue with 'unblur train --resume %s'\n",
                done, c->run);
    else if (!r->quiet)
        fprintf(stderr, "unblur: step %ld of %ld done; weights in %s/model.safetensors\n", done, c->steps, c->run);
    return 0;
}

int cmd_train(const cli_command *cmd, int argc, char **argv) {
    train_flags f;
    memset(&f, 0, sizeof f);
    f.width = f.blocks = f.mid_blocks = f.depth = f.patch = f.batch = f.workers = f.val_patch = f.prefetch = -1;
    f.steps = f.warmup = f.seed = f.val_every = f.stop_at = f.log_every = -1;
    const cli_option opts[] = {
        {"config", 0, OPT_STRING, &f.config, 0, 0, "FILE", "JSON settings (keys as in config.json); flags override"},
        {"resume", 0, OPT_STRING, &f.resume, 0, 0, "RUN", "continue the run in folder RUN from its checkpoint"},
        {"data", 0, OPT_STRING, &f.data, 0, 0, "DIRS", "folders of sharp images, comma-separated"},
        {"ids", 0, OPT_STRING, &f.ids, 0, 0, "FILE", "keep only the images whose stems are listed"},
        {"preset", 0, OPT_STRING, &f.preset, 0, 0, "P", "synthesis: gaussian (default), linear, shake, realistic"},
        {"synth-config", 0, OPT_STRING, &f.synth_config, 0, 0, "C.json", "synthesis config file (instead of a preset)"},
        {"val", 0, OPT_STRING, &f.val, 0, 0, "DIR", "validation images (centre crops, blurred once)"},
        {"val-pairs", 0, OPT_STRING, &f.val_pairs, 0, 0, "DIR", "real pairs: blur/ + sharp/, or *blur* + *sharp*"},
        {"val-set", 0, OPT_STRING, &f.val_set_help, 0, 0, "SPEC",
         "a set as in 'unblur eval --set', scored at each validation into log.csv (repeatable; "
         "e.g. reds_dev:crop=128:step=3; none: no set)"},
        {"data-root", 0, OPT_STRING, &f.data_root, 0, 0, "DIR", "where --val-set names resolve (../shared/data)"},
        {"init-from", 0, OPT_STRING, &f.init_from, 0, 0, "MODEL",
         "start a fresh run from these weights (same architecture, or fewer --mid-blocks: grown; new optimiser "
         "state and schedule)"},
        {"run", 0, OPT_STRING, &f.run, 0, 0, "RUN", "the run folder (default 'run')"},
        {"width", 0, OPT_INT, &f.width, 1, 1024, "W", "channels at the first level (32)"},
        {"blocks", 0, OPT_INT, &f.blocks, 0, 64, "N", "residual blocks per stage (2)"},
        {"mid-blocks", 0, OPT_INT, &f.mid_blocks, 0, 64, "M", "bottleneck blocks (default: --blocks)"},
        {"depth", 0, OPT_INT, &f.depth, 1, 8, "D", "down-samplings (2)"},
        {"block", 0, OPT_STRING, &f.block, 0, 0, "B", "res (ResBlock, default) or naf (NAFBlock)"},
        {"skip-attention", 0, OPT_STRING, &f.skip_attention, 0, 0, "A", "on the skips: both (default), se, sa or none"},
        {"patch", 0, OPT_INT, &f.patch, 8, 4096, "P", "training patch side (64)"},
        {"batch", 0, OPT_INT, &f.batch, 1, 4096, "B", "patches per step (4)"},
        {"steps", 0, OPT_INT64, &f.steps, 1, INT64_MAX, "N", "steps of the schedule (1000)"},
        {"stop-at", 0, OPT_INT64, &f.stop_at, 1, INT64_MAX, "N", "stop (with a checkpoint) after step N"},
        {"lr", 0, OPT_STRING, &f.lr, 0, 0, "X", "peak learning rate (2e-4)"},
        {"min-lr", 0, OPT_STRING, &f.min_lr, 0, 0, "X", "end of the cosine decay (1e-6)"},
        {"warmup", 0, OPT_INT64, &f.warmup, 0, INT64_MAX, "N", "linear warm-up steps (100)"},
        {"weight-decay", 0, OPT_STRING, &f.weight_decay, 0, 0, "X", "AdamW's decoupled weight decay (1e-4)"},
        {"clip", 0, OPT_STRING, &f.clip, 0, 0, "X", "gradient-norm clipping, 0 = off (1)"},
        {"ema-decay", 0, OPT_STRING, &f.ema_decay, 0, 0, "X", "EMA of the weights (0.999)"},
        {"loss", 0, OPT_STRING, &f.loss, 0, 0, "L", "l1 (default) or charbonnier"},
        {"optimizer", 0, OPT_STRING, &f.optimizer, 0, 0, "O", "adamw (default) or adam"},
        {"model-dtype", 0, OPT_STRING, &f.model_dtype, 0, 0, "T", "model.safetensors: F32 (default), F16 or BF16"},
        {"precision", 0, OPT_STRING, &f.precision, 0, 0, "P",
         "fp32 (default), bf16 (convolutions in bf16, the rest fp32, where the CPU has AVX512-BF16 or AMX; "
         "else fp32 with a notice) or auto (the same, silently)"},
        {"freq-weight", 0, OPT_STRING, &f.freq_weight, 0, 0, "X", "weight of the FFT loss (0.1)"},
        {"vgg", 0, OPT_STRING, &f.vgg, 0, 0, "FILE", "VGG19 weights (torchvision names): adds a perceptual loss"},
        {"vgg-layer", 0, OPT_STRING, &f.vgg_layer, 0, 0, "L", "its compared layer (relu3_3)"},
        {"perceptual-weight", 0, OPT_STRING, &f.perceptual_weight, 0, 0, "X", "weight of the perceptual loss (0.01)"},
        {"seed", 0, OPT_INT64, &f.seed, 0, INT64_MAX, "S", "run seed: data and initial weights (1)"},
        {"workers", 0, OPT_INT, &f.workers, 0, 1024, "N", "synthesis workers (0 = --threads)"},
        {"prefetch", 0, OPT_INT, &f.prefetch, 0, 1, "0|1", "1: make the next batch while the network runs (0)"},
        {"checkpoint-seconds", 0, OPT_STRING, &f.checkpoint_seconds, 0, 0, "S", "checkpoint interval (300)"},
        {"bucket-mb", 0, OPT_STRING, &f.bucket_mb, 0, 0, "MB",
         "under mpirun: gradients summed in buckets of MB during the backward pass; 0: one sum after it (1)"},
        {"val-every", 0, OPT_INT64, &f.val_every, 1, INT64_MAX, "K", "validate every K steps (100)"},
        {"val-patch", 0, OPT_INT, &f.val_patch, 16, 4096, "P", "validation crop side (128)"},
        {"log-every", 0, OPT_INT64, &f.log_every, 1, INT64_MAX, "N", "without a terminal: a line every N steps (100)"},
    };
    cli_globals g = {0};
    cli_args args;
    int nopts = (int)(sizeof opts / sizeof *opts);
    argc = take_val_sets(argc, argv, &f);
    if (argc < 0) return EXIT_USAGE;
    if (cli_parse(cmd, argc, argv, opts, nopts, &g, &args)) return EXIT_USAGE;
    if (g.help) {
        cli_print_help(cmd, opts, nopts);
        return 0;
    }
    if (args.count > 0) return cli_fail(EXIT_USAGE, "train: unexpected argument '%s'", args.positional[0]);
    if (f.resume && f.run && strcmp(f.resume, f.run) != 0)
        return cli_fail(EXIT_USAGE, "train: --resume %s and --run %s name different folders", f.resume, f.run);
    /* under mpirun, the processes on one machine share its cores unless --threads says otherwise */
    int local = ub_dist_local_processes();
    if (g.threads == 0 && local > 1) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        g.threads = cores > local ? (int)(cores / local) : 1;
    }
    cli_progress progress;
    ub_ctx *ctx = cli_make_context(&g, &progress);
    if (!ctx) return EXIT_RUNTIME;
    ub_dist *dist = NULL;
    if (ub_dist_open(ctx, NULL, NULL, &dist) != UB_OK) {
        int failed = cli_fail_ctx(ctx);
        ub_ctx_destroy(&ctx);
        return failed;
    }
    /* rank 0 speaks for the run; the others only report their own errors */
    if (ub_dist_rank(dist) > 0) g.quiet = 1, progress.enabled = 0;
    ub_train_config c;
    ub_train_config_default(&c);
    int rc = 0;
    if (f.resume) {
        char path[1100];
        snprintf(path, sizeof path, "%s/config.json", f.resume);
        rc = read_json_file(ctx, path, &c);
        if (!rc) rc = set_string(c.run, sizeof c.run, f.resume, "resume");
    }
    if (!rc && f.config) rc = read_json_file(ctx, f.config, &c);
    if (!rc) rc = apply_flags(&f, &c);
    if (!rc && !c.data[0])
        rc = cli_fail(EXIT_USAGE, "train: no training images: give --data DIR (or --config, --resume)");
    reporter r = {NULL, isatty(STDERR_FILENO), g.quiet, f.log_every > 0 ? (long)f.log_every : 100, 0, 0.0};
    if (!rc) rc = train(ctx, dist, &c, f.resume != NULL, f.stop_at > 0 ? (long)f.stop_at : 0, &r, &progress);
    cli_progress_done(&progress);
    ub_dist_close(&dist);
    ub_ctx_destroy(&ctx);
    return rc;
}
