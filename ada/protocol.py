"""The SFL evaluation protocol (Rutherford et al. 2024, "No Regrets"): success on the worst α of levels.

A policy is rolled out on many random solvable levels in two independent passes. Pass one ranks the
levels by success and picks the worst ⌈α·L⌉; the reported number is pass two's success on exactly
those levels, so the selection's luck (levels that happened to fail once) does not bias the score.
α = 100% is the plain mean success on the random levels.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from tensordict import TensorDict

from .config import EnvConfig
from .evaluate import run_attempts
from .worlds import random_levels, solvable_mask

ALPHAS: tuple[float, ...] = (0.001, 0.01, 0.1, 1.0)
PASS_TWO_SEED_OFFSET = 1_000_003  # pass two's rollout seed is ``seed + PASS_TWO_SEED_OFFSET``


def worst_count(alpha: float, num_levels: int) -> int:
    """Levels in the worst ``alpha`` fraction of ``num_levels``: ⌈α·L⌉, at least 1 (robust to float round-off)."""
    if not 0.0 < alpha <= 1.0:
        raise ValueError(f"alpha must be in (0, 1], got {alpha}")
    return max(1, math.ceil(alpha * num_levels - 1e-9))


def worst_alpha(pass_one: np.ndarray, pass_two: np.ndarray,
                alphas: Sequence[float] = ALPHAS) -> dict[float, float]:
    """Mean pass-two success ``[0, 1]`` on the ⌈α·L⌉ levels with the lowest pass-one success, per α.

    ``pass_one``, ``pass_two``: per-level success rates ``[L]`` from independent passes. Ties in pass
    one are broken by level index (stable sort), so the selection is deterministic.
    """
    one = np.asarray(pass_one, dtype=np.float64)
    two = np.asarray(pass_two, dtype=np.float64)
    if one.ndim != 1 or one.shape != two.shape or one.size == 0:
        raise ValueError(f"pass_one and pass_two must be non-empty [L] arrays of one shape, "
                         f"got {one.shape} and {two.shape}")
    order = np.argsort(one, kind="stable")  # [L] worst first
    return {float(a): float(two[order[: worst_count(a, one.size)]].mean()) for a in alphas}


def solvable_eval_levels(env_cfg: EnvConfig, n: int, seed: int, device: torch.device | str = "cpu",
                         batch: int | None = None, max_batches: int = 64) -> TensorDict:
    """``n`` random levels ``[n]`` that the world's solvability check accepts, reproducible from ``seed``.

    Levels are drawn in batches of ``batch`` (default ``max(n, 64)``); batch ``i`` uses the seed
    ``SeedSequence([seed, i])``. Raises ``ValueError`` if ``max_batches`` batches hold fewer than ``n``.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    size = batch or max(n, 64)
    kept: list[TensorDict] = []
    found = 0
    for i in range(max_batches):
        batch_seed = int(np.random.SeedSequence([seed, i]).generate_state(1)[0])
        levels = random_levels(env_cfg, size, seed=batch_seed, device=device)  # [size]
        ok = solvable_mask(env_cfg, levels).to(levels.device).clone()  # [size] bool
        if bool(ok.any()):
            kept.append(levels[ok].clone())
            found += int(ok.sum())
        if found >= n:
            return torch.cat(kept)[:n]
    raise ValueError(f"solvable_eval_levels: only {found} of {max_batches * size} random {env_cfg.world} levels "
                     f"(seed {seed}) are solvable, fewer than the {n} asked for; raise max_batches or ask for fewer")


def evaluate_protocol(module, levels: TensorDict, attempts: int, seed: int, device: torch.device | str = "cpu",
                      alphas: Sequence[float] = ALPHAS) -> dict:
    """Two independent passes of ``attempts`` rollouts per level; per-level rates ``[L]``, worst-α, mean success.

    Returns ``pass_one`` and ``pass_two`` (success rate per level, ``[L]`` arrays), ``worst_alpha``
    (α → success, see :func:`worst_alpha`), ``mean_success`` and ``robots_at_goal`` (the mean fraction
    of robots that reached their goal; equals the success rate with one robot), both over both passes.
    """
    first = run_attempts(module, levels, attempts, seed=seed, device=device)  # [L, attempts] arrays
    second = run_attempts(module, levels, attempts, seed=seed + PASS_TWO_SEED_OFFSET, device=device)
    pass_one, pass_two = first["success"].mean(axis=1), second["success"].mean(axis=1)  # [L]
    robots = (first["robots_at_goal"].mean() + second["robots_at_goal"].mean()) / 2
    return {"pass_one": pass_one, "pass_two": pass_two, "worst_alpha": worst_alpha(pass_one, pass_two, alphas),
            "mean_success": float((pass_one.mean() + pass_two.mean()) / 2), "robots_at_goal": float(robots)}


def alpha_label(alpha: float) -> str:
    """An α as a percentage label: ``0.001`` → ``"0.1%"``."""
    return f"{alpha * 100:g}%"


def plot_worst_alpha(curves: dict[str, dict[float, float]], path: str | Path, title: str | None = None) -> Path:
    """PNG of success (y) against α in percent (x, log scale), one marked line per method."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.5, 4.0))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    markers = "osD^v<>ph*"
    ticks: set[float] = set()
    for i, (label, curve) in enumerate(curves.items()):
        alphas = sorted(curve)
        ax.plot([a * 100 for a in alphas], [curve[a] for a in alphas], marker=markers[i % len(markers)], label=label)
        ticks.update(alphas)
    ax.set_xscale("log")
    ax.set_xticks([a * 100 for a in sorted(ticks)], [alpha_label(a) for a in sorted(ticks)])
    ax.set_xlabel("worst α of levels [%]")
    ax.set_ylabel("success rate")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend()
    if title:
        ax.set_title(title)
    return save_figure(fig, path)


def save_figure(fig, path: str | Path) -> Path:
    """Lay out ``fig``, write it to ``path`` (parents created) at 120 dpi and return the path."""
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    return path
