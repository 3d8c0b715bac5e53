"""The egocentric view (orientation, off-grid cells), direction, pocket and the goal/rule encodings."""
from __future__ import annotations

import pytest
import torch

from envs_warp.xland.config import obs_layout
from envs_warp.xland.constants import BALL, BLUE, GREEN, HEX, KEY, RED, SQUARE, STAR, TURN_LEFT, YELLOW

from .helpers import act, env_with, hand_config, make_level, place


def view(env) -> torch.Tensor:
    """Row 0's ``[V, V, 2]`` (tile, colour) view from an index-format observation."""
    v = env.cfg.view_size
    return env.obs[0, :v * v * 2].view(v, v, 2).long()


@pytest.mark.parametrize("direction", [0, 1, 2, 3])
def test_view_is_egocentric_agent_bottom_centre_facing_up(direction):
    env = env_with(make_level(hand_config()))
    dy, dx = ((-1, 0), (0, 1), (1, 0), (0, -1))[direction]
    ry, rx = ((-1, 0), (0, 1), (1, 0), (0, -1))[(direction + 1) % 4]  # the agent's right
    ahead = (4 + 2 * dy, 4 + 2 * dx)  # two cells ahead
    right = (4 + ry, 4 + rx)  # one cell to the right
    cells = {ahead: (BALL, RED), right: (KEY, BLUE)}
    place(env, cells, pos=(4, 4), direction=(direction + 1) % 4)
    act(env, TURN_LEFT)  # now facing `direction`; the step writes the view
    v = view(env)
    assert v[2, 2].tolist() == [BALL, RED], "two ahead is row V-1-2, centre column"
    assert v[4, 3].tolist() == [KEY, BLUE], "right of the agent is the bottom row, one column right"
    assert v[4, 2].tolist() == [1, 7], "the agent's own cell (black floor)"
    assert env.obs[0, 50 + direction].item() == 1.0 and env.obs[0, 50:54].sum().item() == 1.0


def test_cells_off_the_grid_read_as_the_empty_tile():
    env = env_with(make_level(hand_config()))
    place(env, pos=(1, 1), direction=1)  # facing right from the top-left corner
    act(env, TURN_LEFT)  # facing up: rows above y=0 and columns left of x=0 are off the grid
    v = view(env)
    assert v[:3].eq(0).all(), "two to four cells ahead are off the grid"
    assert v[3, 2].tolist() == [2, 6], "one ahead is the top wall"
    assert v[4, 0].tolist() == [0, 0] and v[4, 1].tolist() == [2, 6]


def test_pocket_and_onehot_encoding():
    cfg = hand_config(obs_format="onehot")
    env = env_with(make_level(cfg), cfg=cfg)
    place(env, pos=(4, 4), direction=0, pocket=(STAR, YELLOW))
    act(env, TURN_LEFT)
    lay = obs_layout(cfg)
    pocket = env.obs[0, lay["pocket_off"]:lay["pocket_off"] + 25]
    assert pocket[STAR] == 1 and pocket[13 + YELLOW] == 1 and pocket.sum() == 2
    cell = env.obs[0, 0:25]  # view (0, 0) is cell (0, 2): the grey wall
    assert cell[2] == 1 and cell[13 + 6] == 1 and cell.sum() == 2


def test_goal_and_rules_are_encoded_and_hidden_rules_masked():
    cfg = hand_config(observe_goal=True, observe_rules=True)
    level = make_level(cfg, goal=(4, BALL, RED, SQUARE, BLUE),
                       rules=[(1, BALL, RED, HEX, GREEN), (3, KEY, BLUE, SQUARE, RED, STAR, YELLOW)], hidden=[1])
    env = env_with(level, cfg=cfg)
    lay = obs_layout(cfg)
    goal = env.obs[0, lay["goal_off"]:lay["goal_off"] + 5].long().tolist()
    assert goal == [4, BALL, RED, SQUARE, BLUE]
    rules = env.obs[0, lay["rules_off"]:lay["rules_off"] + 8 * lay["max_rules"]].view(-1, 8).long()
    assert rules[0].tolist() == [1, BALL, RED, HEX, GREEN, 0, 0, 0]
    assert rules[1].tolist() == [0, 0, 0, 0, 0, 0, 0, 1], "a hidden rule shows only its flag"
    assert rules[2:].eq(0).all()
    place(env, pos=(4, 4), direction=0)
    act(env, TURN_LEFT)
    assert env.obs[0, lay["goal_off"]:lay["goal_off"] + 5].long().tolist() == goal, "the step erased the goal part"
