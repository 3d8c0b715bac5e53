"""Evaluation by trial index (``ada.trial_eval``)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from tensordict import TensorDict

from ada.config import EnvConfig, TrialConfig
from ada.evaluate import PolicyRollouts
from ada.runtime import EpisodeTracker
from ada.trial_eval import COLUMNS, outcomes_by_trial, summarise_by_trial
from ada.trial_log import TrialLog
from ada.worlds import describe, random_levels
from curricula import LevelStats
from models.actor_critic import ActorCritic, PolicyConfig


def test_a_memoryless_deterministic_policy_scores_the_same_in_every_trial_and_rows_are_per_trial():
    """Restarts reproduce the level exactly, so without memory or trial inputs every trial is the same."""
    cfg = EnvConfig(world="pointmass_world:WORLD", num_envs=4, overrides={"max_steps": 8},
                    trials=TrialConfig(k_min=1, inputs=False))
    obs_dim, action, _ = describe(cfg)
    torch.manual_seed(0)
    model = ActorCritic(obs_dim, action, PolicyConfig(core="mlp", hidden=8))
    levels = random_levels(cfg, 3, seed=5)
    out = outcomes_by_trial(cfg, model, levels, trials=4, attempts=2, seed=1, deterministic=True)
    assert out["success"].shape == (3, 2, 4) and out["return"].shape == (3, 2, 4)
    assert np.abs(out["return"]).min() > 0, "a trial was never played"
    assert np.array_equal(out["return"], np.repeat(out["return"][..., :1], 4, axis=-1))
    rows = summarise_by_trial(out)
    assert [r["trial"] for r in rows] == [1, 2, 3, 4]
    assert rows[0]["score_mean"] == rows[3]["score_mean"] and rows[0]["score_p20"] <= rows[0]["score_median"]


def test_trials_beyond_the_trained_range_run_with_the_trained_policy_inputs():
    cfg = EnvConfig(world="pointmass_world:WORLD", num_envs=4, overrides={"max_steps": 8},
                    trials=TrialConfig(k_min=2, k_max=3))
    obs_dim, action, _ = describe(cfg)
    torch.manual_seed(0)
    model = ActorCritic(obs_dim, action, PolicyConfig(core="gru", hidden=8))
    levels = random_levels(cfg, 3, seed=5)
    out = outcomes_by_trial(cfg, model, levels, trials=5, attempts=1, seed=1, deterministic=True)
    assert out["return"].shape == (3, 1, 5)
    assert (out["return"] < 0).all(), "every one of the 5 trials was played (a time penalty each step)"


def test_summary_by_trial_is_the_hand_computed_mean_median_20th_percentile_and_success():
    ret = np.zeros((2, 5, 2))  # [L, attempts, K]
    ret[..., 0] = np.arange(1, 11).reshape(2, 5)  # trial 1 scores 1..10
    ret[..., 1] = 4.0
    success = np.zeros((2, 5, 2), dtype=bool)
    success[0, :3, 1] = True  # trial 2: 3 successes of 10
    rows = summarise_by_trial({"success": success, "return": ret})
    # median of 1..10 = 5.5; 20th percentile (linear): position 0.2 * 9 = 1.8 -> 2 + 0.8 * (3 - 2) = 2.8
    assert rows[0] == {"trial": 1, "score_mean": 5.5, "score_median": 5.5, "score_p20": pytest.approx(2.8),
                       "success_mean": 0.0, "episodes": 10}
    assert rows[1] == {"trial": 2, "score_mean": 4.0, "score_median": 4.0, "score_p20": 4.0, "success_mean": 0.3,
                       "episodes": 10}
    assert list(rows[0]) == list(COLUMNS)


def seek_from_second_trial(td):
    """Stand still in trial 1; from trial 2 on drive straight at the goal (the observation is goal − position)."""
    obs = td["agents", "observation"][..., :2]  # [n, 1, 2] [m]
    go = (td["trial"] >= 1).float().unsqueeze(-1)  # [n, 1, 1]
    td.set(("agents", "action"), (10 * obs).clamp(-1, 1) * go)
    return td


def far_levels(cfg: EnvConfig, n: int) -> TensorDict:
    """``n`` random point-mass levels whose start is well outside the goal radius (standing still fails)."""
    levels = random_levels(cfg, 8 * n, seed=3)
    far = (levels["start"] - levels["goal"]).norm(dim=-1) > 0.5
    return levels[far][:n]


def test_trial_rollouts_record_each_trial_and_the_curriculum_counts_the_configured_trial():
    cfg = EnvConfig(world="pointmass_world:WORLD", num_envs=4, overrides={"max_steps": 40},
                    trials=TrialConfig(k_min=3, inputs=False))
    obs_dim, action, _ = describe(cfg)
    model = ActorCritic(obs_dim, action, PolicyConfig(core="mlp", hidden=8))
    levels = far_levels(cfg, 4)
    out = outcomes_by_trial(cfg, model, levels, trials=3, attempts=2, policy=seek_from_second_trial)
    assert out["success"].shape == (4, 2, 3)
    assert not out["success"][..., 0].any() and out["success"][..., 1:].all()
    rollouts = PolicyRollouts(cfg, model, "cpu")
    rates = {mode: rollouts.successes(levels, 2, seed=0, policy=seek_from_second_trial, trial_success=mode)
             for mode in ("last", "first", "any", "mean")}
    assert rates["last"].dtype == torch.bool and rates["last"].all() and rates["any"].all()
    assert not rates["first"].any()
    assert torch.allclose(rates["mean"], torch.full((4, 2), 2 / 3))


def test_trial_log_sums_each_trial_across_rollouts_and_the_curriculum_is_told_whole_episodes():
    # row 0: K = 3 trials of 2 steps, rewards 1..6 (trial returns 3, 7, 11), goal reached in trials 1 and 3;
    # row 1: K = 2 trials of 3 steps, reward 0.5 per step (returns 1.5, 1.5), goal reached in trial 2 only
    t = 6
    reward = torch.tensor([[1.0, 2, 3, 4, 5, 6], [0.5] * 6])
    trial = torch.tensor([[0, 0, 1, 1, 2, 2], [0, 0, 0, 1, 1, 1]])
    ended = torch.tensor([[0, 1, 0, 1, 0, 1], [0, 0, 1, 0, 0, 1]], dtype=torch.bool)
    reached = torch.tensor([[0, 1, 0, 0, 0, 1], [0, 0, 0, 0, 0, 1]], dtype=torch.bool)
    done = torch.zeros(2, t, dtype=torch.bool)
    done[:, 5] = True
    data = TensorDict({"trial": trial[..., None], "num_trials": torch.tensor([[3] * t, [2] * t])[..., None],
                       "next": {"agents": {"reward": reward[..., None, None], "reached_goal": reached[..., None, None]},
                                "trial_done": ended[..., None], "done": done[..., None]}}, batch_size=[2, t])
    expected = {"last": [1.0, 1.0], "first": [1.0, 0.0], "any": [1.0, 1.0], "mean": [2 / 3, 1 / 2]}
    for mode, episode in expected.items():
        log = TrialLog(3, ("agents", "reached_goal"), num_agents=1, trial_success=mode)
        log.start(2, torch.device("cpu"))
        first, _ = log.finished(data[:, :3])  # the rollout boundary cuts trials in the middle
        saved = log.runtime_state()
        resumed = TrialLog(3, ("agents", "reached_goal"), num_agents=1, trial_success=mode)
        resumed.start(2, torch.device("cpu"))
        resumed.load_runtime_state(saved)
        second, success = resumed.finished(data[:, 3:])
        assert torch.allclose(success[:, -1], torch.tensor(episode)) and not success[:, :-1].any(), mode
        total = {k: (first[k][0] + second[k][0], first[k][1] + second[k][1]) for k in first}
        assert total["return_trial_1"] == (4.5, 2) and total["return_trial_2"] == (8.5, 2)
        assert total["return_trial_3"] == (11.0, 1)
        assert total["success_trial_1"] == (1.0, 2) and total["success_trial_2"] == (1.0, 2)
        assert total["success_trial_3"] == (1.0, 1)
    # what a curriculum is told about the episodes: the whole episode's return and the success of the configured trial
    tracker = EpisodeTracker(2, torch.device("cpu"), ("agents", "reached_goal"))
    _, episode_return, _ = tracker.finished(data)
    stats = LevelStats.from_rollout(torch.tensor([[5] * t, [9] * t]), torch.zeros(2, t), torch.zeros(2, t),
                                    done, trial_log_success(data, "first"), episode_return)
    assert stats.returns.tolist() == [21.0, 3.0] and stats.max_return.tolist() == [21.0, 3.0]
    assert stats.successes.tolist() == [1.0, 0.0] and stats.episodes.tolist() == [1.0, 1.0]


def trial_log_success(data: TensorDict, mode: str) -> torch.Tensor:
    """Episode success ``[N, T]`` of a fresh :class:`TrialLog` over ``data``."""
    log = TrialLog(3, ("agents", "reached_goal"), num_agents=1, trial_success=mode)
    log.start(data.batch_size[0], torch.device("cpu"))
    return log.finished(data)[1]
