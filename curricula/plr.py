"""Prioritized Level Replay (Jiang et al. 2021) and robust PLR (Jiang et al. 2021, "Replay-Guided Adversarial
Environment Design"): a buffer of levels scored by regret estimates, replayed by rank and staleness."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from tensordict import TensorDict

from .base import LevelDraw, LevelSampler, uniform
from .buffer import LevelBuffer
from .noop import NoopFilterConfig, noop_weights
from .scores import draw, max_mc, replay_distribution
from .stats import LevelStats
from .tags import NEW, RANDOM, REPLAY, make_tags, tag_kind, tag_serial


@dataclass
class PLRConfig:
    """Buffer, scoring and replay settings of PLR (defaults close to robust PLR's published ones)."""

    buffer_size: int = 256
    replay_prob: float = 0.5  # share of resets that replay once the buffer is filled enough
    score: str = "pvl"  # "pvl" (positive value loss) or "maxmc" (best return minus value)
    prioritization: str = "rank"  # "rank" or "power"
    temperature: float = 0.3  # β in h ** (1 / β)
    staleness_coef: float = 0.3  # ρ in (1 − ρ)·P_S + ρ·P_C
    min_fill: float = 0.5  # fraction of the buffer that must hold levels before replays start
    robust: bool = True  # no gradient on steps played on new (non-replayed) levels
    solvable_only: bool = True  # never insert levels the world's solvability check rejects

    def __post_init__(self) -> None:
        problems = []
        if self.buffer_size < 1:
            problems.append(f"buffer_size must be >= 1, got {self.buffer_size}")
        if self.score not in ("pvl", "maxmc"):
            problems.append(f"score must be 'pvl' or 'maxmc', got {self.score!r}")
        if self.prioritization not in ("rank", "power"):
            problems.append(f"prioritization must be 'rank' or 'power', got {self.prioritization!r}")
        if self.temperature <= 0:
            problems.append(f"temperature must be > 0, got {self.temperature}")
        for name in ("replay_prob", "staleness_coef", "min_fill"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                problems.append(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if problems:
            raise ValueError("plr: " + "; ".join(problems))


def _mean(total: torch.Tensor, count: torch.Tensor) -> float:
    """``sum(total) / sum(count)`` as a float (0 when there is no count)."""
    return float(total.sum() / count.sum().clamp(min=1))


class PLRSampler(LevelSampler):
    """Resets replay a buffer level with ``replay_prob`` (drawn from P), else play a new random level.

    ``update`` re-scores replayed levels and inserts new ones whose score beats the buffer's lowest.
    Staleness counts iterations: a level's clock is set in the iteration any rank replayed it.
    """

    name = "plr"

    def __init__(self, cfg: PLRConfig, noop: NoopFilterConfig, seed: int = 0) -> None:
        super().__init__(seed)
        self.cfg, self.noop = cfg, noop
        self.buffer: LevelBuffer | None = None
        self.clock = 0
        self.probs: torch.Tensor | None = None  # [K] replay distribution for this rollout
        self.ready = False
        self.replay_counts: torch.Tensor | None = None  # [K] this rank's replays since the last update

    def bind(self, context) -> None:
        super().bind(context)
        self.buffer = LevelBuffer(context.empty_levels(self.cfg.buffer_size))
        self.replay_counts = torch.zeros(self.cfg.buffer_size, dtype=torch.int64, device=context.device)

    # ------------------------------------------------------------------ sampling
    def before_rollout(self, iteration: int) -> dict[str, float]:
        cfg, buf = self.cfg, self.buffer
        size = buf.size()
        self.ready = size > 0 and size >= cfg.min_fill * buf.capacity
        self.probs = replay_distribution(buf.score, buf.last_sampled, self.clock, buf.valid, cfg.temperature,
                                         cfg.staleness_coef, cfg.prioritization)
        return {"curriculum/buffer_size": float(size)}

    def _replays(self, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(replay flags ``[N]``, buffer slots ``[N]``) for a reset; counts the replays."""
        n, dev = mask.numel(), mask.device
        replay = mask & (uniform(self.rng, n, dev) < self.cfg.replay_prob) if self.ready else torch.zeros_like(mask)
        slot = draw(self.probs, uniform(self.rng, n, dev))
        self.replay_counts.index_add_(0, slot, replay.long())
        return replay, slot

    def sample(self, mask: torch.Tensor) -> LevelDraw | None:
        if not self.ready:
            return None
        replay, slot = self._replays(mask)
        return LevelDraw(self.buffer.levels[slot], make_tags(REPLAY, self.buffer.uid[slot]), replay)

    def train_mask(self, tags: torch.Tensor) -> torch.Tensor | None:
        return tag_kind(tags) == REPLAY if self.cfg.robust else None

    # ------------------------------------------------------------------ learning
    def _scores(self, stats: LevelStats, best: torch.Tensor) -> torch.Tensor:
        """Score ``[L]`` of each level (``nan`` where it cannot be scored yet)."""
        if self.cfg.score == "pvl":
            return stats.positive_value_loss
        mc = max_mc(best, stats.mean_value)
        return torch.where(torch.isfinite(best), mc, torch.full_like(mc, float("nan")))

    def update(self, stats: LevelStats) -> dict[str, float]:
        stats = self.gathered(stats)
        buf, dev = self.buffer, self.ctx.device
        counts = self.replay_counts
        if self.ctx.world_size > 1:
            counts = torch.stack([c.to(dev) for c in self.ctx.gather(counts.cpu())]).sum(0)
        self._on_replayed(counts)
        buf.last_sampled[counts > 0] = self.clock
        self.replay_counts.zero_()
        kind = tag_kind(stats.level_id)
        # levels the buffer holds (replays, and new levels inserted while their episode ran): new score, best return
        slot_all = torch.where(kind == REPLAY, buf.lookup(tag_serial(stats.level_id)), buf.lookup_source(stats.level_id))
        rep = (slot_all >= 0).nonzero().squeeze(-1)
        slot = slot_all[rep]
        best = stats.max_return.clone()
        best[rep] = torch.maximum(best[rep], buf.max_return[slot])
        score = self._scores(stats, best)
        ok = torch.isfinite(score[rep])
        buf.score[slot[ok]] = score[rep][ok] * torch.where(buf.noop_solved[slot[ok]], self.noop.weight, 1.0)
        buf.max_return[slot] = best[rep]
        # new levels: rebuild their content, insert those that beat the buffer
        new = ((kind == RANDOM) | (kind == NEW)) & (slot_all < 0) & torch.isfinite(score)
        inserted = self._insert_new(stats.select(new), score[new], best[new])
        self.clock += 1
        replay_steps = stats.steps[kind == REPLAY].sum()
        return {"curriculum/replay_share": float(replay_steps / stats.steps.sum().clamp(min=1)),
                "curriculum/inserted": float(inserted),
                "curriculum/buffer_score": float(buf.score[buf.valid].mean()) if buf.size() else 0.0,
                "curriculum/buffer_success": _mean(stats.successes[kind == REPLAY], stats.episodes[kind == REPLAY])}

    def _on_replayed(self, counts: torch.Tensor) -> None:
        """Hook for subclasses: replays of each slot ``[K]`` over all ranks in the last rollout."""

    def _insert_new(self, stats: LevelStats, score: torch.Tensor, best: torch.Tensor) -> int:
        """Insert new levels by score; returns how many entered the buffer."""
        if stats.level_id.numel() == 0:
            return 0
        levels, found = self._content(stats.level_id)
        levels, score, best, tags = levels[found], score[found], best[found], stats.level_id[found]
        if self.cfg.solvable_only and levels.batch_size[0]:
            ok = self.ctx.solvable(levels)
            levels, score, best, tags = levels[ok], score[ok], best[ok], tags[ok]
        weight, solved = noop_weights(self.noop, self.ctx, levels)
        inserted = self.buffer.insert(levels, score * weight, self.clock, max_return=best, noop_solved=solved,
                                      source=tags)
        return int(inserted.sum())

    def _content(self, tags: torch.Tensor) -> tuple[TensorDict, torch.Tensor]:
        """Level records ``[L]`` of new-level tags and ``[L]`` flags of those still known."""
        levels = self.ctx.empty_levels(tags.numel())
        rand = tag_kind(tags) == RANDOM
        if bool(rand.any()):
            rebuilt = self.ctx.levels_from_tags(tags[rand])
            for key, target in levels.items():
                target[rand] = rebuilt.get(key)
        return levels, rand

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "buffer": self.buffer.state_dict(), "clock": self.clock,
                "replay_counts": self.replay_counts.cpu().clone()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.buffer.load_state_dict(state["buffer"])
        self.clock = state["clock"]
        self.replay_counts.copy_(state["replay_counts"])
