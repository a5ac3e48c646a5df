#!/usr/bin/env bash
# PNG/JPEG decode and PSNR/SSIM: unblur (bench/bench_image.c) against scikit-image 0.19
# and OpenCV (bench/skimage_ssim.py) on the same image, in one run; prints a table of
# ratios (peer time / unblur time). Builds nothing: build ub_bench_image first,
#     cmake --build build -j2 --target ub_bench_image
#
#   bench/run_image_bench.sh [IMAGE.png] [PATH/TO/ub_bench_image]
#
# IMAGE defaults to ../shared/data/div2k_valid_subset/0853.png (2040x1356 RGB).
# Environment: RUNS (unblur timed runs, default 11), SK_RUNS (scikit-image SSIM/PSNR runs,
# default 5), THREADS (unblur's multi-threaded count, default 0 = all cores),
# BENCH_OUT (folder for the JSON lines and the JPEG; default a new temporary folder).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
image="${1:-$root/../shared/data/div2k_valid_subset/0853.png}"
bin="${2:-$root/build/bench/ub_bench_image}"
[ -f "$image" ] || { echo "run_image_bench.sh: $image: no such image" >&2; exit 1; }
[ -x "$bin" ] || { echo "run_image_bench.sh: $bin not found: cmake --build build -j2 --target ub_bench_image" >&2; exit 1; }
py=/usr/bin/python3
out="${BENCH_OUT:-$(mktemp -d /tmp/ub_image_bench.XXXXXX)}"
mkdir -p "$out"
jsonl="$out/image_bench.jsonl"
: >"$jsonl"

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) online cores," \
     "load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# image $image ($(file -b "$image" | cut -d, -f2 | sed 's/^ //'))"
echo "# unblur: $bin --runs ${RUNS:-11} --threads ${THREADS:-0}"
"$bin" "$image" --runs "${RUNS:-11}" --threads "${THREADS:-0}" --save-jpeg "$out/dist.jpg" --json "$jsonl" >/dev/null
echo "# peers:  $py $root/bench/skimage_ssim.py --runs ${SK_RUNS:-5}"
"$py" "$root/bench/skimage_ssim.py" "$image" "$out/dist.jpg" --runs "${SK_RUNS:-5}" --json "$jsonl" >/dev/null
echo "# JSON lines: $jsonl"
echo

"$py" - "$jsonl" <<'PY'
import json, sys

recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
info = next(r for r in recs if r["impl"] == "unblur" and r["name"] == "info")
pinfo = next(r for r in recs if r["impl"] == "python" and r["name"] == "info")
nt = info["threads_all"]

def get(impl, name, threads=1):
    for r in recs:
        if r["impl"] == impl and r["name"] == name and r.get("threads") == threads:
            return r
    return None

print("unblur %s (%s), %d threads for the multi-threaded column; scikit-image %s, OpenCV %s: 1 thread"
      % (info["version"], info["cpu"], nt, pinfo["skimage"], pinfo["opencv"]))
print("image %s, %d channels; pair = the PNG and its JPEG (quality 95, %d bytes) decoded back\n"
      % (info["size"], info["channels"], info["jpeg_bytes"]))

rows = [  # (label, peer impl, peer names summed, unblur name)
    ("SSIM", "skimage", ["ssim"], "ssim"),
    ("PSNR", "skimage", ["psnr"], "psnr"),
    ("PSNR + SSIM (ub_metrics_compute)", "skimage", ["ssim", "psnr"], "metrics"),
    ("PNG decode, file (imread)", "cv2", ["png_read"], "png_read"),
    ("PNG decode, memory (imdecode)", "cv2", ["png_decode"], "png_decode"),
    ("JPEG decode, memory (imdecode)", "cv2", ["jpeg_decode"], "jpeg_decode"),
    ("JPEG encode q95, optimised Huffman", "cv2", ["jpeg_encode_optimize"], "jpeg_encode"),
    ("JPEG encode q95 (cv2 default tables)", "cv2", ["jpeg_encode"], "jpeg_encode"),
]
hdr = ("%-46s %12s %12s %12s %11s %11s" % ("measurement (median ms)", "peer 1 thr", "unblur 1 thr",
                                           "unblur %d thr" % nt, "ratio 1 thr", "ratio %d thr" % nt))
print(hdr)
print("-" * len(hdr))
summary = {}
for label, impl, names, uname in rows:
    peers = [get(impl, n) for n in names]
    u1, un = get("unblur", uname, 1), get("unblur", uname, nt)
    if any(p is None for p in peers) or u1 is None:
        continue
    pm = sum(p["median_ms"] for p in peers)
    r1 = pm / u1["median_ms"]
    cells = ["%12.2f" % pm, "%12.2f" % u1["median_ms"]]
    if un is not None and nt > 1:
        rn = pm / un["median_ms"]
        cells += ["%12.2f" % un["median_ms"], "%10.1fx" % r1, "%10.1fx" % rn]
    else:
        rn = None
        cells += ["%12s" % "-", "%10.1fx" % r1, "%11s" % "-"]
    print("%-46s %s" % (label + " [" + impl + "]", " ".join(cells)))
    summary[uname] = (r1, rn)

print()
sk, us = get("skimage", "ssim"), get("unblur", "ssim", 1)
skp, up = get("skimage", "psnr"), get("unblur", "psnr", 1)
print("agreement: SSIM skimage %.9f, unblur %.9f (|diff| %.1e); PSNR skimage %.6f dB, unblur %.6f dB (|diff| %.1e)"
      % (sk["value"], us["value"], abs(sk["value"] - us["value"]), skp["value"], up["value"],
         abs(skp["value"] - up["value"])))
r1, rn = summary["ssim"]
verdict = lambda r: "MET" if r >= 10 else "NOT met"
print("goal SSIM >= 10x faster than scikit-image: 1 thread %.1fx (%s)%s"
      % (r1, verdict(r1), "" if rn is None else ", %d threads %.1fx (%s)" % (nt, rn, verdict(rn))))
PY
