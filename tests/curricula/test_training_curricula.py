"""Curricula inside ``ada train``: exact resume, DDP-consistent buffers, physics2d levels."""
from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ada.cli import train
from curricula.accel import ACCELSampler
from curricula.tags import NEW, RANDOM, REPLAY, tag_kind, tag_serial

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
def test_plr_trains_on_physics2d_bank_levels(tmp_path, monkeypatch):
    replay_prob, epochs = 0.7, 8
    resets = []  # per reset while the buffer was ready: (tags [k], every replay row got its buffer entry's level)
    rollouts = []  # per iteration: (buffer ready, rollout tags [N, T])
    on_reset, train_mask = ACCELSampler.on_reset, ACCELSampler.train_mask

    def recording_on_reset(self, env, mask):
        ready = self.ready
        on_reset(self, env, mask)
        # rows the sampler left alone still carry their previous episode's tag until the world draws (-1 here)
        assigned = env.level_pending[mask]
        tags = torch.where(assigned, env.level_id[mask], torch.full_like(env.level_id[mask], -1))
        replay = tag_kind(tags) == REPLAY
        assert ready or not replay.any(), "a level was replayed before the buffer reached min_fill"
        if ready:
            slot = self.buffer.lookup(tag_serial(tags[replay]))
            same = bool((slot >= 0).all()) and all(
                torch.equal(env.levels[key][mask][replay], self.buffer.levels[key][slot]) for key in env.levels.keys())
            resets.append((tags.clone(), same))

    def recording_train_mask(self, tags):
        rollouts.append((self.ready, tags.clone()))
        return train_mask(self, tags)

    monkeypatch.setattr(ACCELSampler, "on_reset", recording_on_reset)
    monkeypatch.setattr(ACCELSampler, "train_mask", recording_train_mask)
    config = str(ROOT / "experiments" / "configs" / "physics2d_tiny.yaml")
    module = train(["--config", config, "--trainer.default_root_dir", str(tmp_path / "p2"),
                    "--trainer.max_epochs", str(epochs), "--model.ppo.total_env_steps", str(epochs * 32 * 16),
                    "--trainer.enable_progress_bar", "false", "--artifacts", "false",
                    "--model.curriculum.method", "accel", *SMALL["accel"],
                    "--model.curriculum.plr.replay_prob", str(replay_prob)])
    sampler, env = module.rt.sampler, module.rt.base_env
    buf = sampler.buffer
    assert buf.size() >= 0.25 * buf.capacity
    # resets after min_fill replay buffer levels at about replay_prob, and load exactly the replayed entry's level
    kinds = tag_kind(torch.cat([tags for tags, _ in resets]))
    assert kinds.numel() >= 60, f"only {kinds.numel()} resets once the buffer was ready"
    share = float((kinds == REPLAY).float().mean())
    assert abs(share - replay_prob) < 0.15, f"{share:.2f} of resets replayed, configured {replay_prob}"
    assert all(same for _, same in resets), "a replayed row did not get its buffer entry's level"
    assert ((kinds == RANDOM) | (kinds == NEW) | (kinds == REPLAY)).all()
    assert (kinds == NEW).any(), "no ACCEL mutant was played"
    # the rollouts carry those tags: none replayed before the buffer filled, replays once it had
    assert not rollouts[0][0] and not (tag_kind(rollouts[0][1]) == REPLAY).any()
    ready_rollouts = [tags for ready, tags in rollouts if ready]
    assert len(ready_rollouts) == epochs - 1, "the buffer should reach min_fill after the first update"
    assert all((tag_kind(tags) == REPLAY).any() for tags in ready_rollouts), "a rollout without replays"
    # the buffer: finite scores, valid physics2d records, random-bank entries rebuilt exactly from their tags
    valid = buf.valid
    assert torch.isfinite(buf.score[valid]).all()
    levels = buf.levels[valid]
    checked = env.level_schema.validate(levels.cpu(), source="plr buffer")
    for key in levels.keys():
        assert torch.equal(checked[key], levels[key].cpu()), key
    source = buf.source[valid]
    from_bank = tag_kind(source) == RANDOM
    assert from_bank.any() and (tag_kind(source) == NEW).any(), "the buffer should hold bank levels and mutants"
    rebuilt = env.random_levels_from_tags(source[from_bank])
    for key in levels.keys():
        assert torch.equal(rebuilt[key], levels[key][from_bank]), f"buffer level field {key} does not rebuild"
    # logged curriculum metrics: every iteration, and the replay share the rollouts actually had
    with open(tmp_path / "p2" / "logs" / "version_0" / "metrics.csv", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r.get("curriculum/replay_share")]
    assert len(rows) == epochs == len(rollouts)
    for key in ("curriculum/buffer_size", "curriculum/mutants", "curriculum/inserted", "curriculum/buffer_score"):
        assert all(r[key] != "" for r in rows), key
    for row, (_, tags) in zip(rows, rollouts):
        rollout_share = float((tag_kind(tags) == REPLAY).float().mean())
        assert abs(float(row["curriculum/replay_share"]) - rollout_share) < 1e-6
    assert float(rows[-1]["curriculum/buffer_size"]) == buf.capacity


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
