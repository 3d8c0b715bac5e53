"""Our ruleset generator: the published procedure, reproducible per (seed, counter), statistics of the samples."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from envs_warp.xland.config import PRESETS, GeneratorPreset, XLandConfig
from envs_warp.xland.generator import (RulesetGenerator, chain_depths, generate_benchmark, ruleset_keys,
                                       ruleset_stats)
from envs_warp.xland.rulesets import level_schema, load_rulesets

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "data" / "xland_rulesets"
FILES = {"trivial": "trivial_21k", "small": "small_10k", "medium": "medium_10k", "high": "high_10k"}


def draw(preset: GeneratorPreset, n: int, seed: int = 0, counters=None):
    cfg = XLandConfig(layout="R1", height=13, width=13, preset=preset)
    gen = RulesetGenerator(preset, cfg.capacities()[0])
    return gen.generate(level_schema(cfg).empty(n), seed, counters), cfg


def test_rulesets_are_reproducible_from_seed_and_counter():
    a, _ = draw(PRESETS["high"], 64, seed=5)
    b, _ = draw(PRESETS["high"], 8, seed=5, counters=torch.arange(8, 16))
    c, _ = draw(PRESETS["high"], 64, seed=6)
    assert all(torch.equal(a[k][8:16], b[k]) for k in a.keys())
    assert not torch.equal(a["rules"], c["rules"])


@pytest.mark.parametrize("name", list(PRESETS))
def test_generated_levels_are_valid_and_within_the_preset(name):
    levels, cfg = draw(PRESETS[name], 2000)
    level_schema(cfg).validate(levels)
    depth = chain_depths(levels)
    assert depth.max() <= PRESETS[name].chain_depth
    rules_cap, tiles_cap = cfg.capacities()
    assert int(levels["num_rules"].max()) <= rules_cap


def test_unpruned_chains_have_full_depth_and_inputs_never_reuse_chain_tiles():
    preset = GeneratorPreset(chain_depth=2)
    levels, _ = draw(preset, 500)
    assert (chain_depths(levels) == 2).all()
    for i in range(0, 500, 25):
        g = levels["goal"][i].tolist()
        used = {(g[1], g[2])} | ({(g[3], g[4])} if g[0] in (4, 7, 8, 9, 10) else set())
        for r in levels["rules"][i, :int(levels["num_rules"][i])].tolist():
            inputs = [(r[1], r[2])] + ([(r[3], r[4])] if 3 <= r[0] <= 7 else [])
            assert not set(inputs) & used, "a chain rule took a tile already in the chain"
            used |= set(inputs)
        products = {(r[5], r[6]) if 3 <= r[0] <= 7 else (r[3], r[4]) for r in levels["rules"][i].tolist() if r[0]}
        tiles = {tuple(t) for t in levels["init_tiles"][i].tolist() if t != [0, 0]}
        assert tiles and tiles <= used and not tiles & products, "objects are the last level's inputs only"


def test_benchmarks_hold_distinct_rulesets():
    cfg = XLandConfig(benchmark="small")
    levels = generate_benchmark(PRESETS["small"], 3000, 1, level_schema(cfg).empty(3000))
    assert len(set(ruleset_keys(levels).tolist())) == 3000


@pytest.mark.skipif(not SAMPLES.is_dir(), reason="shared ruleset samples absent")
@pytest.mark.parametrize("name", list(PRESETS))
def test_statistics_match_the_shipped_samples(name):
    path = SAMPLES / f"{FILES[name]}.npz"
    cfg = XLandConfig(layout="R1", height=13, width=13, benchmark=name)
    shipped = load_rulesets(path, cfg)
    n = shipped.batch_size[0]  # the same count: for trivial, rejection of duplicates shapes the goal mix
    ours = generate_benchmark(PRESETS[name], n, 0, level_schema(cfg).empty(n))
    a, b = ruleset_stats(shipped), ruleset_stats(ours)
    for key in ("rules_mean", "tiles_mean", "depth_mean"):
        assert b[key] == pytest.approx(a[key], abs=0.1), key
    for key in ("rules_hist", "tiles_hist", "depth_hist", "goal_hist"):
        tv = 0.5 * np.abs(np.array(a[key]) - np.array(b[key])).sum()
        assert tv < 0.04, f"{key}: total variation {tv:.3f}"
