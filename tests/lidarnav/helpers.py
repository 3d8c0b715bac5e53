"""Small builders for lidarnav tests: hand-made levels in the open or boxed in."""
from __future__ import annotations

import torch
from tensordict import TensorDict

from envs_warp.lidarnav.config import LidarNavConfig


def bordered_walls(cfg: LidarNavConfig) -> torch.Tensor:
    """``[H, W]`` uint8: walls only on the border."""
    walls = torch.zeros(cfg.map_height, cfg.map_width, dtype=torch.uint8)
    walls[0, :] = walls[-1, :] = walls[:, 0] = walls[:, -1] = 1
    return walls


def make_level(cfg: LidarNavConfig, starts, goals, walls: torch.Tensor | None = None) -> TensorDict:
    """One level (batch ``[1]``) from start poses ``[(x, y, θ)]`` and goals ``[(x, y)]``."""
    walls = bordered_walls(cfg) if walls is None else walls
    return TensorDict(
        {
            "walls": walls[None].clone(),
            "start": torch.tensor([starts], dtype=torch.float32),
            "goal": torch.tensor([goals], dtype=torch.float32),
        },
        batch_size=[1],
    )
