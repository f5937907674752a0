"""Workload definitions shared by every system in bench/grid_vs_peers.py.

Imported by the project side and by the peer scripts (which run in the
separate bench venv), so it depends on the standard library only.
"""

import statistics
import time

WORKLOADS = ("throughput", "latency", "fanout", "payload")


def spin_python(ms):
    """Burn ``ms`` milliseconds of this thread's CPU (the peers' 10 ms task)."""
    end = time.thread_time() + ms / 1000.0
    x = 0
    while time.thread_time() < end:
        for _ in range(200):
            x += 1
    return x


def percentile(samples, fraction):
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def peer_args():
    """The command line bench/grid_vs_peers.py gives every peer script:
    ``(args, workloads, sizes)``."""
    import argparse
    import json

    parser = argparse.ArgumentParser()
    parser.add_argument("--workloads", required=True)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", required=True)
    parser.add_argument("--redis-url", default="")
    parser.add_argument("--spin-ms", type=float, default=10)
    parser.add_argument("--payload-bytes", type=int, default=256 * 1024)
    parser.add_argument("--workdir", default=".")
    args = parser.parse_args()
    return args, args.workloads.split(","), json.loads(args.sizes)


def measure(args, workloads, sizes, run_batch, call):
    """The four workloads, timed alike for every peer. ``run_batch(kind,
    argument, n)`` submits ``n`` tasks (``kind`` "noop" echoes its bytes,
    "spin" burns ``argument`` ms) and returns their results once all are
    in; ``call(data)`` is one "noop" round trip. Returns the figures."""
    import os

    def timed(kind, argument, n, check=None):
        start = time.perf_counter()
        out = run_batch(kind, argument, n)
        took = time.perf_counter() - start
        if check:
            check(out)
        return took

    run_batch("noop", b"warm", 20)
    results = {}
    if "throughput" in workloads:
        n = sizes["throughput"]
        results["throughput"] = statistics.median(
            n / timed("noop", b"", n) for _ in range(args.runs))
    if "latency" in workloads:
        samples = []
        for i in range(sizes["latency"] + 20):
            start = time.perf_counter()
            assert call(b"%d" % i) == b"%d" % i
            samples.append(time.perf_counter() - start)
        samples = samples[20:]
        results["latency"] = {"p50": percentile(samples, 0.5) * 1000,
                              "p99": percentile(samples, 0.99) * 1000}
    if "fanout" in workloads:
        n = sizes["fanout"]
        results["fanout"] = statistics.median(
            timed("spin", args.spin_ms, n) for _ in range(args.runs))
    if "payload" in workloads:
        n, blob = sizes["payload"], os.urandom(args.payload_bytes)

        def check(out):
            assert all(o == blob for o in out)
        results["payload"] = statistics.median(
            n * len(blob) / 2**20 / timed("noop", blob, n, check) for _ in range(args.runs))
    return results
