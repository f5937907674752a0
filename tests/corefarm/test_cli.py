"""``corefarm render``: a real process with real agents and an embedded grid."""

import io
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

pytestmark = pytest.mark.integration

SCENES = Path("/work/shared/yafaray-scenes") if Path("/work/shared/yafaray-scenes").is_dir() \
    else Path(__file__).resolve().parents[3] / "shared" / "yafaray-scenes"
CLI = [sys.executable, "-m", "corefarm.cli", "render"]


def run(*args, timeout=300):
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, timeout=timeout)


def test_render_with_agents_and_a_fixed_split(tmp_path):
    out = tmp_path / "cubes.png"
    done = run(SCENES / "04_libyafaray-v3_2016_test01.xml", "-o", out, "--agents", 1,
               "--tiles", "3x2", "--size", "96x72", "--samples", 2, "--quiet")
    assert done.returncode == 0, done.stderr
    assert "wrote" in done.stderr and "6 tiles" in done.stderr
    assert Image.open(io.BytesIO(out.read_bytes())).size == (96, 72)


@pytest.mark.parametrize("args,message", [
    (["missing.xml", "-o", "x.png"], "corefarm: missing.xml: no such file"),
    ([SCENES / "00_HANDMADE_minimal_249_style.xml", "-o", "x.jpg"], "the output must end in .png, .tga or .exr"),
    ([SCENES / "00_HANDMADE_minimal_249_style.xml", "-o", "x.png", "--tiles", "7by5"],
     "tiles must look like CxR, e.g. 7x5, not '7by5'"),
    ([SCENES / "00_HANDMADE_minimal_249_style.xml", "-o", "x.png", "--size", "0x5"], "size: 1..16384 pixels per side"),
    ([SCENES / "00_HANDMADE_minimal_249_style.xml", "-o", "x.png", "--agents", "-1"],
     "--agents must be a whole number from 0 to 256"),
])
def test_bad_arguments_are_named(tmp_path, args, message):
    done = subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_the_v4_container_is_refused_with_a_clear_message(tmp_path):
    done = run(SCENES / "07_libyafaray-xml-v4_2023_test01.xml", "-o", tmp_path / "x.png", "--agents", 0,
               "--quiet")
    assert done.returncode == 1
    assert "the render failed: 07_libyafaray-xml-v4_2023_test01.xml: " in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "x.png").exists()


def test_warm_up_runs_before_the_render(tmp_path):
    out = tmp_path / "box.png"
    done = run(SCENES / "00_HANDMADE_minimal_249_style.xml", "-o", out, "--agents", 1,
               "--master-slots", 0, "--tiles", "2x2", "--size", "32x24", "--samples", 1,
               "--quiet", "--warm-up")
    assert done.returncode == 0, done.stderr
    assert "4 tiles" in done.stderr and "0 tiles computed by the master" in done.stderr
    assert Image.open(io.BytesIO(out.read_bytes())).size == (32, 24)
