"""Shared types of the physics2d kernels: the per-env structs every stage reads, and 2D math helpers.

The pipeline stages (``collision``, ``solver``, ``level_load``, ``task``, ``observations``) import
their structs and helpers from here. Bodies use one index space per env, polygons ``[0, P)`` then
circles ``[P, P + C)``; arrays are ``[N, ...]`` with the env row first.
"""
from __future__ import annotations

import warp as wp

wp.set_module_options({"enable_backward": False})


# Contact models (``SolverParams.contact_model``): Jax2D's manifolds and contact law, or the earlier
# Box2D-style ones (clipped incident edge, midpoint contacts, per-point depths, max(bias, restitution)).
CONTACT_JAX2D = wp.constant(0)
CONTACT_BOX2D = wp.constant(1)
# Contact solve orders (``SolverParams.contact_order``): Jax2D's lists and Jacobi batches, or every
# active point in pair order, one after another (Gauss-Seidel).
CONTACT_ORDER_JAX2D = wp.constant(0)
CONTACT_ORDER_SEQUENTIAL = wp.constant(1)


# ------------------------------------------------------------------------------------- structs
@wp.struct
class BodyModel:
    """Per-env body properties that stay fixed between resets ([N, NB] unless noted)."""

    inv_mass: wp.array2d(dtype=float)  # [1/kg], 0 = static
    inv_inertia: wp.array2d(dtype=float)  # [1/(kg m^2)]
    friction: wp.array2d(dtype=float)
    restitution: wp.array2d(dtype=float)
    radius: wp.array2d(dtype=float)  # [m] circles; polygons 0
    mode: wp.array2d(dtype=wp.int32)  # collision mode 0/1/2
    active: wp.array2d(dtype=wp.int32)
    role: wp.array2d(dtype=wp.int32)  # 0 neutral, 1 green, 2 blue, 3 red
    group: wp.array2d(dtype=wp.int32)  # joint-connected component label; equal labels never collide
    verts: wp.array3d(dtype=wp.vec2)  # [N, P, 4] local CCW vertices [m]
    n_verts: wp.array2d(dtype=wp.int32)  # [N, P]
    n_polys: int  # P


@wp.struct
class BodyState:
    """Per-env body kinematics ([N, NB])."""

    pos: wp.array2d(dtype=wp.vec2)  # [m]
    rot: wp.array2d(dtype=float)  # [rad]
    vel: wp.array2d(dtype=wp.vec2)  # [m/s]
    ang_vel: wp.array2d(dtype=float)  # [rad/s]


@wp.struct
class JointModel:
    """Per-env joint properties ([N, J])."""

    a: wp.array2d(dtype=wp.int32)
    b: wp.array2d(dtype=wp.int32)
    anchor_a: wp.array2d(dtype=wp.vec2)  # [m] in a's frame
    anchor_b: wp.array2d(dtype=wp.vec2)  # [m] in b's frame
    ref: wp.array2d(dtype=float)  # [rad] rest value of rot_b - rot_a
    fixed: wp.array2d(dtype=wp.int32)
    motor_on: wp.array2d(dtype=wp.int32)
    motor_speed: wp.array2d(dtype=float)
    motor_power: wp.array2d(dtype=float)
    limits_on: wp.array2d(dtype=wp.int32)
    lower: wp.array2d(dtype=float)  # [rad]
    upper: wp.array2d(dtype=float)  # [rad]
    channel: wp.array2d(dtype=wp.int32)
    active: wp.array2d(dtype=wp.int32)


@wp.struct
class JointImpulses:
    """Accumulated joint impulses ([N, J]); point and weld impulses carry over for warm starting."""

    point: wp.array2d(dtype=wp.vec2)  # [N s]
    angle: wp.array2d(dtype=float)  # fixed-joint angular [N m s]
    motor: wp.array2d(dtype=float)  # per substep
    limit: wp.array2d(dtype=float)  # per substep


@wp.struct
class ThrusterModel:
    """Per-env thrusters ([N, T])."""

    body: wp.array2d(dtype=wp.int32)
    pos: wp.array2d(dtype=wp.vec2)  # [m] in the body frame
    rot: wp.array2d(dtype=float)  # [rad] thrust direction in the body frame
    power: wp.array2d(dtype=float)
    channel: wp.array2d(dtype=wp.int32)
    active: wp.array2d(dtype=wp.int32)


@wp.struct
class Contacts:
    """Contact manifolds, one slot per body pair, two points per slot."""

    pair_a: wp.array(dtype=wp.int32)  # [K]
    pair_b: wp.array(dtype=wp.int32)  # [K]
    normal: wp.array2d(dtype=wp.vec2)  # [N, K] from a to b
    point: wp.array3d(dtype=wp.vec2)  # [N, K, 2] world [m]
    depth: wp.array3d(dtype=float)  # [N, K, 2] penetration [m]
    active: wp.array3d(dtype=wp.int32)  # [N, K, 2]
    acc_n: wp.array3d(dtype=float)  # [N, K, 2] accumulated normal impulse
    acc_t: wp.array3d(dtype=float)  # [N, K, 2] accumulated tangent impulse
    bounce: wp.array3d(dtype=float)  # [N, K, 2] restitution target normal velocity [m/s]
    order: wp.array2d(dtype=wp.int32)  # [N, 2K] scratch: active points (2 k + s), or listed pairs k, in solve order
    # Jax2D's contact order (``SolverParams.contact_order == CONTACT_ORDER_JAX2D``):
    kind: wp.array(dtype=wp.int32)  # [K] Jax2D manifold list of the pair: 0 polygon-polygon, 1 circle-polygon,
    # 2 circle-circle, -1 none (two of the first ``static_fixated_polys`` polygons, never collided by Jax2D)
    seq: wp.array(dtype=wp.int32)  # [K'] listed pairs k in Jax2D's list order (polygon pairs, circle-polygon, circles)
    seq_start: wp.array(dtype=wp.int32)  # [4] start of each list in ``seq`` (and its end)
    listed: wp.array2d(dtype=wp.int32)  # [N, K] shapes overlap (counts in Jax2D's ordering even if never solved)
    jacobi: wp.array3d(dtype=wp.vec2)  # [N, K, 2] scratch: impulse of a point solved in a Jacobi batch [N s]


@wp.struct
class SolverParams:
    """Scalar constants of one substep."""

    dt: float  # [s]
    gravity: wp.vec2  # [m/s^2]
    iterations: int
    contact_beta: float  # Baumgarte factor for penetration
    slop: float  # [m] allowed penetration
    joint_beta: float  # Baumgarte factor for joint anchors and angles
    max_correction: float  # [m] largest position error one substep's bias tries to remove
    max_angular_correction: float  # [rad] largest angle error one substep's bias tries to remove
    bounce_threshold: float  # [m/s] approach speed below which restitution is ignored
    base_motor_speed: float  # [rad/s]
    base_motor_power: float  # [rad/s^2] motor impulse limit per unit axial mass and second
    motor_model: int  # solver.MOTOR_JAX2D or solver.MOTOR_CONSTRAINT
    motor_decay: float  # [s/rad] Jax2D motor: impulse = full * tanh(decay * speed error)
    motor_joint_limit: float  # [rad] Jax2D motor: fade-out band before a joint limit
    friction_combine: int  # solver.FRICTION_JAX2D or solver.FRICTION_GEOMETRIC
    joint_model: int  # solver.JOINT_JAX2D or solver.JOINT_BLOCK
    joint_stiffness: float  # Jax2D joint: fraction of the point impulse applied per pass
    joint_beta_v: float  # [1/s] Jax2D joint: anchor gap fed into the point impulse
    joint_beta_p: float  # Jax2D joint: fraction of the anchor gap removed from positions per pass
    fixed_joint_beta: float  # [1/s] Jax2D fixed joint: angle error fed into the angular impulse
    limit_beta: float  # [1/s] Jax2D joint limit: excess angle fed into the angular impulse
    base_thruster_power: float  # [N]
    clip_position: float  # [m]
    clip_velocity: float  # [m/s]
    clip_angular_velocity: float  # [rad/s]
    contact_model: int  # solver.CONTACT_JAX2D or solver.CONTACT_BOX2D (manifold geometry and contact law)
    contact_order: int  # solver.CONTACT_ORDER_JAX2D or solver.CONTACT_ORDER_SEQUENTIAL
    solver_batch_size: int  # Jax2D order: manifolds per parallel (Jacobi) batch


@wp.struct
class TaskParams:
    """Constants of the task layer (rewards, limits, observation layout)."""

    max_steps: int
    dense_reward_scale: float  # reward per metre the green-blue distance shrinks
    action_mode: int  # task.ACTION_CONTINUOUS / ACTION_DISCRETE / ACTION_MULTI_DISCRETE
    motor_channels: int
    thruster_channels: int
    gravity_y: float  # [m/s^2]
    flat_joint_offset: int  # start of the joint block in the flat observation
    flat_thruster_offset: int  # start of the thruster block
    flat_dim: int  # length of the flat observation (observations.flat_layout)


# ------------------------------------------------------------------------------------- 2D math
@wp.func
def rotate(c: float, s: float, v: wp.vec2) -> wp.vec2:
    """Rotate ``v`` by the angle with cosine ``c`` and sine ``s``."""
    return wp.vec2(c * v[0] - s * v[1], s * v[0] + c * v[1])


@wp.func
def cross2(a: wp.vec2, b: wp.vec2) -> float:
    """z of the 3D cross product of two plane vectors."""
    return a[0] * b[1] - a[1] * b[0]


@wp.func
def cross_sv(w: float, r: wp.vec2) -> wp.vec2:
    """Angular velocity ``w`` crossed with plane vector ``r``."""
    return wp.vec2(-w * r[1], w * r[0])


__all__ = ["CONTACT_BOX2D", "CONTACT_JAX2D", "CONTACT_ORDER_JAX2D", "CONTACT_ORDER_SEQUENTIAL", "BodyModel",
           "BodyState", "Contacts", "JointImpulses", "JointModel", "SolverParams", "TaskParams", "ThrusterModel",
           "cross2", "cross_sv", "rotate"]
