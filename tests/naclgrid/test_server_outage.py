"""Server outage: the gridhost server dies for 10 s in the middle of a job
(SIGKILL; its state lives in Redis). The agents keep their finished results,
reconnect with backoff once it is back, and the job completes; the master's
gather outlasts the outage too."""

import threading
import time

import pytest

from naclgrid.client import connect
from gridhost.testing import wait_for
from naclgrid.testing import AgentProcess
from tests.naclgrid.agent_support import GridServer, kill_agents

pytestmark = pytest.mark.integration


OUTAGE_SECONDS = 10
TASKS = 40


@pytest.fixture
def server(tmp_path, redis_server):
    redis_server.flush()
    server = GridServer(tmp_path, store=redis_server.url, pool=False).start()
    yield server
    server.kill()


def test_agents_reconnect_and_the_job_completes_after_an_outage(server, tmp_path):
    agent_key = server.key("agent")
    agents = [AgentProcess(tmp_path, server.url, agent_key, f"outage-{i}").start()
              for i in range(2)]
    outcome = {}
    try:
        with connect(server.url, server.key("submitter", "alice"), compute=False) as grid:
            job = grid.new_job("echo", lease_seconds=60)
            job.start()
            payloads = [b"150:%d" % (480_000 + i) for i in range(TASKS)]  # ~0.15 s each
            job.fork_many("spin", payloads)

            def gather():
                try:
                    outcome["results"] = job.gather(timeout=180)
                except BaseException as exc:  # reported by the main thread
                    outcome["error"] = exc
            master = threading.Thread(target=gather, daemon=True)
            master.start()

            wait_for(lambda: job.status()["counts"]["done"] >= 5, 60, "the job to get going")
            server.kill()
            down_at = time.monotonic()
            time.sleep(OUTAGE_SECONDS)  # the outage itself: nothing to wait for
            assert all(agent.alive for agent in agents)
            server.start()
            master.join(180)
            assert not master.is_alive(), "gather did not return"
            status = job.status()
            back_after = time.monotonic() - down_at
    except BaseException:
        for agent in agents:
            print(f"--- {agent.name}\n{agent.output()[-3000:]}")
        print(server.output()[-3000:])
        raise
    finally:
        alive = [agent.alive for agent in agents]
        kill_agents(agents)
    assert "error" not in outcome, outcome.get("error")
    assert outcome["results"] == payloads
    assert status["counts"]["done"] == TASKS and status["counts"]["failed"] == 0
    assert alive == [True, True]
    assert back_after >= OUTAGE_SECONDS
    # The agents said they lost the server, then carried on.
    for agent in agents:
        log = agent.output()
        assert "server unreachable" in log
        assert "server reachable again" in log.split("server unreachable", 1)[1]
