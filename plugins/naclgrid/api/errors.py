"""Every failure leaves the API as ``{"error": CODE, "message": TEXT}``.

Domain errors (the engine's GridError, credential and request errors) carry
their own code and status. Routing errors keep werkzeug's 404/405, in JSON.
Anything else is a bug: it is logged once and answered with a bare 500.
"""

import json

from twisted.internet.defer import CancelledError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from naclgrid import frames
from naclgrid.errors import GridError


class ApiError(GridError):
    """A request the API refuses: bad parameters, size limits, roles.
    ``extra`` fields are added to the JSON error body."""

    def __init__(self, code, message, status=400, **extra):
        super().__init__(message, code=code, status=status)
        self.extra = extra


def json_response(request, obj, status=200):
    """Set the status and JSON content type, return the encoded body."""
    request.setResponseCode(status)
    request.setHeader(b"content-type", b"application/json")
    request.setHeader(b"cache-control", b"no-store")
    return json.dumps(obj, separators=(",", ":")).encode("utf-8")


def batch_response(request, obj, blobs=None, status=200):
    """JSON, or with ``blobs`` (a list) an ``application/x-naclgrid-frames``
    body whose binary fields reference those blobs."""
    if blobs is None:
        return json_response(request, obj, status)
    request.setResponseCode(status)
    request.setHeader(b"content-type", frames.MEDIA_TYPE.encode("ascii"))
    request.setHeader(b"cache-control", b"no-store")
    parts = frames.encode_parts(obj, blobs)
    if len(parts) < 8:
        return b"".join(parts)
    # Written piece by piece (with the length up front): the transport
    # queues them without a copy, where one joined body would be a copy more.
    request.setHeader(b"content-length", str(sum(len(part) for part in parts)).encode("ascii"))
    for part in parts:
        request.write(part)
    return b""


def wants_frames(request):
    """A list to collect blobs in if the caller accepts frames, else None."""
    return [] if frames.accepts(request.getHeader(b"accept")) else None


def error_body(request, status, code, message, **extra):
    return json_response(request, {"error": code, "message": message, **extra}, status)


_ROUTING_CODES = {404: "not_found", 405: "method_not_allowed"}


def install_error_handlers(app):
    """Register the error edge on a Klein app whose instances have ``.log``.
    Klein tries handlers in registration order, so the catch-all comes last."""

    @app.handle_errors(GridError)
    def _domain_error(self, request, failure):
        return domain_error_body(request, failure.value)

    @app.handle_errors(HTTPException)
    def _routing_error(self, request, failure):
        error = failure.value
        if isinstance(error, MethodNotAllowed) and error.valid_methods:
            request.setHeader(b"allow", ", ".join(error.valid_methods).encode("ascii"))
        code = _ROUTING_CODES.get(error.code, "bad_request")
        return error_body(request, error.code, code, error.description or error.name)

    @app.handle_errors(Exception)
    def _unexpected(self, request, failure):
        if failure.check(CancelledError):
            # The client went away (e.g. during a long poll); nobody to answer.
            return b""
        return unexpected_error_body(self.log, request, failure)


def domain_error_body(request, error):
    """The answer to a GridError (an ApiError, an AuthError...)."""
    extra = getattr(error, "extra", None) or {}
    status = error.status if 400 <= error.status <= 599 else 400
    return error_body(request, status, error.code, error.message, **extra)


def unexpected_error_body(log, request, failure):
    """A bug: logged once, answered with a bare 500."""
    log.failure(
        "naclgrid: unhandled error on {method} {path}",
        failure,
        method=request.method.decode("latin-1"),
        path=request.path.decode("latin-1"),
    )
    return json_response(request, {"error": "internal", "message": "internal error"}, 500)
