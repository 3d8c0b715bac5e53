"""Evaluation by trial index (``ada.trial_eval``)."""
from __future__ import annotations

import numpy as np
import torch

from ada.config import EnvConfig, TrialConfig
from ada.trial_eval import outcomes_by_trial, summarise_by_trial
from ada.worlds import describe, random_levels
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
