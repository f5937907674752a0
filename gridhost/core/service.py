"""Build the running host from a validated config.

Order matters twice. At start: apps are built and started in dependency
order, listeners last, so no request arrives before every app is ready. At
stop (SIGTERM): listeners stop first, so no new request arrives, then apps
stop one at a time in reverse order, each waiting for the previous one, so
an app never loses a dependency while it is still draining.
"""

from dataclasses import asdict
from functools import partial

from prometheus_client import CollectorRegistry
from twisted.application.internet import StreamServerEndpointService
from twisted.application.service import MultiService, Service
from twisted.internet.defer import inlineCallbacks, maybeDeferred
from twisted.internet.endpoints import serverFromString
from twisted.logger import Logger
from twisted.python.filepath import FilePath

from gridhost.core.accesslog import HostSite
from gridhost.core.context import HostContext
from gridhost.core.requests import BoundedRequest
from gridhost.core.operations import HealthResource, MetricsResource, SiteMetrics
from gridhost.core.routing import HostRouter, MountedSite
from gridhost.core.stores import StoreConnection

log = Logger(namespace="gridhost.host")


class AppBuildError(Exception):
    """An app's ``build`` raised: a bug in that app, reported with its name."""

    def __init__(self, name, error):
        super().__init__(f"app {name!r} failed to build: {error!r}")
        self.app = name


class _StoreService(Service):
    """Closes the shared store connection after every app has stopped."""

    def __init__(self, store):
        self.store = store

    def stopService(self):
        super().stopService()
        return self.store.close()


class GridHostService(MultiService):
    def __init__(self):
        super().__init__()
        self.listeners = []
        self.app_services = []
        self.instances = {}
        self.site = None
        self.ports = []
        self.port_file = None

    @classmethod
    def from_config(cls, config, apps, reactor, listen=None):
        """``apps`` maps name -> IGridApp (discovered); ``listen`` overrides
        ``config.server.listen`` (tests pass ``[]`` and listen themselves)."""
        top = cls()
        data_root = FilePath(config.server.data_dir)
        data_root.makedirs(ignoreExistingDirectory=True)
        # The access log opens first: a bad path stops the host before any app is built.
        http_site = HostSite(None, config.server.access_log_target(), reactor)
        store = StoreConnection.from_setting(config.server.store, reactor)
        store_service = _StoreService(store)
        store_service.setServiceParent(top)
        registry = CollectorRegistry()
        server = asdict(config.server)
        for name, section in config.apps.items():
            app = apps[name]
            mounts = tuple((h.names, s.path) for h in config.hosts for s in h.sites if s.app == name)
            data_dir = data_root.child(name)
            data_dir.makedirs(ignoreExistingDirectory=True)
            context = HostContext(
                reactor=reactor, store=store, data_dir=data_dir,
                log=Logger(namespace=name), metrics=registry,
                dependencies={dep: top.instances[dep].api for dep in app.requires},
                server=server, mounts=mounts, local_url=top._local_url_for(mounts),
            )
            try:
                instance = app.build(section, context)
            except Exception as e:
                raise AppBuildError(name, e) from e
            top.instances[name] = instance
            if instance.service is not None:
                instance.service.setName(f"app:{name}")
                instance.service.setServiceParent(top)
                top.app_services.append(instance.service)
        metrics = SiteMetrics(registry)
        hosts = []
        for i, host in enumerate(config.hosts):
            sites = [
                MountedSite(site.segments, f"{site.app}:{site.path}", top.instances[site.app].resource())
                for site in host.sites
            ]
            hosts.append((host.names, sites))
        router = HostRouter(
            hosts,
            {"healthz": HealthResource(store, top.instances, reactor), "metrics": MetricsResource(registry)},
            metrics.observe, reactor,
        )
        http_site.resource = router
        top.site = http_site
        top.site.displayTracebacks = False
        # Apps read request bodies themselves, under their own size limits.
        # twisted.web's own POST parsing would keep a second copy of every
        # upload in memory and answer a malformed multipart body with a bare
        # HTML 400 before any app could give a JSON reason.
        top.site.requestFactory = partial(BoundedRequest, parsePOSTFormSubmission=False,
                                          max_body=config.server.max_request_bytes)
        top.registry = registry
        top.store = store
        top.port_file = data_root.child("ports").path
        if data_root.child("ports").exists():
            data_root.child("ports").remove()
        for desc in config.server.listen if listen is None else listen:
            listener = _Listener(serverFromString(reactor, desc), top.site, top, desc)
            listener.setServiceParent(top)
            top.listeners.append(listener)
        return top

    def _local_url_for(self, mounts):
        paths = [path for names, path in mounts
                 if set(names) & {"*", "localhost", "127.0.0.1"}]

        def url():
            for listener in self.listeners:
                port = listener.bound_port
                if paths and port is not None and listener.description.startswith("tcp"):
                    return f"http://127.0.0.1:{port}{paths[0].rstrip('/')}/"
            return None

        return url

    @inlineCallbacks
    def stopService(self):
        Service.stopService(self)
        for listener in self.listeners:
            yield maybeDeferred(listener.stopService)
        log.info("listeners closed; stopping {count} apps", count=len(self.app_services))
        for service in reversed(list(self)):
            if service in self.listeners or not service.running:
                continue
            yield maybeDeferred(service.stopService)


class _Listener(StreamServerEndpointService):
    """Records the bound port so the host can log it (and tests can read it)."""

    def __init__(self, endpoint, factory, host, description):
        super().__init__(endpoint, factory)
        self._host = host
        self.description = description
        self.bound_port = None
        self._raiseSynchronously = True

    def privilegedStartService(self):
        super().privilegedStartService()

        def bound(port):
            self._host.ports.append(port)
            address = port.getHost()
            self.bound_port = getattr(address, "port", None)
            if self._host.port_file is not None:
                # Tests and scripts that listen on port 0 read the real port here.
                with open(self._host.port_file, "a") as f:
                    f.write(f"{getattr(address, 'port', '?')}\n")
            log.info("gridhost listening on {desc} ({host}:{port})", desc=self.description,
                     host=getattr(address, "host", "?"), port=getattr(address, "port", "?"))
            return port

        self._waitingForPort.addCallback(bound)
