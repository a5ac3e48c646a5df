/* cli/cmd_info.c — `unblur info IN... [--json]`. */
#include <stdio.h>

#include <jansson.h>

#include "cli.h"

static const char *layout_name(int channels) {
    static const char *const names[5] = {"", "grey", "grey+alpha", "RGB", "RGBA"};
    return names[channels];
}

int cmd_info(const cli_command *cmd, int argc, char **argv) {
    int json = 0;
    const cli_option opts[] = {{"json", 0, OPT_FLAG, &json, 0, 0, NULL, "one JSON object per line"}};
    cli_globals g = {0};
    cli_args args;
    int begun = cli_begin(cmd, argc, argv, opts, (int)(sizeof opts / sizeof *opts), &g, &args);
    if (begun >= 0) return begun;
    if (args.count < 1) return cli_fail(EXIT_USAGE, "info: expects at least one image (see 'unblur info --help')");
    cli_progress progress;
    ub_ctx *ctx = cli_make_context(&g, &progress);
    if (!ctx) return EXIT_RUNTIME;
    int rc = 0;
    for (int i = 0; i < args.count && rc == 0; i++) {
        ub_image *img = NULL;
        if (ub_image_read(ctx, args.positional[i], &img) != UB_OK) {
            rc = cli_fail_ctx(ctx);
            break;
        }
        if (json) {
            json_t *o = json_pack("{s:s, s:I, s:I, s:i, s:s, s:i}", "file", args.positional[i], "width",
                                  (json_int_t)img->width, "height", (json_int_t)img->height, "channels",
                                  img->channels, "layout", layout_name(img->channels), "bit_depth", img->bit_depth);
            char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
            if (text) puts(text);
            else rc = cli_fail(EXIT_RUNTIME, "%s: out of memory", args.positional[i]);
            free(text);
            json_decref(o);
        } else {
            printf("%s: %lldx%lld, %s, %d-bit\n", args.positional[i], (long long)img->width,
                   (long long)img->height, layout_name(img->channels), img->bit_depth);
        }
        ub_image_destroy(&img);
    }
    ub_ctx_destroy(&ctx);
    return rc;
}
