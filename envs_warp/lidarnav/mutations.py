"""ACCEL-style level mutations for lidarnav: small random edits of walls, goals and starts.

Each edit is one of three operators, drawn uniformly per level:

- ``TOGGLE``: flip one interior cell between wall and free. Never the border, never a cell that a
  robot's start clearance (``rad * start_pad``, and the robot's own body) or a goal's clearance
  (``goal_clearance``) touches, and never a cell already toggled by this call (so edits cannot undo
  each other).
- ``MOVE_GOAL``: put one robot's goal on the centre of a random free interior cell whose
  ``goal_clearance`` circle touches no wall.
- ``MOVE_START``: put one robot's start on the centre of a random free interior cell whose start
  clearance touches no wall, with a random heading in [-π, π).

Moved starts and goals never land on a cell that holds (or held, in the parent) any robot's start or
goal, keep the generator's spacing (starts and goals of different robots more than
``2 * rad * start_pad`` apart, a robot's start and goal more than ``2 * rad`` apart) and stay inside
the map. A level where the drawn operator has no legal target gets a toggle instead. Mutants need
not be solvable; callers filter them (``LevelGenerator(cfg).solvable``).
"""
from __future__ import annotations

import math

import torch
from tensordict import TensorDict

from .config import LidarNavConfig

TOGGLE, MOVE_GOAL, MOVE_START = 0, 1, 2
NUM_OPERATORS = 3


def _cell_of(xy: torch.Tensor, cfg: LidarNavConfig) -> torch.Tensor:
    """``[...]`` flat cell index ``y * W + x`` of points ``xy`` ``[..., 2]`` [m] (clamped into the grid)."""
    cx = torch.floor(xy[..., 0] / cfg.cell_size).long().clamp(0, cfg.map_width - 1)
    cy = torch.floor(xy[..., 1] / cfg.cell_size).long().clamp(0, cfg.map_height - 1)
    return cy * cfg.map_width + cx


def _cells_marked(cells: torch.Tensor, num_cells: int) -> torch.Tensor:
    """``[B, H*W]`` bool: which cells appear in ``cells`` ``[B, K]`` (flat indices)."""
    out = torch.zeros(cells.shape[0], num_cells, dtype=torch.bool, device=cells.device)
    return out.scatter_(1, cells, True)


def _cells_touched_by(points: torch.Tensor, radius: float, cfg: LidarNavConfig) -> torch.Tensor:
    """``[B, H*W]`` bool: cells whose square lies within ``radius`` [m] of any point ``[B, K, 2]`` (touching counts)."""
    h, w, c = cfg.map_height, cfg.map_width, cfg.cell_size
    lo_x = torch.arange(w, device=points.device, dtype=points.dtype) * c  # [W]
    lo_y = torch.arange(h, device=points.device, dtype=points.dtype) * c  # [H]
    px, py = points[..., 0, None], points[..., 1, None]  # [B, K, 1]
    dx = (px - px.clamp(lo_x, lo_x + c)).square()  # [B, K, W]
    dy = (py - py.clamp(lo_y, lo_y + c)).square()  # [B, K, H]
    dist2 = dy[..., :, None] + dx[..., None, :]  # [B, K, H, W]
    return (dist2 <= radius * radius).any(1).flatten(1)  # [B, H*W]


def _wall_within(walls: torch.Tensor, radius: float, cfg: LidarNavConfig) -> torch.Tensor:
    """``[B, H*W]`` bool: a wall cell (or the outside) lies within ``radius`` [m] of the cell's centre."""
    c = cfg.cell_size
    k = int(math.ceil(radius / c + 0.5))
    h, w = walls.shape[1:]
    padded = torch.nn.functional.pad(walls.bool(), (k, k, k, k), value=True)  # [B, H+2k, W+2k]
    near = torch.zeros_like(walls, dtype=torch.bool)  # [B, H, W]
    for oy in range(-k, k + 1):
        for ox in range(-k, k + 1):
            gap = c * math.hypot(max(abs(ox) - 0.5, 0.0), max(abs(oy) - 0.5, 0.0))  # centre to cell square
            if gap <= radius:
                near |= padded[:, k + oy:k + oy + h, k + ox:k + ox + w]
    return near.flatten(1)


def _far_from(centres: torch.Tensor, points: torch.Tensor, skip: torch.Tensor, dist: float) -> torch.Tensor:
    """``[B, H*W]`` bool: centre more than ``dist`` [m] from all points ``[B, A, 2]`` but robot ``skip`` ``[B]``."""
    gap2 = (centres[None, None] - points[:, :, None]).square().sum(-1)  # [B, A, H*W]
    a = torch.arange(points.shape[1], device=points.device)
    ignored = (a[None] == skip[:, None])[..., None]  # [B, A, 1]
    return ((gap2 > dist * dist) | ignored).all(1)


def _own(points: torch.Tensor, agent: torch.Tensor) -> torch.Tensor:
    """``[B, 1, D]``: robot ``agent[b]``'s row of ``points`` ``[B, A, D]``."""
    return points.gather(1, agent.view(-1, 1, 1).expand(-1, 1, points.shape[-1]))


def mutate_levels(
    levels: TensorDict, cfg: LidarNavConfig, generator: torch.Generator, num_edits: int = 3
) -> TensorDict:
    """A new batch ``[B]`` of mutants, each with ``num_edits`` random edits (toggle a cell, move a goal or a start)."""
    out = levels.clone()
    walls = out["walls"].contiguous()  # [B, H, W] uint8
    start = out["start"].contiguous()  # [B, A, 3] (x [m], y [m], θ [rad])
    goal = out["goal"].contiguous()  # [B, A, 2] [m]
    b, h, w = walls.shape
    a, dev = cfg.num_agents, walls.device
    hw = h * w
    rows = torch.arange(b, device=dev)

    ys, xs = torch.meshgrid(torch.arange(h, device=dev), torch.arange(w, device=dev), indexing="ij")
    centres = (torch.stack([xs, ys], -1).flatten(0, 1).to(start.dtype) + 0.5) * cfg.cell_size  # [H*W, 2]
    interior = ((xs > 0) & (xs < w - 1) & (ys > 0) & (ys < h - 1)).flatten()[None]  # [1, H*W]
    body = cfg.half_side * math.sqrt(2.0) if cfg.robot_shape == "square" else cfg.rad
    r_start = max(cfg.rad * cfg.start_pad, body)  # [m] start clearance from walls
    spacing = 2.0 * cfg.rad * cfg.start_pad  # [m] between robots' starts, and between their goals
    own_gap = 2.0 * cfg.rad  # [m] between a robot's start and its goal
    parent_cells = _cells_marked(torch.cat([_cell_of(start[..., :2], cfg), _cell_of(goal, cfg)], 1), hw)
    toggled = torch.zeros(b, hw, dtype=torch.bool, device=dev)  # [B, H*W]

    for _ in range(num_edits):
        # every draw happens for every level, whatever the operator: the output depends only on the generator
        op = torch.randint(0, NUM_OPERATORS, (b,), generator=generator, device=dev)  # [B]
        agent = torch.randint(0, a, (b,), generator=generator, device=dev)  # [B]
        score = torch.rand(b, hw, generator=generator, device=dev)  # [B, H*W]
        theta = (torch.rand(b, generator=generator, device=dev) * 2.0 - 1.0) * math.pi  # [B] [rad]
        theta = torch.where(theta >= math.pi, torch.full_like(theta, -math.pi), theta).to(start.dtype)

        free = walls.flatten(1) == 0  # [B, H*W]
        spots = torch.cat([_cell_of(start[..., :2], cfg), _cell_of(goal, cfg)], 1)  # [B, 2A]
        taken = parent_cells | _cells_marked(spots, hw)  # [B, H*W]
        cleared = (_cells_touched_by(start[..., :2], r_start, cfg) | _cells_touched_by(goal, cfg.goal_clearance, cfg)
                   | _cells_marked(spots, hw))
        can_toggle = interior & ~cleared & ~toggled
        open_cell = interior & free & ~taken
        can_goal = (open_cell & ~_wall_within(walls, cfg.goal_clearance, cfg)
                    & _far_from(centres, goal, agent, spacing)
                    & _far_from(centres, _own(start[..., :2], agent), torch.full_like(agent, -1), own_gap))
        can_start = (open_cell & ~_wall_within(walls, r_start, cfg)
                     & _far_from(centres, start[..., :2], agent, spacing)
                     & _far_from(centres, _own(goal, agent), torch.full_like(agent, -1), own_gap))
        legal = torch.stack([can_toggle, can_goal, can_start], 1)  # [B, 3, H*W]
        op = torch.where(legal[rows, op].any(-1), op, torch.full_like(op, TOGGLE))
        target = legal[rows, op]  # [B, H*W]
        cell = torch.where(target, score, torch.full_like(score, -1.0)).argmax(-1)  # [B]
        done = target.any(-1)  # [B] levels with a legal edit

        flip = done & (op == TOGGLE)
        flat = walls.view(b, hw)
        flat[rows, cell] = torch.where(flip, 1 - flat[rows, cell], flat[rows, cell])
        toggled[rows, cell] |= flip
        xy = centres[cell]  # [B, 2]
        move_goal = (done & (op == MOVE_GOAL))[:, None]
        goal[rows, agent] = torch.where(move_goal, xy, goal[rows, agent])
        move_start = (done & (op == MOVE_START))[:, None]
        start[rows, agent] = torch.where(move_start, torch.cat([xy, theta[:, None]], -1), start[rows, agent])

    out["walls"], out["start"], out["goal"] = walls, start, goal
    return out


__all__ = ["MOVE_GOAL", "MOVE_START", "NUM_OPERATORS", "TOGGLE", "mutate_levels"]
