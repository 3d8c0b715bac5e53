"""Builders for hand-made XLand situations: a level, an env holding it, and a grid/agent written in place."""
from __future__ import annotations

import torch
from tensordict import TensorDict

from envs_warp.xland.config import GeneratorPreset, XLandConfig
from envs_warp.xland.constants import BLACK, FLOOR, GREY, WALL, pack
from envs_warp.xland.env import XLandEnv

# capacities for hand-made levels: 4 rules, 4 objects
HAND = GeneratorPreset(chain_depth=1, num_distractor_rules=2)


def tile(t: int, c: int) -> tuple[int, int]:
    """A (tile, colour) pair."""
    return (t, c)


def make_level(cfg: XLandConfig, goal=(0, 0, 0, 0, 0), rules=(), tiles=(), hidden=(), num_rules: int | None = None
               ) -> TensorDict:
    """One level ``[1]`` of ``cfg``'s capacities from plain tuples."""
    r_cap, t_cap = cfg.capacities()
    level = TensorDict({
        "goal": torch.tensor([goal], dtype=torch.uint8),
        "rules": torch.zeros(1, r_cap, 7, dtype=torch.uint8),
        "num_rules": torch.tensor([len(rules) if num_rules is None else num_rules], dtype=torch.int32),
        "init_tiles": torch.zeros(1, t_cap, 2, dtype=torch.uint8),
        "rule_hidden": torch.zeros(1, r_cap, dtype=torch.uint8),
    }, batch_size=[1])
    for i, r in enumerate(rules):
        level["rules"][0, i, :len(r)] = torch.tensor(r, dtype=torch.uint8)
    for i, t in enumerate(tiles):
        level["init_tiles"][0, i] = torch.tensor(t, dtype=torch.uint8)
    for i in hidden:
        level["rule_hidden"][0, i] = 1
    return level


def env_with(level: TensorDict, cfg: XLandConfig | None = None, validate: bool = True, **kw) -> XLandEnv:
    """A one-row env (no random levels) that has loaded ``level``."""
    cfg = cfg or hand_config(**kw)
    env = XLandEnv(cfg, num_envs=1, random_levels=False)
    env.set_levels(level, rows=torch.tensor([0]), validate=validate)
    env.reset()
    return env


def hand_config(**kw) -> XLandConfig:
    """A 9×9 one-room config with room for the hand-made levels."""
    base = dict(layout="R1", height=9, width=9, preset=HAND, obs_format="index", observe_pocket=True)
    base.update(kw)
    return XLandConfig(**base)


def place(env: XLandEnv, cells: dict | None = None, pos=(4, 4), direction: int = 0, pocket=(0, 0),
          step_count: int = 0) -> None:
    """Row 0: an empty 9×9 room, ``cells`` {(y, x): (tile, colour)}, the agent at ``pos`` facing ``direction``."""
    h, w = env.cfg.height, env.cfg.width
    grid = torch.full((h, w), pack(FLOOR, BLACK), dtype=torch.uint8)
    grid[0, :] = grid[-1, :] = grid[:, 0] = grid[:, -1] = pack(WALL, GREY)
    for (y, x), (t, c) in (cells or {}).items():
        grid[y, x] = pack(t, c)
    env.grid[0] = grid
    env.pos[0] = torch.tensor(pos, dtype=torch.int32)
    env.direction[0] = direction
    env.pocket[0] = pack(*pocket)
    env.step_count[0] = step_count


def act(env: XLandEnv, action: int):
    """One step of row 0 with ``action``; returns the ``"next"`` TensorDict."""
    td = env.full_action_spec.zero()
    td["agents", "action"] = torch.tensor([[action]])
    return env.step(td)["next"]


def cell(env: XLandEnv, y: int, x: int) -> tuple[int, int]:
    """(tile, colour) of row 0's cell (y, x)."""
    v = int(env.grid[0, y, x])
    return (v >> 4, v & 15)
