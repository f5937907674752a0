"""Colour-space helpers shared by the loader (input decoding) and the writers."""

import math


def srgb_to_linear(c):
    if c <= 0.04045:
        return c / 12.92
    return ((c + 0.055) / 1.055) ** 2.4


def decode_rgb(rgb, space, gamma=1.0):
    """Decode an RGB triple written in colour space ``space`` to linear."""
    if space == "srgb":
        return tuple(srgb_to_linear(c) if c > 0 else c for c in rgb)
    if space == "gamma" and gamma > 0 and abs(gamma - 1.0) > 1e-3:
        return tuple(c**gamma if c > 0 else c for c in rgb)
    return tuple(rgb)


def luminance(rgb):
    return 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]


def finite(x, default=0.0):
    return x if math.isfinite(x) else default
