"""The physics2d level record as one table: every field's name, shape, dtype, range and simulator target.

``LEVEL_TABLE`` is the one source of truth of the level record. ``levels.level_schema`` (validation,
level files, empty batches), the Warp struct the kernels read (``level_load.LevelArrays``) and the
simulator's level-loaded arrays (``levels.simulator_arrays``) all derive from it, so adding a field
is one row here plus the kernel code that loads and reads it (``level_load.copy_level`` and the stage
that uses it). This module imports only torch, so the kernel modules can build their struct from it
cheaply.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from .levels import Physics2DCapacity

MAX_VERTICES = 4  # polygons have 3 or 4 vertices


@dataclass(frozen=True)
class LevelFieldSpec:
    """One row of ``LEVEL_TABLE``: a field of the level record, everything else about it derives from here.

    The per-level shape is ``(capacity of entity, *tail)``; the level schema (validation, files,
    empty batches), the Warp ``level_load.LevelArrays`` struct and the simulator's level-loaded
    arrays are all built from these rows.
    """

    name: str
    entity: str  # "poly", "circle", "joint" or "thruster": which capacity (P, C, J, T) is the leading axis
    tail: tuple[int, ...]  # shape after the entity axis; a trailing 2 of a float field is a 2D vector (wp.vec2)
    dtype: torch.dtype  # float32, int32 or bool
    low: float | str | None  # inclusive range; a string names a capacity-dependent bound (``_BOUNDS``)
    high: float | str | None
    doc: str
    sim: str | None  # the simulator array a reset loads it into (None: host-side only, not seen by kernels)

    def shape(self, cap: Physics2DCapacity) -> tuple[int, ...]:
        """Per-level shape in capacity ``cap``."""
        return (_ENTITY_COUNT[self.entity](cap), *self.tail)

    def sim_shape(self, cap: Physics2DCapacity) -> tuple[int, ...]:
        """Per-env shape of its simulator array: ``body_*`` arrays span all bodies (polygons, then circles)."""
        n = cap.bodies if self.sim is not None and self.sim.startswith("body_") else _ENTITY_COUNT[self.entity](cap)
        return (n, *self.tail)

    @property
    def sim_dtype(self) -> torch.dtype:
        """dtype of its simulator array (the kernels keep flags as int32)."""
        return torch.int32 if self.dtype == torch.bool else self.dtype

    def bounds(self, cap: Physics2DCapacity) -> tuple[float | None, float | None]:
        """Inclusive (low, high) value range in capacity ``cap``."""
        bound = lambda v: _BOUNDS[v](cap) if isinstance(v, str) else v  # noqa: E731
        return bound(self.low), bound(self.high)


_ENTITY_COUNT = {"poly": lambda c: c.polygons, "circle": lambda c: c.circles, "joint": lambda c: c.joints,
                 "thruster": lambda c: c.thrusters}
_BOUNDS = {"last_body": lambda c: c.bodies - 1, "last_motor_channel": lambda c: c.motor_channels - 1,
           "last_thruster_channel": lambda c: c.thruster_channels - 1}


def _level_table() -> tuple[LevelFieldSpec, ...]:
    f32, i32, b = torch.float32, torch.int32, torch.bool
    big = 1e6
    F = LevelFieldSpec
    out: list[LevelFieldSpec] = []
    for kind in ("poly", "circle"):
        out += [
            F(f"{kind}_position", kind, (2,), f32, -big, big, "centroid position [m]", "body_pos"),
            F(f"{kind}_rotation", kind, (), f32, -big, big, "rotation [rad]", "body_rot"),
            F(f"{kind}_velocity", kind, (2,), f32, -big, big, "initial velocity [m/s]", "body_vel"),
            F(f"{kind}_angular_velocity", kind, (), f32, -big, big, "initial angular velocity [rad/s]",
              "body_ang_vel"),
            F(f"{kind}_density", kind, (), f32, 0.0, big, "density [kg/m^2]", "body_density"),
            F(f"{kind}_inverse_mass", kind, (), f32, 0.0, big, "1/mass [1/kg], 0 = static", "body_inv_mass"),
            F(f"{kind}_inverse_inertia", kind, (), f32, 0.0, big, "1/inertia [1/(kg m^2)], 0 = static",
              "body_inv_inertia"),
            F(f"{kind}_friction", kind, (), f32, 0.0, 10.0, "friction coefficient (pair: geometric mean)",
              "body_friction"),
            F(f"{kind}_restitution", kind, (), f32, 0.0, 1.0, "restitution (pair: minimum)", "body_restitution"),
            F(f"{kind}_static", kind, (), b, None, None, "fixed in place (infinite mass)", None),
            F(f"{kind}_role", kind, (), i32, 0, 3, "0 neutral, 1 green, 2 blue, 3 red", "body_role"),
            F(f"{kind}_collision_mode", kind, (), i32, 0, 2, "0 ghost, 1 normal, 2 collides with all", "body_mode"),
            F(f"{kind}_active", kind, (), b, None, None, "slot holds a body", "body_active"),
        ]
    out += [
        F("poly_vertices", "poly", (MAX_VERTICES, 2), f32, -big, big, "local vertices, CCW [m]", "poly_vertices"),
        F("poly_n_vertices", "poly", (), i32, 0, MAX_VERTICES, "vertex count (3 or 4 when active)",
          "poly_n_vertices"),
        F("circle_radius", "circle", (), f32, 0.0, big, "radius [m]", "body_radius"),
        F("joint_a", "joint", (), i32, 0, "last_body", "unified body index of body a", "joint_a"),
        F("joint_b", "joint", (), i32, 0, "last_body", "unified body index of body b", "joint_b"),
        F("joint_anchor_a", "joint", (2,), f32, -big, big, "anchor in a's frame [m]", "joint_anchor_a"),
        F("joint_anchor_b", "joint", (2,), f32, -big, big, "anchor in b's frame [m]", "joint_anchor_b"),
        F("joint_rotation", "joint", (), f32, -big, big, "reference angle rot_b - rot_a [rad]", "joint_rotation"),
        F("joint_fixed", "joint", (), b, None, None, "fixed (weld) joint instead of revolute", "joint_fixed"),
        F("joint_motor_on", "joint", (), b, None, None, "motor driven by the action channel", "joint_motor_on"),
        F("joint_motor_speed", "joint", (), f32, -big, big, "speed multiplier (x base_motor_speed)",
          "joint_motor_speed"),
        F("joint_motor_power", "joint", (), f32, 0.0, big, "power multiplier (x base_motor_power)",
          "joint_motor_power"),
        F("joint_limits_on", "joint", (), b, None, None, "revolute angle limits enabled", "joint_limits_on"),
        F("joint_min_rotation", "joint", (), f32, -big, big, "lower limit of rot_b - rot_a - ref [rad]",
          "joint_min_rotation"),
        F("joint_max_rotation", "joint", (), f32, -big, big, "upper limit of rot_b - rot_a - ref [rad]",
          "joint_max_rotation"),
        F("joint_channel", "joint", (), i32, 0, "last_motor_channel", "motor action channel", "joint_channel"),
        F("joint_active", "joint", (), b, None, None, "slot holds a joint", "joint_active"),
        F("thruster_body", "thruster", (), i32, 0, "last_body", "unified body index", "thruster_body"),
        F("thruster_position", "thruster", (2,), f32, -big, big, "position in the body frame [m]",
          "thruster_position"),
        F("thruster_rotation", "thruster", (), f32, -big, big, "thrust direction in the body frame [rad]",
          "thruster_rotation"),
        F("thruster_power", "thruster", (), f32, 0.0, big, "power multiplier (x base_thruster_power)",
          "thruster_power"),
        F("thruster_channel", "thruster", (), i32, 0, "last_thruster_channel", "thruster action channel",
          "thruster_channel"),
        F("thruster_active", "thruster", (), b, None, None, "slot holds a thruster", "thruster_active"),
    ]
    return tuple(out)


LEVEL_TABLE: tuple[LevelFieldSpec, ...] = _level_table()  # the one source of truth of the level record
LEVEL_FIELDS: tuple[str, ...] = tuple(spec.name for spec in LEVEL_TABLE)


__all__ = ["LEVEL_FIELDS", "LEVEL_TABLE", "MAX_VERTICES", "LevelFieldSpec"]
