#!/usr/bin/python3
"""Draws unblur's bundled example, a 480x320 synthetic scene (sky gradient, sun,
hills, a house with windows, a fence, a checkerboard card and fine line patterns)
with the sharp edges and fine detail that blur destroys, together with its exact
depth map and a mask of the house:
    examples/scene.png        8-bit RGB
    examples/scene_depth.png  16-bit grey, millimetres (as the NYU depth samples)
    examples/scene_mask.png   8-bit grey, 255 on the house (a moving object)
Procedural, so the project owns it outright; deterministic (numpy only).
    /usr/bin/python3 scripts/make-example.py examples
"""
import sys
import zlib
import struct

import numpy as np

W, H = 480, 320
y, x = np.mgrid[0:H, 0:W].astype(np.float64)
img = np.zeros((H, W, 3))
depth = np.full((H, W), 60000.0)  # millimetres: the sky is "far"
house = np.zeros((H, W), bool)
sky = np.clip(1.0 - y / H, 0, 1)[..., None]
img[:] = sky * np.array([0.35, 0.55, 0.92]) + (1 - sky) * np.array([0.8, 0.87, 0.95])  # no sky pixel clips


def paint(mask, colour, soft=None, mm=None, part_of_house=False):
    a = mask.astype(np.float64) if soft is None else soft
    img[:] = img * (1 - a[..., None]) + a[..., None] * np.array(colour)
    if mm is not None:
        depth[a > 0.5] = mm(a > 0.5) if callable(mm) else mm
    if part_of_house:
        house[a > 0.5] = True


def ground(far_mm, near_mm):
    """Depth of ground seen at row y: far at the horizon (y=200), near at the bottom."""
    t = np.clip((y - 200) / (H - 200), 0, 1)
    return lambda sel: (1 / (1 / far_mm + t * (1 / near_mm - 1 / far_mm)))[sel]


# sun with an anti-aliased rim
r = np.hypot(x - 400, y - 60)
paint(None, (1.0, 0.9, 0.4), soft=np.clip(28.5 - r, 0, 1))
# two hills
paint(y > 220 + 30 * np.sin(x / 70.0), (0.25, 0.55, 0.2), mm=ground(40000, 9000))
paint(y > 250 + 20 * np.cos(x / 45.0 + 1), (0.18, 0.42, 0.15), mm=ground(20000, 2500))
# house, roof, door, windows with bars
paint((x > 90) & (x < 210) & (y > 150) & (y < 260), (0.8, 0.75, 0.65), mm=12000, part_of_house=True)
paint((y > 95) & (y <= 150) & (np.abs(x - 150) < (y - 95) * 1.2), (0.6, 0.15, 0.1), mm=12500, part_of_house=True)
paint((x > 135) & (x < 165) & (y > 200) & (y < 260), (0.35, 0.2, 0.1), mm=12000, part_of_house=True)
for wx in (105, 175):
    paint((x > wx) & (x < wx + 22) & (y > 170) & (y < 192), (0.2, 0.3, 0.45))
    paint((np.abs(x - wx - 11) < 1) & (y > 170) & (y < 192), (0.95, 0.95, 0.95))
    paint((np.abs(y - 181) < 1) & (x > wx) & (x < wx + 22), (0.95, 0.95, 0.95))
# fence: thin posts
paint((y > 235) & (y < 290) & ((x.astype(int) % 12) < 3) & (x > 240) & (x < 470), (0.95, 0.92, 0.85), mm=3000)
paint((np.abs(y - 250) < 2) & (x > 240) & (x < 470), (0.95, 0.92, 0.85), mm=3000)
# checkerboard card and line patterns (resolution targets)
card = (x > 300) & (x < 380) & (y > 110) & (y < 190)
paint(card, (1, 1, 1), mm=7000)
paint(card & (((x.astype(int) // 8) + (y.astype(int) // 8)) % 2 == 0), (0.05, 0.05, 0.05))
for i, period in enumerate((2, 3, 4, 6)):
    band = (x > 20 + i * 16) & (x < 32 + i * 16) & (y > 20) & (y < 80)
    depth[band] = 5000
    paint(band & ((y.astype(int) // period) % 2 == 0), (0.1, 0.1, 0.1))
    paint(band & ((y.astype(int) // period) % 2 == 1), (0.95, 0.95, 0.95))
# a little sensor-like texture so the image is not cartoon-flat
rng = np.random.default_rng(2026)
img = np.clip(img + rng.normal(0, 0.01, img.shape), 0, 1)



def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)


def write_png(path, pixels, depth_bits, colour_type):
    rows = pixels.astype(">u2" if depth_bits == 16 else np.uint8)
    raw = b"".join(b"\x00" + rows[r].tobytes() for r in range(H))
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", W, H, depth_bits, colour_type, 0, 0, 0)) + \
        chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


out = sys.argv[1] if len(sys.argv) > 1 else "examples"
write_png(out + "/scene.png", np.round(img * 255), 8, 2)
write_png(out + "/scene_depth.png", np.round(depth), 16, 0)
write_png(out + "/scene_mask.png", house * 255, 8, 0)
