"""Renders of the shared scenes and our own against committed references.

Renders are deterministic (fixed seed, sampling seeded per pixel), but a
deliberate tracer change may reshuffle the noise. So images are compared
after a 4x4 box downsample, and the test fails on a visible change: a mean
difference above 5 levels (of 255), or 2 % of the blocks off by more than 24.
Fresh noise alone stays well inside (the worst scene: mean 3.3, 98th
percentile 15).
Regenerate after an intended change with
``PYTHONPATH=plugins python -m tests.corefarm.reference_scenes``.
"""

import numpy as np
import pytest
from PIL import Image

from corefarm.render.writers import encode_image

from .reference_scenes import REFERENCE_SIZE, SCENES, render
from .tracer_support import REFERENCES

pytestmark = pytest.mark.integration

BLOCK = 4
MEAN_LIMIT = 5.0
P98_LIMIT = 24.0


def _reduce(pixels):
    a = np.asarray(pixels, dtype=np.float64)[..., :3]
    h, w = a.shape[0] // BLOCK * BLOCK, a.shape[1] // BLOCK * BLOCK
    return a[:h, :w].reshape(h // BLOCK, BLOCK, w // BLOCK, BLOCK, 3).mean(axis=(1, 3))


def difference(a, b):
    """(mean, 98th percentile) absolute difference of two 8-bit images after
    block averaging."""
    d = np.abs(_reduce(a) - _reduce(b))
    return d.mean(), np.percentile(d, 98)


def visibly_different(a, b):
    mean, p98 = difference(a, b)
    return mean > MEAN_LIMIT or p98 > P98_LIMIT


def _as_8bit(job, image):
    import io
    return np.asarray(Image.open(io.BytesIO(encode_image(image, "png", job.output_space,
                                                         job.gamma))).convert("RGB"))


@pytest.mark.parametrize("name", sorted(SCENES))
def test_render_matches_reference(name):
    job, image = render(name, REFERENCE_SIZE)
    new = _as_8bit(job, image)
    with Image.open(REFERENCES / f"{name}.png") as im:
        ref = np.asarray(im.convert("RGB"))
    assert new.shape == ref.shape
    mean, p98 = difference(new, ref)
    assert mean <= MEAN_LIMIT and p98 <= P98_LIMIT, (name, mean, p98)


def test_the_comparison_notices_visible_changes():
    with Image.open(REFERENCES / "features.png") as im:
        ref = np.asarray(im.convert("RGB"))
    brighter = np.clip(ref.astype(int) * 1.1 + 2, 0, 255)
    shifted = np.roll(ref, 3, axis=1)
    darker_corner = ref.copy()
    darker_corner[:40, :60] = darker_corner[:40, :60] // 2
    assert not visibly_different(ref, ref)
    for changed in (brighter, shifted, darker_corner):
        assert visibly_different(ref, changed)


def test_noise_alone_is_not_a_visible_change():
    from dataclasses import replace

    from corefarm.render.local import render_job
    job, image = render("cornell", REFERENCE_SIZE)
    other = render_job(replace(job, seed=12345), job.grid(1, 1))
    assert image.tobytes() != other.tobytes()
    assert not visibly_different(_as_8bit(job, image), _as_8bit(job, other))
