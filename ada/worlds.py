"""The worlds ``ada`` can train in: build their envs and describe their observations and actions."""
from __future__ import annotations

import dataclasses

import torch
from tensordict import TensorDict
from torchrl.data import Composite, Unbounded
from torchrl.envs import Compose, EnvBase, InitTracker, TensorDictPrimer, TransformedEnv

from models.actor_critic import ActionSpace

from .config import EnvConfig

MEMORY_KEY = ("agents", "memory")


def _config_class(world: str):
    """The world's config dataclass."""
    if world == "lidarnav":
        from envs_warp.lidarnav.config import LidarNavConfig

        return LidarNavConfig
    if world == "physics2d":
        from envs_warp.physics2d.env import Physics2DEnvConfig

        return Physics2DEnvConfig
    if world == "memory_cue":
        from .memory_cue import MemoryCueConfig

        return MemoryCueConfig
    raise ValueError(f"env.world: unknown world {world!r} (known: lidarnav, physics2d, memory_cue)")


def world_config(cfg: EnvConfig):
    """The world's own config dataclass with ``cfg.overrides`` applied (unknown fields are refused).

    A nested dataclass field (e.g. physics2d's ``physics``) takes a dict of its own fields.
    """
    cls = _config_class(cfg.world)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(cfg.overrides) - set(fields))
    if unknown:
        raise ValueError(f"env.overrides: unknown {cfg.world} field(s) {unknown}")
    default = cls()
    values = {}
    for name, value in cfg.overrides.items():
        current = getattr(default, name)
        if isinstance(value, dict) and dataclasses.is_dataclass(current):
            value = dataclasses.replace(current, **value)
        values[name] = value
    return cls(**values)


def build_env(cfg: EnvConfig, device: torch.device | str, seed: int, num_envs: int | None = None,
              random_levels: bool = True) -> EnvBase:
    """The world's batched env (no transforms)."""
    wcfg = world_config(cfg)
    n = num_envs or cfg.num_envs
    if cfg.world == "lidarnav":
        from envs_warp.lidarnav.env import LidarNavEnv

        return LidarNavEnv(wcfg, num_envs=n, device=device, seed=seed, random_levels=random_levels)
    if cfg.world == "physics2d":
        from envs_warp.physics2d.env import Physics2DEnv

        return Physics2DEnv(wcfg, num_envs=n, device=device, seed=seed, random_levels=random_levels)
    if cfg.world == "memory_cue":  # a pure-torch fixture for memory cores; it has no levels
        from .memory_cue import MemoryCueEnv

        return MemoryCueEnv(wcfg, num_envs=n, device=device, seed=seed)
    raise ValueError(f"unknown world {cfg.world!r}")


def with_memory(env: EnvBase, memory_shape: tuple[int, ...]) -> TransformedEnv:
    """Add ``is_init`` and a per-robot memory entry ``("agents", "memory")`` zeroed at every reset."""
    n, a = env.batch_size[0], agents_of(env)
    primer = Composite(
        {"agents": Composite(memory=Unbounded(shape=(n, a, *memory_shape), device=env.device), shape=(n, a))},
        shape=(n,),
    )
    return TransformedEnv(env, Compose(InitTracker(), TensorDictPrimer(primer, expand_specs=False)))


def agents_of(env: EnvBase) -> int:
    """Robots per env (the ``"agents"`` batch dim)."""
    return env.full_action_spec["agents"].shape[1]


def describe(cfg: EnvConfig) -> tuple[int, ActionSpace, int]:
    """(observation size, action space, robots per env) of a world, from a one-env instance."""
    env = build_env(cfg, "cpu", seed=0, num_envs=1)
    obs_dim = env.observation_spec["agents", "observation"].shape[-1]
    spec = env.full_action_spec["agents", "action"]
    if spec.dtype in (torch.int64, torch.int32) and hasattr(spec, "nvec"):
        action = ActionSpace(kind="multi_discrete", nvec=[int(k) for k in spec.nvec.reshape(-1, spec.nvec.shape[-1])[0]])
    elif spec.dtype in (torch.int64, torch.int32) and hasattr(spec, "n"):
        action = ActionSpace(kind="discrete", n=int(spec.n))
    else:
        action = ActionSpace(kind="continuous", low=spec.space.low[0, 0].tolist(), high=spec.space.high[0, 0].tolist())
    return obs_dim, action, agents_of(env)


def held_out_levels(cfg: EnvConfig):
    """The world's hand-designed evaluation levels that fit the config: (levels ``[L]``, names)."""
    if cfg.world == "lidarnav":
        from envs_warp.lidarnav.levels import load_test_maps

        return load_test_maps(world_config(cfg))
    if cfg.world == "physics2d":
        from envs_warp.physics2d.kinetix_format import kinetix_eval_levels

        return kinetix_eval_levels(world_config(cfg).size)
    raise ValueError(f"world {cfg.world!r} has no held-out levels")


def has_pictures(world: str) -> bool:
    """Whether the world has level records and a renderer (so GIFs of the agent can be drawn)."""
    return world in ("lidarnav", "physics2d")


def draw_row_fn(world: str):
    """The world's ``draw_row(env, row, trails=...)`` picture function."""
    if world == "lidarnav":
        from envs_warp.lidarnav.render import draw_row

        return draw_row
    if world == "physics2d":
        from envs_warp.physics2d.render import draw_row

        return draw_row
    raise ValueError(f"world {world!r} has no renderer")


def scripted_policy(name: str, env: EnvBase):
    """A baseline policy by name: ``random``, ``noop`` (physics2d) or ``turn_to_goal`` (lidarnav)."""
    if name == "random":
        spec = env.full_action_spec

        def random_policy(td):
            td.update(spec.rand())
            return td

        return random_policy
    if name == "turn_to_goal":
        from envs_warp.lidarnav.policies import TurnToGoal

        return TurnToGoal(env.base_env.cfg if hasattr(env, "base_env") else env.cfg)
    if name == "noop":
        base = env.base_env if hasattr(env, "base_env") else env

        def noop_policy(td):
            td.set(("agents", "action"), base.noop_action())
            return td

        return noop_policy
    raise ValueError(f"unknown scripted policy {name!r} (random, noop, turn_to_goal)")


def random_levels(cfg: EnvConfig, n: int, seed: int, device: torch.device | str = "cpu") -> TensorDict:
    """``n`` levels ``[n]`` from the world's random level distribution, reproducible from ``seed``.

    lidarnav: the device generator the env's resets use. physics2d: the generator its level bank is
    drawn from (a ``seed`` other than ``bank_seed`` gives levels outside the training bank).
    """
    wcfg = world_config(cfg)
    if cfg.world == "lidarnav":
        from envs_warp.lidarnav.levels import LevelGenerator

        return LevelGenerator(wcfg, device).generate(n, seed=seed)
    if cfg.world == "physics2d":
        from envs_warp.physics2d.generator import generate_levels

        return generate_levels(wcfg.size, n, seed=seed, cfg=wcfg.generator, device=device)
    raise ValueError(f"world {cfg.world!r} has no levels")


def solvable_mask(cfg: EnvConfig, levels: TensorDict) -> torch.Tensor:
    """``[n]`` bool: the world's solvability check (lidarnav: a grid path for every robot; physics2d: none, all True)."""
    if cfg.world == "lidarnav":
        from envs_warp.lidarnav.levels import LevelGenerator

        return LevelGenerator(world_config(cfg), levels.device).solvable(levels)
    if cfg.world == "physics2d":
        return torch.ones(levels.batch_size[0], dtype=torch.bool, device=levels.device)
    raise ValueError(f"world {cfg.world!r} has no levels")


def mutate_levels(cfg: EnvConfig, levels: TensorDict, generator: torch.Generator, num_edits: int) -> TensorDict:
    """Children ``[n]`` of ``levels`` ``[n]`` with ``num_edits`` random world-specific edits each (ACCEL)."""
    if cfg.world == "lidarnav":
        from envs_warp.lidarnav.mutations import mutate_levels as mutate

        return mutate(levels, world_config(cfg), generator, num_edits=num_edits)
    if cfg.world == "physics2d":
        from envs_warp.physics2d.mutations import mutate_levels as mutate

        return mutate(levels, generator, num_edits=num_edits)
    raise ValueError(f"world {cfg.world!r} has no level mutations")
