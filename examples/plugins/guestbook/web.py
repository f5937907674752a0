"""The guestbook's pages, a Klein app built around a book and a clock."""

import html
import json
from urllib.parse import parse_qs

from klein import Klein

MAX_NAME, MAX_MESSAGE = 80, 500
MAX_BODY = 4096


class GuestbookPages:
    app = Klein()

    def __init__(self, book, title, clock):
        self._book, self._title, self._clock = book, title, clock

    def resource(self):
        return self.app.resource()

    @app.route("/", methods=["GET"])
    async def index(self, request):
        entries = await self._book.latest()
        items = "".join(
            f"<li><b>{html.escape(e['name'])}</b>: {html.escape(e['message'])}</li>" for e in entries)
        request.setHeader(b"content-type", b"text/html; charset=utf-8")
        return (f"<!doctype html><title>{html.escape(self._title)}</title>"
                f"<h1>{html.escape(self._title)}</h1><ul>{items}</ul>"
                '<form method="post" action="sign"><input name="name"><input name="message">'
                "<button>Sign</button></form>")

    @app.route("/sign", methods=["POST"])
    async def sign(self, request):
        request.setHeader(b"content-type", b"application/json")
        body = request.content.read(MAX_BODY + 1)
        if len(body) > MAX_BODY:
            request.setResponseCode(413)
            return json.dumps({"error": "too_large", "message": f"at most {MAX_BODY} bytes"})
        form = parse_qs(body.decode("utf-8", "replace"))
        name = form.get("name", [""])[0].strip()
        message = form.get("message", [""])[0].strip()
        problems = {}
        if not 1 <= len(name) <= MAX_NAME:
            problems["name"] = f"between 1 and {MAX_NAME} characters"
        if not 1 <= len(message) <= MAX_MESSAGE:
            problems["message"] = f"between 1 and {MAX_MESSAGE} characters"
        if problems:
            request.setResponseCode(400)
            return json.dumps({"error": "bad_request", "message": problems})
        await self._book.add({"name": name, "message": message, "at": self._clock.seconds()})
        return json.dumps({"ok": True})
