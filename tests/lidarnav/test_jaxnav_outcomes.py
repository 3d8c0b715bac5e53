"""Outcome rates of scripted policies agree with JaxNav for both presets (runs only where a JaxNav interpreter is named)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PEER = os.environ.get("ADA_JAXNAV_PYTHON")


@pytest.mark.skipif(not PEER, reason="set ADA_JAXNAV_PYTHON to an interpreter with jaxmarl installed to compare")
def test_turn_to_goal_and_random_outcome_rates_match_jaxnav_for_both_presets(tmp_path):
    out = tmp_path / "outcomes.json"  # slow: the JaxNav side took about 40 min on 2 shared CPU cores
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "jaxnav_outcomes.py"), "--episodes", "1024",
                    "--agents", "1", "4", "--out", str(out)], check=True, cwd=ROOT)
    rows = json.loads(out.read_text())["rows"]
    assert {(r["preset"], r["agents"], r["policy"]) for r in rows} == {
        (p, a, q) for p in ("jaxnav", "jaxnav_paper") for a in (1, 4) for q in ("random", "turn_to_goal")}
    for r in rows:
        where = f"{r['preset']} {r['agents']} robot(s) {r['policy']}"
        assert r["ours"]["running"] == 0.0 and r["jaxnav"]["running"] == 0.0, where  # every episode ended
        # 1024 episodes a side: 3 standard errors of a rate difference is 6.6 points
        assert r["max_rate_diff_points"] <= 3 * r["diff_standard_error_points"], where
        assert abs(r["ours"]["mean_length"] - r["jaxnav"]["mean_length"]) <= 0.15 * r["jaxnav"]["mean_length"], where
    # the presets differ where the issue says they do: the paper's maps are harder for the greedy policy
    ttg = {(r["preset"], r["agents"]): r for r in rows if r["policy"] == "turn_to_goal"}
    for side in ("ours", "jaxnav"):
        assert ttg["jaxnav_paper", 1][side]["goal"] < ttg["jaxnav", 1][side]["goal"] - 0.15
