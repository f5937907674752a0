"""Tracer speed: the wasm build under wasmtime against the gcc build of the
same C, on the same scene and tile.

Both builds count the rays they trace (camera, shadow, reflection, AO...)
and do the same work, so rays/s compare directly. wasm runs once without
fuel metering (plain wasmtime, an instance kept for the ``stats`` entry)
and once through the naclgrid sandbox exactly as an agent runs a tile
(fresh instance, fuel on). One thread each: per-core numbers, from CPU time
(the machine is shared, wall-clock time is printed too). Medians of RUNS
runs per scene. Target: wasm >= 0.75x native.

    python bench/tracer_wasm_vs_native.py [--scene FILE ...] [--size 320x240] [--samples 2] [--runs 5]
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")   # numpy's idle threads steal the core

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "plugins"))
sys.path.insert(0, str(ROOT))

import wasmtime  # noqa: E402

from corefarm.render.job import RenderJob  # noqa: E402
from corefarm.render.local import LocalRunner, tracer_wasm  # noqa: E402
from corefarm.render.tiles import Tile  # noqa: E402
from corefarm.scene import load_scene  # noqa: E402

TRACER = ROOT / "plugins" / "corefarm" / "tracer"
DEFAULT_SCENES = ["/work/shared/yafaray-scenes/01_rhino-yafaray_2010_scene.xml",
                  str(ROOT / "tests" / "corefarm" / "scenes" / "features.xml")]


class PlainHost:
    """The naclgrid ABI on plain wasmtime (no fuel, no limits), keeping one
    instance so the ``stats`` entry can report the rays it traced."""

    def __init__(self, module_bytes, files):
        self.engine = wasmtime.Engine()
        self.module = wasmtime.Module(self.engine, module_bytes)
        self.files = files
        self.result = b""

    def _instance(self):
        store = wasmtime.Store(self.engine)
        linker = wasmtime.Linker(self.engine)
        mem = {}

        def name(ptr, n):
            return bytes(mem["m"].read(store, ptr, ptr + n)).decode()

        def file_size(ptr, n):
            data = self.files.get(name(ptr, n))
            return -1 if data is None else len(data)

        def file_read(ptr, n, off, dst, dlen):
            data = self.files.get(name(ptr, n))
            if data is None:
                return -1
            chunk = data[off:off + dlen]
            mem["m"].write(store, chunk, dst)
            return len(chunk)

        def set_result(ptr, n):
            self.result = bytes(mem["m"].read(store, ptr, ptr + n))

        i32, i64 = wasmtime.ValType.i32(), wasmtime.ValType.i64()
        linker.define_func("naclgrid", "log", wasmtime.FuncType([i32, i32], []), lambda p, n: None)
        linker.define_func("naclgrid", "file_size", wasmtime.FuncType([i32, i32], [i64]), file_size)
        linker.define_func("naclgrid", "file_read",
                           wasmtime.FuncType([i32, i32, i64, i32, i32], [i32]), file_read)
        linker.define_func("naclgrid", "set_result", wasmtime.FuncType([i32, i32], []), set_result)
        linker.define_func("naclgrid", "set_error", wasmtime.FuncType([i32, i32], []),
                           lambda p, n: None)
        inst = linker.instantiate(store, self.module)
        mem["m"] = inst.exports(store)["memory"]
        return store, inst

    def call(self, store, inst, entry, data):
        ex = inst.exports(store)
        ptr = ex["ng_alloc"](store, len(data))
        ex["memory"].write(store, data, ptr)
        rc = ex[entry](store, ptr, len(data))
        if rc != 0:
            raise RuntimeError(f"{entry} returned {rc}")
        return self.result

    def render(self, request):
        """(rays, cpu seconds, wall seconds) for one tile."""
        store, inst = self._instance()
        cpu, wall = time.thread_time(), time.perf_counter()
        self.call(store, inst, "render_tile", request)
        cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
        rays = int.from_bytes(self.call(store, inst, "stats", b""), "little")
        return rays, cpu, wall


def native_build(tmp):
    for path in TRACER.iterdir():
        if path.suffix in (".c", ".h") or path.name == "Makefile":
            (tmp / path.name).write_bytes(path.read_bytes())
    subprocess.run(["make", "-s", "-C", str(tmp), "native"], check=True)
    return tmp / "tracer_native"


def bench_scene(path, size, samples, runs, native):
    w, h = size
    job = RenderJob.prepare(load_scene(path), size=size, samples=samples)
    tile = Tile(0, 0, w, h)
    request = job.request(tile)
    with tempfile.TemporaryDirectory() as tmpdir:
        scene_bin = Path(tmpdir) / "scene.bin"
        scene_bin.write_bytes(job.scene_bin)
        host = PlainHost(tracer_wasm(), job.files)
        runner = LocalRunner(job)
        (task,) = job.tasks([tile])
        native_cpu, native_wall, wasm_cpu, wasm_wall, box_cpu = [], [], [], [], []
        for _ in range(runs):          # interleaved, so load changes hit both alike
            out = subprocess.run([str(native), str(scene_bin), "-s", f"{w}x{h}",
                                  "-n", str(samples)], check=True, capture_output=True,
                                 text=True).stdout.split()
            native_rays = int(out[1])
            native_wall.append(native_rays / float(out[3]))
            native_cpu.append(native_rays / float(out[7]))
            wasm_rays, cpu, wall = host.render(request)
            wasm_cpu.append(wasm_rays / cpu)
            wasm_wall.append(wasm_rays / wall)
            cpu = time.thread_time()
            runner.run(task)
            box_cpu.append(wasm_rays / (time.thread_time() - cpu))
    med = statistics.median
    n, wm, sb = med(native_cpu), med(wasm_cpu), med(box_cpu)
    print(f"{Path(path).name} {w}x{h} {samples} spp, {runs} runs, medians "
          f"(rays per tile: native {native_rays}, wasm {wasm_rays})")
    print(f"  native (gcc)              {n / 1e6:7.3f} Mrays/s per core "
          f"(wall {med(native_wall) / 1e6:.3f})")
    print(f"  wasm, wasmtime (no fuel)  {wm / 1e6:7.3f} Mrays/s per core "
          f"(wall {med(wasm_wall) / 1e6:.3f})   ratio {wm / n:.2f}")
    print(f"  wasm, naclgrid sandbox    {sb / 1e6:7.3f} Mrays/s per core"
          f"                  ratio {sb / n:.2f}")
    return wm / n, sb / n


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scene", nargs="*", default=DEFAULT_SCENES)
    ap.add_argument("--size", default="320x240")
    ap.add_argument("--samples", type=int, default=2)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory() as tmpdir:
        native = native_build(Path(tmpdir))
        ratios = [bench_scene(p, size, args.samples, args.runs, native) for p in args.scene]
    worst = min(r[0] for r in ratios)
    print(f"wasm/native (wasmtime): {', '.join(f'{r[0]:.2f}' for r in ratios)}; "
          f"target >= 0.75 -> {'met' if worst >= 0.75 else 'NOT met'} for every scene")


if __name__ == "__main__":
    main()
