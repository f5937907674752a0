"""The ``render_tile`` request: 160 little-endian bytes (tracer/render.h).

The request names the scene file (``scene.bin``, a job file), the output
image size, the tile, the film window (the part of the camera's pixel space
the whole output image covers), the sample count, the seed and an
integrator override.
"""

import struct
from dataclasses import dataclass

MAGIC = 0x52544643            # "CFTR"
VERSION = 1
SIZE = 160
MAX_TILE_PIXELS = 1 << 22     # tracer/render.h
MAX_SAMPLES = 65536
INTEGRATORS = {"scene": 0, "direct": 1, "path": 2}

_FORMAT = "<II64s6i4d5I12x"
assert struct.calcsize(_FORMAT) == SIZE


@dataclass(frozen=True)
class TileRequest:
    scene_file: str
    img_w: int
    img_h: int
    x0: int
    y0: int
    w: int
    h: int
    film: tuple                # (x0, y0, w, h) in camera pixel space
    samples: int
    seed: int = 0
    integrator: int = 0        # 0 scene, 1 direct, 2 path
    light_samples_cap: int = 0
    flags: int = 0

    def encode(self):
        name = self.scene_file.encode("utf-8")
        if not name or len(name) > 64 or b"\0" in name:
            raise ValueError("scene file name must be 1..64 bytes")
        return struct.pack(_FORMAT, MAGIC, VERSION, name, self.img_w, self.img_h, self.x0,
                           self.y0, self.w, self.h, *map(float, self.film), self.samples,
                           self.seed & 0xFFFFFFFF, self.integrator, self.light_samples_cap,
                           self.flags)

    @classmethod
    def decode(cls, data):
        if len(data) != SIZE:
            raise ValueError(f"a tile request is {SIZE} bytes")
        (magic, version, name, img_w, img_h, x0, y0, w, h, fx, fy, fw, fh, samples, seed,
         integ, cap, flags) = struct.unpack(_FORMAT, data)
        if magic != MAGIC or version != VERSION:
            raise ValueError("not a version 1 tile request")
        return cls(name.rstrip(b"\0").decode("utf-8"), img_w, img_h, x0, y0, w, h,
                   (fx, fy, fw, fh), samples, seed, integ, cap, flags)


def film_window(render, img_w, img_h):
    """The film rectangle the output image covers: the scene's render region
    (``xstart``/``ystart``/``width``/``height``), keeping its width and centre
    and fitting its height to the output's aspect ratio (so ``--size`` never
    stretches the picture). Mirrored by tracer/native_main.c."""
    film_w = float(render.width)
    film_h = film_w * img_h / img_w
    return (float(render.xstart), render.ystart + 0.5 * (render.height - film_h), film_w, film_h)
