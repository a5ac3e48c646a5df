/* nn/model_find.c — where a bundled model is found: `unblur IN -o OUT` without --model, `--model fast`,
   and the Python package's deblur(model=None) all come here.

   A name ("default", "fast": letters, digits, '-', '_', '.') means NAME.safetensors in the first of:
     1. $UNBLUR_MODELS, a folder (the override; when set, nothing else is searched, so a test or a
        user knows exactly which file runs);
     2. share/unblur/models beside the installed program or library: BIN/../share/unblur/models, and
        LIB/../share/... or LIB/../../share/... for lib/ and lib/<multiarch>/ (cmake --install puts the
        models there; found relative to the binary, so an install moved with --prefix still works);
     3. models/ beside the build folder: BUILD/../models (the source tree's models/ when the program
        or libunblur.so runs from the build tree, as the README's commands do).
   "The binary" is the file that holds this code (dladdr): the unblur program, or libunblur.so when
   another program (Python) links it. */
#define _GNU_SOURCE /* dladdr */
#include <dlfcn.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/internal.h"
#include "unblur/nn.h"

enum { PATH_MAX_LEN = 4096 };

static int is_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int valid_name(const char *name) {
    if (!name || !*name || strlen(name) > 64 || name[0] == '.') return 0;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
              *p == '_' || *p == '.'))
            return 0;
    return 1;
}

/* An object of this binary, for dladdr (ISO C has no function-to-object pointer conversion). */
static const char this_binary = 0;

/* The folder of the binary that holds this code, into dir (without a trailing '/'); 0 if unknown. */
static int binary_dir(char *dir, size_t size) {
    Dl_info info;
    if (!dladdr(&this_binary, &info) || !info.dli_fname || info.dli_fname[0] != '/') {
        /* a program linked statically and started through $PATH: /proc knows where it is */
        ssize_t n = readlink("/proc/self/exe", dir, size - 1);
        if (n <= 0) return 0;
        dir[n] = 0;
    } else if (snprintf(dir, size, "%s", info.dli_fname) >= (int)size) {
        return 0;
    }
    char *slash = strrchr(dir, '/');
    if (!slash) return 0;
    *slash = 0;
    return 1;
}

ub_status ub_model_find(ub_ctx *ctx, const char *name, char *path, size_t size) {
    if (!valid_name(name))
        return ub__fail(ctx, UB_ERR_INVALID, "model name '%s': use letters, digits, '-', '_' or '.'",
                        name ? name : "");
    if (!path || size == 0) return ub__fail(ctx, UB_ERR_INVALID, "ub_model_find: no room for the path");
    char candidate[PATH_MAX_LEN];
    const char *env = getenv("UNBLUR_MODELS");
    if (env && *env) {
        snprintf(candidate, sizeof candidate, "%s/%s.safetensors", env, name);
        if (!is_file(candidate))
            return ub__fail(ctx, UB_ERR_IO, "%s: no such model (UNBLUR_MODELS=%s)", candidate, env);
        if (snprintf(path, size, "%s", candidate) >= (int)size)
            return ub__fail(ctx, UB_ERR_INVALID, "%s: path too long", candidate);
        return UB_OK;
    }
    char dir[PATH_MAX_LEN];
    if (!binary_dir(dir, sizeof dir))
        return ub__fail(ctx, UB_ERR_IO, "model '%s': cannot tell where unblur is installed; set UNBLUR_MODELS "
                        "or give a file", name);
    static const char *const places[] = {"../share/unblur/models", "../../share/unblur/models", "../models"};
    for (size_t i = 0; i < sizeof places / sizeof places[0]; i++) {
        if (snprintf(candidate, sizeof candidate, "%s/%s/%s.safetensors", dir, places[i], name) >=
            (int)sizeof candidate)
            continue;
        if (!is_file(candidate)) continue;
        if (snprintf(path, size, "%s", candidate) >= (int)size)
            return ub__fail(ctx, UB_ERR_INVALID, "%s: path too long", candidate);
        return UB_OK;
    }
    return ub__fail(ctx, UB_ERR_IO, "model '%s' not found in %s/../share/unblur/models or %s/../models "
                    "(set UNBLUR_MODELS to its folder, or give a .safetensors file)", name, dir, dir);
}

/* A spec names a file when it could only be one: a '/' in it, a .safetensors suffix, or a file of that
   name in the working folder; otherwise it is a bundled model's name. */
static int spec_is_path(const char *spec) {
    size_t n = strlen(spec);
    const char *suffix = ".safetensors";
    size_t ns = strlen(suffix);
    return strchr(spec, '/') || (n >= ns && !strcmp(spec + n - ns, suffix)) || is_file(spec);
}

ub_status ub_model_open(ub_ctx *ctx, const char *spec, ub_model **out) {
    if (!spec || !*spec) spec = "default";
    if (spec_is_path(spec)) return ub_model_load(ctx, spec, out);
    char path[PATH_MAX_LEN];
    ub_status st = ub_model_find(ctx, spec, path, sizeof path);
    return st != UB_OK ? st : ub_model_load(ctx, path, out);
}
