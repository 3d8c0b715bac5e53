"""Train, evaluate and plot from Python, without the CLI: PPO + GRU on single-robot lidarnav in small open rooms.

    python experiments/train_from_python.py                 # about 1.5 min on 2 CPU cores (120k env steps)
    python experiments/train_from_python.py --scale tiny    # seconds; the test suite runs this

The agent, a random policy and the turn-to-goal heuristic are then evaluated on the same random levels
of the training world, drawn from a seed the training never used. Everything lands in ``--out`` (default
``runs/python_lidarnav``): ``checkpoints/`` and ``logs/`` (a run folder: running the script again
resumes it), ``plots/`` (return, success rate and env-steps/s over training) and ``eval/``
(``results*.csv/json`` per policy, ``success_by_policy.png``, ``agent.gif`` on the first level). Every
name used here comes from ``from ada import ...``.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from ada import (EnvConfig, PolicyConfig, PPOConfig, PPOModule, build_env, level_gif, plot_curves,  # noqa: E402
                 random_levels, run_attempts, scripted_policy, summarise, train, write_table)

SCALES = {
    "tiny": dict(num_envs=16, rollout_len=16, total_env_steps=1024, hidden=32, levels=8, attempts=2),
    "small": dict(num_envs=64, rollout_len=32, total_env_steps=120_000, hidden=64, levels=64, attempts=4),
}
# lidarnav fields: 7x7 open rooms, goals within 3 m, short episodes, a mild crash penalty
# (experiments/configs/lidarnav_learn_smoke.yaml): success climbs from ~10% to ~50% in 120k env steps.
WORLD = dict(num_agents=1, map_width=7, map_height=7, fill=0.0, max_steps=60, max_goal_dist=3.0, coll_rew=-1.0)
EVAL_SEED = 123  # random levels for evaluation (training draws its levels from the run's seed)


def main(argv: list[str] | None = None) -> dict:
    """Train (or resume) the run, evaluate the agent and two baselines on unseen random levels, write plots."""
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

    # 2. evaluate on unseen random levels of the world: the agent, a random policy and the turn-to-goal heuristic
    levels = random_levels(module.env_cfg, scale["levels"], seed=EVAL_SEED)  # [L] level records
    names = [f"level{i:03d}" for i in range(scale["levels"])]
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

    # 3. plots: training curves from the metrics log, success per policy, and the agent on the first level
    plot_curves(run / "logs" / "version_0" / "metrics.csv", run / "plots")
    plot_success(results, run / "eval" / "success_by_policy.png")
    level_gif(module, levels[:1], run / "eval" / "agent.gif")
    for name, rows in results.items():
        print(f"{name:>13}: success {rows[-1]['success_rate']:.2f} over {len(names)} levels x {attempts} attempts")
    return {"module": module, "results": results, "run": run}


def plot_success(results: dict[str, list[dict]], path: Path) -> Path:
    """Bars: success rate over all levels per policy, with the spread over levels (standard error)."""
    names = list(results)
    means = [results[n][-1]["success_rate"] for n in names]
    per_level = [np.array([row["success_rate"] for row in results[n][:-1]]) for n in names]  # [L] each
    errors = [rates.std() / max(1, len(rates)) ** 0.5 for rates in per_level]
    fig, ax = plt.subplots(figsize=(4.5, 3.2), dpi=110)
    ax.bar(names, means, yerr=errors, capsize=4, color=["tab:blue", "tab:gray", "tab:orange"][: len(names)])
    ax.set_ylabel("success rate")
    ax.set_ylim(0, 1)
    ax.set_title(f"{len(per_level[0])} unseen random levels", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


if __name__ == "__main__":
    main()
