"""Rollout demo: a turn-to-goal robot on the hand-designed maps and on random maps, saved as PNG and GIF."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from ..core.render import save_png, save_video
from .config import LidarNavConfig
from .env import LidarNavEnv
from .levels import load_test_maps
from .policies import TurnToGoal
from .render import record_rollout


def main(argv: list[str] | None = None) -> None:
    """Write one GIF and a first/last PNG per map under ``--out`` plus a JSON summary."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="runs/demo")
    parser.add_argument("--agents", type=int, default=1)
    parser.add_argument("--random-maps", type=int, default=2)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    out = Path(args.out)
    cfg = LidarNavConfig.jaxnav(num_agents=args.agents)
    levels, names = load_test_maps(cfg)
    policy = TurnToGoal(cfg)
    summary = {}
    env = LidarNavEnv(cfg, num_envs=1, device=args.device, seed=args.seed, random_levels=True)
    jobs = [(name, levels[i : i + 1]) for i, name in enumerate(names)]
    jobs += [(f"random_{k}", None) for k in range(args.random_maps)]
    for name, level in jobs:
        if level is not None:
            env.set_levels(level)
        frames = record_rollout(env, policy, args.steps)
        save_png(frames[0], out / f"{name}_start.png")
        save_png(frames[-1], out / f"{name}_end.png")
        save_video(frames, out / f"{name}.gif", fps=15)
        summary[name] = {
            "steps": len(frames) - 1,
            "reached_goal": env.reached[0].tolist(),
            "crashed": env.crashed[0].tolist(),
        }
        print(f"{name:>12}: {len(frames) - 1:4d} steps  reached={summary[name]['reached_goal']} crashed={summary[name]['crashed']}")
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    print(f"wrote {len(jobs)} rollouts to {out}/")


if __name__ == "__main__":
    main()
