"""The host side of the five ``naclgrid`` imports.

The functions are defined once on the engine-wide Linker and find the task
they serve through a thread-local, because a task runs entirely on the thread
that calls into wasm and several tasks run at once on a thread pool.

They never raise. wasmtime-py hands a Python exception raised in a host
function back to the wasm caller through one module-global slot, so with
tasks on several threads an exception could surface in the wrong task.
Instead a bad call returns -1 (or is ignored) and records a fault that fails
the task when the entry returns.
"""

from __future__ import annotations

import threading
from typing import Callable, Mapping, Optional, Union

import wasmtime

from . import wasmcall
from .abi import IMPORT_MODULE, IMPORTS
from .limits import Limits

FileSource = Union[Mapping[str, bytes], Callable[[str], Optional[bytes]], None]
LogSink = Optional[Callable[[str], None]]

_U32 = 0xFFFFFFFF


class TaskState:
    """Everything one running task may see and produce."""

    def __init__(self, files: FileSource, limits: Limits, log: LogSink) -> None:
        self._files = files
        self._file_cache: dict[str, Optional[bytes]] = {}
        self.limits = limits
        self._log = log
        self.memory: Optional[wasmtime.Memory] = None
        self.result = b""
        self.error: Optional[str] = None
        self.fault: Optional[str] = None
        self.log_lines = 0
        self.log_bytes = 0
        self.log_dropped = 0

    def file(self, name: str) -> Optional[bytes]:
        if name in self._file_cache:
            return self._file_cache[name]
        files = self._files
        if files is None:
            data = None
        elif callable(files):
            data = files(name)
        else:
            data = files.get(name)
        if data is not None and not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"file source returned {type(data).__name__} for {name!r}")
        data = None if data is None else bytes(data)
        self._file_cache[name] = data
        return data

    def add_fault(self, message: str) -> None:
        if self.fault is None:
            self.fault = message

    def log_line(self, text: str) -> None:
        limits = self.limits
        size = len(text.encode("utf-8", "replace"))
        if (self.log_lines >= limits.max_log_lines
                or self.log_bytes + size > limits.max_log_bytes):
            self.log_dropped += 1
            return
        self.log_lines += 1
        self.log_bytes += size
        if self._log is not None:
            self._log(text)

    def finish_log(self) -> None:
        if self.log_dropped and self._log is not None:
            self._log(f"[{self.log_dropped} log lines dropped: over the task's log limit]")


_current = threading.local()


def current() -> Optional[TaskState]:
    return getattr(_current, "task", None)


def bind(task: Optional[TaskState]) -> None:
    """Make ``task`` the one served by host calls made on this thread."""
    _current.task = task


def _span(caller, task: TaskState, ptr: int, length: int, what: str) -> Optional[tuple[int, int]]:
    """Validate a (ptr, len) pair of i32s against the task's memory."""
    ptr &= _U32
    if length < 0:
        task.add_fault(f"{what}: negative length {length}")
        return None
    if ptr + length > task.memory.data_len(caller):
        task.add_fault(f"{what}: bytes {ptr}..{ptr + length} are outside linear memory")
        return None
    return ptr, length


def _read(caller, task: TaskState, ptr: int, length: int, what: str) -> Optional[bytes]:
    span = _span(caller, task, ptr, length, what)
    if span is None:
        return None
    if length == 0:
        return b""
    return wasmcall.read(task.memory, caller, span[0], length)


def _name(caller, task, ptr, length, what) -> Optional[str]:
    if not 0 <= length <= 4096:
        return None
    raw = _read(caller, task, ptr, length, what)
    if raw is None:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _capped(length: int, cap: int) -> int:
    # Negative lengths pass through so that _span reports them.
    return length if length < 0 else min(length, cap)


def _guard(default):
    """Turn any exception in a host function into a task fault (see module doc)."""
    def wrap(fn):
        def host(caller, *args):
            task = current()
            if task is None:
                return default
            try:
                return fn(caller, task, *args)
            except Exception as exc:  # noqa: BLE001 - must never reach wasmtime
                task.add_fault(f"host function {fn.__name__} failed: {exc!r}")
                return default
        host.__name__ = fn.__name__
        return host
    return wrap


@_guard(None)
def log(caller, task, ptr, length):
    raw = _read(caller, task, ptr, _capped(length, task.limits.max_log_line_bytes), "log")
    if raw is not None:
        task.log_line(raw.decode("utf-8", "replace").rstrip("\n"))


@_guard(-1)
def file_size(caller, task, name_ptr, name_len):
    name = _name(caller, task, name_ptr, name_len, "file_size")
    data = None if name is None else task.file(name)
    return -1 if data is None else len(data)


@_guard(-1)
def file_read(caller, task, name_ptr, name_len, offset, dst_ptr, dst_len):
    name = _name(caller, task, name_ptr, name_len, "file_read")
    data = None if name is None else task.file(name)
    if data is None or offset < 0:
        return -1
    span = _span(caller, task, dst_ptr, dst_len, "file_read")
    if span is None:
        return -1
    count = max(0, min(dst_len, len(data) - offset))
    wasmcall.write(task.memory, caller, span[0], data, offset, count)
    return count


@_guard(None)
def set_result(caller, task, ptr, length):
    cap = task.limits.max_result_bytes
    if length > cap:
        task.add_fault(
            f"result limit: set_result of {length} bytes exceeds the cap of {cap} bytes")
        return
    raw = _read(caller, task, ptr, length, "set_result")
    if raw is not None:
        task.result = raw


@_guard(None)
def set_error(caller, task, ptr, length):
    raw = _read(caller, task, ptr, _capped(length, task.limits.max_log_line_bytes), "set_error")
    if raw is not None:
        task.error = raw.decode("utf-8", "replace")


_FUNCTIONS = {"log": log, "file_size": file_size, "file_read": file_read,
              "set_result": set_result, "set_error": set_error}


def define(linker: wasmtime.Linker) -> None:
    """Define every ABI import on ``linker`` (store-independent functions)."""
    types = {"i32": wasmtime.ValType.i32(), "i64": wasmtime.ValType.i64()}
    for name, (params, results) in IMPORTS.items():
        ty = wasmtime.FuncType([types[p] for p in params], [types[r] for r in results])
        linker.define_func(IMPORT_MODULE, name, ty, _FUNCTIONS[name], access_caller=True)
