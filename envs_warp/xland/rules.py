"""Production rules (stage: rules): every step, the level's rules in order turn tiles into their product.

One ``wp.func`` per env thread; the loop stops at the row's own rule count (padding is never visited).
A rule code is ``(id, a, b, c)`` with packed tiles: for the one-tile rules ``a`` is the input and ``b``
the product; for the two-tile rules ``a``/``b`` are the inputs and ``c`` the product. Semantics follow
``xminigrid.core.rules`` 0.9.3 exactly:

- ``agent_hold`` (1): on pick-up, a pocket equal to ``a`` becomes ``b``.
- ``agent_near`` (2): on forward, every 4-neighbour of the agent equal to ``a`` becomes ``b``.
- ``tile_near`` (3): on put-down, if the tile at the put-down cell is ``a`` (``b``) and a 4-neighbour is
  ``b`` (``a``), that neighbour becomes the product and the put-down cell becomes black floor (each
  neighbour is tested against the tile the cell held before the rule).
- ``tile_near_{up,right,down,left}`` (4–7): as ``tile_near`` but ``b`` must lie in that direction from ``a``.
- ``agent_near_{up,right,down,left}`` (8–11): on forward or put-down, the agent's neighbour in that
  direction, if equal to ``a``, becomes ``b``.
"""
from __future__ import annotations

import warp as wp

from .constants import W_FLOOR_BLACK, cell_at, dir_dx, dir_dy, set_cell

wp.set_module_options({"enable_backward": False})


@wp.func
def fire_tile_pair(grid: wp.array3d(dtype=wp.uint8), env: int, py: int, px: int, center: int, d: int, want_center: int,
                   want_near: int, product: int) -> int:
    """If the cell held ``want_center`` and its neighbour in direction ``d`` is ``want_near``: product there, floor here; 1 if fired."""
    ny = py + dir_dy(d)
    nx = px + dir_dx(d)
    if center == want_center and cell_at(grid, env, ny, nx) == want_near:
        set_cell(grid, env, ny, nx, product)
        set_cell(grid, env, py, px, W_FLOOR_BLACK)
        return 1
    return 0


@wp.func
def apply_rules(rule_code: wp.array3d(dtype=wp.int32), num_rules: int, grid: wp.array3d(dtype=wp.uint8), env: int,
                action: int, py: int, px: int, ay: int, ax: int, pocket: int) -> wp.vec2i:
    """Apply the row's first ``num_rules`` rules in order; returns (new pocket, rules that fired)."""
    fired = int(0)
    held = int(pocket)
    if action != 0 and action != 3 and action != 4:
        return wp.vec2i(held, 0)  # turns and toggles trigger no rule
    for i in range(num_rules):
        rid = rule_code[env, i, 0]
        a = rule_code[env, i, 1]
        b = rule_code[env, i, 2]
        c = rule_code[env, i, 3]
        if rid == 1:
            if action == 3 and held == a:
                held = b
                fired += 1
        elif rid == 2:
            if action == 0:
                for d in range(4):
                    ny = ay + dir_dy(d)
                    nx = ax + dir_dx(d)
                    if cell_at(grid, env, ny, nx) == a:
                        set_cell(grid, env, ny, nx, b)
                        fired += 1
        elif rid == 3:
            if action == 4:
                center = cell_at(grid, env, py, px)
                if center == a or center == b:
                    for d in range(4):
                        nb = cell_at(grid, env, py + dir_dy(d), px + dir_dx(d))
                        if (center == a and nb == b) or (center == b and nb == a):
                            set_cell(grid, env, py + dir_dy(d), px + dir_dx(d), c)
                            set_cell(grid, env, py, px, W_FLOOR_BLACK)
                            fired += 1
        elif rid >= 4 and rid <= 7:
            if action == 4:
                side = rid - 4  # b lies in direction `side` from a
                center = cell_at(grid, env, py, px)
                fired += fire_tile_pair(grid, env, py, px, center, (side + 2) % 4, b, a, c)
                fired += fire_tile_pair(grid, env, py, px, center, side, a, b, c)
        elif rid >= 8 and rid <= 11:
            if action == 0 or action == 4:
                side = rid - 8
                sy = ay + dir_dy(side)
                sx = ax + dir_dx(side)
                if cell_at(grid, env, sy, sx) == a:
                    set_cell(grid, env, sy, sx, b)
                    fired += 1
    return wp.vec2i(held, fired)
