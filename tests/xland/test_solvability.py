"""The cheap solvability check: hand cases, and every ruleset the generators write passes."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from envs_warp.xland.config import XLandConfig
from envs_warp.xland.constants import (BALL, BLUE, GOAL, GREEN, KEY, PURPLE, RED, SQUARE, STAR, WALL, YELLOW)
from envs_warp.xland.rulesets import load_rulesets
from envs_warp.xland.solvability import solvable
from envs_warp.xland.world import WORLD

from .helpers import hand_config, make_level

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "data" / "xland_rulesets"
BALL_RED, KEY_BLUE, SQUARE_GREEN, GOAL_YELLOW, STAR_PURPLE = (BALL, RED), (KEY, BLUE), (SQUARE, GREEN), (GOAL, YELLOW), (STAR, PURPLE)

CASES = [  # (name, goal, rules, initial objects, solvable)
    ("hold a present ball", (1, *BALL_RED, 0, 0), [], [BALL_RED], True),
    ("hold an absent ball", (1, *BALL_RED, 0, 0), [], [KEY_BLUE], False),
    ("hold the goal tile (not pickable)", (1, *GOAL_YELLOW, 0, 0), [], [GOAL_YELLOW], False),
    ("ball made by walking up to a key", (1, *BALL_RED, 0, 0), [(2, *KEY_BLUE, *BALL_RED)], [KEY_BLUE], True),
    ("rule input missing", (1, *BALL_RED, 0, 0), [(2, *KEY_BLUE, *BALL_RED)], [SQUARE_GREEN], False),
    ("hold rule on the goal tile cannot fire", (3, *BALL_RED, 0, 0), [(1, *GOAL_YELLOW, *BALL_RED)], [GOAL_YELLOW], False),
    ("two-level chain", (3, *STAR_PURPLE, 0, 0),
     [(3, *KEY_BLUE, *SQUARE_GREEN, *BALL_RED), (1, *BALL_RED, *STAR_PURPLE)], [KEY_BLUE, SQUARE_GREEN], True),
    ("two-level chain, rules in reverse order", (3, *STAR_PURPLE, 0, 0),
     [(1, *BALL_RED, *STAR_PURPLE), (3, *KEY_BLUE, *SQUARE_GREEN, *BALL_RED)], [KEY_BLUE, SQUARE_GREEN], True),
    ("chain missing one input", (3, *STAR_PURPLE, 0, 0),
     [(3, *KEY_BLUE, *SQUARE_GREEN, *BALL_RED), (1, *BALL_RED, *STAR_PURPLE)], [KEY_BLUE], False),
    ("tile near itself needs two copies: one", (4, *BALL_RED, *BALL_RED), [], [BALL_RED], False),
    ("tile near itself: two copies", (4, *BALL_RED, *BALL_RED), [], [BALL_RED, BALL_RED], True),
    ("tile near itself: the second copy made by a rule", (4, *BALL_RED, *BALL_RED), [(2, *KEY_BLUE, *BALL_RED)],
     [BALL_RED, KEY_BLUE], True),
    ("two goal tiles near each other (neither can be put down)", (4, *GOAL_YELLOW, GOAL, RED), [],
     [GOAL_YELLOW, (GOAL, RED)], False),
    ("goal tile above a key", (7, *GOAL_YELLOW, *KEY_BLUE), [], [GOAL_YELLOW, KEY_BLUE], True),
    ("stand on the goal tile", (2, *GOAL_YELLOW, 0, 0), [], [GOAL_YELLOW], True),
    ("stand on a ball (not walkable)", (2, *BALL_RED, 0, 0), [], [BALL_RED], False),
    ("agent on a floor cell", (6, 2, 3, 0, 0), [], [BALL_RED], True),
    ("agent on the outer wall", (6, 0, 3, 0, 0), [], [BALL_RED], False),
    ("ball on a floor cell", (5, *BALL_RED, 4, 4), [], [BALL_RED], True),
    ("goal tile moved to a cell (not pickable)", (5, *GOAL_YELLOW, 4, 4), [], [GOAL_YELLOW], False),
    ("empty goal", (0, 0, 0, 0, 0), [], [BALL_RED], False),
    ("agent near a wall tile it must make", (3, WALL, BLUE, 0, 0), [(8, *KEY_BLUE, WALL, BLUE)], [KEY_BLUE], True),
]


@pytest.mark.parametrize("name,goal,rules,tiles,expected", CASES, ids=[c[0] for c in CASES])
def test_solvable_agrees_with_hand_cases(name, goal, rules, tiles, expected):
    cfg = hand_config()
    level = make_level(cfg, goal=goal, rules=rules, tiles=tiles)
    assert bool(solvable(cfg, level)[0]) is expected
    assert WORLD.solvable is not None and bool(WORLD.solvable(cfg, level)[0]) is expected


@pytest.mark.parametrize("preset", ["trivial", "small", "medium", "high"])
def test_every_generated_ruleset_passes(preset):
    cfg = XLandConfig(layout="R4", height=13, width=13, benchmark=preset)
    levels = WORLD.random_levels(cfg, 400, 11, "cpu")
    assert bool(solvable(cfg, levels).all())
    broken = levels.clone()
    broken["init_tiles"].zero_()  # nothing to start from: no goal tile can exist
    assert not bool(solvable(cfg, broken).any())


@pytest.mark.skipif(not SAMPLES.is_dir(), reason="shared XLand-MiniGrid samples not present")
def test_every_shipped_sample_ruleset_passes():
    for path in sorted(SAMPLES.glob("*.npz")):
        cfg = XLandConfig(layout="R4", height=13, width=13, benchmark=str(path))
        levels = load_rulesets(path, cfg)[:2000]
        assert bool(solvable(cfg, levels).all()), path.name


def test_result_follows_the_levels_device_and_shape():
    cfg = hand_config()
    level = make_level(cfg, goal=(1, *BALL_RED, 0, 0), tiles=[BALL_RED])
    out = solvable(cfg, torch.cat([level, level, level]))
    assert out.shape == (3,) and out.dtype == torch.bool and out.device == level["goal"].device
