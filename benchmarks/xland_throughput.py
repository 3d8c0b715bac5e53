"""XLand env-steps/s vs XLand-MiniGrid (``xminigrid`` 0.9.3, JAX) in the same invocation; table + JSON.

Configurations are ``LAYOUT-HxW:PRESET`` (default: R1-9x9 trivial and R4-13x13 trivial/small/medium/high).
Both sides run the same layout with per-env rulesets drawn from the same ruleset file (the shared
XLand-MiniGrid samples, ``--rulesets-dir``), random actions and auto-reset. Ours is timed two ways:
``raw`` (``XLandEnv.step_autoreset``: step kernel, masked level draw and reset kernels, no TorchRL) and
``torchrl`` (``step_and_maybe_reset`` with ``spec.rand()`` actions, what a collector calls). The peer runs
in a subprocess with the interpreter given by ``--peer-python`` or ``$ADA_XMINIGRID_PYTHON``
(``peers/xminigrid_bench.py``); without one only our figures are printed.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from results_io import write_results  # noqa: E402

DEFAULT_CONFIGS = ("R1-9x9:trivial", "R4-13x13:trivial", "R4-13x13:small", "R4-13x13:medium", "R4-13x13:high")
SAMPLES = Path(os.environ.get("ADA_XLAND_RULESETS", HERE.parent.parent / "shared" / "data" / "xland_rulesets"))


def ruleset_file(preset: str, root: Path) -> Path:
    """The sample ruleset file of a preset."""
    found = sorted(root.glob(f"{preset}_*.npz"))
    if not found:
        raise FileNotFoundError(f"no {preset}_*.npz in {root}")
    return found[0]


def make_env(config: str, num_envs: int, device: str, obs_format: str, source: str, root: Path):
    """Our env for ``LAYOUT-HxW:PRESET`` (rulesets from the sample file, or our generator with ``source='ours'``)."""
    from envs_warp.xland.config import XLandConfig
    from envs_warp.xland.env import XLandEnv

    layout, preset = config.split(":")
    kind, size = layout.split("-")
    h, w = (int(v) for v in size.split("x"))
    bench = preset if source == "ours" else str(ruleset_file(preset, root))
    cfg = XLandConfig(layout=kind, height=h, width=w, benchmark=bench, obs_format=obs_format)
    return XLandEnv(cfg, num_envs=num_envs, device=device, seed=0)


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def time_ours(env, steps: int, repeats: int, device: str) -> tuple[float, float]:
    """(raw, torchrl) env-steps/s, best of ``repeats`` after a warm-up."""
    n = env.num_envs
    actions = torch.randint(0, 6, (steps, n), device=device)
    env.reset()
    for t in range(min(steps, 10)):
        env.step_autoreset(actions[t])
    best_raw = float("inf")
    for _ in range(repeats):
        sync(device)
        t0 = time.perf_counter()
        for t in range(steps):
            env.step_autoreset(actions[t])
        sync(device)
        best_raw = min(best_raw, time.perf_counter() - t0)
    spec = env.full_action_spec
    td = env.reset()
    for _ in range(5):
        td.update(spec.rand())
        _, td = env.step_and_maybe_reset(td)
    best_trl = float("inf")
    for _ in range(repeats):
        sync(device)
        t0 = time.perf_counter()
        for _ in range(steps):
            td.update(spec.rand())
            _, td = env.step_and_maybe_reset(td)
        sync(device)
        best_trl = min(best_trl, time.perf_counter() - t0)
    return n * steps / best_raw, n * steps / best_trl


def time_peer(python: str, config: str, envs: list[int], steps: int, repeats: int, root: Path) -> dict[int, dict]:
    """The peer's rows for one configuration, by env count."""
    layout, preset = config.split(":")
    cmd = [python, str(HERE / "peers" / "xminigrid_bench.py"), "--layout", layout, "--rulesets",
           str(ruleset_file(preset, root)), "--envs", *map(str, envs), "--steps", str(steps), "--repeats", str(repeats)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env={**os.environ, "JAX_PLATFORMS": "cpu"})
    rows = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    return {r["num_envs"]: r for r in rows}


def main() -> None:
    """Time every configuration and env count, print the table, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--configs", nargs="+", default=list(DEFAULT_CONFIGS))
    parser.add_argument("--envs", type=int, nargs="+", default=[1024, 4096, 8192])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--peer-steps", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--obs-format", default="index", choices=("index", "onehot"))
    parser.add_argument("--source", default="samples", choices=("samples", "ours"),
                        help="our rulesets: the same sample files as the peer, or our on-device generator")
    parser.add_argument("--rulesets-dir", default=str(SAMPLES))
    parser.add_argument("--peer-python", default=os.environ.get("ADA_XMINIGRID_PYTHON"))
    parser.add_argument("--out", default=str(HERE / "results" / "xland_throughput.json"))
    args = parser.parse_args()
    root = Path(args.rulesets_dir)
    rows = []
    print(f"{'config':<20}{'envs':>6}{'raw M/s':>10}{'torchrl M/s':>13}{'peer M/s':>10}{'raw/peer':>10}{'trl/peer':>10}")
    for config in args.configs:
        peer = time_peer(args.peer_python, config, args.envs, args.peer_steps, args.repeats, root) if args.peer_python else {}
        for n in args.envs:
            env = make_env(config, n, args.device, args.obs_format, args.source, root)
            raw, trl = time_ours(env, args.steps, args.repeats, args.device)
            p = peer.get(n, {}).get("env_steps_per_s")
            row = {"config": config, "num_envs": n, "ours_raw_steps_per_s": raw, "ours_torchrl_steps_per_s": trl,
                   "peer_steps_per_s": p, "raw_over_peer": raw / p if p else None,
                   "torchrl_over_peer": trl / p if p else None, "obs_format": args.obs_format, "source": args.source,
                   "device": args.device, "obs_dim": env.cfg.obs_dim}
            rows.append(row)
            ratio = lambda v: f"{v:>10.1f}" if v else f"{'-':>10}"  # noqa: E731
            print(f"{config:<20}{n:>6}{raw / 1e6:>10.3f}{trl / 1e6:>13.3f}"
                  f"{(p or 0) / 1e6:>10.3f}{ratio(row['raw_over_peer'])}{ratio(row['torchrl_over_peer'])}", flush=True)
    write_results(args.out, rows, args.device, peer="xminigrid 0.9.3 (JAX CPU)" if args.peer_python else None,
                  steps=args.steps, peer_steps=args.peer_steps, threads=os.environ.get("ADA_WARP_CPU_THREADS"))


if __name__ == "__main__":
    main()
