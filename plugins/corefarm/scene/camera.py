"""``<camera>``: the YafaRay camera frame (docs §5) with a repair for files
that wrote ``to``/``up`` as direction vectors instead of points."""

import math

from .model import Camera

KINDS = {"perspective", "orthographic", "architect", "angular"}


def _sub(a, b):
    return (a[0] - b[0], a[1] - b[1], a[2] - b[2])


def _add(a, b):
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2])


def _cross(a, b):
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


def _dot(a, b):
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def _len(a):
    return math.sqrt(_dot(a, a))


def _unit(a):
    n = _len(a)
    return (a[0] / n, a[1] / n, a[2] / n) if n > 0 else (0.0, 0.0, 0.0)


def camera_params(params):
    """Raw camera values from a parameter block (frame resolved later)."""
    return {
        "kind": params.str("type", "perspective"),
        "from": params.point("from", (0.0, 1.0, 0.0)),
        "to": params.point("to", (0.0, 0.0, 0.0)),
        "up": params.point("up", (0.0, 1.0, 1.0)),
        "resx": params.int("resx", 320),
        "resy": params.int("resy", 200),
        "aspect": params.float("aspect_ratio", 1.0),
        "focal": params.float("focal", 1.0),
        "scale": params.float("scale", 1.0),
        "aperture": params.float("aperture", 0.0),
        "dof_distance": params.float("dof_distance", 0.0),
        "angle": params.float("angle", 90.0),
        "max_angle": params.float("max_angle", params.float("angle", 90.0)),
        "circular": params.bool("circular", True),
        "mirrored": params.bool("mirrored", False),
    }


def _is_unit(v):
    return abs(_len(v) - 1.0) < 2e-3


def build_camera(raw, scene_center, warnings, where="camera"):
    """Resolve the frame. ``scene_center`` (or None) disambiguates files whose
    ``to`` may be a direction vector (Rhino and Gestalt writers)."""
    eye, to, up = raw["from"], raw["to"], raw["up"]
    kind = raw["kind"]
    if kind not in KINDS:
        warnings.add(f"{where}: camera type '{kind}' is not supported; using perspective")
        kind = "perspective"
    forward = _sub(to, eye)
    if not _is_unit(forward) and _is_unit(to):
        # 'to' is either a point (YafaRay semantics) or a direction written by
        # a third-party exporter; keep the reading that looks at the scene.
        as_dir = _unit(to)
        as_point = _unit(forward)
        if scene_center is not None and _len(forward) > 0:
            target = _unit(_sub(scene_center, eye))
            if _dot(as_dir, target) > _dot(as_point, target):
                forward = as_dir
                warnings.add(f"{where}: 'to' looks like a direction vector, not a point; "
                             "treating it as a direction")
    up_vec = _sub(up, eye)
    if not _is_unit(up_vec) and _is_unit(up):
        up_vec = up
        warnings.add(f"{where}: 'up' looks like a direction vector, not a point; "
                     "treating it as a direction")
    z = _unit(forward)
    if _len(z) == 0:
        warnings.add(f"{where}: camera 'from' and 'to' coincide; looking down -Z")
        z = (0.0, 0.0, -1.0)
    x = _cross(z, up_vec)
    if _len(x) < 1e-9:
        warnings.add(f"{where}: camera 'up' is parallel to the view direction; choosing one")
        x = _cross(z, (0.0, 0.0, 1.0) if abs(z[2]) < 0.9 else (0.0, 1.0, 0.0))
    x = _unit(x)
    y = _unit(_cross(z, x))
    resx = raw["resx"] if raw["resx"] > 0 else 320
    resy = raw["resy"] if raw["resy"] > 0 else 200
    focal = raw["focal"] if raw["focal"] > 0 else 1.0
    if raw["aperture"] != 0 and raw["dof_distance"] <= 0:
        warnings.add(f"{where}: depth of field without dof_distance; using a pinhole")
    return Camera(
        kind=kind, eye=tuple(eye), x=x, y=y, z=z, resx=resx, resy=resy,
        aspect=raw["aspect"] if raw["aspect"] > 0 else 1.0, focal=focal,
        scale=raw["scale"] if raw["scale"] > 0 else 1.0,
        aperture=abs(raw["aperture"]) if raw["dof_distance"] > 0 else 0.0,
        dof_distance=raw["dof_distance"], angle=raw["angle"],
        max_angle=raw["max_angle"], circular=raw["circular"], mirrored=raw["mirrored"])


def default_camera(scene_min, scene_max, resx, resy):
    """A camera for files without one: look at the scene box from the front."""
    if scene_min is None:
        center, radius = (0.0, 0.0, 0.0), 1.0
    else:
        center = tuple((a + b) / 2 for a, b in zip(scene_min, scene_max))
        radius = max(1e-3, _len(_sub(scene_max, scene_min)) / 2)
    eye = _add(center, (0.0, -3.0 * radius, 1.0 * radius))
    raw = {"kind": "perspective", "from": eye, "to": _add(eye, _unit(_sub(center, eye))),
           "up": _add(eye, (0.0, 0.0, 1.0)), "resx": resx, "resy": resy, "aspect": 1.0,
           "focal": 1.0, "scale": 1.0, "aperture": 0.0, "dof_distance": 0.0,
           "angle": 90.0, "max_angle": 90.0, "circular": True, "mirrored": False}
    return build_camera(raw, None, _NullWarnings())


class _NullWarnings:
    def add(self, message):
        pass
