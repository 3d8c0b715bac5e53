"""Compile time of the physics2d Warp kernel modules: cold (empty kernel cache) and cached load, in fresh processes.

    python benchmarks/physics2d_compile.py [--device cpu] [--out results/physics2d_compile.json]

Targets (issue): cold under 30 s on CPU, cached load under 1 s.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from results_io import write_results  # noqa: E402

# the physics2d pipeline stages that hold Warp kernels (``types`` holds only structs and functions)
KERNEL_MODULES = ("collision", "solver", "level_load", "task", "observations")

PROBE = """
import importlib, json, sys, time
t0 = time.perf_counter()
from envs_warp.core.warp_runtime import init_warp
init_warp()
import warp as wp
t1 = time.perf_counter()
for name in sys.argv[2:]:
    wp.load_module(importlib.import_module("envs_warp.physics2d." + name), device=sys.argv[1])
t2 = time.perf_counter()
print(json.dumps({"init_s": t1 - t0, "load_module_s": t2 - t1}))
"""


def probe(cache: str, device: str) -> dict:
    """Time Warp init and loading the physics2d kernel modules in a fresh interpreter with kernel cache ``cache``."""
    env = {**os.environ, "ADA_WARP_CACHE": cache}
    proc = subprocess.run([sys.executable, "-c", PROBE, device, *KERNEL_MODULES], capture_output=True, text=True,
                          env=env, cwd=HERE.parent)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    """Print cold and cached load times and write JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", default=str(HERE / "results" / "physics2d_compile.json"))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ada-warp-cold-") as cache:
        cold = probe(cache, args.device)
        cached = probe(cache, args.device)
    rows = [{"what": "cold", **cold}, {"what": "cached", **cached}]
    for r in rows:
        print(f"{r['what']:>7}: physics2d kernels {r['load_module_s']:6.2f} s (Warp init {r['init_s']:.2f} s)")
    write_results(args.out, rows, args.device)


if __name__ == "__main__":
    main()
