"""Observation encoders: flat vectors (lidar + proprioception) to a feature vector.

The entity encoder (sets of shapes, joints, thrusters) is in :mod:`models.entity_encoder`.
"""
from __future__ import annotations

import torch
from torch import nn


class VectorEncoder(nn.Module):
    """MLP over a flat observation ``[..., D]`` -> ``[..., H]`` with LayerNorm and SiLU."""

    def __init__(self, obs_dim: int, hidden: int = 128, layers: int = 2) -> None:
        super().__init__()
        dims = [obs_dim] + [hidden] * layers
        blocks: list[nn.Module] = []
        for a, b in zip(dims[:-1], dims[1:]):
            blocks += [nn.Linear(a, b), nn.LayerNorm(b), nn.SiLU()]
        self.net = nn.Sequential(*blocks)
        self.out_dim = hidden

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """Features ``[..., H]`` of observations ``[..., D]``."""
        return self.net(obs)
