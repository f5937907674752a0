"""naclgrid fixtures: a real redis-server on a free port, and grid stores.

``redis_server`` is one session-wide server (no persistence) that the
``redis_store`` fixture flushes before each test. ``redis_server_factory``
starts private servers, e.g. ``appendonly=True`` in a tmp dir, which a test
may SIGKILL and restart on the same dir.
"""

import shutil
import socket
import subprocess
import time

import pytest
import pytest_twisted
from gridhost.testing import free_port

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


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.kill()


@pytest.fixture
def redis_server_factory(tmp_path):
    servers = []

    def make(appendonly=False, name="redis"):
        directory = tmp_path / name
        directory.mkdir(exist_ok=True)
        server = RedisServer(directory, appendonly=appendonly).start()
        servers.append(server)
        return server
    yield make
    for server in servers:
        server.kill()


@pytest.fixture(scope="session")
def reactor():
    from twisted.internet import reactor as _reactor
    return _reactor


def make_redis_store(reactor, url, namespace="ng:"):
    from gridhost.core.stores import StoreConnection
    from naclgrid.stores.redis import RedisGridStore
    connection = StoreConnection.from_setting(url, reactor)
    return RedisGridStore(connection, namespace=namespace, clock=reactor)


@pytest.fixture
def redis_store_factory(reactor, redis_server):
    """Build Redis stores on the (flushed) session server; all are closed,
    with their connections, at teardown."""
    redis_server.flush()
    made = []

    def make(namespace="ng:", url=None):
        store = make_redis_store(reactor, url or redis_server.url, namespace)
        made.append(store)
        return store
    yield make
    for store in made:
        pytest_twisted.blockon(store.close())
        pytest_twisted.blockon(store.connection.close())


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.integration)])
def store(request):
    """The contract-suite store: memory, then a started Redis store."""
    if request.param == "memory":
        from naclgrid.stores.memory import MemoryGridStore
        return MemoryGridStore()
    store = request.getfixturevalue("redis_store_factory")()
    pytest_twisted.blockon(store.start())
    return store
