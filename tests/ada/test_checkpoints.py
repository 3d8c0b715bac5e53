"""Checkpoint files: keep-last-k, resume falls back past a damaged last.ckpt, damaged files are named, atomic writes."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ada.checkpoint import AtomicCheckpointIO, CheckpointError, load_module, periodic_checkpoints, read_checkpoint
from ada.cli import train

ROOT = Path(__file__).resolve().parents[2]
TINY = str(ROOT / "experiments" / "configs" / "lidarnav_tiny.yaml")


def tiny(run_dir: Path, *extra: str) -> list[str]:
    return ["--config", TINY, "--trainer.default_root_dir", str(run_dir), "--trainer.enable_progress_bar", "false",
            "--trainer.enable_model_summary", "false", "--artifacts", "false", "--checkpoint_every", "1", *extra]


def params(module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.model.state_dict().items()}


@pytest.mark.xdist_group("training")
def test_keep_last_leaves_only_the_newest_periodic_checkpoints(tmp_path):
    train(tiny(tmp_path / "run", "--trainer.max_epochs", "5", "--keep_last", "2"))
    folder = tmp_path / "run" / "checkpoints"
    assert sorted(p.name for p in folder.iterdir()) == ["iter00003.ckpt", "iter00004.ckpt", "last.ckpt"]
    assert [p.name for p in periodic_checkpoints(tmp_path / "run")] == ["iter00003.ckpt", "iter00004.ckpt"]
    assert not list(folder.glob("*.tmp")), "a temporary file was left behind"


@pytest.mark.xdist_group("training")
def test_truncated_last_checkpoint_falls_back_to_the_previous_one_and_the_run_finishes_exactly(tmp_path, capsys):
    full = params(train(tiny(tmp_path / "full", "--trainer.max_epochs", "5")))
    train(tiny(tmp_path / "split", "--trainer.max_epochs", "3"))
    last = tmp_path / "split" / "checkpoints" / "last.ckpt"
    last.write_bytes(last.read_bytes()[:4000])  # a copy cut short
    (tmp_path / "split" / "checkpoints" / "iter00002.ckpt").write_bytes(b"garbage")  # and the newest periodic one too
    capsys.readouterr()
    resumed = train(tiny(tmp_path / "split", "--trainer.max_epochs", "5"))
    err = capsys.readouterr().err
    assert f"{last}: not a readable checkpoint" in err
    assert "iter00002.ckpt: not a readable checkpoint" in err
    assert "resuming from" in err and "iter00001.ckpt (2 of 5 iterations done)" in err
    assert int(resumed.env_steps) == 5 * 16 * 16
    assert read_checkpoint(last)["epoch"] == 4  # the damaged file was replaced by the final iteration
    for key, value in params(resumed).items():  # resuming from the older checkpoint is still exact
        assert torch.equal(value, full[key]), f"{key} differs after the fallback resume"


def test_a_run_folder_with_only_damaged_checkpoints_is_refused_naming_them(tmp_path):
    folder = tmp_path / "run" / "checkpoints"
    folder.mkdir(parents=True)
    (folder / "last.ckpt").write_bytes(b"\x00" * 10)
    (folder / "iter00004.ckpt").write_text("not a checkpoint")
    with pytest.raises(CheckpointError, match=r"no intact checkpoint.*last\.ckpt, iter00004\.ckpt"):
        train(tiny(tmp_path / "run", "--trainer.max_epochs", "2"))


def test_loading_a_damaged_or_foreign_file_names_it(tmp_path):
    garbage = tmp_path / "garbage.ckpt"
    garbage.write_text("garbage\n")
    with pytest.raises(CheckpointError, match=f"{garbage}: not a readable checkpoint.*truncated or corrupt"):
        load_module(garbage)
    good = tmp_path / "good.ckpt"
    torch.save({"state_dict": {}, "epoch": 0}, good)
    truncated = tmp_path / "truncated.ckpt"
    truncated.write_bytes(good.read_bytes()[:200])
    with pytest.raises(CheckpointError, match=f"{truncated}: not a readable checkpoint"):
        load_module(truncated)
    with pytest.raises(CheckpointError, match=f"{good}: not an ada PPOModule checkpoint"):
        load_module(good)
    with pytest.raises(CheckpointError, match=f"{tmp_path / 'missing.ckpt'}: no such checkpoint file"):
        load_module(tmp_path / "missing.ckpt")
    torch.save([1, 2], tmp_path / "list.ckpt")
    with pytest.raises(CheckpointError, match="not a Lightning checkpoint"):
        read_checkpoint(tmp_path / "list.ckpt")


def test_atomic_checkpoint_io_replaces_the_file_whole_and_leaves_no_temporary_file(tmp_path):
    io = AtomicCheckpointIO()
    path = tmp_path / "checkpoints" / "last.ckpt"
    io.save_checkpoint({"state_dict": {"w": torch.ones(3)}, "epoch": 1}, path)
    io.save_checkpoint({"state_dict": {"w": torch.zeros(3)}, "epoch": 2}, path)
    assert [p.name for p in path.parent.iterdir()] == ["last.ckpt"]
    state = io.load_checkpoint(path)
    assert state["epoch"] == 2 and torch.equal(state["state_dict"]["w"], torch.zeros(3))
    preloaded = AtomicCheckpointIO(preloaded=(path, {"state_dict": {}, "epoch": 7}))
    assert preloaded.load_checkpoint(path)["epoch"] == 7  # a checked checkpoint is not read twice
    assert preloaded.load_checkpoint(path)["epoch"] == 2
