"""Goal checks (stage: goals): whether the step just taken achieved the row's goal, after the rules ran.

A goal code is ``(id, a, b, y, x)``: packed tiles ``a``/``b`` and, for the position goals, the cell.
Semantics follow ``xminigrid.core.goals`` 0.9.3 exactly (``p`` is the cell the action acted on: the
agent's cell after forward or a turn, the cell in front for pick-up, put-down and toggle):

- ``agent_hold`` (1): on pick-up, the pocket is ``a``.  ``agent_on_tile`` (2): on forward, the agent
  stands on ``a``.  ``agent_near`` (3): on forward, a 4-neighbour of the agent is ``a``.
- ``tile_near`` (4): on put-down, the tile at ``p`` is ``a`` with a ``b`` neighbour, or is ``b`` with an
  ``a`` neighbour.  ``tile_near_{up,right,down,left}`` (7–10): on put-down, ``b`` lies in that
  direction from ``a``, one of them at ``p``.
- ``tile_on_position`` (5): cell (y, x) holds ``a`` (any action).  ``agent_on_position`` (6): the
  agent is at (y, x) (any action).
- ``agent_near_{up,right,down,left}`` (11–14): on forward or put-down, the agent's neighbour in that
  direction is ``a``.
"""
from __future__ import annotations

import warp as wp

from .constants import cell_at, dir_dx, dir_dy

wp.set_module_options({"enable_backward": False})


@wp.func
def any_neighbour(grid: wp.array3d(dtype=wp.uint8), env: int, y: int, x: int, tile: int) -> bool:
    """Whether one of the four neighbours of (y, x) is ``tile``."""
    hit = bool(False)
    for d in range(4):
        if cell_at(grid, env, y + dir_dy(d), x + dir_dx(d)) == tile:
            hit = True
    return hit


@wp.func
def goal_reached(goal_code: wp.array2d(dtype=wp.int32), grid: wp.array3d(dtype=wp.uint8), env: int, action: int,
                 py: int, px: int, ay: int, ax: int, pocket: int) -> bool:
    """Whether the row's goal holds after the action and the rules of this step."""
    gid = goal_code[env, 0]
    a = goal_code[env, 1]
    b = goal_code[env, 2]
    ok = bool(False)
    if gid == 1:
        ok = action == 3 and pocket == a
    elif gid == 2:
        ok = action == 0 and cell_at(grid, env, ay, ax) == a
    elif gid == 3:
        ok = action == 0 and any_neighbour(grid, env, ay, ax, a)
    elif gid == 4:
        if action == 4:
            center = cell_at(grid, env, py, px)
            if center == a:
                ok = any_neighbour(grid, env, py, px, b)
            elif center == b:
                ok = any_neighbour(grid, env, py, px, a)
    elif gid == 5:
        gy = wp.clamp(goal_code[env, 3], 0, grid.shape[1] - 1)  # xminigrid's gather clamps indices
        gx = wp.clamp(goal_code[env, 4], 0, grid.shape[2] - 1)
        ok = cell_at(grid, env, gy, gx) == a
    elif gid == 6:
        ok = ay == goal_code[env, 3] and ax == goal_code[env, 4]
    elif gid >= 7 and gid <= 10:
        if action == 4:
            side = gid - 7  # b lies in direction `side` from a
            center = cell_at(grid, env, py, px)
            back = (side + 2) % 4
            below_a = cell_at(grid, env, py + dir_dy(back), px + dir_dx(back)) == a
            above_b = cell_at(grid, env, py + dir_dy(side), px + dir_dx(side)) == b
            ok = (center == b and below_a) or (center == a and above_b)
    elif gid >= 11 and gid <= 14:
        if action == 0 or action == 4:
            side = gid - 11
            ok = cell_at(grid, env, ay + dir_dy(side), ax + dir_dx(side)) == a
    return ok
