"""Ray (local, ``num_cpus=2``) for bench/grid_vs_peers.py; prints one JSON line."""

import json
import os
import sys

# Run as a script from anywhere: the package "peers" lives beside this file.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from peers.common import measure, peer_args, spin_python


def main():
    args, workloads, sizes = peer_args()
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

    tasks = {"noop": noop, "spin": spin}
    try:
        results = measure(args, workloads, sizes,
                          lambda kind, argument, n: ray.get(
                              [tasks[kind].remote(argument) for _ in range(n)]),
                          lambda data: ray.get(noop.remote(data)))
    finally:
        ray.shutdown()
    print(json.dumps(results))


if __name__ == "__main__":
    main()
