"""Requests whose body is bounded before any app sees it.

twisted.web spools any body to a temporary file, however large, before the
resource that would refuse it runs. A body over ``[server]
max_request_bytes`` is instead discarded as it arrives (the Content-Length
says so up front, or a chunked body crosses the line), and the router
answers 413 with a JSON reason.
"""

import io

from twisted.web.server import Request


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
