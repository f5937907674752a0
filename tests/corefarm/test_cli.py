"""``corefarm render``: a real process with real agents and an embedded grid."""

import io
import os
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


def _dying_agents(tmp_path, code):
    """An environment whose sitecustomize runs ``code`` in exactly the
    processes the CLI launches as agents (they carry NACLGRID_PARENT_PID)."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import os, sys, threading\n"
        "if os.environ.get('NACLGRID_PARENT_PID'):\n" + "".join(f"    {line}\n" for line in code))
    return dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(site), *filter(None, [os.environ.get("PYTHONPATH")])]))


def test_agents_that_die_at_start_fail_the_render_with_their_output(tmp_path):
    env = _dying_agents(tmp_path, ["sys.stderr.write('agent broken on purpose\\n')",
                                   "sys.stderr.flush()", "os._exit(3)"])
    done = subprocess.run(
        [*CLI, str(SCENES / "00_HANDMADE_minimal_249_style.xml"), "-o", str(tmp_path / "x.png"),
         "--agents", "2", "--master-slots", "0", "--size", "16x12", "--quiet"],
        capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 1
    assert "every local agent exited before it was ready" in done.stderr
    assert "agent broken on purpose" in done.stderr
    assert not (tmp_path / "x.png").exists()


def test_agents_that_die_mid_render_fail_it_instead_of_hanging(tmp_path):
    # Dies 3 s after starting: ready by then, with far more than 3 s of tiles to go.
    env = _dying_agents(tmp_path, ["t = threading.Timer(3.0, lambda: os._exit(3))",
                                   "t.daemon = True", "t.start()"])
    done = subprocess.run(
        [*CLI, str(Path(__file__).parent / "scenes" / "cornell.xml"), "-o", str(tmp_path / "x.png"),
         "--agents", "1", "--master-slots", "0", "--size", "320x240", "--samples", "64",
         "--tiles", "4x4", "--quiet"],
        capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 1
    assert "every local agent exited and the master computes no tiles" in done.stderr
    assert not (tmp_path / "x.png").exists()
