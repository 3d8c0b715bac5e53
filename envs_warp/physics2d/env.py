"""``Physics2DEnv``: the Kinetix task space (green touches blue, avoid red) as a batched TorchRL env.

One "agent" per env (``A = 1``) so the multi-agent training code runs unchanged. Keys (batch ``[N]``;
per agent ``[N, 1]`` under ``"agents"``):

- ``("agents", "observation")`` ``[N, 1, D]``: with ``observation="flat"`` (default) the flat
  observation (Kinetix's symbolic-flat layout); with ``observation="entity"`` the entity observation
  for an entity encoder, packed in the order of ``models.entity_encoder.EntityLayout``
  (``cfg.entity_sizes``): ``shapes`` ``[P + C, 27]`` + ``shape_mask``; ``joints`` ``[2J, 22]`` (each
  joint in both directions) + ``joint_index`` ``[2J, 2]`` (from, to body) + ``joint_mask``;
  ``thrusters`` ``[T, 8]`` + ``thruster_index`` ``[T]`` + ``thruster_mask``; ``contact``
  ``[NB (NB - 1) / 2]`` (1 where the simulator holds an active contact point for body pair ``k``
  after the step, pairs in the simulator's ``pair_a``/``pair_b`` order, ``torch.triu_indices``);
  gravity / 10. Only the view the policy reads is computed and stored.
- ``("agents", "action")``: ``multi_discrete`` ``[N, 1, 6]`` in {0,1,2}^4 x {0,1}^2, ``discrete``
  ``[N, 1]`` in ``[0, 11)``, ``continuous`` ``[N, 1, 6]`` (motors [-1, 1], thrusters [0, 1]).
- ``("agents", "reward")`` ``[N, 1, 1]``; ``("agents", "reached_goal")`` (green touched blue) and
  ``("agents", "crashed")`` (green touched red) ``[N, 1, 1]`` bool; root ``done``/``terminated``/
  ``truncated`` ``[N, 1]``; root ``sim_nonfinite`` ``[N, 1]`` bool: the simulator state of the row
  became non-finite (NaN/inf) in this step, which ends the episode (terminated, reward 0). Observations
  replace non-finite values by 0, so this key (or ``nonfinite_count``, episodes so ended per row) is
  how a blown-up simulation shows.

Levels: rows load the level assigned with :meth:`set_levels` at their next reset; with
``random_levels`` every other reset row copies a level from a bank of pre-generated random levels
on the device, picked by the row's (seed, reset counter). Nothing is generated inside ``step``.
A reset is one masked kernel that copies each reset row's level (bank level ``bank_index[row]``, or
the row's own record ``levels[row]`` when it is -1) into the simulator; ``current_levels()`` gives
the level every row is running. A trial restart (:meth:`~envs_warp.core.env_base.WarpEnv.restart`)
replays the row's level from where it is kept (its ``bank_index``, or its record), gathering nothing.

Hidden action permutation (``hidden_permutation=True``, a meta-RL task in the AdA spirit): every episode
binds the action's channels to the level's actuators by a permutation the agent does not observe,
``channel_perm`` ``[N, M + T]`` (action channel ``c`` drives actuator channel ``channel_perm[row, c]``;
motors among motors, thrusters among thrusters). It is drawn at each episode reset from the row's own
(seed, reset counter) stream, kept across the trials of the episode (restarts do not re-draw it), and
is part of the runtime state, so resumes are exact. Finding out which channel moves what is the
information a memory carries from one trial to the next.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import warp as wp
from tensordict import TensorDict, TensorDictBase
from torchrl.data import Bounded, Categorical, Composite, MultiCategorical, Unbounded

from ..core.env_base import AGENTS, WarpEnv, decode_random_tag
from ..core.levels import LevelSchema
from . import observations, task
from .generator import GeneratorConfig, filtered_levels, generate_levels
from .level_load import level_arrays
from .levels import Physics2DCapacity, capacity, level_schema, pad_levels
from .observations import JOINT_FEATURES, SHAPE_FEATURES, THRUSTER_FEATURES, flat_layout
from .simulator import Physics2DConfig, Physics2DSim
from .types import TaskParams

OBSERVATIONS = ("flat", "entity")  # the views Physics2DEnvConfig.observation may choose
ACTION_TYPES = {"continuous": task.ACTION_CONTINUOUS, "discrete": task.ACTION_DISCRETE,
                "multi_discrete": task.ACTION_MULTI_DISCRETE}  # TaskParams.action_mode of each action type


@dataclass
class Physics2DEnvConfig:
    """Task settings of the physics2d world (defaults: Kinetix's)."""

    size: str = "m"  # capacity "s", "m" or "l"
    action_type: str = "multi_discrete"  # "multi_discrete", "discrete" or "continuous"
    max_steps: int = 256
    dense_reward_scale: float = 0.0  # reward per metre the green-blue distance shrinks (Kinetix uses 0.1)
    bank_size: int = 4096  # random levels pre-generated for random_levels
    bank_seed: int = 0
    bank_noop_filter: bool = False  # drop bank levels that the do-nothing policy solves
    bank_path: str | None = None  # load the bank from a level file instead of generating it
    observation: str = "flat"  # "flat" or "entity" (packed entity sets); set from the policy's encoder
    hidden_permutation: bool = False  # bind action channels to actuators by a hidden per-episode permutation
    physics: Physics2DConfig = field(default_factory=Physics2DConfig)
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)

    def __post_init__(self) -> None:
        problems = []
        try:
            capacity(self.size)
        except ValueError as err:
            problems.append(str(err))
        if self.action_type not in ACTION_TYPES:
            problems.append(f"action_type must be one of {sorted(ACTION_TYPES)}, got {self.action_type!r}")
        if self.max_steps < 1:
            problems.append(f"max_steps must be >= 1, got {self.max_steps}")
        if self.bank_size < 1:
            problems.append(f"bank_size must be >= 1, got {self.bank_size}")
        if self.observation not in OBSERVATIONS:
            problems.append(f"observation must be one of {list(OBSERVATIONS)}, got {self.observation!r}")
        if problems:
            raise ValueError("Physics2DEnvConfig: " + "; ".join(problems))

    @property
    def cap(self) -> Physics2DCapacity:
        """The level capacity."""
        return capacity(self.size)

    @property
    def num_actions(self) -> int:
        """Discrete action count (Kinetix): 2 per motor channel, one no-op, 1 per thruster channel."""
        return 2 * self.cap.motor_channels + 1 + self.cap.thruster_channels

    @property
    def flat_obs_dim(self) -> int:
        """Length of the flat observation."""
        c = self.cap
        return flat_layout(c.bodies, c.joints, c.thrusters)[2]

    @property
    def entity_sizes(self) -> dict[str, int]:
        """Entity counts and feature sizes of the packed entity observation (``EntityLayout`` fields)."""
        c = self.cap
        return dict(shapes=c.bodies, joints=2 * c.joints, thrusters=c.thrusters, shape_features=SHAPE_FEATURES,
                    joint_features=JOINT_FEATURES, thruster_features=THRUSTER_FEATURES, globals=1)

    @property
    def obs_dim(self) -> int:
        """Length of ``("agents", "observation")`` for the chosen view."""
        if self.observation == "flat":
            return self.flat_obs_dim
        e = self.entity_sizes
        return (e["shapes"] * (e["shape_features"] + 1) + e["joints"] * (e["joint_features"] + 3)
                + e["thrusters"] * (e["thruster_features"] + 2) + e["shapes"] * (e["shapes"] - 1) // 2 + e["globals"])


class Physics2DEnv(WarpEnv):
    """N 2D rigid-body worlds stepped by Warp kernels: +1 and done when green touches blue, -1 for red."""

    num_agents = 1

    def __init__(
        self,
        cfg: Physics2DEnvConfig | None = None,
        num_envs: int = 64,
        device: torch.device | str = "cpu",
        seed: int = 0,
        random_levels: bool = True,
        bank: TensorDict | None = None,
    ) -> None:
        self.cfg = cfg or Physics2DEnvConfig()
        self.cap = self.cfg.cap
        self.level_schema: LevelSchema = level_schema(self.cap)
        super().__init__(num_envs=num_envs, device=device, seed=seed)
        self.random_levels = random_levels
        self.sim = Physics2DSim(self.cap, num_envs, self.device, self.cfg.physics, launcher=self.launcher)
        self.bank = self._make_bank(bank) if random_levels else None
        self.params = self._task_params()
        self._alloc_state()
        self._make_specs()
        self._add_level_id_spec()

    def set_levels(self, levels: TensorDict, rows: torch.Tensor | None = None, validate: bool = True) -> None:
        """Assign levels to rows (loaded at each row's next reset); smaller capacities are padded in."""
        shape = tuple(levels[f"{k}_active"].shape[1] for k in ("poly", "circle", "joint", "thruster"))
        if shape != (self.cap.polygons, self.cap.circles, self.cap.joints, self.cap.thrusters):
            levels = pad_levels(levels, self.cap)
        super().set_levels(levels, rows, validate)

    # ------------------------------------------------------------------ allocation
    def _make_bank(self, bank: TensorDict | None) -> TensorDict:
        """The device-resident bank ``[K]`` of random levels (given, loaded, or generated once here)."""
        cfg = self.cfg
        if bank is None and cfg.bank_path:
            bank = self.level_schema.load(cfg.bank_path)
        if bank is None:
            make = filtered_levels if cfg.bank_noop_filter else generate_levels
            bank = make(self.cap, cfg.bank_size, seed=cfg.bank_seed, cfg=cfg.generator)
        elif tuple(bank[f"{k}_active"].shape[1] for k in ("poly", "circle", "joint", "thruster")) != (
                self.cap.polygons, self.cap.circles, self.cap.joints, self.cap.thrusters):
            bank = pad_levels(bank, self.cap)
        return bank.to(self.device).contiguous()

    def _task_params(self) -> TaskParams:
        c, cfg = self.cap, self.cfg
        nb = c.bodies
        p = TaskParams()
        p.max_steps, p.dense_reward_scale = cfg.max_steps, cfg.dense_reward_scale
        p.action_mode = ACTION_TYPES[cfg.action_type]
        p.motor_channels, p.thruster_channels = c.motor_channels, c.thruster_channels
        p.gravity_y = float(cfg.physics.gravity[1])
        p.flat_joint_offset, p.flat_thruster_offset, p.flat_dim = flat_layout(nb, c.joints, c.thrusters)
        return p

    def _alloc_state(self) -> None:
        n, c, dev = self.num_envs, self.cap, self.device
        f32 = dict(dtype=torch.float32, device=dev)
        b = dict(dtype=torch.bool, device=dev)
        width = c.motor_channels + c.thruster_channels
        self._action_int = torch.zeros(n, width, dtype=torch.int32, device=dev)  # [N, 6] discrete actions
        self._action_float = torch.zeros(n, width, **f32)  # [N, 6] continuous actions
        self.step_count = torch.zeros(n, dtype=torch.int32, device=dev)  # [N]
        self.last_distance = torch.full((n,), -1.0, **f32)  # [N] [m] green-blue distance, -1 after a reset
        self.bank_index = torch.full((n,), -1, dtype=torch.int32, device=dev)  # [N] bank level per row, -1: set_levels
        self.reward = torch.zeros(n, **f32)  # [N]
        self.terminated = torch.zeros(n, **b)  # [N]
        self.truncated = torch.zeros(n, **b)  # [N]
        self.reached = torch.zeros(n, **b)  # [N]
        self.crashed = torch.zeros(n, **b)  # [N]
        self.nonfinite = torch.zeros(n, **b)  # [N] the state became NaN/inf in the last step
        self.nonfinite_count = torch.zeros(n, dtype=torch.int32, device=dev)  # [N] episodes so ended, never reset
        # [N, M + T] actuator channel driven by each action channel (None: identity, no permutation)
        self.channel_perm = (torch.arange(width, dtype=torch.int64, device=dev).repeat(n, 1)
                             if self.cfg.hidden_permutation else None)
        self._rows_mask = torch.zeros(n, **b)  # [N] rows a reset works on
        self._obs_rows = torch.ones(n, **b)  # [N] rows whose observation the next _observe computes
        self._gravity_column = torch.full((n, 1), self.params.gravity_y / 10.0, **f32)  # [N, 1] entity global
        self._episode_rows = torch.zeros(n, **b)  # [N] rows an episode reset works on (the permutation draw)
        self._level_views = self.sim.level_views(self.levels)  # the per-row level record, as Warp sees it
        self._bank_views = level_arrays(self.bank) if self.bank is not None else None
        nb, J, T, D = c.bodies, c.joints, c.thrusters, self.cfg.flat_obs_dim
        i64 = dict(dtype=torch.int64, device=dev)
        # observation buffers (scratch: _observe returns clones of them)
        self._obs = {
            "observation": torch.zeros(n, D, **f32),  # [N, D]
            "shapes": torch.zeros(n, nb, SHAPE_FEATURES, **f32),  # [N, NB, 27]
            "shape_mask": torch.zeros(n, nb, **b),  # [N, NB]
            "joints": torch.zeros(n, 2 * J, JOINT_FEATURES, **f32),  # [N, 2J, 22]
            "joint_index": torch.zeros(n, 2 * J, 2, **i64),  # [N, 2J, 2]
            "joint_mask": torch.zeros(n, 2 * J, **b),  # [N, 2J]
            "thrusters": torch.zeros(n, T, THRUSTER_FEATURES, **f32),  # [N, T, 8]
            "thruster_index": torch.zeros(n, T, **i64),  # [N, T]
            "thruster_mask": torch.zeros(n, T, **b),  # [N, T]
        }
        r, v, o = self.launcher.rows, self.sim.views, self._obs
        self._wp = dict(
            v,
            action_int=r(self._action_int), action_float=r(self._action_float),
            step_count=r(self.step_count), last_distance=r(self.last_distance), bank_index=r(self.bank_index),
            reward=r(self.reward), terminated=r(self.terminated, wp.bool), truncated=r(self.truncated, wp.bool),
            reached=r(self.reached, wp.bool), crashed=r(self.crashed, wp.bool),
            nonfinite=r(self.nonfinite, wp.bool), nonfinite_count=r(self.nonfinite_count),
            rows=r(self._rows_mask, wp.bool), obs_rows=r(self._obs_rows, wp.bool),
            episode_rows=r(self._episode_rows, wp.bool),
            rng_seed=r(self.rng_seed), rng_counter=r(self.rng_counter),
            o_flat=r(o["observation"]), o_shapes=r(o["shapes"]), o_shape_mask=r(o["shape_mask"], wp.bool),
            o_joints=r(o["joints"]), o_joint_index=r(o["joint_index"]), o_joint_mask=r(o["joint_mask"], wp.bool),
            o_thrusters=r(o["thrusters"]), o_thruster_index=r(o["thruster_index"]),
            o_thruster_mask=r(o["thruster_mask"], wp.bool),
        )
        if self.channel_perm is not None:
            self._wp["channel_perm"] = r(self.channel_perm)

    @classmethod
    def make_specs(cls, cfg: Physics2DEnvConfig, num_envs: int, device: torch.device | str) -> dict[str, Composite]:
        """observation/action/reward/done specs with batch [num_envs] for ``cfg``, without building an env.

        Examples:
            >>> specs = Physics2DEnv.make_specs(Physics2DEnvConfig(size="s"), 3, "cpu")
            >>> specs["observation"]["agents", "observation"].shape  # [N, A, D]
            torch.Size([3, 1, 160])
            >>> specs["action"]["agents", "action"].shape  # multi-discrete: 4 motors, 2 thrusters
            torch.Size([3, 1, 6])
        """
        n, c, dev = num_envs, cfg.cap, torch.device(device)
        width = c.motor_channels + c.thruster_channels
        if cfg.action_type == "continuous":
            low = torch.tensor([-1.0] * c.motor_channels + [0.0] * c.thruster_channels, device=dev)
            action = Bounded(low=low.expand(n, 1, width), high=torch.ones(n, 1, width, device=dev),
                             shape=(n, 1, width), dtype=torch.float32, device=dev)
        elif cfg.action_type == "discrete":
            action = Categorical(cfg.num_actions, shape=(n, 1), dtype=torch.int64, device=dev)
        else:
            nvec = torch.tensor([3] * c.motor_channels + [2] * c.thruster_channels, device=dev)
            action = MultiCategorical(nvec=nvec, shape=(n, 1, width), dtype=torch.int64, device=dev)
        flag = lambda: Categorical(2, shape=(n, 1, 1), dtype=torch.bool, device=dev)  # noqa: E731
        feats = lambda *s: Unbounded(shape=(n, 1, *s), dtype=torch.float32, device=dev)  # noqa: E731
        observation = Composite(
            {AGENTS: Composite(
                observation=feats(cfg.obs_dim), reached_goal=flag(), crashed=flag(),
                shape=(n, 1), device=dev,
            )},
            sim_nonfinite=Categorical(2, shape=(n, 1), dtype=torch.bool, device=dev),
            shape=(n,), device=dev,
        )
        reward = Composite(
            {AGENTS: Composite(reward=Unbounded(shape=(n, 1, 1), dtype=torch.float32, device=dev), shape=(n, 1),
                               device=dev)},
            shape=(n,), device=dev,
        )
        done = lambda: Categorical(2, shape=(n, 1), dtype=torch.bool, device=dev)  # noqa: E731
        return {
            "observation": observation,
            "action": Composite({AGENTS: Composite(action=action, shape=(n, 1), device=dev)}, shape=(n,), device=dev),
            "reward": reward,
            "done": Composite(done=done(), terminated=done(), truncated=done(), shape=(n,), device=dev),
        }

    # ------------------------------------------------------------------ world API
    def _reset_rows(self, mask: torch.Tensor) -> None:
        s, launch = self._wp, self.sim.launch
        if self.random_levels:
            self._rows_mask.copy_(mask & ~self.level_pending)  # [N] rows that draw a bank level
            launch(task.sample_bank_rows, (),
                   inputs=[s["rng_seed"], s["rng_counter"], s["rows"], self.bank.batch_size[0]],
                   outputs=[s["bank_index"]])
            self.bank_index.masked_fill_(mask & self.level_pending, -1)
        else:
            self.bank_index.masked_fill_(mask, -1)
        if self.channel_perm is not None:
            self._episode_rows.copy_(mask)
            launch(task.draw_channel_permutation, (),
                   inputs=[s["rng_seed"], s["rng_counter"], s["episode_rows"], self.cap.motor_channels,
                           self.cap.thruster_channels],
                   outputs=[s["channel_perm"]])
        self._load_rows(mask)

    def _restart_rows(self, mask: torch.Tensor) -> None:
        """Replay the masked rows' levels (a trial boundary): bank rows reload ``bank_index``, others their record.

        Nothing is gathered from the bank and the permutation is kept. A level given with ``set_levels``
        since the episode began (pending) starts here, as the base class does it.
        """
        self.bank_index.masked_fill_(mask & self.level_pending, -1)
        self._load_rows(mask)
        self.level_pending.logical_and_(~mask)

    def _load_rows(self, mask: torch.Tensor) -> None:
        """Copy each masked row's level (``bank_index`` or its record) into the simulator; clear its episode state."""
        self.sim.reset_rows(mask, self.bank_index, self._level_views, self._bank_views)
        self.step_count.masked_fill_(mask, 0)
        self.last_distance.masked_fill_(mask, -1.0)
        for t in (self.reward, self.terminated, self.truncated, self.reached, self.crashed, self.nonfinite):
            t.masked_fill_(mask, 0)
        self._obs_rows.copy_(mask)

    def _advance(self, tensordict: TensorDictBase) -> None:
        self._obs_rows.fill_(True)
        action = tensordict.get((AGENTS, "action"))
        s, launch = self._wp, self.sim.launch
        if self.channel_perm is not None:
            action = self.permuted_action(action)
        if self.cfg.action_type == "continuous":
            self._action_float.copy_(action.reshape(self.num_envs, -1))
        else:
            self._action_int[:, : action.shape[-1] if action.dim() == 3 else 1].copy_(
                action.reshape(self.num_envs, -1))
        launch(task.actions_to_controls, (), inputs=[self.params, s["action_int"], s["action_float"]],
               outputs=[s["motor"], s["thruster"]])
        self.sim.step()
        launch(task.step_outputs, (), inputs=[self.params, s["model"], s["state"], s["green_blue"], s["green_red"]],
               outputs=[s["step_count"], s["last_distance"], s["reward"], s["terminated"], s["truncated"],
                        s["reached"], s["crashed"], s["nonfinite"], s["nonfinite_count"]])

    def _observe(self, reset: bool) -> TensorDictBase:
        # One kernel writes the observations into the env's buffers, for the rows in _obs_rows only (after a
        # reset the other rows still hold their last step's observation); the returned tensors are clones.
        n, dev = self.num_envs, self.device
        s = self._wp
        entity = self.cfg.observation == "entity"
        self.sim.launch(observations.observations, (),
                        inputs=[self.params, s["model"], s["density"], s["joints"], s["thrusters"], not entity, entity,
                                s["obs_rows"], s["state"]],
                        outputs=[s["o_shapes"], s["o_shape_mask"], s["o_joints"], s["o_joint_index"],
                                 s["o_joint_mask"], s["o_thrusters"], s["o_thruster_index"], s["o_thruster_mask"],
                                 s["o_flat"]])
        o = self._obs
        if entity:  # packed in EntityLayout order: [N, D_e], a new tensor
            obs = torch.cat([o["shapes"].flatten(1), o["shape_mask"].float(), o["joints"].flatten(1),
                             o["joint_index"].flatten(1).float(), o["joint_mask"].float(), o["thrusters"].flatten(1),
                             o["thruster_index"].float(), o["thruster_mask"].float(),
                             self.sim.contact_active.any(-1).float(),  # [N, K] body pairs touching after the step
                             self._gravity_column], dim=1)
        else:
            obs = o["observation"].clone()  # [N, D]
        agents = {
            "observation": obs.unsqueeze(1),
            "reached_goal": self.reached.view(n, 1, 1).clone(),
            "crashed": self.crashed.view(n, 1, 1).clone(),
        }
        if not reset:
            agents["reward"] = self.reward.view(n, 1, 1).clone()
        terminated = self.terminated.view(n, 1).clone()
        truncated = self.truncated.view(n, 1).clone()
        return TensorDict(
            {
                AGENTS: TensorDict(agents, batch_size=(n, 1), device=dev),
                "terminated": terminated,
                "truncated": truncated,
                "done": terminated | truncated,
                "sim_nonfinite": self.nonfinite.view(n, 1).clone(),
            },
            batch_size=(n,),
            device=dev,
        )

    def permuted_action(self, action: torch.Tensor) -> torch.Tensor:
        """The action in actuator order under ``channel_perm``, shaped like ``action`` (tensor ops, no host sync).

        Multi-discrete / continuous ``[N, 1, M + T]``: actuator ``channel_perm[c]`` gets channel ``c``'s value.
        Discrete ``[N, 1]``: index ``2c + d`` (motor ``c``, direction ``d``) becomes ``2·perm[c] + d`` and
        thruster index ``2M + 1 + t`` becomes ``2M + 1 + perm[M + t] - M``; the no-op stays.
        """
        perm, n = self.channel_perm, self.num_envs
        if self.cfg.action_type != "discrete":
            flat = action.reshape(n, -1)  # [N, M + T]
            return torch.empty_like(flat).scatter_(1, perm, flat).view_as(action)
        m, t = self.cap.motor_channels, self.cap.thruster_channels
        a = action.reshape(n).long()  # [N]
        motor, thruster = a < 2 * m, (a > 2 * m) & (a <= 2 * m + t)
        channel = torch.where(motor, a // 2, torch.where(thruster, a - m - 1, 0))  # [N] action channel
        target = perm.gather(1, channel.unsqueeze(1)).squeeze(1)  # [N] actuator channel
        mapped = torch.where(motor, 2 * target + a % 2, torch.where(thruster, target + m + 1, a))
        return mapped.to(action.dtype).view_as(action)

    # ------------------------------------------------------------------ helpers
    def runtime_state(self) -> dict[str, torch.Tensor]:
        """The base class's per-row tensors plus the simulator's (bodies, joints, contacts, impulses)."""
        out = super().runtime_state()
        for name, value in vars(self.sim).items():
            if isinstance(value, torch.Tensor) and not name.startswith("_") and value.dim() \
                    and value.shape[0] == self.num_envs:
                out[f"sim.{name}"] = value
        return out

    @property
    def pos(self) -> torch.Tensor:
        """``[N, 1, 2]`` [m] centre of each row's first green body (the "agent" position, for trails)."""
        green = (self.sim.body_role == 1) & (self.sim.body_active != 0)  # [N, NB]
        idx = green.int().argmax(1)  # [N]
        return self.sim.body_pos.gather(1, idx.view(-1, 1, 1).expand(-1, 1, 2))

    def current_levels(self) -> TensorDict:
        """``[N]`` level records the rows are running (bank levels gathered where ``bank_index >= 0``)."""
        out = self.levels.clone()
        if self.bank is not None:
            from_bank = self.bank_index >= 0
            picked = self.bank[self.bank_index.clamp(min=0).long()]
            for key, value in out.items():
                value.copy_(torch.where(from_bank.view(-1, *([1] * (value.dim() - 1))), picked.get(key), value))
        return out

    def random_levels_from_tags(self, tags: torch.Tensor) -> TensorDict:
        """The bank levels ``[k]`` that resets drew under negative ``tags`` ``[k]``."""
        if self.bank is None:
            raise ValueError("random_levels_from_tags: this env has no random-level bank (random_levels=False)")
        seed, counter = decode_random_tag(tags.to(self.device))
        k = tags.numel()
        index = torch.zeros(k, dtype=torch.int32, device=self.device)
        rows = torch.ones(k, dtype=torch.bool, device=self.device)
        wp.launch(task.sample_bank_rows, dim=k, device=self.wp_device,
                  inputs=[wp.from_torch(seed.contiguous()), wp.from_torch(counter.contiguous()),
                          wp.from_torch(rows, dtype=wp.bool), self.bank.batch_size[0]],
                  outputs=[wp.from_torch(index)])
        return self.bank[index.long()]

    def noop_action(self) -> torch.Tensor:
        """The do-nothing action of every row, shaped like ``("agents", "action")``."""
        n, c = self.num_envs, self.cap
        if self.cfg.action_type == "discrete":
            return torch.full((n, 1), 2 * c.motor_channels, dtype=torch.int64, device=self.device)
        width = c.motor_channels + c.thruster_channels
        dtype = torch.float32 if self.cfg.action_type == "continuous" else torch.int64
        return torch.zeros(n, 1, width, dtype=dtype, device=self.device)


__all__ = ["ACTION_TYPES", "OBSERVATIONS", "Physics2DEnv", "Physics2DEnvConfig"]
