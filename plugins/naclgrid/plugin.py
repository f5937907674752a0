"""naclgrid as a gridhost app: options, build, and the running instance.

``[app.naclgrid]`` options (all optional)::

    max_input_bytes = 16777216      # limits of naclgrid.model.Limits (same names)
    max_tasks_per_job = 1000000
    lease_seconds = 60              # defaults for jobs that do not choose
    max_attempts = 3
    node_ttl = 30                   # a silent node counts as live this long
    requeue_interval = 1.0          # how often expired leases are requeued
    results_ttl = 86400             # a job's task inputs and results are dropped this
                                    # long after it ends; -1 keeps them for ever
    task_memory_bytes = 268435456   # sandbox limits sent with every task
    task_fuel = 10000000000
    task_seconds = 300
    max_batch_bytes = 67108864      # JSON bodies of fork_many / ack_many
    namespace = "ng:"               # Redis key prefix
    builtin_applications = true     # register the example apps echo and pi
    write_admin_key = true          # a fresh server writes DATA_DIR/admin.key

    [app.naclgrid.applications]     # more registered applications: name = wasm path
    render = "/srv/wasm/render.wasm"
"""

import re
from pathlib import Path

from twisted.application.service import MultiService, Service
from twisted.internet.defer import ensureDeferred
from zope.interface import implementer

from gridhost.core.interfaces import IAppInstance, IGridApp

MIB = 1024 * 1024
_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
_NAMESPACE_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,32}$")
_BOOTSTRAP_RETRY = 5.0

# option -> (kind, low, high); kind "int" | "number".
NUMBERS = {
    "max_input_bytes": ("int", 1, 4096 * MIB),
    "max_result_bytes": ("int", 1, 4096 * MIB),
    "max_file_bytes": ("int", 1, 64 * 1024 * MIB),
    "max_tasks_per_job": ("int", 1, 10**9),
    "max_active_jobs_per_user": ("int", 1, 10**6),
    "max_fork_batch": ("int", 1, 100_000),
    "max_pop": ("int", 1, 256),
    "max_wait": ("number", 0, 600),
    "max_entry_chars": ("int", 1, 4096),
    "max_error_chars": ("int", 1, 16 * MIB),
    "max_application_chars": ("int", 8, 4096),
    "max_file_name_chars": ("int", 1, 255),
    "max_meta_bytes": ("int", 1, 16 * MIB),
    "lease_seconds": ("number", 5, 3600),
    "max_attempts": ("int", 1, 20),
    "node_ttl": ("number", 1, 3600),
    "requeue_interval": ("number", 0.05, 60),
    "results_ttl": ("number", -1, 10 * 365 * 86400),
    "task_memory_bytes": ("int", MIB, 64 * 1024 * MIB),
    "task_fuel": ("int", 1, 2**63 - 1),
    "task_seconds": ("number", 0.1, 86400),
    "max_batch_bytes": ("int", 1024, 4096 * MIB),
}
FLAGS = ("builtin_applications", "write_admin_key")
OPTIONS = set(NUMBERS) | set(FLAGS) | {"namespace", "applications", "pool", "elastic"}


def _results_ttl(value):
    return None if value == -1 else float(value)  # -1: kept for ever


def _check_number(key, value, kind, low, high):
    if isinstance(value, bool) or not isinstance(value, int if kind == "int" else (int, float)):
        return f"{key}: expected {'an integer' if kind == 'int' else 'a number'}, got {value!r}"
    if not low <= value <= high:
        return f"{key}: must be between {low} and {high}, got {value!r}"
    return None


def _check_applications(table):
    if not isinstance(table, dict):
        return ["applications: expected a table of name = \"path/to/module.wasm\""]
    errors = []
    for name, path in table.items():
        where = f"applications.{name}"
        if not _NAME_RE.match(name):
            errors.append(f"{where}: names are 1-128 characters of A-Z a-z 0-9 _ . -")
        elif not isinstance(path, str):
            errors.append(f"{where}: expected a path to a .wasm file")
        elif not Path(path).is_file():
            errors.append(f"{where}: no such file {path!r}")
        else:
            with open(path, "rb") as handle:
                if handle.read(4) != b"\0asm":
                    errors.append(f"{where}: {path!r} is not a WebAssembly module")
    return errors


def check_section(section):
    """The ``"key: problem"`` list for an ``[app.naclgrid]`` table."""
    errors = [f"{key}: unknown option (known: {', '.join(sorted(OPTIONS))})"
              for key in sorted(set(section) - OPTIONS)]
    for key, (kind, low, high) in NUMBERS.items():
        if key in section:
            problem = _check_number(key, section[key], kind, low, high)
            if problem:
                errors.append(problem)
    ttl = section.get("results_ttl", 0)
    if isinstance(ttl, (int, float)) and not isinstance(ttl, bool) and -1 < ttl < 0:
        errors.append(f"results_ttl: -1 (keep for ever) or seconds >= 0, got {ttl!r}")
    for key in FLAGS:
        if key in section and not isinstance(section[key], bool):
            errors.append(f"{key}: expected true or false")
    namespace = section.get("namespace", "ng:")
    if not isinstance(namespace, str) or not _NAMESPACE_RE.match(namespace):
        errors.append("namespace: 1-32 characters of A-Z a-z 0-9 _ . : -")
    if "applications" in section:
        errors += _check_applications(section["applications"])
    from naclgrid.elastic import check_elastic_config
    from naclgrid.pool import check_pool_config

    errors += check_pool_config(section.get("pool"))
    errors += check_elastic_config(section.get("elastic"))
    if _elastic_enabled(section) and isinstance(section.get("pool"), dict) \
            and section["pool"].get("enabled") is True:
        errors.append("pool.enabled: the autoscaler ([app.naclgrid.elastic]) manages the nodes; "
                      "switch the local pool off")
    return errors


def _elastic_enabled(section):
    elastic = section.get("elastic")
    return isinstance(elastic, dict) and elastic.get("enabled", False) is True


def _scaling_service(section, grid, keys, context):
    """The local pool (on by default), or the autoscaler when it is enabled;
    None when neither runs."""
    from naclgrid.pool import build_pool, pool_key_factory

    url = context.url_on_this_machine
    if _elastic_enabled(section):
        from gridhost.core.interfaces import AppStartError
        from naclgrid.elastic import build_elastic
        from naclgrid.elastic.cloud.config import CredentialError

        try:
            return build_elastic(section["elastic"], grid, keys, context.reactor, url,
                                 data_dir=context.data_dir.path, log=context.log)
        except CredentialError as e:
            raise AppStartError(f"elastic: {e}") from None
    pool = section.get("pool") or {}
    return build_pool(pool, grid, context.reactor, url,
                      pool_key_factory(keys, context.data_dir.path), data_dir=context.data_dir)


def application_modules(section):
    """``{name: wasm bytes}`` to register: the examples, then the config's."""
    modules = {}
    if section.get("builtin_applications", True):
        from naclgrid.apps import EXAMPLES, wasm_bytes

        modules.update((name, wasm_bytes(name)) for name in EXAMPLES)
    for name, path in section.get("applications", {}).items():
        modules[name] = Path(path).read_bytes()
    return modules


@implementer(IGridApp)
class NaclgridApp:
    """The naclgrid grid engine and its REST API."""

    name = "naclgrid"
    requires = ()

    def check_config(self, section):
        return check_section(section)

    def build(self, section, context):
        from naclgrid.api import ApiSettings, NaclgridAPI
        from naclgrid.api.applications import ApplicationRegistry
        from naclgrid.auth import Authenticator, KeyService
        from naclgrid.auth.filestore import KEYS_FILE, FileKeyStore
        from naclgrid.grid import Grid
        from naclgrid.model import Limits
        from naclgrid.stores import store_for

        clock = context.reactor
        store = store_for(context.store, namespace=section.get("namespace", "ng:"), clock=clock)
        grid = Grid(store, clock, limits=Limits.from_section(section), log=context.log,
                    node_ttl=section.get("node_ttl", 30.0),
                    requeue_interval=section.get("requeue_interval", 1.0),
                    results_ttl=_results_ttl(section.get("results_ttl", 86400)))
        # A memory store lives in this process only: keep keys in a file the CLI can edit.
        key_store = (FileKeyStore(context.data_dir.child(KEYS_FILE).path, clock)
                     if context.store.kind == "memory" else store)
        keys = KeyService(key_store, clock)
        registry = ApplicationRegistry(store)
        for name, module in application_modules(section).items():
            registry.add(name, module)
        # Other apps (corefarm) register their modules through the Grid they are handed.
        grid.applications = registry
        defaults = ApiSettings()
        settings = ApiSettings(
            applications=registry,
            max_batch_bytes=section.get("max_batch_bytes", defaults.max_batch_bytes),
            default_max_attempts=section.get("max_attempts", defaults.default_max_attempts),
            default_lease_seconds=float(section.get("lease_seconds", defaults.default_lease_seconds)),
            task_limits={
                "memory_bytes": section.get("task_memory_bytes", defaults.task_limits["memory_bytes"]),
                "fuel": section.get("task_fuel", defaults.task_limits["fuel"]),
                "seconds": float(section.get("task_seconds", defaults.task_limits["seconds"])),
            },
        )
        api = NaclgridAPI(grid, Authenticator(keys, store, clock), clock, settings, log=context.log)
        # corefarm issues volunteer keys (grid.keys) and meters the API's pops
        # and acks for its CPU-seconds credit (grid.rest.grid, see corefarm.credit.meter).
        grid.keys = keys
        grid.rest = api
        bootstrap = Bootstrap(registry, keys, _server_data_dir(context), context.log, clock,
                              write_admin_key=section.get("write_admin_key", True))
        instance = NaclgridInstance(grid, api, bootstrap)
        instance.keys = keys  # the KeyService, for in-process masters that start agents
        scaling = _scaling_service(section, grid, keys, context)
        if scaling is not None:
            scaling.setServiceParent(instance.service)
        return instance


def _server_data_dir(context):
    """``[server] data_dir``: where the operator looks for ``admin.key``."""
    from twisted.python.filepath import FilePath

    folder = context.server.get("data_dir") if isinstance(context.server, dict) else None
    return FilePath(folder) if folder else context.data_dir


class Bootstrap(Service):
    """Once the store answers: publish the registered modules and make sure
    the operator holds an admin key. Retries until it succeeds."""

    name = "naclgrid-bootstrap"

    def __init__(self, registry, keys, data_dir, log, clock, write_admin_key=True):
        self.registry, self.keys, self.data_dir = registry, keys, data_dir
        self.log, self.clock = log, clock
        self.write_admin_key = write_admin_key
        self.ready = False
        self._retry = None

    def startService(self):
        super().startService()
        self._attempt()

    def stopService(self):
        super().stopService()
        if self._retry is not None and self._retry.active():
            self._retry.cancel()
        self._retry = None

    def _attempt(self):
        self._retry = None
        d = ensureDeferred(self._run())
        d.addErrback(self._failed)

    async def _run(self):
        from naclgrid.auth.bootstrap import ensure_admin_key

        await self.registry.publish()
        if self.write_admin_key:
            await ensure_admin_key(self.data_dir, self.keys, self.log)
        self.ready = True

    def _failed(self, failure):
        self.log.failure("naclgrid: start-up (modules, admin key) failed; retrying in {s} s",
                         failure, s=_BOOTSTRAP_RETRY)
        if self.running:
            self._retry = self.clock.callLater(_BOOTSTRAP_RETRY, self._attempt)


@implementer(IAppInstance)
class NaclgridInstance:
    """``api`` is the Grid (with ``applications``, the module registry)."""

    def __init__(self, grid, rest, bootstrap):
        self.api = grid
        self.rest = rest
        self.bootstrap = bootstrap
        self.service = MultiService()
        grid.service.setServiceParent(self.service)
        bootstrap.setServiceParent(self.service)

    def resource(self):
        return self.rest.resource()

    def health(self):
        return ensureDeferred(self._health())

    async def _health(self):
        await self.api.store.ping()
        return {
            "ok": self.bootstrap.ready,
            "ready": self.bootstrap.ready,
            "long_polls": self.api.waiting,
            "applications": sorted(self.api.applications),
        }
