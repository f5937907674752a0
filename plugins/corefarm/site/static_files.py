"""Static files: the site's own, and the renderer's browser pieces (the
ABI module and the tracer's wasm), all served from the installed package;
nothing comes from a CDN."""

from importlib.resources import files

from corefarm.site.web import json_error

TYPES = {".css": b"text/css; charset=utf-8", ".js": b"text/javascript; charset=utf-8",
         ".svg": b"image/svg+xml", ".png": b"image/png", ".wasm": b"application/wasm"}

# name -> (package, file name): a fixed list, so no path ever reaches the file system.
FILES = {
    "site.css": ("corefarm.site.static", "site.css"),
    "live.js": ("corefarm.site.static", "live.js"),
    "job.js": ("corefarm.site.static", "job.js"),
    "participate.js": ("corefarm.site.static", "participate.js"),
    "worker.js": ("corefarm.site.static", "worker.js"),
    "favicon.svg": ("corefarm.site.static", "favicon.svg"),
    "naclgrid_abi.js": ("corefarm.web", "naclgrid_abi.js"),
    "tracer.wasm": ("corefarm.tracer", "tracer.wasm"),
}


def read_static(name):
    package, filename = FILES[name]
    return files(package).joinpath(filename).read_bytes()


def install(app):

    @app.route("/static/<string:name>", methods=["GET"], endpoint="static")
    def static(self, request, name):
        if name not in FILES:
            return json_error(request, 404, "not_found", f"no static file {name!r}")
        try:
            data = read_static(name)
        except (OSError, ModuleNotFoundError):
            return json_error(request, 404, "not_found", f"{name} is not installed")
        suffix = name[name.rfind("."):]
        request.setHeader(b"content-type", TYPES[suffix])
        request.setHeader(b"x-content-type-options", b"nosniff")
        request.setHeader(b"cache-control", b"no-cache")
        return data
