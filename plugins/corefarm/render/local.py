"""Rendering in this process through the naclgrid sandbox: for tests,
reference images, calibration and benchmarks."""

import time
from importlib.resources import files as package_files

from naclgrid.sandbox import Limits, Sandbox

from .job import RenderJob

_SANDBOX = None


def tracer_wasm():
    """The committed tracer.wasm (package data)."""
    return package_files("corefarm.tracer").joinpath("tracer.wasm").read_bytes()


def sandbox():
    global _SANDBOX
    if _SANDBOX is None:
        _SANDBOX = Sandbox()
    return _SANDBOX


class LocalRunner:
    """Runs tile tasks one after the other in a sandbox (a fresh instance per
    tile, exactly as an agent does)."""

    def __init__(self, job, module=None, limits=None, box=None):
        self.job = job
        self.box = box or sandbox()
        self.app = self.box.load(module or tracer_wasm())
        self.limits = limits or Limits(memory_bytes=1024 * 1024 * 1024, seconds=600.0)

    def run(self, task):
        return self.box.run(self.app, task.entry, task.input, files=self.job.files,
                            limits=self.limits)


def render_job(job, tiles, runner=None):
    """Render ``tiles`` of ``job`` and return the (h, w, 4) float image."""
    runner = runner or LocalRunner(job)
    asm = job.assembler(tiles)
    for task in job.tasks(tiles):
        asm.add(task.tile, runner.run(task))
    return asm.result()


def render_local(scene, size=None, samples=None, tiles=(1, 1), seed=0, integrator="scene",
                 light_samples_cap=0):
    """Render a loaded scene in-process; returns ``(job, image)`` with the
    image as (h, w, 4) linear float32 RGBA."""
    job = RenderJob.prepare(scene, size=size, samples=samples, seed=seed,
                            integrator=integrator, light_samples_cap=light_samples_cap)
    return job, render_job(job, job.grid(*tiles))


def seconds_per_pixel(job, runner=None, probe=24):
    """Calibrate: render a small probe tile in the image centre and return
    seconds per output pixel (for :func:`~.tiles.choose_grid`)."""
    from .tiles import Tile
    runner = runner or LocalRunner(job)
    w, h = min(probe, job.width), min(probe, job.height)
    tile = Tile((job.width - w) // 2, (job.height - h) // 2, w, h)
    (task,) = job.tasks([tile])
    start = time.perf_counter()
    runner.run(task)
    return (time.perf_counter() - start) / (w * h)
