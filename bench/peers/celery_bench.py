"""Celery (Redis broker and backend) for bench/grid_vs_peers.py; prints one JSON line.

Runs in the bench venv with ``bench/`` as its working directory; starts two
``--pool solo`` workers (one task at a time each, like two agents with one
slot) and stops them at the end.
"""

import json
import os
import subprocess
import sys
import time

# Run as a script from anywhere: the package "peers" lives beside this file.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from peers.common import measure, peer_args


def main():
    args, workloads, sizes = peer_args()
    os.environ["BENCH_REDIS"] = args.redis_url
    from celery import group

    from peers.celery_app import app, noop, spin

    celery = os.path.join(os.path.dirname(sys.executable), "celery")
    workers = [subprocess.Popen(
        [celery, "-A", "peers.celery_app", "worker", "--pool", "solo", "-n", f"w{i}@%h",
         "--without-gossip", "--without-mingle", "--loglevel", "WARNING"],
        # Pickle carries the binary payloads; the bench runs as root in CI.
        env={**os.environ, "C_FORCE_ROOT": "1", "PYTHONPATH": os.path.dirname(os.path.dirname(os.path.abspath(__file__)))},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for i in range(2)]
    tasks = {"noop": noop, "spin": spin}
    try:
        deadline = time.monotonic() + 120
        while len(app.control.ping(timeout=0.5) or []) < 2:
            if time.monotonic() > deadline:
                raise RuntimeError("celery workers did not start")

        def run_batch(kind, argument, n):
            return group(tasks[kind].s(argument) for _ in range(n)).apply_async().get(timeout=3600)

        results = measure(args, workloads, sizes, run_batch,
                          lambda data: noop.delay(data).get(timeout=60))
    finally:
        for worker in workers:
            worker.kill()
            worker.wait(10)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
