"""Rendering through the sandbox: determinism across tilings and hosts, and
what a malformed task gets back."""

import shutil
import subprocess

import numpy as np
import pytest

from corefarm.render.job import RenderJob
from corefarm.render.local import LocalRunner, render_job
from corefarm.render.request import TileRequest
from corefarm.render.tiles import Tile
from corefarm.scene import load_scene
from naclgrid.sandbox import TaskFailure

from .tracer_support import OWN_SCENES, ROOT, TRACER_DIR, shared_scene

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def handmade_job():
    return RenderJob.prepare(load_scene(shared_scene("00")), size=(70, 50), samples=2)


def test_one_tile_and_a_7x5_split_are_byte_identical(handmade_job):
    runner = LocalRunner(handmade_job)
    whole = render_job(handmade_job, handmade_job.grid(1, 1), runner)
    split = render_job(handmade_job, handmade_job.grid(7, 5), runner)
    assert whole.tobytes() == split.tobytes()
    assert whole[..., :3].max() > 0.1                       # not trivially black


def test_wide_filter_and_path_tracing_are_split_invariant_too():
    scene = load_scene(OWN_SCENES / "features.xml")          # gauss filter, radius 1.5 px
    job = RenderJob.prepare(scene, size=(48, 36), samples=1, integrator="path")
    runner = LocalRunner(job)
    whole = render_job(job, job.grid(1, 1), runner)
    split = render_job(job, job.grid(7, 5), runner)
    assert whole.tobytes() == split.tobytes()


def test_seed_changes_the_noise_not_the_picture(handmade_job):
    from dataclasses import replace
    runner = LocalRunner(handmade_job)
    a = render_job(handmade_job, handmade_job.grid(1, 1), runner)
    b = render_job(replace(handmade_job, seed=99), handmade_job.grid(1, 1), runner)
    assert a.tobytes() != b.tobytes()
    assert abs(a[..., :3].mean() - b[..., :3].mean()) < 0.05 * a[..., :3].mean()


@pytest.mark.parametrize("which", ["handmade-direct", "studio-path"])
def test_node_and_wasmtime_give_identical_tiles(tmp_path, handmade_job, which):
    node = shutil.which("node")
    assert node, "node is required"
    if which == "handmade-direct":
        job, tile = handmade_job, Tile(5, 7, 40, 30)
    else:       # textures, HDR importance sampling, mesh and sphere lights, path tracing
        job = RenderJob.prepare(load_scene(OWN_SCENES / "studio.xml"), size=(64, 48),
                                samples=2, integrator="path")
        tile = Tile(10, 10, 30, 20)
    (task,) = job.tasks([tile])
    expected = LocalRunner(job).run(task)
    (tmp_path / "req.bin").write_bytes(task.input)
    (tmp_path / "scene.bin").write_bytes(job.scene_bin)
    proc = subprocess.run(
        [node, str(ROOT / "tests/corefarm/node_run_tile.mjs"), str(TRACER_DIR / "tracer.wasm"),
         "render_tile", str(tmp_path / "req.bin"), str(tmp_path / "out.bin"),
         f"scene.bin={tmp_path / 'scene.bin'}"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "out.bin").read_bytes() == expected


def test_node_host_reports_failures_with_the_sandbox_kinds(tmp_path):
    node = shutil.which("node")
    (tmp_path / "req.bin").write_bytes(b"too short")
    proc = subprocess.run(
        [node, str(ROOT / "tests/corefarm/node_run_tile.mjs"), str(TRACER_DIR / "tracer.wasm"),
         "render_tile", str(tmp_path / "req.bin"), str(tmp_path / "out.bin")],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3
    assert proc.stdout.startswith("app_error: tile request must be 160 bytes")


def _run(job, payload, files=None):
    runner = LocalRunner(job)
    return runner.box.run(runner.app, "render_tile", payload,
                          files=job.files if files is None else files, limits=runner.limits)


@pytest.mark.parametrize("mutate, message", [
    (lambda r: r[:100], "160 bytes"),
    (lambda r: b"XXXX" + r[4:], "version 1 tile request"),
    (lambda r: r[:88] + (10 ** 6).to_bytes(4, "little") + r[92:], "does not fit"),
    (lambda r: r[:128] + (0).to_bytes(4, "little") + r[132:], "samples"),
])
def test_bad_requests_fail_cleanly(handmade_job, mutate, message):
    good = handmade_job.request(Tile(0, 0, 8, 8))
    with pytest.raises(TaskFailure) as info:
        _run(handmade_job, mutate(good))
    assert info.value.kind == "app_error" and message in info.value.message


@pytest.mark.parametrize("blob, message", [
    (None, "missing"),
    (b"garbage" * 10, "not a corefarm scene.bin"),
])
def test_missing_or_corrupt_scene_file_fails_cleanly(handmade_job, blob, message):
    files = {} if blob is None else {"scene.bin": blob}
    with pytest.raises(TaskFailure) as info:
        _run(handmade_job, handmade_job.request(Tile(0, 0, 8, 8)), files)
    assert info.value.kind == "app_error" and message in info.value.message


def test_corrupted_indices_in_scene_bin_are_caught(handmade_job):
    blob = bytearray(handmade_job.scene_bin)
    # Point the first triangle's first vertex far outside the vertex array.
    import struct
    count = struct.unpack_from("<I", blob, 12)[0]
    for i in range(count):
        sec_id, n, offset, size = struct.unpack_from("<IIII", blob, 16 + 16 * i)
        if sec_id == 6:
            struct.pack_into("<I", blob, offset, 10 ** 9)
    with pytest.raises(TaskFailure) as info:
        _run(handmade_job, handmade_job.request(Tile(0, 0, 8, 8)), {"scene.bin": bytes(blob)})
    assert "vertex out of range" in info.value.message


def test_stats_entry_counts_rays(handmade_job):
    runner = LocalRunner(handmade_job)
    out = runner.box.run(runner.app, "stats", b"", files={}, limits=runner.limits)
    assert int.from_bytes(out, "little") == 0                # a fresh instance


def test_request_round_trip():
    req = TileRequest("scene.bin", 640, 480, 10, 20, 30, 40, (0.0, 60.0, 640.0, 360.0), 4, 7, 2)
    assert TileRequest.decode(req.encode()) == req
    with pytest.raises(ValueError):
        TileRequest("x" * 65, 1, 1, 0, 0, 1, 1, (0, 0, 1, 1), 1).encode()


def test_render_region_shows_that_part_of_the_frame():
    """<render> xstart/ystart/width/height select film pixels: a region
    render matches the same pixels of the full frame (up to sampling noise)."""
    from corefarm.render.local import render_local
    scene = load_scene(shared_scene("04"))
    _, full = render_local(scene, size=(480, 270), samples=2)
    scene.render.xstart, scene.render.ystart = 200, 90
    scene.render.width, scene.render.height = 120, 80
    _, part = render_local(scene, samples=2)
    assert part.shape == (80, 120, 4)
    crop = full[90:170, 200:320]
    inner = (slice(3, -3), slice(3, -3), slice(0, 3))
    assert abs(part[inner] - crop[inner]).mean() < 0.01
    assert abs(part[inner] - full[0:80, 0:120][inner]).mean() > 0.02    # not just any part


def test_calibration_and_default_sample_budget():
    from corefarm.render.local import seconds_per_pixel
    from corefarm.render.tiles import choose_grid
    job = RenderJob.prepare(load_scene(OWN_SCENES / "cornell.xml"), size=(64, 64))
    assert job.samples == 4 * 16           # AA samples x path_samples (capped at 16)
    spp = seconds_per_pixel(job, probe=8)
    assert spp > 0
    cols, rows = choose_grid(job.width, job.height, spp)
    assert cols >= 1 and rows >= 1


@pytest.mark.parametrize("kind", ["perspective", "architect", "orthographic", "angular"])
def test_every_camera_model_renders(kind):
    from corefarm.render.local import render_local
    xml = shared_scene("00").read_bytes().replace(
        b'<type sval="perspective"/>', f'<type sval="{kind}"/><scale fval="12"/>'
        f'<angle fval="60"/>'.encode())
    scene = load_scene(xml)
    assert scene.camera.kind == kind
    _, image = render_local(scene, size=(32, 24), samples=1)
    rgb = image[..., :3]
    assert np.isfinite(rgb).all() and rgb.max() > 0.5
    if kind == "angular":                  # outside the fisheye circle nothing is seen
        assert rgb[0, 0].max() == 0.0
