"""The step (stage: actions, then rules, goal, reward, observation): one thread per env, real branching.

Actions follow ``xminigrid.core.actions`` 0.9.3: 0 forward (onto floor, goal or an open door), 1 turn
right, 2 turn left, 3 pick up (a pickable tile in front, empty pocket; black floor is left behind),
4 put down (onto floor in front, non-empty pocket), 5 toggle (a closed door opens, an open door closes,
a locked door opens with a key of its colour in the pocket). The rules of the row then run (up to its
own rule count), then its goal is checked. Reward ``1 − 0.9·t/T`` on success at step ``t`` of ``T``;
terminated on success, truncated when ``t = T`` (both can hold).
"""
from __future__ import annotations

import warp as wp

from .constants import (W_DOOR_CLOSED, W_DOOR_LOCKED, W_DOOR_OPEN, W_FLOOR, W_FLOOR_BLACK, W_KEY, cell_at, dir_dx,
                        dir_dy, is_pickable, is_walkable, packed, set_cell)
from .goals import goal_reached
from .layout import LevelSource, ResetArrays, ResetParams, draw_and_reset_row
from .observations import ObsLayout, write_view
from .rules import apply_rules

wp.set_module_options({"enable_backward": False})


@wp.struct
class StepParams:
    """Episode limit and observation layout."""

    max_steps: int
    obs: ObsLayout


@wp.func
def take_action(grid: wp.array3d(dtype=wp.uint8), env: int, action: int, y: int, x: int, d: int,
                pocket: int) -> wp.vec4i:
    """Apply one action to the grid; returns (y, x, direction, pocket) after it."""
    fy = y + dir_dy(d)
    fx = x + dir_dx(d)
    if action == 0:
        ny = wp.clamp(fy, 0, grid.shape[1] - 1)
        nx = wp.clamp(fx, 0, grid.shape[2] - 1)
        if is_walkable(int(grid[env, ny, nx])):
            return wp.vec4i(ny, nx, d, pocket)
    elif action == 1:
        return wp.vec4i(y, x, (d + 1) % 4, pocket)
    elif action == 2:
        return wp.vec4i(y, x, (d + 3) % 4, pocket)
    elif action == 3:
        front = cell_at(grid, env, fy, fx)
        if is_pickable(front) and (pocket >> 4) == 0:
            set_cell(grid, env, fy, fx, W_FLOOR_BLACK)
            return wp.vec4i(y, x, d, front)
    elif action == 4:
        front = cell_at(grid, env, fy, fx)
        if (front >> 4) == W_FLOOR and (pocket >> 4) != 0:
            set_cell(grid, env, fy, fx, pocket)
            return wp.vec4i(y, x, d, 0)
    elif action == 5:
        front = cell_at(grid, env, fy, fx)
        tile = front >> 4
        color = front & 15
        if tile == W_DOOR_LOCKED and pocket == packed(W_KEY, color):
            set_cell(grid, env, fy, fx, packed(W_DOOR_OPEN, color))
        elif tile == W_DOOR_CLOSED:
            set_cell(grid, env, fy, fx, packed(W_DOOR_OPEN, color))
        elif tile == W_DOOR_OPEN:
            set_cell(grid, env, fy, fx, packed(W_DOOR_CLOSED, color))
    return wp.vec4i(y, x, d, pocket)


@wp.func
def step_row(p: StepParams, action: wp.array(dtype=wp.int64), goal_code: wp.array2d(dtype=wp.int32),
             rule_code: wp.array3d(dtype=wp.int32), rule_count: wp.array(dtype=wp.int32), grid: wp.array3d(dtype=wp.uint8),
             pos: wp.array2d(dtype=wp.int32), direction: wp.array(dtype=wp.int32), pocket: wp.array(dtype=wp.int32),
             step_count: wp.array(dtype=wp.int32), reward: wp.array(dtype=float), terminated: wp.array(dtype=wp.bool),
             truncated: wp.array(dtype=wp.bool), fired: wp.array(dtype=wp.int32), obs: wp.array2d(dtype=float),
             env: int) -> bool:
    """Advance row ``env`` by one step; returns whether its episode ended (terminated or truncated)."""
    a = int(action[env])
    y = pos[env, 0]
    x = pos[env, 1]
    d = direction[env]
    after = take_action(grid, env, a, y, x, d, pocket[env])
    # the cell the action acted on: the agent's own cell for moves and turns, else the one in front
    py = after[0]
    px = after[1]
    if a >= 3:
        py = y + dir_dy(d)
        px = x + dir_dx(d)
    held = apply_rules(rule_code, rule_count[env], grid, env, a, py, px, after[0], after[1], after[3])
    t = step_count[env] + 1
    success = goal_reached(goal_code, grid, env, a, py, px, after[0], after[1], held[0])
    pos[env, 0] = after[0]
    pos[env, 1] = after[1]
    direction[env] = after[2]
    pocket[env] = held[0]
    step_count[env] = t
    fired[env] = held[1]
    reward[env] = wp.where(success, 1.0 - 0.9 * (float(t) / float(p.max_steps)), 0.0)
    terminated[env] = success
    truncated[env] = t >= p.max_steps
    write_view(obs, p.obs, grid, env, after[0], after[1], after[2], held[0])
    return success or t >= p.max_steps


@wp.kernel
def step(p: StepParams, action: wp.array(dtype=wp.int64),
         # Ruleset in:
         goal_code: wp.array2d(dtype=wp.int32), rule_code: wp.array3d(dtype=wp.int32), rule_count: wp.array(dtype=wp.int32),
         # State in/out:
         grid: wp.array3d(dtype=wp.uint8), pos: wp.array2d(dtype=wp.int32), direction: wp.array(dtype=wp.int32),
         pocket: wp.array(dtype=wp.int32), step_count: wp.array(dtype=wp.int32),
         # Outputs:
         reward: wp.array(dtype=float), terminated: wp.array(dtype=wp.bool), truncated: wp.array(dtype=wp.bool),
         fired: wp.array(dtype=wp.int32), obs: wp.array2d(dtype=float)):
    """Advance every row by one step."""
    env = wp.tid()
    step_row(p, action, goal_code, rule_code, rule_count, grid, pos, direction, pocket, step_count, reward, terminated,
             truncated, fired, obs, env)


@wp.kernel
def step_autoreset(p: StepParams, reset: ResetParams, src: LevelSource, action: wp.array(dtype=wp.int64),
                   # Ruleset codes and state in/out, outputs (as ``step``):
                   goal_code: wp.array2d(dtype=wp.int32), rule_code: wp.array3d(dtype=wp.int32),
                   rule_count: wp.array(dtype=wp.int32), grid: wp.array3d(dtype=wp.uint8), pos: wp.array2d(dtype=wp.int32),
                   direction: wp.array(dtype=wp.int32), pocket: wp.array(dtype=wp.int32),
                   step_count: wp.array(dtype=wp.int32), reward: wp.array(dtype=float),
                   terminated: wp.array(dtype=wp.bool), truncated: wp.array(dtype=wp.bool),
                   fired: wp.array(dtype=wp.int32), obs: wp.array2d(dtype=float),
                   # Level draw and reset bookkeeping in/out (one element, read only by rows that reset):
                   cold: wp.array(dtype=ResetArrays)):
    """``step``, then for a row whose episode ended: its next level (a random one unless one is pending), tag,
    reset and first observation, counter advanced: one launch doing what ``step`` + level draw + ``reset_rows``
    do, row by row with the same functions."""
    env = wp.tid()
    ended = step_row(p, action, goal_code, rule_code, rule_count, grid, pos, direction, pocket, step_count, reward,
                     terminated, truncated, fired, obs, env)
    if not ended:
        return
    c = cold[0]
    if draw_and_reset_row(reset, src, c, grid, pos, direction, pocket, step_count, goal_code, rule_code, rule_count,
                          obs, env):
        c.level_id[env] = wp.int64(-1) - ((wp.int64(c.seed[env]) << wp.int64(31)) | wp.int64(c.counter[env]))
    c.counter[env] = c.counter[env] + 1
    c.level_pending[env] = False
