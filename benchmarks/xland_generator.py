"""Our ruleset generator vs XLand-MiniGrid's: rulesets/s and statistics against the shipped samples.

For every preset: draw as many distinct rulesets as the shipped sample holds with our on-device generator
(``generate_benchmark``) and compare rules per ruleset, initial objects, chain depth and goal types with the
sample (means and total-variation distances of the histograms). With ``--peer-python`` and ``--upstream-script``
(upstream's ``scripts/ruleset_generator.py`` from a checkout) upstream's generator is timed on ``--peer-count``
rulesets in the same invocation and its fresh output is compared too. Prints a table, writes JSON.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from results_io import write_results  # noqa: E402

SAMPLES = Path(os.environ.get("ADA_XLAND_RULESETS", HERE.parent.parent / "shared" / "data" / "xland_rulesets"))
KEYS = ("rules_hist", "tiles_hist", "depth_hist", "goal_hist")


def tv(a: dict, b: dict) -> dict[str, float]:
    """Total-variation distance of each histogram."""
    return {k.replace("_hist", "_tv"): round(0.5 * float(np.abs(np.array(a[k]) - np.array(b[k])).sum()), 4) for k in KEYS}


def main() -> None:
    """Every preset: rates, statistics, table, JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--presets", nargs="+", default=["trivial", "small", "medium", "high"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--peer-python", default=os.environ.get("ADA_XMINIGRID_PYTHON"))
    parser.add_argument("--upstream-script", default=os.environ.get("ADA_XMINIGRID_GENERATOR"))
    parser.add_argument("--peer-count", type=int, default=300)
    parser.add_argument("--out", default=str(HERE / "results" / "xland_generator.json"))
    args = parser.parse_args()
    from envs_warp.xland.config import PRESETS, XLandConfig
    from envs_warp.xland.generator import generate_benchmark, ruleset_stats
    from envs_warp.xland.rulesets import level_schema, load_rulesets

    rows = []
    print(f"{'preset':<9}{'n':>7}{'ours/s':>11}{'peer/s':>9}  rules (sample/ours)  objects      depth        TV ours")
    for name in args.presets:
        path = sorted(SAMPLES.glob(f"{name}_*.npz"))[0]
        cfg = XLandConfig(layout="R1", height=13, width=13, benchmark=name)
        shipped = load_rulesets(path, cfg)
        n = shipped.batch_size[0]
        t0 = time.perf_counter()
        ours = generate_benchmark(PRESETS[name], n, args.seed, level_schema(cfg).empty(n))
        ours_rate = n / (time.perf_counter() - t0)
        a, b = ruleset_stats(shipped), ruleset_stats(ours)
        row = {"preset": name, "count": n, "ours_rulesets_per_s": ours_rate, "sample": a, "ours": b, "ours_vs_sample": tv(a, b)}
        if args.peer_python and args.upstream_script:
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp) / "peer.npz"
                run = subprocess.run([args.peer_python, str(HERE / "peers" / "xminigrid_generate.py"), "--script",
                                      args.upstream_script, "--preset", name, "--count", str(args.peer_count), "--out",
                                      str(out)], check=True, capture_output=True, text=True,
                                     env={**os.environ, "JAX_PLATFORMS": "cpu"})
                peer = json.loads(run.stdout.strip().splitlines()[-1])
                fresh = ruleset_stats(load_rulesets(out, cfg))
            row.update(peer_rulesets_per_s=peer["rulesets_per_s"], peer_fresh=fresh, peer_fresh_vs_sample=tv(a, fresh))
        rows.append(row)
        peer_rate = row.get("peer_rulesets_per_s")
        print(f"{name:<9}{n:>7}{ours_rate:>11.0f}{(peer_rate or 0):>9.1f}  {a['rules_mean']:.2f}/{b['rules_mean']:.2f}"
              f"{'':>10}{a['tiles_mean']:.2f}/{b['tiles_mean']:.2f}  {a['depth_mean']:.2f}/{b['depth_mean']:.2f}"
              f"  {row['ours_vs_sample']}", flush=True)
    write_results(args.out, rows, "cpu", seed=args.seed)


if __name__ == "__main__":
    main()
