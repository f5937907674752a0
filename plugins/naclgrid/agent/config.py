"""The agent's options: command-line flags, a TOML file, or both (flags win).

The TOML file holds the same names as the flags (``url``, ``key`` or
``key_file``, ``slots``...) at top level or under an ``[agent]`` table, so a
machine can be set up once and the key kept out of the process list.
"""

import argparse
import os
import re
import socket
import tomllib
from dataclasses import dataclass, field

ENV_KEY = "NACLGRID_KEY"
_NODE_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_APP_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")


class ConfigError(Exception):
    """Bad options; ``errors`` lists every problem."""

    def __init__(self, errors):
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass
class AgentConfig:
    url: str
    key: str = field(repr=False)
    slots: int
    node: str
    applications: list | None = None
    poll_wait: int = 10
    prefetch: int | None = None
    cache_dir: str = ""
    cache_max_bytes: int = 1024**3
    status: str = "auto"
    scheme: str = "bearer"


# name -> (type, help)
OPTIONS = {
    "url": (str, "base URL of the naclgrid API, e.g. http://host:8080/naclgrid/"),
    "key": (str, f"agent API key (or --key-file, or ${ENV_KEY})"),
    "key_file": (str, "file holding the agent API key"),
    "slots": (int, "tasks run at once (default: one per core)"),
    "node": (str, "node id shown by the server (default: HOSTNAME-PID)"),
    "applications": (str, "comma-separated application names to accept (default: all)"),
    "poll_wait": (int, "seconds a pop long-polls (1..60, default 10)"),
    "prefetch": (int, "tasks popped beyond the free slots (default: = slots)"),
    "cache_dir": (str, "where modules and job files are cached (default ~/.cache/naclgrid)"),
    "cache_max_bytes": (int, "cache size bound in bytes (default 1 GiB)"),
    "status": (str, "status line: auto, tty, plain or off"),
    "scheme": (str, "credential scheme: bearer (default) or hmac"),
}


def build_parser():
    parser = argparse.ArgumentParser(
        prog="gridhost agent",
        description="Run naclgrid tasks for a gridhost server.")
    parser.add_argument("--config", help="TOML file with the options below")
    for name, (kind, help_text) in OPTIONS.items():
        parser.add_argument("--" + name.replace("_", "-"), dest=name, type=kind, help=help_text)
    return parser


def load_config(argv, environ=None, cpu_count=None):
    """Parse ``argv`` (raising SystemExit for --help or unparseable flags, as
    argparse does) and return an :class:`AgentConfig`, or raise ConfigError."""
    environ = os.environ if environ is None else environ
    args = vars(build_parser().parse_args(argv))
    errors = []
    values = {}
    path = args.pop("config")
    if path:
        values.update(_read_toml(path, errors))
    values.update({k: v for k, v in args.items() if v is not None})
    return _validate(values, environ, cpu_count or os.cpu_count() or 1, errors)


def _read_toml(path, errors):
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        errors.append(f"--config: cannot read {path}: {exc.strerror}")
        return {}
    except tomllib.TOMLDecodeError as exc:
        errors.append(f"{path}: not valid TOML: {exc}")
        return {}
    if "agent" in data and isinstance(data["agent"], dict):
        extra = sorted(set(data) - {"agent"})
        if extra:
            errors.append(f"{path}: unexpected key(s) beside [agent]: {', '.join(extra)}")
        data = data["agent"]
    values = {}
    for name, value in data.items():
        if name not in OPTIONS:
            errors.append(f"{path}: unknown key {name!r} (known: {', '.join(OPTIONS)})")
            continue
        kind = OPTIONS[name][0]
        if name == "applications" and isinstance(value, list):
            value = ",".join(str(v) for v in value)
        if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
            errors.append(f"{path}: {name} must be an integer")
            continue
        if kind is str and not isinstance(value, str):
            errors.append(f"{path}: {name} must be a string")
            continue
        values[name] = value
    return values


def _validate(values, environ, cpus, errors):
    url = values.get("url")
    if not url:
        errors.append("--url is required (e.g. http://127.0.0.1:8080/naclgrid/)")
    elif not re.match(r"^https?://[^/\s]+(/\S*)?$", url):
        errors.append(f"--url: {url!r} is not an http(s) URL")
    key = values.get("key")
    if not key and values.get("key_file"):
        try:
            with open(values["key_file"], encoding="ascii") as handle:
                key = handle.read().strip()
        except (OSError, UnicodeDecodeError) as exc:
            errors.append(f"--key-file: cannot read {values['key_file']}: {exc}")
    if not key:
        key = environ.get(ENV_KEY, "").strip()
    if not key and not any(e.startswith("--key-file") for e in errors):
        errors.append(f"an agent key is required: --key, --key-file or ${ENV_KEY}")
    elif key and not re.match(r"^ngk_[0-9a-f]+_[0-9a-f]+$", key):
        errors.append("the key does not look like ngk_<key_id>_<secret>")
    slots = values.get("slots", cpus)
    if not 1 <= slots <= 256:
        errors.append(f"--slots: must be 1..256, not {slots}")
    node = values.get("node") or f"{socket.gethostname()}-{os.getpid()}"
    node = re.sub(r"[^A-Za-z0-9_.-]", "_", node)[:64] if "node" not in values else node
    if not _NODE_RE.match(node):
        errors.append(f"--node: {node!r} must match [A-Za-z0-9_.-]{{1,64}}")
    applications = None
    if values.get("applications"):
        applications = [a.strip() for a in values["applications"].split(",") if a.strip()]
        bad = [a for a in applications if not _APP_RE.match(a)]
        if bad:
            errors.append(f"--applications: bad name(s) {', '.join(map(repr, bad))}")
    poll_wait = values.get("poll_wait", 10)
    if not 1 <= poll_wait <= 60:
        errors.append(f"--poll-wait: must be 1..60, not {poll_wait}")
    prefetch = values.get("prefetch")
    if prefetch is not None and not 0 <= prefetch <= 256:
        errors.append(f"--prefetch: must be 0..256, not {prefetch}")
    cache_max = values.get("cache_max_bytes", 1024**3)
    if cache_max < 1024**2:
        errors.append("--cache-max-bytes: must be at least 1 MiB")
    status = values.get("status", "auto")
    if status not in ("auto", "tty", "plain", "off"):
        errors.append(f"--status: must be auto, tty, plain or off, not {status!r}")
    scheme = values.get("scheme", "bearer")
    if scheme not in ("bearer", "hmac"):
        errors.append(f"--scheme: must be bearer or hmac, not {scheme!r}")
    if errors:
        raise ConfigError(errors)
    cache_dir = values.get("cache_dir") or os.path.join(
        environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
        "naclgrid")
    return AgentConfig(url=url if url.endswith("/") else url + "/", key=key, slots=slots,
                       node=node, applications=applications, poll_wait=poll_wait,
                       prefetch=prefetch, cache_dir=cache_dir, cache_max_bytes=cache_max,
                       status=status, scheme=scheme)
