/* eval/set_kinds.c — how each kind of set lists its folder into entries.

   Only names are checked here (every file has its partner); images are read when an item is
   loaded (set_load.c), so that opening a set of large images is instant. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/internal.h"

static bool has_name(const eval_names *n, const char *name) {
    size_t lo = 0, hi = n->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(n->v[mid], name);
        if (c == 0) return true;
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return false;
}

static ub_status add_pair(ub_ctx *ctx, ub_eval_set *s, char *name, char *input, char *reference) {
    eval_entry e = {.name = name, .input = input, .reference = reference};
    return ub__eval_add_entry(ctx, s, &e, reference != NULL);
}

/* DIR/blur/X <-> DIR/sharp/X (GoPro, REDS). */
static ub_status pairs_by_folder(ub_ctx *ctx, ub_eval_set *s, const char *dir, const eval_names *blur,
                                 const eval_names *sharp) {
    for (size_t i = 0; i < blur->n; i++)
        if (!has_name(sharp, blur->v[i]))
            return ub__fail(ctx, UB_ERR_IO, "%s/blur/%s: no matching sharp image", dir, blur->v[i]);
    for (size_t i = 0; i < sharp->n; i++)
        if (!has_name(blur, sharp->v[i]))
            return ub__fail(ctx, UB_ERR_IO, "%s/sharp/%s: no matching blurred image", dir, sharp->v[i]);
    ub_status st = UB_OK;
    for (size_t i = 0; i < blur->n && st == UB_OK; i++)
        st = add_pair(ctx, s, ub__eval_stem(blur->v[i]), ub__eval_printf("%s/blur/%s", dir, blur->v[i]),
                      ub__eval_printf("%s/sharp/%s", dir, blur->v[i]));
    return st;
}

/* "A_blurB" -> "A_sharpB" (the first "_blur"), malloc'ed; `from`/`to` swapped for the way back. */
static char *swap_word(const char *name, const char *from, const char *to) {
    const char *at = strstr(name, from);
    if (!at) return NULL;
    return ub__eval_printf("%.*s%s%s", (int)(at - name), name, to, at + strlen(from));
}

/* X_blurN.png <-> X_sharpN.png in one folder (the GoPro authors' published examples). */
static ub_status pairs_by_name(ub_ctx *ctx, ub_eval_set *s, const char *dir, const eval_names *all) {
    ub_status st = UB_OK;
    for (size_t i = 0; i < all->n && st == UB_OK; i++) {
        const char *name = all->v[i];
        bool blur = strstr(name, "_blur") != NULL;
        char *other = blur ? swap_word(name, "_blur", "_sharp") : swap_word(name, "_sharp", "_blur");
        if (!other) continue; /* neither: not part of the set */
        if (!has_name(all, other))
            st = ub__fail(ctx, UB_ERR_IO, "%s/%s: no matching %s image (%s)", dir, name,
                          blur ? "sharp" : "blurred", other);
        else if (blur)
            st = add_pair(ctx, s, ub__eval_stem(name), ub__eval_printf("%s/%s", dir, name),
                          ub__eval_printf("%s/%s", dir, other));
        free(other);
    }
    if (st == UB_OK && s->count == 0)
        st = ub__fail(ctx, UB_ERR_IO, "%s: no pairs (expected blur/ and sharp/ folders, or *_blur* and *_sharp* files)",
                      dir);
    return st;
}

ub_status ub__eval_list_pairs(ub_ctx *ctx, ub_eval_set *s, const char *dir) {
    char *blur_dir = ub__eval_printf("%s/blur", dir), *sharp_dir = ub__eval_printf("%s/sharp", dir);
    eval_names blur = {0}, sharp = {0}, all = {0};
    ub_status st = UB_OK;
    if (!blur_dir || !sharp_dir) st = ub__fail(ctx, UB_ERR_NOMEM, "out of memory");
    else if (ub__eval_is_dir(blur_dir) || ub__eval_is_dir(sharp_dir)) {
        st = ub__eval_list_images(ctx, blur_dir, &blur);
        if (st == UB_OK) st = ub__eval_list_images(ctx, sharp_dir, &sharp);
        if (st == UB_OK) st = pairs_by_folder(ctx, s, dir, &blur, &sharp);
    } else {
        st = ub__eval_list_images(ctx, dir, &all);
        if (st == UB_OK) st = pairs_by_name(ctx, s, dir, &all);
    }
    ub__eval_names_free(&blur);
    ub__eval_names_free(&sharp);
    ub__eval_names_free(&all);
    free(blur_dir);
    free(sharp_dir);
    return st;
}

/* One Levin file "im{i}_kernel{k}_img.png" -> its entry; other names are skipped. */
static ub_status levin_entry(ub_ctx *ctx, ub_eval_set *s, const char *dir, const char *file) {
    int im = 0, k = 0, end = 0;
    if (sscanf(file, "im%d_kernel%d_img.%n", &im, &k, &end) != 2 || end == 0) return UB_OK;
    char *sharp = ub__eval_printf("%s/gt_sharp/im%d.png", dir, im);
    char *kernel = ub__eval_printf("%s/gt_kernels/kernel%d.png", dir, k);
    const char *missing = !sharp || !kernel ? NULL : !ub__eval_is_file(sharp) ? sharp : !ub__eval_is_file(kernel) ? kernel : NULL;
    if (missing) {
        ub_status st = ub__fail(ctx, UB_ERR_IO, "%s/blurred/%s: no %s (%s)", dir, file,
                                missing == sharp ? "matching sharp image" : "kernel", missing);
        free(sharp);
        free(kernel);
        return st;
    }
    /* SOURCE.txt of the data: the blurred images are the sharp ones CORRELATED with kernels 1,2,3,5,6,7
       as stored (so their convolution kernel is the PNG turned 180 degrees), while the PNGs of kernels
       4 and 8 are stored already turned; measured there by the residual at the best shift. */
    eval_entry e = {.name = ub__eval_printf("im%d_kernel%d", im, k), .input = ub__eval_printf("%s/blurred/%s", dir, file),
                    .reference = sharp, .kernel = kernel, .kernel_rot180 = k != 4 && k != 8};
    return ub__eval_add_entry(ctx, s, &e, sharp && kernel);
}

ub_status ub__eval_list_levin(ub_ctx *ctx, ub_eval_set *s, const char *dir) {
    char *blurred = ub__eval_printf("%s/blurred", dir);
    if (!blurred) return ub__fail(ctx, UB_ERR_NOMEM, "out of memory");
    eval_names files;
    ub_status st = ub__eval_list_images(ctx, blurred, &files);
    for (size_t i = 0; i < files.n && st == UB_OK; i++) st = levin_entry(ctx, s, dir, files.v[i]);
    ub__eval_names_free(&files);
    free(blurred);
    return st;
}

/* Lai: every sharp image with every kernel, image-major; the noise seed is the image's index in the
   whole sorted folder, so a limit or step does not change the items it keeps. */
ub_status ub__eval_list_lai(ub_ctx *ctx, ub_eval_set *s, const char *dir) {
    char *sharp_dir = ub__eval_printf("%s/sharp", dir), *kernel_dir = ub__eval_printf("%s/kernels", dir);
    eval_names sharp = {0}, kernels = {0};
    ub_status st = !sharp_dir || !kernel_dir ? ub__fail(ctx, UB_ERR_NOMEM, "out of memory") : UB_OK;
    if (st == UB_OK) st = ub__eval_list_images(ctx, sharp_dir, &sharp);
    if (st == UB_OK) st = ub__eval_list_images(ctx, kernel_dir, &kernels);
    if (st == UB_OK && kernels.n == 0) st = ub__fail(ctx, UB_ERR_IO, "%s: no kernels", kernel_dir);
    for (size_t i = 0; i < sharp.n && st == UB_OK; i++)
        for (size_t k = 0; k < kernels.n && st == UB_OK; k++) {
            char *a = ub__eval_stem(sharp.v[i]), *b = ub__eval_stem(kernels.v[k]);
            eval_entry e = {.name = a && b ? ub__eval_printf("%s_%s", a, b) : NULL,
                            .input = ub__eval_printf("%s/%s", sharp_dir, sharp.v[i]),
                            .kernel = ub__eval_printf("%s/%s", kernel_dir, kernels.v[k]),
                            .image_index = i,
                            .kernel_index = k};
            free(a);
            free(b);
            st = ub__eval_add_entry(ctx, s, &e, e.kernel != NULL);
        }
    ub__eval_names_free(&sharp);
    ub__eval_names_free(&kernels);
    free(sharp_dir);
    free(kernel_dir);
    return st;
}

/* synth and sharp: every image of the folder; image i is sample i of the synthesis. */
ub_status ub__eval_list_folder(ub_ctx *ctx, ub_eval_set *s, const char *dir) {
    eval_names files;
    ub_status st = ub__eval_list_images(ctx, dir, &files);
    for (size_t i = 0; i < files.n && st == UB_OK; i++) {
        eval_entry e = {.name = ub__eval_stem(files.v[i]), .input = ub__eval_printf("%s/%s", dir, files.v[i]),
                        .image_index = i};
        st = ub__eval_add_entry(ctx, s, &e, true);
    }
    ub__eval_names_free(&files);
    return st;
}
