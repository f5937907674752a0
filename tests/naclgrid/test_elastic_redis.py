"""The elastic service on a real Redis: two servers' services share one
store; one leads, publishes its books for both, and the other takes over
when the leader stops."""

import json

import pytest
import pytest_twisted
from libcloud.compute.drivers.dummy import DummyNodeDriver
from twisted.internet.defer import maybeDeferred
from twisted.internet.task import deferLater

from naclgrid.auth import KeyService
from naclgrid.elastic import ElasticPolicy, ElasticService, ElasticSettings
from naclgrid.elastic.cloud import CloudProvider
from naclgrid.elastic.cloud.drivers import DummyAdapter
from naclgrid.elastic.status import read_status
from naclgrid.grid import Grid

pytestmark = pytest.mark.integration


def service_on(store, reactor, driver, server_id):
    settings = ElasticSettings(enabled=True, provider="dummy", interval=0.2, leader_term=1.0,
                               scale_up_cooldown=0, max_nodes=3)
    grid = Grid(store, reactor)
    provider = CloudProvider(driver, DummyAdapter({}), KeyService(store, reactor), "default",
                             "https://grid.example.org/naclgrid/", 1,
                             lambda f, *a, **kw: maybeDeferred(f, *a, **kw))
    return grid, ElasticService(settings, ElasticPolicy(settings), provider, grid, reactor,
                                server_id=server_id)


@pytest_twisted.ensureDeferred
async def test_one_leader_on_redis_books_shared_and_taken_over(reactor, redis_store_factory):
    first_store, second_store = redis_store_factory(), redis_store_factory()
    await first_store.start()
    await second_store.start()
    driver = DummyNodeDriver(0)
    grid, first = service_on(first_store, reactor, driver, "server-a")
    _, second = service_on(second_store, reactor, driver, "server-b")
    job = await grid.new_job("alice", "echo")
    await grid.start_job(job.job_id, b"")
    await grid.fork_many(job.job_id, [("echo", b"x")] * 2)

    for _ in range(5):
        await first.tick()
        await second.tick()
        await deferLater(reactor, 0.2, lambda: None)
    leaders = [s for s in (first, second) if s.is_leader]
    assert len(leaders) == 1
    leader, other = (first, second) if first.is_leader else (second, first)
    ours = [n for n in driver.list_nodes() if n.extra.get("tags")]
    assert len(ours) == 2                       # launched once, not once per server

    status = await read_status(other.store, reactor.seconds())
    (pool,) = status["pools"]
    assert pool["leader"] == leader.server_id and len(pool["nodes"]) == 2
    assert json.dumps(pool)                     # plain JSON all the way

    # The leader stops; within two terms the other leads, from the same books.
    for _ in range(20):
        await other.tick()
        if other.is_leader:
            break
        await deferLater(reactor, 0.2, lambda: None)
    assert other.is_leader
    assert sorted(other.nodes) == sorted(n.extra["tags"]["gridhost-node"] for n in ours)
    assert len([n for n in driver.list_nodes() if n.extra.get("tags")]) == 2
