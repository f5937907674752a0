"""``gridhost agent``: the entry point (the only module of the agent that may
touch the global reactor)."""

import os
import signal
import sys

from twisted.logger import (FilteringLogObserver, LogLevel, LogLevelFilterPredicate, Logger,
                            globalLogBeginner, textFileLogObserver)
from twisted.internet.task import LoopingCall
from twisted.python.threadpool import ThreadPool

from naclgrid.agent.config import ConfigError, load_config
from naclgrid.agent.stats import AgentStats
from naclgrid.agent.status import StatusLine
from naclgrid.agent.worker import Agent, AgentStopped
from naclgrid.client.api import GridAPI
from naclgrid.client.credentials import credentials_for
from naclgrid.client.executor import TaskExecutor, in_threadpool
from naclgrid.client.filecache import FileCache
from naclgrid.client.grid import treq_client
from naclgrid.client.transport import Transport

log = Logger()

EXIT_OK, EXIT_USAGE, EXIT_REFUSED = 0, 2, 3


def build_agent(config, reactor, stats=None, sandbox=None, http=None):
    """Wire an :class:`Agent` from a config; returns ``(agent, threadpool)``.
    The thread pool is the caller's to start and stop."""
    if http is None:
        http, _pool = treq_client(reactor, max_connections=4, base_url=config.url)
    api = GridAPI(Transport(http, config.url, credentials_for(config.key, config.scheme), reactor))
    # One thread per slot, plus one so compiling a new module never waits for a slot.
    threads = ThreadPool(minthreads=0, maxthreads=config.slots + 1, name="naclgrid-slots")
    cache = FileCache(f"{config.cache_dir}/files", api.download, config.cache_max_bytes)
    executor = TaskExecutor(cache, in_threadpool(reactor, threads), sandbox=sandbox,
                            clock=reactor)
    stats = stats or AgentStats(reactor)
    agent = Agent(api, executor, reactor, stats, slots=config.slots, node=config.node,
                  applications=config.applications, poll_wait=config.poll_wait,
                  prefetch=config.prefetch)
    return agent, threads


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        config = load_config(argv)
    except ConfigError as exc:
        for error in exc.errors:
            print(f"gridhost agent: {error}", file=sys.stderr)
        return EXIT_USAGE

    from twisted.internet import reactor

    globalLogBeginner.beginLoggingTo([FilteringLogObserver(
        textFileLogObserver(sys.stderr),
        [LogLevelFilterPredicate(defaultLogLevel=LogLevel.info)])], redirectStandardIO=False)

    agent, threads = build_agent(config, reactor)
    status = None
    if config.status != "off":
        tty = {"auto": None, "tty": True, "plain": False}[config.status]
        status = StatusLine(sys.stdout, reactor, agent.stats, tty=tty)
    outcome = {"code": EXIT_OK}
    signals = {"count": 0}

    def on_signal(signum, _frame):
        reactor.callFromThread(terminate, signum)

    def terminate(signum):
        signals["count"] += 1
        if signals["count"] == 1:
            log.info("signal {signum}: finishing held tasks (send it again to quit now)",
                     signum=signum)
            agent.drain()
        else:
            agent.stop()

    def finished(result):
        if hasattr(result, "check") and (signals["count"] > 1 or orphan["gone"]):
            # A hard stop interrupts polls and tasks on purpose: not a failure.
            log.info("stopped at once: {what}", what=result.getErrorMessage())
        elif hasattr(result, "check"):
            if result.check(AgentStopped):
                print(f"gridhost agent: {result.value}", file=sys.stderr)
            else:
                log.failure("agent failed", result)
            outcome["code"] = EXIT_REFUSED
        if status is not None:
            status.stop()
        if watch.running:
            watch.stop()
        if signals["count"] < 2 and not orphan["gone"]:
            threads.stop()  # waits for running tasks; a hard stop does not
        reactor.stop()

    def orphaned():
        # Set by the local pool: its agents end with the server that spawned them.
        if os.getppid() != parent:
            log.warn("the server that started this agent is gone; stopping")
            orphan["gone"] = True
            agent.stop()

    parent = int(os.environ.get("NACLGRID_PARENT_PID", "0") or 0)
    orphan = {"gone": False}
    watch = LoopingCall(orphaned)
    watch.clock = reactor

    def begin():
        if parent:
            watch.start(2.0, now=False)
        threads.start()
        log.info("agent {node}: {slots} slot(s), server {url}", node=config.node,
                 slots=config.slots, url=config.url)
        if status is not None:
            status.start()
        agent.start().addBoth(finished)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    reactor.callWhenRunning(begin)
    reactor.run(installSignalHandlers=False)
    if signals["count"] > 1 or orphan["gone"]:
        # "Quit now": a task still running in the sandbox would keep the
        # interpreter (and its non-daemon worker threads) alive until it ends.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(outcome["code"])
    return outcome["code"]
