"""corefarm as a gridhost app: the cooperative render farm's site, on the
same reactor and store as naclgrid, which it drives in-process.

``[app.corefarm]`` options are listed in :mod:`corefarm.site.settings`.
"""

from importlib.resources import files

from twisted.application.service import MultiService
from twisted.internet.defer import ensureDeferred
from twisted.internet.threads import deferToThreadPool
from twisted.plugin import IPlugin
from zope.interface import implementer

from gridhost.core.interfaces import IAppInstance, IGridApp

APPLICATION = "yafaray"


def tracer_module():
    """The ray tracer's wasm, or None when the package was built without it."""
    try:
        return files("corefarm.tracer").joinpath("tracer.wasm").read_bytes()
    except (OSError, ModuleNotFoundError):
        return None


@implementer(IGridApp, IPlugin)
class CorefarmApp:
    name = "corefarm"
    requires = ("naclgrid",)

    def check_config(self, section):
        from corefarm.site.settings import check_section

        return check_section(section)

    def build(self, section, context):
        from corefarm.site.settings import SiteSettings

        settings = SiteSettings.from_section(section)
        grid = context.dependencies["naclgrid"]
        reactor = context.reactor
        return CorefarmInstance(*build_parts(grid, reactor, context.data_dir, context.log,
                                             settings, blocking=_thread_runner(reactor)))


def _thread_runner(reactor):
    def run(function, *args):
        return deferToThreadPool(reactor, reactor.getThreadPool(), function, *args)
    return run


def build_parts(grid, clock, data_dir, log, settings, blocking=None, master=None):
    """Wire the site around ``grid``; returns ``(site, service, parts)``.
    Tests call this with a Clock, an inline ``blocking`` and maybe a master."""
    from naclgrid.auth import KeyService

    from corefarm.accounts import Accounts, Keyspace, PasswordPolicy, RateLimiter, SessionStore
    from corefarm.accounts.passwords import run_inline
    from corefarm.credit import CreditGate, Ledger, MeteredGrid, TileMeter
    from corefarm.site.app import CorefarmSite, Services
    from corefarm.site.feedback import FeedbackBox
    from corefarm.site.figures import Figures
    from corefarm.site.watcher import Periodic, StartedJobWatcher

    kv = Keyspace(grid.store, clock, prefix="cf:")
    ledger = Ledger(kv.child("credit:"), starting_grant=settings.starting_grant)
    limiter = RateLimiter(kv.child("rate:"))
    passwords = PasswordPolicy(run=blocking or run_inline, time_cost=settings.password_time_cost,
                               memory_kib=settings.password_memory_kib)
    accounts = Accounts(kv.child("acct:"), passwords, limiter, on_created=ledger.ensure,
                        max_failures=settings.login_max_failures,
                        max_attempts=settings.login_max_attempts, window=settings.login_window)
    gate = CreditGate(grid, ledger, applications=(APPLICATION,),
                      tile_estimate=settings.tile_estimate, log=log)
    meter = TileMeter(kv.child("meter:"), ledger, grid, applications=(APPLICATION,), log=log)
    meter.listeners.append(lambda owner: ensureDeferred(gate.check_owner(owner)))
    rest = getattr(grid, "rest", None)
    if rest is not None and not isinstance(rest.grid, MeteredGrid):
        # The REST API calls self.grid.pop/ack; metering them books the credit.
        rest.grid = MeteredGrid(rest.grid, meter)
    else:
        log.warn("corefarm: naclgrid exposes no REST API object (grid.rest); "
                 "tiles delivered by agents will not be credited")
    keys = getattr(grid, "keys", None) or KeyService(grid.store, clock)
    if master is None:
        master = _render_master(grid, clock, data_dir, log)
    registry = getattr(grid, "applications", None)
    module = tracer_module()
    if registry is not None and module is not None and APPLICATION not in registry:
        registry.add(APPLICATION, module)
    services = Services(
        grid=grid, master=master, accounts=accounts, sessions=SessionStore(kv.child("s:")),
        limiter=limiter, ledger=ledger, gate=gate, keys=keys, feedback=FeedbackBox(kv),
        figures=Figures(grid, ledger, clock, applications=(APPLICATION,)), clock=clock,
        settings=settings)
    site = CorefarmSite(services, log=log)
    watcher = StartedJobWatcher(grid, master, kv, applications=(APPLICATION,), log=log)
    grid.store.subscribe(watcher.on_event)
    service = MultiService()
    Periodic("corefarm-credit", settings.credit_interval, gate.reconcile, clock, log) \
        .setServiceParent(service)
    Periodic("corefarm-watcher", settings.watch_interval, watcher.look, clock, log) \
        .setServiceParent(service)
    if registry is not None:
        Periodic("corefarm-modules", 5.0, registry.publish, clock, log).setServiceParent(service)
    parts = {"kv": kv, "ledger": ledger, "gate": gate, "meter": meter, "watcher": watcher,
             "accounts": accounts, "master": master, "keys": keys, "services": services}
    return site, service, parts


def _render_master(grid, clock, data_dir, log):
    try:
        from corefarm.render.master import RenderMaster
    except ImportError:
        from corefarm.site.nomaster import MissingMaster

        log.warn("corefarm: the render master is not installed; submissions are refused")
        return MissingMaster()
    return RenderMaster(grid, clock, data_dir, log)


@implementer(IAppInstance)
class CorefarmInstance:
    def __init__(self, site, service, parts):
        self._site, self.service, self.parts = site, service, parts
        self.api = parts["services"]

    def resource(self):
        return self._site.resource()

    def health(self):
        return ensureDeferred(self._health())

    async def _health(self):
        figures = await self.parts["services"].figures.current()
        return {"ok": True, "nodes_online": figures["nodes_online"],
                "jobs_running": figures["jobs_running"]}
