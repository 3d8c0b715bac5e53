"""Lidar-navigation levels: the padded record, its file schema, the random generator and the path check."""
from __future__ import annotations

import math
from importlib import resources
from pathlib import Path

import torch
import warp as wp
from tensordict import TensorDict

from ..core.launch import RowLauncher
from ..core.levels import LevelField, LevelFileError, LevelSchema, bounds_check
from ..core.warp_runtime import init_warp, warp_device
from . import generation
from .config import LidarNavConfig


def level_schema(cfg: LidarNavConfig) -> LevelSchema:
    """Schema of one level: wall grid ``[H, W]``, robot starts ``[A, 3]`` (x, y, θ) and goals ``[A, 2]``."""
    w_m, h_m = cfg.map_width * cfg.cell_size, cfg.map_height * cfg.cell_size

    def check(levels: TensorDict) -> None:
        start, goal = levels["start"], levels["goal"]
        inside = lambda xy: (xy[..., 0] > 0) & (xy[..., 0] < w_m) & (xy[..., 1] > 0) & (xy[..., 1] < h_m)
        bounds_check("start", inside(start[..., :2]).all(-1), f"puts a robot outside the {w_m:g} x {h_m:g} m map")
        bounds_check("goal", inside(goal).all(-1), f"puts a goal outside the {w_m:g} x {h_m:g} m map")
        blocked = start_in_wall(levels, cfg)
        bounds_check("start", ~blocked.any(-1), "puts a robot inside a wall")

    return LevelSchema(
        world="lidarnav",
        version=1,
        fields=(
            LevelField("walls", (cfg.map_height, cfg.map_width), torch.uint8, 0, 1,
                       "occupancy, row y then column x; '#' wall, '.' free", grid=True),
            LevelField("start", (cfg.num_agents, 3), torch.float32, -math.pi - 1e-6, max(w_m, h_m),
                       "robot start poses (x [m], y [m], heading [rad])"),
            LevelField("goal", (cfg.num_agents, 2), torch.float32, 0.0, max(w_m, h_m), "goal positions [m]"),
        ),
        check=check,
    )


def start_in_wall(levels: TensorDict, cfg: LidarNavConfig) -> torch.Tensor:
    """``[B, A]`` bool: whether each robot's start cell is a wall (a host-side check for level files)."""
    walls = levels["walls"]  # [B, H, W]
    xy = torch.floor(levels["start"][..., :2] / cfg.cell_size).long()  # [B, A, 2]
    x = xy[..., 0].clamp(0, cfg.map_width - 1)
    y = xy[..., 1].clamp(0, cfg.map_height - 1)
    rows = torch.arange(walls.shape[0], device=walls.device)[:, None].expand_as(x)
    return walls[rows, y, x] != 0


class LevelGenerator:
    """Draws JaxNav-distributed random levels on the device and checks grid-path solvability."""

    def __init__(self, cfg: LidarNavConfig, device: torch.device | str = "cpu") -> None:
        init_warp()
        self.cfg = cfg
        self.device = torch.device(device)
        self.wp_device = warp_device(self.device)
        self.params = cfg.kernel_params()
        self.schema = level_schema(cfg)
        self._scratch: dict[int, tuple] = {}
        self._views: dict[tuple, tuple] = {}

    def _buffers(self, n: int) -> tuple:
        """Scratch tensors and a launcher for batches of ``n`` levels (kept for the last size used)."""
        if n not in self._scratch:
            cells = (self.cfg.map_width - 2) * (self.cfg.map_height - 2)
            grid = self.cfg.map_width * self.cfg.map_height
            launcher = RowLauncher(self.wp_device, n)
            scratch = (
                torch.zeros(n, max(1, cells), dtype=torch.int32, device=self.device),
                torch.zeros(n, grid, dtype=torch.int32, device=self.device),
                torch.zeros(n, grid, dtype=torch.int32, device=self.device),
                torch.zeros(n, dtype=torch.int32, device=self.device),
                torch.zeros(n, dtype=torch.bool, device=self.device),  # rows to generate
            )
            views = tuple(launcher.rows(t) for t in scratch[:4]) + (launcher.rows(scratch[4], wp.bool),)
            self._scratch = {n: (launcher, scratch, views)}
            self._views = {}
        return self._scratch[n]

    def _level_views(self, launcher: RowLauncher, levels: TensorDict, *extra: torch.Tensor, cache: bool = True) -> tuple:
        """Row views of a level batch's fields (and extra per-row tensors), cached per storage.

        Only long-lived tensors belong here (an env's level record, seeds, counters): the cache keeps
        them alive.
        """
        tensors = (levels["walls"], levels["start"], levels["goal"], *extra)
        key = tuple((t.data_ptr(), t.dtype) for t in tensors)
        if key in self._views:
            return self._views[key]
        dtypes = (None, wp.vec3, wp.vec2) + tuple(wp.bool if t.dtype == torch.bool else None for t in extra)
        views = tuple(launcher.rows(t, d) for t, d in zip(tensors, dtypes))
        if cache:
            self._views[key] = views
        return views

    def generate_into(self, levels: TensorDict, mask: torch.Tensor, seed: torch.Tensor, counter: torch.Tensor,
                      cache_views: bool = True) -> torch.Tensor:
        """Overwrite the masked rows of ``levels`` (batch ``[B]``) with fresh random levels; returns ``[B]`` solvable flags.

        ``cache_views`` keeps Warp views of ``levels``, ``seed`` and ``counter`` for the next call (for an
        env's long-lived level record); pass False for one-off batches.
        """
        launcher, scratch, (cells, queue, seen, solvable, mask_v) = self._buffers(levels.batch_size[0])
        scratch[4].copy_(mask)
        walls, start, goal, seed_v, counter_v = self._level_views(launcher, levels, seed, counter, cache=cache_views)
        launcher.launch(generation.generate_levels, (),
                        inputs=[self.params, mask_v, seed_v, counter_v, cells, queue, seen],
                        outputs=[walls, start, goal, solvable])
        return scratch[3].bool()

    def generate(self, n: int, seed: int = 0) -> TensorDict:
        """``n`` random levels (batch ``[n]``) reproducible from ``seed``."""
        from ..core.env_base import mix_seeds

        levels = self.schema.empty(n, self.device)
        mask = torch.ones(n, dtype=torch.bool, device=self.device)
        counter = torch.zeros(n, dtype=torch.int32, device=self.device)
        self.generate_into(levels, mask, mix_seeds(seed, n, self.device), counter, cache_views=False)
        return levels

    def solvable(self, levels: TensorDict) -> torch.Tensor:
        """``[B]`` bool: every robot of each level has a 4-connected free-cell path to its goal."""
        levels = levels.to(self.device).apply(lambda t: t.contiguous())
        launcher, scratch, (_, queue, seen, out, _) = self._buffers(levels.batch_size[0])
        walls = launcher.rows(levels["walls"])
        start = launcher.rows(levels["start"], wp.vec3)
        goal = launcher.rows(levels["goal"], wp.vec2)
        launcher.launch(generation.check_solvable, (), inputs=[self.params, walls, start, goal, queue, seen], outputs=[out])
        return scratch[3].bool()


MAPS_PACKAGE = "envs_warp.lidarnav"


def test_map_paths() -> list[Path]:
    """The hand-designed held-out maps shipped with the package (one JSON file each)."""
    root = resources.files(MAPS_PACKAGE) / "maps"
    return sorted(Path(str(p)) for p in root.iterdir() if str(p).endswith(".json"))


def load_test_maps(cfg: LidarNavConfig, device: torch.device | str = "cpu") -> tuple[TensorDict, list[str]]:
    """Every shipped test map that fits ``cfg`` (same grid size and robot count), with names."""
    schema = level_schema(cfg)
    batches, names = [], []
    for path in test_map_paths():
        try:
            levels, level_names = schema.load_with_names(path, device)
        except LevelFileError as err:
            if "shape" in str(err):
                continue  # a map for another grid size or robot count
            raise
        batches.append(levels)
        names += level_names
    if not batches:
        raise LevelFileError(f"no shipped test map fits a {cfg.map_width}x{cfg.map_height} grid with {cfg.num_agents} robots")
    return torch.cat(batches), names
