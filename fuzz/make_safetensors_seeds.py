"""Writes the seed corpus of fuzz_safetensors to fuzz/corpus/safetensors/ (deterministic).

    /usr/bin/python3 fuzz/make_safetensors_seeds.py      # from the project root

Two files from ../shared/peers/rbnet.py's save_safetensors (the numpy writer that the
PyTorch side uses; the same as tests/data/st_numpy*.safetensors), and three written here
byte by byte for what that writer cannot make: BF16, rank 0, empty tensors, every dtype."""
import json
import os
import struct
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "..", "shared", "peers"))
import rbnet  # noqa: E402

OUT = os.path.join(ROOT, "fuzz", "corpus", "safetensors")


def raw(path, entries, metadata=None):
    """entries: (name, dtype, shape, bytes); the header padded with spaces to a multiple of 8."""
    header, blobs, offset = {}, [], 0
    for name, dtype, shape, data in entries:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(os.path.join(OUT, path), "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


os.makedirs(OUT, exist_ok=True)
rbnet.save_safetensors(os.path.join(OUT, "numpy_f32_f16.safetensors"), {
    "head.weight": np.arange(24, dtype=np.float32).reshape(2, 3, 2, 2) * np.float32(0.25) - np.float32(3),
    "head.bias": np.array([0.1, -2.5, 3e38], np.float32),
    "half": np.array([1, 1 / 3, -0.0, 65504, 6e-8, 1e-5, np.inf, -np.inf, np.nan], np.float16)},
    {"arch": "rbnet", "width": 8, "blocks": 1})
rbnet.save_safetensors(os.path.join(OUT, "numpy_mixed.safetensors"), {
    "d": np.array([[1 / 3, -1e300], [1e-300, 2.5]]), "i": np.array([1, -2, 3], np.int64),
    "s": np.array(7.5, np.float32), "e": np.zeros((0, 3), np.float32), "u8": np.array([1, 2, 3], np.uint8)})
bf16 = np.array([1.0, -2.0, np.inf, np.nan], np.float32).view(np.uint32) >> 16
raw("bf16_scalar_empty.safetensors", [
    ("b", "BF16", [2, 2], bf16.astype("<u2").tobytes()),
    ("s", "F32", [], np.array([0.5], "<f4").tobytes()),
    ("z", "F16", [0, 4], b"")], {"arch": "rbnet", "depth": "2"})
raw("empty.safetensors", [])
sizes = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
         "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8}
raw("every_dtype.safetensors",
    [(d.lower(), d, [1] * (1 + i % 8), bytes(range(1, 1 + n))) for i, (d, n) in enumerate(sizes.items())])
