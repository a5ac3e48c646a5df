/* tests/test_core.c — context, errors, atomic output, CPU features. */
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/internal.h"
#include "testutil.h"

static void test_context(void) {
    ub_settings s;
    ub_default_settings(&s);
    CHECK(s.max_pixels == UB_DEFAULT_MAX_PIXELS);
    s.threads = -1;
    ub_ctx *ctx = (ub_ctx *)1;
    CHECK(ub_ctx_create(&ctx, &s) == UB_ERR_INVALID);
    CHECK(ctx == NULL);
    s.threads = 0;
    CHECK(ub_ctx_create(&ctx, &s) == UB_OK);
    CHECK(ub_ctx_threads(ctx) >= 1);
    CHECK(strcmp(ub_last_error(ctx), "") == 0);
    CHECK(ub__fail(ctx, UB_ERR_IO, "%s: %s\nsecond line", "a.png", "broken") == UB_ERR_IO);
    CHECK_MSG(strcmp(ub_last_error(ctx), "a.png: broken second line") == 0, "got '%s'", ub_last_error(ctx));
    ub_clear_error(ctx);
    CHECK(ub_last_error(ctx)[0] == '\0');
    ub_ctx_destroy(&ctx);
    CHECK(ctx == NULL);
    ub_ctx_destroy(&ctx); /* NULL is accepted */
    CHECK(strlen(ub_version()) >= 5);
    for (int st = 0; st >= -8; st--) CHECK(strlen(ub_status_string((ub_status)st)) > 0);
}

static void test_overflow(void) {
    size_t r;
    CHECK(ub__mul_size(1000, 1000, &r) && r == 1000000);
    CHECK(!ub__mul_size(SIZE_MAX / 2 + 1, 2, &r));
    CHECK(!ub__mul3_size((size_t)1 << 31, (size_t)1 << 31, (size_t)1 << 3, &r));
    CHECK(ub__alloc(SIZE_MAX) == NULL);
    CHECK(ub__calloc(SIZE_MAX / 2, 4) == NULL);
    void *p = ub__alloc(100);
    CHECK(p && ((uintptr_t)p & 63) == 0);
    ub__free(p);
}

static int count_entries(const char *dir) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "ls -A '%s' | wc -l", dir);
    FILE *f = popen(cmd, "r");
    int n = -1;
    if (f) {
        if (fscanf(f, "%d", &n) != 1) n = -1;
        pclose(f);
    }
    return n;
}

static void test_atomic_output(void) {
    ub_ctx *ctx = test_ctx(1);
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s", test_tmpdir("core"));
    snprintf(path, sizeof path, "%s/out.bin", dir);
    /* A committed file appears whole; an aborted one leaves nothing behind. */
    CHECK_OK(ctx, ub__write_file_atomic(ctx, path, "hello", 5));
    struct stat st;
    CHECK(stat(path, &st) == 0 && st.st_size == 5);
    ub__outfile of;
    CHECK_OK(ctx, ub__outfile_open(ctx, &of, path));
    fputs("partial", of.fp);
    CHECK(count_entries(dir) == 2); /* out.bin and the temporary */
    ub__outfile_abort(&of);
    CHECK(count_entries(dir) == 1);
    CHECK(stat(path, &st) == 0 && st.st_size == 5); /* the old file is intact */
    /* Errors name the file. */
    char bad[700];
    snprintf(bad, sizeof bad, "%s/no/such/folder/x.bin", dir);
    CHECK(ub__write_file_atomic(ctx, bad, "x", 1) == UB_ERR_IO);
    CHECK(strstr(ub_last_error(ctx), bad) != NULL);
    CHECK(ub__write_file_atomic(ctx, dir, "x", 1) == UB_ERR_IO); /* a directory */
    CHECK(strstr(ub_last_error(ctx), "directory") != NULL);
    unlink(path);
    rmdir(dir);
    ub_ctx_destroy(&ctx);
}

static void test_cpu(void) {
    unsigned f = ub_cpu_features();
    CHECK(f & UB_CPU_AVX2); /* the build requires it, so a machine running the tests has it */
    CHECK(strlen(ub_cpu_features_string(f)) > 0);
    printf("cpu features: %s\n", ub_cpu_features_string(f));
}

int main(void) {
    test_context();
    test_overflow();
    test_atomic_output();
    test_cpu();
    return test_finish("test_core");
}
