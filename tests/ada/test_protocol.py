"""The SFL worst-α evaluation protocol: the statistic, the solvable level sample and ``ada compare``."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from ada.config import EnvConfig
from ada.protocol import solvable_eval_levels, worst_alpha, worst_count
from ada.worlds import random_levels, solvable_mask

ROOT = Path(__file__).resolve().parents[2]
TINY = str(ROOT / "experiments" / "configs" / "lidarnav_tiny.yaml")

# Ten levels with distinct pass-one rates; ascending pass one visits levels 3, 1, 7, 5, 9, 2, 8, 4, 0, 6.
PASS_ONE = np.array([0.9, 0.1, 0.5, 0.0, 0.7, 0.3, 1.0, 0.2, 0.6, 0.4])
PASS_TWO = np.array([0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 0.1, 0.3, 0.5, 0.7])


def test_worst_alpha_reports_pass_two_success_on_the_levels_pass_one_ranks_worst():
    result = worst_alpha(PASS_ONE, PASS_TWO, alphas=(0.001, 0.01, 0.1, 0.25, 0.3, 0.5, 1.0))
    # 0.1%, 1% and 10% of 10 levels all round up to one level: level 3 (pass one 0.0, pass two 0.6).
    assert result[0.001] == pytest.approx(0.6)
    assert result[0.01] == pytest.approx(0.6)
    assert result[0.1] == pytest.approx(0.6)
    assert result[0.25] == pytest.approx((0.6 + 0.2 + 0.3) / 3)  # ceil(2.5) = 3 levels: 3, 1, 7
    assert result[0.3] == pytest.approx((0.6 + 0.2 + 0.3) / 3)
    assert result[0.5] == pytest.approx((0.6 + 0.2 + 0.3 + 1.0 + 0.7) / 5)  # levels 3, 1, 7, 5, 9
    assert result[1.0] == pytest.approx(PASS_TWO.mean())
    # Reporting on pass one would have given the (biased) 0.0 for the worst level.
    assert worst_alpha(PASS_ONE, PASS_ONE, alphas=(0.1,))[0.1] == 0.0


def test_worst_alpha_takes_at_least_one_level_and_breaks_ties_by_level_index():
    assert worst_count(0.001, 10) == 1
    assert worst_count(0.1, 30) == 3  # 0.1 * 30 is 3.0000000000000004 in floats: still 3 levels
    assert worst_count(1.0, 7) == 7
    tied_one = np.array([0.5, 0.0, 0.0, 0.0, 1.0])
    tied_two = np.array([0.9, 0.1, 0.2, 0.3, 0.4])
    result = worst_alpha(tied_one, tied_two, alphas=(0.2, 0.4))
    assert result[0.2] == pytest.approx(0.1)  # of the tied levels 1, 2, 3 the first index wins
    assert result[0.4] == pytest.approx(0.15)  # levels 1 and 2


def test_worst_alpha_refuses_mismatched_passes_and_alphas_outside_zero_one():
    with pytest.raises(ValueError, match="shape"):
        worst_alpha(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="alpha"):
        worst_alpha(np.zeros(3), np.zeros(3), alphas=(0.0,))


def test_solvable_eval_levels_are_all_solvable_and_reproducible_from_the_seed():
    cfg = EnvConfig(world="lidarnav", overrides={"fill": 0.7})  # dense clutter: many random maps are unsolvable
    raw = random_levels(cfg, 64, seed=0)
    assert not bool(solvable_mask(cfg, raw).all()), "the raw distribution should include unsolvable maps"
    levels = solvable_eval_levels(cfg, 100, seed=11)
    assert levels.batch_size == torch.Size([100])
    assert bool(solvable_mask(cfg, levels).all())
    again = solvable_eval_levels(cfg, 100, seed=11)
    assert all(torch.equal(levels[k], again[k]) for k in levels.keys())
    other = solvable_eval_levels(cfg, 100, seed=12)
    assert not torch.equal(levels["walls"], other["walls"])


def test_solvable_eval_levels_raises_when_too_few_levels_are_solvable(monkeypatch):
    import ada.protocol

    monkeypatch.setattr(ada.protocol, "solvable_mask", lambda cfg, lv: torch.zeros(lv.batch_size[0], dtype=torch.bool))
    with pytest.raises(ValueError, match="solvable"):
        solvable_eval_levels(EnvConfig(world="lidarnav"), 8, seed=0, max_batches=3)


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory) -> list[Path]:
    """Two one-iteration lidarnav_tiny runs with different seeds."""
    from ada.cli import train

    root = tmp_path_factory.mktemp("compare_runs")
    runs = []
    for name, seed in (("alpha_run", "0"), ("beta_run", "1")):
        run = root / name
        train(["--config", TINY, "--trainer.default_root_dir", str(run), "--trainer.enable_progress_bar", "false",
               "--trainer.enable_model_summary", "false", "--artifacts", "false", "--trainer.max_epochs", "1",
               "--model.seed", seed])
        runs.append(run)
    return runs


@pytest.mark.xdist_group("training")
def test_compare_writes_tables_and_plot_for_two_checkpoints_on_the_same_levels(two_runs, tmp_path, capsys):
    from ada.cli import compare_main

    out = tmp_path / "cmp"
    results = compare_main(["--runs", *map(str, two_runs), "--labels", "SFL", "PLR", "--levels", "16",
                            "--attempts", "2", "--seed", "3", "--out", str(out), "--device", "cpu"])
    for name in ("compare.json", "compare.csv", "compare.md", "worst_alpha.png"):
        assert (out / name).is_file(), name
    table = (out / "compare.md").read_text()
    assert "| SFL |" in table and "| PLR |" in table
    assert "worst 0.1%" in table and "worst 100%" in table and "held-out" in table
    assert "| SFL |" in capsys.readouterr().out
    saved = json.loads((out / "compare.json").read_text())
    assert set(saved["methods"]) == {"SFL", "PLR"}
    for entry in saved["methods"].values():
        assert len(entry["pass_one"]) == len(entry["pass_two"]) == 16
        assert entry["worst_alpha"]["1.0"] == pytest.approx(np.mean(entry["pass_two"]))
        assert entry["held_out"] is not None and 0.0 <= entry["held_out"]["mean"] <= 1.0
    assert results["methods"]["SFL"]["worst_alpha"] == saved["methods"]["SFL"]["worst_alpha"]


@pytest.mark.xdist_group("training")
def test_compare_refuses_runs_from_different_worlds_naming_them(two_runs, tmp_path):
    from ada.cli import compare_main

    other = tmp_path / "other_world"
    (other / "checkpoints").mkdir(parents=True)
    state = torch.load(two_runs[1] / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    state["hyper_parameters"]["env"]["overrides"] = {**state["hyper_parameters"]["env"]["overrides"], "max_steps": 60}
    torch.save(state, other / "checkpoints" / "last.ckpt")
    with pytest.raises(ValueError, match=r"other_world differs from .*alpha_run in max_steps"):
        compare_main(["--runs", str(two_runs[0]), str(other), "--levels", "4", "--attempts", "1",
                      "--out", str(tmp_path / "cmp")])
