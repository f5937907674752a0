"""The wasm sandbox with real wasmtime and the committed C test apps.

Every failing case is followed by a successful task on the same Sandbox: a
misbehaving module must never leave the agent unable to run the next task.
"""

import threading
import time

import pytest
import wasmtime

from naclgrid.apps import wasm_bytes
from naclgrid.sandbox import EngineConfig, Limits, Sandbox, SandboxError, TaskFailure

# Generous bound for "fails within a bounded time" on a loaded 2-core CI box.
BOUND = 10.0


@pytest.fixture(scope="module")
def sandbox():
    box = Sandbox(EngineConfig(epoch_tick_seconds=0.005))
    yield box
    box.close()


@pytest.fixture(scope="module")
def testapp(sandbox):
    return sandbox.load(wasm_bytes("testapps/sandboxtest"))


@pytest.fixture(scope="module")
def echo(sandbox):
    return sandbox.load(wasm_bytes("echo"))


@pytest.fixture(scope="module")
def pi(sandbox):
    return sandbox.load(wasm_bytes("pi"))


def fail(sandbox, app, entry, data=b"", **kwargs):
    started = time.monotonic()
    with pytest.raises(TaskFailure) as info:
        sandbox.run(app, entry, data, **kwargs)
    assert time.monotonic() - started < BOUND
    return info.value


def still_works(sandbox, echo):
    assert sandbox.run(echo, "echo", b"still alive") == b"still alive"


# -- the required cases --------------------------------------------------------

def test_infinite_loop_fails_with_time_limit(sandbox, testapp, echo):
    started = time.monotonic()
    failure = fail(sandbox, testapp, "loop", limits=Limits(seconds=0.2))
    elapsed = time.monotonic() - started
    assert failure.kind == "time_limit"
    assert "time limit" in failure.message
    assert elapsed >= 0.2
    still_works(sandbox, echo)


def test_fuel_stops_a_loop_deterministically(sandbox, testapp, echo):
    failure = fail(sandbox, testapp, "loop", limits=Limits(fuel=1_000_000, seconds=60))
    assert failure.kind == "time_limit"
    assert "time limit" in failure.message and "1000000 fuel" in failure.message
    still_works(sandbox, echo)


def test_memory_bomb_fails_with_memory_limit(sandbox, testapp, echo):
    failure = fail(sandbox, testapp, "bomb", limits=Limits(memory_bytes=16 * 2**20))
    assert failure.kind == "memory_limit"
    assert "memory limit" in failure.message
    assert "16777216" in failure.message
    still_works(sandbox, echo)


def test_ignoring_refused_growth_is_still_a_memory_limit(sandbox, testapp, echo):
    failure = fail(sandbox, testapp, "grow_forever",
                   limits=Limits(memory_bytes=8 * 2**20, seconds=0.2))
    assert failure.kind == "memory_limit"
    assert "memory limit" in failure.message and "time limit" in failure.message
    still_works(sandbox, echo)


def test_trap_fails_with_its_message(sandbox, testapp, echo):
    failure = fail(sandbox, testapp, "divide")
    assert failure.kind == "trap"
    assert "integer divide by zero" in failure.message
    assert "(in divide)" in failure.message
    still_works(sandbox, echo)


def test_trap_message_includes_the_error_text_set_before(sandbox, testapp, echo):
    failure = fail(sandbox, testapp, "abort_with_message", b"the disk is lava")
    assert failure.kind == "trap"
    assert "unreachable" in failure.message
    assert "the disk is lava" in failure.message
    still_works(sandbox, echo)


def test_stack_overflow_is_a_trap_not_a_crash(sandbox, testapp, echo):
    failure = fail(sandbox, testapp, "recurse")
    assert failure.kind == "trap"
    assert "out of bounds memory access" in failure.message or "stack" in failure.message
    still_works(sandbox, echo)


def test_forbidden_import_is_refused_before_running(sandbox, echo):
    with pytest.raises(SandboxError) as info:
        sandbox.load(wasm_bytes("testapps/forbidden"))
    assert info.value.kind == "forbidden_import"
    assert "forbidden import wasi_snapshot_preview1.fd_write" in info.value.message
    still_works(sandbox, echo)


@pytest.mark.parametrize("imported", [
    '(import "naclgrid" "exec" (func (param i32 i32)))',
    '(import "env" "log" (func (param i32 i32)))',
    '(import "naclgrid" "log" (memory 1))',
    '(import "wasi_snapshot_preview1" "proc_exit" (func (param i32)))',
])
def test_any_import_outside_the_abi_is_refused(sandbox, imported):
    # A start function would run at instantiation: refusal must come first.
    wat = f"""(module {imported}
        (memory (export "memory") 1)
        (func (export "ng_alloc") (param i32) (result i32) i32.const 0)
        (func (export "go") (param i32 i32) (result i32) i32.const 0)
        (func $boom unreachable) (start $boom))"""
    with pytest.raises(SandboxError) as info:
        sandbox.load(wasmtime.wat2wasm(wat))
    assert info.value.kind == "forbidden_import"
    assert "forbidden import" in info.value.message


def test_a_module_cannot_read_another_jobs_files(sandbox, testapp, echo):
    job_a = {"secret.txt": b"job A's data"}
    job_b = {"public.txt": b"job B's data"}
    assert sandbox.run(testapp, "read_file", b"secret.txt", files=job_a) == b"job A's data"
    failure = fail(sandbox, testapp, "read_file", b"secret.txt", files=job_b)
    assert failure.kind == "app_error"
    assert failure.message == "no such file secret.txt"
    assert sandbox.run(testapp, "file_size", b"secret.txt", files=job_b) == b"-1"
    assert sandbox.run(testapp, "file_size", b"secret.txt") == b"-1"
    still_works(sandbox, echo)


def test_jobs_running_at_once_on_threads_see_only_their_own_files(sandbox, testapp):
    # Host calls find their task through a thread-local: interleave two jobs.
    jobs = {"A": {"data": b"A" * 1000}, "B": {"data": b"B" * 2000}}
    seen = {"A": set(), "B": set()}

    def worker(job):
        for _ in range(40):
            seen[job].add(sandbox.run(testapp, "read_chunks", b"data", files=jobs[job]))

    threads = [threading.Thread(target=worker, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(BOUND)
    assert seen == {"A": {b"A" * 1000}, "B": {b"B" * 2000}}


def test_echo_round_trips_every_byte_value(sandbox, echo):
    data = bytes(range(256))
    assert sandbox.run(echo, "echo", data) == data
    assert sandbox.run(echo, "echo", data * 4096) == data * 4096
    assert sandbox.run(echo, "echo", b"") == b""


def _reference_pi_hits(seed, count):
    mask = 2**64 - 1
    state, hits = seed, 0

    def next64():
        nonlocal state
        state = (state + 0x9E3779B97F4A7C15) & mask
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        return z ^ (z >> 31)

    for _ in range(count):
        x = (next64() >> 11) * 2.0**-53
        y = (next64() >> 11) * 2.0**-53
        hits += x * x + y * y <= 1.0
    return hits


@pytest.mark.parametrize("seed", [0, 1, 42, 2**64 - 1])
def test_pi_sample_matches_the_reference_prng(sandbox, pi, seed):
    expected = _reference_pi_hits(seed, 5000)
    assert sandbox.run(pi, "sample", f"{seed} 5000".encode()) == str(expected).encode()


def test_pi_master_sums_samples_to_pi(sandbox, pi):
    tasks, count = 8, 50_000
    hits = sum(int(sandbox.run(pi, "sample", f"{seed} {count}".encode()))
               for seed in range(tasks))
    assert abs(4 * hits / (tasks * count) - 3.14159265) < 0.01


@pytest.mark.parametrize("bad", [b"", b"1", b"1 ", b"x 5", b"1 5 6", b"1  5",
                                 b"99999999999999999999999 1"])
def test_pi_rejects_malformed_input(sandbox, pi, bad):
    failure = fail(sandbox, pi, "sample", bad)
    assert failure.kind == "app_error"
    assert "SEED COUNT" in failure.message
