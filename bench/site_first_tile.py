"""Time from clicking Submit to the first preview tile on the job page.

A real ``twistd -n gridhost`` farm with one idle native agent (one slot)
already polling; a member in headless chromium fills the Submit form with a
shared scene and clicks Submit. The clock stops when the job page shows a
preview with at least one rendered tile (its ``preview.png?tiles=N`` image,
N >= 1, has loaded). Medians over several submissions.

Baseline, measured in the same run on this machine: loading and packing the
same scene in-process plus rendering one tile of the size the master
chooses, with no network, no grid and no browser. The difference is what
the farm adds: upload, scene checks, calibration, scheduling, polling and
the preview's encoding.

    python bench/site_first_tile.py [--scene FILE] [--size 320x240] [--samples 8] [--runs 3]
"""

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from corefarm.render.job import RenderJob  # noqa: E402
from corefarm.render.local import LocalRunner, seconds_per_pixel  # noqa: E402
from corefarm.render.tiles import choose_grid  # noqa: E402
from corefarm.scene import load_scene  # noqa: E402
from tests.corefarm.browser_support import chromium, create_key, farm_server, join  # noqa: E402

SCENE = "/work/shared/yafaray-scenes/00_HANDMADE_minimal_249_style.xml"


def baseline(path, width, height, samples):
    """Seconds to load + pack the scene and render its first tile in-process."""
    data = Path(path).read_bytes()
    start = time.perf_counter()
    scene = load_scene(data, name=Path(path).name)
    job = RenderJob.prepare(scene, size=(width, height), samples=samples)
    prepared = time.perf_counter()
    runner = LocalRunner(job)
    cols, rows = choose_grid(width, height, seconds_per_pixel(job, runner))
    (task,) = job.tasks(job.grid(cols, rows)[:1])
    tile_start = time.perf_counter()
    runner.run(task)
    end = time.perf_counter()
    return (prepared - start) + (end - tile_start), cols * rows


def first_tile(page, base, scene, width, height, samples):
    page.goto(f"{base}/submit")
    page.set_input_files("#scene", scene)
    page.fill("#width", str(width))
    page.fill("#height", str(height))
    page.fill("#samples", str(samples))
    start = time.perf_counter()
    page.click("form.card button[type=submit]")
    page.wait_for_url(re.compile(r".*/jobs/[^/]+$"))
    preview = page.locator('[data-field="preview"]')
    preview.and_(page.locator('img[src*="tiles="]:not([src*="tiles=0"])')).wait_for(timeout=300_000)
    elapsed = time.perf_counter() - start
    page.locator('[data-field="state"]', has_text="done").wait_for(timeout=300_000)
    return elapsed


def stop(process):
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scene", default=SCENE)
    parser.add_argument("--size", default="320x240")
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    width, height = map(int, args.size.split("x"))

    base_runs = [baseline(args.scene, width, height, args.samples) for _ in range(args.runs)]
    base = statistics.median(t for t, _ in base_runs)
    tiles = base_runs[0][1]

    with tempfile.TemporaryDirectory() as tmp, farm_server(tmp) as server:
        agent = subprocess.Popen(
            [sys.executable, "-m", "gridhost.core.cli", "agent", "--url", server.url + "/naclgrid/",
             "--key", create_key(server, "agent", "bench-agent"), "--slots", "1", "--status", "off"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            with chromium() as browser:
                page = browser.new_page()
                join(page, server.url, "bench")
                first_tile(page, server.url, args.scene, width, height, args.samples)   # warm-up
                runs = [first_tile(page, server.url, args.scene, width, height, args.samples)
                        for _ in range(args.runs)]
        finally:
            stop(agent)

    median = statistics.median(runs)
    print(f"scene {Path(args.scene).name}, {width}x{height}, {args.samples} samples/pixel, "
          f"about {tiles} tiles; {args.runs} runs after one warm-up")
    print(f"baseline (load + pack + first tile, in-process): median {base:.2f} s "
          f"({', '.join(f'{t:.2f}' for t, _ in base_runs)})")
    print(f"Submit click -> first preview tile           : median {median:.2f} s "
          f"({', '.join(f'{t:.2f}' for t in runs)})")
    print(f"farm / baseline: {median / base:.2f}x (the farm adds {median - base:.2f} s)")


if __name__ == "__main__":
    main()
