"""Pictures of lidar-navigation rows: walls, robots with headings, lidar beams, goals and trails."""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch

from ..core.render import Canvas

WALL = (60, 60, 70)
FREE = (245, 245, 240)
BEAM = (255, 170, 60)
ROBOT_COLOURS = [(40, 110, 220), (220, 60, 60), (40, 160, 80), (150, 70, 190), (230, 140, 20), (20, 160, 170)]


def robot_colour(i: int) -> tuple[int, int, int]:
    """Colour of robot ``i`` (its goal uses the same hue)."""
    return ROBOT_COLOURS[i % len(ROBOT_COLOURS)]


def draw_row(
    env,
    row: int,
    px_per_m: float = 40.0,
    beams: bool = True,
    beam_stride: int = 4,
    trails: Sequence[np.ndarray] | None = None,
) -> np.ndarray:
    """One ``[H, W, 3]`` uint8 picture of env row ``row`` (a host copy of that row only)."""
    cfg = env.cfg
    walls = env.walls[row].cpu().numpy()  # [H, W]
    pos = env.pos[row].cpu().numpy()  # [A, 2]
    theta = env.theta[row].cpu().numpy()  # [A]
    goal = env.goal[row].cpu().numpy()  # [A, 2]
    ranges = env.ranges[row].cpu().numpy()  # [A, B]
    reached = env.reached[row].cpu().numpy()
    crashed = env.crashed[row].cpu().numpy()
    c = cfg.cell_size
    canvas = Canvas(cfg.map_width * c, cfg.map_height * c, px_per_m, background=FREE)
    for y in range(cfg.map_height):
        for x in range(cfg.map_width):
            if walls[y, x]:
                canvas.rect(x * c, y * c, (x + 1) * c, (y + 1) * c, fill=WALL)
    for i in range(cfg.num_agents):
        col = robot_colour(i)
        canvas.circle(float(goal[i, 0]), float(goal[i, 1]), cfg.goal_radius, fill=None, outline=col, width=2)
        canvas.line(goal[i, 0] - 0.15, goal[i, 1], goal[i, 0] + 0.15, goal[i, 1], fill=col, width=2)
        canvas.line(goal[i, 0], goal[i, 1] - 0.15, goal[i, 0], goal[i, 1] + 0.15, fill=col, width=2)
    if trails is not None:
        for i, trail in enumerate(trails):
            for a, b in zip(trail[:-1], trail[1:]):
                canvas.line(float(a[0]), float(a[1]), float(b[0]), float(b[1]), fill=robot_colour(i), width=1)
    if beams:
        span = math.pi * cfg.lidar_angle_factor
        n = cfg.lidar_num_beams
        for i in range(cfg.num_agents):
            for b in range(0, n, beam_stride):
                ang = theta[i] - span + (2 * span * b / (n - 1) if n > 1 else 0.0)
                r = float(ranges[i, b])
                canvas.line(pos[i, 0], pos[i, 1], pos[i, 0] + r * math.cos(ang), pos[i, 1] + r * math.sin(ang), fill=BEAM)
    for i in range(cfg.num_agents):
        col = (120, 120, 120) if crashed[i] else robot_colour(i)
        outline = (0, 200, 0) if reached[i] else (20, 20, 20)
        if cfg.robot_shape == "square":
            h = cfg.half_side
            local = np.array([[-h, -h], [h, -h], [h, h], [-h, h]])
            rot = np.array([[math.cos(theta[i]), -math.sin(theta[i])], [math.sin(theta[i]), math.cos(theta[i])]])
            canvas.polygon(local @ rot.T + pos[i], fill=col, outline=outline, width=2)
            nose = h
        else:
            canvas.circle(float(pos[i, 0]), float(pos[i, 1]), cfg.rad, fill=col, outline=outline, width=2)
            nose = cfg.rad
        canvas.line(pos[i, 0], pos[i, 1], pos[i, 0] + nose * math.cos(theta[i]), pos[i, 1] + nose * math.sin(theta[i]),
                    fill=(255, 255, 255), width=2)
    return canvas.to_array()


@torch.no_grad()
def record_rollout(env, policy, steps: int, row: int = 0, **draw_kwargs) -> list[np.ndarray]:
    """Reset ``env``, run ``policy`` (TensorDict -> TensorDict with the action) for ``steps`` steps and draw ``row`` each step.

    Stops early when that row's episode ends; trails show each robot's path so far.
    """
    td = env.reset()
    trails = [[env.pos[row, i].cpu().numpy().copy()] for i in range(env.cfg.num_agents)]
    frames = [draw_row(env, row, trails=[np.array(t) for t in trails], **draw_kwargs)]
    for _ in range(steps):
        td = policy(td)
        td = env.step(td)
        for i in range(env.cfg.num_agents):
            trails[i].append(env.pos[row, i].cpu().numpy().copy())
        frames.append(draw_row(env, row, trails=[np.array(t) for t in trails], **draw_kwargs))
        if bool(td["next", "done"][row]):
            break
        td = td["next"]
    return frames
