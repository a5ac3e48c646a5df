#!/usr/bin/env bash
# bench/run_deconv_bench.sh — non-blind deconvolution on Levin et al. 2009 (true kernels) against
# scikit-image 0.19, in ONE run, at one thread.
#
#   bench/run_deconv_bench.sh [BUILD_DIR] [OUT_DIR]
#
# 1. scikit-image: restoration.richardson_lucy(blurred, psf, num_iter=30, clip=True) on the 32 cases,
#    the psf and images read exactly as ../shared/peers/deconv_peers.py reads them (its levin_cases),
#    timed per call (OMP/BLAS threads 1), outputs written as 16-bit PNGs to OUT_DIR/skimage_rl/.
# 2. ub_bench_deconv --threads 1: input, wiener, rl (auto), rl --boundary zero with --peer on
#    scikit-image's outputs, sparse; every output clamped, rounded to 8 bits and scored as
#    `unblur metrics SHARP OUT --shift 10` does (both sides of the RL comparison the same way).
# 3. The same outputs scored by deconv_peers.py's psnr_upto_shift (Levin's protocol: border 15,
#    +-5 px with 0.25 px sub-pixel refinement), the protocol of the published figures.
# Prints per method the mean PSNR both ways and seconds per image, and for RL ZERO vs scikit-image
# the PSNR difference and the speed ratio (scikit-image seconds / unblur seconds, > 1: unblur faster).
# Needs /usr/bin/python3 with python3-skimage, python3-scipy, python3-opencv. Machines are shared:
# compare only within one run.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
out=${2:-$(mktemp -d /tmp/unblur-deconv-bench.XXXXXX)}
bench=$build/bench/ub_bench_deconv
shared=${UNBLUR_SHARED:-$root/../shared}
levin=$shared/data/levin2009
peers=$shared/peers

[ -x "$bench" ] || { echo "run_deconv_bench: $bench missing: cmake --build $build --target ub_bench_deconv" >&2; exit 1; }
[ -d "$levin/blurred" ] || { echo "run_deconv_bench: $levin missing" >&2; exit 1; }
[ -f "$peers/deconv_peers.py" ] || { echo "run_deconv_bench: $peers/deconv_peers.py missing" >&2; exit 1; }
mkdir -p "$out/skimage_rl"
for m in wiener rl rl_zero sparse; do mkdir -p "$out/$m"; done
rm -f "$out"/*.jsonl

echo "== scikit-image richardson_lucy (30 iterations, one thread)" >&2
OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 /usr/bin/python3 - "$peers" "$levin" "$out" <<'PY'
import json, os, sys, time
sys.path.insert(0, sys.argv[1])
import cv2
import numpy as np
import deconv_peers as P
from skimage import restoration
levin, out = sys.argv[2], sys.argv[3]
with open(os.path.join(out, "skimage.jsonl"), "w") as f:
    for name, blurred, psf, sharp in P.levin_cases(levin):
        t0 = time.perf_counter()
        est = restoration.richardson_lucy(blurred, psf, num_iter=30, clip=True)
        s = time.perf_counter() - t0
        cv2.imwrite(os.path.join(out, "skimage_rl", name + ".png"),
                    np.round(np.clip(est, 0, 1) * 65535).astype(np.uint16))
        f.write(json.dumps({"case": name, "s": s}) + "\n")
PY

echo "== unblur (one thread)" >&2
"$bench" --levin "$levin" --method rl --boundary zero --threads 1 --peer "$out/skimage_rl" --save "$out/rl_zero" \
  --json "$out/rl_zero.jsonl" > /dev/null
"$bench" --levin "$levin" --method rl --threads 1 --save "$out/rl" --json "$out/rl.jsonl" > /dev/null
"$bench" --levin "$levin" --method wiener --threads 1 --save "$out/wiener" --json "$out/wiener.jsonl" > /dev/null
"$bench" --levin "$levin" --method sparse --threads 1 --save "$out/sparse" --json "$out/sparse.jsonl" > /dev/null

/usr/bin/python3 - "$peers" "$levin" "$out" <<'PY'
import json, os, sys
sys.path.insert(0, sys.argv[1])
import numpy as np
import deconv_peers as P
levin, out = sys.argv[2], sys.argv[3]
def lines(name):
    return [json.loads(l) for l in open(os.path.join(out, name + ".jsonl"))]
cases = list(P.levin_cases(levin))
def levin_metric(folder):
    if folder is None:
        return np.mean([P.psnr_upto_shift(sharp, blurred) for _, blurred, _, sharp in cases])
    return np.mean([P.psnr_upto_shift(sharp, P.read_image(os.path.join(out, folder, n + ".png")))
                    for n, _, _, sharp in cases])
rlz = lines("rl_zero")
sk = {r["case"]: r["s"] for r in lines("skimage")}
summ = {m: lines(m)[-1] for m in ("wiener", "rl", "rl_zero", "sparse")}
print("%-22s %18s %18s %10s" % ("method", "PSNR --shift 10", "PSNR Levin-proto", "s/image"))
print("%-22s %18.2f %18.2f %10s" % ("input (blurred)", summ["rl"]["mean_input_psnr"], levin_metric(None), "-"))
print("%-22s %18.2f %18.2f %10.4f" % ("skimage rl (30 it)", summ["rl_zero"]["mean_peer_psnr"], levin_metric("skimage_rl"),
                                       np.mean(list(sk.values()))))
for m, label in (("rl_zero", "unblur rl zero"), ("rl", "unblur rl auto"), ("wiener", "unblur wiener auto"),
                 ("sparse", "unblur sparse auto")):
    print("%-22s %18.2f %18.2f %10.4f" % (label, summ[m]["mean_psnr"], levin_metric(m), summ[m]["mean_s"]))
cases_rl = [r for r in rlz if "case" in r]
diff = [r["psnr"] - r["peer_psnr"] for r in cases_rl]
ratio = np.mean([sk[r["case"]] for r in cases_rl]) / np.mean([r["s"] for r in cases_rl])
print("RL zero vs scikit-image: mean PSNR difference %+.4f dB (largest |diff| %.4f dB); "
      "speed ratio %.1fx (scikit-image s / unblur s, one thread)" % (np.mean(diff), np.max(np.abs(diff)), ratio))
print("RL auto over RL zero: %+.2f dB (--shift 10)" % (summ["rl"]["mean_psnr"] - summ["rl_zero"]["mean_psnr"]))
PY
echo "(JSON lines and outputs in $out)" >&2
