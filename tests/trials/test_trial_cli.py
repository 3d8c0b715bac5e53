"""``ada eval --trials`` and ``ada compare --trials``: files, columns, values and one-line errors."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch

from ada.checkpoint import load_module
from ada.report import report
from ada.trial_eval import COLUMNS, outcomes_by_trial, summarise_by_trial
from ada.worlds import held_out_levels
from tests.ada.test_cli import run_main


def trial_checkpoint(path: Path, seed: int = 0, world: str = "lidarnav", **overrides) -> Path:
    """An untrained checkpoint (weights and config only) of a GRU agent trained with 2 trials per episode."""
    from ada import EnvConfig, PolicyConfig, PPOModule
    from ada.config import TrialConfig

    module = PPOModule(env=EnvConfig(world=world, num_envs=2, overrides=overrides, trials=TrialConfig(k_min=2)),
                       policy=PolicyConfig(hidden=16), seed=seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": module.state_dict(), "hyper_parameters": dict(module.hparams), "epoch": 0}, path)
    return path


run = run_main  # ``ada ...`` in this process: (exit code, stdout, stderr)


def test_eval_by_trial_writes_the_summary_of_the_rollouts_as_csv_json_and_plot(tmp_path, capsys):
    ckpt = trial_checkpoint(tmp_path / "run" / "checkpoints" / "last.ckpt", max_steps=12)
    code, out, err = run(["eval", "--ckpt", str(ckpt), "--trials", "3", "--attempts", "2", "--seed", "4",
                          "--device", "cpu"], capsys)
    assert code == 0, err
    folder = tmp_path / "run" / "eval"
    rows = json.loads((folder / "score_by_trial.json").read_text())
    with open(folder / "score_by_trial.csv") as handle:
        table = list(csv.DictReader(handle))
    assert list(table[0]) == list(COLUMNS) and [int(r["trial"]) for r in table] == [1, 2, 3]
    assert (folder / "score_by_trial.png").stat().st_size > 1000
    module = load_module(ckpt)
    levels, names = held_out_levels(module.env_cfg)
    expected = summarise_by_trial(outcomes_by_trial(module.env_cfg, module.model, levels, 3, 2, seed=4))
    assert rows == expected  # the same rollouts, reproducible from the seed
    for row, line in zip(rows, table):
        assert float(line["score_median"]) == pytest.approx(row["score_median"])
        assert int(line["episodes"]) == 2 * len(names)
    assert "| trial | mean | median | p20 | success |" in out and out.count("\n| ") == 3  # one line per trial
    assert "By trial index" in report(tmp_path / "run") and "| 3 |" in (folder / "summary.md").read_text()


def test_compare_by_trial_gives_one_table_and_one_plot_with_a_curve_per_run(tmp_path, capsys):
    a = trial_checkpoint(tmp_path / "a" / "checkpoints" / "last.ckpt", seed=0, max_steps=10)
    b = trial_checkpoint(tmp_path / "b" / "checkpoints" / "last.ckpt", seed=1, max_steps=10)
    code, out, err = run(["compare", "--runs", str(a.parents[1]), str(b.parents[1]), "--labels", "A", "B",
                          "--trials", "2", "--attempts", "1", "--device", "cpu", "--out", str(tmp_path / "cmp")],
                         capsys)
    assert code == 0, err
    result = json.loads((tmp_path / "cmp" / "score_by_trial.json").read_text())
    assert list(result["methods"]) == ["A", "B"] and result["trials"] == 2
    with open(tmp_path / "cmp" / "score_by_trial.csv") as handle:
        table = list(csv.DictReader(handle))
    assert [(r["method"], int(r["trial"])) for r in table] == [("A", 1), ("A", 2), ("B", 1), ("B", 2)]
    assert float(table[2]["score_mean"]) == pytest.approx(result["methods"]["B"][0]["score_mean"])
    assert result["methods"]["A"] != result["methods"]["B"]  # two different policies
    assert (tmp_path / "cmp" / "score_by_trial.png").exists() and (tmp_path / "cmp" / "score_by_trial.md").exists()
    assert "A median" in out and "B success" in out


@pytest.mark.parametrize("command", ["eval", "compare"])
def test_bad_trials_and_worlds_without_held_out_levels_are_one_line(command, tmp_path, capsys):
    ckpt = trial_checkpoint(tmp_path / "run" / "checkpoints" / "last.ckpt", max_steps=10)
    where = ["--ckpt", str(ckpt)] if command == "eval" else ["--runs", str(tmp_path / "run")]
    code, _, err = run([command, *where, "--trials", "0"], capsys)
    assert code == 2 and err.count("\n") == 0 and "--trials must be an integer >= 1" in err, err
    from tests.worlds import conftest  # noqa: F401  (the outside point-mass world, which has no held-out levels)

    other = trial_checkpoint(tmp_path / "pm" / "checkpoints" / "last.ckpt", world="pointmass_world:WORLD")
    where = ["--ckpt", str(other)] if command == "eval" else ["--runs", str(tmp_path / "pm")]
    code, _, err = run([command, *where, "--trials", "2", "--device", "cpu"], capsys)
    assert code == 2 and err.count("\n") == 0 and "held_out_levels" in err, err
