"""Render scaling: 1 vs 2 agents, and the grid against one process.

Prints, for one 640x480 scene split into the same tiles:
- ``local``: one process renders every tile in a row in the sandbox (the
  baseline, no grid at all);
- ``grid, 1 agent`` and ``grid, 2 agents``: ``corefarm render`` with an
  embedded grid, real agent processes, and a master that computes nothing
  (``--master-slots 0``), timed from submission to the written image as the
  CLI reports it.

Speedup = time(1 agent) / time(2 agents) (issue target >= 1.8); distribution
overhead = time(1 agent) / time(local) - 1 (target <= 10 %). Medians of
``--runs`` runs, alternated so that machine noise hits every variant alike.

    python bench/render_scaling.py --runs 3
"""

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCENE = Path(__file__).resolve().parents[1] / "tests/corefarm/scenes/cornell.xml"


def local_seconds(scene, size, samples, tiles):
    from corefarm.render.job import RenderJob
    from corefarm.render.local import LocalRunner, render_job
    from corefarm.scene import load_scene

    job = RenderJob.prepare(load_scene(scene), size=size, samples=samples)
    grid = job.grid(*tiles)
    runner = LocalRunner(job)  # compiled before the clock starts, as an agent's cache is
    start = time.perf_counter()
    render_job(job, grid, runner)
    return time.perf_counter() - start


def grid_seconds(scene, size, samples, tiles, agents):
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.png"
        done = subprocess.run(
            [sys.executable, "-m", "corefarm.cli", "render", str(scene), "-o", str(out),
             "--agents", str(agents), "--master-slots", "0", "--size", f"{size[0]}x{size[1]}",
             "--samples", str(samples), "--tiles", f"{tiles[0]}x{tiles[1]}", "--quiet"],
            capture_output=True, text=True, timeout=1800)
        if done.returncode != 0:
            raise SystemExit(f"corefarm render failed:\n{done.stderr}")
        return float(re.search(r"tiles, ([0-9.]+) s,", done.stderr).group(1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scene", type=Path, default=SCENE)
    parser.add_argument("--samples", type=int, default=16)
    parser.add_argument("--tiles", default="8x6")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    size, tiles = (640, 480), tuple(int(n) for n in args.tiles.split("x"))
    times = {"local": [], "grid, 1 agent": [], "grid, 2 agents": []}
    for run in range(args.runs):
        times["local"].append(local_seconds(args.scene, size, args.samples, tiles))
        times["grid, 1 agent"].append(grid_seconds(args.scene, size, args.samples, tiles, 1))
        times["grid, 2 agents"].append(grid_seconds(args.scene, size, args.samples, tiles, 2))
        print(f"run {run + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items()),
              flush=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"\n{args.scene.name} at {size[0]}x{size[1]}, {args.samples} spp, {tiles[0]}x{tiles[1]} tiles,"
          f" medians of {args.runs}:")
    for k, v in med.items():
        print(f"  {k:<15} {v:7.2f} s")
    print(f"  speedup 2 agents / 1 agent: {med['grid, 1 agent'] / med['grid, 2 agents']:.2f}x (target >= 1.8)")
    print(f"  distribution overhead:      {100 * (med['grid, 1 agent'] / med['local'] - 1):+.1f} % "
          f"(target <= 10 %)")


if __name__ == "__main__":
    main()
