"""Reset stage of the lidar navigation world: masked rows load their level into the live state."""
from __future__ import annotations

import warp as wp

from .params import NavParams

wp.set_module_options({"enable_backward": False})


@wp.kernel
def reset_rows(
    p: NavParams,
    mask: wp.array(dtype=wp.bool),  # [N]
    level_walls: wp.array3d(dtype=wp.uint8),  # [N, H, W]
    level_starts: wp.array2d(dtype=wp.vec3),  # [N, A]
    level_goals: wp.array2d(dtype=wp.vec2),  # [N, A]
    walls: wp.array3d(dtype=wp.uint8),  # [N, H, W]
    pos: wp.array2d(dtype=wp.vec2),  # [N, A]
    theta: wp.array2d(dtype=float),  # [N, A]
    heading: wp.array2d(dtype=wp.vec2),  # [N, A] (cos θ, sin θ)
    vel: wp.array2d(dtype=wp.vec2),  # [N, A] (v, w)
    goal: wp.array2d(dtype=wp.vec2),  # [N, A]
    reached: wp.array2d(dtype=wp.int32),  # [N, A]
    crashed: wp.array2d(dtype=wp.int32),  # [N, A]
    outcome: wp.array2d(dtype=wp.int32),  # [N, A]
    step_count: wp.array(dtype=wp.int32),  # [N]
    ep_done: wp.array(dtype=wp.int32),  # [N]
):
    """Load each masked row's level into the live state; other rows are untouched."""
    env = wp.tid()
    if not mask[env]:
        return
    for y in range(p.height):
        for x in range(p.width):
            walls[env, y, x] = level_walls[env, y, x]
    for i in range(p.num_agents):
        s = level_starts[env, i]
        pos[env, i] = wp.vec2(s[0], s[1])
        theta[env, i] = s[2]
        heading[env, i] = wp.vec2(wp.cos(s[2]), wp.sin(s[2]))
        vel[env, i] = wp.vec2(0.0, 0.0)
        goal[env, i] = level_goals[env, i]
        reached[env, i] = 0
        crashed[env, i] = 0
        outcome[env, i] = 0
    step_count[env] = 0
    ep_done[env] = 0
