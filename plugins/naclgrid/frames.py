"""``application/x-naclgrid-frames``: a JSON document with its binary values
attached raw instead of base64 inside it.

    body   = b"NGF1" || u32 big-endian length of header || header || blob 0 || blob 1 ...
    header = the JSON object the endpoint takes or gives, plus
             "blob_sizes": [size of blob 0, size of blob 1, ...]

Any binary field ``X_b64`` (a base64 string) may instead be given as
``X_blob``: the index of its blob. The blobs must fill the rest of the body
exactly. Decoding is one JSON parse of a small header and a slice per blob;
base64 inside JSON cost the server about 20 ms of CPU per MiB moved.

This module is shared by the API and the SDK: it depends on nothing else of
naclgrid, and raises :class:`FrameError` (a ``ValueError``) for any body that
does not follow the layout.
"""

import json
import struct

MEDIA_TYPE = "application/x-naclgrid-frames"
MAGIC = b"NGF1"
_HEAD = struct.Struct(">4sI")
MAX_HEADER_BYTES = 16 * 1024 * 1024
MAX_BLOBS = 100_000


class FrameError(ValueError):
    """A body that is not a well-formed frames body."""


def encode(obj, blobs):
    """The frames body of JSON-able ``obj`` (a dict) and ``blobs`` (bytes-like)."""
    return b"".join(encode_parts(obj, blobs))


def encode_parts(obj, blobs):
    """:func:`encode`'s body as a list of pieces to write one after another
    (joining 8 MiB of blobs costs more than writing them)."""
    header = dict(obj)
    header["blob_sizes"] = [len(blob) for blob in blobs]
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    return [_HEAD.pack(MAGIC, len(text)) + text, *blobs]


def decode(body, copy=True):
    """``(obj, blobs)`` of a frames body; ``obj`` keeps ``*_blob`` indices
    (see :func:`binary`) and loses ``blob_sizes``. With ``copy=False`` the
    blobs are memoryviews of ``body`` (for a body that is itself decoded
    next and dropped: copying it out first would move every byte once more)."""
    view = memoryview(body)
    if len(view) < _HEAD.size:
        raise FrameError("a frames body starts with NGF1 and a header length")
    magic, header_size = _HEAD.unpack_from(view)
    if magic != MAGIC:
        raise FrameError("a frames body starts with NGF1")
    if header_size > min(MAX_HEADER_BYTES, len(view) - _HEAD.size):
        raise FrameError("the frames header length runs past the body")
    start = _HEAD.size + header_size
    try:
        obj = json.loads(bytes(view[_HEAD.size:start]))
    except (UnicodeDecodeError, ValueError):
        raise FrameError("the frames header is not valid JSON") from None
    if not isinstance(obj, dict):
        raise FrameError("the frames header must be a JSON object")
    sizes = obj.pop("blob_sizes", [])
    if (not isinstance(sizes, list) or len(sizes) > MAX_BLOBS
            or not all(type(size) is int and size >= 0 for size in sizes)):
        raise FrameError(f"blob_sizes must be a list of up to {MAX_BLOBS} sizes")
    if start + sum(sizes) != len(view):
        raise FrameError("the blobs do not fill the body exactly as blob_sizes say")
    blobs, offset = [], start
    for size in sizes:
        blob = view[offset:offset + size]
        blobs.append(bytes(blob) if copy else blob)
        offset += size
    return obj, blobs


def binary(item, name, blobs, required=False):
    """The bytes of field ``name`` of ``item``: from ``name_blob`` (an index
    into ``blobs``) or ``name_b64``; None when absent and not ``required``.
    Raises :class:`FrameError` (bad index) or ``binascii.Error``/``ValueError``
    (bad base64); the API turns both into 400 with a reason."""
    index = item.get(name + "_blob")
    if index is not None:
        if type(index) is not int or not 0 <= index < len(blobs):
            raise FrameError(f"{name}_blob must be the index of a blob")
        return blobs[index]
    if name + "_b64" in item:
        import base64

        value = item[name + "_b64"]
        if not isinstance(value, str):
            raise FrameError(f"{name}_b64 must be a base64 string")
        return base64.b64decode(value, validate=True)
    if required:
        raise FrameError(f"missing {name}_blob (or {name}_b64)")
    return None


def accepts(accept_header):
    """Does an ``Accept`` header value (bytes or str) ask for frames?"""
    if not accept_header:
        return False
    if isinstance(accept_header, bytes):
        accept_header = accept_header.decode("latin-1")
    return MEDIA_TYPE in accept_header
