"""The two JaxNav presets (package defaults, SFL paper), the grid start/goal sampler and per-robot outcomes."""
from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import yaml

from envs_warp.lidarnav import task
from envs_warp.lidarnav.config import PAPER_FIELDS, LidarNavConfig
from envs_warp.lidarnav.env import LidarNavEnv
from envs_warp.lidarnav.levels import LevelGenerator
from envs_warp.lidarnav.world import WORLD
from tests.lidarnav.helpers import make_level

ROOT = Path(__file__).resolve().parents[2]


def test_package_preset_keeps_jaxmarl_defaults_and_paper_preset_changes_only_the_paper_fields():
    pkg, paper = LidarNavConfig.jaxnav(num_agents=4), LidarNavConfig.jaxnav_paper(num_agents=4)
    assert (pkg.fill, pkg.goal_radius, pkg.sample_test_case_type) == (0.3, 0.5, "random")
    assert (paper.fill, paper.goal_radius, paper.sample_test_case_type) == (0.6, 0.3, "grid")
    differing = {f for f in pkg.__dataclass_fields__ if getattr(pkg, f) != getattr(paper, f)}
    assert differing == set(PAPER_FIELDS)
    assert (pkg.preset, paper.preset) == ("jaxnav", "jaxnav_paper")
    assert LidarNavConfig.jaxnav_paper(action_type="discrete").preset == "jaxnav_paper"
    assert LidarNavConfig.jaxnav_paper(goal_radius=0.5).preset == "custom"
    with pytest.raises(ValueError, match="sample_test_case_type"):
        LidarNavConfig(sample_test_case_type="corners")
    with pytest.raises(ValueError, match="free cells"):
        LidarNavConfig.jaxnav_paper(map_width=4, map_height=4, fill=0.9, num_agents=3)


@pytest.mark.parametrize("agents", [1, 4])
def test_grid_sampler_puts_starts_and_goals_on_distinct_free_cell_centres(agents):
    cfg = LidarNavConfig.jaxnav_paper(num_agents=agents)
    levels = LevelGenerator(cfg).generate(512, seed=3)
    walls, start, goal = levels["walls"], levels["start"], levels["goal"]
    assert torch.equal(start[..., :2] % 1.0, torch.full_like(start[..., :2], 0.5))
    assert torch.equal(goal % 1.0, torch.full_like(goal, 0.5))
    s_cell, g_cell = start[..., :2].long(), goal.long()  # [B, A, 2] (x, y)
    rows = torch.arange(512)[:, None].expand(512, agents)
    assert (walls[rows, s_cell[..., 1], s_cell[..., 0]] == 0).all()
    assert (walls[rows, g_cell[..., 1], g_cell[..., 0]] == 0).all()
    assert (s_cell != g_cell).any(-1).all()  # a goal is never its own robot's start cell
    for cells in (s_cell, g_cell):  # starts pairwise distinct, goals pairwise distinct
        same = (cells[:, :, None] == cells[:, None]).all(-1) & ~torch.eye(agents, dtype=torch.bool)
        assert not same.any()
    assert start[..., 2].min() >= -math.pi and start[..., 2].max() <= math.pi and start[..., 2].std() > 1.5
    # JaxNav's clutter: a uniform count in [0, floor(0.6 * 81)) = [0, 48) of interior cells, mean 23.5
    clutter = walls[:, 1:-1, 1:-1].sum((1, 2)).float()
    assert clutter.max() <= 47 and abs(clutter.mean().item() - 23.5) < 1.5
    # start cells cover the interior rather than a few favourites
    visited = torch.zeros(11, 11)
    visited[s_cell[..., 1].flatten(), s_cell[..., 0].flatten()] = 1
    assert visited[1:-1, 1:-1].sum() >= 75


def test_grid_levels_are_rebuilt_exactly_from_their_tags_and_differ_across_seeds():
    cfg = LidarNavConfig.jaxnav_paper(num_agents=2)
    env = LidarNavEnv(cfg, num_envs=16, seed=5)
    td = env.reset()
    rebuilt = env.random_levels_from_tags(td["level_id"][:, 0])
    for key in ("walls", "start", "goal"):
        assert torch.equal(rebuilt[key], env.levels[key])
    other = LevelGenerator(cfg).generate(16, seed=6)
    assert not torch.equal(other["start"], LevelGenerator(cfg).generate(16, seed=5)["start"])


def test_curriculum_configs_select_the_paper_preset():
    for agents in (1, 4):
        text = (ROOT / "experiments" / "configs" / "curricula" / f"lidarnav_{agents}robot.yaml").read_text()
        cfg = WORLD.make_config(yaml.safe_load(text)["model"]["env"]["overrides"])
        assert cfg == LidarNavConfig.jaxnav_paper(num_agents=agents) and cfg.preset == "jaxnav_paper"


def run_until_done(env: LidarNavEnv, actions, limit: int = 200):
    """Step a one-row env with constant ``actions`` ``[A, 2]`` until the episode ends; the last ``"next"``."""
    td = env.reset()
    assert (td["agents", "outcome"] == task.OUTCOME_RUNNING).all()
    for _ in range(limit):
        td.set(("agents", "action"), torch.tensor([actions], dtype=torch.float32))
        nxt = env.step(td)["next"]
        before, after = td["agents", "outcome"], nxt["agents", "outcome"]
        assert ((before == task.OUTCOME_RUNNING) | (after == before)).all()  # an outcome, once set, stays
        if nxt["done"].item():
            return nxt
        td = nxt
    raise AssertionError("episode did not end")


def one_level_env(cfg: LidarNavConfig, starts, goals) -> LidarNavEnv:
    env = LidarNavEnv(cfg, num_envs=1, seed=0, random_levels=False)
    env.set_levels(make_level(cfg, starts, goals))
    return env


def test_outcome_codes_name_goal_map_collision_robot_collision_and_timeout():
    cfg = LidarNavConfig.jaxnav(num_agents=2)
    # robot 0 drives into the east wall; robot 1 drives onto its goal
    env = one_level_env(cfg, [(8.5, 2.5, 0.0), (3.5, 7.5, 0.0)], [(2.5, 2.5), (6.5, 7.5)])
    out = run_until_done(env, [[1.0, 0.0], [1.0, 0.0]])
    assert out["agents", "outcome"][0, :, 0].tolist() == [task.OUTCOME_MAP_COLLISION, task.OUTCOME_GOAL]
    assert out["agents", "outcome"].dtype == torch.int8 and out["agents", "outcome"].shape == (1, 2, 1)
    # two robots drive head-on into each other
    env = one_level_env(cfg, [(4.0, 5.5, 0.0), (5.0, 5.5, math.pi * 0.999)], [(8.5, 8.5), (2.5, 2.5)])
    out = run_until_done(env, [[1.0, 0.0], [1.0, 0.0]])
    assert out["agents", "outcome"][0, :, 0].tolist() == [task.OUTCOME_ROBOT_COLLISION] * 2
    # one robot reaches its goal, the other stands still until the time limit
    env = one_level_env(LidarNavConfig.jaxnav(num_agents=2, max_steps=40), [(3.5, 2.5, 0.0), (5.5, 7.5, 0.0)],
                        [(5.5, 2.5), (8.5, 8.5)])
    out = run_until_done(env, [[1.0, 0.0], [0.0, 0.0]])
    assert out["truncated"].item() and not out["terminated"].item()
    assert out["agents", "outcome"][0, :, 0].tolist() == [task.OUTCOME_GOAL, task.OUTCOME_TIMEOUT]
    assert env.reset()["agents", "outcome"].eq(task.OUTCOME_RUNNING).all()  # a reset clears the outcome


def test_outcome_is_declared_in_the_specs_and_agrees_with_the_flags_on_random_rollouts():
    cfg = LidarNavConfig.jaxnav_paper(num_agents=4, max_steps=60)
    spec = LidarNavEnv.make_specs(cfg, num_envs=3, device="cpu")["observation"]["agents", "outcome"]
    assert spec.shape == (3, 4, 1) and spec.dtype == torch.int8 and spec.space.n == len(task.OUTCOME_NAMES)
    env = LidarNavEnv(cfg, num_envs=64, seed=1)
    torch.manual_seed(0)
    data = env.rollout(130, break_when_any_done=False)
    nxt = data["next"]
    end = nxt["done"][..., 0]  # [N, T]
    outcome = nxt["agents", "outcome"][..., 0][end].long()  # [E, A] at episode ends
    reached, crashed = nxt["agents", "reached_goal"][..., 0][end], nxt["agents", "crashed"][..., 0][end]
    assert end.sum() > 64 and (outcome != task.OUTCOME_RUNNING).all()
    assert (reached[outcome == task.OUTCOME_GOAL]).all()
    collided = (outcome == task.OUTCOME_MAP_COLLISION) | (outcome == task.OUTCOME_ROBOT_COLLISION)
    assert crashed[collided].all()
    assert not (reached | crashed)[outcome == task.OUTCOME_TIMEOUT].any()
    counts = torch.bincount(outcome.flatten(), minlength=5)
    assert counts[task.OUTCOME_MAP_COLLISION] > 0 and counts[task.OUTCOME_TIMEOUT] > 0
