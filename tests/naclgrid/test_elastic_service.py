"""The elastic service end to end on a Clock: a real Grid on the memory
store, real agent keys, and libcloud's own DummyNodeDriver as the cloud.
Agents are played by calling the Grid as the REST API would."""

import json

from libcloud.compute.drivers.dummy import DummyNodeDriver
from treq.testing import StubTreq
from twisted.internet.defer import maybeDeferred
from zope.interface.verify import verifyObject

from naclgrid.auth.keys import AuthError
from naclgrid.elastic import ElasticPolicy, ElasticService, ElasticSettings
from naclgrid.elastic.cloud import TAG_KEY, TAG_NODE, TAG_POOL, CloudProvider, parse_user_data
from naclgrid.elastic.cloud.drivers import DummyAdapter
from naclgrid.elastic.interfaces import INodeProvider
from naclgrid.elastic.model import BOOTING, DRAINING, READY
from naclgrid.elastic.status import read_status
from tests.naclgrid.api_support import ApiEnv, failure_of, result_of

URL = "https://grid.example.org/naclgrid/"


def run_now(function, *args, **kwargs):
    return maybeDeferred(function, *args, **kwargs)


class Env:
    """A grid, a dummy cloud and an elastic service, all on one Clock."""

    def __init__(self, driver=None, env=None, server_id="s1", **options):
        self.env = env or ApiEnv()
        self.clock, self.store, self.grid, self.keys = (
            self.env.clock, self.env.store, self.env.grid, self.env.keys)
        self.driver = driver or DummyNodeDriver(0)
        base = {"enabled": True, "provider": "dummy", "max_nodes": 6, "interval": 5,
                "scale_up_cooldown": 0, "scale_down_cooldown": 0, "idle_timeout": 60,
                "drain_grace": 70, "boot_timeout": 600, "lost_timeout": 120,
                "reconcile_interval": 60}
        base.update(options)
        self.settings = ElasticSettings(**base)
        self.provider = CloudProvider(self.driver, DummyAdapter({}), self.keys, "default", URL,
                                      self.settings.slots_per_node, run_now)
        self.service = ElasticService(self.settings, ElasticPolicy(self.settings), self.provider,
                                      self.grid, self.clock, server_id=server_id)
        self.computing = {}

    def tick(self, advance=0):
        if advance:
            self.clock.advance(advance)
        for node, tasks in self.computing.items():
            # A real agent heartbeats the leases of a long task, which keeps it live.
            result_of(self.grid.heartbeat([t.lease for t in tasks], node=node))
        result_of(self.service.tick())
        return self.service.journal.last_decision

    def job(self, tasks, **meta):
        job = result_of(self.grid.new_job("alice", "echo", lease_seconds=30))
        result_of(self.grid.start_job(job.job_id, b"", meta=meta or None))
        result_of(self.grid.fork_many(job.job_id, [("echo", b"%d" % i) for i in range(tasks)]))
        return job.job_id

    def pop(self, node, max=1):
        return result_of(self.grid.pop(node, "elastic-default", max=max))

    def ack(self, task):
        return result_of(self.grid.ack(task.job_id, task.slot, task.lease_id, result=b"ok"))

    def ours(self):
        return [n for n in self.driver.list_nodes() if n.extra.get("tags")]

    def names(self):
        return sorted(n.extra["tags"][TAG_NODE] for n in self.ours())

    def events(self, kind):
        return [e for e in self.service.journal.entries if e.get("event") == kind]


def test_the_providers_implement_the_interface():
    verifyObject(INodeProvider, Env().provider)


def test_queued_work_rents_tagged_nodes_that_boot_into_agents_with_their_own_keys():
    env = Env(slots_per_node=2)
    env.job(5)
    decision = env.tick()
    assert decision["action"] == "up" and decision["count"] == 3
    assert decision["reason"] == "5 queued tasks in 1 job want 5 slots = 3 nodes; have 0: start 3"
    nodes = env.ours()
    assert len(nodes) == 3 and len(env.driver.list_nodes()) == 5    # the 2 dummies are not ours
    for node in nodes:
        tags = node.extra["tags"]
        assert tags[TAG_POOL] == "default" and tags[TAG_NODE].startswith("gh-default-")
        document = parse_user_data(node.extra["user_data"])
        config = document["write_files"][0]["content"]
        assert f'node = "{tags[TAG_NODE]}"' in config and f'url = "{URL}"' in config
        assert "slots = 2" in config
        key = config.split('key = "')[1].split('"')[0]
        principal = result_of(env.keys.verify_bearer(key))
        assert (principal.role, principal.user, principal.key_id) == (
            "agent", "elastic-default", tags[TAG_KEY])
    assert [e["node"] for e in env.events("launched")] == [n.extra["tags"][TAG_NODE] for n in nodes]
    # Nothing more while they boot: booting nodes count.
    assert env.tick(5)["action"] == "hold"
    assert len(env.ours()) == 3


def test_agents_join_and_scale_down_never_takes_a_node_holding_a_lease():
    env = Env()
    env.job(3)
    env.tick()
    a, b, c = env.names()
    tasks = {name: env.pop(name) for name in (a, b, c)}
    env.tick(5)
    assert {r.phase for r in env.service.nodes.values()} == {READY}
    assert len(env.events("joined")) == 3
    env.ack(tasks[a][0])
    env.ack(tasks[b][0])
    env.computing[c] = tasks[c]           # c keeps computing its long task
    # Three nodes were wanted 5 s ago: the pool shrinks once a whole
    # idle_timeout (60 s) has gone by with only c's task to run.
    assert env.tick(5)["blocked_by"] == "idle_timeout"
    assert env.tick(54)["blocked_by"] == "idle_timeout"
    decision = env.tick(5)
    assert decision["action"] == "down"
    assert sorted(decision["victims"]) == sorted([a, b])
    assert "kept 1 node holding leases" in decision["reason"]
    assert env.service.nodes[c].phase == READY
    # Fenced: their keys are revoked at once, the machines wait for drain_grace.
    for name in (a, b):
        assert env.service.nodes[name].phase == DRAINING
        key_id = env.service.nodes[name].key_id
        assert result_of(env.keys.lookup(key_id)) is None
    assert len(env.ours()) == 3
    env.tick(69)
    assert len(env.ours()) == 3
    env.tick(1)
    assert env.names() == [c]
    assert sorted(e["node"] for e in env.events("destroyed")) == sorted([a, b])
    # Still no work, still holding its lease: c stays, tick after tick.
    for _ in range(30):
        assert env.tick(10)["action"] == "hold"
    assert env.names() == [c]
    assert env.service.journal.last_decision["reason"] == (
        "0 queued tasks + 1 running in 1 job want 1 slot = 1 node; have 1: at target")


def test_a_lease_won_after_the_fence_keeps_the_machine_until_it_expires():
    env = Env(idle_timeout=0)
    env.job(1)
    env.tick()
    (name,) = env.names()
    env.ack(env.pop(name)[0])
    assert env.tick(5)["action"] == "down"
    # A long poll the node parked before its key was revoked gets new work.
    env.job(1)
    late = env.pop(name)
    assert len(late) == 1
    env.tick(70)
    assert name in env.names()            # (a new node serves the new job meanwhile)
    assert [e["node"] for e in env.events("kept")] == [name]
    # Its ack would be refused (revoked key); the lease expires and requeues.
    env.clock.advance(31)
    result_of(env.store.requeue_expired(env.clock.seconds()))
    env.tick(5)
    assert name not in env.names()
    assert env.events("destroyed")[-1]["node"] == name


def test_a_node_whose_agent_never_joins_is_replaced_after_boot_timeout():
    env = Env(boot_timeout=100)
    env.job(1)
    env.tick()
    (first,) = env.names()
    env.tick(101)
    fenced = env.events("fenced")
    assert fenced[-1]["node"] == first and "boot_timeout (100 s)" in fenced[-1]["reason"]
    # Never seen by the grid: a short grace, then the machine goes and a new one comes.
    env.tick(5)
    names = env.names()
    assert first not in names and len(names) == 1


def test_a_silent_agent_is_replaced_once_its_leases_expired():
    env = Env(lost_timeout=60)
    env.job(2)
    env.tick()
    a, b = env.names()
    held = env.pop(a)
    env.pop(b)
    env.tick(5)
    for _ in range(8):                # b keeps polling; a went silent holding its task
        env.clock.advance(20)
        env.pop(b)
        env.tick()
        if env.events("fenced"):
            break
    assert env.events("fenced")[-1]["node"] == a
    assert "silent" in env.events("fenced")[-1]["reason"]
    env.clock.advance(100)
    result_of(env.store.requeue_expired(env.clock.seconds()))
    env.tick()
    assert a not in env.names()


def test_launch_failures_revoke_the_key_and_back_off():
    class BrokenDriver(DummyNodeDriver):
        calls = 0

        def create_node(self, name, size, image):
            BrokenDriver.calls += 1
            raise RuntimeError("InsufficientInstanceCapacity")

    env = Env(driver=BrokenDriver(0))
    env.job(2)
    env.tick()
    assert BrokenDriver.calls == 2
    failed = env.events("launch_failed")
    assert len(failed) == 2 and "InsufficientInstanceCapacity" in failed[0]["reason"]
    assert [k for k in result_of(env.keys.list()) if k["role"] == "agent"] == []
    decision = env.tick(5)
    assert decision["action"] == "hold" and decision["blocked_by"] == "provider"
    assert "the provider failed to start a node" in decision["reason"]
    assert BrokenDriver.calls == 2


def test_a_restarted_server_adopts_its_nodes_and_can_still_revoke_their_keys():
    env = Env(idle_timeout=0)
    env.job(2)
    env.tick()
    names = env.names()
    keys = {r.name: r.key_id for r in env.service.nodes.values()}
    for name in names:
        env.ack(env.pop(name)[0])
    # A new server process: new service and provider, same store and cloud. The
    # books in the store are gone too (say Redis was flushed): only the tags remain.
    result_of(env.store.kv_delete("elastic:default"))
    env.clock.advance(30)
    again = Env(driver=env.driver, env=env.env, idle_timeout=0, server_id="s2")
    decision = again.tick(20)
    assert sorted(e["node"] for e in again.events("adopted")) == names
    for name in names:
        assert again.service.nodes[name].key_id == keys[name]
    # Their agents poll again: ready, idle, and they go, keys and all.
    for name in names:
        again.pop(name)
    again.tick(5)
    assert {r.phase for r in again.service.nodes.values()} == {DRAINING}
    again.tick(70)
    assert again.ours() == []
    assert all(result_of(env.keys.lookup(k)) is None for k in keys.values())
    assert decision is not None


def test_nodes_terminated_elsewhere_are_forgotten_and_their_keys_revoked():
    env = Env()
    env.job(1)
    env.tick()
    (node,) = env.ours()
    key_id = node.extra["tags"][TAG_KEY]
    env.driver.destroy_node(node)                 # a spot reclaim, or an operator
    env.tick(61)
    assert env.events("vanished")[0]["node"] == node.extra["tags"][TAG_NODE]
    assert result_of(env.keys.lookup(key_id)) is None
    assert len(env.ours()) == 1                   # and a replacement was started


def test_spending_is_accounted_persisted_and_capped_by_the_budget():
    env = Env(price_per_hour=3.6, budget=1.0)
    env.job(2)
    env.tick()
    for name in env.names():
        env.pop(name)
    env.tick(100)                                 # 2 nodes x 100 s x 3.6/h = 0.2
    assert abs(env.service.spent - 0.2) < 1e-9
    books = json.loads(result_of(env.store.kv_get("elastic:default", env.clock.seconds())))
    assert books["spent"] == 0.2 and books["spend_rate_per_hour"] == 7.2
    for _ in range(4):
        env.tick(100)
    assert env.service.spent >= 1.0
    env.job(10)
    decision = env.tick(5)
    assert decision["action"] == "hold" and "the budget is spent" in decision["reason"]
    # A new leader carries the total on.
    again = Env(driver=env.driver, env=env.env, price_per_hour=3.6, budget=1.0, server_id="s2")
    env.clock.advance(30)
    again.tick()
    assert again.service.spent >= 1.0


def test_only_one_server_scales_and_another_takes_over_when_it_dies():
    first = Env(leader_term=10)
    second = Env(driver=first.driver, env=first.env, leader_term=10, server_id="s2")
    first.job(2)
    first.tick()
    second.tick()
    assert first.service.is_leader and not second.service.is_leader
    assert len(first.ours()) == 2
    for _ in range(5):                            # the leader keeps its terms
        first.tick(4)
        second.tick()
        assert first.service.is_leader and not second.service.is_leader
    # The leader dies (stops ticking): within two terms the other leads, adopting.
    for _ in range(6):
        second.tick(4)
    assert second.service.is_leader
    # It carries on from the books the first one kept in the store: nothing is
    # adopted as unknown, nothing is launched twice.
    assert sorted(second.service.nodes) == first.names()
    assert second.events("adopted") == [] and len(first.ours()) == 2


def test_status_is_published_for_every_server_and_served_by_the_route():
    env = Env()
    env.job(1)
    env.tick()
    status = result_of(read_status(env.store, env.clock.seconds()))
    assert status["enabled"] is True
    (pool,) = status["pools"]
    assert pool["pool"] == "default" and pool["provider"] == "dummy" and pool["leader"] == "s1"
    assert pool["last_decision"]["reason"].startswith("1 queued task in 1 job")
    assert [n["phase"] for n in pool["nodes"]] == [BOOTING]
    assert [e.get("event") or e["action"] for e in pool["history"]] == ["up", "launched"]
    assert pool["stale"] is False
    env.clock.advance(600)
    assert result_of(read_status(env.store, env.clock.seconds()))["pools"][0]["stale"] is True

    stub = StubTreq(status_api(env.env).resource())
    admin, _ = result_of(env.keys.create("admin"))
    submitter, _ = result_of(env.keys.create("submitter", "alice"))
    got = result_of(stub.get("http://grid.test/elastic",
                             headers={"Authorization": f"Bearer {admin}"}))
    assert got.code == 200
    body = json.loads(result_of(got.content()))
    assert body["pools"][0]["pool"] == "default"
    denied = result_of(stub.get("http://grid.test/elastic",
                                headers={"Authorization": f"Bearer {submitter}"}))
    assert denied.code == 403
    assert json.loads(result_of(denied.content()))["error"] == "forbidden"


def status_api(api_env):
    """The naclgrid API with the elastic route installed, as the lead mounts it."""
    from klein import Klein

    from naclgrid.api import NaclgridAPI
    from naclgrid.api import agents, jobs
    from naclgrid.api.errors import install_error_handlers
    from naclgrid.auth import Authenticator
    from naclgrid.elastic.status import install

    class WithElastic(NaclgridAPI):
        app = Klein()
        install_error_handlers(app)
        jobs.install(app)
        agents.install(app)
        install(app)

    return WithElastic(api_env.grid, Authenticator(api_env.keys, api_env.store, api_env.clock),
                       api_env.clock, api_env.api.settings)


def test_a_revoked_key_cannot_create_more_work_for_a_fenced_node():
    env = Env(idle_timeout=0)
    env.job(1)
    env.tick()
    (name,) = env.names()
    key_id = env.service.nodes[name].key_id
    env.ack(env.pop(name)[0])
    env.tick(5)
    env.tick(5)
    assert env.service.nodes[name].phase == DRAINING
    records = result_of(env.keys.list())
    assert key_id not in [r["key_id"] for r in records]
    assert isinstance(failure_of(env.keys.verify_bearer("ngk_" + key_id + "_" + "0" * 64)),
                      AuthError)


def test_new_work_wakes_a_decision_at_once_not_at_the_next_interval():
    env = Env(interval=30)
    env.service.startService()                  # first tick now; the next in 30 s
    assert env.service.is_leader and env.ours() == []
    env.job(2)                                  # the store's work event kicks a tick
    env.clock.advance(1.0)
    assert len(env.ours()) == 2
    env.job(5)
    env.clock.advance(0.05)                     # kicks are spaced by at least 0.25 s
    assert len(env.ours()) == 2
    env.clock.advance(1.0)
    assert len(env.ours()) == 6                 # max_nodes
    env.service.stopService()
    env.job(1)
    env.clock.advance(60)
    assert len(env.ours()) == 6                 # stopped: no loop, no kicks
