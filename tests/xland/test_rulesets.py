"""Ruleset files: the shared .npz samples and upstream's bz2 pickles load unchanged; bad files are refused."""
from __future__ import annotations

import bz2
import pickle
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch

from envs_warp.core.levels import LevelFileError
from envs_warp.xland.config import XLandConfig
from envs_warp.xland.rulesets import (level_schema, load_rulesets, read_ruleset_arrays, save_rulesets_npz)

from .helpers import hand_config, make_level

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "data" / "xland_rulesets"
needs_samples = pytest.mark.skipif(not (SAMPLES / "high_10k.npz").is_file(), reason="shared ruleset samples absent")


@needs_samples
@pytest.mark.parametrize("name", ["trivial_21k", "small_10k", "medium_10k", "high_10k"])
def test_shared_samples_load_with_their_own_capacity(name):
    path = SAMPLES / f"{name}.npz"
    raw = np.load(path)
    cfg = XLandConfig(layout="R1", height=13, width=13, benchmark=str(path))
    levels = load_rulesets(path, cfg)
    assert levels.batch_size[0] == raw["goals"].shape[0]
    assert np.array_equal(levels["goal"].numpy(), raw["goals"])
    assert np.array_equal(levels["num_rules"].numpy(), raw["num_rules"].reshape(-1))
    for i in range(0, levels.batch_size[0], 997):  # the non-empty rules, in their order
        keep = raw["rules"][i][raw["rules"][i, :, 0] != 0]
        assert np.array_equal(levels["rules"][i, :len(keep)].numpy(), keep)
        assert levels["rules"][i, len(keep):].eq(0).all()
        tiles = raw["init_tiles"][i][raw["init_tiles"][i].any(-1)]
        assert np.array_equal(levels["init_tiles"][i, :len(tiles)].numpy(), tiles)


def test_upstream_bz2_pickles_of_jax_arrays_read_without_jax(tmp_path, monkeypatch):
    """A stand-in for ``jax._src.array`` pickles arrays the way jax does; the reader must not import it."""
    fake = types.ModuleType("jax._src.array")

    def _reconstruct_array(fun, args, arr_state, aval_state):  # what jax unpickles through
        raise AssertionError("the reader called into jax")

    _reconstruct_array.__module__ = "jax._src.array"
    _reconstruct_array.__qualname__ = "_reconstruct_array"
    fake._reconstruct_array = _reconstruct_array

    class JaxLike:
        def __init__(self, value):
            self.value = np.asarray(value, dtype=np.uint8)

        def __reduce__(self):
            fun, args, state = self.value.__reduce__()
            return (_reconstruct_array, (fun, args, state, {"weak_type": False}))

    for name in ("jax", "jax._src"):
        monkeypatch.setitem(sys.modules, name, sys.modules.get(name) or types.ModuleType(name))
    monkeypatch.setitem(sys.modules, "jax._src.array", fake)
    payload = {"generation_config": {"chain_depth": 1}, "goals": JaxLike([[1, 3, 1, 0, 0], [4, 3, 2, 4, 5]]),
               "rules": JaxLike([[[0] * 7, [1, 3, 1, 11, 2, 0, 0]], [[3, 4, 4, 5, 5, 12, 1], [0] * 7]]),
               "init_tiles": JaxLike([[[3, 1], [0, 0]], [[4, 4], [5, 5]]]), "num_rules": JaxLike([[1], [1]])}
    path = tmp_path / "bench"
    with bz2.open(path, "wb") as handle:
        pickle.dump(payload, handle, protocol=-1)
    monkeypatch.delitem(sys.modules, "jax._src.array")
    arrays = read_ruleset_arrays(path)
    assert arrays["goals"].tolist() == [[1, 3, 1, 0, 0], [4, 3, 2, 4, 5]]
    levels = load_rulesets(path, hand_config())
    assert levels["rules"][0, 0].tolist() == [1, 3, 1, 11, 2, 0, 0], "the empty placeholder rule was not dropped"
    assert levels["num_rules"].tolist() == [1, 1]


def test_pickles_that_name_anything_else_are_refused(tmp_path):
    path = tmp_path / "evil"
    with bz2.open(path, "wb") as handle:
        pickle.dump({"goals": types.SimpleNamespace()}, handle)
    with pytest.raises(LevelFileError, match="never needs"):
        read_ruleset_arrays(path)


def test_npz_round_trip_and_field_named_errors(tmp_path):
    cfg = hand_config()
    level = make_level(cfg, goal=(4, 3, 1, 4, 2), rules=[(3, 3, 1, 4, 2, 5, 3)], tiles=[(3, 1), (4, 2)])
    path = save_rulesets_npz(level, tmp_path / "one.npz")
    again = load_rulesets(path, cfg)
    assert all(torch.equal(again[k], level[k]) for k in ("goal", "rules", "num_rules", "init_tiles"))
    bad = level.clone()
    bad["rules"][0, 0, 0] = 12
    with pytest.raises(LevelFileError, match="'rules'"):
        level_schema(cfg).validate(bad)
    bad = level.clone()
    bad["num_rules"][0] = 2
    with pytest.raises(LevelFileError, match="empty rule before num_rules"):
        level_schema(cfg).validate(bad)
    bad = level.clone()
    bad["init_tiles"][0, 0, 1] = 12
    with pytest.raises(LevelFileError, match="'init_tiles'"):
        level_schema(cfg).validate(bad)
    too_many = {"goals": np.zeros((1, 5)), "rules": np.ones((1, 9, 7)), "init_tiles": np.zeros((1, 2, 2))}
    np.savez(tmp_path / "big.npz", **too_many)
    with pytest.raises(LevelFileError, match="max_rules"):
        load_rulesets(tmp_path / "big.npz", cfg)
