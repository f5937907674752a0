"""The Grid on the memory store, driven by a Clock: long polls, reasons,
limits, ownership and the requeue service. Plain synchronous tests."""

import pytest
from twisted.internet.defer import CancelledError
from twisted.internet.task import Clock

from naclgrid import errors
from naclgrid.grid import Grid, Limits
from naclgrid.model import (
    AGENTS_BUSY, DONE, FAILED, INSUFFICIENT_CREDIT, JOB_NOT_STARTED, JOB_STOPPED, LEASED,
    NO_AGENT, QUEUED,
)
from naclgrid.stores.memory import MemoryGridStore
from gridhost.testing import result_of


def pending(d):
    out = []
    d.addBoth(lambda r: out.append(r) or r)
    return not out


def failure_of(d, kind):
    with pytest.raises(kind) as info:
        result_of(d)
    return info.value


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def grid(clock):
    return Grid(MemoryGridStore(), clock, limits=Limits(
        max_input_bytes=100, max_result_bytes=100, max_file_bytes=100,
        max_tasks_per_job=50, max_active_jobs_per_user=3))


def job(grid, n=0, owner="alice", app="app", start=True, **kw):
    j = result_of(grid.new_job(owner, app, **kw))
    if n:
        result_of(grid.fork_many(j.job_id, [("main", b"%d" % i) for i in range(n)]))
    if start:
        result_of(grid.start_job(j.job_id, b"in"))
    return j.job_id


def test_pop_long_poll_wakes_on_work_not_on_a_timer(grid, clock):
    jid = job(grid)
    d = grid.pop("n1", "agent", wait=30)
    assert pending(d) and grid.waiting == 1
    clock.advance(10)
    assert pending(d)
    result_of(grid.fork(jid, "main", b"x"))
    [task] = result_of(d)
    assert (task.job_id, task.input, task.lease_expires) == (jid, b"x", 70.0)
    assert grid.waiting == 0


def test_pop_long_poll_times_out_on_the_clock(grid, clock):
    d = grid.pop("n1", "agent", wait=30)
    clock.advance(29.9)
    assert pending(d)
    clock.advance(0.1)
    assert result_of(d) == [] and grid.waiting == 0 and clock.getDelayedCalls() == []


def test_a_fork_wakes_only_as_many_pollers_as_it_has_tasks(grid, clock):
    jid = job(grid)
    polls = [grid.pop(f"n{i}", "agent", wait=30) for i in range(3)]
    result_of(grid.fork(jid, "main", b"one"))
    # The newest poller first: the agent that just finished is the warm one.
    assert [pending(d) for d in polls] == [True, True, False]
    result_of(grid.fork_many(jid, [("main", b"two"), ("main", b"three")]))
    assert sorted(t.input for d in polls for t in result_of(d)) == [b"one", b"three", b"two"]


class UndercountingStore(MemoryGridStore):
    """Announces every batch of work as a single task."""

    def _emit(self, *event):
        if event[0] == "work":
            event = ("work", event[1], 1)
        super()._emit(*event)


def test_a_poller_that_got_a_full_batch_passes_the_wake_on(clock):
    grid = Grid(UndercountingStore(), clock)
    jid = job(grid)
    polls = [grid.pop(f"n{i}", "agent", wait=30) for i in range(2)]
    result_of(grid.fork_many(jid, [("main", b"a"), ("main", b"b")]))
    assert sorted(t.input for d in polls for t in result_of(d)) == [b"a", b"b"]


def test_cancelled_poll_leaves_no_waiter_and_leases_nothing(grid, clock):
    jid = job(grid)
    d = grid.pop("n1", "agent", wait=30)
    d.cancel()
    failure_of(d, CancelledError)
    assert grid.waiting == 0 and clock.getDelayedCalls() == []
    result_of(grid.fork(jid, "main", b"x"))
    assert result_of(grid.job_status(jid))["counts"][QUEUED] == 1


def test_submitter_pops_its_own_job_and_wakes_for_it(grid, clock):
    mine = job(grid, owner="alice")
    other = job(grid, owner="bob", n=1)
    failure_of(grid.pop("m", "alice", job_id=other, owner="alice"), errors.NoSuchJob)
    failure_of(grid.pop("m", "alice", owner="alice"), errors.BadRequest)
    d = grid.pop("m", "alice", job_id=mine, owner="alice", wait=30)
    result_of(grid.fork(other, "main", b"not mine"))
    assert pending(d)
    result_of(grid.fork(mine, "main", b"mine"))
    assert [t.input for t in result_of(d)] == [b"mine"]


def test_fetch_waits_for_the_result(grid, clock):
    jid = job(grid, n=1)
    d = grid.fetch(jid, 0, wait=20)
    assert pending(d)
    [t] = result_of(grid.pop("n1", "agent"))
    assert pending(d)
    result_of(grid.ack(jid, 0, t.lease_id, result=b"\x00\xff"))
    outcome = result_of(d)
    assert (outcome.state, outcome.result) == (DONE, b"\x00\xff")


def test_wait_for_slots_returns_when_all_are_finished_or_on_timeout(grid, clock):
    jid = job(grid, n=3)
    d = grid.wait_for_slots(jid, [0, 1, 2], wait=20)
    tasks = result_of(grid.pop("n1", "agent", max=3))
    result_of(grid.ack(jid, tasks[0].slot, tasks[0].lease_id, result=b"a"))
    result_of(grid.ack(jid, tasks[1].slot, tasks[1].lease_id, result=b"b"))
    assert pending(d)
    result_of(grid.ack(jid, tasks[2].slot, tasks[2].lease_id, error="bad input"))
    assert pending(d)                                  # retried, not finished
    clock.advance(20)
    outcomes = result_of(d)
    assert [(o.state, o.result) for o in outcomes] == [(DONE, b"a"), (DONE, b"b"), (QUEUED, None)]
    assert outcomes[2].reason == AGENTS_BUSY and outcomes[2].attempts == 1


def test_stop_job_wakes_fetchers_with_the_failure(grid, clock):
    jid = job(grid, n=1)
    d = grid.fetch(jid, 0, wait=20)
    result_of(grid.stop_job(jid))
    outcome = result_of(d)
    assert (outcome.state, outcome.error) == (FAILED, "job stopped")


def test_waiting_reasons(grid, clock):
    created = job(grid, n=1, start=False)
    assert result_of(grid.job_status(created))["waiting_reason"] == JOB_NOT_STARTED
    assert result_of(grid.fetch(created, 0)).reason == JOB_NOT_STARTED
    jid = job(grid, n=2, app="ray")
    assert result_of(grid.fetch(jid, 0)).reason == NO_AGENT
    result_of(grid.pop("pi-node", "agent", applications=["pi"]))
    assert result_of(grid.fetch(jid, 0)).reason == NO_AGENT       # that node only runs pi
    [t] = result_of(grid.pop("ray-node", "agent", applications=["ray"]))
    assert result_of(grid.fetch(jid, 1)).reason == AGENTS_BUSY
    assert result_of(grid.fetch(jid, t.slot)).reason is None      # leased: not waiting
    clock.advance(31)                                             # node_ttl passed
    assert result_of(grid.job_status(jid))["waiting_reason"] == NO_AGENT
    result_of(grid.hold_job(jid))
    assert result_of(grid.job_status(jid))["waiting_reason"] == INSUFFICIENT_CREDIT
    assert result_of(grid.pop("ray-node", "agent")) == []
    result_of(grid.unhold_job(jid))
    result_of(grid.stop_job(jid))
    assert result_of(grid.job_status(jid))["waiting_reason"] == JOB_STOPPED


def test_a_long_polling_node_counts_as_live(grid, clock):
    jid = job(grid, n=0, app="ray")
    d = grid.pop("ray-node", "agent", applications=["ray"], wait=60)
    clock.advance(45)
    [node] = result_of(grid.nodes())
    assert node.polling == 1 and node.live(clock.seconds())
    result_of(grid.hold_job(jid))
    result_of(grid.fork(jid, "main", b""))
    result_of(grid.unhold_job(jid))
    assert len(result_of(d)) == 1
    assert result_of(grid.nodes())[0].polling == 0


def test_heartbeats_keep_a_busy_node_live_without_changing_its_apps(grid, clock):
    jid = job(grid, n=2, app="ray")
    [t] = result_of(grid.pop("ray-node", "agent", applications=["ray"]))
    clock.advance(25)
    assert result_of(grid.heartbeat([(jid, t.slot, t.lease_id)], node="ray-node")) == [85.0]
    clock.advance(25)                                      # 50 s after its last poll
    [node] = result_of(grid.nodes())
    assert node.applications == ("ray",) and node.live(clock.seconds())
    assert result_of(grid.job_status(jid))["waiting_reason"] == AGENTS_BUSY


def test_a_submitter_popping_its_job_serves_only_that_application(grid, clock):
    mine = job(grid, n=1, app="ray")
    other = job(grid, n=1, app="pi")
    result_of(grid.pop("master", "alice", job_id=mine, owner="alice"))
    assert result_of(grid.job_status(other))["waiting_reason"] == NO_AGENT


def test_the_service_requeues_expired_leases_and_wakes_pollers(grid, clock):
    grid.service.startService()
    jid = job(grid, n=1, lease_seconds=10)
    [lost] = result_of(grid.pop("dies", "agent"))
    d = grid.pop("survives", "agent", wait=60)
    clock.advance(9.5)
    assert pending(d)
    clock.advance(0.5)                                  # expired, and a requeue tick
    [again] = result_of(d)
    assert (again.slot, again.attempt) == (lost.slot, 2)
    failure_of(grid.ack(jid, lost.slot, lost.lease_id, result=b"zombie"), errors.StaleLease)
    result_of(grid.ack(jid, again.slot, again.lease_id, result=b"ok"))
    assert result_of(grid.fetch(jid, 0)).result == b"ok"
    result_of(grid.service.stopService())
    assert clock.getDelayedCalls() == []


def test_limits(grid, clock):
    jid = job(grid)
    failure_of(grid.start_job(job(grid, start=False), b"x" * 101), errors.TooLarge)
    failure_of(grid.fork(jid, "main", b"x" * 101), errors.TooLarge)
    failure_of(grid.drop_file(jid, "f", b"x" * 101), errors.TooLarge)
    result_of(grid.fork_many(jid, [("main", b"")] * 50))
    failure_of(grid.fork(jid, "main", b""), errors.LimitExceeded)
    job(grid)
    failure_of(grid.new_job("alice", "app"), errors.LimitExceeded)    # 3 active jobs
    result_of(grid.stop_job(jid))
    result_of(grid.new_job("alice", "app"))
    other = job(grid, n=1, owner="bob")
    [t] = result_of(grid.pop("n", "agent", job_id=other))
    failure_of(grid.ack(other, t.slot, t.lease_id, result=b"x" * 101), errors.TooLarge)
    result_of(grid.ack(other, t.slot, t.lease_id, error="e" * 100_000))
    [t] = result_of(grid.pop("n", "agent", job_id=other))
    result_of(grid.ack(other, t.slot, t.lease_id, result=b"x" * 100))


@pytest.mark.parametrize("call", [
    lambda g: g.new_job("alice", "app", priority=0),
    lambda g: g.new_job("alice", "app", priority=101),
    lambda g: g.new_job("alice", "app", max_attempts=21),
    lambda g: g.new_job("alice", "app", lease_seconds=1),
    lambda g: g.new_job("alice", ""),
    lambda g: g.new_job("alice", "app", meta={"x": object()}),
    lambda g: g.pop("bad node!", "agent"),
    lambda g: g.pop("n", "agent", max=0),
    lambda g: g.pop("n", "agent", max=257),
    lambda g: g.pop("n", "agent", wait=61),
    lambda g: g.pop("n", "agent", wait=-1),
    lambda g: g.ack("j", 0, "l"),
    lambda g: g.ack("j", 0, "l", result=b"", error="both"),
    lambda g: g.ack("j", "0", "l", result=b""),
    lambda g: g.fetch("j", 0, wait=61),
    lambda g: g.heartbeat([("j", 0)]),
    lambda g: g.heartbeat([("j", "0", "l")]),
])
def test_bad_requests(grid, call):
    failure_of(call(grid), errors.BadRequest)


def test_bad_tasks(grid):
    jid = job(grid)
    failure_of(grid.fork(jid, "two\nlines", b""), errors.BadRequest)
    failure_of(grid.fork(jid, "", b""), errors.BadRequest)
    failure_of(grid.fork(jid, "main", "not bytes"), errors.BadRequest)
    failure_of(grid.fork_many(jid, []), errors.BadRequest)
    failure_of(grid.fork_many(jid, [("main", b"")] * 10_001), errors.TooLarge)
    failure_of(grid.drop_file(jid, "../", b""), errors.BadRequest)


def test_another_users_job_does_not_exist_for_them(grid):
    jid = job(grid, n=1, owner="alice")
    for call in (lambda: grid.get_job(jid, owner="bob"),
                 lambda: grid.job_status(jid, owner="bob"),
                 lambda: grid.fork(jid, "main", b"", owner="bob"),
                 lambda: grid.fetch(jid, 0, owner="bob"),
                 lambda: grid.stop_job(jid, owner="bob"),
                 lambda: grid.drop_file(jid, "f", b"", owner="bob"),
                 lambda: grid.start_job(jid, b"", owner="bob")):
        failure_of(call(), errors.NoSuchJob)
    assert [s["job_id"] for s in result_of(grid.list_jobs("bob"))] == []
    assert result_of(grid.get_job(jid, owner="alice")).job_id == jid


def test_status_and_files(grid, clock):
    jid = job(grid, n=2, start=False)
    ref = result_of(grid.drop_file(jid, "dir/scene.xml", b"<scene/>"))
    assert ref.name == "scene.xml" and result_of(grid.get_file(ref.sha256)) == b"<scene/>"
    clock.advance(3)
    result_of(grid.start_job(jid, b"abc"))
    [t] = result_of(grid.pop("n", "agent"))
    assert [f.name for f in t.files] == ["scene.xml"]
    result_of(grid.ack(jid, t.slot, t.lease_id, result=b""))
    status = result_of(grid.job_status(jid))
    assert status["counts"] == {QUEUED: 1, LEASED: 0, DONE: 1, FAILED: 0}
    assert (status["total"], status["progress"], status["input_size"]) == (2, 0.5, 3)
    assert (status["created_at"], status["started_at"], status["finished_at"]) == (0, 3, None)
    assert status["files"] == [{"name": "scene.xml", "sha256": ref.sha256, "size": 8}]
    assert status["state"] == "running" and status["waiting_reason"] == AGENTS_BUSY
    assert [s["job_id"] for s in result_of(grid.list_jobs("alice"))] == [jid]
    assert LEASED in status["counts"]


def test_frequent_polls_write_the_node_record_at_most_every_half_ttl(grid, clock):
    writes = []
    real = grid.store.touch_node
    grid.store.touch_node = lambda *a, **kw: writes.append(a) or real(*a, **kw)
    for _ in range(10):
        result_of(grid.pop("n1", "agent"))
        clock.advance(1)
    assert len(writes) == 1
    clock.advance(6)                                    # 16 s since the write
    result_of(grid.pop("n1", "agent"))
    result_of(grid.pop("n1", "agent", applications=["ray"]))    # changed: written at once
    assert len(writes) == 3
    [node] = result_of(grid.nodes())
    assert node.applications == ("ray",) and node.last_seen == 16


def test_ack_many_reports_per_item(grid, clock):
    jid = job(grid, n=2)
    a, b = result_of(grid.pop("n", "agent", max=2))
    outcomes = result_of(grid.ack_many([
        (jid, a.slot, a.lease_id, b"ok", None),
        (jid, b.slot, b.lease_id, b"x" * 101, None),
        (jid, b.slot, b.lease_id, None, None),
        ("short",),
        (jid, b.slot, b.lease_id, None, "failed here"),
    ]))
    assert outcomes[0] == "ok" and outcomes[4] == "ok"
    assert [type(o) for o in outcomes[1:4]] == [errors.TooLarge, errors.BadRequest, errors.BadRequest]
    failure_of(grid.ack_many([(jid, 0, "l", b"", None)] * 1025), errors.TooLarge)


def test_a_poll_that_had_to_wait_takes_at_most_park_max(grid, clock):
    # An agent asks for a big batch of the job at hand; if none is queued, the
    # job that comes next answers it, and must not all go to that one agent.
    jid = job(grid)
    parked = grid.pop("n1", "agent", max=256, wait=30, park_max=2)
    clock.advance(1)  # parked a while: the work that wakes it is a new job
    result_of(grid.fork_many(jid, [("main", b"%d" % i) for i in range(10)]))
    assert len(result_of(parked)) == 2
    assert len(result_of(grid.pop("n2", "agent", max=256, park_max=2))) == 8  # queued: all
    # A poll woken soon (a master still forking batches) takes what it asked.
    quick = grid.pop("n2", "agent", max=256, wait=30, park_max=2)
    clock.advance(0.1)
    result_of(grid.fork_many(jid, [("main", b"%d" % i) for i in range(10)]))
    assert len(result_of(quick)) == 10
    # Work already queued is taken as asked.
    result_of(grid.fork_many(jid, [("main", b"x")] * 5))
    assert len(result_of(grid.pop("n1", "agent", max=5, wait=30, park_max=2))) == 5


def test_a_bad_park_max_is_refused_before_the_poll_parks(grid):
    for bad in (0, 257, "2", True):
        failure_of(grid.pop("n1", "agent", max=4, wait=30, park_max=bad), errors.BadRequest)
    assert grid.waiting == 0


@pytest.mark.parametrize("ttl", [100.0, 0.0, None])
def test_the_service_drops_task_results_results_ttl_after_a_job_ends(clock, ttl):
    grid = Grid(MemoryGridStore(), clock, requeue_interval=1.0, results_ttl=ttl)
    grid.service.startService()
    try:
        j = job(grid, 2)
        (task,) = result_of(grid.pop("n1", "farm", max=1))
        result_of(grid.ack(j, task.slot, task.lease_id, result=b"answer"))
        result_of(grid.stop_job(j))
        clock.advance(1)  # a tick: at once for ttl 0
        if ttl == 0:
            failure_of(grid.fetch(j, task.slot), errors.ResultsExpired)
            return
        clock.pump([1] * 80)
        assert result_of(grid.fetch(j, task.slot)).result == b"answer"
        clock.pump([1] * 40)
        if ttl is None:
            assert result_of(grid.fetch(j, task.slot)).result == b"answer"
        else:
            error = failure_of(grid.fetch(j, task.slot), errors.ResultsExpired)
            assert error.status == 410 and "results_ttl" in error.message
        assert result_of(grid.job_status(j))["counts"][DONE] == 1
    finally:
        grid.service.stopService()


@pytest.mark.parametrize("value, problem", [
    (-0.5, "results_ttl: -1 (keep for ever) or seconds >= 0"),
    (-2, "results_ttl: must be between -1"),
    ("1d", "results_ttl: expected a number"),
])
def test_results_ttl_is_checked_with_the_config(value, problem):
    from naclgrid.plugin import check_section

    assert any(e.startswith(problem) for e in check_section({"results_ttl": value}))
    assert check_section({"results_ttl": -1}) == [] and check_section({"results_ttl": 0}) == []
