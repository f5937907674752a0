"""Credentials and roles on every endpoint; users never reach each other's jobs."""

import base64
import hashlib

import pytest

from tests.naclgrid.api_support import result_of

SECRET_FILE = b"alice's private scene"


@pytest.fixture
def world(env):
    """Alice's running job with a file, one queued and one leased task."""
    alice = env.client("submitter", "alice")
    bob = env.client("submitter", "bob")
    agent = env.client("agent", "farm")
    job_id = alice.new_job()
    alice.post("drop_file", {"job_id": job_id},
               files={"file": ("scene.xml", "text/xml", SECRET_FILE)})
    alice.post("start_job", {"job_id": job_id})
    alice.post("fork_many", {"job_id": job_id}, json={"tasks": [{"entry": "m"}, {"entry": "m"}]})
    task = agent.post("pop").json()["tasks"][0]
    return env, alice, bob, agent, job_id, task


# Every job-scoped call bob could try on alice's job.
def bob_attempts(job_id, task):
    lease = {"job_id": job_id, "slot": 0, "lease_id": task["lease_id"]}
    return [
        ("GET", "job", {"job_id": job_id}, {}),
        ("POST", "fork", {"job_id": job_id}, {"data": {"entry": "evil"}}),
        ("POST", "fork_many", {"job_id": job_id}, {"json": {"tasks": [{"entry": "evil"}]}}),
        ("POST", "fetch", {"job_id": job_id}, {"data": {"slot": "0"}}),
        ("POST", "fetch_many", {"job_id": job_id}, {"json": {"slots": [0]}}),
        ("POST", "stop_job", {"job_id": job_id}, {}),
        ("POST", "start_job", {"job_id": job_id}, {}),
        ("POST", "drop_file", {"job_id": job_id},
         {"files": {"file": ("x.txt", "text/plain", b"evil")}}),
        ("POST", "pop", {"job_id": job_id}, {}),
        ("POST", "ack", {"job_id": job_id},
         {"data": {"slot": "0", "lease_id": task["lease_id"], "result": "evil"}}),
    ], lease


def test_another_users_job_is_invisible(world):
    env, alice, bob, agent, job_id, task = world
    attempts, lease = bob_attempts(job_id, task)
    for method, endpoint, query, kwargs in attempts:
        reply = bob.call(method, endpoint, query, **kwargs)
        assert (reply.code, reply.json()["error"]) == (404, "no_such_job"), endpoint
    # Same answer as for a job that does not exist at all.
    assert bob.get("job", {"job_id": "no-such"}).json()["error"] == "no_such_job"
    assert bob.get("jobs").json() == {"jobs": []}
    assert bob.get("jobs", {"user": "alice"}).code == 403
    beat = bob.post("heartbeat", json={"leases": [lease]}).json()["leases"][0]
    assert beat["ok"] is False
    acks = bob.post("ack_many", json={"acks": [{**lease, "result_b64": ""}]}).json()["results"]
    assert acks == [{"ok": False, "error": "no_such_job", "message": acks[0]["message"]}]
    sha = hashlib.sha256(SECRET_FILE).hexdigest()
    assert bob.get(f"files/{sha}").code == 404
    assert alice.get(f"files/{sha}").body == SECRET_FILE

    # Nothing bob tried changed alice's job.
    status = alice.get("job", {"job_id": job_id}).json()
    assert status["state"] == "running" and status["total"] == 2
    assert [f["name"] for f in status["files"]] == ["scene.xml"]
    ack = agent.post("ack", {"job_id": job_id},
                     data={"slot": "0", "lease_id": task["lease_id"], "result": "real"})
    assert ack.json() == {"ok": True}
    assert alice.post("fetch", {"job_id": job_id}, data={"slot": "0"}).body == b"real"


def test_admin_reaches_every_job(world):
    env, alice, bob, agent, job_id, task = world
    admin = env.client("admin")
    assert admin.get("job", {"job_id": job_id}).json()["owner"] == "alice"
    assert admin.post("fork", {"job_id": job_id}, data={"entry": "m"}).json() == {"slot": 2}
    assert admin.get("nodes").code == 200
    assert admin.post("stop_job", {"job_id": job_id}).json()["state"] == "stopped"


@pytest.mark.parametrize("method, endpoint", [
    ("POST", "new_job"), ("POST", "drop_file"), ("POST", "start_job"), ("POST", "fork"),
    ("POST", "fork_many"), ("POST", "fetch"), ("POST", "fetch_many"), ("POST", "stop_job"),
    ("GET", "job"), ("GET", "jobs"),
])
def test_agent_may_not_touch_jobs(world, method, endpoint):
    env, alice, bob, agent, job_id, task = world
    reply = agent.call(method, endpoint, {"job_id": job_id})
    assert (reply.code, reply.json()["error"]) == (403, "forbidden")


@pytest.mark.parametrize("method, endpoint", [
    ("POST", "new_job"), ("POST", "drop_file"), ("POST", "start_job"), ("POST", "fork"),
    ("POST", "fork_many"), ("POST", "fetch"), ("POST", "fetch_many"), ("POST", "stop_job"),
    ("GET", "job"), ("GET", "jobs"), ("POST", "pop"), ("POST", "ack"), ("POST", "ack_many"),
    ("POST", "heartbeat"), ("GET", "files/" + "0" * 64), ("GET", "nodes"),
])
def test_every_endpoint_needs_credentials(world, method, endpoint):
    env = world[0]
    for client in (env.anonymous(), type(world[1])(env, "ngk_0123456789abcdef_" + "0" * 64)):
        reply = client.call(method, endpoint, {"job_id": world[4]})
        assert (reply.code, reply.json()["error"]) == (401, "unauthorized"), endpoint


def test_revoked_key_stops_working(world):
    env, alice, bob, agent, job_id, task = world
    assert alice.get("jobs").code == 200
    result_of(env.keys.revoke(alice.key))
    assert alice.get("jobs").code == 401


def test_openapi_needs_no_credentials(env):
    reply = env.anonymous().get("openapi.json")
    assert reply.code == 200 and reply.json()["openapi"].startswith("3.")


def test_bearer_checked_before_the_body_is_read(env):
    """A bad key is refused even with an over-limit body: auth comes first."""
    bad = type(env.anonymous())(env, "ngk_0123456789abcdef_" + "0" * 64)
    reply = bad.post("new_job", data=b"x" * (200 * 1024),
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert reply.code == 401


def test_base64_and_binary_results_round_trip(world):
    env, alice, bob, agent, job_id, task = world
    blob = bytes(range(256))
    agent.post("ack_many", json={"acks": [{"job_id": job_id, "slot": 0, "lease_id": task["lease_id"],
                                           "result_b64": base64.b64encode(blob).decode()}]})
    assert alice.post("fetch", {"job_id": job_id}, data={"slot": "0"}).body == blob
