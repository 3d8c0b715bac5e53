"""TorchRL face of lidarnav: specs, masked resets, seeding and level assignment."""
from __future__ import annotations

import pytest
import torch
from torchrl.envs.utils import check_env_specs

from envs_warp.core.levels import LevelFileError
from envs_warp.lidarnav.config import LidarNavConfig
from envs_warp.lidarnav.env import LidarNavEnv
from tests.lidarnav.helpers import make_level


@pytest.mark.parametrize("agents", [1, 4])
@pytest.mark.parametrize("action_type", ["continuous", "discrete"])
def test_check_env_specs_passes(agents, action_type):
    env = LidarNavEnv(LidarNavConfig.jaxnav(num_agents=agents, action_type=action_type), num_envs=6, seed=1)
    check_env_specs(env, seed=3)
    td = env.reset()
    assert td["agents", "observation"].shape == (6, agents, 205)
    assert td["done"].shape == (6, 1)


@pytest.mark.parametrize("agents", [1, 4])
@pytest.mark.parametrize("action_type", ["continuous", "discrete"])
def test_make_specs_from_the_config_equal_a_built_envs_specs_without_level_id(agents, action_type):
    cfg = LidarNavConfig.jaxnav(num_agents=agents, action_type=action_type)
    specs = LidarNavEnv.make_specs(cfg, num_envs=5, device="cpu")
    env = LidarNavEnv(cfg, num_envs=5, seed=2)
    assert set(specs) == {"observation", "action", "reward", "done"}
    built_obs = env.full_observation_spec.clone()
    built_obs.pop("level_id")  # every env adds its [N, 1] level tag itself
    assert "level_id" not in specs["observation"].keys()
    assert specs["observation"] == built_obs
    assert specs["action"] == env.full_action_spec
    assert specs["reward"] == env.full_reward_spec
    assert specs["done"] == env.full_done_spec
    for spec in specs.values():
        assert spec.shape == (5,) and spec.device == torch.device("cpu")
    action = specs["action"]["agents", "action"]
    assert action.shape == ((5, agents, 2) if action_type == "continuous" else (5, agents))
    assert specs["observation"]["agents", "observation"].shape == (5, agents, cfg.obs_dim)


def test_partial_reset_touches_exactly_the_masked_rows():
    env = LidarNavEnv(LidarNavConfig.jaxnav(num_agents=2), num_envs=8, seed=0)
    td = env.reset()
    for _ in range(5):
        td = env.rand_step(td)["next"]
    before = {k: getattr(env, k).clone() for k in ("pos", "theta", "vel", "walls", "goal", "step_count")}
    obs_before = td["agents", "observation"].clone()
    mask = torch.tensor([1, 0, 0, 1, 0, 1, 0, 0], dtype=torch.bool)
    td.set("_reset", mask.unsqueeze(-1))
    out = env.reset(td)
    for key, old in before.items():
        new = getattr(env, key)
        assert torch.equal(new[~mask], old[~mask]), f"{key} changed in an unmasked row"
        assert not torch.equal(new[mask], old[mask]), f"{key} unchanged in the masked rows"
    assert (env.step_count[mask] == 0).all()
    assert torch.equal(out["agents", "observation"][~mask], obs_before[~mask])


def rollout_signature(seed: int) -> torch.Tensor:
    env = LidarNavEnv(LidarNavConfig.jaxnav(num_agents=3), num_envs=16, seed=seed)
    torch.manual_seed(seed)
    data = env.rollout(60, break_when_any_done=False)
    return torch.cat([data["next", "agents", "observation"].flatten(), data["next", "agents", "reward"].flatten(),
                      data["next", "done"].float().flatten()])


def test_seeded_rollout_is_bit_identical_when_repeated():
    a, b = rollout_signature(7), rollout_signature(7)
    assert torch.equal(a, b)
    assert not torch.equal(a, rollout_signature(8))


def test_auto_reset_draws_a_new_random_level_and_assigned_levels_load_once():
    cfg = LidarNavConfig.jaxnav()
    env = LidarNavEnv(cfg, num_envs=2, seed=0)
    env.reset()
    first = env.walls.clone()
    env.reset()
    assert not torch.equal(first, env.walls), "a second reset should draw new random maps"
    level = make_level(cfg, [(2.5, 2.5, 0.0)], [(8.5, 8.5)])
    env.set_levels(level, rows=torch.tensor([1]))
    env.reset()
    assert torch.equal(env.walls[1], level["walls"][0])
    assert torch.allclose(env.pos[1, 0], torch.tensor([2.5, 2.5]))
    env.reset()
    assert not torch.equal(env.walls[1], level["walls"][0]), "an assigned level is used for one reset only"


def test_fixed_level_env_reloads_its_levels_on_every_reset():
    cfg = LidarNavConfig.jaxnav()
    env = LidarNavEnv(cfg, num_envs=1, seed=0, random_levels=False)
    env.set_levels(make_level(cfg, [(2.5, 2.5, 0.0)], [(8.5, 8.5)]))
    for _ in range(2):
        env.reset()
        assert torch.allclose(env.pos[0, 0], torch.tensor([2.5, 2.5]))


def test_bad_level_is_refused_and_nothing_is_half_loaded():
    cfg = LidarNavConfig.jaxnav()
    env = LidarNavEnv(cfg, num_envs=2, seed=0)
    env.reset()
    before = env.levels.clone()
    good = make_level(cfg, [(2.5, 2.5, 0.0)], [(8.5, 8.5)])
    inside_wall = make_level(cfg, [(0.5, 0.5, 0.0)], [(8.5, 8.5)])
    bad = torch.cat([good, inside_wall])
    with pytest.raises(LevelFileError, match="'start'.*inside a wall"):
        env.set_levels(bad)
    outside = make_level(cfg, [(2.5, 2.5, 0.0)], [(12.0, 8.5)])
    with pytest.raises(LevelFileError, match="'goal'"):
        env.set_levels(outside, rows=torch.tensor([0]))
    assert (env.levels == before).all()
    assert not env.level_pending.any()


def test_config_refuses_bad_values_naming_them():
    with pytest.raises(ValueError, match="robot_shape"):
        LidarNavConfig(robot_shape="triangle")
    with pytest.raises(ValueError, match="num_agents"):
        LidarNavConfig(num_agents=0)
