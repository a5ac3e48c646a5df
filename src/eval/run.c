/* eval/run.c — running methods over sets: load each item once, run every method on it, score,
   keep the per-image rows and the running sums of each (set, method).

   Items are loaded one at a time and shared by the methods, so memory holds one item and one
   output whatever the set's size; the methods use the context's threads inside. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eval/internal.h"
#include "unblur/synth.h" /* ub_clip */

/* The running sums of one (set, method), made into a ub_eval_summary at the end. */
typedef struct eval_sums {
    size_t count, gains, worse;
    double psnr, ssim, gain_psnr, gain_ssim, seconds, megapixels, score_seconds;
    bool applicable;
} eval_sums;

typedef struct eval_run {
    ub_ctx *ctx;
    ub_eval_results *r;
    const ub_eval_options *opts;
    eval_sums *sums;       /* nsets x nmethods */
    double *load_seconds;  /* nsets */
    size_t done, total;
} eval_run;

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* A copy of `s` owned by the results (the rows outlive the sets and methods). */
static const char *keep(ub_eval_results *r, const char *s) {
    if (r->nstrings == r->strings_cap) {
        size_t cap = r->strings_cap ? 2 * r->strings_cap : 64;
        char **v = realloc(r->strings, cap * sizeof *v);
        if (!v) return NULL;
        r->strings = v;
        r->strings_cap = cap;
    }
    char *c = ub__eval_strdup(s);
    if (c) r->strings[r->nstrings++] = c;
    return c;
}

static ub_status push_image(ub_ctx *ctx, ub_eval_results *r, const ub_eval_image *im) {
    if (r->nimages == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 256;
        ub_eval_image *v = realloc(r->images, cap * sizeof *v);
        if (!v) return ub__fail(ctx, UB_ERR_NOMEM, "out of memory keeping the results");
        r->images = v;
        r->cap = cap;
    }
    r->images[r->nimages++] = *im;
    return UB_OK;
}

/* ---- saving outputs ---- */

void ub__eval_file_safe(char *s) {
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '.' ||
              *s == '-' || *s == '_'))
            *s = '_';
    if (s[-1] == '.') s[-1] = '_'; /* never "." or ".." */
}

/* SAVE/SET/METHOD/ITEM.png, the folders made as needed. */
static ub_status save_output(ub_ctx *ctx, const char *root, const char *set, const char *method, const char *item,
                             const ub_image *img) {
    char *names[3] = {ub__eval_strdup(set), ub__eval_strdup(method), ub__eval_strdup(item)};
    char *dir = NULL, *path = NULL;
    ub_status st = names[0] && names[1] && names[2] ? UB_OK : ub__fail(ctx, UB_ERR_NOMEM, "out of memory");
    if (st == UB_OK) {
        for (int i = 0; i < 3; i++) ub__eval_file_safe(names[i]);
        dir = ub__eval_printf("%s/%s/%s", root, names[0], names[1]);
        path = dir ? ub__eval_printf("%s/%s.png", dir, names[2]) : NULL;
        if (!dir || !path) st = ub__fail(ctx, UB_ERR_NOMEM, "out of memory");
    }
    if (st == UB_OK) st = ub__make_folders(ctx, dir);
    if (st == UB_OK) st = ub_image_write(ctx, img, path, NULL);
    for (int i = 0; i < 3; i++) free(names[i]);
    free(dir);
    free(path);
    return st;
}

/* ---- one item ---- */

static bool same_pixels(const ub_image *a, const ub_image *b) {
    return a->width == b->width && a->height == b->height && a->channels == b->channels &&
           !memcmp(a->data, b->data, sizeof(float) * (size_t)a->channels * (size_t)a->width * (size_t)a->height);
}

static void add_to_sums(eval_sums *s, const ub_eval_image *im) {
    s->count++;
    s->psnr += im->psnr;
    s->ssim += im->ssim;
    if (isfinite(im->input_psnr)) {
        s->gains++;
        s->gain_psnr += im->psnr - im->input_psnr;
        s->gain_ssim += im->ssim - im->input_ssim;
    }
    if (im->psnr < im->input_psnr) s->worse++;
    s->seconds += im->seconds;
    s->megapixels += 1e-6 * (double)im->width * (double)im->height;
}

/* Runs one method on the item and scores it into `im` (input scores already there). */
static ub_status run_method(eval_run *run, const ub_eval_set *set, ub_eval_method *m, const ub_eval_item *item,
                            ub_eval_image *im, double *score_seconds) {
    ub_image *out = NULL;
    double t0 = now_seconds();
    ub_status st = ub_eval_method_run(run->ctx, m, item, &out);
    im->seconds = now_seconds() - t0;
    if (st != UB_OK) {
        ub__fail(run->ctx, st, "%s/%s: %s: %s", set->name, item->name, m->name, ub_last_error(run->ctx));
        return st;
    }
    /* scored as it would be written: every image file holds [0, 1], so overshoots (a deconvolution's
       ringing, a network's excursions) are clipped first, as by ub_image_write */
    ub_clip(out);
    ub_metrics_options mo;
    ub_eval_set_metrics_options(set, &mo);
    ub_metrics sc = {.psnr = im->input_psnr, .ssim = im->input_ssim};
    /* an output equal to its input (the identity) has the input's scores: no second shift search */
    double t1 = now_seconds();
    if (!same_pixels(out, item->input)) st = ub__eval_score(run->ctx, item->reference, out, &mo, &sc);
    *score_seconds += now_seconds() - t1;
    if (st != UB_OK) ub__fail(run->ctx, st, "%s/%s: %s: %s", set->name, item->name, m->name, ub_last_error(run->ctx));
    im->psnr = sc.psnr;
    im->ssim = sc.ssim;
    if (st == UB_OK && run->opts->save_dir)
        st = save_output(run->ctx, run->opts->save_dir, set->name, m->name, item->name, out);
    ub_image_destroy(&out);
    return st;
}

static ub_status report(eval_run *run, const char *set, const char *method, const char *item) {
    if (!run->opts->progress || !run->opts->progress(run->opts->progress_user, run->done, run->total, set, method, item))
        return UB_OK;
    return ub__fail(run->ctx, UB_ERR_CANCELLED, "cancelled");
}

static ub_status run_item(eval_run *run, size_t si, const ub_eval_set *set, const char *set_name,
                          ub_eval_method *const *methods, const char *const *method_names, size_t nmethods,
                          const ub_eval_item *item) {
    ub_metrics_options mo;
    ub_eval_set_metrics_options(set, &mo);
    ub_metrics in;
    double t0 = now_seconds();
    ub_status st = ub__eval_score(run->ctx, item->reference, item->input, &mo, &in);
    run->load_seconds[si] += now_seconds() - t0;
    if (st != UB_OK) return ub__fail(run->ctx, st, "%s/%s: %s", set->name, item->name, ub_last_error(run->ctx));
    const char *item_name = keep(run->r, item->name);
    if (!item_name) return ub__fail(run->ctx, UB_ERR_NOMEM, "out of memory");
    for (size_t mi = 0; mi < nmethods && st == UB_OK; mi++) {
        ub_eval_image im = {.set = set_name, .method = method_names[mi], .item = item_name, .applicable = 1,
                            .width = item->input->width, .height = item->input->height, .psnr = NAN, .ssim = NAN,
                            .input_psnr = in.psnr, .input_ssim = in.ssim};
        if (ub_eval_method_needs_kernel(methods[mi]) && !item->kernel) im.applicable = 0;
        eval_sums *sums = &run->sums[si * nmethods + mi];
        if (im.applicable) st = run_method(run, set, methods[mi], item, &im, &sums->score_seconds);
        if (st == UB_OK) st = push_image(run->ctx, run->r, &im);
        sums->applicable = im.applicable;
        if (st == UB_OK && im.applicable) add_to_sums(sums, &im);
        else if (st == UB_OK) sums->count++; /* the table says n/a for how many images */
        run->done++;
        if (st == UB_OK) st = report(run, set_name, method_names[mi], item_name);
    }
    return st;
}

static ub_status run_set(eval_run *run, size_t si, const ub_eval_set *set, const char *set_name,
                         ub_eval_method *const *methods, const char *const *method_names, size_t nmethods) {
    ub_status st = UB_OK;
    for (size_t i = 0; i < set->count && st == UB_OK; i++) {
        ub_eval_item item;
        double t0 = now_seconds();
        st = ub_eval_set_load(run->ctx, set, i, &item);
        run->load_seconds[si] += now_seconds() - t0;
        if (st == UB_OK) st = run_item(run, si, set, set_name, methods, method_names, nmethods, &item);
        ub_eval_item_free(&item);
    }
    return st;
}

/* ---- the summaries ---- */

static ub_status summarise(eval_run *run, ub_eval_set *const *sets, const char *const *set_names, size_t nsets,
                           const char *const *method_names, size_t nmethods) {
    ub_eval_results *r = run->r;
    r->summaries = calloc(nsets * nmethods + 1, sizeof *r->summaries);
    if (!r->summaries) return ub__fail(run->ctx, UB_ERR_NOMEM, "out of memory");
    for (size_t si = 0; si < nsets; si++)
        for (size_t mi = 0; mi < nmethods; mi++) {
            const eval_sums *s = &run->sums[si * nmethods + mi];
            ub_eval_summary *o = &r->summaries[r->nsummaries++];
            double n = (double)s->count;
            *o = (ub_eval_summary){
                .set = set_names[si], .method = method_names[mi], .applicable = s->applicable, .count = s->count,
                .psnr = s->count ? s->psnr / n : NAN, .ssim = s->count ? s->ssim / n : NAN,
                .gain_psnr = s->gains ? s->gain_psnr / (double)s->gains : NAN,
                .gain_ssim = s->gains ? s->gain_ssim / (double)s->gains : NAN, .worse = s->worse,
                .seconds = s->seconds, .score_seconds = s->score_seconds, .load_seconds = run->load_seconds[si],
                .seconds_per_mp = s->megapixels > 0 ? s->seconds / s->megapixels : NAN};
            ub_metrics_options mo;
            ub_eval_set_metrics_options(sets[si], &mo);
            o->shift = mo.shift;
            o->crop = mo.crop;
        }
    return UB_OK;
}

/* ---- the entry point ---- */

ub_status ub_eval_run(ub_ctx *ctx, ub_eval_set *const *sets, size_t nsets, ub_eval_method *const *methods,
                      size_t nmethods, const ub_eval_options *opts, ub_eval_results **out) {
    *out = NULL;
    static const ub_eval_options none = {0};
    eval_run run = {.ctx = ctx, .opts = opts ? opts : &none};
    run.r = calloc(1, sizeof *run.r);
    run.sums = calloc(nsets * nmethods + 1, sizeof *run.sums);
    run.load_seconds = calloc(nsets + 1, sizeof *run.load_seconds);
    const char **method_names = calloc(nmethods ? nmethods : 1, sizeof *method_names);
    const char **set_names = calloc(nsets ? nsets : 1, sizeof *set_names);
    ub_status st = run.r && run.sums && run.load_seconds && method_names && set_names ? UB_OK : ub__fail(ctx, UB_ERR_NOMEM, "out of memory");
    for (size_t mi = 0; mi < nmethods && st == UB_OK; mi++)
        if (!(method_names[mi] = keep(run.r, ub_eval_method_name(methods[mi]))))
            st = ub__fail(ctx, UB_ERR_NOMEM, "out of memory");
    for (size_t si = 0; si < nsets && st == UB_OK; si++) {
        if (!(set_names[si] = keep(run.r, ub_eval_set_name(sets[si])))) st = ub__fail(ctx, UB_ERR_NOMEM, "out of memory");
        run.total += ub_eval_set_count(sets[si]) * nmethods;
    }
    for (size_t si = 0; si < nsets && st == UB_OK; si++)
        st = run_set(&run, si, sets[si], set_names[si], methods, method_names, nmethods);
    if (st == UB_OK) st = summarise(&run, sets, set_names, nsets, method_names, nmethods);
    free(run.sums);
    free(run.load_seconds);
    free(method_names);
    free(set_names);
    if (st != UB_OK) ub_eval_results_destroy(&run.r);
    *out = run.r;
    return st;
}
