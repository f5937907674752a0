"""Light transport checks on scenes with known answers."""

import numpy as np
import pytest

from corefarm.scene import load_scene

from .tracer_support import OWN_SCENES, render

pytestmark = pytest.mark.integration


def test_white_furnace_stays_white():
    """A white Lambertian sphere lit by a uniform white sky (image-based
    lighting) reflects exactly what it receives: every pixel is 1."""
    _, image = render(load_scene(OWN_SCENES / "furnace_diffuse.xml"), (32, 32), samples=4)
    rgb = image[..., :3]
    assert rgb.max() <= 1.0 + 1e-4
    assert rgb.min() >= 0.98
    assert rgb.mean() == pytest.approx(1.0, abs=2e-3)


@pytest.mark.parametrize("kind", ["glossy", "coated", "glass"])
def test_no_material_creates_energy_in_the_furnace(kind):
    _, image = render(load_scene(OWN_SCENES / f"furnace_{kind}.xml"), (32, 32), samples=8)
    centre = image[10:22, 10:22, :3]
    assert centre.mean() <= 1.0 + 0.01
    assert centre.mean() >= 0.8                      # and none of them is a black hole
    if kind == "glass":                              # lossless: the glass disappears
        assert centre.mean() == pytest.approx(1.0, abs=0.02)


def test_closed_box_converges_to_the_analytic_radiance():
    """Inside a closed box whose walls emit 1 and reflect half, radiance
    everywhere is 1 / (1 - 0.5) = 2 (path tracing, Russian roulette)."""
    _, image = render(load_scene(OWN_SCENES / "enclosure.xml"), (32, 32), samples=16)
    assert image[..., :3].mean() == pytest.approx(2.0, rel=0.02)


def test_indirect_light_adds_to_direct_light_in_the_cornell_box():
    scene = load_scene(OWN_SCENES / "cornell.xml")
    _, direct = render(scene, (48, 48), samples=4, integrator="direct")
    _, path = render(scene, (48, 48), samples=4, integrator="path")
    d, p = direct[..., :3].mean(), path[..., :3].mean()
    assert p > d * 1.15                               # the walls light each other
    assert p < d * 3.0                                # ... but create no energy
    # Colour bleeding: the red wall tints the left of the floor.
    floor_left = path[40:47, 8:16, :3].mean(axis=(0, 1))
    floor_right = path[40:47, 32:40, :3].mean(axis=(0, 1))
    assert floor_left[0] / floor_left[1] > floor_right[0] / floor_right[1]
