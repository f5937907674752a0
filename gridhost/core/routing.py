"""Host header → site → app resource, as one small resource.

Routing by longest site-path prefix in one place (rather than nested
``putChild`` trees) lets the router tag each request with its site for
metrics and reject hostile paths before any app sees them.
``NameVirtualHost`` is not used: it compares Host *bytes* and its str-keyed
example is a trap.
"""

from twisted.web.resource import Resource

from gridhost.core.responses import json_error

MAX_HOST_HEADER = 255
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def host_of(request):
    """The lower-cased Host header without its port, as str ('' if absent)."""
    raw = (request.getHeader(b"host") or b"").strip().lower()
    if raw.startswith(b"["):  # "[::1]:8080"
        raw = raw.split(b"]", 1)[0] + b"]"
    else:
        raw = raw.split(b":", 1)[0]
    return raw.decode("ascii", "replace")


class _ErrorPage(Resource):
    isLeaf = True

    def __init__(self, status, code, message):
        super().__init__()
        self._args = (status, code, message)

    def render(self, request):
        return json_error(request, *self._args)


class MountedSite:
    """One ``[[host.site]]``: its path segments, a metrics label, the resource."""

    def __init__(self, segments, label, resource):
        self.segments = tuple(s.encode() for s in segments)
        self.label = label
        self.resource = resource


class HostRouter(Resource):
    """``hosts`` is a list of ``(names, [MountedSite, ...])``; ``"*"`` in
    names matches any Host. ``global_children`` (``/healthz``, ``/metrics``)
    answer on every host. ``observe(site_label, method, status, seconds)``
    is called when each routed request finishes; ``clock`` is an IReactorTime."""

    def __init__(self, hosts, global_children, observe, clock):
        super().__init__()
        self._exact = {}
        self._wildcard = None
        for names, sites in hosts:
            ordered = sorted(sites, key=lambda s: len(s.segments), reverse=True)
            for name in names:
                if name == "*":
                    self._wildcard = ordered
                else:
                    self._exact[name] = ordered
        self._global = {name.encode(): res for name, res in global_children.items()}
        self._observe = observe
        self._clock = clock

    def _route(self, request):
        if getattr(request, "body_too_large", False):
            return _ErrorPage(413, "too_large",
                              f"the request body is larger than {request.max_body} bytes")
        segments = request.postpath
        bad = [s for s in segments if s in (b".", b"..") or b"/" in s or b"\\" in s or b"\x00" in s]
        if bad:
            return _ErrorPage(400, "bad_path", "path segments '.', '..' and encoded slashes are refused")
        if len(segments) == 1 and segments[0] in self._global:
            request.prepath.append(segments.pop(0))
            return self._global[request.prepath[-1]]
        host = host_of(request)
        if len(host) > MAX_HOST_HEADER:
            return _ErrorPage(400, "bad_host", "the Host header is too long")
        sites = self._exact.get(host, self._wildcard)
        if sites is None:
            return _ErrorPage(404, "unknown_host", f"no site is served for host {host!r}")
        for site in sites:
            n = len(site.segments)
            prefix = tuple(segments[:n])
            if prefix == site.segments:
                del segments[:n]
                request.prepath.extend(prefix)
                self._track(request, site.label)
                return site.resource
        return _ErrorPage(404, "not_found", "no site is mounted at this path")

    def _track(self, request, label):
        started = self._clock.seconds()
        # A client chooses the method: an unbounded label set would grow the
        # metrics without end, so anything unusual counts as "other".
        method = request.method.decode("ascii", "replace")
        if method not in _METHODS:
            method = "other"

        def finished(_):
            self._observe(label, method, request.code, self._clock.seconds() - started)

        request.notifyFinish().addBoth(finished)

    def getChildWithDefault(self, path, request):
        # Put the segment back: routing looks at the whole path at once.
        request.postpath.insert(0, request.prepath.pop())
        return self._route(request)

    def render(self, request):
        return self._route(request).render(request)
