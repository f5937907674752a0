"""Helpers for the REST API and auth tests (not a test module)."""

from twisted.internet.defer import Deferred, ensureDeferred
from twisted.python.failure import Failure


def failure_of(d):
    """The exception of an already-failed Deferred or coroutine."""
    if not isinstance(d, Deferred):
        d = ensureDeferred(d)
    results = []
    d.addBoth(results.append)
    assert results, f"{d!r} has not fired"
    assert isinstance(results[0], Failure), f"expected a failure, got {results[0]!r}"
    return results[0].value


# -- a NaclgridAPI on a memory store, a Clock and StubTreq ----------------------------

import hashlib  # noqa: E402
import json  # noqa: E402

import treq  # noqa: E402
from treq.testing import StubTreq  # noqa: E402
from twisted.internet.task import Clock  # noqa: E402
from gridhost.testing import result_of

T0 = 1_700_000_000.0
BASE = "http://grid.test"
ECHO_WASM = b"\0asm\x01\0\0\0echo"
ECHO = ("echo", hashlib.sha256(ECHO_WASM).hexdigest(), len(ECHO_WASM))


# (method, path, status) of every reply any API test saw: test_openapi checks
# that each status is documented for that operation.
OBSERVED = []


class Reply:
    def __init__(self, response, body):
        self.code = response.code
        self.headers = response.headers
        self.body = body

    def header(self, name):
        values = self.headers.getRawHeaders(name)
        return values[0] if values else None

    def json(self):
        assert (self.header("content-type") or "").startswith("application/json"), self.body[:200]
        return json.loads(self.body)

    def __repr__(self):
        return f"<Reply {self.code} {self.body[:200]!r}>"


class Pending:
    """A request in flight; ``called`` once the whole response is in."""

    def __init__(self, deferred):
        self.outcome = []
        self.deferred = deferred
        deferred.addBoth(self._store)

    def _store(self, result):
        self.outcome.append(result)
        return result

    @property
    def called(self):
        return bool(self.outcome)


class ApiClient:
    """Calls the API through a StubTreq, with one key (or none)."""

    def __init__(self, env, key=None):
        self.env = env
        self.key = key

    def start(self, method, endpoint, query=None, headers=None, **kwargs):
        """Send a request; returns the Deferred of the response (long polls).
        ``files`` (StubTreq has no multipart) is encoded here, with ``data``."""
        all_headers = {"Authorization": f"Bearer {self.key}"} if self.key else {}
        all_headers.update(headers or {})
        if "files" in kwargs:
            content_type, kwargs["data"] = multipart(kwargs.pop("data", None) or {}, kwargs.pop("files"))
            all_headers.setdefault("Content-Type", content_type)
        url = f"{BASE}/{endpoint}"
        d = self.env.stub.request(method, url, params=query or {}, headers=all_headers, **kwargs)

        def reply(body, response):
            OBSERVED.append((method, "/" + endpoint, response.code))
            return Reply(response, body)

        return Pending(d.addCallback(lambda response: treq.content(response).addCallback(
            reply, response)))

    def finish(self, pending):
        return result_of(pending.deferred)

    def call(self, method, endpoint, query=None, **kwargs):
        return self.finish(self.start(method, endpoint, query, **kwargs))

    def post(self, endpoint, query=None, **kwargs):
        return self.call("POST", endpoint, query, **kwargs)

    def get(self, endpoint, query=None, **kwargs):
        return self.call("GET", endpoint, query, **kwargs)

    # Shortcuts for the common path.
    def new_job(self, application="echo", **fields):
        reply = self.post("new_job", data={"application": application, **fields})
        assert reply.code == 200, reply
        return reply.json()["job_id"]

    def started_job(self, application="echo", **fields):
        job_id = self.new_job(application, **fields)
        assert self.post("start_job", {"job_id": job_id}, data={"input": "go"}).code == 200
        return job_id


def multipart(fields, files, boundary="naclgrid-test-boundary-8d1f"):
    """``(content_type, body)`` of a multipart/form-data body. ``files`` maps
    a field name to ``(filename or None, content type, bytes)``."""
    out = []
    for name, value in dict(fields).items():
        value = value.encode() if isinstance(value, str) else value
        out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
                   + value + b"\r\n")
    for name, (filename, ctype, data) in files.items():
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out.append(f"--{boundary}\r\nContent-Disposition: {disposition}\r\n"
                   f"Content-Type: {ctype}\r\n\r\n".encode() + data + b"\r\n")
    out.append(f"--{boundary}--\r\n".encode())
    return f"multipart/form-data; boundary={boundary}", b"".join(out)


class ApiEnv:
    """Everything a REST test needs, on one Clock."""

    def __init__(self, limits=None, settings=None, twisted_parses_forms=False):
        from naclgrid.api import ApiSettings, NaclgridAPI
        from naclgrid.auth import Authenticator, KeyService
        from naclgrid.grid import Grid
        from naclgrid.model import FileRef
        from naclgrid.stores.memory import MemoryGridStore

        self.clock = Clock()
        self.clock.advance(T0)
        self.store = MemoryGridStore()
        self.grid = Grid(self.store, self.clock, limits=limits)
        self.keys = KeyService(self.store, self.clock)
        if settings is None:
            settings = ApiSettings(applications={"echo": FileRef(*ECHO)})
        self.api = NaclgridAPI(self.grid, Authenticator(self.keys, self.store, self.clock),
                               self.clock, settings)
        self.stub = StubTreq(self.api.resource())
        if not twisted_parses_forms:
            # As a host should serve the API: the API reads bodies itself, under its
            # limits, so twisted.web need not parse (and copy) form uploads first.
            from functools import partial

            from twisted.web.server import Request

            site = self.stub._agent._serverFactory
            site.requestFactory = partial(Request, parsePOSTFormSubmission=False)
        result_of(self.store.put_blob(ECHO_WASM))

    def client(self, role, user=None):
        key, _record = result_of(self.keys.create(role, user))
        return ApiClient(self, key)

    def anonymous(self):
        return ApiClient(self)

    def advance(self, seconds):
        self.clock.advance(seconds)
        self.stub.flush()
