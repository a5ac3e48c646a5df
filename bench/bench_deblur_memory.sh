#!/bin/bash
# bench_deblur_memory.sh [BUILD] [tiles]
#
# Peak memory of `unblur IN -o OUT --model M` (tiled inference, default tile) on a 20000x3000 and a
# 5000x3000 RGB image, next to the input and output images' size in memory (float32, planar:
# width * height * 3 * 4 bytes each): the peak must not grow with the image beyond those two.
# The model is RBNet W=32 N=2 D=2 with random weights (`unblur model init`); the images are
# examples/scene.png tiled (mirrored copies, so that there are no sharp seams), 8-bit PNGs.
#
# With "tiles" as the second argument it also sweeps the tile side (--tile) on a 3000x2000 image
# and prints seconds and ms per megapixel for each, and for the whole image at once (--tile 65536):
# the measurement behind the default tile (src/nn/model.c, DEFAULT_TILE).
#
# Needs /usr/bin/time and Debian's /usr/bin/python3 with numpy and PIL (python3-numpy,
# python3-pil). Runs on 2 threads (--threads 2); takes a few minutes.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
mode=${2:-}
unblur=$build/unblur
[ -x "$unblur" ] || { echo "bench_deblur_memory: $unblur: not built" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/ub_deblur_mem.XXXXXX")
trap 'rm -rf "$work"' EXIT

"$unblur" model init -o "$work/m.safetensors" --width 32 --blocks 2 --depth 2 --seed 1 --quiet >/dev/null

# make_image W H OUT: examples/scene.png mirrored and repeated to W x H
make_image() {
    /usr/bin/python3 - "$here/../examples/scene.png" "$1" "$2" "$3" <<'EOF'
import sys
import numpy as np
from PIL import Image
src, w, h, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
a = np.asarray(Image.open(src).convert("RGB"))
a = np.concatenate([a, a[:, ::-1]], axis=1)
a = np.concatenate([a, a[::-1]], axis=0)
reps = (-(-h // a.shape[0]), -(-w // a.shape[1]), 1)
Image.fromarray(np.tile(a, reps)[:h, :w]).save(out, compress_level=1)
EOF
}

# run W H [extra options]: prints peak RSS and time of one deblur
run() {
    local w=$1 h=$2
    shift 2
    local in=$work/in_${w}x${h}.png
    [ -e "$in" ] || make_image "$w" "$h" "$in"
    /usr/bin/time -v "$unblur" "$in" -o "$work/out.png" --method net --model "$work/m.safetensors" --threads 2 --quiet "$@" \
        2>"$work/time.txt"
    local rss_kb secs
    rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
    secs=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/time.txt" |
        awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }')
    /usr/bin/python3 - "$w" "$h" "$rss_kb" "$secs" "$*" <<'EOF'
import sys
w, h, rss_kb, secs, opts = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
image = w * h * 3 * 4 / 1e6
peak = rss_kb * 1024 / 1e6
print(f"{w}x{h} {opts or '(default tile)':>14}: peak RSS {peak:7.0f} MB = input {image:.0f} MB + output {image:.0f} MB"
      f" + {peak - 2 * image:5.0f} MB;  {secs:6.1f} s, {1e3 * secs / (w * h / 1e6):5.0f} ms/MP")
EOF
}

echo "unblur IN -o OUT --model M (W=32 N=2 D=2) --threads 2; float images are width*height*3*4 bytes"
[ "$mode" = tiles-only ] || run 5000 3000
[ "$mode" = tiles-only ] || run 20000 3000

if [ "$mode" = tiles ] || [ "$mode" = tiles-only ]; then
    echo "tile sweep, 3000x2000 (whole image at once: --tile 65536)"
    for t in 65536 256 384 512 768 1024 65536; do run 3000 2000 --tile "$t"; done
fi
