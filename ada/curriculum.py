"""The training loop's side of a curriculum: the world and a rollout service as a ``CurriculumContext``.

Samplers never see the training module: levels come from the world's registry functions, rollouts of
the current policy from a :class:`~ada.evaluate.PolicyRollouts` (which leaves the model's device, mode
and the run's random streams alone), and statistics from :func:`level_stats`.
"""
from __future__ import annotations

from typing import Any

import torch
import torch.distributed as dist
from tensordict import TensorDict, TensorDictBase

from curricula import LevelStats
from envs_warp.core.env_base import LEVEL_ID

from .evaluate import PolicyRollouts
from .worlds import build_env, mutate_levels, noop_solved, random_levels, scripted_policy, solvable_mask, with_memory


class WorldContext:
    """What samplers may ask of one rank: levels of its world, rollouts of the current policy, gathers.

    ``rollouts``: the rollout service (a ``PolicyRollouts``); anything with ``env_cfg`` and ``model`` (a
    ``PPOModule``) is accepted and turned into one, and only the service is kept.
    """

    def __init__(self, rollouts: PolicyRollouts, env, device: torch.device | str, rank: int = 0,
                 world_size: int = 1) -> None:
        self.device = torch.device(device)
        if not isinstance(rollouts, PolicyRollouts):
            rollouts = PolicyRollouts(rollouts.env_cfg, rollouts.model, self.device)
        self.rollouts = rollouts
        self.env = env  # this rank's training env (level schema, random levels by tag)
        self.env_cfg = rollouts.env_cfg
        self.rank, self.world_size = rank, world_size

    def empty_levels(self, n: int) -> TensorDict:
        """``n`` blank records of the training env's schema."""
        return self.env.level_schema.empty(n, self.device)

    def random_levels(self, n: int, seed: int) -> TensorDict:
        """``n`` levels of the world's random distribution."""
        return random_levels(self.env_cfg, n, seed, self.device)

    def levels_from_tags(self, tags: torch.Tensor) -> TensorDict:
        """The training env's random levels named by their tags."""
        return self.env.random_levels_from_tags(tags)

    def solvable(self, levels: TensorDict) -> torch.Tensor:
        """The world's solvability check."""
        return solvable_mask(self.env_cfg, levels).to(self.device)

    def success_rates(self, levels: TensorDict, trials: int, seed: int, trial_success: str = "last") -> torch.Tensor:
        """``[n]`` success of the current (stochastic) policy over ``trials`` episodes per level.

        With meta-RL trials on, each episode is K trials of the level and counts as its ``trial_success``
        (``last``, ``first``, ``any`` trial or the ``mean`` over its trials; see ``CurriculumConfig``).
        Each rank plays the levels ``rank::world_size``; the rates are gathered so every rank holds all.
        """
        n = levels.batch_size[0]
        mine = torch.arange(self.rank, n, self.world_size, device=self.device)
        rate = torch.zeros(n, device=self.device)
        if mine.numel():
            rate[mine] = self.rollouts.successes(levels[mine], trials, seed=seed + 7919 * self.rank,
                                                 trial_success=trial_success).float().mean(-1)
        if self.world_size > 1:
            rate = torch.stack([r.to(self.device) for r in self.gather(rate.cpu())]).sum(0)
        return rate

    def noop_solved(self, levels: TensorDict) -> torch.Tensor:
        """``[n]`` bool: one episode of the do-nothing policy reaches the goal (the world's own check if it has one)."""
        own = noop_solved(self.env_cfg, levels)
        if own is not None:
            return own.to(self.device)
        n = levels.batch_size[0]
        probe = with_memory(build_env(self.env_cfg, self.device, seed=0, num_envs=n, random_levels=False),
                            self.rollouts.memory_shape())
        return self.rollouts.successes(levels, 1, seed=0, policy=scripted_policy("noop", probe))[:, 0]

    def mutate(self, levels: TensorDict, generator: torch.Generator, num_edits: int) -> TensorDict:
        """World-specific ACCEL edits."""
        return mutate_levels(self.env_cfg, levels, generator, num_edits)

    def gather(self, obj: Any) -> list[Any]:
        """``obj`` from every rank, in rank order."""
        if self.world_size == 1 or not dist.is_initialized():
            return [obj]
        out: list[Any] = [None] * self.world_size
        dist.all_gather_object(out, obj)
        return out


def level_stats(data: TensorDictBase, seq: TensorDictBase, num_agents: int, episode_return: torch.Tensor,
                success: torch.Tensor) -> LevelStats:
    """Per-level sums of a rollout ``[N, T]`` for the curriculum (robots averaged per env step).

    ``seq``: the rollout's sequences ``[N·A]`` with ``advantage`` and ``value`` ``[N·A, T]``;
    ``episode_return``/``success`` ``[N, T]``: each finished episode's return and success at its last step
    (with meta-RL trials: the whole K-trial episode's return, and its success by ``CurriculumConfig.trial_success``,
    see :class:`ada.trial_log.TrialLog`).
    """
    n, t = data.batch_size
    per_env = lambda x: x.view(n, num_agents, t).mean(1)  # [N·A, T] -> [N, T]
    return LevelStats.from_rollout(data.get(LEVEL_ID)[..., 0], per_env(seq["advantage"]), per_env(seq["value"]),
                                   data.get(("next", "done"))[..., 0], success, episode_return)
