"""Shared Warp geometry of the lidar navigation world: angles, grid occupancy, robot-shape overlap tests.

Used by level generation (clearances), dynamics (collisions) and the lidar (grid lookups); grid and
shape conventions are in :mod:`.params`.
"""
from __future__ import annotations

import warp as wp

from .params import NavParams

wp.set_module_options({"enable_backward": False})


@wp.func
def wrap_angle(a: float) -> float:
    """Angle folded into [-π, π) the way JaxNav does (one fold each side)."""
    out = float(a)
    if a >= wp.pi:
        out = a - 2.0 * wp.pi
    if a < -wp.pi:
        out = a + 2.0 * wp.pi
    return out


@wp.func
def is_wall(walls: wp.array3d(dtype=wp.uint8), env: int, x: int, y: int, p: NavParams) -> bool:
    """Occupancy of cell (x, y); outside the grid is wall."""
    if x < 0 or y < 0 or x >= p.width or y >= p.height:
        return True
    return walls[env, y, x] != wp.uint8(0)


@wp.func
def square_hits_cell(c: wp.vec2, hd: wp.vec2, h: float, q: wp.vec2, hc: float) -> bool:
    """Separating-axis test of a square (centre c, heading unit vector hd, half side h) against an axis-aligned cell (centre q, half side hc); touching counts."""
    u = hd
    v = wp.vec2(-hd[1], hd[0])
    d = c - q
    ext_x = h * (wp.abs(u[0]) + wp.abs(v[0]))
    ext_y = h * (wp.abs(u[1]) + wp.abs(v[1]))
    if wp.abs(d[0]) > hc + ext_x:
        return False
    if wp.abs(d[1]) > hc + ext_y:
        return False
    if wp.abs(wp.dot(d, u)) > h + hc * (wp.abs(u[0]) + wp.abs(u[1])):
        return False
    if wp.abs(wp.dot(d, v)) > h + hc * (wp.abs(v[0]) + wp.abs(v[1])):
        return False
    return True


@wp.func
def circle_hits_cell(c: wp.vec2, r: float, x: int, y: int, cell: float) -> bool:
    """Whether a circle touches the axis-aligned cell (x, y)."""
    lo = wp.vec2(float(x) * cell, float(y) * cell)
    closest = wp.vec2(wp.clamp(c[0], lo[0], lo[0] + cell), wp.clamp(c[1], lo[1], lo[1] + cell))
    return wp.length(closest - c) <= r


@wp.func
def circle_hits_map(walls: wp.array3d(dtype=wp.uint8), env: int, c: wp.vec2, r: float, p: NavParams) -> bool:
    """Whether a circle of radius r [m] at c touches any occupied cell."""
    x0 = int(wp.floor((c[0] - r) / p.cell))
    x1 = int(wp.floor((c[0] + r) / p.cell))
    y0 = int(wp.floor((c[1] - r) / p.cell))
    y1 = int(wp.floor((c[1] + r) / p.cell))
    hit = bool(False)
    for y in range(y0, y1 + 1):
        for x in range(x0, x1 + 1):
            if is_wall(walls, env, x, y, p):
                if circle_hits_cell(c, r, x, y, p.cell):
                    hit = True
    return hit


@wp.func
def robot_hits_map(walls: wp.array3d(dtype=wp.uint8), env: int, c: wp.vec2, hd: wp.vec2, p: NavParams) -> bool:
    """Whether the robot's body at centre c with heading unit vector hd touches an occupied cell."""
    if p.square == 0:
        return circle_hits_map(walls, env, c, p.rad, p)
    reach = p.half_side * 1.4142136
    x0 = int(wp.floor((c[0] - reach) / p.cell))
    x1 = int(wp.floor((c[0] + reach) / p.cell))
    y0 = int(wp.floor((c[1] - reach) / p.cell))
    y1 = int(wp.floor((c[1] + reach) / p.cell))
    hc = 0.5 * p.cell
    hit = bool(False)
    for y in range(y0, y1 + 1):
        for x in range(x0, x1 + 1):
            if is_wall(walls, env, x, y, p):
                q = wp.vec2((float(x) + 0.5) * p.cell, (float(y) + 0.5) * p.cell)
                if square_hits_cell(c, hd, p.half_side, q, hc):
                    hit = True
    return hit


@wp.func
def squares_overlap(a: wp.vec2, ha: wp.vec2, b: wp.vec2, hb: wp.vec2, h: float) -> bool:
    """Separating-axis test between two squares of half side h with heading unit vectors ha, hb; touching counts."""
    d = b - a
    ua = ha
    va = wp.vec2(-ha[1], ha[0])
    ub = hb
    vb = wp.vec2(-hb[1], hb[0])
    overlap = bool(True)
    for k in range(4):
        axis = wp.vec2(ua)
        if k == 1:
            axis = va
        elif k == 2:
            axis = ub
        elif k == 3:
            axis = vb
        ra = h * (wp.abs(wp.dot(ua, axis)) + wp.abs(wp.dot(va, axis)))
        rb = h * (wp.abs(wp.dot(ub, axis)) + wp.abs(wp.dot(vb, axis)))
        if wp.abs(wp.dot(d, axis)) > ra + rb:
            overlap = False
    return overlap
