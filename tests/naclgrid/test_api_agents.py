"""Agent endpoints: pop (batches, long polls), ack, heartbeat, files, nodes."""

import hashlib

from tests.naclgrid.api_support import ECHO, ECHO_WASM


def forked(alice, count, **job_fields):
    job_id = alice.started_job(**job_fields)
    alice.post("fork_many", {"job_id": job_id}, json={"tasks": [{"entry": "main"}] * count})
    return job_id


def test_pop_batch_and_empty(env, alice, agent):
    job_id = forked(alice, 3)
    assert len(agent.post("pop", data={"max": "2"}).json()["tasks"]) == 2
    # Parameters may travel in the query string too.
    assert len(agent.post("pop", {"max": "5"}).json()["tasks"]) == 1
    assert agent.post("pop").json() == {"tasks": []}
    assert agent.post("pop", data={"max": "0"}).code == 400
    assert agent.post("pop", data={"max": "257"}).code == 400
    assert agent.post("pop", data={"wait": "61"}).code == 400
    assert agent.post("pop", data={"node": "bad node!"}).code == 400
    assert alice.get("job", {"job_id": job_id}).json()["counts"]["leased"] == 3


def test_pop_long_poll_wakes_when_work_arrives(env, alice, agent):
    job_id = alice.started_job()
    pending = agent.start("POST", "pop", data={"wait": "30", "node": "n1"})
    env.stub.flush()
    assert not pending.called
    nodes = agent.get("nodes").json()["nodes"]
    assert [(n["node"], n["polling"], n["user"]) for n in nodes] == [("n1", 1, "farm")]
    alice.post("fork", {"job_id": job_id}, data={"entry": "main", "input": "hi"})
    env.stub.flush()
    reply = agent.finish(pending)
    assert [t["slot"] for t in reply.json()["tasks"]] == [0]
    assert env.clock.seconds() == 1_700_000_000.0


def test_a_parked_pop_takes_at_most_park_max(env, alice, agent):
    job_id = alice.started_job()
    pending = agent.start("POST", "pop", json={"max": 256, "wait": 30, "park_max": 2})
    env.stub.flush()
    env.advance(1)
    alice.post("fork_many", {"job_id": job_id}, json={"tasks": [{"entry": "main"}] * 5})
    env.stub.flush()
    assert len(agent.finish(pending).json()["tasks"]) == 2
    assert agent.post("pop", data={"max": "8", "park_max": "0"}).code == 400
    assert agent.post("pop", json={"max": 8, "park_max": "two"}).code == 400
    assert len(agent.post("pop", data={"max": "8", "park_max": "1"}).json()["tasks"]) == 3


def test_pop_long_poll_ends_empty_on_the_clock(env, agent):
    pending = agent.start("POST", "pop", data={"wait": "5"})
    env.advance(4)
    assert not pending.called
    env.advance(1.5)
    assert agent.finish(pending).json() == {"tasks": []}


def test_pop_filters_by_application_and_job(env, alice, agent):
    job_id = forked(alice, 1)
    other = forked(alice, 1)
    assert agent.post("pop", data={"applications": "other,thing"}).json() == {"tasks": []}
    tasks = agent.post("pop", data={"applications": "echo", "job_id": other}).json()["tasks"]
    assert [t["job_id"] for t in tasks] == [other]
    assert agent.post("pop", data={"job_id": job_id}).json()["tasks"][0]["job_id"] == job_id
    assert agent.post("pop", data={"applications": "bad name"}).code == 400


def test_ack_needs_exactly_one_of_result_and_error(env, alice, agent):
    job_id = forked(alice, 1)
    task = agent.post("pop").json()["tasks"][0]
    base = {"slot": "0", "lease_id": task["lease_id"]}
    assert agent.post("ack", {"job_id": job_id}, data=base).code == 400
    assert agent.post("ack", {"job_id": job_id}, data={**base, "result": "a", "error": "b"}).code == 400
    assert agent.post("ack", {"job_id": job_id}, data={**base, "result": ""}).json() == {"ok": True}
    # Retrying the same ack is safe and says so.
    assert agent.post("ack", {"job_id": job_id}, data={**base, "result": "other"}).json() == {
        "ok": True, "duplicate": True}
    assert alice.post("fetch", {"job_id": job_id}, data={"slot": "0"}).body == b""


def test_stale_lease_after_expiry_never_overwrites(env, alice, agent):
    job_id = forked(alice, 1, lease_seconds="10")
    first = agent.post("pop", data={"node": "a"}).json()["tasks"][0]
    env.advance(11)
    result_of_requeue = env.grid.service.requeue_now()
    assert result_of_requeue.called
    second = agent.post("pop", data={"node": "b"}).json()["tasks"][0]
    assert second["attempt"] == 2 and second["lease_id"] != first["lease_id"]
    stale = agent.post("ack", {"job_id": job_id},
                       data={"slot": "0", "lease_id": first["lease_id"], "result": "old"})
    assert stale.code == 409 and stale.json()["error"] == "stale_lease"
    agent.post("ack", {"job_id": job_id}, data={"slot": "0", "lease_id": second["lease_id"],
                                                "result": "new"})
    assert alice.post("fetch", {"job_id": job_id}, data={"slot": "0"}).body == b"new"


def test_failure_after_max_attempts_reports_agent_error(env, alice, agent):
    job_id = forked(alice, 1, max_attempts="2")
    for attempt in (1, 2):
        task = agent.post("pop").json()["tasks"][0]
        assert task["attempt"] == attempt
        agent.post("ack", {"job_id": job_id}, data={"slot": "0", "lease_id": task["lease_id"],
                                                    "error": f"trap {attempt}"})
    reply = alice.post("fetch", {"job_id": job_id}, data={"slot": "0"})
    assert reply.code == 422
    assert reply.json() == {"error": "task_failed", "message": "trap 2", "attempts": 2,
                            "state": "failed"}


def test_heartbeat_extends_leases(env, alice, agent):
    job_id = forked(alice, 1, lease_seconds="10")
    task = agent.post("pop").json()["tasks"][0]
    env.advance(8)
    lease = {"job_id": job_id, "slot": 0, "lease_id": task["lease_id"]}
    bogus = {"job_id": job_id, "slot": 0, "lease_id": "not-mine"}
    answer = agent.post("heartbeat", json={"leases": [lease, bogus], "node": "n1"}).json()["leases"]
    assert answer[0] == {**lease, "ok": True, "lease_expires": env.clock.seconds() + 10}
    assert answer[1] == {**bogus, "ok": False, "lease_expires": None}
    env.advance(8)
    env.grid.service.requeue_now()
    assert agent.post("ack", {"job_id": job_id}, data={"slot": "0", "lease_id": task["lease_id"],
                                                       "result": "ok"}).json() == {"ok": True}
    assert agent.post("heartbeat", json={"leases": [{"job_id": job_id}]}).code == 400
    assert agent.post("heartbeat", json={"leases": [], "node": "bad node"}).code == 400


def test_files_by_sha256_with_etag(env, alice, agent):
    sha = ECHO[1]
    reply = agent.get(f"files/{sha}")
    assert reply.code == 200 and reply.body == ECHO_WASM
    assert reply.header("etag") == f'"{sha}"'
    assert "immutable" in reply.header("cache-control")
    cached = agent.get(f"files/{sha}", headers={"If-None-Match": f'"{sha}"'})
    assert cached.code == 304 and cached.body == b""
    missing = agent.get(f"files/{hashlib.sha256(b'nothing').hexdigest()}")
    assert missing.code == 404 and missing.json()["error"] == "no_such_file"
    assert agent.get("files/NOTHEX").code == 400


def test_nodes_lists_live_agents(env, agent):
    agent.post("pop", data={"node": "box-1", "applications": "echo"})
    nodes = agent.get("nodes").json()["nodes"]
    assert nodes[0]["node"] == "box-1" and nodes[0]["applications"] == ["echo"]
    assert nodes[0]["last_seen"] == env.clock.seconds() and nodes[0]["polling"] == 0


def test_waiting_reason_no_agent_then_agents_busy(env, alice, agent):
    job_id = forked(alice, 2)
    assert alice.get("job", {"job_id": job_id}).json()["waiting_reason"] == "no_agent"
    agent.post("pop", data={"node": "n1"})
    assert alice.get("job", {"job_id": job_id}).json()["waiting_reason"] == "agents_busy"
    assert alice.post("fetch", {"job_id": job_id}, data={"slot": "1"}).json()["reason"] == "agents_busy"


def test_submitter_as_agent_of_its_own_job(env, alice):
    job_id = forked(alice, 1)
    assert alice.post("pop").code == 403
    task = alice.post("pop", data={"job_id": job_id}).json()["tasks"][0]
    lease = {"job_id": job_id, "slot": 0, "lease_id": task["lease_id"]}
    assert alice.post("heartbeat", json={"leases": [lease]}).json()["leases"][0]["ok"] is True
    assert alice.get(f"files/{ECHO[1]}").code == 200  # its job's module
    assert alice.post("ack", {"job_id": job_id}, data={"slot": "0", "lease_id": task["lease_id"],
                                                       "result": "self"}).json() == {"ok": True}
    assert alice.get("nodes").code == 403


def test_client_leaving_a_long_poll_frees_it(env, alice, agent):
    job_id = alice.started_job()
    pending = agent.start("POST", "pop", data={"wait": "30", "node": "gone"})
    env.stub.flush()
    assert env.grid.waiting == 1
    pending.deferred.cancel()            # the agent hangs up
    pending.deferred.addErrback(lambda failure: None)
    env.stub.flush()
    assert env.grid.waiting == 0
    assert agent.get("nodes").json()["nodes"][0]["polling"] == 0
    # The task forked afterwards is not lost to the departed poller.
    alice.post("fork", {"job_id": job_id}, data={"entry": "main"})
    assert [t["slot"] for t in agent.post("pop").json()["tasks"]] == [0]


def test_ack_many_larger_than_one_engine_batch(env, alice, agent):
    from naclgrid.grid.engine import MAX_ACKS_PER_CALL

    count = MAX_ACKS_PER_CALL + 10
    job_id = forked(alice, count)
    tasks = []
    while len(tasks) < count:
        tasks += agent.post("pop", data={"max": "256"}).json()["tasks"]
    acks = [{"job_id": job_id, "slot": t["slot"], "lease_id": t["lease_id"], "result_b64": ""}
            for t in tasks]
    acks[5]["lease_id"] = "wrong"
    results = agent.post("ack_many", json={"acks": acks}).json()["results"]
    assert len(results) == count and results[5]["error"] == "stale_lease"
    assert results[:5] + results[6:] == [{"ok": True}] * (count - 1)
    assert alice.get("job", {"job_id": job_id}).json()["counts"]["done"] == count - 1
