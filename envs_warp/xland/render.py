"""Pictures of XLand rows: tiles, colours, doors, the agent and its pocket; PNG/GIF of a rollout."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from PIL import Image, ImageDraw

from ..core.render import save_png, save_video
from .constants import (BALL, DOOR_CLOSED, DOOR_LOCKED, DOOR_OPEN, EMPTY, FLOOR, GOAL, HEX, KEY, PYRAMID, SQUARE,
                        STAR, WALL)

# XLand-MiniGrid's palette (rendering/rgb_render.py), by colour id
PALETTE = ((255, 255, 255), (255, 0, 0), (0, 255, 0), (0, 0, 255), (112, 39, 195), (255, 255, 0), (100, 100, 100),
           (0, 0, 0), (255, 140, 0), (255, 255, 255), (160, 82, 45), (225, 20, 147))


def _regular(cx: float, cy: float, r: float, sides: int, start: float = -math.pi / 2) -> list[tuple[float, float]]:
    return [(cx + r * math.cos(start + 2 * math.pi * k / sides), cy + r * math.sin(start + 2 * math.pi * k / sides))
            for k in range(sides)]


def draw_tile(draw: ImageDraw.ImageDraw, x0: int, y0: int, px: int, tile: int, color: int) -> None:
    """One cell's tile at pixel corner (x0, y0), ``px`` wide."""
    c = PALETTE[color % len(PALETTE)]
    cx, cy, r = x0 + px / 2, y0 + px / 2, px * 0.32
    box = [x0, y0, x0 + px - 1, y0 + px - 1]
    if tile == EMPTY:
        draw.rectangle(box, fill=(20, 20, 20))
        return
    draw.rectangle(box, fill=tuple(v // 2 for v in PALETTE[7]) if tile != WALL else c, outline=(60, 60, 60))
    if tile == FLOOR and color not in (0, 7):
        draw.rectangle(box, fill=tuple(v // 2 for v in c), outline=(60, 60, 60))
    elif tile == GOAL:
        draw.rectangle([x0 + 2, y0 + 2, x0 + px - 3, y0 + px - 3], fill=c)
    elif tile == BALL:
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=c)
    elif tile == SQUARE:
        draw.rectangle([cx - r * 0.85, cy - r * 0.85, cx + r * 0.85, cy + r * 0.85], fill=c)
    elif tile == PYRAMID:
        draw.polygon(_regular(cx, cy + r * 0.2, r * 1.1, 3), fill=c)
    elif tile == HEX:
        draw.polygon(_regular(cx, cy, r, 6, 0.0), fill=c)
    elif tile == STAR:
        pts = []
        for k in range(10):
            rr = r * (1.0 if k % 2 == 0 else 0.45)
            a = -math.pi / 2 + math.pi * k / 5
            pts.append((cx + rr * math.cos(a), cy + rr * math.sin(a)))
        draw.polygon(pts, fill=c)
    elif tile == KEY:
        draw.ellipse([cx - r * 0.5, cy - r, cx + r * 0.5, cy - r * 0.1], outline=c, width=max(1, px // 12))
        draw.rectangle([cx - px * 0.04, cy - r * 0.1, cx + px * 0.04, cy + r], fill=c)
        draw.rectangle([cx, cy + r * 0.5, cx + r * 0.4, cy + r * 0.65], fill=c)
    elif tile in (DOOR_CLOSED, DOOR_LOCKED):
        draw.rectangle([x0 + 1, y0 + 1, x0 + px - 2, y0 + px - 2], fill=tuple(v // 3 for v in c), outline=c,
                       width=max(1, px // 10))
        if tile == DOOR_LOCKED:
            draw.rectangle([cx - px * 0.08, cy - px * 0.04, cx + px * 0.2, cy + px * 0.04], fill=c)
        else:
            draw.ellipse([x0 + px * 0.7, cy - px * 0.06, x0 + px * 0.82, cy + px * 0.06], fill=c)
    elif tile == DOOR_OPEN:
        draw.rectangle([x0 + px - px // 6, y0, x0 + px - 1, y0 + px - 1], outline=c, width=max(1, px // 10))


def draw_grid(grid: np.ndarray, pos: Sequence[int], direction: int, pocket: int = 0, px: int = 24,
              trail: np.ndarray | None = None, status: str | None = None) -> np.ndarray:
    """``[H·px (+ status strip), W·px, 3]`` uint8 picture of a packed grid ``[H, W]`` with the agent at (y, x).

    The strip below the grid (drawn when ``status`` is given) shows the text and the pocket's tile.
    """
    h, w = grid.shape
    strip = px if status is not None else 0
    image = Image.new("RGB", (w * px, h * px + strip), (30, 30, 30))
    draw = ImageDraw.Draw(image)
    for y in range(h):
        for x in range(w):
            cell = int(grid[y, x])
            draw_tile(draw, x * px, y * px, px, cell >> 4, cell & 15)
    if trail is not None and len(trail) > 1:
        pts = [(float(cx) * px, (h - float(cy)) * px) for cx, cy in trail]  # (x, y up) cell units -> pixels
        draw.line(pts, fill=(255, 80, 80), width=max(1, px // 12))
    ay, ax = int(pos[0]), int(pos[1])
    cx, cy = ax * px + px / 2, ay * px + px / 2
    angle = (-math.pi / 2, 0.0, math.pi / 2, math.pi)[int(direction) % 4]  # up, right, down, left in image coords
    tri = [(cx + px * 0.4 * math.cos(angle + a), cy + px * 0.4 * math.sin(angle + a)) for a in (0.0, 2.4, -2.4)]
    draw.polygon(tri, fill=(255, 60, 60), outline=(255, 255, 255))
    if status is not None:
        draw.text((4, h * px + px * 0.25), status, fill=(220, 220, 220))
        if pocket:
            draw_tile(draw, w * px - px, h * px, px, pocket >> 4, pocket & 15)
    return np.asarray(image)


def draw_row(env, row: int, trails: list | None = None, px: int = 24) -> np.ndarray:
    """The World's renderer: row ``row`` of an :class:`XLandEnv` as ``[H, W, 3]`` uint8 (trail in cell units)."""
    trail = None if not trails else np.asarray(trails[0])
    t = int(env.step_count[row])
    status = f"t={t}/{env.cfg.max_steps}" + (" reward" if bool(env.terminated[row]) else "") + "  pocket:"
    return draw_grid(env.grid[row].cpu().numpy(), env.pos[row].tolist(), int(env.direction[row]),
                     int(env.pocket[row]), px=px, trail=trail, status=status)


def render_rollout(env, policy: Callable[[torch.Tensor], torch.Tensor] | None, path: str | Path, row: int = 0,
                   steps: int | None = None, px: int = 24, fps: int = 8) -> Path:
    """Roll ``env`` (reset first) for ``steps`` (default: until row ``row``'s episode ends) and save PNG or GIF.

    ``policy`` maps the TensorDict to one with ``("agents", "action")`` (default: random actions).
    A ``.png`` path saves the first frame only.
    """
    td = env.reset()
    frames = [draw_row(env, row, px=px)]
    limit = steps or env.cfg.max_steps
    for _ in range(limit if Path(path).suffix != ".png" else 0):
        td = policy(td) if policy is not None else env.rand_action(td)
        td = env.step(td)
        frames.append(draw_row(env, row, px=px))
        if steps is None and bool(td["next", "done"][row]):
            break
        td = env.step_mdp(td)
    if Path(path).suffix == ".png":
        return save_png(frames[0], path)
    return save_video(frames, path, fps=fps)


def main(argv: list[str] | None = None) -> Path:
    """``python -m envs_warp.xland.render --out roll.gif``: a random-action rollout of one random level."""
    import argparse

    from .config import XLandConfig
    from .env import XLandEnv

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--layout", default="R4")
    parser.add_argument("--size", type=int, default=13)
    parser.add_argument("--benchmark", default="small", help="preset or ruleset file")
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--px", type=int, default=24)
    parser.add_argument("--out", default="xland_rollout.gif", help=".gif (rollout) or .png (first frame)")
    args = parser.parse_args(argv)
    env = XLandEnv(XLandConfig(layout=args.layout, height=args.size, width=args.size, benchmark=args.benchmark),
                   num_envs=1, seed=args.seed)
    path = render_rollout(env, None, args.out, steps=args.steps, px=args.px)
    print(f"wrote {path}")
    return path


if __name__ == "__main__":
    main()
