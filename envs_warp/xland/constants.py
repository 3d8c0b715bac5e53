"""XLand-MiniGrid's integer encoding (``xminigrid`` 0.9.3): tiles, colours, goal and rule ids, packed cells.

A grid cell, a pocket and every tile argument of a goal or rule is a (tile, colour) pair. Kernels keep
a pair packed in one byte, ``tile << 4 | colour`` (tile < 13, colour < 12), so a tile comparison is
one integer compare; (0, 0) packs to 0, the empty tile (padding, an empty pocket, off-grid cells).

Goal encoding (5 ints): ``[id, a0, a1, b0, b1]``; rule encoding (7 ints): ``[id, a0, a1, b0, b1, c0, c1]``
(a, b, c are tile pairs, except the position goals, whose pairs are (y, x) cells). Directions are
0 up (−y), 1 right (+x), 2 down (+y), 3 left (−x); the grid is indexed ``[y, x]`` with y down.
"""
from __future__ import annotations

import warp as wp

# ---------------------------------------------------------------------------- tiles and colours
EMPTY, FLOOR, WALL, BALL, SQUARE, PYRAMID, GOAL, KEY, DOOR_LOCKED, DOOR_CLOSED, DOOR_OPEN, HEX, STAR = range(13)
NUM_TILES = 13
TILE_NAMES = ("empty", "floor", "wall", "ball", "square", "pyramid", "goal", "key", "door_locked", "door_closed",
              "door_open", "hex", "star")

C_EMPTY, RED, GREEN, BLUE, PURPLE, YELLOW, GREY, BLACK, ORANGE, WHITE, BROWN, PINK = range(12)
NUM_COLORS = 12
COLOR_NAMES = ("empty", "red", "green", "blue", "purple", "yellow", "grey", "black", "orange", "white", "brown", "pink")

NUM_ACTIONS = 6
FORWARD, TURN_RIGHT, TURN_LEFT, PICK_UP, PUT_DOWN, TOGGLE = range(6)
ACTION_NAMES = ("forward", "turn_right", "turn_left", "pick_up", "put_down", "toggle")
DIRECTIONS = ((-1, 0), (0, 1), (1, 0), (0, -1))  # (dy, dx) of up, right, down, left

PICKABLE = (BALL, SQUARE, PYRAMID, KEY, HEX, STAR)
WALKABLE = (FLOOR, GOAL, DOOR_OPEN)
DOOR_COLORS = (RED, GREEN, BLUE, PURPLE, YELLOW, GREY)  # doors between rooms
GOAL_LEN, RULE_LEN = 5, 7

# ---------------------------------------------------------------------------- goal and rule ids
GOAL_NAMES = ("empty", "agent_hold", "agent_on_tile", "agent_near", "tile_near", "tile_on_position",
              "agent_on_position", "tile_near_up", "tile_near_right", "tile_near_down", "tile_near_left",
              "agent_near_up", "agent_near_right", "agent_near_down", "agent_near_left")
NUM_GOALS = len(GOAL_NAMES)  # 15
RULE_NAMES = ("empty", "agent_hold", "agent_near", "tile_near", "tile_near_up", "tile_near_right", "tile_near_down",
              "tile_near_left", "agent_near_up", "agent_near_right", "agent_near_down", "agent_near_left")
NUM_RULES = len(RULE_NAMES)  # 12


def pack(tile: int, color: int) -> int:
    """One byte holding a (tile, colour) pair."""
    return (tile << 4) | color


def unpack(cell: int) -> tuple[int, int]:
    """The (tile, colour) pair of a packed byte."""
    return cell >> 4, cell & 15


# ---------------------------------------------------------------------------- kernel constants
W_FLOOR_BLACK = wp.constant(pack(FLOOR, BLACK))  # what pick-ups and tile rules leave behind
W_WALL_GREY = wp.constant(pack(WALL, GREY))
W_FLOOR = wp.constant(FLOOR)
W_GOAL = wp.constant(GOAL)
W_KEY = wp.constant(KEY)
W_DOOR_LOCKED = wp.constant(DOOR_LOCKED)
W_DOOR_CLOSED = wp.constant(DOOR_CLOSED)
W_DOOR_OPEN = wp.constant(DOOR_OPEN)
W_WALL = wp.constant(WALL)


@wp.func
def tile_of(cell: int) -> int:
    """Tile id of a packed cell."""
    return cell >> 4


@wp.func
def color_of(cell: int) -> int:
    """Colour id of a packed cell."""
    return cell & 15


@wp.func
def packed(tile: int, color: int) -> int:
    """Packed cell of a (tile, colour) pair."""
    return (tile << 4) | color


@wp.func
def is_walkable(cell: int) -> bool:
    """Floor, goal and open doors can be walked on."""
    t = cell >> 4
    return t == W_FLOOR or t == W_GOAL or t == W_DOOR_OPEN


@wp.func
def is_pickable(cell: int) -> bool:
    """Balls, squares, pyramids, keys, hexes and stars can be picked up."""
    t = cell >> 4
    return t == 3 or t == 4 or t == 5 or t == 7 or t == 11 or t == 12


@wp.func
def dir_dy(d: int) -> int:
    """Row step of direction ``d`` (0 up, 1 right, 2 down, 3 left)."""
    if d == 0:
        return -1
    if d == 2:
        return 1
    return 0


@wp.func
def dir_dx(d: int) -> int:
    """Column step of direction ``d``."""
    if d == 1:
        return 1
    if d == 3:
        return -1
    return 0


@wp.func
def cell_at(grid: wp.array3d(dtype=wp.uint8), env: int, y: int, x: int) -> int:
    """Packed cell ``grid[env, y, x]``; off-grid cells read as the empty tile (0)."""
    if y < 0 or x < 0 or y >= grid.shape[1] or x >= grid.shape[2]:
        return 0
    return int(grid[env, y, x])


@wp.func
def set_cell(grid: wp.array3d(dtype=wp.uint8), env: int, y: int, x: int, value: int):
    """Write a packed cell; writes off the grid are dropped."""
    if y < 0 or x < 0 or y >= grid.shape[1] or x >= grid.shape[2]:
        return
    grid[env, y, x] = wp.uint8(value)
