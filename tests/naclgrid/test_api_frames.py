"""Frames bodies (application/x-naclgrid-frames), acks riding on pop, and
fork-and-wait, through the REST API."""

import base64
import json
import struct

import pytest

from naclgrid import frames
from tests.naclgrid.api_support import ApiEnv

FR = {"Content-Type": frames.MEDIA_TYPE}
ACCEPT = {"Accept": frames.MEDIA_TYPE}


def framed(reply):
    assert reply.header("content-type") == frames.MEDIA_TYPE, reply
    return frames.decode(reply.body)


def test_frames_round_trip_and_binary_fields():
    body = frames.encode({"a": [{"x_blob": 1}, {"x_b64": base64.b64encode(b"hi").decode()}]},
                         [b"zero", b"\0\r\n" * 3])
    obj, blobs = frames.decode(body)
    assert blobs == [b"zero", b"\0\r\n" * 3] and "blob_sizes" not in obj
    assert frames.binary(obj["a"][0], "x", blobs) == b"\0\r\n" * 3
    assert frames.binary(obj["a"][1], "x", blobs) == b"hi"
    assert frames.binary({}, "x", blobs) is None
    with pytest.raises(frames.FrameError):
        frames.binary({}, "x", blobs, required=True)
    with pytest.raises(frames.FrameError):
        frames.binary({"x_blob": 2}, "x", blobs)
    with pytest.raises(frames.FrameError):
        frames.binary({"x_blob": True}, "x", blobs)
    with pytest.raises(ValueError):
        frames.binary({"x_b64": "!!"}, "x", blobs)


def _raw(header_bytes, tail=b"", magic=b"NGF1", length=None):
    size = len(header_bytes) if length is None else length
    return struct.pack(">4sI", magic, size) + header_bytes + tail


@pytest.mark.parametrize("body", [
    b"",
    b"NGF",
    _raw(b"{}", magic=b"NGF2"),
    _raw(b"{}", length=1000),
    _raw(b"{not json"),
    _raw(b"[1]"),
    _raw(b'{"blob_sizes": [3]}', b"ab"),
    _raw(b'{"blob_sizes": [1]}', b"ab"),
    _raw(b'{"blob_sizes": [-1]}'),
    _raw(b'{"blob_sizes": "3"}', b"abc"),
])
def test_malformed_frames_are_refused(body):
    with pytest.raises(frames.FrameError):
        frames.decode(body)


def test_fork_many_ack_many_fetch_many_in_frames(env, alice, agent):
    job_id = alice.started_job()
    inputs = [b"\0one", b"", bytes(range(256)) * 10]
    body = frames.encode({"tasks": [{"entry": "main", "input_blob": i} for i in range(3)]},
                         inputs)
    reply = alice.post("fork_many", {"job_id": job_id}, data=body, headers=FR)
    assert reply.json() == {"slots": [0, 1, 2]}
    answer, blobs = framed(agent.post("pop", data={"max": "3"}, headers=ACCEPT))
    tasks = answer["tasks"]
    assert [blobs[t["input_blob"]] for t in tasks] == inputs
    assert all("input_b64" not in t for t in tasks)
    acks = [{"job_id": job_id, "slot": t["slot"], "lease_id": t["lease_id"],
             "result_blob": i} for i, t in enumerate(tasks)]
    results = [b"r0", b"", b"\xff" * 1000]
    reply = agent.post("ack_many", data=frames.encode({"acks": acks}, results), headers=FR)
    assert reply.json() == {"results": [{"ok": True}] * 3}
    answer, blobs = framed(alice.post("fetch_many", {"job_id": job_id},
                                      json={"slots": [2, 0, 1]}, headers=ACCEPT))
    assert [blobs[item["result_blob"]] for item in answer["results"]] == [
        results[2], results[0], results[1]]
    # Without Accept, the same answer in JSON.
    plain = alice.post("fetch_many", {"job_id": job_id}, json={"slots": [0]}).json()
    assert plain["results"][0]["result_b64"] == base64.b64encode(b"r0").decode()


def test_bad_frames_bodies_are_400_and_nothing_is_forked(env, alice):
    job_id = alice.started_job()
    bad = [
        _raw(b'{"tasks": [{"entry": "main", "input_blob": 1}], "blob_sizes": [1]}', b"x"),
        _raw(b'{"tasks": [{"entry": "main"}], "blob_sizes": [5]}', b"x"),
        b"not frames",
    ]
    for body in bad:
        reply = alice.post("fork_many", {"job_id": job_id}, data=body, headers=FR)
        assert reply.code == 400 and reply.json()["error"] == "bad_request", reply
        assert reply.json()["message"]
    assert alice.get("job", {"job_id": job_id}).json()["total"] == 0
    # An endpoint that takes no frames says so.
    reply = alice.post("fork", {"job_id": job_id}, data=frames.encode({}, []), headers=FR)
    assert reply.code == 415 and reply.json()["error"] == "unsupported_media_type"


def test_frames_bodies_have_size_limits():
    from naclgrid.api import ApiSettings
    from naclgrid.model import FileRef
    from tests.naclgrid.api_support import ECHO

    env = ApiEnv(settings=ApiSettings(applications={"echo": FileRef(*ECHO)},
                                      max_batch_bytes=1000))
    alice = env.client("submitter", "alice")
    agent = env.client("agent", "farm")
    job_id = alice.started_job()
    body = frames.encode({"tasks": [{"entry": "main", "input_blob": 0}]}, [b"x" * 2000])
    reply = alice.post("fork_many", {"job_id": job_id}, data=body, headers=FR)
    assert reply.code == 413 and reply.json()["error"] == "too_large"
    reply = agent.post("pop", data=frames.encode({"acks": []}, [b"x" * 2000]), headers=FR)
    assert reply.code == 413 and reply.json()["error"] == "too_large"


def test_acks_ride_on_pop_and_wake_a_waiting_fetch(env, alice, agent):
    job_id = alice.started_job()
    alice.post("fork_many", {"job_id": job_id},
               json={"tasks": [{"entry": "main", "input_b64": ""}] * 2})
    first = agent.post("pop", data={"max": "1"}).json()["tasks"][0]
    waiting = alice.start("POST", "fetch", {"job_id": job_id},
                          data={"slot": str(first["slot"]), "wait": "30"})
    env.stub.flush()
    assert not waiting.called
    ack = {"job_id": job_id, "slot": first["slot"], "lease_id": first["lease_id"],
           "result_blob": 0}
    body = frames.encode({"max": 5, "wait": 10, "node": "n1", "acks": [ack]}, [b"result!"])
    pending = agent.start("POST", "pop", data=body, headers={**FR, **ACCEPT})
    env.stub.flush()
    # The ack took effect at once: the master has its result...
    assert alice.finish(waiting).body == b"result!"
    # ...and the pop went on: the second task was there already.
    answer, blobs = framed(agent.finish(pending))
    assert answer["acks"] == [{"ok": True}]
    assert [t["slot"] for t in answer["tasks"]] == [1] and "waited" in answer
    # A retry of the same ack (its pop's answer was lost) is a duplicate, in JSON too.
    ack = dict(ack, result_b64=base64.b64encode(b"result!").decode())
    del ack["result_blob"]
    reply = agent.post("pop", data=json.dumps({"acks": [ack]}),
                       headers={"Content-Type": "application/json"})
    assert reply.json() == {"acks": [{"ok": True, "duplicate": True}], "tasks": []}


def test_riding_acks_fail_alone_and_bad_pop_bodies_are_400(env, alice, agent):
    job_id = alice.started_job()
    alice.post("fork", {"job_id": job_id}, data={"entry": "main", "input": "x"})
    task = agent.post("pop").json()["tasks"][0]
    acks = [{"job_id": job_id, "slot": task["slot"], "lease_id": "wrong", "error": "boom"},
            {"job_id": job_id, "slot": task["slot"], "lease_id": task["lease_id"],
             "error": "boom"},
            {"job_id": job_id, "slot": "x", "lease_id": "l"}]
    reply = agent.post("pop", json={"acks": acks})
    answer = reply.json()
    assert [a["ok"] for a in answer["acks"]] == [False, True, False]
    assert answer["acks"][0]["error"] == "stale_lease"
    assert answer["acks"][2]["error"] == "bad_request"
    for body in ({"acks": "no"}, {"max": 0}, {"max": "many"}, {"wait": 61}, {"node": 5},
                 {"node": "bad node!"}, {"applications": 7}):
        reply = agent.post("pop", json=body)
        assert reply.code == 400 and reply.json()["error"] == "bad_request", body


def test_fork_and_wait(env, alice, agent):
    job_id = alice.started_job()
    pending = alice.start("POST", "fork", {"job_id": job_id},
                          data={"entry": "main", "input": "in", "wait": "20"})
    env.stub.flush()
    assert not pending.called
    task = agent.post("pop").json()["tasks"][0]
    agent.post("ack", {"job_id": job_id}, data={"slot": str(task["slot"]),
                                                "lease_id": task["lease_id"], "result": "out"})
    env.stub.flush()
    reply = alice.finish(pending)
    assert reply.code == 200 and reply.body == b"out"
    assert reply.header("x-naclgrid-slot") == "0"
    assert reply.header("x-naclgrid-state") == "done"
    # Not finished within the wait: 202 with the slot; the task stays queued.
    pending = alice.start("POST", "fork", {"job_id": job_id},
                          data={"entry": "main", "input": "in", "wait": "2"})
    env.advance(2.5)
    reply = alice.finish(pending)
    assert reply.code == 202 and reply.json()["slot"] == 1 and reply.json()["state"] == "queued"
    # Failed: 422 with the slot.
    once = alice.started_job(max_attempts="1")
    pending = alice.start("POST", "fork", {"job_id": once},
                          data={"entry": "main", "wait": "20"})
    env.stub.flush()
    task = agent.post("pop", data={"job_id": once}).json()["tasks"][0]
    agent.post("ack", {"job_id": once}, data={"slot": "0", "lease_id": task["lease_id"],
                                              "error": "bad"})
    env.stub.flush()
    reply = alice.finish(pending)
    assert reply.code == 422 and reply.json()["slot"] == 0
    assert reply.json()["error"] == "task_failed" and reply.json()["message"] == "bad"
    # Without wait, fork answers as it always did; a bad wait is 400.
    assert alice.post("fork", {"job_id": job_id}, data={"entry": "main"}).json() == {"slot": 2}
    reply = alice.post("fork", {"job_id": job_id}, data={"entry": "main", "wait": "99"})
    assert reply.code == 400


def test_a_big_frames_answer_is_written_piece_by_piece(env, alice, agent):
    job_id = alice.started_job()
    inputs = [bytes([i]) * (1000 + i) for i in range(12)]
    body = frames.encode({"tasks": [{"entry": "main", "input_blob": i} for i in range(12)]},
                         inputs)
    assert alice.post("fork_many", {"job_id": job_id}, data=body, headers=FR).code == 200
    reply = agent.post("pop", data={"max": "12"}, headers=ACCEPT)
    answer, blobs = framed(reply)
    assert [blobs[t["input_blob"]] for t in answer["tasks"]] == inputs
