"""``<light>`` blocks (docs §9), converted to radiometric values with
YafaRay's pi factors (docs §3) so the tracer can use a standard BSDF."""

import math

from .model import Light

PI = math.pi


def _unit(v):
    n = math.sqrt(sum(c * c for c in v))
    return tuple(c / n for c in v) if n > 0 else (0.0, 0.0, 1.0)


def _sub(a, b):
    return tuple(x - y for x, y in zip(a, b))


def build_light(name, params, warnings):
    """Return a :class:`Light`, or None when it is disabled or unsupported."""
    where = f"light '{name}'"
    kind = params.str("type", "")
    if not params.bool("light_enabled", True):
        return None
    if params.bool("photon_only", False):
        warnings.add(f"{where}: photon-only light ignored (no photon mapping)")
        return None
    power = params.float("power", 1.0)
    color = params.color("color", (1.0, 1.0, 1.0))
    radiant = tuple(PI * c * power for c in color)
    samples = max(1, min(params.int("samples", 4), 64))
    if kind == "pointlight":
        return Light("point", name, radiant, pos=params.point("from", (0, 0, 0)))
    if kind in ("spotlight", "ieslight"):
        pos = params.point("from", (0, 0, 0))
        direction = _unit(_sub(params.point("to", (0, 0, -1)), pos))
        if kind == "ieslight":
            warnings.add(f"{where}: IES profile ignored; rendered as a spot light")
            half = min(89.9, params.float("cone_angle", 180.0) / 2.0)
            blend = 0.5
        else:
            half = min(89.9, max(0.01, params.float("cone_angle", 45.0)))
            blend = min(1.0, max(0.0, params.float("blend", 0.15)))
        return Light("spot", name, radiant, pos=pos, direction=direction,
                     cos_outer=math.cos(math.radians(half)),
                     cos_inner=math.cos(math.radians(half * (1.0 - blend))),
                     samples=samples)
    if kind == "sunlight":
        angle = min(80.0, max(0.0, params.float("angle", 0.27)))
        return Light("sun", name, radiant,
                     direction=_unit(params.point("direction", (0, 0, 1))),
                     angle=angle, cos_outer=math.cos(math.radians(angle)),
                     samples=samples)
    if kind == "directional":
        return Light("directional", name, radiant,
                     direction=_unit(params.point("direction", (0, 0, 1))),
                     pos=params.point("from", (0, 0, 0)),
                     radius=max(0.0, params.float("radius", 1.0)),
                     infinite=params.bool("infinite", True))
    if kind == "arealight":
        corner = params.point("corner", (0, 0, 0))
        e1 = _sub(params.point("point1", (1, 0, 0)), corner)
        e2 = _sub(params.point("point2", (0, 1, 0)), corner)
        return Light("area", name, radiant, pos=corner, e1=e1, e2=e2, samples=samples,
                     mesh_id=params.int("object", 0))
    if kind == "spherelight":
        return Light("sphere", name, radiant, pos=params.point("from", (0, 0, 0)),
                     radius=max(1e-4, params.float("radius", 1.0)), samples=samples,
                     mesh_id=params.int("object", 0))
    if kind == "meshlight":
        return Light("mesh", name, radiant, mesh_id=params.int("object", 0),
                     double_sided=params.bool("double_sided", False), samples=samples)
    warnings.add(f"{where}: light type '{kind}' is not supported; ignored")
    return None


def sun_from_sky(direction, color, angle=0.27):
    """The extra sun light a sunsky background adds with ``add_sun``."""
    return Light("sun", "sunsky-sun", tuple(PI * c for c in color),
                 direction=_unit(direction), angle=angle,
                 cos_outer=math.cos(math.radians(angle)), samples=4)
