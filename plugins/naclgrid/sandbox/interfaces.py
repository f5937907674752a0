"""The sandbox seen from its users (the agent, a computing master)."""

from zope.interface import Attribute, Interface


class ISandbox(Interface):
    """Runs application entries under the naclgrid ABI (docs/wasm-abi.md).

    Every method may be called from any thread; ``run`` blocks its thread
    while the module runs (the GIL is released inside wasm).
    """

    engine = Attribute("The wasmtime.Engine modules are compiled for.")

    def load(module_bytes):
        """Validate and compile a module; return an App (``sha256``,
        ``entries``). Cached by sha256. Raises SandboxError with kind
        ``forbidden_import`` or ``bad_module``."""

    def cached(sha256):
        """The App already loaded with this hex sha256, or None."""

    def run(app, entry, input, files=None, limits=None, log=None):
        """Run ``entry`` on ``input`` bytes in a fresh instance and return
        the result bytes. ``files``: the current job's files, a mapping or a
        callable name -> bytes | None. ``limits``: a Limits (default: the
        engine config's). ``log``: callable receiving each log line. Raises
        TaskFailure(kind, message); the sandbox stays usable afterwards."""

    def close():
        """Stop the watchdog thread; later ``run`` calls raise RuntimeError."""
