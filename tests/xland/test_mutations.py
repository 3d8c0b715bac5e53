"""ACCEL mutations of XLand rulesets: valid, reproducible, each operator as documented, usable by a run."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ada.cli import train
from curricula.tags import REPLAY, tag_kind
from envs_warp.xland import mutations as mut
from envs_warp.xland.config import XLandConfig
from envs_warp.xland.constants import BALL, BLUE, GREEN, KEY, RED, SQUARE, pack
from envs_warp.xland.env import XLandEnv
from envs_warp.xland.rulesets import level_schema, load_rulesets, save_rulesets_npz
from envs_warp.xland.solvability import solvable
from envs_warp.xland.world import WORLD

from .helpers import hand_config, make_level

ROOT = Path(__file__).resolve().parents[2]
BALL_RED, KEY_BLUE, SQUARE_GREEN = pack(BALL, RED), pack(KEY, BLUE), pack(SQUARE, GREEN)


def levels_of(preset: str, n: int = 200) -> tuple[XLandConfig, object]:
    cfg = XLandConfig(layout="R4", height=13, width=13, benchmark=preset, hidden_rule_prob=0.5)
    return cfg, WORLD.random_levels(cfg, n, 5, "cpu")


@pytest.mark.parametrize("preset", ["trivial", "small", "high"])
def test_mutants_are_valid_rulesets_and_reproducible_from_the_generator(preset):
    cfg, parents = levels_of(preset)
    children = WORLD.mutate(cfg, parents, torch.Generator().manual_seed(3), 3)
    level_schema(cfg).validate(children, source="mutants")  # ids, ranges, non-empty rules first, counts
    tiles = children["init_tiles"].long()
    filled = (tiles != 0).any(-1)  # [B, T] objects stay packed first
    assert bool((filled.cummin(dim=1).values == filled).all())
    assert bool((children["rule_hidden"].bool() & ~(torch.arange(children["rules"].shape[1]) <
                                                     children["num_rules"][:, None])).sum() == 0)
    again = WORLD.mutate(cfg, parents, torch.Generator().manual_seed(3), 3)
    other = WORLD.mutate(cfg, parents, torch.Generator().manual_seed(4), 3)
    same = lambda a, b: torch.stack([(a[k] == b[k]).reshape(len(a), -1).all(1) for k in a.keys()]).all(0)  # noqa: E731
    assert bool(same(children, again).all())
    assert float(same(children, parents).float().mean()) < 0.05  # nearly every child differs from its parent
    assert float(same(children, other).float().mean()) < 0.2
    assert float(solvable(cfg, children).float().mean()) > 0.5  # edits keep the chain's shape most of the time


def test_mutants_round_trip_through_ruleset_files_and_run_in_the_env(tmp_path):
    cfg, parents = levels_of("medium", 64)
    children = WORLD.mutate(cfg, parents, torch.Generator().manual_seed(1), 4)
    back = load_rulesets(save_rulesets_npz(children, tmp_path / "mutants.npz"), cfg)
    for key in ("goal", "rules", "num_rules", "init_tiles"):
        assert torch.equal(back[key], children[key]), key
    env = XLandEnv(cfg, num_envs=64, random_levels=False)
    env.set_levels(children)
    env.reset()
    for _ in range(20):
        env.step_autoreset(torch.randint(0, 6, (64,)))
    objects = (env.grid >> 4)  # every child's objects were placed: at least as many non-floor/wall cells
    assert bool(((objects >= 3) & (objects != 8) & (objects != 9) & (objects != 10)).any())


def ruleset(goal, rules=(), tiles=(), hidden=()):
    return mut._Ruleset(list(goal), [list(r) for r in rules], list(hidden or [0] * len(rules)), list(tiles))


CHAIN = dict(goal=(1, BALL, RED, 0, 0), rules=[(2, KEY, BLUE, BALL, RED, 0, 0)], tiles=[KEY_BLUE, SQUARE_GREEN])


def test_recolour_and_retile_rename_one_object_everywhere():
    rs = ruleset(**CHAIN)
    assert sorted(rs.used()) == sorted([BALL_RED, KEY_BLUE, SQUARE_GREEN])
    u = [0.0, 0.5, 0, 0, 0, 0]  # the first object in sorted order: the red ball (0x31)
    assert mut._apply(rs, mut.RECOLOUR, u, (4, 4), 0.0)
    new = pack(rs.goal[1], rs.goal[2])
    assert new >> 4 == BALL and new != BALL_RED and new not in (KEY_BLUE, SQUARE_GREEN)
    assert rs.rules[0][3:5] == rs.goal[1:3]  # the rule's product renamed with the goal
    assert mut._apply(rs, mut.RETILE, [0.99, 0.0, 0, 0, 0, 0], (4, 4), 0.0)  # the last: the blue key (0x73)
    key = rs.tiles[0]
    assert key >> 4 not in (KEY, 0) and key & 15 == BLUE and rs.tiles[1] == SQUARE_GREEN
    assert pack(rs.rules[0][1], rs.rules[0][2]) == key  # the rule's input renamed with the object


def test_remove_object_drops_only_what_nothing_reads_and_remove_rule_only_dead_ends():
    rs = ruleset(**CHAIN)
    assert mut._apply(rs, mut.REMOVE_OBJECT, [0.0] * 6, (4, 4), 0.0)
    assert rs.tiles == [KEY_BLUE]  # the key feeds the rule: kept
    assert not mut._apply(rs, mut.REMOVE_OBJECT, [0.0] * 6, (4, 4), 0.0)
    assert not mut._apply(rs, mut.REMOVE_RULE, [0.0] * 6, (4, 4), 0.0)  # its product is the goal's ball
    rs.rules.append([3, KEY, BLUE, SQUARE, GREEN, 1, 7])  # a dead end: product black floor
    rs.hidden.append(1)
    assert mut._apply(rs, mut.REMOVE_RULE, [0.0] * 6, (4, 4), 0.0)
    assert rs.rules == [[2, KEY, BLUE, BALL, RED, 0, 0]] and rs.hidden == [0]


def test_add_rule_and_object_respect_capacities_and_add_the_inputs_as_objects():
    rs = ruleset(**CHAIN)
    assert mut._apply(rs, mut.ADD_RULE, [0.3, 0.2, 0.4, 0.5, 0.0, 0.0], (2, 4), 1.0)  # rule type 4: two inputs
    rule = rs.rules[1]
    assert rule[0] == 4 and rs.hidden == [0, 1] and len(rs.tiles) == 4
    assert rs.tiles[2:] == [pack(rule[1], rule[2]), pack(rule[3], rule[4])]
    assert not mut._apply(rs, mut.ADD_RULE, [0.0] * 6, (2, 8), 0.0)  # rules full
    assert not mut._apply(rs, mut.ADD_OBJECT, [0.0] * 6, (4, 4), 0.0)  # objects full
    assert mut._apply(rs, mut.ADD_OBJECT, [0.0] * 6, (4, 5), 0.0)
    assert len(rs.tiles) == 5 and rs.tiles[4] not in rs.tiles[:4]


def test_an_inapplicable_operator_falls_back_to_one_that_applies():
    cfg = hand_config()  # one object that the goal reads: nothing to remove, every draw must still edit
    level = make_level(cfg, goal=(1, BALL, RED, 0, 0), tiles=[(BALL, RED)])
    gen = torch.Generator().manual_seed(0)
    for _ in range(20):
        child = mut.mutate_levels(level, cfg, gen, 1)
        assert any(not torch.equal(child[k], level[k]) for k in level.keys())


@pytest.mark.xdist_group("training")
def test_accel_with_the_noop_filter_trains_on_xland(tmp_path):
    config = str(ROOT / "experiments" / "configs" / "xland_tiny.yaml")
    module = train(["--config", config, "--trainer.default_root_dir", str(tmp_path / "run"),
                    "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false",
                    "--artifacts", "false", "--trainer.max_epochs", "6", "--model.ppo.total_env_steps", str(6 * 32 * 16),
                    "--model.curriculum.method", "accel", "--model.curriculum.plr.buffer_size", "24",
                    "--model.curriculum.plr.min_fill", "0.25", "--model.curriculum.accel.mutants", "8",
                    "--model.curriculum.noop_filter.enabled", "true"])
    assert (tag_kind(module.rt.base_env.level_id) == REPLAY).any()
    header = (tmp_path / "run" / "logs" / "version_0" / "metrics.csv").read_text().splitlines()[0]
    assert "curriculum/mutants" in header
