# The two commands of the README:
#   make demo   install into .venv and serve the render farm at http://localhost:8080/
#   make test   install system tools and .venv, then run every test
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test install wasm wasm-check clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install -q ".[test]"

demo: install
	$(BIN)/twistd -n --pidfile= gridhost

test: install
	./scripts/install-system-deps.sh
	$(BIN)/python -m pytest -p no:cacheprovider

# Rebuild every WebAssembly module from its C source (clang, lld, wasi-libc).
wasm:
	$(MAKE) -C plugins/naclgrid/apps
	$(MAKE) -C plugins/corefarm/tracer

# The committed .wasm files must be exactly what the sources build.
wasm-check: wasm
	git diff --exit-code --stat -- '*.wasm'

clean:
	rm -rf $(VENV) build *.egg-info
