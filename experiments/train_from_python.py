"""Train, evaluate and plot from Python, without the CLI: PPO + GRU on single-robot lidarnav, then the held-out maps.

    python experiments/train_from_python.py                 # about 2 min on 2 CPU cores (120k env steps)
    python experiments/train_from_python.py --scale tiny    # seconds; the test suite runs this

Everything lands in ``--out`` (default ``runs/python_lidarnav``): ``checkpoints/`` and ``logs/`` (a run
folder: running the script again resumes it), ``plots/`` (return, success rate and env-steps/s over
training) and ``eval/`` (``results*.csv/json`` for the agent and two baselines, ``success_per_map.png``,
``agent.gif`` on the first map). Every name used here comes from ``from ada import ...``.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from ada import (EnvConfig, PolicyConfig, PPOConfig, PPOModule, build_env, held_out_levels, level_gif,  # noqa: E402
                 plot_curves, run_attempts, scripted_policy, summarise, train, write_table)

# Small open rooms and short episodes (as experiments/configs/lidarnav_learn_smoke.yaml): learns in minutes on a CPU.
SCALES = {
    "tiny": dict(num_envs=16, rollout_len=16, total_env_steps=1024, hidden=32, attempts=2),
    "small": dict(num_envs=64, rollout_len=32, total_env_steps=120_000, hidden=64, attempts=20),
}
WORLD = dict(num_agents=1, max_steps=60, coll_rew=-1.0)  # lidarnav fields (the held-out maps are 11x11)


def main(argv: list[str] | None = None) -> dict:
    """Train (or resume) the run, evaluate the agent and two baselines on the held-out maps, write plots."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=sorted(SCALES), default="small")
    parser.add_argument("--out", default="runs/python_lidarnav", help="run folder")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-progress", action="store_true", help="no progress line")
    args = parser.parse_args(argv)
    scale = SCALES[args.scale]
    run = Path(args.out)
    device = "cuda" if torch.cuda.is_available() else "cpu"

    # 1. train: the module says what to learn; train() owns the run folder (checkpoints, logs, resume)
    module = PPOModule(env=EnvConfig(world="lidarnav", num_envs=scale["num_envs"], overrides=WORLD),
                       ppo=PPOConfig(rollout_len=scale["rollout_len"], total_env_steps=scale["total_env_steps"],
                                     lr=1e-3, ent_coef=0.005),
                       policy=PolicyConfig(core="gru", hidden=scale["hidden"]), seed=args.seed)
    train(module, run, progress=not args.no_progress, artifacts=False)

    # 2. evaluate on the hand-designed maps: the agent, a random policy and the turn-to-goal heuristic
    levels, names = held_out_levels(module.env_cfg)  # [L] level records, L names
    attempts = scale["attempts"]
    results: dict[str, list[dict]] = {}
    for name in ("agent", "random", "turn_to_goal"):
        policy = None
        if name != "agent":  # a baseline acts on an env batch of the same size as the evaluation's
            probe = build_env(module.env_cfg, device, seed=0, num_envs=len(names) * attempts)
            policy = scripted_policy(name, probe, module.env_cfg)
        outcome = run_attempts(module, levels, attempts, policy=policy, seed=1, device=device)  # [L, attempts] each
        results[name] = summarise(names, outcome)
        write_table(results[name], run / "eval", "results" if name == "agent" else f"results_{name}")

    # 3. plots: training curves from the metrics log, success per map, and the agent on the first map
    plot_curves(run / "logs" / "version_0" / "metrics.csv", run / "plots")
    plot_success(results, run / "eval" / "success_per_map.png")
    level_gif(module, levels[:1], run / "eval" / "agent.gif")
    for name, rows in results.items():
        print(f"{name:>13}: success {rows[-1]['success_rate']:.2f} over {len(names)} maps x {attempts} attempts")
    return {"module": module, "results": results, "run": run}


def plot_success(results: dict[str, list[dict]], path: Path) -> Path:
    """Grouped bars: success rate per held-out map (and over all maps) for each policy."""
    labels = [row["level"] for row in next(iter(results.values()))]
    x = np.arange(len(labels))
    width = 0.8 / len(results)
    fig, ax = plt.subplots(figsize=(max(5.0, 0.7 * len(labels)), 3.2), dpi=110)
    for i, (name, rows) in enumerate(results.items()):
        ax.bar(x + (i - (len(results) - 1) / 2) * width, [row["success_rate"] for row in rows], width, label=name)
    ax.set_xticks(x, labels, rotation=30, ha="right")
    ax.set_ylabel("success rate")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


if __name__ == "__main__":
    main()
