"""Pictures of physics2d rows: bodies coloured by role, joints, thrusters, optional trails; PNG and GIF/MP4.

Colours follow Kinetix's convention: neutral grey (fixed bodies darker), green, blue, red. Joints
are small rings (filled when motorised, coloured by motor channel); thrusters are short bars
pointing along their thrust, coloured by thruster channel and brighter while firing.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from envs_warp.core.render import Canvas, save_png, save_video

from .levels import ARENA_SIZE, ROLE_BLUE, ROLE_GREEN, ROLE_NEUTRAL, ROLE_RED

BACKGROUND = (250, 250, 250)
ROLE_COLOURS = {
    ROLE_NEUTRAL: (150, 150, 150),
    ROLE_GREEN: (60, 180, 75),
    ROLE_BLUE: (50, 100, 220),
    ROLE_RED: (220, 50, 50),
}
STATIC_NEUTRAL = (90, 90, 90)
CHANNEL_COLOURS = [(230, 150, 20), (150, 60, 200), (20, 170, 170), (200, 80, 140)]
OUTLINE = (30, 30, 30)


def _rot(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, -s], [s, c]])


def draw_sim_row(sim, row: int, px_per_m: float = 80.0, trails: Sequence[np.ndarray] | None = None) -> np.ndarray:
    """One ``[H, W, 3]`` uint8 picture of row ``row`` of a ``Physics2DSim`` (host copy of that row only)."""
    P = sim.cap.polygons
    pos = sim.body_pos[row].cpu().numpy()  # [NB, 2]
    rot = sim.body_rot[row].cpu().numpy()  # [NB]
    active = sim.body_active[row].cpu().numpy()  # [NB]
    role = sim.body_role[row].cpu().numpy()  # [NB]
    inv_mass = sim.body_inv_mass[row].cpu().numpy()  # [NB]
    radius = sim.body_radius[row].cpu().numpy()  # [NB]
    verts = sim.poly_vertices[row].cpu().numpy()  # [P, 4, 2]
    n_verts = sim.poly_n_vertices[row].cpu().numpy()  # [P]
    canvas = Canvas(ARENA_SIZE, ARENA_SIZE, px_per_m, background=BACKGROUND)
    if active[0] and P > 0 and n_verts[0] > 0:
        top = float((verts[0, : n_verts[0]] @ _rot(float(rot[0])).T + pos[0])[:, 1].max())
        if top < 0.02:  # our walls put the floor's top at y = 0: show its role as a thin strip
            col = STATIC_NEUTRAL if role[0] == ROLE_NEUTRAL else ROLE_COLOURS.get(int(role[0]), STATIC_NEUTRAL)
            canvas.rect(0.0, 0.0, ARENA_SIZE, 4.0 / px_per_m, fill=col)
    for i in range(len(pos)):
        if not active[i]:
            continue
        fixed = inv_mass[i] == 0
        fill = STATIC_NEUTRAL if (fixed and role[i] == ROLE_NEUTRAL) else ROLE_COLOURS.get(int(role[i]), (0, 0, 0))
        if i < P:
            world = verts[i, : n_verts[i]] @ _rot(float(rot[i])).T + pos[i]
            canvas.polygon(world, fill=fill, outline=OUTLINE, width=1)
        else:
            r = float(radius[i])
            canvas.circle(float(pos[i, 0]), float(pos[i, 1]), r, fill=fill, outline=OUTLINE, width=1)
            tip = pos[i] + r * np.array([math.cos(rot[i]), math.sin(rot[i])])
            canvas.line(float(pos[i, 0]), float(pos[i, 1]), float(tip[0]), float(tip[1]), fill=OUTLINE, width=1)
    if trails is not None:
        for trail in trails:
            for a, b in zip(trail[:-1], trail[1:]):
                canvas.line(float(a[0]), float(a[1]), float(b[0]), float(b[1]), fill=ROLE_COLOURS[ROLE_GREEN], width=1)
    j_active = sim.joint_active[row].cpu().numpy()
    for j in np.nonzero(j_active)[0]:
        a = int(sim.joint_a[row, j])
        anchor = pos[a] + _rot(float(rot[a])) @ sim.joint_anchor_a[row, j].cpu().numpy()
        motor = bool(sim.joint_motor_on[row, j]) and not bool(sim.joint_fixed[row, j])
        col = CHANNEL_COLOURS[int(sim.joint_channel[row, j]) % len(CHANNEL_COLOURS)] if motor else (255, 255, 255)
        canvas.circle(float(anchor[0]), float(anchor[1]), 0.06, fill=col, outline=OUTLINE, width=1)
    t_active = sim.thruster_active[row].cpu().numpy()
    firing = sim.thruster_action[row].cpu().numpy()
    for t in np.nonzero(t_active)[0]:
        b = int(sim.thruster_body[row, t])
        mount = pos[b] + _rot(float(rot[b])) @ sim.thruster_position[row, t].cpu().numpy()
        ang = float(rot[b] + sim.thruster_rotation[row, t])
        channel = int(sim.thruster_channel[row, t])
        col = CHANNEL_COLOURS[channel % len(CHANNEL_COLOURS)]
        if firing[channel] <= 0:
            col = tuple(int(0.5 * c + 0.5 * 255) for c in col)
        back = mount - 0.2 * np.array([math.cos(ang), math.sin(ang)])  # the exhaust side
        canvas.line(float(mount[0]), float(mount[1]), float(back[0]), float(back[1]), fill=col, width=4)
    return canvas.to_array()


def draw_row(env, row: int, px_per_m: float = 80.0, trails: Sequence[np.ndarray] | None = None) -> np.ndarray:
    """One picture of env row ``row`` of a ``Physics2DEnv`` (``trails``: green's path per agent, ``[K, 2]`` each)."""
    return draw_sim_row(env.sim, row, px_per_m, trails)


@torch.no_grad()
def record_rollout(env, policy: Callable, steps: int, row: int = 0, **draw_kwargs) -> list[np.ndarray]:
    """Reset ``env``, run ``policy`` (TensorDict -> TensorDict with the action) and draw ``row`` each step.

    Stops early when that row's episode ends; the trail follows the green body.
    """
    td = env.reset()
    trail = [env.pos[row, 0].cpu().numpy().copy()]
    frames = [draw_row(env, row, trails=[np.array(trail)], **draw_kwargs)]
    for _ in range(steps):
        td = env.step(policy(td))
        trail.append(env.pos[row, 0].cpu().numpy().copy())
        frames.append(draw_row(env, row, trails=[np.array(trail)], **draw_kwargs))
        if bool(td["next", "done"][row]):
            break
        td = td["next"]
    return frames


def save_frame(env, row: int, path: str | Path, **draw_kwargs) -> Path:
    """Write the current picture of ``row`` as PNG."""
    return save_png(draw_row(env, row, **draw_kwargs), path)


def save_rollout(env, policy: Callable, steps: int, path: str | Path, row: int = 0, fps: int = 30,
                 **draw_kwargs) -> Path:
    """Record a rollout of ``row`` and write it as GIF (``.gif``) or MP4 (``.mp4``)."""
    return save_video(record_rollout(env, policy, steps, row, **draw_kwargs), path, fps=fps)


__all__ = ["ROLE_COLOURS", "draw_row", "draw_sim_row", "record_rollout", "save_frame", "save_rollout"]
