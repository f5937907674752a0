"""Helpers for testing gridhost apps, and for scripts that drive real
processes (as ``treq.testing`` serves treq users).

Unit tests run on a ``twisted.internet.task.Clock``, so everything they wait
for has already happened: :func:`result_of` takes it out of its Deferred.
Tests and benchmarks that start real processes (twistd, agents,
redis-server) cannot be called back by them: :func:`wait_for` polls, with a
bound.
"""

import shutil
import socket
import subprocess
import time

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
    import json
    import urllib.error
    import urllib.parse
    import urllib.request

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
