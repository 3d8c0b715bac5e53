"""The XLand ``World``: what ``ada`` and ``curricula`` may use of this world."""
from __future__ import annotations

import torch
from tensordict import TensorDict

from ..core.world import World
from .config import XLandConfig
from .env import XLandEnv
from .mutations import mutate_levels
from .render import draw_row
from .rulesets import level_schema, read_levels
from .solvability import solvable


def _random_levels(cfg: XLandConfig, n: int, seed: int, device: torch.device | str) -> TensorDict:
    """``n`` levels of the reset distribution, reproducible from ``seed``."""
    from ..core.env_base import mix_seeds

    probe = XLandEnv(cfg, num_envs=1, device=device, random_levels=False)
    levels = level_schema(cfg).empty(n, device)
    seeds = mix_seeds(seed, 1, device).expand(n).contiguous()
    counters = torch.arange(n, dtype=torch.int32, device=device)
    probe._draw_levels(levels, torch.ones(n, dtype=torch.bool, device=device), seeds, counters)
    return levels


def _mutate(cfg: XLandConfig, levels: TensorDict, generator: torch.Generator, num_edits: int) -> TensorDict:
    """ACCEL's edits: recolour/retile an object, add/remove a distractor object or dead-end rule."""
    return mutate_levels(levels, cfg, generator, num_edits=num_edits)


HELD_OUT_SEED = 0x5EED_0E7A  # a seed no env row uses by default (rows use mix_seeds of the run's seed)
HELD_OUT_COUNT = 20


def _held_out_levels(cfg: XLandConfig) -> tuple[TensorDict, list[str]]:
    """A fixed evaluation set of ``HELD_OUT_COUNT`` rulesets of the config's distribution, named by goal type.

    Drawn from a reserved seed (not disjoint from training draws by construction: the task space is vast).
    """
    from .constants import GOAL_NAMES

    levels = _random_levels(cfg, HELD_OUT_COUNT, HELD_OUT_SEED, "cpu")
    names = [f"{i:02d}_{GOAL_NAMES[int(g)]}_{int(r)}rules" for i, (g, r) in
             enumerate(zip(levels["goal"][:, 0], levels["num_rules"]))]
    return levels, names


WORLD = World(
    restart_redraws_start=True,  # as XLand-MiniGrid: a trial keeps the ruleset, re-places objects and agent
    name="xland",
    config=XLandConfig,
    env=XLandEnv,
    kernel_modules=("envs_warp.xland.layout", "envs_warp.xland.step", "envs_warp.xland.generator"),
    description="XLand-MiniGrid's rules-and-goals task space (grid rooms, hidden production rules, 15 goal types)",
    smoke_overrides={"max_steps": 24},
    random_levels=_random_levels,
    held_out_levels=_held_out_levels,
    read_levels=read_levels,
    solvable=solvable,
    mutate=_mutate,
    draw_row=draw_row,
    agent_positions=lambda env: env.agent_xy(),
)
