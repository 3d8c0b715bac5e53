"""Parity with Kinetix under every single-channel action script (runs only where a Kinetix interpreter is named).

Set ``ADA_KINETIX_PYTHON`` to an interpreter with ``kinetix-env`` 3.0.2 installed (e.g.
``~/peers/kinetix/bin/python``). The full 74-level table is ``benchmarks/kinetix_parity.py``; this test
checks the S and M levels (34 levels, every script that drives something: about 10 minutes on 2 shared
CPU cores, mostly JAX compiling the peer).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PEER = os.environ.get("ADA_KINETIX_PYTHON")


@pytest.mark.skipif(not PEER, reason="set ADA_KINETIX_PYTHON to an interpreter with kinetix-env installed to compare")
def test_outcomes_end_steps_and_joint_trajectories_match_kinetix(tmp_path):
    out = tmp_path / "parity.json"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "kinetix_parity.py"), "--peer-python", PEER,
                    "--sizes", "s", "m", "--out", str(out)], check=True, cwd=ROOT)
    table = {e["group"]: e for e in json.loads(out.read_text())["meta"]["table"]}
    total = table["all"]
    assert total["runs"] >= 100  # noop plus every motor direction and thruster that the levels use
    # issue targets: 97 % and 95 %; with Jax2D's contact manifolds and order every run agreed when measured
    assert total["outcome_agree"] >= 0.99 * total["runs"]
    assert total["step_within_10pct"] >= 0.97 * total["ended_both"]
    for group in table.values():  # joint angles and positions follow Jax2D's over the first 20 steps
        assert group["angle_err_p90_20"] < 0.01 and group["pos_err_p90_20"] < 0.01, group["group"]
    assert total["ours_nonfinite"] == 0
