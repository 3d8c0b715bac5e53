"""Warp kernels of the physics2d world: bounds, narrow phase and a per-env impulse solver.

Bodies use one index space per env, polygons ``[0, P)`` then circles ``[P, P + C)``. Contacts
live in one slot per unordered body pair ``k`` (``pair_a[k] < pair_b[k]``) with up to two points;
the normal points from body ``a`` to body ``b``. One substep is three launches:
``compute_bounds`` over (env, body), ``narrow_phase`` over (env, pair), ``solve_substep`` over
(env,) -- sequential impulses are sequential within an env, so the solver runs one thread per env.
"""
from __future__ import annotations

from typing import Any

import warp as wp

wp.set_module_options({"enable_backward": False})

BIG = wp.constant(1.0e30)
REF_FACE_TOL = wp.constant(0.005)  # [m] prefer body a's face as the reference unless b's is clearly better
WARM_NORMAL_COS = wp.constant(0.95)  # keep accumulated impulses only while the normal barely moves


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
    order: wp.array2d(dtype=wp.int32)  # [N, 2K] scratch: active points (2 k + s) in solve order


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
    base_thruster_power: float  # [N]
    clip_position: float  # [m]
    clip_velocity: float  # [m/s]
    clip_angular_velocity: float  # [rad/s]


# ------------------------------------------------------------------------------------- helpers
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


@wp.func
def edge_normal(v1: wp.vec2, v2: wp.vec2) -> wp.vec2:
    """Outward unit normal of the CCW edge v1 -> v2."""
    e = v2 - v1
    n = wp.vec2(e[1], -e[0])
    ln = wp.length(n)
    if ln > 1.0e-12:
        n = n / ln
    return n


@wp.func
def world_vertex(model: BodyModel, env: int, p: int, k: int, x: wp.vec2, c: float, s: float) -> wp.vec2:
    """World position of vertex ``k`` of polygon ``p``."""
    return x + rotate(c, s, model.verts[env, p, k])


@wp.func
def max_separation(
    model: BodyModel, env: int,
    pa: int, xa: wp.vec2, ca: float, sa: float,
    pb: int, xb: wp.vec2, cb: float, sb: float,
):
    """Largest separation of polygon b from the edge planes of polygon a, and that edge."""
    na = model.n_verts[env, pa]
    nb = model.n_verts[env, pb]
    best = float(-BIG)
    best_i = int(0)
    for i in range(na):
        v1 = world_vertex(model, env, pa, i, xa, ca, sa)
        v2 = world_vertex(model, env, pa, (i + 1) % na, xa, ca, sa)
        n = edge_normal(v1, v2)
        sep = float(BIG)
        for j in range(nb):
            d = wp.dot(n, world_vertex(model, env, pb, j, xb, cb, sb) - v1)
            sep = wp.min(sep, d)
        if sep > best:
            best = sep
            best_i = i
    return best, best_i


@wp.func
def clip_segment(p1: wp.vec2, p2: wp.vec2, n: wp.vec2, offset: float):
    """Keep the part of segment p1-p2 with dot(n, p) <= offset; returns ends and a keep flag."""
    d1 = wp.dot(n, p1) - offset
    d2 = wp.dot(n, p2) - offset
    q1 = p1
    q2 = p2
    ok = int(1)
    if d1 > 0.0 and d2 > 0.0:
        ok = 0
    elif d1 > 0.0:
        q1 = p1 + (p2 - p1) * (d1 / (d1 - d2))
    elif d2 > 0.0:
        q2 = p1 + (p2 - p1) * (d1 / (d1 - d2))
    return q1, q2, ok


@wp.func
def collide_polygons(
    model: BodyModel, env: int,
    a: int, xa: wp.vec2, ra: float,
    b: int, xb: wp.vec2, rb: float,
):
    """SAT with a clipped 2-point manifold; returns normal (a->b), points, depths, hit flags."""
    ca = wp.cos(ra)
    sa = wp.sin(ra)
    cb = wp.cos(rb)
    sb = wp.sin(rb)
    normal = wp.vec2(0.0, 0.0)
    q1 = wp.vec2(0.0, 0.0)
    q2 = wp.vec2(0.0, 0.0)
    d1 = float(0.0)
    d2 = float(0.0)
    h1 = int(0)
    h2 = int(0)
    sep_a, edge_a = max_separation(model, env, a, xa, ca, sa, b, xb, cb, sb)
    sep_b, edge_b = max_separation(model, env, b, xb, cb, sb, a, xa, ca, sa)
    if sep_a <= 0.0 and sep_b <= 0.0:
        # reference polygon r (face owner), incident polygon i
        flip = sep_b > sep_a + REF_FACE_TOL
        r = a
        xr = xa
        cr = ca
        sr = sa
        edge = edge_a
        inc = b
        xi = xb
        ci = cb
        si = sb
        if flip:
            r = b
            xr = xb
            cr = cb
            sr = sb
            edge = edge_b
            inc = a
            xi = xa
            ci = ca
            si = sa
        nr = model.n_verts[env, r]
        ni = model.n_verts[env, inc]
        v1 = world_vertex(model, env, r, edge, xr, cr, sr)
        v2 = world_vertex(model, env, r, (edge + 1) % nr, xr, cr, sr)
        n_ref = edge_normal(v1, v2)
        tangent = wp.normalize(v2 - v1)
        # incident edge: the most anti-parallel to the reference normal
        best = float(BIG)
        inc_edge = int(0)
        for k in range(ni):
            w1 = world_vertex(model, env, inc, k, xi, ci, si)
            w2 = world_vertex(model, env, inc, (k + 1) % ni, xi, ci, si)
            d = wp.dot(edge_normal(w1, w2), n_ref)
            if d < best:
                best = d
                inc_edge = k
        p1 = world_vertex(model, env, inc, inc_edge, xi, ci, si)
        p2 = world_vertex(model, env, inc, (inc_edge + 1) % ni, xi, ci, si)
        # clip the incident edge to the side planes of the reference edge
        c1, c2, ok1 = clip_segment(p1, p2, -tangent, -wp.dot(tangent, v1))
        c1, c2, ok2 = clip_segment(c1, c2, tangent, wp.dot(tangent, v2))
        if ok1 == 1 and ok2 == 1:
            front = wp.dot(n_ref, v1)
            s1 = wp.dot(n_ref, c1) - front
            s2 = wp.dot(n_ref, c2) - front
            if s1 <= 0.0:
                h1 = 1
                d1 = -s1
                q1 = c1 - n_ref * (0.5 * s1)
            if s2 <= 0.0:
                h2 = 1
                d2 = -s2
                q2 = c2 - n_ref * (0.5 * s2)
            normal = n_ref
            if flip:
                normal = -n_ref
    return normal, q1, q2, d1, d2, h1, h2


@wp.func
def collide_polygon_circle(
    model: BodyModel, env: int,
    p: int, xp: wp.vec2, rp: float,
    xc: wp.vec2, radius: float,
):
    """Polygon p against a circle; returns normal (polygon->circle), point, depth, hit flag."""
    c = wp.cos(rp)
    s = wp.sin(rp)
    d = xc - xp
    cl = wp.vec2(c * d[0] + s * d[1], -s * d[0] + c * d[1])  # circle centre in the polygon frame
    nv = model.n_verts[env, p]
    best = float(-BIG)
    bi = int(0)
    for i in range(nv):
        v1 = model.verts[env, p, i]
        v2 = model.verts[env, p, (i + 1) % nv]
        sep = wp.dot(edge_normal(v1, v2), cl - v1)
        if sep > best:
            best = sep
            bi = i
    hit = int(0)
    n_local = wp.vec2(0.0, 1.0)
    depth = float(0.0)
    if best <= radius:
        v1 = model.verts[env, p, bi]
        v2 = model.verts[env, p, (bi + 1) % nv]
        face_n = edge_normal(v1, v2)
        hit = 1
        n_local = face_n
        depth = radius - best
        if best > 0.0:
            u1 = wp.dot(cl - v1, v2 - v1)
            u2 = wp.dot(cl - v2, v1 - v2)
            if u1 <= 0.0 or u2 <= 0.0:
                corner = v1
                if u2 <= 0.0:
                    corner = v2
                dv = cl - corner
                dist = wp.length(dv)
                if dist > radius:
                    hit = 0
                elif dist > 1.0e-9:
                    n_local = dv / dist
                    depth = radius - dist
    point_local = cl - n_local * (radius - 0.5 * depth)
    return rotate(c, s, n_local), xp + rotate(c, s, point_local), depth, hit


@wp.func
def bodies_may_touch(model: BodyModel, env: int, a: int, b: int) -> bool:
    """Pair filter: both active, collision modes agree, different joint groups, not two inert statics."""
    if model.active[env, a] == 0 or model.active[env, b] == 0:
        return False
    ma = model.mode[env, a]
    mb = model.mode[env, b]
    if not (ma == 2 or mb == 2 or ma * mb > 0):
        return False
    if model.group[env, a] == model.group[env, b]:
        return False
    if model.inv_mass[env, a] == 0.0 and model.inv_mass[env, b] == 0.0:
        # two fixed bodies never need impulses; only role outcomes can make them worth testing
        if model.role[env, a] * model.role[env, b] == 0:
            return False
    return True


# ------------------------------------------------------------------------------------- kernels
@wp.kernel
def compute_bounds(model: BodyModel, state: BodyState, bounds_out: wp.array2d(dtype=wp.vec4)):
    """World AABB (min x, min y, max x, max y) of every body; launch (env, body)."""
    env, i = wp.tid()
    x = state.pos[env, i]
    lo = x
    hi = x
    if i < model.n_polys:
        c = wp.cos(state.rot[env, i])
        s = wp.sin(state.rot[env, i])
        lo = wp.vec2(BIG, BIG)
        hi = wp.vec2(-BIG, -BIG)
        for k in range(model.n_verts[env, i]):
            w = world_vertex(model, env, i, k, x, c, s)
            lo = wp.min(lo, w)
            hi = wp.max(hi, w)
    else:
        r = model.radius[env, i]
        lo = x - wp.vec2(r, r)
        hi = x + wp.vec2(r, r)
    bounds_out[env, i] = wp.vec4(lo[0], lo[1], hi[0], hi[1])


@wp.kernel
def narrow_phase(
    model: BodyModel,
    state: BodyState,
    bounds: wp.array2d(dtype=wp.vec4),
    contacts_inout: Contacts,
):
    """New manifold for every body pair, keeping accumulated impulses of persisting points; launch (env, pair)."""
    env, k = wp.tid()
    a = contacts_inout.pair_a[k]
    b = contacts_inout.pair_b[k]
    normal = wp.vec2(0.0, 0.0)
    q1 = wp.vec2(0.0, 0.0)
    q2 = wp.vec2(0.0, 0.0)
    d1 = float(0.0)
    d2 = float(0.0)
    h1 = int(0)
    h2 = int(0)
    if bodies_may_touch(model, env, a, b):
        ba = bounds[env, a]
        bb = bounds[env, b]
        if ba[0] <= bb[2] and bb[0] <= ba[2] and ba[1] <= bb[3] and bb[1] <= ba[3]:
            P = model.n_polys
            if b < P:
                normal, q1, q2, d1, d2, h1, h2 = collide_polygons(
                    model, env, a, state.pos[env, a], state.rot[env, a], b, state.pos[env, b], state.rot[env, b]
                )
            elif a < P:
                normal, q1, d1, h1 = collide_polygon_circle(
                    model, env, a, state.pos[env, a], state.rot[env, a], state.pos[env, b], model.radius[env, b]
                )
            else:
                xa = state.pos[env, a]
                xb = state.pos[env, b]
                ra = model.radius[env, a]
                rb = model.radius[env, b]
                dx = xb - xa
                dist = wp.length(dx)
                if dist <= ra + rb:
                    normal = wp.vec2(0.0, 1.0)
                    if dist > 1.0e-9:
                        normal = dx / dist
                    d1 = ra + rb - dist
                    q1 = xa + normal * (ra - 0.5 * d1)
                    h1 = 1
    if h1 == 0 and h2 == 0 and contacts_inout.active[env, k, 0] == 0 and contacts_inout.active[env, k, 1] == 0:
        return  # still apart: nothing reads an inactive slot's data, and its impulses are already zero
    keep = wp.dot(normal, contacts_inout.normal[env, k]) > WARM_NORMAL_COS
    contacts_inout.normal[env, k] = normal
    contacts_inout.point[env, k, 0] = q1
    contacts_inout.point[env, k, 1] = q2
    contacts_inout.depth[env, k, 0] = d1
    contacts_inout.depth[env, k, 1] = d2
    for s in range(2):
        hit = h1
        if s == 1:
            hit = h2
        if hit == 0 or contacts_inout.active[env, k, s] == 0 or not keep:
            contacts_inout.acc_n[env, k, s] = 0.0
            contacts_inout.acc_t[env, k, s] = 0.0
        contacts_inout.active[env, k, s] = hit


@wp.func
def apply_impulse(state: BodyState, model: BodyModel, env: int, i: int, impulse: wp.vec2, r: wp.vec2):
    """Apply a linear impulse at arm ``r`` from body i's centre of mass."""
    state.vel[env, i] = state.vel[env, i] + impulse * model.inv_mass[env, i]
    state.ang_vel[env, i] = state.ang_vel[env, i] + model.inv_inertia[env, i] * cross2(r, impulse)


@wp.func
def point_velocity(state: BodyState, env: int, i: int, r: wp.vec2) -> wp.vec2:
    """Velocity of the material point at arm ``r`` of body i."""
    return state.vel[env, i] + cross_sv(state.ang_vel[env, i], r)


@wp.func
def solve_contact(
    model: BodyModel, contacts: Contacts, params: SolverParams, env: int, k: int, s: int, state: BodyState
):
    """One sequential-impulse pass over contact point (k, s): normal then friction."""
    a = contacts.pair_a[k]
    b = contacts.pair_b[k]
    n = contacts.normal[env, k]
    p = contacts.point[env, k, s]
    ra = p - state.pos[env, a]
    rb = p - state.pos[env, b]
    ima = model.inv_mass[env, a]
    imb = model.inv_mass[env, b]
    iia = model.inv_inertia[env, a]
    iib = model.inv_inertia[env, b]
    rna = cross2(ra, n)
    rnb = cross2(rb, n)
    kn = ima + imb + iia * rna * rna + iib * rnb * rnb
    if kn > 0.0:
        dv = point_velocity(state, env, b, rb) - point_velocity(state, env, a, ra)
        vn = wp.dot(dv, n)
        excess = wp.clamp(contacts.depth[env, k, s] - params.slop, 0.0, params.max_correction)
        bias = params.contact_beta / params.dt * excess
        target = wp.max(bias, -contacts.bounce[env, k, s])
        old = contacts.acc_n[env, k, s]
        acc = wp.max(old + (target - vn) / kn, 0.0)
        contacts.acc_n[env, k, s] = acc
        imp = n * (acc - old)
        apply_impulse(state, model, env, a, -imp, ra)
        apply_impulse(state, model, env, b, imp, rb)
        # friction (Coulomb, clamped by the accumulated normal impulse)
        t = wp.vec2(-n[1], n[0])
        rta = cross2(ra, t)
        rtb = cross2(rb, t)
        kt = ima + imb + iia * rta * rta + iib * rtb * rtb
        dv = point_velocity(state, env, b, rb) - point_velocity(state, env, a, ra)
        vt = wp.dot(dv, t)
        mu = wp.sqrt(model.friction[env, a] * model.friction[env, b])
        old_t = contacts.acc_t[env, k, s]
        acc_t = wp.clamp(old_t - vt / kt, -mu * acc, mu * acc)
        contacts.acc_t[env, k, s] = acc_t
        imp_t = t * (acc_t - old_t)
        apply_impulse(state, model, env, a, -imp_t, ra)
        apply_impulse(state, model, env, b, imp_t, rb)


@wp.func
def clamp_length(v: wp.vec2, max_len: float) -> wp.vec2:
    """``v`` shortened to at most ``max_len``."""
    ln = wp.length(v)
    if ln > max_len:
        v = v * (max_len / ln)
    return v


@wp.func
def solve_joint(
    model: BodyModel,
    joints: JointModel,
    params: SolverParams,
    motor_action: wp.array2d(dtype=float),
    env: int,
    j: int,
    state: BodyState,
    acc: JointImpulses,
):
    """One sequential-impulse pass over joint j: motor and limits, then the anchor (plus angle if welded).

    A fixed joint solves anchor and angle together (3x3 effective mass), which keeps welds of very
    different bodies stable; a revolute joint solves its 2x2 anchor block. Position errors feed a
    Baumgarte bias, clamped to ``max_correction`` / ``max_angular_correction``.
    """
    a = joints.a[env, j]
    b = joints.b[env, j]
    ima = model.inv_mass[env, a]
    imb = model.inv_mass[env, b]
    iia = model.inv_inertia[env, a]
    iib = model.inv_inertia[env, b]
    k_ang = iia + iib
    rel = state.rot[env, b] - state.rot[env, a] - joints.ref[env, j]
    bias_scale = params.joint_beta / params.dt
    fixed = joints.fixed[env, j] != 0
    if k_ang > 0.0 and not fixed:
        action = wp.clamp(motor_action[env, joints.channel[env, j]], -1.0, 1.0)
        if joints.motor_on[env, j] != 0 and action != 0.0:
            w_rel = state.ang_vel[env, b] - state.ang_vel[env, a]
            target = action * joints.motor_speed[env, j] * params.base_motor_speed
            max_imp = joints.motor_power[env, j] * params.base_motor_power * params.dt / k_ang
            old = acc.motor[env, j]
            new = wp.clamp(old - (w_rel - target) / k_ang, -max_imp, max_imp)
            acc.motor[env, j] = new
            lam = new - old
            state.ang_vel[env, a] = state.ang_vel[env, a] - iia * lam
            state.ang_vel[env, b] = state.ang_vel[env, b] + iib * lam
        if joints.limits_on[env, j] != 0:
            lo = joints.lower[env, j]
            hi = joints.upper[env, j]
            if rel <= lo or rel >= hi:
                c = rel - lo
                if rel >= hi:
                    c = rel - hi
                c = wp.clamp(c, -params.max_angular_correction, params.max_angular_correction)
                w_rel = state.ang_vel[env, b] - state.ang_vel[env, a]
                lam = -(w_rel + bias_scale * c) / k_ang
                old = acc.limit[env, j]
                new = old + lam
                if rel <= lo:
                    new = wp.max(new, 0.0)
                else:
                    new = wp.min(new, 0.0)
                acc.limit[env, j] = new
                lam = new - old
                state.ang_vel[env, a] = state.ang_vel[env, a] - iia * lam
                state.ang_vel[env, b] = state.ang_vel[env, b] + iib * lam
    if ima + imb > 0.0:
        ra = rotate(wp.cos(state.rot[env, a]), wp.sin(state.rot[env, a]), joints.anchor_a[env, j])
        rb = rotate(wp.cos(state.rot[env, b]), wp.sin(state.rot[env, b]), joints.anchor_b[env, j])
        err = clamp_length(state.pos[env, b] + rb - state.pos[env, a] - ra, params.max_correction)
        dv = point_velocity(state, env, b, rb) - point_velocity(state, env, a, ra)
        m = ima + imb
        k11 = m + iia * ra[1] * ra[1] + iib * rb[1] * rb[1]
        k12 = -iia * ra[0] * ra[1] - iib * rb[0] * rb[1]
        k22 = m + iia * ra[0] * ra[0] + iib * rb[0] * rb[0]
        if fixed and k_ang > 0.0:
            k13 = -iia * ra[1] - iib * rb[1]
            k23 = iia * ra[0] + iib * rb[0]
            kmat = wp.mat33(k11, k12, k13, k12, k22, k23, k13, k23, k_ang)
            if wp.abs(wp.determinant(kmat)) > 1.0e-12:
                c_ang = wp.clamp(rel, -params.max_angular_correction, params.max_angular_correction)
                w_rel = state.ang_vel[env, b] - state.ang_vel[env, a]
                rhs3 = -wp.vec3(dv[0] + bias_scale * err[0], dv[1] + bias_scale * err[1], w_rel + bias_scale * c_ang)
                lam3 = wp.inverse(kmat) * rhs3
                lin = wp.vec2(lam3[0], lam3[1])
                acc.point[env, j] = acc.point[env, j] + lin
                acc.angle[env, j] = acc.angle[env, j] + lam3[2]
                apply_impulse(state, model, env, a, -lin, ra)
                apply_impulse(state, model, env, b, lin, rb)
                state.ang_vel[env, a] = state.ang_vel[env, a] - iia * lam3[2]
                state.ang_vel[env, b] = state.ang_vel[env, b] + iib * lam3[2]
        else:
            det = k11 * k22 - k12 * k12
            if det > 1.0e-12:
                rhs2 = -(dv + err * bias_scale)
                lam_p = wp.vec2(k22 * rhs2[0] - k12 * rhs2[1], -k12 * rhs2[0] + k11 * rhs2[1]) / det
                acc.point[env, j] = acc.point[env, j] + lam_p
                apply_impulse(state, model, env, a, -lam_p, ra)
                apply_impulse(state, model, env, b, lam_p, rb)


@wp.kernel
def solve_substep(
    model: BodyModel,
    joints: JointModel,
    thrusters: ThrusterModel,
    params: SolverParams,
    motor_action: wp.array2d(dtype=float),
    thruster_action: wp.array2d(dtype=float),
    state_inout: BodyState,
    contacts_inout: Contacts,
    joint_acc_inout: JointImpulses,
    green_blue_out: wp.array(dtype=wp.int32),
    green_red_out: wp.array(dtype=wp.int32),
):
    """Forces, warm start, sequential impulses, symplectic Euler, clamps and role outcomes; launch (env,)."""
    env = wp.tid()
    nb = state_inout.pos.shape[1]
    nk = contacts_inout.pair_a.shape[0]
    nj = joints.a.shape[1]
    nt = thrusters.body.shape[1]
    dt = params.dt
    state = state_inout
    contacts = contacts_inout
    acc = joint_acc_inout

    # external forces: gravity and thrusters
    for i in range(nb):
        if model.active[env, i] != 0 and model.inv_mass[env, i] > 0.0:
            state.vel[env, i] = state.vel[env, i] + params.gravity * dt
    for t in range(nt):
        if thrusters.active[env, t] != 0:
            i = thrusters.body[env, t]
            act = wp.clamp(thruster_action[env, thrusters.channel[env, t]], 0.0, 1.0)
            cos_i = wp.cos(state.rot[env, i])
            sin_i = wp.sin(state.rot[env, i])
            ang = state.rot[env, i] + thrusters.rot[env, t]
            direction = wp.vec2(wp.cos(ang), wp.sin(ang))
            impulse = direction * (thrusters.power[env, t] * params.base_thruster_power * act * dt)
            apply_impulse(state, model, env, i, impulse, rotate(cos_i, sin_i, thrusters.pos[env, t]))

    # restitution targets from the approach speed, then warm start; list the active points
    n_points = int(0)
    for k in range(nk):
        a = contacts.pair_a[k]
        b = contacts.pair_b[k]
        n = contacts.normal[env, k]
        tang = wp.vec2(-n[1], n[0])
        e = wp.min(model.restitution[env, a], model.restitution[env, b])
        for s in range(2):
            if contacts.active[env, k, s] != 0:
                p = contacts.point[env, k, s]
                ra = p - state.pos[env, a]
                rb = p - state.pos[env, b]
                vn = wp.dot(point_velocity(state, env, b, rb) - point_velocity(state, env, a, ra), n)
                bounce = float(0.0)
                if vn < -params.bounce_threshold:
                    bounce = e * vn
                contacts.bounce[env, k, s] = bounce
                imp = n * contacts.acc_n[env, k, s] + tang * contacts.acc_t[env, k, s]
                apply_impulse(state, model, env, a, -imp, ra)
                apply_impulse(state, model, env, b, imp, rb)
                contacts.order[env, n_points] = 2 * k + s
                n_points += 1
    for j in range(nj):
        acc.motor[env, j] = 0.0
        acc.limit[env, j] = 0.0
        a = joints.a[env, j]
        b = joints.b[env, j]
        live = joints.active[env, j] != 0 and model.active[env, a] != 0 and model.active[env, b] != 0
        if live and joints.fixed[env, j] == 0:
            acc.angle[env, j] = 0.0
        if live:
            ra = rotate(wp.cos(state.rot[env, a]), wp.sin(state.rot[env, a]), joints.anchor_a[env, j])
            rb = rotate(wp.cos(state.rot[env, b]), wp.sin(state.rot[env, b]), joints.anchor_b[env, j])
            lam = acc.point[env, j]
            apply_impulse(state, model, env, a, -lam, ra)
            apply_impulse(state, model, env, b, lam, rb)
            la = acc.angle[env, j]
            state.ang_vel[env, a] = state.ang_vel[env, a] - model.inv_inertia[env, a] * la
            state.ang_vel[env, b] = state.ang_vel[env, b] + model.inv_inertia[env, b] * la
        else:
            acc.point[env, j] = wp.vec2(0.0, 0.0)
            acc.angle[env, j] = 0.0

    # sequential impulses
    for it in range(params.iterations):
        for j in range(nj):
            a = joints.a[env, j]
            b = joints.b[env, j]
            if joints.active[env, j] != 0 and model.active[env, a] != 0 and model.active[env, b] != 0:
                solve_joint(model, joints, params, motor_action, env, j, state, acc)
        for q in range(n_points):
            code = contacts.order[env, q]
            solve_contact(model, contacts, params, env, code // 2, code % 2, state)

    # symplectic Euler and clamps
    for i in range(nb):
        if model.active[env, i] != 0:
            v = state.vel[env, i]
            v = wp.vec2(
                wp.clamp(v[0], -params.clip_velocity, params.clip_velocity),
                wp.clamp(v[1], -params.clip_velocity, params.clip_velocity),
            )
            w = wp.clamp(state.ang_vel[env, i], -params.clip_angular_velocity, params.clip_angular_velocity)
            x = state.pos[env, i] + v * dt
            x = wp.vec2(
                wp.clamp(x[0], -params.clip_position, params.clip_position),
                wp.clamp(x[1], -params.clip_position, params.clip_position),
            )
            state.vel[env, i] = v
            state.ang_vel[env, i] = w
            state.pos[env, i] = x
            state.rot[env, i] = state.rot[env, i] + w * dt

    # role outcomes: green (1) touching blue (2) or red (3). Like Kinetix, the first substep of a
    # step with any outcome decides it; later substeps of the same step do not change the flags.
    if green_blue_out[env] == 0 and green_red_out[env] == 0:
        gb = int(0)
        gr = int(0)
        for k in range(nk):
            if contacts.active[env, k, 0] != 0 or contacts.active[env, k, 1] != 0:
                prod = model.role[env, contacts.pair_a[k]] * model.role[env, contacts.pair_b[k]]
                if prod == 2:
                    gb = 1
                if prod == 3:
                    gr = 1
        green_blue_out[env] = gb
        green_red_out[env] = gr


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
def label_joint_groups(joints: JointModel, mask: wp.array(dtype=wp.int32), model_inout: BodyModel):
    """Connected components of the joint graph (label = smallest body index) for masked envs; launch (env,)."""
    env = wp.tid()
    if mask[env] == 0:
        return
    label_groups(joints, env, model_inout)


@wp.struct
class LevelArrays:
    """A batch of level records ([B, ...] per field, the names of ``levels.LEVEL_FIELDS``)."""

    poly_position: wp.array2d(dtype=wp.vec2)
    poly_rotation: wp.array2d(dtype=float)
    poly_velocity: wp.array2d(dtype=wp.vec2)
    poly_angular_velocity: wp.array2d(dtype=float)
    poly_density: wp.array2d(dtype=float)
    poly_inverse_mass: wp.array2d(dtype=float)
    poly_inverse_inertia: wp.array2d(dtype=float)
    poly_friction: wp.array2d(dtype=float)
    poly_restitution: wp.array2d(dtype=float)
    poly_role: wp.array2d(dtype=wp.int32)
    poly_collision_mode: wp.array2d(dtype=wp.int32)
    poly_active: wp.array2d(dtype=wp.bool)
    poly_vertices: wp.array3d(dtype=wp.vec2)
    poly_n_vertices: wp.array2d(dtype=wp.int32)
    circle_position: wp.array2d(dtype=wp.vec2)
    circle_rotation: wp.array2d(dtype=float)
    circle_velocity: wp.array2d(dtype=wp.vec2)
    circle_angular_velocity: wp.array2d(dtype=float)
    circle_density: wp.array2d(dtype=float)
    circle_inverse_mass: wp.array2d(dtype=float)
    circle_inverse_inertia: wp.array2d(dtype=float)
    circle_friction: wp.array2d(dtype=float)
    circle_restitution: wp.array2d(dtype=float)
    circle_role: wp.array2d(dtype=wp.int32)
    circle_collision_mode: wp.array2d(dtype=wp.int32)
    circle_active: wp.array2d(dtype=wp.bool)
    circle_radius: wp.array2d(dtype=float)
    joint_a: wp.array2d(dtype=wp.int32)
    joint_b: wp.array2d(dtype=wp.int32)
    joint_anchor_a: wp.array2d(dtype=wp.vec2)
    joint_anchor_b: wp.array2d(dtype=wp.vec2)
    joint_rotation: wp.array2d(dtype=float)
    joint_fixed: wp.array2d(dtype=wp.bool)
    joint_motor_on: wp.array2d(dtype=wp.bool)
    joint_motor_speed: wp.array2d(dtype=float)
    joint_motor_power: wp.array2d(dtype=float)
    joint_limits_on: wp.array2d(dtype=wp.bool)
    joint_min_rotation: wp.array2d(dtype=float)
    joint_max_rotation: wp.array2d(dtype=float)
    joint_channel: wp.array2d(dtype=wp.int32)
    joint_active: wp.array2d(dtype=wp.bool)
    thruster_body: wp.array2d(dtype=wp.int32)
    thruster_position: wp.array2d(dtype=wp.vec2)
    thruster_rotation: wp.array2d(dtype=float)
    thruster_power: wp.array2d(dtype=float)
    thruster_channel: wp.array2d(dtype=wp.int32)
    thruster_active: wp.array2d(dtype=wp.bool)


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


@wp.kernel
def load_levels(
    mask: wp.array(dtype=wp.int32),
    source: wp.array(dtype=wp.int32),
    row_levels: LevelArrays,
    bank_levels: LevelArrays,
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


# ------------------------------------------------------------------------------------- env (task) kernels
# Action modes of ``actions_to_controls``.
ACTION_CONTINUOUS = wp.constant(0)
ACTION_DISCRETE = wp.constant(1)
ACTION_MULTI_DISCRETE = wp.constant(2)
SHAPE_FEATURES = wp.constant(27)
JOINT_FEATURES = wp.constant(22)
THRUSTER_FEATURES = wp.constant(8)
OBS_CLIP = wp.constant(10.0)


@wp.struct
class TaskParams:
    """Constants of the task layer (rewards, limits, observation layout)."""

    max_steps: int
    dense_reward_scale: float  # reward per metre the green-blue distance shrinks
    action_mode: int  # ACTION_CONTINUOUS / ACTION_DISCRETE / ACTION_MULTI_DISCRETE
    motor_channels: int
    thruster_channels: int
    gravity_y: float  # [m/s^2]
    flat_joint_offset: int  # start of the joint block in the flat observation
    flat_thruster_offset: int  # start of the thruster block
    flat_dim: int


@wp.func
def clean(x: float) -> float:
    """Observation value: NaN/inf become 0, the rest is clipped to [-OBS_CLIP, OBS_CLIP]."""
    if not wp.isfinite(x):
        return 0.0
    return wp.clamp(x, -OBS_CLIP, OBS_CLIP)


@wp.kernel
def actions_to_controls(
    params: TaskParams,
    action_int: wp.array2d(dtype=wp.int32),
    action_float: wp.array2d(dtype=float),
    motor_out: wp.array2d(dtype=float),
    thruster_out: wp.array2d(dtype=float),
):
    """Per-channel controls (motors in [-1, 1], thrusters in [0, 1]) from the agent's action; launch (env,).

    Discrete (Kinetix): ``a < 2M`` drives motor ``a // 2`` backward (even) or forward (odd), ``a == 2M``
    does nothing, ``a > 2M`` fires thruster ``a - 2M - 1``. Multi-discrete: motors 0 off / 1 forward /
    2 backward, thrusters 0 off / 1 on. Continuous: clipped to the channel ranges.
    """
    env = wp.tid()
    M = params.motor_channels
    T = params.thruster_channels
    for c in range(M):
        motor_out[env, c] = 0.0
    for c in range(T):
        thruster_out[env, c] = 0.0
    if params.action_mode == ACTION_DISCRETE:
        a = action_int[env, 0]
        if a < 2 * M:
            motor_out[env, a // 2] = float(2 * (a % 2) - 1)
        elif a > 2 * M and a <= 2 * M + T:
            thruster_out[env, a - 2 * M - 1] = 1.0
    elif params.action_mode == ACTION_MULTI_DISCRETE:
        for c in range(M):
            a = action_int[env, c]
            if a == 1:
                motor_out[env, c] = 1.0
            elif a == 2:
                motor_out[env, c] = -1.0
        for c in range(T):
            if action_int[env, M + c] != 0:
                thruster_out[env, c] = 1.0
    else:
        for c in range(M):
            motor_out[env, c] = wp.clamp(action_float[env, c], -1.0, 1.0)
        for c in range(T):
            thruster_out[env, c] = wp.clamp(action_float[env, M + c], 0.0, 1.0)


@wp.kernel
def sample_bank_rows(
    rng_seed: wp.array(dtype=wp.int32),
    rng_counter: wp.array(dtype=wp.int32),
    rows: wp.array(dtype=wp.bool),
    bank_size: int,
    bank_index_out: wp.array(dtype=wp.int32),
):
    """A uniform bank index for every masked row from its (seed, reset counter); launch (env,)."""
    env = wp.tid()
    if rows[env]:
        state = wp.rand_init(rng_seed[env], rng_counter[env])
        bank_index_out[env] = int(wp.randu(state) % wp.uint32(bank_size))


@wp.func
def green_blue_distance(model: BodyModel, state: BodyState, env: int) -> float:
    """Sum of centre distances [m] over active (green, blue) body pairs."""
    nb = state.pos.shape[1]
    d = float(0.0)
    for i in range(nb):
        if model.active[env, i] != 0 and model.role[env, i] == 1:
            for k in range(nb):
                if model.active[env, k] != 0 and model.role[env, k] == 2:
                    d += wp.length(state.pos[env, k] - state.pos[env, i])
    return d


@wp.kernel
def step_outputs(
    params: TaskParams,
    model: BodyModel,
    state: BodyState,
    green_blue: wp.array(dtype=wp.int32),
    green_red: wp.array(dtype=wp.int32),
    step_count_inout: wp.array(dtype=wp.int32),
    last_distance_inout: wp.array(dtype=float),
    reward_out: wp.array(dtype=float),
    terminated_out: wp.array(dtype=wp.bool),
    truncated_out: wp.array(dtype=wp.bool),
    reached_out: wp.array(dtype=wp.bool),
    crashed_out: wp.array(dtype=wp.bool),
):
    """Reward, episode flags and shaping state after a step; launch (env,).

    +1 when green touched blue, -1 when green touched red (red wins a tie), terminating; a
    non-finite state also terminates (reward 0); ``max_steps`` truncates. Dense shaping adds
    ``scale * (previous - current)`` green-blue distance from the second step of an episode on.
    """
    env = wp.tid()
    nb = state.pos.shape[1]
    broken = int(0)
    for i in range(nb):
        if model.active[env, i] != 0:
            p = state.pos[env, i]
            v = state.vel[env, i]
            if not (wp.isfinite(p[0]) and wp.isfinite(p[1]) and wp.isfinite(v[0]) and wp.isfinite(v[1])
                    and wp.isfinite(state.rot[env, i]) and wp.isfinite(state.ang_vel[env, i])):
                broken = 1
    gr = green_red[env] != 0
    gb = green_blue[env] != 0 and not gr
    reward = float(0.0)
    if gr:
        reward = -1.0
    elif gb:
        reward = 1.0
    steps = step_count_inout[env] + 1
    step_count_inout[env] = steps
    terminated = gr or gb or broken != 0
    truncated = (not terminated) and steps >= params.max_steps
    dist = green_blue_distance(model, state, env)
    last = last_distance_inout[env]
    if params.dense_reward_scale != 0.0 and last >= 0.0:
        shaping = (last - dist) * params.dense_reward_scale
        if wp.isfinite(shaping):
            reward += shaping
    if terminated or truncated:
        dist = -1.0
    last_distance_inout[env] = dist
    reward_out[env] = reward
    terminated_out[env] = terminated
    truncated_out[env] = truncated
    reached_out[env] = gb
    crashed_out[env] = gr


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
    shape_mask_out[env, i] = active
    slot = int(-1)
    if i == 0:
        slot = 0
        flat_out[env, params.flat_dim - 1] = params.gravity_y / 10.0
    elif i >= 4:
        slot = i - 3
    for f in range(SHAPE_FEATURES):
        y = clean(v[f])
        shapes_out[env, i, f] = y
        if slot >= 0:
            flat_out[env, slot * SHAPE_FEATURES + f] = y


@wp.func
def joint_observation(
    params: TaskParams,
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
        joint_mask_out[env, row] = active
        if d == 0:
            joint_index_out[env, row, 0] = wp.int64(a)
            joint_index_out[env, row, 1] = wp.int64(b)
        else:
            joint_index_out[env, row, 0] = wp.int64(b)
            joint_index_out[env, row, 1] = wp.int64(a)
        for f in range(JOINT_FEATURES):
            y = clean(v[f])
            joints_out[env, row, f] = y
            if d == 0:
                flat_out[env, base + f] = y
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
    thruster_mask_out[env, t] = active
    thruster_index_out[env, t] = wp.int64(body)
    base = params.flat_thruster_offset + t * (THRUSTER_FEATURES + nb)
    for f in range(THRUSTER_FEATURES):
        y = clean(v[f])
        thrusters_out[env, t, f] = y
        flat_out[env, base + f] = y
    for k in range(nb):
        y = float(0.0)
        if active and k == body:
            y = 1.0
        flat_out[env, base + THRUSTER_FEATURES + k] = y


@wp.kernel
def observations(
    params: TaskParams,
    rows: wp.array(dtype=wp.bool),
    model: BodyModel,
    state: BodyState,
    density: wp.array2d(dtype=float),
    joints: JointModel,
    thrusters: ThrusterModel,
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
    """Entity and flat observations of every row set in ``rows`` (rows not set are left as they are); launch (env,)."""
    env = wp.tid()
    if not rows[env]:
        return
    for i in range(model.active.shape[1]):
        shape_observation(params, env, i, model, state, density, shapes_out, shape_mask_out, flat_out)
    for j in range(joints.a.shape[1]):
        joint_observation(params, env, j, model, joints, joints_out, joint_index_out, joint_mask_out, flat_out)
    for t in range(thrusters.body.shape[1]):
        thruster_observation(params, env, t, model, thrusters, thrusters_out, thruster_index_out, thruster_mask_out,
                             flat_out)
