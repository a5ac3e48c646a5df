#!/usr/bin/env bash
# bench/run_bucket_bench.sh — data-parallel training: gradients summed in buckets during the backward
# pass (--bucket-mb B) against one sum after it (--bucket-mb 0), under `mpirun -np 2`, one thread per
# process, W32 N2, batch 8 of 128x128 (4 per process), synthesis off (so that the data costs little and
# the same in every row). Transports:
#   shm      Open MPI's shared memory (vader, with its single-copy mechanism): the one-machine case
#   tcp      TCP over the loopback interface
#   tcp RATE the same, the loopback shaped to RATE (e.g. 1gbit) with `tc ... tbf`: a cluster's network.
#            Needs root and the tbf qdisc; the shaping is removed on exit. Other traffic on lo is shaped
#            while it runs.
# Each configuration runs `rounds` times, alternating, so that the machine's load falls on all of them.
#
# usage: bench/run_bucket_bench.sh [BUILD_DIR] [STEPS] [ROUNDS] [RATE]
#   e.g. bash bench/run_bucket_bench.sh build 12 2 1gbit
# prints a markdown table (bench/TRAIN_RESULTS.md keeps the measured ones)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
steps=${2:-12}
rounds=${3:-2}
rate=${4:-}
shared=${UNBLUR_SHARED:-$root/../shared}
u=$build/unblur
data=$shared/data/bsds500/images
ids=$shared/data/bsds500/splits/cbsd432_all_minus_cbsd68_ids.txt
[ -x "$u" ] || { echo "run_bucket_bench: $u missing: bash scripts/build" >&2; exit 1; }
[ -d "$data" ] || { echo "run_bucket_bench: $data missing" >&2; exit 1; }
command -v mpirun > /dev/null || { echo "run_bucket_bench: no mpirun (scripts/install-deps)" >&2; exit 1; }
out=$(mktemp -d /tmp/unblur-bucket-bench.XXXXXX)
echo '{}' > "$out/off.json"
common=(--data "$data" --ids "$ids" --width 32 --blocks 2 --depth 2 --patch 128 --batch 8 --steps "$steps"
        --warmup 2 --checkpoint-seconds 100000 --val-every 100000 --log-every 100000
        --synth-config "$out/off.json" --threads 1)
mpi=(mpirun --oversubscribe --allow-run-as-root -np 2)

shaped=0
unshape() { [ $shaped -eq 1 ] && tc qdisc del dev lo root 2> /dev/null; shaped=0; }
trap unshape EXIT

# one run; prints "images/s step_s sum_s"
run() { # transport bucket_mb
    local net=()
    [ "$1" != shm ] && net=(--mca btl tcp,self --mca btl_tcp_if_include lo)
    "${mpi[@]}" "${net[@]}" "$u" train "${common[@]}" --bucket-mb "$2" --run "$out/r" > /dev/null 2> "$out/err" ||
        { cat "$out/err" >&2; exit 1; }
    sed -n 's/.*steps, \([0-9.]*\) s each (.*summing over processes: \([0-9.]*\) s), \([0-9.]*\) images\/s.*/\3 \1 \2/p' \
        "$out/err" | tail -1
}

buckets=(0 0.25 1 4)
transports=(shm tcp)
if [ -n "$rate" ]; then
    tc qdisc add dev lo root tbf rate "$rate" burst 512kb latency 50ms ||
        { echo "run_bucket_bench: cannot shape lo to $rate (root? tbf?)" >&2; exit 1; }
    shaped=1
    transports=("tcp $rate")
fi

declare -A ips step sum
for t in "${transports[@]}"; do
    for ((r = 0; r < rounds; r++)); do
        for b in "${buckets[@]}"; do
            read -r i s m < <(run "${t%% *}" "$b")
            ips[$t,$b]+="$i " step[$t,$b]+="$s " sum[$t,$b]+="$m "
        done
    done
done
unshape

mean() { echo "$1" | awk '{ s = 0; for (i = 1; i <= NF; i++) s += $i; printf "%.4f", s / NF }'; }
echo "| transport | --bucket-mb | images/s (each round) | step (mean) | in MPI per step (mean) | vs one sum after the pass |"
echo "|---|---|---|---|---|---|"
for t in "${transports[@]}"; do
    base=$(mean "${ips[$t,0]}")
    for b in "${buckets[@]}"; do
        m=$(mean "${ips[$t,$b]}")
        printf "| %s | %s | %s| %.3f s | %.3f s | **%.2fx** |\n" "$t" "$([ "$b" = 0 ] && echo "0 (one sum)" || echo "$b")" \
            "${ips[$t,$b]}" "$(mean "${step[$t,$b]}")" "$(mean "${sum[$t,$b]}")" "$(awk "BEGIN { print $m / $base }")"
    done
done
rm -rf "$out"
