"""Fresh wasm instance per task vs one instance reused within a job.

Prints the median per-task time of each strategy for three workloads and the
ratio fresh/reused, all measured in this run. The fresh path is exactly
Sandbox.run; the reused path instantiates once and then, per task, only
refills fuel, resets the epoch deadline, copies the input in and calls the
entry through the same call helpers (the best an agent reusing instances
could do: it skips even the per-task TaskState and result checks).

    python bench/sandbox_instance_reuse.py [--rounds 7] [--tasks 300]
"""

import argparse
import statistics
import time

import wasmtime

from naclgrid.apps import wasm_bytes
from naclgrid.sandbox import Limits, Sandbox
from naclgrid.sandbox import hostcalls, wasmcall
from naclgrid.sandbox.wasmcall import Exports

WORKLOADS = [
    ("echo 16 B", "echo", "echo", b"x" * 16),
    ("echo 256 KiB", "echo", "echo", b"x" * 256 * 1024),
    ("pi 20k samples", "pi", "sample", b"7 20000"),
]


def fresh(sandbox, app, entry, data, limits, tasks):
    for _ in range(tasks):
        sandbox.run(app, entry, data, limits=limits)


def reused(sandbox, app, entry, data, limits, tasks):
    store = wasmtime.Store(sandbox.engine)
    store.set_limits(memory_size=limits.memory_bytes)
    task = hostcalls.TaskState(None, limits, None)
    hostcalls.bind(task)
    try:
        exports = Exports(store, app.pre.instantiate(store))
        memory, alloc, func = exports.memory("memory"), exports.func("ng_alloc"), exports.func(entry)
        task.memory = memory
        ticks = sandbox._watchdog.ticks_for(limits.seconds)
        for _ in range(tasks):
            store.set_fuel(2**63 - 1)
            store.set_epoch_deadline(ticks)
            task.result = b""
            ptr = alloc(len(data))
            wasmcall.write(memory, store, ptr, data)
            if func(ptr, len(data)) != 0:
                raise RuntimeError("entry failed")
            # The input buffer stays allocated: a reused instance leaks it
            # unless the app frees its input, one more thing apps must get right.
    finally:
        hostcalls.bind(None)


def per_task_us(fn, *args, tasks):
    started = time.perf_counter()
    fn(*args, tasks)
    return (time.perf_counter() - started) / tasks * 1e6


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--tasks", type=int, default=300)
    args = parser.parse_args()
    sandbox = Sandbox()
    limits = Limits(memory_bytes=256 * 2**20)
    print(f"{'workload':<16} {'fresh us/task':>14} {'reused us/task':>15} {'fresh/reused':>13}")
    for label, app_name, entry, data in WORKLOADS:
        app = sandbox.load(wasm_bytes(app_name))
        tasks = args.tasks if app_name == "echo" else max(args.tasks // 10, 10)
        fresh_runs, reused_runs = [], []
        for _ in range(args.rounds):
            # Interleaved so drift from other load on the machine hits both.
            fresh_runs.append(per_task_us(fresh, sandbox, app, entry, data, limits, tasks=tasks))
            reused_runs.append(per_task_us(reused, sandbox, app, entry, data, limits, tasks=tasks))
        f, r = statistics.median(fresh_runs), statistics.median(reused_runs)
        print(f"{label:<16} {f:>14.1f} {r:>15.1f} {f / r:>13.2f}")
    sandbox.close()


if __name__ == "__main__":
    main()
