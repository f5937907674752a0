"""Helpers for testing gridhost apps, and for scripts that drive real
processes (as ``treq.testing`` serves treq users).

Unit tests run on a ``twisted.internet.task.Clock``, so everything they wait
for has already happened: :func:`result_of` takes it out of its Deferred.
Tests and benchmarks that start real processes (twistd, agents,
redis-server) cannot be called back by them: :func:`wait_for` polls, with a
bound.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from twisted.internet.defer import Deferred, ensureDeferred
from twisted.python.failure import Failure


def result_of(d):
    """The result of an already-fired Deferred or coroutine; raises its
    failure, and fails if it has not fired yet."""
    if not isinstance(d, Deferred):
        d = ensureDeferred(d)
    results = []
    d.addBoth(results.append)
    assert results, f"{d!r} has not fired"
    if isinstance(results[0], Failure):
        results[0].raiseException()
    return results[0]


def wait_for(predicate, timeout, what):
    """Poll ``predicate`` until it returns something truthy (and return it),
    for at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def redis_command(port, *args, timeout=2.0):
    """Send one command over a plain socket (fixtures must not need the
    reactor) and return the raw first reply line."""
    payload = b"*%d\r\n" % len(args) + b"".join(
        b"$%d\r\n%s\r\n" % (len(a), a) for a in (x if isinstance(x, bytes) else str(x).encode()
                                                  for x in args))
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(payload)
        return s.recv(65536)


class RedisServer:
    """A redis-server child process. ``kill()`` is SIGKILL (no clean
    shutdown, no final save); ``start()`` again reuses port and dir."""

    def __init__(self, directory, appendonly=False, port=None):
        self.dir = directory
        self.appendonly = appendonly
        self.port = port or free_port()
        self.process = None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout=10.0):
        args = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--dir", str(self.dir), "--daemonize", "no",
                "--logfile", str(self.dir / "redis.log")]
        if self.appendonly:
            args += ["--appendonly", "yes", "--appendfsync", "always"]
        else:
            args += ["--appendonly", "no"]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while True:
            try:
                if redis_command(self.port, "PING").startswith(b"+PONG"):
                    return self
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                log = (self.dir / "redis.log").read_text() if (self.dir / "redis.log").exists() else ""
                raise RuntimeError(f"redis-server did not start on {self.port}:\n{log}")
            time.sleep(0.02)

    def flush(self):
        assert redis_command(self.port, "FLUSHALL").startswith(b"+OK")

    def kill(self):
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None

    def info(self, field):
        """One numeric field of INFO (e.g. used_memory)."""
        reply = redis_command(self.port, "INFO", "memory")
        for line in reply.split(b"\r\n"):
            if line.startswith(field.encode() + b":"):
                return int(line.split(b":")[1])
        raise KeyError(field)


def api_call(url, key, query=None, form=None, body=None, method="POST", timeout=30):
    """One naclgrid REST call with a bearer key over plain urllib (black-box
    tests and benches): ``(status, body bytes)``, 4xx/5xx included."""
    if query:
        url += "?" + urllib.parse.urlencode(query)
    headers = {"Authorization": f"Bearer {key}"}
    data = None
    if body is not None:
        data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
    elif form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


TWISTD = [sys.executable, "-c", "from twisted.scripts.twistd import run; run()"]


class GridhostProcess:
    """``twistd -n gridhost --config CONFIG`` as a child process, for
    black-box tests and benchmarks. It can be killed and started again on the
    same config (same port when the config fixes one); each start keeps its
    own log and output beside ``data_dir`` (``NAME-N.log``, ``NAME-N.out``),
    so a test that kills a server can still show why it misbehaved."""

    def __init__(self, config_path, data_dir, extra_args=(), env=None, name="twistd", cwd=None):
        self.config_path, self.data_dir = Path(config_path), Path(data_dir)
        self.name, self.cwd = name, cwd
        self.extra_args = list(extra_args)
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.proc = None
        self.port = None
        self.starts = 0

    def _file(self, suffix):
        return self.data_dir.parent / f"{self.name}-{self.starts}.{suffix}"

    @property
    def log_path(self):
        return self._file("log")

    def start(self, wait=True, timeout=60, ready=False):
        """Spawn twistd; with ``wait``, return once it listens (its port is
        read from ``DATA_DIR/ports``, so ``listen = tcp:0`` works); with
        ``ready`` too, once ``/healthz`` is happy."""
        self.starts += 1
        ports = self.data_dir / "ports"
        if ports.exists():
            ports.unlink()
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        with open(self._file("out"), "wb") as out:
            # A file, not a pipe: nobody reads a pipe while the server runs, and
            # a full one would block it.
            self.proc = subprocess.Popen(
                [*TWISTD, "-n", "--pidfile=", f"--logfile={self.log_path}", "gridhost",
                 "--config", str(self.config_path), *self.extra_args],
                cwd=self.cwd, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        if wait:
            def bound():
                if self.proc.poll() is not None:
                    raise AssertionError(f"twistd exited with {self.proc.returncode}:\n"
                                         f"{self.output()}")
                text = ports.read_text() if ports.exists() else ""
                return text.split() and int(text.split()[0])

            self.port = wait_for(bound, timeout, "gridhost to listen")
            if ready:
                self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout=60):
        """Wait until ``/healthz`` says every app and the store answer."""
        def ready():
            assert self.alive, f"twistd exited:\n{self.log_tail()}"
            return self.health().get("ok")

        wait_for(ready, timeout, "gridhost to be ready")
        return self

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def get(self, path, headers=None):
        request = urllib.request.Request(self.url + path, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read(), response.headers
        except urllib.error.HTTPError as e:
            return e.code, e.read(), e.headers

    def get_json(self, path, headers=None):
        status, body, _ = self.get(path, headers)
        return status, json.loads(body)

    def post_json(self, path, body, content_type="application/x-www-form-urlencoded"):
        request = urllib.request.Request(self.url + path, data=body, method="POST",
                                         headers={"Content-Type": content_type})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def health(self):
        """``/healthz`` as a dict; ``{}`` while nothing answers."""
        try:
            return self.get_json("/healthz")[1]
        except (OSError, ValueError):
            return {}

    def call(self, key, endpoint, query=None, form=None, body=None, method="POST", timeout=70,
             site="/naclgrid/"):
        """One REST call of the app at ``site`` (see :func:`api_call`)."""
        return api_call(self.url + site + endpoint, key, query, form, body, method, timeout)

    def json(self, key, endpoint, **kwargs):
        status, body = self.call(key, endpoint, **kwargs)
        assert status == 200, (self.name, endpoint, status, body[:500])
        return json.loads(body)

    def create_key(self, role, user=None):
        """A new naclgrid key from the real ``gridhost keys create``."""
        args = [sys.executable, "-m", "gridhost.core.cli", "keys", "--config",
                str(self.config_path), "create", "--role", role]
        if user:
            args += ["--user", user]
        done = subprocess.run(args, cwd=self.cwd, env=self.env, capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0, done.stderr
        return next(word for word in done.stdout.split() if word.startswith("ngk_"))

    def output(self):
        """This start's output and log, once the process has exited or not."""
        return "".join(path.read_text(errors="replace")
                       for path in (self._file("out"), self.log_path) if path.exists())

    def log_tail(self, lines=40):
        """The end of this start's output and log, access lines left out."""
        text = [line for line in self.output().splitlines()
                if "twisted.python.log#info" not in line]
        return "\n".join(text[-lines:])

    def terminate(self, timeout=5):
        """SIGTERM and wait; returns the exit status."""
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def stop(self, timeout=15):
        """SIGTERM, and SIGKILL if it does not exit in time."""
        if self.alive:
            try:
                self.terminate(timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self):
        if self.alive:
            self.proc.kill()
            self.proc.wait(timeout=10)
