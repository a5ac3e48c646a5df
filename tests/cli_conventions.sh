#!/usr/bin/env bash
# The command line's conventions: help and version, exit codes (0 ok, 1 runtime, 2 usage),
# one-line errors naming the file, no partial outputs, round trips through convert,
# metrics output, and the progress bar only on a terminal.
# usage: cli_conventions.sh UNBLUR WORKDIR SOURCE_DIR
set -u
u=$1 work=$2 src=$3
rm -rf "$work"; mkdir -p "$work"
. "$(dirname "$0")/harness.sh"
# expect CODE DESCRIPTION -- command...: runs it, checks the exit code and, for failures,
# that stderr is exactly one line starting with "unblur: ".
expect() {
  local want=$1 what=$2; shift 3
  "$@" >"$work/stdout" 2>"$work/stderr"; local got=$?
  if [ "$got" -ne "$want" ]; then bad "$what: exit $got, want $want: $(head -c 300 "$work/stderr")"; return; fi
  if [ "$want" -ne 0 ]; then
    local lines; lines=$(wc -l < "$work/stderr")
    if [ "$lines" -ne 1 ] || ! grep -q '^unblur: ' "$work/stderr"; then
      bad "$what: stderr is not one 'unblur: ' line: $(cat "$work/stderr")"; return; fi
  fi
  ok "$what"
}
scene=$src/examples/scene.png

expect 0 "--help" -- "$u" --help
grep -q "commands:" "$work/stdout" && ok "--help lists commands" || bad "--help lists commands"
expect 0 "--version" -- "$u" --version
grep -q "^unblur [0-9]" "$work/stdout" && ok "--version format" || bad "--version format"
for c in info convert metrics; do
  expect 0 "$c --help" -- "$u" $c --help
  grep -q "^usage: unblur $c" "$work/stdout" && ok "$c --help usage line" || bad "$c --help usage line"
done
expect 2 "no arguments" -- "$u"
expect 2 "unknown option" -- "$u" metrics "$scene" "$scene" --frobnicate
expect 2 "bad number" -- "$u" metrics "$scene" "$scene" --threads many
expect 2 "out-of-range number" -- "$u" convert "$scene" "$work/x.jpg" --quality 101
expect 2 "missing operand" -- "$u" metrics "$scene"
expect 2 "unknown command" -- "$u" frobnicate
expect 2 "crop smaller than shift" -- "$u" metrics "$scene" "$scene" --shift 3 --crop 1
expect 2 "sub-pixel without a shift" -- "$u" metrics "$scene" "$scene" --subpixel
mkdir -p "$work/no-models"
expect 1 "deblur without a model says so" -- env UNBLUR_MODELS="$work/no-models" "$u" "$scene" -o "$work/sharp.png" --method net
grep -q "no-models/default.safetensors: no such model" "$work/stderr" && ok "deblur message" || bad "deblur message"
[ ! -e "$work/sharp.png" ] && ok "deblur wrote nothing" || bad "deblur wrote something"

# round trips
expect 0 "convert to 16-bit PNG" -- "$u" convert "$scene" "$work/s16.png" --bits 16
expect 0 "info of the 16-bit PNG" -- "$u" info "$work/s16.png" --json
grep -q '"bit_depth":16' "$work/stdout" && ok "16-bit recorded" || bad "16-bit recorded: $(cat "$work/stdout")"
expect 0 "16-bit back to 16-bit" -- "$u" convert "$work/s16.png" "$work/s16b.png"
cmp -s "$work/s16.png" "$work/s16b.png" && ok "16-bit PNG round-trips byte for byte" || bad "16-bit round trip"
expect 0 "metrics of identical images" -- "$u" metrics "$scene" "$work/s16.png" --json
grep -q '"psnr":null' "$work/stdout" && grep -q '"ssim":1' "$work/stdout" && ok "identical: psnr null, ssim 1" \
  || bad "identical metrics: $(cat "$work/stdout")"
expect 0 "convert to JPEG" -- "$u" convert "$scene" "$work/s.jpg" --quality 90
expect 0 "metrics of the JPEG" -- "$u" metrics "$scene" "$work/s.jpg"
psnr=$(awk '{print $2}' "$work/stdout")
awk -v p="$psnr" 'BEGIN{exit !(p > 30 && p < 60)}' && ok "JPEG q90 PSNR $psnr dB" || bad "JPEG q90 PSNR $psnr"
expect 0 "shift-tolerant metrics" -- "$u" metrics "$scene" "$work/s.jpg" --shift 2 --json
grep -q '"psnr_offset":\[0,0\]' "$work/stdout" && ok "best offset of an aligned pair is (0,0)" \
  || bad "offset: $(cat "$work/stdout")"
expect 0 "sub-pixel metrics" -- "$u" metrics "$scene" "$work/s.jpg" --shift 2 --subpixel --json
grep -q '"psnr_subpixel_offset":\[0.0,0.0\]' "$work/stdout" && ok "sub-pixel offset of an aligned pair is (0,0)" \
  || bad "sub-pixel offset: $(cat "$work/stdout")"
[ ! -s "$work/stderr" ] && ok "no progress bar when stderr is not a terminal" || bad "stderr not empty"
if command -v script >/dev/null; then
  script -qec "$u metrics $scene $work/s.jpg --shift 3" /dev/null > "$work/tty" 2>&1
  grep -q "metrics" "$work/tty" && grep -q "%" "$work/tty" && ok "progress bar on a terminal" \
    || bad "progress bar on a terminal: $(head -c 200 "$work/tty")"
  script -qec "$u metrics $scene $work/s.jpg --shift 3 --quiet" /dev/null > "$work/tty" 2>&1
  grep -q "%" "$work/tty" && bad "--quiet still draws" || ok "--quiet hides the bar"
else
  echo "skip progress-bar checks: no 'script' command"
fi

# errors name the file, leave nothing behind
expect 1 "missing input" -- "$u" info "$work/nope.png"
grep -q "nope.png" "$work/stderr" && ok "error names the file" || bad "error names the file"
expect 1 "mismatched pair" -- "$u" metrics "$scene" "$work/s16.png" --crop 0 --max-pixels 100
expect 1 "sizes differ" -- "$u" metrics "$scene" "$src/tests/data/metrics_reference.tsv"
mkdir -p "$work/outdir"
expect 1 "output folder missing" -- "$u" convert "$scene" "$work/outdir/missing/x.png"
mkdir -p "$work/dir.png"
expect 1 "output path is a directory" -- "$u" convert "$scene" "$work/dir.png"
expect 1 "JPEG cannot hold alpha" -- "$u" convert "$src/tests/data/rgba.png" "$work/outdir/a.jpg"
[ -z "$(ls -A "$work/outdir")" ] && ok "no partial outputs" || bad "left: $(ls -A "$work/outdir")"

finish cli_conventions
