"""A short chaos run (the long one is bench/chaos.py): 300 tasks on two
servers and three agents sharing a Redis with appendonly yes, while a random
agent or server is SIGKILLed and restarted every one to three seconds."""

import pytest

from tests.naclgrid.chaos_support import run_chaos

pytestmark = pytest.mark.integration


def test_kills_lose_no_task_and_accept_no_second_result(tmp_path, redis_server_factory):
    redis = redis_server_factory(appendonly=True, name="redis-aof")
    # ~50 ms of CPU per task: the job outlasts several kills even on a quiet machine.
    report = run_chaos(tmp_path, redis, tasks=300, every=(0.5, 1.5), count=10_000_000,
                       timeout=180)
    assert report.survived >= 3, report.summary()
    assert report.results_equal, report.summary()
    assert report.counts == {"queued": 0, "leased": 0, "done": 300, "failed": 0}
    # Every slot's result was accepted exactly once, however many times it ran.
    assert report.accepted_per_slot == {slot: 1 for slot in range(300)}
