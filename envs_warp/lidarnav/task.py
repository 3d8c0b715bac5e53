"""Task stage of the lidar navigation world: observations, outcome flags, JaxNav rewards and episode ends.

Per-robot outcome codes (``("agents", "outcome")``): the robot's first terminal event, latched until
the episode ends. A map and a robot collision on the same step count as a map collision; a collision
on the step the goal is reached counts as the collision. A robot that reaches its goal and crashes
later keeps ``OUTCOME_GOAL`` (its ``crashed`` flag still rises, as JaxNav's reward does).
"""
from __future__ import annotations

import warp as wp

from .geometry import wrap_angle
from .params import NavParams

wp.set_module_options({"enable_backward": False})

OUTCOME_RUNNING = wp.constant(0)  # no terminal event yet
OUTCOME_GOAL = wp.constant(1)  # reached its goal
OUTCOME_MAP_COLLISION = wp.constant(2)  # hit a wall
OUTCOME_ROBOT_COLLISION = wp.constant(3)  # hit another robot
OUTCOME_TIMEOUT = wp.constant(4)  # still running when the episode was truncated
OUTCOME_NAMES = ("running", "goal", "map_collision", "robot_collision", "timeout")


@wp.kernel
def agent_outputs(
    p: NavParams,
    rows: wp.array(dtype=wp.bool),  # [N] rows to sense
    action: wp.array2d(dtype=wp.vec2),  # [N, A] targets applied this step
    pos: wp.array2d(dtype=wp.vec2),  # [N, A]
    old_pos: wp.array2d(dtype=wp.vec2),  # [N, A]
    theta: wp.array2d(dtype=float),  # [N, A]
    vel: wp.array2d(dtype=wp.vec2),  # [N, A]
    goal: wp.array2d(dtype=wp.vec2),  # [N, A]
    ranges: wp.array3d(dtype=float),  # [N, A, B]
    map_hit: wp.array2d(dtype=wp.int32),  # [N, A]
    robot_hit: wp.array2d(dtype=wp.int32),  # [N, A]
    at_goal: wp.array2d(dtype=wp.int32),  # [N, A]
    ep_done: wp.array(dtype=wp.int32),  # [N] before this step
    with_reward: int,
    reached: wp.array2d(dtype=wp.int32),  # [N, A] in/out
    crashed: wp.array2d(dtype=wp.int32),  # [N, A] in/out
    outcome: wp.array2d(dtype=wp.int32),  # [N, A] in/out, OUTCOME_* codes
    reward_out: wp.array2d(dtype=float),  # [N, A] individual reward
    obs_out: wp.array3d(dtype=float),  # [N, A, B + 5], or [N, A, B + 3] with hidden_goal; + 4 with pose_obs
):
    """Per-robot outcome flags, JaxNav's individual reward terms and the observation vector."""
    env, i = wp.tid()
    if not rows[env]:
        return
    c = pos[env, i]
    g = goal[env, i]
    # -- observation: lidar, (v, w), goal distance and bearing, reward mixing weight
    near = bool(False)
    for b in range(p.num_beams):
        r = float(ranges[env, i, b])
        if r <= p.lidar_thresh + p.rad:
            near = True
        if p.normalise == 1:
            r = r / p.max_range - 0.5
        obs_out[env, i, b] = r
    s = vel[env, i]
    to_goal = g - c
    gdist = wp.clamp(wp.length(to_goal), 0.0, p.max_range)
    gbear = wrap_angle(wp.atan2(to_goal[1], to_goal[0]) - theta[env, i])
    lam = p.rew_lambda
    v_obs = s[0]
    w_obs = s[1]
    d_obs = gdist
    b_obs = gbear
    if p.normalise == 1:
        v_obs = s[0] / p.max_v - 0.5
        w_obs = s[1] / p.max_w
        d_obs = gdist / p.max_range - 0.5
        b_obs = gbear / wp.pi
        lam = lam - 0.5
    obs_out[env, i, p.num_beams + 0] = v_obs
    obs_out[env, i, p.num_beams + 1] = w_obs
    last = p.num_beams + 2  # the next free column
    if p.hidden_goal == 1:  # the robot cannot sense its goal: lidar, (v, w), lambda
        obs_out[env, i, last] = lam
        last = last + 1
    else:
        obs_out[env, i, last] = d_obs
        obs_out[env, i, last + 1] = b_obs
        obs_out[env, i, last + 2] = lam
        last = last + 3
    if p.pose_obs == 1:  # own pose: position in the map, heading as (cos, sin)
        px = c[0]
        py = c[1]
        if p.normalise == 1:
            px = c[0] / (float(p.width) * p.cell) - 0.5
            py = c[1] / (float(p.height) * p.cell) - 0.5
        obs_out[env, i, last] = px
        obs_out[env, i, last + 1] = py
        obs_out[env, i, last + 2] = wp.cos(theta[env, i])
        obs_out[env, i, last + 3] = wp.sin(theta[env, i])
    if with_reward == 0:
        reward_out[env, i] = 0.0
        return
    # -- outcomes (non-evaporating JaxNav: flags latch until the episode ends)
    old_reached = reached[env, i]
    old_crashed = crashed[env, i]
    new_reached = int(0)
    new_crashed = int(0)
    if old_reached != 0 or at_goal[env, i] != 0:
        new_reached = 1
    if old_crashed != 0 or map_hit[env, i] != 0 or robot_hit[env, i] != 0:
        new_crashed = 1
    reached[env, i] = new_reached
    crashed[env, i] = new_crashed
    if outcome[env, i] == OUTCOME_RUNNING:
        if map_hit[env, i] != 0:
            outcome[env, i] = OUTCOME_MAP_COLLISION
        elif robot_hit[env, i] != 0:
            outcome[env, i] = OUTCOME_ROBOT_COLLISION
        elif at_goal[env, i] != 0:
            outcome[env, i] = OUTCOME_GOAL
    # -- individual reward
    progress = p.weight_g * (wp.length(old_pos[env, i] - g) - wp.length(c - g))
    if p.hidden_goal == 1:  # progress would tell where the goal is
        progress = 0.0
    rg = progress
    if new_reached != 0:
        rg = p.goal_rew
    if old_reached != 0:
        rg = 0.0
    rc = 0.0
    if new_crashed != 0 and old_crashed == 0:
        rc = p.coll_rew
    rw = 0.0
    w_cmd = wp.abs(action[env, i][1])
    if w_cmd > p.lim_w:
        rw = p.weight_w * w_cmd
    rt = 0.0
    if old_reached == 0 and old_crashed == 0:
        rt = p.dt_rew
    rl = 0.0
    if near:
        rl = p.lidar_rew
    total = rg + rc + rw + rt + rl
    if ep_done[env] != 0:
        total = 0.0
    reward_out[env, i] = total


@wp.kernel
def env_outputs(
    p: NavParams,
    reached: wp.array2d(dtype=wp.int32),  # [N, A]
    crashed: wp.array2d(dtype=wp.int32),  # [N, A]
    individual: wp.array2d(dtype=float),  # [N, A]
    outcome: wp.array2d(dtype=wp.int32),  # [N, A] in/out: running robots time out on truncation
    step_count: wp.array(dtype=wp.int32),  # [N] in/out
    ep_done: wp.array(dtype=wp.int32),  # [N] in/out
    reward_out: wp.array2d(dtype=float),  # [N, A] team-mixed reward
    terminated_out: wp.array(dtype=wp.bool),  # [N]
    truncated_out: wp.array(dtype=wp.bool),  # [N]
):
    """Team reward mixing, step counting and the episode's terminated/truncated flags."""
    env = wp.tid()
    was_done = ep_done[env]
    mean = float(0.0)
    all_out = bool(True)
    for i in range(p.num_agents):
        mean += individual[env, i]
        if reached[env, i] == 0 and crashed[env, i] == 0:
            all_out = False
    mean = mean / float(p.num_agents)
    for i in range(p.num_agents):
        reward_out[env, i] = p.rew_lambda * individual[env, i] + (1.0 - p.rew_lambda) * mean
    steps = step_count[env]
    if was_done == 0:
        steps += 1
        step_count[env] = steps
    time_up = steps >= p.max_steps
    terminated_out[env] = all_out
    truncated_out[env] = time_up and not all_out
    if was_done == 0 and time_up and not all_out:
        for i in range(p.num_agents):
            if outcome[env, i] == OUTCOME_RUNNING:
                outcome[env, i] = OUTCOME_TIMEOUT
    if all_out or time_up:
        ep_done[env] = 1
