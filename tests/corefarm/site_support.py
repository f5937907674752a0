"""Helpers for the corefarm site, accounts and credit tests (not a test module).

``make_site`` builds the real site on a real naclgrid Grid over the memory
store and a Clock; only the render master may be a stand-in
(:class:`FakeMaster`), for pages tested before a real render exists.
"""

import html
import io
import re
from http.cookies import SimpleCookie
from urllib.parse import urlencode

from PIL import Image
from treq.testing import StubTreq
from twisted.internet.defer import Deferred, ensureDeferred
from twisted.internet.task import Clock
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.python.filepath import FilePath

from naclgrid.grid import Grid
from naclgrid.stores.memory import MemoryGridStore

from corefarm.plugin import build_parts
from corefarm.site.settings import SiteSettings
from gridhost.testing import result_of

T0 = 1_700_000_000.0
BASE = "http://farm.test"
CHEAP_PASSWORDS = {"password_time_cost": 1, "password_memory_kib": 64}


def failure_of(d):
    if not isinstance(d, Deferred):
        d = ensureDeferred(d)
    results = []
    d.addBoth(results.append)
    assert results and isinstance(results[0], Failure), results
    return results[0].value


def png_bytes(width, height, color=(200, 80, 10)):
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


class FakeMaster:
    """The RenderMaster's contract over the real Grid, without rendering:
    ``tiles`` tasks per job; an agent (the test) acks them."""

    def __init__(self, grid, tiles=4):
        self.grid, self.tiles = grid, tiles
        self.submitted, self.ran = [], []

    async def submit(self, owner, files, options):
        job = await self.grid.new_job(owner, "yafaray", meta={"render_master": "fake"})
        for name, data in files.items():
            await self.grid.drop_file(job.job_id, name, data, owner=owner)
        await self.grid.start_job(job.job_id, f"${options['scene']}$ 0".encode(), owner=owner)
        self.submitted.append((job.job_id, owner, dict(files), dict(options)))
        await self.run(job.job_id)
        return job.job_id

    def start(self, job_id):
        return ensureDeferred(self.run(job_id))

    async def run(self, job_id):
        self.ran.append(job_id)
        if self.tiles:
            await self.grid.fork_many(job_id, [("render_tile", b"%d" % i) for i in range(self.tiles)])

    async def progress(self, job_id, owner):
        status = await self.grid.job_status(job_id, owner=owner)
        done = status["counts"]["done"]
        total = status["total"]
        state = {"running": "rendering", "cancelled": "cancelled"}.get(status["state"], status["state"])
        if total and done == total:
            state = "done"
        return {"state": state, "tiles_total": total, "tiles_done": done,
                "warnings": ["material 'x' unknown: grey used"], "waiting_reason":
                status["waiting_reason"], "output": "render.png" if state == "done" else None,
                "width": 64, "height": 48}

    async def preview_png(self, job_id, owner):
        await self.grid.get_job(job_id, owner=owner)
        return png_bytes(64, 48)

    async def output(self, job_id, owner):
        progress = await self.progress(job_id, owner)
        if progress["state"] != "done":
            raise LookupError("not rendered yet")
        return png_bytes(64, 48, (1, 2, 3)), "image/png", "render.png"


class Farm:
    """A site on a memory-store Grid and a Clock."""

    def __init__(self, tmp_path=None, master=None, **settings):
        self.clock = Clock()
        self.clock.advance(T0)
        self.store = MemoryGridStore()
        self.grid = Grid(self.store, self.clock)
        self.settings = SiteSettings(**{**CHEAP_PASSWORDS, **settings})
        data_dir = FilePath(str(tmp_path)) if tmp_path is not None else FilePath("/nonexistent")
        self.master = master if master is not None else FakeMaster(self.grid)
        self.site, self.service, self.parts = build_parts(
            self.grid, self.clock, data_dir, Logger(), self.settings, master=self.master)
        self.stub = StubTreq(self.site.resource())

    def browser(self):
        return Browser(self)

    def finish_tiles(self, job_id, user="volunteer", node="agent-1", seconds=1.0, count=None):
        """Pop and ack tiles of ``job_id`` as an agent would (through the
        metered grid the REST API uses)."""
        from corefarm.credit import MeteredGrid

        grid = MeteredGrid(self.grid, self.parts["meter"])
        tasks = result_of(grid.pop(node, user, max=count or 256, job_id=job_id))
        self.clock.advance(seconds)
        for task in tasks:
            result_of(grid.ack(task.job_id, task.slot, task.lease_id, result=b"tile"))
        return tasks


def multipart(fields, files):
    """``(body, content type)`` of a multipart/form-data post (StubTreq
    cannot encode files itself)."""
    boundary = "----corefarm-test-boundary-7d1f"
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                     .encode() + str(value).encode() + b"\r\n")
    for name, (filename, handle, kind) in files.items():
        data = handle.read() if hasattr(handle, "read") else handle
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                     f'filename="{filename}"\r\nContent-Type: {kind}\r\n\r\n'.encode()
                     + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class Reply:
    def __init__(self, response, body):
        self.code = response.code
        self.headers = response.headers
        self.body = body
        self.text = body.decode("utf-8", "replace")

    def header(self, name):
        values = self.headers.getRawHeaders(name)
        return values[0] if values else None

    def json(self):
        import json
        return json.loads(self.body)

    def csrf(self):
        match = re.search(r'name="csrf" value="([^"]+)"', self.text) or re.search(
            r'data-csrf="([^"]+)"', self.text)
        assert match, f"no CSRF token in {self.text[:300]}"
        return match.group(1)

    def field_error(self, name):
        match = re.search(rf'<p class="field-error" id="{name}-error"[^>]*>([^<]*)</p>', self.text)
        return html.unescape(match.group(1)) if match else None

    def __repr__(self):
        return f"<Reply {self.code} {self.body[:300]!r}>"


class Browser:
    """A cookie-keeping client of one Farm's site."""

    def __init__(self, farm):
        self.farm = farm
        self.cookies = {}           # what the site set, as seen by this browser
        self.stub = StubTreq(farm.site.resource())

    def _headers(self, extra=None):
        # The cookies themselves travel in the client's own jar (one per browser).
        headers = {"Host": "farm.test"}
        headers.update(extra or {})
        return headers

    def request(self, method, path, data=None, files=None, headers=None, body=None):
        stub = self.stub
        kwargs = {"headers": self._headers(headers), "allow_redirects": False}
        if files is not None:
            kwargs["data"], kwargs["headers"]["Content-Type"] = multipart(data or {}, files)
        elif body is not None:
            kwargs["data"] = body
        elif data is not None:
            kwargs["data"] = urlencode(data).encode()
            kwargs["headers"]["Content-Type"] = "application/x-www-form-urlencoded"
        d = stub.request(method, BASE + path, **kwargs)
        stub.flush()
        response = result_of(d)
        body_d = response.content()
        stub.flush()
        reply = Reply(response, result_of(body_d))
        for raw in response.headers.getRawHeaders("set-cookie") or []:
            cookie = SimpleCookie()
            cookie.load(raw)
            for name, morsel in cookie.items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return reply

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, data=None, **kw):
        return self.request("POST", path, data=data, **kw)

    def form_post(self, page_path, action, fields):
        """GET a page, then POST ``fields`` with its CSRF token."""
        token = self.get(page_path).csrf()
        return self.post(action, {**fields, "csrf": token})

    def join(self, name="alice", password="correct horse battery"):
        reply = self.form_post("/join", "/join", {"name": name, "email": "", "password": password,
                                                  "password2": password})
        assert reply.code == 303, reply
        return reply

    def login(self, name="alice", password="correct horse battery"):
        return self.form_post("/login", "/login", {"name": name, "password": password})
