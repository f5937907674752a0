"""Splitting an image into tiles, and choosing how many."""

import math
from dataclasses import dataclass

from .request import MAX_TILE_PIXELS

TARGET_SECONDS = (1.0, 5.0)


@dataclass(frozen=True)
class Tile:
    x0: int
    y0: int
    w: int
    h: int

    @property
    def pixels(self):
        return self.w * self.h


def _cuts(total, parts):
    return [total * i // parts for i in range(parts + 1)]


def split_grid(width, height, cols, rows):
    """``cols`` x ``rows`` tiles covering the image, row by row; sizes differ
    by at most one pixel."""
    if width <= 0 or height <= 0:
        raise ValueError("image size must be positive")
    cols, rows = max(1, min(cols, width)), max(1, min(rows, height))
    xs, ys = _cuts(width, cols), _cuts(height, rows)
    return [Tile(xs[i], ys[j], xs[i + 1] - xs[i], ys[j + 1] - ys[j])
            for j in range(rows) for i in range(cols)]


def split_by_size(width, height, tile_w, tile_h):
    """Tiles of ``tile_w`` x ``tile_h`` (smaller at the right and bottom edges)."""
    if tile_w <= 0 or tile_h <= 0:
        raise ValueError("tile size must be positive")
    return [Tile(x, y, min(tile_w, width - x), min(tile_h, height - y))
            for y in range(0, height, tile_h) for x in range(0, width, tile_w)]


def choose_grid(width, height, seconds_per_pixel, target=TARGET_SECONDS, max_tiles=4096):
    """(cols, rows) so that one tile takes about ``target`` seconds on the
    machine the estimate came from (the geometric middle of the range), with
    tiles roughly square and never above the tracer's pixel cap."""
    lo, hi = target
    goal = math.sqrt(lo * hi)
    total = max(seconds_per_pixel, 0.0) * width * height
    count = max(1, math.ceil(total / goal)) if total > 0 else 1
    count = max(count, math.ceil(width * height / MAX_TILE_PIXELS))
    count = min(count, max_tiles, width * height)
    aspect = width / height
    cols = max(1, min(width, round(math.sqrt(count * aspect))))
    rows = max(1, min(height, math.ceil(count / cols)))
    while (width / cols) * (height / rows) > MAX_TILE_PIXELS:
        rows += 1
    return cols, rows


def parse_grid(text):
    """'7x5' -> (7, 5)."""
    try:
        cols, rows = (int(p) for p in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"tiles must look like CxR, e.g. 7x5, not {text!r}") from None
    if not (1 <= cols <= 1024 and 1 <= rows <= 1024):
        raise ValueError("tiles: 1..1024 columns and rows")
    return cols, rows
