"""Server CPU of one task's round trip over the agent channel, in-process.

The latency workload of grid_vs_peers.py (a master's ``fork`` that waits for
the result, an idle agent) costs the server two calls: the master's fork,
which wakes the agent's parked pop, and the agent's next pop carrying the
result, which wakes the fork. Here both clients are channel connections on
in-memory transports and time is a ``Clock``: no sockets, no scheduler, no
other process, so the number is the server's own Python and repeatable to a
few per cent on a shared machine (the end-to-end benches are not).

    python bench/channel_round_trip.py [--tasks 2000] [--runs 5]

Prints the median server CPU per round trip (µs) and how it splits between
the two calls.
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "plugins")]

from twisted.internet.defer import ensureDeferred  # noqa: E402
from twisted.internet.task import Clock  # noqa: E402
from twisted.internet.testing import StringTransport  # noqa: E402

from naclgrid import channel_wire, frames  # noqa: E402


class Peer:
    """One side of a channel: sends calls, collects answers by id."""

    def __init__(self, server_factory, key):
        self.transport = StringTransport()
        self.server = server_factory()
        self.server.makeConnection(self.transport)
        self._auth = f"Bearer {key}"
        self._next = 0

    def send(self, name, query="", content_type=None, body=None, accept=None):
        self._next += 1
        headers = {"authorization": self._auth}
        if content_type:
            headers["content-type"] = content_type
        if accept:
            headers["accept"] = accept
        message = b"".join(channel_wire.encode(
            {"id": self._next, "method": "POST", "name": name, "query": query,
             "headers": headers}, body))
        self.server.dataReceived(message)
        return self._next

    def answers(self):
        data, out = self.transport.value(), []
        self.transport.clear()
        while data:
            size = int.from_bytes(data[:4], "big")
            out.append(channel_wire.decode(data[4:4 + size]))
            data = data[4 + size:]
        return out


def build(clock):
    from naclgrid.api import ApiSettings, NaclgridAPI
    from naclgrid.api.applications import ApplicationRegistry
    from naclgrid.api.channel import ChannelServer
    from naclgrid.apps import wasm_bytes
    from naclgrid.auth import Authenticator, KeyService
    from naclgrid.grid import Grid
    from naclgrid.stores.memory import MemoryGridStore

    store = MemoryGridStore()
    grid = Grid(store, clock)
    registry = ApplicationRegistry(store)
    registry.add("echo", wasm_bytes("echo"))
    grid.applications = registry
    ensureDeferred(registry.publish())
    keys = KeyService(store, clock)
    api = NaclgridAPI(grid, Authenticator(keys, store, clock), clock,
                      ApiSettings(applications=registry))

    def factory():
        return ChannelServer(api, api._channel_routes, b"/naclgrid/", clock, 64 * 2**20)

    def key(role, user):
        box = []
        keys.create(role, user).addCallback(box.append)
        return box[0][0]

    return factory, key


def one_run(tasks):
    clock = Clock()
    factory, key = build(clock)
    master, agent = Peer(factory, key("submitter", "bench")), Peer(factory, key("agent", None))
    master.send("new_job", content_type="application/x-www-form-urlencoded",
                body=b"application=echo")
    (obj, body), = master.answers()
    job_id = json.loads(body)["job_id"]
    master.send("start_job", query=f"job_id={job_id}",
                content_type="application/x-www-form-urlencoded", body=b"")
    master.answers()
    pop_body = {"max": 1, "wait": 10, "node": "bench"}
    agent.send("pop", content_type=frames.MEDIA_TYPE, accept=frames.MEDIA_TYPE,
               body=frames.encode(pop_body, []))
    fork_cpu = ack_cpu = 0.0
    for i in range(tasks):
        data = b"%d" % i
        fork_body = urlencode([("entry", "echo"), ("wait", "20"), ("input", data)]).encode()
        start = time.process_time()
        master.send("fork", query=f"job_id={job_id}",
                    content_type="application/x-www-form-urlencoded", body=fork_body)
        fork_cpu += time.process_time() - start
        (obj, body), = agent.answers()
        answer, blobs = frames.decode(body)
        task = answer["tasks"][0]
        ack = {"job_id": task["job_id"], "slot": task["slot"], "lease_id": task["lease_id"],
               "result_blob": 0}
        ack_body = frames.encode(dict(pop_body, acks=[ack]), [blobs[task["input_blob"]]])
        start = time.process_time()
        agent.send("pop", content_type=frames.MEDIA_TYPE, accept=frames.MEDIA_TYPE,
                   body=ack_body)
        ack_cpu += time.process_time() - start
        (obj, body), = master.answers()
        assert obj["status"] == 200 and body == data, (obj, body)
    return fork_cpu / tasks * 1e6, ack_cpu / tasks * 1e6


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    one_run(200)  # warm caches and imports
    runs = [one_run(args.tasks) for _ in range(args.runs)]
    fork = statistics.median(r[0] for r in runs)
    ack = statistics.median(r[1] for r in runs)
    total = statistics.median(r[0] + r[1] for r in runs)
    print(f"server CPU per task round trip over the channel: {total:.0f} us "
          f"(fork+wake pop {fork:.0f} us, pop+ack+wake fork {ack:.0f} us; "
          f"medians of {args.runs} runs x {args.tasks} tasks)")


if __name__ == "__main__":
    main()
