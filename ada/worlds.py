"""The training side's view of a world: every call goes through the world's ``World`` descriptor.

Nothing here names a world. ``EnvConfig.world`` is a registered name (``lidarnav``, ``physics2d``, a
world of an installed distribution's ``ada.worlds`` entry point) or a ``"some.module:WORLD"`` reference;
see :mod:`envs_warp.core.world` for the contract and the capabilities.
"""
from __future__ import annotations

from typing import Callable

import torch
from tensordict import TensorDict
from torchrl.data import Composite, Unbounded
from torchrl.envs import Compose, EnvBase, InitTracker, TensorDictPrimer, TransformedEnv

from envs_warp.core.world import World, WorldError, get_world
from models.actor_critic import ActionSpace

from .config import EnvConfig, TrialConfig
from .trials import TrialInputs, TrialTransform, trial_input_size

MEMORY_KEY = ("agents", "memory")

__all__ = ["MEMORY_KEY", "World", "WorldError", "get_world", "world_of", "world_config", "build_env", "with_memory",
           "agents_of", "action_space_of", "describe", "episode_limit", "held_out_levels", "read_level_file", "has_pictures",
           "draw_row_fn", "agent_positions", "scripted_policy", "random_levels", "solvable_mask", "mutate_levels",
           "noop_solved"]


def world_of(cfg: EnvConfig) -> World:
    """The checked ``World`` that ``cfg.world`` names."""
    return get_world(cfg.world)


def world_config(cfg: EnvConfig):
    """The world's own config dataclass with ``cfg.overrides`` applied (unknown fields are refused).

    A nested dataclass field (e.g. physics2d's ``physics``) takes a dict of its own fields.
    """
    return world_of(cfg).make_config(cfg.overrides)


def build_env(cfg: EnvConfig, device: torch.device | str, seed: int, num_envs: int | None = None,
              random_levels: bool = True) -> EnvBase:
    """The world's batched env (no transforms)."""
    world = world_of(cfg)
    env = world.build(world.make_config(cfg.overrides), num_envs or cfg.num_envs, device, seed, random_levels)
    if cfg.trials.active:
        env.trial_config = cfg.trials  # with_memory adds the trial transforms of this config
    return env


def with_memory(env: EnvBase, memory_shape: tuple[int, ...], trials: TrialConfig | None = None) -> TransformedEnv:
    """Add ``is_init`` and a per-robot memory entry ``("agents", "memory")`` zeroed at every reset (episode).

    With active ``trials`` (default: the ``EnvConfig.trials`` that ``build_env`` recorded on the env) the
    trial transforms of :mod:`ada.trials` come first: K trials per episode, memory kept across them, and
    the policy inputs appended to the observation. Inactive trials leave the env exactly as without them.
    """
    trials = trials if trials is not None else getattr(env, "trial_config", None)
    n, a = env.batch_size[0], agents_of(env)
    primer = Composite(
        {"agents": Composite(memory=Unbounded(shape=(n, a, *memory_shape), device=env.device), shape=(n, a))},
        shape=(n,),
    )
    parts = []
    if trials is not None and trials.active:
        parts.append(TrialTransform(trials.k_min, trials.max_trials))
        if trials.with_inputs:
            parts.append(TrialInputs(trials, action_space_of(env.full_action_spec["agents", "action"])))
    return TransformedEnv(env, Compose(*parts, InitTracker(), TensorDictPrimer(primer, expand_specs=False)))


def agents_of(env: EnvBase) -> int:
    """Robots per env (the ``"agents"`` batch dim)."""
    return env.full_action_spec["agents"].shape[1]


def describe(cfg: EnvConfig) -> tuple[int, ActionSpace, int]:
    """(observation size, action space, robots per env) of a world, from its config (no env is built)."""
    world = world_of(cfg)
    specs = world.specs(world.make_config(cfg.overrides), 1, "cpu")
    obs = specs["observation"]["agents", "observation"]
    action = action_space_of(specs["action"]["agents", "action"])
    return obs.shape[-1] + trial_input_size(cfg.trials, action), action, specs["action"]["agents"].shape[1]


def action_space_of(spec) -> ActionSpace:
    """The ``ActionSpace`` of an ``("agents", "action")`` spec ``[N, A, ...]``."""
    if spec.dtype in (torch.int64, torch.int32) and hasattr(spec, "nvec"):
        return ActionSpace(kind="multi_discrete", nvec=[int(k) for k in spec.nvec.reshape(-1, spec.nvec.shape[-1])[0]])
    if spec.dtype in (torch.int64, torch.int32) and hasattr(spec, "n"):
        return ActionSpace(kind="discrete", n=int(spec.n))
    return ActionSpace(kind="continuous", low=spec.space.low[0, 0].tolist(), high=spec.space.high[0, 0].tolist())


def episode_limit(cfg: EnvConfig) -> int:
    """Steps after which an episode surely ended: the world's limit per trial times the most trials."""
    world = world_of(cfg)
    return world.episode_limit(world.make_config(cfg.overrides)) * cfg.trials.max_trials


def success_key(cfg: EnvConfig) -> tuple[str, ...]:
    """The ``[N, A, 1]`` bool key that says a robot succeeded."""
    return tuple(world_of(cfg).success_key)


def nonfinite_key(cfg: EnvConfig) -> tuple[str, ...] | None:
    """The world's ``[N, 1]`` bool key flagging a non-finite simulator state, if it declares one."""
    key = world_of(cfg).nonfinite_key
    return None if key is None else tuple(key)


def held_out_levels(cfg: EnvConfig) -> tuple[TensorDict, list[str]]:
    """The world's hand-designed evaluation levels that fit the config: (levels ``[L]``, names)."""
    world = world_of(cfg)
    world.require("held_out_levels", "evaluating on held-out levels")
    return world.held_out_levels(world.make_config(cfg.overrides))


def read_level_file(cfg: EnvConfig, path: str) -> tuple[TensorDict, list[str]]:
    """Levels ``[L]`` and names from a level file of the world (its own formats, or its schema's JSON/safetensors)."""
    world = world_of(cfg)
    world.require("levels", f"reading the level file {path}")
    wcfg = world.make_config(cfg.overrides)
    if world.read_levels is not None:
        return world.read_levels(wcfg, path)
    probe = world.build(wcfg, 1, "cpu", 0, random_levels=False)
    return probe.level_schema.load_with_names(path)


def has_pictures(cfg_or_world: EnvConfig | str) -> bool:
    """Whether the world has level records and a renderer (so GIFs of the agent can be drawn)."""
    world = get_world(cfg_or_world if isinstance(cfg_or_world, str) else cfg_or_world.world)
    return world.has_levels and world.draw_row is not None


def draw_row_fn(cfg_or_world: EnvConfig | str) -> Callable:
    """The world's ``draw_row(env, row, trails=...)`` picture function."""
    world = get_world(cfg_or_world if isinstance(cfg_or_world, str) else cfg_or_world.world)
    world.require("renderer", "drawing pictures of the agent")
    return world.draw_row


def agent_positions(cfg: EnvConfig, env: EnvBase) -> torch.Tensor | None:
    """``[N, A, 2]`` [m] robot positions of a raw env for GIF trails, or None if the world gives none."""
    world = world_of(cfg)
    return None if world.agent_positions is None else world.agent_positions(env)


def scripted_policy(name: str, env: EnvBase, cfg: EnvConfig | None = None) -> Callable:
    """A baseline policy by name: ``random`` and ``noop`` for every world, or one of the world's own baselines."""
    base = env.base_env if hasattr(env, "base_env") else env
    if name == "random":
        spec = env.full_action_spec

        def random_policy(td):
            td.update(spec.rand())
            return td

        return random_policy
    if name == "noop":
        if not hasattr(base, "noop_action"):
            raise WorldError(f"{type(base).__name__} has no noop_action(), which the 'noop' policy needs")

        def noop_policy(td):
            td.set(("agents", "action"), base.noop_action())
            return td

        return noop_policy
    world = world_of(cfg) if cfg is not None else None
    known = ["random", "noop", *(world.baselines if world is not None else [])]
    if world is None or name not in world.baselines:
        raise WorldError(f"unknown scripted policy {name!r}; this world has: {', '.join(known)}")
    return world.baselines[name](world.make_config(cfg.overrides), base)


def baseline_names(cfg: EnvConfig) -> list[str]:
    """Scripted baselines of the world, after ``random``."""
    return ["random", *world_of(cfg).baselines]


def random_levels(cfg: EnvConfig, n: int, seed: int, device: torch.device | str = "cpu") -> TensorDict:
    """``n`` levels ``[n]`` from the world's random level distribution, reproducible from ``seed``."""
    world = world_of(cfg)
    world.require("random_levels", "sampling random levels")
    return world.random_levels(world.make_config(cfg.overrides), n, seed, device)


def solvable_mask(cfg: EnvConfig, levels: TensorDict) -> torch.Tensor:
    """``[n]`` bool: the world's solvability check (all True for a world that declares none)."""
    world = world_of(cfg)
    if world.solvable is None:
        return torch.ones(levels.batch_size[0], dtype=torch.bool, device=levels.device)
    return world.solvable(world.make_config(cfg.overrides), levels)


def mutate_levels(cfg: EnvConfig, levels: TensorDict, generator: torch.Generator, num_edits: int) -> TensorDict:
    """Children ``[n]`` of ``levels`` ``[n]`` with ``num_edits`` random world-specific edits each (ACCEL)."""
    world = world_of(cfg)
    world.require("mutate", "ACCEL")
    return world.mutate(world.make_config(cfg.overrides), levels, generator, num_edits)


def noop_solved(cfg: EnvConfig, levels: TensorDict) -> torch.Tensor | None:
    """``[n]`` bool from the world's own no-op solve check, or None when the world has none (roll ``noop_action``)."""
    world = world_of(cfg)
    world.require("noop", "the no-op filter")
    if world.noop_solved is None:
        return None
    return world.noop_solved(world.make_config(cfg.overrides), levels)


def require_for_run(cfg: EnvConfig, needs: dict[str, str]) -> None:
    """Raise before training if the world lacks a capability the run will use (``{capability: purpose}``)."""
    world = world_of(cfg)
    for capability, purpose in needs.items():
        world.require(capability, purpose)

