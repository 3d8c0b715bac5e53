"""The level-sampler interface and what a sampler may ask of the world and the training loop.

Data flow (one iteration): ``before_rollout`` (refresh buffers, make mutants; host syncs allowed)
→ during the rollout the env calls ``on_reset(env, mask)`` before each reset, which asks
``sample(mask)`` for levels and assigns them to the reset rows (device only, no host sync)
→ the training loop computes advantages and calls ``update(LevelStats)`` (scores, insertions).
Under DDP every rank samples for its own envs; ``update`` and ``before_rollout`` work on data
gathered from all ranks with the same shared random stream, so buffers stay identical everywhere.
"""
from __future__ import annotations

from abc import ABC
from dataclasses import dataclass
from typing import Any, Protocol

import torch
from tensordict import TensorDict

from .stats import LevelStats


class CurriculumContext(Protocol):
    """The world and the current policy, as a sampler sees them (the training loop provides this)."""

    device: torch.device
    rank: int
    world_size: int

    def empty_levels(self, n: int) -> TensorDict:
        """``n`` blank level records of the training env's schema and capacity, on ``device``."""

    def random_levels(self, n: int, seed: int) -> TensorDict:
        """``n`` levels from the world's random distribution (reproducible from ``seed``)."""

    def levels_from_tags(self, tags: torch.Tensor) -> TensorDict:
        """The world's random levels named by negative tags (as the training env drew them)."""

    def solvable(self, levels: TensorDict) -> torch.Tensor:
        """``[n]`` bool: the world's solvability check."""

    def success_rates(self, levels: TensorDict, trials: int, seed: int, trial_success: str = "last") -> torch.Tensor:
        """``[n]`` success rate of the current policy over ``trials`` episodes per level (reproducible from
        ``seed``; the same on every rank); an episode of K meta-RL trials counts as its ``trial_success``
        (see ``CurriculumConfig``)."""

    def noop_solved(self, levels: TensorDict) -> torch.Tensor:
        """``[n]`` bool: the do-nothing policy solves the level."""

    def mutate(self, levels: TensorDict, generator: torch.Generator, num_edits: int) -> TensorDict:
        """Children ``[n]`` of ``levels`` with ``num_edits`` random world-specific edits each."""

    def gather(self, obj: Any) -> list[Any]:
        """``obj`` from every rank, in rank order (``[obj]`` in a single process)."""


@dataclass
class LevelDraw:
    """Levels for a reset: row ``i`` loads ``levels[i]`` with tag ``ids[i]`` where ``assigned[i]``."""

    levels: TensorDict  # [N]
    ids: torch.Tensor  # [N] int64 tags
    assigned: torch.Tensor  # [N] bool; other rows draw the world's own random level


class LevelSampler(ABC):
    """Chooses the levels env rows play; learns from per-level outcome statistics."""

    name = "sampler"

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.ctx: CurriculumContext | None = None
        self.rng: torch.Generator | None = None  # this rank's draws at resets
        self.shared_rng: torch.Generator | None = None  # the same stream on every rank (buffer decisions)

    def bind(self, context: CurriculumContext) -> None:
        """Attach the world and create the random streams on its device."""
        self.ctx = context
        self.rng = torch.Generator(context.device).manual_seed(1_000_003 * (self.seed + 1) + context.rank)
        self.shared_rng = torch.Generator(context.device).manual_seed(7_919 * (self.seed + 1))

    # ------------------------------------------------------------------ the env side
    def on_reset(self, env, mask: torch.Tensor) -> None:
        """``env.level_source`` hook: assign levels to some of the rows about to reset (``mask`` ``[N]``)."""
        got = self.sample(mask)
        if got is not None:
            env.assign_levels(got.levels, got.ids, mask & got.assigned)

    def sample(self, mask: torch.Tensor) -> LevelDraw | None:
        """Levels for the rows set in ``mask`` ``[N]``; ``None``: every row draws the world's random level."""
        return None

    # ------------------------------------------------------------------ the training side
    def before_rollout(self, iteration: int) -> dict[str, float]:
        """Work between rollouts (buffer refreshes, mutations); returns metrics to log."""
        return {}

    def update(self, stats: LevelStats) -> dict[str, float]:
        """Learn from this rank's rollout statistics (gathered over ranks inside); returns metrics to log."""
        return {}

    def train_mask(self, tags: torch.Tensor) -> torch.Tensor | None:
        """``[N, T]`` bool: steps that take a gradient (``None``: all of them)."""
        return None

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly (tensors on CPU)."""
        return {"rng": self.rng.get_state(), "shared_rng": self.shared_rng.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a ``state_dict``."""
        self.rng.set_state(state["rng"])
        self.shared_rng.set_state(state["shared_rng"])

    def gathered(self, stats: LevelStats) -> LevelStats:
        """Statistics of every rank merged into one (identical on all ranks)."""
        if self.ctx.world_size == 1:
            return stats
        parts = self.ctx.gather(stats.to("cpu"))
        return LevelStats.merge(parts).to(self.ctx.device)


def uniform(generator: torch.Generator, n: int, device: torch.device) -> torch.Tensor:
    """``[n]`` uniforms in [0, 1) from ``generator``."""
    return torch.rand(n, generator=generator, device=device)
