"""Reading an HTML form post (urlencoded or multipart) under a size limit.

twisted.web has buffered the body already (spooled to a temporary file when
large); the declared and the actual size are checked before parsing, and
the body is read from ``request.content`` in chunks, never from
``request.args`` (which loses upload file names).
"""

from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData

MAX_FIELDS = 100
MAX_FIELD_BYTES = 64 * 1024
_CHUNK = 64 * 1024


class FormTooLarge(Exception):
    def __init__(self, limit):
        super().__init__(f"The upload is larger than the limit of {limit} bytes.")
        self.limit = limit


class FormError(Exception):
    """The body is not a form we can read."""


@dataclass
class Upload:
    filename: str
    data: bytes


@dataclass
class Form:
    fields: dict = field(default_factory=dict)     # name -> str (first value wins)
    files: dict = field(default_factory=dict)      # name -> Upload

    def get(self, name, default=""):
        return self.fields.get(name, default)


def body_size(request):
    content = request.content
    content.seek(0, 2)
    size = content.tell()
    content.seek(0)
    return size


def read_form(request, limit):
    """The request's Form; FormTooLarge over ``limit`` bytes, FormError for
    an unreadable body."""
    declared = request.getHeader(b"content-length")
    if declared is not None and declared.strip().isdigit() and int(declared) > limit:
        raise FormTooLarge(limit)
    if request.content is None:
        return Form()
    if body_size(request) > limit:
        raise FormTooLarge(limit)
    kind, options = parse_options_header(
        (request.getHeader(b"content-type") or b"").decode("latin-1"))
    if kind == "multipart/form-data":
        return _multipart(request.content, options.get("boundary", ""), limit)
    if kind in ("application/x-www-form-urlencoded", ""):
        raw = request.content.read()
        try:
            pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True,
                              max_num_fields=MAX_FIELDS)
        except (UnicodeDecodeError, ValueError):
            raise FormError("The form could not be read.") from None
        form = Form()
        for name, value in pairs:
            form.fields.setdefault(name, value)
        return form
    raise FormError(f"Expected a form, got {kind!r}.")


def _multipart(content, boundary, limit):
    if not boundary or len(boundary) > 200:
        raise FormError("The upload has no multipart boundary.")
    decoder = MultipartDecoder(boundary.encode("latin-1"), max_form_memory_size=limit)
    form, current, chunks, count = Form(), None, [], 0
    while True:
        data = content.read(_CHUNK)
        try:
            decoder.receive_data(data or None)
            while True:
                event = decoder.next_event()
                if isinstance(event, NeedData):
                    break
                if isinstance(event, Epilogue):
                    _finish(form, current, chunks)
                    return form
                if isinstance(event, (Field, File)):
                    _finish(form, current, chunks)
                    current, chunks = event, []
                    count += 1
                    if count > MAX_FIELDS:
                        raise FormError("The form has too many fields.")
                elif isinstance(event, Data):
                    chunks.append(event.data)
                    if isinstance(current, Field) and sum(map(len, chunks)) > MAX_FIELD_BYTES:
                        raise FormError(f"A form field is longer than {MAX_FIELD_BYTES} bytes.")
        except RequestEntityTooLarge:
            raise FormTooLarge(limit) from None
        except ValueError:
            raise FormError("The upload could not be read.") from None
        if not data:
            raise FormError("The upload ended early.")


def _finish(form, part, chunks):
    if part is None:
        return
    data = b"".join(chunks)
    if isinstance(part, File):
        if part.name not in form.files:
            form.files[part.name] = Upload(part.filename or "", data)
    elif part.name not in form.fields:
        try:
            form.fields[part.name] = data.decode("utf-8")
        except UnicodeDecodeError:
            raise FormError(f"The field {part.name!r} is not UTF-8 text.") from None
