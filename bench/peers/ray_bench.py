"""Ray (local, ``num_cpus=2``) for bench/grid_vs_peers.py; prints one JSON line."""

import argparse
import json
import os
import statistics
import sys
import time

# Run as a script from anywhere: the package "peers" lives beside this file.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from peers.common import percentile, spin_python


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--workloads", required=True)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", required=True)
    parser.add_argument("--redis-url", default="")
    parser.add_argument("--spin-ms", type=float, default=10)
    parser.add_argument("--payload-bytes", type=int, default=256 * 1024)
    parser.add_argument("--workdir", default=".")
    args = parser.parse_args()
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             configure_logging=False, _temp_dir=os.path.join(args.workdir, "ray"))

    @ray.remote(num_cpus=1)
    def noop(data):
        return data

    @ray.remote(num_cpus=1)
    def spin(ms):
        spin_python(ms)
        return ms

    workloads, sizes = args.workloads.split(","), json.loads(args.sizes)
    results = {}
    try:
        ray.get([noop.remote(b"warm") for _ in range(20)])

        def timed(submit, n, check=None):
            start = time.perf_counter()
            out = ray.get([submit() for _ in range(n)])
            took = time.perf_counter() - start
            if check:
                check(out)
            return took

        if "throughput" in workloads:
            n = sizes["throughput"]
            results["throughput"] = statistics.median(
                n / timed(lambda: noop.remote(b""), n) for _ in range(args.runs))
        if "latency" in workloads:
            samples = []
            for i in range(sizes["latency"] + 20):
                start = time.perf_counter()
                assert ray.get(noop.remote(b"%d" % i)) == b"%d" % i
                samples.append(time.perf_counter() - start)
            samples = samples[20:]
            results["latency"] = {"p50": percentile(samples, 0.5) * 1000,
                                  "p99": percentile(samples, 0.99) * 1000}
        if "fanout" in workloads:
            n = sizes["fanout"]
            results["fanout"] = statistics.median(
                timed(lambda: spin.remote(args.spin_ms), n) for _ in range(args.runs))
        if "payload" in workloads:
            n, blob = sizes["payload"], os.urandom(args.payload_bytes)

            def check(out):
                assert all(o == blob for o in out)
            results["payload"] = statistics.median(
                n * len(blob) / 2**20 / timed(lambda: noop.remote(blob), n, check)
                for _ in range(args.runs))
    finally:
        ray.shutdown()
    print(json.dumps(results))


if __name__ == "__main__":
    main()
