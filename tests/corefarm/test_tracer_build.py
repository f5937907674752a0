"""tracer.wasm: reproducible build, ABI shape, and the native build."""

import hashlib
import shutil
import subprocess

import pytest
import wasmtime

from .tracer_support import ROOT, TRACER_DIR

pytestmark = pytest.mark.integration


def _copy_sources(dest):
    for path in TRACER_DIR.iterdir():
        if path.suffix in (".c", ".h") or path.name == "Makefile":
            shutil.copy(path, dest / path.name)


def test_make_rebuilds_the_committed_wasm_byte_for_byte(tmp_path):
    _copy_sources(tmp_path)
    include = ROOT / "plugins" / "naclgrid" / "include"
    subprocess.run(["make", "-s", "-C", str(tmp_path), f"NACLGRID_INCLUDE={include}"],
                   check=True, capture_output=True)
    built = (tmp_path / "tracer.wasm").read_bytes()
    committed = (TRACER_DIR / "tracer.wasm").read_bytes()
    assert hashlib.sha256(built).hexdigest() == hashlib.sha256(committed).hexdigest()


def test_wasm_imports_only_the_naclgrid_abi():
    module = wasmtime.Module(wasmtime.Engine(), (TRACER_DIR / "tracer.wasm").read_bytes())
    assert {(i.module, i.name) for i in module.imports} <= {
        ("naclgrid", n) for n in ("log", "file_size", "file_read", "set_result", "set_error")}
    assert {"memory", "ng_alloc", "render_tile", "stats"} <= {e.name for e in module.exports}


def test_sandbox_accepts_the_module():
    from naclgrid.sandbox import Sandbox
    app = Sandbox().load((TRACER_DIR / "tracer.wasm").read_bytes())
    assert {"render_tile", "stats"} <= set(app.entries)


def test_native_build_compiles_and_renders(tmp_path):
    from corefarm.scene import load_scene, pack_scene

    from .tracer_support import shared_scene
    _copy_sources(tmp_path)
    subprocess.run(["make", "-s", "-C", str(tmp_path), "native"], check=True, capture_output=True)
    scene_bin = tmp_path / "scene.bin"
    scene_bin.write_bytes(pack_scene(load_scene(shared_scene("04"))))
    out = subprocess.run([str(tmp_path / "tracer_native"), str(scene_bin), "-s", "48x27",
                          "-n", "1", "-o", str(tmp_path / "out.f32")],
                         check=True, capture_output=True, text=True)
    assert out.stdout.startswith("rays ")
    assert (tmp_path / "out.f32").stat().st_size == 48 * 27 * 16
