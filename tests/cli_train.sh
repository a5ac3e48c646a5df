#!/usr/bin/env bash
# `unblur train` end to end on a tiny RBNet (W 4, N 1, 32 px patches): the run folder; SIGTERM during a
# run stops it with a checkpoint and exit 0, and resuming to step S gives a checkpoint byte-identical
# to a run straight to S; a second signal exits at once (130) and leaves a checkpoint that resumes;
# --config with flags overriding; one-line errors: unknown config key, mismatched checkpoint, a
# diverging run (huge learning rate).
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

echo "cli_train: $((n - fails)) of $n passed"
[ $fails -eq 0 ] && rm -rf "$work"
[ $fails -eq 0 ]
