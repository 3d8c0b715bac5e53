"""``LevelBuffer``: a fixed-capacity set of levels on the training device with per-level scores."""
from __future__ import annotations

import torch
from tensordict import TensorDict


class LevelBuffer:
    """``K`` level slots (a padded level batch) with uid, score, staleness clock and best return per slot.

    Entries get a fresh ``uid`` when inserted, so a tag naming a uid that has since been evicted no
    longer matches any slot. Everything lives on one device; ``state_dict`` round-trips exactly.
    """

    def __init__(self, empty_levels: TensorDict) -> None:
        k = empty_levels.batch_size[0]
        dev = empty_levels.device
        self.levels = empty_levels  # [K] level records
        self.uid = torch.full((k,), -1, dtype=torch.int64, device=dev)  # [K] -1: empty slot
        self.source = torch.zeros(k, dtype=torch.int64, device=dev)  # [K] tag the level had when it was new
        self.score = torch.zeros(k, device=dev)  # [K]
        self.last_sampled = torch.zeros(k, dtype=torch.int64, device=dev)  # [K] clock of the last replay
        self.max_return = torch.full((k,), float("-inf"), device=dev)  # [K]
        self.noop_solved = torch.zeros(k, dtype=torch.bool, device=dev)  # [K] the do-nothing policy solves it
        self.next_uid = 0

    @property
    def capacity(self) -> int:
        """Number of slots ``K``."""
        return self.uid.numel()

    @property
    def valid(self) -> torch.Tensor:
        """``[K]`` bool: slots holding a level."""
        return self.uid >= 0

    def size(self) -> int:
        """Levels held (host sync)."""
        return int(self.valid.sum())

    def lookup(self, uids: torch.Tensor) -> torch.Tensor:
        """Slot of each uid ``[q]`` (``-1`` where no slot holds it)."""
        return self._find(self.uid, uids)

    def lookup_source(self, tags: torch.Tensor) -> torch.Tensor:
        """Slot holding the level that was new under each tag ``[q]`` (``-1``: not in the buffer)."""
        return self._find(self.source, tags)

    def _find(self, keys: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        """Slot of each query among the valid slots' ``keys`` (``-1`` where absent)."""
        if query.numel() == 0:
            return torch.zeros(0, dtype=torch.long, device=self.uid.device)
        valid = self.valid
        sorted_key, order = torch.sort(torch.where(valid, keys, torch.full_like(keys, torch.iinfo(keys.dtype).max)))
        pos = torch.searchsorted(sorted_key, query).clamp(max=self.capacity - 1)
        hit = (sorted_key[pos] == query) & valid[order[pos]]
        return torch.where(hit, order[pos], torch.full_like(pos, -1))

    def insert(self, levels: TensorDict, scores: torch.Tensor, clock: int, max_return: torch.Tensor | None = None,
               noop_solved: torch.Tensor | None = None, source: torch.Tensor | None = None) -> torch.Tensor:
        """Keep the top-``K`` by score of the held levels and ``levels`` ``[m]``; returns ``[m]`` inserted flags.

        Ties keep held levels first (an equal newcomer does not evict). New entries get fresh uids and
        ``last_sampled = clock``.
        """
        m, k = scores.numel(), self.capacity
        if m == 0:
            return torch.zeros(0, dtype=torch.bool, device=self.uid.device)
        held = torch.where(self.valid, self.score, torch.full_like(self.score, float("-inf")))
        union = torch.cat([held, scores.float().to(held.device)])  # [K + m]
        eligible = torch.cat([self.valid, torch.ones(m, dtype=torch.bool, device=held.device)])
        order = torch.sort(torch.where(eligible, union, torch.full_like(union, float("-inf"))),
                           descending=True, stable=True).indices[:k]
        chosen = torch.zeros(k + m, dtype=torch.bool, device=held.device)
        chosen[order] = True
        chosen &= eligible
        new_in = chosen[k:]  # [m]
        free = (~chosen[:k]).nonzero().squeeze(-1)  # slots whose level is evicted or empty
        slots = free[: int(new_in.sum())]
        src = new_in.nonzero().squeeze(-1)
        self.uid[~chosen[:k]] = -1
        if slots.numel():
            for key, target in self.levels.items():
                target[slots] = levels.get(key)[src].to(target.device)
            self.uid[slots] = torch.arange(self.next_uid, self.next_uid + slots.numel(), device=self.uid.device)
            self.next_uid += slots.numel()
            self.score[slots] = scores[src].float().to(self.score.device)
            self.last_sampled[slots] = clock
            self.max_return[slots] = (max_return[src].float().to(self.score.device) if max_return is not None
                                      else float("-inf"))
            self.noop_solved[slots] = (noop_solved[src].to(self.uid.device) if noop_solved is not None else False)
            self.source[slots] = source[src].to(self.uid.device) if source is not None else 0
        return new_in

    def replace_all(self, levels: TensorDict, scores: torch.Tensor, clock: int) -> None:
        """Empty the buffer, then hold ``levels`` ``[m <= K]`` with ``scores``."""
        self.uid.fill_(-1)
        self.insert(levels, scores, clock)

    def state_dict(self) -> dict:
        """Tensors (on CPU) and the uid counter."""
        return {"levels": {k: v.cpu().clone() for k, v in self.levels.items()}, "uid": self.uid.cpu().clone(),
                "score": self.score.cpu().clone(), "source": self.source.cpu().clone(), "last_sampled": self.last_sampled.cpu().clone(),
                "max_return": self.max_return.cpu().clone(), "noop_solved": self.noop_solved.cpu().clone(),
                "next_uid": self.next_uid}

    def load_state_dict(self, state: dict) -> None:
        """Restore a ``state_dict`` in place (same capacity and level schema)."""
        if state["uid"].numel() != self.capacity:
            raise ValueError(f"level buffer state holds {state['uid'].numel()} slots, this buffer has {self.capacity}")
        for key, target in self.levels.items():
            target.copy_(state["levels"][key])
        for name in ("uid", "source", "score", "last_sampled", "max_return", "noop_solved"):
            getattr(self, name).copy_(state[name])
        self.next_uid = int(state["next_uid"])
