"""Actor-critic heads: action distributions for discrete, multi-discrete and continuous actions, and a value."""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.distributions import Categorical, Distribution, Independent, Normal, kl_divergence, register_kl


class DiscreteHead(nn.Module):
    """Categorical over ``n`` actions."""

    def __init__(self, in_dim: int, n: int) -> None:
        super().__init__()
        self.logits = nn.Linear(in_dim, n)
        nn.init.orthogonal_(self.logits.weight, 0.01)
        nn.init.zeros_(self.logits.bias)

    def forward(self, z: torch.Tensor) -> Distribution:
        """Distribution over actions for features ``[..., F]``; samples are ``[...]`` int64."""
        return Categorical(logits=self.logits(z))


class MultiDiscreteHead(nn.Module):
    """Independent categoricals, one per channel with its own number of choices."""

    def __init__(self, in_dim: int, nvec: list[int]) -> None:
        super().__init__()
        self.nvec = list(nvec)
        self.logits = nn.Linear(in_dim, sum(self.nvec))
        nn.init.orthogonal_(self.logits.weight, 0.01)
        nn.init.zeros_(self.logits.bias)

    def forward(self, z: torch.Tensor) -> Distribution:
        """Distribution whose samples are ``[..., C]`` int64."""
        return _MultiCategorical(torch.split(self.logits(z), self.nvec, dim=-1))


class _MultiCategorical(Distribution):
    """Product of categoricals (log-prob and entropy summed over channels)."""

    arg_constraints: dict = {}

    def __init__(self, logits: tuple[torch.Tensor, ...]) -> None:
        self.dists = [Categorical(logits=l) for l in logits]
        super().__init__(batch_shape=self.dists[0].batch_shape, validate_args=False)

    def sample(self, sample_shape=torch.Size()) -> torch.Tensor:
        return torch.stack([d.sample(sample_shape) for d in self.dists], dim=-1)

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        return sum(d.log_prob(value[..., i]) for i, d in enumerate(self.dists))

    def entropy(self) -> torch.Tensor:
        return sum(d.entropy() for d in self.dists)

    @property
    def mode(self) -> torch.Tensor:
        return torch.stack([d.probs.argmax(-1) for d in self.dists], dim=-1)


@register_kl(_MultiCategorical, _MultiCategorical)
def _kl_multi_categorical(p: _MultiCategorical, q: _MultiCategorical) -> torch.Tensor:
    """KL(p ‖ q) of two products of independent categoricals: the sum of the channels' KLs ``[...]``."""
    if [d.logits.shape[-1] for d in p.dists] != [d.logits.shape[-1] for d in q.dists]:
        raise ValueError("KL between multi-discrete distributions with different channels")
    return sum(kl_divergence(a, b) for a, b in zip(p.dists, q.dists))


class GaussianHead(nn.Module):
    """Diagonal Gaussian with state-independent log-std; the env clips to its limits."""

    def __init__(self, in_dim: int, low: torch.Tensor, high: torch.Tensor, init_std: float = 0.5) -> None:
        super().__init__()
        self.mean = nn.Linear(in_dim, low.numel())
        nn.init.orthogonal_(self.mean.weight, 0.01)
        nn.init.zeros_(self.mean.bias)
        self.log_std = nn.Parameter(torch.full((low.numel(),), math.log(init_std)))
        self.register_buffer("centre", (low + high) / 2)
        self.register_buffer("scale", (high - low) / 2)

    def forward(self, z: torch.Tensor) -> Distribution:
        """Gaussian over actions in env units (mean starts at the box centre)."""
        mean = self.centre + self.scale * self.mean(z)
        std = (self.scale * self.log_std.clamp(-5.0, 2.0).exp()).expand_as(mean)
        return Independent(Normal(mean, std), 1)


class ValueHead(nn.Module):
    """Scalar state value."""

    def __init__(self, in_dim: int) -> None:
        super().__init__()
        self.v = nn.Linear(in_dim, 1)
        nn.init.orthogonal_(self.v.weight, 1.0)
        nn.init.zeros_(self.v.bias)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Values ``[...]`` for features ``[..., F]``."""
        return self.v(z).squeeze(-1)
