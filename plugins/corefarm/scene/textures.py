"""``<texture>`` blocks and their images (decoded with Pillow; .hdr by
:mod:`.hdr`). A texture we cannot read becomes a warning and the shader nodes
that use it fall back to the material's own colour."""

import io
import os
import posixpath

import numpy as np
from PIL import Image as PILImage

from .colors import srgb_to_linear
from .hdr import HdrError, decode_hdr
from .model import Image, Texture

PROCEDURAL = {"clouds", "marble", "wood", "blend", "musgrave", "voronoi",
              "distorted_noise", "rgb_cube"}
CLIPPING = {"repeat": 0, "extend": 1, "clip": 2, "clipcube": 3, "checker": 4}
SHAPES = {"sin": 0, "saw": 1, "tri": 2}
BLEND_TYPES = {"lin": 0, "quad": 1, "ease": 2, "diag": 3, "sphere": 4, "halo": 5,
               "radial": 6}
MAX_TEXTURE_SIDE = 4096
MAX_DECODE_PIXELS = 64 * 1024 * 1024


class Resources:
    """Finds texture files named by a scene, confined to one directory (or a
    mapping of names to bytes). Absolute exporter paths are looked up by their
    base name, as Corefarm's uploader did."""

    def __init__(self, base_dir=None, files=None, max_bytes=256 * 1024 * 1024):
        self.base_dir = os.path.realpath(base_dir) if base_dir else None
        self.files = dict(files or {})
        self.max_bytes = max_bytes
        # Exporters wrote absolute paths; an uploaded archive may keep the
        # texture in a sub-folder, so unique base names also find it.
        by_base = {}
        for name in self.files:
            by_base.setdefault(posixpath.basename(name), []).append(name)
        self._by_base = {b: names[0] for b, names in by_base.items() if len(names) == 1}

    def candidates(self, name):
        norm = name.replace("\\", "/")
        out = []
        if not norm.startswith("/") and ":" not in norm.split("/")[0]:
            rel = posixpath.normpath(norm)
            if not rel.startswith("../") and rel != "..":
                out.append(rel)
        base = posixpath.basename(norm)
        if base and base not in out:
            out.append(base)
        return out

    def read(self, name):
        for cand in self.candidates(name):
            if cand in self.files:
                return self.files[cand]
            if "/" not in cand and cand in self._by_base:
                return self.files[self._by_base[cand]]
            if self.base_dir:
                path = os.path.realpath(os.path.join(self.base_dir, cand))
                if not path.startswith(self.base_dir + os.sep):
                    continue
                if os.path.isfile(path):
                    if os.path.getsize(path) > self.max_bytes:
                        return None
                    with open(path, "rb") as f:
                        return f.read()
        return None


def _lut(space, gamma):
    x = np.arange(256, dtype=np.float64) / 255.0
    if space == "srgb":
        return np.array([srgb_to_linear(v) for v in x], dtype=np.float32)
    if space == "gamma" and gamma > 0 and abs(gamma - 1.0) > 1e-3:
        return (x ** gamma).astype(np.float32)
    return x.astype(np.float32)


def decode_image(name, data, space, gamma, warnings):
    """Decode bytes into an :class:`Image`, or None (with a warning)."""
    lower = name.lower()
    try:
        if lower.endswith(".hdr") or data[:2] == b"#?":
            rgb = decode_hdr(data, MAX_DECODE_PIXELS)
            h, w = rgb.shape[:2]
            pixels = np.concatenate([rgb, np.ones((h, w, 1), np.float32)], axis=2)
            return _limit(Image(name, w, h, np.ascontiguousarray(pixels)), warnings)
        if lower.endswith(".exr") or data[:4] == b"\x76\x2f\x31\x01":
            warnings.add(f"texture '{name}': OpenEXR textures are not supported; "
                         "using the material colour instead")
            return None
        with PILImage.open(io.BytesIO(data)) as im:
            w, h = im.size
            if w * h > MAX_DECODE_PIXELS:
                warnings.add(f"texture '{name}': {w}x{h} is too large; ignored")
                return None
            im.draft("RGBA", (MAX_TEXTURE_SIDE, MAX_TEXTURE_SIDE))
            rgba = im.convert("RGBA")
            if max(rgba.size) > MAX_TEXTURE_SIDE:
                rgba.thumbnail((MAX_TEXTURE_SIDE, MAX_TEXTURE_SIDE))
                warnings.add(f"texture '{name}': downscaled to {rgba.size[0]}x{rgba.size[1]}")
            pixels = np.asarray(rgba, dtype=np.uint8).copy()
    except (OSError, ValueError, HdrError, SyntaxError, PILImage.DecompressionBombError) as exc:
        warnings.add(f"texture '{name}': cannot decode image ({exc}); "
                     "using the material colour instead")
        return None
    h, w = pixels.shape[:2]
    return Image(name, w, h, np.ascontiguousarray(pixels), _lut(space, gamma))


def _limit(image, warnings):
    side = max(image.width, image.height)
    if side <= MAX_TEXTURE_SIDE:
        return image
    step = -(-side // MAX_TEXTURE_SIDE)
    px = image.pixels[::step, ::step]
    warnings.add(f"texture '{image.name}': downscaled to {px.shape[1]}x{px.shape[0]}")
    return Image(image.name, px.shape[1], px.shape[0], np.ascontiguousarray(px))


def build_texture(name, params, dialect, resources, images, warnings):
    """Return a :class:`Texture` or None when the texture is unusable."""
    kind = params.str("type", "")
    where = f"texture '{name}'"
    if kind == "image":
        return _image_texture(name, params, dialect, resources, images, warnings)
    if kind not in PROCEDURAL:
        warnings.add(f"{where}: texture type '{kind}' is not supported; ignored")
        return None
    tex = Texture(kind=kind, name=name)
    tex.color1 = params.color("color1", (0.0, 0.0, 0.0))
    tex.color2 = params.color("color2", (1.0, 1.0, 1.0))
    tex.size = params.float("size", 1.0)
    tex.depth = max(0, min(params.int("depth", 2), 12))
    tex.hard = params.bool("hard", False)
    tex.turbulence = params.float("turbulence", 1.0)
    tex.sharpness = max(1.0, params.float("sharpness", 1.0))
    tex.shape = SHAPES.get(params.str("shape", "sin"), 0)
    tex.wood_rings = params.str("wood_type", "bands") == "rings"
    tex.stype = BLEND_TYPES.get(params.str("stype", "lin"), 0)
    tex.intensity = params.float("intensity", 1.0)
    if kind == "musgrave":
        tex.depth = max(1, min(int(params.float("octaves", 2.0)), 12))
    if kind in ("voronoi", "distorted_noise", "musgrave"):
        warnings.add(f"{where}: '{kind}' is approximated with Perlin noise")
    return tex


def _image_texture(name, params, dialect, resources, images, warnings):
    filename = params.str("filename", "")
    image_index = images.get(filename)
    if image_index is None:
        data = resources.read(filename) if filename else None
        if data is None:
            warnings.add(f"texture '{name}': image file '{filename}' not found; "
                         "using the material colour instead")
            return None
        if dialect == "v3":
            space = {"srgb": "srgb", "linearrgb": "linear", "raw_manual_gamma": "gamma",
                     "xyz": "linear"}.get(params.str("color_space", "sRGB").lower(), "srgb")
            if space == "gamma":
                gamma = params.float("gamma", 1.0)
            else:
                gamma = 1.0
        else:
            space, gamma = "gamma", params.float("gamma", 1.0)
        image = decode_image(filename, data, space, gamma, warnings)
        if image is None:
            return None
        image_index = images.add(filename, image)
    tex = Texture(kind="image", name=name, image=image_index)
    tex.xrepeat = max(1, params.int("xrepeat", 1))
    tex.yrepeat = max(1, params.int("yrepeat", 1))
    tex.clipping = CLIPPING.get(params.str("clipping", "repeat"), 0)
    tex.crop = (params.float("cropmin_x", 0.0), params.float("cropmin_y", 0.0),
                params.float("cropmax_x", 1.0), params.float("cropmax_y", 1.0))
    tex.rot90 = params.bool("rot90", False)
    tex.interpolate = 0 if params.str("interpolate", "bilinear") == "none" else 1
    tex.use_alpha = params.bool("use_alpha", True)
    tex.normalmap = params.bool("normalmap", False)
    if params.str("interpolate", "bilinear") == "bicubic":
        warnings.add(f"texture '{name}': bicubic interpolation approximated by bilinear")
    return tex


class ImageTable:
    """Images shared between textures that name the same file."""

    def __init__(self):
        self.images = []
        self._by_name = {}

    def get(self, filename):
        return self._by_name.get(filename)

    def add(self, filename, image):
        self._by_name[filename] = len(self.images)
        self.images.append(image)
        return len(self.images) - 1
