"""The local elastic pool: policy, service, launcher and key, without processes."""

import os
import signal
import stat

from twisted.internet.defer import succeed
from twisted.internet.task import Clock
from zope.interface.verify import verifyObject

from naclgrid.pool import (Demand, LocalLauncher, PoolService, QueuePolicy, build_pool,
                           check_pool_config, pool_key_factory)
from naclgrid.pool.interfaces import IAgentLauncher, IScalingPolicy
from tests.naclgrid.api_support import ApiEnv, result_of


def test_policy_scales_up_for_the_queue_and_down_after_the_idle_timeout():
    policy = QueuePolicy(max_agents=2, slots_per_agent=1, idle_timeout=30)
    verifyObject(IScalingPolicy, policy)
    assert policy.desired(Demand(0, 0), 0, now=0) == 0
    assert policy.desired(Demand(queued=1), 0, now=1) == 1
    assert policy.desired(Demand(queued=50), 1, now=2) == 2  # capped
    assert policy.desired(Demand(queued=0, leased=2), 2, now=3) == 2
    assert policy.desired(Demand(), 2, now=20) == 2  # idle, but not for long
    assert policy.desired(Demand(), 2, now=33) == 0


def test_policy_counts_slots_per_agent():
    policy = QueuePolicy(max_agents=8, slots_per_agent=4, idle_timeout=30)
    assert policy.desired(Demand(queued=9), 0, now=0) == 3


def test_pool_config_is_checked():
    assert check_pool_config(None) == []
    assert check_pool_config({"enabled": False, "max_agents": 4, "idle_timeout": 2.5}) == []
    assert check_pool_config({"enabled": "yes", "slots_per_agent": 0, "colour": 1}) == [
        "pool.colour: unknown option (known: enabled, max_agents, slots_per_agent, "
        "idle_timeout, interval)",
        "pool.enabled: must be true or false, not 'yes'",
        "pool.slots_per_agent: must be an integer from 1 to 256, not 0",
    ]


def test_a_disabled_pool_builds_no_service():
    assert build_pool({"enabled": False}, None, Clock(), "http://x/", None) is None
    assert build_pool({"max_agents": 0}, None, Clock(), "http://x/", None) is None


class FakeLauncher:
    def __init__(self):
        self.key = None
        self.alive = 0
        self.started = 0
        self.drained = 0
        self.stopped = None

    def set_key(self, key):
        self.key = key

    def running(self):
        return self.alive

    def start_agent(self):
        self.alive += 1
        self.started += 1

    def drain_agent(self):
        self.alive -= 1
        self.drained += 1

    def stop_all(self, grace):
        self.stopped = grace
        return succeed(None)


def test_service_starts_agents_for_work_and_drains_them_when_idle():
    clock, launcher = Clock(), FakeLauncher()
    verifyObject(IAgentLauncher, LocalLauncher(clock, "http://x/", 1, "/tmp/x"))
    demand = {"now": Demand()}
    keys = []

    def key_factory():
        keys.append(1)
        return succeed("ngk_key")

    service = PoolService(QueuePolicy(4, 1, idle_timeout=10), launcher,
                          lambda: succeed(demand["now"]), key_factory, clock)
    service.startService()
    clock.advance(1)
    assert launcher.started == 0 and keys == []  # no key is made for an idle grid
    demand["now"] = Demand(queued=3)
    clock.advance(1)
    assert launcher.alive == 3 and launcher.key == "ngk_key"
    demand["now"] = Demand(leased=3)
    clock.pump([1] * 20)
    assert launcher.alive == 3  # busy agents are never drained
    demand["now"] = Demand()
    clock.pump([1] * 9)
    assert launcher.alive == 3
    clock.pump([1] * 2)
    assert launcher.alive == 0 and launcher.drained == 3
    demand["now"] = Demand(queued=1)
    clock.advance(1)
    assert launcher.alive == 1 and keys == [1]  # the key is asked for once
    assert result_of(service.stopService()) is None and launcher.stopped == 2.0


def test_a_failing_tick_does_not_stop_the_pool():
    clock, launcher = Clock(), FakeLauncher()
    answers = [RuntimeError("store down"), Demand(queued=1)]

    def demand():
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            from twisted.internet.defer import fail
            return fail(answer)
        return succeed(answer)

    service = PoolService(QueuePolicy(4, 1, 10), launcher, demand, lambda: succeed("k"), clock)
    service.startService()
    clock.advance(1)
    clock.advance(1)
    assert launcher.alive == 1


class RecordingReactor(Clock):
    def __init__(self):
        super().__init__()
        self.spawned = []

    def spawnProcess(self, protocol, executable, args, env=None, **kwargs):
        transport = FakeProcessTransport(protocol)
        protocol.makeConnection(transport)
        self.spawned.append((protocol, executable, args, env, transport))
        return transport


class FakeProcessTransport:
    def __init__(self, protocol):
        self.protocol = protocol
        self.signals = []

    def signalProcess(self, signum):
        self.signals.append(signum)

    def exit(self, code):
        from twisted.internet.error import ProcessTerminated
        from twisted.python.failure import Failure

        self.protocol.processEnded(Failure(ProcessTerminated(code)))


def test_launcher_spawns_agents_with_the_key_in_the_environment_only():
    reactor = RecordingReactor()
    launcher = LocalLauncher(reactor, "http://127.0.0.1:8080/naclgrid/", 2, "/tmp/cache")
    launcher.set_key("ngk_secret")
    launcher.start_agent()
    _protocol, executable, args, env, _transport = reactor.spawned[0]
    assert args[:3] == [executable, "-m", "naclgrid.agent"]
    assert "--url" in args and "http://127.0.0.1:8080/naclgrid/" in args
    assert args[args.index("--slots") + 1] == "2"
    assert "ngk_secret" not in " ".join(args) and env["NACLGRID_KEY"] == "ngk_secret"
    assert launcher.running() == 1


def test_launcher_drains_with_sigterm_and_kills_only_after_the_grace():
    reactor = RecordingReactor()
    launcher = LocalLauncher(reactor, "http://x/", 1, "/tmp/cache")
    launcher.set_key("k")
    first, second = launcher.start_agent(), launcher.start_agent()
    assert launcher.drain_agent() is second
    transports = [entry[4] for entry in reactor.spawned]
    assert transports[1].signals == [signal.SIGTERM] and launcher.running() == 1
    transports[1].exit(0)
    assert launcher.agents == [first]
    done = launcher.stop_all(grace=2)
    assert transports[0].signals == [signal.SIGTERM]
    reactor.advance(2)
    assert transports[0].signals == [signal.SIGTERM, signal.SIGKILL]
    transports[0].exit(-9)
    assert done.called and launcher.agents == []


def test_pool_key_is_created_once_and_kept_private(tmp_path):
    env = ApiEnv()
    factory = pool_key_factory(env.keys, str(tmp_path))
    key = result_of(factory())
    path = tmp_path / "pool-agent.key"
    assert path.read_text().strip() == key
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert result_of(factory()) == key
    principal = result_of(env.keys.verify_bearer(key))
    assert principal.role == "agent"
    result_of(env.keys.revoke(key))
    assert result_of(factory()) != key
