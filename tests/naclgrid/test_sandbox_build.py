"""The C apps: one make target builds them, reproducibly, from the header."""

import subprocess
from pathlib import Path

import pytest
import wasmtime

import naclgrid

APPS = Path(naclgrid.__file__).resolve().parent / "apps"
HEADER = Path(naclgrid.__file__).resolve().parent / "include" / "naclgrid.h"


@pytest.mark.integration
def test_committed_wasm_is_what_make_builds():
    # `make check` rebuilds every app into a scratch dir and compares bytes.
    done = subprocess.run(["make", "-s", "-C", str(APPS), "check"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "reproducible: echo/echo.wasm" in done.stdout
    assert "reproducible: pi/pi.wasm" in done.stdout


@pytest.mark.integration
def test_every_header_helper_links_without_wasi_imports(tmp_path):
    source = tmp_path / "all.c"
    source.write_text("""#include "naclgrid.h"
        NG_ENTRY(go) {
            size_t len; char buf[64];
            uint8_t *data = ng_file_load("f", &len);
            ng_log("x"); ng_logf("%d %s %.2f", 1, "two", 3.0);
            ng_format(buf, sizeof buf, "%zu", len);
            ng_result_str(buf);
            ng_file_read("f", 0, buf, 1); ng_file_size("f");
            if (!data) return ng_failf("missing %s", "f");
            return ng_fail("no");
        }""")
    out = tmp_path / "all.wasm"
    subprocess.run(["clang", "--target=wasm32-wasi", "-O2", "-Wall", "-Werror", "-nostartfiles",
                    "-Wl,--no-entry", f"-I{HEADER.parent}", str(source), "-o", str(out)],
                   check=True, timeout=120)
    module = wasmtime.Module(wasmtime.Engine(), out.read_bytes())
    assert {i.module for i in module.imports} == {"naclgrid"}
    assert {e.name for e in module.exports} >= {"memory", "ng_alloc", "go"}
