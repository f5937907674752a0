"""The public entry point: :func:`load_scene`."""

import os

from .builder import SceneBuilder
from .errors import SceneError
from .textures import Resources
from .xmlwalk import Limits, detect_dialect, walk


def load_scene(source, *, base_dir=None, files=None, limits=Limits(), name=None):
    """Load a YafaRay XML scene (0.1.x or v3 dialect).

    ``source`` is a path or the XML bytes. Textures are looked up in
    ``files`` (a mapping of relative names to bytes) and then in ``base_dir``
    (default: the scene file's directory); nothing outside it is read.
    Returns a :class:`~.model.Scene` whose ``warnings`` list everything that
    was approximated or ignored. Raises :class:`SceneError` for a file that is
    not a scene we can render (malformed XML, XML bombs, the v4 format, ...).
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        label = name or "scene.xml"
    else:
        path = os.fspath(source)
        label = name or os.path.basename(path)
        try:
            size = os.path.getsize(path)
            if size > limits.max_bytes:
                raise SceneError(f"scene file is larger than {limits.max_bytes} bytes")
            with open(path, "rb") as f:
                data = f.read()
        except OSError as exc:
            raise SceneError(f"cannot read scene file: {exc.strerror or exc}") from None
        if base_dir is None:
            base_dir = os.path.dirname(os.path.abspath(path))
    if len(data) > limits.max_bytes:
        raise SceneError(f"scene file is larger than {limits.max_bytes} bytes")
    if not data.strip():
        raise SceneError("scene file is empty")
    dialect = detect_dialect(data)
    builder = SceneBuilder(dialect, Resources(base_dir, files), limits)
    walk(data, builder, limits)
    return builder.finish(label)
