"""What moving a payload costs each process: the payload workload of
bench/grid_vs_peers.py (1,000 tasks of 256 KiB in and 256 KiB out, two
agents), with the CPU seconds, page faults and resident memory that the
server, each agent and the master spent on every job, from /proc.

    python bench/payload_cost.py [--runs 5] [--tasks 1000] [--store memory|redis]

CPU per process is steadier than wall time on a shared machine, and it says
where a change saved: to compare two versions, run this from each checkout
(each with its own venv) one after the other, a few times, and compare the
medians it prints.
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.grid_vs_peers import PAYLOAD_BYTES, Grid  # noqa: E402
from gridhost.testing import RedisServer  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def usage(pid):
    """(CPU seconds, minor page faults, resident MiB) of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    resident = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    return ((int(fields[11]) + int(fields[12])) / TICK, int(fields[7]),
            resident * PAGE / 2**20)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--store", default="memory", choices=("memory", "redis"))
    args = parser.parse_args()

    from naclgrid.client import connect

    folder = Path(tempfile.mkdtemp(prefix="payload-cost-"))
    redis = RedisServer(folder).start() if args.store == "redis" else None
    (folder / "grid").mkdir()
    grid = Grid(folder / "grid", redis.url if redis else "memory")
    processes = {"server": grid.server.pid, "agent 1": grid.agents[0].pid,
                 "agent 2": grid.agents[1].pid, "master": os.getpid()}
    rates, spent = [], {name: [] for name in processes}
    try:
        with connect(grid.url, grid.key, compute=False) as client:
            def job():
                handle = client.new_job("echo", max_attempts=3)
                handle.start()
                return handle

            warm = job()
            warm.fork_many("echo", [b"warm"] * 20)
            warm.gather(timeout=120)
            warm.stop()
            blob = os.urandom(PAYLOAD_BYTES)
            mib = args.tasks * PAYLOAD_BYTES / 2**20
            for run in range(args.runs):
                before = {name: usage(pid) for name, pid in processes.items()}
                handle = job()
                start = time.perf_counter()
                handle.fork_many("echo", [blob] * args.tasks)
                out = handle.gather(timeout=600)
                elapsed = time.perf_counter() - start
                after = {name: usage(pid) for name, pid in processes.items()}
                assert len(out) == args.tasks and all(o == blob for o in out)
                handle.stop()
                del out
                rates.append(mib / elapsed)
                line = [f"run {run + 1}: {rates[-1]:6.1f} MiB/s"]
                for name in processes:
                    cpu = after[name][0] - before[name][0]
                    spent[name].append(cpu)
                    line.append(f"{name} {cpu:.2f} s cpu, {after[name][1] - before[name][1]:>6} "
                                f"faults, {after[name][2]:.0f} MiB")
                print(" | ".join(line), flush=True)
    finally:
        grid.stop()
        if redis:
            redis.kill()
        shutil.rmtree(folder, ignore_errors=True)
    print(f"\nmedians of {args.runs} jobs of {args.tasks} x {PAYLOAD_BYTES // 1024} KiB "
          f"({args.store} store): {statistics.median(rates):.1f} MiB/s; CPU seconds per job: "
          + ", ".join(f"{name} {statistics.median(v):.2f}" for name, v in spent.items()))


if __name__ == "__main__":
    main()
