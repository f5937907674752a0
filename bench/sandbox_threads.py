"""Do sandboxed tasks on Python threads run in parallel?

wasmtime-py calls wasm through ctypes, which releases the GIL, so CPU-bound
tasks on N threads should take ~1/N of the time on N free cores. Prints, for
CPU-bound "spin" tasks and for no-op "echo" tasks, the median wall time of a
batch on 1 thread and on 2 threads, and the speedup, measured in this run.

    python bench/sandbox_threads.py [--rounds 5] [--spin-ms 20] [--tasks 40]
"""

import argparse
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

from naclgrid.apps import wasm_bytes
from naclgrid.sandbox import Sandbox


def batch(sandbox, app, entry, data, tasks, threads):
    """Wall seconds, and process CPU seconds per wall second (above 1.0 only
    if threads really ran at once: robust to other load on the machine)."""
    started, cpu = time.perf_counter(), time.process_time()
    with ThreadPoolExecutor(threads) as pool:
        for result in pool.map(lambda _: sandbox.run(app, entry, data), range(tasks)):
            assert result == data
    wall = time.perf_counter() - started
    return wall, (time.process_time() - cpu) / wall


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--spin-ms", type=int, default=20)
    parser.add_argument("--tasks", type=int, default=40)
    args = parser.parse_args()
    sandbox = Sandbox()
    app = sandbox.load(wasm_bytes("echo"))
    workloads = [(f"spin {args.spin_ms} ms", "spin", str(args.spin_ms).encode(), args.tasks),
                 ("echo (no-op)", "echo", b"x" * 16, args.tasks * 50)]
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start")
    print(f"{'workload':<14} {'tasks':>6} {'1 thread s':>11} {'2 threads s':>12} {'speedup':>8}"
          f" {'cores busy (2 thr)':>19}")
    for label, entry, data, tasks in workloads:
        batch(sandbox, app, entry, data, 4, 2)  # warm up
        one, two = [], []
        for _ in range(args.rounds):
            one.append(batch(sandbox, app, entry, data, tasks, 1))
            two.append(batch(sandbox, app, entry, data, tasks, 2))
        a, b = statistics.median(w for w, _ in one), statistics.median(w for w, _ in two)
        busy = statistics.median(c for _, c in two)
        print(f"{label:<14} {tasks:>6} {a:>11.3f} {b:>12.3f} {a / b:>7.2f}x {busy:>19.2f}")
    sandbox.close()


if __name__ == "__main__":
    main()
