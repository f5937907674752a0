"""Two gridhost servers on one Redis, three real agents: any server answers
any call, and a long poll parked on one server wakes when work arrives on
the other (Redis pub/sub, not a timer)."""

import time

import pytest

from gridhost.testing import wait_for
from tests.naclgrid.elastic_support import agent_process, Server, b64, gather, unb64

pytestmark = pytest.mark.integration
POLL_WAIT = 60          # the agents' long polls: the longest the API allows


@pytest.fixture
def cluster(tmp_path, redis_server_factory):
    redis = redis_server_factory(name="redis-shared")
    servers = [Server(name, tmp_path / name, redis.url) for name in ("a", "b")]
    agents = []
    yield servers, agents
    for agent in agents:
        agent.kill()
    for server in servers:
        server.kill()


def polling_on(server, key):
    nodes = server.json(key, "nodes", method="GET")["nodes"]
    return {n["node"] for n in nodes if n["polling"] > 0}


def test_a_job_made_on_a_is_computed_by_agents_on_b_and_read_back_on_a(cluster, tmp_path):
    (a, b), agents = cluster
    a.start(wait=False)
    b.start(wait=False)
    a.wait_ready()
    b.wait_ready()
    alice = a.create_key("submitter", "alice")     # keys live in Redis: B knows them too
    farm = b.create_key("agent", "farm")
    names = {f"agent-{i}" for i in range(3)}
    agents += [agent_process(name, tmp_path / "agents", b.api_url, farm, poll_wait=POLL_WAIT).start()
               for name in sorted(names)]
    wait_for(lambda: polling_on(b, farm) == names, 60, "three agents parked on B")
    assert polling_on(a, farm) == set()             # A sees the nodes, but no poll of its own
    assert {n["node"] for n in a.json(farm, "nodes", method="GET")["nodes"]} >= names

    job_id = a.json(alice, "new_job", form={"application": "echo"})["job_id"]
    a.json(alice, "start_job", query={"job_id": job_id}, form={"input": "go"})
    # One task forked on A. The agents' polls on B last 60 s; the result
    # arriving inside a 30 s wait shows the poll woke on A's event.
    started = time.monotonic()
    assert a.json(alice, "fork", query={"job_id": job_id},
                  form={"entry": "echo", "input": "ping"})["slot"] == 0
    status, body = a.call(alice, "fetch", query={"job_id": job_id},
                          form={"slot": "0", "wait": "30"})
    assert (status, body) == (200, b"ping"), (status, body, time.monotonic() - started)

    # More work, forked half on each server; all of it read back on A.
    inputs = [b"task %d \x00\xff" % i for i in range(1, 201)]
    half = len(inputs) // 2
    for server, chunk in ((a, inputs[:half]), (b, inputs[half:])):
        server.json(alice, "fork_many", query={"job_id": job_id},
                    body={"tasks": [{"entry": "echo", "input_b64": b64(x)} for x in chunk]})
    results = gather([a], alice, job_id, 1 + len(inputs), timeout=120)
    assert results == [b"ping"] + inputs

    status_a = a.json(alice, "job", query={"job_id": job_id}, method="GET")
    status_b = b.json(alice, "job", query={"job_id": job_id}, method="GET")
    assert status_a["counts"] == status_b["counts"] == {
        "queued": 0, "leased": 0, "done": 201, "failed": 0}
    done = b.json(alice, "fetch_many", query={"job_id": job_id},
                  body={"slots": [0, 200]})["results"]
    assert [unb64(r["result_b64"]) for r in done] == [b"ping", inputs[-1]]
