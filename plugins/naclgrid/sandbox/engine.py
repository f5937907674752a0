"""The process-wide wasmtime Engine and the settings it is built from."""

from __future__ import annotations

from dataclasses import dataclass, field

import wasmtime

from .limits import MAX_MEMORY_BYTES, Limits

# Guards against table.grow bombs; C/C++/Rust function tables are far smaller.
MAX_TABLE_ELEMENTS = 1_000_000


@dataclass(frozen=True)
class EngineConfig:
    """Process-wide settings, fixed when the Sandbox is built."""

    # Fuel is the deterministic, machine-independent cap; the epoch deadline
    # is the wall-clock one. Fuel instruments every basic block (the tracer
    # ran about 5 % slower, see docs/wasm-abi.md), so only tasks whose limits
    # set a fuel budget run on a metered engine, built on first use; the
    # others have the epoch deadline alone. False: fuel budgets are ignored.
    consume_fuel: bool = True
    epoch_tick_seconds: float = 0.01
    cached_modules: int = 32
    cranelift_opt_level: str = "speed"
    # Instances come from a pool of this many pre-reserved slots (0: mmap
    # per instance). Pooling cut a no-op task by about a third; it also caps
    # how many tasks run at once, so Sandbox.run waits for a free slot.
    pool_slots: int = 32
    default_limits: Limits = field(default_factory=Limits)


def build_engine(config: EngineConfig, fuel: bool = False) -> tuple[wasmtime.Engine, bool]:
    """The Engine for ``config``, metering fuel or not, and whether the
    pooling allocator is on."""
    cfg = wasmtime.Config()
    cfg.consume_fuel = fuel
    cfg.epoch_interruption = True
    cfg.cranelift_opt_level = config.cranelift_opt_level
    # Proposals our toolchains do not emit stay off: less attack surface.
    cfg.wasm_threads = False
    pooled = config.pool_slots > 0 and _enable_pooling(cfg, config.pool_slots)
    return wasmtime.Engine(cfg), pooled


def _enable_pooling(cfg: wasmtime.Config, slots: int) -> bool:
    # wasmtime-py exposes the pooling allocator only through its ctypes
    # bindings; without them we fall back to the default allocator.
    try:
        from wasmtime import _ffi as ffi

        pool = ffi.wasmtime_pooling_allocation_config_new()
        try:
            ffi.wasmtime_pooling_allocation_config_total_core_instances_set(pool, slots)
            ffi.wasmtime_pooling_allocation_config_total_memories_set(pool, slots)
            ffi.wasmtime_pooling_allocation_config_total_tables_set(pool, slots)
            ffi.wasmtime_pooling_allocation_config_max_memory_size_set(pool, MAX_MEMORY_BYTES)
            ffi.wasmtime_pooling_allocation_config_table_elements_set(pool, MAX_TABLE_ELEMENTS)
            ffi.wasmtime_pooling_allocation_strategy_set(cfg.ptr(), pool)
        finally:
            ffi.wasmtime_pooling_allocation_config_delete(pool)
        return True
    except (ImportError, AttributeError):  # pragma: no cover - depends on wasmtime-py
        return False
