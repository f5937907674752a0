"""The agent as a process: SIGTERM drains (finish, deliver, exit 0), a bad
key is a clear message and a non-zero exit."""

import signal
import subprocess
import sys

import pytest

from naclgrid.client import connect
from gridhost.testing import wait_for
from naclgrid.testing import AgentProcess
from tests.naclgrid.agent_support import GridServer, kill_agents

pytestmark = pytest.mark.integration


@pytest.fixture
def server(tmp_path):
    server = GridServer(tmp_path, pool=False).start()
    yield server
    server.kill()


def test_sigterm_finishes_the_running_task_and_takes_no_more(server, tmp_path):
    agent = AgentProcess(tmp_path, server.url, server.key("agent"), "drainer").start()
    try:
        with connect(server.url, server.key("submitter", "alice"), compute=False) as grid:
            job = grid.new_job("echo")
            job.start()
            first = job.fork("spin", b"1500")
            wait_for(lambda: job.status()["counts"]["leased"] == 1, 60, "the task to be leased")
            agent.signal(signal.SIGTERM)
            wait_for(lambda: "draining" in agent.output(), 30, "the agent to start draining")
            second = job.fork("echo", b"later")
            assert agent.wait(60) == 0
            assert job.gather([first], timeout=10) == [b"1500"]
            status = job.status()
    finally:
        kill_agents([agent])
    assert status["counts"]["done"] == 1 and status["counts"]["queued"] == 1
    assert second == first + 1
    assert "draining" in agent.output()


def test_a_revoked_or_wrong_key_stops_the_agent_with_a_message(server, tmp_path):
    bad = "ngk_" + "0" * 16 + "_" + "1" * 64
    done = subprocess.run([sys.executable, "-m", "naclgrid.agent", "--url", server.url,
                           "--key", bad, "--status", "off"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 3
    assert "the server refused this agent" in done.stderr and "unauthorized" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_second_sigterm_quits_at_once_even_mid_task(server, tmp_path):
    import time

    agent = AgentProcess(tmp_path, server.url, server.key("agent"), "quitter").start()
    try:
        with connect(server.url, server.key("submitter", "alice"), compute=False) as grid:
            job = grid.new_job("echo", lease_seconds=5)
            job.start()
            job.fork("spin", b"60000")  # a minute of work
            wait_for(lambda: job.status()["counts"]["leased"] == 1, 60, "the task to be leased")
            agent.signal(signal.SIGTERM)
            wait_for(lambda: "draining" in agent.output(), 30, "the agent to start draining")
            started = time.monotonic()
            agent.signal(signal.SIGTERM)
            assert agent.wait(20) == 0, agent.output()[-3000:]
            assert time.monotonic() - started < 10
            job.stop()
    finally:
        kill_agents([agent])
