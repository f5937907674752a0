"""The naclgrid WebAssembly ABI, version 1: what a module may import and must
export. docs/wasm-abi.md is the prose version; plugins/naclgrid/include/
naclgrid.h is the C version. The browser worker implements the same table.
"""

from __future__ import annotations

from dataclasses import dataclass

import wasmtime

from .errors import BAD_MODULE, FORBIDDEN_IMPORT, SandboxError

ABI_VERSION = 1
IMPORT_MODULE = "naclgrid"
ALLOC_EXPORT = "ng_alloc"
MEMORY_EXPORT = "memory"
# A WASI reactor's initialiser (Rust/Zig/clang -mexec-model=reactor): the host
# calls it once after instantiation, before ng_alloc.
REACTOR_INIT = "_initialize"

_I32 = "i32"
_I64 = "i64"

# name -> (params, results), as wasm value type names.
IMPORTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "log": ((_I32, _I32), ()),
    "file_size": ((_I32, _I32), (_I64,)),
    "file_read": ((_I32, _I32, _I64, _I32, _I32), (_I32,)),
    "set_result": ((_I32, _I32), ()),
    "set_error": ((_I32, _I32), ()),
}
ENTRY_SIGNATURE = ((_I32, _I32), (_I32,))
ALLOC_SIGNATURE = ((_I32,), (_I32,))

# Exports that are part of the ABI or toolchain plumbing, never entries.
_NOT_ENTRIES = frozenset({ALLOC_EXPORT, REACTOR_INIT, "_start"})


@dataclass(frozen=True)
class ModuleShape:
    """What validation learned about a module."""

    entries: frozenset[str]
    imports: frozenset[str]
    reactor: bool


def _signature(ty: wasmtime.FuncType) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return tuple(str(p) for p in ty.params), tuple(str(r) for r in ty.results)


def _show(sig: tuple[tuple[str, ...], tuple[str, ...]]) -> str:
    params, results = sig
    return f"({', '.join(params)}) -> ({', '.join(results)})"


def check_module(module: wasmtime.Module) -> ModuleShape:
    """Check a compiled module against the ABI; raise SandboxError otherwise.

    Imports are checked first, so a module that is both malformed and
    over-reaching is reported as ``forbidden_import``: refusing capabilities
    is the promise users rely on.
    """
    used = set()
    for imp in module.imports:
        where = f"{imp.module}.{imp.name}"
        wanted = IMPORTS.get(imp.name) if imp.module == IMPORT_MODULE else None
        if wanted is None or not isinstance(imp.type, wasmtime.FuncType):
            raise SandboxError(
                FORBIDDEN_IMPORT,
                f"forbidden import {where}: a naclgrid module may import only "
                f"{', '.join(IMPORT_MODULE + '.' + n for n in IMPORTS)}")
        got = _signature(imp.type)
        if got != wanted:
            raise SandboxError(
                BAD_MODULE,
                f"import {where} has type {_show(got)}, the ABI says {_show(wanted)}")
        used.add(imp.name)

    exports = {exp.name: exp.type for exp in module.exports}
    if not isinstance(exports.get(MEMORY_EXPORT), wasmtime.MemoryType):
        raise SandboxError(BAD_MODULE, f"module does not export its linear memory as {MEMORY_EXPORT!r}")
    if exports[MEMORY_EXPORT].is_64:
        raise SandboxError(BAD_MODULE, "64-bit memories are not supported (wasm32 only)")
    alloc = exports.get(ALLOC_EXPORT)
    if not isinstance(alloc, wasmtime.FuncType) or _signature(alloc) != ALLOC_SIGNATURE:
        raise SandboxError(
            BAD_MODULE, f"module does not export {ALLOC_EXPORT}{_show(ALLOC_SIGNATURE)}")
    entries = frozenset(
        name for name, ty in exports.items()
        if name not in _NOT_ENTRIES and isinstance(ty, wasmtime.FuncType)
        and _signature(ty) == ENTRY_SIGNATURE)
    if not entries:
        raise SandboxError(
            BAD_MODULE, f"module exports no entry: a function {_show(ENTRY_SIGNATURE)}")
    init = exports.get(REACTOR_INIT)
    reactor = isinstance(init, wasmtime.FuncType) and _signature(init) == ((), ())
    return ModuleShape(entries=entries, imports=frozenset(used), reactor=reactor)
