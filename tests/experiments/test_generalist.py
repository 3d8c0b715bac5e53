"""The generalist experiment end to end at smoke scale: SFL and uniform train with zero-shot curves; fine-tuning runs."""
from __future__ import annotations

import json

import pytest

from tests.kinetix_levels import needs_kinetix_levels
from tests.experiments import load_script


@pytest.mark.xdist_group("training")
@needs_kinetix_levels
def test_smoke_generalist_trains_both_methods_evaluates_zero_shot_and_finetunes(tmp_path):
    script = load_script("generalist")
    results = script.main(["--scale", "smoke", "--out", str(tmp_path)])
    per_segment = 8 * 8
    for method in ("sfl", "uniform"):
        curve = results["zero_shot"][method]
        assert [c["env_steps"] for c in curve] == [0, per_segment, 2 * per_segment]
        assert all(0.0 <= c[size] <= 1.0 for c in curve for size in ("S", "M", "L", "ALL"))
        assert (tmp_path / method / "zero_shot" / str(2 * per_segment) / "zero_shot.md").is_file()
    tuned = results["finetune"]["m/h18_thrust_right_very_easy"]
    assert tuned["levels"] == ["m/h18_thrust_right_very_easy"] and {"zero_shot", "finetune", "scratch"} <= set(tuned)
    assert (tmp_path / "zero_shot.png").is_file()
    assert (tmp_path / "finetune" / "m_h18_thrust_right_very_easy" / "curves.png").is_file()
    assert json.loads((tmp_path / "results.json").read_text())["budget"] == 2 * per_segment
    # the same command again reads every zero-shot table back and neither trains nor evaluates again
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("zero_shot.json")}
    again = script.main(["--scale", "smoke", "--out", str(tmp_path), "--no-finetune"])
    assert again["zero_shot"] == results["zero_shot"]
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("zero_shot.json")} == before
