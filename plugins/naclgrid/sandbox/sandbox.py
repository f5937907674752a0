"""Run naclgrid applications (wasm modules) under capability and resource caps.

One :class:`Sandbox` per process: it owns the wasmtime Engine, the Linker
with the five ABI imports, the epoch watchdog and a cache of compiled modules
keyed by sha256. Tasks with a fuel budget run on a second, fuel-metering
engine (built, and the module compiled for it, on first use): fuel
instruments every basic block, which the others need not pay for. ``run`` is thread-safe and releases the GIL while wasm runs
(wasmtime-py calls through ctypes), so an agent runs N tasks at once from a
thread pool.

Each task gets a fresh Store and instance: see docs/wasm-abi.md, "Instances",
for the measurement behind that choice (bench/sandbox_instance_reuse.py).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Optional

import wasmtime
from zope.interface import implementer

from . import hostcalls, wasmcall
from .abi import ALLOC_EXPORT, MEMORY_EXPORT, REACTOR_INIT, check_module
from .errors import (
    APP_ERROR, BAD_MODULE, MEMORY_LIMIT, NO_SUCH_ENTRY, TIME_LIMIT, TRAP,
    SandboxError, TaskFailure,
)
from .hostcalls import FileSource, LogSink
from .interfaces import ISandbox
from .engine import MAX_TABLE_ELEMENTS, EngineConfig, build_engine
from .limits import Limits
from .wasmcall import FAST, Exports
from .watchdog import EpochWatchdog

# Refuse absurd uploads before compiling them: compile time and memory grow
# with module size.
MAX_MODULE_BYTES = 64 * 1024**2
WASM_MAGIC = b"\0asm"
# A failure with less room than this left under the memory limit is blamed on
# the limit (see _at_memory_cap): a failed malloc(n) leaves up to n + a page.
MEMORY_HEADROOM = 2**20


@dataclass(frozen=True)
class App:
    """A validated, compiled application module."""

    sha256: str
    module: wasmtime.Module = field(repr=False)
    pre: wasmtime.InstancePre = field(repr=False)
    entries: frozenset[str]
    size: int
    # Exports _initialize (a WASI "reactor"): called once per instance.
    reactor: bool = False
    # The bytes, and the InstancePre for the fuel-metering engine once a
    # task with a fuel budget needed it.
    source: bytes = field(default=b"", repr=False, compare=False)
    metered: dict = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class _Runtime:
    """One engine with its linker and, when pooled, its instance slots."""

    engine: wasmtime.Engine
    linker: wasmtime.Linker
    pooled: bool
    slots: Optional[threading.BoundedSemaphore]

    @classmethod
    def build(cls, config: EngineConfig, fuel: bool) -> "_Runtime":
        engine, pooled = build_engine(config, fuel)
        linker = wasmtime.Linker(engine)
        hostcalls.define(linker)
        # A pooled engine has a fixed number of instance slots: wait for one
        # rather than fail a task because others hold them all.
        slots = threading.BoundedSemaphore(config.pool_slots) if pooled else None
        return cls(engine, linker, pooled, slots)


@implementer(ISandbox)
class Sandbox:
    def __init__(self, engine_config: Optional[EngineConfig] = None, *, fast_calls: bool = FAST) -> None:
        self.config = engine_config or EngineConfig()
        self._fast = fast_calls
        self._plain = _Runtime.build(self.config, fuel=False)
        self.engine, self.pooled = self._plain.engine, self._plain.pooled
        self._linker = self._plain.linker
        self._metered: Optional[_Runtime] = None
        self._watchdog = EpochWatchdog(self.engine, self.config.epoch_tick_seconds)
        self._cache: OrderedDict[str, App] = OrderedDict()
        self._lock = threading.Lock()
        self._metered_lock = threading.Lock()

    # -- modules ------------------------------------------------------------

    def cached(self, sha256: str) -> Optional[App]:
        """The already-loaded App with this sha256 (hex), or None."""
        with self._lock:
            app = self._cache.get(sha256)
            if app is not None:
                self._cache.move_to_end(sha256)
            return app

    def load(self, module_bytes: bytes) -> App:
        """Validate and compile a module, or return the cached one.

        Raises SandboxError with kind ``forbidden_import`` (it imports
        something outside the ABI) or ``bad_module`` (not wasm, or missing
        ``memory`` / ``ng_alloc`` / any entry, or a wrong import type).
        """
        if len(module_bytes) > MAX_MODULE_BYTES:
            raise SandboxError(
                BAD_MODULE, f"module is {len(module_bytes)} bytes; the cap is {MAX_MODULE_BYTES}")
        if bytes(module_bytes[:4]) != WASM_MAGIC:
            # wasmtime would also accept the text format, which browsers do
            # not: a module must run the same on every kind of agent.
            raise SandboxError(BAD_MODULE, "not a wasm binary (it must start with \\0asm; "
                                           "compile text-format modules with wat2wasm)")
        sha = hashlib.sha256(module_bytes).hexdigest()
        app = self.cached(sha)
        if app is not None:
            return app
        try:
            module = wasmtime.Module(self.engine, bytes(module_bytes))
        except wasmtime.WasmtimeError as exc:
            raise SandboxError(BAD_MODULE, f"not a valid wasm module: {_first_line(exc)}") from None
        shape = check_module(module)
        try:
            pre = self._linker.instantiate_pre(module)
        except wasmtime.WasmtimeError as exc:
            raise SandboxError(BAD_MODULE, f"cannot link module: {_first_line(exc)}") from None
        app = App(sha256=sha, module=module, pre=pre, entries=shape.entries,
                  size=len(module_bytes), reactor=shape.reactor, source=bytes(module_bytes))
        with self._lock:
            self._cache[sha] = app
            while len(self._cache) > self.config.cached_modules:
                self._cache.popitem(last=False)
        return app

    def _metered_pre(self, app: App) -> tuple[_Runtime, wasmtime.InstancePre]:
        """The fuel-metering runtime and ``app`` compiled for it."""
        with self._metered_lock:
            if self._metered is None:
                self._metered = _Runtime.build(self.config, fuel=True)
                self._watchdog.add(self._metered.engine)
            runtime = self._metered
            pre = app.metered.get("pre")
            if pre is None:
                # load() already validated and linked these bytes once.
                module = wasmtime.Module(runtime.engine, app.source)
                pre = app.metered["pre"] = runtime.linker.instantiate_pre(module)
            return runtime, pre

    # -- tasks --------------------------------------------------------------

    def run(self, app: App, entry: str, input: bytes, files: FileSource = None,
            limits: Optional[Limits] = None, log: LogSink = None) -> bytes:
        """Run ``entry`` of ``app`` on ``input`` in a fresh instance; return
        the bytes the module gave ``set_result`` (b"" if none).

        ``files`` is what ``file_size``/``file_read`` see: the current job's
        dropped files, as a mapping or a callable name -> bytes | None.
        ``log`` receives each log line (on this thread). Raises TaskFailure.
        Thread-safe; leaves the sandbox usable whatever the module did.
        """
        limits = limits or self.config.default_limits
        if entry not in app.entries:
            raise TaskFailure(NO_SUCH_ENTRY, f"no such entry {entry!r}; the module exports "
                                             f"{', '.join(sorted(app.entries))}")
        data = bytes(input)
        if len(data) >= limits.memory_bytes:
            raise TaskFailure(MEMORY_LIMIT, f"memory limit: an input of {len(data)} bytes "
                                            f"cannot fit the {limits.memory_bytes}-byte memory limit")
        task = hostcalls.TaskState(files, limits, log)
        metered = self.config.consume_fuel and limits.fuel is not None
        runtime, pre = self._metered_pre(app) if metered else (self._plain, app.pre)
        with runtime.slots or nullcontext():
            store = wasmtime.Store(runtime.engine)
            try:
                store.set_limits(memory_size=limits.memory_bytes,
                                 table_elements=MAX_TABLE_ELEMENTS,
                                 instances=1, tables=4, memories=1)
                if metered:
                    store.set_fuel(limits.fuel)
                hostcalls.bind(task)
                with self._watchdog.running():
                    store.set_epoch_deadline(self._watchdog.ticks_for(limits.seconds))
                    return self._call(store, pre, app, entry, data, task)
            finally:
                hostcalls.bind(None)
                # Free the instance slot now, not when a traceback holding
                # this frame is collected.
                store.close()
                task.finish_log()

    def _call(self, store, pre, app, entry, data, task) -> bytes:
        limits = task.limits
        try:
            exports = Exports(store, pre.instantiate(store), self._fast)
            task.memory = exports.memory(MEMORY_EXPORT)
            if app.reactor:
                exports.func(REACTOR_INIT, results=0)()
            ptr = exports.func(ALLOC_EXPORT)(len(data))
            if len(data) and not ptr:
                raise TaskFailure(MEMORY_LIMIT, f"memory limit: ng_alloc could not allocate the "
                                                f"{len(data)}-byte input")
            ptr &= 0xFFFFFFFF
            if data:
                if ptr + len(data) > task.memory.data_len(store):
                    raise TaskFailure(APP_ERROR, f"ng_alloc returned {ptr}, outside linear memory")
                wasmcall.write(task.memory, store, ptr, data)
            rc = exports.func(entry)(ptr, len(data))
        except wasmtime.Trap as trap:
            raise self._trap_failure(store, task, trap) from None
        except wasmtime.WasmtimeError as exc:
            # Instantiation errors: e.g. initial memory above the limit.
            text = _first_line(exc)
            if "memory" in text and ("limit" in text or "exceed" in text):
                raise TaskFailure(MEMORY_LIMIT, f"memory limit of {limits.memory_bytes} bytes "
                                                f"exceeded at instantiation: {text}") from None
            raise TaskFailure(TRAP, text) from None
        if task.fault is not None:
            raise TaskFailure(APP_ERROR, task.fault)
        if rc != 0:
            message = task.error or f"entry {entry} returned {rc}"
            if _at_memory_cap(store, task):
                raise _memory_failure(store, task, message)
            raise TaskFailure(APP_ERROR, message)
        return task.result

    def _trap_failure(self, store, task, trap: wasmtime.Trap) -> TaskFailure:
        limits = task.limits
        code = trap.trap_code
        if code == wasmtime.TrapCode.INTERRUPT:
            cause = f"time limit exceeded: still running after {limits.seconds:g} s"
        elif code == wasmtime.TrapCode.OUT_OF_FUEL:
            cause = f"time limit exceeded: used all {limits.fuel} fuel"
        else:
            cause = _trap_text(trap)
        if _at_memory_cap(store, task):
            return _memory_failure(store, task, cause)
        if code in (wasmtime.TrapCode.INTERRUPT, wasmtime.TrapCode.OUT_OF_FUEL):
            return TaskFailure(TIME_LIMIT, cause)
        if task.error:
            cause = f"{cause} (set_error: {task.error})"
        return TaskFailure(TRAP, cause)

    def close(self) -> None:
        """Stop the watchdog thread. Running tasks finish; new ones fail."""
        self._watchdog.close()


def _at_memory_cap(store, task) -> bool:
    """Whether a failure should be blamed on the memory limit.

    wasmtime's C API makes a refused ``memory.grow`` return -1 (malloc then
    returns NULL) instead of trapping, and does not report refusals, so this
    is inferred: the task failed with less than MEMORY_HEADROOM (or an
    eighth of its limit, if larger; at most a quarter) left to grow into. The original cause
    stays in the message, so a wrong guess loses no information.
    """
    if task.memory is None:
        return False
    try:
        size = task.memory.data_len(store)
    except wasmtime.WasmtimeError:
        return False
    limit = task.limits.memory_bytes
    # Capped at a quarter so that small limits do not blame every failure.
    return limit - size < min(max(MEMORY_HEADROOM, limit // 8), limit // 4)


def _memory_failure(store, task, cause: str) -> TaskFailure:
    size = task.memory.data_len(store)
    return TaskFailure(MEMORY_LIMIT, f"memory limit: {size} of {task.limits.memory_bytes} "
                                     f"bytes in use when the task failed: {cause}")


def _trap_text(trap: wasmtime.Trap) -> str:
    """The cause of a trap, with the innermost named wasm function.

    wasmtime's message is "error while executing at wasm backtrace: ...
    Caused by: wasm trap: CAUSE" (or just "wasm trap: CAUSE"): keep CAUSE.
    """
    text = trap.message
    if "Caused by:" in text:
        # anyhow's chain: "    0: outer\n    1: wasm trap: inner".
        lines = text.split("Caused by:", 1)[1].strip().splitlines()
        cause = "; ".join(line.strip().split(": ", 1)[-1] if line.strip()[:1].isdigit()
                          else line.strip() for line in lines if line.strip())
    else:
        cause = _first_line(text)
    cause = cause.replace("wasm trap: ", "")
    try:
        names = [f.func_name for f in trap.frames if f.func_name]
    except Exception:  # noqa: BLE001 - the backtrace is a nicety
        names = []
    return f"{cause} (in {names[0].removesuffix('.command_export')})" if names else cause


def _first_line(exc) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
