"""The curriculum comparison experiment end to end at smoke scale: every method trains, resumes, is compared."""
from __future__ import annotations

import json

import pytest

from tests.experiments import load_script


@pytest.mark.xdist_group("training")
def test_smoke_comparison_trains_every_method_on_both_settings_and_writes_tables(tmp_path):
    script = load_script("curriculum_comparison")
    results = script.main(["--scale", "smoke", "--out", str(tmp_path)])
    for setting in ("lidarnav_1robot", "lidarnav_4robot"):
        methods = results[setting]["methods"]
        assert list(methods) == ["uniform", "sfl", "plr", "accel"]
        for name, entry in methods.items():
            assert set(entry["worst_alpha"]) == {"0.001", "0.01", "0.1", "1.0"}
            assert entry["held_out"] is not None
            assert (tmp_path / setting / name / "checkpoints" / "last.ckpt").is_file()
            assert 0.0 <= entry["robots_at_goal"] <= 1.0
            assert entry["robots_at_goal"] >= entry["mean_success"] - 1e-9  # all robots at goal implies the fraction
        table = (tmp_path / setting / "compare" / "compare.md").read_text()
        assert "| accel |" in table and (tmp_path / setting / "compare" / "worst_alpha.png").is_file()
        assert ("robots at goal" in table) == (setting == "lidarnav_4robot")
    saved = json.loads((tmp_path / "results.json").read_text())
    assert set(saved) == {"lidarnav_1robot", "lidarnav_4robot"}
    # the same command again finds every run finished and only re-evaluates
    again = script.main(["--scale", "smoke", "--out", str(tmp_path), "--settings", "lidarnav_1robot",
                         "--methods", "uniform"])
    assert again["lidarnav_1robot"]["methods"]["uniform"]["worst_alpha"] == \
        results["lidarnav_1robot"]["methods"]["uniform"]["worst_alpha"]
