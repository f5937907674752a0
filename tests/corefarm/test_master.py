"""The render master drives a real Grid; tiles run in the real sandbox."""

import io
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from twisted.internet.task import Clock

from corefarm.render.local import render_local, tracer_wasm
from corefarm.render.master import RenderMaster, make_input, parse_input
from corefarm.scene import load_scene
from naclgrid.errors import NoSuchJob
from naclgrid.grid import Grid
from naclgrid.sandbox import Sandbox
from naclgrid.stores.memory import MemoryGridStore
from gridhost.testing import result_of

SCENES = Path("/work/shared/yafaray-scenes") if Path("/work/shared/yafaray-scenes").is_dir() \
    else Path(__file__).resolve().parents[3] / "shared" / "yafaray-scenes"
MINIMAL = SCENES / "00_HANDMADE_minimal_249_style.xml"


@pytest.fixture
def farm():
    clock = Clock()
    clock.advance(1_700_000_000)
    grid = Grid(MemoryGridStore(), clock)
    return grid, RenderMaster(grid, clock, calibrate=False), clock


def agent_pass(grid, box, module, limit=10_000):
    """Pop and run every queued tile, as an agent would; returns how many ran."""
    ran = 0
    while ran < limit:
        tasks = result_of(grid.pop("test-agent", "volunteer", max=64))
        if not tasks:
            return ran
        for task in tasks:
            files = {ref.name: result_of(grid.get_file(ref.sha256)) for ref in task.files}
            output = box.run(module, task.entry, task.input, files)
            result_of(grid.ack(task.job_id, task.slot, task.lease_id, result=output))
            ran += 1
    return ran


def test_input_parsing_follows_the_original_client():
    assert parse_input(b"$scene.xml$ 0") == ("scene.xml", "tga")
    assert parse_input(b"$scene.xml$ 1") == ("scene.xml", "exr")
    assert parse_input(b"$my scene.xml$") == ("my scene.xml", "png")
    assert make_input("scene.xml", "exr") == b"$scene.xml$ 1"
    for bad in (b"", b"scene.xml 0", b"$../x$ 0", b"$s.xml$ 7"):
        with pytest.raises(Exception):
            parse_input(bad)


def test_a_submitted_scene_renders_through_the_grid_like_a_local_render(farm):
    grid, master, _ = farm
    xml = MINIMAL.read_bytes()
    job_id = result_of(master.submit("ada", {"scene.xml": xml},
                                     {"scene": "scene.xml", "width": 48, "height": 36,
                                      "samples": 1, "format": "png"}))
    progress = result_of(master.progress(job_id, "ada"))
    assert progress["state"] == "rendering" and progress["tiles_total"] >= 1
    assert progress["tiles_done"] == 0
    box = Sandbox()
    module = box.load(tracer_wasm())
    assert agent_pass(grid, box, module) == progress["tiles_total"]
    progress = result_of(master.progress(job_id, "ada"))
    assert progress["state"] == "done", progress
    assert progress["tiles_done"] == progress["tiles_total"]
    data, content_type, filename = result_of(master.output(job_id, "ada"))
    assert content_type == "image/png" and filename == f"{job_id}.png"
    image = Image.open(io.BytesIO(data))
    assert image.size == (48, 36)
    # Same pixels as one process rendering the whole image in one tile.
    job, local = render_local(load_scene(xml), size=(48, 36), samples=1)
    expected = Image.open(io.BytesIO(job.encode(local, "png")))
    assert np.array_equal(np.asarray(image), np.asarray(expected))
    assert result_of(grid.get_job(job_id)).state == "stopped"


def test_original_client_archive_and_tga_output(farm):
    grid, master, _ = farm
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        data = MINIMAL.read_bytes()
        info = tarfile.TarInfo("scene.xml")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    job = result_of(grid.new_job("bob", "yafaray", meta={"width": 32, "height": 24, "samples": 1}))
    result_of(grid.drop_file(job.job_id, "job.tar.gz", archive.getvalue(), owner="bob"))
    result_of(grid.start_job(job.job_id, input=b"$scene.xml$ 0", owner="bob"))
    master.start(job.job_id)
    box = Sandbox()
    agent_pass(grid, box, box.load(tracer_wasm()))
    data, content_type, _ = result_of(master.output(job.job_id, "bob"))
    assert content_type == "image/x-tga"
    assert Image.open(io.BytesIO(data)).size == (32, 24)


def test_preview_fills_in_and_other_users_see_nothing(farm):
    grid, master, _ = farm
    job_id = result_of(master.submit("ada", {"s.xml": MINIMAL.read_bytes()},
                                     {"scene": "s.xml", "width": 40, "height": 30, "samples": 1,
                                      "format": "exr"}))
    with pytest.raises(NoSuchJob):
        result_of(master.progress(job_id, "mallory"))
    with pytest.raises(NoSuchJob):
        result_of(master.preview_png(job_id, "mallory"))
    empty = np.asarray(Image.open(io.BytesIO(result_of(master.preview_png(job_id, "ada")))))
    assert empty[..., 3].max() == 0  # nothing rendered yet: fully transparent
    box = Sandbox()
    agent_pass(grid, box, box.load(tracer_wasm()))
    full = np.asarray(Image.open(io.BytesIO(result_of(master.preview_png(job_id, "ada")))))
    assert full[..., 3].min() > 0
    data, content_type, _ = result_of(master.output(job_id, "ada"))
    assert content_type == "image/x-exr" and data[:4] == b"\x76\x2f\x31\x01"


def test_a_broken_scene_fails_the_job_with_its_reason(farm):
    grid, master, _ = farm
    job_id = result_of(master.submit("ada", {"scene.xml": b"<scene><mesh"},
                                     {"scene": "scene.xml", "format": "png"}))
    progress = result_of(master.progress(job_id, "ada"))
    assert progress["state"] == "failed"
    assert progress["error"].startswith("scene.xml: ")
    assert result_of(grid.get_job(job_id)).state == "failed"


def test_a_cancelled_job_stops_its_master(farm):
    grid, master, _ = farm
    job_id = result_of(master.submit("ada", {"scene.xml": MINIMAL.read_bytes()},
                                     {"scene": "scene.xml", "width": 16, "height": 16,
                                      "samples": 1, "format": "png"}))
    result_of(grid.stop_job(job_id, "cancelled", owner="ada"))
    assert result_of(master.progress(job_id, "ada"))["state"] == "cancelled"
    assert not master._running
