"""Lidarnav physics, lidar and reward behaviour against hand-computed values."""
from __future__ import annotations

import math
from collections import deque

import pytest
import torch

from envs_warp.lidarnav.config import LidarNavConfig
from envs_warp.lidarnav.env import LidarNavEnv
from envs_warp.lidarnav.levels import LevelGenerator
from tests.lidarnav.helpers import make_level


def env_with(cfg: LidarNavConfig, starts, goals, walls=None) -> LidarNavEnv:
    env = LidarNavEnv(cfg, num_envs=1, seed=0, random_levels=False)
    env.set_levels(make_level(cfg, starts, goals, walls))
    return env


def step(env: LidarNavEnv, td, action):
    spec = env.full_action_spec["agents", "action"]
    td.set(("agents", "action"), torch.as_tensor(action, dtype=spec.dtype).reshape(spec.shape))
    return env.step(td)


def beam_index(cfg: LidarNavConfig, angle: float) -> int:
    """Beam whose angle (relative to the heading) is closest to ``angle``."""
    n = cfg.lidar_num_beams
    return round((angle + math.pi) / (2 * math.pi) * (n - 1))


def beam_angle(cfg: LidarNavConfig, b: int) -> float:
    return -math.pi + 2 * math.pi * b / (cfg.lidar_num_beams - 1)


def test_exact_lidar_ranges_match_ray_geometry_to_walls():
    cfg = LidarNavConfig.jaxnav(lidar_quantise=False, normalise_obs=False)
    env = env_with(cfg, [(3.3, 4.6, 0.4)], [(8.5, 8.5)])
    env.reset()
    ranges = env.ranges[0, 0]
    for b in range(0, cfg.lidar_num_beams, 7):
        ang = 0.4 + beam_angle(cfg, b)
        dx, dy = math.cos(ang), math.sin(ang)
        # inner faces of the border walls are x=1, x=10, y=1, y=10
        ts = []
        if dx > 1e-9:
            ts.append((10 - 3.3) / dx)
        if dx < -1e-9:
            ts.append((1 - 3.3) / dx)
        if dy > 1e-9:
            ts.append((10 - 4.6) / dy)
        if dy < -1e-9:
            ts.append((1 - 4.6) / dy)
        expected = min(min(ts), cfg.lidar_max_range)
        assert ranges[b].item() == pytest.approx(expected, abs=1e-4), b


def test_quantised_lidar_reads_the_first_jaxnav_sample_inside_the_wall():
    cfg = LidarNavConfig.jaxnav(normalise_obs=False)
    env = env_with(cfg, [(5.5, 5.5, 0.0)], [(8.5, 8.5)])
    env.reset()
    spacing = cfg.lidar_max_range / (cfg.num_lidar_samples - 1)
    b = beam_index(cfg, 0.0)  # beam nearest the heading: wall face at x = 10
    d = 4.5 / math.cos(beam_angle(cfg, b))
    assert env.ranges[0, 0, b].item() == pytest.approx(math.ceil(d / spacing) * spacing, abs=1e-5)


def test_lidar_sees_another_robot_and_not_itself():
    cfg = LidarNavConfig.jaxnav(num_agents=2, lidar_quantise=False)
    env = env_with(cfg, [(3.0, 5.5, 0.0), (6.0, 5.5, 0.0)], [(8.5, 8.5), (2.5, 2.5)])
    env.reset()
    b = beam_index(cfg, 0.0)
    # robot 1 is a 0.5 m square centred 3 m ahead: its near face is 2.75 m away
    expected = 2.75 / math.cos(beam_angle(cfg, b))
    assert env.ranges[0, 0, b].item() == pytest.approx(expected, abs=1e-4)
    back = beam_index(cfg, math.pi)  # robot 1 looking backwards sees robot 0's face at 2.75 m
    assert env.ranges[0, 1, back].item() == pytest.approx(2.75 / abs(math.cos(beam_angle(cfg, back))), abs=1e-4)


def test_acceleration_and_speed_limits_follow_the_unicycle_model():
    cfg = LidarNavConfig.jaxnav()
    env = env_with(cfg, [(2.5, 5.5, 0.0)], [(8.5, 8.5)])
    td = env.reset()
    x = 2.5
    for k in range(1, 15):
        td = step(env, td, [[1.0, 0.0]])["next"]
        v = min(k * 0.1, 1.0)  # 1 m/s^2 from rest, capped at 1 m/s
        x += v * 0.1
        assert env.vel[0, 0, 0].item() == pytest.approx(v, abs=1e-5)
        assert env.pos[0, 0, 0].item() == pytest.approx(x, abs=1e-4)
    # turning: w ramps at 1 rad/s^2 and is capped at max_w = 0.6 rad/s
    for _ in range(10):
        td = step(env, td, [[0.0, 2.0]])["next"]
    assert env.vel[0, 0, 1].item() == pytest.approx(0.6, abs=1e-5)


def test_driving_into_a_wall_crashes_with_penalty_and_freezes_the_robot():
    cfg = LidarNavConfig.jaxnav()
    env = env_with(cfg, [(9.4, 5.5, 0.0)], [(2.5, 2.5)])
    td = env.reset()
    rewards, crashed_at = [], None
    for k in range(20):
        td = step(env, td, [[1.0, 0.0]])
        rewards.append(td["next", "agents", "reward"].item())
        if td["next", "done"].item():
            crashed_at = k
            break
        td = td["next"]
    assert crashed_at is not None and td["next", "terminated"].item()
    assert td["next", "agents", "crashed"].item()
    # the square's front face reaches x = 10 once the centre passes 9.75
    assert env.pos[0, 0, 0].item() >= 9.75 - 1e-5
    # final reward: collision -4, time -0.01, proximity -0.1, plus the last progress term
    progress = rewards[-1] - (-4.0 - 0.01 - 0.1)
    assert -0.25 * 0.2 < progress < 0.0


def test_reaching_the_goal_pays_goal_reward_and_ends_a_single_robot_episode():
    cfg = LidarNavConfig.jaxnav()
    env = env_with(cfg, [(3.5, 5.5, 0.0)], [(6.5, 5.5)])
    td = env.reset()
    for _ in range(100):
        td = step(env, td, [[1.0, 0.0]])
        if td["next", "done"].item():
            break
        td = td["next"]
    assert td["next", "agents", "reached_goal"].item() and td["next", "terminated"].item()
    assert td["next", "agents", "reward"].item() == pytest.approx(4.0 - 0.01, abs=1e-5)
    assert math.dist(env.pos[0, 0].tolist(), (6.5, 5.5)) <= 0.5


def test_progress_reward_is_quarter_of_distance_gained():
    cfg = LidarNavConfig.jaxnav()
    env = env_with(cfg, [(3.0, 5.5, 0.0)], [(8.5, 5.5)])
    td = env.reset()
    for _ in range(3):
        before = (8.5 - env.pos[0, 0, 0].item())
        td = step(env, td, [[1.0, 0.0]])
        after = (8.5 - env.pos[0, 0, 0].item())
        assert td["next", "agents", "reward"].item() == pytest.approx(0.25 * (before - after) - 0.01, abs=1e-5)
        td = td["next"]


def test_team_reward_mixes_individual_and_mean_with_lambda():
    cfg = LidarNavConfig.jaxnav(num_agents=2)
    env = env_with(cfg, [(9.4, 5.5, 0.0), (3.0, 3.0, 0.0)], [(2.5, 8.5), (8.5, 3.0)])
    td = env.reset()
    for _ in range(10):
        td = step(env, td, [[1.0, 0.0], [1.0, 0.0]])
        ind = env.individual[0]
        team = td["next", "agents", "reward"][0, :, 0]
        expected = 0.5 * ind + 0.5 * ind.mean()
        assert torch.allclose(team, expected, atol=1e-6)
        td = td["next"]
    assert env.crashed[0, 0] == 1 and env.crashed[0, 1] == 0


def test_robots_touching_each_other_both_crash():
    cfg = LidarNavConfig.jaxnav(num_agents=2)
    env = env_with(cfg, [(4.0, 5.5, 0.0), (5.0, 5.5, math.pi * 0.999)], [(8.5, 8.5), (2.5, 2.5)])
    td = env.reset()
    for _ in range(10):
        td = step(env, td, [[1.0, 0.0], [1.0, 0.0]])["next"]
        if env.crashed[0].all():
            break
    assert env.crashed[0].tolist() == [1, 1]
    assert (env.pos[0, 1, 0] - env.pos[0, 0, 0]).item() <= 0.5 + 1e-4


def test_time_limit_truncates_at_max_steps():
    cfg = LidarNavConfig.jaxnav(max_steps=12)
    env = env_with(cfg, [(5.5, 5.5, 0.0)], [(8.5, 8.5)])
    td = env.reset()
    for k in range(12):
        td = step(env, td, [[0.0, 0.0]])
        assert td["next", "truncated"].item() == (k == 11)
        td = td["next"]
    assert not td["terminated"].item()


def python_path_exists(walls: torch.Tensor, s, g) -> bool:
    h, w = walls.shape
    start, goal = (int(s[0]), int(s[1])), (int(g[0]), int(g[1]))
    if walls[start[1], start[0]] or walls[goal[1], goal[0]]:
        return False
    seen, queue = {start}, deque([start])
    while queue:
        x, y = queue.popleft()
        if (x, y) == goal:
            return True
        for nx, ny in ((x + 1, y), (x - 1, y), (x, y + 1), (x, y - 1)):
            if 0 <= nx < w and 0 <= ny < h and not walls[ny, nx] and (nx, ny) not in seen:
                seen.add((nx, ny))
                queue.append((nx, ny))
    return False


def test_generator_matches_jaxnav_distribution_and_solvability_check_matches_bfs():
    cfg = LidarNavConfig.jaxnav(num_agents=2, fill=0.5)
    gen = LevelGenerator(cfg)
    levels = gen.generate(300, seed=3)
    walls = levels["walls"]
    assert (walls[:, 0, :] == 1).all() and (walls[:, :, 0] == 1).all()
    assert (walls[:, -1, :] == 1).all() and (walls[:, :, -1] == 1).all()
    clutter = walls[:, 1:-1, 1:-1].sum((1, 2))
    assert clutter.min() == 0 or clutter.min() < 5
    assert clutter.max() < int(81 * 0.5)
    flags = gen.solvable(levels)
    expected = [all(python_path_exists(walls[i], levels["start"][i, a], levels["goal"][i, a]) for a in range(2))
                for i in range(300)]
    assert flags.tolist() == expected
    assert 0 < sum(expected) < 300, "fill 0.5 should give a mix of solvable and unsolvable maps"
    # start/goal rules: separation from each other and from walls
    starts, goals = levels["start"][..., :2], levels["goal"]
    assert ((starts - goals).norm(dim=-1) > 2 * cfg.rad).all()
    assert ((starts[:, 0] - starts[:, 1]).norm(dim=-1) > 2 * cfg.rad * cfg.start_pad).all()


def test_solvable_only_generator_returns_only_solvable_levels():
    cfg = LidarNavConfig.jaxnav(num_agents=2, fill=0.5, solvable_only=True)
    gen = LevelGenerator(cfg)
    levels = gen.generate(200, seed=5)
    assert gen.solvable(levels).all()


def test_no_nan_over_long_random_rollouts():
    env = LidarNavEnv(LidarNavConfig.jaxnav(num_agents=4), num_envs=32, seed=11)
    data = env.rollout(300, break_when_any_done=False)
    assert torch.isfinite(data["next", "agents", "observation"]).all()
    assert torch.isfinite(data["next", "agents", "reward"]).all()
    assert data["next", "done"].any(), "random robots should finish some episodes"


def test_per_beam_gpu_lidar_launch_matches_the_per_robot_cpu_launch():
    from envs_warp.lidarnav import lidar

    env = LidarNavEnv(LidarNavConfig.jaxnav(num_agents=3), num_envs=64, seed=4)
    env.reset()
    cpu_ranges = env.ranges.clone()
    s = env._wp
    env.ranges.zero_()
    env.launcher.launch(lidar.cast_lidar, (3, env.cfg.lidar_num_beams),
                        inputs=[env.params, s["all_rows"], s["walls"], s["pos"], s["heading"], s["beam_dirs"]],
                        outputs=[s["ranges"]])
    assert torch.equal(env.ranges, cpu_ranges)
