"""What does fuel metering cost? CPU-bound tasks with and without it.

Prints the median task time of pi (2M samples) and spin (50 ms) with a fuel
budget (the sandbox's fuel-metering engine) and without one (epoch deadline
only), and the ratio, in this run.

    python bench/sandbox_fuel.py [--rounds 7]
"""

import argparse
import statistics
import time

from naclgrid.apps import wasm_bytes
from naclgrid.sandbox import Limits, Sandbox

WORKLOADS = [("pi 2M samples", "pi", "sample", b"3 2000000"),
             ("spin 50 ms", "echo", "spin", b"50")]


def timed(sandbox, app, entry, data, limits):
    started = time.perf_counter()
    sandbox.run(app, entry, data, limits=limits)
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    box = Sandbox()
    metered, free = Limits(fuel=2**62), Limits()
    print(f"{'workload':<14} {'fuel ms':>9} {'no fuel ms':>11} {'fuel/no fuel':>13}")
    for label, app_name, entry, data in WORKLOADS:
        app = box.load(wasm_bytes(app_name))
        runs = {metered: [], free: []}
        for _ in range(args.rounds):
            for limits in (metered, free):
                runs[limits].append(timed(box, app, entry, data, limits))
        a, b = statistics.median(runs[metered]), statistics.median(runs[free])
        print(f"{label:<14} {a * 1e3:>9.1f} {b * 1e3:>11.1f} {a / b:>13.2f}")
    box.close()


if __name__ == "__main__":
    main()
