"""The lidarnav ``World``: what ``ada`` and ``curricula`` may use of this world."""
from __future__ import annotations

import torch
from tensordict import TensorDict

from ..core.world import World
from .config import LidarNavConfig
from .env import LidarNavEnv
from .levels import LevelGenerator, load_test_maps
from .mutations import mutate_levels
from .policies import TurnToGoal
from .render import draw_row


def _random_levels(cfg: LidarNavConfig, n: int, seed: int, device: torch.device | str) -> TensorDict:
    """The device generator the env's resets use."""
    return LevelGenerator(cfg, device).generate(n, seed=seed)


def _solvable(cfg: LidarNavConfig, levels: TensorDict) -> torch.Tensor:
    """A grid path from every robot's start to its goal."""
    return LevelGenerator(cfg, levels.device).solvable(levels)


def _mutate(cfg: LidarNavConfig, levels: TensorDict, generator: torch.Generator, num_edits: int) -> TensorDict:
    return mutate_levels(levels, cfg, generator, num_edits=num_edits)


WORLD = World(
    name="lidarnav",
    config=LidarNavConfig,
    env=LidarNavEnv,
    kernel_modules=("envs_warp.lidarnav.generation", "envs_warp.lidarnav.reset", "envs_warp.lidarnav.dynamics",
                    "envs_warp.lidarnav.lidar", "envs_warp.lidarnav.task"),
    description="lidar multi-robot navigation in the JaxNav task space",
    random_levels=_random_levels,
    held_out_levels=lambda cfg: load_test_maps(cfg),
    solvable=_solvable,
    mutate=_mutate,
    draw_row=draw_row,
    agent_positions=lambda env: env.pos,
    smoke_overrides={"max_steps": 24},
    baselines={"turn_to_goal": lambda cfg, env: TurnToGoal(cfg)},
)
