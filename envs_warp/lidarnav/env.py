"""``LidarNavEnv``: batched lidar multi-robot navigation (the JaxNav task space) as a TorchRL env."""
from __future__ import annotations

import math

import torch
import warp as wp
from tensordict import TensorDict, TensorDictBase
from torchrl.data import Bounded, Categorical, Composite, Unbounded

from ..core.env_base import AGENTS, WarpEnv, decode_random_tag
from ..core.levels import LevelSchema
from . import dynamics, lidar, reset, task
from .config import DISCRETE_ACTIONS, LidarNavConfig
from .levels import LevelGenerator, level_schema


def beam_directions(cfg: LidarNavConfig) -> torch.Tensor:
    """``[B, 2]`` unit vectors of the beams relative to the heading, evenly spaced over ±π·angle_factor."""
    span = math.pi * cfg.lidar_angle_factor
    angles = torch.linspace(-span, span, cfg.lidar_num_beams, dtype=torch.float64)
    return torch.stack([angles.cos(), angles.sin()], dim=-1).float()


class LidarNavEnv(WarpEnv):
    """N worlds of A differential-drive robots with 2-D lidar in walled grid maps.

    Keys (batch ``[N]``; per robot ``[N, A]`` under ``"agents"``):
    ``("agents", "observation")`` ``[N, A, beams + 5]`` (``[N, A, beams + 3]``, no goal columns, with
    ``cfg.hidden_goal``); ``("agents", "action")`` ``[N, A, 2]``
    (v [m/s], w [rad/s]) or ``[N, A]`` indices; ``("agents", "reward")`` ``[N, A, 1]``;
    ``("agents", "reached_goal")`` / ``("agents", "crashed")`` ``[N, A, 1]`` bool;
    ``("agents", "outcome")`` ``[N, A, 1]`` int8, the robot's first terminal event (0 running, 1 goal,
    2 map collision, 3 robot collision, 4 timeout; ``task.OUTCOME_*``, names in ``task.OUTCOME_NAMES``); root
    ``done``/``terminated``/``truncated`` ``[N, 1]``.

    Levels: with ``random_levels`` every reset row draws a fresh random level on the device unless a
    level was assigned to it with :meth:`set_levels`, which is loaded instead (once).
    """

    def __init__(
        self,
        cfg: LidarNavConfig | None = None,
        num_envs: int = 64,
        device: torch.device | str = "cpu",
        seed: int = 0,
        random_levels: bool = True,
    ) -> None:
        self.cfg = cfg or LidarNavConfig()
        self.level_schema: LevelSchema = level_schema(self.cfg)
        super().__init__(num_envs=num_envs, device=device, seed=seed)
        self.random_levels = random_levels
        self.generator = LevelGenerator(self.cfg, self.device)
        self.params = self.cfg.kernel_params()
        self._alloc_state()
        self._make_specs()
        self._add_level_id_spec()

    # ------------------------------------------------------------------ allocation
    def _alloc_state(self) -> None:
        n, a, b, dev = self.num_envs, self.cfg.num_agents, self.cfg.lidar_num_beams, self.device
        h, w = self.cfg.map_height, self.cfg.map_width
        f32 = dict(dtype=torch.float32, device=dev)
        i32 = dict(dtype=torch.int32, device=dev)
        self.walls = torch.ones(n, h, w, dtype=torch.uint8, device=dev)  # [N, H, W]
        self.pos = torch.zeros(n, a, 2, **f32)  # [N, A, 2] [m]
        self.old_pos = torch.zeros(n, a, 2, **f32)  # [N, A, 2] [m]
        self.theta = torch.zeros(n, a, **f32)  # [N, A] [rad]
        self.heading = torch.zeros(n, a, 2, **f32)  # [N, A, 2] (cos θ, sin θ)
        self.vel = torch.zeros(n, a, 2, **f32)  # [N, A, 2] (v [m/s], w [rad/s])
        self.goal = torch.zeros(n, a, 2, **f32)  # [N, A, 2] [m]
        self.reached = torch.zeros(n, a, **i32)  # [N, A]
        self.crashed = torch.zeros(n, a, **i32)  # [N, A]
        self.outcome = torch.zeros(n, a, **i32)  # [N, A] task.OUTCOME_* codes
        self.map_hit = torch.zeros(n, a, **i32)  # [N, A] this step
        self.robot_hit = torch.zeros(n, a, **i32)  # [N, A] this step
        self.at_goal = torch.zeros(n, a, **i32)  # [N, A] this step
        self.step_count = torch.zeros(n, **i32)  # [N]
        self.ep_done = torch.zeros(n, **i32)  # [N]
        self.targets = torch.zeros(n, a, 2, **f32)  # [N, A, 2] (v, w) targets
        self.ranges = torch.zeros(n, a, b, **f32)  # [N, A, B] [m]
        self.individual = torch.zeros(n, a, **f32)  # [N, A]
        self.reward = torch.zeros(n, a, **f32)  # [N, A]
        self.obs = torch.zeros(n, a, self.cfg.obs_dim, **f32)  # [N, A, D]
        self.terminated = torch.zeros(n, dtype=torch.bool, device=dev)  # [N]
        self.truncated = torch.zeros(n, dtype=torch.bool, device=dev)  # [N]
        self.action_table = torch.tensor(DISCRETE_ACTIONS, **f32)  # [15, 2]
        self.beam_dirs = beam_directions(self.cfg).to(dev)  # [B, 2]
        self.action_index = torch.zeros(n, a, dtype=torch.int64, device=dev)  # [N, A] discrete actions
        self.rows_mask = torch.zeros(n, dtype=torch.bool, device=dev)  # [N] rows a launch works on
        # Warp views, made once (per row chunk on the CPU); the torch tensors stay the canonical state.
        r = self.launcher.rows
        self._wp = dict(
            walls=r(self.walls), pos=r(self.pos, wp.vec2), old_pos=r(self.old_pos, wp.vec2), theta=r(self.theta),
            heading=r(self.heading, wp.vec2), vel=r(self.vel, wp.vec2), goal=r(self.goal, wp.vec2),
            reached=r(self.reached), crashed=r(self.crashed), outcome=r(self.outcome), map_hit=r(self.map_hit), robot_hit=r(self.robot_hit),
            at_goal=r(self.at_goal), step_count=r(self.step_count), ep_done=r(self.ep_done),
            targets=r(self.targets, wp.vec2), ranges=r(self.ranges), individual=r(self.individual),
            reward=r(self.reward), obs=r(self.obs), terminated=r(self.terminated, wp.bool),
            truncated=r(self.truncated, wp.bool), action_index=r(self.action_index), rows=r(self.rows_mask, wp.bool),
            all_rows=r(self._all_rows, wp.bool),
            level_walls=r(self.levels["walls"]), level_start=r(self.levels["start"], wp.vec3),
            level_goal=r(self.levels["goal"], wp.vec2),
            table=wp.from_torch(self.action_table, dtype=wp.vec2), beam_dirs=wp.from_torch(self.beam_dirs, dtype=wp.vec2),
        )

    @classmethod
    def make_specs(cls, cfg: LidarNavConfig, num_envs: int, device: torch.device | str) -> dict[str, Composite]:
        """observation/action/reward/done specs with batch ``[num_envs]`` for ``cfg``, without building an env.

        The root ``"level_id"`` entry is not included: every world's env adds it itself.

        Examples:
            >>> specs = LidarNavEnv.make_specs(LidarNavConfig.jaxnav(num_agents=4), num_envs=8, device="cpu")
            >>> specs["observation"]["agents", "observation"].shape
            torch.Size([8, 4, 205])
            >>> specs["action"]["agents", "action"].shape
            torch.Size([8, 4, 2])
        """
        n, a, dev = num_envs, cfg.num_agents, torch.device(device)
        if cfg.action_type == "continuous":
            action = Bounded(
                low=torch.tensor([cfg.min_v, -math.pi / 6], device=dev).expand(n, a, 2),
                high=torch.tensor([cfg.max_v, math.pi / 6], device=dev).expand(n, a, 2),
                shape=(n, a, 2), dtype=torch.float32, device=dev,
            )  # [N, A, 2] (v [m/s], w [rad/s])
        else:
            action = Categorical(len(DISCRETE_ACTIONS), shape=(n, a), dtype=torch.int64, device=dev)  # [N, A]
        flag = lambda: Categorical(2, shape=(n, a, 1), dtype=torch.bool, device=dev)
        observation = Composite(
            {AGENTS: Composite(
                observation=Unbounded(shape=(n, a, cfg.obs_dim), dtype=torch.float32, device=dev),
                reached_goal=flag(),
                crashed=flag(),
                outcome=Categorical(len(task.OUTCOME_NAMES), shape=(n, a, 1), dtype=torch.int8, device=dev),
                shape=(n, a), device=dev,
            )},
            shape=(n,), device=dev,
        )
        reward = Composite(
            {AGENTS: Composite(
                reward=Unbounded(shape=(n, a, 1), dtype=torch.float32, device=dev), shape=(n, a), device=dev,
            )},
            shape=(n,), device=dev,
        )
        done = lambda: Categorical(2, shape=(n, 1), dtype=torch.bool, device=dev)
        return {
            "observation": observation,
            "action": Composite({AGENTS: Composite(action=action, shape=(n, a), device=dev)}, shape=(n,), device=dev),
            "reward": reward,
            "done": Composite(done=done(), terminated=done(), truncated=done(), shape=(n,), device=dev),
        }

    # ------------------------------------------------------------------ world API
    def _reset_rows(self, mask: torch.Tensor) -> None:
        if self.random_levels:
            fresh = mask & ~self.level_pending
            self.generator.generate_into(self.levels, fresh, self.rng_seed, self.rng_counter)
        s, launch = self._wp, self.launcher.launch
        self.rows_mask.copy_(mask)
        launch(reset.reset_rows, (),
               inputs=[self.params, s["rows"], s["level_walls"], s["level_start"], s["level_goal"]],
               outputs=[s["walls"], s["pos"], s["theta"], s["heading"], s["vel"], s["goal"], s["reached"],
                        s["crashed"], s["outcome"], s["step_count"], s["ep_done"]])
        self.terminated.logical_and_(~mask)
        self.truncated.logical_and_(~mask)
        self._sense(s["rows"], with_reward=False)

    def _advance(self, tensordict: TensorDictBase) -> None:
        action = tensordict.get((AGENTS, "action"))
        s, launch, a = self._wp, self.launcher.launch, (self.cfg.num_agents,)
        if self.cfg.action_type == "discrete":
            self.action_index.copy_(action)
            launch(dynamics.discrete_to_targets, a, inputs=[s["action_index"], s["table"]], outputs=[s["targets"]])
        else:
            self.targets.copy_(action)
        launch(dynamics.integrate, a, inputs=[self.params, s["targets"], s["ep_done"], s["crashed"]],
               outputs=[s["pos"], s["theta"], s["heading"], s["vel"], s["old_pos"]])
        launch(dynamics.detect_events, a, inputs=[self.params, s["walls"], s["pos"], s["heading"], s["goal"], s["ep_done"]],
               outputs=[s["map_hit"], s["robot_hit"], s["at_goal"]])
        self._sense(s["all_rows"], with_reward=True)

    def _sense(self, rows, with_reward: bool) -> None:
        """Lidar, observations and (after a step) rewards and episode flags for the rows set in ``rows``."""
        s, launch, a = self._wp, self.launcher.launch, (self.cfg.num_agents,)
        lidar_inputs = [self.params, rows, s["walls"], s["pos"], s["heading"], s["beam_dirs"]]
        if self.wp_device == "cpu":  # a thread per robot: per-thread cost and masked-out rows stay cheap
            launch(lidar.cast_lidar_per_robot, a, inputs=lidar_inputs, outputs=[s["ranges"]])
        else:  # a thread per beam keeps the GPU full
            launch(lidar.cast_lidar, (*a, self.cfg.lidar_num_beams), inputs=lidar_inputs, outputs=[s["ranges"]])
        launch(task.agent_outputs, a,
               inputs=[self.params, rows, s["targets"], s["pos"], s["old_pos"], s["theta"], s["vel"], s["goal"],
                       s["ranges"], s["map_hit"], s["robot_hit"], s["at_goal"], s["ep_done"], int(with_reward)],
               outputs=[s["reached"], s["crashed"], s["outcome"], s["individual"], s["obs"]])
        if with_reward:
            launch(task.env_outputs, (), inputs=[self.params, s["reached"], s["crashed"], s["individual"], s["outcome"]],
                   outputs=[s["step_count"], s["ep_done"], s["reward"], s["terminated"], s["truncated"]])

    def _observe(self, reset: bool) -> TensorDictBase:
        n, a = self.num_envs, self.cfg.num_agents
        agents = {
            "observation": self.obs.clone(),
            "reached_goal": self.reached.bool().unsqueeze(-1),
            "crashed": self.crashed.bool().unsqueeze(-1),
            "outcome": self.outcome.to(torch.int8).unsqueeze(-1),
        }
        if not reset:
            agents["reward"] = self.reward.unsqueeze(-1).clone()
        terminated = self.terminated.unsqueeze(-1).clone()
        truncated = self.truncated.unsqueeze(-1).clone()
        return TensorDict(
            {
                AGENTS: TensorDict(agents, batch_size=(n, a), device=self.device),
                "terminated": terminated,
                "truncated": truncated,
                "done": terminated | truncated,
            },
            batch_size=(n,),
            device=self.device,
        )

    # ------------------------------------------------------------------ helpers
    def random_levels_from_tags(self, tags: torch.Tensor) -> TensorDict:
        """The random levels ``[k]`` that resets drew under negative ``tags`` ``[k]`` (regenerated on the device)."""
        seed, counter = decode_random_tag(tags.to(self.device))
        levels = self.level_schema.empty(tags.numel(), self.device)
        mask = torch.ones(tags.numel(), dtype=torch.bool, device=self.device)
        self.generator.generate_into(levels, mask, seed.contiguous(), counter.contiguous(), cache_views=False)
        return levels

    def solvable(self) -> torch.Tensor:
        """``[N]`` bool: whether each row's current level has a grid path from every start to its goal."""
        return self.generator.solvable(self.levels)

    def noop_action(self) -> torch.Tensor:
        """The do-nothing action of every row (v = 0, w = 0), shaped like ``("agents", "action")``."""
        n, a = self.num_envs, self.cfg.num_agents
        if self.cfg.action_type == "discrete":
            return torch.full((n, a), DISCRETE_ACTIONS.index((0.0, 0.0)), dtype=torch.int64, device=self.device)
        return torch.zeros(n, a, 2, dtype=torch.float32, device=self.device)  # [N, A, 2] (v, w)
