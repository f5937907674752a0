"""A small Radiance .hdr (RGBE) decoder: Pillow cannot read them and YafaRay
scenes often use them for world textures."""

import numpy as np


class HdrError(ValueError):
    pass


def _read_line(data, pos):
    end = data.find(b"\n", pos)
    if end < 0:
        raise HdrError("truncated header")
    return data[pos:end].decode("latin-1"), end + 1


def decode_hdr(data, max_pixels):
    """Return float32 (h, w, 3) linear RGB, row 0 = top."""
    line, pos = _read_line(data, 0)
    if not line.startswith("#?"):
        raise HdrError("not a Radiance file")
    while True:
        line, pos = _read_line(data, pos)
        if line.strip() == "":
            break
        if line.startswith("FORMAT=") and "32-bit_rle_rgbe" not in line:
            raise HdrError("unsupported format " + line)
    line, pos = _read_line(data, pos)
    parts = line.split()
    if len(parts) != 4 or parts[0] not in ("-Y", "+Y") or parts[2] not in ("+X", "-X"):
        raise HdrError("unsupported orientation " + line)
    h, w = int(parts[1]), int(parts[3])
    if w <= 0 or h <= 0 or w * h > max_pixels:
        raise HdrError(f"image size {w}x{h} out of range")
    out = np.empty((h, w, 4), dtype=np.uint8)
    buf = memoryview(data)
    n = len(data)
    for y in range(h):
        if pos + 4 <= n and data[pos] == 2 and data[pos + 1] == 2 and w >= 8 and w < 32768 \
                and (data[pos + 2] << 8 | data[pos + 3]) == w:
            pos += 4
            for c in range(4):
                x = 0
                row = out[y, :, c]
                while x < w:
                    if pos >= n:
                        raise HdrError("truncated pixel data")
                    count = data[pos]
                    pos += 1
                    if count > 128:
                        count -= 128
                        if x + count > w or pos >= n:
                            raise HdrError("bad run length")
                        row[x:x + count] = data[pos]
                        pos += 1
                    else:
                        if count == 0 or x + count > w or pos + count > n:
                            raise HdrError("bad literal run")
                        row[x:x + count] = np.frombuffer(buf[pos:pos + count], np.uint8)
                        pos += count
                    x += count
        else:
            if pos + 4 * w > n:
                raise HdrError("truncated flat scanline")
            out[y] = np.frombuffer(buf[pos:pos + 4 * w], np.uint8).reshape(w, 4)
            pos += 4 * w
    if parts[0] == "+Y":
        out = out[::-1]
    if parts[2] == "-X":
        out = out[:, ::-1]
    e = out[..., 3].astype(np.int32)
    scale = np.where(e > 0, np.ldexp(1.0, e - 136), 0.0).astype(np.float32)
    return out[..., :3].astype(np.float32) * scale[..., None]
