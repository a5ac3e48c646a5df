#!/bin/bash
# bench/run_blind_levin.sh BUILD_DIR [KERNEL_SIZE] — blind deconvolution on Levin et al.'s 32 real
# captures (../shared/data/levin2009): per image the input's and the output's shift-tolerant PSNR
# (unblur metrics --shift 10, what the project reports), the wall-clock and CPU (user + system)
# seconds of `unblur --method blind` (on a shared machine the CPU time is the steadier figure),
# and the normalised correlation of the estimated kernel with the true one (max over shifts, both
# at unit L2 norm; the true kernel turned 180 degrees for kernels 1,2,3,5,6,7, see SOURCE.txt);
# then the means. KERNEL_SIZE: 0 (default) = the program's automatic size.
# Needs the targets unblur and ub_bench_kernel_corr:
#   cmake --build BUILD_DIR -j2 --target unblur ub_bench_kernel_corr
# Environment: THREADS (default 2), OUT (default a fresh temporary folder), LEVIN (the data).
set -euo pipefail
B=${1:?usage: run_blind_levin.sh BUILD_DIR [KERNEL_SIZE]}
KS=${2:-0}
HERE=$(cd "$(dirname "$0")" && pwd)
LEVIN=${LEVIN:-$HERE/../../shared/data/levin2009}
THREADS=${THREADS:-2}
OUT=${OUT:-$(mktemp -d)}
UNBLUR=$B/unblur
CORR=$B/bench/ub_bench_kernel_corr
[ -x "$UNBLUR" ] && [ -x "$CORR" ] || { echo "run_blind_levin.sh: build unblur and ub_bench_kernel_corr in $B" >&2; exit 1; }
[ -d "$LEVIN/blurred" ] || { echo "run_blind_levin.sh: no Levin data at $LEVIN" >&2; exit 1; }
psnr() { "$UNBLUR" metrics "$1" "$2" --shift 10 | awk '{print $2}'; }
printf "%-18s %8s %8s %7s %7s %6s\n" image input blind wall_s cpu_s kcorr
for i in 1 2 3 4; do
  for k in 1 2 3 4 5 6 7 8; do
    name=im${i}_kernel${k}
    in=$LEVIN/blurred/${name}_img.png
    /usr/bin/time -f "%e %U %S" -o "$OUT/$name.time" \
      "$UNBLUR" "$in" -o "$OUT/$name.png" --method blind --kernel-size "$KS" --kernel-out "$OUT/${name}_k.png" \
      --threads "$THREADS" --quiet
    read -r wall user sys < "$OUT/$name.time"
    rot=--rot180; [ $k = 4 ] || [ $k = 8 ] && rot=
    corr=$("$CORR" "$OUT/${name}_k.png" "$LEVIN/gt_kernels/kernel$k.png" $rot)
    printf "%-18s %8.2f %8.2f %7.2f %7.2f %6.3f\n" "$name" "$(psnr "$LEVIN/gt_sharp/im$i.png" "$in")" \
      "$(psnr "$LEVIN/gt_sharp/im$i.png" "$OUT/$name.png")" "$wall" "$(echo "$user + $sys" | bc)" "$corr"
  done
done | tee "$OUT/table.txt"
awk '{n++; a+=$2; b+=$3; s+=$4; u+=$5; c+=$6; if ($3 < $2) below++}
     END {printf "%-18s %8.2f %8.2f %7.2f %7.2f %6.3f   (%d images, %d below their input)\n", "mean", a/n, b/n, s/n, u/n, c/n,
          n, below}' \
  "$OUT/table.txt"
echo "outputs: $OUT"
