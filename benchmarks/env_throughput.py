"""Env throughput: env-steps/s and robot-steps/s vs env count and robots, random actions, JSON output.

Steps go through TorchRL's ``step_and_maybe_reset`` (what a collector calls), so the figures include
masked auto-resets and TensorDict overhead. When a JaxNav peer is available (``jaxmarl`` importable,
or ``--peer-python``/``$ADA_JAXNAV_PYTHON`` naming an interpreter that has it) the same
configurations run there in the same invocation and the ratio is printed.

``--world physics2d`` times sizes S/M/L (``--sizes``) against a Kinetix peer instead; see
``physics2d_throughput.py``.
"""
from __future__ import annotations

import argparse
import importlib.util
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


def make_env(world: str, num_envs: int, agents: int, device: str, action_type: str):
    """A world's TorchRL env with the benchmark configuration."""
    if world == "lidarnav":
        from envs_warp.lidarnav.config import LidarNavConfig
        from envs_warp.lidarnav.env import LidarNavEnv

        return LidarNavEnv(LidarNavConfig.jaxnav(num_agents=agents, action_type=action_type), num_envs=num_envs,
                           device=device, seed=0)
    raise ValueError(f"unknown world {world!r}")


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def time_env(world: str, num_envs: int, agents: int, device: str, steps: int, action_type: str) -> dict:
    """Steps per second of one configuration (after a warm-up)."""
    env = make_env(world, num_envs, agents, device, action_type)
    spec = env.full_action_spec
    td = env.reset()
    for _ in range(5):
        td.update(spec.rand())
        _, td = env.step_and_maybe_reset(td)
    sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        td.update(spec.rand())
        _, td = env.step_and_maybe_reset(td)
    sync(device)
    dt = time.perf_counter() - t0
    sps = num_envs * steps / dt
    return {"world": world, "device": device, "num_envs": num_envs, "num_agents": agents, "steps": steps,
            "env_steps_per_s": sps, "robot_steps_per_s": sps * agents,
            "state_bytes_per_env": env.state_bytes_per_env()}


def peer_python(arg: str | None) -> str | None:
    """Interpreter that can run the JaxNav peer, or None."""
    if arg:
        return arg
    if os.environ.get("ADA_JAXNAV_PYTHON"):
        return os.environ["ADA_JAXNAV_PYTHON"]
    if importlib.util.find_spec("jaxmarl") is not None:
        return sys.executable
    return None


def run_peer(python: str, envs: list[int], agents: int, steps: int, action_type: str) -> list[dict]:
    """JaxNav figures for the same configurations, from its own interpreter."""
    cmd = [python, str(HERE / "peers" / "jaxnav_bench.py"), "--envs", *map(str, envs), "--agents", str(agents),
           "--steps", str(steps), "--action-type", action_type]
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "JAX_PLATFORMS": "cpu"})
    if proc.returncode != 0:
        print(f"peer failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
        return []
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


def main(argv: list[str] | None = None) -> None:
    """Print the table and write JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--world", default="lidarnav")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--envs", type=int, nargs="+")
    parser.add_argument("--agents", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--action-type", default=None, help="lidarnav: continuous; physics2d: multi_discrete")
    parser.add_argument("--peer-python", default=None)
    parser.add_argument("--peer-steps", type=int, default=20)
    parser.add_argument("--no-peer", action="store_true")
    parser.add_argument("--out", default=None)
    parser.add_argument("--sizes", nargs="+", default=None, help="physics2d capacities (default s m l)")
    parser.add_argument("--levels-dir", default=None, help="physics2d: Kinetix's bundled levels folder")
    parser.add_argument("--peer-json", default=None, help="physics2d: saved kinetix_bench.py output to compare with")
    parser.add_argument("--torch-threads", type=int, default=None, help="physics2d: torch intra-op threads (1)")
    args = parser.parse_args(argv)
    if args.world == "physics2d":
        from physics2d_throughput import run

        run(args)
        return
    args.action_type = args.action_type or "continuous"
    args.out = args.out or str(HERE / "results" / "env_throughput.json")
    gpu = args.device.startswith("cuda")
    envs = args.envs or ([64, 256, 1024, 4096, 16384] if gpu else [64, 256, 1024, 2048, 4096])
    peer = None if args.no_peer else peer_python(args.peer_python)
    rows = []
    header = f"{'world':>9} {'dev':>5} {'robots':>6} {'envs':>6} {'env-steps/s':>12} {'robot-steps/s':>14} {'B/env':>7}"
    if peer:
        header += f" {'jaxnav env-steps/s':>19} {'ratio':>7}"
    print(header)
    for agents in args.agents:
        peer_rows = {}
        if peer and args.world == "lidarnav":
            peer_rows = {r["num_envs"]: r for r in run_peer(peer, envs, agents, args.peer_steps, args.action_type)}
        for n in envs:
            row = time_env(args.world, n, agents, args.device, args.steps, args.action_type)
            line = (f"{row['world']:>9} {row['device']:>5} {agents:>6} {n:>6} {row['env_steps_per_s']:>12,.0f} "
                    f"{row['robot_steps_per_s']:>14,.0f} {row['state_bytes_per_env']:>7}")
            if n in peer_rows:
                row["peer"] = peer_rows[n]
                row["ratio_vs_peer"] = row["env_steps_per_s"] / peer_rows[n]["env_steps_per_s"]
                line += f" {peer_rows[n]['env_steps_per_s']:>19,.0f} {row['ratio_vs_peer']:>6.1f}x"
            print(line, flush=True)
            rows.append(row)
    write_results(args.out, rows, args.device)


if __name__ == "__main__":
    main()
