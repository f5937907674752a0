"""Errors of the sandbox, each tagged with a stable ``kind`` string.

The agent reports ``kind`` and ``message`` with a failed task, so both are
part of the wire contract: kinds never change meaning, and each message says
in words what happened ("time limit exceeded ...", "memory limit ...").
"""

TIME_LIMIT = "time_limit"
MEMORY_LIMIT = "memory_limit"
TRAP = "trap"
FORBIDDEN_IMPORT = "forbidden_import"
NO_SUCH_ENTRY = "no_such_entry"
APP_ERROR = "app_error"
BAD_MODULE = "bad_module"

KINDS = frozenset(
    {TIME_LIMIT, MEMORY_LIMIT, TRAP, FORBIDDEN_IMPORT, NO_SUCH_ENTRY, APP_ERROR, BAD_MODULE}
)


class SandboxError(Exception):
    """A module was refused (``Sandbox.load``) or a task failed.

    ``kind`` is one of :data:`KINDS`; ``message`` is human-readable text.
    """

    def __init__(self, kind: str, message: str) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown sandbox error kind {kind!r}")
        super().__init__(kind, message)
        self.kind = kind
        self.message = message

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


class TaskFailure(SandboxError):
    """A task ran (or tried to) and failed; raised by ``Sandbox.run``."""
