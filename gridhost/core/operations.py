"""The host's own endpoints: ``/healthz`` and ``/metrics``."""

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from twisted.internet.defer import gatherResults, maybeDeferred
from twisted.logger import Logger
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET

from gridhost.core.responses import json_body

HEALTH_TIMEOUT = 5.0
# Methods are client-chosen strings: the cache stays bounded whatever they send.
MAX_CACHED_LABELS = 1024


class SiteMetrics:
    """Request counts and latencies per site, in the host's registry."""

    def __init__(self, registry):
        self.requests = Counter(
            "gridhost_requests", "HTTP requests served, per site.",
            ["site", "method", "code"], registry=registry)
        self.latency = Histogram(
            "gridhost_request_seconds", "Time to answer an HTTP request, per site.",
            ["site"], registry=registry,
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120))

        # labels() builds and checks a key under a lock on every call: keep
        # each labelled child once (sites x methods x codes: a small set).
        self._children = {}

    def observe(self, site, method, code, seconds):
        children = self._children.get((site, method, code))
        if children is None:
            children = (self.requests.labels(site, method, str(code)), self.latency.labels(site))
            if len(self._children) < MAX_CACHED_LABELS:
                self._children[(site, method, code)] = children
        children[0].inc()
        children[1].observe(max(seconds, 0.0))


class MetricsResource(Resource):
    isLeaf = True

    def __init__(self, registry):
        super().__init__()
        self._registry = registry

    def render_GET(self, request):
        request.setHeader(b"content-type", CONTENT_TYPE_LATEST.encode())
        return generate_latest(self._registry)


class HealthResource(Resource):
    """200 only when the store answers and every app says it is ok."""

    isLeaf = True
    log = Logger(namespace="gridhost.health")

    def __init__(self, store, instances, clock):
        super().__init__()
        self._store = store
        self._instances = instances  # name -> IAppInstance
        self._clock = clock

    def _check(self, name, call):
        d = maybeDeferred(call)
        d.addTimeout(HEALTH_TIMEOUT, self._clock)

        def ok(value):
            return name, value if isinstance(value, dict) else {"ok": True}

        def failed(f):
            self.log.warn("health check {name} failed: {error}", name=name, error=f.getErrorMessage())
            return name, {"ok": False, "error": f.getErrorMessage() or f.type.__name__}

        return d.addCallbacks(ok, failed)

    def render_GET(self, request):
        checks = [self._check("store", self._store.ping)]
        checks += [self._check(name, inst.health) for name, inst in self._instances.items()]

        def respond(results):
            store = dict([results[0]])["store"]
            store.setdefault("kind", self._store.kind)
            apps = dict(results[1:])
            healthy = store.get("ok", True) and all(a.get("ok", True) for a in apps.values())
            body = {"ok": bool(healthy), "store": store, "apps": apps}
            if not request._disconnected:
                request.write(json_body(request, 200 if healthy else 503, body))
                request.finish()

        gatherResults(checks).addCallback(respond)
        return NOT_DONE_YET
