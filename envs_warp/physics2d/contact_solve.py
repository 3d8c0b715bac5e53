"""Contact part of the solver stage: per-point sequential impulses (normal, then Coulomb friction) and
the orders they are solved in (Jax2D's lists with Jacobi rows, or one after another), used by
``solver.solve_substep``. Also the impulse helpers the joint solve shares.
"""
from __future__ import annotations

import warp as wp

from .types import CONTACT_BOX2D, BodyModel, BodyState, Contacts, SolverParams, cross2, cross_sv

wp.set_module_options({"enable_backward": False})

# Friction combination of a contact pair (``SolverParams.friction_combine``).
FRICTION_JAX2D = wp.constant(0)  # sqrt(fa^2 + fb^2)
FRICTION_GEOMETRIC = wp.constant(1)  # sqrt(fa * fb)


# ------------------------------------------------------------------------------------- impulses
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
def contact_impulse(
    model: BodyModel, contacts: Contacts, params: SolverParams, env: int, k: int, s: int, state: BodyState
) -> wp.vec2:
    """One sequential-impulse pass over contact point (k, s), normal then friction, without applying it.

    Updates the point's accumulated impulses and returns the linear impulse on body b (body a gets
    its negative) [N s]. Friction sees the velocities after this point's own normal impulse.
    Jax2D's law (``CONTACT_JAX2D``): target normal speed = bias - restitution velocity; the Box2D law:
    the larger of the (clamped) bias and the bounce.
    """
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
    total = wp.vec2(0.0, 0.0)
    if kn > 0.0:
        va = state.vel[env, a]
        wa = state.ang_vel[env, a]
        vb = state.vel[env, b]
        wb = state.ang_vel[env, b]
        vn = wp.dot(vb + cross_sv(wb, rb) - va - cross_sv(wa, ra), n)
        target = float(0.0)
        if params.contact_model == CONTACT_BOX2D:
            excess = wp.clamp(contacts.depth[env, k, s] - params.slop, 0.0, params.max_correction)
            target = wp.max(params.contact_beta / params.dt * excess, -contacts.bounce[env, k, s])
        else:
            excess = wp.max(contacts.depth[env, k, s] - params.slop, 0.0)
            target = params.contact_beta / params.dt * excess - contacts.bounce[env, k, s]
        old = contacts.acc_n[env, k, s]
        acc = wp.max(old + (target - vn) / kn, 0.0)
        contacts.acc_n[env, k, s] = acc
        imp = n * (acc - old)
        va = va - imp * ima
        wa = wa - iia * cross2(ra, imp)
        vb = vb + imp * imb
        wb = wb + iib * cross2(rb, imp)
        # friction (Coulomb, clamped by the accumulated normal impulse)
        t = wp.vec2(-n[1], n[0])
        rta = cross2(ra, t)
        rtb = cross2(rb, t)
        kt = ima + imb + iia * rta * rta + iib * rtb * rtb
        vt = wp.dot(vb + cross_sv(wb, rb) - va - cross_sv(wa, ra), t)
        fa = model.friction[env, a]
        fb = model.friction[env, b]
        mu = wp.sqrt(fa * fa + fb * fb)  # Jax2D: per-body coefficients (already times base_friction)
        if params.friction_combine == FRICTION_GEOMETRIC:
            mu = wp.sqrt(fa * fb)
        old_t = contacts.acc_t[env, k, s]
        acc_t = wp.clamp(old_t - vt / kt, -mu * acc, mu * acc)
        contacts.acc_t[env, k, s] = acc_t
        total = imp + t * (acc_t - old_t)
    return total


@wp.func
def apply_contact_impulse(model: BodyModel, contacts: Contacts, env: int, k: int, s: int, imp: wp.vec2,
                          state: BodyState):
    """Apply a contact point's impulse ``imp`` to body b and its negative to body a."""
    a = contacts.pair_a[k]
    b = contacts.pair_b[k]
    p = contacts.point[env, k, s]
    apply_impulse(state, model, env, a, -imp, p - state.pos[env, a])
    apply_impulse(state, model, env, b, imp, p - state.pos[env, b])


@wp.func
def solve_contact(
    model: BodyModel, contacts: Contacts, params: SolverParams, env: int, k: int, s: int, state: BodyState
):
    """One sequential-impulse pass over contact point (k, s), applied at once (Gauss-Seidel)."""
    imp = contact_impulse(model, contacts, params, env, k, s, state)
    apply_contact_impulse(model, contacts, env, k, s, imp, state)


@wp.func
def solve_contacts_jax2d(model: BodyModel, contacts: Contacts, params: SolverParams, env: int,
                         n_rr: int, n_cr: int, n_cc: int, n_all: int, state: BodyState):
    """One iteration over the contacts in Jax2D's order (``contacts.order`` holds the listed pairs of
    each list in list order, ``n_rr`` / ``n_cr`` / ``n_cc`` of them, then the unlisted touching pairs,
    ``n_all`` in all).

    Jax2D keeps three manifold lists (polygon pairs, circle-polygon, circle pairs; in ``seq``). Each
    iteration solves them in that order; within a list it sorts the overlapping pairs to the end, deals
    them in list order over ``ceil(n / batch)`` rows (position p goes to row p mod rows) and solves
    row after row, the pairs of one row in parallel from the same velocities (Jacobi, impulses summed).
    Polygon pairs go through all rows for their first point, then again for their second.
    Jax2D never collides two of its first ``static_fixated_polys`` polygons (its walls); we do, if one is
    dynamic (only in levels whose first polygons are not the walls), one after another after the lists.
    """
    base = int(0)
    for kind in range(3):
        n = contacts.seq_start[kind + 1] - contacts.seq_start[kind]
        n_listed = n_rr
        if kind == 1:
            n_listed = n_cr
        elif kind == 2:
            n_listed = n_cc
        if n_listed > 0:
            rows = (n + params.solver_batch_size - 1) // params.solver_batch_size
            first = n - n_listed  # list position of the first listed pair
            points = 1
            if kind == 0:
                points = 2
            for s in range(points):
                for row in range(rows):
                    i0 = (row - first % rows + rows) % rows
                    i = i0
                    while i < n_listed:
                        k = contacts.order[env, base + i]
                        imp = wp.vec2(0.0, 0.0)
                        if contacts.active[env, k, s] != 0:
                            imp = contact_impulse(model, contacts, params, env, k, s, state)
                        contacts.jacobi[env, k, s] = imp
                        i += rows
                    i = i0
                    while i < n_listed:
                        k = contacts.order[env, base + i]
                        if contacts.active[env, k, s] != 0:
                            apply_contact_impulse(model, contacts, env, k, s, contacts.jacobi[env, k, s], state)
                        i += rows
                    # Jax2D pads the last row(s) with index -1, which writes a zero impulse into the list's
                    # last manifold: where a row holds padding, that manifold's accumulated impulse restarts
                    pad = rows * params.solver_batch_size - n
                    if pad >= rows or (pad > 0 and (row - n % rows + rows) % rows < pad):
                        last = contacts.seq[contacts.seq_start[kind + 1] - 1]
                        contacts.acc_n[env, last, s] = 0.0
                        contacts.acc_t[env, last, s] = 0.0
        base += n_listed
    for q in range(base, n_all):
        k = contacts.order[env, q]
        for s in range(2):
            if contacts.active[env, k, s] != 0:
                solve_contact(model, contacts, params, env, k, s, state)


@wp.func
def restitution_targets(model: BodyModel, contacts: Contacts, params: SolverParams, env: int, state: BodyState):
    """Each active point's restitution velocity, e x approach speed (e = the smaller coefficient).

    Jax2D: from every approach speed; Box2D model: only beyond ``bounce_threshold``.
    """
    for k in range(contacts.pair_a.shape[0]):
        a = contacts.pair_a[k]
        b = contacts.pair_b[k]
        n = contacts.normal[env, k]
        e = wp.min(model.restitution[env, a], model.restitution[env, b])
        for s in range(2):
            if contacts.active[env, k, s] != 0:
                p = contacts.point[env, k, s]
                rel = point_velocity(state, env, b, p - state.pos[env, b]) - point_velocity(state, env, a, p - state.pos[env, a])
                vn = wp.dot(rel, n)
                bounce = e * vn
                if params.contact_model == CONTACT_BOX2D and vn >= -params.bounce_threshold:
                    bounce = 0.0
                contacts.bounce[env, k, s] = bounce


__all__ = ["FRICTION_GEOMETRIC", "FRICTION_JAX2D", "apply_contact_impulse", "apply_impulse", "contact_impulse",
           "point_velocity", "restitution_targets", "solve_contact", "solve_contacts_jax2d"]
