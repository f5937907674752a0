"""The SDK against the real REST API, over StubTreq on a Clock."""

import hashlib
import json

import pytest
from twisted.internet import error as neterror
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.task import Clock

from naclgrid.client import Grid, GridAPIError, GridUnavailable, TaskFailed
from naclgrid.client.backoff import Backoff
from naclgrid.client.credentials import BearerKey, SignedKey
from naclgrid.client.executor import TaskExecutor
from naclgrid.client.filecache import FileCache
from naclgrid.client.multipart import encode_multipart
from naclgrid.client.transport import Transport
from tests.naclgrid.agent_support import FakeSandbox, InlineThreads
from tests.naclgrid.api_support import BASE, failure_of, result_of


def make_grid(env, tmp_path, role="submitter", user="alice", scheme="bearer", **options):
    key, _record = result_of(env.keys.create(role, user))
    grid = Grid(BASE + "/", key, reactor=env.clock, http=env.stub, scheme=scheme, **options)
    cache = FileCache(tmp_path / "cache", grid.api.download)
    grid._executor = TaskExecutor(cache, InlineThreads(), sandbox=FakeSandbox())
    return grid


def run(env, coroutine, seconds=0, step=0.5):
    """Drive a coroutine on the Clock, advancing time until it finishes."""
    from twisted.internet.defer import ensureDeferred

    d = ensureDeferred(coroutine)
    results = []
    d.addBoth(results.append)
    env.stub.flush()
    waited = 0.0
    while not results and waited <= seconds:
        env.advance(step)
        waited += step
    assert results, f"still running after {seconds} s of clock time"
    if hasattr(results[0], "raiseException"):
        results[0].raiseException()
    return results[0]


def test_master_with_no_agent_computes_its_own_tasks(env, tmp_path):
    grid = make_grid(env, tmp_path)

    async def master():
        job = await grid.new_job("echo")
        await job.start()
        slots = await job.fork_many("upper", [b"a%d" % i for i in range(50)])
        return slots, await job.gather()

    slots, results = run(env, master(), seconds=30)
    assert slots == list(range(50))
    assert results == [b"A%d" % i for i in range(50)]


def test_gather_without_compute_waits_and_reports_the_reason(env, tmp_path):
    grid = make_grid(env, tmp_path)

    async def master():
        job = await grid.new_job("echo")
        await job.start()
        await job.fork("echo", b"x")
        return await job.gather(timeout=3, compute=False)

    with pytest.raises(Exception, match="still missing"):
        run(env, master(), seconds=30)


def test_failed_task_raises_task_failed_with_the_agent_text(env, tmp_path):
    grid = make_grid(env, tmp_path)

    async def master():
        job = await grid.new_job("echo", max_attempts=1)
        await job.start()
        ok = await job.fork("echo", b"fine")
        bad = await job.fork("explode", b"x")
        both = await job.gather([ok, bad], return_exceptions=True)
        with pytest.raises(TaskFailed) as caught:
            await job.fetch(bad)
        return both, caught.value

    both, failure = run(env, master(), seconds=30)
    assert both[0] == b"fine"
    assert isinstance(both[1], TaskFailed) and "boom in explode" in both[1].message
    assert failure.slot == 1 and failure.attempts == 1


def test_context_manager_cancels_the_job_on_error(env, tmp_path):
    grid = make_grid(env, tmp_path)
    seen = {}

    async def master():
        job = await grid.new_job("echo")
        seen["job"] = job
        async with job:
            await job.start()
            await job.fork("echo", b"x")
            raise RuntimeError("master bug")

    with pytest.raises(RuntimeError):
        run(env, master())
    status = run(env, seen["job"].status())
    assert status["state"] == "cancelled"


def test_drop_file_and_status(env, tmp_path):
    grid = make_grid(env, tmp_path)

    async def master():
        job = await grid.new_job("echo")
        answer = await job.drop_file("data.bin", b"\0\1\2")
        await job.start(b"in")
        slot = await job.fork("cat", b"data.bin")
        result = await job.fetch(slot)
        return answer, result, await job.status()

    answer, result, status = run(env, master(), seconds=30)
    assert answer["sha256"] == hashlib.sha256(b"\0\1\2").hexdigest()
    assert result == b"\0\1\2"
    assert status["counts"]["done"] == 1 and status["files"][0]["name"] == "data.bin"


def test_api_errors_carry_code_and_message(env, tmp_path):
    grid = make_grid(env, tmp_path)
    other = make_grid(env, tmp_path, user="bob")
    job = run(env, grid.new_job("echo"))
    exc = failure_of(other.job(job.job_id).status())
    assert isinstance(exc, GridAPIError)
    assert (exc.status, exc.code) == (404, "no_such_job")
    exc = failure_of(grid.api.new_job("echo", priority=1000))
    assert (exc.status, exc.code) == (400, "bad_request")


def test_signed_requests_work_and_may_repeat_within_one_second(env, tmp_path):
    grid = make_grid(env, tmp_path, scheme="hmac")

    async def master():
        job = await grid.new_job("echo")
        await job.start()
        await job.fork_many("echo", [b"1", b"2"])
        first = await job.status()
        second = await job.status()  # same second, same parameters: needs the nonce
        return first, second, await job.gather()

    first, second, results = run(env, master(), seconds=30)
    assert first["total"] == second["total"] == 2
    assert results == [b"1", b"2"]


def test_bad_key_is_unauthorized(env, tmp_path):
    grid = Grid(BASE + "/", "ngk_" + "0" * 16 + "_" + "0" * 64, reactor=env.clock, http=env.stub)
    exc = failure_of(grid.new_job("echo"))
    assert (exc.status, exc.code) == (401, "unauthorized")


# -- the transport's retry rules, over a scripted HTTP client ----------------------

class ScriptedHTTP:
    """Answers each request with the next scripted outcome."""

    def __init__(self, outcomes):
        self.outcomes = list(outcomes)
        self.calls = []

    def request(self, method, url, **kwargs):
        self.calls.append((method, url, kwargs))
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            return fail(outcome)
        return succeed(FakeResponse(*outcome))


class FakeResponse:
    def __init__(self, code, body):
        from twisted.web.http_headers import Headers

        self.code = code
        self.headers = Headers({"Content-Type": ["application/json"]})
        self._body = body

    def content(self):
        return succeed(self._body)


def transport(http, clock):
    return Transport(http, "http://grid.test/", BearerKey("ngk_" + "a" * 16 + "_" + "b" * 64),
                     clock, retries=3,
                     backoff_factory=lambda: Backoff(initial=1, maximum=4, rng=_Half()))


class _Half:
    def uniform(self, low, high):
        return (low + high) / 2


def test_refused_connection_is_retried_with_backoff_even_when_not_idempotent():
    clock = Clock()
    http = ScriptedHTTP([neterror.ConnectionRefusedError(), neterror.ConnectionRefusedError(),
                         (200, b'{"job_id": "j"}')])
    d = transport(http, clock).call("new_job", form=[("application", "echo")])
    assert len(http.calls) == 1
    clock.advance(0.75)  # first delay: 1 * (1/2 + 1/4)
    assert len(http.calls) == 2
    clock.advance(1.5)
    assert result_of(d).json() == {"job_id": "j"}
    assert http.calls[0][2]["headers"]["Authorization"][0].startswith("Bearer ngk_")


def test_lost_connection_is_not_retried_for_a_non_idempotent_call():
    clock = Clock()
    http = ScriptedHTTP([neterror.ConnectionLost()])
    exc = failure_of(transport(http, clock).call("fork"))
    assert isinstance(exc, GridUnavailable) and len(http.calls) == 1


def test_5xx_is_retried_for_an_idempotent_call_until_the_budget_ends():
    clock = Clock()
    http = ScriptedHTTP([(503, b"{}")] * 4)
    d = transport(http, clock).call("fetch", idempotent=True)
    clock.pump([5] * 5)
    exc = failure_of(d)
    assert isinstance(exc, GridUnavailable) and "HTTP 503" in str(exc)
    assert len(http.calls) == 4


def test_cancelling_a_call_is_not_mistaken_for_a_network_error():
    clock = Clock()

    class Hanging:
        def request(self, method, url, **kwargs):
            return Deferred()

    d = transport(Hanging(), clock).call("pop", idempotent=True)
    d.cancel()
    from twisted.internet.defer import CancelledError

    assert isinstance(failure_of(d), CancelledError)


def test_a_call_times_out_and_is_retried_when_idempotent():
    clock = Clock()
    answers = [Deferred(), succeed(FakeResponse(200, b'{"ok": true}'))]

    class SlowThenFast:
        calls = 0

        def request(self, method, url, **kwargs):
            SlowThenFast.calls += 1
            return answers.pop(0)

    d = transport(SlowThenFast(), clock).call("heartbeat", idempotent=True, timeout=5)
    clock.advance(5)
    clock.advance(1)
    assert result_of(d).json() == {"ok": True}
    assert SlowThenFast.calls == 2


def test_signed_key_signs_what_the_server_checks():
    from naclgrid.auth.signing import sign

    key = "ngk_" + "c" * 16 + "_" + "d" * 64
    clock = Clock()
    clock.advance(1_700_000_000)
    headers, extra = SignedKey(key).authorize("fork", [("job_id", "J")], [("entry", "e")],
                                              [("input", b"xyz")], clock)
    assert headers == {}
    params = dict(extra)
    assert params["login"] == "c" * 16 and params["date"] == "1700000000"
    signed = [("job_id", "J"), ("entry", "e"), ("input", hashlib.sha256(b"xyz").hexdigest()),
              ("login", params["login"]), ("date", params["date"]), ("nonce", params["nonce"])]
    assert params["signature"] == sign(key, "fork", signed)


def test_multipart_round_trips_through_werkzeug():
    from werkzeug.formparser import parse_form_data
    import io

    content_type, body = encode_multipart([("entry", "e"), ("input", ("input", b"\0\r\n--x"))])
    environ = {"REQUEST_METHOD": "POST", "CONTENT_TYPE": content_type,
               "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body)}
    _stream, form, files = parse_form_data(environ)
    assert form["entry"] == "e"
    assert files["input"].read() == b"\0\r\n--x"


def test_backoff_grows_with_jitter_and_resets():
    backoff = Backoff(initial=1, maximum=8, rng=_Half())
    assert [backoff.next_delay() for _ in range(5)] == [0.75, 1.5, 3.0, 6.0, 6.0]
    backoff.reset()
    assert backoff.next_delay() == 0.75
    real = Backoff(initial=1, maximum=8)
    for _ in range(20):
        delay = real.next_delay()
        assert 0.5 <= delay <= 8


def test_call_forks_and_waits_in_one_round_trip_or_computes_when_nobody_is_there(env, tmp_path):
    grid = make_grid(env, tmp_path, compute=True)

    async def scenario():
        job = await grid.new_job("echo")
        await job.start()
        # No agent: fork-and-wait answers 202 after a short wait, then the
        # master computes the task itself.
        return await job.call("upper", b"abc", timeout=30), job

    result, job = run(env, scenario(), seconds=10)
    assert result == b"ABC" and job._slots == [0]


class _OldServer:
    """A transport of a server that predates frames: 415 for any frames
    body, JSON answers, fork without wait."""

    def __init__(self):
        self.calls = []

    def call(self, name, **kwargs):
        from naclgrid.client.transport import Reply
        from twisted.internet.defer import fail, succeed
        from twisted.web.http_headers import Headers

        self.calls.append((name, "frames" if kwargs.get("body") else
                           "json" if kwargs.get("json") is not None else "form"))
        if kwargs.get("body") is not None or (name == "pop" and kwargs.get("json")):
            return fail(GridAPIError(415, "unsupported_media_type", "no", {}))
        answers = {"fork_many": {"slots": [0, 1]}, "ack_many": {"results": [{"ok": True}]},
                   "pop": {"tasks": [{"slot": 0, "input_b64": "eA=="}]}, "fork": {"slot": 7}}
        body = json.dumps(answers[name]).encode()
        return succeed(Reply(200, Headers({"content-type": ["application/json"]}), body))


def test_an_old_server_gets_json_after_one_refused_frames_body():
    from naclgrid.client.api import GridAPI

    old = _OldServer()
    api = GridAPI(old)
    assert result_of(api.fork_many("J", [("e", b"a"), ("e", b"b")])) == [0, 1]
    assert old.calls == [("fork_many", "frames"), ("fork_many", "json")] and not api.frames
    assert result_of(api.fork_wait("J", "e", b"x", 5)) == (7, "forked", None)
    tasks, answers = result_of(api.pop_and_ack(
        [{"job_id": "J", "slot": 0, "lease_id": "l", "result": b"r"}], max=1))
    assert [t["input"] for t in tasks] == [b"x"] and answers == [{"ok": True}]
    assert old.calls[-3:] == [("pop", "json"), ("ack_many", "json"), ("pop", "form")]
    assert not api.pop_acks


def test_a_signed_agent_pops_with_riding_acks_in_frames(env, tmp_path):
    master = make_grid(env, tmp_path)
    agent_key, _record = result_of(env.keys.create("agent", "farm"))
    agent = Grid(BASE + "/", agent_key, reactor=env.clock, http=env.stub, scheme="hmac").api

    async def scenario():
        job = await master.new_job("echo")
        await job.start()
        await job.fork_many("echo", [b"a", b"b"])
        first = (await agent.pop(max=1))[0]
        ack = {"job_id": job.job_id, "slot": first["slot"], "lease_id": first["lease_id"],
               "result": first["input"] + b"!"}
        tasks, answers = await agent.pop_and_ack([ack], max=1)
        return job, first, tasks, answers

    job, first, tasks, answers = run(env, scenario())
    assert agent.frames and agent.pop_acks  # the server took both
    assert answers == [{"ok": True}] and [t["input"] for t in tasks] == [b"b"]
    results = run(env, master.api.fetch_many(job.job_id, [first["slot"]]))
    assert results[0]["result"] == b"a!"
