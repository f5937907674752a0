"""The site's Klein app: built around the grid engine and a clock."""

import json
from importlib.resources import files

from klein import Klein

from corefarm.site.figures import farm_figures

STATIC = files("corefarm.site") / "static"


class CorefarmSite:
    app = Klein()

    def __init__(self, grid, clock):
        self._grid, self._clock = grid, clock

    def resource(self):
        return self.app.resource()

    @app.route("/", methods=["GET"])
    def home(self, request):
        request.setHeader(b"content-type", b"text/html; charset=utf-8")
        return (STATIC / "home.html").read_bytes()

    @app.route("/static/<string:name>", methods=["GET"])
    def static(self, request, name):
        allowed = {"site.css": b"text/css", "live.js": b"text/javascript"}
        if name not in allowed:
            request.setResponseCode(404)
            request.setHeader(b"content-type", b"application/json")
            return json.dumps({"error": "not_found", "message": f"no static file {name!r}"})
        request.setHeader(b"content-type", allowed[name])
        request.setHeader(b"cache-control", b"max-age=300")
        return (STATIC / name).read_bytes()

    @app.route("/api/figures", methods=["GET"])
    async def figures(self, request):
        request.setHeader(b"content-type", b"application/json")
        request.setHeader(b"cache-control", b"no-store")
        return json.dumps(await farm_figures(self._grid))
