#!/usr/bin/env bash
# bench/run_train_bench.sh — training throughput of `unblur train` against PyTorch, in ONE run.
#
#   bench/run_train_bench.sh [BUILD_DIR] [STEPS]
#
# RBNet W=32 N=2 D=2, batch 8 of 128x128 patches, 2 threads, one configuration per process (so each
# peak RSS is its own), measured one after the other:
#   PyTorch    ../shared/peers/torch_rbnet_bench.py: forward + L1 + backward + Adam on random tensors
#              (no data at all); median of 5 steps after 1
#   unblur     the whole `unblur train` on bsds500's CBSD432 images (no validation): every step crops,
#              flips and blurs its batch, then forward + L1 + 0.1 FFT loss + backward + clipping + AdamW
#              + EMA; STEPS steps (default 12), timed by the trainer itself (its last line):
#     - synthesis off: a synthesis config with every effect's probability 0 ("{}": crops and the
#       colour conversions only)
#     - synthesis on:  the realistic preset, made before each step (the default)
#     - synthesis on, --prefetch 1: the next batch made by a thread while the network runs
#     - synthesis on, mpirun -np 2 (1 thread each): data-parallel on the same 2 cores
# Peak RSS by /usr/bin/time (per process). Needs Debian's /usr/bin/python3 with python3-torch, and
# ../shared/data/bsds500. Machines are shared: run it when nothing else runs.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
steps=${2:-12}
shared=${UNBLUR_SHARED:-$root/../shared}
u=$build/unblur
out=$(mktemp -d /tmp/unblur-train-bench.XXXXXX)
data=$shared/data/bsds500/images
ids=$shared/data/bsds500/splits/cbsd432_all_minus_cbsd68_ids.txt
[ -x "$u" ] || { echo "run_train_bench: $u missing: bash scripts/build" >&2; exit 1; }
[ -d "$data" ] || { echo "run_train_bench: $data missing" >&2; exit 1; }
echo '{}' > "$out/off.json"
common=(--data "$data" --ids "$ids" --width 32 --blocks 2 --depth 2 --patch 128 --batch 8 --steps "$steps"
        --warmup 2 --checkpoint-seconds 100000 --val-every 100000 --log-every 100000)

# one `unblur train`; prints "images/s data_s_per_step step_s_per_step peak_rss_mib [sum_s_per_step]"
run_unblur() {
    local name=$1; shift
    "$@" > "$out/$name.out" 2> "$out/$name.err" || { cat "$out/$name.err" >&2; exit 1; }
    local line rss
    line=$(grep 'steps, .* s each' "$out/$name.err" | tail -1)
    rss=$(sed -n 's/^peak_rss_kib \([0-9]*\)$/\1/p' "$out/$name.err" | sort -n | tail -1)
    echo "$line" | sed -n "s/.*steps, \([0-9.]*\) s each (making the batch: \([0-9.]*\) s\(; summing over processes: \([0-9.]*\) s\)\{0,1\}), \([0-9.]*\) images\/s.*/\5 \2 \1 $((rss / 1024)) \4/p"
}
timed=(/usr/bin/time -f 'peak_rss_kib %M')

/usr/bin/python3 "$shared/peers/torch_rbnet_bench.py" --width 32 --blocks 2 --depth 2 --threads 2 --sizes '' \
    --train-batch 8 --train-crop 128 --iters 5 --warmup 1 --json "$out/torch.jsonl" > /dev/null
read -r t_ips t_rss t_ver < <(/usr/bin/python3 -c "import json; r = [json.loads(l) for l in open('$out/torch.jsonl')][-1]; print(r['images_per_s'], r['peak_rss_mib'], r['torch'])")

off=$(run_unblur off "${timed[@]}" "$u" train "${common[@]}" --synth-config "$out/off.json" --run "$out/off" --threads 2)
on=$(run_unblur on "${timed[@]}" "$u" train "${common[@]}" --preset realistic --run "$out/on" --threads 2)
pre=$(run_unblur prefetch "${timed[@]}" "$u" train "${common[@]}" --preset realistic --prefetch 1 --run "$out/pre" --threads 2)
mpi=""
if command -v mpirun > /dev/null; then
    mpi=$(run_unblur mpi mpirun --oversubscribe --allow-run-as-root --mca btl_vader_single_copy_mechanism none -np 2 \
          "${timed[@]}" "$u" train "${common[@]}" --preset realistic --run "$out/mpi" --threads 1)
fi

row() { # name "ips data step rss [sum]"
    read -r ips data step rss sum <<< "$2"
    printf "| %s | %.2f | **%.2fx** | %.3f s | %.3f s | %s | %d MiB |\n" "$1" "$ips" "$(awk "BEGIN { print $ips / $t_ips }")" \
        "$step" "$data" "${sum:+$sum s}" "$rss"
}
echo "| training, W32 N2, batch 8 of 128x128, 2 threads | images/s | vs PyTorch | per step | of which making the batch | of which summing over processes | peak RSS |"
echo "|---|---|---|---|---|---|---|"
printf "| PyTorch %s, random tensors (no data) | %.2f | 1x | %.3f s | - | - | %.0f MiB |\n" "$t_ver" "$t_ips" \
    "$(awk "BEGIN { print 8 / $t_ips }")" "$t_rss"
row "unblur train, synthesis off ({} config)" "$off"
row "unblur train, realistic synthesis" "$on"
row "unblur train, realistic, --prefetch 1" "$pre"
[ -n "$mpi" ] && row "unblur train, realistic, mpirun -np 2 x 1 thread (RSS per process)" "$mpi"
echo
echo "$steps steps per unblur run (timed by the trainer: all steps, the first included); files in $out"
