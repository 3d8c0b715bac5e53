"""Lidar stage of the lidar navigation world: ray casts against the wall grid and the other robots."""
from __future__ import annotations

import warp as wp

from .geometry import is_wall
from .params import NavParams

wp.set_module_options({"enable_backward": False})


@wp.func
def square_corner(c: wp.vec2, hd: wp.vec2, h: float, k: int) -> wp.vec2:
    """Corner k (0..3, counter-clockwise from (-h, -h)) of a square with heading unit vector hd."""
    lx = float(-h)
    ly = float(-h)
    if k == 1:
        lx = h
    elif k == 2:
        lx = h
        ly = h
    elif k == 3:
        ly = h
    return c + wp.vec2(hd[0] * lx - hd[1] * ly, hd[1] * lx + hd[0] * ly)


@wp.func
def ray_hits_segment(o: wp.vec2, d: wp.vec2, length: float, a: wp.vec2, b: wp.vec2) -> float:
    """Distance along the ray (o, unit d) to segment ab within ``length``, or -1."""
    e = b - a
    den = d[1] * e[0] - d[0] * e[1]
    if den == 0.0:
        return -1.0
    w = a - o
    t = (e[0] * w[1] - e[1] * w[0]) / den
    s = (d[0] * w[1] - d[1] * w[0]) / den
    if t < 0.0 or t > length or s < 0.0 or s > 1.0:
        return -1.0
    return t


@wp.func
def ray_hits_robot(o: wp.vec2, d: wp.vec2, length: float, c: wp.vec2, hd: wp.vec2, p: NavParams) -> float:
    """Distance along the ray to another robot's outline within ``length``, or -1."""
    # bounding-circle early-out: most beams pass far from most robots
    reach = p.rad
    if p.square == 1:
        reach = p.half_side * 1.4142136
    f = c - o
    tc = wp.dot(f, d)
    if tc < -reach or tc > length + reach or wp.dot(f, f) - tc * tc > reach * reach:
        return -1.0
    best = float(-1.0)
    if p.square == 1:
        c0 = square_corner(c, hd, p.half_side, 0)
        c1 = square_corner(c, hd, p.half_side, 1)
        c2 = square_corner(c, hd, p.half_side, 2)
        c3 = square_corner(c, hd, p.half_side, 3)
        for k in range(4):
            a = c0
            b = c1
            if k == 1:
                a = c1
                b = c2
            elif k == 2:
                a = c2
                b = c3
            elif k == 3:
                a = c3
                b = c0
            t = ray_hits_segment(o, d, length, a, b)
            if t >= 0.0 and (best < 0.0 or t < best):
                best = t
    else:
        g = o - c
        proj = wp.dot(g, d)
        cc = wp.dot(g, g) - p.rad * p.rad
        disc = proj * proj - cc
        if disc >= 0.0:
            t = -proj - wp.sqrt(disc)
            if t >= 0.0 and t <= length:
                best = t
    return best


@wp.func
def cast_grid(walls: wp.array3d(dtype=wp.uint8), env: int, o: wp.vec2, d: wp.vec2, p: NavParams) -> float:
    """Exact grid traversal: range [m] to the first occupied cell, or -1 if none within max_range.

    With ``p.quantise`` the range is the first JaxNav sample (spacing ``sample_spacing``) that lies
    inside an occupied cell, so thin corner cuts between samples are missed exactly as JaxNav's
    ray-marcher misses them.
    """
    x = int(wp.floor(o[0] / p.cell))
    y = int(wp.floor(o[1] / p.cell))
    step_x = int(1)
    step_y = int(1)
    t_max_x = float(1.0e30)
    t_max_y = float(1.0e30)
    t_delta_x = float(1.0e30)
    t_delta_y = float(1.0e30)
    if d[0] > 0.0:
        t_max_x = ((float(x) + 1.0) * p.cell - o[0]) / d[0]
        t_delta_x = p.cell / d[0]
    elif d[0] < 0.0:
        step_x = -1
        t_max_x = (float(x) * p.cell - o[0]) / d[0]
        t_delta_x = -p.cell / d[0]
    if d[1] > 0.0:
        t_max_y = ((float(y) + 1.0) * p.cell - o[1]) / d[1]
        t_delta_y = p.cell / d[1]
    elif d[1] < 0.0:
        step_y = -1
        t_max_y = (float(y) * p.cell - o[1]) / d[1]
        t_delta_y = -p.cell / d[1]
    t_enter = float(0.0)
    result = float(-1.0)
    count = int(0)
    max_cells = p.width + p.height + 4
    while t_enter <= p.max_range and count < max_cells:
        count += 1
        if is_wall(walls, env, x, y, p):
            if p.quantise == 0:
                result = t_enter
                break
            k = wp.ceil(t_enter / p.sample_spacing)
            if k >= float(p.num_samples):
                break
            if k * p.sample_spacing < wp.min(t_max_x, t_max_y):
                result = k * p.sample_spacing
                break
        if t_max_x < t_max_y:
            x += step_x
            t_enter = t_max_x
            t_max_x += t_delta_x
        else:
            y += step_y
            t_enter = t_max_y
            t_max_y += t_delta_y
    return result



@wp.func
def beam_range(
    p: NavParams,
    walls: wp.array3d(dtype=wp.uint8),
    pos: wp.array2d(dtype=wp.vec2),
    heading: wp.array2d(dtype=wp.vec2),
    env: int,
    i: int,
    rel: wp.vec2,
) -> float:
    """Range [m] of robot i's beam at direction ``rel`` (relative to its heading) to the nearest wall or robot."""
    o = pos[env, i]
    hd = heading[env, i]
    d = wp.vec2(hd[0] * rel[0] - hd[1] * rel[1], hd[1] * rel[0] + hd[0] * rel[1])
    t_wall = cast_grid(walls, env, o, d, p)
    t_robot = float(-1.0)
    for j in range(p.num_agents):
        if j != i:
            t = ray_hits_robot(o, d, p.max_range, pos[env, j], heading[env, j], p)
            if t >= 0.0 and (t_robot < 0.0 or t < t_robot):
                t_robot = t
    r = float(p.max_range)
    if p.quantise == 0:
        if t_wall >= 0.0:
            r = wp.min(r, t_wall)
        if t_robot >= 0.0:
            r = wp.min(r, t_robot)
    else:
        k = float(p.num_samples - 1)
        if t_wall >= 0.0:
            k = wp.min(k, wp.round(t_wall / p.sample_spacing))
        if t_robot >= 0.0:
            k = wp.min(k, wp.floor(t_robot / p.range_resolution))
        r = k * p.sample_spacing
    return r


@wp.kernel
def cast_lidar(
    p: NavParams,
    rows: wp.array(dtype=wp.bool),  # [N] rows to sense
    walls: wp.array3d(dtype=wp.uint8),  # [N, H, W]
    pos: wp.array2d(dtype=wp.vec2),  # [N, A]
    heading: wp.array2d(dtype=wp.vec2),  # [N, A] (cos θ, sin θ)
    beam_dirs: wp.array(dtype=wp.vec2),  # [B] beam directions relative to the heading
    ranges_out: wp.array3d(dtype=float),  # [N, A, B] [m]
):
    """One beam per thread (the GPU launch): range to the nearest wall or other robot, capped at max_range."""
    env, i, b = wp.tid()
    if not rows[env]:
        return
    ranges_out[env, i, b] = beam_range(p, walls, pos, heading, env, i, beam_dirs[b])


@wp.kernel
def cast_lidar_per_robot(
    p: NavParams,
    rows: wp.array(dtype=wp.bool),  # [N] rows to sense
    walls: wp.array3d(dtype=wp.uint8),  # [N, H, W]
    pos: wp.array2d(dtype=wp.vec2),  # [N, A]
    heading: wp.array2d(dtype=wp.vec2),  # [N, A] (cos θ, sin θ)
    beam_dirs: wp.array(dtype=wp.vec2),  # [B] beam directions relative to the heading
    ranges_out: wp.array3d(dtype=float),  # [N, A, B] [m]
):
    """All beams of one robot per thread (the CPU launch: fewer threads, cheap skipping of unmasked rows)."""
    env, i = wp.tid()
    if not rows[env]:
        return
    for b in range(p.num_beams):
        ranges_out[env, i, b] = beam_range(p, walls, pos, heading, env, i, beam_dirs[b])
