"""The batched TorchRL face shared by every Warp world.

A world subclasses :class:`WarpEnv` and supplies four things: its level schema, its specs, a
masked reset (``_reset_rows``) and a step (``_advance``). The base class owns the batch, the
per-row level record, the per-env random seeds and the TorchRL plumbing (``"_reset"`` masks,
done keys, seeding), so worlds only write kernels and launch them.

Keys: multi-agent worlds nest per-robot entries under ``"agents"`` with batch ``[N, A]``
(``("agents", "observation")``, ``("agents", "action")``, ``("agents", "reward")``); the episode's
``done``/``terminated``/``truncated`` live at the root with shape ``[N, 1]``.

Level tags: every row carries ``level_id`` (root key ``"level_id"`` ``[N, 1]`` int64), the tag of the
level it is running. Levels given with :meth:`set_levels` / :meth:`assign_levels` carry the caller's
tag (a curriculum's id, >= 0); a world's own random level gets a negative tag that encodes the row's
(seed, reset counter) it was drawn from, so :meth:`random_levels_from_tags` can rebuild it exactly.
A curriculum plugs in as ``env.level_source``: called with the reset mask before every reset, it
may assign levels to any of those rows (no host sync needed).

Trials (meta-RL): :meth:`restart` starts the rows in a mask again on the level they are running (a trial
boundary): the curriculum is not asked, no random level is drawn, the level tag stays, and the RNG
counter advances so whatever the world draws at a reset from ``(seed, counter)`` outside the level (a
start pose, say) is drawn afresh. A world says what else a restart re-draws by overriding
:meth:`_restart_rows`; ``ada.trials.TrialTransform`` calls :meth:`restart` at every trial end.
"""
from __future__ import annotations

from abc import abstractmethod
from typing import Callable

import torch
from tensordict import TensorDict, TensorDictBase
from torchrl.data import Composite, Unbounded
from torchrl.envs import EnvBase

from .launch import RowLauncher
from .levels import LevelFileError, LevelSchema
from .warp_runtime import init_warp, warp_device

AGENTS = "agents"
LEVEL_ID = "level_id"


def random_level_tag(seed: torch.Tensor, counter: torch.Tensor) -> torch.Tensor:
    """Negative int64 tags naming a world's random level by the (seed, reset counter) it is drawn from."""
    return -1 - ((seed.long() << 31) | counter.long())


def decode_random_tag(tag: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(seed, counter) int32 of negative tags made by :func:`random_level_tag`."""
    code = -1 - tag.long()
    return (code >> 31).int(), (code & 0x7FFFFFFF).int()


def mix_seeds(seed: int, n: int, device: torch.device | str) -> torch.Tensor:
    """``n`` well-spread non-negative int32 seeds derived from one integer (splitmix64 finaliser)."""
    mask64 = (1 << 64) - 1
    base = seed & mask64
    out = []
    for i in range(n):  # runs once per set_seed, never inside step
        z = (base + 0x9E3779B97F4A7C15 * (i + 1)) & mask64
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask64
        z ^= z >> 31
        out.append(z & 0x7FFFFFFF)
    return torch.tensor(out, dtype=torch.int32, device=device)


class WarpEnv(EnvBase):
    """Base class for batched Warp worlds: N envs on one device, masked resets, per-env seeds."""

    batch_locked = True
    level_schema: LevelSchema
    random_levels: bool = False  # rows without an assigned level draw the world's random level at reset

    def __init__(self, num_envs: int, device: torch.device | str = "cpu", seed: int = 0) -> None:
        if num_envs < 1:
            raise ValueError(f"num_envs must be at least 1, got {num_envs}")
        init_warp()
        super().__init__(device=torch.device(device), batch_size=torch.Size([num_envs]))
        self.num_envs = num_envs
        self.wp_device = warp_device(self.device)
        self.launcher = RowLauncher(self.wp_device, num_envs)
        self.rng_seed = torch.zeros(num_envs, dtype=torch.int32, device=self.device)  # [N]
        self.rng_counter = torch.zeros(num_envs, dtype=torch.int32, device=self.device)  # [N] resets so far
        self.levels = self.level_schema.empty(num_envs, self.device)  # [N] level record per row
        self.level_pending = torch.zeros(num_envs, dtype=torch.bool, device=self.device)  # [N]
        self.level_id = torch.full((num_envs,), -1, dtype=torch.int64, device=self.device)  # [N] level tag per row
        self.level_source: Callable[["WarpEnv", torch.Tensor], None] | None = None  # curriculum hook at resets
        self._all_rows = torch.ones(num_envs, dtype=torch.bool, device=self.device)
        self._seed = seed
        self._set_seed(seed)

    # ------------------------------------------------------------------ levels
    def set_levels(self, levels: TensorDict, rows: torch.Tensor | None = None, validate: bool = True,
                   ids: torch.Tensor | None = None) -> None:
        """Assign levels to rows; each row loads its new level at its next reset.

        ``levels`` has batch ``[k]`` and ``rows`` holds ``k`` row indices (or a bool mask with ``k``
        set rows); with ``rows=None`` it must have batch ``[N]``. ``ids`` ``[k]`` are the rows' new
        level tags (default: the level's position in ``levels``). Validation needs a host sync, so
        callers on a hot path that built levels with this world's own generator may skip it.
        """
        if validate:
            levels = self.level_schema.validate(levels.to("cpu"), source="set_levels").to(self.device)
        if rows is None:
            rows = torch.arange(self.num_envs, device=self.device)
        elif rows.dtype == torch.bool:
            rows = rows.nonzero().squeeze(-1)
        rows = rows.to(self.device)
        if rows.numel() != levels.batch_size[0]:
            raise LevelFileError(f"set_levels: {levels.batch_size[0]} levels for {rows.numel()} rows")
        for key, value in levels.items():
            self.levels.get(key)[rows] = value.to(self.device)
        self.level_pending[rows] = True
        if ids is None:
            ids = torch.arange(rows.numel(), device=self.device)
        self.level_id[rows] = ids.to(self.device, torch.int64)

    def assign_levels(self, levels: TensorDict, ids: torch.Tensor, mask: torch.Tensor) -> None:
        """Give the rows set in ``mask`` ``[N]`` the level of the same row of ``levels`` ``[N]`` (tag ``ids[row]``).

        A masked write with no host sync (for curricula on the reset path); levels must already be
        valid records of this env's schema and capacity.
        """
        for key, target in self.levels.items():
            value = levels.get(key)
            target.copy_(torch.where(mask.view(-1, *([1] * (target.dim() - 1))), value, target))
        self.level_pending.logical_or_(mask)
        self.level_id.copy_(torch.where(mask, ids, self.level_id))

    def current_levels(self) -> TensorDict:
        """The level record every row is running ``[N]`` (worlds that keep levels elsewhere override this)."""
        return self.levels

    @abstractmethod
    def random_levels_from_tags(self, tags: torch.Tensor) -> TensorDict:
        """The world's random levels ``[k]`` named by negative tags ``[k]`` (exactly as a reset drew them)."""

    # ------------------------------------------------------------------ exact checkpoints
    def runtime_state(self) -> dict[str, torch.Tensor]:
        """Every per-row tensor of the live state, the level record and the RNG counters (no copies)."""
        out = {f"levels.{k}": v for k, v in self.levels.items()}
        for name, value in vars(self).items():
            if (isinstance(value, torch.Tensor) and not name.startswith("_") and value.dim()
                    and value.shape[0] == self.num_envs):
                out[name] = value
        return out

    def load_runtime_state(self, state: dict[str, torch.Tensor]) -> None:
        """Copy a ``runtime_state()`` back in place (Warp views stay valid); refuses a mismatched state."""
        ours = self.runtime_state()
        missing, extra = sorted(set(ours) - set(state)), sorted(set(state) - set(ours))
        if missing or extra:
            raise ValueError(f"env state does not match this env: missing {missing}, unexpected {extra}")
        for key, target in ours.items():
            value = state[key]
            if value.shape != target.shape or value.dtype != target.dtype:
                raise ValueError(f"env state '{key}' is {tuple(value.shape)} {value.dtype}, "
                                 f"this env has {tuple(target.shape)} {target.dtype}")
        for key, target in ours.items():
            target.copy_(state[key])

    def state_bytes_per_env(self) -> int:
        """Bytes of live state plus level record held per env."""
        return sum(t.numel() * t.element_size() for t in self.runtime_state().values()) // self.num_envs

    # ------------------------------------------------------------------ TorchRL hooks
    def _reset(self, tensordict: TensorDictBase | None = None, **kwargs) -> TensorDictBase:
        mask = self._reset_mask(tensordict)
        if self.level_source is not None:
            self.level_source(self, mask)
        if self.random_levels:  # rows without an assigned level draw a random one
            fresh = mask & ~self.level_pending
            self.level_id.copy_(torch.where(fresh, random_level_tag(self.rng_seed, self.rng_counter), self.level_id))
        self._reset_rows(mask)
        self.rng_counter.add_(mask.int())
        self.level_pending.logical_and_(~mask)
        return self._with_level_id(self._observe(reset=True))

    def restart(self, mask: torch.Tensor) -> TensorDictBase:
        """Restart the rows set in ``mask`` ``[N]`` on their current level (a trial boundary); fresh observations.

        Masked, no host sync: the level source is not called, ``level_id`` is kept and ``rng_counter``
        advances for the restarted rows. Returns ``_observe(reset=True)`` of every row (with ``level_id``);
        only the masked rows' entries are a restart.
        """
        self._restart_rows(mask)
        self.rng_counter.add_(mask.int())
        return self._with_level_id(self._observe(reset=True))

    def _restart_rows(self, mask: torch.Tensor) -> None:
        """Put the masked rows back at the start of the level they run (default: the reset with the level kept).

        The row's level is written into its level record (from :meth:`current_levels`, for worlds that keep
        levels elsewhere) and marked pending, so ``_reset_rows`` loads it instead of drawing a new one.
        (``set_levels`` writes the record at once, so a level assigned mid-episode starts at the next restart.)
        """
        if type(self).current_levels is not WarpEnv.current_levels:  # the running level lives elsewhere
            running = self.current_levels()
            for key, target in self.levels.items():
                target.copy_(torch.where(mask.view(-1, *([1] * (target.dim() - 1))), running.get(key), target))
        pending = self.level_pending.clone()
        self.level_pending.logical_or_(mask)
        self._reset_rows(mask)
        self.level_pending.copy_(pending & ~mask)

    def _step(self, tensordict: TensorDictBase) -> TensorDictBase:
        self._advance(tensordict)
        return self._with_level_id(self._observe(reset=False))

    def _with_level_id(self, td: TensorDictBase) -> TensorDictBase:
        td.set(LEVEL_ID, self.level_id.unsqueeze(-1).clone())
        return td

    def _add_level_id_spec(self) -> None:
        """Declare the root ``"level_id"`` ``[N, 1]`` entry (worlds call this after building their specs)."""
        self.observation_spec[LEVEL_ID] = Unbounded(shape=(self.num_envs, 1), dtype=torch.int64, device=self.device)

    def _set_seed(self, seed: int | None) -> int | None:
        seed = 0 if seed is None else int(seed)
        self.rng_seed.copy_(mix_seeds(seed, self.num_envs, self.device))
        self.rng_counter.zero_()
        self._seed = seed
        return seed + self.num_envs

    def _reset_mask(self, tensordict: TensorDictBase | None) -> torch.Tensor:
        """Rows to reset, ``[N]`` bool: the root ``"_reset"`` entry if given, else every row."""
        if tensordict is None:
            return self._all_rows
        flag = tensordict.get("_reset", None)
        if flag is None:
            return self._all_rows
        return flag.reshape(self.num_envs, -1).any(-1)

    # ------------------------------------------------------------------ world API
    @classmethod
    def make_specs(cls, cfg, num_envs: int, device: torch.device | str) -> dict[str, Composite]:
        """``{"observation", "action", "reward", "done"}`` specs of batch ``[num_envs]`` for ``cfg``.

        This default builds a level-less instance to read them; worlds override it to derive the specs
        from the config alone (the registry calls it to size policies without building an env).
        """
        env = cls(cfg, num_envs=num_envs, device=device, seed=0, random_levels=False)
        observation = env.observation_spec.clone()
        if LEVEL_ID in observation.keys():
            del observation[LEVEL_ID]
        return {"observation": observation, "action": env.action_spec.clone(), "reward": env.reward_spec.clone(),
                "done": env.done_spec.clone()}

    def _make_specs(self) -> None:
        """Install ``make_specs(self.cfg, num_envs, device)`` as this env's specs (worlds call it once at build)."""
        specs = self.make_specs(self.cfg, self.num_envs, self.device)
        self.observation_spec, self.action_spec = specs["observation"], specs["action"]
        self.reward_spec, self.done_spec = specs["reward"], specs["done"]

    @abstractmethod
    def _reset_rows(self, mask: torch.Tensor) -> None:
        """Reset the rows where ``mask`` (``[N]`` bool) is set to the start of their level."""

    @abstractmethod
    def _advance(self, tensordict: TensorDictBase) -> None:
        """Apply the actions in ``tensordict`` and advance the state of every row by one step."""

    @abstractmethod
    def _observe(self, reset: bool) -> TensorDictBase:
        """Fresh tensors for observations (and, after a step, rewards and dones) of every row."""
