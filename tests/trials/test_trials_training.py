"""PPO with K trials per episode trains through ``ada train`` and a stopped run resumes bit-identically."""
from __future__ import annotations

import csv
import json

import pytest
import torch

from ada.cli import train


def trial_args(run, iterations: int, core: str) -> list[str]:
    """A seconds-long ``ada train`` on the outside point-mass world with 2-3 trials per episode."""
    config = run.parent / f"{run.name}.yaml"
    config.write_text(json.dumps({"model": {  # JSON is YAML
        "seed": 0,
        "env": {"world": "pointmass_world:WORLD", "num_envs": 8, "overrides": {"max_steps": 6},
                "trials": {"k_min": 2, "k_max": 3}},
        "ppo": {"rollout_len": 8, "total_env_steps": 256, "epochs": 1, "minibatches": 2},
        "policy": {"core": core, "hidden": 16, "layers": 1, "heads": 2, "memory_len": 8}}}))
    return ["--config", str(config),
            "--trainer.default_root_dir", str(run), "--trainer.max_epochs", str(iterations),
            "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false",
            "--artifacts", "false", "--checkpoint_every", "1"]


@pytest.mark.xdist_group("training")
@pytest.mark.parametrize("core", ["gru", "trxl"])
def test_ppo_with_trials_trains_through_ada_train_and_resumes_bit_identically(core, tmp_path, monkeypatch):
    full = train(trial_args(tmp_path / "full", 4, core))
    assert full.env_cfg.trials.k_max == 3 and int(full.env_steps) == 4 * 64
    assert full.model.encoder.net[0].in_features == 2 + 2 + 1 + 1 + 1  # world obs + prev action, reward, index, flag
    with open(tmp_path / "full" / "logs" / "version_0" / "metrics.csv") as handle:
        logged = [row for row in csv.DictReader(handle) if row.get("train/success_trial_1")]
    assert len(logged) == 4, "one row of per-trial statistics per iteration"
    for k in (1, 2, 3):  # K in [2, 3]: trials 1..3
        success = [float(row[f"train/success_trial_{k}"]) for row in logged]
        returns = [float(row[f"train/return_trial_{k}"]) for row in logged]
        assert all(0.0 <= s <= 1.0 for s in success)
        assert any(r != 0.0 for r in returns), f"no trial {k} ended in 4 iterations"
    assert "train/success_trial_4" not in logged[0]
    train(trial_args(tmp_path / "split", 2, core))
    loaded = []
    hook = type(full).on_load_checkpoint
    monkeypatch.setattr(type(full), "on_load_checkpoint", lambda self, ckpt: (loaded.append(ckpt["epoch"]), hook(self, ckpt)))
    resumed = train(trial_args(tmp_path / "split", 4, core))
    assert loaded == [1], "the second run did not resume from the first run's final checkpoint"
    assert int(resumed.env_steps) == 4 * 64
    reference = full.model.state_dict()
    for key, value in resumed.model.state_dict().items():
        assert torch.equal(value, reference[key]), f"{key} differs after stop/resume"
