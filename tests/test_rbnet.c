/* tests/test_rbnet.c — RBNet against its PyTorch specification and by finite
   differences:
   - the parameter table has exactly the names, shapes and order of rbnet.py's state_dict;
   - the reference executor (double) reproduces fixtures made by rbnet.py:
       /usr/bin/python3 ../shared/peers/rbnet.py fixture -o tests/data/rbnet_fixture.safetensors
       /usr/bin/python3 ../shared/peers/rbnet.py fixture --depth 3 --mid-blocks 2 \
           -o tests/data/rbnet_fixture_d3m2.safetensors
     (W=8, N=1, input 1x3x20x28, seed 0; torch 1.13.1 from Debian) within 1e-4;
   - the whole network's backward pass (W=8, N=1) agrees with central differences;
   - models save and load (F32 exact, F16/BF16 rounded), and damaged files are refused. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/graph.h"
#include "nn/model.h"
#include "nn/graph_ref.h"
#include "nn/safetensors.h"
#include "testutil.h"

static const char *data_path(const char *name) {
    static char buf[1024];
    snprintf(buf, sizeof buf, "%s/%s", UB_TEST_DATA, name);
    return buf;
}

static double *to_double(const float *x, size_t n) {
    double *d = malloc(sizeof(double) * n);
    for (size_t i = 0; i < n; i++) d[i] = x[i];
    return d;
}

/* Runs the reference on the fixture's input and compares with its output. */
static void check_fixture(const char *name) {
    ub_ctx *ctx = test_ctx(0);
    ub_model *m = NULL;
    CHECK_OK(ctx, ub_model_load(ctx, data_path(name), &m));
    ub__safetensors *st = NULL;
    CHECK_OK(ctx, ub__st_open(ctx, data_path(name), &st));
    if (!m || !st) {
        ub__st_close(&st);
        ub_model_destroy(&m);
        ub_ctx_destroy(&ctx);
        return;
    }
    /* the table is the state_dict: same names, shapes and order as the file */
    int k = 0;
    for (int i = 0; i < ub__st_count(st); i++) {
        const char *n = ub__st_name(st, i);
        if (!strcmp(n, "input") || !strcmp(n, "output")) continue;
        CHECK_MSG(k < m->net.table.count && !strcmp(m->net.table.params[k].name, n), "%s: tensor %d is %s, table has %s", name,
                  i, n, k < m->net.table.count ? m->net.table.params[k].name : "(end)");
        k++;
    }
    CHECK(k == m->net.table.count);
    int64_t shape[8];
    int rank = ub__st_shape(st, ub__st_find(st, "input"), shape);
    CHECK(rank == 4 && shape[1] == 3);
    const int n = (int)shape[0], h = (int)shape[2], w = (int)shape[3];
    const size_t count = (size_t)n * 3 * h * w;
    float *in = malloc(sizeof(float) * count), *want = malloc(sizeof(float) * count);
    CHECK_OK(ctx, ub__st_read_f32(ctx, st, "input", 4, shape, in));
    CHECK_OK(ctx, ub__st_read_f32(ctx, st, "output", 4, shape, want));
    ub__graph g;
    CHECK_OK(ctx, ub__net_graph(ctx, &m->net, n, h, w, &g));
    double *params = to_double(m->params, m->net.table.total), *input = to_double(in, count);
    ub__ref_state s;
    CHECK_OK(ctx, ub__graph_forward_ref(ctx, &g, &m->net.table, params, input, &s));
    double worst = 0;
    const double *out = s.values[g.nvalues - 1];
    for (size_t i = 0; i < count; i++) worst = fmax(worst, fabs(out[i] - want[i]));
    CHECK_MSG(worst < 1e-4, "%s: max |unblur - PyTorch| = %g", name, worst);
    printf("%s: %zu parameters, %d ops, max |reference - PyTorch| = %.2e\n", name, m->net.table.total, g.nops, worst);
    ub__ref_state_free(&s);
    ub__graph_free(&g);
    free(params);
    free(input);
    free(in);
    free(want);
    ub__st_close(&st);
    ub_model_destroy(&m);
    ub_ctx_destroy(&ctx);
}

/* L = sum(g * out) for the reference forward. */
static double loss(ub_ctx *ctx, const ub__graph *g, const ub__param_table *t, const double *params,
                   const double *input, const double *gout, size_t nout) {
    ub__ref_state s;
    if (ub__graph_forward_ref(ctx, g, t, params, input, &s) != UB_OK) return NAN;
    double l = 0;
    for (size_t i = 0; i < nout; i++) l += gout[i] * s.values[g->nvalues - 1][i];
    ub__ref_state_free(&s);
    return l;
}

static double rel_err(double a, double b) { return fabs(a - b) / fmax(1e-8, fabs(a) + fabs(b)); }

/* Worst relative error between analytic and central-difference gradients, over the
   input and a spread of parameters (every tensor's first and last element plus a stride). */
static double gradient_check(ub_ctx *ctx, const ub__graph *g, const ub__param_table *t, double *params, double *input,
                             const double *gout, const double *dparams, const double *dinput, int *checked) {
    const size_t nin = (size_t)g->n * 3 * g->values[0].h * g->values[0].w, nout = nin;
    const double h = 1e-5;
    double worst = 0;
    *checked = 0;
    for (size_t i = 0; i < nin; i += 3) {
        double keep = input[i];
        input[i] = keep + h;
        double lp = loss(ctx, g, t, params, input, gout, nout);
        input[i] = keep - h;
        double lm = loss(ctx, g, t, params, input, gout, nout);
        input[i] = keep;
        worst = fmax(worst, rel_err((lp - lm) / (2 * h), dinput[i]));
        (*checked)++;
    }
    for (int p = 0; p < t->count; p++) {
        const ub__param *q = &t->params[p];
        size_t step = q->count > 16 ? q->count / 7 + 1 : 1;
        for (size_t j = 0; j < q->count; j += step) {
            size_t i = q->offset + (j + step >= q->count ? q->count - 1 : j);
            double keep = params[i];
            params[i] = keep + h;
            double lp = loss(ctx, g, t, params, input, gout, nout);
            params[i] = keep - h;
            double lm = loss(ctx, g, t, params, input, gout, nout);
            params[i] = keep;
            worst = fmax(worst, rel_err((lp - lm) / (2 * h), dparams[i]));
            (*checked)++;
        }
    }
    return worst;
}

static void test_whole_network_gradients(void) {
    ub_ctx *ctx = test_ctx(1);
    ub__rbnet_config c = {8, 1, 1, 2, 8, 7, UB__BLOCK_RES, UB__SKIP_BOTH};
    ub__param_table t;
    CHECK_OK(ctx, ub__rbnet_params(ctx, &c, &t));
    ub__graph g;
    CHECK_OK(ctx, ub__rbnet_graph(ctx, &c, &t, 1, 9, 11, &g)); /* odd: exercises pad and crop */
    float *pf = malloc(sizeof(float) * t.total);
    ub_rng r;
    ub_rng_seed(&r, 3);
    ub__rbnet_init(&t, &r, pf);
    double *params = to_double(pf, t.total);
    /* PyTorch's init leaves biases small; make them larger so every path carries gradient */
    for (size_t i = 0; i < t.total; i++) params[i] *= 2.0;
    const size_t nin = 3 * 9 * 11;
    double *input = malloc(sizeof(double) * nin), *gout = malloc(sizeof(double) * nin);
    for (size_t i = 0; i < nin; i++) input[i] = ub_rng_uniform(&r), gout[i] = ub_rng_uniform(&r) - 0.5;
    ub__ref_state s;
    double *dparams = calloc(t.total, sizeof(double)), *dinput = calloc(nin, sizeof(double));
    CHECK_OK(ctx, ub__graph_forward_ref(ctx, &g, &t, params, input, &s));
    CHECK_OK(ctx, ub__graph_backward_ref(ctx, &g, &t, params, &s, gout, dparams, dinput));
    int checked = 0;
    double worst = gradient_check(ctx, &g, &t, params, input, gout, dparams, dinput, &checked);
    CHECK_MSG(worst < 1e-5, "RBNet W=8 N=1: worst relative gradient error %g", worst);
    printf("RBNet W=8 N=1 backward vs central differences: %d gradients, worst relative error %.2e\n", checked, worst);
    /* a deliberately wrong gradient is caught by the same check */
    dparams[t.params[ub__param_find(&t, "att1.sa.conv.weight")].offset] *= 1.01;
    double broken = gradient_check(ctx, &g, &t, params, input, gout, dparams, dinput, &checked);
    CHECK_MSG(broken > 1e-3, "a 1%% error in one gradient went unnoticed (%g)", broken);
    ub__ref_state_free(&s);
    ub__graph_free(&g);
    ub__param_table_free(&t);
    free(pf);
    free(params);
    free(input);
    free(gout);
    free(dparams);
    free(dinput);
    ub_ctx_destroy(&ctx);
}

static void test_save_load(void) {
    ub_ctx *ctx = test_ctx(1);
    ub_rbnet_config c;
    ub_rbnet_default(&c);
    c.width = 4, c.blocks = 1, c.mid_blocks = 2, c.depth = 3;
    ub_rng r;
    ub_rng_seed(&r, 1);
    ub_model *m = NULL, *back = NULL;
    CHECK_OK(ctx, ub_model_create(ctx, &c, &r, &m));
    const char *dir = test_tmpdir("rbnet");
    char path[600];
    const char *dtypes[3] = {"F32", "F16", "BF16"};
    const double tolerance[3] = {0, 1e-3, 8e-3};
    for (int d = 0; d < 3 && m; d++) {
        snprintf(path, sizeof path, "%s/m_%s.safetensors", dir, dtypes[d]);
        CHECK_OK(ctx, ub_model_save(ctx, m, path, dtypes[d]));
        CHECK_OK(ctx, ub_model_load(ctx, path, &back));
        if (!back) continue;
        ub_rbnet_config bc;
        ub_model_config(back, &bc);
        CHECK(!memcmp(&bc, &c, sizeof c));
        double worst = 0;
        for (size_t i = 0; i < m->net.table.total; i++)
            worst = fmax(worst, fabs(back->params[i] - m->params[i]) / fmax(fabs(m->params[i]), 1e-3));
        CHECK_MSG(worst <= tolerance[d], "%s: worst relative change %g", dtypes[d], worst);
        ub_model_destroy(&back);
        remove(path);
    }
    ub_model_destroy(&m);
    remove(dir);
    ub_ctx_destroy(&ctx);
}

/* Damaged files: one line naming the file (and the tensor), no model. */
static void expect_load_error(ub_ctx *ctx, const char *path, const char *words) {
    ub_model *m = (ub_model *)1;
    ub_status st = ub_model_load(ctx, path, &m);
    CHECK_MSG(st != UB_OK && m == NULL, "%s loaded", path);
    CHECK_MSG(strstr(ub_last_error(ctx), path) && strstr(ub_last_error(ctx), words), "'%s' lacks '%s'",
              ub_last_error(ctx), words);
}

static void test_damaged(void) {
    ub_ctx *ctx = test_ctx(1);
    const char *dir = test_tmpdir("rbnetbad");
    char path[600];
    FILE *f;
    /* truncated copies of the fixture */
    FILE *src = fopen(data_path("rbnet_fixture.safetensors"), "rb");
    static unsigned char buf[1 << 18];
    size_t n = src ? fread(buf, 1, sizeof buf, src) : 0;
    if (src) fclose(src);
    CHECK(n > 1000);
    snprintf(path, sizeof path, "%s/cut.safetensors", dir);
    f = fopen(path, "wb");
    fwrite(buf, 1, n / 2, f);
    fclose(f);
    expect_load_error(ctx, path, "");
    /* a model of another architecture: missing and wrong-shaped tensors */
    ub_rbnet_config c;
    ub_rbnet_default(&c);
    c.width = 4, c.blocks = 1;
    ub_rng r;
    ub_rng_seed(&r, 2);
    ub_model *m = NULL;
    CHECK_OK(ctx, ub_model_create(ctx, &c, &r, &m));
    ub__st_writer *w = ub__st_writer_create(ctx);
    int64_t shape1[1] = {4};
    ub__st_writer_meta(ctx, w, "arch", "rbnet");
    ub__st_writer_meta(ctx, w, "width", "4");
    ub__st_writer_meta(ctx, w, "blocks", "1");
    ub__st_writer_add(ctx, w, "head.bias", "F32", 1, shape1, m ? m->params : NULL);
    snprintf(path, sizeof path, "%s/missing.safetensors", dir);
    CHECK_OK(ctx, ub__st_writer_save(ctx, w, path));
    ub__st_writer_destroy(&w);
    expect_load_error(ctx, path, "missing tensor head.weight");
    w = ub__st_writer_create(ctx);
    ub__st_writer_meta(ctx, w, "width", "lots");
    snprintf(path, sizeof path, "%s/meta.safetensors", dir);
    CHECK_OK(ctx, ub__st_writer_save(ctx, w, path));
    ub__st_writer_destroy(&w);
    expect_load_error(ctx, path, "metadata width");
    w = ub__st_writer_create(ctx);
    ub__st_writer_meta(ctx, w, "arch", "unet");
    snprintf(path, sizeof path, "%s/arch.safetensors", dir);
    CHECK_OK(ctx, ub__st_writer_save(ctx, w, path));
    ub__st_writer_destroy(&w);
    expect_load_error(ctx, path, "not rbnet");
    /* a tensor with the wrong shape: save a W=4 model, then claim width 8 */
    snprintf(path, sizeof path, "%s/shape.safetensors", dir);
    if (m) {
        m->net.config.rbnet.width = 8; /* the file says 8; the tensors are W=4's */
        CHECK_OK(ctx, ub_model_save(ctx, m, path, "F32"));
        m->net.config.rbnet.width = 4;
        expect_load_error(ctx, path, "head.weight");
    }
    ub_model_destroy(&m);
    expect_load_error(ctx, "/nonexistent/model.safetensors", "");
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    ub_ctx_destroy(&ctx);
}

int main(void) {
    check_fixture("rbnet_fixture.safetensors");
    check_fixture("rbnet_fixture_d3m2.safetensors");
    test_whole_network_gradients();
    test_save_load();
    test_damaged();
    return test_finish("test_rbnet");
}
