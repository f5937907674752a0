"""Many servers on one Redis: throughput, parked long polls, and the
autoscaler's reaction time.

    python bench/many_servers.py [--only throughput,polls,firstnode] [--runs 3]

1. throughput: no-op tasks (echo) forked on server A and gathered on A by
   four real agents (``--slots 2``), first with one server, then with two
   servers on the same Redis (agents split between them). Median tasks/s
   of ``--runs`` runs and the ratio two/one.
2. polls: how many concurrent long-polling agents one server holds (raw
   HTTP clients, each its own node, ``pop wait=55``), the server's RSS,
   and how fast a burst of work forked on the *other* server wakes them all
   through Redis pub/sub.
3. firstnode: time from a job's start to its first extra node with
   libcloud's DummyNodeDriver, through the real ElasticService on the real
   reactor (driver calls in a thread pool, as in the server), for two
   decision intervals.

Everything runs on this machine's loopback; numbers depend on its cores,
which the agents, servers and Redis share.
"""

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gridhost.testing import RedisServer, wait_for  # noqa: E402
from tests.naclgrid.elastic_support import agent_process, Server, gather, submit  # noqa: E402


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


# -- 1. throughput ---------------------------------------------------------------------------
def throughput(folder, tasks, runs, server_count, agents=4, slots=2):
    redis = RedisServer(_mkdir(folder / "redis")).start()
    servers = [Server(f"s{i}", folder / f"s{i}", redis.url) for i in range(server_count)]
    procs = []
    try:
        for server in servers:
            server.start(wait=False)
        for server in servers:
            server.wait_ready()
        alice = servers[0].create_key("submitter", "alice")
        farm = servers[0].create_key("agent", "farm")
        procs = [agent_process(f"agent-{i}", folder / "agents", servers[i % server_count].api_url, farm,
                           slots=slots, poll_wait=10).start() for i in range(agents)]
        wait_for(lambda: len(servers[0].json(farm, "nodes", method="GET")["nodes"]) == agents,
                 60, "agents")
        inputs = [b"%d" % i for i in range(tasks)]
        rates = []
        for run in range(runs + 1):
            started = time.perf_counter()
            job = submit(servers[0], alice, "echo", "echo", inputs)
            results = gather(servers[:1], alice, job, tasks, timeout=600)
            elapsed = time.perf_counter() - started
            assert results == inputs
            if run:                                  # the first run warms module caches
                rates.append(tasks / elapsed)
        return rates
    finally:
        for proc in procs:
            proc.kill()
        for server in servers:
            server.kill()
        redis.kill()


# -- 2. parked long polls ----------------------------------------------------------------------
async def _pop(port, key, node, wait, opened):
    try:
        return await _pop_once(port, key, node, wait, opened)
    except OSError:
        return False


async def _pop_once(port, key, node, wait, opened):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    opened.append(node)
    body = f"max=1&wait={wait}&node={node}".encode()
    writer.write(b"POST /naclgrid/pop HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                 b"Authorization: Bearer " + key.encode() + b"\r\n"
                 b"Content-Type: application/x-www-form-urlencoded\r\n"
                 b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
    await writer.drain()
    data = await reader.read()
    writer.close()
    return b'"slot"' in data


async def _hold(server, other, alice, farm, count):
    polls, opened = [], []
    # Agents arrive over time, not in one SYN flood past the listen backlog: ramp up.
    for i in range(count):
        polls.append(asyncio.ensure_future(_pop(server.port, farm, f"sim-{i}", 55, opened)))
        if i % 200 == 199:
            while len(opened) < i - 50:
                await asyncio.sleep(0.01)

    def parked():
        return server.health().get("apps", {}).get("naclgrid", {}).get("long_polls", 0)

    deadline = time.monotonic() + 40          # well inside the polls' 55 s wait
    held = 0
    while time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        held = (await asyncio.get_running_loop().run_in_executor(None, parked)) or 0
        if held >= count:
            break
    rss = rss_mib(server.proc.pid)
    started = time.perf_counter()
    await asyncio.get_running_loop().run_in_executor(
        None, lambda: submit(other, alice, "echo", "echo", [b"x"] * count))
    got = await asyncio.gather(*polls)
    wake = time.perf_counter() - started
    return held, rss, sum(got), wake


def polls(folder, count):
    redis = RedisServer(_mkdir(folder / "redis")).start()
    a, b = (Server(n, folder / n, redis.url) for n in ("a", "b"))
    try:
        a.start(wait=False)
        b.start(wait=False)
        a.wait_ready()
        b.wait_ready()
        alice = a.create_key("submitter", "alice")
        farm = a.create_key("agent", "farm")
        idle = rss_mib(b.proc.pid)
        held, rss, woken, wake = asyncio.run(_hold(b, a, alice, farm, count))
        return idle, held, rss, woken, wake
    finally:
        a.kill()
        b.kill()
        redis.kill()


# -- 3. submission to first extra node ---------------------------------------------------------
def first_node(reactor, plan):
    """``{interval: [seconds, ...]}`` for ``plan`` = ``[(interval, samples), ...]``."""
    from libcloud.compute.drivers.dummy import DummyNodeDriver
    from twisted.internet.defer import ensureDeferred
    from twisted.internet.threads import deferToThreadPool
    from twisted.python.threadpool import ThreadPool

    from naclgrid.auth import KeyService
    from naclgrid.elastic import ElasticPolicy, ElasticService, ElasticSettings
    from naclgrid.elastic.cloud import CloudProvider
    from naclgrid.elastic.cloud.drivers import DummyAdapter
    from naclgrid.grid import Grid
    from naclgrid.stores.memory import MemoryGridStore

    threads = ThreadPool(0, 4, "bench-elastic")
    threads.start()
    created = []
    out = {}

    class Timed(DummyNodeDriver):
        def create_node(self, name, size, image):
            node = super().create_node(name, size, image)
            reactor.callFromThread(created.append, time.perf_counter())
            return node

    def run_blocking(f, *args, **kwargs):
        return deferToThreadPool(reactor, threads, f, *args, **kwargs)

    async def measure():
        for interval, samples in plan:
            out[interval] = []
            for sample in range(samples):
                store = MemoryGridStore()
                grid = Grid(store, reactor)
                settings = ElasticSettings(enabled=True, provider="dummy", interval=interval,
                                           scale_up_cooldown=0)
                provider = CloudProvider(Timed(0), DummyAdapter({}), KeyService(store, reactor),
                                         "default", "https://grid.example/naclgrid/", 1,
                                         run_blocking)
                service = ElasticService(settings, ElasticPolicy(settings), provider, grid,
                                         reactor)
                service.startService()
                # Submit at a spread of phases of the decision loop, as users would.
                await _sleep(reactor, (sample + 0.5) / samples * interval)
                del created[:]
                started = time.perf_counter()
                job = await grid.new_job("alice", "echo")
                await grid.start_job(job.job_id, b"", meta={"ghz": "4"})
                await grid.fork_many(job.job_id, [("echo", b"x")] * 10)
                while not created:
                    await _sleep(reactor, 0.002)
                out[interval].append(created[0] - started)
                service.stopService()

    def run():
        d = ensureDeferred(measure())
        d.addErrback(lambda f: f.printTraceback())
        d.addBoth(lambda _: reactor.stop())

    reactor.callWhenRunning(run)
    reactor.run()
    threads.stop()
    return out


def _sleep(reactor, seconds):
    from twisted.internet.task import deferLater
    return deferLater(reactor, seconds, lambda: None)


def _mkdir(path):
    path.mkdir(parents=True, exist_ok=True)
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default="throughput,polls,firstnode")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tasks", type=int, default=3000)
    parser.add_argument("--polls", type=int, default=2000)
    args = parser.parse_args(argv)
    only = set(args.only.split(","))
    print(f"machine: {os.cpu_count()} cores; everything on 127.0.0.1")
    with tempfile.TemporaryDirectory(prefix="gridhost-many-") as tmp:
        tmp = Path(tmp)
        if "throughput" in only:
            one = throughput(tmp / "one", args.tasks, args.runs, 1)
            two = throughput(tmp / "two", args.tasks, args.runs, 2)
            m1, m2 = statistics.median(one), statistics.median(two)
            print(f"throughput, {args.tasks} no-op tasks, 4 agents x 2 slots, median of "
                  f"{args.runs}:")
            print(f"  1 server : {m1:8.0f} tasks/s   runs {[round(r) for r in one]}")
            print(f"  2 servers: {m2:8.0f} tasks/s   runs {[round(r) for r in two]}")
            print(f"  ratio 2/1: {m2 / m1:.2f}")
        if "polls" in only:
            idle, held, rss, woken, wake = polls(tmp / "polls", args.polls)
            print(f"long polls: {held} of {args.polls} concurrent pops parked on one server "
                  f"(RSS {idle:.0f} MiB idle, {rss:.0f} MiB holding them, "
                  f"{(rss - idle) * 1024 / max(held, 1):.1f} KiB each)")
            print(f"  work forked on the other server woke {woken} of them in {wake:.2f} s "
                  f"({woken / wake:.0f} tasks/s handed out)")
    if "firstnode" in only:
        from twisted.internet import reactor

        for interval, samples in first_node(reactor, [(1.0, 10), (5.0, 5)]).items():
            print(f"submission -> first extra node (dummy driver), decision interval "
                  f"{interval:g} s: median {statistics.median(samples) * 1000:.0f} ms, "
                  f"min {min(samples) * 1000:.0f} ms, max {max(samples) * 1000:.0f} ms "
                  f"over {len(samples)} jobs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
