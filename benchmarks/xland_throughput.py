"""XLand env-steps/s vs XLand-MiniGrid (``xminigrid`` 0.9.3, JAX) in the same invocation; table + JSON.

Configurations are ``LAYOUT-HxW:PRESET`` (default: R1-9x9 trivial and R4-13x13 trivial/small/medium/high).
Both sides run the same layout with per-env rulesets drawn from the same ruleset file (the shared
XLand-MiniGrid samples, ``--rulesets-dir``), random actions drawn before the timed loop and auto-reset.
Ours is timed two ways: ``raw`` (``XLandEnv.step_autoreset``: one kernel launch per step doing step, level
draw and reset, no TorchRL) and ``torchrl`` (``step_and_maybe_reset``, what a collector calls; the actions
are written into the TensorDict, so a policy's cost is not counted on either side). The peer runs in a
subprocess with the interpreter given by ``--peer-python`` or ``$ADA_XMINIGRID_PYTHON``
(``peers/xminigrid_bench.py``); without one only our figures are printed. ``--baseline-tree DIR`` also
times another checkout's ``envs_warp`` with this same script, config by config (before/after figures).

Threads: ours launches each kernel over ``threads`` row chunks on that many CPU threads (Warp's native call
releases the GIL; ``$ADA_WARP_CPU_THREADS``, default the usable cores); ``cpu/wall`` columns give the
process CPU time over wall time of each side's timed loops, i.e. the cores each side actually kept busy.
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


def time_ours(env, steps: int, repeats: int, device: str) -> dict:
    """Raw and TorchRL env-steps/s (best of ``repeats`` after a warm-up) and each loop's CPU time over wall time."""
    n = env.num_envs
    gen = torch.Generator(device="cpu").manual_seed(0)
    actions = torch.randint(0, 6, (steps, n), generator=gen).to(device)  # [T, N]

    def best_of(run_steps) -> tuple[float, float]:
        best, cpu, wall = float("inf"), 0.0, 0.0
        for _ in range(repeats):
            sync(device)
            t0, c0 = time.perf_counter(), time.process_time()
            run_steps()
            sync(device)
            dt = time.perf_counter() - t0
            best, cpu, wall = min(best, dt), cpu + time.process_time() - c0, wall + dt
        return n * steps / best, cpu / wall

    def raw() -> None:
        for t in range(steps):
            env.step_autoreset(actions[t])

    env.reset()
    for t in range(min(steps, 10)):
        env.step_autoreset(actions[t])
    raw_rate, raw_cpu = best_of(raw)
    td = env.reset()
    key = ("agents", "action")
    for t in range(5):
        td.set(key, actions[t].view(n, 1))
        _, td = env.step_and_maybe_reset(td)

    def torchrl() -> None:
        nonlocal td
        for t in range(steps):
            td.set(key, actions[t].view(n, 1))
            _, td = env.step_and_maybe_reset(td)

    trl_rate, trl_cpu = best_of(torchrl)
    return {"ours_raw_steps_per_s": raw_rate, "ours_torchrl_steps_per_s": trl_rate, "ours_raw_cpu_per_wall": raw_cpu,
            "ours_torchrl_cpu_per_wall": trl_cpu}


def time_baseline(tree: Path, config: str, args: argparse.Namespace) -> dict[int, dict]:
    """This script's rows for one configuration with ``tree``'s ``envs_warp`` (no peer), by env count."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "rows.json"
        cmd = [sys.executable, str(Path(__file__).resolve()), "--configs", config, "--envs", *map(str, args.envs),
               "--steps", str(args.steps), "--repeats", str(args.repeats), "--device", args.device, "--obs-format",
               args.obs_format, "--source", args.source, "--rulesets-dir", args.rulesets_dir, "--out", str(out),
               "--peer-python", ""]
        env = {**os.environ, "PYTHONPATH": str(tree.resolve())}
        subprocess.run(cmd, check=True, capture_output=True, text=True, env=env, cwd=str(tree))
        rows = json.loads(out.read_text())["rows"]
    return {r["num_envs"]: r for r in rows}


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
    parser.add_argument("--peer-python", default=os.environ.get("ADA_XMINIGRID_PYTHON"),
                        help="interpreter with xminigrid 0.9.3 ('' or unset: no peer)")
    parser.add_argument("--baseline-tree", default=None,
                        help="another checkout (e.g. a git worktree of an older commit) whose envs_warp is timed too")
    parser.add_argument("--out", default=str(HERE / "results" / "xland_throughput.json"))
    args = parser.parse_args()
    import envs_warp

    where = f"ours: {Path(envs_warp.__file__).parent.parent}"
    print(where + (f"; baseline: {args.baseline_tree}" if args.baseline_tree else ""))
    root = Path(args.rulesets_dir)
    rows = []
    base_cols = f"{'base raw':>10}{'base trl':>10}" if args.baseline_tree else ""
    print(f"{'config':<20}{'envs':>6}{'thr':>4}{'raw M/s':>9}{'trl M/s':>9}{base_cols}{'peer M/s':>10}"
          f"{'raw/peer':>9}{'trl/peer':>9}{'cpu/wall ours':>14}{'peer':>6}")
    ratio = lambda v: f"{v:>9.1f}" if v else f"{'-':>9}"  # noqa: E731
    for config in args.configs:
        peer = (time_peer(args.peer_python, config, args.envs, args.peer_steps, args.repeats, root)
                if args.peer_python else {})
        base = time_baseline(Path(args.baseline_tree), config, args) if args.baseline_tree else {}
        for n in args.envs:
            env = make_env(config, n, args.device, args.obs_format, args.source, root)
            ours = time_ours(env, args.steps, args.repeats, args.device)
            raw, trl = ours["ours_raw_steps_per_s"], ours["ours_torchrl_steps_per_s"]
            p = peer.get(n, {}).get("env_steps_per_s")
            b = base.get(n, {})
            row = {"config": config, "num_envs": n, **ours, "threads": len(env.launcher.bounds),
                   "peer_steps_per_s": p, "peer_cpu_per_wall": peer.get(n, {}).get("cpu_per_wall"),
                   "raw_over_peer": raw / p if p else None, "torchrl_over_peer": trl / p if p else None,
                   "baseline_raw_steps_per_s": b.get("ours_raw_steps_per_s"),
                   "baseline_torchrl_steps_per_s": b.get("ours_torchrl_steps_per_s"),
                   "obs_format": args.obs_format, "source": args.source, "device": args.device,
                   "obs_dim": env.cfg.obs_dim}
            rows.append(row)
            base_vals = (f"{(b.get('ours_raw_steps_per_s') or 0) / 1e6:>10.3f}"
                         f"{(b.get('ours_torchrl_steps_per_s') or 0) / 1e6:>10.3f}") if args.baseline_tree else ""
            pcpu = row["peer_cpu_per_wall"]
            print(f"{config:<20}{n:>6}{row['threads']:>4}{raw / 1e6:>9.3f}{trl / 1e6:>9.3f}{base_vals}"
                  f"{(p or 0) / 1e6:>10.3f}{ratio(row['raw_over_peer'])}{ratio(row['torchrl_over_peer'])}"
                  f"{ours['ours_raw_cpu_per_wall']:>9.2f}/{ours['ours_torchrl_cpu_per_wall']:.2f}"
                  f"{(f'{pcpu:.2f}' if pcpu else '-'):>6}", flush=True)
    write_results(args.out, rows, args.device, peer="xminigrid 0.9.3 (JAX CPU)" if args.peer_python else None,
                  steps=args.steps, peer_steps=args.peer_steps, threads=os.environ.get("ADA_WARP_CPU_THREADS"),
                  baseline_tree=args.baseline_tree, load_avg=os.getloadavg())


if __name__ == "__main__":
    main()
