"""naclgrid fixtures: a real redis-server on a free port, and grid stores.

``redis_server`` is one session-wide server (no persistence) that the
``redis_store`` fixture flushes before each test. ``redis_server_factory``
starts private servers, e.g. ``appendonly=True`` in a tmp dir, which a test
may SIGKILL and restart on the same dir.
"""


import pytest
import pytest_twisted
from gridhost.testing import RedisServer
from tests.naclgrid.api_support import ApiEnv

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


# The REST API in-process (ApiEnv: memory store, Clock, StubTreq), with a
# submitter and an agent key; a module may override ``env`` with other limits.
@pytest.fixture
def env():
    return ApiEnv()


@pytest.fixture
def alice(env):
    return env.client("submitter", "alice")


@pytest.fixture
def agent(env):
    return env.client("agent", "farm")
