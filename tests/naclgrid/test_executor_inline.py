"""Tiny tasks run on the caller's thread once their kind has proved quick,
under their own time budget; anything else goes to a worker thread."""

import hashlib

from twisted.internet.defer import succeed
from twisted.internet.task import Clock

from gridhost.testing import result_of
from naclgrid.client import executor as executor_module
from naclgrid.client.executor import TaskExecutor
from naclgrid.client.filecache import FileCache
from naclgrid.sandbox.errors import TaskFailure
from tests.naclgrid.agent_support import InlineThreads

CODE = b"\0asm module"
MODULE = {"sha256": hashlib.sha256(CODE).hexdigest(), "size": len(CODE)}


class TimedSandbox:
    """Runs take ``seconds[entry]`` of the clock; ``budget`` records each
    run's time limit; a run longer than its limit fails like the real one."""

    def __init__(self, clock, seconds):
        self.clock = clock
        self.seconds = seconds
        self.budgets = []

    def load(self, module_bytes):
        return ("app", module_bytes)

    def run(self, app, entry, data, files=None, limits=None):
        self.budgets.append(limits.seconds)
        took = self.seconds[entry]
        if took > limits.seconds:
            self.clock.advance(limits.seconds)
            raise TaskFailure("time_limit", f"time limit of {limits.seconds} s exceeded")
        self.clock.advance(took)
        if entry == "trap":
            raise TaskFailure("trap", "unreachable executed")
        return data


class CountingThreads(InlineThreads):
    def __init__(self):
        super().__init__()
        self.trips = 0

    def __call__(self, function, *args):
        self.trips += 1
        return super().__call__(function, *args)


def make(tmp_path, seconds, clock=True):
    time = Clock()
    threads = CountingThreads()
    cache = FileCache(tmp_path / "cache", lambda sha: succeed(CODE))
    sandbox = TimedSandbox(time, seconds)
    executor = TaskExecutor(cache, threads, sandbox=sandbox, clock=time if clock else None)
    return executor, threads, sandbox


def task(entry, data=b"x", seconds=300.0):
    return {"entry": entry, "input": data, "module": MODULE,
            "limits": {"seconds": seconds}}


def run(executor, entry, inline=True, **kw):
    return result_of(executor.run(task(entry, **kw), inline=inline))


def test_a_quick_kind_runs_inline_after_proving_itself(tmp_path):
    executor, threads, sandbox = make(tmp_path, {"echo": 0.0002})
    for _ in range(executor_module.QUICK_RUNS):
        assert run(executor, "echo").result == b"x"
    loads = threads.trips  # compiling the module went to a thread too
    for i in range(5):
        assert run(executor, "echo", data=b"%d" % i).result == b"%d" % i
    assert threads.trips == loads  # no trip to a thread any more
    assert sandbox.budgets[-1] == executor_module.INLINE_SECONDS


def test_never_inline_unless_the_caller_is_alone_or_without_a_clock(tmp_path):
    executor, threads, _ = make(tmp_path, {"echo": 0.0002})
    for _ in range(10):
        run(executor, "echo", inline=False)
    before = threads.trips
    run(executor, "echo", inline=False)
    assert threads.trips == before + 1
    executor, threads, _ = make(tmp_path, {"echo": 0.0002}, clock=False)
    for _ in range(10):
        run(executor, "echo")
    assert threads.trips == 10 + 1  # ten tasks and the module's compilation


def test_a_slow_kind_stays_on_threads_and_one_slow_run_does_not_undo_quick(tmp_path):
    executor, threads, sandbox = make(tmp_path, {"slow": 0.05, "echo": 0.0002})
    for _ in range(6):
        run(executor, "slow")
    assert set(sandbox.budgets) == {300.0}
    for _ in range(executor_module.QUICK_MAX):
        run(executor, "echo")
    sandbox.seconds["echo"] = 0.003  # one run slowed by a busy machine
    run(executor, "echo")
    sandbox.seconds["echo"] = 0.0002
    before = threads.trips
    run(executor, "echo")
    assert threads.trips == before  # still quick


def test_an_inline_run_over_budget_runs_again_on_a_thread_with_its_own_limits(tmp_path):
    executor, threads, sandbox = make(tmp_path, {"echo": 0.0002})
    for _ in range(executor_module.QUICK_MAX):
        run(executor, "echo")
    sandbox.seconds["echo"] = 0.5  # this input makes the task long
    before = threads.trips
    outcome = run(executor, "echo", data=b"long")
    assert outcome.ok and outcome.result == b"long"
    assert sandbox.budgets[-2:] == [executor_module.INLINE_SECONDS, 300.0]
    assert threads.trips == before + 1
    # The kind must prove itself again before it runs inline.
    sandbox.seconds["echo"] = 0.0002
    run(executor, "echo")
    assert threads.trips == before + 2


def test_a_task_whose_own_limit_is_shorter_fails_inline_as_it_would_anywhere(tmp_path):
    executor, threads, sandbox = make(tmp_path, {"echo": 0.0002, "trap": 0.0001})
    for _ in range(executor_module.QUICK_MAX):
        run(executor, "echo", seconds=0.001)
        run(executor, "trap", seconds=0.001)
    sandbox.seconds["echo"] = 0.01
    before = threads.trips
    outcome = run(executor, "echo", seconds=0.001)
    assert "time limit" in outcome.error and threads.trips == before  # no second run
    assert "unreachable" in run(executor, "trap", seconds=0.001).error



def test_a_task_without_a_module_fails_with_a_reason(tmp_path):
    executor, threads, sandbox = make(tmp_path, {"echo": 0.0002})
    orphan = dict(task("echo"), module=None, application="file:gone.wasm")
    outcome = result_of(executor.run(orphan, inline=False))
    assert outcome.error == ("bad_module: the server has no module for application "
                             "'file:gone.wasm'")
    assert sandbox.budgets == []
    assert run(executor, "echo").result == b"x"  # the executor goes on
