"""Meta-RL trials (``ada.trials``): K trials of one level per episode, memory kept across trials, for every world."""
from __future__ import annotations

import pytest
import torch
from torchrl.collectors import Collector

from ada.config import EnvConfig, TrialConfig
from ada.policy import RolloutPolicy
from ada.ppo import gae
from ada.trials import NUM_TRIALS, TRIAL, TRIAL_DONE, TRIAL_START, TrialTransform, draw_num_trials
from ada.worlds import MEMORY_KEY, build_env, describe, with_memory
from envs_warp.core.env_base import WarpEnv
from envs_warp.core.world import get_world, world_names
from models.actor_critic import ActorCritic, PolicyConfig

WORLDS = world_names()


def env_cfg(name: str, trials: TrialConfig, num_envs: int = 4, max_steps: int = 5) -> EnvConfig:
    world = get_world(name)
    overrides = dict(world.smoke_overrides)
    if "max_steps" in {f for f in world.config.__dataclass_fields__}:
        overrides["max_steps"] = max_steps
    if name == "memory_cue":
        overrides = {"length": 3}
    return EnvConfig(world=name, num_envs=num_envs, overrides=overrides, trials=trials)


def rollout(cfg: EnvConfig, steps: int, seed: int = 0, memory_shape=(4,)):
    env = with_memory(build_env(cfg, "cpu", seed), memory_shape)
    torch.manual_seed(seed)
    return env, env.rollout(steps, break_when_any_done=False)  # [N, T], auto-resets at episode ends


@pytest.mark.parametrize("name", WORLDS)
def test_an_episode_is_k_trials_of_one_level_and_only_its_end_is_done(name):
    cfg = env_cfg(name, TrialConfig(k_min=3, inputs=False))
    env, td = rollout(cfg, 40)
    trial, done = td[TRIAL][..., 0], td["next", "done"][..., 0]  # [N, T]
    trial_done, is_init = td["next", TRIAL_DONE][..., 0], td["is_init"][..., 0]
    assert trial_done.any() and done.any()
    assert torch.equal(done, trial_done & (trial == 2)), "done must be the end of the third trial, only"
    assert not (trial_done & ~done & ~(td["next", TRIAL][..., 0] == trial + 1)).any()
    starts = td[TRIAL_START][..., 0]
    assert torch.equal(is_init, starts & (trial == 0)), "is_init (memory reset) only at episode starts"
    assert (starts & (trial > 0)).any(), "no trial boundary inside an episode"
    if isinstance(env.base_env, WarpEnv):
        tags = td["level_id"][..., 0]
        episode = torch.cumsum(is_init.long(), dim=1)  # [N, T] episode number within the rollout
        for row in range(tags.shape[0]):
            for e in episode[row].unique():
                assert tags[row][episode[row] == e].unique().numel() == 1, f"{name}: level changed within an episode"
        # the world restarts the same level: every trial begins as its episode began (starts are in the level)
        obs = td["agents", "observation"]
        for row in range(tags.shape[0]):
            first = None
            for t in range(obs.shape[1]):
                if is_init[row, t]:
                    first = obs[row, t]
                elif starts[row, t] and first is not None:
                    if not get_world(name).restart_redraws_start:
                        assert torch.equal(obs[row, t], first), f"{name}: trial {int(trial[row, t])} starts elsewhere"


def test_k_drawn_from_a_range_is_reproducible_from_the_seed_and_covers_it():
    cfg = env_cfg("lidarnav", TrialConfig(k_min=1, k_max=4, inputs=False), num_envs=8, max_steps=2)
    _, a = rollout(cfg, 60, seed=3)
    _, b = rollout(cfg, 60, seed=3)
    _, c = rollout(cfg, 60, seed=4)
    k = a[NUM_TRIALS][..., 0]
    assert torch.equal(k, b[NUM_TRIALS][..., 0]) and torch.equal(a[TRIAL], b[TRIAL])
    assert not torch.equal(k, c[NUM_TRIALS][..., 0]), "K does not depend on the seed"
    assert set(k[a["is_init"][..., 0]].tolist()) == {1, 2, 3, 4}
    episode_len = a["next", "done"][..., 0]
    assert episode_len.any()
    seeds = torch.arange(1000)
    draws = draw_num_trials(seeds, torch.ones_like(seeds), 2, 5)
    assert draws.min() == 2 and draws.max() == 5 and (draws.bincount()[2:] > 200).all()  # about uniform


@pytest.mark.parametrize("name", [n for n in WORLDS if n != "memory_cue"])
def test_a_masked_restart_touches_only_those_rows_keeps_the_level_and_skips_the_curriculum(name):
    world = get_world(name)
    make = lambda: world.build(world.make_config(world.smoke_overrides), 6, "cpu", 0)
    a, b = make(), make()
    calls = []
    a.level_source = b.level_source = lambda env, mask: calls.append(mask.clone())
    torch.manual_seed(0)
    ta, tb = a.reset(), b.reset()
    obs = ("agents", "observation")
    at_reset = ta[obs].clone()
    for _ in range(3):
        action = a.rand_action(ta)
        ta, tb = a.step(action.clone())["next"], b.step(action.clone())["next"]
    calls.clear()
    mask = torch.tensor([True, False, False, True, False, False])
    tags = a.level_id.clone()
    fresh = a.restart(mask)
    assert not calls, "a restart asked the curriculum for a level"
    assert torch.equal(a.level_id, tags)
    state_a, state_b = a.runtime_state(), b.runtime_state()
    for key, value in state_a.items():
        if value.dim() and value.shape[0] == 6 and not key.endswith("mask"):  # launch masks are scratch
            assert torch.equal(value[~mask], state_b[key][~mask]), f"{name}: restart changed unmasked rows' {key}"
    assert torch.equal(state_a["rng_counter"][mask], state_b["rng_counter"][mask] + 1)
    running_a, running_b = a.current_levels(), b.current_levels()
    for key in running_a.keys(True, True):
        assert torch.equal(running_a[key], running_b[key]), f"{name}: restart changed the running level's {key}"
    # the restarted rows are back where their episode began (same level; starts are part of these worlds' levels)
    if not world.restart_redraws_start:
        assert torch.equal(fresh[obs][mask], at_reset[mask])
        assert not torch.equal(tb[obs][mask], at_reset[mask]), "the rows had not moved: the test proves nothing"
    assert torch.equal(fresh[obs][~mask], tb[obs][~mask])


def small_model(cfg: EnvConfig, core: str) -> ActorCritic:
    obs_dim, action, _ = describe(cfg)
    torch.manual_seed(0)
    return ActorCritic(obs_dim, action, PolicyConfig(core=core, hidden=8, layers=1, heads=2, memory_len=6))


@pytest.mark.parametrize("name", WORLDS)
def test_gru_memory_survives_a_trial_boundary_and_is_zeroed_at_the_episode_boundary(name):
    cfg = env_cfg(name, TrialConfig(k_min=2), num_envs=3, max_steps=4)
    model = small_model(cfg, "gru")
    env = with_memory(build_env(cfg, "cpu", 0), model.carried_memory_shape())
    collector = Collector(env, RolloutPolicy(model), frames_per_batch=3 * 20, total_frames=-1, trust_policy=True)
    data = next(iter(collector))  # [N, T]
    collector.shutdown()
    memory, next_memory = data[MEMORY_KEY], data["next", *MEMORY_KEY]  # [N, T, A, H]
    starts, is_init = data[TRIAL_START][..., 0], data["is_init"][..., 0]
    trial_boundary = starts & ~is_init
    assert trial_boundary.any() and is_init[:, 1:].any()
    nonzero = memory.flatten(2).abs().sum(-1) > 0  # [N, T]
    assert nonzero[trial_boundary].all(), "memory was zeroed at a trial boundary"
    assert not nonzero[is_init].any(), "memory was not zeroed at an episode start"
    carried = torch.equal(memory[:, 1:][trial_boundary[:, 1:]], next_memory[:, :-1][trial_boundary[:, 1:]])
    assert carried, "the memory at a trial start is not the one the previous step produced"
    if name == "pointmass":
        world_obs = 2
        assert data["agents", "observation"].shape[-1] == world_obs + 2 + 1 + 1 + 1  # prev action, reward, index, flag


def test_transformer_xl_attends_across_trials_but_not_across_episodes():
    cfg = env_cfg("pointmass_world:WORLD", TrialConfig(k_min=2), num_envs=3, max_steps=3)
    model = small_model(cfg, "trxl")
    env = with_memory(build_env(cfg, "cpu", 0), model.carried_memory_shape())
    policy = RolloutPolicy(model)
    td = env.reset()
    valid_before = []  # valid cache slots each step sees (before its own step is added)
    starts, inits = [], []
    for _ in range(14):
        policy.ensure_cache(3, "cpu")
        flags = policy.cache[:, model.core.layers, :, 0].clone()  # [N, M]
        is_init = td["is_init"][:, 0]
        valid_before.append(torch.where(is_init, 0, (flags > 0.5).sum(-1)))
        starts.append(td[TRIAL_START][:, 0].clone())
        inits.append(is_init.clone())
        td = env.step_and_maybe_reset(policy(td))[1]
    valid, start, init = torch.stack(valid_before, 1), torch.stack(starts, 1), torch.stack(inits, 1)
    boundary = start & ~init
    assert boundary.any() and init[:, 1:].any()
    assert (valid[boundary] >= 3).all(), "a trial start lost the earlier trial's steps"
    assert (valid[init] == 0).all()


def test_gae_runs_across_a_trial_boundary_as_computed_by_hand():
    """Rewards 1, 2, 3; the first trial ends after step 1 (not done), the episode terminates after step 2."""
    gamma, lam = 0.9, 0.8
    reward = torch.tensor([[1.0, 2.0, 3.0]])
    value = torch.tensor([[0.5, 0.4, 0.3]])
    next_value = torch.tensor([[0.4, 0.3, 9.0]])  # after step 2 the episode is over: its value is ignored
    done = torch.tensor([[False, False, True]])  # the trial end after step 1 is not an episode end
    adv, target = gae(reward, value, next_value, done, done, gamma, lam)
    d2 = 3.0 - 0.3
    d1 = 2.0 + gamma * 0.3 - 0.4
    d0 = 1.0 + gamma * 0.4 - 0.5
    a2 = d2
    a1 = d1 + gamma * lam * a2
    a0 = d0 + gamma * lam * a1
    expected = torch.tensor([[a0, a1, a2]])
    assert torch.allclose(adv, expected, atol=1e-6)
    assert torch.allclose(target, expected + value, atol=1e-6)


@pytest.mark.parametrize("name", ["lidarnav", "memory_cue"])
def test_k_equal_1_is_the_env_without_trials(name):
    """Default trials add nothing; K = 1 through the trial transform itself changes no world entry either."""
    plain = env_cfg(name, TrialConfig())
    assert not plain.trials.active
    assert describe(plain)[0] == describe(env_cfg(name, TrialConfig(k_min=1, inputs=False)))[0]
    _, a = rollout(plain, 25, seed=2)
    env = build_env(plain, "cpu", 2)
    forced = with_memory(env, (4,), trials=TrialConfig(k_min=1, inputs=False))
    assert len(forced.transform) == 2, "inactive trials must add no transform"
    forced.insert_transform(0, TrialTransform(1, 1))
    torch.manual_seed(2)
    b = forced.rollout(25, break_when_any_done=False)
    assert a["next", "done"].any()
    for key in a.keys(True, True):
        assert torch.equal(a[key], b[key]), f"K = 1 changed {key}"
    assert torch.equal(b["next", TRIAL_DONE], b["next", "done"]) and not b[TRIAL].any()


def test_worlds_with_levels_declare_the_restart_capability():
    assert "restart" in get_world("lidarnav").capabilities()
    assert "restart" in get_world("pointmass_world:WORLD").capabilities()
    assert "restart" not in get_world("memory_cue").capabilities()  # its trials restart by an ordinary reset


@pytest.mark.parametrize("name", ["pointmass", "memory_cue"])
def test_the_policy_sees_previous_action_and_reward_trial_index_and_trial_start(name):
    cfg = env_cfg(name, TrialConfig(k_min=3), num_envs=3, max_steps=3)
    _, td = rollout(cfg, 20, seed=1)
    obs, action = td["agents", "observation"], td["agents", "action"]  # [N, T, A, D]
    reward, is_init = td["next", "agents", "reward"], td["is_init"][..., 0]
    width = 2  # pointmass: the continuous 2-d action; memory_cue: one-hot of its 2 cues
    d = obs.shape[-1] - (width + 3)
    prev_action, prev_reward = obs[..., d:d + width], obs[..., d + width:d + width + 1]
    index, start = obs[..., -2], obs[..., -1]  # [N, T, A]
    encoded = action.float() if name == "pointmass" else torch.nn.functional.one_hot(action, 2).float()
    later = ~is_init[:, 1:]  # steps that follow a step of the same episode
    assert torch.equal(prev_action[:, 1:][later], encoded[:, :-1][later])
    assert torch.equal(prev_reward[:, 1:][later], reward[:, :-1][later])
    assert (prev_action[is_init] == 0).all() and (prev_reward[is_init] == 0).all()
    assert torch.equal(index, td[TRIAL].float().expand_as(index))
    assert torch.equal(start.bool(), td[TRIAL_START].expand_as(start))
    boundary = td[TRIAL_START][..., 0] & ~is_init
    assert boundary.any() and (prev_reward[:, 1:][boundary[:, 1:]] == reward[:, :-1][boundary[:, 1:]]).all()
