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


def summarize(name, values):
    """Median of the runs (and all runs) for a workload's figure."""
    return {"median": statistics.median(values), "runs": values}
