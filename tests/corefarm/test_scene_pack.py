"""scene.bin: layout agreement with the C header, BVH validity, sections."""

import re
import struct

import numpy as np
import pytest

from corefarm.scene import load_scene, pack_scene
from corefarm.scene import layout as L
from corefarm.scene.bvh import build_bvh, triangle_bounds

from .tracer_support import OWN_SCENES, TRACER_DIR, shared_scene


def test_record_sizes_match_the_c_header():
    header = (TRACER_DIR / "scene.h").read_text()
    asserted = dict((name, int(size)) for name, size in
                    re.findall(r"sizeof\((\w+)\) == (\d+)", header))
    assert asserted == L.SIZES


def test_record_fields_match_the_c_header_in_order():
    header = (TRACER_DIR / "scene.h").read_text()
    body = re.search(r"typedef struct \{(.*?)\} Settings;", header, re.S).group(1)
    c_names = re.findall(r"(\w+)(?:\[\d+\])?\s*[,;]", re.sub(r"/\*.*?\*/", "", body))
    assert c_names == list(L.SETTINGS.names)


def _sections(blob):
    assert blob[:8] == L.MAGIC
    version, count = struct.unpack_from("<II", blob, 8)
    assert version == L.VERSION
    out = {}
    for i in range(count):
        sec_id, n, offset, size = struct.unpack_from("<IIII", blob, 16 + 16 * i)
        assert offset % 16 == 0 and offset + size <= len(blob)
        out[sec_id] = (n, blob[offset:offset + size])
    return out


def test_packed_scene_sections_and_triangle_order():
    scene = load_scene(shared_scene("00"))
    secs = _sections(pack_scene(scene))
    settings = np.frombuffer(secs[L.SEC_SETTINGS][1], dtype=L.SETTINGS)[0]
    assert settings["width"] == 640 and settings["samples"] == 4
    assert settings["ntri_visible"] == 10
    n_tris, raw = secs[L.SEC_TRIS]
    tris = np.frombuffer(raw, dtype=L.TRI)[:n_tris]
    assert sorted(map(tuple, tris["v"].tolist())) == sorted(
        map(tuple, scene.geometry.tri_verts.tolist()))
    nodes = np.frombuffer(secs[L.SEC_NODES][1], dtype=L.NODE)
    leaves = nodes[nodes["meta"] > 0]
    assert leaves["meta"].sum() == 10


def test_mesh_light_triangles_are_flagged_and_tabled():
    scene = load_scene(OWN_SCENES / "studio.xml")
    secs = _sections(pack_scene(scene))
    n_tris, raw = secs[L.SEC_TRIS]
    tris = np.frombuffer(raw, dtype=L.TRI)[:n_tris]
    lit = np.nonzero(tris["flags"] & L.TRI_LIGHT)[0]
    assert len(lit) == 12                                   # the neon box
    n_lt, raw = secs[L.SEC_LIGHT_TRIS]
    table = np.frombuffer(raw, dtype=L.LIGHT_TRI)[:n_lt]
    assert sorted(table["tri"].tolist()) == lit.tolist()
    assert table["cdf"][-1] == pytest.approx(1.0)
    assert secs[L.SEC_ENV][0] == 1                          # lit by its HDR sky


def _check_bvh(lo, hi, nodes, order):
    n = len(lo)
    leaf = nodes["meta"] > 0
    cnt = nodes["meta"][leaf].astype(int)
    first = nodes["offset"][leaf].astype(int)
    idx = np.concatenate([np.arange(f, f + c) for f, c in zip(first, cnt)])
    assert np.array_equal(np.sort(idx), np.arange(n))        # each slot in one leaf
    assert np.array_equal(np.sort(order), np.arange(n))      # a permutation
    own = np.repeat(np.nonzero(leaf)[0], cnt)
    t = order[idx]
    assert (lo[t] >= nodes["lo"][own]).all() and (hi[t] <= nodes["hi"][own]).all()
    inner = np.nonzero(~leaf)[0]
    child = nodes["offset"][inner].astype(int)
    assert (child > inner).all()
    for c in (child, child + 1):
        assert (nodes["lo"][c] >= nodes["lo"][inner]).all()
        assert (nodes["hi"][c] <= nodes["hi"][inner]).all()


@pytest.mark.parametrize("kind", ["random", "coincident", "line"])
def test_bvh_is_valid_for_awkward_inputs(kind):
    rng = np.random.default_rng(7)
    n = 3000
    if kind == "random":
        c = rng.random((n, 3)) * 100
    elif kind == "coincident":
        c = np.zeros((n, 3))
    else:
        c = np.zeros((n, 3))
        c[:, 0] = np.geomspace(1e-3, 1e3, n)
    pos = (c[:, None, :] + rng.normal(size=(n, 3, 3)) * 0.01).reshape(-1, 3).astype(np.float32)
    lo, hi = triangle_bounds(pos, np.arange(3 * n).reshape(n, 3))
    nodes, order = build_bvh(lo, hi)
    _check_bvh(lo, hi, nodes, order)
    # Depth is bounded (the tracer's traversal stack holds 96 entries).
    depth = np.zeros(len(nodes), int)
    for i in range(len(nodes)):
        if nodes["meta"][i] == 0:
            depth[nodes["offset"][i]] = depth[nodes["offset"][i] + 1] = depth[i] + 1
    assert depth.max() < 90


def test_empty_scene_packs():
    scene = load_scene(shared_scene("03"))
    secs = _sections(pack_scene(scene))
    assert secs[L.SEC_TRIS][0] == 0
