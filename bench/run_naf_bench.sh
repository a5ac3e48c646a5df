#!/usr/bin/env bash
# bench/run_naf_bench.sh — NAF blocks against residual blocks, unblur against PyTorch, in ONE run
# (issue 11: "res W16 N1 and naf W16 N2 M4, about the same MACs per pixel; goal >= 2x PyTorch").
#
#   bench/run_naf_bench.sh [BUILD_DIR] [OUT_DIR] [THREADS]
#
# For each net (res: W16 N1, depth 2; naf: W16 N2 M4, depth 2) and both peers, alternating, one
# configuration per process: inference, batch 1, fp32, 256x256 and 720x1280 (median of 7 after 2
# warm-up runs), and a training step, batch 8 of 128x128 crops: forward + L1 + backward + Adam (median of
# 5 after 1). Prints a Markdown table of PyTorch / unblur time ratios. THREADS (default 2) is the same for
# both peers; "cpu_per_wall" (about THREADS when the cores were free) shows whether they were.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
out=${2:-$(mktemp -d /tmp/unblur-naf-bench.XXXXXX)}
threads=${3:-2}
bench=$build/bench/ub_bench_rbnet
peers=${UNBLUR_SHARED:-$root/../shared}/peers
[ -x "$bench" ] || { echo "run_naf_bench: $bench missing: cmake --build $build --target ub_bench_rbnet" >&2; exit 1; }
[ -f "$peers/torch_rbnet_bench.py" ] || { echo "run_naf_bench: $peers/torch_rbnet_bench.py missing" >&2; exit 1; }
mkdir -p "$out"
rm -f "$out/unblur.jsonl" "$out/torch.jsonl"

# ub_bench_rbnet's JSON does not name the block: add it
tag() { /usr/bin/python3 -c 'import json, sys
for l in sys.stdin: print(json.dumps(dict(json.loads(l), block=sys.argv[1])))' "$1"; }

for net in res naf; do
    if [ "$net" = res ]; then model=(--block res --width 16 --blocks 1 --depth 2)
    else model=(--block naf --width 16 --blocks 2 --mid-blocks 4 --depth 2); fi
    for size in 256x256 720x1280; do
        "$bench" --size "$size" "${model[@]}" --threads "$threads" --iters 7 --warmup 2 | tag "$net" >> "$out/unblur.jsonl"
        /usr/bin/python3 "$peers/torch_rbnet_bench.py" "${model[@]}" --threads "$threads" --sizes "$size" \
            --dtypes fp32 --train-crop '' --iters 7 --warmup 2 --json "$out/torch.jsonl" >/dev/null
    done
    "$bench" --train --batch 8 --crop 128 "${model[@]}" --threads "$threads" --iters 5 --warmup 1 | tag "$net" >> "$out/unblur.jsonl"
    /usr/bin/python3 "$peers/torch_rbnet_bench.py" "${model[@]}" --threads "$threads" --sizes '' --train-batch 8 \
        --train-crop 128 --iters 5 --warmup 1 --json "$out/torch.jsonl" >/dev/null
done

/usr/bin/python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
ours = [json.loads(l) for l in open(out + "/unblur.jsonl")]
torch = [json.loads(l) for l in open(out + "/torch.jsonl")]
def block(r):
    return r.get("block", "res")
def find(rows, net, mode, h, w):
    return next(r for r in rows if block(r) == net and r["mode"] == mode and r["h"] == h and r["w"] == w)
print("| net | run | unblur | PyTorch %s | PyTorch / unblur | cpu/wall (unblur, PyTorch) |" % torch[0]["torch"])
print("|---|---|--:|--:|--:|--:|")
for net, name in (("res", "res W16 N1 D2"), ("naf", "naf W16 N2 M4 D2")):
    for h, w in ((256, 256), (720, 1280)):
        u, t = find(ours, net, "infer", h, w), find(torch, net, "infer", h, w)
        print("| %s | inference %dx%d, median ms | %.1f | %.1f | **%.2fx** | %.2f, %.2f |"
              % (name, h, w, u["ms"], t["ms"], t["ms"] / u["ms"], u["cpu_per_wall"], t["cpu_per_wall"]))
    u, t = find(ours, net, "train", 128, 128), find(torch, net, "train", 128, 128)
    print("| %s | training, batch 8 of 128², images/s | %.2f | %.2f | **%.2fx** | %.2f, %.2f |"
          % (name, u["images_per_s"], t["images_per_s"], u["images_per_s"] / t["images_per_s"],
             u["cpu_per_wall"], t["cpu_per_wall"]))
r = find(ours, "res", "infer", 256, 256)
n = find(ours, "naf", "infer", 256, 256)
print()
print("MACs per pixel: res %.1f k, naf %.1f k (unblur's count). JSON lines: %s/unblur.jsonl, %s/torch.jsonl"
      % (r.get("kmac_per_pixel", float("nan")), n.get("kmac_per_pixel", float("nan")), out, out))
PY
