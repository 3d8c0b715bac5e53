"""Evaluation by trial index: how a policy's score changes over the K trials of an episode on fixed levels.

Each (level, attempt) plays one episode of exactly K trials of the level (memory kept across its trials,
the policy inputs as in training). The **score** of a trial is its return: the sum over the trial's
steps of the reward (the robots' mean reward per step), as the world pays it. Its **success** is the
world's success flag (every robot at its goal) at the trial's last step. Per trial index (1-based) the
summary gives the mean, median and 20th percentile (linear interpolation, ``numpy.percentile``) of the
score over all (level, attempt) pairs, and the success rate. ``ada eval --trials K`` and ``ada compare
--trials K`` write these tables (``score_by_trial.csv/.json``) and ``score_by_trial.png``.

Examples:
    >>> out = outcomes_by_trial(module.env_cfg, module.model, levels, trials=13, attempts=4, seed=1)
    >>> out["success"].shape, out["return"].shape   # [L, attempts, 13] per (level, attempt, trial)
    >>> summarise_by_trial(out)[0]                  # {"trial": 1, "score_mean": ..., "score_median": ...}
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from tensordict import TensorDict

from models.actor_critic import ActorCritic

from .config import EnvConfig
from .evaluate import rollout_outcomes
from .protocol import save_figure

COLUMNS = ("trial", "score_mean", "score_median", "score_p20", "success_mean", "episodes")


def trial_config(env_cfg: EnvConfig, trials: int) -> EnvConfig:
    """``env_cfg`` with exactly ``trials`` trials per episode and the trial inputs the policy was trained with."""
    if trials < 1:
        raise ValueError(f"--trials must be >= 1, got {trials}")
    return dataclasses.replace(env_cfg, trials=dataclasses.replace(
        env_cfg.trials, k_min=trials, k_max=None, inputs=env_cfg.trials.with_inputs))


@torch.no_grad()
def outcomes_by_trial(env_cfg: EnvConfig, model: ActorCritic, levels: TensorDict, trials: int, attempts: int,
                      seed: int = 0, deterministic: bool = False, device: str | torch.device = "cpu",
                      policy: Callable | None = None) -> dict[str, np.ndarray]:
    """Success and return of every trial of one ``trials``-trial episode per (level, attempt): ``[L, attempts, K]``.

    The env runs exactly ``trials`` trials per episode (the policy inputs as in training, or ``policy``,
    e.g. a scripted baseline); the model's device, mode and the caller's random streams are left as they were.
    """
    cfg = trial_config(env_cfg, trials)
    out = rollout_outcomes(cfg, model, levels, attempts, policy=policy, seed=seed, deterministic=deterministic,
                           device=device)
    return {"success": out["success_by_trial"], "return": out["return_by_trial"]}


def summarise_by_trial(outcome: dict[str, np.ndarray]) -> list[dict]:
    """One row per trial index (1-based): mean, median and 20th percentile of the score (the trial's return)
    over all (level, attempt) pairs, the success rate (``success_mean``) and the number of episodes."""
    rows = []
    for k in range(outcome["success"].shape[-1]):
        score = outcome["return"][..., k].reshape(-1).astype(np.float64)  # [L·attempts]
        rows.append({"trial": k + 1, "score_mean": float(score.mean()), "score_median": float(np.median(score)),
                     "score_p20": float(np.percentile(score, 20)),
                     "success_mean": float(outcome["success"][..., k].mean()), "episodes": int(score.size)})
    return rows


def trial_table(runs: dict[str, list[dict]]) -> str:
    """A compact Markdown table: one line per trial index; mean, median and 20th percentile score and success per run."""
    labels = list(runs)
    header = ["trial"]
    for label in labels:
        prefix = f"{label} " if len(labels) > 1 else ""
        header += [f"{prefix}mean", f"{prefix}median", f"{prefix}p20", f"{prefix}success"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    by_index = {label: {row["trial"]: row for row in rows} for label, rows in runs.items()}
    for trial in sorted({t for rows in by_index.values() for t in rows}):
        cells = [str(trial)]
        for label in labels:
            row = by_index[label].get(trial)
            cells += ["", "", "", ""] if row is None else [
                f"{row['score_mean']:.3f}", f"{row['score_median']:.3f}", f"{row['score_p20']:.3f}",
                f"{row['success_mean']:.2f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot_score_by_trial(runs: dict[str, list[dict]], path: str | Path, title: str | None = None) -> Path:
    """PNG of the median score (line) and its 20th percentile (dashed) against the trial index, one colour per run;
    the success rate in a second panel."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9.0, 3.8))
    FigureCanvasAgg(fig)
    score_ax, success_ax = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    markers = "osD^v<>ph*"
    for i, (label, rows) in enumerate(runs.items()):
        trials = [r["trial"] for r in rows]
        line, = score_ax.plot(trials, [r["score_median"] for r in rows], marker=markers[i % len(markers)],
                              label=f"{label} median")
        score_ax.plot(trials, [r["score_p20"] for r in rows], linestyle="--", color=line.get_color(),
                      label=f"{label} 20th pct.")
        success_ax.plot(trials, [r["success_mean"] for r in rows], marker=markers[i % len(markers)],
                        color=line.get_color(), label=label)
    for ax in (score_ax, success_ax):
        ax.set_xlabel("trial index")
        ax.grid(True, alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
    score_ax.set_ylabel("score (trial return)")
    success_ax.set_ylabel("success rate")
    success_ax.set_ylim(-0.02, 1.02)
    score_ax.legend(fontsize=8)
    success_ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)
