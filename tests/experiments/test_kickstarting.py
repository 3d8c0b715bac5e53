"""The kickstarting and scaling experiments end to end at smoke scale: every run trains, is evaluated, is tabled."""
from __future__ import annotations

import json

import pytest

from ada.artifacts import read_metrics
from tests.experiments import load_script


@pytest.mark.xdist_group("training")
def test_smoke_kickstarting_trains_teacher_and_three_students_and_writes_the_table(tmp_path):
    results = load_script("kickstarting").main(["--scale", "smoke", "--out", str(tmp_path)])
    assert set(results[0]) == {"teacher", "scratch", "kickstarted", "same_size"}
    for name, entry in results[0].items():
        assert 0.0 <= entry["success"] <= 1.0 and entry["curve"], name
    # the kickstarted students distilled with the scheduled weight (1 while held, then decaying to 0) ...
    for arm in ("kickstarted", "same_size"):
        weights = [w for _, w in sorted(read_metrics(tmp_path / f"{arm}_s0" / "logs" / "version_0" /
                                                     "metrics.csv")["loss/distill_weight"])]
        assert weights[0] == 1.0 and weights[-1] == 0.0 and weights == sorted(weights, reverse=True), weights
    # ... and the student trained from scratch did not
    assert "loss/distill_weight" not in read_metrics(tmp_path / "scratch_s0" / "logs" / "version_0" / "metrics.csv")
    assert "| kickstarted |" in (tmp_path / "table.md").read_text() and (tmp_path / "curves.png").is_file()
    assert json.loads((tmp_path / "results.json").read_text())["scale"] == "smoke"


@pytest.mark.xdist_group("training")
def test_smoke_scaling_sweeps_sizes_and_memory_lengths_and_plots_them(tmp_path):
    results = load_script("scaling").main(["--scale", "smoke", "--out", str(tmp_path)])
    params = [runs[0]["params"] for runs in results["size"].values()]
    assert params == sorted(params) and params[0] < params[1], "sizes do not grow"
    assert list(results["memory"]) == ["4", "8"]
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["trials"] == 2 and (tmp_path / "size.png").is_file() and (tmp_path / "memory.png").is_file()
    from ada.checkpoint import load_module

    memory_run = load_module(tmp_path / "memory_8_s0" / "checkpoints" / "last.ckpt")
    assert memory_run.policy_cfg.memory_len == 8 and memory_run.env_cfg.trials.k_min == 2
