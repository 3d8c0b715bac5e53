"""physics2d with a hidden per-episode permutation binding action channels to actuators, and its trial restart."""
from __future__ import annotations

import pytest
import torch

from envs_warp.physics2d.env import Physics2DEnv, Physics2DEnvConfig

M, T = 4, 2  # motor and thruster channels of every size


def make_env(num_envs: int = 16, seed: int = 0, **cfg) -> Physics2DEnv:
    cfg = {"size": "s", "bank_size": 16, "max_steps": 8, "hidden_permutation": True, **cfg}
    return Physics2DEnv(Physics2DEnvConfig(**cfg), num_envs=num_envs, seed=seed)


def is_channel_permutation(perm: torch.Tensor) -> bool:
    """Every row permutes the motors among themselves and the thrusters among themselves."""
    motors, thrusters = perm[:, :M].sort(1).values, perm[:, M:].sort(1).values
    return bool((motors == torch.arange(M)).all() and (thrusters == torch.arange(M, M + T)).all())


def test_the_permutation_is_drawn_per_episode_from_the_row_stream_and_reproducible():
    env = make_env()
    env.reset()
    first = env.channel_perm.clone()
    assert is_channel_permutation(first)
    assert (first != torch.arange(M + T)).any(1).sum() >= 12, "most of 16 rows should not get the identity"
    assert first.unique(dim=0).shape[0] >= 8, "rows draw their own permutations"
    again = make_env()
    again.reset()
    assert torch.equal(again.channel_perm, first), "same seed, same permutations"
    other = make_env(seed=1)
    other.reset()
    assert not torch.equal(other.channel_perm, first)
    env.reset()  # a new episode in every row
    assert is_channel_permutation(env.channel_perm)
    assert (env.channel_perm != first).any(1).sum() >= 8, "a new episode re-draws the permutation"


def test_a_trial_restart_keeps_the_permutation_and_replays_the_level():
    env = make_env()
    td = env.reset()
    perm, obs0 = env.channel_perm.clone(), td["agents", "observation"].clone()
    bank = env.bank_index.clone()
    for _ in range(3):
        td = env.step(td.set(("agents", "action"), env.full_action_spec.rand()["agents", "action"]))
        td = env.step_mdp(td)
    mask = torch.arange(16) % 2 == 0
    restarted = env.restart(mask)
    assert torch.equal(env.channel_perm, perm), "a restart must not re-draw the permutation"
    assert torch.equal(env.bank_index, bank), "a restart keeps the bank level"
    assert torch.equal(restarted["agents", "observation"][mask], obs0[mask]), "a restart replays the level"


def test_a_restart_loads_a_level_assigned_since_the_episode_began():
    env = make_env(4, hidden_permutation=False)
    env.reset()
    other = make_env(4, hidden_permutation=False, bank_seed=7)
    fresh = other.reset()["agents", "observation"].clone()  # other rows' bank levels: other levels
    env.set_levels(other.current_levels()[:1], rows=torch.tensor([2]))
    out = env.restart(torch.tensor([False, False, True, False]))
    assert torch.equal(out["agents", "observation"][2], fresh[0]) and int(env.bank_index[2]) == -1
    assert not env.level_pending.any()


@pytest.mark.parametrize("action_type", ["multi_discrete", "discrete", "continuous"])
def test_an_action_channel_drives_the_actuator_the_permutation_binds_it_to(action_type):
    env = make_env(2, action_type=action_type)
    td = env.reset()
    perm = torch.tensor([[2, 0, 3, 1, 5, 4], [1, 2, 3, 0, 4, 5]])
    env.channel_perm.copy_(perm)
    for channel in range(M + T):
        if action_type == "discrete":
            index = 2 * channel + 1 if channel < M else 2 * M + 1 + (channel - M)  # motor forward / thruster on
            action = torch.full((2, 1), index, dtype=torch.int64)
        else:
            dtype = torch.int64 if action_type == "multi_discrete" else torch.float32
            action = torch.zeros(2, 1, M + T, dtype=dtype)
            action[:, 0, channel] = 1
        env.step(td.set(("agents", "action"), action))
        for row in range(2):
            driven = perm[row, channel]
            motor, thruster = env.sim.motor_action[row], env.sim.thruster_action[row]  # [M], [T]
            expect_motor = torch.zeros(M)
            expect_thruster = torch.zeros(T)
            if driven < M:
                expect_motor[driven] = 1.0
            else:
                expect_thruster[driven - M] = 1.0
            assert torch.equal(motor, expect_motor) and torch.equal(thruster, expect_thruster), \
                f"{action_type}: row {row} channel {channel} should drive actuator {int(driven)}"
    noop = env.noop_action()
    env.step(td.set(("agents", "action"), noop))
    assert not env.sim.motor_action.any() and not env.sim.thruster_action.any()


def test_without_the_switch_there_is_no_permutation_in_the_state():
    env = make_env(4, hidden_permutation=False)
    assert env.channel_perm is None and "channel_perm" not in env.runtime_state()


def run(env: Physics2DEnv, td, actions: list[torch.Tensor]) -> tuple[list[torch.Tensor], object]:
    """Step with the given actions, auto-resetting done rows; observations and permutations per step."""
    out = []
    for action in actions:
        td = env.step(td.set(("agents", "action"), action))
        done = td["next", "done"]
        td = env.step_mdp(td)
        if done.any():
            td.update(env.reset(td.clone().set("_reset", done)))
        out.append(torch.cat([td["agents", "observation"].flatten(1), env.channel_perm.float()], 1))
    return out, td


def test_a_resumed_env_continues_exactly_with_the_permutation():
    torch.manual_seed(0)
    env = make_env(8, max_steps=4)
    actions = [env.full_action_spec.rand()["agents", "action"] for _ in range(20)]
    td = env.reset()
    _, td = run(env, td, actions[:9])
    state = {k: v.clone() for k, v in env.runtime_state().items()}
    assert "channel_perm" in state
    saved_td = td.clone()
    reference, _ = run(env, td, actions[9:])
    resumed = make_env(8, max_steps=4, seed=5)  # another seed: everything must come from the state
    resumed.reset()
    resumed.load_runtime_state(state)
    again, _ = run(resumed, saved_td, actions[9:])
    assert all(torch.equal(a, b) for a, b in zip(reference, again))
    perms = torch.stack([r[:, -(M + T):] for r in reference])  # [steps, N, M + T]
    assert (perms[1:] != perms[:-1]).any(), "episodes ended and re-drew permutations in the compared stretch"
