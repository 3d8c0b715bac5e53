"""Curricula inside ``ada train``: exact resume, DDP-consistent buffers, physics2d levels."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ada.cli import train
from curricula.tags import REPLAY, tag_kind

ROOT = Path(__file__).resolve().parents[2]
TINY = str(ROOT / "experiments" / "configs" / "lidarnav_tiny.yaml")
SMALL = {
    "sfl": ("--model.curriculum.sfl.num_candidates", "24", "--model.curriculum.sfl.trials", "2",
            "--model.curriculum.sfl.buffer_size", "6", "--model.curriculum.sfl.refresh_every", "2"),
    "plr": ("--model.curriculum.plr.buffer_size", "24", "--model.curriculum.plr.min_fill", "0.25"),
    "accel": ("--model.curriculum.plr.buffer_size", "24", "--model.curriculum.plr.min_fill", "0.25",
              "--model.curriculum.accel.mutants", "8"),
}


def tiny(run_dir: Path, method: str, *extra: str) -> list[str]:
    return ["--config", TINY, "--trainer.default_root_dir", str(run_dir), "--trainer.enable_progress_bar", "false",
            "--trainer.enable_model_summary", "false", "--artifacts", "false", "--checkpoint_every", "1",
            "--model.curriculum.method", method, *SMALL[method], *extra]


def params(module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.model.state_dict().items()}


@pytest.mark.xdist_group("training")
@pytest.mark.parametrize("method", ["sfl", "accel"])
def test_curriculum_run_stopped_and_resumed_matches_uninterrupted_run_exactly(tmp_path, method):
    full = train(tiny(tmp_path / "full", method, "--trainer.max_epochs", "6"))
    train(tiny(tmp_path / "split", method, "--trainer.max_epochs", "3"))
    resumed = train(tiny(tmp_path / "split", method, "--trainer.max_epochs", "6"))
    full_params = params(full)
    for key, value in params(resumed).items():
        assert torch.equal(value, full_params[key]), f"{key} differs after resume"
    a, b = full.rt.sampler.buffer, resumed.rt.sampler.buffer
    assert a.size() > 0
    for name in ("uid", "score", "last_sampled"):
        assert torch.equal(getattr(a, name), getattr(b, name)), name


@pytest.mark.xdist_group("training")
def test_accel_run_replays_buffer_levels_and_logs_curriculum_metrics(tmp_path):
    module = train(tiny(tmp_path / "run", "accel", "--trainer.max_epochs", "8"))
    assert (tag_kind(module.rt.base_env.level_id) == REPLAY).any()
    ctx = module.rt.sampler.ctx  # curricula reach the policy through a rollout service, never the module
    assert not any(value is module for value in [*vars(ctx).values(), *vars(ctx.rollouts).values()])
    header = (tmp_path / "run" / "logs" / "version_0" / "metrics.csv").read_text().splitlines()[0]
    for key in ("curriculum/buffer_size", "curriculum/replay_share", "curriculum/mutants"):
        assert key in header


@pytest.mark.xdist_group("training")
def test_plr_trains_on_physics2d_bank_levels(tmp_path):
    config = str(ROOT / "experiments" / "configs" / "physics2d_tiny.yaml")
    module = train(["--config", config, "--trainer.default_root_dir", str(tmp_path / "p2"), "--trainer.max_epochs", "4",
                    "--trainer.enable_progress_bar", "false", "--artifacts", "false",
                    "--model.curriculum.method", "accel", *SMALL["accel"]])
    assert module.rt.sampler.buffer.size() > 0


@pytest.mark.parametrize("method", ["sfl", "accel"])
def test_ddp_ranks_keep_identical_curriculum_buffers(tmp_path, method):
    probe = ROOT / "tests" / "ada" / "ddp_probe.py"
    out = tmp_path / "out"
    out.mkdir()
    # small open rooms: the untrained policy succeeds sometimes, so SFL's buffer is not empty
    rooms = '{"map_width": 7, "map_height": 7, "fill": 0.0, "max_steps": 40, "max_goal_dist": 3.0}'
    cmd = [sys.executable, str(probe), str(out), *tiny(tmp_path / "ddp", method, "--trainer.max_epochs", "5",
           "--trainer.strategy", "ddp", "--trainer.devices", "2", "--trainer.accelerator", "cpu",
           "--model.curriculum.plr.replay_prob", "0.8", "--model.curriculum.sfl.trials", "6",
           "--model.env.overrides", rooms)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run(cmd, cwd=ROOT, check=True, env=env, timeout=600, capture_output=True)
    a, b = torch.load(out / "curriculum_rank0.pt"), torch.load(out / "curriculum_rank1.pt")
    assert (a["buffer"]["uid"] >= 0).sum() > 0
    for name in ("uid", "source", "score", "last_sampled", "max_return"):
        assert torch.equal(a["buffer"][name], b["buffer"][name]), f"buffer {name} differs between ranks"
    for key in a["buffer"]["levels"]:
        assert torch.equal(a["buffer"]["levels"][key], b["buffer"]["levels"][key]), key
    if method == "accel":
        assert torch.equal(a["table_serial"], b["table_serial"]) and a["generation"] == b["generation"] > 0
    assert not torch.equal(a["rng"], b["rng"]), "ranks should draw their own resets"
