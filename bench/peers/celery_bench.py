"""Celery (Redis broker and backend) for bench/grid_vs_peers.py; prints one JSON line.

Runs in the bench venv with ``bench/`` as its working directory; starts two
``--pool solo`` workers (one task at a time each, like two agents with one
slot) and stops them at the end.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

# Run as a script from anywhere: the package "peers" lives beside this file.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from peers.common import percentile


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--workloads", required=True)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--spin-ms", type=float, default=10)
    parser.add_argument("--payload-bytes", type=int, default=256 * 1024)
    parser.add_argument("--workdir", default=".")
    args = parser.parse_args()
    os.environ["BENCH_REDIS"] = args.redis_url
    from celery import group

    from peers.celery_app import app, noop, spin

    workloads, sizes = args.workloads.split(","), json.loads(args.sizes)
    celery = os.path.join(os.path.dirname(sys.executable), "celery")
    workers = [subprocess.Popen(
        [celery, "-A", "peers.celery_app", "worker", "--pool", "solo", "-n", f"w{i}@%h",
         "--without-gossip", "--without-mingle", "--loglevel", "WARNING"],
        # Pickle carries the binary payloads; the bench runs as root in CI.
        env={**os.environ, "C_FORCE_ROOT": "1", "PYTHONPATH": os.path.dirname(os.path.dirname(os.path.abspath(__file__)))},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for i in range(2)]
    results = {}
    try:
        deadline = time.monotonic() + 120
        while len(app.control.ping(timeout=0.5) or []) < 2:
            if time.monotonic() > deadline:
                raise RuntimeError("celery workers did not start")
        group(noop.s(b"warm") for _ in range(20)).apply_async().get(timeout=120)

        def timed(signatures, check=None):
            start = time.perf_counter()
            out = group(signatures).apply_async().get(timeout=3600)
            took = time.perf_counter() - start
            if check:
                check(out)
            return took

        if "throughput" in workloads:
            n = sizes["throughput"]
            results["throughput"] = statistics.median(
                n / timed([noop.s(b"") for _ in range(n)]) for _ in range(args.runs))
        if "latency" in workloads:
            samples = []
            for i in range(sizes["latency"] + 20):
                start = time.perf_counter()
                assert noop.delay(b"%d" % i).get(timeout=60) == b"%d" % i
                samples.append(time.perf_counter() - start)
            samples = samples[20:]
            results["latency"] = {"p50": percentile(samples, 0.5) * 1000,
                                  "p99": percentile(samples, 0.99) * 1000}
        if "fanout" in workloads:
            n = sizes["fanout"]
            results["fanout"] = statistics.median(
                timed([spin.s(args.spin_ms) for _ in range(n)]) for _ in range(args.runs))
        if "payload" in workloads:
            n, blob = sizes["payload"], os.urandom(args.payload_bytes)

            def check(out):
                assert all(o == blob for o in out)
            results["payload"] = statistics.median(
                n * len(blob) / 2**20 / timed([noop.s(blob) for _ in range(n)], check)
                for _ in range(args.runs))
    finally:
        for worker in workers:
            worker.kill()
            worker.wait(10)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
