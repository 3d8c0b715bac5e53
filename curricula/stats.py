"""Per-level outcome statistics of a rollout: what the training loop tells a curriculum."""
from __future__ import annotations

from dataclasses import dataclass, fields

import torch

# Which trials' successes make an episode of K trials a success (``CurriculumConfig.trial_success``).
TRIAL_SUCCESS = ("last", "first", "any", "mean")


def episode_success(by_trial: torch.Tensor, num_trials: torch.Tensor, mode: str = "last") -> torch.Tensor:
    """An episode's success in ``[0, 1]`` from its trials' successes ``[..., K_max]`` (bool; K of the episode
    ``num_trials [...]``, entries past it ignored): ``last`` trial, ``first`` trial, ``any`` trial, or the
    ``mean`` over its K trials (a fraction). With one trial every mode is that trial's success.
    """
    if mode not in TRIAL_SUCCESS:
        raise ValueError(f"trial_success must be one of {TRIAL_SUCCESS}, got {mode!r}")
    k_max = by_trial.shape[-1]
    k = num_trials.long().clamp(1, k_max)  # [...]
    valid = torch.arange(k_max, device=by_trial.device) < k.unsqueeze(-1)  # [..., K_max]
    hits = by_trial.bool() & valid
    if mode == "last":
        return hits.gather(-1, (k - 1).unsqueeze(-1)).squeeze(-1).float()
    if mode == "first":
        return hits[..., 0].float()
    if mode == "any":
        return hits.any(-1).float()
    return hits.sum(-1).float() / k.float()


@dataclass
class LevelStats:
    """Sums over one rollout's steps and finished episodes, one row per level tag ``[L]``.

    Scores derive from these: positive value loss ``pos_advantage / steps``, mean L1 value error
    ``abs_advantage / steps``, success rate ``successes / episodes``; ``max_return`` is ``-inf`` for
    levels with no finished episode. Sums (not means) so that rollouts and ranks merge exactly.
    """

    level_id: torch.Tensor  # [L] int64 tags, unique
    steps: torch.Tensor  # [L] env steps played on the level
    pos_advantage: torch.Tensor  # [L] sum of max(A_t, 0)
    abs_advantage: torch.Tensor  # [L] sum of |A_t|
    value: torch.Tensor  # [L] sum of V(s_t)
    episodes: torch.Tensor  # [L] episodes that ended
    successes: torch.Tensor  # [L] of which successful
    returns: torch.Tensor  # [L] sum of their returns
    max_return: torch.Tensor  # [L] best return (-inf: none ended)

    @classmethod
    def from_rollout(cls, tags: torch.Tensor, advantage: torch.Tensor, value: torch.Tensor, done: torch.Tensor,
                     success: torch.Tensor, episode_return: torch.Tensor) -> "LevelStats":
        """Group a rollout's steps ``[N, T]`` by level tag; ``success``/``episode_return`` count where ``done``."""
        ids, inverse = torch.unique(tags.reshape(-1), return_inverse=True)
        n = ids.numel()
        done = done.reshape(-1).float()

        def total(x: torch.Tensor) -> torch.Tensor:
            return torch.zeros(n, dtype=torch.float32, device=ids.device).index_add_(0, inverse, x.reshape(-1).float())

        adv = advantage.reshape(-1)
        ret = episode_return.reshape(-1).float()
        best = torch.full((n,), float("-inf"), device=ids.device)
        best.scatter_reduce_(0, inverse, torch.where(done > 0, ret, torch.full_like(ret, float("-inf"))), "amax")
        return cls(ids, total(torch.ones_like(adv)), total(adv.clamp(min=0)), total(adv.abs()), total(value),
                   total(done), total(success.reshape(-1).float() * done), total(ret * done), best)

    @classmethod
    def merge(cls, parts: list["LevelStats"]) -> "LevelStats":
        """One ``LevelStats`` from several (rollouts or ranks): sums add, maxima take the max."""
        device = parts[0].level_id.device
        cat = {f.name: torch.cat([getattr(p, f.name).to(device) for p in parts]) for f in fields(cls)}
        ids, inverse = torch.unique(cat["level_id"], return_inverse=True)
        out = {"level_id": ids}
        for name, value in cat.items():
            if name == "level_id":
                continue
            if name == "max_return":
                out[name] = torch.full((ids.numel(),), float("-inf"), device=device).scatter_reduce_(
                    0, inverse, value, "amax")
            else:
                out[name] = torch.zeros(ids.numel(), device=device).index_add_(0, inverse, value)
        return cls(**out)

    def select(self, keep: torch.Tensor) -> "LevelStats":
        """The rows where ``keep`` ``[L]`` is set."""
        return LevelStats(**{f.name: getattr(self, f.name)[keep] for f in fields(self)})

    def to(self, device: torch.device | str) -> "LevelStats":
        """A copy on ``device``."""
        return LevelStats(**{f.name: getattr(self, f.name).to(device) for f in fields(self)})

    @property
    def positive_value_loss(self) -> torch.Tensor:
        """``[L]`` mean positive advantage per step (PLR's PVL score)."""
        return self.pos_advantage / self.steps.clamp(min=1)

    @property
    def mean_value(self) -> torch.Tensor:
        """``[L]`` mean value estimate over the level's steps."""
        return self.value / self.steps.clamp(min=1)

    @property
    def success_rate(self) -> torch.Tensor:
        """``[L]`` success rate of finished episodes (0 where none finished)."""
        return self.successes / self.episodes.clamp(min=1)
