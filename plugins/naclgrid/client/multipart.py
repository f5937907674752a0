"""A small multipart/form-data encoder.

treq has its own, but it streams through a producer and cannot be exercised by
``treq.testing.StubTreq``; results and inputs are already whole ``bytes`` in
memory, so one joined body is both simpler and faster.
"""

import secrets


def encode_multipart(fields):
    """``fields`` is a list of ``(name, value)`` or ``(name, (filename, bytes))``.
    Returns ``(content_type, body)``."""
    boundary = "naclgrid-" + secrets.token_hex(16)
    marker = boundary.encode("ascii")
    parts = []
    for name, value in fields:
        filename = None
        if isinstance(value, tuple):
            filename, value = value
        if isinstance(value, str):
            value = value.encode("utf-8")
        if marker in value:
            # Astronomically unlikely with a random boundary; try another one
            # rather than send a corrupt body.
            return encode_multipart(fields)
        disposition = f'form-data; name="{_quote(name)}"'
        if filename is not None:
            disposition += f'; filename="{_quote(filename)}"'
            header = f"Content-Disposition: {disposition}\r\nContent-Type: application/octet-stream\r\n\r\n"
        else:
            header = f"Content-Disposition: {disposition}\r\n\r\n"
        parts.append(b"--" + marker + b"\r\n" + header.encode("utf-8") + value + b"\r\n")
    parts.append(b"--" + marker + b"--\r\n")
    return f"multipart/form-data; boundary={boundary}", b"".join(parts)


def _quote(text):
    return text.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")
