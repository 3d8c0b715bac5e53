"""Physics2DEnv: TorchRL specs, masked resets, determinism, rewards, actions, observations, level loading."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from tensordict import TensorDict
from torchrl.envs.utils import check_env_specs

from envs_warp.physics2d.env import Physics2DEnv, Physics2DEnvConfig
from envs_warp.physics2d.generator import filtered_levels, generate_levels, noop_solved
from envs_warp.physics2d.kinetix_format import kinetix_levels_dir
from tests.kinetix_levels import needs_kinetix_levels
from envs_warp.physics2d.levels import ROLE_BLUE, ROLE_GREEN, ROLE_RED, LevelBuilder


def make_env(num_envs: int = 8, seed: int = 0, random_levels: bool = True, **cfg) -> Physics2DEnv:
    """A small env (a 32-level bank keeps construction fast)."""
    cfg.setdefault("bank_size", 32)
    return Physics2DEnv(Physics2DEnvConfig(**cfg), num_envs=num_envs, seed=seed, random_levels=random_levels)


def drop_level(target_role: int, size: str = "s") -> TensorDict:
    """A green circle 0.6 m above a static box of ``target_role`` lying on the floor."""
    b = LevelBuilder(size)
    b.box(1.0, 0.3, (2.5, 0.15), role=target_role, static=True)
    b.circle(0.2, (2.5, 1.0), role=ROLE_GREEN)
    return b.build()


def rest_level(size: str = "s") -> TensorDict:
    """Green resting on the floor far from a static blue box: nothing happens without actions."""
    b = LevelBuilder(size)
    b.box(0.4, 0.4, (4.0, 0.2), role=ROLE_BLUE, static=True)
    b.circle(0.2, (1.0, 0.2), role=ROLE_GREEN)
    return b.build()


def run_until_done(env: Physics2DEnv, steps: int = 120) -> tuple[list[float], list[bool], TensorDict]:
    """Step row 0 with no-op actions until it is done; rewards and done flags per step."""
    td = env.reset()
    rewards, dones = [], []
    for _ in range(steps):
        td.set(("agents", "action"), env.noop_action())
        td = env.step(td)["next"]
        rewards.append(float(td["agents", "reward"][0, 0, 0]))
        dones.append(bool(td["done"][0, 0]))
        if dones[-1]:
            break
    return rewards, dones, td


@pytest.mark.parametrize("action_type", ["multi_discrete", "discrete", "continuous"])
def test_check_env_specs_passes_for_every_action_type(action_type: str):
    check_env_specs(make_env(4, action_type=action_type, size="s"))


@pytest.mark.parametrize("size", ["m", "l"])
def test_check_env_specs_passes_for_larger_sizes(size: str):
    check_env_specs(make_env(4, size=size))


def test_flat_observation_has_kinetix_symbolic_flat_length():
    for size, (nb, j, t) in {"s": (7, 1, 1), "m": (9, 2, 2), "l": (16, 6, 2)}.items():
        env = make_env(2, size=size)
        expected = (nb - 3) * 27 + j * (22 + 2 * nb) + t * (8 + nb) + 1
        assert env.reset()["agents", "observation"].shape == (2, 1, expected)


def test_masked_reset_touches_exactly_the_masked_rows():
    env = make_env(6, size="m")
    td = env.reset()
    for _ in range(10):
        td.update(env.full_action_spec.rand())
        td = env.step(td)["next"]
    before = {k: v.clone() for k, v in env.runtime_state().items()}
    mask = torch.tensor([True, False, False, True, False, True])
    env.reset(TensorDict({"_reset": mask.unsqueeze(-1)}, batch_size=[6]))
    after = env.runtime_state()
    for key, value in before.items():
        assert torch.equal(after[key][~mask], value[~mask]), f"{key} changed in an unmasked row"
    assert torch.equal(after["rng_counter"][mask], before["rng_counter"][mask] + 1)
    assert (after["step_count"][mask] == 0).all()
    # masked rows now hold the bank level they drew, at its start pose
    lv = env.bank[env.bank_index[mask].long()]
    assert torch.equal(env.sim.body_pos[mask], torch.cat([lv["poly_position"], lv["circle_position"]], 1))


def test_seeded_rollout_is_bit_identical_when_repeated():
    def rollout(seed: int) -> TensorDict:
        env = make_env(8, seed=seed, size="m", action_type="continuous")
        gen = torch.Generator().manual_seed(123)
        td = env.reset()
        out = []
        for _ in range(40):
            a = torch.rand(8, 1, 6, generator=gen) * 2 - 1
            td.set(("agents", "action"), a)
            step, td = env.step_and_maybe_reset(td)
            out.append(step["next"].clone())
        return torch.stack(out, 1)

    a, b = rollout(5), rollout(5)
    for key in a.keys(include_nested=True, leaves_only=True):
        assert torch.equal(a[key], b[key]), key
    c = rollout(6)
    assert not torch.equal(a["agents", "observation"], c["agents", "observation"])


def test_green_falling_onto_blue_gives_plus_one_and_terminates():
    env = make_env(1, random_levels=False, size="s", max_steps=256)
    env.set_levels(drop_level(ROLE_BLUE))
    rewards, dones, td = run_until_done(env)
    assert dones[-1] and len(dones) < 60
    assert rewards[-1] == 1.0 and all(r == 0.0 for r in rewards[:-1])
    assert bool(td["terminated"][0, 0]) and not bool(td["truncated"][0, 0])
    assert bool(td["agents", "reached_goal"][0, 0, 0]) and not bool(td["agents", "crashed"][0, 0, 0])


def test_green_falling_onto_red_gives_minus_one_and_terminates():
    env = make_env(1, random_levels=False, size="s")
    env.set_levels(drop_level(ROLE_RED))
    rewards, dones, td = run_until_done(env)
    assert dones[-1] and rewards[-1] == -1.0
    assert bool(td["terminated"][0, 0])
    assert bool(td["agents", "crashed"][0, 0, 0]) and not bool(td["agents", "reached_goal"][0, 0, 0])


def test_episode_truncates_at_max_steps_without_reward():
    env = make_env(1, random_levels=False, size="s", max_steps=30)
    env.set_levels(rest_level())
    rewards, dones, td = run_until_done(env, steps=100)
    assert len(dones) == 30 and dones[-1]
    assert bool(td["truncated"][0, 0]) and not bool(td["terminated"][0, 0])
    assert all(r == 0.0 for r in rewards)


def test_dense_shaping_pays_for_the_green_blue_distance_shrinking():
    env = make_env(1, random_levels=False, size="s", dense_reward_scale=0.1)
    env.set_levels(drop_level(ROLE_BLUE))
    rewards, _, _ = run_until_done(env)
    assert rewards[0] == 0.0  # no previous distance on the first step
    assert all(r > 0 for r in rewards[2:-1])  # falling towards blue
    total_fall = sum(rewards[:-1]) / 0.1  # [m] distance closed before contact
    assert 0.3 < total_fall < 0.7


def test_set_levels_row_loads_once_then_draws_from_the_bank():
    env = make_env(2, size="s")
    level = drop_level(ROLE_BLUE)
    env.set_levels(level, rows=torch.tensor([1]))
    env.reset()
    assert int(env.bank_index[1]) == -1 and int(env.bank_index[0]) >= 0
    assert torch.equal(env.sim.body_pos[1], torch.cat([level["poly_position"][0], level["circle_position"][0]]))
    env.reset()
    assert int(env.bank_index[1]) >= 0


def test_discrete_and_multi_discrete_actions_follow_the_kinetix_layout():
    env = make_env(11, size="s", action_type="discrete")
    env.reset()
    td = TensorDict({("agents", "action"): torch.arange(11).view(11, 1)}, batch_size=[11])
    env.step(td)
    motor, thruster = env.sim.motor_action, env.sim.thruster_action
    expected_m = torch.zeros(11, 4)
    expected_t = torch.zeros(11, 2)
    for a in range(8):
        expected_m[a, a // 2] = 1.0 if a % 2 else -1.0
    expected_t[9, 0] = expected_t[10, 1] = 1.0  # action 8 is the no-op
    assert torch.equal(motor, expected_m) and torch.equal(thruster, expected_t)

    env = make_env(3, size="s", action_type="multi_discrete")
    env.reset()
    act = torch.tensor([[0, 1, 2, 0, 1, 0], [2, 2, 1, 1, 0, 1], [0, 0, 0, 0, 0, 0]]).view(3, 1, 6)
    env.step(TensorDict({("agents", "action"): act}, batch_size=[3]))
    assert torch.equal(env.sim.motor_action, torch.tensor([[0., 1, -1, 0], [-1, -1, 1, 1], [0, 0, 0, 0]]))
    assert torch.equal(env.sim.thruster_action, torch.tensor([[1., 0], [0, 1], [0, 0]]))


def test_continuous_actions_are_clipped_to_channel_ranges():
    env = make_env(1, size="s", action_type="continuous")
    env.reset()
    act = torch.tensor([[[2.0, -3.0, 0.5, -0.25, -1.0, 4.0]]])
    env.step(TensorDict({("agents", "action"): act}, batch_size=[1]))
    assert torch.equal(env.sim.motor_action, torch.tensor([[1.0, -1.0, 0.5, -0.25]]))
    assert torch.equal(env.sim.thruster_action, torch.tensor([[0.0, 1.0]]))


def test_runtime_state_restores_an_exact_continuation():
    env = make_env(4, size="m", action_type="continuous")
    td = env.reset()
    actions = [torch.rand(4, 1, 6) * 2 - 1 for _ in range(20)]
    for a in actions[:5]:
        td.set(("agents", "action"), a)
        _, td = env.step_and_maybe_reset(td)
    saved = {k: v.clone() for k, v in env.runtime_state().items()}
    first = []
    for a in actions[5:]:
        td.set(("agents", "action"), a)
        step, td = env.step_and_maybe_reset(td)
        first.append(step["next", "agents", "observation"].clone())
    env.load_runtime_state(saved)
    for a, expected in zip(actions[5:], first):
        td.set(("agents", "action"), a)
        step, td = env.step_and_maybe_reset(td)
        assert torch.equal(step["next", "agents", "observation"], expected)


def test_generated_levels_have_green_blue_and_a_controllable_part():
    for size in "sml":
        lv = generate_levels(size, 64, seed=1)
        roles = torch.cat([lv["poly_role"], lv["circle_role"]], 1)
        assert ((roles == ROLE_GREEN).sum(1) >= 1).all() and ((roles == ROLE_BLUE).sum(1) >= 1).all()
        motor = (lv["joint_active"] & lv["joint_motor_on"] & ~lv["joint_fixed"]).any(1)
        assert (motor | lv["thruster_active"].any(1)).all()
        static = torch.cat([lv["poly_static"], lv["circle_static"]], 1)
        assert not ((roles == ROLE_GREEN) & static).any(1).logical_and(((roles == ROLE_BLUE) & static).any(1)).any()
    assert torch.equal(generate_levels("m", 8, seed=4)["poly_position"], generate_levels("m", 8, seed=4)["poly_position"])


def test_noop_filter_flags_levels_the_noop_policy_solves():
    levels = torch.cat([drop_level(ROLE_BLUE), rest_level(), drop_level(ROLE_RED)])
    assert noop_solved(levels, "s", steps=100).tolist() == [True, False, False]


def test_noop_solved_plays_the_episode_of_an_env_config():
    """With a config, the episode length and physics are the config's (green needs ~10 steps to fall onto blue)."""
    levels = drop_level(ROLE_BLUE)
    assert noop_solved(levels, Physics2DEnvConfig(size="s", max_steps=30)).tolist() == [True]
    assert noop_solved(levels, Physics2DEnvConfig(size="s", max_steps=5)).tolist() == [False]
    still = Physics2DEnvConfig(size="s", max_steps=30)
    still.physics.gravity = (0.0, 0.0)
    assert noop_solved(levels, still).tolist() == [False]
    assert noop_solved(levels, Physics2DEnvConfig(size="m", max_steps=30)).tolist() == [True]  # padded into m


def test_noop_solved_agrees_with_rolling_the_env_with_its_noop_action():
    cfg = Physics2DEnvConfig(size="s", max_steps=64, bank_size=4)
    levels = generate_levels("s", 48, seed=5)
    env = Physics2DEnv(cfg, num_envs=48, random_levels=False)
    env.set_levels(levels)
    td = env.reset()
    solved = torch.zeros(48, dtype=torch.bool)
    over = torch.zeros(48, dtype=torch.bool)
    for _ in range(cfg.max_steps):
        td.set(("agents", "action"), env.noop_action())
        td = env.step(td)["next"]
        solved |= td["done"][:, 0] & td["agents", "reached_goal"][:, 0, 0] & ~over
        over |= td["done"][:, 0]
    assert solved.any() and not solved.all()
    assert torch.equal(noop_solved(levels, cfg), solved)


def test_filtered_bank_holds_no_level_the_noop_policy_solves():
    levels = filtered_levels("s", 24, seed=1, noop_steps=64)
    assert levels.batch_size[0] == 24
    assert not noop_solved(levels, "s", steps=64).any()
    assert noop_solved(generate_levels("s", 48, seed=5), "s", steps=64).any()  # unfiltered levels have some


KINETIX_DIR = kinetix_levels_dir()  # make venv installs them; else $KINETIX_LEVELS_DIR


@needs_kinetix_levels
def test_kinetix_levels_load_via_set_levels_and_run():
    from envs_warp.physics2d.kinetix_format import load_kinetix_levels

    paths = sorted((Path(KINETIX_DIR) / "m").glob("*.json"))[:4] + sorted((Path(KINETIX_DIR) / "s").glob("*.json"))[:4]
    levels = load_kinetix_levels(paths, "m")
    env = make_env(len(paths), random_levels=False, size="m")
    env.set_levels(levels)
    td = env.reset()
    expected = torch.cat([levels["poly_position"], levels["circle_position"]], 1)
    assert torch.equal(env.sim.body_pos, expected)
    small = load_kinetix_levels(paths[4:], "s")  # S levels go into an M env as they are
    env.set_levels(small, rows=torch.arange(4, 8))
    td = env.reset()
    assert torch.equal(env.sim.body_pos[4:], expected[4:])
    for _ in range(50):
        td.set(("agents", "action"), env.noop_action())
        _, td = env.step_and_maybe_reset(td)
    assert torch.isfinite(td["agents", "observation"]).all()


@needs_kinetix_levels
def test_kinetix_eval_levels_are_the_74_bundled_levels_in_l():
    from envs_warp.physics2d.kinetix_format import kinetix_eval_levels

    levels, names = kinetix_eval_levels("l", KINETIX_DIR)
    assert levels.batch_size[0] == len(names) == 74
    assert kinetix_eval_levels("s", KINETIX_DIR)[0].batch_size[0] == 10


def test_task_kernels_are_in_the_physics2d_stage_modules():
    import warp as wp

    from envs_warp.physics2d import collision, level_load, observations, solver, task

    stages = {task: ("actions_to_controls", "step_outputs", "sample_bank_rows"), observations: ("observations",),
              level_load: ("load_levels",), collision: ("compute_bounds", "narrow_phase"), solver: ("solve_substep",)}
    for module, names in stages.items():
        for name in names:
            kernel = getattr(module, name)
            assert isinstance(kernel, wp.Kernel) and kernel.module.name == module.__name__, (module.__name__, name)


def test_renderer_draws_role_colours_and_writes_png_and_gif(tmp_path: Path):
    from envs_warp.physics2d.render import ROLE_COLOURS, draw_row, save_frame, save_rollout

    env = make_env(1, random_levels=False, size="s")
    env.set_levels(drop_level(ROLE_BLUE))
    env.reset()
    frame = draw_row(env, 0, px_per_m=40)
    assert frame.shape == (200, 200, 3) and frame.dtype == np.uint8
    colours = {tuple(c) for c in frame.reshape(-1, 3).tolist()}
    assert ROLE_COLOURS[ROLE_GREEN] in colours and ROLE_COLOURS[ROLE_BLUE] in colours
    assert save_frame(env, 0, tmp_path / "f.png").stat().st_size > 0

    def noop(td):
        td.set(("agents", "action"), env.noop_action())
        return td

    gif = save_rollout(env, noop, 10, tmp_path / "r.gif", px_per_m=20)
    assert gif.stat().st_size > 0


def test_play_keys_map_to_motor_and_thruster_channels():
    from envs_warp.physics2d.play import keys_to_action

    assert keys_to_action([]).tolist() == [[[0.0, 0.0, 0.0, 0.0, 0.0, 0.0]]]
    assert keys_to_action(["right", "a", "w"]).tolist() == [[[1.0, -1.0, 0.0, 0.0, 1.0, 0.0]]]
    assert keys_to_action(["left", "right", "i", "m"]).tolist() == [[[0.0, 0.0, 0.0, 1.0, 0.0, 1.0]]]


def test_play_viewer_runs_headless(tmp_path: Path, monkeypatch):
    pytest.importorskip("pygame")
    from envs_warp.physics2d.play import run

    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    monkeypatch.setenv("SDL_AUDIODRIVER", "dummy")
    path = tmp_path / "drop.json"
    from envs_warp.physics2d.levels import level_schema

    level_schema("s").save(drop_level(ROLE_BLUE), path)
    stats = run(path, frames=60, fps=1000, px_per_m=20)
    assert stats["frames"] == 60 and stats["success"] >= 1


@pytest.mark.parametrize("size", ["s", "m", "l"])
@pytest.mark.parametrize("action_type", ["multi_discrete", "discrete", "continuous"])
def test_make_specs_equals_a_built_envs_specs_without_building_anything(size: str, action_type: str, monkeypatch):
    import envs_warp.physics2d.env as env_module

    cfg = Physics2DEnvConfig(size=size, action_type=action_type, bank_size=4)
    env = Physics2DEnv(cfg, num_envs=3)

    def refuse(*args, **kwargs):
        raise AssertionError("make_specs built levels or a simulator")

    for name in ("generate_levels", "filtered_levels", "Physics2DSim"):
        monkeypatch.setattr(env_module, name, refuse)
    specs = Physics2DEnv.make_specs(cfg, 3, "cpu")
    assert set(specs) == {"observation", "action", "reward", "done"}
    observation = env.observation_spec.clone()
    del observation["level_id"]
    assert specs["observation"] == observation
    assert "level_id" not in specs["observation"].keys()
    assert specs["action"] == env.full_action_spec
    assert specs["reward"] == env.full_reward_spec
    assert specs["done"] == env.full_done_spec
    assert specs["observation"]["agents", "observation"].shape == (3, 1, cfg.flat_obs_dim)


def test_nonfinite_state_ends_the_episode_and_is_reported():
    env = make_env(3, size="s", random_levels=False)
    env.set_levels(rest_level().expand(3).clone())
    td = env.reset()
    assert not td["sim_nonfinite"].any()
    green = int(torch.nonzero(env.sim.body_role[0] == ROLE_GREEN)[0, 0])
    env.sim.body_vel[1, green, 0] = float("nan")  # row 1 blows up
    td.set(("agents", "action"), env.noop_action())
    out = env.step(td)["next"]
    assert out["sim_nonfinite"][:, 0].tolist() == [False, True, False]
    assert out["terminated"][:, 0].tolist() == [False, True, False]
    assert float(out["agents", "reward"][1, 0, 0]) == 0.0
    assert torch.isfinite(out["agents", "observation"]).all()  # the observation alone looks healthy
    assert env.nonfinite_count.tolist() == [0, 1, 0]
    env.reset(TensorDict({"_reset": torch.tensor([[False], [True], [False]])}, batch_size=[3]))
    td = env.step(out.set(("agents", "action"), env.noop_action()))["next"]
    assert not td["sim_nonfinite"].any() and env.nonfinite_count.tolist() == [0, 1, 0]
