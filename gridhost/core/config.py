"""Read and validate a gridhost TOML file before anything starts.

The shape follows Ocsigen's server → extension → host → site:

    [server]                      listen, store, data_dir, plugin_dirs, log_format,
                                  max_request_bytes, access_log
    [app.NAME]                    one app's options, checked by the app itself
    [[host]] names = [...]        virtual hosts ("*" matches any host)
      [[host.site]] path, app     where an app is mounted on that host

Every problem is collected with its location and reported at once, so a user
fixes a file in one pass (Buildbot's ConfigErrors). Unknown keys are errors:
a misspelt option silently ignored is a production incident later.
"""

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from gridhost.core.stores import parse_redis_url

DEFAULT_LISTEN = ("tcp:8080",)
DEFAULT_DATA_DIR = "gridhost-data"
RESERVED_PATHS = ("/healthz", "/metrics")
MAX_CONFIG_BYTES = 1024 * 1024

SERVER_KEYS = {"listen", "store", "data_dir", "plugin_dirs", "log_format", "max_request_bytes",
               "access_log"}
ACCESS_LOG_FILE = "access.log"  # inside data_dir unless [server] access_log says otherwise
ACCESS_LOG_OFF, ACCESS_LOG_TWISTD = "off", "-"
MAX_REQUEST_RANGE = (1024, 64 * 1024 ** 3)
HOST_KEYS = {"names", "site"}
SITE_KEYS = {"path", "app"}
TOP_KEYS = {"server", "app", "host"}


@dataclass(frozen=True)
class ServerConfig:
    listen: tuple = DEFAULT_LISTEN
    store: str = "memory"
    data_dir: str = DEFAULT_DATA_DIR
    plugin_dirs: tuple = ()
    log_format: str = "text"
    max_request_bytes: int = 512 * 1024 * 1024
    access_log: str | None = None  # None: DATA_DIR/access.log; see access_log_target()

    def access_log_target(self):
        """Where request lines go: ``"off"``, ``"-"`` (the twistd log) or a
        file path."""
        if self.access_log is None:
            return str(Path(self.data_dir) / ACCESS_LOG_FILE)
        return self.access_log


@dataclass(frozen=True)
class SiteConfig:
    path: str
    app: str

    @property
    def segments(self):
        return tuple(s for s in self.path.split("/") if s)


@dataclass(frozen=True)
class HostConfig:
    names: tuple
    sites: tuple


@dataclass(frozen=True)
class GridHostConfig:
    server: ServerConfig
    apps: dict = field(default_factory=dict)  # name -> options table, in build order
    hosts: tuple = ()
    source: str = "<built-in default>"


# What `twistd -n gridhost` serves with no config file: the render farm at /
# and the grid engine at /naclgrid, on the memory store, port 8080.
DEFAULT_TABLE = {
    "app": {"naclgrid": {}, "corefarm": {}},
    "host": [{"names": ["*"], "site": [{"path": "/naclgrid", "app": "naclgrid"},
                                       {"path": "/", "app": "corefarm"}]}],
}


class ConfigErrors(Exception):
    def __init__(self, messages):
        super().__init__("\n".join(messages))
        self.messages = list(messages)


class _Errors:
    def __init__(self):
        self.messages = []

    def add(self, where, message):
        self.messages.append(f"{where}: {message}" if where else message)

    def unknown_keys(self, where, table, allowed):
        for key in sorted(set(table) - allowed):
            self.add(f"{where}.{key}" if where else key, "unknown key")


def _type_name(value):
    return {str: "a string", int: "an integer", float: "a number", bool: "a boolean",
            list: "a list", dict: "a table"}.get(type(value), type(value).__name__)


def _string_list(value, where, errors):
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        errors.add(where, f"expected a list of non-empty strings, got {_type_name(value)}"
                   if not isinstance(value, list) else "expected a list of non-empty strings")
        return None
    return tuple(value)


def read_toml(path):
    """Return ``(table, errors)`` for a config file path."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as e:
        return None, [f"{path}: cannot read the config file ({e.strerror or e})"]
    if len(raw) > MAX_CONFIG_BYTES:
        return None, [f"{path}: the config file is larger than {MAX_CONFIG_BYTES} bytes"]
    try:
        return tomllib.loads(raw.decode("utf-8")), []
    except UnicodeDecodeError:
        return None, [f"{path}: the config file is not UTF-8 text"]
    except tomllib.TOMLDecodeError as e:
        return None, [f"{path}: TOML syntax error: {e}"]


def _check_listen(desc, where, errors):
    # Parsing an endpoint string builds the endpoint without listening, so a
    # typo ("tpc:80") or a missing TLS certificate is caught before startup.
    from twisted.internet.endpoints import serverFromString

    try:
        serverFromString(None, desc)
    except Exception as e:  # noqa: BLE001 - every parser error becomes a message
        errors.add(where, f"bad endpoint {desc!r}: {e}")


def _check_server(table, errors):
    if not isinstance(table, dict):
        errors.add("server", f"expected a table, got {_type_name(table)}")
        return ServerConfig()
    errors.unknown_keys("server", table, SERVER_KEYS)
    kw = {}
    if "listen" in table:
        listen = _string_list(table["listen"], "server.listen", errors)
        if listen is not None:
            if not listen:
                errors.add("server.listen", "needs at least one endpoint")
            for i, desc in enumerate(listen):
                _check_listen(desc, f"server.listen[{i}]", errors)
            kw["listen"] = listen
    if "store" in table:
        store = table["store"]
        if not isinstance(store, str):
            errors.add("server.store", f"expected 'memory' or a redis:// URL, got {_type_name(store)}")
        elif store != "memory":
            try:
                parse_redis_url(store)
                kw["store"] = store
            except ValueError as e:
                errors.add("server.store", str(e))
    if "data_dir" in table:
        if isinstance(table["data_dir"], str) and table["data_dir"]:
            kw["data_dir"] = table["data_dir"]
        else:
            errors.add("server.data_dir", "expected a non-empty string")
    if "plugin_dirs" in table:
        dirs = _string_list(table["plugin_dirs"], "server.plugin_dirs", errors)
        if dirs is not None:
            for i, d in enumerate(dirs):
                if not Path(d).is_dir():
                    errors.add(f"server.plugin_dirs[{i}]", f"no such directory {d!r}")
            kw["plugin_dirs"] = dirs
    if "max_request_bytes" in table:
        value = table["max_request_bytes"]
        low, high = MAX_REQUEST_RANGE
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            errors.add("server.max_request_bytes", f"expected a whole number of bytes from {low} to {high}")
        else:
            kw["max_request_bytes"] = value
    if "access_log" in table:
        access_log = _check_access_log(table["access_log"], errors)
        if access_log is not None:
            kw["access_log"] = access_log
    if "log_format" in table:
        if table["log_format"] in ("text", "json"):
            kw["log_format"] = table["log_format"]
        else:
            errors.add("server.log_format", "expected 'text' or 'json'")
    return ServerConfig(**kw)


def _check_access_log(value, errors):
    where = "server.access_log"
    if not isinstance(value, str) or not value:
        errors.add(where, "expected a file path, 'off' or '-' (the twistd log)"
                   + (f", got {_type_name(value)}" if not isinstance(value, str) else ""))
        return None
    if value in (ACCESS_LOG_OFF, ACCESS_LOG_TWISTD, "stdout"):
        return ACCESS_LOG_TWISTD if value == "stdout" else value
    # Whether the file can be opened is checked at start, as the server's
    # user: check-config may run as someone else.
    if "\x00" in value:
        errors.add(where, "the path contains a NUL character")
    elif value.endswith(("/", "\\")) or Path(value).is_dir():
        errors.add(where, f"{value!r} is a directory; name a file inside it")
    else:
        return value
    return None


def _check_path(path, where, errors):
    if not isinstance(path, str) or not path.startswith("/"):
        errors.add(where, "expected a path starting with '/'")
        return None
    segments = [s for s in path.split("/") if s]
    if any(s in (".", "..") or "\\" in s or "%" in s for s in segments) or "//" in path:
        errors.add(where, f"bad path {path!r}: no '.', '..', '%', backslashes or empty segments")
        return None
    norm = "/" + "/".join(segments)
    if norm in RESERVED_PATHS:
        errors.add(where, f"{norm} is reserved for the host's own endpoint")
        return None
    return norm


def _installed_hint(apps):
    return f"(installed: {', '.join(apps) or 'none'})"


def _check_hosts(hosts, apps, errors):
    if not isinstance(hosts, list) or not all(isinstance(h, dict) for h in hosts):
        errors.add("host", "expected one or more [[host]] tables")
        return ()
    seen_names = {}
    result = []
    for i, host in enumerate(hosts):
        where = f"host[{i}]"
        errors.unknown_keys(where, host, HOST_KEYS)
        names = _string_list(host.get("names", None), f"{where}.names", errors) if "names" in host else None
        if "names" not in host:
            errors.add(f"{where}.names", "missing (use [\"*\"] to match any host)")
        names = tuple(n.lower() for n in names or ())
        for name in names:
            if name in seen_names:
                errors.add(f"{where}.names", f"{name!r} is already served by host[{seen_names[name]}]")
            seen_names.setdefault(name, i)
        sites = host.get("site", [])
        if not isinstance(sites, list) or not all(isinstance(s, dict) for s in sites):
            errors.add(f"{where}.site", "expected [[host.site]] tables")
            sites = []
        if not sites:
            errors.add(f"{where}.site", "a host needs at least one [[host.site]]")
        paths = {}
        parsed = []
        for j, site in enumerate(sites):
            swhere = f"{where}.site[{j}]"
            errors.unknown_keys(swhere, site, SITE_KEYS)
            path = _check_path(site.get("path"), f"{swhere}.path", errors)
            app = site.get("app")
            if not isinstance(app, str):
                errors.add(f"{swhere}.app", "missing app name" if app is None else "expected an app name")
            elif app not in apps:
                errors.add(f"{swhere}.app", f"no installed app named {app!r} {_installed_hint(apps)}")
            if path is not None and path in paths:
                errors.add(f"{swhere}.path", f"{path} is already mounted by {where}.site[{paths[path]}]")
            elif path is not None:
                paths[path] = j
            if path is not None and isinstance(app, str) and app in apps:
                parsed.append(SiteConfig(path, app))
        result.append(HostConfig(names, tuple(parsed)))
    return tuple(result)


def _build_order(wanted, apps, errors):
    """Apps in dependency order (dependencies first), adding required apps."""
    order, visiting = [], []

    def visit(name, chain):
        if name in order:
            return
        if name in visiting:
            errors.add(f"app.{name}", "dependency cycle: " + " -> ".join(chain + [name]))
            return
        if name not in apps:
            errors.add(f"app.{chain[-1]}" if chain else f"app.{name}",
                       f"requires {name!r}, which is not installed {_installed_hint(apps)}")
            return
        visiting.append(name)
        for dep in getattr(apps[name], "requires", ()):
            visit(dep, chain + [name])
        visiting.remove(name)
        order.append(name)

    for name in wanted:
        visit(name, [])
    return order


def validate(table, apps, source="<config>"):
    """Check a parsed TOML table against the installed ``apps`` (name ->
    IGridApp). Return ``(GridHostConfig or None, [error, ...])``."""
    errors = _Errors()
    if not isinstance(table, dict):
        return None, ["the config must be a TOML table"]
    errors.unknown_keys("", table, TOP_KEYS)
    server = _check_server(table.get("server", {}), errors)
    app_tables = table.get("app", {})
    if not isinstance(app_tables, dict) or not all(isinstance(v, dict) for v in app_tables.values()):
        errors.add("app", "expected [app.NAME] tables")
        app_tables = {}
    for name in app_tables:
        if name not in apps:
            errors.add(f"app.{name}", f"no installed app named {name!r} {_installed_hint(apps)}")
    if "host" not in table:
        errors.add("host", "no [[host]] configured: nothing would be served")
        hosts = ()
    else:
        hosts = _check_hosts(table["host"], apps, errors)
    wanted = [n for n in app_tables if n in apps]
    for host in hosts:
        wanted.extend(site.app for site in host.sites if site.app not in wanted)
    order = _build_order(wanted, apps, errors)
    sections = {}
    for name in order:
        section = app_tables.get(name, {})
        try:
            problems = list(apps[name].check_config(section))
        except Exception as e:  # noqa: BLE001 - a buggy checker must not hide other errors
            problems = [f"the app's config check crashed: {e!r}"]
        for problem in problems:
            errors.add(f"app.{name}", problem)
        sections[name] = section
    if errors.messages:
        return None, errors.messages
    return GridHostConfig(server, sections, hosts, source), []


def load_config_file(path, apps=None):
    """Read, discover and validate in one step: ``(config or None, errors)``.

    ``path=None`` gives the built-in default. ``apps`` defaults to the
    discovered apps (plus the file's plugin_dirs)."""
    from gridhost.core.discovery import discover_apps

    if path is None:
        if apps is None:
            apps, errors = discover_apps()
            if errors:
                return None, errors
        table = DEFAULT_TABLE
        return validate(table, apps, "<built-in default>")
    table, errors = read_toml(path)
    if errors:
        return None, errors
    if apps is None:
        dirs = table.get("server", {}).get("plugin_dirs", []) if isinstance(table.get("server"), dict) else []
        dirs = [d for d in dirs if isinstance(d, str) and Path(d).is_dir()] if isinstance(dirs, list) else []
        apps, errors = discover_apps(extra_dirs=dirs)
        if errors:
            return None, errors
    return validate(table, apps, str(path))
