"""Observation stage of the physics2d pipeline: Kinetix's flat (symbolic-flat) and entity observations.

Public entry: ``observations`` (launch ``(env,)``) writes, for every row set in ``rows``, one entity
row per body (27 features), two directed rows per joint (22) and one per thruster (8), with masks and
body indices, and/or the same features packed into the flat vector: each view is written only when its
flag is set (the env computes the view its policy reads, see ``Physics2DEnvConfig.observation``).
"""
from __future__ import annotations

from typing import Any

import warp as wp

from .types import BodyModel, BodyState, JointModel, TaskParams, ThrusterModel

wp.set_module_options({"enable_backward": False})

SHAPE_FEATURES = wp.constant(27)  # features of a body's entity row
JOINT_FEATURES = wp.constant(22)  # of a directed joint row
THRUSTER_FEATURES = wp.constant(8)  # of a thruster row
OBS_CLIP = wp.constant(10.0)  # every observation value is clipped to [-OBS_CLIP, OBS_CLIP]


@wp.func
def clean(x: float) -> float:
    """Observation value: NaN/inf become 0, the rest is clipped to [-OBS_CLIP, OBS_CLIP]."""
    if not wp.isfinite(x):
        return 0.0
    return wp.clamp(x, -OBS_CLIP, OBS_CLIP)


def flat_layout(num_bodies: int, num_joints: int, num_thrusters: int) -> tuple[int, int, int]:
    """(joint block offset, thruster block offset, length) of the flat observation.

    Body slots (all bodies but the ceiling and side walls, polygons 1..3), then per joint its row plus
    one-hot body indices of both ends, then per thruster its row plus a one-hot body index, then gravity.
    """
    joint_offset = (num_bodies - 3) * SHAPE_FEATURES
    thruster_offset = joint_offset + num_joints * (JOINT_FEATURES + 2 * num_bodies)
    return joint_offset, thruster_offset, thruster_offset + num_thrusters * (THRUSTER_FEATURES + num_bodies) + 1


ShapeRow = wp.types.vector(length=27, dtype=float)
JointRow = wp.types.vector(length=22, dtype=float)
ThrusterRow = wp.types.vector(length=8, dtype=float)


@wp.func
def one_hot_into(v: Any, start: int, count: int, k: int) -> Any:
    """``v`` with entries ``start .. start + count`` set to the one-hot code of ``k``."""
    for c in range(count):
        v[start + c] = 0.0
        if c == k:
            v[start + c] = 1.0
    return v


@wp.func
def shape_observation(
    params: TaskParams,
    write_flat: bool,
    write_entity: bool,
    env: int,
    i: int,
    model: BodyModel,
    state: BodyState,
    density: wp.array2d(dtype=float),
    shapes_out: wp.array3d(dtype=float),
    shape_mask_out: wp.array2d(dtype=wp.bool),
    flat_out: wp.array2d(dtype=float),
):
    """Entity row of body ``i`` and its slot in the flat observation.

    Features (27): position (2) [m], velocity (2) [m/s], inverse mass, inverse inertia, density,
    tanh(angular velocity / 10), role one-hot (4), sin and cos of the rotation, friction,
    restitution, is-circle, radius [m], 4 local vertices (8, -1 where absent), is-triangle; all
    zero for an empty slot. Flat slots skip polygons 1..3 (ceiling and side walls, the same in
    every level); the last flat entry is gravity / 10.
    """
    active = model.active[env, i] != 0
    v = ShapeRow()
    if active:
        x = state.pos[env, i]
        u = state.vel[env, i]
        rot = state.rot[env, i]
        v[0] = x[0]
        v[1] = x[1]
        v[2] = u[0]
        v[3] = u[1]
        v[4] = model.inv_mass[env, i]
        v[5] = model.inv_inertia[env, i]
        v[6] = density[env, i]
        v[7] = wp.tanh(state.ang_vel[env, i] / 10.0)
        v = one_hot_into(v, 8, 4, model.role[env, i])
        v[12] = wp.sin(rot)
        v[13] = wp.cos(rot)
        v[14] = model.friction[env, i]
        v[15] = model.restitution[env, i]
        nv = int(0)
        if i >= model.n_polys:
            v[16] = 1.0
            v[17] = model.radius[env, i]
        else:
            nv = model.n_verts[env, i]
        for k in range(4):
            w = wp.vec2(-1.0, -1.0)
            if k < nv:
                w = model.verts[env, i, k]
            v[18 + 2 * k] = w[0]
            v[19 + 2 * k] = w[1]
        if nv == 3:
            v[26] = 1.0
    if write_entity:
        shape_mask_out[env, i] = active
    slot = int(-1)
    if write_flat:
        if i == 0:
            slot = 0
            flat_out[env, params.flat_dim - 1] = params.gravity_y / 10.0
        elif i >= 4:
            slot = i - 3
    for f in range(SHAPE_FEATURES):
        y = clean(v[f])
        if write_entity:
            shapes_out[env, i, f] = y
        if slot >= 0:
            flat_out[env, slot * SHAPE_FEATURES + f] = y


@wp.func
def joint_observation(
    params: TaskParams,
    write_flat: bool,
    write_entity: bool,
    env: int,
    j: int,
    model: BodyModel,
    joints: JointModel,
    joints_out: wp.array3d(dtype=float),
    joint_index_out: wp.array3d(dtype=wp.int64),
    joint_mask_out: wp.array2d(dtype=wp.bool),
    flat_out: wp.array2d(dtype=float),
):
    """Two directed entity rows of joint ``j`` (a->b at j, b->a at J + j) and its flat block.

    Features (22): active, fixed, anchor on the from-body (2) [m], anchor on the to-body (2) [m],
    sin/cos of the reference angle, then (zero for fixed joints) motor speed, motor power, motor on,
    limits on, channel one-hot (4), sin/cos of the lower and upper limit, lower - reference and upper -
    reference [rad] (limit entries zero without limits). The flat block is the a->b row plus one-hot
    body indices of a and b.
    """
    nj = joints.a.shape[1]
    nb = model.active.shape[1]
    active = joints.active[env, j] != 0
    a = joints.a[env, j]
    b = joints.b[env, j]
    v = JointRow()
    if active:
        fixed = joints.fixed[env, j] != 0
        ref = joints.ref[env, j]
        v[0] = 1.0
        if fixed:
            v[1] = 1.0
        else:
            v[8] = joints.motor_speed[env, j]
            v[9] = joints.motor_power[env, j]
            if joints.motor_on[env, j] != 0:
                v[10] = 1.0
            v = one_hot_into(v, 12, 4, joints.channel[env, j])
            if joints.limits_on[env, j] != 0:
                lo = joints.lower[env, j]
                hi = joints.upper[env, j]
                v[11] = 1.0
                v[16] = wp.sin(lo)
                v[17] = wp.cos(lo)
                v[18] = wp.sin(hi)
                v[19] = wp.cos(hi)
                v[20] = lo - ref
                v[21] = hi - ref
        v[6] = wp.sin(ref)
        v[7] = wp.cos(ref)
    else:
        a = 0
        b = 0
    pa = joints.anchor_a[env, j]
    pb = joints.anchor_b[env, j]
    base = params.flat_joint_offset + j * (JOINT_FEATURES + 2 * nb)
    for d in range(2):
        row = j + d * nj
        if active:
            if d == 0:
                v[2] = pa[0]
                v[3] = pa[1]
                v[4] = pb[0]
                v[5] = pb[1]
            else:
                v[2] = pb[0]
                v[3] = pb[1]
                v[4] = pa[0]
                v[5] = pa[1]
        if write_entity:
            joint_mask_out[env, row] = active
            if d == 0:
                joint_index_out[env, row, 0] = wp.int64(a)
                joint_index_out[env, row, 1] = wp.int64(b)
            else:
                joint_index_out[env, row, 0] = wp.int64(b)
                joint_index_out[env, row, 1] = wp.int64(a)
        for f in range(JOINT_FEATURES):
            y = clean(v[f])
            if write_entity:
                joints_out[env, row, f] = y
            if d == 0 and write_flat:
                flat_out[env, base + f] = y
    if not write_flat:
        return
    for k in range(nb):
        ya = float(0.0)
        yb = float(0.0)
        if active and k == a:
            ya = 1.0
        if active and k == b:
            yb = 1.0
        flat_out[env, base + JOINT_FEATURES + k] = ya
        flat_out[env, base + JOINT_FEATURES + nb + k] = yb


@wp.func
def thruster_observation(
    params: TaskParams,
    write_flat: bool,
    write_entity: bool,
    env: int,
    t: int,
    model: BodyModel,
    thrusters: ThrusterModel,
    thrusters_out: wp.array3d(dtype=float),
    thruster_index_out: wp.array2d(dtype=wp.int64),
    thruster_mask_out: wp.array2d(dtype=wp.bool),
    flat_out: wp.array2d(dtype=float),
):
    """Entity row of thruster ``t`` and its flat block.

    Features (8): active, mount position in the body frame (2) [m], channel one-hot (2), sin and
    cos of the thrust direction in the body frame, power. The flat block adds a one-hot body index.
    """
    nb = model.active.shape[1]
    active = thrusters.active[env, t] != 0
    body = int(0)
    v = ThrusterRow()
    if active:
        body = thrusters.body[env, t]
        p = thrusters.pos[env, t]
        rot = thrusters.rot[env, t]
        v[0] = 1.0
        v[1] = p[0]
        v[2] = p[1]
        v = one_hot_into(v, 3, 2, thrusters.channel[env, t])
        v[5] = wp.sin(rot)
        v[6] = wp.cos(rot)
        v[7] = thrusters.power[env, t]
    base = params.flat_thruster_offset + t * (THRUSTER_FEATURES + nb)
    for f in range(THRUSTER_FEATURES):
        y = clean(v[f])
        if write_entity:
            thrusters_out[env, t, f] = y
        if write_flat:
            flat_out[env, base + f] = y
    if write_entity:
        thruster_mask_out[env, t] = active
        thruster_index_out[env, t] = wp.int64(body)
    if not write_flat:
        return
    for k in range(nb):
        y = float(0.0)
        if active and k == body:
            y = 1.0
        flat_out[env, base + THRUSTER_FEATURES + k] = y


@wp.kernel
def observations(
    # Model:
    params: TaskParams,
    model: BodyModel,
    density: wp.array2d(dtype=float),
    joints: JointModel,
    thrusters: ThrusterModel,
    write_flat: bool,  # write the flat observation
    write_entity: bool,  # write the entity rows, masks and indices
    # Data in:
    rows: wp.array(dtype=wp.bool),
    state: BodyState,
    # Data out:
    shapes_out: wp.array3d(dtype=float),
    shape_mask_out: wp.array2d(dtype=wp.bool),
    joints_out: wp.array3d(dtype=float),
    joint_index_out: wp.array3d(dtype=wp.int64),
    joint_mask_out: wp.array2d(dtype=wp.bool),
    thrusters_out: wp.array3d(dtype=float),
    thruster_index_out: wp.array2d(dtype=wp.int64),
    thruster_mask_out: wp.array2d(dtype=wp.bool),
    flat_out: wp.array2d(dtype=float),
):
    """Flat and/or entity observations (as the flags say) of every row set in ``rows`` (others are left as they
    are); launch (env,)."""
    env = wp.tid()
    if not rows[env]:
        return
    for i in range(model.active.shape[1]):
        shape_observation(params, write_flat, write_entity, env, i, model, state, density, shapes_out, shape_mask_out,
                          flat_out)
    for j in range(joints.a.shape[1]):
        joint_observation(params, write_flat, write_entity, env, j, model, joints, joints_out, joint_index_out,
                          joint_mask_out, flat_out)
    for t in range(thrusters.body.shape[1]):
        thruster_observation(params, write_flat, write_entity, env, t, model, thrusters, thrusters_out,
                             thruster_index_out, thruster_mask_out, flat_out)


__all__ = ["JOINT_FEATURES", "SHAPE_FEATURES", "THRUSTER_FEATURES", "flat_layout", "observations"]
