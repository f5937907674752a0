"""Cost growth of the grid engine's hot path: the time of one pop + ack
with 1,000, 100,000 and 1,000,000 tasks queued, on the memory store and on
a real redis-server (spawned here on a free port). Prints medians of
several runs and the ratio of the largest to the smallest queue (the target
is at most 1.3: no operation on the hot path may scan the queue).

    /work/venv/bin/python bench/engine_cost_growth.py [--sizes 1000,100000,1000000]
        [--ops 2000] [--runs 5] [--stores memory,redis]
"""

import argparse
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from twisted.internet import defer, task


def spawn_redis(directory, appendonly=False):
    """Start a throwaway redis-server; returns (process, port)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [shutil.which("redis-server") or "redis-server", "--port", str(port),
         "--bind", "127.0.0.1", "--save", "", "--dir", str(directory),
         "--appendonly", "yes" if appendonly else "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("redis-server did not start")


def redis_command(port, *words):
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(b"*%d\r\n" % len(words) + b"".join(
            b"$%d\r\n%s\r\n" % (len(w), w) for w in (x.encode() for x in words)))
        return s.recv(1 << 16)


async def fill(store, n, batch=10_000):
    """A running job with ``n`` tiny queued tasks."""
    job = await store.create_job("bench", "app", now=0.0)
    for start in range(0, n, batch):
        await store.fork(job.job_id, [("main", b"%08d" % i)
                                      for i in range(start, min(start + batch, n))], now=0.0)
    await store.start_job(job.job_id, b"", now=0.0)
    return job.job_id


async def pop_ack_seconds(store, ops, now):
    """Mean seconds of one pop(max=1) + ack over ``ops`` rounds."""
    t0 = time.perf_counter()
    for _ in range(ops):
        [t] = await store.pop("bench-node", now=now)
        await store.ack(t.job_id, t.slot, t.lease_id, now=now, result=b"r")
    return (time.perf_counter() - t0) / ops


async def batched_tasks_per_second(store, n):
    """Throughput with batches: pop(max=256) + one ack_many per batch."""
    t0, done = time.perf_counter(), 0
    while done < n:
        tasks = await store.pop("bench-node", now=1.0, max=256)
        await store.ack_many([(t.job_id, t.slot, t.lease_id, b"r", None) for t in tasks], now=1.0)
        done += len(tasks)
    return done / (time.perf_counter() - t0)


async def measure(make_store, sizes, ops, runs):
    """All queues are filled first, then sampled round-robin (one run of
    each size in turn), so drift on a shared machine hits every size alike."""
    stores = {}
    for n in sizes:
        stores[n] = await make_store(n)
        await fill(stores[n], n + ops * (runs + 3))
    samples = {n: [] for n in sizes}
    for n in sizes:
        await pop_ack_seconds(stores[n], ops, now=1.0)      # warm-up
    for _ in range(runs):
        for n in sizes:
            samples[n].append(await pop_ack_seconds(stores[n], ops, now=1.0))
    batched = await batched_tasks_per_second(stores[min(sizes)], ops * 2)
    for store in stores.values():
        await store.close()
    return {n: statistics.median(v) for n, v in samples.items()}, batched


def report(name, measured):
    rows, batched = measured
    base = rows[min(rows)]
    print(f"\n{name}: pop+ack, median of runs")
    for n, seconds in rows.items():
        print(f"  {n:>9,} queued: {seconds * 1e6:8.1f} us/op  ({1 / seconds:8.0f} ops/s)"
              f"  x{seconds / base:.2f}")
    print(f"  ratio largest/smallest: {rows[max(rows)] / base:.2f} (target <= 1.3)")
    print(f"  batched (pop max=256 + ack_many): {batched:,.0f} tasks/s")


async def main(reactor, args):
    sizes = [int(s) for s in args.sizes.split(",")]
    stores = args.stores.split(",")
    if "memory" in stores:
        from naclgrid.stores.memory import MemoryGridStore

        async def memory(n):
            return MemoryGridStore()
        report("memory store", await measure(memory, sizes, args.ops, args.runs))
    if "redis" in stores:
        from gridhost.core.stores import StoreConnection
        from naclgrid.stores.redis import RedisGridStore
        with tempfile.TemporaryDirectory() as tmp:
            proc, port = spawn_redis(Path(tmp))
            connection = StoreConnection.from_setting(f"redis://127.0.0.1:{port}/0", reactor)
            try:
                async def redis(n):
                    return RedisGridStore(connection, namespace=f"bench{n}:")
                report("redis store (loopback, one connection pool)",
                       await measure(redis, sizes, args.ops, args.runs))
            finally:
                await connection.close()
                proc.kill()
                proc.wait()


def run_main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,100000,1000000")
    parser.add_argument("--ops", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--stores", default="memory,redis")
    args = parser.parse_args()
    task.react(lambda reactor: defer.ensureDeferred(main(reactor, args)))


if __name__ == "__main__":
    run_main()
