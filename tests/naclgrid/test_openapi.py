"""The OpenAPI document matches the Klein routes and the statuses tests see."""

import json
import re

import pytest
from openapi_spec_validator import validate
from werkzeug.exceptions import HTTPException

from naclgrid.api import NaclgridAPI
from naclgrid.api.app import load_openapi
from tests.naclgrid.api_support import OBSERVED, ApiEnv

IGNORED_METHODS = {"HEAD", "OPTIONS"}


@pytest.fixture(scope="module")
def doc():
    return json.loads(load_openapi())


def routes():
    """``{(openapi_path, METHOD)}`` of every Klein route."""
    found = set()
    for rule in NaclgridAPI.app.url_map.iter_rules():
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        found.update((path, method) for method in rule.methods - IGNORED_METHODS)
    return found


def documented(doc):
    return {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}


def test_document_is_valid_openapi_3(doc):
    validate(doc)
    assert doc["openapi"].startswith("3.")


def test_every_route_documented_and_every_path_routed(doc):
    assert routes() == documented(doc)
    assert len(routes()) >= 17


def test_every_operation_has_auth_errors_and_examples_of_success(doc):
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            # A protocol switch (the agent channel) succeeds with 101.
            assert {"200", "101"} & set(op["responses"]), (path, method)
            if op.get("security") != []:
                assert {"401", "403"} <= set(op["responses"]), (path, method)


def test_served_document_is_the_packaged_one(doc):
    env = ApiEnv()
    reply = env.anonymous().get("openapi.json")
    assert reply.code == 200 and json.loads(reply.body) == doc


def exercise(env):
    """A tour with many outcomes, so this module alone checks real statuses."""
    alice, bob = env.client("submitter", "alice"), env.client("submitter", "bob")
    agent = env.client("agent")
    job_id = alice.new_job()
    alice.post("drop_file", {"job_id": job_id}, files={"file": ("f", "text/plain", b"data")})
    alice.post("start_job", {"job_id": job_id})
    alice.post("start_job", {"job_id": job_id})                               # 409
    alice.post("fork", {"job_id": job_id}, data={"entry": "m"})
    alice.post("fetch", {"job_id": job_id}, data={"slot": "0"})               # 202
    alice.post("fetch", {"job_id": job_id}, data={"slot": "9"})               # 404
    bob.post("fetch", {"job_id": job_id}, data={"slot": "0"})                 # 404
    agent.post("fetch", {"job_id": job_id}, data={"slot": "0"})               # 403
    env.anonymous().get("jobs")                                               # 401
    alice.post("new_job", data=b"x", headers={"Content-Type": "text/plain"})  # 415
    task = agent.post("pop").json()["tasks"][0]
    agent.post("heartbeat", json={"leases": [{"job_id": job_id, "slot": 0, "lease_id": task["lease_id"]}]})
    agent.post("ack", {"job_id": job_id}, data={"slot": "0", "lease_id": "x", "result": ""})  # 409
    agent.post("ack_many", json={"acks": [{"job_id": job_id, "slot": 0, "lease_id": task["lease_id"],
                                           "result_b64": ""}]})
    alice.post("fetch", {"job_id": job_id}, data={"slot": "0"})               # 200
    alice.post("fetch_many", {"job_id": job_id}, json={"slots": [0]})
    alice.post("fork_many", {"job_id": job_id}, json={"tasks": [{"entry": "m"}]})
    alice.post("fork_many", {"job_id": job_id}, json={"tasks": "no"})         # 400
    alice.get("job", {"job_id": job_id})
    alice.get("jobs")
    agent.get("nodes")
    agent.get("files/" + "0" * 64)                                            # 404
    alice.post("stop_job", {"job_id": job_id})
    alice.post("stop_job", {"job_id": job_id})                                # 409
    alice.post("fork", {"job_id": job_id}, data={"entry": "m"})               # 409


def test_observed_statuses_are_documented(doc):
    """Every status any API test in this run saw is documented for its operation."""
    exercise(ApiEnv())
    adapter = NaclgridAPI.app.url_map.bind("grid.test")
    missing = set()
    checked = 0
    for method, path, code in OBSERVED:
        try:
            rule, _args = adapter.match(path, method=method, return_rule=True)
        except HTTPException:
            continue  # a routing error (404/405): not an operation
        template = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        responses = doc["paths"][template][method.lower()]["responses"]
        checked += 1
        if str(code) not in responses:
            missing.add((method, template, code))
    assert checked >= 25
    assert not missing, f"undocumented statuses: {sorted(missing)}"
