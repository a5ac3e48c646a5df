/* train/curve.c — the training curve as an SVG drawn from log.csv (see train.h): the loss per step
   (light) and its running mean over ~2% of the steps (dark), on a log scale, left axis; the validation
   PSNR (red points and line) and the blurry input's PSNR (dashed), right axis; the benchmark sets'
   (val_sets: the columns NAME_psnr, NAME_input_psnr after the fixed twelve) likewise, one colour each,
   named in a legend. Plain text output, no library: a polyline per series, at most ~2000 points each. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "train/train.h"

enum { SVG_W = 800, SVG_H = 400, LEFT = 70, RIGHT = 70, TOP = 30, BOTTOM = 40, MAX_POINTS = 2000 };

typedef struct series {
    double *x, *y;
    size_t n, cap;
} series;

typedef struct text_buf {
    char *s;
    size_t len, cap;
    int failed;
} text_buf;

static void put(text_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(text_buf *b, const char *fmt, ...) {
    if (b->failed) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int need = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (need < 0) {
            b->failed = 1;
            return;
        }
        if (b->s && b->len + (size_t)need < b->cap) {
            b->len += (size_t)need;
            return;
        }
        size_t cap = (b->cap + (size_t)need + 1) * 2;
        char *bigger = realloc(b->s, cap);
        if (!bigger) {
            b->failed = 1;
            return;
        }
        b->s = bigger, b->cap = cap;
    }
}

static int push(series *s, double x, double y) {
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 256;
        double *nx = realloc(s->x, cap * sizeof *nx);
        if (!nx) return -1;
        s->x = nx;
        double *ny = realloc(s->y, cap * sizeof *ny);
        if (!ny) return -1;
        s->y = ny, s->cap = cap;
    }
    s->x[s->n] = x, s->y[s->n] = y, s->n++;
    return 0;
}

static void free_series(series *s) {
    free(s->x), free(s->y);
}

/* Field `col` (0-based) of a CSV row as a number; NAN when empty or absent. */
static double csv_field(const char *row, int col) {
    for (int c = 0; c < col; c++) {
        row = strpbrk(row, ",\n");
        if (!row || *row == '\n') return NAN;
        row++;
    }
    /* an empty field; strtod would skip a newline's whitespace into the next row */
    if (*row == ',' || *row == '\n' || *row == '\r' || *row == '\0' || *row == ' ') return NAN;
    char *end;
    double v = strtod(row, &end);
    return end == row ? NAN : v;
}

/* The fixed columns of log.csv; then two per benchmark set. */
enum { FIXED_COLUMNS = 12, MAX_SETS = 16 };

typedef struct curves {
    series loss, mean, psnr, input;
    int nsets;
    char set_name[MAX_SETS][64];
    series set_psnr[MAX_SETS], set_input[MAX_SETS];
} curves;

/* The benchmark sets' names from the header: NAME of each NAME_psnr at columns 12, 14, ... */
static void parse_header(const char *text, curves *c) {
    const char *f = text;
    for (int col = 0; f && *f && *f != '\n' && c->nsets < MAX_SETS; col++) {
        size_t len = strcspn(f, ",\n");
        if (col >= FIXED_COLUMNS && (col - FIXED_COLUMNS) % 2 == 0) {
            size_t keep = len > 5 && !strncmp(f + len - 5, "_psnr", 5) ? len - 5 : len;
            if (keep >= sizeof c->set_name[0]) keep = sizeof c->set_name[0] - 1;
            char *name = c->set_name[c->nsets++];
            for (size_t i = 0; i < keep; i++) /* XML-safe */
                name[i] = (f[i] >= 'a' && f[i] <= 'z') || (f[i] >= 'A' && f[i] <= 'Z') || (f[i] >= '0' && f[i] <= '9')
                              ? f[i] : '_';
            name[keep] = '\0';
        }
        f = f[len] == ',' ? f + len + 1 : NULL;
    }
}

static int parse_log(const char *text, curves *c) {
    parse_header(text, c);
    const char *line = strchr(text, '\n'); /* skip the header */
    while (line && *++line) {
        double step = csv_field(line, 0), loss = csv_field(line, 1);
        double psnr = csv_field(line, 4), input = csv_field(line, 6);
        if (isfinite(step) && isfinite(loss) && loss > 0 && push(&c->loss, step, loss)) return -1;
        if (isfinite(step) && isfinite(psnr) && push(&c->psnr, step, psnr)) return -1;
        if (isfinite(step) && isfinite(input) && push(&c->input, step, input)) return -1;
        for (int k = 0; k < c->nsets; k++) {
            double p = csv_field(line, FIXED_COLUMNS + 2 * k), in = csv_field(line, FIXED_COLUMNS + 2 * k + 1);
            if (isfinite(step) && isfinite(p) && push(&c->set_psnr[k], step, p)) return -1;
            if (isfinite(step) && isfinite(in) && push(&c->set_input[k], step, in)) return -1;
        }
        line = strchr(line, '\n');
    }
    /* running mean of log10(loss) over a window of ~2% of the rows */
    size_t win = c->loss.n / 50 + 1;
    double sum = 0;
    for (size_t i = 0; i < c->loss.n; i++) {
        sum += log10(c->loss.y[i]);
        if (i >= win) sum -= log10(c->loss.y[i - win]);
        size_t k = i + 1 < win ? i + 1 : win;
        if (push(&c->mean, c->loss.x[i], pow(10, sum / (double)k))) return -1;
    }
    return 0;
}

static void range(const series *s, int logy, double *lo, double *hi) {
    for (size_t i = 0; i < s->n; i++) {
        double v = logy ? log10(s->y[i]) : s->y[i];
        if (v < *lo) *lo = v;
        if (v > *hi) *hi = v;
    }
}

typedef struct frame {
    double x0, x1, y0, y1;
    int logy;
} frame;

static double px(const frame *f, double x) {
    return LEFT + (x - f->x0) / (f->x1 - f->x0) * (SVG_W - LEFT - RIGHT);
}
static double py(const frame *f, double y) {
    double v = f->logy ? log10(y) : y;
    return SVG_H - BOTTOM - (v - f->y0) / (f->y1 - f->y0) * (SVG_H - TOP - BOTTOM);
}

static void polyline(text_buf *b, const series *s, const frame *f, const char *style) {
    if (s->n == 0) return;
    size_t every = s->n / MAX_POINTS + 1;
    put(b, "<polyline fill=\"none\" %s points=\"", style);
    for (size_t i = 0; i < s->n; i += every) put(b, "%.1f,%.1f ", px(f, s->x[i]), py(f, s->y[i]));
    put(b, "\"/>\n");
}

static void pad_range(double *lo, double *hi, double min_span) {
    if (!(*hi - *lo >= min_span)) {
        double mid = isfinite(*lo) && isfinite(*hi) ? (*lo + *hi) / 2 : 0;
        *lo = mid - min_span / 2, *hi = mid + min_span / 2;
    }
}

static void draw(text_buf *b, const curves *c) {
    double x0 = INFINITY, x1 = -INFINITY, l0 = INFINITY, l1 = -INFINITY, p0 = INFINITY, p1 = -INFINITY;
    const series *all[] = {&c->loss, &c->psnr, &c->input};
    for (int i = 0; i < 3; i++)
        for (size_t k = 0; k < all[i]->n; k++) x0 = fmin(x0, all[i]->x[k]), x1 = fmax(x1, all[i]->x[k]);
    range(&c->loss, 1, &l0, &l1);
    range(&c->psnr, 0, &p0, &p1);
    range(&c->input, 0, &p0, &p1);
    for (int k = 0; k < c->nsets; k++) {
        range(&c->set_psnr[k], 0, &p0, &p1), range(&c->set_input[k], 0, &p0, &p1);
        for (size_t i = 0; i < c->set_psnr[k].n; i++)
            x0 = fmin(x0, c->set_psnr[k].x[i]), x1 = fmax(x1, c->set_psnr[k].x[i]);
    }
    pad_range(&x0, &x1, 1), pad_range(&l0, &l1, 0.1), pad_range(&p0, &p1, 1);
    frame fl = {x0, x1, l0, l1, 1}, fp = {x0, x1, p0, p1, 0};
    put(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" "
           "font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n", SVG_W, SVG_H);
    put(b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#888\"/>\n", LEFT, TOP,
        SVG_W - LEFT - RIGHT, SVG_H - TOP - BOTTOM);
    put(b, "<text x=\"%d\" y=\"%d\">loss (log)</text>\n", 5, TOP - 10);
    put(b, "<text x=\"%d\" y=\"%d\" fill=\"#c00\">val PSNR (dB)</text>\n", SVG_W - RIGHT - 20, TOP - 10);
    put(b, "<text x=\"%d\" y=\"%d\">%.4g</text><text x=\"%d\" y=\"%d\">%.4g</text>\n", 5, TOP + 10, pow(10, l1), 5,
        SVG_H - BOTTOM, pow(10, l0));
    put(b, "<text x=\"%d\" y=\"%d\" fill=\"#c00\">%.2f</text><text x=\"%d\" y=\"%d\" fill=\"#c00\">%.2f</text>\n",
        SVG_W - RIGHT + 5, TOP + 10, p1, SVG_W - RIGHT + 5, SVG_H - BOTTOM, p0);
    put(b, "<text x=\"%d\" y=\"%d\">step %.0f</text><text x=\"%d\" y=\"%d\" text-anchor=\"end\">%.0f</text>\n", LEFT,
        SVG_H - BOTTOM + 18, x0, SVG_W - RIGHT, SVG_H - BOTTOM + 18, x1);
    polyline(b, &c->loss, &fl, "stroke=\"#9ab\" stroke-width=\"0.6\"");
    polyline(b, &c->mean, &fl, "stroke=\"#124\" stroke-width=\"1.5\"");
    polyline(b, &c->input, &fp, "stroke=\"#c00\" stroke-dasharray=\"4 3\"");
    polyline(b, &c->psnr, &fp, "stroke=\"#c00\" stroke-width=\"1.5\"");
    for (size_t i = 0; i < c->psnr.n && i < MAX_POINTS; i++)
        put(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"#c00\"/>\n", px(&fp, c->psnr.x[i]),
            py(&fp, c->psnr.y[i]));
    static const char *const colours[] = {"#07a", "#e70", "#2a2", "#a3c", "#b80", "#088", "#c48", "#555"};
    for (int k = 0; k < c->nsets; k++) {
        const char *col = colours[k % (int)(sizeof colours / sizeof *colours)];
        char style[96];
        snprintf(style, sizeof style, "stroke=\"%s\" stroke-dasharray=\"4 3\"", col);
        polyline(b, &c->set_input[k], &fp, style);
        snprintf(style, sizeof style, "stroke=\"%s\" stroke-width=\"1.5\"", col);
        polyline(b, &c->set_psnr[k], &fp, style);
        for (size_t i = 0; i < c->set_psnr[k].n && i < MAX_POINTS; i++)
            put(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"/>\n", px(&fp, c->set_psnr[k].x[i]),
                py(&fp, c->set_psnr[k].y[i]), col);
        /* the legend: top left inside the frame; names are letters, digits and '_' (train.c makes them so) */
        put(b, "<text x=\"%d\" y=\"%d\" fill=\"%s\">%s PSNR (dashed: input)</text>\n", LEFT + 8, TOP + 16 + 14 * k,
            col, c->set_name[k]);
    }
    put(b, "</svg>\n");
}

ub_status ub__train_curve_svg(ub_ctx *ctx, const char *text, const char *svg_path) {
    curves c;
    memset(&c, 0, sizeof c);
    text_buf b = {NULL, 0, 0, 0};
    int failed = parse_log(text, &c);
    if (!failed) draw(&b, &c);
    ub_status st = failed || b.failed ? ub__fail(ctx, UB_ERR_NOMEM, "%s: out of memory", svg_path)
                                      : ub_write_file_atomic(ctx, svg_path, b.s, b.len);
    free(b.s);
    free_series(&c.loss), free_series(&c.mean), free_series(&c.psnr), free_series(&c.input);
    for (int k = 0; k < c.nsets; k++) free_series(&c.set_psnr[k]), free_series(&c.set_input[k]);
    return st;
}
