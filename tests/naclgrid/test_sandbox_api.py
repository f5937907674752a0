"""Sandbox API details: module checks, caching, results, logs, limits, threads."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import wasmtime

from naclgrid.apps import wasm_bytes
from naclgrid.sandbox import EngineConfig, Limits, Sandbox, SandboxError, TaskFailure
from naclgrid.sandbox.limits import config_errors

BOUND = 10.0

MINIMAL = """(module {imports}
  (memory (export "memory") 1)
  (global $g (mut i32) (i32.const 0))
  {alloc}
  {body})"""
ALLOC = '(func (export "ng_alloc") (param i32) (result i32) i32.const 1024)'
ENTRY = '(func (export "go") (param i32 i32) (result i32) i32.const 0)'


def module(imports="", alloc=ALLOC, body=ENTRY):
    return wasmtime.wat2wasm(MINIMAL.format(imports=imports, alloc=alloc, body=body))


@pytest.fixture(scope="module")
def sandbox():
    box = Sandbox(EngineConfig(epoch_tick_seconds=0.005))
    yield box
    box.close()


@pytest.fixture(scope="module")
def testapp(sandbox):
    return sandbox.load(wasm_bytes("testapps/sandboxtest"))


def failure(sandbox, app, entry, data=b"", **kwargs):
    with pytest.raises(TaskFailure) as info:
        sandbox.run(app, entry, data, **kwargs)
    return info.value


# -- loading -------------------------------------------------------------------

def test_load_lists_entries_and_caches_by_sha256(sandbox):
    data = wasm_bytes("echo")
    app = sandbox.load(data)
    assert app.entries == {"echo", "spin"}
    assert len(app.sha256) == 64 and app.size == len(data)
    assert sandbox.load(bytes(data)) is app
    assert sandbox.cached(app.sha256) is app
    assert sandbox.cached("0" * 64) is None


def test_cache_evicts_least_recently_used():
    box = Sandbox(EngineConfig(cached_modules=2))
    try:
        first = box.load(module(body=ENTRY + '(func (export "a") (param i32 i32) (result i32) i32.const 0)'))
        box.load(module(body=ENTRY + '(func (export "b") (param i32 i32) (result i32) i32.const 0)'))
        box.load(module(body=ENTRY + '(func (export "c") (param i32 i32) (result i32) i32.const 0)'))
        assert box.cached(first.sha256) is None
    finally:
        box.close()


@pytest.mark.parametrize("data, text", [
    (b"not wasm at all", "not a wasm binary"),
    (b"(module)", "not a wasm binary"),
    (b"", "not a wasm binary"),
    (b"\0asm\1\0\0\0\xff", "not a valid wasm module"),
])
def test_garbage_is_a_bad_module(sandbox, data, text):
    with pytest.raises(SandboxError) as info:
        sandbox.load(data)
    assert info.value.kind == "bad_module"
    assert text in info.value.message


@pytest.mark.parametrize("wasm, text", [
    (module(alloc=""), "ng_alloc"),
    (module(alloc='(func (export "ng_alloc") (param i64) (result i32) i32.const 0)'), "ng_alloc"),
    (module(body='(func (export "go") (param i32) (result i32) i32.const 0)'), "no entry"),
    (wasmtime.wat2wasm(f'(module {ALLOC} {ENTRY})'), "memory"),
    (module(imports='(import "naclgrid" "log" (func (param i32)))'), "naclgrid.log has type"),
])
def test_modules_breaking_the_abi_are_refused(sandbox, wasm, text):
    with pytest.raises(SandboxError) as info:
        sandbox.load(wasm)
    assert info.value.kind == "bad_module"
    assert text in info.value.message


def test_only_functions_of_the_entry_type_are_entries(sandbox):
    app = sandbox.load(module(body=ENTRY + """
        (func (export "helper") (param i32) (result i32) i32.const 0)
        (func (export "_start"))"""))
    assert app.entries == {"go"}
    assert failure(sandbox, app, "helper").kind == "no_such_entry"


def test_unknown_entry(sandbox, testapp):
    err = failure(sandbox, testapp, "no_such_thing")
    assert err.kind == "no_such_entry"
    assert "no_such_thing" in err.message and "read_file" in err.message


def test_reactor_initialize_runs_once_before_the_entry(sandbox):
    app = sandbox.load(module(
        imports='(import "naclgrid" "set_result" (func $set (param i32 i32)))',
        body="""(data (i32.const 0) "x")
        (func (export "_initialize") (global.set $g (i32.add (global.get $g) (i32.const 1))))
        (func (export "go") (param i32 i32) (result i32)
          (i32.store8 (i32.const 0) (i32.add (i32.const 48) (global.get $g)))
          (call $set (i32.const 0) (i32.const 1)) i32.const 0)"""))
    assert app.reactor
    assert sandbox.run(app, "go", b"") == b"1"


# -- tasks ---------------------------------------------------------------------

def test_each_task_gets_a_fresh_instance(sandbox, testapp):
    assert [sandbox.run(testapp, "count_calls", b"") for _ in range(3)] == [b"1"] * 3


def test_nonzero_return_is_an_app_error_with_its_message(sandbox, testapp):
    err = failure(sandbox, testapp, "fail", "disque plein ✓".encode())
    assert (err.kind, err.message) == ("app_error", "disque plein ✓")
    err = failure(sandbox, testapp, "fail_silently")
    assert (err.kind, err.message) == ("app_error", "entry fail_silently returned 3")


def test_files_may_be_a_callable_and_reads_are_chunked(sandbox, testapp):
    asked = []

    def files(name):
        asked.append(name)
        return bytes(range(256)) * 3 if name == "blob" else None

    assert sandbox.run(testapp, "read_chunks", b"blob", files=files) == bytes(range(256)) * 3
    assert set(asked) == {"blob"} and len(asked) == 1  # fetched once per task
    assert sandbox.run(testapp, "file_size", b"other", files=files) == b"-1"


def test_result_over_the_cap_fails(sandbox, testapp):
    assert len(sandbox.run(testapp, "big_result", b"1000", limits=Limits(max_result_bytes=1000))) == 1000
    err = failure(sandbox, testapp, "big_result", b"1001", limits=Limits(max_result_bytes=1000))
    assert err.kind == "app_error"
    assert "result limit" in err.message and "1001" in err.message


def test_pointers_outside_memory_fail_the_task(sandbox, testapp):
    err = failure(sandbox, testapp, "bad_pointer")
    assert err.kind == "app_error"
    assert "outside linear memory" in err.message


def test_log_lines_go_to_the_sink_and_are_capped(sandbox, testapp):
    lines = []
    sandbox.run(testapp, "log_lines", b"3", log=lines.append)
    assert lines == ["line 0", "line 1", "line 2"]
    lines.clear()
    sandbox.run(testapp, "log_lines", b"50", log=lines.append, limits=Limits(max_log_lines=10))
    assert lines[:10] == [f"line {i}" for i in range(10)]
    assert lines[10:] == ["[40 log lines dropped: over the task's log limit]"]


def test_long_log_lines_are_truncated(sandbox):
    app = sandbox.load(module(
        imports='(import "naclgrid" "log" (func $log (param i32 i32)))',
        body='(func (export "go") (param i32 i32) (result i32) '
             '(call $log (i32.const 0) (i32.const 60000)) i32.const 0)'))
    lines = []
    sandbox.run(app, "go", b"", log=lines.append, limits=Limits(max_log_line_bytes=100))
    assert len(lines) == 1 and len(lines[0]) == 100


def test_header_formatter(sandbox, testapp):
    assert sandbox.run(testapp, "format", b"") == (
        b"-42|   ab|cd  |00042|ff|BEEF|-1234567890123|7|3.142|1.234568e+04|z|%|(null)|4000000000")


def test_initial_memory_above_the_limit_is_a_memory_limit(sandbox):
    wat = MINIMAL.format(imports="", alloc=ALLOC, body=ENTRY)
    app = sandbox.load(wasmtime.wat2wasm(wat.replace('(memory (export "memory") 1)',
                                                     '(memory (export "memory") 40)')))
    err = failure(sandbox, app, "go", limits=Limits(memory_bytes=2**20))
    assert err.kind == "memory_limit" and "memory limit" in err.message


def test_input_larger_than_memory_limit(sandbox, testapp):
    err = failure(sandbox, testapp, "fail", b"x" * 2**20, limits=Limits(memory_bytes=2**20))
    assert err.kind == "memory_limit" and "memory limit" in err.message


def test_time_limits_hold_for_tasks_running_at_once(sandbox, testapp):
    """One epoch ticker serves every thread; each task keeps its own deadline."""
    def run(entry, seconds):
        started = time.monotonic()
        try:
            sandbox.run(testapp, entry, b"", limits=Limits(seconds=seconds))
            outcome = "ok"
        except TaskFailure as err:
            outcome = err.kind
        return outcome, time.monotonic() - started

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(run, "loop", 0.2), pool.submit(run, "loop", 0.6),
                   pool.submit(run, "count_calls", 5), pool.submit(run, "loop", 0.4)]
        results = [f.result(BOUND) for f in futures]
    assert [r[0] for r in results] == ["time_limit", "time_limit", "ok", "time_limit"]
    for (outcome, elapsed), seconds in zip(results, [0.2, 0.6, None, 0.4]):
        if seconds:
            assert seconds <= elapsed < seconds + 3


def test_closed_sandbox_refuses_tasks_and_stops_its_ticker():
    box = Sandbox()
    app = box.load(wasm_bytes("echo"))
    assert box.run(app, "echo", b"x") == b"x"
    box.close()
    assert not any(t.name == "naclgrid-epoch" and t.is_alive() for t in threading.enumerate()
                   if t is box._watchdog._thread)
    with pytest.raises(RuntimeError):
        box.run(app, "echo", b"x")


# -- limits --------------------------------------------------------------------

def test_limits_from_config():
    limits = Limits.from_config({"memory_bytes": 2**20, "seconds": 2.5, "fuel": 10**9})
    assert (limits.memory_bytes, limits.seconds, limits.fuel) == (2**20, 2.5, 10**9)
    assert limits.max_result_bytes == Limits().max_result_bytes


@pytest.mark.parametrize("section, text", [
    ({"memry_bytes": 1}, "memry_bytes: unknown limit"),
    ({"memory_bytes": 10}, "memory_bytes: must be between"),
    ({"memory_bytes": 2**40}, "memory_bytes: must be between"),
    ({"memory_bytes": "1M"}, "memory_bytes: must be an integer"),
    ({"seconds": 0}, "seconds: must be a number"),
    ({"seconds": float("nan")}, "seconds: must be a number"),
    ({"fuel": True}, "fuel: must be an integer"),
    ({"max_result_bytes": -1}, "max_result_bytes: must be between"),
])
def test_bad_limits_are_reported_per_key(section, text):
    errors = config_errors(section)
    assert any(text in e for e in errors), errors
    with pytest.raises(ValueError):
        Limits.from_config(section)


@pytest.mark.parametrize("fast_calls, pool_slots", [(False, 0), (True, 0), (False, 4)])
def test_public_api_and_unpooled_paths_behave_the_same(fast_calls, pool_slots):
    box = Sandbox(EngineConfig(pool_slots=pool_slots, epoch_tick_seconds=0.005),
                  fast_calls=fast_calls)
    try:
        assert box.pooled == (pool_slots > 0)
        app = box.load(wasm_bytes("testapps/sandboxtest"))
        echo = box.load(wasm_bytes("echo"))
        assert box.run(echo, "echo", bytes(range(256))) == bytes(range(256))
        assert box.run(app, "read_chunks", b"f", files={"f": b"0123456789" * 3}) == b"0123456789" * 3
        assert failure(box, app, "divide").kind == "trap"
        assert failure(box, app, "loop", limits=Limits(seconds=0.1)).kind == "time_limit"
        assert failure(box, app, "bomb", limits=Limits(memory_bytes=4 * 2**20)).kind == "memory_limit"
        assert failure(box, app, "fail", b"why").message == "why"
    finally:
        box.close()



def test_only_tasks_with_a_fuel_budget_pay_for_fuel_metering():
    box = Sandbox(EngineConfig(epoch_tick_seconds=0.005))
    try:
        app = box.load(wasm_bytes("testapps/sandboxtest"))
        assert box.run(app, "read_chunks", b"f", files={"f": b"abc"}) == b"abc"
        assert box._metered is None                     # no budget, no metered engine
        out_of_fuel = failure(box, app, "loop", limits=Limits(fuel=1_000_000, seconds=60))
        assert out_of_fuel.kind == "time_limit" and "1000000 fuel" in out_of_fuel.message
        assert box._metered is not None
        # The one ticker gives both engines their wall-clock deadline.
        for fuel in (None, 10**15):
            late = failure(box, app, "loop", limits=Limits(fuel=fuel, seconds=0.1))
            assert late.kind == "time_limit" and "still running after 0.1 s" in late.message
        assert box.run(app, "read_chunks", b"f", files={"f": b"abc"},
                       limits=Limits(fuel=10**9)) == b"abc"
    finally:
        box.close()


def test_fuel_budgets_are_ignored_when_fuel_is_off():
    box = Sandbox(EngineConfig(consume_fuel=False, epoch_tick_seconds=0.005))
    try:
        app = box.load(wasm_bytes("testapps/sandboxtest"))
        late = failure(box, app, "loop", limits=Limits(fuel=1000, seconds=0.1))
        assert late.kind == "time_limit" and "still running" in late.message
        assert box._metered is None
    finally:
        box.close()

def test_more_tasks_than_pool_slots_wait_for_a_slot():
    box = Sandbox(EngineConfig(pool_slots=2))
    try:
        app = box.load(wasm_bytes("echo"))
        with ThreadPoolExecutor(6) as pool:
            results = list(pool.map(lambda i: box.run(app, "spin", b"5"), range(12)))
        assert results == [b"5"] * 12
    finally:
        box.close()


def test_sandbox_provides_its_interface(sandbox):
    from zope.interface.verify import verifyObject

    from naclgrid.sandbox import ISandbox

    assert verifyObject(ISandbox, sandbox)


@pytest.mark.parametrize("call, text", [
    ("(call $log (i32.const 0) (i32.const -1))", "log: negative length -1"),
    ("(call $set_error (i32.const 65530) (i32.const 100))", "set_error: bytes 65530..65630"),
    ("(drop (call $file_read (i32.const 0) (i32.const 1) (i64.const 0) (i32.const 65535) (i32.const 9)))",
     "file_read: bytes 65535..65544"),
    ("(drop (call $file_size (i32.const -16) (i32.const 4)))", "file_size: bytes 4294967280"),
])
def test_misused_imports_fail_the_task_without_trapping(sandbox, call, text):
    app = sandbox.load(module(
        imports="""(import "naclgrid" "log" (func $log (param i32 i32)))
                   (import "naclgrid" "set_error" (func $set_error (param i32 i32)))
                   (import "naclgrid" "file_size" (func $file_size (param i32 i32) (result i64)))
                   (import "naclgrid" "file_read" (func $file_read (param i32 i32 i64 i32 i32) (result i32)))""",
        body=f"""(data (i32.const 0) "f")
        (func (export "go") (param i32 i32) (result i32) {call} i32.const 0)"""))
    err = failure(sandbox, app, "go", files={"f": b"0123456789"})
    assert err.kind == "app_error"
    assert text in err.message
