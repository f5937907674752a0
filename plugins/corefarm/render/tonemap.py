"""Linear float pixels to display values: clamp, gamma or sRGB, 8 bits."""

import numpy as np


def encode(rgb, output_space="srgb", gamma=2.2):
    """Encode linear RGB (float array, negatives clamped to 0) for display."""
    rgb = np.clip(np.asarray(rgb, dtype=np.float32), 0.0, None)
    if output_space == "srgb":
        return np.where(rgb <= 0.0031308, rgb * 12.92,
                        1.055 * np.power(rgb, 1.0 / 2.4) - 0.055)
    if output_space == "gamma" and gamma > 0 and abs(gamma - 1.0) > 1e-3:
        return np.power(rgb, 1.0 / gamma)
    return rgb


def to_8bit(image, output_space="srgb", gamma=2.2, alpha=True):
    """(h, w, 4) linear float -> (h, w, 4|3) uint8, values above 1 clipped."""
    rgb = encode(image[..., :3], output_space, gamma)
    out = np.clip(rgb, 0.0, 1.0)
    if alpha:
        out = np.concatenate([out, np.clip(image[..., 3:4], 0.0, 1.0)], axis=2)
    return (out * 255.0 + 0.5).astype(np.uint8)
