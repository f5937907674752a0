"""1,000 concurrent long-polling agents held by one server.

A real ``twistd -n gridhost`` (memory store by default) and N clients, each
on its own TCP connection, all parked in ``pop`` with ``wait``. The script
checks that the server holds every poll (``/healthz`` counts them), measures
the server's resident memory idle and while holding them, then forks N tasks
and times how long it takes until every poll has returned, checking that
each task went to exactly one client and that no request failed.

    python bench/longpoll_load.py [--clients 1000] [--runs 3] [--store memory|redis]
"""

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from engine_throughput import Client, Server  # noqa: E402
from gridhost.testing import RedisServer  # noqa: E402

MIB = 1024 * 1024


async def health(reactor, server):
    import treq

    response = await treq.get(f"http://127.0.0.1:{server.port}/healthz", reactor=reactor)
    return json.loads(await response.content())


async def sleep(reactor, seconds):
    from twisted.internet.task import deferLater

    await deferLater(reactor, seconds, lambda: None)


async def one_run(reactor, server, submitter, agent_key, clients, wait):
    from twisted.internet.defer import DeferredList, ensureDeferred
    from twisted.web.client import HTTPConnectionPool

    job_id = (await submitter.call("new_job", form={"application": "echo",
                                                    "lease_seconds": "3600"}))["job_id"]
    await submitter.call("start_job", query={"job_id": job_id})
    # One connection per poller: a pool that never reuses them.
    pool = HTTPConnectionPool(reactor, persistent=False)
    agent = Client(reactor, pool, server.api_url, agent_key)
    rss_idle = server.rss()
    started = time.perf_counter()
    polls = [ensureDeferred(agent.call("pop", form={"wait": str(wait), "node": f"poller-{i}",
                                                    "job_id": job_id}))
             for i in range(clients)]
    while (await health(reactor, server))["apps"]["naclgrid"]["long_polls"] < clients:
        if time.perf_counter() - started > wait / 2:
            raise RuntimeError("the server did not park every poll in time")
        await sleep(reactor, 0.1)
    parked = time.perf_counter() - started
    rss_held = server.rss()

    started = time.perf_counter()
    tasks = [{"entry": "echo", "input_b64": ""} for _ in range(clients)]
    await submitter.call("fork_many", query={"job_id": job_id}, body={"tasks": tasks})
    outcomes = await DeferredList(polls, consumeErrors=True)
    woken = time.perf_counter() - started
    errors = [result for ok, result in outcomes if not ok]
    slots = [t["slot"] for ok, result in outcomes if ok for t in result["tasks"]]
    if errors:
        raise RuntimeError(f"{len(errors)} polls failed, e.g. {errors[0].getErrorMessage()}")
    if sorted(slots) != list(range(clients)):
        raise RuntimeError(f"{len(slots)} tasks delivered ({len(set(slots))} distinct) to {clients} polls")
    await submitter.call("stop_job", query={"job_id": job_id})
    return {"parked": parked, "woken": woken, "rss_idle": rss_idle, "rss_held": rss_held,
            "per_poll": (rss_held - rss_idle) / clients}


async def fresh_server_run(reactor, args):
    """One run on a fresh server, so its idle memory is a clean baseline."""
    from twisted.web.client import HTTPConnectionPool

    folder = Path(tempfile.mkdtemp(prefix="bench-longpoll-"))
    redis = RedisServer(folder).start() if args.store == "redis" else None
    server = Server(folder, redis.url if redis else "memory")
    pool = HTTPConnectionPool(reactor, persistent=True)
    try:
        submitter = Client(reactor, pool, server.api_url, server.create_key("submitter", "bench"))
        agent_key = server.create_key("agent", "pollers")
        result = await one_run(reactor, server, submitter, agent_key, args.clients, args.wait)
        await pool.closeCachedConnections()
        return result
    except Exception:
        print("server log (tail):\n" + server.log_tail(60), file=sys.stderr)
        raise
    finally:
        server.stop()
        if redis:
            redis.kill()
        shutil.rmtree(folder, ignore_errors=True)


async def main(reactor, args):
    print(f"{args.clients:,} long polls (wait {args.wait:g} s) on one server, {args.store} store",
          flush=True)
    runs = []
    for run in range(args.runs):
        r = await fresh_server_run(reactor, args)
        print(f"  run {run + 1}: all parked after {r['parked']:.2f} s, server RSS "
              f"{r['rss_idle'] / MIB:.1f} MiB idle -> {r['rss_held'] / MIB:.1f} MiB holding "
              f"them; {args.clients:,} tasks forked -> every poll answered in "
              f"{r['woken'] * 1000:.0f} ms, 0 errors", flush=True)
        runs.append(r)
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    print()
    print(f"median of {args.runs} runs (a fresh server each), {args.clients:,} concurrent long polls, "
          f"{args.store} store")
    print(f"  server RSS idle (baseline)   {med['rss_idle'] / MIB:8.1f} MiB")
    print(f"  server RSS holding the polls {med['rss_held'] / MIB:8.1f} MiB "
          f"({med['rss_held'] / med['rss_idle']:.2f}x baseline)")
    print(f"  cost per held poll           {med['per_poll'] / 1024:8.1f} KiB")
    print(f"  time to park them all        {med['parked']:8.2f} s")
    print(f"  fork -> every poll answered  {med['woken'] * 1000:8.0f} ms")
    print("  errors                              0")


def parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--wait", type=float, default=60.0)
    parser.add_argument("--store", choices=("memory", "redis"), default="memory")
    return parser.parse_args(argv)


if __name__ == "__main__":
    from twisted.internet.defer import ensureDeferred
    from twisted.internet.task import react

    arguments = parse(sys.argv[1:])
    react(lambda reactor: ensureDeferred(main(reactor, arguments)))
