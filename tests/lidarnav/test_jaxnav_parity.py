"""Parity with JaxNav on the same levels and actions (runs only where a JaxNav interpreter is named)."""
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
def test_observations_rewards_and_episode_ends_match_jaxnav(tmp_path):
    out = tmp_path / "parity.json"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "jaxnav_parity.py"), "--levels", "8", "--steps", "80",
                    "--agents", "1", "2", "--out", str(out)], check=True, cwd=ROOT)
    for row in json.loads(out.read_text()):
        assert row["episode_end_step_agree"] == 1.0
        assert row["pos_max_err_m"] < 1e-4
        assert row["lidar_beams_within_1mm"] > 0.999
        assert row["reward_within_1e-4"] > 0.999
