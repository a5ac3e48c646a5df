#!/usr/bin/python3
"""Training-pair throughput from Python: unblur.torch.SynthPairs against a numpy + cv2.filter2D pipeline.

Peers, each making (blurry, sharp) float32 pairs (3, CROP, CROP) from the same decoded sharp images
(decoding is excluded: both cache the images first), on --threads threads in one process:
  synthpairs_shake      SynthPairs(preset="shake"): a fresh Boracchi-Foi trajectory and PSF per sample,
                        blurred in linear light with real context around the crop, exposure, highlights,
                        Poisson-Gaussian noise, camera response, JPEG (70 %)
  synthpairs_realistic  SynthPairs(preset="realistic"): shake (sometimes rotational), object motion,
                        defocus, the same sensor
  cv2_filter2D          numpy + cv2, as ../shared/peers/seed_blur.py blurs: a random image and crop, one
                        of --kernels PSFs made beforehand by unblur.kernels(preset="shake") (their making
                        is not timed), cv2.filter2D (BORDER_REFLECT_101, on the display-referred crop),
                        Gaussian noise of a random sigma in [0.0005, 0.01] (numpy's default_rng), clip
  cv2_filter2D_fresh    the same with the kernel made per sample (unblur.kernels of one sample, timed), as
                        SynthPairs does
  numpy_same_work       the shake preset's work done with numpy + cv2: the kernel made per sample, the
                        crop with a margin of the kernel's reach, sRGB -> linear, cv2.filter2D, the valid
                        centre, exposure, Poisson-Gaussian noise (numpy's poisson and normal, the preset's
                        gain ranges), clip, sRGB encoding, JPEG (p 0.7, quality 60-95, cv2.imencode/imdecode)
Rounds alternate the peers (the machine may be shared) and each peer's best round is reported, with the
median. One JSON object per line; the last one holds the ratios.

Example (the figures in bench/PYTHON_RESULTS.md):
  UNBLUR_LIBRARY=build/libunblur.so PYTHONPATH=python /usr/bin/python3 bench/python_synth_bench.py \
      --data ../shared/data/bsds500/images/train --samples 40 --rounds 3 --threads 1
"""
import argparse
import json
import os
import platform
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.path.join(HERE, "..", "..", "shared", "data", "bsds500", "images", "train"))
    ap.add_argument("--images", type=int, default=50, help="images of --data used (first by name)")
    ap.add_argument("--crop", type=int, default=256)
    ap.add_argument("--samples", type=int, default=40, help="samples per round and peer")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1, help="threads of unblur's C work and of cv2")
    ap.add_argument("--kernels", type=int, default=256, help="PSF pool of the cv2 peer")
    ap.add_argument("--json", metavar="OUT", help="append the JSON lines to OUT")
    args = ap.parse_args()
    if not os.path.isdir(args.data):
        print("python_synth_bench: %s is absent: skipped" % args.data, file=sys.stderr)
        return 0
    import cv2
    import torch  # noqa: F401  (SynthPairs is a torch dataset)
    import unblur
    from unblur.torch import SynthPairs

    cv2.setNumThreads(args.threads)
    unblur.set_threads(args.threads)
    names = sorted(f for f in os.listdir(args.data) if f.lower().endswith((".png", ".jpg", ".jpeg")))[:args.images]
    paths = [os.path.join(args.data, f) for f in names]
    common = {"crop": args.crop, "threads": args.threads, "images": len(paths), "samples": args.samples,
              "cpu": platform.processor() or platform.machine(), "nproc": os.cpu_count(),
              "loadavg_1min": os.getloadavg()[0]}

    def emit(rec):
        line = json.dumps(dict(common, **rec))
        print(line, flush=True)
        if args.json:
            with open(args.json, "a") as f:
                f.write(line + "\n")

    C = args.crop
    images = [unblur.load_image(p)[:, :, :3] for p in paths]  # HWC, display-referred
    pool = unblur.kernels(preset="shake", n=args.kernels, seed=0)

    def cv2_pair(i, fresh):
        r = np.random.default_rng(i)
        img = images[r.integers(len(images))]
        y = r.integers(img.shape[0] - C + 1)
        x = r.integers(img.shape[1] - C + 1)
        sharp = img[y:y + C, x:x + C]
        k = unblur.kernels(preset="shake", n=1, seed=i)[0] if fresh else pool[r.integers(len(pool))]
        blurry = cv2.filter2D(sharp, -1, k, borderType=cv2.BORDER_REFLECT_101)
        blurry += r.normal(0, r.uniform(0.0005, 0.01), blurry.shape).astype(np.float32)
        np.clip(blurry, 0, 1, out=blurry)
        return np.ascontiguousarray(blurry.transpose(2, 0, 1)), np.ascontiguousarray(sharp.transpose(2, 0, 1))

    def srgb_to_linear(v):
        return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4).astype(np.float32)

    def linear_to_srgb(v):
        return np.where(v <= 0.0031308, v * 12.92, 1.055 * np.power(v, 1 / 2.4) - 0.055).astype(np.float32)

    def numpy_same_work(i):
        r = np.random.default_rng(i)
        img = images[r.integers(len(images))]
        k = unblur.kernels(preset="shake", n=1, seed=i)[0]
        m = k.shape[0] // 2
        y = r.integers(m, img.shape[0] - C - m + 1) if img.shape[0] >= C + 2 * m else 0
        x = r.integers(m, img.shape[1] - C - m + 1) if img.shape[1] >= C + 2 * m else 0
        region = srgb_to_linear(img[max(0, y - m):y + C + m, max(0, x - m):x + C + m])
        blurred = cv2.filter2D(region, -1, k, borderType=cv2.BORDER_REFLECT_101)
        oy, ox = y - max(0, y - m), x - max(0, x - m)
        exposure = r.uniform(0.8, 1.2)
        lin = blurred[oy:oy + C, ox:ox + C] * exposure
        sharp = linear_to_srgb(np.clip(region[oy:oy + C, ox:ox + C] * exposure, 0, 1))
        a = np.exp(r.uniform(np.log(1e-4), np.log(1e-2)))
        b = np.exp(r.uniform(np.log(5e-4), np.log(1e-2)))
        noisy = a * r.poisson(np.maximum(lin, 0) / a) + b * r.standard_normal(lin.shape)
        blurry = linear_to_srgb(np.clip(noisy, 0, 1).astype(np.float32))
        if r.uniform() < 0.7:
            ok, enc = cv2.imencode(".jpg", (blurry * 255 + 0.5).astype(np.uint8),
                                   [cv2.IMWRITE_JPEG_QUALITY, int(r.integers(60, 96))])
            blurry = cv2.imdecode(enc, cv2.IMREAD_UNCHANGED).astype(np.float32) / 255
        return np.ascontiguousarray(blurry.transpose(2, 0, 1)), np.ascontiguousarray(sharp.transpose(2, 0, 1))

    sets = {name: SynthPairs(paths, preset=name.split("_")[1], crop=C, seed=0, length=10 ** 9, threads=args.threads)
            for name in ("synthpairs_shake", "synthpairs_realistic")}
    for ds in sets.values():  # decode and cache every image first, as the cv2 peer has them
        st = ds._process_state()
        for i in range(len(paths)):
            ds._planes(st, i)
    peers = {
        "synthpairs_shake": lambda i: sets["synthpairs_shake"][i],
        "synthpairs_realistic": lambda i: sets["synthpairs_realistic"][i],
        "cv2_filter2D": lambda i: cv2_pair(i, False),
        "cv2_filter2D_fresh": lambda i: cv2_pair(i, True),
        "numpy_same_work": numpy_same_work,
    }
    for fn in peers.values():
        fn(10 ** 6)  # warm-up
    rates = {name: [] for name in peers}
    for rnd in range(args.rounds):
        for name, fn in peers.items():
            start = rnd * args.samples
            t0 = time.perf_counter()
            for i in range(start, start + args.samples):
                fn(i)
            rates[name].append(args.samples / (time.perf_counter() - t0))
    for name, r in rates.items():
        emit({"peer": name, "samples_per_s": max(r), "median_samples_per_s": float(np.median(r)),
              "rounds": [round(v, 2) for v in r]})
    best = {name: max(r) for name, r in rates.items()}
    emit({"ratio_shake_vs_cv2_filter2D": best["synthpairs_shake"] / best["cv2_filter2D"],
          "ratio_shake_vs_cv2_filter2D_fresh": best["synthpairs_shake"] / best["cv2_filter2D_fresh"],
          "ratio_shake_vs_numpy_same_work": best["synthpairs_shake"] / best["numpy_same_work"],
          "goal": ">= 5"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
