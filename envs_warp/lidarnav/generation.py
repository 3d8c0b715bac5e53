"""Level-generation stage of the lidar navigation world: JaxNav-distributed random levels and grid-path solvability."""
from __future__ import annotations

import warp as wp

from .geometry import circle_hits_map, is_wall
from .params import NavParams

wp.set_module_options({"enable_backward": False})

MAX_AGENT_SAMPLING_TRIES = 2000
MAX_MAP_TRIES = 64


@wp.func
def sample_pair_ok(
    walls: wp.array3d(dtype=wp.uint8),
    starts: wp.array2d(dtype=wp.vec3),
    goals: wp.array2d(dtype=wp.vec2),
    env: int,
    i: int,
    s: wp.vec2,
    g: wp.vec2,
    p: NavParams,
) -> bool:
    """JaxNav's acceptance test for robot i's start s and goal g given robots 0..i-1."""
    if circle_hits_map(walls, env, s, p.rad * p.start_pad, p):
        return False
    if circle_hits_map(walls, env, g, p.goal_clear, p):
        return False
    clear = 2.0 * p.rad * p.start_pad
    for j in range(i):
        sj = starts[env, j]
        if wp.length(wp.vec2(sj[0], sj[1]) - s) <= clear:
            return False
        if wp.length(goals[env, j] - g) <= clear:
            return False
    return wp.length(s - g) > 2.0 * p.rad


@wp.func
def grid_cell_open(
    walls: wp.array3d(dtype=wp.uint8),
    starts: wp.array2d(dtype=wp.vec3),
    goals: wp.array2d(dtype=wp.vec2),
    env: int,
    i: int,
    x: int,
    y: int,
    sx: int,
    sy: int,
    for_goal: bool,
    p: NavParams,
) -> bool:
    """JaxNav's grid sampler masks: cell (x, y) is free and, for a start, no earlier robot starts there;
    for a goal, no earlier robot's goal is there and it is not this robot's start cell (sx, sy)."""
    if walls[env, y, x] != wp.uint8(0):
        return False
    if for_goal and x == sx and y == sy:
        return False
    for j in range(i):
        q = wp.vec2(0.0, 0.0)
        if for_goal:
            q = goals[env, j]
        else:
            q = wp.vec2(starts[env, j][0], starts[env, j][1])
        if int(wp.floor(q[0] / p.cell)) == x and int(wp.floor(q[1] / p.cell)) == y:
            return False
    return True


@wp.func
def grid_path_exists(
    walls: wp.array3d(dtype=wp.uint8),
    queue: wp.array2d(dtype=wp.int32),
    seen: wp.array2d(dtype=wp.int32),
    env: int,
    sx: int,
    sy: int,
    gx: int,
    gy: int,
    p: NavParams,
) -> bool:
    """Breadth-first search over free cells (4-neighbour) from (sx, sy) to (gx, gy)."""
    n = p.width * p.height
    for c in range(n):
        seen[env, c] = 0
    if is_wall(walls, env, sx, sy, p) or is_wall(walls, env, gx, gy, p):
        return False
    head = int(0)
    tail = int(1)
    queue[env, 0] = sy * p.width + sx
    seen[env, sy * p.width + sx] = 1
    found = bool(False)
    while head < tail and not found:
        c = queue[env, head]
        head += 1
        cx = c % p.width
        cy = c / p.width
        if cx == gx and cy == gy:
            found = True
        for k in range(4):
            nx = int(cx)
            ny = int(cy)
            if k == 0:
                nx = cx + 1
            elif k == 1:
                nx = cx - 1
            elif k == 2:
                ny = cy + 1
            else:
                ny = cy - 1
            if not is_wall(walls, env, nx, ny, p):
                nc = ny * p.width + nx
                if seen[env, nc] == 0:
                    seen[env, nc] = 1
                    queue[env, tail] = nc
                    tail += 1
    return found


@wp.func
def level_solvable(
    walls: wp.array3d(dtype=wp.uint8),
    starts: wp.array2d(dtype=wp.vec3),
    goals: wp.array2d(dtype=wp.vec2),
    queue: wp.array2d(dtype=wp.int32),
    seen: wp.array2d(dtype=wp.int32),
    env: int,
    p: NavParams,
) -> bool:
    """Whether every robot's start cell connects to its goal cell."""
    ok = bool(True)
    for i in range(p.num_agents):
        s = starts[env, i]
        g = goals[env, i]
        sx = int(wp.floor(s[0] / p.cell))
        sy = int(wp.floor(s[1] / p.cell))
        gx = int(wp.floor(g[0] / p.cell))
        gy = int(wp.floor(g[1] / p.cell))
        if ok:
            ok = grid_path_exists(walls, queue, seen, env, sx, sy, gx, gy, p)
    return ok


@wp.func
def goal_spot(p: NavParams, k: int) -> wp.vec2:
    """Spot k of the fixed goal spots: the centres of the first interior cells in from the walls, on the
    middle line (``goal_spots`` 2: k = 0 left, 1 right) or in the corners (4: k = 0..3, x then y)."""
    lo_x = 1.5 * p.cell
    lo_y = 1.5 * p.cell
    hi_x = float(p.width) * p.cell - 1.5 * p.cell
    hi_y = float(p.height) * p.cell - 1.5 * p.cell
    x = lo_x
    if k % 2 == 1:
        x = hi_x
    y = 0.5 * float(p.height) * p.cell
    if p.goal_spots == 4:
        y = lo_y
        if k >= 2:
            y = hi_y
    return wp.vec2(x, y)


@wp.kernel
def generate_levels(
    p: NavParams,
    mask: wp.array(dtype=wp.bool),  # [B] rows to (re)generate
    seed: wp.array(dtype=wp.int32),  # [B]
    counter: wp.array(dtype=wp.int32),  # [B]
    cells: wp.array2d(dtype=wp.int32),  # [B, (W-2)*(H-2)] scratch
    queue: wp.array2d(dtype=wp.int32),  # [B, W*H] scratch
    seen: wp.array2d(dtype=wp.int32),  # [B, W*H] scratch
    walls_out: wp.array3d(dtype=wp.uint8),  # [B, H, W]
    starts_out: wp.array2d(dtype=wp.vec3),  # [B, A] (x, y, theta)
    goals_out: wp.array2d(dtype=wp.vec2),  # [B, A]
    solvable_out: wp.array(dtype=wp.int32),  # [B]
):
    """Random bordered map with JaxNav's clutter distribution plus start/goal poses, per masked row.

    Starts/goals come from JaxNav's continuous rejection sampler, or with ``p.grid_sample`` from its
    grid sampler (cell centres), or with ``p.goal_spots`` from the fixed spots (``goal_spot``).
    Deterministic from (seed, counter).
    """
    env = wp.tid()
    if not mask[env]:
        return
    rng = wp.rand_init(seed[env], counter[env] * 7919 + 17)
    iw = p.width - 2
    ih = p.height - 2
    n_inner = iw * ih
    n_clutter = int(wp.floor(float(n_inner) * p.fill))
    solvable = int(0)
    for _try in range(MAX_MAP_TRIES):
        if _try == 0 or (p.solvable_only == 1 and solvable == 0):
            # 1) walls: border plus a uniform number in [0, n_clutter) of distinct interior cells
            for y in range(p.height):
                for x in range(p.width):
                    border = x == 0 or y == 0 or x == p.width - 1 or y == p.height - 1
                    walls_out[env, y, x] = wp.uint8(0)
                    if border:
                        walls_out[env, y, x] = wp.uint8(1)
            num_fill = int(0)
            if n_clutter > 0:
                num_fill = int(wp.randi(rng, 0, n_clutter))
            for c in range(n_inner):
                cells[env, c] = c
            for k in range(num_fill):  # partial Fisher-Yates shuffle
                j = k + int(wp.randi(rng, 0, n_inner - k))
                tmp = cells[env, k]
                cells[env, k] = cells[env, j]
                cells[env, j] = tmp
                c = cells[env, k]
                walls_out[env, c / iw + 1, c % iw + 1] = wp.uint8(1)
            # 2) starts and goals
            lo = 1.0 + p.rad
            hi_x = float(p.width) * p.cell - 1.0 - p.rad
            hi_y = float(p.height) * p.cell - 1.0 - p.rad
            placed = bool(True)
            sampled = p.num_agents
            if p.goal_spots != 0:  # one robot at the map centre (random heading), its goal on one of the spots
                centre = wp.vec2(0.5 * float(p.width) * p.cell, 0.5 * float(p.height) * p.cell)
                starts_out[env, 0] = wp.vec3(centre[0], centre[1], wp.randf(rng, -wp.pi, wp.pi))
                goals_out[env, 0] = goal_spot(p, int(wp.randi(rng, 0, p.goal_spots)))
                sampled = 0
            for i in range(sampled):
                if p.grid_sample == 1:
                    # JaxNav's grid_sample_test_case: a uniform free interior cell centre for the start
                    # (not an earlier start's cell), then for the goal (not an earlier goal's cell, not
                    # the own start); no distance or clearance test. Config checks keep both non-empty.
                    sx = int(-1)
                    sy = int(-1)
                    for want_goal in range(2):
                        n_open = int(0)
                        for c in range(n_inner):
                            if grid_cell_open(walls_out, starts_out, goals_out, env, i, c % iw + 1, c / iw + 1,
                                              sx, sy, want_goal == 1, p):
                                n_open += 1
                        if n_open == 0:
                            placed = False
                        else:
                            k = int(wp.randi(rng, 0, n_open))
                            for c in range(n_inner):
                                x = c % iw + 1
                                y = c / iw + 1
                                if grid_cell_open(walls_out, starts_out, goals_out, env, i, x, y, sx, sy,
                                                  want_goal == 1, p):
                                    if k == 0:
                                        centre = wp.vec2((float(x) + 0.5) * p.cell, (float(y) + 0.5) * p.cell)
                                        if want_goal == 0:
                                            sx = x
                                            sy = y
                                            starts_out[env, i] = wp.vec3(centre[0], centre[1], wp.randf(rng, -wp.pi, wp.pi))
                                        else:
                                            goals_out[env, i] = centre
                                    k -= 1
                    continue
                # rejection sampling as in JaxNav's Map.sample_test_case
                ok = bool(False)
                for _s in range(MAX_AGENT_SAMPLING_TRIES):
                    if not ok:
                        s = wp.vec2(wp.randf(rng, lo, hi_x), wp.randf(rng, lo, hi_y))
                        dist = wp.randf(rng, p.min_goal_dist, p.max_goal_dist)
                        ang = wp.randf(rng, -wp.pi, wp.pi)
                        g = s + dist * wp.vec2(wp.cos(ang), wp.sin(ang))
                        g = wp.vec2(wp.clamp(g[0], lo, hi_x), wp.clamp(g[1], lo, hi_y))
                        th = wp.randf(rng, -wp.pi, wp.pi)
                        if sample_pair_ok(walls_out, starts_out, goals_out, env, i, s, g, p):
                            starts_out[env, i] = wp.vec3(s[0], s[1], th)
                            goals_out[env, i] = g
                            ok = True
                if not ok:
                    placed = False
            solvable = int(0)
            if placed and level_solvable(walls_out, starts_out, goals_out, queue, seen, env, p):
                solvable = 1
    solvable_out[env] = solvable


@wp.kernel
def check_solvable(
    p: NavParams,
    walls: wp.array3d(dtype=wp.uint8),  # [B, H, W]
    starts: wp.array2d(dtype=wp.vec3),  # [B, A]
    goals: wp.array2d(dtype=wp.vec2),  # [B, A]
    queue: wp.array2d(dtype=wp.int32),  # [B, W*H] scratch
    seen: wp.array2d(dtype=wp.int32),  # [B, W*H] scratch
    solvable_out: wp.array(dtype=wp.int32),  # [B]
):
    """Grid-path solvability of given levels (every robot can reach its goal cell)."""
    env = wp.tid()
    solvable_out[env] = int(level_solvable(walls, starts, goals, queue, seen, env, p))
