"""Recurrent actor-critic: encoder -> memory core -> (action head, value head), shared trunk."""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn
from torch.distributions import Distribution

from .encoders import VectorEncoder
from .entity_encoder import EntityEncoder, EntityLayout
from .gru import GRUCore, NoMemoryCore
from .heads import DiscreteHead, GaussianHead, MultiDiscreteHead, ValueHead
from .transformer_xl import TransformerXLCore


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

    core: str = "gru"  # "gru" | "trxl" (Transformer-XL) | "mlp" (no memory)
    encoder: str = "flat"  # "flat" (MLP over the flat observation) | "entity" (attention over the world's entities)
    hidden: int = 128  # encoder width = GRU state = Transformer-XL model width
    encoder_layers: int = 2
    init_std: float = 0.5  # continuous actions: initial std as a fraction of the half range
    # Transformer-XL only (core="trxl")
    layers: int = 2
    heads: int = 4
    memory_len: int = 32  # steps each step attends back to (the cache length M)
    gating: bool = True  # GTrXL GRU-type gates instead of residual sums
    ff_mult: int = 4
    cache_dtype: str = "float32"  # rollout cache storage: "float32" | "bfloat16"
    # entity encoder only (encoder="entity"; encoder_layers sets its attention blocks)
    entity_heads: int = 4  # >= 4: head h sees relation h % 4 (all, structure, jointed, contact)


# Transformer-XL sizes for scaling runs (gated, ff_mult 4; about 25·hidden²·layers core parameters).
# Set these fields in an experiment YAML's ``model.policy``; nominal total parameters in the key.
MODEL_SIZES: dict[str, dict] = {
    "100k": dict(core="trxl", hidden=64, layers=1, heads=2),
    "1M": dict(core="trxl", hidden=128, layers=2, heads=4),
    "10M": dict(core="trxl", hidden=256, layers=6, heads=8),
    "100M": dict(core="trxl", hidden=768, layers=7, heads=12),
}


def count_parameters(obs_dim: int, action: ActionSpace, cfg: PolicyConfig,
                     entity_layout: EntityLayout | None = None) -> dict[str, int]:
    """``parameter_counts_by_name`` plus ``total`` of a model built on the meta device (no memory used)."""
    with torch.device("meta"):
        model = ActorCritic(obs_dim, action, cfg, entity_layout)
    counts = model.parameter_counts_by_name()
    counts["total"] = sum(counts.values())
    return counts


class ActorCritic(nn.Module):
    """Shared-trunk actor-critic with memory; batch dims first, robots folded into the batch."""

    def __init__(self, obs_dim: int, action: ActionSpace, cfg: PolicyConfig | None = None,
                 entity_layout: EntityLayout | None = None) -> None:
        super().__init__()
        cfg = cfg or PolicyConfig()
        self.cfg = cfg
        if cfg.encoder == "flat":
            self.encoder: nn.Module = VectorEncoder(obs_dim, cfg.hidden, cfg.encoder_layers)
        elif cfg.encoder == "entity":
            if entity_layout is None or entity_layout.size != obs_dim:
                raise ValueError(f"policy.encoder 'entity' needs the world's entity layout of the {obs_dim}-value "
                                 f"observation, got {entity_layout}")
            self.encoder = EntityEncoder(entity_layout, cfg.hidden, cfg.encoder_layers, cfg.entity_heads)
        else:
            raise ValueError(f"PolicyConfig.encoder must be 'flat' or 'entity', got {cfg.encoder!r}")
        if cfg.core == "gru":
            self.core: nn.Module = GRUCore(self.encoder.out_dim, cfg.hidden)
        elif cfg.core == "trxl":
            self.core = TransformerXLCore(self.encoder.out_dim, cfg.hidden, cfg.layers, cfg.heads, cfg.memory_len,
                                          cfg.gating, cfg.ff_mult)
        elif cfg.core == "mlp":
            self.core = NoMemoryCore(self.encoder.out_dim)
        else:
            raise ValueError(f"PolicyConfig.core must be 'gru', 'trxl' or 'mlp', got {cfg.core!r}")
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

    @property
    def cached_memory(self) -> bool:
        """Whether the core's memory is a large cache kept by the rollout side instead of stored per step."""
        return getattr(self.core, "cached_memory", False)

    def carried_memory_shape(self) -> tuple[int, ...]:
        """Shape of the per-step memory entry a rollout stores: the core's memory, or a placeholder slot."""
        return (1,) if self.cached_memory else self.core.memory_shape()

    def initial_memory(self, batch: int, device: torch.device | str = "cpu",
                       dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """Zero memory ``[B, *memory_shape]``."""
        return torch.zeros(batch, *self.core.memory_shape(), device=device, dtype=dtype)

    def step(self, obs: torch.Tensor, memory: torch.Tensor, is_init: torch.Tensor) -> tuple[Distribution, torch.Tensor, torch.Tensor]:
        """Rollout step: ``obs [B, D]`` -> (action distribution ``[B]``, value ``[B]``, memory ``[B, ...]``)."""
        z, memory = self.core.step(self.encoder(obs), memory, is_init)
        return self.actor(z), self.critic(z), memory

    def step_inplace(self, obs: torch.Tensor, cache: torch.Tensor, is_init: torch.Tensor,
                     head: int) -> tuple[Distribution, torch.Tensor]:
        """Rollout step of a cached-memory core on its ring-buffer ``cache`` (written in place) -> (distribution, value)."""
        z = self.core.step_inplace(self.encoder(obs), cache, is_init, head)
        return self.actor(z), self.critic(z)

    def sequence(self, obs: torch.Tensor, memory: torch.Tensor, is_init: torch.Tensor) -> tuple[Distribution, torch.Tensor]:
        """Training window: ``obs [B, T, D]`` from ``memory [B, ...]`` with resets ``is_init [B, T]``."""
        z = self.core.sequence(self.encoder(obs), memory, is_init)
        return self.actor(z), self.critic(z)

    def sequence_with_next_values(self, obs: torch.Tensor, next_obs: torch.Tensor, memory: torch.Tensor,
                                  is_init: torch.Tensor) -> torch.Tensor:
        """Values ``[B, T]`` of ``next_obs [B, T, D]``, each seen right after step ``t`` of ``obs [B, T, D]`` (no reset)."""
        if self.cached_memory:
            _, z_next = self.core.sequence(self.encoder(obs), memory, is_init, next_x=self.encoder(next_obs))
            return self.critic(z_next)
        raise ValueError(f"core {self.cfg.core!r} carries its memory step by step: take next values from step() "
                         "on the carried memory; only cached-memory cores (trxl) answer next-state queries")

    def layer_groups(self) -> list[list[str]]:
        """Names of the modules of each layer, input to output: encoder layers (a Linear with its LayerNorm), core
        layers (GRU cell; Transformer-XL input projection, then each block, the last with the final norm) and the
        heads last (actor and critic side by side: one layer). Layer resets take the last k of these."""
        groups: list[list[str]] = []
        net = getattr(self.encoder, "net", None)
        if isinstance(net, nn.Sequential):
            for i, layer in enumerate(net):
                if isinstance(layer, nn.Linear):
                    groups.append([f"encoder.net.{i}"])
                elif isinstance(layer, nn.LayerNorm) and groups:
                    groups[-1].append(f"encoder.net.{i}")
        else:  # another encoder: one layer
            groups.append(["encoder"])
        if isinstance(self.core, TransformerXLCore):
            groups.append(["core.inp"])
            groups += [[f"core.blocks.{i}"] for i in range(len(self.core.blocks))]
            groups[-1].append("core.norm")
        elif any(True for _ in self.core.parameters()):
            groups.append(["core"])
        groups.append(["actor", "critic"])
        return groups

    def parameter_counts(self) -> dict[str, int]:
        """Trainable parameters per top-level part, plus the total."""
        counts = {name: sum(p.numel() for p in m.parameters()) for name, m in self.named_children()}
        counts["total"] = sum(counts.values())
        return counts

    def parameter_counts_by_name(self, depth: int = 2) -> dict[str, int]:
        """Trainable parameters grouped by the first ``depth`` parts of their names (e.g. ``core.blocks``)."""
        counts: dict[str, int] = {}
        for name, p in self.named_parameters():
            key = ".".join(name.split(".")[:depth])
            counts[key] = counts.get(key, 0) + p.numel()
        return counts
