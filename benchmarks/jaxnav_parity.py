"""Parity with JaxNav: same levels, same actions, compare observations, rewards, dones and poses.

Needs a JaxNav interpreter (``--peer-python``, ``$ADA_JAXNAV_PYTHON``, or ``jaxmarl`` importable here).
Prints per-quantity agreement and writes JSON. Levels are drawn by our generator; the action script
is smooth random (v, w) targets inside the action box, identical for both sides.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from envs_warp.lidarnav.config import LidarNavConfig
from envs_warp.lidarnav.env import LidarNavEnv
from envs_warp.lidarnav.levels import LevelGenerator

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from env_throughput import peer_python  # noqa: E402


def action_script(levels: int, steps: int, agents: int, seed: int) -> np.ndarray:
    """``[B, T, A, 2]`` piecewise-constant random (v, w) targets within JaxNav's action box."""
    rng = np.random.default_rng(seed)
    segments = rng.uniform([0.0, -np.pi / 6], [1.0, np.pi / 6], size=(levels, steps // 10 + 1, agents, 2))
    return np.repeat(segments, 10, axis=1)[:, :steps].astype(np.float32)


def run_ours(cfg: LidarNavConfig, levels, actions: np.ndarray) -> dict:
    """Replay on our env: every level in its own row, no auto-reset."""
    b, t, a, _ = actions.shape
    env = LidarNavEnv(cfg, num_envs=b, seed=0, random_levels=False)
    env.set_levels(levels)
    td = env.reset()
    out = {"obs": [], "reward": [], "done": [], "pos": []}
    for k in range(t):
        td.set(("agents", "action"), torch.from_numpy(actions[:, k]))
        td = env.step(td)["next"]
        out["obs"].append(td["agents", "observation"].numpy())
        out["reward"].append(td["agents", "reward"][..., 0].numpy())
        out["done"].append(td["done"][:, 0].numpy())
        out["pos"].append(env.pos.numpy().copy())
    return {k: np.stack(v, axis=1) for k, v in out.items()}


def compare(ours: dict, peer: dict, cfg: LidarNavConfig) -> dict:
    """Agreement figures, counted only up to each level's first episode end (both sides)."""
    done_o, done_p = ours["done"], peer["done"]
    b, t = done_o.shape
    first = lambda d: np.where(d.any(1), d.argmax(1), t - 1)
    end_o, end_p = first(done_o), first(done_p)
    live = np.arange(t)[None, :] <= np.minimum(end_o, end_p)[:, None]  # [B, T]
    nb = cfg.lidar_num_beams
    lidar_err = np.abs(ours["obs"][..., :nb] - peer["obs"][..., :nb]) * cfg.lidar_max_range  # [m]
    rest_err = np.abs(ours["obs"][..., nb:] - peer["obs"][..., nb:])
    pos_err = np.linalg.norm(ours["pos"] - peer["pos"], axis=-1)
    rew_err = np.abs(ours["reward"] - peer["reward"])
    m = live[..., None]
    return {
        "levels": int(b),
        "steps_compared": int(live.sum()),
        "episode_end_step_agree": float((end_o == end_p).mean()),
        "pos_max_err_m": float(pos_err[live].max()),
        "lidar_beams_within_1mm": float((lidar_err[live] <= 1e-3).mean()),
        "lidar_max_err_m": float(lidar_err[live].max()),
        "other_obs_max_err": float(rest_err[live].max()),
        "reward_within_1e-4": float((rew_err[m.squeeze(-1)] <= 1e-4).mean()),
        "reward_max_err": float(rew_err[live].max()),
    }


def main(argv: list[str] | None = None) -> None:
    """Run both sides and print the agreement table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--levels", type=int, default=32)
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--agents", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--peer-python", default=None)
    parser.add_argument("--out", default=str(HERE / "results" / "jaxnav_parity.json"))
    args = parser.parse_args(argv)
    python = peer_python(args.peer_python)
    if python is None:
        sys.exit("no JaxNav interpreter: pass --peer-python or set ADA_JAXNAV_PYTHON")
    results = []
    for agents in args.agents:
        cfg = LidarNavConfig.jaxnav(num_agents=agents)
        levels = LevelGenerator(cfg).generate(args.levels, seed=args.seed)
        actions = action_script(args.levels, args.steps, agents, args.seed)
        with tempfile.TemporaryDirectory() as tmp:
            inp, out = Path(tmp) / "in.npz", Path(tmp) / "out.npz"
            np.savez(inp, walls=levels["walls"].numpy(), start=levels["start"].numpy(), goal=levels["goal"].numpy(),
                     actions=actions)
            subprocess.run([python, str(HERE / "peers" / "jaxnav_replay.py"), str(inp), str(out)], check=True,
                           env={"JAX_PLATFORMS": "cpu", "PATH": "/usr/bin:/bin"})
            peer = dict(np.load(out))
        row = {"agents": agents, **compare(run_ours(cfg, levels, actions), peer, cfg)}
        results.append(row)
        print(json.dumps(row))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
