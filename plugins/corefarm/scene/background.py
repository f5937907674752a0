"""``<background>`` blocks (docs §10); the sun-sky uses the Preetham et al.
1999 analytic daylight model, precomputed here and evaluated by the tracer."""

import math

from .lights import sun_from_sky
from .model import Background

SKY_SCALE = 1.0 / 20.0   # Preetham luminance is in kcd/m^2; bring the sky near 0.5


def _perez_coefficients(t, mult):
    y = (0.1787 * t - 1.4630, -0.3554 * t + 0.4275, -0.0227 * t + 5.3251,
         0.1206 * t - 2.5771, -0.0670 * t + 0.3703)
    x = (-0.0193 * t - 0.2592, -0.0665 * t + 0.0008, -0.0004 * t + 0.2125,
         -0.0641 * t - 0.8989, -0.0033 * t + 0.0452)
    yy = (-0.0167 * t - 0.2608, -0.0950 * t + 0.0092, -0.0079 * t + 0.2102,
          -0.0441 * t - 1.6537, -0.0109 * t + 0.0529)
    return tuple(tuple(c * m for c, m in zip(coeffs, mult)) for coeffs in (y, x, yy))


def _zenith(t, theta_s):
    chi = (4.0 / 9.0 - t / 120.0) * (math.pi - 2.0 * theta_s)
    big_y = (4.0453 * t - 4.9710) * math.tan(chi) - 0.2155 * t + 2.4192
    t2, s, s2, s3 = t * t, theta_s, theta_s ** 2, theta_s ** 3
    x = (t2 * (0.00166 * s3 - 0.00375 * s2 + 0.00209 * s)
         + t * (-0.02903 * s3 + 0.06377 * s2 - 0.03202 * s + 0.00394)
         + (0.11693 * s3 - 0.21196 * s2 + 0.06052 * s + 0.25886))
    y = (t2 * (0.00275 * s3 - 0.00610 * s2 + 0.00317 * s)
         + t * (-0.04214 * s3 + 0.08970 * s2 - 0.04153 * s + 0.00516)
         + (0.15346 * s3 - 0.26756 * s2 + 0.06670 * s + 0.26688))
    return x, y, max(big_y, 0.0)


def sun_transmittance(theta_s, turbidity):
    """Approximate sun colour after Rayleigh and aerosol extinction."""
    deg = math.degrees(theta_s)
    if deg >= 93.0:
        return (0.0, 0.0, 0.0)
    m = 1.0 / (math.cos(theta_s) + 0.15 * (93.885 - deg) ** -1.253)
    beta = 0.04608 * turbidity - 0.04586
    out = []
    for lam in (0.65, 0.57, 0.475):
        tau_r = math.exp(-0.008735 * lam ** -4.08 * m)
        tau_a = math.exp(-beta * lam ** -1.3 * m)
        out.append(tau_r * tau_a)
    return tuple(out)


def _unit(v):
    n = math.sqrt(sum(c * c for c in v))
    return tuple(c / n for c in v) if n > 0 else (0.0, 0.0, 1.0)


def build_background(name, params, textures, warnings):
    """Return ``(Background, extra_lights)``."""
    where = f"background '{name}'"
    kind = params.str("type", "constant")
    power = params.float("power", 1.0)
    bg = Background(power=power)
    lights = []
    if kind == "constant":
        bg.kind = "constant"
        bg.color = tuple(c * power for c in params.color("color", (0.0, 0.0, 0.0)))
        bg.ibl = params.bool("ibl", False)
        bg.ibl_samples = params.int("ibl_samples", 16)
    elif kind == "gradientback":
        bg.kind = "gradient"
        horizon = params.color("horizon_color", (1.0, 1.0, 1.0))
        zenith = params.color("zenith_color", (0.4, 0.5, 1.0))
        bg.horizon = tuple(c * power for c in horizon)
        bg.zenith = tuple(c * power for c in zenith)
        bg.horizon_ground = tuple(c * power for c in
                                  params.color("horizon_ground_color", horizon))
        bg.zenith_ground = tuple(c * power for c in
                                 params.color("zenith_ground_color", zenith))
        bg.ibl = params.bool("ibl", False)
        bg.ibl_samples = params.int("ibl_samples", 16)
    elif kind == "textureback":
        tex_name = params.str("texture", "")
        tex = textures.get(tex_name)
        bg.ibl = params.bool("ibl", False)
        bg.ibl_samples = params.int("ibl_samples", 16)
        if tex is None:
            warnings.add(f"{where}: texture '{tex_name}' is unavailable; "
                         "using a grey background instead")
            bg.kind = "constant"
            bg.color = (0.5 * power,) * 3
        else:
            bg.kind = "texture"
            bg.texture = tex
            bg.color = (power, power, power)
            bg.mapping = "probe" if params.str("mapping", "sphere") in ("probe", "angular") \
                else "sphere"
            bg.rotation = params.float("rotation", 0.0)
    elif kind in ("sunsky", "darksky"):
        if kind == "darksky":
            warnings.add(f"{where}: darksky approximated by the Preetham sun-sky")
        bg.kind = "sunsky"
        sun = _unit(params.point("from", (1.0, 1.0, 1.0)))
        turbidity = min(20.0, max(1.7, params.float("turbidity", 4.0)))
        mult = tuple(params.float(f"{c}_var", 1.0) for c in "abcde")
        theta_s = math.acos(max(-1.0, min(1.0, sun[2])))
        bg.sun_dir = sun
        bg.perez = _perez_coefficients(turbidity, mult)
        bg.zenith_xyY = _zenith(turbidity, min(theta_s, math.pi / 2 - 1e-3))
        bg.sky_scale = SKY_SCALE * power
        bg.ibl = params.bool("background_light", False)
        bg.ibl_samples = params.int("light_samples", 8)
        if params.bool("add_sun", False):
            sun_power = params.float("sun_power", 1.0)
            color = tuple(c * sun_power for c in sun_transmittance(theta_s, turbidity))
            lights.append(sun_from_sky(sun, color))
    else:
        warnings.add(f"{where}: background type '{kind}' is not supported; black")
        bg.kind = "constant"
    bg.ibl_samples = max(1, min(bg.ibl_samples, 64))
    return bg, lights
