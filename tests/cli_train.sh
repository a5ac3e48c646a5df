#!/usr/bin/env bash
# `unblur train` end to end on a tiny RBNet (W 4, N 1, 32 px patches): the run folder; SIGTERM during a
# run stops it with a checkpoint and exit 0, and resuming to step S gives a checkpoint byte-identical
# to a run straight to S; a second signal exits at once (130) and leaves a checkpoint that resumes;
# --config with flags overriding; one-line errors: unknown config key, mismatched checkpoint, a
# diverging run (huge learning rate); --val-set (benchmark sets in log.csv and the curve) and --init-from;
# --precision (bf16 mixed precision or its fp32 fallback, saved, kept on resume).
# usage: cli_train.sh UNBLUR WORKDIR SOURCE_DIR
set -u
u=$1 work=$2 src=$3
rm -rf "$work"; mkdir -p "$work/data"
. "$(dirname "$0")/harness.sh"
# waits (at most ~60 s) until FILE has more than N lines
wait_lines() { for _ in $(seq 600); do [ -f "$1" ] && [ "$(wc -l < "$1")" -gt "$2" ] && return 0; sleep 0.1; done; return 1; }

for i in 1 2 3; do $u convert "$src/examples/scene.png" "$work/data/img$i.png" --quiet; done
tiny=(--data "$work/data" --width 4 --blocks 1 --patch 32 --batch 2 --steps 100000 --threads 1 --workers 1 --quiet)

# a run stopped by SIGTERM, resumed to step S, equals a run straight to S
$u train "${tiny[@]}" --run "$work/a" 2>"$work/a.err" & pid=$!
wait_lines "$work/a/log.csv" 20
kill -TERM $pid; wait $pid; rc=$?
check "SIGTERM: exit 0 with a message" "[ $rc -eq 0 ] && grep -q 'stopped at step' '$work/a.err'"
k=$(sed -n 's/.*stopped at step \([0-9]*\).*/\1/p' "$work/a.err")
check "SIGTERM: files written" "[ -s '$work/a/checkpoint.safetensors' ] && [ -s '$work/a/model.safetensors' ] && [ -s '$work/a/config.json' ]"
s=$(( ${k:-0} + 10 ))
$u train --resume "$work/a" --stop-at $s --threads 1 --quiet
$u train "${tiny[@]}" --run "$work/b" --stop-at $s
check "resume after SIGTERM: checkpoint identical to a straight run (step $s)" \
  "cmp -s '$work/a/checkpoint.safetensors' '$work/b/checkpoint.safetensors'"
check "resume after SIGTERM: model identical" "cmp -s '$work/a/model.safetensors' '$work/b/model.safetensors'"
check "log.csv: one row per step" "[ \$(wc -l < '$work/a/log.csv') -eq $((s + 1)) ]"
check "model.safetensors loads" "$u model info '$work/a/model.safetensors' | grep -q 'width 4'"

# two signals: out at once, the (atomically written) checkpoint still resumes
$u train "${tiny[@]}" --run "$work/c" --checkpoint-seconds 0 2>"$work/c.err" & pid=$!
wait_lines "$work/c/log.csv" 20
kill -TERM $pid; kill -TERM $pid; wait $pid; rc=$?
check "second signal: exit 130 (or 0 if the first one finished)" "[ $rc -eq 130 ] || [ $rc -eq 0 ]"
$u train --resume "$work/c" --stop-at 40 --threads 1 --quiet
check "second signal: the checkpoint resumes" "[ \$? -eq 0 ]"

# --config, flags overriding
printf '{"data": "%s", "width": 4, "blocks": 1, "patch": 32, "batch": 2, "steps": 5, "run": "%s"}\n' \
  "$work/data" "$work/d" > "$work/t.json"
$u train --config "$work/t.json" --steps 3 --threads 1 --quiet
check "--config: run done, flag overrides" "[ -s '$work/d/model.safetensors' ] && grep -q '\"steps\": 3' '$work/d/config.json'"

printf '{"data": "x", "widht": 4}\n' > "$work/bad.json"
one_line_error "config: unknown key named" "unknown key 'widht'" -- $u train --config "$work/bad.json"
one_line_error "resume: another width refused" "width is 4 in the checkpoint, 8 in this run" -- \
  $u train --resume "$work/d" --width 8 --threads 1
one_line_error "huge learning rate: stopped, last checkpoint kept" "not finite.*last good checkpoint" -- \
  $u train "${tiny[@]}" --run "$work/e" --steps 30 --lr 1e6 --warmup 0 --clip 0 --checkpoint-seconds 0
one_line_error "huge learning rate before any checkpoint: says so" "not finite.*no checkpoint had been written yet" -- \
  $u train "${tiny[@]}" --run "$work/f" --steps 30 --lr 1e6 --warmup 0 --clip 0 --checkpoint-seconds 1000
check "... and writes none" "[ ! -e '$work/f/checkpoint.safetensors' ] && [ ! -e '$work/f/model.safetensors' ]"

# --val-set: benchmark sets (eval's specs) scored on the EMA weights at each validation, into log.csv's
# own columns and the curve; a set that does not open is refused before the run starts
mkdir -p "$work/vsrc"
for i in 1 2; do $u convert "$src/examples/scene.png" "$work/vsrc/v$i.png" --quiet; done
$u synth "$work/vsrc" -o "$work/pairs" --threads 1 --quiet
$u train "${tiny[@]}" --run "$work/g" --steps 30 --stop-at 20 --val-every 10 --val-set "pairs:$work/pairs:crop=64" \
  --val-set "synth:$work/vsrc:crop=64"
check "--val-set: log.csv gains each set's columns" \
  "head -1 '$work/g/log.csv' | grep -q 'real_input_ssim,pairs_pairs_psnr,pairs_pairs_input_psnr,synth_vsrc_realistic_psnr,synth_vsrc_realistic_input_psnr\$'"
# the rows of steps 10 and 20: four finite numbers in columns 13..16; other rows empty there
finite_sets() { awk -F, -v s="$2" '$1 == s { ok = NF == 16; for (i = 13; i <= 16; i++) ok = ok && $i ~ /^[0-9]+\.[0-9]+$/ && $i > 5 && $i < 100; found = 1 }
  END { exit !(found && ok) }' "$1"; }
check "--val-set: finite PSNRs at steps 10 and 20" "finite_sets '$work/g/log.csv' 10 && finite_sets '$work/g/log.csv' 20"
check "--val-set: nothing between validations" "awk -F, '\$1 == 11 { exit !(\$13 == \"\" && \$16 == \"\") }' '$work/g/log.csv'"
check "--val-set: config.json's val_sets" "grep -q '\"val_sets\": \"pairs:$work/pairs:crop=64,synth:$work/vsrc:crop=64\"' '$work/g/config.json'"
check "--val-set: the curve draws the sets" "grep -q 'pairs_pairs PSNR' '$work/g/curve.svg' && grep -q 'synth_vsrc_realistic PSNR' '$work/g/curve.svg'"
# the PSNR axis spans the logged values only (an empty last column once read the next row's step)
check "--val-set: the curve's PSNR axis tops below 60 dB" \
  "grep -o 'fill=\"#c00\">[0-9.]*<' '$work/g/curve.svg' | sed 's/.*>//; s/<//' | awk '\$1 > 60 { bad = 1 } END { exit bad || NR != 2 }'"
$u train --resume "$work/g" --threads 1 --quiet
check "--val-set: a resumed run keeps the sets (same header, step 30 scored)" \
  "[ \$(grep -c '^step,' '$work/g/log.csv') -eq 1 ] && finite_sets '$work/g/log.csv' 30"
one_line_error "--val-set: a missing set refused, named" "val_sets: .*$work/nope" -- \
  $u train "${tiny[@]}" --run "$work/h" --val-set "pairs:$work/nope"
one_line_error "--val-set: an unknown name refused, named" "nosuch:crop=64" -- \
  $u train "${tiny[@]}" --run "$work/h" --val-set "pairs:$work/pairs:crop=64,nosuch:crop=64"
check "... before the run starts" "[ ! -e '$work/h' ]"
# names resolve under --data-root (here a pair set posing as reds_dev)
mkdir -p "$work/root"; cp -r "$work/pairs" "$work/root/reds_dev"
$u train "${tiny[@]}" --run "$work/m" --steps 10 --val-every 10 --data-root "$work/root" --val-set reds_dev:crop=64
check "--data-root: an alias resolves under it" \
  "head -1 '$work/m/log.csv' | grep -q ',reds_dev_psnr,reds_dev_input_psnr\$' && awk -F, '\$1 == 10 { exit !(\$13 > 5) }' '$work/m/log.csv'"

# --init-from: a fresh run from a model's weights (EMA too; new optimiser state and schedule)
cp "$work/g/model.safetensors" "$work/init.safetensors"
cp "$work/g/model.safetensors" "$work/init2.safetensors"
zero_lr=(--lr 1e-30 --min-lr 0 --stop-at 1)
$u train "${tiny[@]}" --run "$work/i" --init-from "$work/init.safetensors" "${zero_lr[@]}"
check "--init-from: step 1 at lr 1e-30 keeps the model's weights" \
  "$u model diff '$work/init.safetensors' '$work/i/model.safetensors' --tolerance 1e-6 --quiet >/dev/null"
$u train "${tiny[@]}" --run "$work/i0" "${zero_lr[@]}"
check "... which a run from the seed does not" \
  "! $u model diff '$work/init.safetensors' '$work/i0/model.safetensors' --tolerance 1e-6 --quiet >/dev/null 2>&1"
check "--init-from: config.json's init_from" "grep -q '\"init_from\": \"$work/init.safetensors\"' '$work/i/config.json'"
$u train "${tiny[@]}" --run "$work/j" --init-from "$work/init.safetensors" --stop-at 5
rm "$work/init.safetensors"
$u train --resume "$work/j" --stop-at 10 --threads 1 --quiet
check "--init-from: resuming does not re-read the model (gone)" "[ \$? -eq 0 ]"
$u train "${tiny[@]}" --run "$work/k" --init-from "$work/init2.safetensors" --stop-at 10
check "--init-from: resumed run identical to a straight one (not re-applied)" \
  "cmp -s '$work/j/checkpoint.safetensors' '$work/k/checkpoint.safetensors'"
$u model init -o "$work/w8.safetensors" --width 8 --blocks 1 --quiet
$u model init -o "$work/naf.safetensors" --width 4 --blocks 1 --block naf --quiet
one_line_error "--init-from: another width refused, named" "width is 8 in the model, 4 in this run" -- \
  $u train "${tiny[@]}" --run "$work/l" --init-from "$work/w8.safetensors"
one_line_error "--init-from: another block refused, named" "block is naf in the model, res in this run" -- \
  $u train "${tiny[@]}" --run "$work/l" --init-from "$work/naf.safetensors"
check "... before the run starts" "[ ! -e '$work/l' ]"
# --init-from a net with fewer bottleneck blocks: grown, the new blocks start as the identity, so the
# grown net's output equals the file's (step 1 at lr 1e-30); fewer blocks than the file's are refused
$u train "${tiny[@]:0:${#tiny[@]}-1}" --run "$work/gr" --init-from "$work/init2.safetensors" --mid-blocks 3 \
  "${zero_lr[@]}" 2>"$work/gr.err"
check "--init-from, more --mid-blocks: says it grew the net" "grep -q 'grown: .* the new bottleneck blocks' '$work/gr.err'"
check "--init-from, more --mid-blocks: grown, metadata mid_blocks 3" \
  "$u model info '$work/gr/model.safetensors' | grep -q 'mid_blocks 3'"
$u "$src/examples/scene.png" -o "$work/gr_small.png" --model "$work/init2.safetensors" --quiet
$u "$src/examples/scene.png" -o "$work/gr_grown.png" --model "$work/gr/model.safetensors" --quiet
check "--init-from, grown: the same output as the file's net" \
  "$u metrics '$work/gr_small.png' '$work/gr_grown.png' | grep -Eq 'PSNR (inf|[1-9][0-9][0-9]|[6-9][0-9])'"
$u train "${tiny[@]}" --run "$work/gr_seed" --mid-blocks 3 "${zero_lr[@]}"
$u "$src/examples/scene.png" -o "$work/gr_seed.png" --model "$work/gr_seed/model.safetensors" --quiet
check "... which a net of the same shape from the seed does not give" \
  "! $u metrics '$work/gr_small.png' '$work/gr_seed.png' | grep -Eq 'PSNR (inf|[1-9][0-9][0-9]|[6-9][0-9])'"
one_line_error "--init-from: fewer mid_blocks than the file's refused, named" "mid_blocks is 3 in the model, 1 in this run" -- \
  $u train "${tiny[@]}" --run "$work/gs" --init-from "$work/gr/model.safetensors"

# --precision: bf16 mixed precision where the CPU has AVX512-BF16 or AMX (else fp32 with a notice; auto
# silently); saved in config.json; a resume keeps it and refuses a change
w16=(--data "$work/data" --width 16 --blocks 1 --patch 32 --batch 2 --steps 100000 --threads 1 --workers 1)
$u train "${w16[@]}" --run "$work/p" --precision bf16 --stop-at 3 2>"$work/p.err"
check "--precision bf16: run done, saved in config.json" \
  "[ -s '$work/p/checkpoint.safetensors' ] && grep -q '\"precision\": \"bf16\"' '$work/p/config.json'"
$u train "${w16[@]}" --run "$work/pq" --precision bf16 --stop-at 1 --quiet 2>"$work/pq.err"
if grep -qE 'avx512_bf16|amx_bf16' /proc/cpuinfo; then
  check "--precision bf16: says mixed precision (native bf16 here)" "grep -q 'mixed precision' '$work/p.err'"
  check "--precision bf16 --quiet: no false claim of fp32 (native bf16 here)" "! grep -q 'training in fp32' '$work/pq.err'"
else
  check "--precision bf16: one-line notice, fp32 (no native bf16 here)" \
    "[ \$(grep -c 'training in fp32' '$work/p.err') -eq 1 ]"
  check "--precision bf16 --quiet: the notice still (no native bf16 here)" \
    "[ \$(grep -c 'training in fp32' '$work/pq.err') -eq 1 ]"
fi
$u train --resume "$work/p" --stop-at 6 --threads 1 --quiet
check "--precision bf16: resume continues" "[ \$? -eq 0 ] && [ \$(wc -l < '$work/p/log.csv') -eq 7 ]"
one_line_error "--precision: a resume that changes it refused, named" "precision is bf16 in the checkpoint, fp32 in this run" -- \
  $u train --resume "$work/p" --precision fp32 --threads 1
one_line_error "--precision: a bad value refused" "bad precision (fp32, bf16 or auto)" -- \
  $u train "${w16[@]}" --run "$work/q" --precision fp16
$u train "${w16[@]}" --run "$work/r" --precision auto --stop-at 2 2>"$work/r.err"
check "--precision auto: no notice" "[ \$? -eq 0 ] && ! grep -q 'training in fp32' '$work/r.err'"

echo "cli_train: $((n - fails)) of $n passed"
[ $fails -eq 0 ] && rm -rf "$work"
[ $fails -eq 0 ]
