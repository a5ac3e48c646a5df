#!/usr/bin/env bash
# Data-parallel `unblur train` under mpirun (tiny RBNet: W 4, N 1, 32 px patches, global batch 4):
#   -np 2 gives the weights of -np 1 (and of a run without mpirun) within 1e-5 after 20 steps;
#   a --hostfile run equals the -np 2 run;
#   -np 2 stopped at step 10 and resumed to 20 equals -np 2 straight to 20, bit for bit;
#   SIGTERM to one rank (or to mpirun) stops every rank at the same step with a checkpoint that resumes;
#   a batch that does not split over the processes is an error on every rank.
# usage: cli_mpi.sh UNBLUR WORKDIR SOURCE_DIR MPIRUN   (exit 77: skipped)
set -u
u=$1 work=$2 src=$3 mpirun=${4:-mpirun}
command -v "$mpirun" >/dev/null || { echo "cli_mpi: skipped: no $mpirun"; exit 77; }
rm -rf "$work"; mkdir -p "$work/data"
. "$(dirname "$0")/harness.sh"
# --oversubscribe: more processes than cores (CI has 2); run as root in CI containers; the shared-memory
# transport without its ptrace-based single copy, which containers often forbid. Open MPI's own
# allocations are not freed at exit: LeakSanitizer would report them in the ASan build.
mpi=("$mpirun" --oversubscribe --allow-run-as-root --mca btl_vader_single_copy_mechanism none)
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
export OMPI_MCA_rmaps_base_oversubscribe=1

for i in 1 2 3; do $u convert "$src/examples/scene.png" "$work/data/img$i.png" --quiet; done
tiny=(--data "$work/data" --width 4 --blocks 1 --patch 32 --batch 4 --steps 20 --lr 1e-3 --warmup 2 --seed 3
      --threads 1 --workers 1 --quiet)

"${mpi[@]}" -np 1 $u train "${tiny[@]}" --run "$work/np1" 2>"$work/np1.err"
check "-np 1: run done" "[ -s '$work/np1/model.safetensors' ]"
"${mpi[@]}" -np 2 $u train "${tiny[@]}" --run "$work/np2" 2>"$work/np2.err"
check "-np 2: run done" "[ -s '$work/np2/model.safetensors' ] && [ \$(wc -l < '$work/np2/log.csv') -eq 21 ]"
$u train "${tiny[@]}" --run "$work/plain"
check "-np 1 equals a run without mpirun, bit for bit" \
  "cmp -s '$work/np1/checkpoint.safetensors' '$work/plain/checkpoint.safetensors'"
$u model diff "$work/np1/checkpoint.safetensors" "$work/np2/checkpoint.safetensors" --tolerance 1e-5 > "$work/diff.txt" 2>&1
check "-np 2 vs -np 1 after 20 steps: weights and Adam state within 1e-5 ($(head -1 "$work/diff.txt"))" "[ \$? -eq 0 ]"
$u model diff "$work/np1/model.safetensors" "$work/np2/model.safetensors" --tolerance 1e-5 > "$work/diff.txt" 2>&1
check "-np 2 vs -np 1: EMA model within 1e-5 ($(head -1 "$work/diff.txt"))" "[ \$? -eq 0 ]"
! $u model diff "$work/np1/model.safetensors" "$work/np2/model.safetensors" >/dev/null 2>&1
check "model diff notices the difference at tolerance 0" "[ \$? -eq 0 ]"

# a hostfile (the way to spread the ranks over machines; here both slots on this one): the same run
echo "localhost slots=2" > "$work/hosts"
"${mpi[@]}" --hostfile "$work/hosts" -np 2 $u train "${tiny[@]}" --run "$work/hf" 2>"$work/hf.err"
check "--hostfile, 2 slots: the -np 2 run, bit for bit" \
  "cmp -s '$work/hf/checkpoint.safetensors' '$work/np2/checkpoint.safetensors'"

# gradients summed in buckets started during the backward pass (the default, 1 MB: one bucket for this
# tiny net), in ~50 buckets of 100 floats, or in one sum after the pass: with two processes the same bits
# (a + b either way); with four, within 1e-5 of -np 1
"${mpi[@]}" -np 2 $u train "${tiny[@]}" --bucket-mb 0 --run "$work/b0" 2>"$work/b0.err"
"${mpi[@]}" -np 2 $u train "${tiny[@]}" --bucket-mb 0.0004 --run "$work/b100" 2>"$work/b100.err"
check "-np 2: buckets of 100 floats, one bucket, one sum after the pass: the same weights, bit for bit" \
  "$u model diff '$work/np2/checkpoint.safetensors' '$work/b0/checkpoint.safetensors' --tolerance 0 >/dev/null &&
   $u model diff '$work/b100/checkpoint.safetensors' '$work/b0/checkpoint.safetensors' --tolerance 0 >/dev/null"
"${mpi[@]}" -np 4 $u train "${tiny[@]}" --bucket-mb 0.0004 --run "$work/np4" 2>"$work/np4.err"
$u model diff "$work/np1/checkpoint.safetensors" "$work/np4/checkpoint.safetensors" --tolerance 1e-5 > "$work/diff.txt" 2>&1
check "-np 4, buckets of 100 floats, vs -np 1: within 1e-5 ($(head -1 "$work/diff.txt"))" "[ \$? -eq 0 ]"

# resume under mpirun: bit-identical to a straight run with the same number of processes
"${mpi[@]}" -np 2 $u train "${tiny[@]}" --run "$work/r" --stop-at 10
"${mpi[@]}" -np 2 $u train --resume "$work/r" --threads 1 --workers 1 --quiet
check "-np 2: stop at 10 + resume to 20 = straight to 20, bit for bit" \
  "cmp -s '$work/r/checkpoint.safetensors' '$work/np2/checkpoint.safetensors'"

# SIGTERM to ONE rank: through the next step's sum every rank stops at the same step; rank 0 writes the
# checkpoint; all exit 0, and so does mpirun
"${mpi[@]}" -np 2 $u train "${tiny[@]}" --steps 100000 --run "$work/s" --checkpoint-seconds 1000 2>"$work/s.err" &
pid=$!
for _ in $(seq 600); do [ -f "$work/s/log.csv" ] && [ "$(wc -l < "$work/s/log.csv")" -gt 20 ] && break; sleep 0.1; done
ranks=$(pgrep -P $pid -f "train" | tr '\n' ' ')
kill -TERM ${ranks%% *}; wait $pid; rc=$?
k=$(sed -n 's/.*stopped at step \([0-9]*\).*/\1/p' "$work/s.err" | head -1)
check "SIGTERM to one of 2 ranks ($ranks): mpirun exits 0, one 'stopped at step' line" \
  "[ $rc -eq 0 ] && [ \$(grep -c 'stopped at step' '$work/s.err') -eq 1 ]"
check "SIGTERM to one rank: the checkpoint (step $k) and the log agree" \
  "[ -n '$k' ] && tail -1 '$work/s/log.csv' | grep -q '^$k,'"
"${mpi[@]}" -np 2 $u train --resume "$work/s" --stop-at $((${k:-0} + 3)) --threads 1 --workers 1 --quiet
check "SIGTERM to one rank: the checkpoint resumes" "[ \$? -eq 0 ] && tail -1 '$work/s/log.csv' | grep -q '^$((${k:-0} + 3)),'"

# SIGTERM to mpirun: it sends SIGTERM to every rank (they checkpoint and exit 0) but itself exits 1
"${mpi[@]}" -np 2 $u train "${tiny[@]}" --steps 100000 --run "$work/m" --checkpoint-seconds 1000 2>"$work/m.err" &
pid=$!
for _ in $(seq 600); do [ -f "$work/m/log.csv" ] && [ "$(wc -l < "$work/m/log.csv")" -gt 20 ] && break; sleep 0.1; done
kill -TERM $pid; wait $pid
k=$(sed -n 's/.*stopped at step \([0-9]*\).*/\1/p' "$work/m.err" | head -1)
check "SIGTERM to mpirun: the ranks stop at step $k with a checkpoint" \
  "[ -n '$k' ] && [ \$(grep -c 'stopped at step' '$work/m.err') -eq 1 ] && tail -1 '$work/m/log.csv' | grep -q '^$k,'"

# a non-finite loss: every rank stops at the same step, rank 0 alone says so, nothing written
"${mpi[@]}" -np 2 $u train "${tiny[@]}" --run "$work/nan" --lr 1e6 --warmup 0 --clip 0 >/dev/null 2>"$work/nan.err"; rc=$?
check "a non-finite loss under mpirun: exit non-zero, one message, no checkpoint" \
  "[ $rc -ne 0 ] && [ \$(grep -c 'not finite' '$work/nan.err') -eq 1 ] && [ ! -e '$work/nan/checkpoint.safetensors' ]"

# processes given different setups (mpirun's MPMD form "A : B"; across machines: a config file or an
# image folder that differs) are refused before their first sum, naming what differs, instead of
# hanging or aborting in MPI. The images: the same relative path, resolved in two working folders.
differ() { # description want -- the second process's arguments...
  local what=$1 want=$2; shift 3
  timeout 300 "${mpi[@]}" -np 1 $u train "${tiny[@]}" --run "$work/differ" : -np 1 $u train "${tiny[@]}" "$@" \
    --run "$work/differ" >/dev/null 2>"$work/differ.err"; local rc=$?
  if [ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q "^unblur: training: process 1 of 2 was given $want" "$work/differ.err" &&
     [ ! -e "$work/differ" ]; then ok "$what"
  else bad "$what: exit $rc: $(grep '^unblur' "$work/differ.err" | head -3)"; fi
}
differ "a process given another width: refused, naming it" "width 8, process 0 4" -- --width 8
differ "a process given another --bucket-mb: refused (mismatched buckets would hang)" "bucket_mb 0.0, process 0 1.0" -- --bucket-mb 0
differ "a process given another synthesis: refused" 'synthesis "{\\"preset\\":\\"realistic\\"}"' -- --preset realistic
mkdir -p "$work/wa/imgs" "$work/wb/imgs"
cp "$work/data/img1.png" "$work/data/img2.png" "$work/wa/imgs/"
cp "$work/data/img1.png" "$work/wb/imgs/"
timeout 300 "${mpi[@]}" -np 1 -wdir "$work/wa" $u train "${tiny[@]}" --data imgs --run "$work/differ" : \
  -np 1 -wdir "$work/wb" $u train "${tiny[@]}" --data imgs --run "$work/differ" >/dev/null 2>"$work/differ.err"; rc=$?
check "other images at the same path (two working folders): refused, naming the images" \
  "[ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q '^unblur: training: process 1 of 2 was given images \"1 images' '$work/differ.err'" ||
  { echo "     exit $rc; stderr:"; sed 's/^/     | /' "$work/differ.err"; }

# a failure on one process only (its copy of an image is damaged): it names the file, the other says
# that process 1 failed, and both exit non-zero without writing a run folder
mkdir -p "$work/wc/imgs"
cp "$work/data/img1.png" "$work/wc/imgs/"
head -c 300 "$work/data/img2.png" > "$work/wc/imgs/img2.png"
timeout 300 "${mpi[@]}" -np 1 -wdir "$work/wa" $u train "${tiny[@]}" --data imgs --run "$work/onefails" : \
  -np 1 -wdir "$work/wc" $u train "${tiny[@]}" --data imgs --run "$work/onefails" >/dev/null 2>"$work/onefails.err"; rc=$?
check "one process fails (a damaged image of its own): it names the file, the other names process 1, no run folder" \
  "[ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q '^unblur: .*imgs/img2.png' '$work/onefails.err' &&
   grep -q '^unblur: training: process 1 of 2 failed' '$work/onefails.err' && [ ! -e '$work/onefails' ]" ||
  { echo "     exit $rc; stderr:"; sed 's/^/     | /' "$work/onefails.err"; }

# every rank refuses it (mpirun adds its own lines about the exit codes)
"${mpi[@]}" -np 3 $u train "${tiny[@]}" --run "$work/bad" >/dev/null 2>"$work/bad.err"; rc=$?
check "a batch that does not split over 3 processes: an error naming it, exit non-zero" \
  "[ $rc -ne 0 ] && grep -q '^unblur: training: a batch of 4 does not split evenly over 3 processes' '$work/bad.err' && [ ! -e '$work/bad' ]" ||
  { echo "     exit $rc; stderr:"; sed 's/^/     | /' "$work/bad.err"; }
finish cli_mpi
