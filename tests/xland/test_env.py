"""The env: masked resets with assigned levels, ruleset banks, hidden rules, tags, config checks."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from envs_warp.core.world import get_world
from envs_warp.xland.config import XLandConfig, obs_layout
from envs_warp.xland.env import XLandEnv
from envs_warp.xland.rulesets import load_rulesets

from .helpers import hand_config, make_level

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "data" / "xland_rulesets"
needs_samples = pytest.mark.skipif(not (SAMPLES / "small_10k.npz").is_file(), reason="shared ruleset samples absent")


def test_masked_reset_loads_the_assigned_level_only_in_its_row():
    cfg = hand_config()
    env = XLandEnv(cfg, num_envs=4, seed=0)
    env.reset()
    before = {k: v.clone() for k, v in env.runtime_state().items()}
    level = make_level(cfg, goal=(1, 3, 1, 0, 0), rules=[(1, 3, 1, 11, 2)], tiles=[(3, 1), (4, 2)])
    env.set_levels(level, rows=torch.tensor([2]), ids=torch.tensor([77]))
    mask = torch.tensor([False, False, True, False])
    td = env.reset(env.full_done_spec.zero().set("_reset", mask.view(-1, 1)))
    assert int(td["level_id"][2]) == 77 and env.levels["goal"][2].tolist() == [1, 3, 1, 0, 0]
    assert env.rule_code[2, 0].tolist() == [1, (3 << 4) | 1, (11 << 4) | 2, 0] and int(env.rule_count[2]) == 1
    objects = sorted(v for v in env.grid[2].flatten().tolist() if v >> 4 not in (1, 2))
    assert objects == [(3 << 4) | 1, (4 << 4) | 2]
    for key, value in env.runtime_state().items():
        if key.startswith("levels.") or key in ("rng_counter", "level_pending", "level_id"):
            continue
        assert torch.equal(value[~mask], before[key][~mask]), f"{key} changed in rows that were not reset"


@needs_samples
def test_a_ruleset_file_is_a_bank_that_resets_draw_from():
    path = SAMPLES / "small_10k.npz"
    cfg = XLandConfig(layout="R4", height=13, width=13, benchmark=str(path))
    env = XLandEnv(cfg, num_envs=16, seed=3)
    env.reset()
    bank = load_rulesets(path, cfg)
    keys = {bytes(b) for b in torch.cat([bank["goal"], bank["rules"].flatten(1)], 1).numpy()}
    rows = torch.cat([env.levels["goal"], env.levels["rules"].flatten(1)], 1).numpy()
    assert all(bytes(r) in keys for r in rows), "a row runs a ruleset that is not in the file"
    assert len({bytes(r) for r in rows}) > 8
    rebuilt = env.random_levels_from_tags(env.level_id)
    assert all(torch.equal(rebuilt[k], env.levels[k]) for k in env.levels.keys())


def test_hidden_rules_are_drawn_per_level_and_masked():
    cfg = XLandConfig(layout="R1", height=13, width=13, benchmark="high", observe_rules=True, obs_format="index",
                      hidden_rule_prob=0.5)
    env = XLandEnv(cfg, num_envs=64, seed=0)
    env.reset()
    used = torch.arange(cfg.capacities()[0])[None] < env.levels["num_rules"][:, None]
    hidden = env.levels["rule_hidden"].bool()
    assert not (hidden & ~used).any(), "padding marked hidden"
    frac = hidden.sum().item() / used.sum().item()
    assert 0.35 < frac < 0.65
    lay = obs_layout(cfg)
    rules = env.obs[:, lay["rules_off"]:lay["rules_off"] + 8 * lay["max_rules"]].view(64, -1, 8)
    assert torch.equal(rules[..., 7].bool(), hidden) and rules[hidden][:, :7].eq(0).all()
    visible = used & ~hidden
    assert torch.equal(rules[visible][:, 0].long(), env.levels["rules"][visible][:, 0].long())
    plain = XLandEnv(XLandConfig(layout="R1", height=13, width=13, benchmark="high"), num_envs=64, seed=0)
    plain.reset()
    assert torch.equal(plain.levels["rules"], env.levels["rules"]), "hiding changed the rulesets"


def test_specs_follow_the_observation_parts():
    base = XLandConfig()
    assert base.obs_dim == 25 * 25 + 4 + 25 and base.max_steps == 3 * 9 * 9
    full = XLandConfig(benchmark="medium", observe_goal=True, observe_rules=True)
    assert full.obs_dim == base.obs_dim + 65 + 9 * 88
    specs = get_world("xland").specs(full, 3)
    assert specs["observation"]["agents", "observation"].shape == (3, 1, full.obs_dim)
    assert specs["action"]["agents", "action"].n == 6


def test_configs_that_cannot_work_are_refused():
    with pytest.raises(ValueError, match="layout"):
        XLandConfig(layout="R3")
    with pytest.raises(ValueError, match="do not fit"):
        XLandConfig(layout="R9", height=7, width=7, benchmark="high")
    with pytest.raises(ValueError, match="max_rules"):
        XLandConfig(benchmark="high", max_rules=4).capacities()


def test_random_actions_run_every_layout_with_auto_reset():
    for layout, size in (("R2", 9), ("R6", 13), ("R9", 16)):
        env = XLandEnv(XLandConfig(layout=layout, height=size, width=size, benchmark="small", max_steps=20),
                       num_envs=8, seed=1)
        td = env.reset()
        torch.manual_seed(0)
        for _ in range(45):
            _, td = env.step_and_maybe_reset(env.rand_action(td))
        assert int(env.rng_counter.min()) >= 3, "rows were not auto-reset after 20 steps"
        assert np.isfinite(td["agents", "observation"].numpy()).all()
