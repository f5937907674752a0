"""Requests whose body is bounded before any app sees it.

twisted.web spools any body to a temporary file, however large, before the
resource that would refuse it runs. A body over ``[server]
max_request_bytes`` is instead discarded as it arrives (the Content-Length
says so up front, or a chunked body crosses the line), and the router
answers 413 with a JSON reason.
"""

import io

from twisted.web.server import Request


# Bodies up to this size (by their Content-Length) stay in memory.
MEMORY_BODY_BYTES = 64 * 1024 * 1024


class MemoryBody:
    """A request body kept as the chunks it arrived in and joined once, when
    first read: the file methods twisted.web and apps use (append-only)."""

    def __init__(self):
        self._chunks = []
        self._data = None
        self._pos = 0

    def write(self, data):
        if self._data is not None:
            self._chunks, self._data = [self._data], None
        self._chunks.append(bytes(data))
        return len(data)

    def _whole(self):
        if self._data is None:
            self._data, self._chunks = b"".join(self._chunks), []
        return self._data

    def seek(self, offset, whence=0):
        size = len(self._whole())
        base = {0: 0, 1: self._pos, 2: size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self):
        return self._pos

    def read(self, size=-1):
        data = self._whole()
        end = len(data) if size is None or size < 0 else min(len(data), self._pos + size)
        chunk = data if self._pos == 0 and end == len(data) else data[self._pos:end]
        self._pos = max(self._pos, end)
        return chunk

    def getvalue(self):
        return self._whole()

    def close(self):
        self._chunks, self._data = [], b""


class BoundedRequest(Request):
    max_body = 512 * 1024 * 1024
    body_too_large = False

    def __init__(self, *args, max_body=None, **kwargs):
        super().__init__(*args, **kwargs)
        if max_body is not None:
            self.max_body = max_body
        self._body_seen = 0

    def gotLength(self, length):
        if length is not None and length > self.max_body:
            self._refuse_body()
        elif length is not None and length <= MEMORY_BODY_BYTES:
            # Apps read such a body whole anyway: spooling it to a temporary
            # file (or a growing BytesIO) first cost a write and a read of
            # every byte.
            self.content = MemoryBody()
        else:
            super().gotLength(length)

    def handleContentChunk(self, data):
        self._body_seen += len(data)
        if not self.body_too_large and self._body_seen > self.max_body:
            self._refuse_body()
        if not self.body_too_large:
            super().handleContentChunk(data)

    def _refuse_body(self):
        self.body_too_large = True
        old = getattr(self, "content", None)
        if old is not None:
            old.close()  # a spool file already holding part of the body
        self.content = io.BytesIO()
