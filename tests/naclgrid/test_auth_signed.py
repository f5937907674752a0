"""Signed requests over HTTP, as the original Corefarm client sent them:
``login`` + ``date`` + ``signature`` with every call, no Authorization header."""

import hashlib
import json

import pytest

from naclgrid.auth import parse_key
from naclgrid.auth.signing import sign
from tests.naclgrid.api_support import result_of


@pytest.fixture
def key(env):
    key, _ = result_of(env.keys.create("submitter", "corefarm-user"))
    return key


def signed(env, key, endpoint, query=(), form=(), files=None, body=None, date=None, where="form"):
    """Sign like the client: every query and form parameter, files by sha256,
    a JSON body by sha256; credentials travel in the form (or the query)."""
    key_id, _ = parse_key(key)
    date = int(env.clock.seconds()) if date is None else date
    query, form = dict(query), dict(form)
    creds = {"login": key_id, "date": str(date)}
    (form if where == "form" else query).update(creds)
    params = [(k, v.encode()) for k, v in {**query, **form}.items()]
    params += [(name, hashlib.sha256(data).hexdigest().encode())
               for name, (_fn, _ct, data) in (files or {}).items()]
    if body is not None:
        params.append(("body", hashlib.sha256(body).hexdigest().encode()))
    signature = sign(key, endpoint.split("/")[0], params)
    (form if where == "form" else query)["signature"] = signature
    return query, form


def post(env, endpoint, query, form, files=None, body=None):
    client = env.anonymous()
    if body is not None:
        return client.post(endpoint, query, data=body, headers={"Content-Type": "application/json"})
    if files:
        return client.post(endpoint, query, data=form, files=files)
    return client.post(endpoint, query, data=form)


def test_original_client_flow(env, key):
    query, form = signed(env, key, "new_job",
                         form={"application": "echo", "isconfidential": "true"})
    reply = post(env, "new_job", query, form)
    assert reply.code == 200, reply
    job_id = reply.json()["id"]

    files = {"file": ("scene.tar.gz", "application/gzip", b"\x1f\x8b binary")}
    query, form = signed(env, key, "drop_file", query={"job_id": job_id}, files=files)
    assert post(env, "drop_file", query, form, files=files).json()["name"] == "scene.tar.gz"

    query, form = signed(env, key, "start_job", query={"job_id": job_id},
                         form={"input": "$scene.xml$ 0", "ghz": "50"})
    assert post(env, "start_job", query, form).json() == {"msg": "success", "state": "running"}

    body = json.dumps({"tasks": [{"entry": "main"}]}).encode()
    query, _ = signed(env, key, "fork_many", query={"job_id": job_id}, body=body, where="query")
    assert post(env, "fork_many", query, {}, body=body).json() == {"slots": [0]}

    query, _ = signed(env, key, "job", query={"job_id": job_id}, where="query")
    status = env.anonymous().get("job", query).json()
    assert status["owner"] == "corefarm-user" and status["total"] == 1

    query, form = signed(env, key, "stop_job", query={"job_id": job_id})
    assert post(env, "stop_job", query, form).json()["state"] == "stopped"


def test_replayed_signature_rejected(env, key):
    query, form = signed(env, key, "new_job", form={"application": "echo"})
    assert post(env, "new_job", query, form).code == 200
    again = post(env, "new_job", query, form)
    assert (again.code, again.json()["error"]) == (401, "replayed_signature")
    env.advance(200)  # still inside the window: still a replay
    assert post(env, "new_job", query, form).json()["error"] == "replayed_signature"
    env.advance(200)  # outside the window: the date itself is now refused
    assert post(env, "new_job", query, form).json()["error"] == "unauthorized"
    # Only the first request created a job.
    admin = env.client("admin")
    assert len(admin.get("jobs", {"user": "corefarm-user"}).json()["jobs"]) == 1


@pytest.mark.parametrize("skew", [-301, 301])
def test_stale_date_rejected(env, key, skew):
    query, form = signed(env, key, "new_job", form={"application": "echo"},
                         date=int(env.clock.seconds()) + skew)
    reply = post(env, "new_job", query, form)
    assert (reply.code, reply.json()["error"]) == (401, "unauthorized")
    assert "300" in reply.json()["message"]


def test_tampering_is_detected(env, key):
    query, form = signed(env, key, "new_job", form={"application": "echo", "priority": "1"})
    form["priority"] = "100"
    assert post(env, "new_job", query, form).code == 401
    # A signature made for one endpoint does not open another.
    query, form = signed(env, key, "new_job", form={"application": "echo"})
    assert post(env, "fork", {"job_id": "x", **query}, form).code == 401


def test_tampered_file_or_json_body_is_detected(env, key):
    reply = post(env, "new_job", *signed(env, key, "new_job", form={"application": "echo"}))
    job_id = reply.json()["job_id"]
    files = {"file": ("a.bin", "application/octet-stream", b"original")}
    query, form = signed(env, key, "drop_file", query={"job_id": job_id}, files=files)
    evil = {"file": ("a.bin", "application/octet-stream", b"replaced")}
    assert post(env, "drop_file", query, form, files=evil).code == 401
    body = json.dumps({"tasks": [{"entry": "main"}]}).encode()
    query, _ = signed(env, key, "fork_many", query={"job_id": job_id}, body=body, where="query")
    assert post(env, "fork_many", query, {}, body=body.replace(b"main", b"evil")).code == 401


def test_signed_requests_respect_roles(env):
    agent_key, _ = result_of(env.keys.create("agent"))
    query, form = signed(env, agent_key, "new_job", form={"application": "echo"})
    reply = post(env, "new_job", query, form)
    assert (reply.code, reply.json()["error"]) == (403, "forbidden")
    query, form = signed(env, agent_key, "pop", form={"max": "1"})
    assert post(env, "pop", query, form).json() == {"tasks": []}
