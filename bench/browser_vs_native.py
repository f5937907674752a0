"""Browser volunteer throughput against a native agent, on the same tiles.

A real ``twistd -n gridhost`` farm; the same render job (a shared scene,
packed once, split into tiles) is rendered by one native agent with one
slot, and by one Participate tab in headless chromium with one Web Worker.
Each side first renders a warm-up job (module compile, file download), then
``RUNS`` measured jobs: the time from start_job until every tile's result is
in. Prints tiles/s per side (medians) and the browser/native ratio; the
target is at least 0.6.

    python bench/browser_vs_native.py [--scene FILE] [--size 320x240] [--tiles 4x3] [--samples 8] [--runs 3]
"""

import argparse
import base64
import json
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from corefarm.render.job import RenderJob  # noqa: E402
from corefarm.scene import load_scene  # noqa: E402
from tests.corefarm.browser_support import chromium, farm_server  # noqa: E402

SCENE = "/work/shared/yafaray-scenes/00_HANDMADE_minimal_249_style.xml"


class Api:
    def __init__(self, base, key):
        self.base, self.key = base, key

    def call(self, method, path, body=None, kind="application/x-www-form-urlencoded", timeout=120):
        headers = {"Authorization": f"Bearer {self.key}"}
        if body is not None:
            headers["Content-Type"] = kind
        request = urllib.request.Request(self.base + path, data=body, headers=headers, method=method)
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())

    def json(self, path, value, timeout=120):
        return self.call("POST", path, json.dumps(value).encode(), "application/json", timeout)


def make_job(api, job, tasks):
    """A yafaray job with its tiles forked, not started yet (so the farm's
    watcher leaves it alone: it already has tasks)."""
    job_id = api.call("POST", "new_job", b"application=yafaray&lease_seconds=120")["job_id"]
    for name, data in job.files.items():
        boundary = "benchboundary"
        body = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
                f"Content-Type: application/octet-stream\r\n\r\n").encode() + data + \
            f"\r\n--{boundary}--\r\n".encode()
        api.call("POST", f"drop_file?job_id={job_id}", body, f"multipart/form-data; boundary={boundary}")
    api.json(f"fork_many?job_id={job_id}", {"tasks": [
        {"entry": t.entry, "input_b64": base64.b64encode(t.input).decode()} for t in tasks]})
    return job_id


def run_job(api, job, tasks):
    """Seconds from start_job until every tile is done."""
    job_id = make_job(api, job, tasks)
    slots = list(range(len(tasks)))
    start = time.perf_counter()
    api.call("POST", f"start_job?job_id={job_id}", b"input=bench")
    while True:
        answer = api.json(f"fetch_many?job_id={job_id}", {"slots": slots, "wait": 30})
        states = [r["state"] for r in answer["results"]]
        if any(s == "failed" for s in states):
            raise RuntimeError(f"a tile failed: {answer['results']}")
        if all(s == "done" for s in states):
            elapsed = time.perf_counter() - start
            api.call("POST", f"stop_job?job_id={job_id}", b"")
            return elapsed


def measure(api, job, tasks, runs):
    run_job(api, job, tasks)                       # warm-up: compile, downloads
    return [run_job(api, job, tasks) for _ in range(runs)]


def stop(process):
    process.terminate()
    try:
        process.wait(30)            # the agent finishes and delivers what it holds
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scene", default=SCENE)
    parser.add_argument("--size", default="320x240")
    parser.add_argument("--tiles", default="4x3")
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    width, height = map(int, args.size.split("x"))
    cols, rows = map(int, args.tiles.split("x"))
    scene = load_scene(args.scene)
    job = RenderJob.prepare(scene, size=(width, height), samples=args.samples)
    tasks = list(job.tasks(job.grid(cols, rows)))
    print(f"scene {Path(args.scene).name}, {width}x{height}, {args.samples} samples/pixel, "
          f"{len(tasks)} tiles, {args.runs} runs per side after one warm-up")

    with tempfile.TemporaryDirectory() as tmp, farm_server(tmp) as server:
        admin = (Path(tmp) / "data" / "admin.key").read_text().strip()
        api = Api(server.url + "/naclgrid/", admin)
        agent_key = subprocess.run(
            [sys.executable, "-m", "gridhost.core.cli", "keys", "create", "--role", "agent",
             "--user", "bench-native", "--config", str(server.config_path)],
            capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
        agent = subprocess.Popen(
            [sys.executable, "-m", "gridhost.core.cli", "agent", "--url", api.base, "--key", agent_key,
             "--slots", "1", "--prefetch", "0", "--status", "off", "--node", "bench-native"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            native = measure(api, job, tasks, args.runs)
        finally:
            stop(agent)
        time.sleep(1.0)

        with chromium() as browser:
            page = browser.new_page()
            page.goto(server.url + "/participate")
            page.fill("#workers", "1")
            page.click('[data-action="start"]')
            page.locator(".workers li", has_text="waiting for a tile").wait_for(timeout=30_000)
            web = measure(api, job, tasks, args.runs)
            page.click('[data-action="pause"]')

    n = len(tasks)
    native_rate = n / statistics.median(native)
    web_rate = n / statistics.median(web)
    print(f"native agent, 1 slot : median {statistics.median(native):.2f} s "
          f"({', '.join(f'{t:.2f}' for t in native)}) = {native_rate:.2f} tiles/s")
    print(f"browser, 1 worker    : median {statistics.median(web):.2f} s "
          f"({', '.join(f'{t:.2f}' for t in web)}) = {web_rate:.2f} tiles/s")
    print(f"browser / native     : {web_rate / native_rate:.2f} (target >= 0.60)")


if __name__ == "__main__":
    main()
