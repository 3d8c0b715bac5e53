"""The training loop's side of a curriculum: the world and the current policy as a ``CurriculumContext``."""
from __future__ import annotations

from typing import Any

import torch
import torch.distributed as dist
from tensordict import TensorDict

from .evaluate import run_attempts
from .worlds import build_env, mutate_levels, noop_solved, random_levels, scripted_policy, solvable_mask, with_memory


class WorldContext:
    """What samplers may ask of one rank: levels of its world, rollouts of the module's current policy, gathers."""

    def __init__(self, module, env, device: torch.device, rank: int = 0, world_size: int = 1) -> None:
        self.module = module
        self.env = env  # this rank's training env (level schema, random levels by tag)
        self.env_cfg = module.env_cfg
        self.device = torch.device(device)
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

    def success_rates(self, levels: TensorDict, trials: int, seed: int) -> torch.Tensor:
        """``[n]`` success of the current (stochastic) policy over ``trials`` episodes per level.

        Each rank plays the levels ``rank::world_size``; the rates are gathered so every rank holds all.
        """
        n = levels.batch_size[0]
        mine = torch.arange(self.rank, n, self.world_size, device=self.device)
        rate = torch.zeros(n, device=self.device)
        if mine.numel():
            rate[mine] = self._attempts(levels[mine], trials, seed=seed + 7919 * self.rank).float().mean(-1)
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
                            self.module.model.carried_memory_shape())
        return self._attempts(levels, 1, seed=0, policy=scripted_policy("noop", probe))[:, 0]

    def _attempts(self, levels: TensorDict, trials: int, seed: int, policy=None) -> torch.Tensor:
        """``[n, trials]`` bool successes (the model is put back in training mode afterwards)."""
        model = self.module.model
        was_training = model.training
        try:
            out = run_attempts(self.module, levels, trials, policy=policy, seed=seed, device=self.device)
        finally:
            model.train(was_training)
        return torch.as_tensor(out["success"], device=self.device)

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
