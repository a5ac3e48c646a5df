#!/usr/bin/env bash
# Bundled models found without a path: `unblur IN -o OUT` (the model "default"), `--model fast`,
# `unblur model info NAME`, `unblur eval --method model:NAME`; the search order of ub_model_find:
# $UNBLUR_MODELS alone when set, else share/unblur/models beside an installed program (cmake --install
# into a scratch prefix, moved afterwards: the lookup is relative), else models/ beside the build folder.
# usage: cli_models.sh UNBLUR WORKDIR SOURCE_DIR
set -u
u=$1 work=$2 src=$3
rm -rf "$work"; mkdir -p "$work"
. "$(dirname "$0")/harness.sh"
scene=$src/examples/scene.png
cp "$scene" "$work/small.png"

# two distinguishable models in an override folder
mkdir -p "$work/m1" "$work/m2" "$work/empty"
"$u" model init -o "$work/m1/default.safetensors" --width 8 --blocks 1 --seed 1 -q >/dev/null
"$u" model init -o "$work/m1/fast.safetensors" --width 8 --blocks 1 --seed 2 -q >/dev/null
"$u" model init -o "$work/m2/default.safetensors" --width 8 --blocks 1 --seed 3 -q >/dev/null
"$u" "$work/small.png" -o "$work/by_path.png" --model "$work/m1/default.safetensors" -q
"$u" "$work/small.png" -o "$work/by_path_fast.png" --model "$work/m1/fast.safetensors" -q
check "two different models give different outputs" '! cmp -s "$work/by_path.png" "$work/by_path_fast.png"'

UNBLUR_MODELS=$work/m1 "$u" "$work/small.png" -o "$work/env_default.png" --method net -q
check "UNBLUR_MODELS: --method net without --model runs default.safetensors" 'cmp -s "$work/by_path.png" "$work/env_default.png"'
UNBLUR_MODELS=$work/m1 "$u" "$work/small.png" -o "$work/env_fast.png" --method net --model fast -q
check "UNBLUR_MODELS: --model fast runs fast.safetensors" 'cmp -s "$work/by_path_fast.png" "$work/env_fast.png"'
UNBLUR_MODELS=$work/m1 "$u" model info default > "$work/info.txt" 2>&1
check "model info NAME" 'grep -q "^default: RBNet width 8" "$work/info.txt"'
# --ensemble: 2 flipped views differ from the plain run; 3 is refused before any work
UNBLUR_MODELS=$work/m1 "$u" "$work/small.png" -o "$work/flip2.png" --method net --ensemble 2 -q
check "--ensemble 2 changes the output" '[ -s "$work/flip2.png" ] && ! cmp -s "$work/flip2.png" "$work/env_default.png"'
one_line_error "--ensemble 3 is refused" "ensemble 3" -- env UNBLUR_MODELS="$work/m1" "$u" "$work/small.png" -o "$work/x.png" --method net --ensemble 3

# --method auto (the default) on the sharp scene: the blind step declines, so the photo comes back as
# the bundled network's output (--fallback net, the default), or unchanged (--fallback input)
UNBLUR_MODELS=$work/m1 "$u" "$work/small.png" -o "$work/default.png" -q
check "the default on a sharp photo: the network's output" 'cmp -s "$work/default.png" "$work/env_default.png"'
"$u" "$work/small.png" -o "$work/auto.png" --method auto --fallback input -q
"$u" metrics "$work/small.png" "$work/auto.png" > "$work/auto_metrics.txt"
check "--method auto on a sharp photo: unchanged" 'grep -q "PSNR inf dB" "$work/auto_metrics.txt"'
UNBLUR_MODELS=$work/m1 "$u" "$work/small.png" -o "$work/auto_net.png" --method auto --fallback net -q
check "--fallback net on a sharp photo = the network's output" 'cmp -s "$work/auto_net.png" "$work/env_default.png"'
"$u" "$work/small.png" -o "$work/auto_m.png" --method auto --model "$work/m1/default.safetensors" -q
check "--method auto --model implies --fallback net" 'cmp -s "$work/auto_m.png" "$work/env_default.png"'
one_line_error "--fallback input with --model is refused" "model goes with" -- \
  "$u" "$work/small.png" -o "$work/x.png" --method auto --fallback input --model "$work/m1/default.safetensors"
one_line_error "a bad --fallback" "fallback sideways" -- "$u" "$work/small.png" -o "$work/x.png" --fallback sideways

# model convert: F16 halves the file, the weights stay within F16 rounding, the output within 50 dB
"$u" model convert "$work/m1/default.safetensors" -o "$work/half.safetensors" --dtype F16 -q
check "convert to F16 halves the file" '[ $(stat -c %s "$work/half.safetensors") -lt $(( $(stat -c %s "$work/m1/default.safetensors") * 6 / 10 )) ]'
check "F16 weights within 1e-3" '"$u" model diff "$work/m1/default.safetensors" "$work/half.safetensors" --tolerance 1e-3 >/dev/null'
"$u" "$work/small.png" -o "$work/half.png" --method net --model "$work/half.safetensors" -q
psnr=$("$u" metrics "$work/env_default.png" "$work/half.png" | sed -n 's/PSNR \([0-9.inf]*\) dB.*/\1/p')
check "F16 model's output within 50 dB of F32's ($psnr)" '[ "$psnr" = inf ] || awk "BEGIN{exit !($psnr > 50)}"'
one_line_error "convert without -o" "model: expects" -- "$u" model convert "$work/m1/default.safetensors"

# the receptive radius grows with depth (the exact value is the tiling's rule: test_tiling checks it)
"$u" model init -o "$work/d3.safetensors" --width 8 --blocks 1 --depth 3 -q >/dev/null
r2=$("$u" model info "$work/m1/default.safetensors" | sed -n 's/.*receptive radius \([0-9]*\) px.*/\1/p')
r3=$("$u" model info "$work/d3.safetensors" | sed -n 's/.*receptive radius \([0-9]*\) px.*/\1/p')
check "model info: receptive radius, deeper is wider ($r2 < $r3)" '[ -n "$r2" ] && [ -n "$r3" ] && [ "$r2" -gt 0 ] && [ "$r2" -lt "$r3" ]'
one_line_error "a missing name names the file" "empty/fast.safetensors: no such model" -- \
  env UNBLUR_MODELS="$work/empty" "$u" "$work/small.png" -o "$work/x.png" --method net --model fast
one_line_error "a bad name" "model name '.hidden'" -- env UNBLUR_MODELS="$work/m1" "$u" model info .hidden
check "no output after a failure" '[ ! -e "$work/x.png" ]'
one_line_error "a path that is not there stays a path" "nothere/fast.safetensors" -- \
  env UNBLUR_MODELS="$work/m1" "$u" "$work/small.png" -o "$work/x.png" --model "$work/nothere/fast.safetensors"

# eval: model:NAME
mkdir -p "$work/pairs/blur" "$work/pairs/sharp"
cp "$work/small.png" "$work/pairs/blur/a.png"; cp "$work/small.png" "$work/pairs/sharp/a.png"
UNBLUR_MODELS=$work/m1 "$u" eval --set "pairs:$work/pairs" --method model:default -q > "$work/eval.md" 2>&1
check "eval --method model:default" 'grep -q "default" "$work/eval.md" && grep -q "| 1 |" "$work/eval.md"'

# an install into a prefix, then moved: share/unblur/models beside bin/unblur
build=$(dirname "$u")
if [ -f "$build/cmake_install.cmake" ]; then
  # install the program, then put a model where `cmake --install` puts the project's models
  cmake --install "$build" --prefix "$work/prefix" >/dev/null 2>&1
  check "install: bin/unblur" '[ -x "$work/prefix/bin/unblur" ]'
  mkdir -p "$work/prefix/share/unblur/models"
  cp "$work/m2/default.safetensors" "$work/prefix/share/unblur/models/default.safetensors"
  mv "$work/prefix" "$work/moved"
  env -u UNBLUR_MODELS "$work/moved/bin/unblur" "$work/small.png" -o "$work/installed.png" --method net -q
  "$u" "$work/small.png" -o "$work/by_path_m2.png" --model "$work/m2/default.safetensors" -q
  check "installed and moved: finds share/unblur/models/default" 'cmp -s "$work/installed.png" "$work/by_path_m2.png"'
else
  echo "skip install checks: $build has no cmake_install.cmake"
fi

# the build tree: models/ beside the build folder, when the project ships one
if [ -f "$src/models/default.safetensors" ] && [ "$(cd "$build/.." && pwd)" = "$(cd "$src" && pwd)" ]; then
  env -u UNBLUR_MODELS "$u" "$work/small.png" -o "$work/tree.png" --method net -q
  "$u" "$work/small.png" -o "$work/tree_ref.png" --model "$src/models/default.safetensors" -q
  check "build tree: no --model runs models/default.safetensors" 'cmp -s "$work/tree.png" "$work/tree_ref.png"'
else
  echo "skip build-tree check: no $src/models/default.safetensors, or the build folder is not in $src"
fi
finish cli_models
