"""Pictures: the agent and tiles land in their cells; rollouts are written as multi-frame GIFs."""
from __future__ import annotations

import numpy as np
from PIL import Image

from envs_warp.xland.config import XLandConfig
from envs_warp.xland.constants import BALL, BLUE, RED
from envs_warp.xland.env import XLandEnv
from envs_warp.xland.render import draw_row, render_rollout

from .helpers import env_with, hand_config, make_level, place


def test_agent_and_objects_are_drawn_in_their_cells():
    env = env_with(make_level(hand_config()))
    place(env, {(2, 6): (BALL, BLUE)}, pos=(4, 3), direction=1, pocket=(BALL, RED))
    px = 20
    img = draw_row(env, 0, px=px)
    assert img.shape == (9 * px + px, 9 * px, 3), "grid plus one status strip"
    ball = img[2 * px + px // 2, 6 * px + px // 2]
    assert tuple(ball) == (0, 0, 255), "blue ball at (y=2, x=6)"
    agent = img[4 * px + px // 2, 3 * px + px // 2]
    assert agent[0] > 200 and agent[1] < 100, "red agent triangle at (y=4, x=3)"
    strip = img[9 * px:, 8 * px:]
    assert (strip.reshape(-1, 3) == (255, 0, 0)).all(-1).any(), "the red pocket ball in the status strip"


def test_rollout_gif_has_one_frame_per_step(tmp_path):
    env = XLandEnv(XLandConfig(layout="R2", height=9, width=9, benchmark="small"), num_envs=2, seed=0)
    path = render_rollout(env, None, tmp_path / "roll.gif", steps=6, px=12)
    with Image.open(path) as gif:
        assert gif.n_frames == 7
    png = render_rollout(env, None, tmp_path / "first.png", px=12)
    assert np.asarray(Image.open(png)).shape[:2] == (10 * 12, 9 * 12)


def test_command_line_rollout(tmp_path):
    from envs_warp.xland.render import main

    path = main(["--layout", "R9", "--size", "16", "--steps", "3", "--px", "8", "--out", str(tmp_path / "r9.gif")])
    with Image.open(path) as gif:
        assert gif.n_frames == 4 and gif.size == (16 * 8, 17 * 8)
