"""The agent's loop against the real REST API over StubTreq, on a Clock."""

import io

from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.task import Clock

from naclgrid.agent.acker import AckQueue, PendingAck
from naclgrid.agent.stats import AgentStats
from naclgrid.agent.status import StatusLine
from naclgrid.agent.worker import Agent, AgentStopped
from naclgrid.client import Grid
from naclgrid.client.api import GridAPI
from naclgrid.client.credentials import BearerKey
from naclgrid.client.errors import GridAPIError, GridUnavailable
from naclgrid.client.executor import TaskExecutor
from naclgrid.client.filecache import FileCache
from naclgrid.client.transport import Transport
from tests.naclgrid.agent_support import FakeSandbox, InlineThreads
from tests.naclgrid.api_support import BASE, result_of


def new_key(env, role, user=None):
    return result_of(env.keys.create(role, user))[0]


def make_agent(env, tmp_path, threads=None, slots=2, key=None, prefetch=0):
    key = key or new_key(env, "agent")
    api = GridAPI(Transport(env.stub, BASE + "/", BearerKey(key), env.clock))
    sandbox = FakeSandbox()
    executor = TaskExecutor(FileCache(tmp_path / "cache", api.download),
                            threads or InlineThreads(), sandbox=sandbox)
    agent = Agent(api, executor, env.clock, AgentStats(env.clock), slots=slots, node="n1",
                  poll_wait=5, prefetch=prefetch)
    return agent, sandbox


def submitter(env):
    return Grid(BASE + "/", new_key(env, "submitter", "alice"), reactor=env.clock,
                http=env.stub, compute=False)


def settle(env, seconds=1.0, step=0.25):
    for _ in range(int(seconds / step)):
        env.advance(step)


def job_with_tasks(env, grid, inputs, entry="upper", **options):
    from twisted.internet.defer import ensureDeferred

    async def make():
        job = await grid.new_job("echo", **options)
        await job.start()
        await job.fork_many(entry, inputs)
        return job
    d = ensureDeferred(make())
    env.stub.flush()
    return result_of(d)


def results(env, job, slots):
    outcome = job.grid.api.fetch_many(job.job_id, slots)
    env.stub.flush()
    return {item["slot"]: item.get("result", item.get("error")) for item in result_of(outcome)}


def test_agent_runs_and_acks_queued_tasks(env, tmp_path):
    job = job_with_tasks(env, submitter(env), [b"a", b"b", b"c"])
    agent, sandbox = make_agent(env, tmp_path)
    agent.start()
    settle(env)
    assert results(env, job, [0, 1, 2]) == {0: b"A", 1: b"B", 2: b"C"}
    # The server has every result; the verdict on the last ones comes with the
    # answer of the pop they rode on (parked now: no more work).
    assert agent.stats.done == 3 and agent.held <= 2 and agent.stats.lost == 0
    assert len(sandbox.loaded) == 1  # compiled once, reused


def test_a_failing_task_is_acked_with_the_sandbox_error(env, tmp_path):
    job = job_with_tasks(env, submitter(env), [b"x"], entry="explode", max_attempts=1)
    agent, _ = make_agent(env, tmp_path)
    agent.start()
    settle(env)
    assert results(env, job, [0]) == {0: "trap: boom in explode"}
    assert agent.stats.failed == 1


def test_the_agent_wakes_up_when_work_arrives(env, tmp_path):
    agent, _ = make_agent(env, tmp_path)
    agent.start()
    settle(env, 2)
    job = job_with_tasks(env, submitter(env), [b"late"])
    settle(env, 0.5)
    assert results(env, job, [0]) == {0: b"LATE"}


def test_slots_bound_how_many_tasks_run_at_once(env, tmp_path):
    job = job_with_tasks(env, submitter(env), [b"%d" % i for i in range(5)])
    threads = InlineThreads(manual=True)
    agent, _ = make_agent(env, tmp_path, threads=threads, slots=2, prefetch=1)
    agent.start()
    settle(env)
    # 2 loads+runs in flight at most: loading the module comes first.
    threads.release()
    settle(env)
    assert len(threads.pending) == 2 and agent.stats.running == 2
    assert agent.held == 3  # two running, one prefetched
    while threads.pending:
        threads.release()
        settle(env)
    assert results(env, job, list(range(5))) == {i: b"%d" % i for i in range(5)}


def test_heartbeats_keep_the_lease_of_a_long_task(env, tmp_path):
    job = job_with_tasks(env, submitter(env), [b"slow"], lease_seconds=5)
    threads = InlineThreads(manual=True)
    agent, _ = make_agent(env, tmp_path, threads=threads, slots=1)
    agent.start()
    settle(env)
    threads.release()  # the module load
    settle(env, 20)  # four leases long
    assert len(threads.pending) == 1
    threads.release()
    settle(env)
    assert results(env, job, [0]) == {0: b"SLOW"}
    assert agent.stats.lost == 0


def test_drain_finishes_running_tasks_then_stops(env, tmp_path):
    job = job_with_tasks(env, submitter(env), [b"a"])
    threads = InlineThreads(manual=True)
    agent, _ = make_agent(env, tmp_path, threads=threads, slots=1)
    done = agent.start()
    settle(env)
    threads.release()
    settle(env)
    agent.drain()
    settle(env, 6)  # the last long poll ends
    assert not done.called
    threads.release()
    settle(env)
    assert done.called
    assert results(env, job, [0]) == {0: b"A"}


def test_a_submitter_key_cannot_serve_as_an_agent(env, tmp_path):
    agent, _ = make_agent(env, tmp_path, key=new_key(env, "submitter", "alice"))
    done = agent.start()
    settle(env)
    failures = []
    done.addErrback(failures.append)
    assert failures and failures[0].check(AgentStopped)


# -- the ack queue, over a scripted API -----------------------------------------------

class ScriptedAPI:
    def __init__(self):
        self.calls = []
        self.answers = []

    def _next(self, name, payload):
        self.calls.append((name, payload))
        answer = self.answers.pop(0) if self.answers else Deferred()
        if isinstance(answer, Exception):
            return fail(answer)
        return answer if isinstance(answer, Deferred) else succeed(answer)

    def ack(self, job_id, slot, lease_id, result=None, error=None):
        return self._next("ack", [(job_id, slot)])

    def ack_many(self, acks):
        return self._next("ack_many", [(a["job_id"], a["slot"]) for a in acks])


def test_results_finished_during_an_ack_are_batched_into_the_next():
    clock, api, settled = Clock(), ScriptedAPI(), []
    first = Deferred()
    api.answers = [first, [{"ok": True}, {"ok": True}]]
    queue = AckQueue(api, clock, lambda key, ok: settled.append((key, ok)))
    queue.add(PendingAck("j", 0, "l0", b"r"))
    queue.add(PendingAck("j", 1, "l1", b"r"))
    queue.add(PendingAck("j", 2, "l2", b"r"))
    first.callback({"ok": True})
    assert [name for name, _ in api.calls] == ["ack", "ack_many"]
    assert api.calls[1][1] == [("j", 1), ("j", 2)]
    assert settled == [(("j", 0), True), (("j", 1), True), (("j", 2), True)]
    assert len(queue) == 0


def test_a_result_survives_an_outage_and_is_delivered_later():
    clock, api, settled = Clock(), ScriptedAPI(), []
    api.answers = [GridUnavailable("down"), GridUnavailable("down"), {"ok": True}]
    queue = AckQueue(api, clock, lambda key, ok: settled.append((key, ok)))
    queue.add(PendingAck("j", 7, "l", b"r"))
    assert settled == [] and len(queue) == 1
    clock.pump([1] * 30)
    assert settled == [(("j", 7), True)]
    assert len(api.calls) == 3


def test_a_stale_lease_drops_the_result_without_retrying():
    clock, api, settled = Clock(), ScriptedAPI(), []
    api.answers = [GridAPIError(409, "stale_lease", "too late")]
    queue = AckQueue(api, clock, lambda key, ok: settled.append((key, ok)))
    queue.add(PendingAck("j", 1, "l", b"r"))
    clock.pump([1] * 10)
    assert settled == [(("j", 1), False)] and len(api.calls) == 1


def test_a_refused_batch_is_retried_item_by_item():
    clock, api, settled = Clock(), ScriptedAPI(), []
    first = Deferred()
    api.answers = [first, GridAPIError(413, "too_large", "batch"), {"ok": True},
                   GridAPIError(409, "job_stopped", "stopped")]
    queue = AckQueue(api, clock, lambda key, ok: settled.append((key, ok)))
    for slot in range(3):
        queue.add(PendingAck("j", slot, "l", b"r"))
    first.callback({"ok": True})
    assert [name for name, _ in api.calls] == ["ack", "ack_many", "ack", "ack"]
    assert settled == [(("j", 0), True), (("j", 1), True), (("j", 2), False)]


# -- the status line ------------------------------------------------------------------

def test_status_line_rewrites_itself_on_a_tty():
    clock, out = Clock(), io.StringIO()
    stats = AgentStats(clock)
    stats.slots, stats.server, stats.current_job = 2, "ok", "job123"
    line = StatusLine(out, clock, stats, tty=True, interval=0.5)
    line.start()
    stats.finished(True)
    clock.advance(0.5)
    line.stop()
    text = out.getvalue()
    assert text.count("\r\x1b[K") == 2 and text.endswith("\n")
    assert "done 1 failed 0" in text and "job job123" in text and "running 0/2" in text


def test_status_line_prints_plain_lines_only_on_change_otherwise():
    clock, out = Clock(), io.StringIO()
    stats = AgentStats(clock, window=10)
    line = StatusLine(out, clock, stats, tty=False, plain_interval=10)
    line.start()
    clock.advance(10)
    stats.finished(True)
    clock.advance(10)
    clock.advance(10)
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue()
    assert len(lines) == 3  # start, after the task, and once the rate fell back to 0
    assert "0.1 tasks/s" in lines[1] and "done 1" in lines[2]


def test_prefetch_adapts_to_task_length(env, tmp_path):
    agent, _ = make_agent(env, tmp_path, slots=2, prefetch=None)
    assert agent.prefetch == 2  # nothing measured yet: one extra task per slot
    agent._pop_seconds, agent._task_seconds = 0.1, 0.002  # small tasks, 100 ms round trips
    assert agent.prefetch == 200  # two round trips of work per slot
    agent._pop_seconds, agent._task_seconds = 0.001, 0.01  # 10 ms tasks, fast round trips
    assert agent.prefetch == 30  # PREFETCH_WINDOW (150 ms) of work per slot
    agent._pop_seconds, agent._task_seconds = 0.05, 0.00001
    assert agent.prefetch == 256  # bounded by what one pop may ask for
    agent._input_bytes = 1024 * 1024  # big inputs: about 8 MiB waiting here, not 256 MiB
    assert agent.prefetch == 8
    agent._input_bytes = 1e-320  # empty inputs after a few bytes: the average decays
    assert agent.prefetch == 256
    agent._input_bytes = None
    agent._task_seconds = 2.0  # long tasks: no hoarding
    assert agent.prefetch == 2
    fixed, _ = make_agent(env, tmp_path, slots=2, prefetch=0)
    fixed._pop_seconds, fixed._task_seconds = 0.005, 0.0002
    assert fixed.prefetch == 0


def test_a_task_length_measured_on_one_job_does_not_size_the_pops_of_the_next(env, tmp_path):
    agent, _ = make_agent(env, tmp_path, slots=1, prefetch=None)
    asked = []
    pop, pop_and_ack = agent._api.pop, agent._api.pop_and_ack
    agent._api.pop = lambda **kw: asked.append(kw["max"]) or pop(**kw)
    agent._api.pop_and_ack = lambda acks, **kw: asked.append(kw["max"]) or pop_and_ack(acks, **kw)
    agent.start()
    grid = submitter(env)
    job_with_tasks(env, grid, [b"a", b"b"])
    settle(env)
    assert agent.stats.done == 2
    # As if that job's tasks had been measured tiny, with slow round trips:
    # while it ran, the agent would have popped 256 at a time.
    agent._task_seconds, agent._pop_seconds = 0.0001, 0.05
    asked.clear()
    # The agent is idle: the next job's tasks may be of any length, so its
    # first pop takes one task per slot plus one, not 256 of them.
    settle(env)
    job = job_with_tasks(env, grid, [b"%d" % i for i in range(20)])
    settle(env)
    assert asked and asked[0] == 2
    assert results(env, job, [0, 19]) == {0: b"0", 19: b"19"}
    assert agent.stats.done == 22 and agent.stats.lost == 0


def test_a_busy_agent_batches_acks_and_an_idle_one_acks_at_once():
    clock, api, settled = Clock(), ScriptedAPI(), []
    busy = {"now": True}
    api.answers = [[{"ok": True}] * 3, {"ok": True}]
    queue = AckQueue(api, clock, lambda key, ok: settled.append((key, ok)),
                     hold=lambda: busy["now"], delay=0.05)
    for slot in range(3):
        queue.add(PendingAck("j", slot, "l", b"r"))
        clock.advance(0.01)
    assert api.calls == []  # waiting for company while tasks queue up
    clock.advance(0.03)
    assert [name for name, _ in api.calls] == ["ack_many"] and len(settled) == 3
    busy["now"] = False
    queue.add(PendingAck("j", 3, "l", b"r"))
    assert [name for name, _ in api.calls] == ["ack_many", "ack"]


def counting(api):
    """Count the agent's calls by endpoint method."""
    calls = []
    for name in ("pop", "pop_and_ack", "ack", "ack_many"):
        original = getattr(api, name)

        def wrapper(*args, _name=name, _original=original, **kwargs):
            calls.append(_name)
            return _original(*args, **kwargs)
        setattr(api, name, wrapper)
    return calls


def test_results_of_short_tasks_ride_on_the_next_pop(env, tmp_path):
    agent, _ = make_agent(env, tmp_path, slots=1, prefetch=None)
    calls = counting(agent._api)
    agent.start()
    settle(env, 0.5)
    grid = submitter(env)
    job = job_with_tasks(env, grid, [b"a"])
    settle(env, 0.5)
    # Tiny tasks, slow round trips: wait for a running task before popping.
    agent._pop_seconds, agent._task_seconds = 0.005, 0.0001
    for data in (b"b", b"c"):
        result_of_fork = job.fork("upper", data)
        env.stub.flush()
        result_of(result_of_fork)
        settle(env, 0.5)
    assert results(env, job, [0, 1, 2]) == {0: b"A", 1: b"B", 2: b"C"}
    assert "ack" not in calls and "ack_many" not in calls
    assert calls.count("pop_and_ack") >= 3
    # The last result rode on the pop now parked: its verdict comes with its answer.
    assert agent.held == 1 and agent.stats.done == 3 and agent.stats.lost == 0
    job_with_tasks(env, grid, [b"d"])
    settle(env, 0.5)
    assert agent.stats.done == 4 and agent.stats.lost == 0


def test_results_riding_on_a_failed_pop_are_delivered_alone():
    clock, api, settled = Clock(), ScriptedAPI(), []
    api.answers = [[{"ok": True}, {"ok": True}]]
    queue = AckQueue(api, clock, lambda key, ok: settled.append((key, ok)))
    queue.add(PendingAck("j", 0, "l0", b"r"), send=False)
    queue.add(PendingAck("j", 1, "l1", b"r"), send=False)
    riding = queue.take_riding()
    assert len(riding) == 2 and len(queue) == 2 and api.calls == []
    empty = queue.when_empty()
    assert not empty.called  # riding results are not delivered yet
    queue.riding_failed(riding)
    assert [name for name, _ in api.calls] == ["ack_many"]
    assert settled == [(("j", 0), True), (("j", 1), True)] and empty.called
    # Verdicts that do not match the batch: delivered again.
    queue.add(PendingAck("j", 2, "l2", b"r"), send=False)
    riding = queue.take_riding()
    api.answers = [{"ok": True}]
    queue.riding_answered(riding, [])
    assert [name for name, _ in api.calls] == ["ack_many", "ack"] and len(queue) == 0
    # And matching verdicts settle them.
    queue.add(PendingAck("j", 3, "l3", b"r"), send=False)
    queue.riding_answered(queue.take_riding(), [{"ok": False, "error": "stale_lease"}])
    assert settled[-1] == (("j", 3), False) and len(queue) == 0


def test_tiny_tasks_run_several_per_trip_to_a_thread(env, tmp_path):
    agent, sandbox = make_agent(env, tmp_path, slots=1, prefetch=8)
    trips = []
    run_many = agent._executor.run_many
    agent._executor.run_many = lambda tasks: trips.append(len(tasks)) or run_many(tasks)
    agent._task_seconds = 0.0001  # measured: tiny
    job = job_with_tasks(env, submitter(env), [b"a", b"b", b"c", b"d", b"e"])
    agent.start()
    settle(env)
    assert results(env, job, range(5)) == {0: b"A", 1: b"B", 2: b"C", 3: b"D", 4: b"E"}
    assert trips and max(trips) > 1  # several tasks in one trip
    assert agent.stats.done == 5 and agent.stats.lost == 0


def test_a_batch_keeps_each_tasks_own_outcome(tmp_path):
    from naclgrid.client.executor import TaskExecutor
    from naclgrid.client.filecache import FileCache

    import hashlib

    code = b"\0asm module"
    cache = FileCache(tmp_path / "c", lambda sha: succeed(code))
    executor = TaskExecutor(cache, InlineThreads(), sandbox=FakeSandbox())
    module = {"sha256": hashlib.sha256(code).hexdigest(), "size": len(code)}
    tasks = [{"entry": entry, "input": b"x", "module": module}
             for entry in ("upper", "explode", "upper")]
    outcomes = result_of(executor.run_many(tasks))
    assert [o.result for o in outcomes] == [b"X", None, b"X"]
    assert "boom" in outcomes[1].error


def test_a_long_task_among_tiny_ones_does_not_keep_a_free_slot_idle(env, tmp_path):
    threads = InlineThreads(manual=True)
    agent, _ = make_agent(env, tmp_path, threads=threads, slots=2, prefetch=None)
    agent.start()
    settle(env)
    # Measured so far: tiny tasks, slow pops. A running task should then end
    # sooner than a pop returns, so the agent waits for it before it pops...
    agent._task_seconds, agent._pop_seconds = 0.001, 0.2
    job = job_with_tasks(env, submitter(env), [b"long"])
    env.advance(0.01)
    threads.release()  # the module load; the task now runs (held by the test)
    env.advance(0.01)
    assert len(threads.pending) == 1 and agent.stats.running == 1
    second = job_with_tasks(env, submitter(env), [b"next"])
    env.advance(0.01)
    assert agent.stats.running == 1  # waiting for the running task's result
    # ...but only while that is plausible: then the free slot gets the new task.
    settle(env, 1.0)
    assert agent.stats.running == 2 and len(threads.pending) == 2
    threads.release()
    settle(env)
    assert results(env, job, [0]) == {0: b"LONG"} and results(env, second, [0]) == {0: b"NEXT"}


def test_the_pop_that_carries_a_jobs_last_results_is_not_sized_by_that_job(env, tmp_path):
    # That pop waits on the server for whatever job comes next: sized by the
    # finished job's tiny tasks it would take 256 of the next job's tasks.
    agent, sandbox = make_agent(env, tmp_path, slots=1, prefetch=None)
    run = sandbox.run
    sandbox.run = lambda *a, **kw: env.clock.advance(0.0002) or run(*a, **kw)  # a tiny task
    asked = []
    pop, pop_and_ack = agent._api.pop, agent._api.pop_and_ack
    agent._api.pop = lambda **kw: asked.append(("pop", kw["max"])) or pop(**kw)
    agent._api.pop_and_ack = lambda acks, **kw: asked.append(("ack", kw["max"])) or pop_and_ack(
        acks, **kw)
    agent._task_seconds, agent._pop_seconds, agent._estimate_job = 0.0001, 0.05, "older-job"
    agent.start()
    job_with_tasks(env, submitter(env), [b"last"])
    settle(env)
    assert agent.stats.done == 1
    carrying = [most for kind, most in asked if kind == "ack"]
    assert carrying and max(carrying) == 2, asked
