"""The World protocol: what a world declares so ``ada`` and ``curricula`` can use it without naming it.

A world is one package that exports a :class:`World` (``WORLD``): its name, config dataclass, env class
and kernel modules, plus the optional capabilities the training side may ask for (random levels,
held-out levels, a solvability check, mutations, a renderer, scripted baselines, a no-op check). The
registry finds worlds three ways: the packages under ``envs_warp`` (a package scan), the
``ada.worlds`` entry-point group of installed distributions, and a ``"some.module:WORLD"`` reference.

The contract the training side relies on is checked once, by :func:`check_world`, when a world is looked
up (no env is built: the specs come from the config):

- ``config`` is a dataclass whose defaults construct, with an integer episode limit ``max_steps``;
- ``env`` is a TorchRL ``EnvBase`` built as ``env(cfg, num_envs=, device=, seed=)`` (plus
  ``random_levels=`` for worlds with levels) with a classmethod ``make_specs(cfg, num_envs, device)``
  returning ``{"observation", "action", "reward", "done"}`` composites of batch ``[num_envs]``;
- those specs hold ``("agents", "observation")`` ``[N, A, D]`` float, ``("agents", "action")``,
  ``("agents", "reward")`` ``[N, A, 1]``, the success flag (``success_key``, default
  ``("agents", "reached_goal")``) ``[N, A, 1]`` bool, and root ``done``/``terminated``/``truncated`` ``[N, 1]``;
- a world with levels subclasses :class:`~envs_warp.core.env_base.WarpEnv` (level schema, ``set_levels``,
  ``random_levels_from_tags``).

Example (a world defined outside this repository)::

    WORLD = World(name="pointmass", config=PointMassConfig, env=PointMassEnv,
                  kernel_modules=("pointmass.kernels",), draw_row=draw_row)
    # pyproject.toml:  [project.entry-points."ada.worlds"]  pointmass = "pointmass:WORLD"
    # or on the command line:  ada train ... --model.env.world pointmass:WORLD
"""
from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Callable, Mapping

import torch
from tensordict import TensorDict

ENTRY_POINT_GROUP = "ada.worlds"
SPEC_PARTS = ("observation", "action", "reward", "done")

# capability name -> what it is (for error messages and `ada worlds`)
CAPABILITIES: dict[str, str] = {
    "levels": "level records (a WarpEnv: level schema, set_levels, level files, level tags)",
    "random_levels": "random levels from the world's own distribution (random_levels(cfg, n, seed, device))",
    "levels_from_tags": "rebuilding a random level from its tag (env.random_levels_from_tags)",
    "held_out_levels": "hand-designed evaluation levels (held_out_levels(cfg) -> (levels, names))",
    "solvable": "a solvability check (solvable(cfg, levels) -> [n] bool)",
    "mutate": "level mutations for ACCEL (mutate(cfg, levels, generator, num_edits))",
    "renderer": "pictures of a row (draw_row(env, row, trails=...) -> [H, W, 3] uint8)",
    "read_levels": "reading level files of other formats (read_levels(cfg, path) -> (levels, names))",
    "noop": "a no-op action (env.noop_action()) or a no-op solve check (noop_solved(cfg, levels))",
    "restart": "restarting rows on their own level at a trial boundary (env.restart(mask)); without it a "
               "trial restart is the world's ordinary masked reset",
}


class WorldError(ValueError):
    """A world that cannot be found, breaks the contract, or lacks a capability that was asked for."""


@dataclass(frozen=True)
class World:
    """One world: its name, config, env class, kernel modules and optional capabilities."""

    name: str
    config: type  # dataclass of the world's settings; ``config()`` gives the defaults
    env: type  # EnvBase subclass: env(cfg, num_envs=..., device=..., seed=..., [random_levels=...])
    kernel_modules: tuple[str, ...] = ()  # modules holding the world's Warp kernels (AOT compile, warm-up)
    success_key: tuple[str, ...] = ("agents", "reached_goal")  # [N, A, 1] bool: this robot succeeded
    restart_redraws_start: bool = False  # a trial restart re-draws start poses/placement (xland) instead of replaying it
    nonfinite_key: tuple[str, ...] | None = None  # [N, 1] bool: the simulator state went NaN/inf (training stops)
    description: str = ""
    smoke_overrides: Mapping[str, Any] = field(default_factory=dict)  # config fields for seconds-long runs (tests)
    # ---- optional capabilities (None: the world does not provide it)
    random_levels: Callable[[Any, int, int, Any], TensorDict] | None = None  # (cfg, n, seed, device) -> [n]
    held_out_levels: Callable[[Any], tuple[TensorDict, list[str]]] | None = None  # cfg -> (levels [L], names)
    solvable: Callable[[Any, TensorDict], torch.Tensor] | None = None  # (cfg, levels [n]) -> [n] bool
    mutate: Callable[[Any, TensorDict, torch.Generator, int], TensorDict] | None = None  # ACCEL edits
    draw_row: Callable[..., Any] | None = None  # (env, row, trails=[[T, 2] per robot]) -> [H, W, 3] uint8
    agent_positions: Callable[[Any], torch.Tensor] | None = None  # env -> [N, A, 2] [m] (GIF trails)
    read_levels: Callable[[Any, str], tuple[TensorDict, list[str]]] | None = None  # other file formats
    noop_solved: Callable[[Any, TensorDict], torch.Tensor] | None = None  # (cfg, levels) -> [n] bool
    baselines: Mapping[str, Callable[[Any, Any], Callable]] = field(default_factory=dict)  # name -> (cfg, env) -> policy

    # ------------------------------------------------------------------ capabilities
    @property
    def has_levels(self) -> bool:
        """Whether the env keeps level records (a WarpEnv)."""
        from .env_base import WarpEnv

        return isinstance(self.env, type) and issubclass(self.env, WarpEnv)

    def capabilities(self) -> list[str]:
        """Names of the capabilities this world provides (keys of ``CAPABILITIES``)."""
        have = {
            "levels": self.has_levels,
            "random_levels": self.random_levels is not None,
            "levels_from_tags": self.has_levels,
            "held_out_levels": self.held_out_levels is not None,
            "solvable": self.solvable is not None,
            "mutate": self.mutate is not None,
            "renderer": self.draw_row is not None,
            "read_levels": self.read_levels is not None,
            "noop": self.noop_solved is not None or hasattr(self.env, "noop_action"),
            "restart": callable(getattr(self.env, "restart", None)),
        }
        return [name for name, ok in have.items() if ok]

    def require(self, capability: str, purpose: str) -> None:
        """Raise :class:`WorldError` naming the world and the capability unless the world provides it."""
        if capability not in CAPABILITIES:
            raise KeyError(f"unknown capability {capability!r} (known: {', '.join(CAPABILITIES)})")
        if capability not in self.capabilities():
            raise WorldError(f"world {self.name!r} has no {capability!r} capability ({CAPABILITIES[capability]}), "
                             f"which {purpose} needs")

    # ------------------------------------------------------------------ config and specs
    def make_config(self, overrides: Mapping[str, Any] | None = None) -> Any:
        """The world's config with ``overrides`` applied; a nested dataclass field takes a dict of its fields."""
        fields = {f.name for f in dataclasses.fields(self.config)}
        overrides = dict(overrides or {})
        unknown = sorted(set(overrides) - fields)
        if unknown:
            raise WorldError(f"env.overrides: unknown {self.name} field(s) {unknown}; "
                             f"{self.name} fields are: {', '.join(sorted(fields))}")
        default = self.config()
        values = {}
        for name, value in overrides.items():
            current = getattr(default, name)
            if isinstance(value, dict) and dataclasses.is_dataclass(current):
                value = dataclasses.replace(current, **value)
            values[name] = value
        return self.config(**values)

    def specs(self, cfg: Any, num_envs: int = 1, device: torch.device | str = "cpu") -> dict[str, Any]:
        """The env's observation/action/reward/done specs for ``cfg`` (batch ``[num_envs]``), no env built."""
        return self.env.make_specs(cfg, num_envs, torch.device(device))

    def episode_limit(self, cfg: Any) -> int:
        """Steps after which an episode is truncated (``cfg.max_steps``)."""
        return int(cfg.max_steps)

    def build(self, cfg: Any, num_envs: int, device: torch.device | str = "cpu", seed: int = 0,
              random_levels: bool = True):
        """The world's batched env (no transforms)."""
        if self.has_levels:
            return self.env(cfg, num_envs=num_envs, device=device, seed=seed, random_levels=random_levels)
        return self.env(cfg, num_envs=num_envs, device=device, seed=seed)


# ---------------------------------------------------------------------- the contract
def check_world(world: Any, origin: str = "") -> World:
    """Check the contract ``ada`` relies on (see the module docstring); raise one error listing what is missing."""
    where = f" (from {origin})" if origin else ""
    if not isinstance(world, World):
        raise WorldError(f"{origin or 'world'}: expected an envs_warp.core.world.World, got {type(world).__name__}")
    problems: list[str] = []
    if not world.name or not world.name.replace("_", "").isalnum():
        problems.append(f"name must be a non-empty identifier, got {world.name!r}")
    if not dataclasses.is_dataclass(world.config):
        problems.append("config must be a dataclass")
    from torchrl.envs import EnvBase

    if not (isinstance(world.env, type) and issubclass(world.env, EnvBase)):
        problems.append("env must be a torchrl EnvBase subclass")
    else:
        if not callable(getattr(world.env, "make_specs", None)):
            problems.append("env must have a classmethod make_specs(cfg, num_envs, device) -> "
                            "{'observation', 'action', 'reward', 'done'} (specs without building an env)")
        for method in ("runtime_state", "load_runtime_state"):
            if not callable(getattr(world.env, method, None)):
                problems.append(f"env must have {method}() (its live per-row tensors, for exact resume)")
    if problems:
        raise WorldError(f"world {world.name!r}{where} breaks the World contract: " + "; ".join(problems))
    try:
        cfg = world.config()
    except Exception as err:  # noqa: BLE001 - the message names the world
        raise WorldError(f"world {world.name!r}{where}: config() with defaults fails: {err}") from err
    if not isinstance(getattr(cfg, "max_steps", None), int):
        problems.append("config must have an integer episode limit 'max_steps'")
    try:
        specs = world.specs(cfg, 2, "cpu")
    except Exception as err:  # noqa: BLE001
        raise WorldError(f"world {world.name!r}{where}: make_specs(default config) fails: {err}") from err
    missing = [p for p in SPEC_PARTS if p not in specs]
    if missing:
        problems.append(f"make_specs must return {list(SPEC_PARTS)}, missing {missing}")
    else:
        problems += _spec_problems(world, specs)
    for name in world.kernel_modules:
        try:
            importlib.import_module(name)
        except ImportError as err:
            problems.append(f"kernel module {name!r} does not import ({err})")
    if problems:
        raise WorldError(f"world {world.name!r}{where} breaks the World contract: " + "; ".join(problems))
    return world


def _spec_problems(world: World, specs: dict[str, Any]) -> list[str]:
    """What the specs lack of the keys and shapes the training side reads."""
    out = []
    need = [("observation", ("agents", "observation"), 3, None), ("action", ("agents", "action"), None, None),
            ("reward", ("agents", "reward"), 3, None), ("observation", tuple(world.success_key), 3, torch.bool),
            ("done", ("done",), 2, torch.bool), ("done", ("terminated",), 2, torch.bool),
            ("done", ("truncated",), 2, torch.bool)]
    if world.nonfinite_key is not None:
        need.append(("observation", tuple(world.nonfinite_key), 2, torch.bool))
    for part, key, ndim, dtype in need:
        spec = specs[part].get(key, None) if _has(specs[part], key) else None
        if spec is None:
            out.append(f"{part} spec has no {key!r}")
            continue
        if ndim is not None and len(spec.shape) != ndim:
            out.append(f"{part} spec {key!r} must have {ndim} dims ([N, A, ...] or [N, 1]), got {tuple(spec.shape)}")
        if dtype is not None and spec.dtype != dtype:
            out.append(f"{part} spec {key!r} must be {dtype}, got {spec.dtype}")
    return out


def _has(composite: Any, key: tuple[str, ...]) -> bool:
    try:
        return key in composite.keys(include_nested=True)
    except AttributeError:
        return False


# ---------------------------------------------------------------------- discovery
def _builtin_worlds() -> dict[str, tuple[World, str]]:
    """Worlds of the packages under ``envs_warp`` that export ``WORLD``."""
    import envs_warp

    found = {}
    for info in pkgutil.iter_modules(envs_warp.__path__):
        if not info.ispkg or info.name == "core":
            continue
        module = importlib.import_module(f"envs_warp.{info.name}")
        world = getattr(module, "WORLD", None)
        if world is not None:
            found[world.name] = (world, f"envs_warp.{info.name}")
    return found


def _entry_point_worlds() -> dict[str, tuple[Any, str]]:
    """Worlds registered by installed distributions under the ``ada.worlds`` entry-point group."""
    found = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            world = ep.load()
        except Exception as err:  # noqa: BLE001 - name the entry point that failed
            raise WorldError(f"entry point {ep.name!r} = {ep.value!r} ({ENTRY_POINT_GROUP}) does not load: {err}") from err
        found[getattr(world, "name", ep.name)] = (world, f"entry point {ep.value}")
    return found


def load_world_ref(ref: str) -> World:
    """The ``World`` named by ``"some.module:ATTRIBUTE"``."""
    module_name, _, attr = ref.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise WorldError(f"env.world {ref!r}: cannot import module {module_name!r} ({err})") from err
    if not hasattr(module, attr or "WORLD"):
        raise WorldError(f"env.world {ref!r}: module {module_name!r} has no attribute {attr or 'WORLD'!r}")
    return check_world(getattr(module, attr or "WORLD"), ref)


def world_names() -> list[str]:
    """Names of every discoverable world (package scan and entry points)."""
    return sorted({**_entry_point_worlds(), **_builtin_worlds()})


def get_world(name: str) -> World:
    """The checked ``World`` called ``name`` (or given as ``"module:ATTRIBUTE"``)."""
    if ":" in name:
        return load_world_ref(name)
    builtin = _builtin_worlds()
    if name in builtin:
        return check_world(*builtin[name])
    outside = _entry_point_worlds()
    if name in outside:
        return check_world(*outside[name])
    known = sorted({*builtin, *outside})
    raise WorldError(f"env.world: unknown world {name!r}; known worlds: {', '.join(known)} "
                     f"(or 'some.module:WORLD' for a world outside the package)")


def all_worlds() -> list[World]:
    """Every discoverable world, checked."""
    return [get_world(name) for name in world_names()]
