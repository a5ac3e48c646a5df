#!/usr/bin/env bash
# `unblur synth` and `unblur kernels`: one image with every sidecar, a batch in GoPro layout
# that is byte-identical for 1 and 2 threads, kernels and their contact sheet, and errors
# (bad config keys, missing files, mismatched depth) as one line naming the file.
# usage: cli_synth.sh UNBLUR WORKDIR SOURCE_DIR
set -u
u=$1 work=$2 src=$3
rm -rf "$work"; mkdir -p "$work"
. "$(dirname "$0")/harness.sh"
ex=$src/examples

$u synth "$ex/scene.png" -o "$work/b.png" --preset realistic --seed 5 --index 2 --depth "$ex/scene_depth.png" \
   --mask "$ex/scene_mask.png" --sharp-out "$work/s.png" --params-out "$work/p.json" --kernel-out "$work/k.png" --quiet
check "synth one image" "[ -s '$work/b.png' ] && [ -s '$work/s.png' ] && [ -s '$work/p.json' ]"
check "params record the seed" "grep -q '\"seed\": 5' '$work/p.json'"
$u synth "$ex/scene.png" -o "$work/b2.png" --preset realistic --seed 5 --index 2 --depth "$ex/scene_depth.png" \
   --mask "$ex/scene_mask.png" --quiet --threads 1
check "same seed and index, one thread: same bytes" "cmp -s '$work/b.png' '$work/b2.png'"
$u synth "$ex/scene.png" -o "$work/b3.png" --preset realistic --seed 5 --index 3 --quiet
check "another index differs" "! cmp -s '$work/b.png' '$work/b3.png'"

mkdir -p "$work/in"
for i in 1 2 3 4 5; do $u convert "$ex/scene.png" "$work/in/img$i.png" --quiet; done
$u convert "$ex/scene.png" "$work/in/img6.jpg" --quality 90 --quiet
$u synth "$work/in" -o "$work/set1" --preset realistic --seed 9 --threads 1 --params --kernels --quiet
$u synth "$work/in" -o "$work/set2" --preset realistic --seed 9 --threads 2 --quiet
check "batch: GoPro layout, same names" "[ \$(ls '$work/set1/blur' | wc -l) -eq 6 ] && [ -f '$work/set1/sharp/img6.png' ] && [ -f '$work/set1/params/img3.json' ]"
same=1
for f in "$work"/set1/blur/*.png "$work"/set1/sharp/*.png; do cmp -s "$f" "${f/set1/set2}" || same=0; done
check "batch: byte-identical on 1 and 2 threads" "[ $same -eq 1 ]"
check "batch: kernels of the samples with camera blur" "[ \$(ls '$work/set1/kernels' | wc -l) -ge 1 ]"
check "batch: images differ from each other" "! cmp -s '$work/set1/blur/img1.png' '$work/set1/blur/img2.png'"

$u kernels --preset shake -n 12 -o "$work/k" --seed 3 --quiet
check "kernels: 12 PNGs and a contact sheet" "[ \$(ls '$work/k'/kernel_*.png | wc -l) -eq 12 ] && [ -s '$work/k/contact_sheet.png' ]"
$u info "$work/k/kernel_0000.png" --json > "$work/kinfo"
check "kernels are 16-bit grey" "grep -q '\"bit_depth\":16' '$work/kinfo' && grep -q '\"channels\":1' '$work/kinfo'"

printf '{"shake": {"p": 1, "lenght": 3}}' > "$work/bad.json"
one_line_error "config with an unknown key" "bad.json: shake.lenght: unknown key" -- $u synth "$ex/scene.png" -o "$work/x.png" --config "$work/bad.json"
printf '{"shake": {"p": 1,\n  "length": [40, 20]}}' > "$work/bad2.json"
one_line_error "config with min > max" "shake.length: min 40 > max 20" -- $u synth "$ex/scene.png" -o "$work/x.png" --config "$work/bad2.json"
printf '{"shake": {"p": 1,, }}' > "$work/bad3.json"
one_line_error "config that is not JSON" "bad3.json: line 1" -- $u synth "$ex/scene.png" -o "$work/x.png" --config "$work/bad3.json"
one_line_error "missing config" "nope.json" -- $u synth "$ex/scene.png" -o "$work/x.png" --config "$work/nope.json"
one_line_error "unknown preset" "unknown preset" -- $u synth "$ex/scene.png" -o "$work/x.png" --preset blurry
one_line_error "depth of another size" "depth map" -- $u synth "$ex/scene.png" -o "$work/x.png" --depth "$work/k/kernel_0000.png"
one_line_error "8-bit depth" "scene_mask.png" -- $u synth "$ex/scene.png" -o "$work/x.png" --depth "$ex/scene_mask.png"
check "failed runs left no output" "[ ! -e '$work/x.png' ]"

finish cli_synth
