"""``ada finetune`` and ``ada eval`` on physics2d: checkpoint weights carried over, only levels and budget changed."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from lightning.pytorch.callbacks import Callback

from ada.checkpoint import load_module
from ada.cli import main, train
from ada.finetune import FinetuneConfig, run_finetune
from envs_warp.physics2d.generator import generate_levels
from tests.kinetix_levels import needs_kinetix_levels
from envs_warp.physics2d.levels import level_schema

ROOT = Path(__file__).resolve().parents[2]
CONFIG = str(ROOT / "experiments" / "configs" / "generalist" / "entity_tiny.yaml")


class FirstWeights(Callback):
    """The model's parameters when each run's first iteration starts."""

    def __init__(self) -> None:
        self.seen: list[dict[str, torch.Tensor]] = []

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        if trainer.current_epoch == 0:
            self.seen.append({k: v.detach().clone() for k, v in pl_module.model.state_dict().items()})


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("generalist") / "run"
    train(["--config", CONFIG, "--trainer.default_root_dir", str(run), "--trainer.max_epochs", "2",
           "--trainer.enable_progress_bar", "false", "--artifacts", "false"])
    return run / "checkpoints" / "last.ckpt"


def test_finetune_starts_from_the_checkpoint_and_changes_only_levels_and_budget(checkpoint, tmp_path):
    levels = generate_levels("s", 3, seed=123)
    level_file = tmp_path / "three.safetensors"
    level_schema("s").save(levels, level_file, ["a", "b", "c"])
    probe = FirstWeights()
    out = tmp_path / "ft"
    result = run_finetune(FinetuneConfig(ckpt=str(checkpoint), levels=str(level_file), env_steps=256, out=str(out),
                                     attempts=1), callbacks=[probe])
    source = load_module(checkpoint)
    assert len(probe.seen) == 2  # fine-tuned run, then scratch
    for key, value in source.model.state_dict().items():
        assert torch.equal(probe.seen[0][key], value), f"fine-tuning did not start from the checkpoint's {key}"
    assert any(not torch.equal(probe.seen[1][k], v) for k, v in source.model.state_dict().items())
    tuned = load_module(out / "finetune" / "checkpoints" / "last.ckpt")
    assert int(tuned.env_steps) == 256
    hp, old = dict(tuned.hparams), dict(source.hparams)
    assert hp["policy"] == old["policy"] and hp["seed"] == old["seed"]
    assert {k for k in hp["ppo"] if hp["ppo"][k] != old["ppo"][k]} == {"total_env_steps"}
    new_env = {k for k in hp["env"]["overrides"] if hp["env"]["overrides"][k] != old["env"]["overrides"].get(k)}
    assert new_env <= {"bank_path", "bank_size", "bank_noop_filter"} and hp["env"]["overrides"]["bank_size"] == 3
    assert hp["curriculum"]["method"] == "uniform"
    bank = level_schema("s").load(hp["env"]["overrides"]["bank_path"])
    assert torch.equal(bank["poly_position"], levels["poly_position"])  # the bank is exactly the chosen levels
    assert len(result["zero_shot"]) == len(result["finetune"]) == len(result["scratch"]) == 3
    assert (out / "curves.png").is_file()
    assert json.loads((out / "finetune.json").read_text())["levels"] == ["a", "b", "c"]


@needs_kinetix_levels
def test_ada_eval_reports_per_level_rates_on_the_held_out_levels(checkpoint, tmp_path, capsys):
    main(["eval", "--ckpt", str(checkpoint), "--attempts", "1", "--gifs", "0", "--out", str(tmp_path / "eval")])
    rows = json.loads((tmp_path / "eval" / "results.json").read_text())
    names = [r["level"] for r in rows]
    assert len(names) == 10 + 1 and names[-1] == "ALL" and all(n.startswith("s/") for n in names[:-1])
    assert all(0.0 <= r["success_rate"] <= 1.0 for r in rows)


@needs_kinetix_levels
def test_zero_shot_runs_every_held_out_level_at_its_own_size(checkpoint, tmp_path):
    from ada.zero_shot import evaluate_zero_shot

    result = evaluate_zero_shot(load_module(checkpoint), attempts=1, out_dir=tmp_path, gifs=1)
    sizes = result["sizes"]
    assert [sizes[s]["levels"] for s in ("S", "M", "L", "ALL")] == [10, 24, 40, 74]  # an entity policy runs all
    assert len(result["levels"]) == 74 and all(0.0 <= r["solve_rate"] <= 1.0 for r in result["levels"])
    assert sorted(p.name[0] for p in (tmp_path / "gifs").glob("*.gif")) == ["l", "m", "s"]
    assert "| L | 40 |" in (tmp_path / "zero_shot.md").read_text()


@needs_kinetix_levels
def test_ada_finetune_on_a_named_held_out_level_and_a_clear_error_for_an_unknown_one(checkpoint, tmp_path, capsys):
    out = tmp_path / "cli"
    main(["finetune", "--ckpt", str(checkpoint), "--levels", "held_out:m/arm_hard", "--env-steps", "256",
          "--no-scratch", "--attempts", "1", "--out", str(out)])
    result = json.loads((out / "finetune.json").read_text())
    assert result["levels"] == ["m/arm_hard"] and result["size"] == "m" and "scratch" not in result
    with pytest.raises(SystemExit) as stop:
        main(["finetune", "--ckpt", str(checkpoint), "--levels", "held_out:no_such_level", "--out", str(out)])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no_such_level" in err[0]
