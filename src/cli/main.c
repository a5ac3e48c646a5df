/* cli/main.c — the unblur program: dispatch to a command.

   `unblur COMMAND ...` runs a command; anything else is the default command,
   deblurring (`unblur IN -o OUT`). Exit status: 0 success, 1 runtime error,
   2 usage error; errors are one line on stderr: "unblur: <file>: <problem>".
   This file is built without AVX2 so that it can refuse a CPU without it
   cleanly instead of dying of an illegal instruction. */
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include <jpeglib.h>
#include <png.h>

#include "cli.h"

static const cli_command commands[] = {
    {"info", "IN... [--json]", "Describe images: size, channels, bit depth.", NULL, cmd_info},
    {"convert", "IN OUT [--bits 8|16] [--quality Q]",
     "Read a PNG or JPEG image and write it as PNG or JPEG (format from OUT's extension).",
     "The output is written to a temporary file and renamed, so a failure leaves no partial file.\n"
     "JPEG inputs are turned upright by their EXIF orientation. 16-bit PNG round-trips exactly.",
     cmd_convert},
    {"metrics", "REF IMG [--shift K] [--crop C] [--json]",
     "PSNR and SSIM of IMG against the reference REF, as scikit-image computes them.",
     "PSNR: 10 log10(1/MSE) over all pixels and colour channels, data range 1 (8-bit: /255,\n"
     "16-bit: /65535). SSIM: Gaussian window sigma 1.5, the mean of per-channel SSIM. Alpha is\n"
     "ignored. --crop C removes C pixels from every side first. --shift K compares IMG at every\n"
     "integer offset in [-K,K]^2 and reports the best PSNR and the best SSIM with their offsets\n"
     "(for benchmarks whose ground truth is not aligned, e.g. Levin et al.); the crop defaults\n"
     "to K then, and must be at least K.",
     cmd_metrics},
    {"synth", "IN... -o OUT [--preset P | --config C.json] [--seed S] [options]",
     "Make realistic blur from sharp images: one image, or a folder into a GoPro-layout pair set.",
     "One image: IN -o OUT.png, with --sharp-out, --kernel-out, --params-out, --depth, --mask.\n"
     "A batch: a folder (or several files) -o OUTDIR writes OUTDIR/blur/NAME.png and OUTDIR/sharp/NAME.png;\n"
     "image i (sorted by path) is sample i of the run, so (config, seed) reproduces the set exactly.\n"
     "Presets: gaussian (the seed article's depth-scaled Gaussian), linear, shake (Boracchi-Foi),\n"
     "realistic (shake, rotation, object motion, defocus, highlights, noise, camera response, JPEG).",
     cmd_synth},
    {"deconv", "IN --kernel K.png -o OUT [--method wiener|rl|sparse] [--iterations N] [--nsr X] [--lambda X] "
               "[--boundary auto|zero|periodic]",
     "Deconvolve an image with a known blur kernel (non-blind): Wiener, Richardson-Lucy or a sparse prior.",
     "The kernel is an image in convolution orientation (a point at p spreads to p + offset), odd size,\n"
     "normalised to sum 1 (what 'unblur synth --kernel-out' writes). Colour channels are deconvolved with\n"
     "the same kernel; alpha is kept. --boundary auto (default) estimates the picture beyond its borders so\n"
     "they do not ring; zero reproduces scikit-image's richardson_lucy (with --method rl). See docs/deconv.md.",
     cmd_deconv},
    {"kernels", "-o DIR [-n N] [--preset P | --config C.json] [--seed S]",
     "Write the camera PSFs a preset draws, as 16-bit PNGs, and a contact sheet.", NULL, cmd_kernels},
    {"model",
     "info M.safetensors | init -o M.safetensors [--width W] [--blocks N] [--depth D] [--seed S] | "
     "convert M.safetensors -o N.safetensors --dtype F16 | diff A.safetensors B.safetensors [--tolerance X]",
     "Inspect an RBNet weights file, write one with random (PyTorch-style) weights, convert one to another "
     "dtype, or compare two.", NULL,
     cmd_model},
    {"train", "--data DIR --run RUN [--preset P] [options] | --config train.json | --resume RUN",
     "Train RBNet on sharp images blurred on the fly by the synthesis.",
     "Writes RUN/config.json, log.csv, model.safetensors (EMA weights) and checkpoint.safetensors\n"
     "(every --checkpoint-seconds, at the end, and on SIGINT/SIGTERM, which stop after the current step;\n"
     "a second signal exits at once). --resume RUN continues bit-identically (same --threads), refusing a\n"
     "checkpoint whose architecture or data/synthesis settings differ. A non-finite loss stops the run\n"
     "(exit 1) keeping the last good checkpoint. --config's JSON takes the keys of config.json.\n"
     "\n"
     "Data-parallel: mpirun -np P unblur train ... runs P processes (on the machines of a --hostfile too;\n"
     "every machine needs the data, rank 0 writes the run folder). Each makes batch/P samples of every\n"
     "step's batch, the gradients are averaged (MPI_Allreduce), and the weights stay identical on every\n"
     "process. Without --threads, the processes of a machine share its cores.",
     cmd_train},
    {"eval", "--set SPEC... [--method M...] [--json F] [--csv F] [--save DIR]",
     "Score deblurring methods on benchmark sets: a Markdown table of PSNR/SSIM per set and method.",
     "Sets (--set, repeatable): pairs:DIR (DIR/blur + DIR/sharp, or *_blur* beside *_sharp* files),\n"
     "levin:DIR (Levin et al. 2009, true kernels, shift-tolerant scores), lai:DIR (Lai et al. 2016 uniform,\n"
     "blurred in memory with 1% noise), synth:DIR (sharp images blurred by the synthesis), sharp:DIR (sharp\n"
     "images as input and reference: the harm done to a sharp photo); keys after the folder: :step=S\n"
     "(every S-th image), :limit=N, :crop=C, :shift=K, and for synth :preset=P (realistic) :seed=S.\n"
     "Names resolved under --data-root: gopro_nah, gopro_dev, reds_dev, levin, lai, kodak24-realistic,\n"
     "kodak24-sharp, cbsd68-sharp (keys too: lai:step=5). Methods (--method, repeatable; default\n"
     "identity): identity, model:PATH (model-flip2:, model-flip4:), wiener, rl and sparse (the true kernel:\n"
     "n/a on sets without one), blind (blind:linear, blind:srgb, blind-fixed), auto, auto:PATH.\n"
     "Columns: mean PSNR/SSIM, the mean gain over the input, the images made worse (lower PSNR than the\n"
     "input), the method's seconds per megapixel.\n"
     "Every run of a set is the same on any thread count.",
     cmd_eval},
};
static const cli_command deblur = {"", "IN... -o OUT [options]", "Deblur photographs.", NULL, cmd_deblur};

static void usage(FILE *f) {
    fprintf(f, "usage: unblur IN... -o OUT [options]     deblur images\n"
               "       unblur COMMAND [ARGS] [options]\n\n"
               "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'unblur COMMAND --help' describes a command; 'unblur --version' prints the version.\n"
               "Options of every command: --threads N, --quiet, --max-pixels N, --help.\n");
}

static int is_global_option(const char *a) {
    static const char *const names[] = {"--quiet", "-q", "--threads", "--max-pixels"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        size_t n = strlen(names[i]);
        if (strncmp(a, names[i], n) == 0 && (a[n] == '\0' || (a[n] == '=' && names[i][1] == '-'))) return 1;
    }
    return 0;
}

/* "--threads N" (not "--threads=N", not a flag) takes the next argument. */
static int takes_value(const char *a) {
    return strcmp(a, "--threads") == 0 || strcmp(a, "--max-pixels") == 0;
}

/* The program's allocator: image-sized buffers (tens of MB) are freed and
   allocated again for every image or sample. glibc would hand each back to
   the kernel (mmap/munmap, trimming) and page-fault it in again, which cost
   ~25% of a 720p synthesis; keeping them in the heap avoids that. */
static void tune_allocator(void) {
    mallopt(M_MMAP_THRESHOLD, 256 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

int main(int argc, char **argv) {
    tune_allocator();
    if (!(ub_cpu_features() & UB_CPU_AVX2))
        return cli_fail(EXIT_RUNTIME, "this CPU lacks AVX2, which this build of unblur requires");
    if (argc < 2) return cli_fail(EXIT_USAGE, "no input: 'unblur IN -o OUT' deblurs, 'unblur --help' lists commands");
    /* Global options may come before the command word: `unblur --threads 2 metrics A B`
       is `unblur metrics A B --threads 2`. */
    char *moved[8];
    int nmoved = 0, at = 1;
    while (at < argc && nmoved < 6 && is_global_option(argv[at])) {
        moved[nmoved++] = argv[at++];
        if (takes_value(argv[at - 1]) && at < argc) moved[nmoved++] = argv[at++];
    }
    if (nmoved > 0) {
        if (at >= argc) return cli_fail(EXIT_USAGE, "no command or input after the options (see 'unblur --help')");
        int rest = argc - at;
        for (int i = 0; i < rest; i++) argv[1 + i] = argv[at + i];
        for (int i = 0; i < nmoved; i++) argv[1 + rest + i] = moved[i];
    }
    const char *first = argv[1];
    if (strcmp(first, "--help") == 0 || strcmp(first, "-h") == 0 || strcmp(first, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(first, "--version") == 0) {
        printf("unblur %s (libpng %s, libjpeg-turbo API %d; CPU: %s)\n", ub_version(), png_libpng_ver,
               JPEG_LIB_VERSION, ub_cpu_features_string(ub_cpu_features()));
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (strcmp(first, commands[i].name) == 0) return commands[i].run(&commands[i], argc - 2, argv + 2);
    return deblur.run(&deblur, argc - 1, argv + 1);
}
