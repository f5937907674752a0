"""YafaRay XML scene loading and packing for the corefarm tracer.

>>> scene = load_scene("scene.xml")          # Scene, with scene.warnings
>>> blob = pack_scene(scene)                  # bytes of scene.bin for the agents
"""

from .errors import SceneError
from .loader import load_scene
from .model import Scene
from .xmlwalk import Limits

__all__ = ["SceneError", "Scene", "Limits", "load_scene", "pack_scene"]


def pack_scene(scene, **kwargs):
    """Serialise ``scene`` (building its BVH) into ``scene.bin`` bytes."""
    from .pack import pack_scene as _pack
    return _pack(scene, **kwargs)
