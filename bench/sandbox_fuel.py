"""What does fuel metering cost? CPU-bound tasks with and without it.

Prints the median task time of pi (2M samples) and spin (50 ms) on a Sandbox
with consume_fuel on and one with it off, and the ratio, in this run.

    python bench/sandbox_fuel.py [--rounds 7]
"""

import argparse
import statistics
import time

from naclgrid.apps import wasm_bytes
from naclgrid.sandbox import EngineConfig, Sandbox

WORKLOADS = [("pi 2M samples", "pi", "sample", b"3 2000000"),
             ("spin 50 ms", "echo", "spin", b"50")]


def timed(sandbox, app, entry, data):
    started = time.perf_counter()
    sandbox.run(app, entry, data)
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    metered, free = Sandbox(EngineConfig(consume_fuel=True)), Sandbox(EngineConfig(consume_fuel=False))
    print(f"{'workload':<14} {'fuel ms':>9} {'no fuel ms':>11} {'fuel/no fuel':>13}")
    for label, app_name, entry, data in WORKLOADS:
        apps = {box: box.load(wasm_bytes(app_name)) for box in (metered, free)}
        runs = {metered: [], free: []}
        for _ in range(args.rounds):
            for box in (metered, free):
                runs[box].append(timed(box, apps[box], entry, data))
        a, b = statistics.median(runs[metered]), statistics.median(runs[free])
        print(f"{label:<14} {a * 1e3:>9.1f} {b * 1e3:>11.1f} {a / b:>13.2f}")
    metered.close()
    free.close()


if __name__ == "__main__":
    main()
