#!/usr/bin/env bash
# `unblur deconv`: the bundled scene blurred by `unblur synth` (with the kernel it drew), deconvolved
# by every method with that kernel: better than the blurred image, byte-identical on 1 and 2 threads;
# and hostile kernels (all zero, even size, larger than the image, a missing file) and bad options
# as one line naming the problem.
# usage: cli_deconv.sh UNBLUR WORKDIR SOURCE_DIR
set -u
u=$1 work=$2 src=$3
rm -rf "$work"; mkdir -p "$work"
. "$(dirname "$0")/harness.sh"
ex=$src/examples

$u synth "$ex/scene.png" -o "$work/b.png" --preset shake --seed 4 --sharp-out "$work/s.png" \
   --kernel-out "$work/k.png" --quiet
check "synth: blurred, sharp and kernel" "[ -s '$work/b.png' ] && [ -s '$work/s.png' ] && [ -s '$work/k.png' ]"
# the PSNR of an image against the sharp target (aligned: the kernel is the true one)
psnr() { $u metrics "$work/s.png" "$1" --json | sed 's/.*"psnr":\([0-9.]*\).*/\1/'; }
base=$(psnr "$work/b.png")
for m in wiener rl sparse; do
  $u deconv "$work/b.png" --kernel "$work/k.png" -o "$work/$m.png" --method $m --quiet
  got=$(psnr "$work/$m.png")
  check "$m: $base dB -> $got dB, at least 1 dB better" "awk 'BEGIN{exit !($got >= $base + 1)}'"
done
$u deconv "$work/b.png" --kernel "$work/k.png" -o "$work/sparse1.png" --threads 1 --quiet
$u deconv "$work/b.png" --kernel "$work/k.png" -o "$work/sparse2.png" --threads 2 --quiet
check "sparse is the default and the same bytes on 1 and 2 threads" \
  "cmp -s '$work/sparse1.png' '$work/sparse2.png' && cmp -s '$work/sparse1.png' '$work/sparse.png'"
$u deconv "$work/b.png" -k "$work/k.png" -o "$work/luma.png" --colour luma --quiet
$u deconv "$work/b.png" -k "$work/k.png" -o "$work/rgb.png" --colour rgb --quiet
got=$(psnr "$work/luma.png")
check "--colour luma: $base dB -> $got dB, at least 1 dB better; --colour rgb is the default on a small photo" \
  "awk 'BEGIN{exit !($got >= $base + 1)}' && cmp -s '$work/rgb.png' '$work/sparse.png' && ! cmp -s '$work/luma.png' '$work/sparse.png'"
$u deconv "$work/b.png" -k "$work/k.png" -o "$work/rlz.png" -m rl --boundary zero --iterations 5 --quiet
check "rl --boundary zero --iterations 5" "[ -s '$work/rlz.png' ] && ! cmp -s '$work/rlz.png' '$work/rl.png'"
$u deconv "$work/b.png" -k "$work/k.png" -o "$work/w.jpg" -m wiener --nsr 0.02 --boundary periodic --quiet
check "wiener --nsr --boundary periodic, JPEG output" "[ -s '$work/w.jpg' ]"
$u deconv "$work/b.png" -k "$work/k.png" -o "$work/sl.png" --lambda 0.001 --alpha 0.8 --iterations 10 --quiet
check "sparse --lambda --alpha" "[ -s '$work/sl.png' ]"

# hostile kernels (PNG cannot hold NaN or negative values)
echo iVBORw0KGgoAAAANSUhEUgAAAAMAAAADCAAAAABzQ+pjAAAAFElEQVQIHWNkYGBgZGBgYGRgYAAAACQABOVZymwAAAAASUVORK5CYII= | base64 -d > "$work/zero.png"
echo iVBORw0KGgoAAAANSUhEUgAAAAQAAAAECAAAAACMmsGiAAAAGElEQVQIHQ3BAQEAAAjDoNE/tB40uuiieRVCAgXWVYfHAAAAAElFTkSuQmCC | base64 -d > "$work/even.png"
echo iVBORw0KGgoAAAANSUhEUgAAAAcAAAAHCAAAAADhOQgPAAAAHElEQVQIHSXBgQ0AAAyDIP3/6DWZIJFIPJ5EIhkf+QEHJalVIgAAAABJRU5ErkJggg== | base64 -d > "$work/line7.png"
echo iVBORw0KGgoAAAANSUhEUgAAAAUAAAAFCAAAAACoBHk5AAAAHklEQVQIHWNk4AICRiMuIGBM4QICxmlcQMB4ggsIACFIAsIQDE5tAAAAAElFTkSuQmCC | base64 -d > "$work/img5.png"
one_line_error "all-zero kernel" "zero.png: kernel image is all zero" -- $u deconv "$work/b.png" -k "$work/zero.png" -o "$work/x.png"
one_line_error "even-sized kernel" "even.png: a kernel must have odd width and height" -- $u deconv "$work/b.png" -k "$work/even.png" -o "$work/x.png"
one_line_error "kernel larger than the image" "line7.png: kernel (7x7) is larger than the image (5x5)" -- $u deconv "$work/img5.png" -k "$work/line7.png" -o "$work/x.png"
one_line_error "missing kernel file" "nothere.png" -- $u deconv "$work/b.png" -k "$work/nothere.png" -o "$work/x.png"
one_line_error "unknown method" "--method is wiener, rl or sparse, not 'lucy'" -- $u deconv "$work/b.png" -k "$work/k.png" -o "$work/x.png" -m lucy
one_line_error "unknown colour" "--colour is auto, rgb or luma" -- $u deconv "$work/b.png" -k "$work/k.png" -o "$work/x.png" --colour yuv
one_line_error "unknown boundary" "--boundary is auto, zero or periodic" -- $u deconv "$work/b.png" -k "$work/k.png" -o "$work/x.png" --boundary mirror
one_line_error "bad --nsr" "--nsr expects a positive number, not '-1'" -- $u deconv "$work/b.png" -k "$work/k.png" -o "$work/x.png" --nsr -1
one_line_error "bad --alpha" "alpha must be in" -- $u deconv "$work/b.png" -k "$work/k.png" -o "$work/x.png" --alpha 5
one_line_error "no kernel" "expects IN --kernel K.png -o OUT" -- $u deconv "$work/b.png" -o "$work/x.png"
one_line_error "blind: unknown response" "--response gamma: use linear or srgb" -- $u "$work/b.png" -o "$work/x.png" --method blind --response gamma
one_line_error "--response without blind" "go with --method blind" -- $u "$work/b.png" -o "$work/x.png" --response srgb
check "no output left by the failures" "[ ! -e '$work/x.png' ]"
$u deconv --help > "$work/help"
check "--help describes --boundary" "grep -q -- '--boundary' '$work/help'"
finish cli_deconv
