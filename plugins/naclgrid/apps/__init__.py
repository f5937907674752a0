"""Example naclgrid applications in C, with their committed wasm builds.

``make -C plugins/naclgrid/apps`` rebuilds them (``check`` verifies the build
is byte-for-byte reproducible). ``testapps`` holds misbehaving modules for the
sandbox tests and the browser worker's conformance tests.
"""

from importlib import resources

EXAMPLES = ("echo", "pi")


def wasm_bytes(name: str) -> bytes:
    """The built module of an app: "echo", "pi", or "testapps/sandboxtest"."""
    folder, _, stem = name.rpartition("/")
    folder = folder or name
    return resources.files(__name__).joinpath(folder, f"{stem}.wasm").read_bytes()
