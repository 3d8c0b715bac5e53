"""GRU memory core: step and sequence forms with per-step resets (``is_init``)."""
from __future__ import annotations

import torch
from torch import nn


class GRUCore(nn.Module):
    """A GRU cell whose hidden state ``[B, H]`` is zeroed wherever ``is_init`` is set."""

    def __init__(self, in_dim: int, hidden: int = 128) -> None:
        super().__init__()
        self.cell = nn.GRUCell(in_dim, hidden)
        self.hidden = hidden
        self.out_dim = hidden

    cached_memory = False  # small memory: stored with every rollout step

    def memory_shape(self) -> tuple[int, ...]:
        """Shape of one sequence's memory (without batch)."""
        return (self.hidden,)

    def step(self, x: torch.Tensor, memory: torch.Tensor, is_init: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One step: ``x [B, F]``, ``memory [B, H]``, ``is_init [B]`` -> (output ``[B, H]``, new memory ``[B, H]``)."""
        h = memory * (~is_init).unsqueeze(-1).to(memory.dtype)
        h = self.cell(x, h)
        return h, h

    def sequence(self, x: torch.Tensor, memory: torch.Tensor, is_init: torch.Tensor) -> torch.Tensor:
        """Unroll ``x [B, T, F]`` from ``memory [B, H]`` with resets ``is_init [B, T]`` -> outputs ``[B, T, H]``."""
        outs = []
        h = memory
        for t in range(x.shape[1]):
            out, h = self.step(x[:, t], h, is_init[:, t])
            outs.append(out)
        return torch.stack(outs, dim=1)


class NoMemoryCore(nn.Module):
    """Memory-less baseline with the same interface (an identity over features)."""

    def __init__(self, in_dim: int) -> None:
        super().__init__()
        self.out_dim = in_dim

    cached_memory = False

    def memory_shape(self) -> tuple[int, ...]:
        """A single unused slot so the memory plumbing stays uniform."""
        return (1,)

    def step(self, x: torch.Tensor, memory: torch.Tensor, is_init: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Features pass through; memory is returned unchanged."""
        return x, memory

    def sequence(self, x: torch.Tensor, memory: torch.Tensor, is_init: torch.Tensor) -> torch.Tensor:
        """Features pass through."""
        return x
