#!/usr/bin/python3
"""Writes the seed corpora fuzz/corpus/png/ and fuzz/corpus/jpeg/ (small procedural images).

PNGs are written by hand (zlib + CRC) so that every variant the reader supports is
covered: grey 1/2/4/8/16-bit, grey+alpha, RGB, RGBA, 8 and 16-bit, palette 1/2/4/8-bit
with and without tRNS, tRNS on grey and RGB, Adam7 interlacing, ancillary chunks.
JPEGs come from Pillow (libjpeg-turbo): baseline 4:2:0 / 4:2:2 / 4:4:4, progressive,
optimised Huffman, grey, CMYK (Adobe), EXIF orientation 3/6/8, odd sizes.
Deterministic: the same files on every run. Every file is < 5 KB.

    /usr/bin/python3 fuzz/make_seeds.py [OUTDIR]     (default: fuzz/corpus)
"""
import io
import os
import struct
import sys
import zlib

import numpy as np
from PIL import Image


def content(h, w, seed):
    """A small image with gradients, an edge, a disc and a little noise: 3 channels in [0,1]."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = x / max(w - 1, 1)
    g = y / max(h - 1, 1)
    b = ((x - w / 2) ** 2 + (y - h / 2) ** 2 < (min(h, w) / 3) ** 2).astype(np.float64) * 0.8 + 0.1
    img = np.stack([r, g, b], axis=-1) + rng.normal(0, 0.03, (h, w, 3))
    img[:, : w // 4] *= 0.5
    return np.clip(img, 0, 1)


# ---------------------------------------------------------------- PNG by hand
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def pack_row(samples, depth):
    """One row of integer samples (already interleaved) -> bytes at this bit depth."""
    if depth == 16:
        return b"".join(struct.pack(">H", int(v)) for v in samples)
    if depth == 8:
        return bytes(int(v) for v in samples)
    per = 8 // depth
    out = bytearray()
    for i in range(0, len(samples), per):
        byte = 0
        group = list(samples[i : i + per]) + [0] * (per - len(samples[i : i + per]))
        for v in group:
            byte = (byte << depth) | int(v)
        out.append(byte)
    return bytes(out)


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def raw_data(samples, depth, interlace, filt):
    """samples: (h, w, c) integers. Filter type `filt` (0 none, 1 sub, 2 up) on every row."""
    h, w, c = samples.shape
    bpp = max(1, c * depth // 8)
    out = bytearray()
    passes = ADAM7 if interlace else [(0, 0, 1, 1)]
    for x0, y0, dx, dy in passes:
        sub = samples[y0::dy, x0::dx]
        if sub.size == 0:
            continue
        prev = None
        for row in sub:
            line = pack_row(row.reshape(-1), depth)
            if filt == 1:
                kind, enc = 1, bytes((line[i] - (line[i - bpp] if i >= bpp else 0)) & 0xFF for i in range(len(line)))
            elif filt == 2 and prev is not None:
                kind, enc = 2, bytes((line[i] - prev[i]) & 0xFF for i in range(len(line)))
            else:
                kind, enc = 0, line
            out += bytes([kind]) + enc
            prev = line
    return bytes(out)


def png(samples, depth, colour, interlace=False, palette=None, trns=None, extra=(), filt=0):
    h, w = samples.shape[:2]
    data = b"\x89PNG\r\n\x1a\n"
    data += chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, colour, 0, 0, 1 if interlace else 0))
    for kind, payload in extra:
        data += chunk(kind, payload)
    if palette is not None:
        data += chunk(b"PLTE", bytes(int(v) for v in palette.reshape(-1)))
    if trns is not None:
        data += chunk(b"tRNS", trns)
    data += chunk(b"IDAT", zlib.compress(raw_data(samples, depth, interlace, filt), 9))
    data += chunk(b"IEND", b"")
    return data


def quant(img, depth):
    return np.round(img * ((1 << depth) - 1)).astype(np.int64)


def png_seeds():
    rgb = content(16, 16, 1)
    grey = rgb.mean(axis=-1, keepdims=True)
    alpha = np.linspace(0, 1, 16 * 16).reshape(16, 16, 1)
    seeds = {}
    for d in (1, 2, 4, 8, 16):
        seeds["grey%d.png" % d] = png(quant(grey, d), d, 0, filt=1 if d == 8 else 0)
    seeds["grey8_trns.png"] = png(quant(grey, 8), 8, 0, trns=struct.pack(">H", 128))
    seeds["grey16_trns_adam7.png"] = png(quant(grey, 16), 16, 0, interlace=True, trns=struct.pack(">H", 30000))
    seeds["ga8.png"] = png(quant(np.concatenate([grey, alpha], -1), 8), 8, 4, filt=2)
    seeds["ga16.png"] = png(quant(np.concatenate([grey, alpha], -1), 16), 16, 4)
    seeds["rgb8.png"] = png(quant(rgb, 8), 8, 2, filt=2,
                            extra=[(b"gAMA", struct.pack(">I", 45455)), (b"tEXt", b"Comment\x00unblur seed")])
    seeds["rgb16.png"] = png(quant(rgb, 16), 16, 2, filt=1)
    seeds["rgb16_trns.png"] = png(quant(rgb, 16), 16, 2, trns=struct.pack(">HHH", 0, 65535, 0))
    seeds["rgb8_trns.png"] = png(quant(rgb, 8), 8, 2, trns=struct.pack(">HHH", 255, 0, 26))
    seeds["rgba8.png"] = png(quant(np.concatenate([rgb, alpha], -1), 8), 8, 6, filt=1)
    seeds["rgba16.png"] = png(quant(np.concatenate([rgb, alpha], -1), 16), 16, 6)
    seeds["rgba8_adam7.png"] = png(quant(np.concatenate([rgb, alpha], -1), 8), 8, 6, interlace=True)
    # odd size: Adam7 passes of uneven and empty sizes
    odd = content(7, 13, 2)
    seeds["rgb8_adam7_13x7.png"] = png(quant(odd, 8), 8, 2, interlace=True)
    seeds["grey1_adam7_13x7.png"] = png(quant(odd.mean(-1, keepdims=True), 1), 1, 0, interlace=True)
    seeds["rgb8_1x1.png"] = png(quant(content(1, 1, 3), 8), 8, 2)
    # palettes: index image from the grey levels
    for d in (1, 2, 4, 8):
        n = 1 << d
        idx = quant(grey, d)
        pal = quant(content(1, n, 10 + d)[0], 8)
        trns = bytes(int(v) for v in np.linspace(0, 255, n)[: max(1, n // 2)]) if d in (2, 8) else None
        name = "pal%d%s.png" % (d, "_trns" if trns else "")
        seeds[name] = png(idx, d, 3, palette=pal, trns=trns)
    seeds["pal4_adam7.png"] = png(quant(grey, 4), 4, 3, interlace=True, palette=quant(content(1, 16, 20)[0], 8))
    return seeds


# ---------------------------------------------------------------- JPEG with Pillow
def exif_orientation(value):
    # Minimal big-endian TIFF: IFD0 with one entry, tag 0x0112 SHORT count 1.
    tiff = b"MM\x00\x2a" + struct.pack(">I", 8) + struct.pack(">H", 1)
    tiff += struct.pack(">HHIHH", 0x0112, 3, 1, value, 0) + struct.pack(">I", 0)
    return b"Exif\x00\x00" + tiff


def jpeg(img, **kw):
    buf = io.BytesIO()
    img.save(buf, "JPEG", **kw)
    return buf.getvalue()


def jpeg_seeds():
    rgb = Image.fromarray((content(32, 32, 4) * 255).round().astype(np.uint8), "RGB")
    wide = Image.fromarray((content(16, 24, 5) * 255).round().astype(np.uint8), "RGB")
    odd = Image.fromarray((content(11, 13, 6) * 255).round().astype(np.uint8), "RGB")
    grey = rgb.convert("L")
    seeds = {
        "rgb_420_q75.jpg": jpeg(rgb, quality=75, subsampling=2),
        "rgb_422_q90.jpg": jpeg(rgb, quality=90, subsampling=1),
        "rgb_444_q95.jpg": jpeg(rgb, quality=95, subsampling=0),
        "rgb_progressive.jpg": jpeg(rgb, quality=85, progressive=True),
        "rgb_optimized.jpg": jpeg(rgb, quality=80, optimize=True),
        "grey_baseline.jpg": jpeg(grey, quality=85),
        "grey_progressive.jpg": jpeg(grey, quality=85, progressive=True),
        "cmyk_adobe.jpg": jpeg(rgb.convert("CMYK"), quality=85),
        "odd_13x11.jpg": jpeg(odd, quality=90),
        "one_pixel.jpg": jpeg(Image.new("RGB", (1, 1), (200, 100, 50)), quality=90),
    }
    for o in (3, 6, 8):
        seeds["exif_orientation%d.jpg" % o] = jpeg(wide, quality=85, exif=exif_orientation(o))
    return seeds


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
    for sub, seeds in (("png", png_seeds()), ("jpeg", jpeg_seeds())):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
        for name, data in sorted(seeds.items()):
            assert len(data) < 5000, (name, len(data))
            with open(os.path.join(root, sub, name), "wb") as f:
                f.write(data)
            print("%-28s %5d bytes" % (os.path.join(sub, name), len(data)))


if __name__ == "__main__":
    main()
