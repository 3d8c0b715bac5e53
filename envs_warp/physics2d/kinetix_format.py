"""Read Kinetix level files (JSON from the ``kinetix-env`` package, MIT) into physics2d levels.

A Kinetix file is ``{"env_state": ..., "env_params": ..., "static_env_params": ...}``. The state
holds lists ``polygon``, ``circle``, ``joint`` and ``thruster`` whose entries write 2-vectors as
``{"0": x, "1": y}``; bodies use one index space, polygons then circles, as ours does.

Mapping to our record:
- Lengths, angles, velocities: unchanged. Kinetix simulates in metres already (its
  ``pixels_per_unit`` = 100 only scales rendering: the 500 px screen is the 5 m arena). Its
  static walls are polygons 0..3 of the file (floor top at y = 0.4, walls at x = 0 and x = 5,
  ceiling at y = 5) and are loaded like any other polygon.
- Static bodies are those with ``inverse_mass == 0``. Mass and inertia are recomputed from geometry
  and ``density`` with Jax2D's conventions (``levels.finalize_levels``: polygon centre = vertex mean,
  circle inertia m r^2 / 4), so they equal the file's stored values.
- Friction: Jax2D combines a pair as ``sqrt((base_friction * fa)^2 + (base_friction * fb)^2)``; each
  body gets ``base_friction * f`` and the solver combines as Jax2D does (``Physics2DConfig.friction_combine``).
  Restitution combines by minimum in both and is copied.
- Joint fields map one to one (``motor_binding`` -> ``joint_channel``, ``is_fixed_joint`` ->
  ``joint_fixed``, ``motor_has_joint_limits`` -> ``joint_limits_on``); thruster
  ``object_index``/``thruster_binding`` -> ``thruster_body``/``thruster_channel``. Circle indices
  are renumbered when the target capacity has more polygon slots than the file.
- Vertices are clockwise in Kinetix; ``finalize_levels`` makes them counter-clockwise.
Inactive entries are skipped (Kinetix leaves arbitrary values in unused slots, e.g. out-of-range
bindings). Accumulated-impulse manifolds, the collision matrix (recomputed from joints), ``highlighted``
and global-position caches are ignored.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Sequence

import torch
from tensordict import TensorDict

from envs_warp.core.levels import LevelFileError

from .levels import CAPACITIES, MAX_VERTICES, Physics2DCapacity, capacity, empty_levels, finalize_levels

KINETIX_BASE_FRICTION = 0.4  # Jax2D default, used when the file's env_params lack base_friction


MISSING_LEVELS = ("Kinetix levels not found: run `pip install --no-deps kinetix-env==3.0.2` (make venv does; only "
                  "its level files are used) or set KINETIX_LEVELS_DIR to its levels folder")


def kinetix_levels_dir() -> Path | None:
    """Directory of Kinetix's bundled levels: ``$KINETIX_LEVELS_DIR`` or an installed ``kinetix`` package."""
    env = os.environ.get("KINETIX_LEVELS_DIR")
    if env:
        path = Path(env).expanduser()
        return path if path.is_dir() else None
    try:
        import importlib.util

        spec = importlib.util.find_spec("kinetix")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        path = Path(root) / "levels"
        if path.is_dir():
            return path
    return None


class _Reader:
    """Typed access to a parsed JSON object that raises ``LevelFileError`` naming the field."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, message: str) -> LevelFileError:
        return LevelFileError(f"{self.source}: field '{where}' {message}")

    def get(self, obj: Any, key: str, where: str) -> Any:
        if not isinstance(obj, dict):
            raise self.fail(where, "must be an object")
        if key not in obj:
            raise self.fail(f"{where}.{key}" if where else key, "is missing")
        return obj[key]

    def number(self, obj: Any, key: str, where: str) -> float:
        value = self.get(obj, key, where)
        name = f"{where}.{key}"
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(name, f"must be a number, got {type(value).__name__}")
        if not math.isfinite(value):
            raise self.fail(name, "must be finite")
        return float(value)

    def integer(self, obj: Any, key: str, where: str, low: int, high: int) -> int:
        value = self.number(obj, key, where)
        name = f"{where}.{key}"
        if value != int(value):
            raise self.fail(name, f"must be an integer, got {value}")
        if not low <= value <= high:
            raise self.fail(name, f"is {int(value)}, outside [{low}, {high}]")
        return int(value)

    def flag(self, obj: Any, key: str, where: str) -> bool:
        value = self.get(obj, key, where)
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, float)) and value in (0, 1):
            return bool(value)
        raise self.fail(f"{where}.{key}", f"must be a boolean, got {value!r}")

    def vec2(self, obj: Any, key: str, where: str) -> list[float]:
        value = self.get(obj, key, where)
        name = f"{where}.{key}"
        if isinstance(value, dict):
            return [self.number(value, "0", name), self.number(value, "1", name)]
        if isinstance(value, list) and len(value) == 2:
            return [self.number({"0": value[0]}, "0", name), self.number({"0": value[1]}, "0", name)]
        raise self.fail(name, "must be a 2-vector ({'0': x, '1': y} or [x, y])")

    def entries(self, obj: Any, key: str, where: str) -> list:
        value = self.get(obj, key, where)
        if not isinstance(value, list):
            raise self.fail(f"{where}.{key}", "must be a list")
        return value


def kinetix_size(payload: dict) -> Physics2DCapacity:
    """Smallest of our capacities (S/M/L) that holds the entity counts of a parsed Kinetix file."""
    st = payload.get("env_state") if isinstance(payload, dict) else None
    st = st if isinstance(st, dict) else {}
    counts = [len(v) if isinstance(v := st.get(k), list) else 0 for k in ("polygon", "circle", "joint", "thruster")]
    for cap in CAPACITIES.values():
        if all(c <= m for c, m in zip(counts, (cap.polygons, cap.circles, cap.joints, cap.thrusters))):
            return cap
    raise LevelFileError(f"Kinetix level with (polygons, circles, joints, thrusters) = {counts} exceeds size 'l'")


def kinetix_payload_to_level(
    payload: Any, size: str | Physics2DCapacity | None = None, source: str = "kinetix level"
) -> TensorDict:
    """Convert a parsed Kinetix level (dict) into a physics2d level batch of 1; raises on malformed input."""
    r = _Reader(source)
    if not isinstance(payload, dict):
        raise LevelFileError(f"{source}: top level must be an object with 'env_state'")
    state = r.get(payload, "env_state", "")
    params = payload.get("env_params", {})
    if not isinstance(params, dict):
        raise r.fail("env_params", "must be an object")
    base_friction = KINETIX_BASE_FRICTION
    if "base_friction" in params:
        base_friction = r.number(params, "base_friction", "env_params")
    polys = r.entries(state, "polygon", "env_state")
    circles = r.entries(state, "circle", "env_state")
    joints = r.entries(state, "joint", "env_state")
    thrusters = r.entries(state, "thruster", "env_state")
    cap = capacity(size) if size is not None else kinetix_size(payload)
    for name, items, limit in (("polygon", polys, cap.polygons), ("circle", circles, cap.circles),
                               ("joint", joints, cap.joints), ("thruster", thrusters, cap.thrusters)):
        if len(items) > limit:
            raise r.fail(f"env_state.{name}", f"has {len(items)} entries; size '{cap.name}' holds {limit}")
    P0, P = len(polys), cap.polygons
    n_bodies_file = len(polys) + len(circles)
    lv = empty_levels(cap, 1)
    friction_scale = base_friction

    def body_index(value: int) -> int:
        return value if value < P0 else value - P0 + P

    for kind, items in (("poly", polys), ("circle", circles)):
        for i, e in enumerate(items):
            w = f"env_state.{'polygon' if kind == 'poly' else 'circle'}[{i}]"
            active = r.flag(e, "active", w)
            if not active:  # unused slot: Kinetix leaves arbitrary values there
                continue
            lv[f"{kind}_position"][0, i] = torch.tensor(r.vec2(e, "position", w))
            lv[f"{kind}_rotation"][0, i] = r.number(e, "rotation", w)
            lv[f"{kind}_velocity"][0, i] = torch.tensor(r.vec2(e, "velocity", w))
            lv[f"{kind}_angular_velocity"][0, i] = r.number(e, "angular_velocity", w)
            inv_mass = r.number(e, "inverse_mass", w)
            if inv_mass < 0:
                raise r.fail(f"{w}.inverse_mass", "must be >= 0")
            density = r.number(e, "density", w) if "density" in e else 1.0
            if active and inv_mass > 0 and density <= 0:
                raise r.fail(f"{w}.density", f"must be positive for a dynamic body, got {density}")
            lv[f"{kind}_density"][0, i] = max(density, 0.0)
            lv[f"{kind}_static"][0, i] = inv_mass == 0
            friction = r.number(e, "friction", w)
            if friction < 0:
                raise r.fail(f"{w}.friction", "must be >= 0")
            lv[f"{kind}_friction"][0, i] = friction * friction_scale
            restitution = r.number(e, "restitution", w)
            if not 0 <= restitution <= 1:
                raise r.fail(f"{w}.restitution", f"is {restitution}, outside [0, 1]")
            lv[f"{kind}_restitution"][0, i] = restitution
            lv[f"{kind}_collision_mode"][0, i] = r.integer(e, "collision_mode", w, 0, 2)
            lv[f"{kind}_role"][0, i] = r.integer(e, "role", w, 0, 3) if "role" in e else 0
            lv[f"{kind}_active"][0, i] = active
            if kind == "poly":
                nv = r.integer(e, "n_vertices", w, 0, MAX_VERTICES)
                if active and nv < 3:
                    raise r.fail(f"{w}.n_vertices", f"is {nv}; an active polygon needs 3 or 4")
                verts = r.get(e, "vertices", w)
                if isinstance(verts, dict):
                    keys = [str(k) for k in range(nv)]
                    missing = [k for k in keys if k not in verts]
                    if missing:
                        raise r.fail(f"{w}.vertices", f"lacks vertex {missing[0]} of {nv}")
                    pts = [r.vec2(verts, k, f"{w}.vertices") for k in keys]
                elif isinstance(verts, list) and len(verts) >= nv:
                    pts = [r.vec2({"v": v}, "v", f"{w}.vertices[{k}]") for k, v in enumerate(verts[:nv])]
                else:
                    raise r.fail(f"{w}.vertices", f"must hold {nv} 2-vectors")
                if active:
                    lv["poly_vertices"][0, i, :nv] = torch.tensor(pts)
                    lv["poly_n_vertices"][0, i] = nv
                    xs = torch.tensor(pts, dtype=torch.float64)
                    area = 0.5 * float((xs[:, 0] * xs.roll(-1, 0)[:, 1] - xs[:, 1] * xs.roll(-1, 0)[:, 0]).sum())
                    if abs(area) < 1e-9:
                        raise r.fail(f"{w}.vertices", "enclose no area")
            else:
                radius = r.number(e, "radius", w)
                if active and radius <= 0:
                    raise r.fail(f"{w}.radius", f"must be positive for an active circle, got {radius}")
                lv["circle_radius"][0, i] = max(radius, 0.0)

    body_active = torch.cat([lv["poly_active"][0], lv["circle_active"][0]])
    for j, e in enumerate(joints):
        w = f"env_state.joint[{j}]"
        active = r.flag(e, "active", w)
        if not active:
            continue
        a = r.integer(e, "a_index", w, 0, max(n_bodies_file - 1, 0))
        b = r.integer(e, "b_index", w, 0, max(n_bodies_file - 1, 0))
        a, b = body_index(a), body_index(b)
        if active:
            if a == b:
                raise r.fail(f"{w}.b_index", "equals a_index; a joint needs two bodies")
            for end, idx in (("a_index", a), ("b_index", b)):
                if not bool(body_active[idx]):
                    raise r.fail(f"{w}.{end}", "names an inactive body")
        lv["joint_a"][0, j] = a
        lv["joint_b"][0, j] = b
        lv["joint_anchor_a"][0, j] = torch.tensor(r.vec2(e, "a_relative_pos", w))
        lv["joint_anchor_b"][0, j] = torch.tensor(r.vec2(e, "b_relative_pos", w))
        lv["joint_rotation"][0, j] = r.number(e, "rotation", w)
        lv["joint_fixed"][0, j] = r.flag(e, "is_fixed_joint", w)
        lv["joint_motor_on"][0, j] = r.flag(e, "motor_on", w)
        lv["joint_motor_speed"][0, j] = r.number(e, "motor_speed", w)
        power = r.number(e, "motor_power", w)
        if power < 0:
            raise r.fail(f"{w}.motor_power", "must be >= 0")
        lv["joint_motor_power"][0, j] = power
        lv["joint_limits_on"][0, j] = r.flag(e, "motor_has_joint_limits", w)
        lo, hi = r.number(e, "min_rotation", w), r.number(e, "max_rotation", w)
        if active and bool(lv["joint_limits_on"][0, j]) and lo > hi:
            raise r.fail(f"{w}.min_rotation", f"({lo}) exceeds max_rotation ({hi})")
        lv["joint_min_rotation"][0, j] = lo
        lv["joint_max_rotation"][0, j] = hi
        channel = r.integer(e, "motor_binding", w, 0, cap.motor_channels - 1) if "motor_binding" in e else 0
        lv["joint_channel"][0, j] = channel
        lv["joint_active"][0, j] = active

    for t, e in enumerate(thrusters):
        w = f"env_state.thruster[{t}]"
        active = r.flag(e, "active", w)
        if not active:
            continue
        idx = body_index(r.integer(e, "object_index", w, 0, max(n_bodies_file - 1, 0)))
        if active and not bool(body_active[idx]):
            raise r.fail(f"{w}.object_index", "names an inactive body")
        lv["thruster_body"][0, t] = idx
        lv["thruster_position"][0, t] = torch.tensor(r.vec2(e, "relative_position", w))
        lv["thruster_rotation"][0, t] = r.number(e, "rotation", w)
        power = r.number(e, "power", w)
        if power < 0:
            raise r.fail(f"{w}.power", "must be >= 0")
        lv["thruster_power"][0, t] = power
        channel = r.integer(e, "thruster_binding", w, 0, cap.thruster_channels - 1) if "thruster_binding" in e else 0
        lv["thruster_channel"][0, t] = channel
        lv["thruster_active"][0, t] = active
    return finalize_levels(lv)


def load_kinetix_level(path: str | os.PathLike, size: str | Physics2DCapacity | None = None) -> TensorDict:
    """Load one Kinetix JSON level file as a batch of 1 (capacity ``size``, default the smallest that fits)."""
    path = Path(path)
    if not path.is_file():
        raise LevelFileError(f"{path}: no such Kinetix level file")
    try:
        payload = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise LevelFileError(f"{path}: not valid JSON ({err})") from None
    return kinetix_payload_to_level(payload, size, source=str(path))


def load_kinetix_levels(
    paths: Sequence[str | os.PathLike], size: str | Physics2DCapacity, device: torch.device | str = "cpu"
) -> TensorDict:
    """Load several Kinetix level files into one batch [len(paths)] of capacity ``size``."""
    if not paths:
        raise ValueError("no Kinetix level files given")
    levels = [load_kinetix_level(p, size) for p in paths]
    return torch.cat(levels, dim=0).to(device)


def kinetix_eval_levels(
    size: str | Physics2DCapacity, folder: str | os.PathLike | None = None, device: torch.device | str = "cpu"
) -> tuple[TensorDict, list[str]]:
    """Kinetix's bundled hand-designed levels that fit ``size`` (smaller sizes padded in), and their names.

    ``folder`` defaults to :func:`kinetix_levels_dir`; names are ``"<size>/<file stem>"``. These are the
    held-out evaluation set (10 S + 24 M + 40 L levels in kinetix-env 3.0.2).
    """
    cap = capacity(size)
    root = Path(folder) if folder is not None else kinetix_levels_dir()
    if root is None or not root.is_dir():
        raise LevelFileError(MISSING_LEVELS)
    paths = [p for name in CAPACITIES if CAPACITIES[name].fits_in(cap) for p in sorted((root / name).glob("*.json"))]
    if not paths:
        raise LevelFileError(f"{root}: no Kinetix levels of a size that fits '{cap.name}'")
    names = [f"{p.parent.name}/{p.stem}" for p in paths]
    return load_kinetix_levels(paths, cap, device), names


__all__ = [
    "kinetix_eval_levels",
    "kinetix_levels_dir",
    "kinetix_payload_to_level",
    "kinetix_size",
    "load_kinetix_level",
    "load_kinetix_levels",
]
