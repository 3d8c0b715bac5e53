"""The physics2d ``World``: what ``ada`` and ``curricula`` may use of this world."""
from __future__ import annotations

import torch
from tensordict import TensorDict

from ..core.world import World
from .env import Physics2DEnv, Physics2DEnvConfig
from .generator import generate_levels, noop_solved
from .kinetix_format import kinetix_eval_levels
from .mutations import mutate_levels
from .play import load_level
from .render import draw_row


def _random_levels(cfg: Physics2DEnvConfig, n: int, seed: int, device: torch.device | str) -> TensorDict:
    """The generator the level bank is drawn from (a ``seed`` other than ``bank_seed`` gives levels outside it)."""
    return generate_levels(cfg.size, n, seed=seed, cfg=cfg.generator, device=device)


def _read_levels(cfg: Physics2DEnvConfig, path: str) -> tuple[TensorDict, list[str]]:
    """A Kinetix JSON level, or a physics2d level file of the config's size."""
    from pathlib import Path

    from .levels import level_schema

    if Path(path).suffix == ".json":
        try:
            return level_schema(cfg.size).load_with_names(path)
        except ValueError:
            level, _ = load_level(path, cfg.size)
            return level, [Path(path).stem]
    return level_schema(cfg.size).load_with_names(path)


WORLD = World(
    name="physics2d",
    config=Physics2DEnvConfig,
    env=Physics2DEnv,
    kernel_modules=("envs_warp.physics2d.collision", "envs_warp.physics2d.solver", "envs_warp.physics2d.level_load",
                    "envs_warp.physics2d.task", "envs_warp.physics2d.observations"),
    description="2D rigid-body worlds in the Kinetix task space",
    random_levels=_random_levels,
    held_out_levels=lambda cfg: kinetix_eval_levels(cfg.size),
    mutate=lambda cfg, levels, generator, num_edits: mutate_levels(levels, generator, num_edits=num_edits),
    draw_row=draw_row,
    agent_positions=lambda env: env.pos,  # [N, 1, 2] [m] the green body
    read_levels=_read_levels,
    nonfinite_key=("sim_nonfinite",),
    smoke_overrides={"size": "s", "bank_size": 16, "max_steps": 16},
    noop_solved=lambda cfg, levels: noop_solved(levels, cfg, device=levels.device),
)
