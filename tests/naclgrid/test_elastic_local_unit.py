"""The local provider over the pool's launcher, without processes."""

import signal

from twisted.internet.defer import succeed
from zope.interface.verify import verifyObject

from naclgrid.elastic import ElasticPolicy, ElasticService, ElasticSettings
from naclgrid.elastic.interfaces import INodeProvider
from naclgrid.elastic.local import LocalProvider
from naclgrid.elastic.service import state_key
from tests.naclgrid.api_support import ApiEnv, result_of


class FakeAgent:
    def __init__(self, name):
        self.name, self.draining, self.signals = name, False, []

    def signal(self, signum):
        self.signals.append(signum)


class FakeLauncher:
    """The seam LocalProvider uses: LocalLauncher's public surface."""

    def __init__(self):
        self.agents, self.key, self.count, self.stopped = [], None, 0, None

    def set_key(self, key):
        self.key = key

    def start_agent(self):
        self.count += 1
        agent = FakeAgent(f"gh-default-4242-{self.count}")
        self.agents.append(agent)
        return agent

    def stop_all(self, grace):
        self.stopped = grace
        return succeed(None)


def test_local_agents_are_started_with_the_pool_key_fenced_by_sigterm_and_killed_only_if_stuck():
    launcher, asked = FakeLauncher(), []
    provider = LocalProvider(launcher, lambda: asked.append(1) or succeed("ngk_pool"))
    verifyObject(INodeProvider, provider)
    node = result_of(provider.create_node("ignored"))
    assert (node.name, launcher.key, asked) == ("gh-default-4242-1", "ngk_pool", [1])
    result_of(provider.create_node("ignored"))
    assert asked == [1]                                     # the key is asked for once
    assert [n.name for n in result_of(provider.list_nodes())] == [
        "gh-default-4242-1", "gh-default-4242-2"]
    agent = node.handle
    result_of(provider.fence_node(node))
    result_of(provider.fence_node(node))
    assert agent.draining and agent.signals == [signal.SIGTERM]
    launcher.agents.remove(agent)                           # it drained and exited
    assert result_of(provider.destroy_node(node)) is True and agent.signals == [signal.SIGTERM]
    stuck = result_of(provider.list_nodes())[0]
    result_of(provider.destroy_node(stuck))
    assert stuck.handle.signals == [signal.SIGKILL]
    result_of(provider.shutdown(3.0))
    assert launcher.stopped == 3.0


def test_the_service_names_local_nodes_as_the_launcher_does_and_adopts_no_books():
    env = ApiEnv()
    settings = ElasticSettings(enabled=True, provider="local", scale_up_cooldown=0)
    launcher = FakeLauncher()
    provider = LocalProvider(launcher, lambda: succeed("ngk_pool"))
    # Books of a previous leader name local agents of another process: not ours.
    result_of(env.store.kv_set(state_key("default"), b'{"spent": 1.5, "nodes": [{"name": '
                               b'"gh-default-1-1", "phase": "ready", "provider_id": "x"}]}',
                               now=env.clock.seconds()))
    service = ElasticService(settings, ElasticPolicy(settings), provider, env.grid, env.clock)
    job = result_of(env.grid.new_job("alice", "echo"))
    result_of(env.grid.start_job(job.job_id, b""))
    result_of(env.grid.fork_many(job.job_id, [("echo", b"x")] * 2))
    result_of(service.tick())
    assert sorted(service.nodes) == ["gh-default-4242-1", "gh-default-4242-2"]
    assert service.spent == 1.5
