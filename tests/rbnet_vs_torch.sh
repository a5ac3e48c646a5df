#!/usr/bin/env bash
# unblur's RBNet against its PyTorch specification on a real image: unblur writes random
# W=32 N=2 weights, both unblur (oneDNN) and ../shared/peers/rbnet.py run them on the bundled
# scene (as 16-bit, so that quantisation does not hide differences), and the outputs must
# agree within 1e-3 max abs (~66 codes of 65535) and 60 dB PSNR. Skipped (exit 77) where
# PyTorch is not installed (Debian: python3-torch) or ../shared/peers is absent.
# usage: rbnet_vs_torch.sh UNBLUR WORKDIR SOURCE_DIR
set -eu
u=$1 work=$2 src=$3
peers=${UNBLUR_SHARED:-$src/../shared}/peers
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null || [ ! -f "$peers/rbnet.py" ]; then
  echo "skip: PyTorch (python3-torch) or $peers/rbnet.py is absent"; exit 77
fi
rm -rf "$work"; mkdir -p "$work"
$u model init -o "$work/m.safetensors" --seed 7 --quiet
$u convert "$src/examples/scene.png" "$work/in16.png" --bits 16 --quiet
$u "$work/in16.png" -o "$work/unblur.png" --method net --model "$work/m.safetensors" --quiet
/usr/bin/python3 "$peers/rbnet.py" run --model "$work/m.safetensors" "$work/in16.png" -o "$work/torch.png" --out16
/usr/bin/python3 - "$work/unblur.png" "$work/torch.png" <<'PY'
import sys, cv2, numpy as np
a, b = (cv2.imread(p, cv2.IMREAD_UNCHANGED).astype(np.float64) / 65535 for p in sys.argv[1:3])
d = np.abs(a - b).max()
psnr = 10 * np.log10(1 / max(np.mean((a - b) ** 2), 1e-20))
print("unblur vs rbnet.py (W=32 N=2, random weights, 480x320, 16-bit): max abs %.2e, PSNR %.1f dB" % (d, psnr))
sys.exit(0 if d < 1e-3 and psnr > 60 else 1)
PY
