"""XLand levels: the ruleset record and its schema, ruleset files (``.npz`` and upstream's bz2 pickles), banks.

A level is one ruleset in XLand-MiniGrid's encoding, padded to the config's capacities:
``goal [5]``, ``rules [R, 7]`` (non-empty rules first, zeros after), ``num_rules []`` (the loop bound),
``init_tiles [T, 2]`` (tile, colour; non-empty first) and ``rule_hidden [R]`` (1: masked in the
observation). The room layout, doors, object cells and agent pose are not part of the level: every
reset re-draws them from the row's (seed, counter), as XLand-MiniGrid does.
"""
from __future__ import annotations

import bz2
import io
import pickle
from pathlib import Path

import numpy as np
import torch
from tensordict import TensorDict

from ..core.levels import LevelField, LevelFileError, LevelSchema, bounds_check
from .config import XLandConfig
from .constants import GOAL_LEN, NUM_COLORS, NUM_GOALS, NUM_RULES, NUM_TILES, RULE_LEN

LEVEL_KEYS = ("goal", "rules", "num_rules", "init_tiles", "rule_hidden")
POSITION_GOALS = (5, 6)  # tile_on_position (tile, y, x), agent_on_position (y, x)


def level_schema(cfg: XLandConfig) -> LevelSchema:
    """Schema of one XLand level (a ruleset padded to the config's rule and tile capacities)."""
    rules_cap, tiles_cap = cfg.capacities()

    def check(levels: TensorDict) -> None:
        goal, rules = levels["goal"].long(), levels["rules"].long()
        count, tiles = levels["num_rules"].long(), levels["init_tiles"].long()
        bounds_check("goal", goal[:, 0] < NUM_GOALS, f"has a goal id >= {NUM_GOALS}")
        is_pos = (goal[:, 0] == 5) | (goal[:, 0] == 6)
        tile_ok = lambda t, c: (t < NUM_TILES) & (c < NUM_COLORS)  # noqa: E731
        first_ok = tile_ok(goal[:, 1], goal[:, 2]) | (goal[:, 0] == 6)
        second_ok = tile_ok(goal[:, 3], goal[:, 4]) | is_pos
        bounds_check("goal", first_ok & second_ok, "has a tile or colour id out of range")
        y = torch.where(goal[:, 0] == 6, goal[:, 1], goal[:, 3])
        x = torch.where(goal[:, 0] == 6, goal[:, 2], goal[:, 4])
        bounds_check("goal", ~is_pos | ((y < cfg.height) & (x < cfg.width)), "has a position off the grid")
        slot = torch.arange(rules_cap, device=rules.device)[None]  # [1, R]
        used = slot < count[:, None]  # [B, R]
        bounds_check("rules", (rules[..., 0] < NUM_RULES).all(-1), f"has a rule id >= {NUM_RULES}")
        bounds_check("rules", ((rules[..., 0] > 0) | ~used).all(-1), "has an empty rule before num_rules")
        bounds_check("rules", ((rules == 0).all(-1) | used).all(-1), "has a rule after num_rules")
        pairs = rules[..., 1:].reshape(*rules.shape[:2], 3, 2)
        bounds_check("rules", tile_ok(pairs[..., 0], pairs[..., 1]).all(-1).all(-1), "has a tile or colour id out of range")
        bounds_check("init_tiles", tile_ok(tiles[..., 0], tiles[..., 1]).all(-1), "has a tile or colour id out of range")

    return LevelSchema(
        world="xland",
        version=1,
        fields=(
            LevelField("goal", (GOAL_LEN,), torch.uint8, 0, 255, "goal encoding [id, a_tile, a_colour, b_tile, b_colour]"),
            LevelField("rules", (rules_cap, RULE_LEN), torch.uint8, 0, NUM_TILES,
                       "rule encodings [id, a_tile, a_colour, b_tile, b_colour, c_tile, c_colour], non-empty first"),
            LevelField("num_rules", (), torch.int32, 0, rules_cap, "rules the step loop visits"),
            LevelField("init_tiles", (tiles_cap, 2), torch.uint8, 0, NUM_TILES, "initial objects (tile, colour)"),
            LevelField("rule_hidden", (rules_cap,), torch.uint8, 0, 1, "1: the rule is masked in observations"),
        ),
        check=check,
    )


# ---------------------------------------------------------------------- files
class _UpstreamUnpickler(pickle.Unpickler):
    """Reads XLand-MiniGrid's bz2 pickles (dicts of jax arrays) as numpy, allowing numpy reconstruction only."""

    def find_class(self, module: str, name: str):
        if module == "jax._src.array" and name == "_reconstruct_array":
            return _reconstruct_as_numpy
        if module.split(".")[0] == "numpy" and name in ("_reconstruct", "dtype", "ndarray", "scalar", "_frombuffer"):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"ruleset file refers to {module}.{name}, which a ruleset file never needs")


def _reconstruct_as_numpy(fun, args, arr_state, aval_state):
    """What jax's ``_reconstruct_array`` does, minus the device put."""
    value = fun(*args)
    value.__setstate__(arr_state)
    return value


def read_ruleset_arrays(path: str | Path) -> dict[str, np.ndarray]:
    """``goals [N, 5]``, ``rules [N, R, 7]``, ``init_tiles [N, T, 2]``, ``num_rules [N]`` of a ruleset file.

    ``.npz`` (the shared samples) or XLand-MiniGrid's own bz2 pickle (what ``ruleset_generator.py`` and
    ``save_bz2_pickle`` write), read without jax.
    """
    path = Path(path)
    if not path.is_file():
        raise LevelFileError(f"{path}: no such ruleset file")
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as data:
            raw = {k: data[k] for k in data.files}
    else:
        try:
            with bz2.open(path, "rb") as handle:
                raw = _UpstreamUnpickler(io.BytesIO(handle.read())).load()
        except (OSError, pickle.UnpicklingError, EOFError) as err:
            raise LevelFileError(f"{path}: not an .npz or XLand-MiniGrid bz2 ruleset pickle ({err})") from None
    missing = [k for k in ("goals", "rules", "init_tiles") if k not in raw]
    if missing:
        raise LevelFileError(f"{path}: ruleset file lacks {missing}")
    out = {k: np.asarray(raw[k]).astype(np.int64) for k in ("goals", "rules", "init_tiles")}
    if out["goals"].ndim != 2 or out["goals"].shape[1] != GOAL_LEN:
        raise LevelFileError(f"{path}: field 'goals' must be [N, {GOAL_LEN}], got {out['goals'].shape}")
    if out["rules"].ndim != 3 or out["rules"].shape[2] != RULE_LEN:
        raise LevelFileError(f"{path}: field 'rules' must be [N, R, {RULE_LEN}], got {out['rules'].shape}")
    if out["init_tiles"].ndim != 3 or out["init_tiles"].shape[2] != 2:
        raise LevelFileError(f"{path}: field 'init_tiles' must be [N, T, 2], got {out['init_tiles'].shape}")
    counted = (out["rules"][..., 0] != 0).sum(-1)
    if "num_rules" in raw:
        stored = np.asarray(raw["num_rules"]).astype(np.int64).reshape(-1)
        if not np.array_equal(stored, counted):
            raise LevelFileError(f"{path}: field 'num_rules' disagrees with the non-empty rules it holds")
    out["num_rules"] = counted
    return out


def arrays_to_levels(arrays: dict[str, np.ndarray], cfg: XLandConfig, source: str = "rulesets") -> TensorDict:
    """Level records ``[N]`` of ruleset arrays: empty rules and tiles dropped, the rest packed first and padded."""
    rules_cap, tiles_cap = cfg.capacities()
    goals, rules, tiles = arrays["goals"], arrays["rules"], arrays["init_tiles"]
    n = goals.shape[0]
    keep_rule = rules[..., 0] != 0  # [N, R']
    keep_tile = tiles.any(-1)  # [N, T']
    if keep_rule.sum(-1).max(initial=0) > rules_cap or keep_tile.sum(-1).max(initial=0) > tiles_cap:
        raise LevelFileError(f"{source}: rulesets need {keep_rule.sum(-1).max()} rules and {keep_tile.sum(-1).max()} "
                             f"objects; this config holds {rules_cap} and {tiles_cap} (set max_rules / max_init_tiles)")
    out_rules = np.zeros((n, rules_cap, RULE_LEN), dtype=np.uint8)
    out_tiles = np.zeros((n, tiles_cap, 2), dtype=np.uint8)
    # stable "non-empty first": order by (empty, original slot)
    r_order = np.argsort(~keep_rule, axis=1, kind="stable")[:, :rules_cap]
    t_order = np.argsort(~keep_tile, axis=1, kind="stable")[:, :tiles_cap]
    r_take = np.take_along_axis(rules, r_order[..., None], axis=1) * np.take_along_axis(keep_rule, r_order, 1)[..., None]
    t_take = np.take_along_axis(tiles, t_order[..., None], axis=1) * np.take_along_axis(keep_tile, t_order, 1)[..., None]
    out_rules[:, :r_take.shape[1]] = r_take
    out_tiles[:, :t_take.shape[1]] = t_take
    levels = TensorDict({
        "goal": torch.from_numpy(goals.astype(np.uint8)),
        "rules": torch.from_numpy(out_rules),
        "num_rules": torch.from_numpy(keep_rule.sum(-1).astype(np.int32)),
        "init_tiles": torch.from_numpy(out_tiles),
        "rule_hidden": torch.zeros(n, rules_cap, dtype=torch.uint8),
    }, batch_size=[n])
    return level_schema(cfg).validate(levels, source=source)


def levels_to_arrays(levels: TensorDict) -> dict[str, np.ndarray]:
    """The upstream layout (``goals``, ``rules``, ``init_tiles``, ``num_rules [N, 1]``) of level records."""
    return {"goals": levels["goal"].cpu().numpy().astype(np.uint8),
            "rules": levels["rules"].cpu().numpy().astype(np.uint8),
            "init_tiles": levels["init_tiles"].cpu().numpy().astype(np.uint8),
            "num_rules": levels["num_rules"].cpu().numpy().astype(np.uint8).reshape(-1, 1)}


def load_rulesets(path: str | Path, cfg: XLandConfig, device: torch.device | str = "cpu") -> TensorDict:
    """Every ruleset of a file as level records ``[N]`` of ``cfg``'s capacities."""
    return arrays_to_levels(read_ruleset_arrays(path), cfg, source=str(path)).to(device)


def save_rulesets_npz(levels: TensorDict, path: str | Path) -> Path:
    """Write level records in the shared ``.npz`` layout (readable by ``numpy.load`` without pickle)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **levels_to_arrays(levels))
    return path


def read_levels(cfg: XLandConfig, path: str) -> tuple[TensorDict, list[str]]:
    """The World's ``read_levels``: a ruleset file as levels plus names (``<stem>_<index>``)."""
    levels = load_rulesets(path, cfg)
    return levels, [f"{Path(path).stem}_{i}" for i in range(levels.batch_size[0])]
