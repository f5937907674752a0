"""Helpers shared by the corefarm tracer tests."""

from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
SHARED_SCENES = Path("/work/shared/yafaray-scenes")
if not SHARED_SCENES.exists():
    SHARED_SCENES = ROOT / "shared" / "yafaray-scenes"
OWN_SCENES = Path(__file__).resolve().parent / "scenes"
REFERENCES = Path(__file__).resolve().parent / "references"
TRACER_DIR = ROOT / "plugins" / "corefarm" / "tracer"


def shared_scene(prefix):
    (path,) = sorted(SHARED_SCENES.glob(prefix + "*.xml"))
    return path


def render(scene, size, samples=1, tiles=(1, 1), **kw):
    from corefarm.render.local import render_local
    return render_local(scene, size=size, samples=samples, tiles=tiles, **kw)


def mean_rgb(image):
    return np.asarray(image[..., :3], dtype=np.float64).mean(axis=(0, 1))
