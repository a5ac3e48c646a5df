#!/usr/bin/env bash
# Runs one libFuzzer target, single process (one core), on a COPY of its seed corpus.
#
#   fuzz/run.sh fuzz_png|fuzz_jpeg|fuzz_safetensors|fuzz_config SECONDS [extra libFuzzer flags...]
#
# Environment: UB_FUZZ_BUILD  the fuzz build folder (default: build-fuzz)
#              UB_FUZZ_WORK   where the corpus copy, crash files and log go
#                             (default: $UB_FUZZ_BUILD/fuzz-work/TARGET)
# The seed corpus in fuzz/corpus/ is never modified. A crash, leak or timeout leaves
# its input as $UB_FUZZ_WORK/artifacts/{crash,leak,timeout,oom}-*; the log is
# $UB_FUZZ_WORK/fuzz.log and its last lines (the final statistics) are printed.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
usage() { echo "usage: fuzz/run.sh fuzz_png|fuzz_jpeg|fuzz_safetensors|fuzz_config SECONDS [libFuzzer flags...]" >&2; exit 2; }
[ $# -ge 2 ] || usage
target=$1 seconds=$2
shift 2
case "$target" in
  fuzz_png) kind=png ;;
  fuzz_jpeg) kind=jpeg ;;
  fuzz_safetensors) kind=safetensors ;;
  fuzz_config) kind=config ;;
  *) usage ;;
esac
[[ "$seconds" =~ ^[0-9]+$ ]] || usage
build="${UB_FUZZ_BUILD:-$root/build-fuzz}"
bin="$build/fuzz/$target"
[ -x "$bin" ] || { echo "run.sh: $bin not found; build it first (see fuzz/README.md)" >&2; exit 1; }
work="${UB_FUZZ_WORK:-$build/fuzz-work/$target}"
mkdir -p "$work/corpus" "$work/artifacts"
cp -n "$root/fuzz/corpus/$kind/"* "$work/corpus/"   # keeps what earlier runs found there

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
echo "run.sh: $bin, $seconds s, corpus $work/corpus ($(ls "$work/corpus" | wc -l) files), log $work/fuzz.log" >&2
status=0
"$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
       -dict="$root/fuzz/$kind.dict" -artifact_prefix="$work/artifacts/" "$@" \
       "$work/corpus" >"$work/fuzz.log" 2>&1 || status=$?
grep -E '^#[0-9]+[[:space:]]+(DONE|INITED)|^stat::|ERROR|SUMMARY|artifact' "$work/fuzz.log" | tail -n 20 || true
echo "run.sh: corpus now $(ls "$work/corpus" | wc -l) files; artifacts: $(ls "$work/artifacts" | wc -l); exit $status" >&2
exit $status
