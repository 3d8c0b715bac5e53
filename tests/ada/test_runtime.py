"""RunState: the one component that saves and restores a rank's runtime, and the TorchRL internal it reads."""
from __future__ import annotations

import pytest
import torch
from torchrl.collectors import Collector

from ada.config import EnvConfig
from ada.policy import OBS_KEY, RolloutPolicy
from ada.runtime import RunState, collector_carrier
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
        first.episodes(first.collect())  # the episode totals in progress are part of the state
    state = first.state_dict()
    expected = first.collect()
    second = RunState(CFG, model, frames_per_batch=6 * 5, device="cpu", seed=99)  # another seed: state must win
    second.load_state_dict(state)
    got = second.collect()
    for key in (OBS_KEY, ("agents", "action"), ("next", "agents", "reward"), "level_id"):
        assert torch.equal(got.get(key), expected.get(key)), key
    assert torch.equal(second.window_memory, first.window_memory)
    assert second.tracker.running_length.any()
    (stats_a, return_a, _), (stats_b, return_b, _) = first.episodes(expected), second.episodes(got)
    assert torch.equal(return_a, return_b)
    assert all(torch.equal(stats_a[k][0], stats_b[k][0]) for k in stats_a)
    first.close()
    second.close()


def test_episodes_spanning_two_rollouts_count_their_whole_return_and_length():
    model = small_model()
    one = RunState(CFG, model, frames_per_batch=6 * 10, device="cpu", seed=2)  # max_steps 7: episodes end
    stats_one, return_one, success_one = one.episodes(one.collect())  # [N, 10]
    two = RunState(CFG, model, frames_per_batch=6 * 5, device="cpu", seed=2)  # same steps, two rollouts
    halves = [two.episodes(two.collect()) for _ in range(2)]
    assert torch.equal(torch.cat([h[1] for h in halves], dim=1), return_one)
    assert torch.equal(torch.cat([h[2] for h in halves], dim=1), success_one)
    assert (return_one != 0).sum() >= 6, "every env should finish an episode within 10 steps"
    for key in ("return", "length", "success"):
        total = sum(float(h[0][key][0]) for h in halves)
        assert total == pytest.approx(float(stats_one[key][0]), rel=1e-6)
        assert sum(int(h[0][key][1]) for h in halves) == int(stats_one[key][1])
    assert float(stats_one["length"][0]) == 7.0 * int(stats_one["length"][1])  # untrained: every episode times out
    one.close()
    two.close()


def test_closed_run_state_still_returns_its_final_state():
    run = RunState(CFG, small_model(), frames_per_batch=6 * 5, device="cpu", seed=0)
    run.collect()
    live = run.state_dict()
    run.close()
    final = run.state_dict()
    assert torch.equal(final["carrier"].get(OBS_KEY), live["carrier"].get(OBS_KEY))
    assert torch.equal(final["rng"]["torch"], live["rng"]["torch"])
