"""Random physics2d levels with the structure of Kinetix's random distribution, and the no-op filter.

Each level is built entity by entity, like Kinetix's ``sample_kinetix_level`` (our own code): the
arena walls (the floor is sometimes blue or red), a green and a blue shape of which at least one is
dynamic, a *forced controllable part* (a motorised revolute joint to a new shape, a thruster, or
both), then for every remaining shape slot a connected shape, a free shape or nothing, extra
thrusters, and a random green/blue swap. A new shape is placed at the least-overlapping of a few
proposals. Generation runs on the host once, to fill a level bank; it never runs inside ``step``.

``noop_solved`` plays the do-nothing policy on a batch of levels and reports the levels it solves
(green touches blue before red and before the step limit); it is the world's one no-op check, used
by the bank filter ``filtered_levels`` and by the curricula, so both can drop those levels.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from tensordict import TensorDict

from .levels import (
    ARENA_SIZE,
    MODE_NORMAL,
    NUM_WALLS,
    ROLE_BLUE,
    ROLE_GREEN,
    ROLE_NEUTRAL,
    ROLE_RED,
    Physics2DCapacity,
    add_walls,
    capacity,
    empty_levels,
    finalize_levels,
)

if TYPE_CHECKING:
    from .env import Physics2DEnvConfig


@dataclass(frozen=True)
class GeneratorConfig:
    """Probabilities and ranges of the random level distribution (Kinetix-like defaults)."""

    floor_role_probs: tuple[float, float, float, float] = (0.9, 0.0, 0.02, 0.08)  # neutral, green, blue, red
    max_shape_size: float = 1.0  # [m] largest box side / circle diameter before the large-rect stretch
    min_shape_size: float = 0.1  # [m]
    large_rect_chance: float = 0.3  # one side of a box is stretched by large_rect_scale
    large_rect_scale: float = 2.0
    triangle_chance: float = 0.0  # Kinetix's random distribution makes no triangles by default
    circle_chance: float = 0.5  # when both a polygon and a circle slot are free
    rotate_chance: float = 0.3  # otherwise shapes start axis-aligned
    goal_opposite_side_chance: float = 0.5  # blue starts on the other half of the arena from green
    static_chance_min: float = 0.02
    static_chance_per_area: float = 1.0  # [1/m^2]: big shapes are more often fixed
    static_chance_max: float = 0.9
    static_bottom_bias_special: float = 0.6  # fixed green/blue/red shapes go to the bottom half
    add_connected_chance: float = 0.35
    add_free_chance: float = 0.35  # the rest: no shape
    red_chance: float = 0.15  # role of an extra free shape
    connect_to_static_weight: float = 0.05
    motor_on_chance: float = 0.8
    motor_speed: tuple[float, float] = (0.4, 3.0)
    motor_power: tuple[float, float] = (1.0, 3.0)
    wheel_max_power: float = 1.0
    joint_limit_chance: float = 0.4
    joint_limit_max: float = math.pi  # [rad]
    joint_fixed_chance: float = 0.1
    add_thruster_chance: float = 0.3
    thruster_align_com_chance: float = 0.8
    thruster_power: tuple[float, float] = (0.5, 2.0)
    friction: float = 0.4  # per body; a pair combines as sqrt(fa^2 + fb^2) (Kinetix: 1 x base_friction 0.4)
    proposals: int = 4  # candidate placements per shape; the least overlapping wins


class _LevelWriter:
    """Places shapes, joints and thrusters into row ``b`` of numpy views of a level batch."""

    def __init__(self, arr: dict[str, np.ndarray], b: int, cap: Physics2DCapacity, cfg: GeneratorConfig,
                 rng: np.random.Generator) -> None:
        self.a, self.b, self.cap, self.cfg, self.rng = arr, b, cap, cfg, rng
        self.n_poly, self.n_circle, self.n_joint, self.n_thruster = NUM_WALLS, 0, 0, 0
        self.bodies: list[dict] = []  # placed non-wall bodies: index, pos, rot, bound radius, static, role, shape

    # -------------------------------------------------------------- geometry
    def _new_shape(self, kind: str, role: int) -> dict:
        cfg, rng = self.cfg, self.rng
        scale = cfg.max_shape_size
        if kind == "circle":
            r = rng.uniform(cfg.min_shape_size / 2, 0.8 * scale / 2)
            return dict(kind="circle", radius=r, bound=r, area=math.pi * r * r, rot=0.0)
        w, h = rng.uniform(cfg.min_shape_size, scale, size=2)
        if rng.random() < cfg.large_rect_chance:
            if rng.random() < 0.5:
                w = min(w * cfg.large_rect_scale, 0.8 * ARENA_SIZE)
            else:
                h = min(h * cfg.large_rect_scale, 0.8 * ARENA_SIZE)
        if rng.random() < cfg.triangle_chance:
            verts = [[-w / 2, -h / 2], [w / 2, -h / 2], [rng.uniform(-w / 2, w / 2), h / 2]]
            area = 0.5 * w * h
        else:
            verts = [[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]]
            area = w * h
        rot = rng.uniform(-math.pi, math.pi) if rng.random() < cfg.rotate_chance else 0.0
        return dict(kind="poly", verts=verts, w=w, h=h, bound=0.5 * math.hypot(w, h), area=area, rot=rot)

    def _overlaps(self, pos: np.ndarray, bound: float, skip: int = -1) -> int:
        return sum(1 for o in self.bodies if o["index"] != skip and np.linalg.norm(o["pos"] - pos) < o["bound"] + bound)

    def _inside(self, pos: np.ndarray, bound: float) -> bool:
        m = min(bound, ARENA_SIZE / 2 - 0.05)
        return bool(m <= pos[0] <= ARENA_SIZE - m and m <= pos[1] <= ARENA_SIZE - m)

    def _slot(self, kind: str | None) -> str | None:
        """``kind`` if a slot of it is free, else the other kind if free, else None; random when ``kind`` is None."""
        poly_free = self.n_poly < self.cap.polygons
        circle_free = self.n_circle < self.cap.circles
        if kind is None:
            kind = "circle" if self.rng.random() < self.cfg.circle_chance else "poly"
        if kind == "circle" and circle_free:
            return "circle"
        if kind == "poly" and poly_free:
            return "poly"
        return "poly" if poly_free else ("circle" if circle_free else None)

    def _write_body(self, shape: dict, pos: np.ndarray, static: bool, role: int) -> int:
        a, b = self.a, self.b
        if shape["kind"] == "circle":
            i, prefix = self.n_circle, "circle"
            a["circle_radius"][b, i] = shape["radius"]
            index = self.cap.polygons + i
            self.n_circle += 1
        else:
            i, prefix = self.n_poly, "poly"
            nv = len(shape["verts"])
            a["poly_vertices"][b, i, :nv] = shape["verts"]
            a["poly_n_vertices"][b, i] = nv
            index = i
            self.n_poly += 1
        a[f"{prefix}_position"][b, i] = pos
        a[f"{prefix}_rotation"][b, i] = shape["rot"]
        a[f"{prefix}_density"][b, i] = 1.0
        a[f"{prefix}_friction"][b, i] = self.cfg.friction
        a[f"{prefix}_static"][b, i] = static
        a[f"{prefix}_role"][b, i] = role
        a[f"{prefix}_collision_mode"][b, i] = MODE_NORMAL
        a[f"{prefix}_active"][b, i] = True
        self.bodies.append(dict(index=index, pos=pos, rot=shape["rot"], bound=shape["bound"], static=static,
                                role=role, shape=shape))
        return index

    # -------------------------------------------------------------- entities
    def add_free_shape(self, role: int, force_dynamic: bool = False, side: int | None = None) -> int | None:
        """A shape at the least overlapping of a few random spots; ``side`` 0/1 keeps it on the left/right half."""
        cfg, rng = self.cfg, self.rng
        kind = self._slot(None)
        if kind is None:
            return None
        shape = self._new_shape(kind, role)
        static = not force_dynamic and rng.random() < min(
            cfg.static_chance_min + cfg.static_chance_per_area * shape["area"], cfg.static_chance_max)
        bound = min(shape["bound"], ARENA_SIZE / 2 - 0.05)
        best, best_cost = None, None
        for _ in range(cfg.proposals):
            lo_x, hi_x = bound, ARENA_SIZE - bound
            if side is not None:
                mid = ARENA_SIZE / 2
                lo_x, hi_x = (lo_x, max(lo_x, mid)) if side == 0 else (min(mid, hi_x), hi_x)
            lo_y, hi_y = bound, ARENA_SIZE - bound
            if static and role != ROLE_NEUTRAL and rng.random() < cfg.static_bottom_bias_special:
                hi_y = max(lo_y, ARENA_SIZE / 2)
            pos = np.array([rng.uniform(lo_x, hi_x), rng.uniform(lo_y, hi_y)], dtype=np.float32)
            cost = self._overlaps(pos, shape["bound"])
            if best_cost is None or cost < best_cost:
                best, best_cost = pos, cost
        return self._write_body(shape, best, static, role)

    def add_connected_shape(self, force_motor: bool = False) -> int | None:
        """A new shape joined to an existing one by a revolute (often motorised) or fixed joint."""
        cfg, rng = self.cfg, self.rng
        if self.n_joint >= self.cap.joints or not self.bodies:
            return None
        weights = np.array([cfg.connect_to_static_weight if o["static"] else 1.0 for o in self.bodies])
        target = self.bodies[rng.choice(len(self.bodies), p=weights / weights.sum())]
        kind = self._slot(None)
        if kind is None:
            return None
        role = ROLE_NEUTRAL
        if target["role"] == ROLE_NEUTRAL and rng.random() < cfg.red_chance:
            role = ROLE_RED
        best = None
        for _ in range(cfg.proposals):
            shape = self._new_shape(kind, role)
            # anchor: a point inside the target (its centre for circles half the time), then the new
            # shape's own anchor point: the centre for circles (wheels), a point inside for boxes
            t_shape = target["shape"]
            if t_shape["kind"] == "circle":
                local_t = rng.uniform(-0.7, 0.7, size=2) * t_shape["radius"] if rng.random() < 0.5 else np.zeros(2)
            else:
                local_t = rng.uniform(-0.45, 0.45, size=2) * np.array([t_shape["w"], t_shape["h"]])
            c, s = math.cos(target["rot"]), math.sin(target["rot"])
            anchor = target["pos"] + np.array([c * local_t[0] - s * local_t[1], s * local_t[0] + c * local_t[1]])
            if shape["kind"] == "circle":
                local_n = np.zeros(2)
            else:
                local_n = rng.uniform(-0.45, 0.45, size=2) * np.array([shape["w"], shape["h"]])
            c, s = math.cos(shape["rot"]), math.sin(shape["rot"])
            pos = anchor - np.array([c * local_n[0] - s * local_n[1], s * local_n[0] + c * local_n[1]])
            if not self._inside(pos, shape["bound"]):
                continue
            cost = self._overlaps(pos, shape["bound"], skip=target["index"])
            if best is None or cost < best[0]:
                best = (cost, shape, pos.astype(np.float32), anchor.astype(np.float32))
        if best is None:
            return None
        _, shape, pos, anchor = best
        index = self._write_body(shape, pos, False, role)
        self._write_joint(target, self.bodies[-1], anchor, force_motor)
        return index

    def _write_joint(self, ta: dict, tb: dict, anchor: np.ndarray, force_motor: bool) -> None:
        a, b, cfg, rng, j = self.a, self.b, self.cfg, self.rng, self.n_joint
        for end, body in (("a", ta), ("b", tb)):
            d = anchor - body["pos"]
            c, s = math.cos(body["rot"]), math.sin(body["rot"])
            a[f"joint_anchor_{end}"][b, j] = [c * d[0] + s * d[1], -s * d[0] + c * d[1]]
        a["joint_a"][b, j] = ta["index"]
        a["joint_b"][b, j] = tb["index"]
        a["joint_rotation"][b, j] = tb["rot"] - ta["rot"]
        fixed = not force_motor and rng.random() < cfg.joint_fixed_chance
        wheel = tb["shape"]["kind"] == "circle"
        a["joint_fixed"][b, j] = fixed
        a["joint_motor_on"][b, j] = not fixed and (force_motor or rng.random() < cfg.motor_on_chance)
        a["joint_motor_speed"][b, j] = rng.uniform(*cfg.motor_speed)
        power = rng.uniform(*cfg.motor_power)
        a["joint_motor_power"][b, j] = min(power, cfg.wheel_max_power) if wheel else power
        limits = not fixed and not wheel and rng.random() < cfg.joint_limit_chance
        a["joint_limits_on"][b, j] = limits
        if limits:
            a["joint_min_rotation"][b, j] = -rng.uniform(0.0, cfg.joint_limit_max)
            a["joint_max_rotation"][b, j] = rng.uniform(0.0, cfg.joint_limit_max)
        a["joint_channel"][b, j] = rng.integers(self.cap.motor_channels)
        a["joint_active"][b, j] = True
        self.n_joint += 1

    def add_thruster(self) -> bool:
        """A thruster on a random dynamic shape, usually pushing through its centre of mass."""
        cfg, rng, a, b, t = self.cfg, self.rng, self.a, self.b, self.n_thruster
        dyn = [o for o in self.bodies if not o["static"]]
        if t >= self.cap.thrusters or not dyn:
            return False
        body = dyn[rng.integers(len(dyn))]
        shape = body["shape"]
        if shape["kind"] == "circle":
            ang = rng.uniform(-math.pi, math.pi)
            local = np.array([math.cos(ang), math.sin(ang)]) * shape["radius"]
        else:
            local = rng.uniform(-0.5, 0.5, size=2) * np.array([shape["w"], shape["h"]])
            edge = rng.integers(2)
            local[edge] = math.copysign(0.5 * (shape["w"], shape["h"])[edge], local[edge] or 1.0)
        if rng.random() < cfg.thruster_align_com_chance and np.linalg.norm(local) > 1e-6:
            rot = math.atan2(-local[1], -local[0])  # push from the mount through the centre
        else:
            rot = rng.uniform(-math.pi, math.pi)
        a["thruster_body"][b, t] = body["index"]
        a["thruster_position"][b, t] = local
        a["thruster_rotation"][b, t] = rot
        a["thruster_power"][b, t] = rng.uniform(*cfg.thruster_power)
        a["thruster_channel"][b, t] = rng.integers(self.cap.thruster_channels)
        a["thruster_active"][b, t] = True
        self.n_thruster += 1
        return True

    def swap_green_blue(self) -> None:
        for prefix in ("poly", "circle"):
            r = self.a[f"{prefix}_role"][self.b]
            green, blue = r == ROLE_GREEN, r == ROLE_BLUE
            r[green], r[blue] = ROLE_BLUE, ROLE_GREEN


def generate_levels(
    size: str | Physics2DCapacity,
    batch: int,
    seed: int = 0,
    cfg: GeneratorConfig | None = None,
    device: torch.device | str = "cpu",
) -> TensorDict:
    """``batch`` random levels of the Kinetix-like distribution; level ``i`` depends only on ``(seed, i)``."""
    cap = capacity(size)
    cfg = cfg or GeneratorConfig()
    lv = empty_levels(cap, batch)
    add_walls(lv)
    arr = {k: v.numpy() for k, v in lv.items()}  # views: writes land in the TensorDict
    floor_p = np.asarray(cfg.floor_role_probs, dtype=np.float64)
    for b in range(batch):
        rng = np.random.default_rng([seed, b])
        w = _LevelWriter(arr, b, cap, cfg, rng)
        floor = int(rng.choice(4, p=floor_p / floor_p.sum()))
        arr["poly_role"][b, 0] = floor
        green_dynamic = rng.random() < 0.5 or floor == ROLE_BLUE
        side = int(rng.integers(2))
        w.add_free_shape(ROLE_GREEN, force_dynamic=green_dynamic, side=side)
        blue_side = 1 - side if rng.random() < cfg.goal_opposite_side_chance else None
        w.add_free_shape(ROLE_BLUE, force_dynamic=not green_dynamic, side=blue_side)
        thruster, motor = ((False, True), (True, False), (True, True))[int(rng.integers(3))]
        if motor and w.add_connected_shape(force_motor=True) is None:
            thruster = True  # no room for a motor: make sure there is something to control
        if thruster:
            w.add_thruster()
        n_extra = cap.polygons + cap.circles - NUM_WALLS - 3
        p_conn, p_free = cfg.add_connected_chance, cfg.add_free_chance
        for _ in range(max(n_extra, 0)):
            u = rng.random()
            if u < p_conn:
                w.add_connected_shape()
            elif u < p_conn + p_free:
                w.add_free_shape(ROLE_RED if rng.random() < cfg.red_chance else ROLE_NEUTRAL)
        for _ in range(cap.thrusters - 1):
            if rng.random() < cfg.add_thruster_chance:
                w.add_thruster()
        if floor == ROLE_NEUTRAL and rng.random() < 0.5:
            w.swap_green_blue()
    return finalize_levels(lv).to(device)


def noop_solved(
    levels: TensorDict,
    cfg_or_size: Physics2DEnvConfig | str | Physics2DCapacity | None = None,
    steps: int | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """``[n]`` bool: levels whose first episode under the do-nothing policy ends with green touching blue.

    The world's one no-op check: the level bank's filter (``filtered_levels``) and the curricula's
    no-op filter both use it. It plays the episode ``Physics2DEnv`` would with ``noop_action()``
    (motors off, thrusters off), directly on a ``Physics2DSim``: the episode ends at the first step
    where green touched blue (solved) or red (not solved; red wins a tie), or where an active body's
    state became non-finite (not solved), or after ``steps`` steps (not solved).

    ``cfg_or_size``: a ``Physics2DEnvConfig`` (its size, ``physics`` and ``max_steps``), a size name
    or capacity (default physics, 256 steps), or None (the capacity the batch's shapes name).
    ``steps`` overrides the episode length; ``device`` (default: the levels') runs the rollout, and
    the result lives there.
    """
    from .simulator import Physics2DConfig, Physics2DSim

    physics, max_steps = Physics2DConfig(), 256
    if cfg_or_size is None:
        cap = _capacity_of(levels)
    elif isinstance(cfg_or_size, (str, Physics2DCapacity)):
        cap = capacity(cfg_or_size)
    else:  # a Physics2DEnvConfig
        cap, physics, max_steps = cfg_or_size.cap, cfg_or_size.physics, cfg_or_size.max_steps
    steps = max_steps if steps is None else steps
    device = levels.device if device is None else torch.device(device)
    n = levels.batch_size[0]
    sim = Physics2DSim(cap, n, device=device, config=physics)
    sim.reset(levels.to(device))
    zero_m = torch.zeros(n, cap.motor_channels, device=device)  # [n, M] motors off
    zero_t = torch.zeros(n, cap.thruster_channels, device=device)  # [n, T] thrusters off
    solved = torch.zeros(n, dtype=torch.bool, device=device)
    over = torch.zeros(n, dtype=torch.bool, device=device)
    active = sim.body_active > 0  # [n, NB] (a reset fixes it for the episode)
    for _ in range(steps):
        sim.step(zero_m, zero_t)
        blue = sim.green_blue > 0
        red = sim.green_red > 0
        finite = (torch.isfinite(sim.body_pos).all(-1) & torch.isfinite(sim.body_vel).all(-1)
                  & torch.isfinite(sim.body_rot) & torch.isfinite(sim.body_ang_vel))  # [n, NB]
        broken = (active & ~finite).any(-1)
        solved |= blue & ~red & ~over
        over |= blue | red | broken
    return solved


def _capacity_of(levels: TensorDict) -> Physics2DCapacity:
    """The named capacity whose shapes match a level batch."""
    shape = (levels["poly_active"].shape[1], levels["circle_active"].shape[1], levels["joint_active"].shape[1],
             levels["thruster_active"].shape[1])
    for cap in (capacity(s) for s in "sml"):
        if shape == (cap.polygons, cap.circles, cap.joints, cap.thrusters):
            return cap
    raise ValueError(f"level batch with capacity (P, C, J, T) = {shape} matches no physics2d size")


def filtered_levels(
    size: str | Physics2DCapacity,
    batch: int,
    seed: int = 0,
    cfg: GeneratorConfig | None = None,
    noop_steps: int = 256,
    device: torch.device | str = "cpu",
) -> TensorDict:
    """``batch`` generated levels none of which the no-op policy solves (draws extra levels to replace them)."""
    kept: list[TensorDict] = []
    have, round_ = 0, 0
    while have < batch:
        draw = max(2 * (batch - have), 16)
        lv = generate_levels(size, draw, seed=seed * 1_000_003 + round_, cfg=cfg)
        keep = ~noop_solved(lv, size, noop_steps)
        kept.append(lv[keep])
        have += int(keep.sum())
        round_ += 1
    return torch.cat(kept, 0)[:batch].to(device)


__all__ = ["GeneratorConfig", "filtered_levels", "generate_levels", "noop_solved"]
