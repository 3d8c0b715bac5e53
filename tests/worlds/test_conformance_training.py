"""Every registered world trains through ``ada train`` and a stopped run resumes bit-identically."""
from __future__ import annotations

import json

import pytest
import torch

from ada.cli import train
from envs_warp.core.world import get_world, world_names

WORLDS = world_names()


def smoke_args(name: str, run, iterations: int, *extra: str) -> list[str]:
    """A seconds-long ``ada train`` over the world's smoke settings, a checkpoint every iteration."""
    config = run.parent / f"{run.name}.yaml"
    config.write_text(json.dumps({"model": {  # JSON is YAML
        "seed": 0,
        "env": {"world": name, "num_envs": 8, "overrides": dict(get_world(name).smoke_overrides)},
        "ppo": {"rollout_len": 8, "total_env_steps": 256, "epochs": 1, "minibatches": 2},
        "policy": {"hidden": 16}}}))
    return ["--config", str(config),
            "--trainer.default_root_dir", str(run), "--trainer.max_epochs", str(iterations),
            "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false",
            "--artifacts", "false", "--checkpoint_every", "1", *extra]


@pytest.mark.xdist_group("training")
@pytest.mark.parametrize("name", WORLDS)
def test_ppo_trains_through_ada_train_and_resumes_bit_identically(name, tmp_path, monkeypatch):
    full = train(smoke_args(name, tmp_path / "full", 4))
    assert int(full.env_steps) == 4 * 64
    train(smoke_args(name, tmp_path / "split", 2))
    loaded = []
    hook = type(full).on_load_checkpoint
    monkeypatch.setattr(type(full), "on_load_checkpoint", lambda self, ckpt: (loaded.append(ckpt["epoch"]), hook(self, ckpt)))
    resumed = train(smoke_args(name, tmp_path / "split", 4))
    assert loaded == [1], "the second run did not resume from the first run's final checkpoint"
    assert int(resumed.env_steps) == 4 * 64
    reference = full.model.state_dict()
    for key, value in resumed.model.state_dict().items():
        assert torch.equal(value, reference[key]), f"{name}: {key} differs after stop/resume"
    initial = type(full)(env=full.env_cfg, ppo=full.ppo_cfg, policy=full.policy_cfg, seed=full.seed)
    assert any(not torch.equal(v, reference[k]) for k, v in initial.model.state_dict().items()), "nothing trained"


@pytest.mark.xdist_group("training")
def test_an_outside_world_is_trained_by_module_reference(tmp_path):
    module = train(smoke_args("pointmass_world:WORLD", tmp_path / "ref", 1))
    assert module.env_cfg.world == "pointmass_world:WORLD" and int(module.env_steps) == 64
