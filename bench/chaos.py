"""Chaos run: a job of 2,000 tasks on two gridhost servers and three agents
sharing one redis-server with ``appendonly yes``, while every few seconds a
random agent or one of the servers is SIGKILLed and restarted.

Prints how many kills the run survived, and checks that the results equal a
fault-free run of the same tasks, that no task was lost, and that no slot had
a second result accepted (counted from the store's own result events).

    python bench/chaos.py [--tasks 2000] [--every 2 5] [--count 3000000] [--seed 7]

Exits 1 if any check fails. The short version runs in the test suite
(tests/naclgrid/test_chaos.py).
"""

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.naclgrid.chaos_support import run_chaos  # noqa: E402
from gridhost.testing import RedisServer  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--every", type=float, nargs=2, default=(2.0, 5.0),
                        metavar=("MIN", "MAX"), help="seconds between kills")
    parser.add_argument("--count", type=int, default=3_000_000,
                        help="Monte-Carlo samples per pi task (~5 ns each)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="gridhost-chaos-") as folder:
        folder = Path(folder)
        (folder / "redis").mkdir()
        redis = RedisServer(folder / "redis", appendonly=True).start()
        try:
            report = run_chaos(folder, redis, args.tasks, every=tuple(args.every),
                               seed=args.seed, count=args.count, timeout=args.timeout)
        finally:
            redis.kill()
    ok = (report.results_equal and report.counts.get("done") == args.tasks
          and report.counts.get("failed") == 0
          and report.accepted_per_slot == {s: 1 for s in range(args.tasks)})
    kinds = {}
    for _, victim in report.kills:
        kinds[victim] = kinds.get(victim, 0) + 1
    print(f"kills survived: {report.survived} "
          f"({', '.join(f'{k} x{v}' for k, v in sorted(kinds.items()))})")
    print(f"tasks: {args.tasks}, fault-free {report.reference_seconds:.1f} s, "
          f"under chaos {report.chaos_seconds:.1f} s "
          f"({report.chaos_seconds / max(report.reference_seconds, 1e-9):.2f}x)")
    print("verdict: " + ("OK: results equal, nothing lost, each slot accepted once"
                         if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
