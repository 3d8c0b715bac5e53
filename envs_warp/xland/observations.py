"""Observations (stage: observations): the egocentric view, direction, pocket, and the task encoding.

Layout of one row's observation vector (offsets from :func:`envs_warp.xland.config.obs_layout`):

- view ``[V, V]`` cells, row-major, the agent at the bottom row's centre facing up (xminigrid's
  ``transparent_field_of_view``: no occlusion; cells off the grid are the empty tile). ``onehot``:
  25 floats per cell (tile one-hot 13 ⊕ colour one-hot 12); ``index``: 2 floats (tile, colour).
- direction one-hot ``[4]`` (up, right, down, left).
- pocket (optional, "carried item shown"): one cell's encoding.
- goal (optional): ``onehot``: id one-hot 15 ⊕ two tile pairs (25 each); ``index``: the 5 ints.
- rules (optional): per rule slot ``onehot``: id one-hot 12 ⊕ three tile pairs ⊕ hidden flag (88);
  ``index``: the 7 ints ⊕ hidden flag (8). A hidden rule reads as the empty rule with its flag set.

The task part (goal, rules) is written at reset only; the step rewrites view, direction and pocket.
"""
from __future__ import annotations

import warp as wp

from .constants import dir_dx, dir_dy

wp.set_module_options({"enable_backward": False})


@wp.struct
class ObsLayout:
    """Offsets and sizes of the observation parts (``-1`` offset: part absent)."""

    onehot: int  # 1: one-hot encodings, 0: raw indices
    view: int  # V, the view's side
    view_off: int
    dir_off: int
    pocket_off: int
    goal_off: int
    rules_off: int
    max_rules: int


@wp.func
def write_cell(obs: wp.array2d(dtype=float), env: int, off: int, onehot: int, cell: int) -> int:
    """Write one packed cell's encoding at ``off``; returns the next offset."""
    tile = cell >> 4
    color = cell & 15
    if onehot == 1:
        for k in range(25):
            obs[env, off + k] = 0.0
        obs[env, off + wp.min(tile, 12)] = 1.0
        obs[env, off + 13 + wp.min(color, 11)] = 1.0
        return off + 25
    obs[env, off] = float(tile)
    obs[env, off + 1] = float(color)
    return off + 2


@wp.func
def write_view(obs: wp.array2d(dtype=float), lay: ObsLayout, grid: wp.array3d(dtype=wp.uint8), env: int, y: int,
               x: int, d: int, pocket: int):
    """Egocentric view, direction one-hot and pocket of one row."""
    v = lay.view
    half = v // 2
    h = grid.shape[1]
    w = grid.shape[2]
    fy = dir_dy(d)  # one row of the view further ahead
    fx = dir_dx(d)
    ry = dir_dy((d + 1) % 4)  # one column further right
    rx = dir_dx((d + 1) % 4)
    off = lay.view_off
    for i in range(v):
        ahead = v - 1 - i
        cy = y + ahead * fy - half * ry  # the row's leftmost cell
        cx = x + ahead * fx - half * rx
        for j in range(v):
            cell = int(0)  # off the grid: the empty tile
            if cy >= 0 and cx >= 0 and cy < h and cx < w:
                cell = int(grid[env, cy, cx])
            if lay.onehot == 1:
                write_cell(obs, env, off, 1, cell)
                off += 25
            else:
                obs[env, off] = float(cell >> 4)
                obs[env, off + 1] = float(cell & 15)
                off += 2
            cy += ry
            cx += rx
    for k in range(4):
        obs[env, lay.dir_off + k] = wp.where(k == d, 1.0, 0.0)
    if lay.pocket_off >= 0:
        write_cell(obs, env, lay.pocket_off, lay.onehot, pocket)


@wp.func
def write_pair(obs: wp.array2d(dtype=float), env: int, off: int, onehot: int, first: int, second: int) -> int:
    """A (tile, colour)-like pair of raw ints: two one-hots (13 ⊕ 12, clamped) or two floats."""
    if onehot == 1:
        return write_cell(obs, env, off, 1, (wp.clamp(first, 0, 12) << 4) | wp.clamp(second, 0, 11))
    obs[env, off] = float(first)
    obs[env, off + 1] = float(second)
    return off + 2


@wp.func
def write_id(obs: wp.array2d(dtype=float), env: int, off: int, onehot: int, value: int, count: int) -> int:
    """An id as a one-hot over ``count`` or one float; returns the next offset."""
    if onehot == 1:
        for k in range(count):
            obs[env, off + k] = wp.where(k == value, 1.0, 0.0)
        return off + count
    obs[env, off] = float(value)
    return off + 1


@wp.func
def write_task(obs: wp.array2d(dtype=float), lay: ObsLayout, goal: wp.array2d(dtype=wp.uint8),
               rules: wp.array3d(dtype=wp.uint8), hidden: wp.array2d(dtype=wp.uint8), env: int):
    """Goal and rule encodings of one row (hidden rules masked), from the level's raw integers."""
    if lay.goal_off >= 0:
        off = write_id(obs, env, lay.goal_off, lay.onehot, int(goal[env, 0]), 15)
        off = write_pair(obs, env, off, lay.onehot, int(goal[env, 1]), int(goal[env, 2]))
        write_pair(obs, env, off, lay.onehot, int(goal[env, 3]), int(goal[env, 4]))
    if lay.rules_off >= 0:
        off = int(lay.rules_off)
        for r in range(lay.max_rules):
            masked = hidden[env, r] != wp.uint8(0)
            keep = wp.where(masked, 0, 1)
            off = write_id(obs, env, off, lay.onehot, keep * int(rules[env, r, 0]), 12)
            for p in range(3):
                off = write_pair(obs, env, off, lay.onehot, keep * int(rules[env, r, 1 + 2 * p]),
                                 keep * int(rules[env, r, 2 + 2 * p]))
            obs[env, off] = wp.where(masked, 1.0, 0.0)
            off = off + 1
