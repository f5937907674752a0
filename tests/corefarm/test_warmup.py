"""``corefarm render --warm-up``: a throwaway job compiles the tracer on the
agents before the timed render."""

import pytest
from twisted.internet.defer import ensureDeferred
from twisted.internet.task import Clock

from corefarm.render.local import tracer_wasm
from corefarm.render.master import APPLICATION
from corefarm.render.warmup import TASKS_PER_AGENT, warm_up
from gridhost.testing import result_of
from naclgrid.grid import Grid
from naclgrid.sandbox import Sandbox
from naclgrid.stores.memory import MemoryGridStore


@pytest.fixture
def grid():
    clock = Clock()
    clock.advance(1_700_000_000)
    return Grid(MemoryGridStore(), clock), clock


def test_the_warm_up_job_renders_tiny_tiles_then_stops(grid):
    grid, _clock = grid
    done = ensureDeferred(warm_up(grid, "cli", APPLICATION, agents=2))
    assert not done.called  # it waits for agents
    box = Sandbox()
    module = box.load(tracer_wasm())
    tasks = result_of(grid.pop("agent-1", "volunteer", max=64))
    assert len(tasks) == 2 * TASKS_PER_AGENT
    for task in tasks:
        files = {ref.name: result_of(grid.get_file(ref.sha256)) for ref in task.files}
        pixel = box.run(module, task.entry, task.input, files)
        assert len(pixel) == 16  # one float RGBA pixel
        result_of(grid.ack(task.job_id, task.slot, task.lease_id, result=pixel))
    assert result_of(done) == 2 * TASKS_PER_AGENT
    assert result_of(grid.get_job(tasks[0].job_id)).state == "stopped"


def test_without_agents_the_warm_up_gives_up_and_stops_its_job(grid):
    grid, clock = grid
    done = ensureDeferred(warm_up(grid, "cli", APPLICATION, agents=1, wait=5))
    clock.advance(6)
    assert result_of(done) == 0
    (job,) = result_of(grid.list_jobs("cli"))
    assert job["state"] == "stopped"
