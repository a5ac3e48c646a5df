#!/usr/bin/python3
"""Rewrites the CRC of every complete chunk of a PNG file, as fuzz_png does for
inputs of even size before decoding: use it to replay such a crash file with
`unblur info` or any other program.

    /usr/bin/python3 fuzz/fix_png_crc.py IN.png OUT.png
"""
import struct
import sys
import zlib


def fix(data):
    data = bytearray(data)
    p = 8
    while len(data) - p >= 12:
        (n,) = struct.unpack(">I", data[p : p + 4])
        if len(data) - p - 12 < n:
            break
        data[p + 8 + n : p + 12 + n] = struct.pack(">I", zlib.crc32(bytes(data[p + 4 : p + 8 + n])) & 0xFFFFFFFF)
        p += 12 + n
    return bytes(data)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[1], "rb") as f:
        data = f.read()
    with open(sys.argv[2], "wb") as f:
        f.write(fix(data))
