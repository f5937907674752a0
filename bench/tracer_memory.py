"""Peak memory of rendering a generated 1M-triangle scene.

The master side builds the scene (a smooth displaced terrain of
``--triangles`` triangles, lit by a sun and a sky), packs it with its BVH and
reports time, scene.bin size and its own peak RSS. Then a fresh agent-like
process renders one tile through the naclgrid sandbox (a fresh wasm instance
loads scene.bin with file_read, exactly as on an agent) and reports its peak
RSS above its baseline, plus the wasm linear memory the tracer grew to. The
native build renders the same tile for comparison.

    python bench/tracer_memory.py [--triangles 1000000] [--size 160x120] [--samples 1]
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import math  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "plugins"))
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

MB = 1024 * 1024


def rss_peak_mb():
    """Peak RSS of this process image (VmHWM; unlike ru_maxrss it restarts
    at exec, so a child does not inherit the parent's peak)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def child_peak_mb(argv):
    """Run ARGV and return its peak RSS in MiB (polling VmHWM until it exits)."""
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0.0
    status = f"/proc/{proc.pid}/status"
    while proc.poll() is None:
        try:
            with open(status) as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]) / 1024.0)
        except OSError:
            break
        time.sleep(0.01)
    if proc.wait() != 0:
        raise RuntimeError(f"{argv[0]} failed")
    return peak


def terrain_scene(triangles):
    from corefarm.scene.background import build_background
    from corefarm.scene.camera import build_camera
    from corefarm.scene.errors import Warnings
    from corefarm.scene.lights import sun_from_sky
    from corefarm.scene.meshes import Mesh, build_geometry
    from corefarm.scene.model import Integrator, Material, RenderSettings, Scene
    from corefarm.scene.params import Params

    n = max(2, int(math.sqrt(triangles / 2)) + 1)            # n x n vertices
    xs = np.linspace(-10, 10, n)
    x, y = np.meshgrid(xs, xs)
    z = 0.8 * np.sin(x * 0.9) * np.cos(y * 0.7) + 0.25 * np.sin(x * 3.1 + y * 2.3)
    mesh = Mesh(1, 0, False, False, 1)
    mesh.positions = np.stack([x, y, z], -1).reshape(-1, 3)
    idx = np.arange(n * n).reshape(n, n)
    a, b, c, d = idx[:-1, :-1], idx[:-1, 1:], idx[1:, 1:], idx[1:, :-1]
    mesh.tri = np.concatenate([np.stack([a, b, c], -1).reshape(-1, 3),
                               np.stack([c, d, a], -1).reshape(-1, 3)])
    mesh.tri_uv = np.full((len(mesh.tri), 3), -1)
    mesh.tri_mat = np.ones(len(mesh.tri), dtype=np.int64)
    mesh.orco_arr, mesh.uv_arr = None, np.zeros((0, 2))
    mesh.smooth(181.0)
    geometry = build_geometry([mesh])
    warnings = Warnings()
    sky = Params("background", warnings)
    for key, value in (("type", "sunsky"), ("add_sun", "true"), ("background_light", "true")):
        sky.set(key, {"sval" if key == "type" else "bval": value})
    sky.set("from", {"x": "1", "y": "0.5", "z": "0.6"})
    background, sun = build_background("sky", sky, {}, warnings)
    raw = {"kind": "perspective", "from": (0, -16, 9), "to": (0, -15.2, 8.4),
           "up": (0, -15.4, 9.8), "resx": 640, "resy": 480, "aspect": 1.0, "focal": 1.1,
           "scale": 1.0, "aperture": 0.0, "dof_distance": 0.0, "angle": 90.0,
           "max_angle": 90.0, "circular": True, "mirrored": False}
    materials = [Material(name="defaultMat"), Material(name="Ground", color=(0.5, 0.45, 0.35))]
    return Scene(camera=build_camera(raw, None, warnings), render=RenderSettings(640, 480),
                 integrator=Integrator(), background=background, lights=sun,
                 materials=materials, nodes=[], textures=[], images=[], geometry=geometry,
                 warnings=warnings.as_list())


def agent(scene_bin, size, samples):
    """Child process: render one tile the way an agent does; print numbers."""
    from corefarm.render.request import TileRequest
    from corefarm.render.local import tracer_wasm
    from naclgrid.sandbox import Limits, Sandbox

    data = Path(scene_bin).read_bytes()
    box = Sandbox()
    app = box.load(tracer_wasm())
    w, h = size
    request = TileRequest("scene.bin", w, h, 0, 0, w, h, (0.0, 0.0, 640.0, 480.0), samples).encode()
    base = rss_peak_mb()
    start = time.perf_counter()
    out = box.run(app, "render_tile", request, files={"scene.bin": data},
                  limits=Limits(memory_bytes=2048 * MB, seconds=600))
    seconds = time.perf_counter() - start
    assert len(out) == w * h * 16
    print(f"{base:.1f} {rss_peak_mb():.1f} {seconds:.2f}")


def linear_memory(scene_bin, size, samples):
    """Bytes of wasm linear memory the tracer grows to for this scene."""
    sys.path.insert(0, str(ROOT / "bench"))
    from corefarm.render.request import TileRequest
    from corefarm.render.local import tracer_wasm
    from tracer_wasm_vs_native import PlainHost

    host = PlainHost(tracer_wasm(), {"scene.bin": Path(scene_bin).read_bytes()})
    store, inst = host._instance()
    w, h = size
    request = TileRequest("scene.bin", w, h, 0, 0, w, h, (0.0, 0.0, 640.0, 480.0), samples).encode()
    host.call(store, inst, "render_tile", request)
    return inst.exports(store)["memory"].data_len(store)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--triangles", type=int, default=1_000_000)
    ap.add_argument("--size", default="160x120")
    ap.add_argument("--samples", type=int, default=1)
    ap.add_argument("--agent", help=argparse.SUPPRESS)
    args = ap.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    if args.agent:
        agent(args.agent, size, args.samples)
        return

    from corefarm.scene import pack_scene
    base = rss_peak_mb()
    start = time.perf_counter()
    scene = terrain_scene(args.triangles)
    built = time.perf_counter() - start
    start = time.perf_counter()
    blob = pack_scene(scene)
    packed = time.perf_counter() - start
    tris = scene.geometry.triangle_count
    print(f"scene: {tris:,} triangles, {len(scene.geometry.positions):,} vertices")
    print(f"master: geometry {built:.1f} s, BVH + pack {packed:.1f} s, scene.bin "
          f"{len(blob) / MB:.1f} MiB, peak RSS {rss_peak_mb():.0f} MiB (baseline {base:.0f})")
    del scene
    with tempfile.TemporaryDirectory() as tmpdir:
        path = Path(tmpdir) / "scene.bin"
        path.write_bytes(blob)
        del blob
        out = subprocess.run([sys.executable, __file__, "--agent", str(path), "--size",
                              args.size, "--samples", str(args.samples)],
                             check=True, capture_output=True, text=True).stdout.split()
        agent_base, agent_peak, seconds = map(float, out)
        print(f"agent (sandbox, one {args.size} tile, {args.samples} spp): {seconds:.1f} s, "
              f"peak RSS {agent_peak:.0f} MiB = {agent_base:.0f} MiB baseline "
              f"+ {agent_peak - agent_base:.0f} MiB for the task")
        mem = linear_memory(path, size, args.samples)
        print(f"wasm linear memory after the tile: {mem / MB:.0f} MiB "
              f"({mem / tris:.0f} bytes per triangle)")
        tracer = ROOT / "plugins" / "corefarm" / "tracer"
        subprocess.run(["make", "-s", "-C", str(tracer), "native"], check=True)
        peak = child_peak_mb([str(tracer / "tracer_native"), str(path), "-s", args.size,
                              "-n", str(args.samples)])
        print(f"native tracer_native peak RSS: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
