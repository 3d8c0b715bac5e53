"""Warp kernels of the point-mass world: random levels from (seed, counter), masked reset, step."""
from __future__ import annotations

import warp as wp


@wp.func
def random_level(seed: int, counter: int, arena: float, start: wp.vec2, goal: wp.vec2):
    """Start and goal drawn uniformly in the square arena from the row's (seed, reset counter)."""
    state = wp.rand_init(seed, counter)
    s = wp.vec2(wp.randf(state, -arena, arena), wp.randf(state, -arena, arena))
    g = wp.vec2(wp.randf(state, -arena, arena), wp.randf(state, -arena, arena))
    return s, g


@wp.kernel
def generate_levels(seed: wp.array(dtype=wp.int32), counter: wp.array(dtype=wp.int32), draw: wp.array(dtype=wp.bool),
                    arena: float, start_out: wp.array(dtype=wp.vec2), goal_out: wp.array(dtype=wp.vec2)):
    """Write the random level of (seed, counter) into the rows set in ``draw``."""
    env = wp.tid()
    if not draw[env]:
        return
    s, g = random_level(seed[env], counter[env], arena, wp.vec2(0.0, 0.0), wp.vec2(0.0, 0.0))
    start_out[env] = s
    goal_out[env] = g


@wp.kernel
def reset_rows(rows: wp.array(dtype=wp.bool), start: wp.array(dtype=wp.vec2), goal: wp.array(dtype=wp.vec2),
               radius: float, pos_out: wp.array(dtype=wp.vec2), steps_out: wp.array(dtype=wp.int32),
               reached_out: wp.array(dtype=wp.bool), obs_out: wp.array2d(dtype=float)):
    """Place the mass at its level's start in every reset row."""
    env = wp.tid()
    if not rows[env]:
        return
    pos_out[env] = start[env]
    steps_out[env] = 0
    reached_out[env] = wp.length(goal[env] - start[env]) < radius
    d = goal[env] - start[env]
    obs_out[env, 0] = d[0]
    obs_out[env, 1] = d[1]


@wp.kernel
def step(action: wp.array2d(dtype=float), goal: wp.array(dtype=wp.vec2), dt: float, speed: float, radius: float,
         max_steps: int, pos_out: wp.array(dtype=wp.vec2), steps_out: wp.array(dtype=wp.int32),
         reached_out: wp.array(dtype=wp.bool), reward_out: wp.array(dtype=float),
         terminated_out: wp.array(dtype=wp.bool), truncated_out: wp.array(dtype=wp.bool),
         obs_out: wp.array2d(dtype=float)):
    """Move at ``speed`` [m/s] along the clipped action; +1 and done at the goal, -0.01 per step."""
    env = wp.tid()
    a = wp.vec2(wp.clamp(action[env, 0], -1.0, 1.0), wp.clamp(action[env, 1], -1.0, 1.0))
    p = pos_out[env] + a * (speed * dt)
    pos_out[env] = p
    steps_out[env] = steps_out[env] + 1
    at_goal = wp.length(goal[env] - p) < radius
    reached_out[env] = at_goal
    reward_out[env] = wp.where(at_goal, 1.0, -0.01)
    terminated_out[env] = at_goal
    truncated_out[env] = (not at_goal) and steps_out[env] >= max_steps
    d = goal[env] - p
    obs_out[env, 0] = d[0]
    obs_out[env, 1] = d[1]
