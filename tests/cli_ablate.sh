#!/usr/bin/env bash
# scripts/ablate end to end on tiny variants: two presets trained for the same steps, evaluated by
# `unblur eval` on a tiny paired set and a sharp set, one table; interrupted (SIGINT) and run again it
# resumes and finishes (SIGTERM: a background job of a script ignores SIGINT); a CPU-seconds budget calibrates the steps per variant; bad configs are refused.
# usage: cli_ablate.sh UNBLUR WORKDIR SOURCE_DIR
set -u
u=$1 work=$2 src=$3
rm -rf "$work"; mkdir -p "$work/data"
. "$(dirname "$0")/harness.sh"
command -v /usr/bin/python3 >/dev/null || { echo "cli_ablate: skipped: no /usr/bin/python3"; exit 77; }
ablate() { /usr/bin/python3 "$src/scripts/ablate" "$@" --unblur "$u"; }

for i in 1 2 3; do $u convert "$src/examples/scene.png" "$work/data/img$i.png" --quiet; done
$u synth "$work/data" -o "$work/pairs" --preset shake --seed 1 --quiet
config() { # NAME BUDGET
  cat > "$work/$1.json" <<J
{"name": "$1", "threads": 1,
 "train": {"data": "$work/data", "width": 4, "blocks": 1, "patch": 32, "batch": 2, "workers": 1, "val_every": 100000},
 "variants": {"gaussian": {"preset": "gaussian"}, "shake": {"preset": "shake"}},
 "budget": $2,
 "eval": {"sets": ["pairs:$work/pairs:crop=64", "sharp:$work/data:crop=64"]}}
J
}

# interrupted during the first variant's training, then resumed to the end
config steps '{"steps": 1500}'
# (python itself in the background, not the function's subshell: $! must be the script's pid)
/usr/bin/python3 "$src/scripts/ablate" "$work/steps.json" --out "$work/a" --unblur "$u" >"$work/a.out" 2>"$work/a.err" & pid=$!
# (log.csv is written in blocks: the run folder's config.json says the training has begun; 1500 steps take ~8 s, ~75 s under ASan)
for _ in $(seq 600); do [ -f "$work/a/gaussian/run/config.json" ] && break; sleep 0.1; done
sleep 1
kill -TERM $pid; wait $pid; rc=$?
check "SIGTERM: exit 130, says how to resume" "[ $rc -eq 130 ] && grep -q 'run the same command again' '$work/a.err'"
check "SIGTERM: the run checkpointed" "[ -s '$work/a/gaussian/run/checkpoint.safetensors' ]"
check "SIGTERM: nothing left running" "! pgrep -f '$work/a/gaussian/run' >/dev/null"
ablate "$work/steps.json" --out "$work/a" >"$work/a.out" 2>"$work/a.err"
check "resumed: exit 0" "[ $? -eq 0 ]"
check "resumed: both variants trained their 1500 steps" \
  "[ \$(tail -1 '$work/a/gaussian/run/log.csv' | cut -d, -f1) = 1500 ] && [ \$(tail -1 '$work/a/shake/run/log.csv' | cut -d, -f1) = 1500 ]"
check "table: a row per variant, a column per set" \
  "grep -q '^| gaussian | ' '$work/a/results.md' && grep -q '^| shake | ' '$work/a/results.md' && grep -q 'pairs:pairs' '$work/a/results.md' && grep -q 'sharp:data' '$work/a/results.md'"
check "results.json: both variants with the evaluation's summary" \
  "/usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert [v[\"variant\"] for v in r[\"variants\"]]==[\"gaussian\",\"shake\"]; assert all(v[\"summary\"] for v in r[\"variants\"])' '$work/a/results.json'"
check "a finished ablation run again: the same table, nothing retrained" \
  "cp '$work/a/results.md' '$work/first.md' && ablate '$work/steps.json' --out '$work/a' >/dev/null 2>&1 && cmp -s '$work/first.md' '$work/a/results.md'"

# a CPU-seconds budget: steps calibrated per variant, CPU time within the cap
config cpu '{"cpu_seconds": 2, "calibration_steps": 10}'
ablate "$work/cpu.json" --out "$work/c" >/dev/null 2>"$work/c.err"
check "CPU budget: exit 0" "[ $? -eq 0 ]"
check "CPU budget: steps from the calibration, CPU time within 1.1x the budget (+ a poll of 0.5 s)" \
  "/usr/bin/python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); assert all(v[\"steps\"] > 10 and 0 < v[\"cpu_seconds\"] <= 2.2 + 0.6 for v in s.values()), s' '$work/c/state.json'"

# bad configs
echo '{"variants": {}}' > "$work/bad.json"
ablate "$work/bad.json" --out "$work/b" >/dev/null 2>"$work/b.err"
check "no budget: refused, naming the file and key" "[ $? -ne 0 ] && grep -q 'bad.json: no \"budget\"' '$work/b.err'"
echo '{"variants": {}, "budget": {"steps": 1, "cpu_seconds": 1}}' > "$work/bad.json"
ablate "$work/bad.json" --out "$work/b" >/dev/null 2>"$work/b.err"
check "two budgets: refused" "[ $? -ne 0 ] && grep -q 'give \"steps\" or \"cpu_seconds\"' '$work/b.err'"
printf '{"variants": ' > "$work/bad.json"
ablate "$work/bad.json" --out "$work/b" >/dev/null 2>"$work/b.err"
check "broken JSON: refused with the file named" "[ $? -ne 0 ] && grep -q 'bad.json' '$work/b.err'"
finish cli_ablate
