"""Collision stage of the physics2d pipeline: world bounds, then one contact manifold per body pair.

Contacts live in one slot per unordered body pair ``k`` (``pair_a[k] < pair_b[k]``) with up to two
points; the normal points from body ``a`` to body ``b``. Public entry: ``compute_bounds`` over
(env, body) then ``narrow_phase`` over (env, pair) (polygon-polygon SAT with a two-point manifold,
polygon-circle, circle-circle), which keeps the accumulated impulses of persisting points for the
solver's warm start. Manifolds follow Jax2D by default (``collide_*_jax2d``); ``SolverParams.contact_model``
selects the earlier Box2D-style ones (``collide_polygons``: incident edge clipped to the reference face,
contacts midway between the surfaces, per-point depths).
"""
from __future__ import annotations

import warp as wp

from .types import CONTACT_BOX2D, CONTACT_ORDER_JAX2D, BodyModel, BodyState, Contacts, SolverParams, rotate

wp.set_module_options({"enable_backward": False})

BIG = wp.constant(1.0e30)
REF_FACE_TOL = wp.constant(0.005)  # [m] prefer body a's face as the reference unless b's is clearly better
JAX2D_REF_FACE_TOL = wp.constant(0.01)  # [m] the same hysteresis in Jax2D's manifolds
WARM_NORMAL_COS = wp.constant(0.95)  # keep accumulated impulses only while the normal barely moves


# ------------------------------------------------------------------------------------- geometry
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
def reference_and_incident(flip: bool, a: int, xa: wp.vec2, ca: float, sa: float, edge_a: int,
                           b: int, xb: wp.vec2, cb: float, sb: float, edge_b: int):
    """(reference polygon, its pose and face edge; incident polygon and its pose): ``a``'s face unless ``flip``."""
    if flip:
        return b, xb, cb, sb, edge_b, a, xa, ca, sa
    return a, xa, ca, sa, edge_a, b, xb, cb, sb


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
        r, xr, cr, sr, edge, inc, xi, ci, si = reference_and_incident(flip, a, xa, ca, sa, edge_a, b, xb, cb, sb, edge_b)
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
def collide_polygons_jax2d(
    model: BodyModel, env: int,
    a: int, xa: wp.vec2, ra: float,
    b: int, xb: wp.vec2, rb: float,
):
    """Jax2D's polygon manifold; returns normal (a->b), points (deepest first), shared depth, hit flags.

    The reference face is the least-separated face (a's unless b's is better by 0.01 m); the incident
    points are the two vertices of the other polygon deepest along its normal, their positions along the
    face clamped to its extent. Both points carry the least separation as depth; the second counts only
    when both vertices are below the face.
    """
    ca = wp.cos(ra)
    sa = wp.sin(ra)
    cb = wp.cos(rb)
    sb = wp.sin(rb)
    normal = wp.vec2(0.0, 0.0)
    q1 = wp.vec2(0.0, 0.0)
    q2 = wp.vec2(0.0, 0.0)
    depth = float(0.0)
    h1 = int(0)
    h2 = int(0)
    sep_a, edge_a = max_separation(model, env, a, xa, ca, sa, b, xb, cb, sb)
    sep_b, edge_b = max_separation(model, env, b, xb, cb, sb, a, xa, ca, sa)
    most = wp.max(sep_a, sep_b)
    if most < 0.0:
        flip = sep_a + JAX2D_REF_FACE_TOL < sep_b
        r, xr, cr, sr, edge, inc, xi, ci, si = reference_and_incident(flip, a, xa, ca, sa, edge_a, b, xb, cb, sb, edge_b)
        nr = model.n_verts[env, r]
        v1 = world_vertex(model, env, r, edge, xr, cr, sr)
        v2 = world_vertex(model, env, r, (edge + 1) % nr, xr, cr, sr)
        n_ref = edge_normal(v1, v2)
        length = wp.length(v2 - v1)
        tangent = wp.normalize(v2 - v1)
        # the two incident vertices lowest along n_ref (first of equals wins)
        lo1 = float(BIG)
        lo2 = float(BIG)
        p1 = wp.vec2(0.0, 0.0)
        p2 = wp.vec2(0.0, 0.0)
        for k in range(model.n_verts[env, inc]):
            w = world_vertex(model, env, inc, k, xi, ci, si)
            d = wp.dot(n_ref, w)
            if d < lo1:
                lo2 = lo1
                p2 = p1
                lo1 = d
                p1 = w
            elif d < lo2:
                lo2 = d
                p2 = w
        below1 = wp.dot(n_ref, v1 - p1)  # depth under the face
        below2 = wp.dot(n_ref, v1 - p2)
        u1 = wp.clamp(wp.dot(p1 - v1, tangent), 0.0, length)
        u2 = wp.clamp(wp.dot(p2 - v1, tangent), 0.0, length)
        q1 = v1 + tangent * u1 - n_ref * below1
        q2 = v1 + tangent * u2 - n_ref * below2
        if below2 > below1:
            tmp = q1
            q1 = q2
            q2 = tmp
        h1 = 1
        if wp.min(below1, below2) > 0.0:
            h2 = 1
        depth = -most
        normal = n_ref
        if flip:
            normal = -n_ref
    return normal, q1, q2, depth, h1, h2


@wp.func
def collide_polygon_circle_jax2d(
    model: BodyModel, env: int,
    p: int, xp: wp.vec2, rp: float,
    xc: wp.vec2, radius: float,
):
    """Jax2D's polygon-circle manifold; returns normal (polygon->circle), point on the polygon, depth, hit.

    The point is the polygon boundary point nearest the circle centre; a centre inside the polygon
    counts as a hit of depth ``radius``.
    """
    c = wp.cos(rp)
    s = wp.sin(rp)
    d = xc - xp
    cl = wp.vec2(c * d[0] + s * d[1], -s * d[0] + c * d[1])  # circle centre in the polygon frame
    nv = model.n_verts[env, p]
    inside = int(1)
    best = float(BIG)
    closest = wp.vec2(0.0, 0.0)
    for i in range(nv):
        v1 = model.verts[env, p, i]
        v2 = model.verts[env, p, (i + 1) % nv]
        if wp.dot(edge_normal(v1, v2), cl - v1) >= 0.0:
            inside = 0
        e = v2 - v1
        ln = wp.length(e)
        t = e
        if ln > 0.0:
            t = e / ln
        q = v1 + t * wp.clamp(wp.dot(t, cl - v1), 0.0, ln)
        dist = wp.length(q - cl)
        if dist < best:
            best = dist
            closest = q
    hit = int(0)
    n_local = cl - closest
    depth = radius - best
    if inside == 1:
        n_local = closest - cl
        depth = radius
    if best <= radius or inside == 1:
        hit = 1
    ln = wp.length(n_local)
    if ln > 0.0:
        n_local = n_local / ln
    return rotate(c, s, n_local), xp + rotate(c, s, closest), depth, hit


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


@wp.func
def bodies_listed(model: BodyModel, env: int, a: int, b: int) -> bool:
    """Jax2D's manifold filter: both active and collision modes agree (joint groups and statics not excluded)."""
    if model.active[env, a] == 0 or model.active[env, b] == 0:
        return False
    ma = model.mode[env, a]
    mb = model.mode[env, b]
    return ma == 2 or mb == 2 or ma * mb > 0


# ------------------------------------------------------------------------------------- kernels
@wp.kernel
def compute_bounds(
    # Model:
    model: BodyModel,
    # Data in:
    state: BodyState,
    # Data out:
    bounds_out: wp.array2d(dtype=wp.vec4),
):
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
    # Model:
    model: BodyModel,
    params: SolverParams,
    # Data in:
    state: BodyState,
    bounds: wp.array2d(dtype=wp.vec4),
    # Data out:
    contacts_inout: Contacts,
):
    """New manifold for every body pair, keeping accumulated impulses of persisting points; launch (env, pair).

    With Jax2D's solve order, pairs that are never solved (same joint group, two statics) are still
    tested and flagged in ``listed`` where their list spans several rows, because Jax2D's ordering
    counts every overlapping pair (within a single row the order does not matter).
    """
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
    jax2d = params.contact_model != CONTACT_BOX2D
    may = bodies_may_touch(model, env, a, b)
    kind = contacts_inout.kind[k]
    listing = params.contact_order == CONTACT_ORDER_JAX2D and kind >= 0
    # a never-solved pair only moves the others of its list into other rows: test it only where the list
    # has more than one row (M circle-polygon, L polygon pairs and circle-polygon at batch 16)
    spread = False
    if listing:
        n = contacts_inout.seq_start[kind + 1] - contacts_inout.seq_start[kind]
        spread = n > params.solver_batch_size
    if may or (spread and bodies_listed(model, env, a, b)):
        ba = bounds[env, a]
        bb = bounds[env, b]
        if ba[0] <= bb[2] and bb[0] <= ba[2] and ba[1] <= bb[3] and bb[1] <= ba[3]:
            P = model.n_polys
            xa = state.pos[env, a]
            xb = state.pos[env, b]
            if b < P:
                if jax2d:
                    normal, q1, q2, d1, h1, h2 = collide_polygons_jax2d(
                        model, env, a, xa, state.rot[env, a], b, xb, state.rot[env, b])
                    d2 = d1
                else:
                    normal, q1, q2, d1, d2, h1, h2 = collide_polygons(
                        model, env, a, xa, state.rot[env, a], b, xb, state.rot[env, b])
            elif a < P:
                if jax2d:
                    normal, q1, d1, h1 = collide_polygon_circle_jax2d(
                        model, env, a, xa, state.rot[env, a], xb, model.radius[env, b])
                else:
                    normal, q1, d1, h1 = collide_polygon_circle(
                        model, env, a, xa, state.rot[env, a], xb, model.radius[env, b])
            else:
                ra = model.radius[env, a]
                rb = model.radius[env, b]
                dx = xb - xa
                dist = wp.length(dx)
                if jax2d:  # strict overlap, point on a's surface, no normal for coincident centres
                    if dist < ra + rb:
                        if dist > 0.0:
                            normal = dx / dist
                        d1 = ra + rb - dist
                        q1 = xa + normal * ra
                        h1 = 1
                elif dist <= ra + rb:
                    normal = wp.vec2(0.0, 1.0)
                    if dist > 1.0e-9:
                        normal = dx / dist
                    d1 = ra + rb - dist
                    q1 = xa + normal * (ra - 0.5 * d1)
                    h1 = 1
    if listing:
        contacts_inout.listed[env, k] = h1
    if not may:
        h1 = 0
        h2 = 0
    if h1 == 0 and h2 == 0 and contacts_inout.active[env, k, 0] == 0 and contacts_inout.active[env, k, 1] == 0:
        return  # still apart: nothing reads an inactive slot's data, and its impulses are already zero
    # Jax2D keeps a point's impulses while it stays active; the Box2D model also needs a steady normal
    keep = jax2d or wp.dot(normal, contacts_inout.normal[env, k]) > WARM_NORMAL_COS
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


__all__ = ["compute_bounds", "narrow_phase"]
