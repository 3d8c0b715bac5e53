# Two entry points for a fresh machine: `make run` (the main job) and `make test` (the suite).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# Kinetix's 74 hand-designed levels (physics2d's held-out set): installed --no-deps, so only its files arrive
# (ada finds them with importlib's find_spec, never importing kinetix or jax)
KINETIX_LEVELS := kinetix-env==3.0.2

.PHONY: run demo test test-all bench venv clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	$(PY) -m pip install -q --no-deps $(KINETIX_LEVELS)
	touch $(STAMP)

venv: $(STAMP)

RUN := runs/lidarnav_gru
# One torch thread per process (every target): the Warp CPU launcher and the second test worker use the other core;
# two spinning torch threads beside them are ~10x slower on 2 cores. The README's figures are measured this way.
export OMP_NUM_THREADS ?= 1

# Main job: train PPO+GRU on random lidarnav maps (~10 min on 2 CPU cores), then evaluate on the
# hand-designed held-out maps against random and turn-to-goal baselines; everything under $(RUN)/.
run: $(STAMP)
	$(VENV)/bin/ada train --config experiments/configs/lidarnav_gru.yaml --trainer.default_root_dir $(RUN)
	$(VENV)/bin/ada eval --ckpt $(RUN)/checkpoints/last.ckpt --attempts 20
	$(VENV)/bin/ada eval --ckpt $(RUN)/checkpoints/last.ckpt --attempts 20 --policy random --gifs 0
	$(VENV)/bin/ada eval --ckpt $(RUN)/checkpoints/last.ckpt --attempts 20 --policy turn_to_goal --gifs 0
	$(PY) -m ada.report $(RUN)

demo: $(STAMP)
	$(PY) -m envs_warp.lidarnav.demo --out runs/demo

test: $(STAMP)
	$(PY) -m pytest -q -n 2 --dist loadgroup

test-all: $(STAMP)
	$(PY) -m pytest -q -n 2 --dist loadgroup -m ''

bench: $(STAMP)
	$(PY) benchmarks/env_throughput.py

clean:
	rm -rf $(VENV) runs
