"""Request parameters: the query string, and a form, multipart or JSON body,
read under a size limit that is checked before the body is parsed.

twisted.web has already buffered the body in ``request.content`` (spooled to
a temporary file when large). The declared Content-Length is checked first,
then the actual size, and only then is the body parsed. Parameters are read
from ``request.uri`` and ``request.content`` directly, never from
``request.args``, so the result is the same whether or not the host lets
twisted.web pre-parse form bodies. Values stay ``bytes``: inputs, results and
files are binary-safe end to end.
"""

import binascii
import hashlib
import json
import math
from dataclasses import dataclass
from urllib.parse import parse_qsl

import multipart
from werkzeug.http import parse_options_header

from naclgrid import frames
from naclgrid.api.errors import ApiError

MAX_PARTS = 1000
MAX_QUERY_PARAMS = 100


@dataclass(frozen=True)
class Upload:
    """One multipart part sent with a filename."""

    filename: str
    data: bytes
    content_type: str | None


def too_large(what, limit):
    return ApiError("too_large", f"{what} is larger than the limit of {limit} bytes", 413, limit=limit)


class Params:
    """The parameters of one request.

    ``query`` and ``form`` are lists of ``(name, bytes)``; ``files`` maps a
    field name to an :class:`Upload`; ``json`` is the decoded JSON object of
    a JSON body or None.
    """

    def __init__(self, query, form=(), files=None, json_body=None, body_sha256=None,
                 blobs=None):
        self.query = list(query)
        self.form = list(form)
        self.files = dict(files or {})
        self.json = json_body
        self.blobs = blobs  # a frames body's blobs (None for any other body)
        self._body_sha256 = body_sha256

    def binary(self, item, name, where, required=False):
        """Field ``name`` of JSON object ``item`` as bytes: ``name_b64``, or
        ``name_blob`` in a frames body (see :mod:`naclgrid.api.frames`)."""
        try:
            return frames.binary(item, name, self.blobs or (), required=required)
        except (binascii.Error, ValueError) as error:
            raise ApiError("bad_request", f"{where}: {error}") from None

    def signing_params(self):
        """What a signed request covers: query and form fields as sent, each
        file as its sha256 hex, a JSON body as ``body=<sha256 hex>``."""
        params = self.query + self.form
        params += [(name, hashlib.sha256(up.data).hexdigest().encode()) for name, up in self.files.items()]
        if self._body_sha256 is not None:
            digest = self._body_sha256
            digest = digest() if callable(digest) else digest
            params.append(("body", digest.encode()))
        return params

    def raw(self, name):
        """The bytes of a parameter (query first, then form, then a file
        part of that name), or None."""
        for source in (self.query, self.form):
            for key, value in source:
                if key == name:
                    return value
        upload = self.files.get(name)
        return upload.data if upload is not None else None

    def has(self, name):
        return self.raw(name) is not None

    def blob(self, name, limit, default=b""):
        value = self.raw(name)
        if value is None:
            return default
        if len(value) > limit:
            raise too_large(f"parameter {name!r}", limit)
        return value

    def text(self, name, default=None, required=False, max_length=1024):
        value = self.raw(name)
        if value is None:
            if required:
                raise ApiError("bad_request", f"missing parameter {name!r}")
            return default
        if len(value) > max_length:
            raise ApiError("bad_request", f"parameter {name!r} is longer than {max_length} bytes")
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise ApiError("bad_request", f"parameter {name!r} is not UTF-8") from None

    def integer(self, name, low, high, default=None, required=False):
        text = self.text(name, required=required and default is None, max_length=32)
        if text is None:
            return default
        return check_int(name, text, low, high)

    def number(self, name, low, high, default=None):
        text = self.text(name, max_length=32)
        if text is None:
            return default
        return check_number(name, text, low, high)


def check_int(name, value, low, high):
    try:
        number = int(value) if not isinstance(value, bool) else None
    except (TypeError, ValueError):
        number = None
    if number is None or isinstance(value, float) or not low <= number <= high:
        raise ApiError("bad_request", f"{name!r} must be an integer from {low} to {high}")
    return number


def check_number(name, value, low, high):
    try:
        number = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        number = math.nan
    if not low <= number <= high:  # also false for NaN
        raise ApiError("bad_request", f"{name!r} must be a number from {low} to {high}")
    return number


def query_params(request):
    """``(name, bytes)`` pairs of the query string only."""
    _, _, query = request.uri.partition(b"?")
    try:
        pairs = parse_qsl(query, keep_blank_values=True, max_num_fields=MAX_QUERY_PARAMS)
    except ValueError:
        raise ApiError("bad_request", f"more than {MAX_QUERY_PARAMS} query parameters") from None
    return [(_name(key), value) for key, value in pairs]


def _name(raw):
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError("bad_request", "parameter names must be UTF-8") from None


def body_size(request, limit):
    """The body's size; 413 if the declared or actual size exceeds ``limit``."""
    declared = request.getHeader(b"content-length")
    if declared is not None:
        try:
            declared_size = int(declared)
        except ValueError:
            raise ApiError("bad_request", "bad Content-Length") from None
        if declared_size > limit:
            raise too_large("the request body", limit)
    content = request.content
    if content is None:
        return 0
    content.seek(0, 2)
    size = content.tell()
    content.seek(0)
    if size > limit:
        raise too_large("the request body", limit)
    return size


_KINDS = {"application/x-www-form-urlencoded": "form", "multipart/form-data": "multipart",
          "application/json": "json", frames.MEDIA_TYPE: "frames"}


def read_params(request, limit, accept=("form", "multipart")):
    """Parse a request's query and body into :class:`Params`.

    ``accept`` names the body kinds this endpoint takes (``form``,
    ``multipart``, ``json``, ``frames``); a GET or an empty body is always
    fine. ``limit`` is a byte count, or a dict of one per kind.
    """
    query = query_params(request)
    raw_type = (request.getHeader(b"content-type") or b"").decode("latin-1")
    if ";" in raw_type:
        mimetype, options = parse_options_header(raw_type)
    else:  # the common case needs no parser (werkzeug's costs ~15 us a call)
        mimetype, options = raw_type.strip().lower(), {}
    if isinstance(limit, dict):
        limit = limit.get(_KINDS.get(mimetype), min(limit.values()))
    size = body_size(request, limit) if request.method != b"GET" else 0
    if size == 0:
        return Params(query)
    if mimetype == "application/x-www-form-urlencoded" and "form" in accept:
        return Params(query, form=_form(request.content.read()))
    if mimetype == "multipart/form-data" and "multipart" in accept:
        form, files = _multipart(request.content, options.get("boundary"), limit)
        return Params(query, form=form, files=files)
    if mimetype == "application/json" and "json" in accept:
        body = request.content.read()
        return Params(query, json_body=_json(body), body_sha256=_digest_of(body))
    if mimetype == frames.MEDIA_TYPE and "frames" in accept:
        # The channel's content offers the body as a view: its blobs are
        # copied out once by decode, not first the whole body by read().
        view = getattr(request.content, "view", None)
        body = view() if view is not None else request.content.read()
        try:
            obj, blobs = frames.decode(body)
        except frames.FrameError as error:
            raise ApiError("bad_request", f"bad frames body: {error}") from None
        return Params(query, json_body=obj, blobs=blobs,
                      body_sha256=_digest_of(body))
    names = {kind: name for name, kind in _KINDS.items()}
    raise ApiError(
        "unsupported_media_type",
        "send the body as " + " or ".join(names[kind] for kind in accept),
        415,
    )


def _digest_of(body):
    # Only a signed request needs it: hashing a 64 MiB batch costs ~100 ms.
    return lambda: hashlib.sha256(body).hexdigest()


def _form(body):
    try:
        pairs = parse_qsl(body, keep_blank_values=True, max_num_fields=MAX_PARTS)
    except ValueError:
        raise ApiError("bad_request", f"more than {MAX_PARTS} form fields") from None
    return [(_name(key), value) for key, value in pairs]


def _multipart(stream, boundary, limit):
    """``(form, files)`` of a buffered multipart/form-data body (RFC 7578),
    parsed by the ``multipart`` library (sans-io, boundary search by
    ``bytes.find``). werkzeug's decoder, used before, compiled two regular
    expressions per request because every boundary is random: ~0.8 ms a call.
    """
    if not boundary or len(boundary) > 200:
        raise ApiError("bad_request", "multipart/form-data without a (sane) boundary")
    body = stream.read(limit + 1)
    if len(body) > limit:
        raise too_large("the request body", limit)
    form, files = [], {}
    try:
        with multipart.PushMultipartParser(boundary, max_segment_count=MAX_PARTS) as parser:
            segment, chunks = None, []
            for event in (*parser.parse(body), *parser.parse(b"")):
                if isinstance(event, multipart.MultipartSegment):
                    segment, chunks = event, []
                elif event:
                    chunks.append(event)
                else:  # the end of a segment
                    _add_part(form, files, segment, b"".join(chunks))
    except multipart.MultipartError as error:
        raise ApiError("bad_request", f"bad multipart body: {error}") from None
    return form, files


def _add_part(form, files, segment, value):
    if segment.filename is None:
        form.append((segment.name, value))
    elif segment.name in files:
        raise ApiError("bad_request", f"file field {segment.name!r} sent twice")
    else:
        files[segment.name] = Upload(segment.filename, value, segment.content_type)


def _json(body):
    try:
        value = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise ApiError("bad_request", "the body is not valid JSON") from None
    if not isinstance(value, dict):
        raise ApiError("bad_request", "the JSON body must be an object")
    return value
