"""The adaptation experiment end to end at smoke scale: every core trains, plays 13 trials on held-out levels."""
from __future__ import annotations

import json

import pytest

from tests.experiments import load_script


@pytest.mark.xdist_group("training")
def test_smoke_adaptation_trains_every_core_and_writes_the_per_trial_table_and_plot(tmp_path):
    script = load_script("adaptation")
    results = script.main(["--scale", "smoke", "--out", str(tmp_path)])
    assert list(results["cores"]) == ["trxl", "gru", "mlp"]
    for core, entry in results["cores"].items():
        rows = entry["rows"]
        assert [r["trial"] for r in rows] == list(range(1, 14))
        for r in rows:
            assert 0.0 <= r["success_mean"] <= 1.0 and r["score_p20"] <= r["score_median"] + 1e-9
            assert r["score_mean"] != 0.0, f"{core}: trial {r['trial']} was never played (a time penalty each step)"
        assert (tmp_path / "seed0" / core / "checkpoints" / "last.ckpt").is_file()
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["trained_k_max"] == 6 and saved["held_out_seed"] == [script.HELD_OUT_SEED]
    table = (tmp_path / "adaptation.md").read_text()
    assert table.count("\n") == 2 + 13 and "trxl success | trxl mean" in table
    assert (tmp_path / "score_by_trial.png").stat().st_size > 1000
