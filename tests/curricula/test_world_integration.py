"""Samplers driving real Warp envs: replays stay on buffer levels, random levels rebuild from their tags."""
from __future__ import annotations

import pytest
import torch

from ada.config import EnvConfig
from ada.curriculum import WorldContext
from ada.evaluate import PolicyRollouts
from ada.module import PPOModule
from ada.worlds import build_env, random_levels
from curricula import LevelStats, NoopFilterConfig, PLRConfig, PLRSampler
from curricula.tags import RANDOM, REPLAY, tag_kind, tag_serial


def lidarnav_module(num_envs: int = 32, **overrides) -> PPOModule:
    return PPOModule(env=EnvConfig(world="lidarnav", num_envs=num_envs, overrides={"max_steps": 12, **overrides}))


def test_env_random_levels_rebuild_exactly_from_their_tags_after_many_resets():
    env = build_env(lidarnav_module().env_cfg, "cpu", seed=4, num_envs=16)
    td = env.reset()
    for _ in range(40):
        _, td = env.step_and_maybe_reset(env.rand_step(td))
    assert (td["level_id"] < 0).all() and torch.equal(td["level_id"][:, 0], env.level_id)
    rebuilt = env.random_levels_from_tags(env.level_id)
    for key in ("walls", "start", "goal"):
        assert torch.equal(rebuilt[key], env.levels[key]), key


def test_physics2d_bank_levels_rebuild_from_their_tags():
    module = PPOModule(env=EnvConfig(world="physics2d", num_envs=8, overrides={"size": "s", "bank_size": 16,
                                                                               "max_steps": 8}))
    env = build_env(module.env_cfg, "cpu", seed=1)
    td = env.reset()
    for _ in range(20):
        _, td = env.step_and_maybe_reset(env.rand_step(td))
    rebuilt, running = env.random_levels_from_tags(env.level_id), env.current_levels()
    for key in running.keys():
        assert torch.equal(rebuilt[key], running[key]), key


def test_replayed_rows_play_the_buffer_level_and_fresh_resets_never_count_as_replays():
    """The public-implementation bug: after a replayed episode ends, the auto-reset drifts onto a fresh level
    while its steps are still treated as replay data. Here every reset decides anew and tags say which."""
    module = lidarnav_module()
    env = build_env(module.env_cfg, "cpu", seed=0)
    sampler = PLRSampler(PLRConfig(buffer_size=8, min_fill=0.5, replay_prob=0.5), NoopFilterConfig())
    sampler.bind(WorldContext(PolicyRollouts(module.env_cfg, module.model, "cpu"), env, torch.device("cpu")))
    levels = random_levels(module.env_cfg, 8, seed=123)
    sampler.buffer.insert(levels, torch.linspace(0.1, 0.8, 8), clock=0, source=-1000 - torch.arange(8))
    sampler.before_rollout(0)
    env.level_source = sampler.on_reset
    td = env.reset()
    kinds_seen = set()
    for _ in range(60):
        td = env.rand_step(td)
        tags = td["level_id"][:, 0]
        kind = tag_kind(tags)
        kinds_seen |= set(kind.tolist())
        replay = kind == REPLAY
        slots = sampler.buffer.lookup(tag_serial(tags[replay]))
        assert (slots >= 0).all()
        for key in ("walls", "start", "goal"):
            assert torch.equal(env.levels[key][replay], sampler.buffer.levels[key][slots]), key
        mask = sampler.train_mask(tags.view(-1, 1))[:, 0]
        assert torch.equal(mask, replay)
        fresh = kind == RANDOM
        rebuilt = env.random_levels_from_tags(tags[fresh])
        assert torch.equal(rebuilt["walls"], env.levels["walls"][fresh])
        _, td = env.step_and_maybe_reset(td)
    assert kinds_seen == {RANDOM, REPLAY}


def test_plr_update_from_a_real_rollout_inserts_the_levels_that_were_played():
    module = lidarnav_module(num_envs=16)
    env = build_env(module.env_cfg, "cpu", seed=2)
    sampler = PLRSampler(PLRConfig(buffer_size=64, solvable_only=False), NoopFilterConfig())
    sampler.bind(WorldContext(PolicyRollouts(module.env_cfg, module.model, "cpu"), env, torch.device("cpu")))
    env.level_source = sampler.on_reset
    td = env.reset()
    tags = []
    for _ in range(30):
        td = env.rand_step(td)
        tags.append(td["level_id"][:, 0].clone())
        _, td = env.step_and_maybe_reset(td)
    tags = torch.stack(tags, 1)  # [N, T]
    adv = torch.randn(tags.shape, generator=torch.Generator().manual_seed(0))
    zeros = torch.zeros(tags.shape)
    stats = LevelStats.from_rollout(tags, adv, zeros, zeros.bool(), zeros.bool(), zeros)
    sampler.update(stats)
    held = sampler.buffer.source[sampler.buffer.valid]
    assert sampler.buffer.size() == min(64, stats.level_id.numel())
    slot = sampler.buffer.lookup_source(held[:1])
    rebuilt = env.random_levels_from_tags(held[:1])
    assert torch.equal(sampler.buffer.levels["walls"][slot], rebuilt["walls"])


def test_context_noop_check_agrees_with_the_physics2d_generator_filter():
    from envs_warp.physics2d.generator import generate_levels, noop_solved

    module = PPOModule(env=EnvConfig(world="physics2d", num_envs=8, overrides={"size": "s", "bank_size": 8,
                                                                               "max_steps": 64}))
    env = build_env(module.env_cfg, "cpu", seed=0)
    ctx = WorldContext(PolicyRollouts(module.env_cfg, module.model, "cpu"), env, torch.device("cpu"))
    levels = generate_levels("s", 48, seed=5)
    ours = ctx.noop_solved(levels)
    assert torch.equal(ours, noop_solved(levels, "s", steps=64))
    assert ours.any() and not ours.all()


def test_context_success_rates_of_the_noop_like_untrained_policy_are_rates_in_unit_interval():
    module = lidarnav_module(num_envs=8)
    env = build_env(module.env_cfg, "cpu", seed=0)
    ctx = WorldContext(PolicyRollouts(module.env_cfg, module.model, "cpu"), env, torch.device("cpu"))
    levels = random_levels(module.env_cfg, 6, seed=1)
    before = torch.get_rng_state()
    rates = ctx.success_rates(levels, trials=3, seed=11)
    assert torch.equal(torch.get_rng_state(), before), "evaluation consumed the training RNG stream"
    assert torch.equal(rates, ctx.success_rates(levels, trials=3, seed=11))  # reproducible from its seed
    assert rates.shape == (6,) and ((rates >= 0) & (rates <= 1)).all()
    assert torch.allclose(rates * 3, (rates * 3).round())  # k successes out of 3 trials
    assert module.model.training  # evaluation put the model back in training mode


@pytest.mark.gpu
@pytest.mark.parametrize("method", ["sfl", "plr", "accel"])
def test_reset_hook_makes_no_host_sync_on_cuda(method):
    from curricula import ACCELConfig, ACCELSampler, SFLConfig, SFLSampler

    module = lidarnav_module(num_envs=64)
    env = build_env(module.env_cfg, "cuda", seed=0)
    off = NoopFilterConfig()
    sampler = {"sfl": lambda: SFLSampler(SFLConfig(buffer_size=16), off),
               "plr": lambda: PLRSampler(PLRConfig(buffer_size=16, min_fill=0.0), off),
               "accel": lambda: ACCELSampler(PLRConfig(buffer_size=16, min_fill=0.0), ACCELConfig(mutants=8), off)}[method]()
    rollouts = PolicyRollouts(module.env_cfg, module.model, "cuda")
    sampler.bind(WorldContext(rollouts, env, torch.device("cuda")))
    sampler.buffer.insert(random_levels(module.env_cfg, 16, seed=3, device="cuda"), torch.rand(16, device="cuda"),
                          clock=0, source=-100 - torch.arange(16, device="cuda"))
    if method == "sfl":
        sampler.ready = True
    else:
        sampler.before_rollout(0)
    if method == "accel":
        sampler.parents_replayed.fill_(1)
        sampler._make_mutants()
    mask = torch.rand(64, device="cuda") < 0.5
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        sampler.on_reset(env, mask)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert (env.level_pending == (mask & env.level_pending)).all()
