"""Recurrent actor-critic: encoder -> memory core -> (action head, value head), shared trunk."""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn
from torch.distributions import Distribution

from .encoders import VectorEncoder
from .gru import GRUCore, NoMemoryCore
from .heads import DiscreteHead, GaussianHead, MultiDiscreteHead, ValueHead


@dataclass
class ActionSpace:
    """What the heads must produce, described without any env code."""

    kind: str  # "discrete" | "multi_discrete" | "continuous"
    n: int = 0  # discrete choices
    nvec: list[int] = field(default_factory=list)  # multi-discrete choices per channel
    low: list[float] = field(default_factory=list)  # continuous bounds
    high: list[float] = field(default_factory=list)


@dataclass
class PolicyConfig:
    """Architecture of the actor-critic."""

    core: str = "gru"  # "gru" | "mlp" (no memory)
    hidden: int = 128
    encoder_layers: int = 2
    init_std: float = 0.5  # continuous actions: initial std as a fraction of the half range


class ActorCritic(nn.Module):
    """Shared-trunk actor-critic with memory; batch dims first, robots folded into the batch."""

    def __init__(self, obs_dim: int, action: ActionSpace, cfg: PolicyConfig | None = None) -> None:
        super().__init__()
        cfg = cfg or PolicyConfig()
        self.cfg = cfg
        self.encoder = VectorEncoder(obs_dim, cfg.hidden, cfg.encoder_layers)
        if cfg.core == "gru":
            self.core: nn.Module = GRUCore(self.encoder.out_dim, cfg.hidden)
        elif cfg.core == "mlp":
            self.core = NoMemoryCore(self.encoder.out_dim)
        else:
            raise ValueError(f"PolicyConfig.core must be 'gru' or 'mlp', got {cfg.core!r}")
        width = self.core.out_dim
        if action.kind == "discrete":
            self.actor: nn.Module = DiscreteHead(width, action.n)
        elif action.kind == "multi_discrete":
            self.actor = MultiDiscreteHead(width, action.nvec)
        elif action.kind == "continuous":
            self.actor = GaussianHead(width, torch.tensor(action.low), torch.tensor(action.high), cfg.init_std)
        else:
            raise ValueError(f"unknown action kind {action.kind!r}")
        self.critic = ValueHead(width)

    def initial_memory(self, batch: int, device: torch.device | str = "cpu") -> torch.Tensor:
        """Zero memory ``[B, *memory_shape]``."""
        return torch.zeros(batch, *self.core.memory_shape(), device=device)

    def step(self, obs: torch.Tensor, memory: torch.Tensor, is_init: torch.Tensor) -> tuple[Distribution, torch.Tensor, torch.Tensor]:
        """Rollout step: ``obs [B, D]`` -> (action distribution ``[B]``, value ``[B]``, memory ``[B, ...]``)."""
        z, memory = self.core.step(self.encoder(obs), memory, is_init)
        return self.actor(z), self.critic(z), memory

    def sequence(self, obs: torch.Tensor, memory: torch.Tensor, is_init: torch.Tensor) -> tuple[Distribution, torch.Tensor]:
        """Training window: ``obs [B, T, D]`` from ``memory [B, ...]`` with resets ``is_init [B, T]``."""
        z = self.core.sequence(self.encoder(obs), memory, is_init)
        return self.actor(z), self.critic(z)

    def parameter_counts(self) -> dict[str, int]:
        """Trainable parameters per top-level part, plus the total."""
        counts = {name: sum(p.numel() for p in m.parameters()) for name, m in self.named_children()}
        counts["total"] = sum(counts.values())
        return counts
