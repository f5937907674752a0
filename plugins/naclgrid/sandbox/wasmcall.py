"""Lean access to an instance's exports for the per-task hot path.

wasmtime-py's public ``Func.__call__`` rebuilds the function's type and
converts every argument through generic ``Val`` objects on each call, and
``Instance.exports`` wraps every export; together that was half of a no-op
task's cost (bench/sandbox_instance_reuse.py). Entries and ``ng_alloc`` are
all i32 functions whose types ``abi.check_module`` already verified, so this
module calls them through the same ctypes bindings wasmtime-py uses
(``wasmtime._ffi``), still through the type-checked ``wasmtime_func_call``.
If those bindings ever change shape, ``FAST`` is False and the public API is
used instead (tests run both paths).
"""

from __future__ import annotations

import ctypes
from ctypes import POINTER, byref

import wasmtime

try:
    from wasmtime import _ffi as ffi

    _I32 = ffi.WASMTIME_I32.value
    _FUNC = ffi.WASMTIME_EXTERN_FUNC.value
    _MEMORY = ffi.WASMTIME_EXTERN_MEMORY.value
    for _name in ("wasmtime_instance_export_get", "wasmtime_func_call", "wasmtime_val_t",
                  "wasmtime_extern_t", "wasm_trap_t"):
        getattr(ffi, _name)
    wasmtime.Memory._from_raw  # noqa: B018 - probe only
    FAST = True
except (ImportError, AttributeError):  # pragma: no cover - depends on wasmtime-py
    FAST = False


class Exports:
    """The memory and i32 functions of one instance in one store."""

    def __init__(self, store: wasmtime.Store, instance: wasmtime.Instance, fast: bool = FAST):
        self._store = store
        self._instance = instance
        self._fast = fast
        self._public = None if fast else instance.exports(store)

    def memory(self, name: str) -> wasmtime.Memory:
        if not self._fast:
            return self._public[name]
        item = self._get(name)
        if item.kind != _MEMORY:
            raise KeyError(name)
        return wasmtime.Memory._from_raw(item.of.memory)

    def func(self, name: str, results: int = 1):
        """A callable ``f(*i32_args)`` returning its i32 result, or None when
        ``results`` is 0. The caller vouches for the type (abi.check_module)."""
        if not self._fast:
            func = self._public[name]
            store = self._store
            return lambda *args: func(store, *args)
        item = self._get(name)
        if item.kind != _FUNC:
            raise KeyError(name)
        return _FastFunc(self._store, item.of.func, results)

    def _get(self, name: str):
        item = ffi.wasmtime_extern_t()
        raw = name.encode("utf-8")
        if not ffi.wasmtime_instance_export_get(
                self._store._context(), byref(self._instance._instance), raw, len(raw), byref(item)):
            raise KeyError(name)
        return item


class _FastFunc:
    __slots__ = ("_store", "_func", "_nresults")

    def __init__(self, store, func, results):
        self._store = store
        self._func = func
        self._nresults = results

    def __call__(self, *args: int):
        params = (ffi.wasmtime_val_t * len(args))()
        for i, arg in enumerate(args):
            params[i].kind = _I32
            params[i].of.i32 = arg
        results = (ffi.wasmtime_val_t * self._nresults)()
        trap = POINTER(ffi.wasm_trap_t)()
        error = ffi.wasmtime_func_call(self._store._context(), byref(self._func), params,
                                       len(args), results, self._nresults, byref(trap))
        if error:
            raise wasmtime.WasmtimeError._from_ptr(error)
        if trap:
            raise wasmtime.Trap._from_ptr(trap)
        return results[0].of.i32 if self._nresults else None


def read(memory: wasmtime.Memory, store, ptr: int, length: int) -> bytes:
    """Copy ``length`` bytes at ``ptr`` out of linear memory, in one copy
    (``Memory.read`` makes two). The caller has bounds-checked the range."""
    if length == 0:
        return b""
    base = ctypes.cast(memory.data_ptr(store), ctypes.c_void_p).value
    return ctypes.string_at(base + ptr, length)


def write(memory: wasmtime.Memory, store, ptr: int, data: bytes, start: int = 0,
          length: int | None = None) -> None:
    """Copy ``data[start:start + length]`` into linear memory at ``ptr``
    (bounds-checked by the caller) without intermediate copies: neither the
    slice nor the bytearray that ``Memory.write`` makes."""
    if length is None:
        length = len(data) - start
    if length <= 0:
        return
    if not 0 <= start <= start + length <= len(data):
        raise IndexError("source range outside the data")
    base = ctypes.cast(memory.data_ptr(store), ctypes.c_void_p).value
    source = ctypes.cast(ctypes.c_char_p(data), ctypes.c_void_p).value
    ctypes.memmove(base + ptr, source + start, length)
