"""Rooms, doors and placement at reset: XLand-MiniGrid's R1–R9 layouts at their registered sizes."""
from __future__ import annotations

import pytest
import torch

from envs_warp.xland.config import REGISTERED_SIZES, XLandConfig, wall_mask
from envs_warp.xland.constants import DOOR_CLOSED, DOOR_COLORS, FLOOR, WALL
from envs_warp.xland.env import XLandEnv

DOORS = {"R1": 0, "R2": 1, "R4": 4, "R6": 6, "R9": 12}
CASES = [(k, s) for k, sizes in REGISTERED_SIZES.items() for s in sizes]


@pytest.mark.parametrize("layout,size", CASES)
def test_walls_doors_objects_and_agent_at_reset(layout, size):
    env = XLandEnv(XLandConfig(layout=layout, height=size, width=size, benchmark="high"), num_envs=8, seed=size)
    env.reset()
    tile, color = env.grid >> 4, env.grid & 15  # [N, H, W]
    doors = tile == DOOR_CLOSED
    expected = torch.from_numpy(wall_mask(layout, size, size))
    assert torch.equal((tile == WALL) | doors, expected.expand_as(doors)), "walls and doors differ from the layout"
    assert doors.flatten(1).sum(1).eq(DOORS[layout]).all(), "door count"
    assert set(color[doors].tolist()) <= set(DOOR_COLORS)
    placed = ~expected & (tile != FLOOR)  # [N, H, W] objects on the floor
    for row in range(8):
        want = sorted(tuple(t) for t in env.levels["init_tiles"][row].tolist() if t != [0, 0])
        got = sorted(zip(tile[row][placed[row]].tolist(), color[row][placed[row]].tolist()))
        assert got == want, "every initial object placed exactly once"
        y, x = env.pos[row].tolist()
        assert int(tile[row, y, x]) == FLOOR, "the agent stands on free floor"
    assert len({tuple(p) for p in env.pos.tolist()}) > 1 and len(set(env.direction.tolist())) > 1


def test_door_cells_stay_on_their_walls_and_vary_between_resets():
    env = XLandEnv(XLandConfig(layout="R4", height=13, width=13), num_envs=64, seed=1)
    env.reset()
    doors = (env.grid >> 4) == DOOR_CLOSED  # [N, 13, 13]
    ys, xs = doors.nonzero()[:, 1], doors.nonzero()[:, 2]
    on_cross = (ys == 6) | (xs == 6)
    assert on_cross.all() and ((ys > 0) & (ys < 12) & (xs > 0) & (xs < 12)).all()
    assert len(set(zip(ys.tolist(), xs.tolist()))) > 10, "door cells do not vary"
