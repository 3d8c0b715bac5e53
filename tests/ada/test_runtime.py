"""RunState: the one component that saves and restores a rank's runtime, and the TorchRL internal it reads."""
from __future__ import annotations

import torch
from torchrl.collectors import Collector

from ada.config import EnvConfig
from ada.policy import OBS_KEY, RolloutPolicy
from ada.runtime import LENGTH_KEY, RETURN_KEY, RunState, collector_carrier
from ada.worlds import MEMORY_KEY, build_env, describe, with_memory
from models.actor_critic import ActorCritic, PolicyConfig

CFG = EnvConfig(world="lidarnav", num_envs=6, overrides={"max_steps": 7})


def small_model(core: str = "gru") -> ActorCritic:
    obs_dim, action, _ = describe(CFG)
    torch.manual_seed(0)
    return ActorCritic(obs_dim, action, PolicyConfig(core=core, hidden=16, layers=1, heads=2, memory_len=4))


def test_collector_carrier_is_the_step_the_next_rollout_starts_from():
    """Resume writes the saved step into this TensorDict in place; if TorchRL renames or stops using
    ``Collector._carrier`` this test fails (and ``collector_carrier`` raises) instead of resumes drifting."""
    model = small_model()
    env = with_memory(build_env(CFG, "cpu", seed=3), model.carried_memory_shape())
    collector = Collector(env, RolloutPolicy(model), frames_per_batch=6 * 5, total_frames=-1, trust_policy=True)
    batches = iter(collector)
    next(batches)
    carrier = collector_carrier(collector)
    before = carrier.clone()
    marker = torch.full_like(carrier.get(MEMORY_KEY), 0.25)
    carrier.set_(MEMORY_KEY, marker)  # an in-place write, as load_state_dict does
    data = next(batches)  # [N, T]
    assert torch.equal(data.get(OBS_KEY)[:, 0], before.get(OBS_KEY))
    assert torch.equal(data.get(MEMORY_KEY)[:, 0], marker)
    collector.shutdown()


def test_run_state_restored_in_a_fresh_runtime_collects_the_same_next_rollout():
    model = small_model("trxl")  # a cached-memory core: the live cache is part of the state
    first = RunState(CFG, model, frames_per_batch=6 * 5, device="cpu", seed=1)
    for _ in range(3):
        first.collect()
    state = first.state_dict()
    expected = first.collect()
    second = RunState(CFG, model, frames_per_batch=6 * 5, device="cpu", seed=99)  # another seed: state must win
    second.load_state_dict(state)
    got = second.collect()
    for key in (OBS_KEY, ("agents", "action"), ("next", "agents", "reward"), ("next", *RETURN_KEY),
                ("next", LENGTH_KEY), "level_id"):
        assert torch.equal(got.get(key), expected.get(key)), key
    assert torch.equal(second.window_memory, first.window_memory)
    first.close()
    second.close()


def test_episode_statistics_come_from_the_trackers_and_match_a_running_total():
    model = small_model()
    run = RunState(CFG, model, frames_per_batch=6 * 16, device="cpu", seed=2)  # max_steps 7: episodes end
    data = run.collect()
    stats, episode_return, success = run.episodes(data)
    reward = data.get(("next", "agents", "reward"))[..., 0].mean(-1)  # [N, T]
    done = data.get(("next", "done"))[..., 0]
    running = torch.zeros(6)
    expected = torch.zeros_like(reward)
    for t in range(reward.shape[1]):
        running += reward[:, t]
        expected[:, t] = running * done[:, t]
        running *= ~done[:, t]
    assert done.any()
    assert torch.equal(episode_return, expected)
    assert int(stats["return"][1]) == int(done.sum())
    assert float(stats["length"][0]) == float((data.get(("next", LENGTH_KEY))[..., 0] * done).sum())
    assert not success[~done].any()
    run.close()


def test_closed_run_state_still_returns_its_final_state():
    run = RunState(CFG, small_model(), frames_per_batch=6 * 5, device="cpu", seed=0)
    run.collect()
    live = run.state_dict()
    run.close()
    final = run.state_dict()
    assert torch.equal(final["carrier"].get(OBS_KEY), live["carrier"].get(OBS_KEY))
    assert torch.equal(final["rng"]["torch"], live["rng"]["torch"])
