"""Configuration of the XLand world: layout, size, ruleset source, observation parts; the observation layout."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

LAYOUTS = ("R1", "R2", "R4", "R6", "R9")
# XLand-MiniGrid's registered sizes per layout (others are allowed when the rooms fit)
REGISTERED_SIZES = {"R1": (9, 11, 13, 15, 17), "R2": (9, 11, 13, 15, 17), "R4": (9, 11, 13, 15, 17),
                    "R6": (13, 17, 19), "R9": (16, 19, 25)}
OBS_FORMATS = ("onehot", "index")


@dataclass(frozen=True)
class GeneratorPreset:
    """Settings of the published ruleset procedure (XLand-MiniGrid's ``ruleset_generator.py`` flags)."""

    chain_depth: int = 1  # levels of production rules from the goal backwards
    num_distractor_rules: int = 0  # dead-end rules (at most this many with sample_distractor_rules)
    num_distractor_objects: int = 0  # extra objects, drawn with replacement among unused tiles
    sample_depth: bool = False  # depth uniform in [0, chain_depth] instead of chain_depth
    sample_distractor_rules: bool = False  # distractor count uniform in [0, num_distractor_rules]
    prune_chain: bool = False  # each chain tile may become an initial object instead of a rule product
    prune_prob: float = 0.0

    def capacity(self) -> tuple[int, int]:
        """Most (rules, initial tiles) one ruleset of this preset can have."""
        chain_rules = 2 ** (self.chain_depth + 1) - 2  # goal has <= 2 tiles, each rule <= 2 inputs
        chain_tiles = 2 if self.chain_depth == 0 else 2 ** (self.chain_depth + 1)
        rules = max(1, chain_rules + self.num_distractor_rules)
        return rules, chain_tiles + self.num_distractor_objects + 2 * self.num_distractor_rules


# XLand-MiniGrid's four benchmarks (scripts/generate_benchmarks.sh)
PRESETS: dict[str, GeneratorPreset] = {
    "trivial": GeneratorPreset(chain_depth=0, num_distractor_objects=3),
    "small": GeneratorPreset(chain_depth=1, num_distractor_rules=2, num_distractor_objects=2,
                             sample_distractor_rules=True, prune_chain=True, prune_prob=0.3),
    "medium": GeneratorPreset(chain_depth=2, num_distractor_rules=3, num_distractor_objects=2,
                              sample_distractor_rules=True, prune_chain=True, prune_prob=0.1),
    "high": GeneratorPreset(chain_depth=3, num_distractor_rules=4, num_distractor_objects=1,
                            sample_distractor_rules=True, prune_chain=True, prune_prob=0.1),
}


@dataclass(frozen=True)
class XLandConfig:
    """The world: a grid layout of rooms, a source of rulesets, the episode limit and what the agent sees."""

    layout: str = "R1"  # R1 | R2 | R4 | R6 | R9 rooms
    height: int = 9  # cells, outer walls included
    width: int = 9
    view_size: int = 5  # egocentric V×V view
    max_steps: int = 0  # episode limit T; 0: 3·H·W (XLand-MiniGrid's default)
    benchmark: str = "trivial"  # generator preset (trivial/small/medium/high) or a ruleset file (.npz, upstream .pkl)
    preset: GeneratorPreset | None = None  # a custom generator preset (overrides `benchmark` when set)
    max_rules: int = 0  # rule capacity R; 0: the preset's or the file's
    max_init_tiles: int = 0  # initial-object capacity T; 0: the preset's or the file's
    hidden_rule_prob: float = 0.0  # each rule of a random level is hidden from the observation with this probability
    observe_goal: bool = False  # goal encoding in the observation (XLand-MiniGrid's RL² baseline: False)
    observe_rules: bool = False  # rule encodings in the observation (hidden ones masked)
    observe_pocket: bool = True  # the carried tile in the observation
    obs_format: str = "onehot"  # "onehot" (25 floats per tile) or "index" (tile and colour ids as floats)

    def __post_init__(self) -> None:
        problems = []
        if self.layout not in LAYOUTS:
            problems.append(f"layout must be one of {LAYOUTS}, got {self.layout!r}")
        if self.obs_format not in OBS_FORMATS:
            problems.append(f"obs_format must be one of {OBS_FORMATS}, got {self.obs_format!r}")
        if not 5 <= self.height <= 255 or not 5 <= self.width <= 255:
            problems.append(f"height and width must be in [5, 255], got {self.height}x{self.width}")
        if self.view_size < 3 or self.view_size % 2 == 0:
            problems.append(f"view_size must be odd and >= 3, got {self.view_size}")
        if self.max_steps < 0:
            problems.append(f"max_steps must be >= 0, got {self.max_steps}")
        if not 0.0 <= self.hidden_rule_prob <= 1.0:
            problems.append(f"hidden_rule_prob must be in [0, 1], got {self.hidden_rule_prob}")
        if self.preset is None and self.benchmark not in PRESETS and not Path(self.benchmark).suffix:
            problems.append(f"benchmark must be one of {sorted(PRESETS)} or a ruleset file path, got {self.benchmark!r}")
        if problems:
            raise ValueError("XLandConfig: " + "; ".join(problems))
        if self.max_steps == 0:
            object.__setattr__(self, "max_steps", 3 * self.height * self.width)
        if isinstance(self.preset, dict):
            object.__setattr__(self, "preset", GeneratorPreset(**self.preset))
        rules, tiles = self.capacities()
        free = floor_cells(self.layout, self.height, self.width)
        if tiles + 1 > free:
            raise ValueError(f"XLandConfig: {tiles} objects and the agent do not fit the {free} floor cells of "
                             f"{self.layout} {self.height}x{self.width}")

    # ------------------------------------------------------------------ derived
    @property
    def generator_preset(self) -> GeneratorPreset | None:
        """The on-device generator's settings, or None when rulesets come from a file."""
        if self.preset is not None:
            return self.preset
        return PRESETS.get(self.benchmark)

    def capacities(self) -> tuple[int, int]:
        """(rule capacity R, initial-tile capacity T) of the level record."""
        preset = self.generator_preset
        if preset is not None:
            rules, tiles = preset.capacity()
        else:
            rules, tiles = ruleset_file_capacity(self.benchmark)
        if self.max_rules:
            if self.max_rules < rules:
                raise ValueError(f"XLandConfig: max_rules {self.max_rules} < {rules} that the rulesets need")
            rules = self.max_rules
        if self.max_init_tiles:
            if self.max_init_tiles < tiles:
                raise ValueError(f"XLandConfig: max_init_tiles {self.max_init_tiles} < {tiles} that the rulesets need")
            tiles = self.max_init_tiles
        return rules, tiles

    @property
    def obs_dim(self) -> int:
        """Length of the observation vector."""
        return obs_layout(self)["size"]


def obs_layout(cfg: XLandConfig) -> dict[str, int]:
    """Offsets of the observation parts (``-1``: absent) and the total ``size``; see ``observations.py``."""
    onehot = cfg.obs_format == "onehot"
    cell = 25 if onehot else 2
    rules, _ = cfg.capacities()
    out = {"onehot": int(onehot), "view": cfg.view_size, "view_off": 0}
    off = cfg.view_size * cfg.view_size * cell
    out["dir_off"], off = off, off + 4
    out["pocket_off"], off = (off, off + cell) if cfg.observe_pocket else (-1, off)
    out["goal_off"], off = (off, off + (15 + 2 * cell if onehot else 5)) if cfg.observe_goal else (-1, off)
    out["rules_off"], off = (off, off + rules * (12 + 3 * cell + 1 if onehot else 8)) if cfg.observe_rules else (-1, off)
    out["max_rules"] = rules
    out["size"] = off
    return out


def wall_mask(layout: str, height: int, width: int) -> np.ndarray:
    """``[H, W]`` bool: the layout's walls and door cells (doors sit on walls), as XLand-MiniGrid draws them."""
    h, w = height, width
    walls = np.zeros((h, w), dtype=bool)
    walls[0, :] = walls[-1, :] = walls[:, 0] = walls[:, -1] = True
    if layout == "R2":
        walls[:, w // 2] = True
    elif layout == "R4":
        walls[:, w // 2] = True
        walls[h // 2, :] = True
    elif layout == "R6":
        walls[:, w // 2 - 2] = walls[:, w // 2 + 2] = True
        for i in (1, 2):
            walls[i * (h // 3), 0:max(0, w // 2 - 2)] = True
            walls[i * (h // 3), w // 2 + 2:w // 2 + 2 + max(0, w // 2 - 2)] = True
    elif layout == "R9":
        walls[:, w // 3] = walls[:, 2 * (w // 3)] = True
        walls[h // 3, :] = walls[2 * (h // 3), :] = True
    return walls


def floor_cells(layout: str, height: int, width: int) -> int:
    """Cells that can hold an object or the agent (floor) in the layout."""
    return int((~wall_mask(layout, height, width)).sum())


@lru_cache(maxsize=16)
def ruleset_file_capacity(path: str) -> tuple[int, int]:
    """(rules, initial tiles) capacity of a ruleset file, after dropping empty padding rules."""
    from .rulesets import read_ruleset_arrays

    arrays = read_ruleset_arrays(path)
    rules = max(1, int(arrays["num_rules"].max(initial=0)))
    tiles = int(((arrays["init_tiles"] != 0).any(-1)).sum(-1).max(initial=0))
    return rules, max(1, tiles)
