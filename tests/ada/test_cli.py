"""The ``ada`` command: concise help, no run without --config, one-line user errors (exit 2), progress line, callbacks."""
from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from ada.cli import main, train
from ada.progress import RunProgress
from ada.train_args import ConfigError

ROOT = Path(__file__).resolve().parents[2]
TINY = str(ROOT / "experiments" / "configs" / "lidarnav_tiny.yaml")


def tiny(run_dir: Path, *extra: str) -> list[str]:
    return ["--config", TINY, "--trainer.default_root_dir", str(run_dir), "--trainer.enable_model_summary", "false",
            "--artifacts", "false", *extra]


def run_main(argv: list[str], capsys) -> tuple[int, str, str]:
    """(exit code, stdout, stderr without Warp's own start-up notice) of ``ada ...`` run in this process."""
    code = 0
    try:
        main(argv)
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, "\n".join(line for line in err.splitlines() if not line.startswith("Warp CUDA"))


def untrained_checkpoint(path: Path, world: str = "lidarnav", **overrides) -> Path:
    """A checkpoint ``load_module`` accepts, written without training (weights and config only)."""
    from ada import EnvConfig, PolicyConfig, PPOModule

    module = PPOModule(env=EnvConfig(world=world, num_envs=2, overrides=overrides), policy=PolicyConfig(hidden=16))
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": module.state_dict(), "hyper_parameters": dict(module.hparams), "epoch": 0}, path)
    return path


# ---------------------------------------------------------------------- help and usage
def test_train_help_is_short_and_lists_model_fields_and_run_options(capsys):
    code, out, _ = run_main(["train", "--help"], capsys)
    assert code == 0
    lines = out.splitlines()
    assert len(lines) < 80, f"{len(lines)} lines of help"
    for flag in ("--model.ppo.lr", "--model.ppo.total_env_steps", "--model.env.world", "--model.policy.core",
                 "--model.curriculum.method", "--keep_last", "--checkpoint_every", "--trainer.max_epochs", "--help-all"):
        assert flag in out, flag
    assert "--model.ppo.lr float = 0.0003" in out and "lidarnav_tiny.yaml" in out
    assert "--trainer.gradient_clip_algorithm" not in out  # Lightning's full list only with --help-all


def test_train_without_config_explains_itself_and_starts_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_main(["train"], capsys)
    assert code == 2
    assert "no --config" in err and "usage: ada train --config" in err and "lidarnav_gru.yaml" in err
    assert "Traceback" not in err
    assert not (tmp_path / "runs").exists()


# ---------------------------------------------------------------------- one-line user errors
def _one_line(code: int, err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, err
    assert len(lines) == 1, f"expected one line, got:\n{err}"
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize("extra, expected", [
    (["--model.ppo.lrr", "1e-3"], ["unknown field --model.ppo.lrr", "did you mean --model.ppo.lr?", "PPOConfig fields:"]),
    (["--model.env.world", "nowhere"], ["unknown world 'nowhere'", "lidarnav", "physics2d"]),
    (["--model.env.overrides.num_agentz", "2"], ["num_agentz", "num_agents"]),
    (["--model.ppo.lr", "fast"], ["--model.ppo.lr expects float, got 'fast'"]),
    (["--model.ppo.lr_schedule", "step"], ["lr_schedule must be constant, linear or cosine"]),
    (["--trainer.max_epoch", "3"], ["unknown field --trainer.max_epoch", "did you mean --trainer.max_epochs?"]),
    (["--keep_last", "-1"], ["keep_last must be >= 0"]),
])
def test_bad_override_is_one_line_naming_the_field_and_the_choices(extra, expected, tmp_path, capsys):
    line = _one_line(*run_main(["train", *tiny(tmp_path / "run"), *extra], capsys)[::2])
    assert line.startswith("ada train: error: ")
    for text in expected:
        assert text in line, line
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_bad_config_files_are_one_line_naming_the_file(tmp_path, capsys):
    typo = tmp_path / "typo.yaml"
    typo.write_text("model:\n  ppo:\n    gama: 0.9\n")
    line = _one_line(*run_main(["train", "--config", str(typo)], capsys)[::2])
    assert f"{typo}: unknown field model.ppo.gama (did you mean model.ppo.gamma?)" in line
    broken = tmp_path / "broken.yaml"
    broken.write_text("model: [1,\n")
    assert f"{broken}: not valid YAML at line 2" in _one_line(*run_main(["train", "--config", str(broken)], capsys)[::2])
    missing = tmp_path / "missing.yaml"
    assert f"--config {missing}: no such file" in _one_line(*run_main(["train", "--config", str(missing)], capsys)[::2])


def test_damaged_or_missing_checkpoints_and_bad_level_files_are_one_line_naming_the_file(tmp_path, capsys):
    good = untrained_checkpoint(tmp_path / "good.ckpt")
    truncated = tmp_path / "truncated.ckpt"
    truncated.write_bytes(good.read_bytes()[:3000])
    garbage = tmp_path / "garbage.ckpt"
    garbage.write_text("garbage\n")
    for path in (truncated, garbage):
        line = _one_line(*run_main(["eval", "--ckpt", str(path)], capsys)[::2])
        assert f"{path}: not a readable checkpoint" in line and "truncated or corrupt" in line
    line = _one_line(*run_main(["play", "--ckpt", str(tmp_path / "nope.ckpt"), "--gif", "x.gif"], capsys)[::2])
    assert f"{tmp_path / 'nope.ckpt'}: no such checkpoint file" in line
    level = tmp_path / "level.json"
    level.write_text('{"format": "something else"}')
    line = _one_line(*run_main(["eval", "--ckpt", str(good), "--levels", str(level)], capsys)[::2])
    assert str(level) in line and "format" in line
    line = _one_line(*run_main(["eval", "--ckpt", str(good), "--policy", "wander"], capsys)[::2])
    assert "'wander'" in line and "agent, random, turn_to_goal" in line


def test_play_on_a_world_without_a_renderer_is_one_line(tmp_path, capsys):
    ckpt = untrained_checkpoint(tmp_path / "cue.ckpt", world="memory_cue")
    line = _one_line(*run_main(["play", "--ckpt", str(ckpt), "--gif", str(tmp_path / "x.gif")], capsys)[::2])
    assert "world 'memory_cue' has no 'renderer' capability" in line


@pytest.mark.xdist_group("training")
def test_resuming_with_an_incompatible_config_is_one_line_naming_the_checkpoint(tmp_path, capsys):
    train(tiny(tmp_path / "run", "--trainer.max_epochs", "1", "--trainer.enable_progress_bar", "false"))
    capsys.readouterr()
    code, _, err = run_main(["train", *tiny(tmp_path / "run", "--trainer.max_epochs", "2", "--model.policy.hidden",
                                            "48")], capsys)
    line = _one_line(code, err)
    assert f"{tmp_path / 'run' / 'checkpoints' / 'last.ckpt'}:" in line
    assert "policy.hidden: checkpoint 32 vs config 48" in line


def test_worlds_lists_each_world_and_its_fields(capsys):
    code, out, _ = run_main(["worlds"], capsys)
    assert code == 0 and "lidarnav" in out and "physics2d" in out and "baselines: turn_to_goal" in out
    code, out, _ = run_main(["worlds", "lidarnav"], capsys)
    assert code == 0 and "num_agents" in out and "--model.env.overrides.FIELD" in out
    line = _one_line(*run_main(["worlds", "atlantis"], capsys)[::2])
    assert "unknown world 'atlantis'; known worlds: " in line and "lidarnav, memory_cue, physics2d" in line


def test_debug_shows_the_traceback(tmp_path):
    with pytest.raises(ConfigError, match="unknown field --model.ppo.lrr"):
        main(["train", *tiny(tmp_path / "run"), "--model.ppo.lrr", "1", "--debug"])


def test_a_real_process_prints_one_line_and_exits_2(tmp_path):
    cmd = [sys.executable, "-m", "ada.cli", "train", *tiny(tmp_path / "run"), "--model.policy.hiden", "8"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    lines = [line for line in proc.stderr.splitlines() if line.strip() and not line.startswith("Warp CUDA")]
    assert proc.returncode == 2, proc.stderr
    assert lines == [lines[0]] and "did you mean --model.policy.hidden?" in lines[0], proc.stderr


# ---------------------------------------------------------------------- progress line
@pytest.mark.xdist_group("training")
def test_progress_line_counts_env_steps_of_the_whole_run_and_resumes_at_its_position(tmp_path, capsys):
    train(tiny(tmp_path / "run", "--trainer.max_epochs", "2", "--checkpoint_every", "1"))
    err = capsys.readouterr().err
    assert "256/512 env steps" in err and "ETA" in err and "steps/s" in err
    assert "finished: 100% 512/512 env steps" in err
    assert "Epoch 0" not in err and "it/s" not in err  # not Lightning's per-epoch 1/1 bar
    train(tiny(tmp_path / "run", "--trainer.max_epochs", "4", "--checkpoint_every", "1"))
    err = capsys.readouterr().err
    assert "[train]  50% 512/1,024 env steps" in err  # the resumed run starts where the checkpoint left off
    assert "finished: 100% 1,024/1,024 env steps" in err


@pytest.mark.xdist_group("training")
def test_enable_progress_bar_false_prints_no_bar_and_a_users_model_checkpoint_is_kept(tmp_path, capfd):
    user_dir = tmp_path / "user_ckpts"
    args = ["--config", TINY, "--config", str(_callback_yaml(tmp_path, user_dir)), "--trainer.default_root_dir",
            str(tmp_path / "run"), "--trainer.enable_model_summary", "false", "--artifacts", "false",
            "--trainer.max_epochs", "2", "--trainer.enable_progress_bar", "false"]
    train(args)
    out, err = capfd.readouterr()
    assert "env steps" not in out + err and "[train]" not in out + err and "it/s" not in out + err
    assert sorted(p.name for p in user_dir.iterdir()) == ["user-epoch=0.ckpt", "user-epoch=1.ckpt"]
    assert (tmp_path / "run" / "checkpoints" / "last.ckpt").is_file()  # ours still runs next to it


def _callback_yaml(tmp_path: Path, user_dir: Path) -> Path:
    path = tmp_path / "callbacks.yaml"
    path.write_text(f"""trainer:
  callbacks:
    - class_path: lightning.pytorch.callbacks.ModelCheckpoint
      init_args:
        dirpath: {user_dir}
        filename: "user-{{epoch}}"
        every_n_epochs: 1
        save_top_k: -1
""")
    return path


def test_progress_bar_on_a_terminal_redraws_one_line_with_total_and_eta(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    stream = io.StringIO()
    bar = RunProgress(stream=stream, terminal=True)
    module = SimpleNamespace(frames_per_iteration=100_000, num_iterations=lambda world_size: 10)
    trainer = SimpleNamespace(is_global_zero=True, world_size=2, max_epochs=None, current_epoch=3, callback_metrics={})
    bar.on_train_start(trainer, module)
    assert bar.total == 2_000_000 and bar.done == 600_000  # resumed after 3 of 10 iterations, 2 ranks
    for epoch, ret in ((3, 1.5), (4, 2.5)):
        trainer.current_epoch = epoch
        trainer.callback_metrics = {"env_steps": torch.tensor(float((epoch + 1) * 200_000)),
                                    "train/return": torch.tensor(ret), "train/success": torch.tensor(0.25),
                                    "train/episodes": torch.tensor(3.0)}
        bar.on_train_epoch_end(trainer, module)
    bar.on_train_end(trainer, module)
    text = stream.getvalue()
    assert text.count("\r") >= 3 and text.endswith("\n") and text.count("\n") == 1
    last = text.split("\r")[-1]
    assert "50% 1.00M/2.00M env steps" in last and "ETA" in last and "return 2.50" in last and "success 0.25" in last
    assert "▕██████████░░░░░░░░░░▏" in last
    monkeypatch.setenv("COLUMNS", "60")
    bar.on_train_epoch_end(trainer, module)
    assert len(stream.getvalue().split("\r")[-1].rstrip()) <= 59  # never wider than the terminal
