"""The naclgrid WebAssembly sandbox: run an application entry, bytes in and
bytes out, with only the capabilities of the naclgrid ABI (docs/wasm-abi.md).

    sandbox = Sandbox()
    app = sandbox.load(wasm_bytes)          # SandboxError if refused
    out = sandbox.run(app, "echo", b"hi", files={"data.bin": b"..."},
                      limits=Limits(memory_bytes=64 << 20, seconds=5))
"""

from .abi import ABI_VERSION, IMPORTS
from .errors import KINDS, SandboxError, TaskFailure
from .interfaces import ISandbox
from .limits import Limits
from .sandbox import App, EngineConfig, Sandbox

__all__ = ["ABI_VERSION", "IMPORTS", "KINDS", "App", "EngineConfig", "ISandbox", "Limits",
           "Sandbox", "SandboxError", "TaskFailure"]
