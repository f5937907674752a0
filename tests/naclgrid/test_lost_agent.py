"""Lost agent: SIGKILL an agent in the middle of a task; the lease expires,
the task reruns on another agent and the job's results are right. Twenty
times, one job per kill, with the jobs overlapping so the test stays short."""

import signal

import pytest

from naclgrid.client import connect
from gridhost.testing import wait_for
from naclgrid.testing import AgentProcess
from tests.naclgrid.agent_support import GridServer, kill_agents

pytestmark = pytest.mark.integration

REPETITIONS = 20
LIVE_AGENTS = 3


@pytest.fixture
def server(tmp_path):
    server = GridServer(tmp_path, pool=False, naclgrid="requeue_interval = 0.2").start()
    yield server
    server.kill()


def test_a_task_of_a_killed_agent_reruns_on_another_agent(server, tmp_path):
    agent_key = server.key("agent")
    numbers = iter(range(1000))
    agents = {}

    def spawn():
        name = f"lost-{next(numbers)}"
        agents[name] = AgentProcess(tmp_path, server.url, agent_key, name).start()

    for _ in range(LIVE_AGENTS):
        spawn()
    try:
        with connect(server.url, server.key("submitter", "alice"), compute=False) as grid, \
                connect(server.url, agent_key) as watcher:
            jobs, killed = [], []
            for rep in range(REPETITIONS):
                job = grid.new_job("echo", lease_seconds=5, max_attempts=10)
                job.start()
                payload = b"1000:%d" % (480_000 + rep)  # ~1 s of spinning, distinct
                job.fork("spin", payload)
                jobs.append((job, payload))

                def holder():
                    if job.status()["counts"]["leased"] == 0:
                        return None
                    for node in watcher.nodes():
                        agent = agents.get(node["node"])
                        if node["leases"] and agent is not None and agent.alive:
                            return agent
                    return None

                victim = wait_for(holder, 60, f"an agent to lease task {rep}")
                victim.signal(signal.SIGKILL)
                victim.wait(10)
                killed.append(victim.name)
                spawn()
            results = [job.gather(timeout=180) for job, _payload in jobs]
            statuses = [job.status() for job, _payload in jobs]
    except BaseException:
        for agent in agents.values():
            print(f"--- {agent.name}\n{agent.output()[-2000:]}")
        raise
    finally:
        kill_agents(agents.values())
    assert len(killed) == REPETITIONS
    assert results == [[payload] for _job, payload in jobs]
    assert all(s["counts"] == {"queued": 0, "leased": 0, "done": 1, "failed": 0}
               for s in statuses)
