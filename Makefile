# Two entry points for a fresh machine: `make run` (the main job) and `make test` (the suite).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test test-all bench venv clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(PY) -m envs_warp.lidarnav.demo --out runs/demo

test: $(STAMP)
	$(PY) -m pytest -q -n 2 --dist loadgroup

test-all: $(STAMP)
	$(PY) -m pytest -q -n 2 --dist loadgroup -m ''

bench: $(STAMP)
	$(PY) benchmarks/env_throughput.py

clean:
	rm -rf $(VENV) runs
