"""ACCEL-style level mutations for physics2d: small random edits that keep a level valid.

Each edit is one of six operators, drawn uniformly per level:

- ``MOVE``: translate one non-wall body together with every body jointed to it (its *group*; joint
  anchors and thruster mounts are body-local, so the mechanism is unchanged) by up to
  ``MAX_SHIFT`` per axis, keeping every member's bounding circle inside the 5 x 5 m arena.
- ``ROTATE``: turn one such group rigidly about its mean position by up to ±``MAX_TURN``, then
  shift it back inside the arena if needed.
- ``RECOLOUR``: switch one neutral non-wall body to red or one red non-wall body to neutral. Green
  and blue bodies (and the walls) are never recoloured.
- ``MOTOR``: flip the sign of one motorised joint's speed, or scale it by a factor in [0.5, 2].
- ``THRUSTER``: scale one thruster's power by a factor in [0.5, 2].
- ``RESIZE``: scale one unjointed non-wall body by a factor in [1/√2, √2] (its thruster mounts
  scale with it), keeping its bounding radius within ``SIZE_LIMITS``; mass and inertia follow from
  ``finalize_levels``.

Scaled quantities stay within their limits: a factor that would leave them is inverted. A body is
recoloured and a motor's sign flipped at most once per call, so later edits cannot undo them. When the
drawn operator has nothing to act on in a level (no joint, no thruster, ...), the first operator
that has, in the order above, is used instead (a level with nothing editable is left as it is).
Walls (polygons ``0..NUM_WALLS-1``) are never edited. The arena bounds are the 5 x 5 m box of the
generated levels; Kinetix files with a raised floor may get a body slightly into it, which the
solver pushes out.
"""
from __future__ import annotations

import math

import torch
from tensordict import TensorDict

from .levels import ARENA_SIZE, NUM_WALLS, ROLE_NEUTRAL, ROLE_RED, finalize_levels

MOVE, ROTATE, RECOLOUR, MOTOR, THRUSTER, RESIZE = range(6)
NUM_OPERATORS = 6
MAX_SHIFT = 0.5  # [m] per axis
MAX_TURN = math.pi / 2  # [rad]
MAX_MARGIN = ARENA_SIZE / 2 - 0.05  # [m] largest wall clearance kept for a body (as the generator does)
SIZE_LIMITS = (0.05, MAX_MARGIN)  # [m] bounding radius of a resized body
MOTOR_SPEED_LIMITS = (0.1, 6.0)  # |speed multiplier|
THRUSTER_POWER_LIMITS = (0.1, 4.0)  # power multiplier


def _pick(candidates: torch.Tensor, score: torch.Tensor) -> torch.Tensor:
    """``[B]`` index of a uniformly random candidate per row (``candidates``, ``score`` ``[B, K]``; any if none)."""
    return torch.where(candidates, score, torch.full_like(score, -1.0)).argmax(-1)


def _scaled(value: torch.Tensor, factor: torch.Tensor, lo: float, hi: float) -> torch.Tensor:
    """``value * factor``, or ``value / factor`` when that leaves ``[lo, hi]``, clamped into it."""
    up = value * factor
    return torch.where((up >= lo) & (up <= hi), up, value / factor).clamp(lo, hi)


def _body_bounds(levels: TensorDict) -> torch.Tensor:
    """``[B, NB]`` bounding radius [m] of every body about its centre (polygons, then circles)."""
    k = torch.arange(levels["poly_vertices"].shape[2], device=levels.device)
    used = k < levels["poly_n_vertices"].long()[..., None]  # [B, P, V]
    poly = torch.where(used, levels["poly_vertices"].norm(dim=-1), torch.zeros_like(used, dtype=torch.float32))
    return torch.cat([poly.amax(-1), levels["circle_radius"]], 1)


def _groups(levels: TensorDict, num_bodies: int) -> torch.Tensor:
    """``[B, NB]`` group label of every body: bodies linked by active joints share the smallest member index."""
    b = levels.batch_size[0]
    label = torch.arange(num_bodies, device=levels.device).expand(b, -1).clone()  # [B, NB]
    for j in range(levels["joint_active"].shape[1]):  # one relabelling pass per joint merges exactly
        on = levels["joint_active"][:, j]
        la = label.gather(1, levels["joint_a"][:, j : j + 1].long())  # [B, 1]
        lb = label.gather(1, levels["joint_b"][:, j : j + 1].long())
        merged = torch.minimum(la, lb)
        label = torch.where(on[:, None] & ((label == la) | (label == lb)), merged, label)
    return label


def _rotate(v: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Vectors ``[B, K, 2]`` turned by per-row angles given as ``cos``/``sin`` ``[B, 1]``."""
    return torch.stack([cos * v[..., 0] - sin * v[..., 1], sin * v[..., 0] + cos * v[..., 1]], -1)


def mutate_levels(levels: TensorDict, generator: torch.Generator, num_edits: int = 2) -> TensorDict:
    """A new batch ``[B]`` of valid mutants (same capacity), each with ``num_edits`` random edits."""
    out = levels.clone()
    b, p = out["poly_active"].shape
    nb = p + out["circle_active"].shape[1]
    j_cap, t_cap = out["joint_active"].shape[1], out["thruster_active"].shape[1]
    dev = out.device
    rows = torch.arange(b, device=dev)
    wall = (torch.arange(nb, device=dev) < NUM_WALLS)[None]  # [1, NB]

    def cat(name: str) -> torch.Tensor:  # polygons then circles: [B, NB, ...]
        return torch.cat([out[f"poly_{name}"], out[f"circle_{name}"]], 1)

    def split(name: str, value: torch.Tensor) -> None:
        out[f"poly_{name}"], out[f"circle_{name}"] = value[:, :p].contiguous(), value[:, p:].contiguous()

    recoloured = torch.zeros(b, nb, dtype=torch.bool, device=dev)  # [B, NB] (edits must not undo each other)
    flipped = torch.zeros(b, j_cap, dtype=torch.bool, device=dev)  # [B, J]

    for _ in range(num_edits):
        # every draw happens for every level, whatever the operator: the output depends only on the generator
        op = torch.randint(0, NUM_OPERATORS, (b,), generator=generator, device=dev)  # [B]
        body_score = torch.rand(b, nb, generator=generator, device=dev)  # [B, NB]
        joint_score = torch.rand(b, max(j_cap, 1), generator=generator, device=dev)[:, :j_cap]  # [B, J]
        thruster_score = torch.rand(b, max(t_cap, 1), generator=generator, device=dev)[:, :t_cap]  # [B, T]
        shift = (torch.rand(b, 2, generator=generator, device=dev) * 2 - 1) * MAX_SHIFT  # [B, 2] [m]
        turn = (torch.rand(b, generator=generator, device=dev) * 2 - 1) * MAX_TURN  # [B] [rad]
        flip = torch.rand(b, generator=generator, device=dev) < 0.5  # [B] motor: sign flip or scale
        factor = 2.0 ** (torch.rand(b, generator=generator, device=dev) * 2 - 1)  # [B] in [0.5, 2)

        active, role = cat("active"), cat("role")  # [B, NB]
        label = _groups(out, nb)  # [B, NB]
        same = label[:, :, None] == label[:, None, :]  # [B, NB, NB] same group
        group_has_wall = (same & (wall & active)[:, None, :]).any(-1)  # [B, NB]
        jointed = torch.zeros(b, nb, dtype=torch.bool, device=dev)
        for end in ("a", "b"):
            hit = torch.zeros(b, nb, dtype=torch.int32, device=dev)
            hit.scatter_add_(1, out[f"joint_{end}"].long(), out["joint_active"].int())
            jointed |= hit > 0
        movable = active & ~wall & ~group_has_wall
        recolourable = active & ~wall & ((role == ROLE_NEUTRAL) | (role == ROLE_RED)) & ~recoloured
        motors = out["joint_active"] & out["joint_motor_on"] & ~out["joint_fixed"]  # [B, J]
        thrusters = out["thruster_active"]  # [B, T]
        resizable = active & ~wall & ~jointed

        legal = torch.stack([movable.any(1), movable.any(1), recolourable.any(1), motors.any(1), thrusters.any(1),
                             resizable.any(1)], 1)  # [B, 6]
        op = torch.where(legal[rows, op], op, legal.int().argmax(1))  # argmax: the first legal operator
        op = torch.where(legal[rows, op], op, torch.full_like(op, -1))  # -1: nothing to edit in this level

        # MOVE / ROTATE: transform the chosen body's whole group rigidly
        pick_move = _pick(movable, body_score)
        members = same[rows, pick_move] & active  # [B, NB]
        transform = (op == MOVE) | (op == ROTATE)
        pos, rot, vel = cat("position"), cat("rotation"), cat("velocity")  # [B, NB, 2], [B, NB], [B, NB, 2]
        weight = members.float()[..., None]
        centre = (pos * weight).sum(1, keepdim=True) / weight.sum(1, keepdim=True).clamp(min=1)  # [B, 1, 2]
        angle = torch.where(op == ROTATE, turn, torch.zeros_like(turn))[:, None]  # [B, 1]
        cos, sin = angle.cos(), angle.sin()
        turned = centre + _rotate(pos - centre, cos, sin)  # [B, NB, 2]
        margin = _body_bounds(out).clamp(max=MAX_MARGIN)[..., None]  # [B, NB, 1]
        big = torch.full_like(turned, float("inf"))
        lo = torch.where(members[..., None], margin - turned, -big).amax(1)  # [B, 2] smallest allowed shift
        hi = torch.where(members[..., None], ARENA_SIZE - margin - turned, big).amin(1)  # [B, 2] largest
        want = torch.where((op == MOVE)[:, None], shift, torch.zeros_like(shift))
        want = torch.where((want >= lo) & (want <= hi), want, -want)  # bounce off the arena wall
        fits = lo <= hi
        delta = torch.where(fits, torch.maximum(torch.minimum(want, hi), lo), 0.5 * (lo + hi))  # [B, 2]
        moved = (transform[:, None] & members)[..., None]  # [B, NB, 1]
        split("position", torch.where(moved, turned + delta[:, None], pos))
        split("rotation", torch.where(moved[..., 0], rot + angle, rot))
        split("velocity", torch.where(moved, _rotate(vel, cos, sin), vel))

        # RECOLOUR: neutral <-> red
        pick_role = _pick(recolourable, body_score)
        chosen = (op == RECOLOUR)[:, None] & (torch.arange(nb, device=dev)[None] == pick_role[:, None])
        split("role", torch.where(chosen, (ROLE_NEUTRAL + ROLE_RED) - role, role).int())
        recoloured |= chosen

        # MOTOR: flip or scale one motor's speed
        if j_cap:
            pick_joint = _pick(motors, joint_score)
            speed = out["joint_motor_speed"]  # [B, J]
            old = speed[rows, pick_joint]
            magnitude = _scaled(old.abs(), factor, *MOTOR_SPEED_LIMITS)
            flip = flip & (old != 0) & ~flipped[rows, pick_joint]
            new = torch.where(flip, -old, torch.copysign(magnitude, old))
            hit = (op == MOTOR)[:, None] & (torch.arange(j_cap, device=dev)[None] == pick_joint[:, None])
            flipped |= hit & flip[:, None]
            out["joint_motor_speed"] = torch.where(hit, new[:, None], speed)

        # THRUSTER: scale one thruster's power
        if t_cap:
            pick_thruster = _pick(thrusters, thruster_score)
            power = out["thruster_power"]  # [B, T]
            new = _scaled(power[rows, pick_thruster], factor, *THRUSTER_POWER_LIMITS)
            hit = (op == THRUSTER)[:, None] & (torch.arange(t_cap, device=dev)[None] == pick_thruster[:, None])
            out["thruster_power"] = torch.where(hit, new[:, None], power)

        # RESIZE: scale one unjointed body (and its thruster mounts) about its centre
        pick_size = _pick(resizable, body_score)
        bound = _body_bounds(out)[rows, pick_size]  # [B] [m]
        size = factor.sqrt()  # [B] in [1/sqrt(2), sqrt(2))
        s = _scaled(bound, size, *SIZE_LIMITS) / bound.clamp(min=1e-6)  # [B] the factor actually applied
        s = torch.where(op == RESIZE, s, torch.ones_like(s))
        is_poly = pick_size < p
        grow_poly = (is_poly & (op == RESIZE))[:, None] & (torch.arange(p, device=dev)[None] == pick_size[:, None])
        out["poly_vertices"] = torch.where(grow_poly[..., None, None], out["poly_vertices"] * s[:, None, None, None],
                                           out["poly_vertices"])
        c_cap = nb - p
        grow_circle = (~is_poly & (op == RESIZE))[:, None] & (
            torch.arange(c_cap, device=dev)[None] == (pick_size - p)[:, None])
        out["circle_radius"] = torch.where(grow_circle, out["circle_radius"] * s[:, None], out["circle_radius"])
        if t_cap:
            on_body = out["thruster_body"].long() == pick_size[:, None]  # [B, T]
            mounted = (op == RESIZE)[:, None] & out["thruster_active"] & on_body
            out["thruster_position"] = torch.where(mounted[..., None], out["thruster_position"] * s[:, None, None],
                                                   out["thruster_position"])
        # a grown body may now poke out of the arena: pull it back in
        pos = cat("position")  # [B, NB, 2]
        m = _body_bounds(out).clamp(max=MAX_MARGIN)[..., None]  # [B, NB, 1]
        grown = ((op == RESIZE)[:, None] & (torch.arange(nb, device=dev)[None] == pick_size[:, None]))[..., None]
        split("position", torch.where(grown, torch.maximum(torch.minimum(pos, ARENA_SIZE - m), m), pos))

    return finalize_levels(out)


__all__ = ["MOTOR", "MOVE", "NUM_OPERATORS", "RECOLOUR", "RESIZE", "ROTATE", "THRUSTER", "mutate_levels"]
