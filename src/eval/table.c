/* eval/table.c — the results object and its writers: a Markdown table (a string), JSON and CSV
   files. A further writer (the HTML report) needs only the two accessors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "eval/internal.h"

void ub_eval_results_destroy(ub_eval_results **rp) {
    if (!rp || !*rp) return;
    ub_eval_results *r = *rp;
    for (size_t i = 0; i < r->nstrings; i++) free(r->strings[i]);
    free(r->strings);
    free(r->images);
    free(r->summaries);
    free(r);
    *rp = NULL;
}

size_t ub_eval_results_images(const ub_eval_results *r, const ub_eval_image **out) {
    *out = r->images;
    return r->nimages;
}

size_t ub_eval_results_summaries(const ub_eval_results *r, const ub_eval_summary **out) {
    *out = r->summaries;
    return r->nsummaries;
}

/* ---- Markdown ---- */

/* "%.*f" with a sign when asked; "inf" for infinities, "–" for NaN (no value). */
static void fmt_value(char *buf, size_t size, double v, int decimals, int sign) {
    if (isnan(v)) snprintf(buf, size, "–");
    else if (isinf(v)) snprintf(buf, size, "%sinf", v < 0 ? "-" : sign ? "+" : "");
    else snprintf(buf, size, sign ? "%+.*f" : "%.*f", decimals, v);
}

static void markdown_row(FILE *f, const ub_eval_summary *s) {
    if (!s->applicable) {
        fprintf(f, "| %s | %s | %zu | n/a | n/a | n/a | n/a | n/a | n/a |\n", s->set, s->method, s->count);
        return;
    }
    char psnr[32], ssim[32], gp[32], gs[32], spm[32];
    fmt_value(psnr, sizeof psnr, s->psnr, 2, 0);
    fmt_value(ssim, sizeof ssim, s->ssim, 4, 0);
    fmt_value(gp, sizeof gp, s->gain_psnr, 2, 1);
    fmt_value(gs, sizeof gs, s->gain_ssim, 4, 1);
    fmt_value(spm, sizeof spm, s->seconds_per_mp, 3, 0);
    fprintf(f, "| %s | %s | %zu | %s | %s | %s | %s | %zu | %s |\n", s->set, s->method, s->count, psnr, ssim, gp, gs,
            s->worse, spm);
}

ub_status ub_eval_format_markdown(ub_ctx *ctx, const ub_eval_results *r, char **out) {
    *out = NULL;
    size_t size = 0;
    FILE *f = open_memstream(out, &size);
    if (!f) return ub__fail(ctx, UB_ERR_NOMEM, "out of memory formatting the table");
    fprintf(f, "| set | method | images | PSNR (dB) | SSIM | ΔPSNR | ΔSSIM | worse | s/MP |\n"
               "|---|---|--:|--:|--:|--:|--:|--:|--:|\n");
    for (size_t i = 0; i < r->nsummaries; i++) markdown_row(f, &r->summaries[i]);
    if (fclose(f) != 0 || !*out) {
        free(*out);
        *out = NULL;
        return ub__fail(ctx, UB_ERR_NOMEM, "out of memory formatting the table");
    }
    return UB_OK;
}

/* ---- JSON ---- */

/* JSON has no infinity nor NaN: null. */
static json_t *number(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static json_t *summary_json(const ub_eval_summary *s) {
    return json_pack("{s:s, s:s, s:b, s:I, s:o, s:o, s:o, s:o, s:I, s:o, s:o, s:o, s:o, s:i, s:i}", "set", s->set,
                     "method", s->method, "applicable", s->applicable, "images", (json_int_t)s->count, "psnr",
                     number(s->psnr), "ssim", number(s->ssim), "gain_psnr", number(s->gain_psnr), "gain_ssim",
                     number(s->gain_ssim), "worse", (json_int_t)s->worse, "seconds", number(s->seconds),
                     "seconds_per_mp", number(s->seconds_per_mp), "score_seconds", number(s->score_seconds),
                     "set_load_seconds", number(s->load_seconds), "shift", s->shift, "crop", s->crop);
}

static json_t *image_json(const ub_eval_image *im) {
    return json_pack("{s:s, s:s, s:s, s:b, s:I, s:I, s:o, s:o, s:o, s:o, s:o}", "set", im->set, "method", im->method,
                     "image", im->item, "applicable", im->applicable, "width", (json_int_t)im->width, "height",
                     (json_int_t)im->height, "psnr", number(im->psnr), "ssim", number(im->ssim), "input_psnr",
                     number(im->input_psnr), "input_ssim", number(im->input_ssim), "seconds", number(im->seconds));
}

static json_t *results_json(const ub_eval_results *r) {
    json_t *summary = json_array(), *images = json_array();
    bool ok = summary && images;
    for (size_t i = 0; ok && i < r->nsummaries; i++) ok = !json_array_append_new(summary, summary_json(&r->summaries[i]));
    for (size_t i = 0; ok && i < r->nimages; i++) ok = !json_array_append_new(images, image_json(&r->images[i]));
    if (!ok) {
        json_decref(summary);
        json_decref(images);
        return NULL;
    }
    return json_pack("{s:o, s:o}", "summary", summary, "images", images);
}

ub_status ub_eval_write_json(ub_ctx *ctx, const ub_eval_results *r, const char *path) {
    json_t *root = results_json(r);
    char *text = root ? json_dumps(root, JSON_INDENT(1) | JSON_REAL_PRECISION(10)) : NULL;
    json_decref(root);
    if (!text) return ub__fail(ctx, UB_ERR_NOMEM, "%s: out of memory", path);
    size_t n = strlen(text);
    text[n] = '\n'; /* json_dumps's terminator becomes the final newline */
    ub_status st = ub__write_file_atomic(ctx, path, text, n + 1);
    free(text);
    return st;
}

/* ---- CSV ---- */

/* A number as CSV: empty for NaN, "inf" for infinity. */
static void csv_number(FILE *f, double v) {
    if (isnan(v)) return;
    if (isinf(v)) fputs(v > 0 ? "inf" : "-inf", f);
    else fprintf(f, "%.10g", v);
}

/* Names hold no commas or quotes in practice, but a folder may: quote always, doubling quotes. */
static void csv_text(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void csv_row(FILE *f, const ub_eval_image *im) {
    csv_text(f, im->set);
    fputc(',', f);
    csv_text(f, im->method);
    fputc(',', f);
    csv_text(f, im->item);
    fprintf(f, ",%d,%lld,%lld", im->applicable, (long long)im->width, (long long)im->height);
    const double v[] = {im->psnr, im->ssim, im->input_psnr, im->input_ssim, im->seconds};
    for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
        fputc(',', f);
        if (im->applicable || i == 2 || i == 3) csv_number(f, v[i]);
    }
    fputc('\n', f);
}

ub_status ub_eval_write_csv(ub_ctx *ctx, const ub_eval_results *r, const char *path) {
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    if (!f) return ub__fail(ctx, UB_ERR_NOMEM, "%s: out of memory", path);
    fputs("set,method,image,applicable,width,height,psnr,ssim,input_psnr,input_ssim,seconds\n", f);
    for (size_t i = 0; i < r->nimages; i++) csv_row(f, &r->images[i]);
    if (fclose(f) != 0 || !text) {
        free(text);
        return ub__fail(ctx, UB_ERR_NOMEM, "%s: out of memory", path);
    }
    ub_status st = ub__write_file_atomic(ctx, path, text, size);
    free(text);
    return st;
}
