#!/usr/bin/python3
"""Peer timings for bench/bench_image.c: scikit-image SSIM and PSNR, OpenCV decode/encode.

    /usr/bin/python3 bench/skimage_ssim.py REF.png DIST.jpg [--runs N] [--warmup W]
                                           [--codec-runs N] [--quality Q] [--json OUT]

REF and DIST are loaded exactly as ../shared/peers/metrics_ref.py loads them (cv2.imread
IMREAD_UNCHANGED, alpha dropped, BGR -> RGB, float64 / 255 or / 65535); the loading and
the conversion to float64 are not timed. Then, median and minimum of N timed runs after
W warm-up runs (time.perf_counter):
  ssim        skimage.metrics.structural_similarity(ref, dist, data_range=1.0,
              gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
              channel_axis=-1) -- metrics_ref.py's call
  psnr        skimage.metrics.peak_signal_noise_ratio(ref, dist, data_range=1.0)
  png_read    cv2.imread(REF, IMREAD_UNCHANGED)        (file, page cache warm)
  png_decode  cv2.imdecode of REF's bytes, in memory
  jpeg_read   cv2.imread(DIST, IMREAD_UNCHANGED)
  jpeg_decode cv2.imdecode of DIST's bytes
  jpeg_encode cv2.imencode(".jpg", ref_uint8, quality Q)  (Q default 95; OpenCV's default
              Huffman tables)
  jpeg_encode_optimize   the same with IMWRITE_JPEG_OPTIMIZE=1 (optimised Huffman tables, two
              passes: what unblur's encoder does)
All of these run on one thread: scikit-image's SSIM is scipy.ndimage + numpy element-wise
code (single-threaded), and OpenCV's PNG/JPEG codecs are single-threaded (cv2.setNumThreads(1)
is set anyway). One JSON object per line, the fields of bench_image.c: {"impl", "name",
"size" (WIDTHxHEIGHT), "threads", "median_ms", "min_ms", "runs", ...}.
"""
import argparse
import json
import platform
import statistics
import time

import cv2
import numpy as np
import scipy
import skimage
from skimage.metrics import peak_signal_noise_ratio, structural_similarity


def read_image(path):
    """metrics_ref.py's loader."""
    im = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if im is None:
        raise SystemExit("skimage_ssim.py: cannot read %s" % path)
    scale = 65535.0 if im.dtype == np.uint16 else 255.0
    if im.ndim == 3:
        im = cv2.cvtColor(im[..., :3], cv2.COLOR_BGR2RGB)
    return im.astype(np.float64) / scale


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("ref", help="reference image (the PNG)")
    ap.add_argument("dist", help="image to score (the JPEG written by ub_bench_image --save-jpeg)")
    ap.add_argument("--runs", type=int, default=5, help="timed runs of ssim and psnr (default 5)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed runs first (default 1)")
    ap.add_argument("--codec-runs", type=int, default=11, help="timed runs of the OpenCV codecs (default 11)")
    ap.add_argument("--quality", type=int, default=95, help="JPEG quality of jpeg_encode (default 95)")
    ap.add_argument("--json", help="also append the JSON lines to this file")
    args = ap.parse_args()
    cv2.setNumThreads(1)

    ref, dist = read_image(args.ref), read_image(args.dist)
    if ref.shape != dist.shape:
        raise SystemExit("skimage_ssim.py: %s is %s but %s is %s" % (args.ref, ref.shape, args.dist, dist.shape))
    size = "%dx%d" % (ref.shape[1], ref.shape[0])

    def emit(rec):
        line = json.dumps(rec)
        print(line, flush=True)
        if args.json:
            with open(args.json, "a") as f:
                f.write(line + "\n")

    def measure(name, fn, runs, warmup, value_key=None, **extra):
        value = None
        for _ in range(warmup):
            value = fn()
        ms = []
        for _ in range(runs):
            t0 = time.perf_counter()
            value = fn()
            ms.append((time.perf_counter() - t0) * 1e3)
        rec = {"impl": extra.pop("impl", "skimage"), "name": name, "size": size, "threads": 1,
               "median_ms": round(statistics.median(ms), 3), "min_ms": round(min(ms), 3), "runs": runs}
        if value_key:
            rec[value_key] = float(value)
        rec.update(extra)
        emit(rec)

    emit({"impl": "python", "name": "info", "ref": args.ref, "dist": args.dist, "size": size,
          "channels": ref.shape[2] if ref.ndim == 3 else 1, "python": platform.python_version(),
          "numpy": np.__version__, "scipy": scipy.__version__, "skimage": skimage.__version__,
          "opencv": cv2.__version__})

    channel_axis = -1 if ref.ndim == 3 else None
    measure("ssim", lambda: structural_similarity(ref, dist, data_range=1.0, gaussian_weights=True, sigma=1.5,
                                                  use_sample_covariance=False, channel_axis=channel_axis),
            args.runs, args.warmup, "value")
    measure("psnr", lambda: peak_signal_noise_ratio(ref, dist, data_range=1.0), args.runs, args.warmup, "value")

    png_bytes = np.fromfile(args.ref, dtype=np.uint8)
    jpeg_bytes = np.fromfile(args.dist, dtype=np.uint8)
    ref8 = cv2.imread(args.ref, cv2.IMREAD_UNCHANGED)
    n, w = args.codec_runs, 2
    measure("png_read", lambda: cv2.imread(args.ref, cv2.IMREAD_UNCHANGED), n, w, impl="cv2")
    measure("png_decode", lambda: cv2.imdecode(png_bytes, cv2.IMREAD_UNCHANGED), n, w, impl="cv2")
    measure("jpeg_read", lambda: cv2.imread(args.dist, cv2.IMREAD_UNCHANGED), n, w, impl="cv2")
    measure("jpeg_decode", lambda: cv2.imdecode(jpeg_bytes, cv2.IMREAD_UNCHANGED), n, w, impl="cv2")
    if ref8.dtype == np.uint8 and (ref8.ndim == 2 or ref8.shape[2] in (1, 3)):
        for name, params in (("jpeg_encode", [cv2.IMWRITE_JPEG_QUALITY, args.quality]),
                             ("jpeg_encode_optimize", [cv2.IMWRITE_JPEG_QUALITY, args.quality,
                                                       cv2.IMWRITE_JPEG_OPTIMIZE, 1])):
            measure(name, lambda: cv2.imencode(".jpg", ref8, params), n, w, impl="cv2", quality=args.quality,
                    bytes=len(cv2.imencode(".jpg", ref8, params)[1]))


if __name__ == "__main__":
    main()
