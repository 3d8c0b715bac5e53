"""One rank's runtime of a training run, saved and restored as one piece: :class:`RunState`.

Everything a resumed run needs besides the weights, optimiser and scheduler (which Lightning saves):
the env (positions, levels, RNG counters), the collector's current step (observations, memory), the
return and length of every episode in progress, the live memory cache of cached-memory cores, the curriculum sampler, every
global RNG, and the per-run state of loss modules (a teacher's memory). Its surface is
``collect()``, ``state_dict()``, ``load_state_dict()`` and ``close()``.
"""
from __future__ import annotations

import random
from typing import Any, Iterator, Mapping, Protocol

import numpy as np
import torch
from tensordict import TensorDict, TensorDictBase
from torchrl.collectors import Collector

from curricula import LevelSampler
from envs_warp.core.env_base import WarpEnv
from models.actor_critic import ActorCritic

from .config import EnvConfig
from .curriculum import WorldContext
from .evaluate import PolicyRollouts
from .policy import RolloutPolicy
from .worlds import agents_of, build_env, success_key, with_memory

class RuntimePart(Protocol):
    """A component with per-rank run state (e.g. a loss module carrying a teacher's memory)."""

    def start(self, rows: int, device: torch.device) -> None:
        """Allocate state for ``rows`` sequences."""

    def runtime_state(self) -> dict[str, Any] | None:
        """The state to checkpoint: CPU tensors in plain dicts/lists, ints, floats, strings (no TensorDicts, NumPy
        arrays or other objects: checkpoints load with ``weights_only=True`` and refuse anything else)."""

    def load_runtime_state(self, state: dict[str, Any] | None) -> None:
        """Restore ``runtime_state()``."""


def collector_carrier(collector: Collector) -> TensorDictBase:
    """The collector's current step (the TensorDict the next rollout starts from).

    TorchRL has no public accessor; this is the one place that reads the private ``_carrier`` (TorchRL
    0.14), and ``tests/ada/test_runtime.py`` fails if a TorchRL release renames or changes it.
    """
    carrier = getattr(collector, "_carrier", None)
    if not isinstance(carrier, TensorDictBase):
        raise RuntimeError("torchrl.collectors.Collector no longer keeps its current step in `_carrier`; "
                           "update ada.runtime.collector_carrier for this TorchRL version")
    return carrier


class RunState:
    """This rank's env, collector, rollout policy, curriculum sampler and RNG, outside the module tree.

    Building it seeds the global RNGs from ``seed + 1000·rank``, builds the world's env on ``device``
    (the curriculum, if any, becomes its level source) and makes the collector, whose first reset happens
    here. ``parts`` (e.g. loss modules) get ``start(N·A, device)`` and have
    their ``runtime_state`` saved with the rest.

    Examples:
        >>> run = RunState(env_cfg, model, frames_per_batch=N * T, device="cpu", seed=0)
        >>> data = run.collect()  # [N, T]
        >>> state = run.state_dict()  # ... later, in a fresh process, after building the same RunState:
        >>> run.load_state_dict(state)  # the next collect() continues exactly
    """

    def __init__(self, env_cfg: EnvConfig, model: ActorCritic, frames_per_batch: int, device: torch.device | str,
                 seed: int, rank: int = 0, world_size: int = 1, sampler: LevelSampler | None = None,
                 parts: Mapping[str, RuntimePart] | None = None) -> None:
        self.device = torch.device(device)
        self.env_cfg = env_cfg
        self.success_key = success_key(env_cfg)
        seed_all(seed + 1000 * rank)
        self.base_env = build_env(env_cfg, self.device, seed=seed + 1000 * rank)
        self.sampler = sampler
        if sampler is not None:
            if not isinstance(self.base_env, WarpEnv):
                raise ValueError(f"a curriculum needs a world with levels, not {env_cfg.world!r}")
            sampler.bind(WorldContext(PolicyRollouts(env_cfg, model, self.device), self.base_env, self.device,
                                      rank, world_size))
            self.base_env.level_source = sampler.on_reset  # before the collector's first reset
        self.env = with_memory(self.base_env, model.carried_memory_shape())
        self.policy = RolloutPolicy(model)  # owns the live memory cache of cached-memory cores
        self.collector = Collector(self.env, self.policy, frames_per_batch=frames_per_batch, total_frames=-1,
                                   device=self.device, trust_policy=True)
        rows = self.base_env.batch_size[0] * agents_of(self.base_env)  # N·A sequences
        if model.cached_memory:
            self.policy.ensure_cache(rows, self.device)
        self.tracker = EpisodeTracker(self.base_env.batch_size[0], self.device, self.success_key)
        self.parts = dict(parts or {})
        for part in self.parts.values():
            part.start(rows, self.device)
        self.window_memory: torch.Tensor | None = None  # [N·A, ...] the live cache as it was when this rollout began
        self._iterator: Iterator[TensorDictBase] | None = None
        self._final: dict[str, Any] | None = None  # the state at close(), once the collector is shut

    def collect(self) -> TensorDictBase:
        """The next rollout ``[N, T]``; ``window_memory`` keeps the cache it started from (cached-memory cores)."""
        if self.policy.cache is not None:
            self.window_memory = self.policy.memory()
        if self._iterator is None:
            self._iterator = iter(self.collector)
        return next(self._iterator)

    def episodes(self, data: TensorDictBase) -> tuple[dict[str, tuple[torch.Tensor, torch.Tensor]], torch.Tensor,
                                                      torch.Tensor]:
        """Statistics of the episodes that ended in rollout ``data [N, T]`` (see ``EpisodeTracker.finished``)."""
        return self.tracker.finished(data)

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue this rank exactly: CPU tensors in plain dicts/lists, ints, floats and strings
        (the collector's TensorDict as ``{key tuple: tensor}``, RNGs as in :func:`rng_state`), so a checkpoint
        holding it loads with ``torch.load(weights_only=True)``."""
        if self._final is not None:
            return self._final
        cache = self.policy.cache
        return {
            "env": {k: v.detach().cpu().clone() for k, v in self.base_env.runtime_state().items()},
            "carrier": tensordict_to_plain(collector_carrier(self.collector)),
            **self.tracker.state_dict(),
            "rng": rng_state(),
            "cache": None if cache is None else cache.detach().cpu().clone(),
            "cache_head": self.policy.head,
            "curriculum": None if self.sampler is None else self.sampler.state_dict(),
            "parts": {name: part.runtime_state() for name, part in self.parts.items()},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from ``state_dict()`` (before the first ``collect``)."""
        self.base_env.load_runtime_state({k: v.to(self.device) for k, v in state["env"].items()})
        carrier = collector_carrier(self.collector)
        carrier.update_(plain_to_tensordict(state["carrier"], carrier.batch_size, self.device))  # in place
        self.tracker.load_state_dict(state)
        set_rng_state(state["rng"])
        if state.get("cache") is not None:
            self.policy.cache = state["cache"].to(self.device)
            self.policy.head = state["cache_head"]
        if self.sampler is not None:
            self.sampler.load_state_dict(state["curriculum"])
        for name, part in self.parts.items():
            part.load_runtime_state(state.get("parts", {}).get(name))

    def close(self) -> None:
        """Keep the final state (a checkpoint saved after training still holds it), then shut the collector."""
        if self._final is None:
            self._final = self.state_dict()
            self.collector.shutdown()


class EpisodeTracker:
    """Return and length of every env's episode in progress, carried from one rollout to the next.

    Our own running totals rather than TorchRL's ``RewardSum``/``StepCounter``: those sum each robot's
    reward, ours sums the robots' mean reward per step (the same maths, other float rounding with
    several robots), and PLR's ``maxmc`` score reads it, so curriculum decisions stay bit-identical.
    """

    def __init__(self, num_envs: int, device: torch.device, success_key: tuple[str, ...]) -> None:
        self.success_key = success_key
        self.running_return = torch.zeros(num_envs, device=device)  # [N] mean over robots
        self.running_length = torch.zeros(num_envs, device=device)  # [N] steps

    def finished(self, data: TensorDictBase) -> tuple[dict[str, tuple[torch.Tensor, torch.Tensor]], torch.Tensor,
                                                      torch.Tensor]:
        """(sum, count) of returns, lengths and successes of the episodes that ended in rollout ``data [N, T]``,
        plus each finished episode's return and success at its last step ``[N, T]`` (0 / False elsewhere)."""
        reward = data.get(("next", "agents", "reward"))[..., 0].mean(-1)  # [N, T]
        done = data.get(("next", "done"))[..., 0]  # [N, T]
        success = data.get(("next", *self.success_key))[..., 0].all(-1) & done  # [N, T]
        ret_sum = torch.zeros((), device=reward.device)
        len_sum = torch.zeros((), device=reward.device)
        episode_return = torch.zeros_like(reward)  # [N, T]
        for step in range(reward.shape[1]):
            self.running_return += reward[:, step]
            self.running_length += 1
            d = done[:, step]
            episode_return[:, step] = self.running_return * d
            ret_sum += (self.running_return * d).sum()
            len_sum += (self.running_length * d).sum()
            self.running_return *= ~d
            self.running_length *= ~d
        count = done.sum()
        stats = {"return": (ret_sum, count), "length": (len_sum, count), "success": (success.sum().float(), count)}
        return stats, episode_return, success

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The totals so far (CPU)."""
        return {"running_return": self.running_return.cpu().clone(), "running_length": self.running_length.cpu().clone()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Restore ``state_dict()``."""
        self.running_return.copy_(state["running_return"])
        self.running_length.copy_(state["running_length"])


def seed_all(seed: int) -> None:
    """Seed Python's, NumPy's and torch's global RNGs."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def tensordict_to_plain(td: TensorDictBase) -> dict[tuple[str, ...], torch.Tensor]:
    """Every leaf of ``td`` as ``{key tuple: CPU tensor}``: a plain container that ``torch.load(weights_only=True)`` reads."""
    return {key if isinstance(key, tuple) else (key,): value.detach().cpu().clone()
            for key, value in td.items(include_nested=True, leaves_only=True) if isinstance(value, torch.Tensor)}


def plain_to_tensordict(plain: Mapping[tuple[str, ...], torch.Tensor], batch_size: torch.Size,
                        device: torch.device) -> TensorDict:
    """The TensorDict of ``tensordict_to_plain`` output, on ``device``."""
    td = TensorDict({}, batch_size=batch_size, device=device)
    for key, value in plain.items():
        td.set(key, value.to(device))
    return td


def rng_state() -> dict[str, Any]:
    """Every global RNG state (Python, NumPy, torch CPU and CUDA) as tensors, ints, floats and strings only.

    Python's Mersenne Twister: ``{"version": 3, "state": int64 [625], "gauss_next": float | None}``; NumPy's legacy
    global RNG: ``{"bit_generator": "MT19937", "key": int64 [624], "pos", "has_gauss": int, "cached_gaussian": float}``;
    torch: ``uint8`` tensors (CUDA: one per device). Nothing in it needs unpickling code to load.
    """
    version, internal, gauss_next = random.getstate()
    name, key, pos, has_gauss, cached = np.random.get_state()
    state = {"python": {"version": int(version), "state": torch.tensor(internal, dtype=torch.int64),
                        "gauss_next": gauss_next},
             "numpy": {"bit_generator": str(name), "key": torch.from_numpy(key.astype(np.int64)), "pos": int(pos),
                       "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
             "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore ``rng_state()``."""
    py, npy = state["python"], state["numpy"]
    random.setstate((py["version"], tuple(int(x) for x in py["state"].tolist()), py["gauss_next"]))
    np.random.set_state((npy["bit_generator"], npy["key"].numpy().astype(np.uint32), npy["pos"], npy["has_gauss"],
                         npy["cached_gaussian"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def plain_runtime_state(state: dict[str, Any] | None) -> dict[str, Any] | None:
    """A rank's runtime state written by an older ada (a TensorDict carrier, NumPy arrays and a tuple for the RNGs)
    in today's plain format; a state already in it is returned unchanged. Used by ``ada convert``."""
    if state is None:
        return None
    state = dict(state)
    if isinstance(state.get("carrier"), TensorDictBase):
        state["carrier"] = tensordict_to_plain(state["carrier"])
    rng = dict(state["rng"])
    if isinstance(rng.get("python"), tuple):
        version, internal, gauss_next = rng["python"]
        rng["python"] = {"version": int(version), "state": torch.tensor(internal, dtype=torch.int64),
                         "gauss_next": gauss_next}
    if isinstance(rng.get("numpy"), tuple):
        name, key, pos, has_gauss, cached = rng["numpy"]
        rng["numpy"] = {"bit_generator": str(name), "key": torch.from_numpy(np.asarray(key).astype(np.int64)),
                        "pos": int(pos), "has_gauss": int(has_gauss), "cached_gaussian": float(cached)}
    state["rng"] = rng
    return state
