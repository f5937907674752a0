"""Engine throughput over HTTP on loopback, for the memory store and Redis.

A real ``twistd -n gridhost`` server (its own process) and this client,
talking the wire protocol: fork N tiny tasks with ``fork_many`` (batches of
10,000), pop them in batches (``max`` = 256, several poppers at once), ack
each batch with ``ack_many``, then read every result with ``fetch_many``.
Each phase is timed; the median of several runs is printed, with Redis as a
ratio of memory measured in the same run.

    python bench/engine_throughput.py [--tasks 100000] [--runs 3] [--stores memory,redis]
"""

import argparse
import base64
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from gridhost.testing import GridhostProcess, RedisServer

ROOT = Path(__file__).resolve().parent.parent
PHASES = ("fork", "pop+ack", "fetch")


class Server(GridhostProcess):
    """``twistd -n gridhost`` serving naclgrid at /naclgrid on a free port."""

    def __init__(self, folder, store="memory", options=""):
        folder = Path(folder)
        super().__init__(folder / "gridhost.toml", folder / "data", cwd=str(ROOT),
                         env={"PYTHONPATH": str(ROOT)})
        self.config_path.write_text(
            # A deep accept queue: the load test opens 1,000 connections at once.
            f'[server]\nlisten = ["tcp:0:interface=127.0.0.1:backlog=1024"]\nstore = "{store}"\n'
            f'data_dir = "{self.data_dir}"\n\n[app.naclgrid]\n{options}\n'
            '[[host]]\nnames = ["*"]\n[[host.site]]\npath = "/naclgrid"\napp = "naclgrid"\n')
        self.start(ready=True)
        self.api_url = f"{self.url}/naclgrid"

    def rss(self):
        """Resident memory of the server process, in bytes."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")


class Client:
    """A treq client bound to one key."""

    def __init__(self, reactor, pool, base, key):
        self.reactor, self.pool, self.base, self.key = reactor, pool, base, key

    async def call(self, endpoint, query=None, form=None, body=None, method="POST"):
        import treq

        headers = {"Authorization": f"Bearer {self.key}"}
        kwargs = {}
        if body is not None:
            kwargs["data"] = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        elif form is not None:
            kwargs["data"] = form
        response = await treq.request(method, f"{self.base}/{endpoint}", params=query or {},
                                      headers=headers, pool=self.pool, reactor=self.reactor,
                                      **kwargs)
        content = await response.content()
        if response.code != 200:
            raise RuntimeError(f"{endpoint}: {response.code} {content[:300]!r}")
        return json.loads(content)


async def one_run(reactor, submitter, agent, tasks, poppers):
    from twisted.internet.defer import gatherResults, ensureDeferred

    job_id = (await submitter.call("new_job", form={"application": "echo",
                                                    "lease_seconds": "3600"}))["job_id"]
    await submitter.call("start_job", query={"job_id": job_id})
    times = {}

    start = time.perf_counter()
    for first in range(0, tasks, 10_000):
        batch = [{"entry": "echo", "input_b64": base64.b64encode(b"%d" % slot).decode()}
                 for slot in range(first, min(tasks, first + 10_000))]
        await submitter.call("fork_many", query={"job_id": job_id}, body={"tasks": batch})
    times["fork"] = time.perf_counter() - start

    done = []

    async def popper(name):
        while True:
            popped = (await agent.call("pop", form={"max": "256", "node": name,
                                                    "job_id": job_id}))["tasks"]
            if not popped:
                return
            acks = [{"job_id": t["job_id"], "slot": t["slot"], "lease_id": t["lease_id"],
                     "result_b64": t["input_b64"]} for t in popped]
            results = (await agent.call("ack_many", body={"acks": acks}))["results"]
            if any(not r["ok"] for r in results):
                raise RuntimeError(f"ack failed: {results[:3]}")
            done.extend(t["slot"] for t in popped)

    start = time.perf_counter()
    await gatherResults([ensureDeferred(popper(f"bench-{i}")) for i in range(poppers)])
    times["pop+ack"] = time.perf_counter() - start
    if sorted(done) != list(range(tasks)):
        raise RuntimeError(f"popped {len(done)} tasks, {len(set(done))} distinct, of {tasks}")

    start = time.perf_counter()
    for first in range(0, tasks, 10_000):
        slots = list(range(first, min(tasks, first + 10_000)))
        results = (await submitter.call("fetch_many", query={"job_id": job_id},
                                        body={"slots": slots}))["results"]
        for slot, result in zip(slots, results):
            if result["state"] != "done" or base64.b64decode(result["result_b64"]) != b"%d" % slot:
                raise RuntimeError(f"slot {slot}: {result}")
    times["fetch"] = time.perf_counter() - start
    await submitter.call("stop_job", query={"job_id": job_id})
    return times


async def bench_store(reactor, server, tasks, runs, poppers):
    from twisted.web.client import HTTPConnectionPool

    pool = HTTPConnectionPool(reactor, persistent=True)
    pool.maxPersistentPerHost = poppers + 2
    submitter = Client(reactor, pool, server.api_url, server.create_key("submitter", "bench"))
    agent = Client(reactor, pool, server.api_url, server.create_key("agent", "bench-agent"))
    runs_times = []
    for run in range(runs):
        times = await one_run(reactor, submitter, agent, tasks, poppers)
        total = sum(times.values())
        print(f"  run {run + 1}: " + ", ".join(f"{p} {times[p]:.2f} s" for p in PHASES)
              + f"; {tasks / total:,.0f} tasks/s end to end", flush=True)
        runs_times.append(times)
    await pool.closeCachedConnections()
    return {p: statistics.median(t[p] for t in runs_times) for p in PHASES} | {
        "total": statistics.median(sum(t.values()) for t in runs_times)}


async def main(reactor, args):
    results = {}
    for store in args.stores:
        folder = Path(tempfile.mkdtemp(prefix=f"bench-{store}-"))
        redis = RedisServer(Path(folder)).start() if store == "redis" else None
        server = Server(folder, redis.url if redis else "memory")
        try:
            print(f"{store}: {args.tasks:,} tasks x {args.runs} runs, {args.poppers} poppers", flush=True)
            results[store] = await bench_store(reactor, server, args.tasks, args.runs, args.poppers)
        finally:
            server.stop()
            if redis:
                redis.kill()
            shutil.rmtree(folder, ignore_errors=True)
    print()
    print(f"median of {args.runs} runs, {args.tasks:,} tiny tasks, over HTTP on loopback (tasks/s)")
    print(f"{'store':<8}" + "".join(f"{p:>12}" for p in PHASES) + f"{'end to end':>14}")
    for store, r in results.items():
        print(f"{store:<8}" + "".join(f"{args.tasks / r[p]:>12,.0f}" for p in PHASES)
              + f"{args.tasks / r['total']:>14,.0f}")
    if "memory" in results and "redis" in results:
        ratio = results["memory"]["total"] / results["redis"]["total"]
        print(f"redis / memory end-to-end throughput ratio: {ratio:.2f}")


def parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--poppers", type=int, default=4)
    parser.add_argument("--stores", type=lambda s: s.split(","), default=["memory", "redis"])
    return parser.parse_args(argv)


if __name__ == "__main__":
    from twisted.internet.defer import ensureDeferred
    from twisted.internet.task import react

    arguments = parse(sys.argv[1:])
    react(lambda reactor: ensureDeferred(main(reactor, arguments)))
