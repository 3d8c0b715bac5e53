"""Lidarnav ACCEL mutations: every mutant differs from its parent, stays valid and loads cleanly; the noop action."""
from __future__ import annotations

import pytest
import torch
from tensordict import TensorDict

from envs_warp.lidarnav.config import LidarNavConfig
from envs_warp.lidarnav.env import LidarNavEnv
from envs_warp.lidarnav.levels import LevelGenerator, level_schema
from envs_warp.lidarnav.mutations import mutate_levels


def parents(num_agents: int = 1, n: int = 64, seed: int = 0) -> tuple[LidarNavConfig, TensorDict]:
    """``n`` random levels of the default 11x11 map for ``num_agents`` robots."""
    cfg = LidarNavConfig.jaxnav(num_agents=num_agents)
    return cfg, LevelGenerator(cfg).generate(n, seed=seed)


def changed(a: TensorDict, b: TensorDict) -> torch.Tensor:
    """``[B]`` bool: the two batches differ in at least one field per level."""
    return torch.stack([(a[k] != b[k]).flatten(1).any(1) for k in ("walls", "start", "goal")]).any(0)


def cell_of(xy: torch.Tensor) -> torch.Tensor:
    """``[..., 2]`` integer cell (x, y) of points on the 1 m grid."""
    return torch.floor(xy).long()


def spot_cells(levels: TensorDict) -> torch.Tensor:
    """``[B, 2A]`` flat cell index of every start and goal (1 m cells, 11-cell rows)."""
    spots = torch.cat([cell_of(levels["start"][..., :2]), cell_of(levels["goal"])], 1)  # [B, 2A, 2]
    return spots[..., 1] * 11 + spots[..., 0]


def assert_valid_mutants(cfg: LidarNavConfig, parent: TensorDict, child: TensorDict) -> None:
    """Schema check, border kept, every start and goal on a free cell, starts and goals on distinct cells."""
    level_schema(cfg).validate(child)
    border = torch.ones(cfg.map_height, cfg.map_width, dtype=torch.bool)
    border[1:-1, 1:-1] = False
    assert torch.equal(child["walls"][:, border], parent["walls"][:, border])
    rows = torch.arange(child.batch_size[0])[:, None]
    for xy in (child["start"][..., :2], child["goal"]):
        c = cell_of(xy)  # [B, A, 2]
        assert (child["walls"][rows, c[..., 1], c[..., 0]] == 0).all()
    theta = child["start"][..., 2]
    assert ((theta >= -torch.pi) & (theta < torch.pi)).all()


def test_lidarnav_mutations_change_each_level_and_stay_valid():
    cfg, lv = parents(n=128)
    before = lv.clone()
    for edits in (1, 3):
        child = mutate_levels(lv, cfg, torch.Generator().manual_seed(edits), num_edits=edits)
        assert child.batch_size == lv.batch_size
        assert changed(child, lv).all()
        assert_valid_mutants(cfg, lv, child)
    assert changed(lv, before).sum() == 0  # the input is untouched


def test_lidarnav_mutations_are_deterministic_given_the_generator_state():
    cfg, lv = parents()
    a = mutate_levels(lv, cfg, torch.Generator().manual_seed(5))
    b = mutate_levels(lv, cfg, torch.Generator().manual_seed(5))
    c = mutate_levels(lv, cfg, torch.Generator().manual_seed(6))
    assert not changed(a, b).any()
    assert changed(a, c).any()


def test_lidarnav_mutations_use_all_three_operators():
    cfg, lv = parents(n=256)
    child = mutate_levels(lv, cfg, torch.Generator().manual_seed(0), num_edits=1)
    walls = (child["walls"] != lv["walls"]).flatten(1).any(1)
    starts = (child["start"] != lv["start"]).flatten(1).any(1)
    goals = (child["goal"] != lv["goal"]).flatten(1).any(1)
    assert (walls.int() + starts.int() + goals.int() == 1).all()  # one edit touches one field
    for hit in (walls, starts, goals):
        assert 0.2 < hit.float().mean() < 0.46  # about a third each


def test_lidarnav_mutations_spread_over_cells():
    cfg, lv = parents(n=1)
    many = lv.expand(400).clone()
    child = mutate_levels(many, cfg, torch.Generator().manual_seed(1), num_edits=1)
    flipped = (child["walls"] != many["walls"]).sum(0)  # [H, W] toggles per cell
    assert flipped[0].sum() == flipped[-1].sum() == flipped[:, 0].sum() == flipped[:, -1].sum() == 0
    assert (flipped > 0).sum() >= 40  # of the 81 interior cells, minus those near the start and goal
    assert flipped.max() <= 12
    moved = torch.unique(cell_of(child["goal"][:, 0]), dim=0)
    assert len(moved) >= 30


def test_lidarnav_mutations_work_with_four_robots():
    cfg, lv = parents(num_agents=4, n=64)
    child = mutate_levels(lv, cfg, torch.Generator().manual_seed(2), num_edits=4)
    assert changed(child, lv).all()
    assert_valid_mutants(cfg, lv, child)
    # a moved start or goal never shares a cell: parents with distinct cells give children with distinct cells
    distinct = lambda lv: torch.tensor([len(torch.unique(row)) == 2 * cfg.num_agents for row in spot_cells(lv)])
    assert distinct(lv).sum() > 32
    assert distinct(child)[distinct(lv)].all()
    LevelGenerator(cfg).solvable(child)  # the caller's filter accepts mutants


@pytest.mark.parametrize("agents", [1, 4])
def test_lidarnav_mutants_start_collision_free_and_keep_the_clearances(agents):
    cfg, lv = parents(num_agents=agents, n=32, seed=3)
    child = mutate_levels(lv, cfg, torch.Generator().manual_seed(3), num_edits=6)
    env = LidarNavEnv(cfg, num_envs=32, seed=0, random_levels=False)
    env.set_levels(child)
    td = env.reset()
    for _ in range(3):
        td.set(("agents", "action"), env.noop_action())
        td = env.step(td)["next"]
    assert not td["agents", "crashed"].any()
    # the start clearance the generator uses (rad * start_pad) touches no wall cell
    s = child["start"][..., :2]  # [B, A, 2]
    walls = child["walls"].bool()
    lo = torch.arange(cfg.map_width, dtype=torch.float32)
    dx = (s[..., 0, None] - s[..., 0, None].clamp(lo, lo + 1)).square()  # [B, A, W]
    dy = (s[..., 1, None] - s[..., 1, None].clamp(lo, lo + 1)).square()  # [B, A, H]
    near = dy[..., :, None] + dx[..., None, :] <= (cfg.rad * cfg.start_pad) ** 2  # [B, A, H, W]
    assert not (near & walls[:, None]).any()


@pytest.mark.parametrize("action_type", ["continuous", "discrete"])
def test_lidarnav_noop_action_leaves_every_robot_in_place(action_type):
    cfg = LidarNavConfig.jaxnav(num_agents=2, action_type=action_type)
    env = LidarNavEnv(cfg, num_envs=4, seed=0)
    td = env.reset()
    start = env.pos.clone()
    action = env.noop_action()
    assert action.shape == env.action_spec[("agents", "action")].shape
    assert env.action_spec[("agents", "action")].is_in(action)
    for _ in range(20):
        td.set(("agents", "action"), env.noop_action())
        td = env.step(td)["next"]
    assert torch.equal(env.pos, start)
    assert (env.vel == 0).all()
