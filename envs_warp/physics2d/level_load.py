"""Level-load stage of the physics2d pipeline: a masked reset copies level records into the simulator.

``LevelArrays`` is the Warp view of a batch of level records; it is generated from
``level_table.LEVEL_TABLE`` (every field with a simulator target), so the kernels, the level files and
the allocations cannot drift apart. Public entry: ``load_levels`` (launch ``(env,)``), which loads each
masked row's level (a bank level or the row's own record), clears its impulses and contacts and
labels its joint-connected body groups; ``level_arrays`` makes the struct's zero-copy views.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import warp as wp

from .level_table import LEVEL_TABLE, LevelFieldSpec
from .types import BodyModel, BodyState, Contacts, JointImpulses, JointModel, ThrusterModel

if TYPE_CHECKING:
    from tensordict import TensorDict

wp.set_module_options({"enable_backward": False})


def warp_dtype(spec: LevelFieldSpec):
    """Warp element type of a level field: ``wp.vec2`` (float 2-vectors), ``wp.bool``, ``wp.int32``, ``wp.float32``."""
    if spec.dtype == torch.bool:
        return wp.bool
    if spec.dtype == torch.int32:
        return wp.int32
    if spec.dtype == torch.float32:
        return wp.vec2 if spec.tail[-1:] == (2,) else wp.float32
    raise TypeError(f"level field {spec.name!r}: no Warp type for {spec.dtype}")


def warp_array_type(spec: LevelFieldSpec):
    """Warp array type of a level field in a batch ``[B, entity, *tail]`` (a vec2 takes the last axis)."""
    dtype = warp_dtype(spec)
    return wp.array(dtype=dtype, ndim=2 + len(spec.tail) - (1 if dtype is wp.vec2 else 0))


# A batch of level records ([B, ...] per field): one array per LEVEL_TABLE field the kernels read.
LevelArrays = wp.struct(type("LevelArrays", (), {
    "__module__": __name__,
    "__qualname__": "LevelArrays",
    "__doc__": "A batch of level records ([B, ...] per field), generated from ``level_table.LEVEL_TABLE``.",
    "__annotations__": {spec.name: warp_array_type(spec) for spec in LEVEL_TABLE if spec.sim is not None},
}))


def level_arrays(levels: TensorDict, lo: int | None = None, hi: int | None = None):
    """``LevelArrays`` views of rows ``[lo, hi)`` of a level batch (contiguous tensors, zero-copy)."""
    out = LevelArrays()
    for spec in LEVEL_TABLE:
        if spec.sim is not None:
            setattr(out, spec.name, wp.from_torch(levels.get(spec.name)[lo:hi], dtype=warp_dtype(spec)))
    return out


# ------------------------------------------------------------------------------------- copy
@wp.func
def flag(b: wp.bool) -> wp.int32:
    """0/1 of a bool."""
    if b:
        return 1
    return 0


@wp.func
def copy_level(
    lv: LevelArrays, r: int, env: int,
    model: BodyModel, state: BodyState, density: wp.array2d(dtype=float), joints: JointModel,
    thrusters: ThrusterModel,
):
    """Write level ``r`` of ``lv`` into row ``env`` of the simulator arrays (bodies, joints, thrusters)."""
    P = lv.poly_active.shape[1]
    C = lv.circle_active.shape[1]
    for p in range(P):
        state.pos[env, p] = lv.poly_position[r, p]
        state.rot[env, p] = lv.poly_rotation[r, p]
        state.vel[env, p] = lv.poly_velocity[r, p]
        state.ang_vel[env, p] = lv.poly_angular_velocity[r, p]
        model.inv_mass[env, p] = lv.poly_inverse_mass[r, p]
        model.inv_inertia[env, p] = lv.poly_inverse_inertia[r, p]
        model.friction[env, p] = lv.poly_friction[r, p]
        model.restitution[env, p] = lv.poly_restitution[r, p]
        model.radius[env, p] = 0.0
        model.mode[env, p] = lv.poly_collision_mode[r, p]
        model.active[env, p] = flag(lv.poly_active[r, p])
        model.role[env, p] = lv.poly_role[r, p]
        model.n_verts[env, p] = lv.poly_n_vertices[r, p]
        density[env, p] = lv.poly_density[r, p]
        for k in range(4):
            model.verts[env, p, k] = lv.poly_vertices[r, p, k]
    for c in range(C):
        i = P + c
        state.pos[env, i] = lv.circle_position[r, c]
        state.rot[env, i] = lv.circle_rotation[r, c]
        state.vel[env, i] = lv.circle_velocity[r, c]
        state.ang_vel[env, i] = lv.circle_angular_velocity[r, c]
        model.inv_mass[env, i] = lv.circle_inverse_mass[r, c]
        model.inv_inertia[env, i] = lv.circle_inverse_inertia[r, c]
        model.friction[env, i] = lv.circle_friction[r, c]
        model.restitution[env, i] = lv.circle_restitution[r, c]
        model.radius[env, i] = lv.circle_radius[r, c]
        model.mode[env, i] = lv.circle_collision_mode[r, c]
        model.active[env, i] = flag(lv.circle_active[r, c])
        model.role[env, i] = lv.circle_role[r, c]
        density[env, i] = lv.circle_density[r, c]
    for j in range(lv.joint_active.shape[1]):
        joints.a[env, j] = lv.joint_a[r, j]
        joints.b[env, j] = lv.joint_b[r, j]
        joints.anchor_a[env, j] = lv.joint_anchor_a[r, j]
        joints.anchor_b[env, j] = lv.joint_anchor_b[r, j]
        joints.ref[env, j] = lv.joint_rotation[r, j]
        joints.fixed[env, j] = flag(lv.joint_fixed[r, j])
        joints.motor_on[env, j] = flag(lv.joint_motor_on[r, j])
        joints.motor_speed[env, j] = lv.joint_motor_speed[r, j]
        joints.motor_power[env, j] = lv.joint_motor_power[r, j]
        joints.limits_on[env, j] = flag(lv.joint_limits_on[r, j])
        joints.lower[env, j] = lv.joint_min_rotation[r, j]
        joints.upper[env, j] = lv.joint_max_rotation[r, j]
        joints.channel[env, j] = lv.joint_channel[r, j]
        joints.active[env, j] = flag(lv.joint_active[r, j])
    for t in range(lv.thruster_active.shape[1]):
        thrusters.body[env, t] = lv.thruster_body[r, t]
        thrusters.pos[env, t] = lv.thruster_position[r, t]
        thrusters.rot[env, t] = lv.thruster_rotation[r, t]
        thrusters.power[env, t] = lv.thruster_power[r, t]
        thrusters.channel[env, t] = lv.thruster_channel[r, t]
        thrusters.active[env, t] = flag(lv.thruster_active[r, t])


@wp.func
def label_groups(joints: JointModel, env: int, model: BodyModel):
    """Connected components of env's joint graph into ``model.group`` (label = smallest body index)."""
    nb = model.group.shape[1]
    nj = joints.a.shape[1]
    for i in range(nb):
        model.group[env, i] = i
    for sweep in range(nj):
        for j in range(nj):
            if joints.active[env, j] != 0:
                ga = model.group[env, joints.a[env, j]]
                gb = model.group[env, joints.b[env, j]]
                g = wp.min(ga, gb)
                for i in range(nb):
                    gi = model.group[env, i]
                    if gi == ga or gi == gb:
                        model.group[env, i] = g


@wp.kernel
def load_levels(
    # Data in:
    mask: wp.array(dtype=wp.int32),
    source: wp.array(dtype=wp.int32),
    row_levels: LevelArrays,
    bank_levels: LevelArrays,
    # Data out:
    model_out: BodyModel,
    state_out: BodyState,
    density_out: wp.array2d(dtype=float),
    joints_out: JointModel,
    thrusters_out: ThrusterModel,
    joint_acc_out: JointImpulses,
    contacts_out: Contacts,
    green_blue_out: wp.array(dtype=wp.int32),
    green_red_out: wp.array(dtype=wp.int32),
):
    """Masked reset: load each masked row's level (bank level ``source[env]``, or the row's own
    record when it is -1), clear impulses and contacts, label joint groups; launch (env,)."""
    env = wp.tid()
    if mask[env] == 0:
        return
    src = source[env]
    if src >= 0:
        copy_level(bank_levels, src, env, model_out, state_out, density_out, joints_out, thrusters_out)
    else:
        copy_level(row_levels, env, env, model_out, state_out, density_out, joints_out, thrusters_out)
    for j in range(joint_acc_out.motor.shape[1]):
        joint_acc_out.point[env, j] = wp.vec2(0.0, 0.0)
        joint_acc_out.angle[env, j] = 0.0
        joint_acc_out.motor[env, j] = 0.0
        joint_acc_out.limit[env, j] = 0.0
    for k in range(contacts_out.pair_a.shape[0]):
        contacts_out.normal[env, k] = wp.vec2(0.0, 0.0)
        contacts_out.listed[env, k] = 0
        for s in range(2):
            contacts_out.point[env, k, s] = wp.vec2(0.0, 0.0)
            contacts_out.depth[env, k, s] = 0.0
            contacts_out.active[env, k, s] = 0
            contacts_out.acc_n[env, k, s] = 0.0
            contacts_out.acc_t[env, k, s] = 0.0
            contacts_out.bounce[env, k, s] = 0.0
    green_blue_out[env] = 0
    green_red_out[env] = 0
    label_groups(joints_out, env, model_out)


__all__ = ["LevelArrays", "level_arrays", "load_levels"]
