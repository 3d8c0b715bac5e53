"""The RL² configs train, and the trained agent is evaluated by trial index on held-out rulesets."""
from __future__ import annotations

from pathlib import Path

import pytest

from ada.cli import train
from ada.trial_eval import outcomes_by_trial, summarise_by_trial
from ada.worlds import world_of, world_config

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.xdist_group("training")
@pytest.mark.parametrize("name", ["xland_rl2_gru", "xland_rl2_trxl"])
def test_rl2_config_trains_with_trials_and_evaluates_by_trial(tmp_path, name):
    config = str(ROOT / "experiments" / "configs" / f"{name}.yaml")
    module = train(["--config", config, "--trainer.default_root_dir", str(tmp_path / "run"),
                    "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false",
                    "--artifacts", "false", "--model.env.num_envs", "8", "--model.ppo.rollout_len", "16",
                    "--model.ppo.total_env_steps", "256", "--model.env.overrides.max_steps", "12"])
    env_cfg = module.env_cfg
    assert env_cfg.trials.max_trials > 1 and env_cfg.trials.with_inputs
    cfg = world_config(env_cfg)
    assert not cfg.observe_goal and not cfg.observe_rules  # XLand-MiniGrid's RL² baseline sees neither
    levels, _ = world_of(env_cfg).held_out_levels(cfg)
    out = outcomes_by_trial(env_cfg, module.model, levels[:3], trials=3, attempts=2, seed=1)
    assert out["success"].shape == (3, 2, 3) and out["return"].shape == (3, 2, 3)
    assert ((out["return"] > 0) == out["success"]).all()  # reward only on success, 1 - 0.9 t/T > 0
    assert [row["trial"] for row in summarise_by_trial(out)] == [1, 2, 3]
