"""Every registered world (ours and the test-only outside world ``pointmass``) meets the World contract.

A new world gets all of these for free: specs, masked resets, tags that rebuild levels, level files,
seeded determinism, and a few PPO iterations through ``ada train`` with an exact stop/resume.
"""
from __future__ import annotations

import json

import pytest
import torch
from torchrl.envs.utils import check_env_specs

from ada.config import EnvConfig
from ada.worlds import build_env, random_levels
from envs_warp.core.world import World, WorldError, get_world, world_names

WORLDS = world_names()


def smoke_env(world: World, num_envs: int = 6, seed: int = 0, random_levels_: bool = True):
    cfg = world.make_config(world.smoke_overrides)
    return world.build(cfg, num_envs, "cpu", seed, random_levels=random_levels_)


def random_rollout(env, steps: int, seed: int):
    """``steps`` auto-resetting steps with actions from a seeded torch RNG; returns the per-step TensorDicts."""
    torch.manual_seed(seed)
    td, out = env.reset(), []
    for _ in range(steps):
        step, td = env.step_and_maybe_reset(env.rand_action(td))
        out.append(step["next"].clone())
    return out


def test_the_outside_world_is_found_through_its_entry_point():
    assert {"lidarnav", "physics2d", "memory_cue", "pointmass"} <= set(WORLDS)
    assert get_world("pointmass_world:WORLD").name == "pointmass"


@pytest.mark.parametrize("name", WORLDS)
def test_specs_from_the_config_match_the_built_env_and_pass_check_env_specs(name):
    world = get_world(name)
    env = smoke_env(world)
    check_env_specs(env)
    specs = world.specs(world.make_config(world.smoke_overrides), 6, "cpu")
    built = {"observation": env.observation_spec, "action": env.action_spec, "reward": env.reward_spec,
             "done": env.done_spec}
    for part, spec in specs.items():
        leaves = list(spec.keys(include_nested=True, leaves_only=True))
        assert leaves, part
        for key in leaves:
            assert spec[key] == built[part][key], f"{part} {key}"
        extra = set(built[part].keys(include_nested=True, leaves_only=True)) - set(leaves) - {"level_id"}
        assert not extra, f"the built env's {part} spec has keys make_specs lacks: {extra}"


@pytest.mark.parametrize("name", WORLDS)
def test_masked_reset_touches_only_the_masked_rows(name):
    """Two envs run the same actions; one resets rows 0, 2, 5 midway: the other rows go on identically."""
    world = get_world(name)
    a, b = smoke_env(world, num_envs=6), smoke_env(world, num_envs=6)
    torch.manual_seed(1)
    ta, tb = a.reset(), b.reset()
    for _ in range(3):
        action = a.rand_action(ta)
        ta, tb = a.step(action.clone())["next"], b.step(action.clone())["next"]
    mask = torch.tensor([True, False, True, False, False, True])
    ta = a.reset(ta.clone().set("_reset", mask.view(-1, 1)))
    keep = ~mask
    assert torch.equal(ta["agents", "observation"][keep], tb["agents", "observation"][keep])
    for _ in range(3):
        action = a.rand_action(ta)
        ta, tb = a.step(action.clone())["next"], b.step(action.clone())["next"]
        for key in (("agents", "observation"), ("agents", "reward"), ("done",)):
            assert torch.equal(ta[key][keep], tb[key][keep]), f"reset changed unmasked rows' {key}"
    state_a, state_b = a.runtime_state(), b.runtime_state()
    assert any(not torch.equal(state_a[k][mask], state_b[k][mask]) for k in state_a
               if state_a[k].dim() and state_a[k].shape[0] == 6), "the masked rows were not reset"


@pytest.mark.parametrize("name", WORLDS)
def test_same_seed_same_trajectory_and_another_seed_differs(name):
    world = get_world(name)
    first = random_rollout(smoke_env(world, seed=3), 30, seed=11)
    again = random_rollout(smoke_env(world, seed=3), 30, seed=11)
    other = random_rollout(smoke_env(world, seed=4), 30, seed=11)
    outcome = lambda steps: torch.cat([torch.cat([s["agents", "observation"].flatten(1),
                                                  s["agents", "reward"].flatten(1)], 1) for s in steps])
    assert torch.equal(outcome(first), outcome(again))
    assert not torch.equal(outcome(first), outcome(other)), "the env's seed changes nothing"


@pytest.mark.parametrize("name", [n for n in WORLDS if get_world(n).has_levels])
def test_random_levels_rebuild_exactly_from_their_tags(name):
    env = smoke_env(get_world(name), num_envs=8, seed=2)
    steps = random_rollout(env, 40, seed=5)
    assert bool((env.level_id < 0).all()), "random levels carry negative tags"
    assert len({int(t) for s in steps for t in s["level_id"].flatten()}) > 8, "no row ever drew a new level"
    rebuilt, running = env.random_levels_from_tags(env.level_id), env.current_levels()
    for key in running.keys():
        assert torch.equal(rebuilt[key], running[key]), key


@pytest.mark.parametrize("name", [n for n in WORLDS if get_world(n).has_levels])
@pytest.mark.parametrize("suffix", [".json", ".safetensors"])
def test_level_files_round_trip_and_bad_files_name_the_field(name, suffix, tmp_path):
    world = get_world(name)
    env = smoke_env(world, num_envs=4)
    env.reset()
    levels = env.current_levels()
    path = tmp_path / f"levels{suffix}"
    env.level_schema.save(levels, path)
    loaded = env.level_schema.load(path)
    for key in levels.keys():  # JSON is for hand-written levels: floats are written to a fixed precision
        if suffix == ".json" and levels[key].is_floating_point():
            assert torch.allclose(loaded[key], levels[key].cpu(), atol=1e-3), key
        else:
            assert torch.equal(loaded[key], levels[key].cpu()), key
    if suffix == ".json":
        payload = json.loads(path.read_text())
        field = next(iter(payload["levels"][0]))
        del payload["levels"][0][field]
        path.write_text(json.dumps(payload))
        with pytest.raises(ValueError, match=field):
            env.level_schema.load(path)


@pytest.mark.parametrize("name", [n for n in WORLDS if get_world(n).random_levels is not None])
def test_random_levels_capability_gives_valid_reproducible_levels(name):
    world = get_world(name)
    cfg = EnvConfig(world=name, overrides=dict(world.smoke_overrides))
    a, b, c = random_levels(cfg, 5, seed=9), random_levels(cfg, 5, seed=9), random_levels(cfg, 5, seed=10)
    env = build_env(cfg, "cpu", seed=0, num_envs=5, random_levels=False)
    env.level_schema.validate(a)
    assert all(torch.equal(a[k], b[k]) for k in a.keys())
    assert not all(torch.equal(a[k], c[k]) for k in a.keys())


def test_missing_capability_is_refused_naming_world_and_capability():
    with pytest.raises(WorldError, match=r"'memory_cue' has no 'held_out_levels'"):
        get_world("memory_cue").require("held_out_levels", "ada eval")


def test_unknown_world_lists_the_known_ones():
    with pytest.raises(WorldError, match="known worlds: .*lidarnav"):
        get_world("lidarnav_typo")


def test_a_world_breaking_the_contract_is_refused_with_what_is_missing():
    from envs_warp.core.world import check_world
    from envs_warp.memory_cue import MemoryCueConfig, MemoryCueEnv

    class NoSpecs(MemoryCueEnv):
        make_specs = None

    with pytest.raises(WorldError, match="make_specs"):
        check_world(World(name="broken", config=MemoryCueConfig, env=NoSpecs))
    with pytest.raises(WorldError, match="success"):
        check_world(World(name="broken", config=MemoryCueConfig, env=MemoryCueEnv, success_key=("agents", "success")))


@pytest.mark.parametrize("name", [n for n in WORLDS if get_world(n).draw_row is not None])
def test_every_world_with_a_renderer_draws_an_agent_gif(name, tmp_path):
    from PIL import Image

    from ada.evaluate import level_gif
    from ada.module import PPOModule

    world = get_world(name)
    module = PPOModule(env=EnvConfig(world=name, num_envs=2, overrides=dict(world.smoke_overrides)))
    env = build_env(module.env_cfg, "cpu", seed=0, num_envs=1)
    env.reset()
    path = level_gif(module, env.current_levels()[:1], tmp_path / f"{name}.gif")
    with Image.open(path) as gif:
        assert gif.n_frames > 1 and gif.size[0] > 8


def test_a_curriculum_the_world_cannot_serve_is_refused_when_the_run_is_configured():
    from ada.module import PPOModule
    from curricula import CurriculumConfig

    with pytest.raises(WorldError, match=r"world 'memory_cue' has no 'levels' capability.*curriculum.method 'accel'"):
        PPOModule(env=EnvConfig(world="memory_cue", num_envs=4), curriculum=CurriculumConfig(method="accel"))
    with pytest.raises(WorldError, match=r"'pointmass' has no 'mutate' capability"):
        PPOModule(env=EnvConfig(world="pointmass", num_envs=4), curriculum=CurriculumConfig(method="accel"))
