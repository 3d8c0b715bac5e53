"""Warp kernels of the lidar navigation world: level generation, reset, dynamics, events, lidar, outputs.

Grid convention: cell ``(x, y)`` is ``walls[env, y, x]`` and covers ``[x, x+1) × [y, y+1)`` cells of
``cell`` metres; anything outside the grid counts as wall. Robots are squares (side ``2·half_side``,
rotated by ``theta``) or circles (``rad``); ``theta`` is the heading [rad] in ``[-π, π)``.
Flags are int32 0/1 so the same arrays are plain torch tensors on both sides.
"""
from __future__ import annotations

import warp as wp

wp.set_module_options({"enable_backward": False})

MAX_AGENT_SAMPLING_TRIES = 2000
MAX_MAP_TRIES = 64


@wp.struct
class NavParams:
    """Every scalar the world's kernels read, grouped in one launch argument."""

    width: int  # cells along x
    height: int  # cells along y
    cell: float  # [m] cell side
    num_agents: int
    square: int  # 1: square robots, 0: circle robots
    half_side: float  # [m] half the square's side
    rad: float  # [m] robot radius (circle shape, clearance and lidar proximity)
    dt: float  # [s]
    min_v: float  # [m/s]
    max_v: float  # [m/s]
    max_v_acc: float  # [m/s^2]
    max_w: float  # [rad/s]
    max_w_acc: float  # [rad/s^2]
    max_steps: int
    num_beams: int
    max_range: float  # [m]
    angle_span: float  # [rad] beams cover [-span, span] around the heading
    quantise: int  # 1: readings on JaxNav's sample grid
    sample_spacing: float  # [m] spacing of that grid
    num_samples: int
    range_resolution: float  # [m] resolution used for robot hits on that grid
    goal_radius: float  # [m]
    goal_rew: float
    weight_g: float
    dt_rew: float
    coll_rew: float
    lidar_thresh: float  # [m] beyond the robot radius
    lidar_rew: float
    rew_lambda: float
    lim_w: float  # [rad/s]
    weight_w: float
    normalise: int
    # level generation
    fill: float  # max fraction of interior cells filled with walls
    start_pad: float  # start clearance = rad * start_pad
    goal_clear: float  # [m] goal clearance from walls
    min_goal_dist: float  # [m]
    max_goal_dist: float  # [m]
    solvable_only: int  # 1: regenerate maps until every robot has a grid path to its goal


# ----------------------------------------------------------------------------- geometry helpers
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


# ----------------------------------------------------------------------------- level generation
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
    """Random bordered map with JaxNav's clutter distribution plus start/goal poses, per masked row."""
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
            # 2) starts and goals: rejection sampling as in JaxNav's Map.sample_test_case
            lo = 1.0 + p.rad
            hi_x = float(p.width) * p.cell - 1.0 - p.rad
            hi_y = float(p.height) * p.cell - 1.0 - p.rad
            placed = bool(True)
            for i in range(p.num_agents):
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


# ----------------------------------------------------------------------------- reset
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
    step_count[env] = 0
    ep_done[env] = 0


# ----------------------------------------------------------------------------- step
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
    reward_out: wp.array2d(dtype=float),  # [N, A] individual reward
    obs_out: wp.array3d(dtype=float),  # [N, A, B + 5]
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
    if p.normalise == 1:
        obs_out[env, i, p.num_beams + 0] = s[0] / p.max_v - 0.5
        obs_out[env, i, p.num_beams + 1] = s[1] / p.max_w
        obs_out[env, i, p.num_beams + 2] = gdist / p.max_range - 0.5
        obs_out[env, i, p.num_beams + 3] = gbear / wp.pi
        obs_out[env, i, p.num_beams + 4] = lam - 0.5
    else:
        obs_out[env, i, p.num_beams + 0] = s[0]
        obs_out[env, i, p.num_beams + 1] = s[1]
        obs_out[env, i, p.num_beams + 2] = gdist
        obs_out[env, i, p.num_beams + 3] = gbear
        obs_out[env, i, p.num_beams + 4] = lam
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
    # -- individual reward
    progress = p.weight_g * (wp.length(old_pos[env, i] - g) - wp.length(c - g))
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
    if all_out or time_up:
        ep_done[env] = 1
