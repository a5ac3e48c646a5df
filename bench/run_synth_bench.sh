#!/usr/bin/env bash
# Synthesis speed side by side with the seed article's algorithm, in one run:
#   - ../shared/peers/seed_blur.py: the seed's per-pixel loop (naive_varying: a kernel per pixel
#     scaled by depth; naive_uniform: K x K everywhere), timed on a small image and extrapolated,
#     plus its vectorised peers (cv2.filter2D, fftconvolve, layered numpy);
#   - ub_bench_synth: unblur's presets on the SAME image (scikit-image's astronaut at 1280x720,
#     as seed_blur.py makes it), at 1 and 2 threads, and 256x256 `realistic` training pairs.
# Prints a table of ratios. usage: bench/run_synth_bench.sh [BUILD_DIR] [NAIVE_SIZE]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
naive=${2:-64x64}
shared=${UNBLUR_SHARED:-../shared}
bin=$build/bench/ub_bench_synth
[ -x "$bin" ] || { echo "build it first: cmake --build $build --target ub_bench_synth" >&2; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
/usr/bin/python3 - "$out/astronaut.png" <<'PY'
import sys, cv2, numpy as np
from skimage import data
img = data.astronaut().astype(np.float32) / 255.0     # exactly as seed_blur.py's test_image
img = cv2.resize(img, (1280, 720), interpolation=cv2.INTER_AREA)
cv2.imwrite(sys.argv[1], np.round(img[..., ::-1] * 255).astype(np.uint8))
PY
/usr/bin/python3 "$shared/peers/seed_blur.py" --size 720x1280 --naive-size "$naive" --kernel 31 --threads 1 \
  --reps 3 --json "$out/seed.jsonl" > /dev/null
for t in 1 2; do "$bin" --image "$out/astronaut.png" --threads $t --pairs 100 > "$out/unblur$t.jsonl"; done
cat "$out"/seed.jsonl "$out"/unblur1.jsonl "$out"/unblur2.jsonl
/usr/bin/python3 - "$out" <<'PY'
import json, sys, os
d = sys.argv[1]
seed = {r["peer"]: r for r in map(json.loads, open(os.path.join(d, "seed.jsonl")))}
ub = {t: [json.loads(l) for l in open(os.path.join(d, "unblur%d.jsonl" % t))] for t in (1, 2)}
def find(t, name, what): return next(r for r in ub[t] if r["name"] == name and r["what"] == what)
print("\n%-44s %12s %12s" % ("", "1 thread", "2 threads"))
for name in ("gaussian", "linear", "shake", "realistic"):
    print("%-44s %9.3f us %9.3f us" % ("unblur %s preset, per pixel (1280x720)" % name,
          find(1, name, "whole image")["us_per_pixel"], find(2, name, "whole image")["us_per_pixel"]))
for peer in ("naive_varying", "naive_uniform"):
    s = seed[peer]["us_per_pixel"]
    print("%-44s %9.1f us   (ratio to unblur gaussian: %.0fx at 1 thread, %.0fx at 2)" % (
        "seed %s (%s), per pixel" % (peer, seed[peer]["size"]), s,
        s / find(1, "gaussian", "whole image")["us_per_pixel"], s / find(2, "gaussian", "whole image")["us_per_pixel"]))
for peer in ("layered", "cv2_filter2D", "fftconvolve"):
    print("%-44s %9.3f us" % ("seed peer %s, per pixel" % peer, seed[peer]["us_per_pixel"]))
for t in (1, 2):
    p = find(t, "realistic", "256x256 training pair")
    print("realistic 256x256 training pair, %d thread%s: median %.1f ms, mean %.1f ms, p90 %.1f ms (%d pairs)" % (
        t, "s" if t > 1 else "", p["median_ms"], p["mean_ms"], p["p90_ms"], p["runs"]))
PY
