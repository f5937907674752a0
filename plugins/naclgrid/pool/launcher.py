"""Local agents as child processes of the server (``python -m naclgrid.agent``)."""

import itertools
import os
import signal
import sys

from twisted.internet.defer import Deferred, DeferredList
from twisted.internet.error import ProcessExitedAlready
from twisted.internet.protocol import ProcessProtocol
from twisted.logger import Logger
from zope.interface import implementer

from naclgrid.pool.interfaces import IAgentLauncher


class AgentProcess(ProcessProtocol):
    """One child agent: forwards its output to the log, reports its exit."""

    log = Logger(namespace="naclgrid.pool")

    def __init__(self, name, on_exit):
        self.name = name
        self.draining = False
        self.exited = Deferred()
        self._on_exit = on_exit
        self._partial = b""

    def outReceived(self, data):
        self._lines(data)

    errReceived = outReceived

    def _lines(self, data):
        *lines, self._partial = (self._partial + data).split(b"\n")
        for line in lines:
            text = line.decode("utf-8", "replace").rstrip()
            if text:
                self.log.info("{agent}: {line}", agent=self.name, line=text)

    def processEnded(self, reason):
        code = getattr(reason.value, "exitCode", None)
        self.log.info("{agent} exited ({code})", agent=self.name, code=code)
        self._on_exit(self)
        self.exited.callback(code)

    def signal(self, signum):
        try:
            self.transport.signalProcess(signum)
        except ProcessExitedAlready:
            pass


@implementer(IAgentLauncher)
class LocalLauncher:
    """Spawns ``python -m naclgrid.agent`` with the pool's key in its
    environment (never on the command line, where ``ps`` would show it)."""

    log = Logger(namespace="naclgrid.pool")

    def __init__(self, reactor, url, slots_per_agent, cache_dir, node_prefix="pool",
                 python=None, extra_args=()):
        self._reactor = reactor
        self._url = url
        self._slots = slots_per_agent
        self._cache_dir = cache_dir
        self._prefix = node_prefix
        self._python = python or sys.executable
        self._extra = list(extra_args)
        self._key = None
        self._agents = []
        self._numbers = itertools.count(1)

    def set_key(self, key):
        self._key = key

    @property
    def agents(self):
        return list(self._agents)

    def running(self):
        return sum(1 for agent in self._agents if not agent.draining)

    def start_agent(self):
        if self._key is None:
            raise RuntimeError("the pool has no agent key yet")
        name = f"{self._prefix}-{os.getpid()}-{next(self._numbers)}"
        # The host binds its port after the apps are built: the URL may be a
        # callable that is asked only when an agent is really needed.
        url = self._url() if callable(self._url) else self._url
        if not url:
            raise RuntimeError("the server's own URL is not known yet")
        args = [self._python, "-m", "naclgrid.agent", "--url", url,
                "--slots", str(self._slots), "--node", name, "--status", "off",
                "--cache-dir", self._cache_dir, *self._extra]
        env = dict(os.environ)
        env["NACLGRID_KEY"] = self._key
        # A server killed with SIGKILL cannot stop its agents: they watch for it.
        env["NACLGRID_PARENT_PID"] = str(os.getpid())
        env["PYTHONUNBUFFERED"] = "1"
        agent = AgentProcess(name, self._exited)
        self._reactor.spawnProcess(agent, self._python, args, env=env)
        self._agents.append(agent)
        self.log.info("started local agent {agent}", agent=name)
        return agent

    def drain_agent(self):
        for agent in reversed(self._agents):
            if not agent.draining:
                agent.draining = True
                agent.signal(signal.SIGTERM)
                self.log.info("asked idle agent {agent} to drain", agent=agent.name)
                return agent
        return None

    def stop_all(self, grace):
        agents = list(self._agents)
        for agent in agents:
            if not agent.draining:
                agent.draining = True
                agent.signal(signal.SIGTERM)
        timers = [self._reactor.callLater(grace, agent.signal, signal.SIGKILL) for agent in agents]

        def cancel_timers(result):
            for timer in timers:
                if timer.active():
                    timer.cancel()
            return result
        return DeferredList([agent.exited for agent in agents]).addBoth(cancel_timers)

    def _exited(self, agent):
        if agent in self._agents:
            self._agents.remove(agent)
