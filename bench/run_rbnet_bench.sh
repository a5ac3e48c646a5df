#!/usr/bin/env bash
# bench/run_rbnet_bench.sh — RBNet on unblur's fast executor (oneDNN) against PyTorch, in ONE run.
#
#   bench/run_rbnet_bench.sh [BUILD_DIR] [OUT_DIR]
#
# Same model (W=32, N=2, depth 2, rbnet.py's defaults), same thread count (2), one configuration per
# process for both (so that peak RSS is that configuration's own), unblur and PyTorch alternating:
#   inference, batch 1, fp32: 256x256 and 720x1280 (median of 11 after 2 warm-up runs)
#   training step, batch 8 of 128x128 crops: forward + L1 loss + backward + Adam (median of 5 after 1)
#   the machine's fp32 peak: theoretical at the nominal clock, and a measured FMA loop
# and prints a Markdown table of the ratios (PyTorch / unblur for time, unblur / PyTorch for memory).
# The JSON lines are kept in OUT_DIR (default: a fresh temporary folder). Needs Debian's
# /usr/bin/python3 with python3-torch (see ../shared/peers/README.md). Machines are shared: run it
# when nothing else runs; "cpu_per_wall" (about 2 when both cores were ours) shows when that failed.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
out=${2:-$(mktemp -d /tmp/unblur-rbnet-bench.XXXXXX)}
bench=$build/bench/ub_bench_rbnet
peers=${UNBLUR_SHARED:-$root/../shared}/peers
threads=2
model=(--width 32 --blocks 2 --depth 2)

[ -x "$bench" ] || { echo "run_rbnet_bench: $bench missing: cmake --build $build --target ub_bench_rbnet" >&2; exit 1; }
[ -f "$peers/torch_rbnet_bench.py" ] || { echo "run_rbnet_bench: $peers/torch_rbnet_bench.py missing" >&2; exit 1; }
mkdir -p "$out"
rm -f "$out/unblur.jsonl" "$out/torch.jsonl"

"$bench" --peak --threads "$threads" >> "$out/unblur.jsonl"
for size in 256x256 720x1280; do
    "$bench" --size "$size" "${model[@]}" --threads "$threads" --iters 11 --warmup 2 >> "$out/unblur.jsonl"
    /usr/bin/python3 "$peers/torch_rbnet_bench.py" "${model[@]}" --threads "$threads" --sizes "$size" --dtypes fp32 \
        --train-crop '' --iters 11 --warmup 2 --json "$out/torch.jsonl" >/dev/null
done
"$bench" --train --batch 8 --crop 128 "${model[@]}" --threads "$threads" --iters 5 --warmup 1 >> "$out/unblur.jsonl"
/usr/bin/python3 "$peers/torch_rbnet_bench.py" "${model[@]}" --threads "$threads" --sizes '' --train-batch 8 \
    --train-crop 128 --iters 5 --warmup 1 --json "$out/torch.jsonl" >/dev/null
"$bench" --peak --threads "$threads" >> "$out/unblur.jsonl"

/usr/bin/python3 - "$out" <<'EOF'
import json, sys
out = sys.argv[1]
ours = [json.loads(l) for l in open(out + "/unblur.jsonl")]
torch = [json.loads(l) for l in open(out + "/torch.jsonl")]
peaks = [r for r in ours if r["mode"] == "peak"]
theory = peaks[0]["theoretical_gflops"]
fma = max(r["measured_fma_gflops"] for r in peaks)
def find(rows, mode, h, w):
    return next(r for r in rows if r["mode"] == mode and r["h"] == h and r["w"] == w)
print("| run | unblur | PyTorch %s | ratio |" % torch[0]["torch"])
print("|---|---|---|---|")
for h, w in ((256, 256), (720, 1280)):
    u, t = find(ours, "infer", h, w), find(torch, "infer", h, w)
    print("| inference %dx%d, median (min) | %.1f ms (%.1f) | %.1f ms (%.1f) | **%.2fx** faster |"
          % (h, w, u["ms"], u["ms_min"], t["ms"], t["ms_min"], t["ms"] / u["ms"]))
    print("| inference %dx%d, GFLOP/s | %.0f = %.0f%% of measured FMA peak, %.0f%% of nominal | %.0f = %.0f%% / %.0f%% | |"
          % (h, w, u["gflops"], 100 * u["gflops"] / fma, 100 * u["gflops"] / theory, t["gflops"],
             100 * t["gflops"] / fma, 100 * t["gflops"] / theory))
    print("| inference %dx%d, peak RSS | %.0f MiB | %.0f MiB | **%.2fx** the memory |"
          % (h, w, u["peak_rss_mib"], t["peak_rss_mib"], u["peak_rss_mib"] / t["peak_rss_mib"]))
    print("| inference %dx%d, cpu/wall | %.2f | %.2f | |" % (h, w, u["cpu_per_wall"], t["cpu_per_wall"]))
u, t = find(ours, "train", 128, 128), find(torch, "train", 128, 128)
print("| training step, batch 8 of 128x128, median (min) | %.0f ms (%.0f) = %.2f images/s | %.0f ms (%.0f) = %.2f images/s | **%.2fx** the throughput |"
      % (u["step_ms"], u["step_ms_min"], u["images_per_s"], t["step_ms"], t["step_ms_min"], t["images_per_s"],
         u["images_per_s"] / t["images_per_s"]))
print("| training step, peak RSS | %.0f MiB | %.0f MiB | %.2fx |" % (u["peak_rss_mib"], t["peak_rss_mib"],
      u["peak_rss_mib"] / t["peak_rss_mib"]))
print("| training step, cpu/wall | %.2f | %.2f | |" % (u["cpu_per_wall"], t["cpu_per_wall"]))
print()
print("fp32 peak, %d threads: %.0f GFLOP/s theoretical at the nominal %.2f GHz (%s, 2 FMA units), "
      "FMA loop measured %.0f GFLOP/s (%.2f GHz)." % (peaks[0]["threads"], theory, peaks[0]["nominal_ghz"],
      peaks[0]["isa"], fma, max(r["measured_fma_ghz"] for r in peaks)))
print("unblur: layout %s for inference (%s), %s for training (%s)." % (find(ours, "infer", 256, 256)["layout"],
      find(ours, "infer", 256, 256)["onednn_impls"], u["layout"], u["onednn_impls"]))
print("JSON lines: %s/unblur.jsonl, %s/torch.jsonl" % (out, out))
EOF
