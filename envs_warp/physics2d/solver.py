"""Solver stage of the physics2d pipeline: one substep of forces, warm-started sequential impulses
(joints with motors and limits, then contacts with friction), symplectic Euler and role outcomes.

By default it follows Jax2D (Kinetix's engine): gravity, restitution targets, every motor's one-shot
impulse (``motor_impulse``, all from the same state), thrusters, warm start, ``iterations`` x (joints by
``solve_joint_jax2d``, contacts in Jax2D's order by ``solve_contacts_jax2d``), Euler with the unclamped
velocity, then clamps. ``SolverParams`` switches select the older block joint solve (``solve_joint``,
motor as a velocity constraint), Box2D contact law and sequential contact order. Impulses are
sequential within an env, so ``solve_substep`` runs one thread per env (launch ``(env,)``).
"""
from __future__ import annotations

import warp as wp

from .contact_solve import FRICTION_GEOMETRIC, FRICTION_JAX2D, apply_impulse, point_velocity, \
    restitution_targets, solve_contact, solve_contacts_jax2d
from .types import CONTACT_BOX2D, CONTACT_JAX2D, CONTACT_ORDER_JAX2D, CONTACT_ORDER_SEQUENTIAL, BodyModel, BodyState, \
    Contacts, JointImpulses, JointModel, SolverParams, ThrusterModel, cross2, cross_sv, rotate

wp.set_module_options({"enable_backward": False})

# Motor models (``SolverParams.motor_model``): Jax2D's one-shot tanh impulse, or a velocity constraint.
MOTOR_JAX2D = wp.constant(0)
MOTOR_CONSTRAINT = wp.constant(1)
# Joint models (``SolverParams.joint_model``): Jax2D's soft point impulse with direct position
# correction, or a Box2D-style block solve with Baumgarte bias.
JOINT_JAX2D = wp.constant(0)
JOINT_BLOCK = wp.constant(1)


# ------------------------------------------------------------------------------------- joints
@wp.func
def clamp_length(v: wp.vec2, max_len: float) -> wp.vec2:
    """``v`` shortened to at most ``max_len``."""
    ln = wp.length(v)
    if ln > max_len:
        v = v * (max_len / ln)
    return v


@wp.func
def motor_impulse(
    model: BodyModel,
    joints: JointModel,
    params: SolverParams,
    motor_action: wp.array2d(dtype=float),
    env: int,
    j: int,
    state: BodyState,
) -> float:
    """Jax2D's motor impulse of joint j [N m s] (applied +iia on a, -iib on b), from the current state.

    Its size is ``base_motor_power * motor_power * dt`` times the joint's axial mass, times
    ``tanh(decay * (w_rel - target))`` (a soft sign: the full impulse far from the target speed,
    proportionally less within about 1/decay rad/s of it). With limits on, the impulse fades
    linearly to 0 over the last ``motor_joint_limit`` rad before a limit when driving into it.
    """
    a = joints.a[env, j]
    b = joints.b[env, j]
    action = wp.clamp(motor_action[env, joints.channel[env, j]], -1.0, 1.0)
    k_ang = model.inv_inertia[env, a] + model.inv_inertia[env, b]
    if k_ang == 0.0:
        k_ang = 1.0  # both ends rotation-free: Jax2D's zero_to_one, the impulse then moves nothing
    w_rel = state.ang_vel[env, b] - state.ang_vel[env, a]
    target = action * joints.motor_speed[env, j] * params.base_motor_speed
    direction = wp.tanh((w_rel - target) * params.motor_decay)
    power = params.base_motor_power * joints.motor_power[env, j] * params.dt / k_ang
    if joints.limits_on[env, j] != 0:
        margin = params.motor_joint_limit
        rel = state.rot[env, b] - state.rot[env, a] - joints.ref[env, j]
        over = rel - wp.clamp(rel, joints.lower[env, j] + margin, joints.upper[env, j] - margin)
        if over != 0.0 and wp.sign(over) == wp.sign(action):
            power = power * wp.max(0.0, 1.0 - wp.abs(over) / margin)
    return power * direction


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
    """One block-solve pass over joint j (``JOINT_BLOCK``): motor and limits, then the anchor (plus angle if welded).

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
        if params.motor_model == MOTOR_CONSTRAINT:
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


@wp.func
def solve_joint_jax2d(model: BodyModel, joints: JointModel, params: SolverParams, env: int, j: int,
                      state: BodyState, acc: JointImpulses):
    """One pass of Jax2D's joint: a scaled point impulse, a direct position correction, then the angle.

    The point impulse is ``stiffness * (dv + beta_v * gap) / (ma + mb + (ra x d)^2 Ia + (rb x d)^2 Ib)``
    with ``d`` the direction of the anchors' relative velocity ``dv``; positions move by ``beta_p`` of
    the anchor gap (split by inverse mass). A fixed joint then removes the relative angular velocity
    plus ``beta_fixed`` x angle error; a revolute joint past a limit removes it plus ``beta_limit`` x
    the excess when both have the same sign. Accumulates (without clamping) for warm starting:
    ``acc.point`` = -Jax2D's ``acc_impulse``, ``acc.angle`` = -its ``acc_r_impulse`` (our sign convention).
    """
    a = joints.a[env, j]
    b = joints.b[env, j]
    ima = model.inv_mass[env, a]
    imb = model.inv_mass[env, b]
    iia = model.inv_inertia[env, a]
    iib = model.inv_inertia[env, b]
    if ima == 0.0 and imb == 0.0:
        return
    sum_m = ima + imb
    if sum_m == 0.0:
        sum_m = 1.0
    sum_i = iia + iib
    if sum_i == 0.0:
        sum_i = 1.0
    pa = state.pos[env, a]
    pb = state.pos[env, b]
    ra = rotate(wp.cos(state.rot[env, a]), wp.sin(state.rot[env, a]), joints.anchor_a[env, j])
    rb = rotate(wp.cos(state.rot[env, b]), wp.sin(state.rot[env, b]), joints.anchor_b[env, j])
    a_point = pa + ra
    b_point = pb + rb
    jp = a_point
    if ima != 0.0:
        jp = b_point
        if imb != 0.0:  # mass-weighted mean of the two anchors
            jp = (a_point / ima + b_point / imb) / (1.0 / ima + 1.0 / imb)
    wa = state.ang_vel[env, a]
    wb = state.ang_vel[env, b]
    r_v = (state.vel[env, b] + cross_sv(wb, jp - pb)) - (state.vel[env, a] + cross_sv(wa, jp - pa))
    speed = wp.length(r_v)
    d = r_v
    if speed != 0.0:
        d = r_v / speed
    gap = b_point - a_point
    cra = cross2(ra, d)
    crb = cross2(rb, d)
    k = sum_m + cra * cra * iia + crb * crb * iib
    if k == 0.0:
        k = 1.0
    imp = (r_v + gap * params.joint_beta_v) * (params.joint_stiffness / k)  # Jax2D's: +on a, -on b
    a_drv = cross2(ra, imp) * iia
    b_drv = -cross2(rb, imp) * iib
    state.vel[env, a] = state.vel[env, a] + imp * ima
    state.vel[env, b] = state.vel[env, b] - imp * imb
    state.pos[env, a] = pa + gap * (ima / sum_m * params.joint_beta_p)
    state.pos[env, b] = pb - gap * (imb / sum_m * params.joint_beta_p)
    rel = state.rot[env, b] - state.rot[env, a] - joints.ref[env, j]
    raw_dav = wb + b_drv - wa - a_drv
    r_imp = float(0.0)
    if joints.fixed[env, j] != 0:
        r_imp = (raw_dav + rel * params.fixed_joint_beta) / sum_i
    elif joints.limits_on[env, j] != 0:
        excess = rel - wp.clamp(rel, joints.lower[env, j], joints.upper[env, j])
        if excess != 0.0 and wp.sign(raw_dav) == wp.sign(excess):
            r_imp = (raw_dav + excess * params.limit_beta) / sum_i
    a_drv = a_drv + r_imp * iia
    b_drv = b_drv - r_imp * iib
    state.ang_vel[env, a] = wa + a_drv
    state.ang_vel[env, b] = wb + b_drv
    acc.point[env, j] = acc.point[env, j] - imp
    if joints.fixed[env, j] != 0:
        acc.angle[env, j] = acc.angle[env, j] - r_imp


@wp.kernel
def solve_substep(
    # Model:
    model: BodyModel,
    joints: JointModel,
    thrusters: ThrusterModel,
    params: SolverParams,
    # Data in:
    motor_action: wp.array2d(dtype=float),
    thruster_action: wp.array2d(dtype=float),
    # Data out:
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
    if params.contact_model != CONTACT_BOX2D:  # Jax2D: from the velocities its manifolds are made with
        restitution_targets(model, contacts, params, env, state)
    if params.motor_model == MOTOR_JAX2D:
        # every motor's impulse from the same pre-motor state (Jax2D computes them in parallel), then applied
        for j in range(nj):
            a = joints.a[env, j]
            b = joints.b[env, j]
            m_imp = float(0.0)
            if joints.active[env, j] != 0 and model.active[env, a] != 0 and model.active[env, b] != 0 \
                    and joints.motor_on[env, j] != 0 and joints.fixed[env, j] == 0 \
                    and model.inv_mass[env, a] + model.inv_mass[env, b] > 0.0 \
                    and motor_action[env, joints.channel[env, j]] != 0.0:
                m_imp = motor_impulse(model, joints, params, motor_action, env, j, state)
            joint_acc_inout.motor[env, j] = m_imp
        for j in range(nj):
            m_imp = joint_acc_inout.motor[env, j]
            if m_imp != 0.0:
                a = joints.a[env, j]
                b = joints.b[env, j]
                state.ang_vel[env, a] = state.ang_vel[env, a] + m_imp * model.inv_inertia[env, a]
                state.ang_vel[env, b] = state.ang_vel[env, b] - m_imp * model.inv_inertia[env, b]
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

    # restitution targets (Box2D model: after motors and thrusters), then warm start; list the points
    if params.contact_model == CONTACT_BOX2D:
        restitution_targets(model, contacts, params, env, state)
    n_points = int(0)
    for k in range(nk):
        a = contacts.pair_a[k]
        b = contacts.pair_b[k]
        n = contacts.normal[env, k]
        tang = wp.vec2(-n[1], n[0])
        for s in range(2):
            if contacts.active[env, k, s] != 0:
                p = contacts.point[env, k, s]
                imp = n * contacts.acc_n[env, k, s] + tang * contacts.acc_t[env, k, s]
                apply_impulse(state, model, env, a, -imp, p - state.pos[env, a])
                apply_impulse(state, model, env, b, imp, p - state.pos[env, b])
                contacts.order[env, n_points] = 2 * k + s
                n_points += 1
    n_rr = int(0)
    n_cr = int(0)
    n_cc = int(0)
    if params.contact_order == CONTACT_ORDER_JAX2D:  # the overlapping pairs of each Jax2D list, in list order
        n_points = int(0)
        for q in range(contacts.seq_start[3]):
            k = contacts.seq[q]
            if contacts.listed[env, k] != 0:
                contacts.order[env, n_points] = k
                n_points += 1
                if q < contacts.seq_start[1]:
                    n_rr += 1
                elif q < contacts.seq_start[2]:
                    n_cr += 1
                else:
                    n_cc += 1
        for k in range(nk):  # pairs Jax2D never collides, touching here (a dynamic body among the walls)
            if contacts.kind[k] < 0 and (contacts.active[env, k, 0] != 0 or contacts.active[env, k, 1] != 0):
                contacts.order[env, n_points] = k
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
                if params.joint_model == JOINT_JAX2D:
                    solve_joint_jax2d(model, joints, params, env, j, state, acc)
                else:
                    solve_joint(model, joints, params, motor_action, env, j, state, acc)
        if params.contact_order == CONTACT_ORDER_JAX2D:
            solve_contacts_jax2d(model, contacts, params, env, n_rr, n_cr, n_cc, n_points, state)
        else:
            for q in range(n_points):
                code = contacts.order[env, q]
                solve_contact(model, contacts, params, env, code // 2, code % 2, state)

    # symplectic Euler, then clamps (Jax2D's order: this substep moves with the unclamped velocity).
    # A non-finite value is kept non-finite (clamping would turn NaN into a bound and hide a blow-up),
    # so that the task stage sees it and ends the episode.
    for i in range(nb):
        if model.active[env, i] != 0:
            v = state.vel[env, i]
            w = state.ang_vel[env, i]
            x = state.pos[env, i] + v * dt
            r = state.rot[env, i] + w * dt
            if wp.isfinite(x[0]) and wp.isfinite(x[1]) and wp.isfinite(v[0]) and wp.isfinite(v[1]) \
                    and wp.isfinite(w) and wp.isfinite(r):
                cv = params.clip_velocity
                cp = params.clip_position
                v = wp.vec2(wp.clamp(v[0], -cv, cv), wp.clamp(v[1], -cv, cv))
                w = wp.clamp(w, -params.clip_angular_velocity, params.clip_angular_velocity)
                x = wp.vec2(wp.clamp(x[0], -cp, cp), wp.clamp(x[1], -cp, cp))
            else:
                x = wp.vec2(wp.NAN, wp.NAN)
            state.vel[env, i] = v
            state.ang_vel[env, i] = w
            state.pos[env, i] = x
            state.rot[env, i] = r

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


__all__ = ["CONTACT_BOX2D", "CONTACT_JAX2D", "CONTACT_ORDER_JAX2D", "CONTACT_ORDER_SEQUENTIAL", "FRICTION_GEOMETRIC",
           "FRICTION_JAX2D", "JOINT_BLOCK", "JOINT_JAX2D", "MOTOR_CONSTRAINT", "MOTOR_JAX2D", "solve_substep"]
