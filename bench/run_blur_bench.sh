#!/usr/bin/env bash
# bench/run_blur_bench.sh — unblur's uniform blur against the seed article's peers, in ONE run.
#
#   bench/run_blur_bench.sh [BUILD_DIR] [OUT_DIR]
#
# Runs ../shared/peers/seed_blur.py (cv2.filter2D, scipy.signal.fftconvolve, and the naive
# per-pixel loop on a small image) for the 31x31 motion line and the 31x31 disk at 720x1280,
# RGB float32, 2 threads, then ub_bench_conv on the very same kernels (seed_blur.py's
# base_kernel, written to text files) at 2 threads, and prints the ratios
#     cv2.filter2D / unblur   and   fftconvolve / unblur     (> 1: unblur is faster)
# for unblur's public entry point (ub_convolve, AUTO) and for each path. The JSON lines are
# kept in OUT_DIR (default: a fresh temporary folder). Needs Debian's /usr/bin/python3 with
# python3-opencv, python3-scipy, python3-skimage (see ../shared/peers/README.md).
# Machines are shared: run it when nothing else is running, and compare only within one run.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
out=${2:-$(mktemp -d /tmp/unblur-blur-bench.XXXXXX)}
bench=$build/bench/ub_bench_conv
peers=${UNBLUR_SHARED:-$root/../shared}/peers
threads=2

[ -x "$bench" ] || { echo "run_blur_bench: $bench missing: cmake --build $build --target ub_bench_conv" >&2; exit 1; }
[ -f "$peers/seed_blur.py" ] || { echo "run_blur_bench: $peers/seed_blur.py missing" >&2; exit 1; }
mkdir -p "$out"
rm -f "$out/peers.jsonl" "$out/unblur.jsonl"

# The peers' kernels, exactly: "W H" then the values, row-major.
/usr/bin/python3 - "$peers" "$out" <<'EOF'
import sys
sys.path.insert(0, sys.argv[1])
import seed_blur
for shape in ("motion", "disk"):
    k = seed_blur.base_kernel(31, shape)
    with open("%s/%s31.txt" % (sys.argv[2], shape), "w") as f:
        f.write("31 31\n")
        for row in k:
            f.write(" ".join("%.9g" % v for v in row) + "\n")
EOF

for shape in motion disk; do
    /usr/bin/python3 "$peers/seed_blur.py" --size 720x1280 --kernel 31 --shape "$shape" --naive-size 64x64 \
        --reps 5 --threads "$threads" --json "$out/peers.jsonl" >/dev/null
done
"$bench" --threads "$threads" --reps 7 --motion "$out/motion31.txt" --disk "$out/disk31.txt" \
    --json "$out/unblur.jsonl" >/dev/null

/usr/bin/python3 - "$out" "$threads" <<'EOF'
import json, sys
out, threads = sys.argv[1], int(sys.argv[2])
peers, ours = {}, {}
for line in open(out + "/peers.jsonl"):
    r = json.loads(line)
    peers[(r["shape"], r["peer"])] = r
for line in open(out + "/unblur.jsonl"):
    r = json.loads(line)
    if r.get("threads") == threads:
        ours[(r["kernel"], r["name"])] = r
print("720x1280 RGB float32, 31x31 kernels, %d threads; times are medians (min) in ms" % threads)
print("%-9s %-15s %5s %16s %16s %16s" % ("kernel", "unblur path", "taps", "unblur ms", "cv2/unblur", "fftconv/unblur"))
for shape in ("motion", "disk"):
    kname = shape + "31"
    cv2 = peers[(shape, "cv2_filter2D")]["ms"]
    fft = peers[(shape, "fftconvolve")]["ms"]
    naive = peers[(shape, "naive_uniform")]["extrapolated_s"]["720x1280"] * 1e3
    for name in ("auto", "direct", "direct_avx2", "direct_dense", "fft", "fftw2d_threads"):
        r = ours.get((kname, name))
        if not r:
            continue
        label = name + ("=" + r["auto_chose"] if "auto_chose" in r else "")
        print("%-9s %-15s %5d %8.2f (%5.2f) %15.1fx %15.1fx" % (kname, label, r["taps"], r["median_ms"], r["min_ms"],
                                                             cv2 / r["median_ms"], fft / r["median_ms"]))
    a = ours[(kname, "auto")]["median_ms"]
    print("%-9s peers: cv2.filter2D %.1f ms, fftconvolve %.1f ms, naive loop %.0f ms (extrapolated: %.0fx unblur)"
          % (kname, cv2, fft, naive, naive / a))
    print("%-9s unblur (ub_convolve) faster than cv2.filter2D: %s, than fftconvolve: %s"
          % (kname, "yes" if a < cv2 else "NO", "yes" if a < fft else "NO"))
print("JSON lines: %s/peers.jsonl, %s/unblur.jsonl" % (out, out))
EOF
