"""Step-by-step agreement with XLand-MiniGrid (runs only where ``ADA_XMINIGRID_PYTHON`` names its interpreter).

The peer is driven in a subprocess (``benchmarks/peers/xminigrid_*.py``); nothing here imports jax.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from envs_warp.xland.config import REGISTERED_SIZES, XLandConfig
from envs_warp.xland.constants import DOOR_CLOSED, WALL
from envs_warp.xland.env import XLandEnv

ROOT = Path(__file__).resolve().parents[2]
PEER = os.environ.get("ADA_XMINIGRID_PYTHON")
pytestmark = pytest.mark.skipif(not PEER, reason="set ADA_XMINIGRID_PYTHON to an interpreter with xminigrid 0.9.3")
FIELDS = ("grid", "pos", "dir", "pocket", "reward", "terminated", "truncated", "obs")


@pytest.mark.parametrize("source", ["samples", "ours"])
def test_grids_pockets_rewards_and_dones_match_step_by_step(source, tmp_path):
    out = tmp_path / "parity.json"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "xland_parity.py"), "--peer-python", PEER,
                    "--layouts", "R1-9x9", "R4-13x13", "R9-16x16", "--presets", "small", "high", "--source", source,
                    "--envs", "32", "--steps", "120", "--segments", "2", "--out", str(out)], check=True, cwd=ROOT)
    rows = json.loads(out.read_text())["rows"]
    assert len(rows) == 6
    for row in rows:
        assert all(row[f"{f}_mismatch"] == 0 for f in FIELDS), row
        assert row["row_steps"] > 6000
    assert sum(r["rule_firings"] for r in rows) > 20, "too few rule firings to mean anything"


def test_layouts_match_the_peer_walls_doors_and_door_cells(tmp_path):
    names = [f"{k}-{s}x{s}" for k, sizes in REGISTERED_SIZES.items() for s in sizes]
    out = tmp_path / "layouts.npz"
    subprocess.run([PEER, str(ROOT / "benchmarks" / "peers" / "xminigrid_replay.py"), "--layouts", *names, "--count",
                    "512", "--output", str(out)], check=True, env={**os.environ, "JAX_PLATFORMS": "cpu"})
    peer = np.load(out)
    for name in names:
        kind, size = name.split("-")
        h = int(size.split("x")[0])
        env = XLandEnv(XLandConfig(layout=kind, height=h, width=h), num_envs=512, seed=0)
        env.reset()
        ours_tile = (env.grid >> 4).numpy()
        theirs_tile = peer[name][..., 0]
        structure = lambda t: (t == WALL) | (t == DOOR_CLOSED)  # noqa: E731
        assert np.array_equal(structure(ours_tile)[0], structure(theirs_tile)[0]), name
        door_cells = lambda t: set(map(tuple, np.argwhere(t == DOOR_CLOSED)[:, 1:].tolist()))  # noqa: E731
        assert door_cells(ours_tile) == door_cells(theirs_tile), f"{name}: door cells differ"
        ours_doors = (ours_tile == DOOR_CLOSED).reshape(512, -1).sum(1)
        assert np.array_equal(ours_doors, (theirs_tile == DOOR_CLOSED).reshape(512, -1).sum(1)), name
        colours = lambda g: set(g[..., 1][g[..., 0] == DOOR_CLOSED].tolist())  # noqa: E731
        assert colours(env.unpacked_grid().numpy()) == colours(peer[name]), f"{name}: door colours differ"
