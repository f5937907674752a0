"""Tiling, assembly, tone mapping and the PNG / TGA / EXR writers."""

import io
import struct

import numpy as np
import pytest
from PIL import Image

from corefarm.render.assemble import Assembler, IncompleteImage
from corefarm.render.exr import exr_bytes
from corefarm.render.request import MAX_TILE_PIXELS, film_window
from corefarm.render.tiles import Tile, choose_grid, parse_grid, split_by_size, split_grid
from corefarm.render.tonemap import encode, to_8bit
from corefarm.render.writers import encode_image, format_for, write_image
from corefarm.scene.model import RenderSettings


def _coverage(tiles, w, h):
    cover = np.zeros((h, w), int)
    for t in tiles:
        cover[t.y0:t.y0 + t.h, t.x0:t.x0 + t.w] += 1
    return cover


@pytest.mark.parametrize("w, h, cols, rows", [(640, 480, 7, 5), (13, 7, 20, 20), (1, 1, 3, 3)])
def test_split_grid_covers_every_pixel_once(w, h, cols, rows):
    tiles = split_grid(w, h, cols, rows)
    assert (_coverage(tiles, w, h) == 1).all()
    widths = {t.w for t in tiles}
    assert max(widths) - min(widths) <= 1


def test_split_by_size_covers_every_pixel_once():
    tiles = split_by_size(100, 70, 32, 32)
    assert len(tiles) == 4 * 3 and (_coverage(tiles, 100, 70) == 1).all()


def test_choose_grid_targets_one_to_five_seconds_per_tile():
    cols, rows = choose_grid(640, 480, seconds_per_pixel=1e-4)   # 30.7 s in all
    per_tile = 1e-4 * 640 * 480 / (cols * rows)
    assert 1.0 <= per_tile <= 5.0
    assert choose_grid(64, 64, seconds_per_pixel=1e-7) == (1, 1)
    c, r = choose_grid(8192, 8192, seconds_per_pixel=0.0)
    assert (8192 / c) * (8192 / r) <= MAX_TILE_PIXELS


def test_parse_grid():
    assert parse_grid("7x5") == (7, 5)
    for bad in ("7", "0x5", "axb", "5000x1"):
        with pytest.raises(ValueError):
            parse_grid(bad)


def test_film_window_keeps_the_region_and_fits_the_aspect():
    r = RenderSettings(width=640, height=480, xstart=10, ystart=-20)
    assert film_window(r, 160, 120) == (10.0, -20.0, 640.0, 480.0)
    x0, y0, fw, fh = film_window(r, 200, 100)
    assert (fw, fh) == (640.0, 320.0) and y0 == pytest.approx(-20 + 80)


def test_assembler_places_tiles_and_rejects_bad_payloads():
    tiles = split_grid(4, 2, 2, 1)
    asm = Assembler(4, 2, tiles)
    with pytest.raises(IncompleteImage):
        asm.result()
    left = np.full((2, 2, 4), 1.0, np.float32)
    asm.add(tiles[0], left.tobytes())
    with pytest.raises(ValueError, match="bytes, expected"):
        asm.add(tiles[1], b"\0" * 10)
    with pytest.raises(ValueError, match="not part of this render"):
        asm.add(Tile(0, 0, 1, 1), b"\0" * 16)
    right = np.full((2, 2, 4), np.nan, np.float32)
    asm.add(tiles[1], right.tobytes())
    image = asm.result()
    assert (image[:, :2] == 1).all() and (image[:, 2:] == 0).all()
    assert asm.missing() == []


def test_tonemap_gamma_and_srgb():
    assert encode(np.array([0.25]), "gamma", 2.0)[0] == pytest.approx(0.5)
    assert encode(np.array([0.0031308]), "srgb")[0] == pytest.approx(0.04045, abs=1e-4)
    assert encode(np.array([-1.0, 0.5]), "linear").tolist() == [0.0, 0.5]
    px = to_8bit(np.array([[[2.0, 0.5, 0.0, 1.0]]], np.float32), "linear")
    assert px.tolist() == [[[255, 128, 0, 255]]]


def read_exr(data):
    """A tiny reader for uncompressed scanline EXR files (the test's oracle)."""
    magic, version = struct.unpack_from("<ii", data, 0)
    assert magic == 20000630 and version & 0xFF == 2
    pos, attrs = 8, {}
    while data[pos] != 0:
        end = data.index(b"\0", pos)
        name = data[pos:end].decode()
        tend = data.index(b"\0", end + 1)
        kind = data[end + 1:tend].decode()
        (size,) = struct.unpack_from("<i", data, tend + 1)
        attrs[name] = (kind, data[tend + 5:tend + 5 + size])
        pos = tend + 5 + size
    pos += 1
    channels, raw = [], attrs["channels"][1]
    p = 0
    while raw[p] != 0:
        end = raw.index(b"\0", p)
        ptype = struct.unpack_from("<i", raw, end + 1)[0]
        channels.append((raw[p:end].decode(), ptype))
        p = end + 1 + 16
    assert attrs["compression"][1] == b"\0"
    x0, y0, x1, y1 = struct.unpack("<iiii", attrs["dataWindow"][1])
    w, h = x1 - x0 + 1, y1 - y0 + 1
    offsets = struct.unpack_from(f"<{h}Q", data, pos)
    out = {name: np.zeros((h, w), np.float32) for name, _ in channels}
    for off in offsets:
        y, size = struct.unpack_from("<ii", data, off)
        assert size == w * 4 * len(channels)
        line = np.frombuffer(data, "<f4", w * len(channels), off + 8).reshape(len(channels), w)
        for k, (name, ptype) in enumerate(channels):
            assert ptype == 2
            out[name][y - y0] = line[k]
    return out


def test_exr_round_trips_floats():
    rng = np.random.default_rng(3)
    image = (rng.random((5, 7, 4)) * 10).astype(np.float32)
    image[0, 0] = [1e6, -2.5, 0.0, 0.5]
    back = read_exr(exr_bytes(image))
    assert list(back) == ["A", "B", "G", "R"]
    for k, name in enumerate("RGBA"):
        assert np.array_equal(back[name], image[..., k])


@pytest.mark.parametrize("ext", [".png", ".tga"])
def test_png_and_tga_read_back(tmp_path, ext):
    image = np.zeros((3, 4, 4), np.float32)
    image[..., 0] = 1.0
    image[..., 3] = 1.0
    path = tmp_path / f"out{ext}"
    write_image(path, image, "linear")
    with Image.open(path) as im:
        assert im.size == (4, 3)
        assert im.convert("RGBA").getpixel((1, 1)) == (255, 0, 0, 255)


def test_output_format_follows_the_extension():
    assert format_for("a.PNG") == "png" and format_for("x/b.exr") == "exr"
    with pytest.raises(ValueError, match="unsupported output format"):
        format_for("a.jpg")
    png = encode_image(np.zeros((1, 1, 4), np.float32), "png")
    assert Image.open(io.BytesIO(png)).format == "PNG"
