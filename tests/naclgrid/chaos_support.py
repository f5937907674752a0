"""The chaos run shared by tests/naclgrid/test_chaos.py (short) and
bench/chaos.py (2,000 tasks): two servers and three agents on one Redis with
``appendonly yes``, while a random agent or server is SIGKILLed and
restarted every few seconds. The job's results must equal a fault-free run
of the same tasks, every slot done exactly once (no task lost, no second
result accepted), and the report says how many kills the run survived."""

import random
import threading
import time
from dataclasses import dataclass, field

from gridhost.testing import wait_for
from tests.naclgrid.elastic_support import (agent_process, EventTap, Server, gather,
                                            pi_input, submit)


@dataclass
class ChaosReport:
    tasks: int
    kills: list = field(default_factory=list)         # (seconds since start, victim)
    reference_seconds: float = 0.0
    chaos_seconds: float = 0.0
    results_equal: bool = False
    counts: dict = field(default_factory=dict)
    accepted_per_slot: dict = field(default_factory=dict)

    @property
    def survived(self):
        return len(self.kills)

    def summary(self):
        servers = sum(1 for _, v in self.kills if v.startswith("server"))
        once = sorted(set(self.accepted_per_slot.values())) == [1] and \
            len(self.accepted_per_slot) == self.tasks
        return (f"chaos: {self.tasks} tasks survived {self.survived} kills "
                f"({self.survived - servers} agents, {servers} servers) in "
                f"{self.chaos_seconds:.1f} s (fault-free run: {self.reference_seconds:.1f} s); "
                f"results equal to the fault-free run: {self.results_equal}; "
                f"each slot accepted exactly once: {once}; counts {self.counts}")


class Killer(threading.Thread):
    """Every ``every`` seconds (uniformly random in the range) SIGKILLs one
    random agent or server, waits ``down`` seconds, and restarts it. One
    victim at a time, so one server is always up."""

    def __init__(self, victims, every, down, rng, started):
        super().__init__(daemon=True)
        self.victims, self.every, self.down, self.rng = victims, every, down, rng
        self.started = started
        self.kills = []
        self.halt = threading.Event()
        self.error = None

    def run(self):
        try:
            while not self.halt.wait(self.rng.uniform(*self.every)):
                name, proc = self.rng.choice(self.victims)
                proc.kill()
                self.kills.append((round(time.monotonic() - self.started, 2), name))
                self.halt.wait(self.rng.uniform(*self.down))
                proc.start(**({"wait": False} if isinstance(proc, Server) else {}))
                if isinstance(proc, Server):
                    proc.wait_ready(60)
        except Exception as exc:  # noqa: BLE001 - reported by the caller
            self.error = exc


def run_chaos(folder, redis, tasks, every=(2.0, 4.0), down=(0.2, 1.0), seed=7,
              timeout=600, count=2000, log=print):
    rng = random.Random(seed)
    servers = [Server(name, folder / name, redis.url) for name in ("server-a", "server-b")]
    agents = []
    tap = None
    report = ChaosReport(tasks)
    try:
        for server in servers:
            server.start(wait=False)
        for server in servers:
            server.wait_ready()
        a, b = servers
        alice = a.create_key("submitter", "alice")
        farm = a.create_key("agent", "farm")
        # Agents spread over both servers; each retries its own server when it dies.
        agents = [agent_process(f"agent-{i}", folder / "agents", servers[i % 2].api_url, farm,
                            poll_wait=5).start() for i in range(3)]
        wait_for(lambda: len([n for n in a.json(farm, "nodes", method="GET")["nodes"]
                              if n["node"].startswith("agent-")]) == 3, 60, "three agents")
        inputs = [pi_input(slot, count) for slot in range(tasks)]

        started = time.monotonic()
        reference_job = submit(a, alice, "pi", "sample", inputs, max_attempts=20, lease_seconds=5)
        reference = gather(servers, alice, reference_job, tasks, timeout)
        report.reference_seconds = time.monotonic() - started
        log(f"fault-free run: {tasks} tasks in {report.reference_seconds:.1f} s")

        tap = EventTap(redis.port)
        started = time.monotonic()
        job_id = submit(b, alice, "pi", "sample", inputs, max_attempts=20, lease_seconds=5)
        victims = [(f"server-{s.name[-1]}", s) for s in servers] + \
            [(agent.name, agent) for agent in agents]
        killer = Killer(victims, every, down, rng, started)
        killer.start()
        try:
            results = gather(servers, alice, job_id, tasks, timeout)
        finally:
            killer.halt.set()
            killer.join(120)
        if killer.error is not None:
            raise killer.error
        report.chaos_seconds = time.monotonic() - started
        report.kills = list(killer.kills)
        report.results_equal = results == reference
        for server in servers:
            if not server.alive:
                server.start()
        server = next(s for s in servers if s.health().get("ok"))
        report.counts = server.json(alice, "job", query={"job_id": job_id},
                                    method="GET")["counts"]
        time.sleep(0.5)                      # the tap is a separate client: let it drain
        report.accepted_per_slot = tap.result_events(job_id)
        log(report.summary())
        return report
    finally:
        if tap is not None:
            tap.close()
        for agent in agents:
            agent.kill()
        for server in servers:
            server.kill()
