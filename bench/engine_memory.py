"""Memory per queued tiny task: Python heap bytes (tracemalloc) and
resident-set growth of the memory store, and Redis ``used_memory`` growth
of the Redis store, for ``--tasks`` queued tasks (entry "main", an 8-byte
input). Also the per-task cost once the tasks are done (results kept,
inputs dropped).

    /work/venv/bin/python bench/engine_memory.py [--tasks 200000]
"""

import argparse
import gc
import resource
import sys
import tempfile
import tracemalloc
from pathlib import Path

from twisted.internet import defer, task

sys.path.insert(0, str(Path(__file__).resolve().parent))
from engine_cost_growth import fill, redis_command, spawn_redis  # noqa: E402


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def result_of(d):
    out = []
    d.addBoth(out.append)
    return out[0]


def redis_used_memory(port):
    for line in redis_command(port, "INFO", "memory").split(b"\r\n"):
        if line.startswith(b"used_memory:"):
            return int(line.split(b":")[1])
    raise RuntimeError("no used_memory in INFO")


async def drain(store, n):
    done = 0
    while done < n:
        tasks = await store.pop("bench", now=1.0, max=256)
        await defer.gatherResults([
            store.ack(t.job_id, t.slot, t.lease_id, now=1.0, result=b"%08d" % t.slot)
            for t in tasks])
        done += len(tasks)


def memory_store(n):
    from naclgrid.stores.memory import MemoryGridStore
    # Pass 1, resident set only (tracemalloc would inflate it).
    gc.collect()
    rss0 = rss_bytes()
    store = MemoryGridStore()
    result_of(defer.ensureDeferred(fill(store, n)))
    gc.collect()
    rss = rss_bytes() - rss0
    del store
    gc.collect()
    # Pass 2, Python heap bytes.
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    store = MemoryGridStore()
    result_of(defer.ensureDeferred(fill(store, n)))
    gc.collect()
    queued = tracemalloc.get_traced_memory()[0] - before
    result_of(defer.ensureDeferred(drain(store, n)))
    result_of(store.requeue_expired(now=1e9, limit=10 * n))   # drop acked leases' heap entries
    gc.collect()
    finished = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    print(f"memory store, {n:,} tasks:")
    print(f"  queued: {queued / n:7.1f} B/task Python heap (tracemalloc), "
          f"{rss / n:7.1f} B/task resident set growth")
    print(f"  done (8-byte results kept, inputs dropped): {finished / n:7.1f} B/task")


async def redis_store(reactor, n):
    from gridhost.core.stores import StoreConnection
    from naclgrid.stores.redis import RedisGridStore
    with tempfile.TemporaryDirectory() as tmp:
        proc, port = spawn_redis(Path(tmp))
        connection = StoreConnection.from_setting(f"redis://127.0.0.1:{port}/0", reactor)
        try:
            store = RedisGridStore(connection)
            base = redis_used_memory(port)
            await fill(store, n)
            queued = redis_used_memory(port) - base
            await drain(store, n)
            finished = redis_used_memory(port) - base
            print(f"redis store, {n:,} tasks:")
            print(f"  queued: {queued / n:7.1f} B/task of Redis used_memory")
            print(f"  done (8-byte results kept, inputs dropped): {finished / n:7.1f} B/task")
        finally:
            await connection.close()
            proc.kill()
            proc.wait()


def run_main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=200_000)
    args = parser.parse_args()
    memory_store(args.tasks)
    task.react(lambda reactor: defer.ensureDeferred(redis_store(reactor, args.tasks)))


if __name__ == "__main__":
    run_main()
