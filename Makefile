# Two commands do all the set-up on a fresh machine with Python 3.11+, make and Node.js:
#   make run    serve the app on the embedded SQLite database (PORT=8123 make run)
#   make test   run every test
SHELL := /bin/bash
PORT ?= 8000
HOST ?= 127.0.0.1
UV_VERSION := 0.13.9
UV := $(or $(shell command -v uv 2>/dev/null),.bootstrap/bin/uv)
# The benchmark's --compare (and its test in tests/bench) installs REF with this same uv.
BENCH_UV ?= $(abspath $(UV))
export BENCH_UV
PY := .venv/bin/python
BENCH_WORKERS ?= 2
export UV_PYTHON_DOWNLOADS := never

.PHONY: run test test-faults lint fmt typecheck check bench assets clean

.bootstrap/bin/uv:
	python3 -m venv .bootstrap
	.bootstrap/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

# Bytecode compiled at install: where PYTHONDONTWRITEBYTECODE is set (as in many container
# images) every process would otherwise compile its imports from source at each start,
# doubling the start-up of each server worker (1.5 s -> 0.7 s of imports here).
.venv/.synced: pyproject.toml uv.lock | $(if $(filter .bootstrap/bin/uv,$(UV)),.bootstrap/bin/uv)
	$(UV) sync --locked --quiet --compile-bytecode
	@touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

src/todo/web/static/vendor/.built: node_modules/.package-lock.json scripts/build-assets.sh
	scripts/build-assets.sh
	@touch $@

assets: src/todo/web/static/vendor/.built

run: .venv/.synced assets
	@$(PY) -m compileall -q src
	$(PY) -m todo serve --host $(HOST) --port $(PORT)

test: .venv/.synced assets
	$(PY) -m pytest

# PostgreSQL stopped and restarted under load (a cluster of the test's own; needs the
# server binaries: initdb, pg_ctl). About 20 seconds.
test-faults: .venv/.synced
	$(PY) -m pytest -m faults tests/reliability

lint: .venv/.synced
	.venv/bin/ruff check src tests bench
	.venv/bin/ruff format --check src tests bench
	.venv/bin/lint-imports

fmt: .venv/.synced
	.venv/bin/ruff check --fix src tests bench
	.venv/bin/ruff format src tests bench

typecheck: .venv/.synced
	.venv/bin/mypy --strict src

# Load benchmark (about 10 minutes; BENCH_QUICK=1 for a 2-minute run): PostgreSQL at
# 127.0.0.1:5432 and SQLite, BENCH_WORKERS server processes; needs wrk (apt-get install wrk).
# ARGS="--compare REF" (or BENCH_COMPARE=REF) runs REF and this checkout side by side; REF is
# installed with this same uv.
bench: .venv/.synced
	@$(PY) -m compileall -q src
	$(PY) -m bench.run --workers $(BENCH_WORKERS) $(ARGS)

check: lint typecheck
	$(PY) -m todo db check

clean:
	rm -rf .venv .bootstrap node_modules src/todo/web/static/vendor .pytest_cache .mypy_cache
