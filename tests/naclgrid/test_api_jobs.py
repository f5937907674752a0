"""Job endpoints through StubTreq on a memory-store Grid and a Clock."""

import base64
import hashlib

import pytest

from gridhost.testing import result_of
from tests.naclgrid.api_support import ECHO, ApiEnv

BINARY = bytes(range(256)) * 4 + b"\r\n--boundary\x00"


@pytest.fixture(params=[False, True], ids=["api-parses", "twisted-parses-too"])
def env(request):
    return ApiEnv(twisted_parses_forms=request.param)


def test_new_job_returns_both_id_keys(alice):
    reply = alice.post("new_job", data={"application": "echo", "priority": "5"})
    assert reply.code == 200
    body = reply.json()
    assert body["job_id"] == body["id"]
    status = alice.get("job", {"job_id": body["job_id"]}).json()
    assert status["state"] == "created" and status["priority"] == 5
    assert status["owner"] == "alice" and status["waiting_reason"] == "job_not_started"


@pytest.mark.parametrize("fields, word", [
    ({}, "application"),
    ({"application": "nope"}, "unknown application"),
    ({"application": "echo", "priority": "0"}, "priority"),
    ({"application": "echo", "priority": "abc"}, "priority"),
    ({"application": "echo", "max_attempts": "21"}, "max_attempts"),
    ({"application": "echo", "lease_seconds": "1"}, "lease_seconds"),
    ({"application": "echo", "lease_seconds": "nan"}, "lease_seconds"),
    ({"application": "file:"}, "name"),
])
def test_new_job_bad_parameters(alice, fields, word):
    reply = alice.post("new_job", data=fields)
    assert reply.code == 400
    assert reply.json()["error"] == "bad_request" and word in reply.json()["message"]


def test_whole_job_binary_safe(env, alice, agent):
    job_id = alice.new_job()
    reply = alice.post("drop_file", {"job_id": job_id},
                       files={"file": ("dir/scene.xml", "application/xml", BINARY)})
    assert reply.code == 200
    assert reply.json() == {"name": "scene.xml", "sha256": hashlib.sha256(BINARY).hexdigest(),
                            "size": len(BINARY)}
    assert alice.post("start_job", {"job_id": job_id},
                      files={"input": ("input", "application/octet-stream", BINARY)},
                      data={"ghz": "50"}).json() == {"msg": "success", "state": "running"}
    slot = alice.post("fork", {"job_id": job_id}, data={"entry": "main"},
                      files={"input": ("input", "application/octet-stream", BINARY[::-1])}).json()
    assert slot == {"slot": 0}
    assert alice.post("fork", {"job_id": job_id}, data={"entry": "main", "input": "x"}).json() == {"slot": 1}

    tasks = agent.post("pop", data={"max": "2", "node": "n1"}).json()["tasks"]
    assert [t["slot"] for t in tasks] == [0, 1]
    first = tasks[0]
    assert base64.b64decode(first["input_b64"]) == BINARY[::-1]
    assert first["module"] == {"sha256": ECHO[1], "size": ECHO[2]}
    assert first["files"] == [{"name": "scene.xml", "sha256": hashlib.sha256(BINARY).hexdigest(),
                               "size": len(BINARY)}]
    assert first["attempt"] == 1 and first["lease_expires"] == env.clock.seconds() + 60
    assert set(first["limits"]) == {"memory_bytes", "fuel", "seconds"}

    reply = agent.post("ack", {"job_id": job_id},
                       data={"slot": "0", "lease_id": first["lease_id"]},
                       files={"result": ("result", "application/octet-stream", BINARY)})
    assert reply.json() == {"ok": True}
    done = alice.post("fetch", {"job_id": job_id}, data={"slot": "0"})
    assert done.code == 200 and done.body == BINARY
    assert done.header("x-naclgrid-state") == "done"
    assert done.header("content-type") == "application/octet-stream"

    pending = alice.post("fetch", {"job_id": job_id}, data={"slot": "1"})
    assert pending.code == 202
    assert pending.json() == {"state": "leased", "reason": None, "attempts": 1}

    status = alice.get("job", {"job_id": job_id}).json()
    assert status["counts"] == {"queued": 0, "leased": 1, "done": 1, "failed": 0}
    assert status["total"] == 2 and status["progress"] == 0.5
    assert status["input_size"] == len(BINARY)

    assert alice.post("stop_job", {"job_id": job_id}).json() == {"msg": "success", "state": "stopped"}
    late = agent.post("ack", {"job_id": job_id},
                      data={"slot": "1", "lease_id": tasks[1]["lease_id"], "result": "late"})
    assert late.code == 409 and late.json()["error"] == "job_stopped"
    failed = alice.post("fetch", {"job_id": job_id}, data={"slot": "1"})
    assert failed.code == 422
    assert failed.json()["error"] == "task_failed" and failed.json()["state"] == "failed"
    assert alice.get("job", {"job_id": job_id}).json()["state"] == "stopped"


def test_fork_many_and_fetch_many(env, alice, agent):
    job_id = alice.started_job()
    inputs = [bytes([i]) * i for i in range(5)]
    reply = alice.post("fork_many", {"job_id": job_id}, json={"tasks": [
        {"entry": "main", "input_b64": base64.b64encode(data).decode()} for data in inputs]})
    assert reply.json() == {"slots": [0, 1, 2, 3, 4]}
    tasks = agent.post("pop", data={"max": "3"}).json()["tasks"]
    acks = [{"job_id": t["job_id"], "slot": t["slot"], "lease_id": t["lease_id"],
             "result_b64": t["input_b64"]} for t in tasks[:2]]
    acks.append({"job_id": job_id, "slot": tasks[2]["slot"], "lease_id": tasks[2]["lease_id"],
                 "error": "boom"})
    acks.append({"job_id": job_id, "slot": 4, "lease_id": "nope", "result_b64": ""})
    acks.append({"job_id": job_id, "slot": 4})
    results = agent.post("ack_many", json={"acks": acks}).json()["results"]
    assert results[:3] == [{"ok": True}] * 3
    assert results[3]["ok"] is False and results[3]["error"] == "stale_lease"
    assert results[4] == {"ok": False, "error": "bad_request", "message": results[4]["message"]}
    outcome = alice.post("fetch_many", {"job_id": job_id}, json={"slots": [0, 1, 2, 4]}).json()
    assert outcome["results"][0] == {"slot": 0, "state": "done", "result_b64": ""}
    assert base64.b64decode(outcome["results"][1]["result_b64"]) == inputs[1]
    assert outcome["results"][2]["state"] == "queued"  # requeued after the error, attempt 1 of 3
    assert outcome["results"][3] == {"slot": 4, "state": "queued", "reason": "agents_busy",
                                     "attempts": 0}


def test_fork_many_rejects_bad_items(alice):
    job_id = alice.started_job()
    for body in ({"tasks": "x"}, {"tasks": [{"input_b64": ""}]},
                 {"tasks": [{"entry": "m", "input_b64": "***"}]}, {"nope": 1}):
        reply = alice.post("fork_many", {"job_id": job_id}, json=body)
        assert reply.code == 400 and reply.json()["error"] == "bad_request", body


def test_fetch_long_poll_wakes_on_result(env, alice, agent):
    job_id = alice.started_job()
    alice.post("fork", {"job_id": job_id}, data={"entry": "main", "input": "a"})
    pending = alice.start("POST", "fetch", {"job_id": job_id}, data={"slot": "0", "wait": "30"})
    assert not pending.called
    task = agent.post("pop").json()["tasks"][0]
    assert not pending.called
    agent.post("ack", {"job_id": job_id}, data={"slot": "0", "lease_id": task["lease_id"],
                                                "result": "R"})
    env.stub.flush()
    reply = alice.finish(pending)
    assert reply.code == 200 and reply.body == b"R"
    assert env.clock.seconds() == 1_700_000_000.0  # woke on the event, not a timer


def test_fetch_long_poll_times_out_on_the_clock(env, alice):
    job_id = alice.new_job()
    alice.post("fork", {"job_id": job_id}, data={"entry": "main"})
    pending = alice.start("POST", "fetch", {"job_id": job_id}, data={"slot": "0", "wait": "10"})
    env.advance(9.9)
    assert not pending.called
    env.advance(0.2)
    reply = alice.finish(pending)
    assert reply.code == 202 and reply.json()["reason"] == "job_not_started"


def test_fetch_many_long_poll(env, alice, agent):
    job_id = alice.started_job()
    alice.post("fork_many", {"job_id": job_id}, json={"tasks": [{"entry": "m"}, {"entry": "m"}]})
    pending = alice.start("POST", "fetch_many", {"job_id": job_id}, json={"slots": [0, 1], "wait": 20})
    tasks = agent.post("pop", data={"max": "2"}).json()["tasks"]
    agent.post("ack", {"job_id": job_id}, data={"slot": "0", "lease_id": tasks[0]["lease_id"], "result": ""})
    env.stub.flush()
    assert not pending.called
    agent.post("ack", {"job_id": job_id}, data={"slot": "1", "lease_id": tasks[1]["lease_id"], "error": "x"})
    env.advance(0)
    # slot 1 went back to the queue (attempt 1 of 3): not finished, so the poll runs to its end.
    assert not pending.called
    env.advance(20)
    results = alice.finish(pending).json()["results"]
    assert [r["state"] for r in results] == ["done", "queued"]


def test_fetch_unknown_slot_and_job(alice):
    job_id = alice.new_job()
    reply = alice.post("fetch", {"job_id": job_id}, data={"slot": "7"})
    assert reply.code == 404 and reply.json()["error"] == "no_such_task"
    reply = alice.post("fetch", {"job_id": "missing"}, data={"slot": "0"})
    assert reply.code == 404 and reply.json()["error"] == "no_such_job"
    reply = alice.post("fetch", data={"slot": "0"})
    assert reply.code == 400 and "job_id" in reply.json()["message"]


def test_start_twice_and_stop_cancelled(alice):
    job_id = alice.started_job()
    again = alice.post("start_job", {"job_id": job_id})
    assert again.code == 409 and again.json()["error"] == "job_not_running"
    assert alice.post("stop_job", {"job_id": job_id}, data={"state": "failed"}).code == 400
    assert alice.post("stop_job", {"job_id": job_id}, data={"state": "cancelled"}).json()["state"] == "cancelled"
    reply = alice.post("fork", {"job_id": job_id}, data={"entry": "main"})
    assert reply.code == 409 and reply.json()["error"] == "job_stopped"


def test_jobs_list_is_per_user(env, alice):
    bob = env.client("submitter", "bob")
    admin = env.client("admin")
    mine = [alice.new_job(), alice.new_job()]
    bob.new_job()
    assert [j["job_id"] for j in alice.get("jobs").json()["jobs"]] == mine
    assert [j["job_id"] for j in admin.get("jobs", {"user": "alice"}).json()["jobs"]] == mine
    assert admin.get("jobs").json() == {"jobs": []}
    assert alice.get("jobs", {"user": "bob"}).code == 403


def test_drop_file_as_form_fields_and_file_application(env, alice, agent):
    job_id = alice.new_job("file:prog.wasm")
    wasm = b"\0asm\x01\0\0\0custom"
    reply = alice.post("drop_file", {"job_id": job_id}, data={"name": "prog.wasm"},
                       files={"file": (None, "application/octet-stream", wasm)})
    assert reply.json()["name"] == "prog.wasm"
    alice.post("start_job", {"job_id": job_id})
    alice.post("fork", {"job_id": job_id}, data={"entry": "main"})
    task = agent.post("pop").json()["tasks"][0]
    assert task["module"] == {"sha256": hashlib.sha256(wasm).hexdigest(), "size": len(wasm)}
    fetched = agent.get(f"files/{task['module']['sha256']}")
    assert fetched.code == 200 and fetched.body == wasm


def test_drop_file_needs_a_name_and_a_file(alice):
    job_id = alice.new_job()
    assert alice.post("drop_file", {"job_id": job_id}, data={"name": "x"}).code == 400
    reply = alice.post("drop_file", {"job_id": job_id},
                       files={"file": ("../..", "application/octet-stream", b"x")})
    assert reply.code == 400 and reply.json()["error"] == "bad_request"


def test_full_size_batches(alice):
    """The protocol's biggest batches fit the body limits: 10,000 tasks, 10,000 slots."""
    job_id = alice.new_job()
    tasks = [{"entry": "main", "input_b64": "AAAA"}] * 10_000
    assert alice.post("fork_many", {"job_id": job_id}, json={"tasks": tasks}).json()["slots"][-1] == 9_999
    reply = alice.post("fetch_many", {"job_id": job_id}, json={"slots": list(range(10_000))})
    assert reply.code == 200 and len(reply.json()["results"]) == 10_000
    too_many = alice.post("fork_many", {"job_id": job_id}, json={"tasks": tasks + tasks[:1]})
    assert too_many.code == 413 and too_many.json()["limit"] == 10_000


def test_results_dropped_after_results_ttl_answer_410(env, alice, agent):
    job_id = alice.started_job()
    alice.post("fork", {"job_id": job_id}, data={"entry": "main", "input": "x"})
    (task,) = agent.post("pop", data={"max": "1"}).json()["tasks"]
    agent.post("ack", data={"job_id": job_id, "slot": "0", "lease_id": task["lease_id"],
                            "result": "done"})
    alice.post("stop_job", {"job_id": job_id})
    assert alice.post("fetch", {"job_id": job_id, "slot": "0"}).body == b"done"
    env.clock.advance(env.grid.results_ttl)
    assert result_of(env.store.purge_finished(env.clock.seconds())) == 1
    for reply in (alice.post("fetch", {"job_id": job_id, "slot": "0"}),
                  alice.post("fetch_many", {"job_id": job_id}, json={"slots": [0]})):
        assert reply.code == 410 and reply.json()["error"] == "results_expired"
    assert alice.get("job", {"job_id": job_id}).json()["counts"]["done"] == 1
