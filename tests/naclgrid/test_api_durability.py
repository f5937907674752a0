"""Black-box durability: a real ``twistd -n gridhost`` on a real Redis with
``appendonly yes``. SIGKILL the server (and then Redis too) mid-job, restart,
and check that no accepted task or result was lost or duplicated."""

import base64

import pytest
from gridhost.testing import GridhostProcess

pytestmark = pytest.mark.integration

TASKS = 200


def payload(slot):
    return f"input {slot}".encode() + bytes([slot % 256])


def result_for(slot):
    return b"\x00result\xff" + str(slot).encode()


@pytest.fixture
def grid(request, tmp_path, redis_server_factory):
    redis = redis_server_factory(appendonly=True, name="redis-aof")
    config = tmp_path / "gridhost.toml"
    data_dir = tmp_path / "data"
    config.write_text(
        f'[server]\nlisten = ["tcp:0:interface=127.0.0.1"]\nstore = "{redis.url}"\n'
        f'data_dir = "{data_dir}"\n\n[app.naclgrid]\nrequeue_interval = 0.5\n'
        '[app.naclgrid.pool]\nenabled = false\n\n'
        '[[host]]\nnames = ["*"]\n[[host.site]]\npath = "/naclgrid"\napp = "naclgrid"\n')
    root = str(request.config.rootpath)
    host = GridhostProcess(config, data_dir, env={"PYTHONPATH": root}, cwd=root)
    yield host, redis
    host.kill()


def test_sigkill_mid_job_loses_nothing(grid):
    host, redis = grid
    host.start(ready=True)
    admin_key = (host.data_dir / "admin.key").read_text().strip()
    alice = host.create_key("submitter", "alice")
    agent = host.create_key("agent", "farm")

    job_id = host.json(alice, "new_job", form={"application": "echo", "lease_seconds": "600"})["job_id"]
    host.json(alice, "start_job", query={"job_id": job_id}, form={"input": "go"})
    tasks = [{"entry": "main", "input_b64": base64.b64encode(payload(s)).decode()} for s in range(TASKS)]
    assert host.json(alice, "fork_many", query={"job_id": job_id},
                     body={"tasks": tasks})["slots"] == list(range(TASKS))
    leased = host.json(agent, "pop", form={"max": "50", "node": "box"})["tasks"]
    assert len(leased) == 50
    acks = [{"job_id": t["job_id"], "slot": t["slot"], "lease_id": t["lease_id"],
             "result_b64": base64.b64encode(result_for(t["slot"])).decode()} for t in leased[:30]]
    assert host.json(agent, "ack_many", body={"acks": acks})["results"] == [{"ok": True}] * 30

    host.kill()                                    # SIGKILL the gridhost server mid-job
    host.start(ready=True)
    status = host.json(alice, "job", query={"job_id": job_id}, method="GET")
    assert status["total"] == TASKS
    assert status["counts"] == {"queued": TASKS - 50, "leased": 20, "done": 30, "failed": 0}
    # The keys survived, and the fresh server did not mint a second admin key.
    assert (host.data_dir / "admin.key").read_text().strip() == admin_key
    assert host.call(admin_key, "nodes", method="GET")[0] == 200

    # Leases taken before the crash are still good: the agent finishes its work.
    late = [{"job_id": t["job_id"], "slot": t["slot"], "lease_id": t["lease_id"],
             "result_b64": base64.b64encode(result_for(t["slot"])).decode()} for t in leased[30:]]
    assert host.json(agent, "ack_many", body={"acks": late})["results"] == [{"ok": True}] * 20
    # A retried ack of an already-recorded result is a harmless duplicate, never an overwrite.
    retry = dict(acks[0], result_b64=base64.b64encode(b"overwrite?").decode())
    assert host.json(agent, "ack_many", body={"acks": [retry]})["results"] == [
        {"ok": True, "duplicate": True}]

    more = host.json(agent, "pop", form={"max": "100", "node": "box"})["tasks"]
    ack_more = [{"job_id": t["job_id"], "slot": t["slot"], "lease_id": t["lease_id"],
                 "result_b64": base64.b64encode(result_for(t["slot"])).decode()} for t in more]
    assert host.json(agent, "ack_many", body={"acks": ack_more})["results"] == [{"ok": True}] * 100

    host.kill()                                    # now lose Redis too (appendonly yes)
    redis.kill()
    redis.start()
    host.start(ready=True)

    rest = host.json(agent, "pop", form={"max": "256", "node": "box"})["tasks"]
    assert sorted(t["slot"] for t in rest) == sorted(set(range(TASKS)) - {t["slot"] for t in leased + more})
    for t in rest:
        assert base64.b64decode(t["input_b64"]) == payload(t["slot"]) and t["attempt"] == 1
    ack_rest = [{"job_id": t["job_id"], "slot": t["slot"], "lease_id": t["lease_id"],
                 "result_b64": base64.b64encode(result_for(t["slot"])).decode()} for t in rest]
    assert host.json(agent, "ack_many", body={"acks": ack_rest})["results"] == [{"ok": True}] * len(rest)

    results = host.json(alice, "fetch_many", query={"job_id": job_id},
                        body={"slots": list(range(TASKS))})["results"]
    assert [r["state"] for r in results] == ["done"] * TASKS
    assert [base64.b64decode(r["result_b64"]) for r in results] == [result_for(s) for s in range(TASKS)]
    status = host.json(alice, "job", query={"job_id": job_id}, method="GET")
    assert status["counts"] == {"queued": 0, "leased": 0, "done": TASKS, "failed": 0}
    assert status["progress"] == 1.0
