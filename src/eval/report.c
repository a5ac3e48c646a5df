/* eval/report.c — the HTML report of an evaluation: one self-contained file (every image a base64
   data: URI), the summary table, then per set a few items, each a row of thumbnails
   (blurry | each method | sharp, with PSNR) and a row of zoomed crops where the images differ most.

   Inputs and references are loaded again from the sets (items are deterministic); the methods'
   outputs are read back from the run's save folder (SAVE/SET/METHOD/ITEM.png, names made file-safe
   as run.c makes them), so the run keeps nothing in memory for the report. One item at a time. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/internal.h"

enum { THUMB_MAX_WIDTH = 320, CROP = 96, CROP_STEP = 24, DEFAULT_IMAGES = 6, JPEG_QUALITY = 85 };

/* ---- text ---- */

static void html_text(FILE *f, const char *s) {
    for (; *s; s++) switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
}

static void base64(FILE *f, const unsigned char *p, size_t n) {
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
        fputc(t[v >> 18], f), fputc(t[v >> 12 & 63], f), fputc(t[v >> 6 & 63], f), fputc(t[v & 63], f);
    }
    if (n - i == 1) {
        unsigned v = (unsigned)p[i] << 16;
        fputc(t[v >> 18], f), fputc(t[v >> 12 & 63], f), fputs("==", f);
    } else if (n - i == 2) {
        unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8;
        fputc(t[v >> 18], f), fputc(t[v >> 12 & 63], f), fputc(t[v >> 6 & 63], f), fputc('=', f);
    }
}

/* "%.*f"; "inf" for infinities, "–" for NaN (as the Markdown table). */
static void fmt_value(char *buf, size_t size, double v, int decimals, int sign) {
    if (isnan(v)) snprintf(buf, size, "–");
    else if (isinf(v)) snprintf(buf, size, "%sinf", v < 0 ? "-" : sign ? "+" : "");
    else snprintf(buf, size, sign ? "%+.*f" : "%.*f", decimals, v);
}

/* ---- images ---- */

/* The colour channels of `src` box-averaged by an integer factor so that the width is at most `max_w`. */
static ub_status thumbnail(ub_ctx *ctx, const ub_image *src, int64_t max_w, ub_image **out) {
    int64_t f = (src->width + max_w - 1) / max_w;
    if (f < 1) f = 1;
    int64_t w = src->width / f, h = src->height / f;
    if (w < 1) w = 1;
    if (h < 1) h = 1;
    int c = ub_image_colour_channels(src);
    ub_status st = ub_image_create(ctx, out, w, h, c);
    if (st != UB_OK) return st;
    for (int ch = 0; ch < c; ch++) {
        const float *s = ub_image_plane(src, ch);
        float *d = ub_image_plane(*out, ch);
        for (int64_t y = 0; y < h; y++)
            for (int64_t x = 0; x < w; x++) {
                double sum = 0;
                int64_t n = 0;
                for (int64_t yy = y * f; yy < (y + 1) * f && yy < src->height; yy++)
                    for (int64_t xx = x * f; xx < (x + 1) * f && xx < src->width; xx++, n++)
                        sum += s[yy * src->width + xx];
                d[y * w + x] = (float)(sum / (double)(n ? n : 1));
            }
    }
    return UB_OK;
}

/* The colour channels of the window (x0, y0, cw, ch) of `src`. */
static ub_status cut(ub_ctx *ctx, const ub_image *src, int64_t x0, int64_t y0, int64_t cw, int64_t chh, ub_image **out) {
    int c = ub_image_colour_channels(src);
    ub_status st = ub_image_create(ctx, out, cw, chh, c);
    if (st != UB_OK) return st;
    for (int ch = 0; ch < c; ch++)
        for (int64_t y = 0; y < chh; y++)
            memcpy(ub_image_plane(*out, ch) + y * cw, ub_image_plane(src, ch) + (y0 + y) * src->width + x0,
                   (size_t)cw * sizeof(float));
    return UB_OK;
}

/* <img> with the image encoded as JPEG (thumbnails) or PNG (crops, exact pixels). */
static ub_status emit_img(ub_ctx *ctx, FILE *f, const ub_image *img, bool jpeg, const char *attrs) {
    ub_write_options wo;
    ub_default_write_options(&wo);
    wo.format = jpeg ? UB_FORMAT_JPEG : UB_FORMAT_PNG;
    wo.bit_depth = 8;
    wo.jpeg_quality = JPEG_QUALITY;
    void *bytes = NULL;
    size_t size = 0;
    ub_status st = ub_image_encode(ctx, img, &wo, &bytes, &size);
    if (st != UB_OK) return st;
    fprintf(f, "<img %s src=\"data:image/%s;base64,", attrs, jpeg ? "jpeg" : "png");
    base64(f, bytes, size);
    fputs("\">", f);
    free(bytes);
    return UB_OK;
}

/* The top-left corner of the cw x ch window (on a grid of CROP_STEP, plus the far edges) with the
   largest sum of the per-pixel variance across the images (their colour channels averaged); the
   first such window in raster order, or the centred one when the images are all the same. */
static ub_status pick_crop(ub_ctx *ctx, ub_image *const *imgs, size_t n, int64_t cw, int64_t chh, int64_t *bx,
                           int64_t *by) {
    const ub_image *a = imgs[0];
    int64_t w = a->width, h = a->height;
    *bx = (w - cw) / 2, *by = (h - chh) / 2;
    if (n < 2) return UB_OK;
    double *sat = calloc((size_t)(w + 1) * (size_t)(h + 1), sizeof *sat); /* summed-area table */
    if (!sat) return ub__fail(ctx, UB_ERR_NOMEM, "out of memory choosing the report's crop");
    for (int64_t y = 0; y < h; y++) {
        double row = 0;
        for (int64_t x = 0; x < w; x++) {
            double s = 0, s2 = 0;
            for (size_t i = 0; i < n; i++) {
                int c = ub_image_colour_channels(imgs[i]);
                double v = 0;
                for (int ch = 0; ch < c; ch++) v += ub_image_plane(imgs[i], ch)[y * w + x];
                v /= c;
                s += v, s2 += v * v;
            }
            row += s2 / (double)n - (s / (double)n) * (s / (double)n);
            sat[(y + 1) * (w + 1) + x + 1] = sat[y * (w + 1) + x + 1] + row;
        }
    }
    double best = 0; /* no difference anywhere: the centre */
    for (int64_t y = 0;; y = y + CROP_STEP < h - chh ? y + CROP_STEP : h - chh) {
        for (int64_t x = 0;; x = x + CROP_STEP < w - cw ? x + CROP_STEP : w - cw) {
            double v = sat[(y + chh) * (w + 1) + x + cw] - sat[y * (w + 1) + x + cw] - sat[(y + chh) * (w + 1) + x] +
                       sat[y * (w + 1) + x];
            if (v > best) best = v, *bx = x, *by = y;
            if (x == w - cw) break;
        }
        if (y == h - chh) break;
    }
    free(sat);
    return UB_OK;
}

/* ---- one item ---- */

typedef struct report_item {
    const ub_eval_image *rows; /* nmethods rows of the results, one per method */
    size_t nmethods;
} report_item;

static char *output_path(const char *root, const char *set, const char *method, const char *item) {
    char *n[3] = {ub__eval_strdup(set), ub__eval_strdup(method), ub__eval_strdup(item)};
    char *path = NULL;
    if (n[0] && n[1] && n[2]) {
        for (int i = 0; i < 3; i++) ub__eval_file_safe(n[i]);
        path = ub__eval_printf("%s/%s/%s/%s.png", root, n[0], n[1], n[2]);
    }
    for (int i = 0; i < 3; i++) free(n[i]);
    return path;
}

static void caption(FILE *f, const char *name, double psnr, bool with_psnr) {
    fputs("<figcaption>", f);
    html_text(f, name);
    if (with_psnr) {
        char v[32];
        fmt_value(v, sizeof v, psnr, 2, 0);
        fprintf(f, "<br><b>%s dB</b>", v);
    }
    fputs("</figcaption>", f);
}

/* A thumbnail with the crop's window outlined on it. */
static ub_status thumb_cell(ub_ctx *ctx, FILE *f, const ub_image *img, int64_t cx, int64_t cy, int64_t cw, int64_t chh) {
    ub_image *t = NULL;
    ub_status st = thumbnail(ctx, img, THUMB_MAX_WIDTH, &t);
    if (st != UB_OK) return st;
    fputs("<div class=\"thumb\">", f);
    st = emit_img(ctx, f, t, true, "class=\"t\" alt=\"\"");
    fprintf(f, "<div class=\"win\" style=\"left:%.2f%%;top:%.2f%%;width:%.2f%%;height:%.2f%%\"></div></div>",
            100.0 * (double)cx / (double)img->width, 100.0 * (double)cy / (double)img->height,
            100.0 * (double)cw / (double)img->width, 100.0 * (double)chh / (double)img->height);
    ub_image_destroy(&t);
    return st;
}

static ub_status emit_item(ub_ctx *ctx, FILE *f, const ub_eval_set *set, size_t index, const report_item *ri,
                           const ub_eval_report_options *o) {
    ub_eval_item item = {0};
    size_t nm = ri->nmethods;
    ub_image **outs = calloc(nm + 1, sizeof *outs);
    ub_image **stack = calloc(nm + 1, sizeof *stack);
    ub_status st = outs && stack ? UB_OK : ub__fail(ctx, UB_ERR_NOMEM, "out of memory writing the report");
    if (st == UB_OK) st = ub_eval_set_load(ctx, set, index, &item);
    if (st == UB_OK && strcmp(item.name, ri->rows[0].item))
        st = ub__fail(ctx, UB_ERR_INVALID, "%s: item %zu is '%s', the results say '%s': not the sets of the run",
                      ub_eval_set_name(set), index, item.name, ri->rows[0].item);
    size_t ns = 0;
    if (st == UB_OK) stack[ns++] = item.input;
    for (size_t m = 0; m < nm && st == UB_OK; m++) {
        const ub_eval_image *row = &ri->rows[m];
        if (!row->applicable || !o->outputs_dir) continue;
        char *path = output_path(o->outputs_dir, row->set, row->method, row->item);
        if (!path) st = ub__fail(ctx, UB_ERR_NOMEM, "out of memory");
        else st = ub_image_read(ctx, path, &outs[m]);
        if (st == UB_OK && (outs[m]->width != item.input->width || outs[m]->height != item.input->height))
            st = ub__fail(ctx, UB_ERR_INVALID, "%s: %lldx%lld, the input is %lldx%lld", path, (long long)outs[m]->width,
                          (long long)outs[m]->height, (long long)item.input->width, (long long)item.input->height);
        free(path);
        if (st == UB_OK) stack[ns++] = outs[m];
    }
    int64_t w = st == UB_OK ? item.input->width : 0, h = st == UB_OK ? item.input->height : 0;
    int64_t crop_w = w < CROP ? w : CROP, crop_h = h < CROP ? h : CROP, cx = 0, cy = 0;
    if (st == UB_OK) st = pick_crop(ctx, stack, ns, crop_w, crop_h, &cx, &cy);
    if (st == UB_OK) {
        fputs("<div class=\"item\"><h3>", f);
        html_text(f, item.name);
        fprintf(f, " <small>%lld×%lld; crop at (%lld, %lld)</small></h3>\n<div class=\"row\">", (long long)w,
                (long long)h, (long long)cx, (long long)cy);
    }
    /* thumbnails: blurry | methods | sharp */
    for (size_t k = 0; k < nm + 2 && st == UB_OK; k++) {
        const ub_image *img = k == 0 ? item.input : k == nm + 1 ? item.reference : outs[k - 1];
        fputs("<figure>", f);
        if (img) st = thumb_cell(ctx, f, img, cx, cy, crop_w, crop_h);
        else fprintf(f, "<div class=\"na\">%s</div>", ri->rows[k - 1].applicable ? "not saved" : "n/a");
        if (k == 0) caption(f, "blurry (input)", ri->rows[0].input_psnr, true);
        else if (k == nm + 1) caption(f, "sharp (reference)", 0, false);
        else caption(f, ri->rows[k - 1].method, ri->rows[k - 1].psnr, ri->rows[k - 1].applicable);
        fputs("</figure>", f);
    }
    if (st == UB_OK) fputs("</div>\n<div class=\"row\">", f);
    /* crops */
    for (size_t k = 0; k < nm + 2 && st == UB_OK; k++) {
        const ub_image *img = k == 0 ? item.input : k == nm + 1 ? item.reference : outs[k - 1];
        fputs("<figure>", f);
        if (img) {
            ub_image *c = NULL;
            st = cut(ctx, img, cx, cy, crop_w, crop_h, &c);
            char attrs[96];
            snprintf(attrs, sizeof attrs, "class=\"z\" alt=\"\" width=\"%lld\" height=\"%lld\"",
                     (long long)(crop_w * 5 / 2), (long long)(crop_h * 5 / 2));
            if (st == UB_OK) st = emit_img(ctx, f, c, false, attrs);
            ub_image_destroy(&c);
        } else fputs("<div class=\"na z\"></div>", f);
        fputs("</figure>", f);
    }
    if (st == UB_OK) fputs("</div></div>\n", f);
    for (size_t m = 0; outs && m < nm; m++) ub_image_destroy(&outs[m]);
    free(outs);
    free(stack);
    ub_eval_item_free(&item);
    return st;
}

/* ---- the page ---- */

static const char *const STYLE =
    "body{font-family:sans-serif;margin:16px;background:#fff;color:#222}"
    "table.sum{border-collapse:collapse;margin-bottom:16px}"
    "table.sum td,table.sum th{border:1px solid #bbb;padding:3px 8px;text-align:right}"
    "table.sum td:nth-child(-n+2),table.sum th{text-align:left}"
    ".row{display:flex;flex-wrap:wrap;gap:8px;align-items:flex-start}"
    "figure{margin:0;font-size:12px;text-align:center}"
    ".thumb{position:relative;display:inline-block;line-height:0}"
    ".t{max-width:320px;display:block}"
    ".win{position:absolute;border:1px solid #f0f;box-sizing:border-box}"
    ".z{image-rendering:pixelated;image-rendering:crisp-edges;display:block}"
    ".na{width:160px;height:90px;background:#eee;color:#888;line-height:90px}"
    ".item{margin:12px 0 20px;border-top:1px solid #ddd}"
    "h3{font-size:15px;margin:8px 0}";

static void summary_table(FILE *f, const ub_eval_results *r) {
    fputs("<table class=\"sum\"><tr><th>set</th><th>method</th><th>images</th><th>PSNR (dB)</th><th>SSIM</th>"
          "<th>ΔPSNR</th><th>ΔSSIM</th><th>worse</th><th>s/MP</th></tr>\n",
          f);
    for (size_t i = 0; i < r->nsummaries; i++) {
        const ub_eval_summary *s = &r->summaries[i];
        fputs("<tr><td>", f);
        html_text(f, s->set);
        fputs("</td><td>", f);
        html_text(f, s->method);
        fprintf(f, "</td><td>%zu</td>", s->count);
        if (!s->applicable) {
            fputs("<td>n/a</td><td>n/a</td><td>n/a</td><td>n/a</td><td>n/a</td><td>n/a</td></tr>\n", f);
            continue;
        }
        char v[5][32];
        fmt_value(v[0], 32, s->psnr, 2, 0);
        fmt_value(v[1], 32, s->ssim, 4, 0);
        fmt_value(v[2], 32, s->gain_psnr, 2, 1);
        fmt_value(v[3], 32, s->gain_ssim, 4, 1);
        fmt_value(v[4], 32, s->seconds_per_mp, 3, 0);
        fprintf(f, "<td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%zu</td><td>%s</td></tr>\n", v[0], v[1], v[2],
                v[3], s->worse, v[4]);
    }
    fputs("</table>\n", f);
}

static ub_status embed_curve(ub_ctx *ctx, FILE *f, const char *path) {
    FILE *in = fopen(path, "rb");
    if (!in) return ub__fail(ctx, UB_ERR_IO, "%s: cannot read the curve", path);
    unsigned char *buf = NULL;
    size_t n = 0, cap = 0;
    ub_status st = UB_OK;
    for (;;) {
        if (n == cap) {
            unsigned char *b = cap < ((size_t)64 << 20) ? realloc(buf, cap ? 2 * cap : 65536) : NULL;
            if (!b) {
                st = ub__fail(ctx, UB_ERR_NOMEM, "%s: too large or out of memory", path);
                break;
            }
            buf = b, cap = cap ? 2 * cap : 65536;
        }
        size_t got = fread(buf + n, 1, cap - n, in);
        n += got;
        if (got == 0) break;
    }
    if (st == UB_OK && ferror(in)) st = ub__fail(ctx, UB_ERR_IO, "%s: read error", path);
    fclose(in);
    if (st == UB_OK) {
        fputs("<h2>Training curve</h2>\n<img class=\"curve\" alt=\"training curve\" src=\"data:image/svg+xml;base64,", f);
        base64(f, buf, n);
        fputs("\">\n", f);
    }
    free(buf);
    return st;
}

/* The set's rows start at `first` of the results (set-major, then item, then method). */
static ub_status emit_set(ub_ctx *ctx, FILE *f, const ub_eval_results *r, size_t first, const ub_eval_set *set,
                          size_t nmethods, const ub_eval_report_options *o, size_t per_set) {
    size_t nitems = ub_eval_set_count(set);
    fputs("<h2>", f);
    html_text(f, ub_eval_set_name(set));
    size_t shown = nitems < per_set ? nitems : per_set;
    fprintf(f, " <small>(%zu of %zu images)</small></h2>\n", shown, nitems);
    if (first + nitems * nmethods > r->nimages)
        return ub__fail(ctx, UB_ERR_INVALID, "%s: more items than the results hold: not the sets of the run",
                        ub_eval_set_name(set));
    ub_status st = UB_OK;
    for (size_t k = 0; k < shown && st == UB_OK; k++) {
        /* spread: the first, the last and evenly between */
        size_t i = shown > 1 ? (size_t)((double)k * (double)(nitems - 1) / (double)(shown - 1) + 0.5) : 0;
        report_item ri = {.rows = &r->images[first + i * nmethods], .nmethods = nmethods};
        st = emit_item(ctx, f, set, i, &ri, o);
    }
    return st;
}

ub_status ub_eval_write_report(ub_ctx *ctx, const ub_eval_results *r, ub_eval_set *const *sets, size_t nsets,
                               const ub_eval_report_options *opts, const char *path) {
    static const ub_eval_report_options none = {0};
    const ub_eval_report_options *o = opts ? opts : &none;
    size_t per_set = o->images_per_set ? o->images_per_set : DEFAULT_IMAGES;
    size_t nmethods = nsets && r->nsummaries % nsets == 0 ? r->nsummaries / nsets : 0;
    if (nsets && !nmethods) return ub__fail(ctx, UB_ERR_INVALID, "%s: the sets are not those of the results", path);
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    if (!f) return ub__fail(ctx, UB_ERR_NOMEM, "%s: out of memory", path);
    const char *title = o->title ? o->title : "unblur eval";
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>", f);
    html_text(f, title);
    fprintf(f, "</title><style>%s</style></head><body>\n<h1>", STYLE);
    html_text(f, title);
    fputs("</h1>\n", f);
    summary_table(f, r);
    fputs("<p>Per image: the blurry input, each method's output and the sharp reference with its PSNR (dB); "
          "under them the same 96×96 crop at 2.5× (the magenta box), where the input and the outputs differ "
          "most.</p>\n",
          f);
    ub_status st = UB_OK;
    size_t first = 0;
    for (size_t si = 0; si < nsets && st == UB_OK; si++) {
        if (strcmp(ub_eval_set_name(sets[si]), r->summaries[si * nmethods].set))
            st = ub__fail(ctx, UB_ERR_INVALID, "%s: set %zu is '%s', the results say '%s'", path, si,
                          ub_eval_set_name(sets[si]), r->summaries[si * nmethods].set);
        else st = emit_set(ctx, f, r, first, sets[si], nmethods, o, per_set);
        first += ub_eval_set_count(sets[si]) * nmethods;
    }
    if (st == UB_OK && o->curve_svg) st = embed_curve(ctx, f, o->curve_svg);
    fputs("</body></html>\n", f);
    if (fclose(f) != 0 || !text) {
        free(text);
        return st != UB_OK ? st : ub__fail(ctx, UB_ERR_NOMEM, "%s: out of memory", path);
    }
    if (st == UB_OK) st = ub__write_file_atomic(ctx, path, text, size);
    free(text);
    return st;
}
