"""Sampling For Learnability (SFL, Rutherford et al. 2024): a buffer of the levels with the highest p·(1−p)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from .base import LevelDraw, LevelSampler, uniform
from .buffer import LevelBuffer
from .noop import NoopFilterConfig, noop_weights
from .scores import _normalise, draw, learnability
from .stats import LevelStats
from .tags import REPLAY, make_tags, tag_kind


@dataclass
class SFLConfig:
    """Every ``refresh_every`` iterations: ``num_candidates`` random levels × ``trials`` rollouts → top ``buffer_size``.

    ``trials`` counts rollouts (whole episodes) per candidate; with meta-RL trials on, each is a K-trial
    episode and ``CurriculumConfig.trial_success`` says which trial's success counts for p.
    """

    num_candidates: int = 1024
    trials: int = 4
    buffer_size: int = 128
    refresh_every: int = 10
    buffer_ratio: float = 0.5  # share of resets that replay a full buffer (scaled down while it holds fewer levels)

    def __post_init__(self) -> None:
        if min(self.num_candidates, self.trials, self.buffer_size, self.refresh_every) < 1:
            raise ValueError("sfl: num_candidates, trials, buffer_size and refresh_every must be >= 1")
        if not 0.0 <= self.buffer_ratio <= 1.0:
            raise ValueError(f"sfl.buffer_ratio must be in [0, 1], got {self.buffer_ratio}")


class SFLSampler(LevelSampler):
    """Periodically re-scores fresh candidates with the current policy; resets mix buffer and random levels.

    Only levels with positive learnability enter the buffer; the share of resets that replay it is
    ``buffer_ratio`` scaled by how full it is, so a buffer of a few levels is not over-replayed.
    """

    name = "sfl"

    def __init__(self, cfg: SFLConfig, noop: NoopFilterConfig, seed: int = 0, trial_success: str = "last") -> None:
        super().__init__(seed)
        self.cfg, self.noop = cfg, noop
        self.trial_success = trial_success  # which trial of a K-trial episode defines p (CurriculumConfig)
        self.buffer: LevelBuffer | None = None
        self.refreshes = 0
        self.ready = False
        self.replay_share = 0.0  # buffer_ratio × the buffer's filled fraction

    def bind(self, context) -> None:
        super().bind(context)
        self.buffer = LevelBuffer(context.empty_levels(self.cfg.buffer_size))

    def before_rollout(self, iteration: int) -> dict[str, float]:
        if iteration % self.cfg.refresh_every:
            return {}
        return self.refresh()

    def refresh(self) -> dict[str, float]:
        """Draw candidates, estimate each one's success rate with the current policy, keep the most learnable."""
        cfg, ctx = self.cfg, self.ctx
        cand = ctx.random_levels(cfg.num_candidates, seed=self.seed * 1_000_003 + 7 * self.refreshes + 3)
        self.refreshes += 1
        ok = ctx.solvable(cand)
        cand = cand[ok]
        p = ctx.success_rates(cand, cfg.trials, seed=self.seed * 1_000_003 + 7 * self.refreshes + 5,
                              trial_success=self.trial_success)
        score = learnability(p)
        weight, _ = noop_weights(self.noop, ctx, cand)
        score = score * weight
        keep = score > 0
        top = torch.sort(torch.where(keep, score, torch.full_like(score, -1.0)), descending=True, stable=True).indices
        top = top[: min(cfg.buffer_size, int(keep.sum()))]
        self.buffer.replace_all(cand[top], score[top], clock=self.refreshes)
        self.ready = top.numel() > 0
        # a buffer with few learnable levels is replayed less: one level must not take half of all resets
        self.replay_share = cfg.buffer_ratio * top.numel() / cfg.buffer_size
        return {"curriculum/candidates_solvable": float(ok.float().mean()),
                "curriculum/candidate_success": float(p.mean()) if p.numel() else 0.0,
                "curriculum/buffer_size": float(top.numel()),
                "curriculum/buffer_learnability": float(score[top].mean()) if top.numel() else 0.0,
                "curriculum/buffer_success": float(p[top].mean()) if top.numel() else 0.0}

    def sample(self, mask: torch.Tensor) -> LevelDraw | None:
        if not self.ready:
            return None
        n, dev = mask.numel(), mask.device
        use = uniform(self.rng, n, dev) < self.replay_share
        idx = draw(_normalise(torch.ones_like(self.buffer.score), self.buffer.valid), uniform(self.rng, n, dev))
        return LevelDraw(self.buffer.levels[idx], make_tags(REPLAY, self.buffer.uid[idx]), use)

    def update(self, stats: LevelStats) -> dict[str, float]:
        replay = tag_kind(stats.level_id) == REPLAY
        share = stats.steps[replay].sum() / stats.steps.sum().clamp(min=1)
        return {"curriculum/replay_share": float(share)}

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "buffer": self.buffer.state_dict(), "refreshes": self.refreshes,
                "ready": self.ready, "replay_share": self.replay_share}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.buffer.load_state_dict(state["buffer"])
        self.refreshes, self.ready, self.replay_share = state["refreshes"], state["ready"], state["replay_share"]
