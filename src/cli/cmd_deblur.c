/* cli/cmd_deblur.c — the default command, `unblur IN... -o OUT`.

   Deblurring needs the neural engine and a trained model, which this version
   does not have yet. The command parses its arguments (so that usage errors
   and --help behave as they will) and then says plainly that it cannot run. */
#include <stdio.h>
#include <unistd.h>

#include "cli.h"

int cmd_deblur(const cli_command *cmd, int argc, char **argv) {
    const char *out = NULL, *model = NULL;
    int tile = 0;
    const cli_option opts[] = {
        {"output", 'o', OPT_STRING, &out, 0, 0, "OUT", "output image, or folder for several inputs"},
        {"model", 0, OPT_STRING, &model, 0, 0, "M", "model weights (.safetensors)"},
        {"tile", 0, OPT_INT, &tile, 0, 1 << 16, "N", "tile size in pixels"},
    };
    cli_globals g = {0};
    cli_args args;
    int nopts = (int)(sizeof opts / sizeof *opts);
    if (cli_parse(cmd, argc, argv, opts, nopts, &g, &args)) return EXIT_USAGE;
    if (g.help) {
        cli_print_help(cmd, opts, nopts);
        return 0;
    }
    if (args.count < 1) return cli_fail(EXIT_USAGE, "deblurring needs at least one input: unblur IN -o OUT");
    if (!out) {
        if (access(args.positional[0], F_OK) != 0)
            return cli_fail(EXIT_USAGE, "'%s' is neither a command nor an image (see 'unblur --help')",
                            args.positional[0]);
        return cli_fail(EXIT_USAGE, "deblurring needs an output: unblur IN -o OUT");
    }
    return cli_fail(EXIT_RUNTIME, "%s: deblurring is not available in this version: no model is bundled yet "
                    "(commands available: info, convert, metrics)", args.positional[0]);
}
