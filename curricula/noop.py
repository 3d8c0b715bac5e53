"""AdA's no-op filter: levels the do-nothing policy already solves teach nothing, so they are down-weighted."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from tensordict import TensorDict

from .base import CurriculumContext


@dataclass
class NoopFilterConfig:
    """Down-weight levels a do-nothing policy solves (by ``weight``: 0 drops them, 1 keeps them as they are)."""

    enabled: bool = False
    weight: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.weight <= 1.0:
            raise ValueError(f"noop_filter.weight must be in [0, 1], got {self.weight}")


def noop_weights(cfg: NoopFilterConfig, ctx: CurriculumContext, levels: TensorDict) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-level multipliers ``[n]`` (``weight`` where the no-op policy solves the level, else 1) and the solved flags."""
    n = levels.batch_size[0]
    if not cfg.enabled or n == 0:
        solved = torch.zeros(n, dtype=torch.bool, device=ctx.device)
    else:
        solved = ctx.noop_solved(levels).to(ctx.device)
    ones = torch.ones(n, device=ctx.device)
    return torch.where(solved, ones * cfg.weight, ones), solved
