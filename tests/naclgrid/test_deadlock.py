"""Deadlock: a master with zero agents still completes its job, because it
computes its own pending tasks while it waits (the original's known risk)."""

import pytest

from naclgrid.client import connect
from tests.naclgrid.agent_support import GridServer

pytestmark = pytest.mark.integration


@pytest.fixture
def server(tmp_path):
    server = GridServer(tmp_path, pool=False).start()
    yield server
    server.kill()


def test_a_master_with_no_agent_completes_a_50_task_job(server, tmp_path):
    key = server.key("submitter", "alice")
    count = 20_000
    with connect(server.url, key, cache_dir=str(tmp_path / "master-cache")) as grid:
        assert grid.nodes is not None
        with grid.new_job("pi") as job:
            job.start()
            slots = job.fork_many("sample", [b"%d %d" % (seed, count) for seed in range(50)])
            assert len(slots) == 50
            status = job.status()
            assert status["waiting_reason"] == "no_agent"
            hits = [int(result) for result in job.gather(timeout=120)]
            status = job.status()
            job.stop()
    assert status["counts"]["done"] == 50 and status["state"] == "running"
    estimate = 4 * sum(hits) / (50 * count)
    assert abs(estimate - 3.14159) < 0.02
    assert len(set(hits)) > 1  # distinct seeds, distinct samples
