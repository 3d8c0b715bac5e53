"""Scripted lidarnav policies used as baselines: random actions and turn-to-goal."""
from __future__ import annotations

import math

import torch
from tensordict import TensorDictBase

from ..core.env_base import AGENTS
from .config import DISCRETE_ACTIONS, LidarNavConfig


class TurnToGoal:
    """Steer towards the goal bearing and drive when roughly facing it; ignores the lidar."""

    def __init__(self, cfg: LidarNavConfig, gain: float = 2.0) -> None:
        if cfg.hidden_goal:
            raise ValueError("TurnToGoal: the config hides the goal (hidden_goal=True); this baseline needs the "
                             "goal bearing in the observation")
        self.cfg = cfg
        self.gain = gain
        self.table = torch.tensor(DISCRETE_ACTIONS)  # [15, 2]

    def targets(self, obs: torch.Tensor) -> torch.Tensor:
        """``[..., 2]`` (v [m/s], w [rad/s]) targets from observations ``[..., D]``."""
        b = self.cfg.lidar_num_beams
        bearing = obs[..., b + 3] * (math.pi if self.cfg.normalise_obs else 1.0)  # [rad]
        w = (self.gain * bearing).clamp(-math.pi / 6, math.pi / 6)
        v = self.cfg.max_v * torch.cos(bearing).clamp(min=0.0) ** 4
        return torch.stack([v, w], dim=-1)

    def __call__(self, td: TensorDictBase) -> TensorDictBase:
        target = self.targets(td.get((AGENTS, "observation")))
        if self.cfg.action_type == "discrete":
            table = self.table.to(target.device)
            action = torch.cdist(target.reshape(-1, 2), table).argmin(-1).reshape(target.shape[:-1])
        else:
            action = target
        td.set((AGENTS, "action"), action)
        return td


class RandomPolicy:
    """Uniform random actions from the env's action spec (seeded by torch's generator)."""

    def __init__(self, env) -> None:
        self.spec = env.full_action_spec

    def __call__(self, td: TensorDictBase) -> TensorDictBase:
        td.update(self.spec.rand())
        return td
