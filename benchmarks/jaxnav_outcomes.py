"""Outcome statistics of scripted policies, ours vs JaxNav, for both presets: goal / collision / timeout rates.

For each preset (``jaxnav``: jaxmarl 0.2 package defaults; ``jaxnav_paper``: the SFL paper's
environment), robot count and policy (uniform random actions, turn-to-goal), ``--episodes`` random
levels play one episode each on both sides, from each side's own level generator (same distribution,
not the same levels). Per-robot outcome rates come from ``("agents", "outcome")`` here and from
JaxNav's per-agent infos there (``peers/jaxnav_outcomes.py``, run with the interpreter from
``--peer-python`` or ``$ADA_JAXNAV_PYTHON``). Prints a table and writes JSON.

Example::

    python benchmarks/jaxnav_outcomes.py --peer-python ~/peers/jaxnav/bin/python --episodes 1024
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import torch

from envs_warp.lidarnav import task
from envs_warp.lidarnav.config import LidarNavConfig
from envs_warp.lidarnav.env import LidarNavEnv
from envs_warp.lidarnav.policies import RandomPolicy, TurnToGoal

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from env_throughput import peer_python  # noqa: E402
from results_io import write_results  # noqa: E402

PRESETS = {"jaxnav": LidarNavConfig.jaxnav, "jaxnav_paper": LidarNavConfig.jaxnav_paper}
RATES = ("goal", "map_collision", "robot_collision", "timeout")  # reported per robot


def run_ours(preset: str, agents: int, policy: str, episodes: int, seed: int) -> dict:
    """Outcome counts ``[5]`` over all robots and the mean episode length: one episode in each of ``episodes`` rows."""
    cfg = PRESETS[preset](num_agents=agents)
    env = LidarNavEnv(cfg, num_envs=episodes, seed=seed)
    torch.manual_seed(seed)
    act = RandomPolicy(env) if policy == "random" else TurnToGoal(cfg)
    td = env.reset()
    for _ in range(cfg.max_steps):  # finished rows stay frozen with their outcome and step count
        td = env.step(act(td))["next"]
        if bool(env.ep_done.all()):
            break
    counts = torch.bincount(env.outcome.flatten().long(), minlength=len(task.OUTCOME_NAMES))
    return {"side": "ours", "preset": preset, "agents": agents, "policy": policy, "episodes": episodes,
            "counts": counts.tolist(), "mean_length": env.step_count.float().mean().item()}


def run_peer(python: str, presets, agents, policies, episodes: int, seed: int) -> list[dict]:
    """JaxNav's rows for the same combinations, from its own interpreter (one process)."""
    cmd = [python, str(HERE / "peers" / "jaxnav_outcomes.py"), "--presets", *presets, "--agents", *map(str, agents),
           "--policies", *policies, "--episodes", str(episodes), "--seed", str(seed)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "JAX_PLATFORMS": "cpu"})
    if proc.returncode != 0:
        raise RuntimeError(f"JaxNav peer failed:\n{proc.stderr[-3000:]}")
    return [{**json.loads(line), "side": "jaxnav"} for line in proc.stdout.splitlines() if line.startswith("{")]


def rates(row: dict) -> dict[str, float]:
    """Per-robot outcome rates and the mean episode length of one side's row."""
    counts = row["counts"]
    total = max(1, sum(counts))
    out = {name: counts[task.OUTCOME_NAMES.index(name)] / total for name in RATES}
    out["running"] = counts[0] / total  # must be 0: every episode ended
    out["mean_length"] = row["mean_length"]
    return out


def compare(ours: dict, peer: dict) -> dict:
    """Both sides' rates, the largest rate difference [points] and its binomial standard error [points]."""
    a, b = rates(ours), rates(peer)
    diff = max(abs(a[k] - b[k]) for k in RATES) * 100
    # standard error of the difference of two independent rates at the worst rate (0.5), counting
    # episodes rather than robots (the robots of one episode are not independent): an upper bound
    se = 100 * math.sqrt(2 * 0.25 / ours["episodes"])
    return {"preset": ours["preset"], "agents": ours["agents"], "policy": ours["policy"], "episodes": ours["episodes"],
            "ours": a, "jaxnav": b, "max_rate_diff_points": diff, "diff_standard_error_points": se}


def print_table(rows: list[dict]) -> None:
    """One line per configuration and side, rates in percent."""
    print(f"{'preset':>13} {'robots':>6} {'policy':>13} {'side':>7} {'goal':>6} {'map':>6} {'robot':>6} "
          f"{'timeout':>7} {'length':>7} {'max diff':>8}")
    for r in rows:
        for side in ("ours", "jaxnav"):
            s = r[side]
            diff = f"{r['max_rate_diff_points']:>7.1f}p" if side == "jaxnav" else ""
            print(f"{r['preset']:>13} {r['agents']:>6} {r['policy']:>13} {side:>7} {100 * s['goal']:>5.1f}% "
                  f"{100 * s['map_collision']:>5.1f}% {100 * s['robot_collision']:>5.1f}% {100 * s['timeout']:>6.1f}% "
                  f"{s['mean_length']:>7.1f} {diff:>8}")


def main(argv: list[str] | None = None) -> list[dict]:
    """Run both sides, print the table, write JSON; returns the compared rows."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", nargs="+", choices=sorted(PRESETS), default=["jaxnav", "jaxnav_paper"])
    parser.add_argument("--agents", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--policies", nargs="+", choices=("random", "turn_to_goal"), default=["random", "turn_to_goal"])
    parser.add_argument("--episodes", type=int, default=1024, help="episodes (= envs) per configuration and side")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--peer-python", default=None, help="interpreter with jaxmarl (default $ADA_JAXNAV_PYTHON)")
    parser.add_argument("--out", default=str(HERE / "results" / "jaxnav_outcomes.json"))
    args = parser.parse_args(argv)
    python = peer_python(args.peer_python)
    if python is None:
        sys.exit("no JaxNav interpreter: pass --peer-python or set ADA_JAXNAV_PYTHON")
    t0 = time.perf_counter()
    peer_rows = run_peer(python, args.presets, args.agents, args.policies, args.episodes, args.seed)
    t_peer = time.perf_counter() - t0
    peer = {(r["preset"], r["agents"], r["policy"]): r for r in peer_rows}
    rows = []
    for preset in args.presets:
        for agents in args.agents:
            for policy in args.policies:
                ours = run_ours(preset, agents, policy, args.episodes, args.seed)
                rows.append(compare(ours, peer[(preset, agents, policy)]))
    print_table(rows)
    write_results(args.out, rows, "cpu", episodes=args.episodes, seed=args.seed, peer_seconds=t_peer,
                  ours_seconds=time.perf_counter() - t0 - t_peer, jax=peer_rows[0].get("jax") if peer_rows else None)
    return rows


if __name__ == "__main__":
    main()
