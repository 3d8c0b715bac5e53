"""Warp kernels of the physics2d world: bounds, narrow phase and a per-env impulse solver.

Bodies use one index space per env, polygons ``[0, P)`` then circles ``[P, P + C)``. Contacts
live in one slot per unordered body pair ``k`` (``pair_a[k] < pair_b[k]``) with up to two points;
the normal points from body ``a`` to body ``b``. One substep is three launches:
``compute_bounds`` over (env, body), ``narrow_phase`` over (env, pair), ``solve_substep`` over
(env,) -- sequential impulses are sequential within an env, so the solver runs one thread per env.
"""
from __future__ import annotations

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

    # role outcomes: green (1) touching blue (2) or red (3)
    gb = green_blue_out[env]
    gr = green_red_out[env]
    for k in range(nk):
        if contacts.active[env, k, 0] != 0 or contacts.active[env, k, 1] != 0:
            prod = model.role[env, contacts.pair_a[k]] * model.role[env, contacts.pair_b[k]]
            if prod == 2:
                gb = 1
            if prod == 3:
                gr = 1
    green_blue_out[env] = gb
    green_red_out[env] = gr


@wp.kernel
def label_joint_groups(joints: JointModel, mask: wp.array(dtype=wp.int32), model_inout: BodyModel):
    """Connected components of the joint graph (label = smallest body index) for masked envs; launch (env,)."""
    env = wp.tid()
    if mask[env] == 0:
        return
    nb = model_inout.group.shape[1]
    nj = joints.a.shape[1]
    for i in range(nb):
        model_inout.group[env, i] = i
    for sweep in range(nj):
        for j in range(nj):
            if joints.active[env, j] != 0:
                ga = model_inout.group[env, joints.a[env, j]]
                gb = model_inout.group[env, joints.b[env, j]]
                g = wp.min(ga, gb)
                for i in range(nb):
                    gi = model_inout.group[env, i]
                    if gi == ga or gi == gb:
                        model_inout.group[env, i] = g
