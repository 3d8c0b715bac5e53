"""Uniform sampling (domain randomisation): the world's own random levels, optionally no-op filtered."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from .base import LevelDraw, LevelSampler, uniform
from .noop import NoopFilterConfig, noop_weights
from .scores import _normalise, draw
from .tags import NEW, make_tags


@dataclass
class UniformConfig:
    """With the no-op filter on: a pool of random levels screened every ``refresh_every`` iterations."""

    pool_size: int = 1024
    refresh_every: int = 10

    def __post_init__(self) -> None:
        if self.pool_size < 1 or self.refresh_every < 1:
            raise ValueError("uniform: pool_size and refresh_every must be >= 1")


class UniformSampler(LevelSampler):
    """Every reset row plays a fresh random level; with a no-op filter, from a screened, weighted pool."""

    name = "uniform"

    def __init__(self, cfg: UniformConfig, noop: NoopFilterConfig, seed: int = 0) -> None:
        super().__init__(seed)
        self.cfg, self.noop = cfg, noop
        self.pool = None  # [M] screened levels
        self.pool_ids: torch.Tensor | None = None  # [M] tags
        self.probs: torch.Tensor | None = None  # [M]
        self.refreshes = 0

    def before_rollout(self, iteration: int) -> dict[str, float]:
        if not self.noop.enabled or (self.pool is not None and iteration % self.cfg.refresh_every):
            return {}
        self._refresh()
        return {"curriculum/noop_solved_fraction": float(self._solved.float().mean())}

    def _refresh(self) -> None:
        m = self.cfg.pool_size
        self.pool = self.ctx.random_levels(m, seed=self.seed * 1_000_003 + 7 * self.refreshes + 1)
        weights, self._solved = noop_weights(self.noop, self.ctx, self.pool)
        self.probs = _normalise(weights, torch.ones_like(weights, dtype=torch.bool))
        self.pool_ids = make_tags(NEW, self.refreshes * m + torch.arange(m, device=self.ctx.device))
        self.refreshes += 1

    def sample(self, mask: torch.Tensor) -> LevelDraw | None:
        if self.pool is None:
            return None
        idx = draw(self.probs, uniform(self.rng, mask.numel(), mask.device))
        return LevelDraw(self.pool[idx], self.pool_ids[idx], torch.ones_like(mask))

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "refreshes": self.refreshes}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.refreshes = state["refreshes"]
        if self.noop.enabled and self.refreshes:  # the pool is a pure function of the refresh count
            self.refreshes -= 1
            self._refresh()
