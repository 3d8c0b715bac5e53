"""Evaluation: run a policy on a set of levels with many attempts each; tables, and GIFs per level."""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from tensordict import TensorDict

from envs_warp.core.render import save_video

from .policy import RolloutPolicy
from .worlds import agent_positions, build_env, draw_row_fn, episode_limit, success_key, with_memory


@torch.no_grad()
def run_attempts(module, levels: TensorDict, attempts: int, policy: Callable | None = None, seed: int = 0,
                 deterministic: bool = False, device: str | torch.device = "cpu") -> dict[str, np.ndarray]:
    """First-episode outcome of every (level, attempt) pair: success (every robot reached its goal), the
    fraction of robots at their goal, return, length; arrays ``[L, attempts]``.

    Reproducible from ``seed`` (actions are sampled from a forked RNG seeded with it; the caller's
    random streams are left as they were).
    """
    device = torch.device(device)
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        return _run_attempts(module, levels, attempts, policy, seed, deterministic, device)


def _run_attempts(module, levels: TensorDict, attempts: int, policy: Callable | None, seed: int,
                  deterministic: bool, device: torch.device) -> dict[str, np.ndarray]:
    n_levels = levels.batch_size[0]
    base = build_env(module.env_cfg, device, seed=seed, num_envs=n_levels * attempts, random_levels=False)
    base.set_levels(levels.repeat_interleave(attempts, dim=0).to(device))
    env = with_memory(base, module.model.carried_memory_shape())
    model = module.model.to(device).eval()
    act = policy or RolloutPolicy(model, deterministic=deterministic)
    td = env.reset()
    n = base.num_envs
    finished = torch.zeros(n, dtype=torch.bool, device=device)
    success = torch.zeros(n, dtype=torch.bool, device=device)
    robots = torch.zeros(n, device=device)  # fraction of robots that reached their goal
    ret = torch.zeros(n, device=device)
    length = torch.zeros(n, device=device)
    success_at = ("next", *success_key(module.env_cfg))
    for _ in range(episode_limit(module.env_cfg)):
        td = act(td)
        td = env.step(td)
        nxt = td["next"]
        live = ~finished
        ret += nxt["agents", "reward"][..., 0].mean(-1) * live
        length += live.float()
        done = nxt["done"][:, 0] & live
        reached = td.get(success_at)[..., 0]  # [n, A]
        success |= done & reached.all(-1)
        robots = torch.where(done, reached.float().mean(-1), robots)
        finished |= done
        if bool(finished.all()):
            break
        td = env.step_mdp(td) if hasattr(env, "step_mdp") else nxt
    shape = (n_levels, attempts)
    return {"success": success.view(shape).cpu().numpy(), "robots_at_goal": robots.view(shape).cpu().numpy(),
            "return": ret.view(shape).cpu().numpy(),
            "length": length.view(shape).cpu().numpy()}


def summarise(names: list[str], outcome: dict[str, np.ndarray]) -> list[dict]:
    """One row per level plus an ``ALL`` row: success rate, mean return, mean length."""
    rows = [{"level": name, "success_rate": float(outcome["success"][i].mean()),
             "mean_return": float(outcome["return"][i].mean()), "mean_length": float(outcome["length"][i].mean()),
             "attempts": int(outcome["success"].shape[1])} for i, name in enumerate(names)]
    rows.append({"level": "ALL", "success_rate": float(outcome["success"].mean()),
                 "mean_return": float(outcome["return"].mean()), "mean_length": float(outcome["length"].mean()),
                 "attempts": int(outcome["success"].size)})
    return rows


def write_table(rows: list[dict], out_dir: str | Path, stem: str = "results") -> None:
    """``results.json`` and ``results.csv`` in ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{stem}.json").write_text(json.dumps(rows, indent=1))
    with open(out_dir / f"{stem}.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


@torch.no_grad()
def level_gif(module, level: TensorDict, path: str | Path, policy: Callable | None = None, seed: int = 0,
              deterministic: bool = True) -> Path:
    """GIF of one attempt at ``level`` (batch ``[1]``) until the episode ends."""
    base = build_env(module.env_cfg, "cpu", seed=seed, num_envs=1, random_levels=False)
    base.set_levels(level.cpu())
    env = with_memory(base, module.model.carried_memory_shape())
    model = module.model.to("cpu").eval()
    act = policy or RolloutPolicy(model, deterministic=deterministic)
    draw = draw_row_fn(module.env_cfg)
    td = env.reset()
    trails: list[np.ndarray] = []  # [A, 2] [m] robot positions per frame (none if the world gives no positions)

    def frame() -> np.ndarray:
        pos = agent_positions(module.env_cfg, base)
        if pos is None:
            return draw(base, 0)
        trails.append(pos[0].cpu().numpy().copy())
        path = np.stack(trails, axis=1)  # [A, T, 2]
        return draw(base, 0, trails=list(path))

    frames = [frame()]
    for _ in range(episode_limit(module.env_cfg)):
        td = env.step(act(td))
        frames.append(frame())
        if bool(td["next", "done"].any()):
            break
        td = env.step_mdp(td)
    return save_video(frames, path, fps=15)


def agent_gif(module, path: str | Path) -> Path:
    """GIF of the deterministic agent on the first held-out level (a random level if none fits the config)."""
    from envs_warp.core.levels import LevelFileError

    from .worlds import held_out_levels

    try:
        levels, _ = held_out_levels(module.env_cfg)
    except LevelFileError:
        probe = build_env(module.env_cfg, "cpu", seed=0, num_envs=1)
        probe.reset()
        levels = probe.levels.clone()
    return level_gif(module, levels[:1], path)
