"""A synthetic world for sampler tests: levels are records with a known success probability ``p``."""
from __future__ import annotations

from typing import Any

import torch
from tensordict import TensorDict


def make_levels(p: torch.Tensor, noop: torch.Tensor | None = None, solvable: torch.Tensor | None = None) -> TensorDict:
    """Levels ``[n]`` with success probability ``p``, a no-op-solved flag and a solvable flag."""
    n = p.numel()
    return TensorDict({"p": p.float(),
                       "noop": torch.zeros(n, dtype=torch.bool) if noop is None else noop,
                       "solvable": torch.ones(n, dtype=torch.bool) if solvable is None else solvable},
                      batch_size=[n])


class SyntheticContext:
    """A ``CurriculumContext`` whose policy solves level ``i`` with probability ``levels["p"][i]``."""

    def __init__(self, seed: int = 0, rank: int = 0, world_size: int = 1) -> None:
        self.device = torch.device("cpu")
        self.rank, self.world_size = rank, world_size
        self.seed = seed
        self.rollouts = 0

    def empty_levels(self, n: int) -> TensorDict:
        return make_levels(torch.zeros(n))

    def random_levels(self, n: int, seed: int) -> TensorDict:
        g = torch.Generator().manual_seed(seed)
        return make_levels(torch.rand(n, generator=g), noop=torch.rand(n, generator=g) < 0.2)

    def levels_from_tags(self, tags: torch.Tensor) -> TensorDict:
        """The 'random level' of a negative tag: p derived from the tag, reproducibly."""
        return make_levels(((-tags - 1) % 1000).float() / 1000)

    def solvable(self, levels: TensorDict) -> torch.Tensor:
        return levels["solvable"].clone()

    def success_rates(self, levels: TensorDict, trials: int, seed: int = 0, trial_success: str = "last") -> torch.Tensor:
        self.rollouts += 1
        # the agent's luck depends only on the levels it plays (so checkpoint tests can replay it)
        g = torch.Generator().manual_seed(self.seed + int(levels["p"].double().sum() * 1e6) % 2**31)
        p = levels["p"].unsqueeze(-1).expand(-1, trials)
        return (torch.rand(p.shape, generator=g) < p).float().mean(-1)

    def noop_solved(self, levels: TensorDict) -> torch.Tensor:
        return levels["noop"].clone()

    def mutate(self, levels: TensorDict, generator: torch.Generator, num_edits: int) -> TensorDict:
        out = levels.clone()
        out["p"] = (out["p"] + 0.01 * num_edits * torch.randn(out["p"].shape, generator=generator)).clamp(0, 1)
        return out

    def gather(self, obj: Any) -> list[Any]:
        if self.world_size == 1:
            return [obj]
        import torch.distributed as dist

        out: list[Any] = [None] * self.world_size
        dist.all_gather_object(out, obj)
        return out


class RecordingEnv:
    """Stands in for a ``WarpEnv`` at resets: keeps the levels and tags a sampler assigns per row."""

    def __init__(self, ctx: SyntheticContext, n: int) -> None:
        self.ctx = ctx
        self.levels = ctx.empty_levels(n)
        self.level_id = torch.full((n,), -1, dtype=torch.int64)
        self.pending = torch.zeros(n, dtype=torch.bool)
        self.resets = 0

    def assign_levels(self, levels: TensorDict, ids: torch.Tensor, mask: torch.Tensor) -> None:
        for key, target in self.levels.items():
            target.copy_(torch.where(mask, levels.get(key), target))
        self.level_id.copy_(torch.where(mask, ids, self.level_id))
        self.pending |= mask

    def reset(self, sampler, mask: torch.Tensor) -> None:
        """What ``WarpEnv._reset`` does: the hook, then a fresh random level (negative tag) for unassigned rows."""
        self.pending.zero_()
        sampler.on_reset(self, mask)
        fresh = mask & ~self.pending
        n = int(fresh.sum())
        tags = -1 - (self.resets * 1000 + torch.arange(n) * 37 % 1000)
        self.level_id[fresh] = tags
        rebuilt = self.ctx.levels_from_tags(tags)
        for key, target in self.levels.items():
            target[fresh] = rebuilt.get(key)
        self.resets += 1
