"""ACCEL (Parker-Holder et al. 2022): robust PLR whose replayed levels are edited into new candidates."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from tensordict import TensorDict

from .base import LevelDraw, uniform
from .noop import NoopFilterConfig
from .plr import PLRConfig, PLRSampler
from .scores import draw
from .tags import NEW, REPLAY, make_tags, tag_kind, tag_serial


@dataclass
class ACCELConfig:
    """Mutants per iteration (children of the levels replayed in the last rollout) and edits per child."""

    mutants: int = 64
    num_edits: int = 3

    def __post_init__(self) -> None:
        if self.mutants < 1 or self.num_edits < 1:
            raise ValueError("accel: mutants and num_edits must be >= 1")


class ACCELSampler(PLRSampler):
    """PLR plus a queue of mutants: a reset that does not replay plays the next unplayed mutant, if any.

    Parents are drawn uniformly from the distinct slots replayed (on any rank) in the last rollout,
    so edits spread over what the agent is training on rather than one favourite level. Mutants
    are kept for two generations so that episodes finishing a rollout later can still be inserted.
    """

    name = "accel"

    def __init__(self, cfg: PLRConfig, accel: ACCELConfig, noop: NoopFilterConfig, seed: int = 0) -> None:
        super().__init__(cfg, noop, seed)
        self.accel = accel
        self.generation = 0
        self.num_mutants = 0  # mutants of the current generation
        self.parents_replayed: torch.Tensor | None = None  # [K] replays per slot in the last rollout
        self.last_parents: torch.Tensor | None = None  # [m] buffer slots the current mutants came from

    def bind(self, context) -> None:
        super().bind(context)
        m = self.accel.mutants
        self.table = context.empty_levels(2 * m)  # [2m] two generations of mutants
        self.table_serial = torch.full((2 * m,), -1, dtype=torch.int64, device=context.device)  # [2m]
        self.cursor = torch.zeros((), dtype=torch.int64, device=context.device)  # next mutant this rank plays
        self.parents_replayed = torch.zeros(self.cfg.buffer_size, dtype=torch.int64, device=context.device)

    def _on_replayed(self, counts: torch.Tensor) -> None:
        self.parents_replayed = counts.clone()

    def before_rollout(self, iteration: int) -> dict[str, float]:
        metrics = super().before_rollout(iteration)
        metrics["curriculum/mutants"] = float(self._make_mutants())
        return metrics

    def _make_mutants(self) -> int:
        """Children of last rollout's replayed levels into the next generation's half of the table."""
        replayed = (self.parents_replayed > 0) & self.buffer.valid
        self.num_mutants = 0
        if not bool(replayed.any()):
            return 0
        m, dev = self.accel.mutants, self.ctx.device
        parents = draw(replayed.float(), uniform(self.shared_rng, m, dev))  # [m] distinct replayed slots, uniformly
        children = self.ctx.mutate(self.buffer.levels[parents], self.shared_rng, self.accel.num_edits)
        ok = self.ctx.solvable(children)
        children, parents = children[ok], parents[ok]
        k = parents.numel()
        half = (self.generation % 2) * m
        serial = self.generation * m + torch.arange(k, device=dev)
        rows = half + torch.arange(k, device=dev)
        for key, target in self.table.items():
            target[rows] = children.get(key)
        self.table_serial[half: half + m] = -1
        self.table_serial[rows] = serial
        self.generation += 1
        self.num_mutants = k
        self.last_parents = parents
        # each rank starts at its own offset so that ranks spread over the queue
        self.cursor.fill_((self.ctx.rank * k) // max(1, self.ctx.world_size))
        self.parents_replayed.zero_()
        return k

    def sample(self, mask: torch.Tensor) -> LevelDraw | None:
        if not self.ready and self.num_mutants == 0:
            return None
        if self.ready:
            replay, slot = self._replays(mask)
        else:
            replay, slot = torch.zeros_like(mask), torch.zeros(mask.numel(), dtype=torch.long, device=mask.device)
        levels, ids = self.buffer.levels[slot], make_tags(REPLAY, self.buffer.uid[slot])
        assigned = replay
        if self.num_mutants:
            take = mask & ~replay
            order = self.cursor + take.long().cumsum(0) - 1  # [N] queue position of each taking row
            has = take & (order < self.num_mutants)
            half = ((self.generation - 1) % 2) * self.accel.mutants
            rows = half + order.clamp(0, self.num_mutants - 1)
            mutant = self.table[rows]
            sel = has.view(-1, 1)
            levels = levels.apply(lambda a, b: torch.where(sel.view(-1, *([1] * (a.dim() - 1))), b, a), mutant)
            ids = torch.where(has, make_tags(NEW, self.table_serial[rows]), ids)
            self.cursor.add_(has.long().sum())
            assigned = assigned | has
        return LevelDraw(levels, ids, assigned)

    def _content(self, tags: torch.Tensor) -> tuple[TensorDict, torch.Tensor]:
        levels, found = super()._content(tags)
        mut = tag_kind(tags) == NEW
        if bool(mut.any()):
            serial = tag_serial(tags[mut])
            rows = serial % self.table_serial.numel()
            known = self.table_serial[rows] == serial
            picked = self.table[rows]
            idx = mut.nonzero().squeeze(-1)
            for key, target in levels.items():
                target[idx[known]] = picked.get(key)[known]
            found[idx[known]] = True
        return levels, found

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "generation": self.generation, "num_mutants": self.num_mutants,
                "table": {k: v.cpu().clone() for k, v in self.table.items()},
                "table_serial": self.table_serial.cpu().clone(), "cursor": self.cursor.cpu().clone(),
                "parents_replayed": self.parents_replayed.cpu().clone()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.generation, self.num_mutants = state["generation"], state["num_mutants"]
        for key, target in self.table.items():
            target.copy_(state["table"][key])
        self.table_serial.copy_(state["table_serial"])
        self.cursor.copy_(state["cursor"])
        self.parents_replayed.copy_(state["parents_replayed"])
