#!/usr/bin/env bash
# `unblur eval`: a tiny paired set made from the bundled scene (the happy path, the table, JSON, CSV,
# saved outputs), a synthetic set scored the same on 1 and 2 threads, and errors as one line with
# exit status 1 (a file) or 2 (usage).
# usage: cli_eval.sh UNBLUR WORKDIR SOURCE_DIR
set -u
u=$1 work=$2 src=$3
rm -rf "$work"; mkdir -p "$work/pairs/blur" "$work/pairs/sharp" "$work/photos"
. "$(dirname "$0")/harness.sh"
ex=$src/examples

for i in 1 2; do
  $u synth "$ex/scene.png" -o "$work/pairs/blur/s$i.png" --sharp-out "$work/pairs/sharp/s$i.png" --preset shake \
     --seed $i --quiet
done
$u eval --set "pairs:$work/pairs" --method identity --json "$work/r.json" --csv "$work/r.csv" --save "$work/out/nested" \
   --quiet > "$work/table.md"
check "happy path: exit 0" "[ $? -eq 0 ]"
check "the table has a row per set and method" "grep -q '^| pairs:pairs | identity | 2 | ' '$work/table.md'"
check "JSON written" "grep -q '\"summary\"' '$work/r.json' && grep -q '\"image\": \"s2\"' '$work/r.json'"
check "CSV: a header and one row per image" "[ \$(wc -l < '$work/r.csv') -eq 3 ]"
check "outputs saved as SAVE/SET/METHOD/IMAGE.png, SAVE's missing parents made" \
  "[ -s '$work/out/nested/pairs_pairs/identity/s1.png' ]"
: > "$work/afile"
msg=$($u eval --set "pairs:$work/pairs:limit=1" --save "$work/afile/out" --quiet 2>&1 >/dev/null); rc=$?
check "--save under a file: one line naming it, exit 1" \
  "[ $rc -eq 1 ] && [ \$(printf '%s\n' \"$msg\" | wc -l) -eq 1 ] && printf '%s' \"$msg\" | grep -q 'afile'"

# the table's PSNR is unblur metrics' PSNR
$u eval --set "pairs:$work/pairs:limit=1" --quiet > "$work/one.md"
want=$($u metrics "$work/pairs/sharp/s1.png" "$work/pairs/blur/s1.png" | awk '{printf "%.2f", $2}')
check "identity's PSNR is unblur metrics' ($want dB)" "grep -q '| pairs:pairs | identity | 1 | $want |' '$work/one.md'"

# a synthetic set: the same scores on 1 and 2 threads (the seconds aside)
for i in 1 2 3; do $u convert "$ex/scene.png" "$work/photos/p$i.png" --quiet; done
$u eval --set "synth:$work/photos:preset=realistic:seed=4:crop=160" --csv "$work/t1.csv" --threads 1 --quiet > /dev/null
$u eval --set "synth:$work/photos:preset=realistic:seed=4:crop=160" --csv "$work/t2.csv" --threads 2 --quiet > /dev/null
check "synth: the same scores on 1 and 2 threads" "[ -s '$work/t1.csv' ] && diff <(cut -d, -f1-10 '$work/t1.csv') <(cut -d, -f1-10 '$work/t2.csv') > /dev/null"
$u eval --set "sharp:$work/photos" --set "synth:$work/photos:preset=shake:crop=128" --method wiener --quiet > "$work/na.md"
check "a method that needs a kernel is n/a on sets without one" "grep -q '| wiener | 3 | n/a' '$work/na.md'"

$u eval --help > /dev/null
check "help: exit 0" "[ $? -eq 0 ]"
rm "$work/pairs/sharp/s2.png"
one_line_error "unpaired file" "pairs/blur/s2.png: no matching sharp image" -- $u eval --set "pairs:$work/pairs"
$u eval --set "pairs:$work/pairs" 2>/dev/null; check "unpaired file: exit 1" "[ $? -eq 1 ]"
$u convert "$work/pairs/blur/s1.png" "$work/pairs/sharp/s2.png" --quiet
$u eval --set "synth:$work/pairs/sharp:preset=shake:crop=64" --quiet > /dev/null  # (a folder of sharp images)
mkdir -p "$work/mis/blur" "$work/mis/sharp"
$u convert "$ex/scene.png" "$work/mis/blur/m.png" --quiet
$u convert "$ex/scene_mask.png" "$work/mis/sharp/m.png" --quiet
one_line_error "size or channel mismatch" "mis/blur/m.png: " -- $u eval --set "pairs:$work/mis"
one_line_error "no --set" "no set" -- $u eval --method identity
$u eval 2>/dev/null; check "no --set: exit 2" "[ $? -eq 2 ]"
one_line_error "unknown set kind" "unknown kind" -- $u eval --set "blurry:$work/pairs"
$u eval --set "blurry:$work/pairs" 2>/dev/null; check "unknown set kind: exit 2" "[ $? -eq 2 ]"
one_line_error "unknown method" "method 'sharpen'" -- $u eval --set "pairs:$work/pairs" --method sharpen
$u eval --set "pairs:$work/pairs" --method sharpen 2>/dev/null; check "unknown method: exit 2" "[ $? -eq 2 ]"
one_line_error "missing model" "nope.safetensors" -- $u eval --set "pairs:$work/pairs" --method "model:$work/nope.safetensors"
$u eval --set "pairs:$work/pairs" --method "model:$work/nope.safetensors" 2>/dev/null
check "missing model: exit 1" "[ $? -eq 1 ]"
one_line_error "missing folder" "nowhere" -- $u eval --set "pairs:$work/nowhere"
one_line_error "unknown option" "unknown option" -- $u eval --set "pairs:$work/pairs" --frobnicate

finish cli_eval
