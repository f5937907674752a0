"""Image files from a linear float render: PNG (the default), TGA (the
original Corefarm's "0" output) and EXR floats (its "1" output)."""

import io
import os

from PIL import Image

from .exr import exr_bytes
from .tonemap import to_8bit

FORMATS = {".png": "png", ".tga": "tga", ".exr": "exr"}


def format_for(path):
    ext = os.path.splitext(str(path))[1].lower()
    if ext not in FORMATS:
        raise ValueError(f"unsupported output format {ext or '(none)'}: use .png, .tga or .exr")
    return FORMATS[ext]


def encode_image(image, fmt, output_space="srgb", gamma=2.2, alpha=True):
    """Bytes of the image file. ``image`` is (h, w, 4) linear float RGBA.
    EXR keeps linear floats; PNG and TGA are display-encoded 8-bit."""
    if fmt == "exr":
        return exr_bytes(image if alpha else image[..., :3], "RGBA" if alpha else "RGB")
    pixels = to_8bit(image, output_space, gamma, alpha=alpha)
    im = Image.fromarray(pixels, "RGBA" if alpha else "RGB")
    out = io.BytesIO()
    if fmt == "png":
        im.save(out, format="PNG", optimize=False)
    elif fmt == "tga":
        im.save(out, format="TGA", compression="tga_rle")
    else:
        raise ValueError(f"unknown image format {fmt!r}")
    return out.getvalue()


def write_image(path, image, output_space="srgb", gamma=2.2, alpha=True, fmt=None):
    """Write ``image`` to ``path``; the format follows the extension."""
    data = encode_image(image, fmt or format_for(path), output_space, gamma, alpha)
    tmp = f"{path}.part"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
    return len(data)
