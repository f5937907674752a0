"""A minimal OpenEXR writer: single-part scanline image, no compression,
32-bit float channels. Enough for renders to open in any EXR reader; no
dependency for a format we only ever write."""

import struct

import numpy as np

MAGIC = 20000630
FLOAT = 2


def _attr(name, kind, value):
    return name.encode() + b"\0" + kind.encode() + b"\0" + struct.pack("<i", len(value)) + value


def exr_bytes(image, channels="RGBA"):
    """Encode a (h, w, len(channels)) float array as OpenEXR bytes."""
    image = np.asarray(image, dtype=np.float32)
    h, w = image.shape[:2]
    if image.ndim != 3 or image.shape[2] != len(channels):
        raise ValueError("image must be (height, width, channels)")
    # Channels are stored in alphabetical order (A, B, G, R).
    order = sorted(range(len(channels)), key=lambda i: channels[i])
    chlist = b"".join(channels[i].encode() + b"\0" + struct.pack("<iB3xii", FLOAT, 0, 1, 1)
                      for i in order) + b"\0"
    box = struct.pack("<iiii", 0, 0, w - 1, h - 1)
    header = (struct.pack("<ii", MAGIC, 2)
              + _attr("channels", "chlist", chlist)
              + _attr("compression", "compression", b"\0")
              + _attr("dataWindow", "box2i", box)
              + _attr("displayWindow", "box2i", box)
              + _attr("lineOrder", "lineOrder", b"\0")
              + _attr("pixelAspectRatio", "float", struct.pack("<f", 1.0))
              + _attr("screenWindowCenter", "v2f", struct.pack("<ff", 0.0, 0.0))
              + _attr("screenWindowWidth", "float", struct.pack("<f", 1.0))
              + b"\0")
    line_bytes = w * 4 * len(channels)
    block = 8 + line_bytes
    first = len(header) + 8 * h
    offsets = struct.pack(f"<{h}Q", *(first + y * block for y in range(h)))
    planar = np.ascontiguousarray(image[:, :, order].transpose(0, 2, 1)).astype("<f4")
    body = bytearray()
    for y in range(h):
        body += struct.pack("<ii", y, line_bytes)
        body += planar[y].tobytes()
    return header + offsets + bytes(body)
