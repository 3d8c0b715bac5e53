"""Reset (stage: layout and placement): rooms, doors, objects and the agent of the rows being reset.

One thread per env row; rows outside ``rows`` are untouched. Random numbers come from the row's
(seed, reset counter) on a stream of their own (the ruleset generator uses another), so a restart of
the same ruleset re-draws doors, objects and the agent as XLand-MiniGrid does on every reset.
Layouts follow ``xminigrid.envs.xland`` 0.9.3: R1 one room; R2 a wall at x = W//2 with one closed
door; R4 walls at x = W//2 and y = H//2 with four doors at offsets in [1, H//2); R6 walls at
x = W//2 ± 2 and y = H//3, 2·(H//3) with six doors at fixed cells; R9 walls at thirds with twelve doors at
offsets in [1, W//3). Door colours are drawn from red, green, blue, purple, yellow, grey.
"""
from __future__ import annotations

import warp as wp

from .constants import W_FLOOR, W_FLOOR_BLACK, W_WALL_GREY, packed, set_cell
from .generator import GenParams, bank_row, generate_row
from .observations import ObsLayout, write_task, write_view

wp.set_module_options({"enable_backward": False})

PLACEMENT_SALT = wp.constant(0x2545F491)
DOOR_CLOSED_TILE = wp.constant(9)


@wp.func
def rand_int(rng: wp.array(dtype=wp.uint32), env: int, lo: int, hi: int) -> int:
    """Uniform integer in [lo, hi) from the row's RNG state ``rng[env]`` (advanced in place)."""
    if hi <= lo:
        return lo
    state = rng[env]
    value = wp.randi(state, lo, hi)
    rng[env] = state
    return value


@wp.func
def door_color(rng: wp.array(dtype=wp.uint32), env: int) -> int:
    """One of the six door colours (red, green, blue, purple, yellow, grey are ids 1..6)."""
    return rand_int(rng, env, 1, 7)


@wp.func
def hline(grid: wp.array3d(dtype=wp.uint8), env: int, x: int, y: int, length: int, value: int):
    """Cells (y, x .. x+length-1), clipped to the grid."""
    for k in range(wp.max(length, 0)):
        set_cell(grid, env, y, x + k, value)


@wp.func
def vline(grid: wp.array3d(dtype=wp.uint8), env: int, x: int, y: int, length: int, value: int):
    """Cells (y .. y+length-1, x), clipped to the grid."""
    for k in range(wp.max(length, 0)):
        set_cell(grid, env, y + k, x, value)


@wp.func
def door(grid: wp.array3d(dtype=wp.uint8), env: int, y: int, x: int, color: int):
    """A closed door of ``color`` at (y, x)."""
    set_cell(grid, env, y, x, packed(DOOR_CLOSED_TILE, color))


@wp.func
def draw_layout(grid: wp.array3d(dtype=wp.uint8), env: int, layout: int, rng: wp.array(dtype=wp.uint32)):
    """Floor, walls and doors of layout R1/R2/R4/R6/R9 (codes 1, 2, 4, 6, 9)."""
    h = grid.shape[1]
    w = grid.shape[2]
    for y in range(h):
        for x in range(w):
            grid[env, y, x] = wp.uint8(W_FLOOR_BLACK)
    hline(grid, env, 0, 0, w, W_WALL_GREY)
    hline(grid, env, 0, h - 1, w, W_WALL_GREY)
    vline(grid, env, 0, 0, h, W_WALL_GREY)
    vline(grid, env, w - 1, 0, h, W_WALL_GREY)
    if layout == 2:
        vline(grid, env, w // 2, 0, h, W_WALL_GREY)
        c = door_color(rng, env)
        door(grid, env, rand_int(rng, env, 1, h - 1), w // 2, c)
    elif layout == 4:
        vline(grid, env, w // 2, 0, h, W_WALL_GREY)
        hline(grid, env, 0, h // 2, w, W_WALL_GREY)
        o0 = rand_int(rng, env, 1, h // 2)
        o1 = rand_int(rng, env, 1, h // 2)
        o2 = rand_int(rng, env, 1, h // 2)
        o3 = rand_int(rng, env, 1, h // 2)
        door(grid, env, h // 2, o0, door_color(rng, env))
        door(grid, env, h // 2, w // 2 + o1, door_color(rng, env))
        door(grid, env, o2, w // 2, door_color(rng, env))
        door(grid, env, h // 2 + o3, w // 2, door_color(rng, env))
    elif layout == 6:
        vline(grid, env, w // 2 - 2, 0, h, W_WALL_GREY)
        vline(grid, env, w // 2 + 2, 0, h, W_WALL_GREY)
        for i in range(1, 3):
            hline(grid, env, 0, i * (h // 3), w // 2 - 2, W_WALL_GREY)
            hline(grid, env, w // 2 + 2, i * (h // 3), w // 2 - 2, W_WALL_GREY)
        for side in range(2):
            x = w // 2 - 2 + 4 * side
            door(grid, env, h // 2 - h // 3, x, door_color(rng, env))
            door(grid, env, h // 2, x, door_color(rng, env))
            door(grid, env, h // 2 + h // 3, x, door_color(rng, env))
    elif layout == 9:
        room_w = w // 3
        room_h = h // 3
        vline(grid, env, room_w, 0, h, W_WALL_GREY)
        vline(grid, env, 2 * room_w, 0, h, W_WALL_GREY)
        hline(grid, env, 0, room_h, w, W_WALL_GREY)
        hline(grid, env, 0, 2 * room_h, w, W_WALL_GREY)
        for i in range(3):
            for j in range(3):
                x_left = i * room_w
                y_top = j * room_h
                if i + 1 < 3:
                    door(grid, env, y_top + rand_int(rng, env, 1, room_w), x_left + room_w, door_color(rng, env))
                if j + 1 < 3:
                    door(grid, env, y_top + room_h, x_left + rand_int(rng, env, 1, room_w), door_color(rng, env))


@wp.func
def random_floor_cell(grid: wp.array3d(dtype=wp.uint8), env: int, rng: wp.array(dtype=wp.uint32)) -> wp.vec2i:
    """A uniformly drawn floor cell (y, x) (rejection sampling over the grid)."""
    h = grid.shape[1]
    w = grid.shape[2]
    for _try in range(4096):
        k = rand_int(rng, env, 0, h * w)
        if (int(grid[env, k // w, k % w]) >> 4) == W_FLOOR:
            return wp.vec2i(k // w, k % w)
    for k in range(h * w):  # practically never: a scan keeps the reset total
        if (int(grid[env, k // w, k % w]) >> 4) == W_FLOOR:
            return wp.vec2i(k // w, k % w)
    return wp.vec2i(1, 1)


@wp.struct
class ResetParams:
    """What a reset reads besides the level: layout code, observation layout."""

    layout: int  # 1, 2, 4, 6 or 9 rooms
    obs: ObsLayout


@wp.func
def reset_row(p: ResetParams, seed: wp.array(dtype=wp.int32), counter: wp.array(dtype=wp.int32),
              rng: wp.array(dtype=wp.uint32), goal: wp.array2d(dtype=wp.uint8), rules: wp.array3d(dtype=wp.uint8),
              num_rules: wp.array(dtype=wp.int32), init_tiles: wp.array3d(dtype=wp.uint8),
              rule_hidden: wp.array2d(dtype=wp.uint8), grid: wp.array3d(dtype=wp.uint8), pos: wp.array2d(dtype=wp.int32),
              direction: wp.array(dtype=wp.int32), pocket: wp.array(dtype=wp.int32), step_count: wp.array(dtype=wp.int32),
              goal_code: wp.array2d(dtype=wp.int32), rule_code: wp.array3d(dtype=wp.int32),
              rule_count: wp.array(dtype=wp.int32), obs: wp.array2d(dtype=float), env: int):
    """Row ``env``: lay out rooms and doors, place the level's objects and the agent, load the ruleset, observe."""
    rng[env] = wp.rand_init(seed[env] ^ PLACEMENT_SALT, counter[env])
    draw_layout(grid, env, p.layout, rng)
    for t in range(init_tiles.shape[1]):
        tile = packed(int(init_tiles[env, t, 0]), int(init_tiles[env, t, 1]))
        if tile != 0:
            cell = random_floor_cell(grid, env, rng)
            set_cell(grid, env, cell[0], cell[1], tile)
    cell = random_floor_cell(grid, env, rng)
    pos[env, 0] = cell[0]
    pos[env, 1] = cell[1]
    direction[env] = rand_int(rng, env, 0, 4)
    pocket[env] = 0
    step_count[env] = 0
    # ruleset: packed codes for the step kernel
    gid = int(goal[env, 0])
    goal_code[env, 0] = gid
    goal_code[env, 1] = packed(int(goal[env, 1]), int(goal[env, 2]))
    goal_code[env, 2] = packed(int(goal[env, 3]), int(goal[env, 4]))
    goal_code[env, 3] = wp.where(gid == 6, int(goal[env, 1]), int(goal[env, 3]))  # position goals: (y, x)
    goal_code[env, 4] = wp.where(gid == 6, int(goal[env, 2]), int(goal[env, 4]))
    for r in range(rules.shape[1]):
        rule_code[env, r, 0] = int(rules[env, r, 0])
        rule_code[env, r, 1] = packed(int(rules[env, r, 1]), int(rules[env, r, 2]))
        rule_code[env, r, 2] = packed(int(rules[env, r, 3]), int(rules[env, r, 4]))
        rule_code[env, r, 3] = packed(int(rules[env, r, 5]), int(rules[env, r, 6]))
    rule_count[env] = wp.clamp(num_rules[env], 0, rules.shape[1])
    write_view(obs, p.obs, grid, env, pos[env, 0], pos[env, 1], direction[env], 0)
    write_task(obs, p.obs, goal, rules, rule_hidden, env)


@wp.kernel
def reset_rows(p: ResetParams, rows: wp.array(dtype=wp.bool), seed: wp.array(dtype=wp.int32),
               counter: wp.array(dtype=wp.int32), rng: wp.array(dtype=wp.uint32),
               # Level in:
               goal: wp.array2d(dtype=wp.uint8), rules: wp.array3d(dtype=wp.uint8), num_rules: wp.array(dtype=wp.int32),
               init_tiles: wp.array3d(dtype=wp.uint8), rule_hidden: wp.array2d(dtype=wp.uint8),
               # State out:
               grid: wp.array3d(dtype=wp.uint8), pos: wp.array2d(dtype=wp.int32), direction: wp.array(dtype=wp.int32),
               pocket: wp.array(dtype=wp.int32), step_count: wp.array(dtype=wp.int32),
               goal_code: wp.array2d(dtype=wp.int32), rule_code: wp.array3d(dtype=wp.int32),
               rule_count: wp.array(dtype=wp.int32), obs: wp.array2d(dtype=float)):
    """Reset every row set in ``rows`` (:func:`reset_row`)."""
    env = wp.tid()
    if rows[env]:
        reset_row(p, seed, counter, rng, goal, rules, num_rules, init_tiles, rule_hidden, grid, pos, direction, pocket,
                  step_count, goal_code, rule_code, rule_count, obs, env)


SOURCE_KEPT, SOURCE_GENERATOR, SOURCE_BANK = 0, 1, 2


@wp.struct
class LevelSource:
    """Where a reset row without an assigned level gets its next ruleset."""

    source: int  # SOURCE_KEPT (no random levels: the row's level is kept), SOURCE_GENERATOR or SOURCE_BANK
    gen: GenParams


@wp.func
def next_level(src: LevelSource, seed: wp.array(dtype=wp.int32), counter: wp.array(dtype=wp.int32),
               level_pending: wp.array(dtype=wp.bool), gen_rng: wp.array(dtype=wp.uint32),
               work: wp.array2d(dtype=wp.int32), bank_goal: wp.array2d(dtype=wp.uint8),
               bank_rules: wp.array3d(dtype=wp.uint8), bank_num: wp.array(dtype=wp.int32),
               bank_tiles: wp.array3d(dtype=wp.uint8), goal: wp.array2d(dtype=wp.uint8), rules: wp.array3d(dtype=wp.uint8),
               num_rules: wp.array(dtype=wp.int32), init_tiles: wp.array3d(dtype=wp.uint8),
               rule_hidden: wp.array2d(dtype=wp.uint8), env: int) -> bool:
    """Draw row ``env``'s random level of (seed, counter) unless one is pending or levels are kept; True if drawn."""
    if src.source == SOURCE_KEPT or level_pending[env]:
        return False
    if src.source == SOURCE_GENERATOR:
        generate_row(src.gen, seed, counter, gen_rng, work, goal, rules, num_rules, init_tiles, rule_hidden, env)
    else:
        bank_row(src.gen, seed, counter, gen_rng, bank_goal, bank_rules, bank_num, bank_tiles, goal, rules, num_rules,
                 init_tiles, rule_hidden, env)
    return True


@wp.struct
class ResetArrays:
    """The arrays a reset reads and writes besides the live state, for kernels whose resets are rare.

    A kernel takes them as ``wp.array(dtype=ResetArrays)`` of one element (one per row chunk) and loads it only
    in a row that resets: as separate kernel arguments the CPU build loads and spills every one of them for
    every row at entry (about 20 ns per row, ``benchmarks/README.md``'s xland section).
    """

    seed: wp.array(dtype=wp.int32)
    counter: wp.array(dtype=wp.int32)
    level_pending: wp.array(dtype=wp.bool)
    level_id: wp.array(dtype=wp.int64)
    rng: wp.array(dtype=wp.uint32)
    gen_rng: wp.array(dtype=wp.uint32)
    work: wp.array2d(dtype=wp.int32)
    # Bank (SOURCE_BANK; shared by every row):
    bank_goal: wp.array2d(dtype=wp.uint8)
    bank_rules: wp.array3d(dtype=wp.uint8)
    bank_num: wp.array(dtype=wp.int32)
    bank_tiles: wp.array3d(dtype=wp.uint8)
    # Level records in/out:
    goal: wp.array2d(dtype=wp.uint8)
    rules: wp.array3d(dtype=wp.uint8)
    num_rules: wp.array(dtype=wp.int32)
    init_tiles: wp.array3d(dtype=wp.uint8)
    rule_hidden: wp.array2d(dtype=wp.uint8)


@wp.func
def draw_and_reset_row(p: ResetParams, src: LevelSource, c: ResetArrays, grid: wp.array3d(dtype=wp.uint8),
                       pos: wp.array2d(dtype=wp.int32), direction: wp.array(dtype=wp.int32),
                       pocket: wp.array(dtype=wp.int32), step_count: wp.array(dtype=wp.int32),
                       goal_code: wp.array2d(dtype=wp.int32), rule_code: wp.array3d(dtype=wp.int32),
                       rule_count: wp.array(dtype=wp.int32), obs: wp.array2d(dtype=float), env: int) -> bool:
    """Row ``env``'s next level (:func:`next_level`), then :func:`reset_row`; True if a random level was drawn."""
    drawn = next_level(src, c.seed, c.counter, c.level_pending, c.gen_rng, c.work, c.bank_goal, c.bank_rules,
                       c.bank_num, c.bank_tiles, c.goal, c.rules, c.num_rules, c.init_tiles, c.rule_hidden, env)
    reset_row(p, c.seed, c.counter, c.rng, c.goal, c.rules, c.num_rules, c.init_tiles, c.rule_hidden, grid, pos,
              direction, pocket, step_count, goal_code, rule_code, rule_count, obs, env)
    return drawn


@wp.kernel
def draw_and_reset(p: ResetParams, src: LevelSource, rows: wp.array(dtype=wp.bool),
                   # Level draw and reset bookkeeping (one element):
                   cold: wp.array(dtype=ResetArrays),
                   # State out:
                   grid: wp.array3d(dtype=wp.uint8), pos: wp.array2d(dtype=wp.int32), direction: wp.array(dtype=wp.int32),
                   pocket: wp.array(dtype=wp.int32), step_count: wp.array(dtype=wp.int32),
                   goal_code: wp.array2d(dtype=wp.int32), rule_code: wp.array3d(dtype=wp.int32),
                   rule_count: wp.array(dtype=wp.int32), obs: wp.array2d(dtype=float)):
    """For every row set in ``rows``: its next level, then its reset (:func:`draw_and_reset_row`: one launch for
    what the level draw and ``reset_rows`` do one after another)."""
    env = wp.tid()
    if not rows[env]:
        return
    draw_and_reset_row(p, src, cold[0], grid, pos, direction, pocket, step_count, goal_code, rule_code, rule_count, obs,
                       env)
