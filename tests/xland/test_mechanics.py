"""Actions, doors and keys, every rule type and every goal type on hand-built grids (values computed by hand)."""
from __future__ import annotations

import pytest
import torch

from envs_warp.xland.constants import (BALL, BLACK, BLUE, DOOR_CLOSED, DOOR_LOCKED, DOOR_OPEN, FLOOR, FORWARD, GOAL,
                                       GREEN, GREY, HEX, KEY, PICK_UP, PURPLE, PUT_DOWN, PYRAMID, RED, SQUARE, STAR,
                                       TOGGLE, TURN_LEFT, TURN_RIGHT, WALL, YELLOW, pack)

from .helpers import act, cell, env_with, hand_config, make_level, place

FLOOR_BLACK = (FLOOR, BLACK)


@pytest.fixture(scope="module")
def blank():
    """A one-row env whose level has no goal and no rules."""
    return env_with(make_level(hand_config()))


def test_forward_moves_onto_floor_goal_and_open_doors_only(blank):
    env = blank
    place(env, {(3, 4): (WALL, GREY)}, pos=(4, 4), direction=0)
    act(env, FORWARD)
    assert env.pos[0].tolist() == [4, 4], "walked into a wall"
    for t in (DOOR_CLOSED, DOOR_LOCKED, BALL):
        place(env, {(3, 4): (t, RED)}, pos=(4, 4), direction=0)
        act(env, FORWARD)
        assert env.pos[0].tolist() == [4, 4], t
    for t in (GOAL, DOOR_OPEN, FLOOR):
        place(env, {(4, 5): (t, GREEN)}, pos=(4, 4), direction=1)
        act(env, FORWARD)
        assert env.pos[0].tolist() == [4, 5], t


def test_turns_cycle_through_the_four_directions(blank):
    env = blank
    place(env, direction=0)
    seen = []
    for _ in range(4):
        act(env, TURN_RIGHT)
        seen.append(int(env.direction[0]))
    assert seen == [1, 2, 3, 0]
    act(env, TURN_LEFT)
    assert int(env.direction[0]) == 3


def test_pick_up_needs_an_empty_pocket_and_leaves_black_floor(blank):
    env = blank
    place(env, {(4, 5): (BALL, RED)}, pos=(4, 4), direction=1)
    act(env, PICK_UP)
    assert int(env.pocket[0]) == pack(BALL, RED) and cell(env, 4, 5) == FLOOR_BLACK
    place(env, {(4, 5): (BALL, RED)}, pos=(4, 4), direction=1, pocket=(KEY, BLUE))
    act(env, PICK_UP)
    assert int(env.pocket[0]) == pack(KEY, BLUE) and cell(env, 4, 5) == (BALL, RED)
    place(env, {(4, 5): (GOAL, RED)}, pos=(4, 4), direction=1)
    act(env, PICK_UP)
    assert int(env.pocket[0]) == 0 and cell(env, 4, 5) == (GOAL, RED), "goals are not pickable"


def test_put_down_only_onto_floor(blank):
    env = blank
    place(env, {(4, 5): (FLOOR, RED)}, pos=(4, 4), direction=1, pocket=(STAR, PURPLE))
    act(env, PUT_DOWN)
    assert cell(env, 4, 5) == (STAR, PURPLE) and int(env.pocket[0]) == 0, "any floor colour takes a tile"
    place(env, {(4, 5): (GOAL, RED)}, pos=(4, 4), direction=1, pocket=(STAR, PURPLE))
    act(env, PUT_DOWN)
    assert cell(env, 4, 5) == (GOAL, RED) and int(env.pocket[0]) == pack(STAR, PURPLE)


def test_toggle_opens_and_closes_doors_and_a_locked_door_needs_its_key(blank):
    env = blank
    place(env, {(3, 4): (DOOR_CLOSED, YELLOW)}, pos=(4, 4), direction=0)
    act(env, TOGGLE)
    assert cell(env, 3, 4) == (DOOR_OPEN, YELLOW)
    act(env, TOGGLE)
    assert cell(env, 3, 4) == (DOOR_CLOSED, YELLOW)
    place(env, {(3, 4): (DOOR_LOCKED, YELLOW)}, pos=(4, 4), direction=0, pocket=(KEY, BLUE))
    act(env, TOGGLE)
    assert cell(env, 3, 4) == (DOOR_LOCKED, YELLOW), "a key of another colour opened it"
    place(env, {(3, 4): (DOOR_LOCKED, YELLOW)}, pos=(4, 4), direction=0, pocket=(BALL, YELLOW))
    act(env, TOGGLE)
    assert cell(env, 3, 4) == (DOOR_LOCKED, YELLOW), "a ball opened it"
    place(env, {(3, 4): (DOOR_LOCKED, YELLOW)}, pos=(4, 4), direction=0, pocket=(KEY, YELLOW))
    act(env, TOGGLE)
    assert cell(env, 3, 4) == (DOOR_OPEN, YELLOW) and int(env.pocket[0]) == pack(KEY, YELLOW), "the key is kept"
    act(env, FORWARD)
    assert env.pos[0].tolist() == [3, 4]


# ---------------------------------------------------------------------------- rules
def rule_env(*rules, num_rules=None):
    return env_with(make_level(hand_config(), rules=rules, num_rules=num_rules), validate=num_rules is None)


def test_agent_hold_rule_turns_the_picked_tile_into_its_product():
    env = rule_env((1, BALL, RED, HEX, GREEN))
    place(env, {(4, 5): (BALL, RED), (4, 3): (BALL, BLUE)}, pos=(4, 4), direction=1)
    out = act(env, PICK_UP)
    assert int(env.pocket[0]) == pack(HEX, GREEN) and int(env.fired[0]) == 1
    assert float(out["agents", "reward"]) == 0.0
    place(env, {(4, 3): (BALL, BLUE)}, pos=(4, 4), direction=3)
    act(env, PICK_UP)
    assert int(env.pocket[0]) == pack(BALL, BLUE), "a ball of another colour was changed"


def test_agent_near_rule_fires_on_forward_for_every_neighbour():
    env = rule_env((2, SQUARE, BLUE, STAR, YELLOW))
    # after stepping up from (5, 4) to (4, 4): squares at (3, 4) and (4, 3) neighbour the agent; (2, 2) does not
    place(env, {(3, 4): (SQUARE, BLUE), (4, 3): (SQUARE, BLUE), (2, 2): (SQUARE, BLUE), (4, 5): (SQUARE, RED)},
          pos=(5, 4), direction=0)
    act(env, FORWARD)
    assert env.pos[0].tolist() == [4, 4]
    assert cell(env, 3, 4) == (STAR, YELLOW) and cell(env, 4, 3) == (STAR, YELLOW)
    assert cell(env, 2, 2) == (SQUARE, BLUE) and cell(env, 4, 5) == (SQUARE, RED)
    place(env, {(3, 4): (SQUARE, BLUE)}, pos=(4, 4), direction=1)
    act(env, TURN_LEFT)
    assert cell(env, 3, 4) == (SQUARE, BLUE), "a turn fired the rule"


def test_tile_near_rule_fires_on_put_down_in_any_direction():
    env = rule_env((3, BALL, RED, PYRAMID, GREEN, KEY, PURPLE))
    # put the ball at (3, 4); the pyramid sits left of it at (3, 3)
    place(env, {(3, 3): (PYRAMID, GREEN)}, pos=(4, 4), direction=0, pocket=(BALL, RED))
    act(env, PUT_DOWN)
    assert cell(env, 3, 3) == (KEY, PURPLE) and cell(env, 3, 4) == FLOOR_BLACK
    # the other way round: put the pyramid next to a ball (below it)
    place(env, {(2, 4): (BALL, RED)}, pos=(4, 4), direction=0, pocket=(PYRAMID, GREEN))
    act(env, PUT_DOWN)
    assert cell(env, 2, 4) == (KEY, PURPLE) and cell(env, 3, 4) == FLOOR_BLACK


def test_directional_tile_rule_needs_b_on_the_named_side_of_a():
    env = rule_env((4, BALL, RED, SQUARE, BLUE, HEX, YELLOW))  # tile_near_up: b (square) above a (ball)
    place(env, {(2, 4): (SQUARE, BLUE)}, pos=(4, 4), direction=0, pocket=(BALL, RED))
    act(env, PUT_DOWN)  # ball at (3, 4), square above it at (2, 4): fires
    assert cell(env, 2, 4) == (HEX, YELLOW) and cell(env, 3, 4) == FLOOR_BLACK
    place(env, {(3, 5): (SQUARE, BLUE)}, pos=(4, 4), direction=0, pocket=(BALL, RED))
    act(env, PUT_DOWN)  # square to the right: does not fire
    assert cell(env, 3, 5) == (SQUARE, BLUE) and cell(env, 3, 4) == (BALL, RED)
    env = rule_env((5, BALL, RED, SQUARE, BLUE, HEX, YELLOW))  # tile_near_right: square right of ball
    place(env, {(3, 3): (BALL, RED)}, pos=(4, 4), direction=0, pocket=(SQUARE, BLUE))
    act(env, PUT_DOWN)  # square put at (3, 4), ball left of it: the ball's cell becomes the product
    assert cell(env, 3, 3) == (HEX, YELLOW) and cell(env, 3, 4) == FLOOR_BLACK


@pytest.mark.parametrize("rid,side", [(8, (-1, 0)), (9, (0, 1)), (10, (1, 0)), (11, (0, -1))])
def test_directional_agent_near_rule_fires_on_forward_and_put_down_for_its_side_only(rid, side):
    env = rule_env((rid, KEY, GREEN, BALL, PURPLE))
    cells = {(4 + dy, 4 + dx): (KEY, GREEN) for dy, dx in ((-1, 0), (0, 1), (1, 0), (0, -1))}
    place(env, cells, pos=(4, 4), direction=0)
    act(env, PUT_DOWN)  # empty pocket: nothing is put down, the rule is still checked
    for (y, x) in cells:
        want = (BALL, PURPLE) if (y - 4, x - 4) == side else (KEY, GREEN)
        assert cell(env, y, x) == want, (rid, y, x)


def test_rules_run_in_order_within_one_step():
    env = rule_env((1, BALL, RED, HEX, GREEN), (1, HEX, GREEN, STAR, BLUE))
    place(env, {(4, 5): (BALL, RED)}, pos=(4, 4), direction=1)
    act(env, PICK_UP)
    assert int(env.pocket[0]) == pack(STAR, BLUE) and int(env.fired[0]) == 2


def test_the_rule_loop_stops_at_the_level_rule_count():
    env = rule_env((1, BALL, RED, HEX, GREEN), (1, HEX, GREEN, STAR, BLUE), num_rules=1)
    place(env, {(4, 5): (BALL, RED)}, pos=(4, 4), direction=1)
    act(env, PICK_UP)
    assert int(env.pocket[0]) == pack(HEX, GREEN), "a rule beyond num_rules ran"


# ---------------------------------------------------------------------------- goals and reward
def goal_env(goal, cfg=None):
    return env_with(make_level(cfg or hand_config(), goal=goal), cfg=cfg)


def test_agent_hold_goal_ends_the_episode_with_the_time_discounted_reward():
    env = goal_env((1, BALL, RED, 0, 0))
    place(env, {(4, 5): (BALL, RED)}, pos=(4, 4), direction=1, step_count=9)
    out = act(env, PICK_UP)
    t, T = 10, 3 * 9 * 9
    assert bool(out["terminated"]) and bool(out["agents", "reached_goal"])
    assert float(out["agents", "reward"]) == pytest.approx(1 - 0.9 * t / T, abs=1e-6)


def test_episode_truncates_at_max_steps_without_reward():
    env = goal_env((1, BALL, RED, 0, 0), cfg=hand_config(max_steps=5))
    place(env, pos=(4, 4), direction=0, step_count=3)
    out = act(env, TURN_RIGHT)
    assert not bool(out["done"])
    out = act(env, TURN_RIGHT)
    assert bool(out["truncated"]) and not bool(out["terminated"]) and float(out["agents", "reward"]) == 0.0


def test_agent_on_tile_and_agent_near_goals_need_a_forward_step():
    env = goal_env((2, GOAL, GREEN, 0, 0))
    place(env, {(4, 5): (GOAL, GREEN)}, pos=(4, 4), direction=1)
    assert bool(act(env, FORWARD)["terminated"])
    env = goal_env((3, SQUARE, RED, 0, 0))
    place(env, {(3, 5): (SQUARE, RED)}, pos=(4, 4), direction=0)
    assert not bool(act(env, TURN_RIGHT)["terminated"]), "a turn completed agent_near"
    place(env, {(3, 5): (SQUARE, RED)}, pos=(4, 4), direction=2)  # step down to (5, 4): square not adjacent
    assert not bool(act(env, FORWARD)["terminated"])
    place(env, {(3, 5): (SQUARE, RED)}, pos=(4, 4), direction=1)  # step right to (4, 5): square above
    assert bool(act(env, FORWARD)["terminated"])


def test_tile_near_goals_check_the_put_down_cell_and_their_side():
    env = goal_env((4, BALL, RED, PYRAMID, GREEN))
    place(env, {(3, 3): (PYRAMID, GREEN)}, pos=(4, 4), direction=0, pocket=(BALL, RED))
    assert bool(act(env, PUT_DOWN)["terminated"])
    env = goal_env((8, BALL, RED, PYRAMID, GREEN))  # tile_near_right: pyramid right of the ball
    place(env, {(3, 3): (PYRAMID, GREEN)}, pos=(4, 4), direction=0, pocket=(BALL, RED))
    assert not bool(act(env, PUT_DOWN)["terminated"]), "pyramid is left of the ball"
    place(env, {(3, 5): (PYRAMID, GREEN)}, pos=(4, 4), direction=0, pocket=(BALL, RED))
    assert bool(act(env, PUT_DOWN)["terminated"])


def test_position_goals_hold_after_any_action():
    env = goal_env((6, 3, 4, 0, 0))  # agent at (3, 4)
    place(env, pos=(4, 4), direction=0)
    assert bool(act(env, FORWARD)["terminated"])
    env = goal_env((5, SQUARE, RED, 2, 2))  # a red square at (2, 2)
    place(env, {(2, 2): (SQUARE, RED)}, pos=(4, 4), direction=0)
    assert bool(act(env, TURN_LEFT)["terminated"])


@pytest.mark.parametrize("gid,side", [(11, (-1, 0)), (12, (0, 1)), (13, (1, 0)), (14, (0, -1))])
def test_directional_agent_near_goals(gid, side):
    env = goal_env((gid, STAR, YELLOW, 0, 0))
    y, x = 4 + side[0], 4 + side[1]
    place(env, {(y, x): (STAR, YELLOW)}, pos=(4, 4), direction=(2 if side != (1, 0) else 0))
    assert not bool(act(env, TURN_LEFT)["terminated"]), "turns do not check it"
    place(env, {(y, x): (STAR, YELLOW)}, pos=(4, 4), direction=0)
    assert bool(act(env, PUT_DOWN)["terminated"])
    other = (4 - side[0], 4 - side[1])
    place(env, {other: (STAR, YELLOW)}, pos=(4, 4), direction=0)
    assert not bool(act(env, PUT_DOWN)["terminated"]), "the opposite side counted"


def test_goal_is_checked_after_the_rules():
    level = make_level(hand_config(), goal=(1, HEX, GREEN, 0, 0), rules=[(1, BALL, RED, HEX, GREEN)])
    env = env_with(level)
    place(env, {(4, 5): (BALL, RED)}, pos=(4, 4), direction=1)
    assert bool(act(env, PICK_UP)["terminated"]), "holding the rule's product is the goal"


def test_empty_goal_never_ends_an_episode(blank):
    env = blank
    place(env, {(4, 5): (BALL, RED)}, pos=(4, 4), direction=1)
    for a in (PICK_UP, PUT_DOWN, FORWARD, TOGGLE):
        assert not bool(act(env, a)["terminated"])
    assert torch.equal(env.terminated, torch.zeros(1, dtype=torch.bool))
