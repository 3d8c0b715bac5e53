"""Batched 2D rigid-body simulator: allocate once for N envs, reset rows from levels, step many times.

State lives in torch tensors owned by ``Physics2DSim``; Warp sees them through views made once
with ``wp.from_torch``. The arrays a reset loads level fields into are allocated from
``level_table.LEVEL_TABLE``. A step is ``substeps`` x (``collision``: bounds, narrow phase; ``solver``:
one substep) launches, with no host synchronisation, so it can be captured in a CUDA graph; a reset
is one ``level_load`` launch.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import warp as wp
from tensordict import TensorDict

from envs_warp.core.launch import RowArray, RowLauncher
from envs_warp.core.warp_runtime import init_warp, warp_device

from . import collision, level_load, solver
from .levels import Physics2DCapacity, capacity, pad_levels, simulator_arrays
from .types import BodyModel, BodyState, Contacts, JointImpulses, JointModel, SolverParams, ThrusterModel


@dataclass
class Physics2DConfig:
    """Physical constants and solver settings (defaults follow Kinetix/Jax2D)."""

    dt: float = 1.0 / 60.0  # [s] per substep
    substeps: int = 2  # substeps per env step
    iterations: int = 10  # sequential-impulse iterations per substep
    gravity: tuple[float, float] = (0.0, -9.81)  # [m/s^2]
    contact_beta: float = 0.2  # Baumgarte factor for penetration recovery
    slop: float = 0.01  # [m] penetration left uncorrected
    joint_beta: float = 0.2  # Baumgarte factor for joint anchor / angle drift
    max_correction: float = 0.2  # [m] position error removed per substep at most (bias clamp)
    max_angular_correction: float = 0.15  # [rad] angle error removed per substep at most
    bounce_threshold: float = 0.5  # [m/s] approach speed below which restitution is off
    base_motor_speed: float = 6.0  # [rad/s] at motor_speed 1 and action 1
    base_motor_power: float = 900.0  # [rad/s^2] motor impulse limit per unit axial mass
    # "jax2d": Jax2D's motor, one impulse per substep before the iterations, of size
    # base_motor_power * motor_power * dt * axial mass * tanh(motor_decay * speed error), fading over
    # motor_joint_limit before a limit. "constraint": a velocity constraint solved in every iteration
    # (accumulated impulse clamped to the same power): reaches the target speed in one substep
    # against any load, so joints turn faster than in Kinetix; kept as an option, not the default
    # (needs joint_model="block"; the previous solver is motor_model="constraint", joint_model="block",
    # friction_combine="geometric", circle_inertia="solid_disc", contact_model="box2d",
    # contact_order="sequential").
    motor_model: str = "jax2d"
    motor_decay: float = 0.1  # [s/rad]
    motor_joint_limit: float = 0.1  # [rad]
    # "jax2d": a contact pair's friction coefficient is sqrt(fa^2 + fb^2) of the bodies' coefficients
    # (Jax2D; Kinetix files are loaded as f * base_friction); "geometric": sqrt(fa * fb) (Box2D's mixing,
    # where a frictionless body makes every contact frictionless).
    friction_combine: str = "jax2d"
    # "jax2d": Jax2D's joint (per pass: a point impulse scaled by joint_stiffness that also feeds back
    # joint_beta_v x the anchor gap, positions moved by joint_beta_p of the gap, then the angle of fixed
    # joints and of limits); "block": a Box2D-style 2x2 (3x3 welded) block solve with Baumgarte bias
    # (joint_beta, max_correction), stiffer than Jax2D's.
    joint_model: str = "jax2d"
    joint_stiffness: float = 0.6
    joint_beta_v: float = 2.0  # [1/s]
    joint_beta_p: float = 0.7
    fixed_joint_beta: float = 2.0  # [1/s]
    limit_beta: float = 5.0  # [1/s]
    # "jax2d": circles keep the level record's inertia, Jax2D's m r^2 / 4; "solid_disc": the simulator
    # halves their inverse inertia at reset, giving the physical m r^2 / 2 (a deliberate fix, off by default).
    circle_inertia: str = "jax2d"
    # "jax2d": Jax2D's contact manifolds and law (polygon contacts at the incident vertices clamped onto
    # the reference face, both with the pair's least separation as depth, 0.01 m reference-face
    # hysteresis; circle contacts on the polygon / first circle's surface; target normal speed = unclamped
    # bias - restitution x approach speed taken before motors, no threshold; impulses kept while a point
    # stays active). "box2d": the earlier manifolds (clipped incident edge, midpoint contacts, per-point
    # depths, max(bias clamped to max_correction, bounce beyond bounce_threshold), impulses kept only while
    # the normal stays within ~18 degrees).
    contact_model: str = "jax2d"
    # "jax2d": Jax2D's contact order per iteration: polygon pairs (first points, then second points),
    # circle-polygon, circle pairs, each list dealt over rows of solver_batch_size pairs solved in
    # parallel (Jacobi; see solver.solve_contacts_jax2d). "sequential": every active point in pair order,
    # one after another (Gauss-Seidel; converges faster, but differs from Kinetix in multi-contact scenes).
    contact_order: str = "jax2d"
    solver_batch_size: int = 16  # Jax2D's StaticSimParams.solver_batch_size
    static_fixated_polys: int = 4  # Jax2D never collides two of the first this-many polygons (walls, floor)
    base_thruster_power: float = 10.0  # [N] at thruster power 1 and action 1
    clip_position: float = 15.0  # [m]
    clip_velocity: float = 100.0  # [m/s]
    clip_angular_velocity: float = 50.0  # [rad/s]


class Physics2DSim:
    """N independent physics2d worlds of one capacity, stepped together by Warp kernels."""

    def __init__(
        self,
        size: str | Physics2DCapacity,
        num_envs: int,
        device: torch.device | str = "cpu",
        config: Physics2DConfig | None = None,
        launcher: RowLauncher | None = None,
    ) -> None:
        """Allocate all state for ``num_envs`` envs of capacity ``size`` on ``device``.

        ``launcher`` (an env's, to share its row chunks) cuts CPU launches into row chunks run on
        parallel threads; by default one is made for ``num_envs`` rows.
        """
        init_warp()
        self.cap = capacity(size)
        self.cfg = config or Physics2DConfig()
        self.num_envs = N = int(num_envs)
        self.device = torch.device(device)
        self.wp_device = warp_device(self.device)
        NB, KP, J = self.cap.bodies, self.cap.pairs, self.cap.joints
        f32, i32 = torch.float32, torch.int32

        def z(*shape: int, dtype: torch.dtype = f32) -> torch.Tensor:
            return torch.zeros(shape, dtype=dtype, device=self.device)

        # Arrays a reset loads from the level record, one per LEVEL_TABLE target (bools kept as int32):
        # body_* [N, NB, ...] (polygons first, then circles): pos [m], rot [rad], vel [m/s], ang_vel [rad/s],
        # density [kg/m^2], inv_mass, inv_inertia, friction, restitution, radius (circles only), role, mode,
        # active; poly_vertices [N, P, 4, 2] (local, CCW) and poly_n_vertices [N, P]; joint_* [N, J, ...];
        # thruster_* [N, T, ...].
        for name, (shape, dtype) in simulator_arrays(self.cap).items():
            setattr(self, name, z(N, *shape, dtype=dtype))
        # state of the solver [N, ...]
        self.body_group = z(N, NB, dtype=i32)  # joint-connected component label
        self.body_bounds = z(N, NB, 4)  # world AABB (x0, y0, x1, y1)
        self.joint_acc_point = z(N, J, 2)
        self.joint_acc_angle = z(N, J)
        self.joint_acc_motor = z(N, J)
        self.joint_acc_limit = z(N, J)
        # contacts: one slot per pair [N, K, ...]
        pa, pb = torch.triu_indices(NB, NB, offset=1)
        self.pair_a = pa.to(i32).to(self.device)  # [K]
        self.pair_b = pb.to(i32).to(self.device)  # [K]
        self.contact_normal = z(N, KP, 2)
        self.contact_point = z(N, KP, 2, 2)
        self.contact_depth = z(N, KP, 2)
        self.contact_active = z(N, KP, 2, dtype=i32)
        self.contact_acc_n = z(N, KP, 2)
        self.contact_acc_t = z(N, KP, 2)
        self.contact_bounce = z(N, KP, 2)
        self.contact_order = z(N, 2 * KP, dtype=i32)  # solver scratch
        self.contact_listed = z(N, KP, dtype=i32)  # shapes overlap (Jax2D order)
        self.contact_jacobi = z(N, KP, 2, 2)  # solver scratch
        self.pair_kind, self.pair_seq, self.pair_seq_start = self._jax2d_lists()
        # actions and outcomes
        self.motor_action = z(N, self.cap.motor_channels)  # in [-1, 1]
        self.thruster_action = z(N, self.cap.thruster_channels)  # in [0, 1]
        self.green_blue = z(N, dtype=i32)  # green touched blue during the last step
        self.green_red = z(N, dtype=i32)  # green touched red during the last step
        self._mask_i32 = z(N, dtype=i32)
        self._source = z(N, dtype=i32)  # reset scratch: bank level per row, -1 = the row's own record
        self._streams: dict[int, wp.Stream] = {}
        self.launcher = launcher or RowLauncher(self.wp_device, N)
        if self.launcher.num_rows != N:
            raise ValueError(f"launcher covers {self.launcher.num_rows} rows, the simulator {N}")
        self.params = self._solver_params()
        self._build_views()

    # ------------------------------------------------------------------ warp views (made once)
    def _build_views(self) -> None:
        """Warp structs and arrays over each row chunk of the state (one chunk on CUDA)."""
        chunks = [self._chunk_views(lo, hi) for lo, hi in self.launcher.bounds]
        self.views = {k: RowArray(None, tuple(c[k] for c in chunks)) for k in chunks[0]}  # type: ignore[arg-type]

    def _chunk_views(self, lo: int, hi: int) -> dict:
        """Warp views of rows ``[lo, hi)``: the solver structs plus the action/outcome arrays."""
        fv = lambda t: wp.from_torch(t[lo:hi], dtype=wp.vec2)  # noqa: E731
        f = lambda t: wp.from_torch(t[lo:hi])  # noqa: E731
        i = f
        m = BodyModel()
        m.inv_mass, m.inv_inertia = f(self.body_inv_mass), f(self.body_inv_inertia)
        m.friction, m.restitution, m.radius = f(self.body_friction), f(self.body_restitution), f(self.body_radius)
        m.mode, m.active, m.role, m.group = i(self.body_mode), i(self.body_active), i(self.body_role), i(self.body_group)
        m.verts, m.n_verts = fv(self.poly_vertices), i(self.poly_n_vertices)
        m.n_polys = self.cap.polygons
        s = BodyState()
        s.pos, s.rot, s.vel, s.ang_vel = fv(self.body_pos), f(self.body_rot), fv(self.body_vel), f(self.body_ang_vel)
        j = JointModel()
        j.a, j.b = i(self.joint_a), i(self.joint_b)
        j.anchor_a, j.anchor_b, j.ref = fv(self.joint_anchor_a), fv(self.joint_anchor_b), f(self.joint_rotation)
        j.fixed, j.motor_on = i(self.joint_fixed), i(self.joint_motor_on)
        j.motor_speed, j.motor_power = f(self.joint_motor_speed), f(self.joint_motor_power)
        j.limits_on, j.lower, j.upper = i(self.joint_limits_on), f(self.joint_min_rotation), f(self.joint_max_rotation)
        j.channel, j.active = i(self.joint_channel), i(self.joint_active)
        ja = JointImpulses()
        ja.point, ja.angle = fv(self.joint_acc_point), f(self.joint_acc_angle)
        ja.motor, ja.limit = f(self.joint_acc_motor), f(self.joint_acc_limit)
        t = ThrusterModel()
        t.body, t.pos, t.rot = i(self.thruster_body), fv(self.thruster_position), f(self.thruster_rotation)
        t.power, t.channel, t.active = f(self.thruster_power), i(self.thruster_channel), i(self.thruster_active)
        c = Contacts()
        c.pair_a, c.pair_b = wp.from_torch(self.pair_a), wp.from_torch(self.pair_b)
        c.normal, c.point, c.depth = fv(self.contact_normal), fv(self.contact_point), f(self.contact_depth)
        c.active, c.acc_n, c.acc_t = i(self.contact_active), f(self.contact_acc_n), f(self.contact_acc_t)
        c.bounce, c.order = f(self.contact_bounce), i(self.contact_order)
        c.kind, c.seq, c.seq_start = (wp.from_torch(t) for t in (self.pair_kind, self.pair_seq, self.pair_seq_start))
        c.listed, c.jacobi = i(self.contact_listed), fv(self.contact_jacobi)
        return dict(model=m, state=s, joints=j, joint_acc=ja, thrusters=t, contacts=c,
                    bounds=wp.from_torch(self.body_bounds[lo:hi], dtype=wp.vec4),
                    motor=f(self.motor_action), thruster=f(self.thruster_action),
                    green_blue=i(self.green_blue), green_red=i(self.green_red), mask=i(self._mask_i32),
                    source=i(self._source), density=f(self.body_density))

    def _jax2d_lists(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Jax2D's three manifold lists over our pair slots: kind [K] (0 polygon pairs, 1 circle-polygon,
        2 circle pairs, -1 unlisted), seq [K'] (slots in list order) and seq_start [4]."""
        P, C = self.cap.polygons, self.cap.circles
        F = self.cfg.static_fixated_polys
        slot = {(int(a), int(b)): k for k, (a, b) in enumerate(zip(self.pair_a.tolist(), self.pair_b.tolist()))}
        rr = [slot[(a, b)] for a in range(P) for b in range(a + 1, P) if not (a < F and b < F)]
        cr = [slot[(r, P + c)] for c in range(C) for r in range(P)]  # Jax2D: circle-major
        cc = [slot[(P + c, P + d)] for c in range(C) for d in range(c + 1, C)]
        kind = torch.full((len(slot),), -1, dtype=torch.int32)
        for t, lst in enumerate((rr, cr, cc)):
            kind[lst] = t
        seq = torch.tensor(rr + cr + cc, dtype=torch.int32)
        start = torch.tensor([0, len(rr), len(rr) + len(cr), len(rr) + len(cr) + len(cc)], dtype=torch.int32)
        return kind.to(self.device), seq.to(self.device), start.to(self.device)

    def _solver_params(self) -> SolverParams:
        """The ``SolverParams`` struct of ``self.cfg``."""
        p = SolverParams()
        cfg = self.cfg
        p.dt, p.gravity, p.iterations = cfg.dt, wp.vec2(*cfg.gravity), cfg.iterations
        p.contact_beta, p.slop, p.joint_beta = cfg.contact_beta, cfg.slop, cfg.joint_beta
        p.bounce_threshold = cfg.bounce_threshold
        p.max_correction, p.max_angular_correction = cfg.max_correction, cfg.max_angular_correction
        p.base_motor_speed, p.base_motor_power = cfg.base_motor_speed, cfg.base_motor_power
        p.base_thruster_power = cfg.base_thruster_power
        models = {"jax2d": int(solver.MOTOR_JAX2D), "constraint": int(solver.MOTOR_CONSTRAINT)}
        if cfg.motor_model not in models:
            raise ValueError(f"motor_model must be one of {sorted(models)}, got {cfg.motor_model!r}")
        p.motor_model = models[cfg.motor_model]
        p.motor_decay, p.motor_joint_limit = cfg.motor_decay, cfg.motor_joint_limit
        combines = {"jax2d": int(solver.FRICTION_JAX2D), "geometric": int(solver.FRICTION_GEOMETRIC)}
        if cfg.friction_combine not in combines:
            raise ValueError(f"friction_combine must be one of {sorted(combines)}, got {cfg.friction_combine!r}")
        p.friction_combine = combines[cfg.friction_combine]
        joint_models = {"jax2d": int(solver.JOINT_JAX2D), "block": int(solver.JOINT_BLOCK)}
        if cfg.joint_model not in joint_models:
            raise ValueError(f"joint_model must be one of {sorted(joint_models)}, got {cfg.joint_model!r}")
        if cfg.motor_model == "constraint" and cfg.joint_model != "block":
            raise ValueError("motor_model='constraint' is solved inside the block joint: set joint_model='block'")
        p.joint_model, p.joint_stiffness = joint_models[cfg.joint_model], cfg.joint_stiffness
        p.joint_beta_v, p.joint_beta_p = cfg.joint_beta_v, cfg.joint_beta_p
        p.fixed_joint_beta, p.limit_beta = cfg.fixed_joint_beta, cfg.limit_beta
        if cfg.circle_inertia not in ("jax2d", "solid_disc"):
            raise ValueError(f"circle_inertia must be 'jax2d' or 'solid_disc', got {cfg.circle_inertia!r}")
        contact_models = {"jax2d": int(solver.CONTACT_JAX2D), "box2d": int(solver.CONTACT_BOX2D)}
        if cfg.contact_model not in contact_models:
            raise ValueError(f"contact_model must be one of {sorted(contact_models)}, got {cfg.contact_model!r}")
        orders = {"jax2d": int(solver.CONTACT_ORDER_JAX2D), "sequential": int(solver.CONTACT_ORDER_SEQUENTIAL)}
        if cfg.contact_order not in orders:
            raise ValueError(f"contact_order must be one of {sorted(orders)}, got {cfg.contact_order!r}")
        if cfg.solver_batch_size < 1:
            raise ValueError(f"solver_batch_size must be >= 1, got {cfg.solver_batch_size}")
        p.contact_model, p.contact_order = contact_models[cfg.contact_model], orders[cfg.contact_order]
        p.solver_batch_size = cfg.solver_batch_size
        p.clip_position, p.clip_velocity = cfg.clip_position, cfg.clip_velocity
        p.clip_angular_velocity = cfg.clip_angular_velocity
        return p

    def launch(self, kernel, tail: tuple[int, ...], inputs: list, outputs: list = ()) -> None:
        """Launch ``kernel`` over ``(env, *tail)``: row chunks on CPU threads, or one launch on torch's CUDA stream."""
        if self.device.type == "cuda":
            pick = lambda args: [a.chunks[0] if isinstance(a, RowArray) else a for a in args]  # noqa: E731
            wp.launch(kernel, dim=(self.num_envs, *tail), inputs=pick(inputs), outputs=pick(outputs),
                      device=self.wp_device, stream=self._stream())
        else:
            self.launcher.launch(kernel, tail, inputs, outputs)

    # ------------------------------------------------------------------ reset
    def level_views(self, levels: TensorDict) -> RowArray:
        """Warp views (per row chunk) of a level batch ``[N]`` of this capacity, e.g. an env's level record."""
        return RowArray(None, tuple(level_load.level_arrays(levels, lo, hi) for lo, hi in self.launcher.bounds))  # type: ignore[arg-type]

    def reset(self, levels: TensorDict, mask: torch.Tensor | None = None) -> None:
        """Load ``levels[e]`` into every env row ``e`` where ``mask[e]`` (all rows if None).

        ``levels`` has batch [N] (one level per env row) and a capacity no larger than this
        simulator's; smaller levels are padded. One masked kernel launch (no host sync).
        """
        N = self.num_envs
        if levels.batch_size[0] != N:
            raise ValueError(f"levels batch is {levels.batch_size[0]}, expected one level per env ({N})")
        if levels["poly_active"].shape[1] != self.cap.polygons or levels["circle_active"].shape[1] != self.cap.circles \
                or levels["joint_active"].shape[1] != self.cap.joints \
                or levels["thruster_active"].shape[1] != self.cap.thrusters:
            levels = pad_levels(levels, self.cap)
        levels = levels.to(self.device).contiguous()
        if mask is None:
            mask = torch.ones(N, dtype=torch.bool, device=self.device)
        self._source.fill_(-1)
        self.reset_rows(mask.to(self.device, torch.bool), self._source, self.level_views(levels))

    def reset_rows(self, mask: torch.Tensor, source: torch.Tensor, row_levels: RowArray,
                   bank: "level_load.LevelArrays | None" = None) -> None:
        """Reset the rows set in ``mask`` [N] bool: row ``e`` loads bank level ``source[e]`` [N] int32, or its own
        record in ``row_levels`` (views from :meth:`level_views`) where ``source[e] == -1``."""
        self._mask_i32.copy_(mask)
        if source is not self._source:
            self._source.copy_(source)
        v = self.views
        bank = bank if bank is not None else row_levels.chunks[0]
        self.launch(level_load.load_levels, (), inputs=[v["mask"], v["source"], row_levels, bank],
                    outputs=[v["model"], v["state"], v["density"], v["joints"], v["thrusters"], v["joint_acc"],
                             v["contacts"], v["green_blue"], v["green_red"]])
        if self.cfg.circle_inertia == "solid_disc":  # record holds Jax2D's m r^2 / 4
            circ = self.body_inv_inertia[:, self.cap.polygons:]
            circ.copy_(torch.where(mask[:, None], 0.5 * circ, circ))

    def _stream(self):
        """Warp stream of torch's current CUDA stream (so torch and Warp work stays ordered); None on CPU."""
        if self.device.type != "cuda":
            return None
        torch_stream = torch.cuda.current_stream(self.device)
        cached = self._streams.get(torch_stream.cuda_stream)
        if cached is None:
            cached = self._streams[torch_stream.cuda_stream] = wp.stream_from_torch(torch_stream)
        return cached

    # ------------------------------------------------------------------ step
    def substep(self) -> None:
        """Advance every env by one substep (``cfg.dt``) with the current action buffers."""
        NB, KP, v = self.cap.bodies, self.cap.pairs, self.views
        self.launch(collision.compute_bounds, (NB,), inputs=[v["model"], v["state"]], outputs=[v["bounds"]])
        self.launch(collision.narrow_phase, (KP,), inputs=[v["model"], self.params, v["state"], v["bounds"]],
                    outputs=[v["contacts"]])
        self.launch(solver.solve_substep, (),
                    inputs=[v["model"], v["joints"], v["thrusters"], self.params, v["motor"], v["thruster"]],
                    outputs=[v["state"], v["contacts"], v["joint_acc"], v["green_blue"], v["green_red"]])

    def step(self, motor_action: torch.Tensor | None = None, thruster_action: torch.Tensor | None = None) -> None:
        """Advance one env step (``cfg.substeps`` substeps) under the given actions.

        ``motor_action`` [N, motor_channels] in [-1, 1] (0 = motor off, joint spins freely);
        ``thruster_action`` [N, thruster_channels] in [0, 1]. ``None`` keeps the buffers' values.
        Afterwards ``green_blue`` / ``green_red`` [N] say whether those roles touched in the first
        substep of this step where either pair touched (Kinetix's first-done rule; both may be set).
        """
        if motor_action is not None:
            self.motor_action.copy_(motor_action)
        if thruster_action is not None:
            self.thruster_action.copy_(thruster_action)
        self.green_blue.zero_()
        self.green_red.zero_()
        for _ in range(self.cfg.substeps):
            self.substep()

    # ------------------------------------------------------------------ views
    @property
    def poly_slice(self) -> slice:
        """Body-index slice of the polygons."""
        return slice(0, self.cap.polygons)

    @property
    def circle_slice(self) -> slice:
        """Body-index slice of the circles."""
        return slice(self.cap.polygons, self.cap.bodies)

    def kinetic_energy(self) -> torch.Tensor:
        """Kinetic energy per env [J] of active dynamic bodies, shape [N]."""
        dyn = (self.body_inv_mass > 0) & (self.body_active > 0)
        m = torch.where(dyn, 1.0 / self.body_inv_mass.clamp(min=1e-12), torch.zeros_like(self.body_inv_mass))
        inertia = torch.where(dyn, 1.0 / self.body_inv_inertia.clamp(min=1e-12), torch.zeros_like(m))
        lin = 0.5 * m * (self.body_vel ** 2).sum(-1)
        ang = 0.5 * inertia * self.body_ang_vel ** 2
        return (lin + ang).sum(-1)


__all__ = ["Physics2DConfig", "Physics2DSim"]
