"""Server CPU per cheap authenticated naclgrid call, by ``[server] access_log``.

One ``twistd -n gridhost`` per variant (memory store, naclgrid only, local
pool off), all started up front and measured in interleaved rounds so that a
busy neighbour hurts every variant alike. Each round sends N sequential
``GET /naclgrid/job?job_id=...`` calls (admin bearer key) on one keep-alive
http.client connection and reads the server's utime+stime from
/proc/PID/stat before and after. Printed: the median server CPU per request
over the rounds, the client's wall time per request, and each variant's
ratio against the old behaviour (``access_log = "-"``: lines through the
twistd log) measured in the same run.

``--baseline-tree DIR`` adds a server run from another checkout (for
instance ``git archive <commit> | tar -x -C DIR``), with its own default
access log, to compare code before and after a change in one run.

    flock /tmp/gridhost-bench.lock python bench/host_request_cost.py
"""

import argparse
import http.client
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from gridhost.testing import GridhostProcess

CONFIG = """
[server]
listen = ["tcp:0:interface=127.0.0.1"]
data_dir = "{data}"
{access_log}
[app.naclgrid]
pool = {{enabled = false}}

[[host]]
names = ["*"]
[[host.site]]
path = "/naclgrid"
app = "naclgrid"
"""

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


class Variant:
    def __init__(self, name, root, access_log=None, tree=None):
        self.name, self.tree = name, tree
        data = root / name.replace(" ", "-") / "data"
        data.parent.mkdir(parents=True)
        config = data.parent / "gridhost.toml"
        setting = "" if access_log is None else f"access_log = {json.dumps(access_log)}"
        config.write_text(CONFIG.format(data=data, access_log=setting))
        env = {"PYTHONPATH": f"{tree}:{tree}/plugins"} if tree else None
        self.server = GridhostProcess(config, data, env=env, name="twistd")
        self.data = data
        self.cpu, self.wall = [], []

    def start(self):
        self.server.start(ready=True)
        self.key = (self.data / "admin.key").read_text().strip()
        self.conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
        status, body = self.call("POST", "/naclgrid/new_job", b"application=echo")
        assert status == 200, body
        self.job_id = json.loads(body)["job_id"]
        self.path = f"/naclgrid/job?job_id={self.job_id}"

    def call(self, method, path, body=None):
        headers = {"Authorization": f"Bearer {self.key}"}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        return response.status, response.read()

    def round(self, requests):
        pid = self.server.proc.pid
        before, started = cpu_seconds(pid), time.perf_counter()
        for _ in range(requests):
            status, body = self.call("GET", self.path)
            if status != 200:
                raise AssertionError(f"{self.name}: {status} {body[:200]!r}")
        self.wall.append((time.perf_counter() - started) / requests)
        self.cpu.append((cpu_seconds(pid) - before) / requests)

    def stop(self):
        self.conn.close()
        self.server.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000, help="calls per round (default 3000)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per variant (default 5)")
    parser.add_argument("--tree", help="run the servers from this checkout (default: the installed code)")
    parser.add_argument("--baseline-tree", help="also run a server from this checkout")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="host-request-cost-") as tmp:
        root = Path(tmp)
        tree = args.tree and os.path.abspath(args.tree)
        variants = [Variant("twistd log (-, old)", root, "-", tree),
                    Variant("file (default)", root, None, tree),
                    Variant("off", root, "off", tree)]
        if args.baseline_tree:
            variants.append(Variant("baseline tree", root, tree=os.path.abspath(args.baseline_tree)))
        try:
            for v in variants:
                v.start()
                v.round(300)  # warm up: imports, caches, the first key load
                v.cpu.clear(), v.wall.clear()
            for _ in range(args.rounds):
                for v in random.sample(variants, len(variants)):
                    v.round(args.requests)
        finally:
            for v in variants:
                v.stop()

    old = statistics.median(variants[0].cpu)
    print(f"server CPU per GET /naclgrid/job (admin bearer key), {args.requests} keep-alive calls "
          f"x {args.rounds} rounds, medians; CPU clock tick {1000 / TICK:.0f} ms")
    print(f"{'access_log':<22}{'server CPU/req':>16}{'wall/req':>12}{'CPU vs old':>12}   rounds (us)")
    for v in variants:
        cpu = statistics.median(v.cpu)
        rounds = " ".join(f"{c * 1e6:.0f}" for c in v.cpu)
        print(f"{v.name:<22}{cpu * 1e6:>13.0f} us{statistics.median(v.wall) * 1e6:>9.0f} us"
              f"{cpu / old:>12.2f}   {rounds}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
