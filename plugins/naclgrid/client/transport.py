"""One HTTP call to the naclgrid API, with credentials, error decoding and retries.

Retry rules (wire-protocol.md): a connection that could not even be opened
never reached the server, so any call may be retried; a call that may have
reached it (a reset connection, a timeout, a 5xx) is retried only when it is
idempotent: fetching, status, file downloads, heartbeats and acks (an ack of
the very same lease is answered ``duplicate``).
"""

import hashlib
import json as jsonlib
from urllib.parse import urlencode

from twisted.internet import error as neterror
from twisted.internet.defer import TimeoutError as DeferredTimeout
from twisted.internet.defer import ensureDeferred
from twisted.internet.task import deferLater
from twisted.logger import Logger
from twisted.web.client import RequestTransmissionFailed, ResponseFailed, ResponseNeverReceived

from naclgrid import frames
from naclgrid.client.backoff import Backoff
from naclgrid.client.errors import GridAPIError, GridUnavailable
from naclgrid.client.multipart import encode_multipart

# Errors raised before a single byte of the request left this machine.
_NOT_SENT = (
    neterror.ConnectError,  # ConnectionRefusedError, TCPTimedOutError, DNS... subclass it
    neterror.DNSLookupError,
    neterror.NoRouteError,
)
_MAYBE_SENT = (
    neterror.ConnectionLost,
    neterror.ConnectionDone,
    neterror.TimeoutError,
    ResponseNeverReceived,
    ResponseFailed,
    RequestTransmissionFailed,
    DeferredTimeout,
)


class Reply:
    """A finished HTTP exchange: status, headers (twisted Headers) and body."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return jsonlib.loads(self.body)

    def document(self):
        """``(obj, blobs)`` of a JSON or ``application/x-naclgrid-frames``
        answer (``blobs`` is empty for JSON)."""
        content_type = self.header("content-type") or b""
        if isinstance(content_type, bytes):
            content_type = content_type.decode("latin-1")
        if content_type.startswith(frames.MEDIA_TYPE):
            return frames.decode(self.body)
        return jsonlib.loads(self.body), []

    def header(self, name):
        values = self.headers.getRawHeaders(name)
        return values[0] if values else None


class Transport:
    """Sends calls to ``base_url`` (ending with ``/``) through ``http`` (treq
    or a treq-like object such as ``treq.testing.StubTreq``)."""

    log = Logger()

    def __init__(self, http, base_url, credentials, clock, *, retries=8,
                 backoff_factory=None, timeout=None):
        self._http = http
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self._credentials = credentials
        self._clock = clock
        self._retries = retries
        self._backoff_factory = backoff_factory or (lambda: Backoff(initial=0.25, maximum=5.0))
        self._timeout = timeout

    @property
    def takes_parts(self):
        """May ``body`` be a list of pieces? (Only for an ``http`` that says so.)"""
        return getattr(self._http, "takes_parts", False)

    def call(self, name, *, method="POST", query=(), form=(), files=(), json=None,
             idempotent=False, timeout=None, retries=None, body=None, accept=None):
        """A Deferred firing with a :class:`Reply` of status < 400 (202 too).

        Fails with :class:`GridAPIError` for a 4xx answer and
        :class:`GridUnavailable` when the server stayed unreachable.
        ``files`` holds ``(field, (filename, bytes))`` pairs sent as multipart.
        ``body`` is ``(content_type, bytes or list of bytes)`` of a body
        already encoded (signed like a JSON body); ``accept`` an ``Accept``
        header value. A list of pieces needs an ``http`` that takes one
        (the default :class:`AgentHTTP`); treq wants bytes.
        """
        return ensureDeferred(self._call(
            name, method, list(query), list(form), list(files), json, idempotent,
            timeout if timeout is not None else self._timeout,
            self._retries if retries is None else retries, body, accept))

    async def _call(self, name, method, query, form, files, json, idempotent, timeout, retries,
                    raw=None, accept=None):
        backoff = None  # made on the first failure: seeding one costs more than a call
        attempt = 0
        while True:
            attempt += 1
            try:
                reply = await self._once(name, method, query, form, files, json, timeout,
                                         raw, accept)
            except _NOT_SENT as exc:
                problem, retry_ok = exc, True
            except _MAYBE_SENT as exc:
                problem, retry_ok = exc, idempotent
            else:
                if reply.status < 500:
                    return _checked(reply)
                problem, retry_ok = f"HTTP {reply.status}", idempotent
            if not retry_ok or attempt > retries:
                raise GridUnavailable(f"{name}: {_describe(problem)}")
            backoff = backoff or self._backoff_factory()
            delay = backoff.next_delay()
            self.log.debug("{name}: {problem}; retry in {delay:.2f}s",
                           name=name, problem=_describe(problem), delay=delay)
            await deferLater(self._clock, delay, lambda: None)

    async def _once(self, name, method, query, form, files, json, timeout, raw=None,
                    accept=None):
        headers = {"Accept": [accept]} if accept else {}
        body = body_sha256 = None
        if raw is not None or json is not None:
            if raw is not None:
                headers["Content-Type"] = [raw[0]]
                body = raw[1]  # bytes, or a list of pieces (see http.BytesProducer)
            else:
                headers["Content-Type"] = ["application/json"]
                body = jsonlib.dumps(json, separators=(",", ":")).encode("utf-8")
            if getattr(self._credentials, "signs_body", True):
                digest = hashlib.sha256()
                for part in body if isinstance(body, list) else [body]:
                    digest.update(part)
                body_sha256 = digest.hexdigest()
        elif files:
            content_type, body = encode_multipart(form + files)
            headers["Content-Type"] = [content_type]
        elif form:
            headers["Content-Type"] = ["application/x-www-form-urlencoded"]
            body = urlencode(form).encode("ascii")
        file_fields = [(field, value[1]) for field, value in files]
        auth_headers, extra = self._credentials.authorize(
            name.split("/", 1)[0], query, form, file_fields, self._clock, body_sha256)
        headers.update(auth_headers)
        url = self.base_url + name
        params = query + extra
        if params:
            url += "?" + urlencode(params)
        kwargs = {"headers": headers}
        if body is not None:
            kwargs["data"] = body
        exchange = ensureDeferred(self._exchange(method, url, kwargs))
        if timeout:
            # addTimeout turns the cancellation into a TimeoutError, so a caller's
            # own cancel() still propagates as CancelledError and is not retried.
            exchange.addTimeout(timeout, self._clock)
        return await exchange

    async def _exchange(self, method, url, kwargs):
        response = await self._http.request(method, url, **kwargs)
        body = await response.content()
        return Reply(response.code, response.headers, body)


def _checked(reply):
    if reply.status < 400:
        return reply
    try:
        payload = reply.json()
        code, message = payload["error"], payload.get("message", "")
    except (ValueError, KeyError, TypeError):
        payload = {}
        code, message = "http_error", bytes(reply.body[:200]).decode("utf-8", "replace")
    raise GridAPIError(reply.status, code, message, payload)


def _describe(problem):
    if isinstance(problem, str):
        return problem
    return f"{type(problem).__name__}: {problem}"
