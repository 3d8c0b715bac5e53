"""Dynamics stage of the lidar navigation world: action targets, differential-drive integration, contact events."""
from __future__ import annotations

import warp as wp

from .geometry import robot_hits_map, squares_overlap, wrap_angle
from .params import NavParams

wp.set_module_options({"enable_backward": False})


@wp.kernel
def integrate(
    p: NavParams,
    action: wp.array2d(dtype=wp.vec2),  # [N, A] targets (v [m/s], w [rad/s])
    ep_done: wp.array(dtype=wp.int32),  # [N]
    crashed: wp.array2d(dtype=wp.int32),  # [N, A]
    pos: wp.array2d(dtype=wp.vec2),  # [N, A] in/out
    theta: wp.array2d(dtype=float),  # [N, A] in/out
    heading: wp.array2d(dtype=wp.vec2),  # [N, A] in/out (cos θ, sin θ)
    vel: wp.array2d(dtype=wp.vec2),  # [N, A] in/out
    old_pos_out: wp.array2d(dtype=wp.vec2),  # [N, A]
):
    """Differential drive with acceleration and speed limits; crashed robots and finished episodes freeze."""
    env, i = wp.tid()
    c = pos[env, i]
    old_pos_out[env, i] = c
    if ep_done[env] != 0 or crashed[env, i] != 0:
        vel[env, i] = wp.vec2(0.0, 0.0)
        return
    a = action[env, i]
    s = vel[env, i]
    v_acc = wp.clamp((a[0] - s[0]) / p.dt, -p.max_v_acc, p.max_v_acc)
    w_acc = wp.clamp((a[1] - s[1]) / p.dt, -p.max_w_acc, p.max_w_acc)
    v = wp.clamp(s[0] + v_acc * p.dt, p.min_v, p.max_v)
    w = wp.clamp(s[1] + w_acc * p.dt, -p.max_w, p.max_w)
    th = theta[env, i]
    pos[env, i] = c + wp.vec2(v * wp.cos(th) * p.dt, v * wp.sin(th) * p.dt)
    th_new = wrap_angle(th + w * p.dt)
    theta[env, i] = th_new
    heading[env, i] = wp.vec2(wp.cos(th_new), wp.sin(th_new))
    vel[env, i] = wp.vec2(v, w)


@wp.kernel
def discrete_to_targets(
    action: wp.array2d(dtype=wp.int64),  # [N, A] indices
    table: wp.array(dtype=wp.vec2),  # [K] (v, w) per index
    targets_out: wp.array2d(dtype=wp.vec2),  # [N, A]
):
    """Map discrete action indices to (v, w) targets."""
    env, i = wp.tid()
    k = wp.clamp(int(action[env, i]), 0, table.shape[0] - 1)
    targets_out[env, i] = table[k]


@wp.kernel
def detect_events(
    p: NavParams,
    walls: wp.array3d(dtype=wp.uint8),  # [N, H, W]
    pos: wp.array2d(dtype=wp.vec2),  # [N, A]
    heading: wp.array2d(dtype=wp.vec2),  # [N, A]
    goal: wp.array2d(dtype=wp.vec2),  # [N, A]
    ep_done: wp.array(dtype=wp.int32),  # [N]
    map_hit_out: wp.array2d(dtype=wp.int32),  # [N, A]
    robot_hit_out: wp.array2d(dtype=wp.int32),  # [N, A]
    at_goal_out: wp.array2d(dtype=wp.int32),  # [N, A]
):
    """Collisions with walls and other robots, and goal arrival, at the new poses."""
    env, i = wp.tid()
    map_hit_out[env, i] = 0
    robot_hit_out[env, i] = 0
    at_goal_out[env, i] = 0
    if ep_done[env] != 0:
        return
    c = pos[env, i]
    hd = heading[env, i]
    if robot_hits_map(walls, env, c, hd, p):
        map_hit_out[env, i] = 1
    for j in range(p.num_agents):
        if j != i:
            other = pos[env, j]
            hit = bool(False)
            if p.square == 1:
                if wp.length(other - c) <= 2.0 * p.half_side * 1.4142136:  # bounding circles touch
                    hit = squares_overlap(c, hd, other, heading[env, j], p.half_side)
            else:
                hit = wp.length(other - c) <= 2.0 * p.rad
            if hit:
                robot_hit_out[env, i] = 1
    if wp.length(c - goal[env, i]) <= p.goal_radius:
        at_goal_out[env, i] = 1
