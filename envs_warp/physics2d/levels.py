"""Physics2D levels: fixed-capacity padded records of polygons, circles, joints and thrusters.

A batch of levels is a ``TensorDict`` with batch ``[B]`` whose fields are the rows of
``level_table.LEVEL_TABLE`` (shapes per level, ``P``/``C``/``J``/``T`` = capacities), the one source
of truth of the record: the level schema here, the Warp struct the kernels read and the simulator's
level-loaded arrays (``simulator_arrays``) derive from it. Bodies share one unified index space,
polygons first then circles: body ``k`` is polygon ``k`` when ``k < P`` and circle ``k - P``
otherwise; joints and thrusters name bodies by that index. Units are SI: the
arena is 5 m x 5 m, x in [0, 5], y in [0, 5], gravity points along -y. Polygon vertices are local
to the body's centroid and counter-clockwise (``finalize_levels`` enforces both and computes
inverse mass/inertia from geometry and density). Polygons 0-3 of levels built here are the
floor, ceiling and walls (static, collision mode 2).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from tensordict import TensorDict

from envs_warp.core.levels import LevelField, LevelFileError, LevelSchema

from .level_table import LEVEL_FIELDS, LEVEL_TABLE, MAX_VERTICES, LevelFieldSpec

ARENA_SIZE = 5.0  # [m] side of the square arena
NUM_WALLS = 4  # floor, ceiling, left and right wall are polygons 0..3

ROLE_NEUTRAL, ROLE_GREEN, ROLE_BLUE, ROLE_RED = 0, 1, 2, 3
# collision_mode: 0 collides only with mode 2; 1 collides with modes 1 and 2; 2 collides with everything
MODE_GHOST, MODE_NORMAL, MODE_ALL = 0, 1, 2


@dataclass(frozen=True)
class Physics2DCapacity:
    """Fixed per-level capacities of a physics2d world size (S/M/L)."""

    name: str
    polygons: int  # P, including the NUM_WALLS static walls
    circles: int  # C
    joints: int  # J
    thrusters: int  # T
    motor_channels: int = 4  # width of the motor action vector
    thruster_channels: int = 2  # width of the thruster action vector

    @property
    def bodies(self) -> int:
        """Number of bodies in the unified index space (``P + C``)."""
        return self.polygons + self.circles

    @property
    def pairs(self) -> int:
        """Number of unordered body pairs considered by the narrow phase."""
        return self.bodies * (self.bodies - 1) // 2

    def fits_in(self, other: "Physics2DCapacity") -> bool:
        """Whether every level of this size can be padded into ``other``."""
        return (
            self.polygons <= other.polygons
            and self.circles <= other.circles
            and self.joints <= other.joints
            and self.thrusters <= other.thrusters
            and self.motor_channels <= other.motor_channels
            and self.thruster_channels <= other.thruster_channels
        )


CAPACITIES: dict[str, Physics2DCapacity] = {
    "s": Physics2DCapacity("s", polygons=5, circles=2, joints=1, thrusters=1),
    "m": Physics2DCapacity("m", polygons=6, circles=3, joints=2, thrusters=2),
    "l": Physics2DCapacity("l", polygons=12, circles=4, joints=6, thrusters=2),
}


def capacity(size: str | Physics2DCapacity) -> Physics2DCapacity:
    """Look up a capacity by name (``"s"``, ``"m"``, ``"l"``) or pass one through."""
    if isinstance(size, Physics2DCapacity):
        return size
    try:
        return CAPACITIES[size.lower()]
    except KeyError:
        raise ValueError(f"unknown physics2d size {size!r}; expected one of {sorted(CAPACITIES)}") from None


def _fields(cap: Physics2DCapacity) -> tuple[LevelField, ...]:
    """The schema fields of capacity ``cap``, one per ``LEVEL_TABLE`` row."""
    return tuple(LevelField(spec.name, spec.shape(cap), spec.dtype, *spec.bounds(cap), spec.doc)
                 for spec in LEVEL_TABLE)


def simulator_arrays(size: str | Physics2DCapacity) -> dict[str, tuple[tuple[int, ...], torch.dtype]]:
    """Per-env (shape, dtype) of every simulator array a reset loads level fields into, from ``LEVEL_TABLE``."""
    cap = capacity(size)
    out: dict[str, tuple[tuple[int, ...], torch.dtype]] = {}
    for spec in LEVEL_TABLE:
        if spec.sim is not None:
            entry = (spec.sim_shape(cap), spec.sim_dtype)
            if out.setdefault(spec.sim, entry) != entry:
                raise ValueError(f"LEVEL_TABLE: fields loading into {spec.sim!r} disagree on shape or dtype")
    return out


def _check(levels: TensorDict) -> None:
    """Semantic checks beyond shapes and ranges."""
    nv = levels["poly_n_vertices"]
    bad = levels["poly_active"] & (nv < 3)
    if bool(bad.any()):
        raise LevelFileError("field 'poly_n_vertices' must be 3 or 4 for active polygons")
    bad = levels["circle_active"] & (levels["circle_radius"] <= 0)
    if bool(bad.any()):
        raise LevelFileError("field 'circle_radius' must be positive for active circles")
    body_active = torch.cat([levels["poly_active"], levels["circle_active"]], dim=1)
    for end in ("a", "b"):
        idx = levels[f"joint_{end}"].long()
        ok = torch.gather(body_active, 1, idx) | ~levels["joint_active"]
        if not bool(ok.all()):
            raise LevelFileError(f"field 'joint_{end}' names an inactive body")
    idx = levels["thruster_body"].long()
    ok = torch.gather(body_active, 1, idx) | ~levels["thruster_active"]
    if not bool(ok.all()):
        raise LevelFileError("field 'thruster_body' names an inactive body")
    same = (levels["joint_a"] == levels["joint_b"]) & levels["joint_active"]
    if bool(same.any()):
        raise LevelFileError("field 'joint_b' equals 'joint_a' (a joint needs two bodies)")


def level_schema(size: str | Physics2DCapacity) -> LevelSchema:
    """The level-file schema of one capacity (``ada.physics2d_<size>.levels``)."""
    cap = capacity(size)
    return LevelSchema(world=f"physics2d_{cap.name}", version=1, fields=_fields(cap), check=_check)


def empty_levels(size: str | Physics2DCapacity, batch: int, device: torch.device | str = "cpu") -> TensorDict:
    """A batch of ``batch`` empty levels (no bodies) of the given capacity."""
    cap = capacity(size)
    out = {}
    for f in _fields(cap):
        out[f.name] = torch.zeros((batch, *f.shape), dtype=f.dtype, device=device)
    td = TensorDict(out, batch_size=[batch], device=device)
    td["poly_density"].fill_(1.0)
    td["circle_density"].fill_(1.0)
    td["poly_collision_mode"].fill_(MODE_NORMAL)
    td["circle_collision_mode"].fill_(MODE_NORMAL)
    return td


# ---------------------------------------------------------------------------------------- geometry
def polygon_area_centroid_inertia(
    vertices: torch.Tensor, n_vertices: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Signed area [m^2], centroid [m] and second moment about the centroid per unit density [m^4].

    ``vertices`` [..., 4, 2], ``n_vertices`` [...]; vertices past ``n_vertices`` are ignored.
    """
    v = vertices.double()
    k = torch.arange(MAX_VERTICES, device=v.device)
    n = n_vertices.long().clamp(min=1).unsqueeze(-1)  # [..., 1]
    valid = k < n  # [..., 4]
    nxt = torch.where(k + 1 < n, k + 1, torch.zeros_like(k + 1))  # [..., 4] index of next vertex
    v1 = v
    v2 = torch.gather(v, -2, nxt.unsqueeze(-1).expand(*nxt.shape, 2))
    cross = (v1[..., 0] * v2[..., 1] - v1[..., 1] * v2[..., 0]) * valid  # [..., 4]
    area = 0.5 * cross.sum(-1)
    safe = torch.where(area.abs() > 1e-12, area, torch.ones_like(area))
    cx = ((v1[..., 0] + v2[..., 0]) * cross).sum(-1) / (6.0 * safe)
    cy = ((v1[..., 1] + v2[..., 1]) * cross).sum(-1) / (6.0 * safe)
    centroid = torch.stack([cx, cy], -1)
    dots = (v1 * v1).sum(-1) + (v1 * v2).sum(-1) + (v2 * v2).sum(-1)
    i_origin = (cross * dots).sum(-1) / 12.0  # about the local origin, sign follows the area
    i_centroid = i_origin - area * (cx * cx + cy * cy)
    return area.to(vertices.dtype), centroid.to(vertices.dtype), i_centroid.abs().to(vertices.dtype)


def vertex_mean(vertices: torch.Tensor, n_vertices: torch.Tensor) -> torch.Tensor:
    """Mean [m] of the first ``n_vertices`` of ``vertices`` [..., 4, 2] (Jax2D's polygon centre of mass)."""
    k = torch.arange(MAX_VERTICES, device=vertices.device)
    valid = (k < n_vertices.long().unsqueeze(-1))[..., None]  # [..., 4, 1]
    return (vertices * valid).sum(-2) / n_vertices.clamp(min=1).unsqueeze(-1).to(vertices.dtype)


def finalize_levels(levels: TensorDict) -> TensorDict:
    """Make polygons CCW about their centre and compute inverse mass/inertia from density (Jax2D's conventions).

    Returns a new batch; static or inactive bodies get zero inverse mass and inertia. As in Jax2D
    (``recalculate_mass_and_inertia``), a polygon's centre of mass is the mean of its vertices (the
    area centroid for triangles and parallelograms; for other quads the body turns about a point a
    little off the centroid), its inertia is the polar second moment of its area about that point
    times density, and a circle's inertia is ``density * pi r^4 / 4`` = ``m r^2 / 4`` (half the solid
    disc's ``m r^2 / 2``; ``Physics2DConfig.circle_inertia = "solid_disc"`` restores the latter in the
    simulator). Polygon positions move with the centre so that the world-space shape is unchanged,
    and joint anchors and thruster mounts on those polygons move with it. Idempotent.
    """
    out = levels.clone()
    verts = out["poly_vertices"]  # [B, P, 4, 2]
    nv = out["poly_n_vertices"]  # [B, P]
    area, _, _ = polygon_area_centroid_inertia(verts, nv)
    centroid = vertex_mean(verts, nv)  # [B, P, 2]
    # Reverse clockwise polygons (keeping only the first nv vertices meaningful).
    k = torch.arange(MAX_VERTICES, device=verts.device)
    n = nv.long().clamp(min=1).unsqueeze(-1)
    rev_idx = torch.where(k < n, n - 1 - k, k)  # [B, P, 4]
    reversed_v = torch.gather(verts, -2, rev_idx.unsqueeze(-1).expand(*rev_idx.shape, 2))
    verts = torch.where((area < 0)[..., None, None], reversed_v, verts)
    valid = (k < nv.long().unsqueeze(-1))[..., None]
    verts = torch.where(valid, verts - centroid[..., None, :], torch.zeros_like(verts))
    rot = out["poly_rotation"]
    c, s = torch.cos(rot), torch.sin(rot)
    shift = torch.stack([c * centroid[..., 0] - s * centroid[..., 1], s * centroid[..., 0] + c * centroid[..., 1]], -1)
    active_p = out["poly_active"]
    out["poly_position"] = torch.where(active_p[..., None], out["poly_position"] + shift, out["poly_position"])
    out["poly_vertices"] = torch.where(active_p[..., None, None], verts, torch.zeros_like(verts))
    # anchors and thruster mounts are in the body frame, whose origin just moved to the centroid
    P = verts.shape[1]
    offset = torch.where(active_p[..., None], centroid, torch.zeros_like(centroid))  # [B, P, 2]
    for idx_name, pos_name in (("joint_a", "joint_anchor_a"), ("joint_b", "joint_anchor_b"),
                               ("thruster_body", "thruster_position")):
        idx = out[idx_name].long()  # [B, E]
        is_poly = idx < P
        shift_local = torch.gather(offset, 1, idx.clamp(max=P - 1)[..., None].expand(*idx.shape, 2))
        out[pos_name] = out[pos_name] - torch.where(is_poly[..., None], shift_local, torch.zeros_like(shift_local))
    area, centre, inertia = polygon_area_centroid_inertia(out["poly_vertices"], nv)
    # second moment about the local origin (the vertex mean) = about the centroid + area * |centroid|^2
    inertia = inertia + area.abs() * (centre * centre).sum(-1)
    mass = area.abs() * out["poly_density"]
    moment = inertia * out["poly_density"]
    dyn = active_p & ~out["poly_static"] & (mass > 0) & (moment > 0)
    out["poly_inverse_mass"] = torch.where(dyn, 1.0 / mass.clamp(min=1e-12), torch.zeros_like(mass))
    out["poly_inverse_inertia"] = torch.where(dyn, 1.0 / moment.clamp(min=1e-12), torch.zeros_like(moment))
    r = out["circle_radius"]
    mass = math.pi * r * r * out["circle_density"]
    moment = 0.25 * mass * r * r  # Jax2D's circle inertia (density * pi r^4 / 4)
    dyn = out["circle_active"] & ~out["circle_static"] & (mass > 0)
    out["circle_inverse_mass"] = torch.where(dyn, 1.0 / mass.clamp(min=1e-12), torch.zeros_like(mass))
    out["circle_inverse_inertia"] = torch.where(dyn, 1.0 / moment.clamp(min=1e-12), torch.zeros_like(moment))
    return out


def pad_levels(levels: TensorDict, size: str | Physics2DCapacity) -> TensorDict:
    """Copy a batch into a larger capacity, renumbering circle body indices in joints/thrusters."""
    dst_cap = capacity(size)
    B = levels.batch_size[0]
    P0 = levels["poly_active"].shape[1]
    C0 = levels["circle_active"].shape[1]
    J0 = levels["joint_active"].shape[1]
    T0 = levels["thruster_active"].shape[1]
    if P0 > dst_cap.polygons or C0 > dst_cap.circles or J0 > dst_cap.joints or T0 > dst_cap.thrusters:
        raise ValueError(
            f"levels with capacity (P={P0}, C={C0}, J={J0}, T={T0}) do not fit size '{dst_cap.name}' "
            f"(P={dst_cap.polygons}, C={dst_cap.circles}, J={dst_cap.joints}, T={dst_cap.thrusters})"
        )
    out = empty_levels(dst_cap, B, levels.device)
    for name in out.keys():
        src = levels[name]
        n = src.shape[1]
        out[name][:, :n] = src
    shift = dst_cap.polygons - P0
    for name in ("joint_a", "joint_b", "thruster_body"):
        idx = out[name]
        out[name] = torch.where(idx >= P0, idx + shift, idx)
    return out


# ---------------------------------------------------------------------------------------- builders
def box_vertices(width: float, height: float) -> list[list[float]]:
    """CCW vertices of an axis-aligned box centred on the origin [m]."""
    w, h = width / 2, height / 2
    return [[-w, -h], [w, -h], [w, h], [-w, h]]


def add_walls(levels: TensorDict, thickness: float = 5.0) -> None:
    """Write the static floor, ceiling, left and right wall into polygons 0..3 (in place).

    Walls are thick (5 m, like Kinetix) so that a body at the velocity clamp cannot cross one in a substep.
    """
    L, t = ARENA_SIZE, thickness
    specs = [
        ((L / 2, -t / 2), (L + 2 * t, t)),  # floor: top face at y = 0
        ((L / 2, L + t / 2), (L + 2 * t, t)),  # ceiling: bottom face at y = L
        ((-t / 2, L / 2), (t, L + 2 * t)),  # left wall: right face at x = 0 (covers the corners too)
        ((L + t / 2, L / 2), (t, L + 2 * t)),  # right wall: left face at x = L
    ]
    for i, ((x, y), (w, h)) in enumerate(specs):
        levels["poly_position"][:, i] = torch.tensor([x, y])
        levels["poly_vertices"][:, i] = torch.tensor(box_vertices(w, h))
        levels["poly_n_vertices"][:, i] = 4
        levels["poly_static"][:, i] = True
        levels["poly_active"][:, i] = True
        levels["poly_collision_mode"][:, i] = MODE_ALL
        levels["poly_friction"][:, i] = 0.4  # Kinetix: friction 1 x base_friction 0.4
        levels["poly_restitution"][:, i] = 0.0
        levels["poly_role"][:, i] = ROLE_NEUTRAL


class LevelBuilder:
    """Build one level entity by entity (tests, hand-made levels); ``build`` returns a batch of 1."""

    def __init__(self, size: str | Physics2DCapacity, walls: bool = True) -> None:
        """Start an empty level of capacity ``size``, with the arena walls in polygons 0..3 if ``walls``."""
        self.cap = capacity(size)
        self.lv = empty_levels(self.cap, 1)
        self.n_poly = 0
        self.n_circle = 0
        self.n_joint = 0
        self.n_thruster = 0
        if walls:
            add_walls(self.lv)
            self.n_poly = NUM_WALLS

    def polygon(
        self,
        vertices: list[list[float]],
        position: tuple[float, float],
        rotation: float = 0.0,
        *,
        velocity: tuple[float, float] = (0.0, 0.0),
        angular_velocity: float = 0.0,
        density: float = 1.0,
        friction: float = 0.4,  # Kinetix default: 1 x base_friction 0.4 (pair: 0.57)
        restitution: float = 0.0,
        static: bool = False,
        role: int = ROLE_NEUTRAL,
        collision_mode: int = MODE_NORMAL,
    ) -> int:
        """Add a polygon (3-4 local vertices [m]); returns its unified body index."""
        i = self.n_poly
        if i >= self.cap.polygons:
            raise ValueError(f"size '{self.cap.name}' holds at most {self.cap.polygons} polygons")
        lv = self.lv
        v = torch.zeros(MAX_VERTICES, 2)
        v[: len(vertices)] = torch.tensor(vertices, dtype=torch.float32)
        lv["poly_vertices"][0, i] = v
        lv["poly_n_vertices"][0, i] = len(vertices)
        self._body("poly", i, position, rotation, velocity, angular_velocity, density, friction, restitution,
                   static, role, collision_mode)
        self.n_poly += 1
        return i

    def box(self, width: float, height: float, position: tuple[float, float], rotation: float = 0.0, **kw) -> int:
        """Add a ``width`` x ``height`` box [m]; returns its unified body index."""
        return self.polygon(box_vertices(width, height), position, rotation, **kw)

    def circle(
        self,
        radius: float,
        position: tuple[float, float],
        rotation: float = 0.0,
        *,
        velocity: tuple[float, float] = (0.0, 0.0),
        angular_velocity: float = 0.0,
        density: float = 1.0,
        friction: float = 0.4,  # Kinetix default: 1 x base_friction 0.4 (pair: 0.57)
        restitution: float = 0.0,
        static: bool = False,
        role: int = ROLE_NEUTRAL,
        collision_mode: int = MODE_NORMAL,
    ) -> int:
        """Add a circle of ``radius`` [m]; returns its unified body index."""
        i = self.n_circle
        if i >= self.cap.circles:
            raise ValueError(f"size '{self.cap.name}' holds at most {self.cap.circles} circles")
        self.lv["circle_radius"][0, i] = radius
        self._body("circle", i, position, rotation, velocity, angular_velocity, density, friction, restitution,
                   static, role, collision_mode)
        self.n_circle += 1
        return self.cap.polygons + i

    def _body(self, kind, i, position, rotation, velocity, angular_velocity, density, friction, restitution,
              static, role, collision_mode) -> None:
        lv = self.lv
        lv[f"{kind}_position"][0, i] = torch.tensor(position, dtype=torch.float32)
        lv[f"{kind}_rotation"][0, i] = rotation
        lv[f"{kind}_velocity"][0, i] = torch.tensor(velocity, dtype=torch.float32)
        lv[f"{kind}_angular_velocity"][0, i] = angular_velocity
        lv[f"{kind}_density"][0, i] = density
        lv[f"{kind}_friction"][0, i] = friction
        lv[f"{kind}_restitution"][0, i] = restitution
        lv[f"{kind}_static"][0, i] = static
        lv[f"{kind}_role"][0, i] = role
        lv[f"{kind}_collision_mode"][0, i] = collision_mode
        lv[f"{kind}_active"][0, i] = True

    def _pose(self, body: int) -> tuple[torch.Tensor, float]:
        P = self.cap.polygons
        if body < P:
            return self.lv["poly_position"][0, body], float(self.lv["poly_rotation"][0, body])
        return self.lv["circle_position"][0, body - P], float(self.lv["circle_rotation"][0, body - P])

    def joint(
        self,
        a: int,
        b: int,
        anchor: tuple[float, float],
        *,
        fixed: bool = False,
        motor: bool = False,
        motor_speed: float = 1.0,
        motor_power: float = 1.0,
        limits: tuple[float, float] | None = None,
        channel: int = 0,
    ) -> int:
        """Join bodies ``a`` and ``b`` at world point ``anchor`` [m] (poses as currently placed)."""
        j = self.n_joint
        if j >= self.cap.joints:
            raise ValueError(f"size '{self.cap.name}' holds at most {self.cap.joints} joints")
        lv = self.lv
        anchor_t = torch.tensor(anchor, dtype=torch.float32)
        rots = []
        for end, body in (("a", a), ("b", b)):
            pos, rot = self._pose(body)
            d = anchor_t - pos
            c, s = math.cos(rot), math.sin(rot)
            lv[f"joint_anchor_{end}"][0, j] = torch.stack([c * d[0] + s * d[1], -s * d[0] + c * d[1]])
            rots.append(rot)
        lv["joint_a"][0, j] = a
        lv["joint_b"][0, j] = b
        lv["joint_rotation"][0, j] = rots[1] - rots[0]
        lv["joint_fixed"][0, j] = fixed
        lv["joint_motor_on"][0, j] = motor
        lv["joint_motor_speed"][0, j] = motor_speed
        lv["joint_motor_power"][0, j] = motor_power
        lv["joint_limits_on"][0, j] = limits is not None
        if limits is not None:
            lv["joint_min_rotation"][0, j] = limits[0]
            lv["joint_max_rotation"][0, j] = limits[1]
        lv["joint_channel"][0, j] = channel
        lv["joint_active"][0, j] = True
        self.n_joint += 1
        return j

    def thruster(
        self, body: int, position: tuple[float, float] = (0.0, 0.0), rotation: float = 0.0,
        power: float = 1.0, channel: int = 0,
    ) -> int:
        """Attach a thruster to ``body`` at a body-frame ``position`` [m], pushing along ``rotation`` [rad]."""
        t = self.n_thruster
        if t >= self.cap.thrusters:
            raise ValueError(f"size '{self.cap.name}' holds at most {self.cap.thrusters} thrusters")
        lv = self.lv
        lv["thruster_body"][0, t] = body
        lv["thruster_position"][0, t] = torch.tensor(position, dtype=torch.float32)
        lv["thruster_rotation"][0, t] = rotation
        lv["thruster_power"][0, t] = power
        lv["thruster_channel"][0, t] = channel
        lv["thruster_active"][0, t] = True
        self.n_thruster += 1
        return t

    def build(self, batch: int = 1) -> TensorDict:
        """The finished level (masses computed), repeated ``batch`` times."""
        lv = finalize_levels(self.lv)
        return lv.expand(batch).clone()


__all__ = [
    "LevelBuilder",
    "ARENA_SIZE",
    "CAPACITIES",
    "LEVEL_FIELDS",
    "LEVEL_TABLE",
    "LevelFieldSpec",
    "MAX_VERTICES",
    "NUM_WALLS",
    "Physics2DCapacity",
    "add_walls",
    "box_vertices",
    "capacity",
    "empty_levels",
    "finalize_levels",
    "level_schema",
    "pad_levels",
    "polygon_area_centroid_inertia",
    "vertex_mean",
    "simulator_arrays",
]
