#!/usr/bin/env bash
# bench/run_bf16_bench.sh — RBNet inference in bf16 against fp32 on unblur's fast executor, in ONE run.
#
#   bench/run_bf16_bench.sh [BUILD_DIR] [OUT_DIR]
#
# Needs a CPU with native bf16 (AVX512-BF16 or AMX): elsewhere ub_bench_rbnet --precision bf16 refuses.
#   1. speed and memory: RBNet W=32 N=2 D=2 (rbnet.py's defaults), random weights and input, batch 1, at
#      256x256 and 720x1280, fp32 and bf16 alternating, one configuration per process (its own peak RSS),
#      on $THREADS threads (default 2; THREADS=1 for one core); median of 11 after 2 warm-up runs;
#      PyTorch's fp32 and bf16 (torch.autocast around the forward) at both sizes, median of 3 after 1
#      warm-up (its bf16 was reported 8-19x slower than its fp32 elsewhere: fewer runs keep that short);
#   2. accuracy: PSNR of the bf16 output against the fp32 output (both clipped to [0, 1], as ub_model_run
#      clips) on examples/scene.png, (a) random W=32 N=2 weights (`unblur model init --seed 1`) and
#      (b) the trained docs/train/bsds500_w16_realistic/model.safetensors: on the float outputs
#      (ub_bench_rbnet --compare), and through the command line (`unblur IN -o OUT --precision fp32|bf16`,
#      8-bit PNGs, `unblur metrics`).
# Prints a Markdown table; the JSON lines stay in OUT_DIR (default: a fresh temporary folder). PyTorch
# needs Debian's /usr/bin/python3 with python3-torch (skipped when absent). Machines are shared: run it
# when nothing else runs ("cpu_per_wall" near THREADS shows that it did).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
out=${2:-$(mktemp -d /tmp/unblur-bf16-bench.XXXXXX)}
bench=$build/bench/ub_bench_rbnet
unblur=$build/unblur
peers=${UNBLUR_SHARED:-$root/../shared}/peers
threads=${THREADS:-2}
model=(--width 32 --blocks 2 --depth 2)
image=$root/examples/scene.png
trained=$root/docs/train/bsds500_w16_realistic/model.safetensors

[ -x "$bench" ] && [ -x "$unblur" ] || { echo "run_bf16_bench: build $build first (targets ub_bench_rbnet, unblur)" >&2; exit 1; }
mkdir -p "$out"
rm -f "$out/unblur.jsonl" "$out/torch.jsonl" "$out/accuracy.jsonl" "$out/cli.txt"

# 1. speed and memory
for size in 256x256 720x1280; do
    for precision in fp32 bf16; do
        "$bench" --size "$size" "${model[@]}" --threads "$threads" --iters 11 --warmup 2 --precision "$precision" \
            >> "$out/unblur.jsonl"
    done
done
if [ -f "$peers/torch_rbnet_bench.py" ] && /usr/bin/python3 -c 'import torch' 2>/dev/null; then
    for size in 256x256 720x1280; do
        /usr/bin/python3 "$peers/torch_rbnet_bench.py" "${model[@]}" --threads "$threads" --sizes "$size" \
            --dtypes fp32,bf16 --train-crop '' --iters 3 --warmup 1 --json "$out/torch.jsonl" >/dev/null
    done
fi

# 2. accuracy
"$unblur" model init -o "$out/random_w32n2.safetensors" --width 32 --blocks 2 --seed 1 -q
for weights in "$out/random_w32n2.safetensors" "$trained"; do
    "$bench" --image "$image" --model "$weights" --threads "$threads" --iters 3 --warmup 1 --precision bf16 --compare \
        >> "$out/accuracy.jsonl"
    name=$(basename "$(dirname "$weights")")_$(basename "$weights" .safetensors)
    "$unblur" "$image" -o "$out/$name.fp32.png" --method net --model "$weights" --precision fp32 -q --threads "$threads"
    "$unblur" "$image" -o "$out/$name.bf16.png" --method net --model "$weights" --precision bf16 -q --threads "$threads"
    echo "$weights $("$unblur" metrics "$out/$name.fp32.png" "$out/$name.bf16.png" --json)" >> "$out/cli.txt"
done

/usr/bin/python3 - "$out" "$threads" <<'EOF'
import json, os, sys
out, threads = sys.argv[1], sys.argv[2]
rows = [json.loads(l) for l in open(out + "/unblur.jsonl")]
torch_path = out + "/torch.jsonl"
torch = [json.loads(l) for l in open(torch_path)] if os.path.exists(torch_path) else []
def find(rs, dtype, h, w):
    return next((r for r in rs if r["mode"] == "infer" and r["dtype"] == dtype and r["h"] == h and r["w"] == w), None)
print("| RBNet W=32 N=2 D=2, batch 1, %s thread(s) | fp32 | bf16 | bf16 speed-up |" % threads)
print("|---|---|---|---|")
for h, w in ((256, 256), (720, 1280)):
    f, b = find(rows, "fp32", h, w), find(rows, "bf16", h, w)
    print("| unblur %dx%d, median (min) of 11 | %.1f ms (%.1f) | %.1f ms (%.1f) | **%.2fx** |"
          % (h, w, f["ms"], f["ms_min"], b["ms"], b["ms_min"], f["ms"] / b["ms"]))
    print("| unblur %dx%d, peak RSS | %.0f MiB | %.0f MiB | %.2fx the memory |"
          % (h, w, f["peak_rss_mib"], b["peak_rss_mib"], b["peak_rss_mib"] / f["peak_rss_mib"]))
    print("| unblur %dx%d, GFLOP/s; cpu/wall | %.0f; %.2f | %.0f; %.2f | |"
          % (h, w, f["gflops"], f["cpu_per_wall"], b["gflops"], b["cpu_per_wall"]))
for h, w in ((256, 256), (720, 1280)):
    tf, tb = find(torch, "fp32", h, w), find(torch, "bf16", h, w)
    if not (tf and tb):
        continue
    print("| PyTorch %s %dx%d, median (min) of 3 | %.1f ms (%.1f) | %.1f ms (%.1f) | %.2fx |"
          % (tb.get("torch", ""), h, w, tf["ms"], tf["ms_min"], tb["ms"], tb["ms_min"], tf["ms"] / tb["ms"]))
    print("| PyTorch %dx%d, peak RSS | %.0f MiB | %.0f MiB | |" % (h, w, tf["peak_rss_mib"], tb["peak_rss_mib"]))
    print("| unblur bf16 against PyTorch bf16, %dx%d | | | **%.1fx** faster |"
          % (h, w, tb["ms"] / find(rows, "bf16", h, w)["ms"]))
print()
print("| PSNR of bf16 against fp32, examples/scene.png (480x320) | float outputs (clipped) | max abs | 8-bit PNGs via the CLI |")
print("|---|---|---|---|")
cli = {l.split(" ", 1)[0]: json.loads(l.split(" ", 1)[1]) for l in open(out + "/cli.txt")}
for a in (json.loads(l) for l in open(out + "/accuracy.jsonl")):
    c = cli.get(a["model"], {})
    png = "identical" if c.get("psnr") is None else "%.1f dB" % c["psnr"]
    print("| %s (W=%d N=%d) | **%.1f dB** | %.2g | %s |" % (a["model"].replace(out + "/", ""), a["width"], a["blocks"],
          a["psnr_vs_fp32"], a["max_abs_vs_fp32"], png))
b = find(rows, "bf16", 256, 256)
print()
print("bf16 implementations: %s (layout %s); cpu: %s." % (b["onednn_impls"], b["layout"], b["cpu"]))
print("JSON lines: %s/{unblur,torch,accuracy}.jsonl, %s/cli.txt" % (out, out))
EOF
