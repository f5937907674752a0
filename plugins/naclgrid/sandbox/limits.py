"""Per-application resource limits of a sandboxed task."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Any, Mapping

WASM_PAGE = 65536
# wasm32 cannot address more than 4 GiB.
MAX_MEMORY_BYTES = 4 * 1024**3
MAX_FUEL = 2**63 - 1


@dataclass(frozen=True)
class Limits:
    """What one task may use.

    ``memory_bytes`` caps the module's linear memory (the store limiter makes
    ``memory.grow`` fail beyond it). ``fuel`` caps executed wasm operations
    (deterministic; None = no fuel cap) and ``seconds`` caps wall-clock time
    (epoch deadline), so a task stops at whichever comes first.
    ``max_result_bytes`` caps ``set_result``; the log caps bound what a task
    can write to the agent's log.
    """

    memory_bytes: int = 256 * 1024**2
    fuel: int | None = None
    seconds: float = 60.0
    max_result_bytes: int = 64 * 1024**2
    max_log_line_bytes: int = 4096
    max_log_lines: int = 1000
    max_log_bytes: int = 256 * 1024

    def __post_init__(self) -> None:
        errors = check_limits(self)
        if errors:
            raise ValueError("; ".join(errors))

    @classmethod
    def from_config(cls, section: Mapping[str, Any], base: "Limits | None" = None) -> "Limits":
        """Build limits from a config table (e.g. an app's ``limits`` section),
        falling back to ``base`` (default: the class defaults) for missing keys.
        Raises ValueError listing every problem as ``"key: problem"``."""
        errors = config_errors(section)
        if errors:
            raise ValueError("; ".join(errors))
        return replace(base or cls(), **dict(section))

    def with_memory(self, memory_bytes: int) -> "Limits":
        return replace(self, memory_bytes=memory_bytes)


_NAMES = {f.name for f in fields(Limits)}


def config_errors(section: Mapping[str, Any]) -> list[str]:
    """``"key: problem"`` strings for a limits config table; empty when valid."""
    errors = [f"{key}: unknown limit (known: {', '.join(sorted(_NAMES))})"
              for key in section if key not in _NAMES]
    if errors:
        return errors
    values = {f.name: getattr(Limits, f.name) for f in fields(Limits)}
    values.update(section)
    return _check(values)


def check_limits(limits: Limits) -> list[str]:
    return _check({f.name: getattr(limits, f.name) for f in fields(limits)})


def _check(v: Mapping[str, Any]) -> list[str]:
    errors = []

    def integer(name, low, high):
        value = v[name]
        if isinstance(value, bool) or not isinstance(value, int):
            errors.append(f"{name}: must be an integer, not {value!r}")
        elif not low <= value <= high:
            errors.append(f"{name}: must be between {low} and {high}, not {value}")

    integer("memory_bytes", WASM_PAGE, MAX_MEMORY_BYTES)
    if v["fuel"] is not None:
        integer("fuel", 1, MAX_FUEL)
    seconds = v["seconds"]
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) \
            or not math.isfinite(seconds) or not 0 < seconds <= 7 * 86400:
        errors.append(f"seconds: must be a number in (0, 604800], not {seconds!r}")
    integer("max_result_bytes", 0, 2**31 - 1)
    integer("max_log_line_bytes", 1, 1024**2)
    integer("max_log_lines", 0, 10**7)
    integer("max_log_bytes", 0, 2**31 - 1)
    return errors
