"""Importance-sampling tables for backgrounds that light the scene (IBL).

The background is tabulated on a latitude-longitude grid over directions
(su = phi / 2pi, sv = theta / pi, theta from +Z): per cell the luminance
times sin(theta), plus a small floor so every direction stays reachable.
The tracer picks cells from the cumulative tables and evaluates the real
background in the chosen direction, so the table only steers samples
(a bright sun in an HDR map no longer shows up as fireflies).
"""

import math

import numpy as np

LUMA = np.array([0.2126, 0.7152, 0.0722])


def _directions(w, h):
    su = (np.arange(w) + 0.5) / w
    sv = (np.arange(h) + 0.5) / h
    theta = math.pi * sv[:, None]
    phi = 2.0 * math.pi * su[None, :]
    return (np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi),
            np.cos(theta) * np.ones_like(phi))


def _texture_luminance(scene, bg):
    tex = scene.textures[bg.texture]
    image = scene.images[tex.image]
    px = image.pixels
    if px.dtype == np.uint8:
        rgb = image.lut[px[..., :3]]
    else:
        rgb = px[..., :3]
    lum = np.asarray(rgb, dtype=np.float64) @ LUMA
    if bg.mapping != "sphere":
        return None
    # Image column u = 1 - su + rotation: flip and roll onto the direction grid.
    lum = lum[:, ::-1]
    shift = int(round(bg.rotation / 360.0 * lum.shape[1]))
    lum = np.roll(lum, -shift, axis=1)
    return _downsample(lum, 512, 256)


def _downsample(lum, max_w, max_h):
    h, w = lum.shape
    fy, fx = max(1, -(-h // max_h)), max(1, -(-w // max_w))
    h2, w2 = h // fy, w // fx
    if fy > 1 or fx > 1:
        lum = lum[:h2 * fy, :w2 * fx].reshape(h2, fy, w2, fx).mean(axis=(1, 3))
    return lum


def _sunsky_luminance(bg, w=128, h=64):
    x, y, z = _directions(w, h)
    sun = np.asarray(bg.sun_dir, dtype=np.float64)
    cos_theta = np.maximum(z, 0.001)
    d = np.stack([x, y, cos_theta], -1)
    d /= np.linalg.norm(d, axis=-1, keepdims=True)
    cos_gamma = np.clip(d @ sun, -1.0, 1.0)
    gamma = np.arccos(cos_gamma)
    cos_ts = min(max(sun[2], 0.001), 1.0)
    theta_s = math.acos(cos_ts)
    k = bg.perez[0]
    num = (1 + k[0] * np.exp(k[1] / cos_theta)) * (1 + k[2] * np.exp(k[3] * gamma)
                                                   + k[4] * cos_gamma ** 2)
    den = (1 + k[0] * math.exp(k[1])) * (1 + k[2] * math.exp(k[3] * theta_s) + k[4] * cos_ts ** 2)
    lum = bg.zenith_xyY[2] * num / den * bg.sky_scale
    return np.where(z < 0, 0.5 * lum, lum)


def _gradient_luminance(bg, w=64, h=32):
    _, _, z = _directions(w, h)
    up = np.clip(z, 0, 1)[..., None]
    down = np.clip(-z, 0, 1)[..., None]
    sky = (1 - up) * np.asarray(bg.horizon) + up * np.asarray(bg.zenith)
    ground = (1 - down) * np.asarray(bg.horizon_ground) + down * np.asarray(bg.zenith_ground)
    rgb = np.where((z >= 0)[..., None], sky, ground)
    return rgb @ LUMA


def env_tables(scene):
    """``(w, h, marginal_cdf, conditional_cdf, cell_pdf)`` as float32 arrays,
    or None when the background is not sampled this way (no IBL, or a
    constant background, which the tracer samples by cosine)."""
    bg = scene.background
    if not bg.ibl:
        return None
    if bg.kind == "texture":
        lum = _texture_luminance(scene, bg)
    elif bg.kind == "sunsky":
        lum = _sunsky_luminance(bg)
    elif bg.kind == "gradient":
        lum = _gradient_luminance(bg)
    else:
        return None
    if lum is None or lum.size == 0:
        return None
    h, w = lum.shape
    sin_t = np.sin(math.pi * (np.arange(h) + 0.5) / h)[:, None]
    f = np.maximum(np.nan_to_num(lum, nan=0.0, posinf=0.0), 0.0) * sin_t
    f = f + (f.mean() * 0.01 + 1e-8) * sin_t
    rows = f.sum(axis=1)
    total = rows.sum()
    marginal = np.cumsum(rows) / total
    conditional = np.cumsum(f, axis=1) / rows[:, None]
    marginal[-1] = 1.0
    conditional[:, -1] = 1.0
    pdf = f / total * (w * h)          # density over the unit square (su, sv)
    return (w, h, marginal.astype(np.float32), conditional.astype(np.float32).ravel(),
            pdf.astype(np.float32).ravel())
