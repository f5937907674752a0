"""Gathering tile results (float32 RGBA) into one image."""

import numpy as np


class IncompleteImage(Exception):
    """Some tiles have not been added yet."""


class Assembler:
    """Collects tile payloads into a (height, width, 4) float32 image.

    A payload is validated (exact size) before it touches the image, and
    non-finite values become 0, so a misbehaving agent can spoil at most its
    own tile."""

    def __init__(self, width, height, tiles=None):
        self.width, self.height = width, height
        self.image = np.zeros((height, width, 4), dtype=np.float32)
        self._expected = set(tiles) if tiles is not None else None
        self._done = set()

    def add(self, tile, payload):
        if tile.x0 < 0 or tile.y0 < 0 or tile.x0 + tile.w > self.width \
                or tile.y0 + tile.h > self.height:
            raise ValueError(f"tile {tile} is outside the {self.width}x{self.height} image")
        if self._expected is not None and tile not in self._expected:
            raise ValueError(f"tile {tile} is not part of this render")
        expected = tile.w * tile.h * 16
        if len(payload) != expected:
            raise ValueError(f"tile result is {len(payload)} bytes, expected {expected}")
        data = np.frombuffer(payload, dtype="<f4").reshape(tile.h, tile.w, 4)
        data = np.nan_to_num(data, nan=0.0, posinf=0.0, neginf=0.0)
        self.image[tile.y0:tile.y0 + tile.h, tile.x0:tile.x0 + tile.w] = data
        self._done.add(tile)

    @property
    def complete(self):
        return self._expected is not None and self._done >= self._expected

    def missing(self):
        return sorted(self._expected - self._done, key=lambda t: (t.y0, t.x0)) \
            if self._expected is not None else []

    def result(self):
        if self._expected is not None and not self.complete:
            raise IncompleteImage(f"{len(self.missing())} tiles missing")
        return self.image
